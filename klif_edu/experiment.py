"""KLIF next to LIF on one dataset: the one call a training notebook makes.

    cmp = compare_neurons("mnist")      # decides the mode (klif_edu.modes) and says which and why
    cmp.results["klif"].history          # TrainResult of each neuron (klif_edu.training)
    full_run_command("mnist", "klif")    # the exact `klif-edu train ...` line of a full run
    estimate_full_time("mnist", "cpu")   # how long the full run takes, and where that number comes from

The mode (test, lesson or full) and its budget are decided by ``klif_edu.modes.plan_run``.
Runs are written under ``runs_root()/<dataset>-<mode>/<neuron>``; an ``experiment.json``
beside them records what was asked for and what trained (notebook 11 reads it).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .device import explain_device
from .files import atomic_open
from .models import PAPER_TIME_STEPS, build_model
from .modes import DATASET_SIZES, FULL, QUICK, TEST, Plan, _spec, dataset_present, decide_mode, is_quick_env, plan_run, runs_root
from .run_identity import finished_run, identity_of_config, start_over
from .steps import train_step
from .training import TrainResult, train

__all__ = [
    "FULL",
    "QUICK",
    "TEST",
    "DATASET_SIZES",
    "Plan",
    "Comparison",
    "TimeEstimate",
    "is_quick_env",
    "runs_root",
    "dataset_present",
    "plan_run",
    "compare_neurons",
    "full_run_command",
    "estimate_full_time",
    "explain_device",
    "ensure_dataset",
]

class OnDisk:
    """Whether a dataset is on disk: true or false like a bool, and silent as a notebook cell's last line
    (``ensure_dataset`` has already printed what happened)."""

    def __init__(self, dataset: str, present: bool) -> None:
        self.dataset, self.present = dataset, bool(present)

    def __bool__(self) -> bool:
        return self.present

    def __eq__(self, other: object) -> bool:
        return self.present == bool(other) if isinstance(other, (bool, OnDisk)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OnDisk({self.dataset!r}, present={self.present})"

    def _ipython_display_(self) -> None:  # a cell ending in ensure_dataset(...) shows only the printed lines
        pass


def ensure_dataset(dataset: str, download_large: bool = False, data_dir: str | os.PathLike | None = None,
                   mode: str | None = None) -> OnDisk:
    """Fetch a missing dataset for a notebook; return whether it is on disk now (true/false like a bool).

    Small sets download on their own; the large event sets only with ``download_large=True``.
    Test mode never downloads. What happened, and what to do, is printed either way (a read-only
    data folder is never written: the stand-in trains, and the message says how to get the data).
    """
    return OnDisk(_spec(dataset).name, _ensure(dataset, download_large, data_dir, mode))


def _ensure(dataset: str, download_large: bool, data_dir: str | os.PathLike | None, mode: str | None) -> bool:
    from .data import DatasetMissing, fetch
    from .data.fetch import LARGE, download_size

    from .data import dataset_status

    spec = _spec(dataset)
    row = next(r for r in dataset_status(data_dir) if r["name"] == spec.name)
    if row["present"]:
        print(f"{spec.name}: on disk in {row['path']}")  # where it really is (a system copy, perhaps)
        return True
    if decide_mode(mode)[0] == "test":
        print(f"{spec.name} is not on disk; test mode downloads nothing, so the embedded stand-in trains.")
        return False
    size = f"{download_size(spec.name) / 1e6:,.0f} MB"
    if spec.name in LARGE and not download_large:
        print(f"{spec.name} is not on disk: it is a large download (about {size}). To fetch it, set "
              f"DOWNLOAD_LARGE = True in this cell and run it again (or point KLIF_EDU_DATA at a shared copy). "
              "Until then the embedded stand-in trains.")
        return False
    print(f"{spec.name} is not on disk: downloading it (about {size}) ...")
    try:
        fetch(spec.name, data_dir)
    except DatasetMissing as err:
        print(f"Could not fetch {spec.name}: {err}\nThe embedded stand-in trains instead.")
        return False
    return True


def data_root_for(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder in use (``klif_edu.data.data_root``)."""
    from .data import data_root

    return data_root(data_dir)


@dataclass
class Comparison:
    """KLIF and LIF trained the same way: ``results[neuron]`` is a ``TrainResult``."""

    plan: Plan
    results: dict[str, TrainResult] = field(default_factory=dict)

    def histories(self) -> dict[str, dict[str, Any]]:
        return {n: r.history for n, r in self.results.items()}

    def metrics(self) -> dict[str, dict[str, Any]]:
        return {n: r.metrics for n, r in self.results.items()}

    def accuracy(self, neuron: str) -> float:
        return float(self.results[neuron].metrics["test_accuracy"])


def compare_neurons(dataset: str, arch: str | None = None, quick: bool | None = None,
                    out: str | os.PathLike | None = None, epochs: int | None = None,
                    neurons: tuple[str, ...] = ("klif", "lif"), device: str = "auto",
                    data_dir: str | os.PathLike | None = None, seed: int = 0, verbose: bool = True,
                    progress: bool | None = None, mode: str | None = None) -> Comparison:
    """Train each of ``neurons`` on ``dataset`` with the same seed, data and settings.

    Prints the mode line (``str(plan)``) and, for stand-in data, its banner. Full mode first
    prints how long it will take and the equivalent ``klif-edu train`` commands, then resumes a
    run found in the output folder (a finished one is not trained again); the other modes replace it.
    """
    plan = plan_run(dataset, arch=arch, quick=quick, out=out, epochs=epochs, device=device,
                    data_dir=data_dir, seed=seed, mode=mode)
    print(plan)
    if plan.stand_in:
        print(plan.banner())
    if plan.mode == "full":
        kind = explain_device(device)[0].type
        print(f"Full run, per neuron: {estimate_full_time(plan.dataset, kind, epochs=plan.epochs)}")
        print("The same runs from a terminal (a finished or interrupted run is picked up, not retrained):")
        for neuron in neurons:
            print("  " + full_run_command(plan.dataset, neuron, epochs=plan.epochs, out=plan.out / neuron,
                                          device=kind))
    data_dir = None if data_dir is None else str(data_dir)
    done = {neuron: _finished_lesson(plan, neuron, data_dir) for neuron in neurons}
    for neuron in neurons:  # a run started over: nothing of the old one may sit beside the new record
        if plan.mode != "full" and not done[neuron]:
            start_over(plan.out / neuron)
    plan.out.mkdir(parents=True, exist_ok=True)
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(plan).items()}
    with atomic_open(plan.out / "experiment.json", "w") as f:
        f.write(json.dumps(record, indent=1))
    comparison = Comparison(plan)
    for neuron in neurons:
        again = {}
        if done[neuron]:
            print(f"{neuron}: a finished lesson run with these settings is in {plan.out / neuron}; using it "
                  "(delete that folder to train again)")
            again = {"resume": True, "overwrite": False}
        config = plan.config(neuron, data_dir=data_dir, verbose=verbose, progress=progress, **again)
        spec = plan.model_spec()
        comparison.results[neuron] = train(config, spec=spec if spec != _spec(plan.train_dataset) else None)
    return comparison


def _finished_lesson(plan: Plan, neuron: str, data_dir: str | None) -> bool:
    """True when ``plan.out/neuron`` holds a finished lesson run of exactly this plan's identity
    (e.g. from `klif-edu lesson`); ``train(resume=True)`` then checks its checkpoint once more."""
    if plan.mode != "lesson":
        return False
    wanted = identity_of_config(plan.config(neuron, data_dir=data_dir), plan.model_spec())
    return finished_run(plan.out / neuron, wanted) is not None


def full_run_command(dataset: str, neuron: str, epochs: int | None = None, out: str | os.PathLike | None = None,
                     device: str = "cuda") -> str:
    """The ``klif-edu train`` line of one full run (paper network, PLIF's batch size and lr).

    Its default ``--out`` is the folder ``compare_neurons`` uses in full mode, so a notebook
    run afterwards picks the finished run up instead of training again.
    """
    spec = _spec(dataset)
    if neuron not in ("klif", "lif"):
        raise ValueError(f"neuron must be 'klif' or 'lif', got {neuron!r}")
    out = Path(out) if out is not None else runs_root() / f"{spec.name}-full" / neuron
    parts = ["klif-edu", "train", "--dataset", spec.name, "--neuron", neuron, "--arch", FULL["arch"],
             "--epochs", str(epochs or FULL["epochs"]), "--batch-size", str(FULL["batch_size"]),
             "--lr", f"{FULL['lr']:g}", "--device", device, "--out", str(out), "--resume"]
    return " ".join(parts)


@dataclass
class TimeEstimate:
    """How long a full run (one neuron) takes, and where the number comes from."""

    dataset: str
    device: str
    seconds: float | None
    source: str  # "measured", "estimated from ...", or why there is no number

    def __str__(self) -> str:
        if self.seconds is None:
            return f"{self.dataset} on {self.device}: unknown ({self.source})"
        return f"{self.dataset} on {self.device}: about {_human(self.seconds)} per neuron ({self.source})"


#: Longest a notebook waits to time one full-run step (the CPU step of the 128x128 event networks: ~80 s).
STEP_BUDGET_S = 15.0


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _work(dataset: str, epochs: int) -> float:
    """Image-equivalents per full run: every training image forward+backward, the test set
    forward only (about a third of the cost) after every epoch."""
    n_train, n_test = DATASET_SIZES[dataset]
    return epochs * (n_train + n_test / 3.0)


def _measured_speed(dataset: str, device_type: str, root: Path) -> tuple[float, Path] | None:
    """images/s of a finished full-data paper run of ``dataset`` on ``device_type`` under ``root``."""
    for path in sorted(root.rglob("metrics.json")) if root.is_dir() else []:
        try:
            m = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        speed = m.get("images_per_s_this_session")
        if (m.get("dataset") == dataset and m.get("arch") == "paper" and speed
                and str(m.get("device", "")).split(":")[0] == device_type
                and m.get("train_size") == DATASET_SIZES[dataset][0]):
            return float(speed), path
    return None


def _time_one_step(dataset: str, device: torch.device, batch: int | None = None,
                   max_seconds: float = STEP_BUDGET_S) -> tuple[float, int]:
    """(seconds per training image, batch timed) of the full run's real step on ``device``.

    The paper network at its T, the full mode's batch size, float16 autocast on CUDA (as
    training uses it), forward + backward + an Adam step; a one-image step warms up first.
    Where that step would take longer than ``max_seconds`` to time (big event networks on a
    CPU: over a minute), a smaller batch is timed instead and the caller says so.
    """
    spec = _spec(dataset)
    batch = batch or FULL["batch_size"]
    t = PAPER_TIME_STEPS.get(spec.name, spec.time_steps)
    torch.manual_seed(0)
    model = build_model(spec, "klif", "paper", time_steps=t).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=FULL["lr"])
    shape = (spec.input_shape if spec.kind == "static" else (t, *spec.input_shape))
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    def step(n: int) -> float:
        x = torch.rand((n, *shape), device=device)
        y = torch.randint(0, spec.num_classes, (n,), device=device)
        tic = time.perf_counter()
        train_step(model, opt, scaler, x, y, "mse", device, amp)  # the training loop's own step
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - tic

    one = step(1)  # warm-up (allocator, kernels) at the cost of one image
    timed = batch if one * batch <= max_seconds else max(1, min(batch, int(max_seconds / max(one, 1e-9))))
    return step(timed) / timed, timed


def estimate_full_time(dataset: str, device: str = "cpu", epochs: int | None = None, measure: bool = True,
                       root: str | os.PathLike | None = None) -> TimeEstimate:
    """Time of one full run (paper network, FULL settings, one neuron) of ``dataset`` on ``device``.

    In order: the speed of a finished full run found under ``root`` (default ``runs_root()``)
    on that kind of device, labelled "measured"; else, when ``device`` exists here and
    ``measure`` is true, one real training step timed now (paper network, its T, the full
    batch size, autocast on CUDA) and scaled to the run (labelled as an estimate); else no
    number, and the reason.
    """
    spec = _spec(dataset)
    if spec.name not in DATASET_SIZES:
        raise ValueError(f"no size known for {spec.name!r}")
    epochs = epochs or FULL["epochs"]
    kind = device.split(":")[0]
    work = _work(spec.name, epochs)
    found = _measured_speed(spec.name, kind, Path(root) if root is not None else runs_root())
    if found is not None:
        speed, path = found
        return TimeEstimate(spec.name, kind, work / speed,
                            f"measured: {speed:.0f} images/s in {path.parent.name}, x {epochs} epochs")
    available = kind == "cpu" or (kind == "cuda" and torch.cuda.is_available())
    if not (measure and available):
        why = "no such device here" if not available else "not measured"
        return TimeEstimate(spec.name, kind, None,
                            f"{why}; a first epoch on that device writes its speed into metrics.json")
    t = PAPER_TIME_STEPS.get(spec.name, spec.time_steps)
    per_image, timed = _time_one_step(spec.name, torch.device(device))
    amp = ", float16 autocast" if kind == "cuda" else ""
    size = (f"batch {FULL['batch_size']}" if timed == FULL["batch_size"] else
            f"batch {timed}, per image, as a full batch of {FULL['batch_size']} takes too long to time here")
    return TimeEstimate(spec.name, kind, work * per_image,
                        f"estimated: one training step ({size}, T={t}{amp}) timed on this "
                        f"machine just now, x {epochs} epochs of {DATASET_SIZES[spec.name][0]:,} images")
