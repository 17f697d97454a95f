"""A one-minute self-check of the install and the device: what ``klif-edu doctor`` runs.

    checks = run_doctor("cuda")        # [Check(name, ok, detail, seconds), ...], printed as they finish
    all(c.ok for c in checks)

On the chosen device: the fused path equals the reference equations (spikes and gradients,
float64), a training step works (mixed precision with a GradScaler on CUDA), the compiled
backend compiles without falling back to eager and without recompiling for a new shape, and a
short training run of the paper's Fashion-MNIST network on synthetic data reports images/s
for the eager and the compiled backend (interleaved rounds, the median). In test mode
(``KLIF_EDU_QUICK=1``) the speed check uses a small network and one step.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import torch

from .device import autocast, explain_device
from .environment import is_quick
from .readiness import check_data_folder, check_lesson_times

__all__ = ["Check", "DoctorFailure", "versions", "run_doctor", "CHECKS"]

OPTIONAL = ("numpy", "tonic", "jupyterlab", "ipywidgets", "matplotlib", "spikingjelly")


class DoctorFailure(RuntimeError):
    """A check found something wrong; the message says what and what to do."""


@dataclass
class Check:
    """The outcome of one check: its name, ok or not, one line of detail, and how long it took."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """{part: version} of Python, torch, CUDA/cuDNN (as torch was built) and the optional packages."""
    found = {"python": platform.python_version(), "torch": str(torch.__version__),
             "cuda (torch built for)": torch.version.cuda or "none (CPU-only build)",
             "cudnn": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "none"}
    found.update({name: _version(name) for name in OPTIONAL})
    return found


def _device_line(device: torch.device, reason: str) -> str:
    if device.type != "cuda":
        return f"{device} ({reason}); {torch.get_num_threads()} CPU threads"
    index = device.index if device.index is not None else torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    return (f"{device} = {props.name}, {props.total_memory / 2**30:.0f} GiB, compute capability "
            f"{props.major}.{props.minor} ({reason})")


# --- the checks: each returns one line of detail or raises DoctorFailure ------------------------
def _grads(neuron: torch.nn.Module, x: torch.Tensor, g: torch.Tensor, run: Callable) -> tuple[torch.Tensor, ...]:
    neuron.k.grad = None
    xr = x.clone().requires_grad_(True)
    s = run(xr)
    (s * g).sum().backward()
    return s.detach(), xr.grad, neuron.k.grad.clone()


def check_reference(device: torch.device) -> str:
    """The fused path's spikes and gradients equal the step-by-step reference (float64, hard and soft reset)."""
    from . import KLIF

    torch.manual_seed(0)
    x = torch.randn(8, 16, 64, dtype=torch.float64, device=device) * 1.5
    g = torch.randn_like(x)
    cases = 0
    for v_reset in (0.0, None):
        for detach_reset in (False, True):
            n = KLIF(v_reset=v_reset, detach_reset=detach_reset, k_init=1.3).to(device, torch.float64)
            s, gx, gk = _grads(n, x, g, n)
            rs, rgx, rgk = _grads(n, x, g, lambda v: n.trace(v).s)
            if not torch.equal(s, rs):
                raise DoctorFailure(f"fused spikes differ from the reference in {int((s != rs).sum())} of {s.numel()} "
                                    f"places on {device} (v_reset={v_reset}); please report this with `klif-edu doctor` output")
            for what, a, b in (("dL/dX", gx, rgx), ("dL/dk", gk, rgk)):
                if not torch.allclose(a, b, rtol=1e-9, atol=1e-12):
                    err = float((a - b).abs().max())
                    raise DoctorFailure(f"fused {what} differs from the reference by up to {err:.3g} on {device} "
                                        f"(v_reset={v_reset}, detach_reset={detach_reset}); please report this")
            cases += 1
    return f"spikes, dL/dX and dL/dk equal the reference equations in {cases} configurations (float64)"


def _small_model(device: torch.device, backend: str = "eager", arch: str = "small", batch: int = 8):
    from .data import DATASETS
    from .models import build_model

    spec = DATASETS["fashion-mnist"]
    torch.manual_seed(0)
    model = build_model(spec, "klif", arch, backend=backend).to(device)
    x = torch.randn(batch, *spec.input_shape, device=device)
    y = torch.randint(0, spec.num_classes, (batch,), device=device)
    return model, x, y


def check_training_step(device: torch.device) -> str:
    """Three optimisation steps change the weights with a finite loss; on CUDA under float16 autocast + GradScaler."""
    from .steps import train_step
    from .training import _restore_scaler

    amp = device.type == "cuda"
    model, x, y = _small_model(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type if amp else "cuda", enabled=amp)
    _restore_scaler(scaler, {})  # a checkpoint from a CPU run: must leave the scaler fresh
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(3):
        _, loss = train_step(model, opt, scaler, x, y, "mse", device, amp)
    loss = loss.detach()
    if not torch.isfinite(loss):
        raise DoctorFailure(f"the training loss is {float(loss)} after 3 steps on {device}")
    changed = sum(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))
    if changed == 0:
        raise DoctorFailure(f"3 training steps on {device} left every weight unchanged")
    if amp:
        with autocast(device, True):
            dtype = model.blocks["conv1"].synapse[0](x).dtype  # the convolution (BN may keep float32)
        if dtype != torch.float16:
            raise DoctorFailure(f"autocast did not run the convolutions in float16 (got {dtype})")
        return f"mixed precision (float16 autocast, GradScaler scale {scaler.get_scale():g}): loss {float(loss):.4f}, {changed} tensors updated"
    return f"float32 (mixed precision is CUDA-only): loss {float(loss):.4f}, {changed} tensors updated"


def check_compiled(device: torch.device) -> str:
    """torch.compile builds the fused loops (no fall-back to eager), equal to eager, no recompile for a new shape."""
    from torch._dynamo.utils import counters

    from . import KLIF

    torch.manual_seed(0)
    # float32 on the CPU (bit for bit there); float64 on CUDA, where inductor may turn x / tau into
    # x * (1 / tau): an H one rounding step off could flip a spike that sits exactly on the threshold
    dtype = torch.float64 if device.type == "cuda" else torch.float32
    eager = KLIF(detach_reset=True, k_init=1.2).to(device, dtype)  # the paper networks' configuration
    compiled = KLIF(detach_reset=True, k_init=1.2, backend="compiled").to(device, dtype)
    graphs = None
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for shape in ((8, 4, 300), (8, 6, 50)):
            x = torch.randn(*shape, device=device, dtype=dtype) * 1.5
            g = torch.randn_like(x)
            try:
                s, gx, gk = _grads(compiled, x, g, compiled)
            except RuntimeWarning as fallback:
                raise DoctorFailure(f"{fallback}. The eager backend works; for the compiled one install a C++ "
                                    "compiler (CPU) or triton (CUDA)") from None
            if graphs is not None and counters["stats"]["unique_graphs"] != graphs:
                raise DoctorFailure("the compiled loops recompiled for a new layer shape; please report this")
            graphs = counters["stats"]["unique_graphs"]
            es, egx, egk = _grads(eager, x, g, eager)
            if not torch.equal(s, es):
                raise DoctorFailure(f"compiled spikes differ from eager in {int((s != es).sum())} places on {device}")
            if not (torch.allclose(gx, egx, rtol=1e-4, atol=1e-5) and torch.allclose(gk, egk, rtol=1e-4, atol=1e-4)):
                raise DoctorFailure(f"compiled gradients differ from eager on {device} beyond rounding")
    return "torch.compile built the loops; spikes and gradients equal eager; a second shape reused the kernels"


def _images_per_s(device: torch.device, quick: bool) -> tuple[dict[str, float], str]:
    from .steps import train_step

    arch, batch, steps, rounds = ("small", 4, 1, 1) if quick else ("paper", 64 if device.type == "cuda" else 8,
                                                                    10 if device.type == "cuda" else 2, 3)
    amp = device.type == "cuda"
    runs = {}
    for backend in ("eager", "compiled"):
        model, x, y = _small_model(device, backend, arch, batch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler(device.type if amp else "cuda", enabled=amp)
        runs[backend] = (lambda m=model, o=opt, sc=scaler, xx=x, yy=y: train_step(m, o, sc, xx, yy, "mse", device, amp))
        t = model.time_steps

    def timed(step: Callable) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        tic = time.perf_counter()
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - tic

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for step in runs.values():
            step()  # warm-up: compile, allocator, cuDNN choices
        seconds = {b: [] for b in runs}
        for _ in range(rounds):  # interleaved, so that both see the same load
            for b, step in runs.items():
                seconds[b].append(timed(step))
    what = f"{arch} Fashion-MNIST network, T={t}, batch {batch}, {steps} step(s) x {rounds} round(s)"
    return {b: batch * steps / statistics.median(s) for b, s in seconds.items()}, what


def check_speed(device: torch.device, quick: bool | None = None) -> str:
    """Training throughput (images/s) of the paper's Fashion-MNIST network, eager and compiled."""
    ips, what = _images_per_s(device, is_quick() if quick is None else quick)
    # other work on the machine slows every step (on a CPU all the more): say how busy it was
    load = f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs" if hasattr(os, "getloadavg") else ""
    return (f"eager {ips['eager']:.0f} img/s, compiled {ips['compiled']:.0f} img/s "
            f"(compiled/eager {ips['compiled'] / ips['eager']:.2f}x; {what}; synthetic data{load})")


def check_lesson_memory(device: torch.device) -> str:
    """On a GPU: the lesson batch its free memory allows (klif_edu.gpu_memory) for two paper networks."""
    if device.type != "cuda":
        return "not a GPU: lesson budgets come from the CPU table (klif_edu.modes.LESSON_CPU)"
    from .data import get_spec
    from .gpu_memory import gpu_batch
    from .models import PAPER_TIME_STEPS
    from .modes import FULL

    lines = []
    for name in ("fashion-mnist", "dvs-gesture"):
        T = PAPER_TIME_STEPS.get(name, get_spec(name).time_steps)
        lines.append(f"{name} (paper network, T={T}): {gpu_batch(name, 'paper', T, device, FULL['batch_size'])}")
    return "; ".join(lines)


CHECKS: tuple[tuple[str, Callable[[torch.device], str]], ...] = (
    ("data folder", check_data_folder),
    ("fused path = reference equations", check_reference),
    ("training step", check_training_step),
    ("compiled backend", check_compiled),
    ("training speed", check_speed),
    ("GPU lesson batch from memory", check_lesson_memory),
    ("lesson times", check_lesson_times),
)


def run_doctor(device_request: str = "auto", out: Callable[[str], None] | None = print,
               checks: tuple[tuple[str, Callable[[torch.device], str]], ...] | None = None) -> list[Check]:
    """Print versions and the device, then run each check (default: CHECKS) on it; returns every Check."""
    say = out or (lambda line: None)
    for name, version in versions().items():
        say(f"  {name:24} {version}")
    results = []
    tic = time.perf_counter()
    try:
        device, reason = explain_device(device_request)
    except (ValueError, RuntimeError) as err:
        results.append(Check("device", False, str(err)))
        say(f"FAIL device: {err}")
        return results
    line = _device_line(device, reason)
    results.append(Check("device", True, line, time.perf_counter() - tic))
    say(f"ok   device: {line}")
    for name, check in CHECKS if checks is None else checks:
        tic = time.perf_counter()
        try:
            result = Check(name, True, check(device))
        except DoctorFailure as err:
            result = Check(name, False, str(err))
        except Exception as err:  # an unexpected error is a finding too: name it, keep checking
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            result = Check(name, False, f"{type(err).__name__}: {first}"[:500])
        result.seconds = time.perf_counter() - tic
        results.append(result)
        say(f"{'ok  ' if result.ok else 'FAIL'} {name} ({result.seconds:.1f} s): {result.detail}")
        sys.stdout.flush()
    return results
