"""The `klif-edu` command in-process: exit codes and what it prints."""
import json
import subprocess
import sys

import pytest
import torch

import klif_edu.data
from klif_edu.cli import main
from klif_edu.data import DATASETS, DatasetMissing

TINY = ["--limit-train", "16", "--limit-test", "8", "--batch-size", "8", "--time-steps", "2", "--quiet"]


def _train(tmp_path, *extra, name="run"):
    return main(["train", "--dataset", "embedded-fashion-mnist", "--neuron", "klif",
                 "--out", str(tmp_path / name), *TINY, *extra])


def test_train_writes_metrics_and_says_where(tmp_path, capsys):
    assert _train(tmp_path) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert f"test accuracy {metrics['test_accuracy']:.4f} after 1 epoch(s)" in out
    assert str(tmp_path / "run" / "metrics.json") in out
    assert metrics["train_size"] == 16 and metrics["time_steps"] == 2 and set(metrics["k"]) == {
        "conv1", "conv2", "fc1", "fc2"}


def test_existing_run_needs_resume_then_resume_continues(tmp_path, capsys):
    assert _train(tmp_path) == 0
    capsys.readouterr()
    assert _train(tmp_path, "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "Traceback" not in err
    assert _train(tmp_path, "--epochs", "2", "--resume") == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"] == 2


def test_truncated_checkpoint_is_a_short_message(tmp_path, capsys):
    assert _train(tmp_path) == 0
    ckpt = tmp_path / "run" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    capsys.readouterr()
    assert _train(tmp_path, "--epochs", "2", "--resume") == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt is not a readable checkpoint" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--dataset", "imagenet", "--neuron", "klif"], "choose one of: mnist, fashion-mnist"),
        (["train", "--dataset", "mnist", "--neuron", "hodgkin"], "invalid choice: 'hodgkin'"),
        (["train", "--dataset", "mnist", "--neuron", "klif", "--epochs", "0"], "expected a positive integer"),
        (["train", "--dataset", "mnist", "--neuron", "klif", "--lr", "-1"], "expected a positive number"),
        (["train", "--dataset", "mnist", "--neuron", "klif", "--arch", "vgg"], "invalid choice: 'vgg'"),
        (["train", "--neuron", "klif"], "the following arguments are required: --dataset"),
        (["train", "--dataset", "mnist", "--neuron", "klif", "--resume", "--overwrite"], "not allowed with"),
        (["fly"], "invalid choice: 'fly'"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_dataset_exits_2_with_where_to_put_it(tmp_path, capsys, monkeypatch):
    def missing(name, *args, **kwargs):
        raise DatasetMissing(f"{name} is not in {tmp_path}: put the files there")

    monkeypatch.setattr(klif_edu.data, "load_dataset", missing)
    assert main(["train", "--dataset", "cifar10", "--neuron", "lif", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("klif-edu train: error: cifar10 is not in") and "put the files there" in err
    assert "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_exits_2(tmp_path, capsys):
    assert _train(tmp_path, "--device", "cuda") == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU" in err and "--device cpu" in err


def test_datasets_lists_every_dataset_with_its_status(capsys):
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "kind", "status", "size"]
    rows = {line.split()[0]: line.split()[2] for line in lines[1:]}
    assert set(rows) == set(DATASETS)
    expected = {r["name"]: "present" if r["present"] else "missing" for r in klif_edu.data.dataset_status()}
    assert rows == expected


def test_help_exits_0(capsys):
    assert main(["train", "--help"]) == 0
    assert "--time-steps" in capsys.readouterr().out


def test_python_dash_m_works():
    done = subprocess.run([sys.executable, "-m", "klif_edu", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "demo" in done.stdout and "train" in done.stdout


# --- one error path: every sub-command turns the package's errors into one line ----------------
def test_lesson_on_cuda_without_a_gpu_is_one_line(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["lesson", "embedded-fashion-mnist", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("klif-edu lesson: error: device 'cuda'") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(Exception, match="device 'cuda'"):  # --debug: the traceback, for a bug report
        main(["--debug", "lesson", "embedded-fashion-mnist", "--device", "cuda"])


@pytest.mark.parametrize("error,code", [("checkpoint", 2), ("diverged", 1)])
def test_lesson_turns_a_damaged_checkpoint_or_a_diverged_run_into_one_line(error, code, tmp_path, monkeypatch,
                                                                           capsys):
    import klif_edu.experiment as experiment
    from klif_edu.checkpoint import CheckpointError
    from klif_edu.training import TrainingDiverged

    def train(config, spec=None):
        if error == "checkpoint":
            raise CheckpointError(f"{config.out}/checkpoint.pt is not a readable checkpoint; delete it")
        raise TrainingDiverged("the loss became NaN in epoch 1, step 3; try a smaller --lr")

    monkeypatch.setenv("KLIF_EDU_RUNS", str(tmp_path))
    monkeypatch.setattr(experiment, "train", train)
    assert main(["lesson", "embedded-fashion-mnist", "--mode", "test"]) == code
    err = capsys.readouterr().err
    assert "klif-edu lesson: error: " in err and ("checkpoint.pt" in err or "NaN" in err)
    assert "Traceback" not in err
    with pytest.raises((CheckpointError, TrainingDiverged)):
        main(["lesson", "embedded-fashion-mnist", "--mode", "test", "--debug"])


def test_a_bug_is_not_disguised_as_a_message(monkeypatch):
    import klif_edu.experiment as experiment

    monkeypatch.setattr(experiment, "compare_neurons", lambda *a, **k: [][0])
    with pytest.raises(IndexError):
        main(["lesson", "embedded-fashion-mnist", "--mode", "test"])
