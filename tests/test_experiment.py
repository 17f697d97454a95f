"""experiment: mode decision with its reasons, the quick path end to end, commands, time estimates."""
import json
import shlex

import pytest
import torch

from klif_edu import experiment, modes
from klif_edu.data import DatasetMissing
from klif_edu.run_identity import identity_of_config
from klif_edu.experiment import (FULL, QUICK, TEST, compare_neurons, estimate_full_time, full_run_command,
                                 plan_run, runs_root)


@pytest.fixture
def no_quick_env(monkeypatch):
    monkeypatch.delenv("KLIF_EDU_QUICK", raising=False)


def _machine(monkeypatch, gpu: bool, present: bool):
    """Pretend to be a CPU or GPU machine with the dataset present or missing."""
    dev = (torch.device("cuda"), "auto: CUDA GPU found (pretend)") if gpu else (torch.device("cpu"), "auto: no GPU found")
    monkeypatch.setattr(modes, "explain_device", lambda request="auto": dev)
    monkeypatch.setattr(modes, "dataset_present", lambda name, data_dir=None: present or name.startswith("embedded-"))
    if gpu:  # a pretend GPU with 40 GiB free, 100 MiB of activations per sample
        monkeypatch.setattr(modes, "gpu_batch", lambda dataset, arch, T, device, full_batch: modes.gpu_memory.gpu_batch(
            dataset, arch, T, device, full_batch, free=40 * 2**30, per_sample=100 * 2**20))


@pytest.mark.parametrize("quick_env", [False, True])
@pytest.mark.parametrize("present", [False, True])
@pytest.mark.parametrize("gpu", [False, True])
def test_full_mode_never_starts_unasked(monkeypatch, tmp_path, gpu, present, quick_env):
    _machine(monkeypatch, gpu, present)
    if quick_env:
        monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    else:
        monkeypatch.delenv("KLIF_EDU_QUICK", raising=False)
    for name in ("mnist", "fashion-mnist", "cifar10", "nmnist", "cifar10-dvs", "dvs-gesture"):
        plan = plan_run(name, out=tmp_path)
        assert plan.mode == ("test" if quick_env else "lesson"), (name, plan.mode)
        assert plan.epochs < FULL["epochs"] and not plan.config("klif").resume


@pytest.mark.parametrize("gpu", [False, True])
def test_lesson_mode_trains_the_real_dataset_with_a_budget_per_device(no_quick_env, monkeypatch, tmp_path, gpu):
    _machine(monkeypatch, gpu, present=True)
    for name in ("mnist", "fashion-mnist", "cifar10", "nmnist", "cifar10-dvs", "dvs-gesture"):
        plan = plan_run(name, out=tmp_path)
        budget = (modes.LESSON_GPU if gpu else modes.LESSON_CPU)[name]
        assert plan.mode == "lesson" and plan.train_dataset == name and not plan.stand_in and plan.banner() == ""
        assert plan.arch == ("paper" if gpu else "small") == budget.arch
        assert (plan.epochs, plan.limit_train) == (budget.epochs, budget.limit_train)
        line = str(plan)
        assert line.startswith("LESSON MODE (the default") and "Why this budget:" in line and "Expect:" in line
        assert f"T={plan.T}" in line and budget.why in line
    assert plan_run("fashion-mnist", out=tmp_path).limit_train <= 10_000 or gpu  # a CPU gets a subset


def test_missing_dataset_trains_the_stand_in_under_a_banner(no_quick_env, monkeypatch, tmp_path):
    _machine(monkeypatch, gpu=False, present=False)
    for name, stand_in in (("mnist", "embedded-fashion-mnist"), ("dvs-gesture", "embedded-events")):
        plan = plan_run(name, out=tmp_path)
        assert plan.mode == "lesson" and plan.train_dataset == stand_in and plan.stand_in
        assert f"{name} is not on disk" in plan.reasons and f"{stand_in} STANDING IN for {name}" in str(plan)
        banner = plan.banner().splitlines()
        assert len(banner) >= 5 and set(banner[0]) == {"!"} and "STAND-IN DATA" in banner[1]
        assert f"klif-edu fetch {name}" in plan.banner()
    assert "SIMULATED" in plan.banner()


def test_quick_env_and_explicit_asks(monkeypatch, tmp_path):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    plan = plan_run("embedded-fashion-mnist", out=tmp_path)
    assert plan.quick and plan.mode == "test" and plan.limit_train == TEST["limit_train"]
    assert str(plan).startswith("TEST MODE (KLIF_EDU_QUICK=1") and "not the paper's" in str(plan)
    assert plan_run("embedded-events", out=tmp_path).time_steps == modes.QUICK_EVENT_FRAMES
    # an explicit ask wins over the environment
    assert plan_run("embedded-fashion-mnist", mode="lesson", out=tmp_path).mode == "lesson"
    full = plan_run("embedded-fashion-mnist", quick=False, out=tmp_path)
    assert full.mode == "full" and full.arch == "paper" and full.limit_train is None
    assert full.epochs == FULL["epochs"] and full.reasons[0] == "quick=False was asked for"
    assert plan_run("embedded-fashion-mnist", mode="full", out=tmp_path).mode == "full"


def test_decide_mode_and_bad_modes(no_quick_env):
    assert modes.decide_mode() == ("lesson", "the default")
    assert modes.decide_mode(quick=True)[0] == "test" and modes.decide_mode(quick=False)[0] == "full"
    assert modes.decide_mode("full")[0] == "full"
    with pytest.raises(ValueError, match="mode must be one of"):
        modes.decide_mode("paper")
    with pytest.raises(ValueError, match="contradict"):
        modes.decide_mode("full", quick=True)


def test_full_mode_needs_the_data(no_quick_env, tmp_path):
    with pytest.raises(DatasetMissing, match="full mode needs mnist"):
        plan_run("mnist", mode="full", data_dir=tmp_path / "empty")


def test_config_of_a_plan(tmp_path):
    plan = plan_run("embedded-events", quick=True, out=tmp_path, epochs=3, seed=7)
    cfg = plan.config("lif")
    assert (cfg.dataset, cfg.neuron, cfg.epochs, cfg.seed) == ("embedded-events", "lif", 3, 7)
    assert cfg.out == str(tmp_path / "lif") and cfg.overwrite and not cfg.resume
    full = plan_run("embedded-events", quick=False, out=tmp_path)
    assert full.config("klif").resume and not full.config("klif").overwrite


def test_full_mode_says_how_long_and_the_command_before_it_starts(no_quick_env, monkeypatch, tmp_path, capsys):
    said = []
    monkeypatch.setattr(experiment, "estimate_full_time",
                        lambda d, dev, epochs=None: said.append("estimate") or "about 3 h per neuron (test)")
    monkeypatch.setattr(experiment, "train", lambda config, spec=None: said.append(config.neuron) or config)
    compare_neurons("embedded-fashion-mnist", mode="full", out=tmp_path, device="cpu")
    out = capsys.readouterr().out
    assert said == ["estimate", "klif", "lif"]  # the time comes first, then the runs
    assert "about 3 h per neuron" in out and out.count("klif-edu train --dataset embedded-fashion-mnist") == 2


def test_a_finished_lesson_run_is_picked_up(no_quick_env, monkeypatch, tmp_path, capsys):
    configs = []
    monkeypatch.setattr(experiment, "train", lambda config, spec=None: configs.append(config) or config)
    compare_neurons("embedded-fashion-mnist", mode="lesson", out=tmp_path, device="cpu")
    assert all(c.overwrite and not c.resume for c in configs)
    plan = plan_run("embedded-fashion-mnist", mode="lesson", out=tmp_path, device="cpu")
    for neuron in ("klif", "lif"):  # as if `klif-edu lesson` had finished both (their metrics carry the identity)
        (tmp_path / neuron).mkdir()
        identity = identity_of_config(plan.config(neuron), plan.model_spec())
        (tmp_path / neuron / "metrics.json").write_text(json.dumps({"epochs": plan.epochs, "identity": identity}))
    configs.clear()
    compare_neurons("embedded-fashion-mnist", mode="lesson", out=tmp_path, device="cpu")
    assert all(c.resume and not c.overwrite for c in configs) and "using it" in capsys.readouterr().out
    configs.clear()
    compare_neurons("embedded-fashion-mnist", mode="lesson", out=tmp_path, device="cpu", epochs=1)  # other settings
    assert all(c.overwrite for c in configs)
    assert not any((tmp_path / n / "metrics.json").exists() for n in ("klif", "lif"))  # the old runs are gone


def test_compare_neurons_quick_path_end_to_end(tmp_path, capsys):
    cmp = compare_neurons("embedded-fashion-mnist", quick=True, out=tmp_path, epochs=1, verbose=False,
                          progress=False)
    assert "TEST MODE" in capsys.readouterr().out
    assert set(cmp.results) == {"klif", "lif"}
    k = cmp.results["klif"].model.k_values()
    assert set(k) == {"conv1", "conv2", "fc1", "fc2"} and cmp.results["lif"].model.k_values() == {}
    for neuron in ("klif", "lif"):
        m = json.loads((tmp_path / neuron / "metrics.json").read_text())
        assert m["neuron"] == neuron and m["train_size"] == QUICK["limit_train"]
        assert cmp.accuracy(neuron) == m["test_accuracy"]
    assert cmp.histories()["klif"]["epochs"][-1]["k"] == pytest.approx(k)
    record = json.loads((tmp_path / "experiment.json").read_text())
    assert record["mode"] == "test" and record["dataset"] == "embedded-fashion-mnist"
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
    assert str(plan_run("embedded-events", quick=True).out) == str(tmp_path / "embedded-events-test")


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
    monkeypatch.setattr(experiment, "_time_one_step", lambda d, dev, batch=None: calls.append(d) or (0.01, FULL["batch_size"]))
    one = estimate_full_time("nmnist", "cpu", epochs=1, root=tmp_path)
    ten = estimate_full_time("nmnist", "cpu", epochs=10, root=tmp_path)
    assert calls == ["nmnist", "nmnist"] and one.source.startswith("estimated")
    assert f"batch {FULL['batch_size']}, T=10" in one.source  # the full run's real step
    assert ten.seconds == pytest.approx(10 * one.seconds)
    assert one.seconds == pytest.approx(0.01 * (60_000 + 10_000 / 3))  # seconds per image x images


def test_one_step_timing_runs_the_full_step(monkeypatch):
    seen = {}
    real = experiment.build_model

    def spy(spec, neuron, arch, time_steps=None):
        seen.update(arch=arch, time_steps=time_steps)
        return real(spec, neuron, arch, time_steps=time_steps)

    monkeypatch.setattr(experiment, "build_model", spy)
    per_image, timed = experiment._time_one_step("embedded-events", torch.device("cpu"), batch=2)
    assert 0 < per_image < 60 and timed == 2
    assert seen == {"arch": "paper", "time_steps": 8}
    # a step too slow to time at the full batch is timed at a smaller one (and the estimate says so)
    assert experiment._time_one_step("embedded-events", torch.device("cpu"), batch=16, max_seconds=1e-6)[1] == 1


def test_a_dvs_gesture_stand_in_has_11_classes(no_quick_env, monkeypatch, tmp_path):
    _machine(monkeypatch, gpu=False, present=False)
    plan = plan_run("dvs-gesture", out=tmp_path)
    spec = plan.model_spec()
    assert plan.train_dataset == "embedded-events" and spec.num_classes == 11 == len(spec.class_names)
    assert "votes over 11 classes" in str(plan)
    assert plan_run("nmnist", out=tmp_path).model_spec().num_classes == 10  # same count: unchanged
    seen = []
    monkeypatch.setattr(experiment, "train", lambda config, spec=None: seen.append(spec) or config)
    compare_neurons("dvs-gesture", mode="test", out=tmp_path)
    assert [s.num_classes for s in seen] == [11, 11]
    from klif_edu.models import build_model

    net = build_model(spec, "klif", "small", time_steps=4)
    assert [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1].out_features == 110


def test_time_estimate_says_when_a_smaller_batch_was_timed(tmp_path, monkeypatch):
    monkeypatch.setattr(experiment, "_time_one_step", lambda d, dev, batch=None: (0.5, 4))
    est = estimate_full_time("dvs-gesture", "cpu", epochs=1, root=tmp_path)
    assert "batch 4, per image" in est.source and f"full batch of {FULL['batch_size']}" in est.source
    assert est.seconds == pytest.approx(0.5 * (1_077 + 264 / 3))
