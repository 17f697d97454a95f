"""Can this machine run the lessons? The data folder, and how long each lesson notebook takes here.

    check_data_folder(device)     # where the data is, which datasets are there, writable or a read-only share
    check_lesson_times(device)    # each training notebook's lesson runs (KLIF + LIF) timed from a speed probe

Two checks of ``klif-edu doctor`` (``klif_edu.doctor.CHECKS``). The lesson estimate times a few
real training steps of each lesson's own network (the budget ``klif_edu.modes.plan_run`` picks
for this device and the data on disk, stand-ins included) and scales them by
``CALIBRATION``: the ratio of a real lesson run's wall time to the probe's prediction, measured
on this project's 2-core CPU machine (see ``CALIBRATION_BASIS``). It covers what the probe does
not see: data loading, the test passes, the progress bars, and LIF next to KLIF.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch

__all__ = ["LESSON_NOTEBOOKS", "CALIBRATION", "CALIBRATION_BASIS", "NOTEBOOK_OVERHEAD_S", "LessonEstimate",
           "check_data_folder", "lesson_estimates", "check_lesson_times"]

#: The training notebooks and the dataset each one trains on.
LESSON_NOTEBOOKS = {"05_mnist": "mnist", "06_fashion_mnist": "fashion-mnist", "07_cifar10": "cifar10",
                    "08_nmnist": "nmnist", "09_cifar10_dvs": "cifar10-dvs", "10_dvs_gesture": "dvs-gesture"}
#: Real lesson run time / probe prediction (both neurons, training + test passes), on a 2-core CPU.
CALIBRATION = 2.0
CALIBRATION_BASIS = (
    "2.0 from this project's shared 2-core machine at load 2-4: the lesson notebooks' measured times (05 stand-in "
    "102 s, 06 Fashion-MNIST 230 s, 07 stand-in 58 s, less 30 s of other cells) against the small network's "
    "734 training images/s (benchmarks/train_throughput.py) give 0.8-2.3; one back-to-back run of "
    "benchmarks/lesson_calibration.py there at load 8-22 gave 5.2, contention the probe cannot see")
#: Each lesson network is timed for at least this long (seconds), at most PROBE_MAX_STEPS steps.
PROBE_S = 1.5
PROBE_MAX_STEPS = 50
#: The rest of a training notebook (imports, plots, widgets, the exercise on the run), seconds on a 2-core CPU:
#: the training notebooks take 8-30 s top to bottom in test mode, where the training itself is a few seconds.
NOTEBOOK_OVERHEAD_S = 30.0


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_data_folder(device: torch.device | None = None) -> str:
    """Where the data folder is and why, which datasets it holds, whether it can be written; the runs folder."""
    from .data import dataset_status, download_size
    from .data.registry import data_root
    from .doctor import DoctorFailure
    from .modes import runs_root
    from .places import data_root_origin, frame_cache_dir, writable_dir

    root = data_root()
    rows = dataset_status()
    present = [r["name"] for r in rows if r["present"]]
    missing = [r["name"] for r in rows if not r["present"]]
    stand_ins = [n for n in missing if n.startswith("embedded-")]
    if stand_ins:
        raise DoctorFailure(f"the embedded stand-in data is missing ({', '.join(stand_ins)}): the notebooks cannot "
                            "run offline. Reinstall klif-edu (pip install --force-reinstall klif-edu)")
    writable = writable_dir(root)
    where = f"{root} ({data_root_origin()}; {'exists' if root.is_dir() else 'made on the first download'})"
    if writable:
        access = "writable"
    else:
        access = f"READ-ONLY (a class share?): only read; frame caches go to {frame_cache_dir(root)}"
    lines = [f"{where}, {access}", f"present: {', '.join(present)}"]
    if missing:
        sizes = ", ".join(f"{n} ({_size(download_size(n))})" for n in missing)
        fix = ("`klif-edu fetch NAME`" if writable else
               "ask the teacher to fetch them into the share, or set KLIF_EDU_DATA to a folder of your own")
        lines.append(f"missing: {sizes}; until fetched ({fix}) those notebooks train the embedded stand-in")
    runs = runs_root()
    if not writable_dir(runs):
        raise DoctorFailure(f"the runs folder {runs} cannot be written: the training notebooks could not save "
                            "their runs. Set KLIF_EDU_RUNS to a folder of your own (e.g. ~/klif-runs)")
    lines.append(f"runs go to {runs} (writable)")
    return "\n       ".join(lines)


@dataclass
class LessonEstimate:
    """One training notebook's lesson runs on this machine: what trains, and the expected seconds."""

    notebook: str
    dataset: str
    trained_on: str  # the dataset, or its embedded stand-in
    images: float  # image-equivalents per neuron (training + test passes at a third of the cost)
    seconds_per_image: float  # probe, this machine
    seconds: float  # both neurons, calibrated, plus the notebook's other cells

    def line(self) -> str:
        """One line for the doctor: the notebook, what trains, and the time."""
        what = self.dataset if self.trained_on == self.dataset else f"{self.trained_on} standing in for {self.dataset}"
        return f"{self.notebook}: about {_minutes(self.seconds)} ({what})"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _probe(plan, device: torch.device, quick: bool) -> float:
    """Seconds per training image of ``plan``'s network at its batch on ``device`` (a few real steps)."""
    from .models import build_model
    from .steps import train_step

    spec = plan.model_spec()
    batch, least = (4, 1) if quick else (plan.batch_size, 2)
    torch.manual_seed(0)
    model = build_model(spec, "klif", plan.arch, plan.T).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=plan.lr)
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type if amp else "cuda", enabled=amp)
    shape = tuple(spec.input_shape) if spec.kind == "static" else (plan.T, *spec.input_shape)
    x = torch.rand((batch, *shape), device=device)
    y = torch.randint(0, spec.num_classes, (batch,), device=device)
    for _ in range(1 if quick else 2):  # warm-up: allocator, kernel choices (the first two steps are slower)
        train_step(model, opt, scaler, x, y, "mse", device, amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    steps, tic = 0, time.perf_counter()
    while steps < least or (not quick and steps < PROBE_MAX_STEPS and time.perf_counter() - tic < PROBE_S):
        train_step(model, opt, scaler, x, y, "mse", device, amp)
        steps += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return (time.perf_counter() - tic) / (steps * batch)


def lesson_estimates(device: torch.device, quick: bool = False) -> list[LessonEstimate]:
    """Each training notebook's lesson-mode time on ``device``: the lesson's own network probed here."""
    from .modes import DATASET_SIZES, plan_run

    probed: dict[tuple, float] = {}
    out = []
    for notebook, dataset in LESSON_NOTEBOOKS.items():
        plan = plan_run(dataset, device=str(device), mode="lesson", out=os.devnull)
        key = (plan.train_dataset, plan.arch, plan.T, plan.batch_size, plan.model_spec().num_classes)
        if key not in probed:
            probed[key] = _probe(plan, device, quick)
        test = DATASET_SIZES[plan.train_dataset][1]
        test = test if plan.limit_test is None else min(test, plan.limit_test)
        images = plan.epochs * plan.train_size + (plan.epochs + 1) * test / 3.0
        seconds = 2 * images * probed[key] * CALIBRATION + NOTEBOOK_OVERHEAD_S
        out.append(LessonEstimate(notebook, plan.dataset, plan.train_dataset, images, probed[key], seconds))
    return out


def check_lesson_times(device: torch.device) -> str:
    """The expected time of each training notebook (lesson mode, KLIF + LIF) on this machine, and the basis."""
    from .environment import is_quick

    estimates = lesson_estimates(device, quick=is_quick())
    total = sum(e.seconds for e in estimates)
    basis = (f"a few real training steps of each lesson's network timed now on {device}, x {CALIBRATION:.1f} "
             f"(real lesson run / probe: {CALIBRATION_BASIS}), + {NOTEBOOK_OVERHEAD_S:.0f} s for the other cells")
    if hasattr(os, "getloadavg"):  # other work on the machine slows the probe and the lessons alike: say so
        basis += f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs while probing"
    if is_quick():
        basis += "; TEST MODE (KLIF_EDU_QUICK=1): probed with 4 images, the times are rough"
    if device.type == "cuda":
        basis += "; the calibration was measured on a CPU, not yet on a GPU"
    lines = [e.line() for e in estimates]
    lines.append(f"all six training notebooks: about {_minutes(total)}; basis: {basis}")
    return "\n       ".join(lines)
