"""Which run a training notebook makes: test, lesson or full mode, and why.

    plan = plan_run("fashion-mnist")          # lesson mode unless asked otherwise
    print(plan)                               # the mode line: what was chosen, and why
    print(plan.banner())                      # a box nobody misses when a stand-in trains

* **test** (``KLIF_EDU_QUICK=1``, or ``mode="test"``/``quick=True``): what ``make test`` and CI
  run: 96 images, 2 epochs, seconds.
* **lesson** (the default, on any machine): the notebook's own dataset with a budget chosen per
  dataset and device (``LESSON_CPU``/``LESSON_GPU``), so that KLIF and LIF together finish in a
  few minutes and k visibly moves. A missing dataset trains the embedded stand-in of its kind,
  announced by ``Plan.banner()``.
* **full** (``mode="full"`` or ``quick=False``, never chosen automatically): the paper's network
  and budget (``FULL``); it needs the dataset on disk and resumes a run found in ``runs/``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .device import explain_device
from .environment import QUICK_ENV
from .environment import is_quick as is_quick_env
from . import gpu_memory
from .gpu_memory import gpu_batch
from .places import RUNS_ENV, default_runs_root, expand
from .training import TrainConfig

__all__ = ["MODES", "FULL", "TEST", "QUICK", "QUICK_EVENT_FRAMES", "Budget", "LESSON_CPU", "LESSON_GPU",
           "STAND_IN", "DATASET_SIZES", "Plan", "decide_mode", "plan_run", "runs_root", "dataset_present", "is_quick_env"]

MODES = ("test", "lesson", "full")
#: Full runs: PLIF's batch size and learning rate (its README); 64 epochs is our choice, one
#: period of PLIF's cosine schedule (T_max = 64). PLIF itself trained for up to 1024 epochs.
FULL: dict[str, Any] = {"arch": "paper", "epochs": 64, "batch_size": 16, "lr": 1e-3}
#: Test runs (CI): same code path, a hundred images, small network; event data at T=4 frames.
TEST: dict[str, Any] = {"arch": "small", "epochs": 2, "batch_size": 16, "lr": 2e-3,
                        "limit_train": 96, "limit_test": 48}
QUICK = TEST  # the name the notebooks and tests used before lesson mode existed
QUICK_EVENT_FRAMES = 4
STAND_IN = {"static": "embedded-fashion-mnist", "events": "embedded-events"}
#: Training / test samples per dataset (from each dataset's description in klif_edu.data).
DATASET_SIZES: dict[str, tuple[int, int]] = {
    "mnist": (60_000, 10_000), "fashion-mnist": (60_000, 10_000), "cifar10": (50_000, 10_000),
    "nmnist": (60_000, 10_000), "cifar10-dvs": (9_000, 1_000), "dvs-gesture": (1_077, 264),
    "embedded-fashion-mnist": (2_000, 500), "embedded-events": (600, 200),  # as in data/embedded
}


@dataclass(frozen=True)
class Budget:
    """One lesson-mode budget: network, data size, epochs, T, and why (printed in the mode line)."""

    arch: str
    epochs: int
    limit_train: int | None
    limit_test: int | None
    why: str
    expect: str  # the accuracy to expect, and where that figure comes from
    time_steps: int | None = None  # None: the network's own (small: T=4 for images)
    batch_size: int = 64
    lr: float = 1e-3


_SMALL_CPU = ("the small classroom network trains ~700 images/s on a 2-core CPU (benchmarks/"
              "train_throughput.py), so {n} images x {e} epochs take about {m} min per neuron")
_EVENTS_CPU = ("event frames cost T={t} network passes each; {n} samples x {e} epochs fit about {m} min "
               "per neuron on a 2-core CPU")
_POOLED = "; the 128x128 frames are average-pooled to 32x32 inside the small network (a CPU cannot afford 128x128)"
_GUESS = "an estimate, not measured here (the dataset was not on this machine)"
#: Lesson budgets on a CPU (2 cores in mind: KLIF + LIF in about 4 min, at most 6).
LESSON_CPU: dict[str, Budget] = {
    "mnist": Budget("small", 3, 10_000, 2_000, _SMALL_CPU.format(n="10,000", e=3, m=1.5),
                    f"KLIF and LIF about 97-98 % ({_GUESS}; MNIST is easier than Fashion-MNIST, "
                    "which reaches ~87 % with this budget)"),
    "fashion-mnist": Budget("small", 3, 10_000, 2_000, _SMALL_CPU.format(n="10,000", e=3, m=1.5),
                            "KLIF about 88 %, k up to about 1.14 (measured with this budget on a 2-core CPU: "
                            "KLIF 88.4 %, LIF 87.9 %; see the README)"),
    "cifar10": Budget("small", 3, 8_000, 2_000, _SMALL_CPU.format(n="8,000 colour", e=3, m=1.5)
                      + " (3 conv blocks: slower per image)",
                      f"KLIF and LIF about 40-50 % ({_GUESS}: colour photos from 8,000 images and 3 epochs)"),
    "nmnist": Budget("small", 3, 4_000, 1_000, _EVENTS_CPU.format(t=8, n="4,000", e=3, m=1.5), f"about 90-95 % ({_GUESS})",
                     time_steps=8),
    "cifar10-dvs": Budget("small", 4, 2_000, 500, _EVENTS_CPU.format(t=8, n="2,000", e=4, m=1.5) + _POOLED,
                          f"about 35-50 % ({_GUESS})", time_steps=8),
    "dvs-gesture": Budget("small", 6, None, None, _EVENTS_CPU.format(t=16, n="all 1,077", e=6, m=1.5) + _POOLED,
                          f"about 60-80 % ({_GUESS})", time_steps=16),
    "embedded-fashion-mnist": Budget("small", 6, None, None,
                                     "all 2,000 embedded images, 6 epochs: the demo's budget, about 20 s per neuron",
                                     "about 82 % (measured with this budget: KLIF 82.2 %, LIF 82.4 %; 500 test "
                                     "images, so a point or two between runs is noise)"),
    "embedded-events": Budget("small", 8, None, None, _EVENTS_CPU.format(t=8, n="all 600", e=8, m=1)
                              + " (lr 2e-3: with 4 epochs at 1e-3 k moved only 0.02)",
                              "about 75 % on the simulated events (measured: KLIF 76.5 %, k up to 1.07; "
                              "not a real event dataset)", time_steps=8, lr=2e-3),
}
_GPU = "a GPU trains the paper's network on a subset in about 1 min per neuron (estimate: no GPU was lent here)"
#: Lesson budgets on a CUDA GPU: the paper's network on a subset, about 2 min for KLIF + LIF. The
#: batch here is the most a lesson uses (the full run's); ``gpu_batch`` lowers it to what fits in memory.
LESSON_GPU: dict[str, Budget] = {
    name: Budget("paper", epochs, limit, limit_test, _GPU, f"a few points below the full run ({_GUESS})",
                 batch_size=FULL["batch_size"], lr=1e-3)
    for name, epochs, limit, limit_test in (
        ("mnist", 4, 20_000, 5_000), ("fashion-mnist", 4, 20_000, 5_000), ("cifar10", 4, 10_000, 2_000),
        ("nmnist", 3, 10_000, 2_000), ("cifar10-dvs", 6, 2_000, 500), ("dvs-gesture", 10, None, None))
}
LESSON_GPU["embedded-fashion-mnist"] = LESSON_CPU["embedded-fashion-mnist"]
LESSON_GPU["embedded-events"] = LESSON_CPU["embedded-events"]


def runs_root() -> Path:
    """Where runs go: $KLIF_EDU_RUNS, else <repository>/runs in a source checkout, else ./runs beside the notebooks."""
    env = os.environ.get(RUNS_ENV, "").strip()
    if env:
        return expand(env)
    return default_runs_root()


def _spec(dataset: str):
    from .data import get_spec

    return get_spec(dataset)


def dataset_present(dataset: str, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether both splits of ``dataset`` are on disk (embedded sets always are)."""
    from .data import dataset_status

    name = _spec(dataset).name
    return any(row["name"] == name and row["present"] for row in dataset_status(data_dir))


def decide_mode(mode: str | None = None, quick: bool | None = None) -> tuple[str, str]:
    """(mode, why): an explicit ``mode`` or ``quick`` wins; else test under KLIF_EDU_QUICK=1, else lesson.

    Full mode is never chosen here on its own: only ``mode="full"`` or ``quick=False`` give it.
    """
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (or None for automatic), got {mode!r}")
        if quick is not None and (mode == "test") != bool(quick):
            raise ValueError(f"mode={mode!r} and quick={quick!r} contradict each other; give one of them")
        return mode, f"MODE={mode!r} was asked for"
    if quick is True:
        return "test", "quick=True was asked for"
    if quick is False:
        return "full", "quick=False was asked for"
    if is_quick_env():
        return "test", f"{QUICK_ENV}=1 (the test suite)"
    return "lesson", "the default"


@dataclass
class Plan:
    """What ``compare_neurons`` will run, and why (``str(plan)`` is the line a notebook prints)."""

    dataset: str  # asked for
    train_dataset: str  # trained on (the embedded stand-in when the dataset is missing)
    mode: str  # "test", "lesson" or "full"
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
    why_budget: str = ""
    expect: str = ""

    @property
    def quick(self) -> bool:
        """True in test mode (the tiny CI run)."""
        return self.mode == "test"

    @property
    def T(self) -> int:
        """The time steps the network runs (the plan's, else the network's default)."""
        from .models import PAPER_TIME_STEPS, SMALL_TIME_STEPS

        if self.time_steps:
            return self.time_steps
        spec = _spec(self.train_dataset)
        if self.arch == "paper":
            return PAPER_TIME_STEPS.get(spec.name, spec.time_steps)
        return SMALL_TIME_STEPS if spec.kind == "static" else spec.time_steps

    @property
    def train_size(self) -> int:
        """Training samples this plan uses."""
        total = DATASET_SIZES[self.train_dataset][0]
        return total if self.limit_train is None else min(total, self.limit_train)

    @property
    def stand_in(self) -> bool:
        """True when the embedded stand-in trains instead of the dataset asked for."""
        return self.train_dataset != self.dataset

    def model_spec(self):
        """The DatasetSpec the network is built from: the trained-on data's, with as many classes as
        the dataset asked for (a DVS128-Gesture stand-in votes over 11 classes; the 11th gets no samples)."""
        asked, used = _spec(self.dataset), _spec(self.train_dataset)
        if not self.stand_in or asked.num_classes <= used.num_classes:
            return used
        extra = tuple(f"{name} (no stand-in samples)" for name in asked.class_names[used.num_classes:])
        return replace(used, num_classes=asked.num_classes, class_names=used.class_names + extra,
                       description=f"{used.description}; network with {asked.num_classes} classes like {asked.name}")

    def config(self, neuron: str, **overrides: Any) -> TrainConfig:
        """The TrainConfig of one neuron's run (full mode resumes; the others replace)."""
        settings = dict(dataset=self.train_dataset, neuron=neuron, arch=self.arch, epochs=self.epochs,
                        batch_size=self.batch_size, lr=self.lr, limit_train=self.limit_train,
                        limit_test=self.limit_test, time_steps=self.time_steps, device=self.device,
                        out=str(self.out / neuron), seed=self.seed, log_every=5 if self.quick else 50,
                        overwrite=self.mode != "full", resume=self.mode == "full")
        settings.update(overrides)
        return TrainConfig(**settings)

    def __str__(self) -> str:
        what = "the paper's network" if self.arch == "paper" else "the small classroom network (not the paper's)"
        data = self.train_dataset if not self.stand_in else f"{self.train_dataset} STANDING IN for {self.dataset}"
        total = DATASET_SIZES[self.train_dataset][0]
        size = f"{self.train_size:,} of {total:,}"
        line = (f"{self.mode.upper()} MODE ({'; '.join(self.reasons)}): {what}, {data}, "
                f"{size} training samples, {self.epochs} epoch(s), batch {self.batch_size}, T={self.T}, "
                f"runs in {self.out}")
        classes = self.model_spec().num_classes
        if classes != _spec(self.train_dataset).num_classes:
            line += (f".\n  The network votes over {classes} classes, like {self.dataset}; the stand-in fills "
                     f"{_spec(self.train_dataset).num_classes} of them")
        if self.why_budget:
            line += f".\n  Why this budget: {self.why_budget}."
        if self.expect:
            line += f"\n  Expect: {self.expect}."
        if self.quick:
            line += "\n  Test runs only check that the code runs; their accuracies mean nothing."
        return line

    def banner(self) -> str:
        """A box announcing stand-in data (empty string when the real dataset trains)."""
        if not self.stand_in:
            return ""
        lines = [f"STAND-IN DATA: {self.dataset} is not on disk.",
                 f"This notebook trains on {self.train_dataset} instead"
                 + (" (SIMULATED events)." if self.train_dataset == "embedded-events" else "."),
                 f"Its accuracies and k say nothing about {self.dataset}.",
                 f"Get the real data: klif_edu.data.fetch({self.dataset!r}) or `klif-edu fetch {self.dataset}`."]
        width = max(len(s) for s in lines) + 4
        bar = "!" * width
        return "\n".join([bar, *(f"! {s.ljust(width - 4)} !" for s in lines), bar])


def _budget(mode: str, name: str, kind: str, device_type: str, arch: str | None) -> tuple[dict[str, Any], str, str]:
    """(settings, why, expect) of one mode for the dataset that trains."""
    if mode == "full":
        return dict(FULL, limit_train=None, limit_test=None, time_steps=None), "", ""
    if mode == "test":
        t = QUICK_EVENT_FRAMES if kind == "events" and arch is None else None
        return dict(TEST, time_steps=t), "", ""
    table = LESSON_GPU if device_type == "cuda" else LESSON_CPU
    b = table[name]
    settings = dict(arch=b.arch, epochs=b.epochs, batch_size=b.batch_size, lr=b.lr, limit_train=b.limit_train,
                    limit_test=b.limit_test, time_steps=b.time_steps if arch in (None, b.arch) else None)
    return settings, b.why, b.expect


def plan_run(dataset: str, arch: str | None = None, quick: bool | None = None, out: str | os.PathLike | None = None,
             epochs: int | None = None, device: str = "auto", data_dir: str | os.PathLike | None = None,
             seed: int = 0, mode: str | None = None) -> Plan:
    """Decide the mode (see ``decide_mode``) and the budget for ``dataset``, without running anything.

    A missing dataset trains its embedded stand-in in test and lesson mode; full mode needs the
    data and raises ``DatasetMissing`` with what to do. ``arch``/``epochs`` override the budget.
    """
    spec = _spec(dataset)
    mode, why_mode = decide_mode(mode, quick)
    present = dataset_present(spec.name, data_dir)
    dev, why_dev = explain_device(device)
    reasons = [why_mode]
    if mode == "full" and not present:
        from .data import DatasetMissing, dataset_status

        how = next(r["how_to_get"] for r in dataset_status(data_dir) if r["name"] == spec.name)
        raise DatasetMissing(f"full mode needs {spec.name} on disk: klif_edu.data.fetch({spec.name!r}), or {how}")
    if not present:
        reasons.append(f"{spec.name} is not on disk")
    reasons.append(f"{dev.type} ({why_dev})")
    train_dataset = spec.name if present else STAND_IN[spec.kind]
    settings, why, expect = _budget(mode, train_dataset, spec.kind, dev.type, arch)
    if epochs is not None and epochs != settings["epochs"] and why:  # the table's reason was for its own epochs
        expect = f"measured or estimated for {settings['epochs']} epochs, not {epochs}: {expect}" if expect else ""
        why = f"epochs={epochs} as asked, not this table's {settings['epochs']} (its budget: {why})"
    if arch is not None and arch != settings["arch"] and why:
        why = f"arch={arch!r} as asked, not this table's {settings['arch']!r} (its budget: {why})"
        expect = ""  # the table's expectation was for its own network
    if arch is not None:
        settings["arch"] = arch
    if epochs is not None:
        settings["epochs"] = epochs
    out = Path(out) if out is not None else runs_root() / f"{spec.name}-{mode}"
    plan = Plan(dataset=spec.name, train_dataset=train_dataset, mode=mode, reasons=reasons, arch=settings["arch"],
                epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                limit_train=settings.get("limit_train"), limit_test=settings.get("limit_test"),
                time_steps=settings.get("time_steps"), device=device, out=out, seed=seed,
                why_budget=why, expect=expect)
    if dev.type == "cuda" and mode == "lesson" and plan.arch == "paper":
        memory = gpu_batch(plan.train_dataset, plan.arch, plan.T, dev, min(plan.batch_size, FULL["batch_size"]))
        plan.batch_size = memory.batch
        plan.why_budget += f"; batch from GPU memory: {memory}"
    return plan
