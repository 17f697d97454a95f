"""`klif-edu doctor`: the checks pass on this machine, and a broken part fails with a clear message."""
import pytest
import torch

from klif_edu import doctor, fused
from klif_edu.cli import main


def test_versions_name_every_part():
    found = doctor.versions()
    assert found["torch"] == str(torch.__version__)
    for part in ("python", "cuda (torch built for)", "tonic", "jupyterlab", "ipywidgets"):
        assert found[part]


def test_reference_and_training_checks_pass_on_the_cpu():
    assert "equal the reference" in doctor.check_reference(torch.device("cpu"))
    assert "updated" in doctor.check_training_step(torch.device("cpu"))


def test_a_wrong_fused_path_is_caught(monkeypatch):
    """Inject a bug into the fused forward loop: one spike flipped. The reference check must see it."""
    real = fused._forward_eager

    def broken(x, k, cfg, keep_h):
        s, h = real(x, k, cfg, keep_h)
        s.view(-1)[0] = 1.0 - s.view(-1)[0]
        return s, h

    monkeypatch.setattr(fused, "_forward_eager", broken)
    with pytest.raises(doctor.DoctorFailure, match="differ from the reference in 1 of"):
        doctor.check_reference(torch.device("cpu"))


def test_cli_doctor_passes_on_the_cpu(capsys, monkeypatch):
    """The whole doctor in test mode (small network for the speed check)."""
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    assert main(["doctor", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "all 8 checks passed" in out and "GPU lesson batch from memory" in out and "lesson times" in out and "data folder" in out and "compiled backend" in out and "img/s" in out


def test_cli_doctor_fails_clearly(capsys, monkeypatch):
    def broken_loop(*args):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(doctor, "CHECKS", (("fused path = reference equations", doctor.check_reference),
                                           ("training step", lambda device: broken_loop())))
    assert main(["doctor", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "ok   fused path" in captured.out and "FAIL training step" in captured.out
    assert "1 of 3 checks failed: training step: RuntimeError: CUDA error" in captured.err


def test_cli_doctor_unusable_device(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["doctor", "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert "no CUDA GPU is usable here" in err and "--device cpu" in err
