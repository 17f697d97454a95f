"""The settings of a training run: ``TrainConfig``, checked field by field.

    config = TrainConfig(dataset="fashion-mnist", neuron="klif", arch="small", epochs=1)
    config.check()       # ValueError naming the first bad field

The fields are the ``klif-edu train`` options one to one (``--time-steps`` is
``time_steps``, ...). ``default_out`` gives ``runs/<dataset>-<neuron>-<arch>``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data.events import DVS_SPLITS
from .models import ARCHS, NEURONS
from .neurons import BACKENDS
from .steps import LOSSES

__all__ = ["TrainConfig", "LOSSES", "default_out"]

@dataclass
class TrainConfig:
    """Everything that fixes a training run (the CLI's ``train`` options, one to one)."""

    dataset: str = "embedded-fashion-mnist"
    neuron: str = "klif"
    arch: str = "small"
    epochs: int = 1
    time_steps: int | None = None  # None: PLIF's T (paper), 4 (small, static), the data's T (small, events)
    batch_size: int = 64
    lr: float = 1e-3
    device: str = "auto"
    data_dir: str | None = None
    out: str | None = None  # None: runs/<dataset>-<neuron>-<arch>
    limit_train: int | None = None
    limit_test: int | None = None
    seed: int = 0
    resume: bool = False
    num_workers: int = 0
    backend: str = "eager"
    loss: str = "mse"
    amp: bool = True  # float16 autocast, CUDA only
    log_every: int = 50  # a "steps" history row every this many batches
    progress: bool | None = None  # None: bars on a terminal or in a notebook
    verbose: bool = True  # one line per epoch
    overwrite: bool = False  # replace a finished/unfinished run in ``out`` instead of refusing
    stop_after: int | None = None  # end this session after that epoch (checkpointed); resume continues
    dvs_split: str = "spikingjelly"  # CIFAR10-DVS's 9:1 split: "spikingjelly" (published numbers) or "random"
    neuron_kwargs: dict[str, Any] = field(default_factory=dict)

    def check(self) -> "TrainConfig":
        """Raise ValueError naming the first bad field and what it should be."""

        def positive_int(name: str, value: Any, allow_none: bool = False) -> None:
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

        if self.neuron not in NEURONS:
            raise ValueError(f"unknown neuron {self.neuron!r}; choose one of: {', '.join(NEURONS)}")
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose one of: {', '.join(ARCHS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose one of: {', '.join(BACKENDS)}")
        for name in ("epochs", "batch_size", "log_every"):
            positive_int(name, getattr(self, name))
        for name in ("time_steps", "limit_train", "limit_test", "stop_after"):
            positive_int(name, getattr(self, name), allow_none=True)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ValueError(f"num_workers must be 0 or more, got {self.num_workers!r}")
        if self.dvs_split not in DVS_SPLITS:
            raise ValueError(f"unknown dvs_split {self.dvs_split!r}; choose one of: {', '.join(DVS_SPLITS)}")
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite exclude each other: continue a run, or replace it")
        return self


def default_out(config: TrainConfig) -> Path:
    """runs/<dataset>-<neuron>-<arch>, relative to the working directory."""
    return Path("runs") / f"{config.dataset}-{config.neuron}-{config.arch}"
