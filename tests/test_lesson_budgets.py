"""Lesson budgets say what really trains: sample counts, asked-for epochs, and GPU batches that fit."""
import pytest
import torch

from klif_edu import gpu_memory, modes
from klif_edu.data import load_dataset
from klif_edu.gpu_memory import MemoryBudget, activation_bytes, batch_for_memory, gpu_batch
from klif_edu.models import build_model

GiB = 2**30


@pytest.mark.parametrize("name", ["embedded-fashion-mnist", "embedded-events"])
def test_the_sizes_the_mode_line_promises_are_the_sizes_that_load(name):
    assert modes.DATASET_SIZES[name] == (len(load_dataset(name, "train")), len(load_dataset(name, "test")))


def test_the_stand_in_mode_line_states_the_samples_it_trains_on(monkeypatch):
    monkeypatch.setattr(modes, "dataset_present", lambda name, data_dir=None: name.startswith("embedded-"))
    plan = modes.plan_run("dvs-gesture", mode="lesson", device="cpu")
    assert plan.train_dataset == "embedded-events" and "600 of 600 training samples" in str(plan)
    assert "2,000" not in str(plan)


def test_the_mode_line_says_when_epochs_differ_from_its_table(monkeypatch):
    plan = modes.plan_run("embedded-fashion-mnist", mode="lesson", device="cpu", epochs=1)
    line = str(plan)
    assert "1 epoch(s)" in line and "epochs=1 as asked, not this table's 6" in line
    assert "measured or estimated for 6 epochs, not 1" in line
    same = str(modes.plan_run("embedded-fashion-mnist", mode="lesson", device="cpu", epochs=6))
    assert "epochs=6 as asked" not in same and "Why this budget: all 2,000 embedded images, 6 epochs" in same


# --- GPU lesson batches from memory (the arithmetic, on the CPU) ---------------------------------
def test_batch_for_memory_arithmetic():
    assert batch_for_memory(0.8 * GiB, 20 * GiB, 16) == 12  # 10 GiB / 0.8 GiB
    assert batch_for_memory(0.8 * GiB, 80 * GiB, 16) == 16  # never above the full run's batch
    assert batch_for_memory(0.8 * GiB, 1 * GiB, 16) == 1  # at least one sample
    assert batch_for_memory(10 * 2**20, 2 * GiB, 64, share=0.25) == 51
    with pytest.raises(ValueError, match="per_sample > 0"):
        batch_for_memory(0, GiB, 16)
    tight = MemoryBudget(per_sample=int(0.8 * GiB), free=GiB, batch=1, full_batch=16)
    assert not tight.fits and "does not fit" in str(tight)


def test_the_gpu_event_lesson_batch_fits_the_free_memory(monkeypatch):
    """The paper's DVS128-Gesture network keeps about 0.8 GiB of activations per sample at T=20:
    batch 32 (the old table) needed ~25 GiB; the batch now follows from the free memory."""
    monkeypatch.setattr(modes, "explain_device", lambda device: (torch.device("cuda"), "a GPU (faked)"))
    monkeypatch.setattr(modes, "dataset_present", lambda name, data_dir=None: True)
    seen = {}

    def fake_gpu_batch(dataset, arch, T, device, full_batch):
        seen.update(dataset=dataset, arch=arch, T=T)
        return gpu_batch(dataset, arch, T, device, full_batch, free=20 * GiB, per_sample=int(0.8 * GiB))

    monkeypatch.setattr(modes, "gpu_batch", fake_gpu_batch)
    plan = modes.plan_run("dvs-gesture", mode="lesson")
    assert seen == {"dataset": "dvs-gesture", "arch": "paper", "T": 20}
    assert plan.batch_size == 12 and plan.batch_size * 0.8 <= 20 * 0.5
    assert "819 MiB per sample (measured), 20.0 GiB free: batch 12" in str(plan)
    assert all(b.batch_size <= modes.FULL["batch_size"] for b in modes.LESSON_GPU.values() if b.arch == "paper")


def test_activation_memory_is_measured_per_sample():
    torch.manual_seed(0)
    model = build_model("fashion-mnist", "klif", "small")
    one, three = (activation_bytes(model, torch.rand(n, 1, 28, 28)) for n in (1, 3))
    assert three > one > 0
    per = gpu_memory.per_sample_bytes("fashion-mnist", "small", 4, torch.device("cpu"))
    assert per == pytest.approx((three - one) / 2, rel=0.25)


def test_doctor_prints_the_gpu_lesson_estimate(monkeypatch):
    from klif_edu import doctor

    assert "not a GPU" in doctor.check_lesson_memory(torch.device("cpu"))
    calls = []

    def fake(dataset, arch, T, device, full_batch):
        calls.append((dataset, T))
        return gpu_batch(dataset, arch, T, device, full_batch, free=30 * GiB, per_sample=int(0.8 * GiB))

    monkeypatch.setattr(gpu_memory, "gpu_batch", fake)
    line = doctor.check_lesson_memory(torch.device("cuda"))
    assert calls == [("fashion-mnist", 8), ("dvs-gesture", 20)]
    assert "dvs-gesture (paper network, T=20): activations 819 MiB per sample (measured), 30.0 GiB free: batch 16" \
        in line
