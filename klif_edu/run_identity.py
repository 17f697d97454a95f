"""One run identity: the settings that produced a run's numbers, compared whole by every reader.

    wanted = identity_of_config(config, spec)            # what a reader expects, before training
    differences(stored, wanted, RESUME_MAY_DIFFER)        # [(setting, there, asked)]; [] = the same run
    finished_run(folder, wanted)                          # that folder's metrics.json, or None if not this run
    start_over(folder)                                    # remove everything an older run wrote there

A run folder holds one run: ``checkpoint.pt`` (and ``checkpoint.prev.pt``), ``history.json``,
``history.csv`` and, once finished, ``metrics.json`` (``RUN_FILES``). The checkpoint and the
metrics carry the run's identity (``IDENTITY``: data, network, neuron, budget, seed, data folder,
device, ...). Whatever reads a run compares the whole identity: ``train(resume=True)`` (through
``resume_from``), the notebooks' pickup of a finished lesson run, the study and its resume, the
study summary and the reproduction table. The settings allowed to differ when a run continues are
named here and nowhere else: ``RESUME_MAY_DIFFER`` for one ``train`` run, ``STUDY_MAY_DIFFER``
inside a study. A run started over first removes every file of the old one (``start_over``), so
no reader can pair an old file with a new one.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import torch

from .checkpoint import CheckpointError, load_checkpoint, previous_path

__all__ = ["IDENTITY", "RESUME_MAY_DIFFER", "STUDY_MAY_DIFFER", "RUN_FILES", "RunMismatch", "resolve_time_steps",
           "identity_of_config", "differences", "describe", "continued", "finished_run", "has_run", "start_over",
           "restore_scaler", "resume_from", "refuse_lost_checkpoint"]

#: Every setting that fixes a run's numbers (checkpoint["identity"], metrics["identity"]).
IDENTITY = ("dataset", "neuron", "arch", "num_classes", "time_steps", "batch_size", "lr", "loss", "seed",
            "limit_train", "limit_test", "train_size", "test_size", "backend", "neuron_kwargs", "detach_reset",
            "dvs_split", "data_dir", "device", "mixed_precision", "epochs")
#: The settings a `train --resume` may change, and why that keeps the run's numbers honest.
RESUME_MAY_DIFFER: dict[str, str] = {
    "epochs": "more epochs continue a run (the cosine schedule is recomputed over the new total)",
    "device": "one run may continue on another device; its identity then says so (e.g. 'cpu+cuda')",
    "mixed_precision": "follows the device (float16 autocast on CUDA); recorded the same way",
}
#: Inside a study nothing may differ: its runs are compared pairwise, so one device, one budget.
STUDY_MAY_DIFFER: dict[str, str] = {}
#: What a run writes, in the order ``start_over`` removes it (the finished marker first, the checkpoint last).
RUN_FILES = ("metrics.json", "history.json", "history.csv", "checkpoint.prev.pt", "checkpoint.pt")
#: Recorded since the identity exists; an older checkpoint is taken to match the run resuming it here.
_NOT_RECORDED_BEFORE = ("num_classes", "train_size", "test_size", "device", "mixed_precision")


class RunMismatch(CheckpointError):
    """A run folder holds a run of other settings; the message names them and how to start afresh."""


def resolve_time_steps(config: Any, spec: Any) -> int:
    """The T a run uses: the config's, else PLIF's T (paper), 4 (small, images) or the data's T (small, events)."""
    from .models import PAPER_TIME_STEPS, SMALL_TIME_STEPS

    if config.time_steps is not None:
        return int(config.time_steps)
    if config.arch == "paper":
        return PAPER_TIME_STEPS.get(spec.name, spec.time_steps)
    return SMALL_TIME_STEPS if spec.kind == "static" else spec.time_steps


def _plain(value: Any) -> Any:
    """JSON-safe version of a setting (a surrogate object becomes its repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


def _data_folder(data_dir: Any) -> str:
    """The data folder a run reads, resolved (the default named or not is one folder)."""
    from .data import data_root

    return str(data_root(data_dir).expanduser().resolve())


def identity_of_config(config: Any, spec: Any, device: torch.device | None = None) -> dict[str, Any]:
    """The identity of the run ``config`` makes, as far as it is known before data and network exist."""
    from .device import explain_device

    device = device if device is not None else explain_device(config.device)[0]
    return {
        "dataset": config.dataset, "neuron": config.neuron, "arch": config.arch, "num_classes": spec.num_classes,
        "time_steps": resolve_time_steps(config, spec), "batch_size": config.batch_size, "lr": config.lr,
        "loss": config.loss, "seed": config.seed, "limit_train": config.limit_train, "limit_test": config.limit_test,
        "backend": config.backend, "neuron_kwargs": _plain(config.neuron_kwargs),
        "dvs_split": config.dvs_split if spec.name == "cifar10-dvs" else None,
        "data_dir": _data_folder(config.data_dir),
        "device": device.type, "mixed_precision": bool(config.amp and device.type == "cuda"),
        "epochs": config.epochs,
    }


def differences(stored: dict[str, Any], wanted: dict[str, Any], may_differ: Iterable[str] = ()) -> list[tuple]:
    """(setting, stored value, wanted value) for every setting of ``wanted`` that differs and may not."""
    free = set(may_differ)
    return [(key, stored.get(key), value) for key, value in wanted.items()
            if key not in free and stored.get(key) != value]


def describe(diffs: list[tuple]) -> tuple[str, str]:
    """('seed=0, lr=0.001', 'seed=1, lr=0.002'): the differing settings there and asked for."""
    return (", ".join(f"{k}={old!r}" for k, old, _ in diffs), ", ".join(f"{k}={new!r}" for k, _, new in diffs))


def _joined(old: Any, new: Any) -> Any:
    """A setting allowed to change: 'cpu' then 'cuda' is recorded as 'cpu+cuda'."""
    if old == new or str(old).split("+")[-1] == str(new):
        return old
    return f"{old}+{new}"


def continued(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The identity of a run continued under ``wanted``: devices joined, the new epoch target."""
    out = {**stored, **wanted}
    for key in ("device", "mixed_precision"):
        if key in stored:
            out[key] = _joined(stored[key], wanted.get(key))
    return out


def _legacy(config: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The identity of a checkpoint written before identities were recorded (from its config)."""
    old = {k: config[k] for k in IDENTITY if k in config and k not in _NOT_RECORDED_BEFORE}
    old["dvs_split"] = config.get("dvs_split") if wanted.get("dvs_split") is not None else None
    return {**{k: wanted.get(k) for k in _NOT_RECORDED_BEFORE}, **old}


def restore_scaler(scaler: torch.amp.GradScaler, saved: dict[str, Any] | None) -> None:
    """Load a saved GradScaler state into an enabled scaler; a disabled one's ``{}`` leaves it fresh.

    A run started without mixed precision (a CPU run, or ``--no-amp``) saves ``{}``; resuming
    it on a GPU starts the scaler from its defaults (GradScaler refuses an empty state).
    """
    if scaler.is_enabled() and saved:
        scaler.load_state_dict(saved)


def resume_from(path: Path, wanted: dict[str, Any], may_differ: Iterable[str], model: torch.nn.Module,
                optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """Load the checkpoint at ``path`` into model, optimiser and scaler if it holds the ``wanted`` run.

    Returns (checkpoint state, identity of the continued run); ``RunMismatch`` names the settings
    that differ (beyond ``may_differ``), ``CheckpointError`` a checkpoint that does not fit.
    """
    state = load_checkpoint(path, map_location=map_location)
    stored = state.get("identity") or _legacy(state["config"], wanted)
    diffs = differences(stored, wanted, may_differ)
    if diffs:
        there, asked = describe(diffs)
        raise RunMismatch(f"{path} was trained with {there}, but this run asks for {asked}; resume with the same "
                          "settings, or start afresh with --overwrite (or another --out)")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path} does not fit this network: {str(err).splitlines()[0]}") from None
    restore_scaler(scaler, state.get("scaler"))
    return state, continued(stored, wanted)


def finished_run(folder: str | Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The metrics of the finished run in ``folder`` if it is exactly the ``wanted`` run, else None."""
    try:
        metrics = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    identity = metrics.get("identity") if isinstance(metrics, dict) else None
    if not isinstance(identity, dict) or differences(identity, wanted):
        return None
    return metrics if metrics.get("epochs") == wanted.get("epochs") else None


def has_run(folder: str | Path) -> list[str]:
    """The run files present in ``folder`` (empty: no run there)."""
    return [name for name in RUN_FILES if (Path(folder) / name).exists()]


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def start_over(folder: str | Path) -> None:
    """Remove every file a run wrote in ``folder`` (and half-written temporaries) before a new run writes any."""
    folder = Path(folder)
    for name in RUN_FILES:
        _remove(folder / name)
    for name in RUN_FILES:
        for tmp in folder.glob(f".{name}.*.tmp"):
            _remove(tmp)


def refuse_lost_checkpoint(folder: Path) -> None:
    """A resume that finds no checkpoint but a previous one must not start over (and lose it)."""
    path = folder / "checkpoint.pt"
    prev = previous_path(path)
    if not path.exists() and prev.exists():
        raise CheckpointError(f"{path} is missing but {prev} is there: move it to {path} to resume from it, "
                              "or start afresh with --overwrite")
