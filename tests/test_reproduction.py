"""reproduction: every metrics.json becomes a row; margins pair runs trained alike; papers' numbers labelled."""
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from klif_edu.reproduction import (KLIF_PAPER_NOTE, KLIF_SHORT, PLIF_LIF_REFERENCE, Table, collect_runs, margins, margins_table,
                                   plot_margins, results_table)


def _run(root, folder, neuron, acc, dataset="mnist", mode=None, asked=None, **extra):
    path = root / folder / neuron
    path.mkdir(parents=True, exist_ok=True)
    metrics = {"dataset": dataset, "neuron": neuron, "arch": "paper", "epochs": 3, "time_steps": 8,
               "train_size": 600, "test_accuracy": acc, "device": "cpu", "seed": 0, "k": {"conv1": 1.1}, **extra}
    (path / "metrics.json").write_text(json.dumps(metrics))
    if mode is not None:
        (root / folder / "experiment.json").write_text(json.dumps({"dataset": asked or dataset, "mode": mode}))
    return path / "metrics.json"


@pytest.fixture
def runs(tmp_path):
    _run(tmp_path, "mnist-full", "klif", 0.991, mode="full")
    _run(tmp_path, "mnist-full", "lif", 0.987, mode="full")
    _run(tmp_path, "cifar10-quick", "klif", 0.30, dataset="embedded-fashion-mnist", mode="quick", asked="cifar10")
    _run(tmp_path, "cifar10-quick", "lif", 0.35, dataset="embedded-fashion-mnist", mode="quick", asked="cifar10")
    _run(tmp_path / "deep" / "er", "lonely", "klif", 0.5, dataset="nmnist")  # no partner, no experiment.json
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text("{not json")
    return tmp_path


def test_every_readable_run_is_a_row(runs):
    rows = collect_runs(runs)
    assert len(rows) == 5
    assert {r["path"] for r in rows} == {str(p) for p in runs.rglob("metrics.json") if p.parent.name != "broken"}
    quick = [r for r in rows if r["asked_for"] == "cifar10"]
    assert {r["mode"] for r in quick} == {"quick"} and {r["dataset"] for r in quick} == {"embedded-fashion-mnist"}
    lonely = next(r for r in rows if r["dataset"] == "nmnist")
    assert lonely["mode"] == "" and lonely["asked_for"] == "nmnist"
    assert rows[0]["asked_for"] == "mnist"  # paper order: mnist before cifar10 before nmnist
    assert next(r for r in rows if r["neuron"] == "klif" and r["asked_for"] == "mnist")["test_accuracy"] == pytest.approx(99.1)


def test_roots_overlap_and_missing_roots(runs):
    assert len(collect_runs([runs, runs / "mnist-full", runs / "nowhere"])) == 5
    assert collect_runs(runs / "nowhere") == []


def test_table_has_every_run_and_the_papers_labelled(runs):
    rows = collect_runs(runs)
    table = results_table(rows)
    assert isinstance(table, Table) and len(table.body) == len(rows)
    assert [row[-1] for row in table.body] == ["/".join(Path(r["path"]).parts[-3:-1]) for r in rows]
    mnist = [row for row in table.body if row[0] == "mnist"]
    assert all(row[8] == KLIF_SHORT and row[9] == f"{PLIF_LIF_REFERENCE['mnist']:.2f} %" for row in mnist)
    assert KLIF_PAPER_NOTE in table and "arXiv:2302.09238" in table and "not KLIF's" in table
    html = table._repr_html_()
    assert html.count("<tr>") == len(rows) + 1 and "99.10 %" in html and KLIF_PAPER_NOTE in html


def test_margins_pair_runs_trained_alike(runs):
    pairs = margins(collect_runs(runs))
    assert len(pairs) == 2  # the lonely KLIF run has no LIF partner
    by = {p["asked_for"]: p for p in pairs}
    assert by["mnist"]["margin"] == pytest.approx(0.4)
    assert by["cifar10"]["margin"] == pytest.approx(-5.0)
    table = margins_table(pairs)
    assert "+0.40" in table and "-5.00" in table


def test_runs_that_differ_are_not_paired(tmp_path):
    _run(tmp_path, "a", "klif", 0.9)
    _run(tmp_path, "a", "lif", 0.8, epochs=4)  # trained longer: not comparable
    _run(tmp_path, "b", "klif", 0.9)
    _run(tmp_path, "c", "lif", 0.8)  # another folder
    assert margins(collect_runs(tmp_path)) == []


def test_plot_margins_one_bar_per_pair_on_its_own_dataset(runs):
    pairs = margins(collect_runs(runs))
    ax = plot_margins(pairs)
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    real = [p for p in pairs if not p["stand_in"]]
    assert len(real) == 1 and heights == [round(real[0]["margin"], 6)]  # the stand-in pair is not drawn
    assert "KLIF - LIF" in ax.get_ylabel() and "1 stand-in pair(s) left out" in ax.get_title()
    only_stand_ins = plot_margins([p for p in pairs if p["stand_in"]])
    assert not only_stand_ins.patches and "1 stand-in pair(s) left out" in only_stand_ins.texts[0].get_text()
    empty = plot_margins([])
    assert "no KLIF/LIF pair" in empty.texts[0].get_text()
    plt.close("all")


def test_stand_in_runs_are_marked_in_the_tables(runs):
    rows = collect_runs(runs)
    table = results_table(rows)
    cifar = [row for row in table.body if row[0] == "cifar10"]
    assert cifar and all(row[1] == "STAND-IN embedded-fashion-mnist" for row in cifar)
    assert all(row[1] == "mnist" for row in table.body if row[0] == "mnist")
    assert any("says nothing about the dataset asked for" in n for n in table.notes)
    assert "STAND-IN embedded-fashion-mnist" in margins_table(margins(rows))
