"""`klif-edu doctor` answers "can this laptop run the lessons?": data folder, lesson times, no CPU noise."""
import logging
from pathlib import Path

import pytest
import torch

from klif_edu import places, readiness
from klif_edu.doctor import DoctorFailure
from klif_edu.modes import plan_run
from klif_edu.quiet import CUDA_HOME_LOGGER, CpuOnlyCudaHomeFilter, quiet_cpu_only_noise

CPU = torch.device("cpu")


@pytest.fixture
def share(monkeypatch, tmp_path):
    """KLIF_EDU_DATA on an empty folder (only the embedded data, found in the package), runs in tmp."""
    data = tmp_path / "klif-data"
    data.mkdir()
    monkeypatch.setenv("KLIF_EDU_DATA", str(data))
    monkeypatch.setenv("KLIF_EDU_RUNS", str(tmp_path / "runs"))
    return data


def test_data_folder_says_where_what_and_writable(share):
    detail = readiness.check_data_folder(CPU)
    assert f"{share} ($KLIF_EDU_DATA; exists), writable" in detail
    assert "present: " in detail and "embedded-fashion-mnist, embedded-events" in detail
    assert "mnist (11 MB)" in detail and "cifar10-dvs (4.7 GB)" in detail and "`klif-edu fetch NAME`" in detail
    assert f"runs go to {share.parent / 'runs'} (writable)" in detail


def test_data_folder_on_a_read_only_share(share, monkeypatch):
    monkeypatch.setattr(places, "writable_dir", lambda path: not Path(path).is_relative_to(share))
    detail = readiness.check_data_folder(CPU)
    assert "READ-ONLY" in detail and f"frame caches go to {places.user_cache() / 'frames'}" in detail
    assert "ask the teacher" in detail and "`klif-edu fetch NAME`" not in detail


def test_unwritable_runs_folder_and_missing_stand_ins_fail_with_the_fix(share, monkeypatch, tmp_path):
    monkeypatch.setattr(places, "writable_dir", lambda path: not Path(path).is_relative_to(tmp_path / "runs"))
    with pytest.raises(DoctorFailure, match="KLIF_EDU_RUNS"):
        readiness.check_data_folder(CPU)
    monkeypatch.undo()
    from klif_edu import data

    real = data.dataset_status
    monkeypatch.setattr(data, "dataset_status", lambda *a: [dict(r, present=False) for r in real(*a)])
    with pytest.raises(DoctorFailure, match="embedded stand-in data is missing"):
        readiness.check_data_folder(CPU)


def test_lesson_estimate_arithmetic(share, monkeypatch):
    """Each notebook: 2 neurons x (epochs x train + (epochs+1) x test / 3) x probe x CALIBRATION + overhead."""
    monkeypatch.setattr(readiness, "_probe", lambda plan, device, quick: 0.01)
    monkeypatch.setattr(readiness, "CALIBRATION", 2.0)
    estimates = {e.notebook: e for e in readiness.lesson_estimates(CPU)}
    assert set(estimates) == set(readiness.LESSON_NOTEBOOKS)
    gesture = estimates["10_dvs_gesture"]  # no data here: the embedded events stand in (60 + 20 samples per class)
    plan = plan_run("dvs-gesture", device="cpu", mode="lesson")
    assert gesture.trained_on == plan.train_dataset == "embedded-events"
    assert gesture.images == pytest.approx(plan.epochs * 600 + (plan.epochs + 1) * 200 / 3)
    assert gesture.seconds == pytest.approx(2 * gesture.images * 0.01 * 2.0 + readiness.NOTEBOOK_OVERHEAD_S)
    assert "embedded-events standing in for dvs-gesture" in gesture.line()


def test_lesson_estimate_uses_the_real_budget_when_the_data_is_there(monkeypatch):
    monkeypatch.delenv("KLIF_EDU_DATA", raising=False)
    if not plan_run("fashion-mnist", device="cpu", mode="lesson").train_dataset == "fashion-mnist":
        pytest.skip("Fashion-MNIST is not on this machine")
    monkeypatch.setattr(readiness, "_probe", lambda plan, device, quick: 0.001)
    fm = next(e for e in readiness.lesson_estimates(CPU) if e.notebook == "06_fashion_mnist")
    assert fm.trained_on == "fashion-mnist" and fm.images == pytest.approx(3 * 10_000 + 4 * 2_000 / 3)
    assert fm.line().startswith("06_fashion_mnist: about") and "standing in" not in fm.line()


def test_the_probe_trains_the_lesson_network_for_real(share):
    plan = plan_run("embedded-fashion-mnist", device="cpu", mode="lesson")
    seconds = readiness._probe(plan, CPU, quick=True)
    assert 0 < seconds < 60


def test_check_lesson_times_states_its_basis(share, monkeypatch):
    monkeypatch.setattr(readiness, "_probe", lambda plan, device, quick: 0.002)
    detail = readiness.check_lesson_times(CPU)
    assert detail.count("about") == 7 and "all six training notebooks" in detail
    assert f"x {readiness.CALIBRATION:.1f}" in detail and readiness.CALIBRATION_BASIS in detail


# --- no alarming library noise on a CPU machine -------------------------------------------------------
def _record(msg):
    return logging.LogRecord(CUDA_HOME_LOGGER, logging.WARNING, __file__, 1, msg, ("/usr/local",), None)


def test_the_cuda_home_notice_is_dropped_only_without_a_gpu(monkeypatch):
    quiet_cpu_only_noise()
    quiet_cpu_only_noise()  # once is enough, twice changes nothing
    logger = logging.getLogger(CUDA_HOME_LOGGER)
    assert sum(isinstance(f, CpuOnlyCudaHomeFilter) for f in logger.filters) == 1
    notice = _record("No CUDA runtime is found, using CUDA_HOME='%s'")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not logger.filter(notice)
    assert logger.filter(_record("Error checking compiler version for %s"))  # any other message passes
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert logger.filter(notice)  # a GPU machine that says so has a real problem: let it through


@pytest.mark.skipif(torch.version.cuda is None or torch.cuda.is_available(),
                    reason="the notice comes from a CUDA build of torch on a machine without a GPU")
def test_torchs_own_cuda_home_notice_is_silenced(monkeypatch, tmp_path):
    """torch's real function logs the notice (CUDA_HOME set, no GPU); with klif_edu imported it reaches no handler."""
    import klif_edu  # noqa: F401  (installs the filter)
    from torch.utils import cpp_extension

    monkeypatch.setenv("CUDA_HOME", str(tmp_path))
    logger = logging.getLogger(CUDA_HOME_LOGGER)
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    ours = [f for f in logger.filters if isinstance(f, CpuOnlyCudaHomeFilter)]
    try:
        assert ours and cpp_extension._find_cuda_home() == str(tmp_path)
        assert not any("No CUDA runtime" in m for m in seen)
        for f in ours:  # the control: without the filter the same call does print it
            logger.removeFilter(f)
        cpp_extension._find_cuda_home()
        assert any(m.startswith("No CUDA runtime is found") for m in seen)
    finally:
        logger.removeHandler(handler)
        for f in ours:
            logger.addFilter(f)
