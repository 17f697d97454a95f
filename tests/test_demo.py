"""`klif-edu demo` in quick mode: the files it promises, with numbers from its own run."""
import json

import pytest

from klif_edu.cli import main
from klif_edu.demo import is_quick, run_demo

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = {"traces.png", "effective_surrogate.png", "learning_curves.png", "k_history.png", "learned_surrogate.png"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out=out, quick=True)


def test_writes_every_figure_and_the_summary(demo):
    out = demo["out"]
    assert {p.name for p in demo["figures"]} == FIGURES
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    assert demo["summary"] == out / "summary.md"
    for neuron in ("klif", "lif"):
        assert {"metrics.json", "history.json", "checkpoint.pt"} <= {p.name for p in (out / neuron).iterdir()}


def test_summary_reports_this_runs_numbers(demo):
    text = demo["summary"].read_text()
    for neuron in ("klif", "lif"):
        m = json.loads((demo["out"] / neuron / "metrics.json").read_text())
        assert m == demo["metrics"][neuron]
        assert f"| {neuron.upper()} | {100 * m['test_accuracy']:.1f} % | {100 * m['train_accuracy']:.1f} % " in text
        assert f"| {m['wall_time_s']:.1f} s |" in text
    for layer, k in demo["metrics"]["klif"]["k"].items():
        assert f"| {layer} | {k:.3f} |" in text
    assert "QUICK MODE" in text


def test_both_neurons_saw_the_same_data_and_start(demo):
    klif, lif = demo["metrics"]["klif"], demo["metrics"]["lif"]
    assert klif["neuron"] == "klif" and lif["neuron"] == "lif"
    for key in ("dataset", "arch", "seed", "train_size", "test_size", "time_steps", "epochs"):
        assert klif[key] == lif[key], key


def test_quick_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    assert is_quick()
    monkeypatch.setenv("KLIF_EDU_QUICK", "0")
    assert not is_quick()


def test_cli_demo_passes_its_options(tmp_path, capsys, monkeypatch):
    import klif_edu.demo

    seen = {}

    def fake_run_demo(out, quick):
        seen.update(out=out, quick=quick)
        return {"out": out, "figures": [1, 2], "summary": f"{out}/summary.md", "metrics": {}}

    monkeypatch.setattr(klif_edu.demo, "run_demo", fake_run_demo)
    assert main(["demo", "--quick", "--out", str(tmp_path / "d")]) == 0
    assert seen == {"out": str(tmp_path / "d"), "quick": True}
    assert f"wrote {tmp_path / 'd'}/summary.md and 2 figures" in capsys.readouterr().out
    assert main(["demo"]) == 0 and seen == {"out": "runs/demo", "quick": None}
