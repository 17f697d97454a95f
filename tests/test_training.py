"""The training loop: one step per dataset, records, resume, checkpoints, NaN stop, devices."""
import json
import math
import os

import pytest
import torch
from torch.utils.data import TensorDataset

from klif_edu import history as hist
from klif_edu.checkpoint import CheckpointError, load_checkpoint, previous_path, save_checkpoint
from klif_edu.device import DeviceUnavailable, explain_device, select_device
from klif_edu.models import build_model
from klif_edu.training import (
    RunExists,
    TrainConfig,
    TrainingDiverged,
    evaluate,
    train,
    train_step,
)

from klif_edu.data import DATASETS, DatasetSpec

FM = "toy"  # a tiny stand-in for the mechanics tests; every real dataset gets its own test
TOY = DatasetSpec("toy", "static", (1, 12, 12), 3, 4, ("a", "b", "c"), "12x12 bands, for tests")
SPECS = {**DATASETS, "toy": TOY}


def fake_set(spec, n=24, seed=0, t=2):
    """Items shaped like klif_edu.data's: static x [C,H,W], events x [T,C,H,W]; a learnable signal."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, spec.num_classes, (n,), generator=g)
    shape = tuple(spec.input_shape) if spec.kind == "static" else (t, *spec.input_shape)
    x = torch.rand(n, *shape, generator=g) * 0.2
    rows = spec.input_shape[1] // spec.num_classes
    for i in range(n):  # class c lights up band c of rows
        x[i, ..., int(y[i]) * rows : (int(y[i]) + 1) * rows, :] += 1.0
    if spec.kind == "events":
        x = (x > 0.5).float()
    return TensorDataset(x, y)


def run(tmp_path, name="run", spec_name=FM, n=24, **kw):
    spec = SPECS[spec_name]
    settings = {"dataset": spec_name, "epochs": 1, "batch_size": 8, "out": str(tmp_path / name),
                "verbose": False, "progress": False, "log_every": 2, **kw}
    return train(TrainConfig(**settings), train_set=fake_set(spec, n), test_set=fake_set(spec, 8, seed=1), spec=spec)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_trains_one_step_small(tmp_path, name):
    r = run(tmp_path, spec_name=name, n=4, batch_size=4, time_steps=2)
    assert r.metrics["dataset"] == name and r.metrics["epochs"] == 1
    assert r.history["epochs"][-1]["step"] == 1
    assert r.model.num_classes == DATASETS[name].num_classes


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_paper_network_takes_one_step(name):
    """The paper networks through the loop's own step function (no checkpoint of 100s of MB)."""
    spec = DATASETS[name]
    torch.manual_seed(0)
    model = build_model(spec, "klif", "paper", time_steps=1)
    x, y = fake_set(spec, n=1, t=1).tensors
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rates, loss = train_step(model, opt, torch.amp.GradScaler("cuda", enabled=False), x, y)
    assert rates.shape == (1, spec.num_classes) and math.isfinite(float(loss.detach()))
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert all(opt.state[p]["step"] == 1 for p in model.parameters())


def test_records_history_metrics_and_checkpoint(tmp_path):
    r = run(tmp_path, epochs=2, n=32)
    out = tmp_path / "run"
    assert {p.name for p in out.iterdir()} == {"checkpoint.pt", "checkpoint.prev.pt", "history.json",
                                               "history.csv", "metrics.json"}
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("test_accuracy", "epochs", "neuron", "dataset", "arch", "k", "wall_time_s", "device",
                "time_steps", "train_size"):
        assert key in metrics, key
    assert metrics["k"] == r.model.k_values() and metrics["epochs"] == 2 and metrics["train_size"] == 32
    assert metrics["device"] == "cpu" and metrics["neuron"] == "klif"

    h = hist.load(out / "history.json")
    rows = h["epochs"]
    assert [row["epoch"] for row in rows] == [0, 1, 2]
    assert rows[0]["k"] == {name: 1.0 for name in r.model.neurons()} and "train_loss" not in rows[0]
    assert rows[-1]["k"] == r.model.k_values() and rows[-1]["test_accuracy"] == metrics["test_accuracy"]
    assert rows[1]["k"] != rows[0]["k"], "k should move during training"
    for row in rows[1:]:
        expected = hist.surrogate_shape(hist.surrogate_of(h), row["k"], h["v_threshold"])
        assert row["slope"] == {n: s for n, (s, _) in expected.items()}
        assert row["width"] == {n: w for n, (_, w) in expected.items()}
        assert row["lr"] > 0 and row["wall_time"] > 0 and 0 <= row["train_accuracy"] <= 1
    assert rows[1]["wall_time"] < rows[2]["wall_time"] and rows[1]["lr"] > rows[2]["lr"]  # cosine
    assert [(s["epoch"], s["step"]) for s in h["steps"]] == [(1, 2), (1, 4), (2, 6), (2, 8)]  # log_every=2
    assert h["steps"][-1]["k"] == r.model.k_values()
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "test_accuracy", "k/conv1", "slope/fc2", "width/conv2"} <= set(header)


def test_lif_history_has_no_k(tmp_path):
    r = run(tmp_path, neuron="lif")
    assert r.metrics["k"] == {} and all(row["k"] == {} for row in r.history["epochs"])


class CtrlC(torch.utils.data.Dataset):
    """Wraps a dataset; the reader presses Ctrl-C after ``after`` items have been read."""

    def __init__(self, data, after):
        self.data, self.after, self.calls = data, after, 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt
        return self.data[i]


@pytest.mark.parametrize("how", ["ctrl-c", "stop_after"])
def test_resume_reaches_the_same_result_as_an_uninterrupted_run(tmp_path, how):
    spec = TOY
    test_set = fake_set(spec, 8, seed=1)
    cfg = {"dataset": "toy", "epochs": 2, "batch_size": 8, "verbose": False, "progress": False, "log_every": 2}
    straight = train(TrainConfig(out=str(tmp_path / "straight"), **cfg), train_set=fake_set(spec, 32),
                     test_set=test_set, spec=spec)
    if how == "ctrl-c":
        with pytest.raises(KeyboardInterrupt):  # interrupted in the middle of epoch 2
            train(TrainConfig(out=str(tmp_path / "split"), **cfg), train_set=CtrlC(fake_set(spec, 32), 32 + 12),
                  test_set=test_set, spec=spec)
    else:
        first = train(TrainConfig(out=str(tmp_path / "split"), stop_after=1, **cfg), train_set=fake_set(spec, 32),
                      test_set=test_set, spec=spec)
        assert first.metrics["epochs"] == 1 and [r["epoch"] for r in first.history["epochs"]] == [0, 1]
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["epoch"] == 1
    resumed = train(TrainConfig(out=str(tmp_path / "split"), resume=True, **cfg), train_set=fake_set(spec, 32),
                    test_set=test_set, spec=spec)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]

    def strip(h):
        return [{k: v for k, v in row.items() if k != "wall_time"} for row in h["epochs"]], h["steps"]

    assert strip(straight.history) == strip(resumed.history)
    assert resumed.metrics["test_accuracy"] == straight.metrics["test_accuracy"]


def test_resume_without_checkpoint_starts_afresh_and_finished_run_is_kept(tmp_path):
    r = run(tmp_path, resume=True)
    assert r.metrics["epochs"] == 1
    again = run(tmp_path, resume=True)  # already done: nothing to train, same records
    assert again.history == r.history


def test_existing_run_is_not_overwritten_by_accident(tmp_path):
    run(tmp_path)
    with pytest.raises(RunExists, match="--resume"):
        run(tmp_path)
    assert run(tmp_path, overwrite=True).metrics["epochs"] == 1


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path):
    run(tmp_path, neuron="klif")
    with pytest.raises(CheckpointError, match=r"checkpoint.pt was trained with neuron='klif'.*neuron='lif'"):
        run(tmp_path, neuron="lif", epochs=2, resume=True)


def test_truncated_checkpoint_gives_a_clear_error_and_the_previous_one_survives(tmp_path):
    run(tmp_path, epochs=2)
    path = tmp_path / "run" / "checkpoint.pt"
    prev = previous_path(path)
    assert load_checkpoint(prev)["epoch"] == 1
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"checkpoint.pt is not a readable checkpoint.*truncated.*checkpoint.prev.pt \(after epoch 1\) is intact"):
        run(tmp_path, epochs=3, resume=True)
    assert load_checkpoint(prev)["epoch"] == 1
    os.replace(prev, path)  # the recovery the message suggests
    assert run(tmp_path, epochs=2, resume=True).metrics["epochs"] == 2


def test_a_crash_while_saving_leaves_the_old_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    state = {"epoch": 1, "config": {}, "model": {"w": torch.ones(3)}, "optimizer": {}, "history": {}}
    save_checkpoint(state, path)
    good = path.read_bytes()

    def broken_save(obj, fh):
        fh.write(b"PK\x03\x04half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({**state, "epoch": 2}, path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_checkpoint_validation_messages(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"weights": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="not a klif-edu checkpoint"):
        load_checkpoint(path)
    save_checkpoint({"epoch": 1, "config": {"neuron": "lif"}, "model": {}, "optimizer": {}, "history": {}}, path)
    with pytest.raises(CheckpointError, match=r"trained with neuron='lif'.*asks for neuron='klif'"):
        load_checkpoint(path, expect={"neuron": "klif"})
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="lacks"):
        save_checkpoint({"epoch": 1}, path)


class GoesBad(torch.utils.data.Dataset):
    """Finite data on the first pass, NaN from the second pass on (as a corrupt shard might be)."""

    def __init__(self, data):
        self.data, self.calls = data, 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.calls += 1
        x, y = self.data[i]
        return (x * float("nan") if self.calls > len(self.data) else x), y


def test_nan_loss_stops_with_epoch_and_step(tmp_path):
    spec = TOY
    cfg = TrainConfig(dataset=FM, epochs=3, batch_size=8, out=str(tmp_path / "nan"), verbose=False, progress=False)
    with pytest.raises(TrainingDiverged, match=r"gradients became nan .*at epoch 2, step 1 \(global step 3\).*--lr.*"
                                               r"checkpoint from epoch 1 is kept"):
        train(cfg, train_set=GoesBad(fake_set(spec, 16)), test_set=fake_set(spec, 8), spec=spec)
    assert load_checkpoint(tmp_path / "nan" / "checkpoint.pt")["epoch"] == 1


def test_nan_in_the_first_batch(tmp_path):
    spec = TOY
    data = fake_set(spec, 8)
    data.tensors[0][3] = float("inf")
    cfg = TrainConfig(dataset=FM, batch_size=8, out=str(tmp_path / "inf"), verbose=False, progress=False)
    with pytest.raises(TrainingDiverged, match=r"became (nan|inf) .*at epoch 1, step 1 "):
        train(cfg, train_set=data, test_set=fake_set(spec, 8), spec=spec)
    assert not (tmp_path / "inf" / "checkpoint.pt").exists()


def test_evaluate_counts_correct_answers():
    class Echo(torch.nn.Module):
        """Answers the class written in the input's first pixel."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0].long(), 3).float() + self.w

    x = torch.tensor([[0.0], [1.0], [2.0], [2.0], [1.0]])
    y = torch.tensor([0, 1, 1, 2, 0])
    loader = torch.utils.data.DataLoader(TensorDataset(x, y), batch_size=2)
    result = evaluate(Echo(), loader, "cpu")
    assert result["n"] == 5 and result["accuracy"] == pytest.approx(float((x[:, 0].long() == y).float().mean()))


@pytest.mark.parametrize(
    "field, value, match",
    [("epochs", 0, "epochs must be a positive integer"), ("lr", -1.0, "lr must be a positive number"),
     ("lr", float("nan"), "lr must be"), ("batch_size", 2.5, "batch_size"), ("neuron", "hh", "klif, lif"),
     ("arch", "vgg", "paper, small"), ("loss", "hinge", "mse, ce"), ("backend", "jax", "eager"),
     ("seed", -1, "seed"), ("limit_train", 0, "limit_train")],
)
def test_bad_config_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value}).check()


def test_select_device(monkeypatch):
    assert select_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    device, why = explain_device("auto")
    assert device.type == "cpu" and "KLIF_EDU_DEVICE" in why
    monkeypatch.delenv("KLIF_EDU_DEVICE")
    if not torch.cuda.is_available():
        assert explain_device("auto")[0].type in ("cpu", "mps")
        with pytest.raises(DeviceUnavailable, match="no CUDA GPU.*--device cpu"):
            select_device("cuda")
    with pytest.raises(ValueError, match="choose one of: auto, cpu, cuda, mps"):
        select_device("tpu")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        select_device("auto")


def test_progress_bars_show_when_asked(tmp_path, capsys):
    run(tmp_path, progress=True, verbose=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "test loss" in err and "device cpu" in err
