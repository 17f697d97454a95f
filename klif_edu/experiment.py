"""KLIF next to LIF on one dataset: the one call a training notebook makes.

    cmp = compare_neurons("mnist")      # decides full or quick mode and says which and why
    cmp.results["klif"].history          # TrainResult of each neuron (klif_edu.training)
    full_run_command("mnist", "klif")    # the exact `klif-edu train ...` line for a GPU run
    estimate_full_time("mnist", "cpu")   # how long the full run takes, and where that number comes from

Full mode: the paper's network (``arch="paper"``) on the whole dataset for ``FULL["epochs"]``
epochs. It needs the dataset on disk and, in practice, a GPU. Quick mode: the same training
code on a few hundred images for a couple of epochs, so that a notebook runs in well under a
minute on a laptop CPU. Quick mode is chosen (and a printed line says why) when

* ``KLIF_EDU_QUICK=1`` (the test suite sets it), or
* the dataset is not on disk (then the embedded dataset of the same kind stands in:
  ``embedded-fashion-mnist`` for images, ``embedded-events`` for event streams), or
* there is no GPU (the full run would take hours to days on a CPU; ``quick=False`` insists).

Quick mode uses the ``small`` classroom network: the paper's network processes only about
2-10 images per second on a 2-core CPU (measured while writing this module), too slow for
a minute. Runs are written under ``runs_root()/<dataset>-<mode>/<neuron>``; an
``experiment.json`` beside them records what was asked for and what ran.
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
from .environment import QUICK_ENV, source_root
from .environment import is_quick as is_quick_env
from .models import PAPER_TIME_STEPS, build_model
from .training import TrainConfig, TrainResult, train

__all__ = [
    "FULL",
    "QUICK",
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
]

RUNS_ENV = "KLIF_EDU_RUNS"
#: Full runs: PLIF's batch size and learning rate (its README); 64 epochs is our choice, one
#: period of PLIF's cosine schedule (T_max = 64). PLIF itself trained for up to 1024 epochs.
FULL: dict[str, Any] = {"arch": "paper", "epochs": 64, "batch_size": 16, "lr": 1e-3}
#: Quick runs: same code path, a hundred images, small network (ours); event data at T=4 frames.
QUICK: dict[str, Any] = {"arch": "small", "epochs": 2, "batch_size": 16, "lr": 2e-3,
                         "limit_train": 96, "limit_test": 48}
QUICK_EVENT_FRAMES = 4
#: Training / test samples per dataset (from each dataset's description in klif_edu.data).
DATASET_SIZES: dict[str, tuple[int, int]] = {
    "mnist": (60_000, 10_000), "fashion-mnist": (60_000, 10_000), "cifar10": (50_000, 10_000),
    "nmnist": (60_000, 10_000), "cifar10-dvs": (9_000, 1_000), "dvs-gesture": (1_077, 264),
    "embedded-fashion-mnist": (2_000, 500), "embedded-events": (2_000, 500),
}
_STAND_IN = {"static": "embedded-fashion-mnist", "events": "embedded-events"}


def runs_root() -> Path:
    """Where runs go: $KLIF_EDU_RUNS, else <repository>/runs in a source checkout, else ./runs.

    Notebooks run in notebooks/ and the CLI usually in the repository root; one shared
    folder lets notebook 10 find the runs of both.
    """
    env = os.environ.get(RUNS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    root = source_root()
    return root / "runs" if root is not None else Path("runs")


def _spec(dataset: str):
    from .data import get_spec

    return get_spec(dataset)


def dataset_present(dataset: str, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether both splits of ``dataset`` are on disk (embedded sets always are)."""
    from .data import dataset_status

    name = _spec(dataset).name
    return any(row["name"] == name and row["present"] for row in dataset_status(data_dir))


@dataclass
class Plan:
    """What ``compare_neurons`` will run, and why (``str(plan)`` is the line a notebook prints)."""

    dataset: str  # asked for
    train_dataset: str  # trained on (the embedded stand-in when the dataset is missing)
    mode: str  # "full" or "quick"
    reasons: list[str]
    arch: str
    epochs: int
    batch_size: int
    lr: float
    limit_train: int | None
    limit_test: int | None
    time_steps: int | None
    device: str
    out: Path
    seed: int = 0

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    def config(self, neuron: str, **overrides: Any) -> TrainConfig:
        """The TrainConfig of one neuron's run."""
        settings = dict(dataset=self.train_dataset, neuron=neuron, arch=self.arch, epochs=self.epochs,
                        batch_size=self.batch_size, lr=self.lr, limit_train=self.limit_train,
                        limit_test=self.limit_test, time_steps=self.time_steps, device=self.device,
                        out=str(self.out / neuron), seed=self.seed, log_every=5 if self.quick else 50,
                        overwrite=self.quick, resume=not self.quick)
        settings.update(overrides)
        return TrainConfig(**settings)

    def __str__(self) -> str:
        what = "the paper's network" if self.arch == "paper" else "the small classroom network (not the paper's)"
        data = self.train_dataset if self.train_dataset == self.dataset else \
            f"{self.train_dataset} standing in for {self.dataset}"
        size = "all" if self.limit_train is None else f"{self.limit_train}"
        line = (f"{self.mode.upper()} MODE ({'; '.join(self.reasons)}): {what}, {data}, "
                f"{size} training images, {self.epochs} epoch(s)"
                + (f", T={self.time_steps} frames" if self.time_steps else "") + f", runs in {self.out}")
        if self.quick:
            line += ". Quick runs show the method; their accuracies say nothing about the paper."
        return line


def plan_run(dataset: str, arch: str | None = None, quick: bool | None = None, out: str | os.PathLike | None = None,
             epochs: int | None = None, device: str = "auto", data_dir: str | os.PathLike | None = None,
             seed: int = 0) -> Plan:
    """Decide full or quick mode for ``dataset`` (see the module docstring) without running anything.

    ``quick=None`` decides by itself; ``quick=True``/``False`` insists (full mode still needs
    the data: a missing dataset raises ``DatasetMissing`` then). ``arch`` defaults to the
    mode's (paper for full, small for quick).
    """
    spec = _spec(dataset)
    present = dataset_present(spec.name, data_dir)
    dev, why_dev = explain_device(device)
    auto: list[str] = []  # why quick mode would be chosen
    if is_quick_env():
        auto.append(f"{QUICK_ENV}=1")
    if not present:
        auto.append(f"{spec.name} is not on disk")
    if dev.type == "cpu":
        auto.append(f"no GPU ({why_dev}): the full run would take too long here")
    if quick is None:
        quick = bool(auto)
        reasons = auto if quick else [f"GPU found ({why_dev}) and {spec.name} on disk"]
    elif quick:
        reasons = auto or ["quick=True was asked for"]
    else:
        reasons = ["quick=False was asked for"]
    if not quick and not present:
        from .data import DatasetMissing, dataset_status

        how = next(r["how_to_get"] for r in dataset_status(data_dir) if r["name"] == spec.name)
        raise DatasetMissing(f"full mode needs {spec.name} on disk: {how}")
    train_dataset = spec.name if present else _STAND_IN[spec.kind]
    settings = dict(QUICK if quick else FULL)
    if arch is not None:
        settings["arch"] = arch
    if epochs is not None:
        settings["epochs"] = epochs
    mode = "quick" if quick else "full"
    time_steps = None  # the network's own: PLIF's T for paper, 4 (images) or the data's T (events) for small
    if quick and spec.kind == "events" and arch is None:
        time_steps = QUICK_EVENT_FRAMES
    out = Path(out) if out is not None else runs_root() / f"{spec.name}-{mode}"
    return Plan(dataset=spec.name, train_dataset=train_dataset, mode=mode, reasons=reasons, arch=settings["arch"],
                epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                limit_train=settings.get("limit_train"), limit_test=settings.get("limit_test"),
                time_steps=time_steps, device=device, out=out, seed=seed)


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
                    progress: bool | None = None) -> Comparison:
    """Train each of ``neurons`` on ``dataset`` with the same seed, data and settings.

    Prints the mode line first (``str(plan)``). Full mode resumes a run found in the output
    folder (a finished one is not trained again); quick mode replaces it.
    """
    plan = plan_run(dataset, arch=arch, quick=quick, out=out, epochs=epochs, device=device,
                    data_dir=data_dir, seed=seed)
    print(plan)
    plan.out.mkdir(parents=True, exist_ok=True)
    record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(plan).items()}
    (plan.out / "experiment.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    comparison = Comparison(plan)
    for neuron in neurons:
        config = plan.config(neuron, data_dir=None if data_dir is None else str(data_dir),
                             verbose=verbose, progress=progress)
        comparison.results[neuron] = train(config)
    return comparison


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


def _time_one_step(dataset: str, device: torch.device, batch: int = 2) -> float:
    """Seconds per image for forward+backward of the paper network at T = 1 on ``device``."""
    spec = _spec(dataset)
    torch.manual_seed(0)
    model = build_model(spec, "klif", "paper", time_steps=1).to(device)
    shape = (batch, *spec.input_shape) if spec.kind == "static" else (batch, 1, *spec.input_shape)
    x = torch.rand(shape, device=device)
    times = []
    for _ in range(2):  # the first call warms up
        tic = time.perf_counter()
        model(x).sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - tic)
    return times[-1] / batch


def estimate_full_time(dataset: str, device: str = "cpu", epochs: int | None = None, measure: bool = True,
                       root: str | os.PathLike | None = None) -> TimeEstimate:
    """Time of one full run (paper network, FULL settings, one neuron) of ``dataset`` on ``device``.

    In order: the speed of a finished full run found under ``root`` (default ``runs_root()``)
    on that kind of device, labelled "measured"; else, when ``device`` exists here and
    ``measure`` is true, one forward+backward pass timed now at T = 1 and scaled by T
    (labelled as an estimate); else no number, and the reason.
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
    per_image = _time_one_step(spec.name, torch.device(device)) * t
    return TimeEstimate(spec.name, kind, work * per_image,
                        f"estimated: one T=1 training step timed on this machine just now, x T={t}, "
                        f"x {epochs} epochs of {DATASET_SIZES[spec.name][0]} images")
