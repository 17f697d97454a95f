"""The CUDA and torchrun paths, checked on the CPU by simulating the CUDA-only state.

Resume of a run without mixed precision into one with it, the local rank's GPU under
torchrun, per-rank dropout seeds, and which errors the compiled backend falls back on.
"""
import warnings

import pytest
import torch

from klif_edu import device as device_mod
from klif_edu import training
from klif_edu.device import DeviceUnavailable, rank_device
from klif_edu.training import TrainConfig, train

from test_training import SPECS, fake_set


def _run(tmp_path, **kw):
    spec = SPECS["toy"]
    cfg = TrainConfig(dataset="toy", batch_size=8, out=str(tmp_path / "run"), verbose=False, progress=False,
                      log_every=2, **kw)
    return train(cfg, train_set=fake_set(spec, 16), test_set=fake_set(spec, 8, seed=1), spec=spec)


# --- defect 1: resume a run without a scaler state into a mixed-precision run ----------------
def test_restore_scaler_accepts_a_disabled_scalers_empty_state():
    enabled = torch.amp.GradScaler("cpu", init_scale=512.0)
    disabled = torch.amp.GradScaler("cpu", enabled=False)
    assert disabled.state_dict() == {}
    with pytest.raises(RuntimeError, match="empty"):  # what the unguarded load did
        torch.amp.GradScaler("cpu").load_state_dict({})
    training._restore_scaler(enabled, disabled.state_dict())
    assert enabled.get_scale() == 512.0  # left fresh
    saved = torch.amp.GradScaler("cpu", init_scale=8.0).state_dict()
    training._restore_scaler(enabled, saved)
    assert enabled.get_scale() == 8.0
    training._restore_scaler(disabled, saved)  # a GPU run resumed without AMP: nothing to load
    assert not disabled.is_enabled()


def test_laptop_run_resumes_with_mixed_precision(tmp_path, monkeypatch):
    """Epoch 1 without AMP (scaler state {}), epoch 2 with an enabled GradScaler, as on a GPU."""
    first = _run(tmp_path, epochs=2, stop_after=1)
    assert first.metrics["mixed_precision"] is False
    monkeypatch.setattr(training, "_mixed_precision", lambda config, device: True)
    resumed = _run(tmp_path, epochs=2, resume=True)
    assert resumed.metrics["epochs"] == 2 and resumed.metrics["mixed_precision"] is True
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["scaler"] and state["scaler"]["scale"] > 0  # the enabled scaler's state was saved


# --- defect 4: each rank on its local rank's GPU ----------------------------------------------
@pytest.fixture
def fake_gpus(monkeypatch):
    """Four CUDA GPUs that exist only on paper; records torch.cuda.set_device calls."""
    current = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: current.append(torch.device(d)))
    monkeypatch.delenv("KLIF_EDU_DEVICE", raising=False)
    return current


@pytest.mark.parametrize("request_", ["auto", "cuda", "cuda:2"])
def test_each_rank_uses_its_local_gpu(fake_gpus, request_):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        devices = [rank_device(request_, local) for local in range(3)]
    assert devices == [torch.device("cuda", i) for i in range(3)]
    assert fake_gpus == devices  # each made current (NCCL and bare .cuda() follow it)
    warned = [str(w.message) for w in caught if "local rank" in str(w.message)]
    assert len(warned) == (2 if request_ == "cuda:2" else 0)  # ranks 0 and 1 were asked for cuda:2
    assert all("CUDA_VISIBLE_DEVICES" in m for m in warned)


def test_more_ranks_than_gpus_is_a_clear_error(fake_gpus):
    with pytest.raises(DeviceUnavailable, match="only 4 GPU"):
        rank_device("cuda", 4)


def test_cpu_ranks_stay_on_the_cpu(fake_gpus):
    assert rank_device("cpu", 3) == torch.device("cpu") and fake_gpus == []


def test_already_initialised_group_sets_the_device(fake_gpus, monkeypatch):
    """The branch for a process group someone else started (e.g. a notebook under torchrun)."""
    monkeypatch.setattr(device_mod.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(device_mod.dist, "get_rank", lambda: 3)
    monkeypatch.setattr(device_mod.dist, "get_world_size", lambda: 4)
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.warns(RuntimeWarning, match="local rank"):
        info, dev = device_mod.init_distributed("cuda:0")
    assert (info.rank, info.local_rank, info.started_here) == (3, 1, False)
    assert dev == torch.device("cuda", 1) and fake_gpus == [dev]


# --- defect 5: dropout masks differ between ranks ---------------------------------------------
def test_dropout_seed_depends_on_rank_and_keeps_rank0():
    seeds = {training._dropout_seed(7, epoch, rank) for epoch in range(1, 50) for rank in range(8)}
    assert len(seeds) == 49 * 8
    assert training._dropout_seed(7, 3, 0) == training._epoch_seed(7, 3)  # one-process runs unchanged
