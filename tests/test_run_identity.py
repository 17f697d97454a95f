"""One run identity: every reader of a run compares the whole identity; a run started over leaves nothing old."""
import json

import pytest
import torch

from klif_edu import cli, modes, study, training
from klif_edu.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from klif_edu.experiment import compare_neurons
from klif_edu.modes import Budget
from klif_edu.reproduction import collect_runs, margins
from klif_edu.run_identity import RESUME_MAY_DIFFER, RUN_FILES, RunMismatch, differences
from klif_edu.study import StudyConfig, StudyMismatch

from test_training import run

TINY_LESSON = Budget("small", 1, 32, 16, "tiny, for tests", "nothing", batch_size=16)
TRAIN = ["train", "--dataset", "embedded-fashion-mnist", "--neuron", "klif", "--limit-train", "32",
         "--limit-test", "16", "--batch-size", "16", "--quiet"]
STUDY = ["study", "--dataset", "embedded-fashion-mnist", "--variants", "klif", "--seeds", "1", "--epochs", "1",
         "--limit-train", "32", "--limit-test", "16", "--batch-size", "16", "--quiet"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _ctrl_c_at(monkeypatch, call: int) -> None:
    """Press Ctrl-C at the ``call``-th training step from now on."""
    real, calls = training.train_step, []

    def step(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", step)


@pytest.mark.parametrize("interrupted", ["klif", "lif"])
def test_a_stale_lesson_run_is_never_reported_as_a_new_one(monkeypatch, tmp_path, capsys, interrupted):
    monkeypatch.delenv("KLIF_EDU_QUICK", raising=False)
    monkeypatch.setitem(modes.LESSON_CPU, "embedded-fashion-mnist", TINY_LESSON)
    kw = dict(mode="lesson", device="cpu", verbose=False, progress=False)
    compare_neurons("embedded-fashion-mnist", seed=0, out=tmp_path / "runs", **kw)  # run A finishes
    with monkeypatch.context() as m:  # run B (seed 1) is interrupted in its first epoch (2 steps per neuron)
        _ctrl_c_at(m, 1 if interrupted == "klif" else 3)
        with pytest.raises(KeyboardInterrupt):
            compare_neurons("embedded-fashion-mnist", seed=1, out=tmp_path / "runs", **kw)
    capsys.readouterr()
    again = compare_neurons("embedded-fashion-mnist", seed=1, out=tmp_path / "runs", **kw)
    out = capsys.readouterr().out
    assert not any(line.startswith(f"{interrupted}: a finished") for line in out.splitlines())  # A's is not B's
    fresh = compare_neurons("embedded-fashion-mnist", seed=1, out=tmp_path / "fresh", **kw)
    for neuron in ("klif", "lif"):
        assert load_checkpoint(tmp_path / "runs" / neuron / "checkpoint.pt")["config"]["seed"] == 1
        saved = json.loads((tmp_path / "runs" / neuron / "metrics.json").read_text())
        assert saved["identity"]["seed"] == 1 and saved["seed"] == 1
        a, b = again.results[neuron], fresh.results[neuron]
        assert a.metrics["test_accuracy"] == b.metrics["test_accuracy"] and a.metrics["k"] == b.metrics["k"]
        assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))


@pytest.mark.parametrize("option,value", [("--seed", "1"), ("--lr", "0.002"), ("--batch-size", "8"),
                                          ("--limit-train", "24"), ("--data-dir", "elsewhere")])
def test_train_resume_with_other_settings_is_refused_naming_them(tmp_path, capsys, option, value):
    base = [*TRAIN, "--out", str(tmp_path / "run")]
    assert cli.main(base) == 0
    capsys.readouterr()
    assert cli.main([*base, "--epochs", "2", "--resume", option, value]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    name = option[2:].replace("-", "_")
    assert f"{name}=" in err and "--overwrite" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1  # the old run is untouched


def test_only_the_named_settings_may_differ_on_resume(tmp_path):
    assert set(RESUME_MAY_DIFFER) == {"epochs", "device", "mixed_precision"}
    assert differences({"seed": 0, "epochs": 1}, {"seed": 1, "epochs": 2}, RESUME_MAY_DIFFER) == [("seed", 0, 1)]
    run(tmp_path, epochs=1)
    path = tmp_path / "run" / "checkpoint.pt"  # as if epoch 1 had run on a GPU
    state = load_checkpoint(path)
    state["identity"] = {**state["identity"], "device": "cuda", "mixed_precision": True}
    save_checkpoint(state, path)
    r = run(tmp_path, epochs=2, resume=True)  # a single run may continue on another device, and says so
    assert r.metrics["identity"]["device"] == "cuda+cpu" and r.metrics["identity"]["mixed_precision"] == "True+False"
    with pytest.raises(RunMismatch, match="device='cuda\\+cpu'.*device='cpu'"):  # never inside a study
        training.train(training.TrainConfig(dataset="toy", epochs=3, batch_size=8, out=str(tmp_path / "run"),
                                            resume=True, verbose=False, progress=False, log_every=2),
                       may_differ=("epochs",), **_toy_data())
    assert issubclass(RunMismatch, CheckpointError)


def _toy_data():
    from test_training import TOY, fake_set

    return {"train_set": fake_set(TOY, 24), "test_set": fake_set(TOY, 8, seed=1), "spec": TOY}


def test_study_resume_on_another_device_or_data_folder_is_refused(tmp_path, capsys):
    args = [*STUDY, "--out", str(tmp_path)]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main([*args, "--resume", "--data-dir", str(tmp_path / "elsewhere")]) == cli.EXIT_USAGE
    assert "data_dir" in capsys.readouterr().err
    path = tmp_path / "study.json"
    original = path.read_text()
    saved = json.loads(original)
    saved["identity"]["device"] = "cuda"  # as if the study had started on a GPU
    path.write_text(json.dumps(saved))
    assert cli.main([*args, "--resume"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "device: 'cuda' there, 'cpu' now" in err and "--out" in err
    path.write_text(original)
    run_metrics = tmp_path / "runs" / "klif-seed0" / "metrics.json"
    m = json.loads(run_metrics.read_text())
    m["identity"]["device"] = "cuda"  # one finished run of the study came from a GPU
    run_metrics.write_text(json.dumps(m))
    assert cli.main([*args, "--resume"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "klif-seed0" in err and "device" in err
    m["identity"]["device"] = "cpu"
    run_metrics.write_text(json.dumps(m))
    assert cli.main([*args, "--resume"]) == 0


def _metrics(acc, device, amp):
    return {"test_accuracy": acc, "k": {}, "wall_time_s": 1.0, "device": device, "mixed_precision": amp,
            "identity": {"device": device.split(":")[0], "mixed_precision": amp}}


def test_summarize_refuses_runs_from_different_devices():
    config = StudyConfig(variants=("klif", "lif"), seeds=1).check()
    mixed = {"klif": {0: _metrics(0.8, "cpu", False)}, "lif": {0: _metrics(0.7, "cuda:0", True)}}
    with pytest.raises(StudyMismatch, match=r"lif-seed0.*cuda"):
        study.summarize(config, mixed, 2.0)
    same = study.summarize(config, {"klif": {0: _metrics(0.8, "cpu", False)}, "lif": {0: _metrics(0.7, "cpu", False)}}, 2.0)
    assert same["hardware"]["device"] == "cpu" and same["hardware"]["mixed_precision"] is False


def test_a_run_started_over_leaves_no_old_file(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    run(tmp_path, epochs=2, seed=0)
    (folder / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half a file: killed while writing")
    old = sorted(p.name for p in folder.iterdir())
    assert {"checkpoint.pt", "checkpoint.prev.pt", "metrics.json", "history.json", "history.csv"} <= set(old)
    assert set(RUN_FILES) >= {"checkpoint.pt", "checkpoint.prev.pt", "metrics.json", "history.json", "history.csv"}
    with monkeypatch.context() as m:  # started over with seed 1, interrupted at its first step
        _ctrl_c_at(m, 1)
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path, epochs=2, seed=1, overwrite=True)
    assert list(folder.iterdir()) == []
    run(tmp_path, epochs=2, seed=0, overwrite=True)
    for p in folder.glob("checkpoint*.pt"):
        p.unlink()  # a run whose checkpoints were deleted by hand: resume starts afresh
    seen = []
    real_save = training.save_checkpoint
    monkeypatch.setattr(training, "save_checkpoint",
                        lambda state, path: seen.append(sorted(p.name for p in folder.iterdir())) or real_save(state, path))
    r = run(tmp_path, epochs=1, seed=1, resume=True)
    assert seen == [[]]  # nothing of the old run was left when the first new file appeared
    assert r.metrics["identity"]["seed"] == 1


def test_resume_without_checkpoint_but_with_a_previous_one_is_refused(tmp_path):
    run(tmp_path, epochs=2)
    (tmp_path / "run" / "checkpoint.pt").unlink()
    with pytest.raises(CheckpointError, match="checkpoint.prev.pt"):
        run(tmp_path, epochs=2, resume=True)
    assert (tmp_path / "run" / "checkpoint.prev.pt").exists()  # nothing lost


def _row(root, folder, neuron, acc, **extra):
    path = root / folder / neuron
    path.mkdir(parents=True, exist_ok=True)
    m = {"dataset": "mnist", "neuron": neuron, "arch": "paper", "epochs": 3, "time_steps": 8, "train_size": 600,
         "test_accuracy": acc, "device": "cpu", "seed": 0, "lr": 0.001, "batch_size": 16, "k": {}, **extra}
    (path / "metrics.json").write_text(json.dumps(m))


def test_the_reproduction_table_pairs_only_runs_of_one_identity(tmp_path):
    _row(tmp_path, "a", "klif", 0.9)
    _row(tmp_path, "a", "lif", 0.8, lr=0.002)
    _row(tmp_path, "b", "klif", 0.9)
    _row(tmp_path, "b", "lif", 0.8, batch_size=32)
    _row(tmp_path, "c", "klif", 0.9, identity={"neuron": "klif", "seed": 0, "device": "cpu"})
    _row(tmp_path, "c", "lif", 0.8, identity={"neuron": "lif", "seed": 0, "device": "cuda"})
    _row(tmp_path, "d", "klif", 0.9, identity={"neuron": "klif", "seed": 0, "device": "cpu"})
    _row(tmp_path, "d", "lif", 0.8, identity={"neuron": "lif", "seed": 0, "device": "cpu"})
    pairs = margins(collect_runs(tmp_path))
    assert [p["folder"] for p in pairs] == [str(tmp_path / "d")]


def test_the_data_folder_is_compared_resolved(monkeypatch, tmp_path):
    """The default data folder named explicitly is the same folder; another folder is not."""
    from klif_edu.config import TrainConfig
    from klif_edu.data import data_root, get_spec
    from klif_edu.run_identity import identity_of_config

    monkeypatch.setenv("KLIF_EDU_DATA", str(tmp_path / "share"))
    spec = get_spec("embedded-fashion-mnist")
    default = identity_of_config(TrainConfig(dataset="embedded-fashion-mnist", neuron="klif"), spec)
    named = identity_of_config(TrainConfig(dataset="embedded-fashion-mnist", neuron="klif",
                                           data_dir=str(data_root())), spec)
    other = identity_of_config(TrainConfig(dataset="embedded-fashion-mnist", neuron="klif",
                                           data_dir=str(tmp_path / "elsewhere")), spec)
    assert differences(default, named) == []
    assert [d[0] for d in differences(default, other)] == ["data_dir"]
