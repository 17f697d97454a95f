"""experiment: mode decision with its reasons, the quick path end to end, commands, time estimates."""
import json
import shlex

import pytest
import torch

from klif_edu import experiment
from klif_edu.data import DatasetMissing
from klif_edu.experiment import (FULL, QUICK, compare_neurons, estimate_full_time, full_run_command, plan_run,
                                 runs_root)


@pytest.fixture
def no_quick_env(monkeypatch):
    monkeypatch.delenv("KLIF_EDU_QUICK", raising=False)


def test_quick_env_is_named_as_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    plan = plan_run("embedded-fashion-mnist", out=tmp_path)
    assert plan.quick and "KLIF_EDU_QUICK=1" in plan.reasons
    assert plan.arch == QUICK["arch"] and plan.limit_train == QUICK["limit_train"]
    line = str(plan)
    assert line.startswith("QUICK MODE (KLIF_EDU_QUICK=1") and "not the paper's" in line
    # insisting on quick mode under the env variable still names the env variable
    assert "KLIF_EDU_QUICK=1" in plan_run("embedded-fashion-mnist", quick=True, out=tmp_path).reasons


def test_missing_dataset_falls_back_to_the_embedded_set_of_its_kind(no_quick_env, tmp_path):
    for name, stand_in in (("mnist", "embedded-fashion-mnist"), ("dvs-gesture", "embedded-events")):
        plan = plan_run(name, data_dir=tmp_path / "empty", out=tmp_path)
        assert plan.quick and plan.train_dataset == stand_in
        assert f"{name} is not on disk" in plan.reasons
        assert f"{stand_in} standing in for {name}" in str(plan)
    assert plan.time_steps == experiment.QUICK_EVENT_FRAMES  # events: fewer frames in quick mode


def test_no_gpu_means_quick_and_full_needs_the_data(no_quick_env, monkeypatch, tmp_path):
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    plan = plan_run("embedded-fashion-mnist", out=tmp_path)
    assert plan.quick and any("no GPU" in r for r in plan.reasons)
    full = plan_run("embedded-fashion-mnist", quick=False, out=tmp_path)
    assert full.mode == "full" and full.arch == "paper" and full.limit_train is None
    assert full.epochs == FULL["epochs"] and full.reasons == ["quick=False was asked for"]
    with pytest.raises(DatasetMissing, match="full mode needs mnist"):
        plan_run("mnist", quick=False, data_dir=tmp_path / "empty")


def test_config_of_a_plan(tmp_path):
    plan = plan_run("embedded-events", quick=True, out=tmp_path, epochs=3, seed=7)
    cfg = plan.config("lif")
    assert (cfg.dataset, cfg.neuron, cfg.epochs, cfg.seed) == ("embedded-events", "lif", 3, 7)
    assert cfg.out == str(tmp_path / "lif") and cfg.overwrite and not cfg.resume
    full = plan_run("embedded-events", quick=False, out=tmp_path)
    assert full.config("klif").resume and not full.config("klif").overwrite


def test_compare_neurons_quick_path_end_to_end(tmp_path, capsys):
    cmp = compare_neurons("embedded-fashion-mnist", quick=True, out=tmp_path, epochs=1, verbose=False,
                          progress=False)
    assert "QUICK MODE" in capsys.readouterr().out
    assert set(cmp.results) == {"klif", "lif"}
    k = cmp.results["klif"].model.k_values()
    assert set(k) == {"conv1", "conv2", "fc1", "fc2"} and cmp.results["lif"].model.k_values() == {}
    for neuron in ("klif", "lif"):
        m = json.loads((tmp_path / neuron / "metrics.json").read_text())
        assert m["neuron"] == neuron and m["train_size"] == QUICK["limit_train"]
        assert cmp.accuracy(neuron) == m["test_accuracy"]
    assert cmp.histories()["klif"]["epochs"][-1]["k"] == pytest.approx(k)
    record = json.loads((tmp_path / "experiment.json").read_text())
    assert record["mode"] == "quick" and record["dataset"] == "embedded-fashion-mnist"
    # same seed, same data: both networks start from the same untrained accuracy
    assert cmp.histories()["klif"]["epochs"][0]["test_accuracy"] == cmp.histories()["lif"]["epochs"][0]["test_accuracy"]


def test_full_run_command_parses_into_the_cli(tmp_path):
    from klif_edu.cli import build_parser

    cmd = full_run_command("cifar10", "lif", out=tmp_path / "x")
    argv = shlex.split(cmd)
    assert argv[:2] == ["klif-edu", "train"]
    args = build_parser().parse_args(argv[1:])
    assert (args.dataset, args.neuron, args.arch, args.epochs) == ("cifar10", "lif", "paper", FULL["epochs"])
    assert args.batch_size == FULL["batch_size"] and args.device == "cuda" and args.resume
    assert args.out == str(tmp_path / "x")
    assert f"--out {runs_root() / 'cifar10-full' / 'klif'}" in full_run_command("cifar10", "klif")
    with pytest.raises(ValueError):
        full_run_command("cifar10", "plif")


def test_runs_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KLIF_EDU_RUNS", str(tmp_path))
    assert runs_root() == tmp_path
    assert str(plan_run("embedded-events", quick=True).out) == str(tmp_path / "embedded-events-quick")


def test_time_estimate_measured_from_a_finished_run(tmp_path):
    run = tmp_path / "mnist-full" / "klif"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({
        "dataset": "mnist", "arch": "paper", "device": "cuda:0", "train_size": 60_000,
        "images_per_s_this_session": 1000.0}))
    est = estimate_full_time("mnist", "cuda", epochs=2, root=tmp_path)
    assert est.source.startswith("measured") and est.seconds == pytest.approx(2 * (60_000 + 10_000 / 3) / 1000)
    assert "measured" in str(est) and "min" in str(est)


def test_time_estimate_without_device_or_measurement(tmp_path):
    if not torch.cuda.is_available():
        est = estimate_full_time("mnist", "cuda", root=tmp_path)
        assert est.seconds is None and "no such device" in str(est)
    est = estimate_full_time("mnist", "cpu", root=tmp_path, measure=False)
    assert est.seconds is None and "not measured" in est.source


def test_time_estimate_timed_now_scales_with_epochs(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(experiment, "_time_one_step", lambda d, dev, batch=2: calls.append(d) or 0.01)
    one = estimate_full_time("nmnist", "cpu", epochs=1, root=tmp_path)
    ten = estimate_full_time("nmnist", "cpu", epochs=10, root=tmp_path)
    assert calls == ["nmnist", "nmnist"] and one.source.startswith("estimated")
    assert ten.seconds == pytest.approx(10 * one.seconds)
    assert one.seconds == pytest.approx(0.01 * 10 * (60_000 + 10_000 / 3))  # T = 10 for N-MNIST


def test_one_step_timing_runs_the_paper_network():
    assert 0 < experiment._time_one_step("embedded-events", torch.device("cpu"), batch=1) < 60
