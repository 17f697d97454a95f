"""`klif-edu study`: the paired design, the statistics against hand computations, resume."""
from __future__ import annotations

import json
import math

import pytest
import torch

from klif_edu import cli, study
from klif_edu.models import build_model
from klif_edu.study import StudyConfig, mean_sd, paired_t_interval, student_t_two_sided, t_quantile

#: t(0.975, df) from printed tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2), 3 decimals.
T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 10: 2.228, 19: 2.093, 30: 2.042}
TINY = ["--dataset", "embedded-fashion-mnist", "--seeds", "2", "--epochs", "1", "--limit-train", "48",
        "--limit-test", "32", "--batch-size", "16", "--quiet"]


@pytest.mark.parametrize("df,expected", sorted(T_TABLE.items()))
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=6e-4)


def test_t_quantile_matches_scipy_where_installed():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 4, 7, 12, 29, 60):
        for p in (0.9, 0.95, 0.975, 0.995):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9)


def test_t_distribution_closed_forms():
    assert student_t_two_sided(1.0, 1) == pytest.approx(0.5)  # Cauchy: P(|T| <= 1) = 1/2
    assert student_t_two_sided(math.sqrt(2), 2) == pytest.approx(math.sqrt(2) / 2)  # df 2: t / sqrt(2 + t^2)
    assert student_t_two_sided(0.0, 5) == 0.0
    with pytest.raises(ValueError, match="df must be a positive integer"):
        student_t_two_sided(1.0, 0)
    with pytest.raises(ValueError, match="p must lie in"):
        t_quantile(0.4, 3)


def test_paired_interval_by_hand():
    a, b = [0.80, 0.90, 0.85], [0.70, 0.95, 0.80]
    d = [0.10, -0.05, 0.05]
    mean = sum(d) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 2)
    half = 4.302653 * sd / math.sqrt(3)
    r = paired_t_interval(a, b)
    assert r["differences"] == pytest.approx(d)
    assert (r["n"], r["mean"], r["sd"]) == (3, pytest.approx(mean), pytest.approx(sd))
    assert (r["low"], r["high"]) == (pytest.approx(mean - half, abs=1e-6), pytest.approx(mean + half, abs=1e-6))
    one = paired_t_interval([0.9], [0.8])
    assert one["sd"] is None and one["low"] is None and one["mean"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="pairs"):
        paired_t_interval([0.9, 0.8], [0.8])
    assert mean_sd([2.0, 4.0]) == (3.0, pytest.approx(math.sqrt(2)))


def test_seeds_pair_the_runs():
    """The training engine seeds torch before building the model: the same seed gives every
    variant the same synapse and BN weights (the neurons draw no random numbers); another seed does not."""
    def initial(variant, seed):
        torch.manual_seed(seed)
        model = build_model("embedded-fashion-mnist", variant)
        return {n: p for n, p in model.state_dict().items() if not n.endswith("neuron.k")}

    ref = initial("klif", 3)
    for variant in ("lif", "k-only", "gate-only"):
        other = initial(variant, 3)
        assert other.keys() == ref.keys()
        assert all(torch.equal(other[n], ref[n]) for n in ref)
    assert not torch.equal(initial("klif", 4)["blocks.conv1.synapse.0.weight"], ref["blocks.conv1.synapse.0.weight"])


def test_tiny_study_end_to_end_through_the_cli(tmp_path, capsys):
    out = tmp_path / "study"
    assert cli.main(["study", *TINY, "--out", str(out)]) == 0
    summary = json.loads((out / "study.json").read_text())
    assert summary["complete"] and summary["settings"]["seeds"] == [0, 1]
    assert (out / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    acc = {}
    for v in study.DEFAULT_VARIANTS:
        runs = [json.loads((out / "runs" / f"{v}-seed{s}" / "metrics.json").read_text()) for s in (0, 1)]
        assert [m["seed"] for m in runs] == [0, 1] and {m["neuron"] for m in runs} == {v}
        acc[v] = [m["test_accuracy"] for m in runs]
        assert summary["variants"][v]["test_accuracy"] == acc[v]
        assert summary["variants"][v]["k"] == [m["k"] for m in runs]
    assert set(summary["variants"]["gate-only"]["k"][0].values()) == {1.0}  # k is fixed there
    # pairing through the engine: before training, KLIF equals gate-only and k-only equals LIF
    # (k = 1 in all four), so a seed's untrained networks must score exactly alike
    for seed in (0, 1):
        before = {v: json.loads((out / "runs" / f"{v}-seed{seed}" / "history.json").read_text())["epochs"][0]
                  for v in study.DEFAULT_VARIANTS}
        assert before["klif"]["test_loss"] == before["gate-only"]["test_loss"]
        assert before["k-only"]["test_loss"] == before["lif"]["test_loss"]
    assert summary["variants"]["lif"]["k"] == [{}, {}]
    # the headline by hand: two differences, df = 1, t = 12.7062
    d = [acc["klif"][i] - acc["lif"][i] for i in (0, 1)]
    mean, sd = (d[0] + d[1]) / 2, abs(d[0] - d[1]) / math.sqrt(2)
    c = summary["comparisons"]["klif - lif"]
    assert c["differences"] == pytest.approx(d) and c["mean"] == pytest.approx(mean)
    assert c["sd"] == pytest.approx(sd) and c["t"] == pytest.approx(12.7062, abs=1e-4)
    assert c["low"] == pytest.approx(mean - 12.7062047 * sd / math.sqrt(2), abs=1e-6)
    assert c["high"] == pytest.approx(mean + 12.7062047 * sd / math.sqrt(2), abs=1e-6)
    assert "paired t-interval" in summary["method"]
    ran = set(study.DEFAULT_VARIANTS)
    assert set(summary["comparisons"]) == {f"{a} - {b}" for a, b in study.COMPARISONS if {a, b} <= ran}
    assert summary["hardware"]["cpu_count"] >= 1 and summary["wall_time_s"] > 0
    assert "klif - lif" in capsys.readouterr().out


def test_interrupted_study_resumes_to_the_same_numbers(tmp_path, monkeypatch, capsys):
    from klif_edu import training

    args = ["study", *TINY, "--variants", "klif,lif"]
    whole = tmp_path / "whole"
    assert cli.main([*args, "--out", str(whole)]) == 0
    real_train, calls = training.train, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_train(*a, **k)

    part = tmp_path / "part"
    monkeypatch.setattr(training, "train", interrupted)
    assert cli.main([*args, "--out", str(part)]) == cli.EXIT_INTERRUPTED
    assert "--resume" in capsys.readouterr().err
    half = json.loads((part / "study.json").read_text())
    assert not half["complete"] and half["variants"]["klif"]["seeds"] == [0]
    monkeypatch.setattr(training, "train", real_train)
    assert cli.main([*args, "--out", str(part)]) == 2  # refuses to mix without --resume
    assert "--resume" in capsys.readouterr().err
    assert cli.main([*args, "--out", str(part), "--resume", "--epochs", "2"]) == 2
    assert "epochs: 1 there, 2 now" in capsys.readouterr().err
    assert cli.main([*args, "--out", str(part), "--resume"]) == 0
    a, b = (json.loads((p / "study.json").read_text()) for p in (whole, part))
    assert b["complete"]
    for v in ("klif", "lif"):  # same runs, same numbers
        assert a["variants"][v]["test_accuracy"] == b["variants"][v]["test_accuracy"]
        assert a["variants"][v]["k"] == b["variants"][v]["k"]
    assert a["comparisons"] == b["comparisons"]


@pytest.mark.parametrize("variants,message", [("klif,foo", "unknown variant"), ("klif,klif", "must not repeat")])
def test_bad_variants_say_what_to_choose(variants, message, tmp_path, capsys):
    assert cli.main(["study", *TINY, "--variants", variants, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_config_checks_and_figure_input():
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        StudyConfig(seeds=0).check()
    with pytest.raises(TypeError, match="summary dict"):
        study.save_figure({"nope": 1}, "x.png")


def test_study_figure_shows_every_seed_and_the_intervals():
    import matplotlib.pyplot as plt

    from klif_edu.plotting import plot_study

    acc = {"klif": [0.80, 0.82, 0.81], "lif": [0.79, 0.83, 0.80]}
    metrics = {v: {s: {"test_accuracy": a, "k": {}} for s, a in enumerate(accs)} for v, accs in acc.items()}
    summary = study.summarize(StudyConfig(variants=("klif", "lif"), seeds=3), metrics, 1.0)
    fig = plot_study(summary)
    ax_acc, ax_diff = fig.axes
    from matplotlib.collections import PathCollection

    dots = [c.get_offsets() for c in ax_acc.collections if isinstance(c, PathCollection)]
    assert sorted(len(d) for d in dots) == [3, 3]  # one dot per seed and variant
    assert len([ln for ln in ax_acc.lines if len(ln.get_xdata()) == 2]) == 3  # one line per seed
    c = summary["comparisons"]["klif - lif"]
    ci = [ln for ln in ax_diff.lines if list(ln.get_xdata()) == pytest.approx([100 * c["low"], 100 * c["high"]])]
    assert len(ci) == 1 and [t.get_text() for t in ax_diff.get_yticklabels()] == ["klif - lif"]
    plt.close(fig)


@pytest.mark.parametrize("path", [study.COMMITTED, study.COMMITTED_LONGER])
def test_committed_studies_are_complete_and_their_intervals_follow_from_the_seeds(path):
    summary = study.committed_study(path)
    assert summary is not None and summary["complete"], f"{path} is missing or incomplete"
    acc = {name: v["test_accuracy"] for name, v in summary["variants"].items()}
    assert set(acc) == {"klif", "lif", "k-only", "gate-only"} and len({len(a) for a in acc.values()}) == 1
    for comparison in summary["comparisons"].values():
        d = [x - y for x, y in zip(acc[comparison["a"]], acc[comparison["b"]])]
        n, mean = len(d), sum(d) / len(d)
        half = t_quantile(0.975, n - 1) * math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1) / n)
        assert comparison["differences"] == pytest.approx(d)
        assert (comparison["low"], comparison["high"]) == pytest.approx((mean - half, mean + half))
