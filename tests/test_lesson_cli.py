"""`klif-edu lesson NAME`: a notebook's runs made ahead of class, picked up by the notebook afterwards."""
import json

from klif_edu import modes
from klif_edu.cli import main
from klif_edu.experiment import compare_neurons


def test_lesson_command_runs_the_pair_and_the_notebook_call_picks_it_up(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KLIF_EDU_RUNS", str(tmp_path))
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    monkeypatch.delenv("KLIF_EDU_QUICK", raising=False)
    assert main(["lesson", "nope"]) == 2 and "unknown dataset" in capsys.readouterr().err
    assert main(["lesson", "embedded-fashion-mnist", "--mode", "test"]) == 0
    out = capsys.readouterr().out
    assert "TEST MODE (MODE='test' was asked for" in out and out.count("test accuracy") == 2
    assert json.loads((tmp_path / "embedded-fashion-mnist-test" / "experiment.json").read_text())["mode"] == "test"
    assert main(["lesson", "mnist", "--mode", "full", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "full mode needs mnist" in capsys.readouterr().err


def test_a_lesson_run_made_ahead_is_not_trained_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KLIF_EDU_RUNS", str(tmp_path))
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    tiny = modes.Budget("small", 1, 64, 32, "a tiny budget for this test", "nothing")
    monkeypatch.setitem(modes.LESSON_CPU, "embedded-fashion-mnist", tiny)
    first = compare_neurons("embedded-fashion-mnist", mode="lesson", verbose=False, progress=False)
    again = compare_neurons("embedded-fashion-mnist", mode="lesson", verbose=False, progress=False)
    assert "using it" in capsys.readouterr().out
    for neuron in ("klif", "lif"):
        assert again.accuracy(neuron) == first.accuracy(neuron)
        assert again.results[neuron].history == first.results[neuron].history
