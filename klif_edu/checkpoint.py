"""Training checkpoints: written atomically, kept one generation back, validated on load.

    save_checkpoint(state, "runs/x/checkpoint.pt")     # the old one becomes checkpoint.prev.pt
    state = load_checkpoint("runs/x/checkpoint.pt", expect={"neuron": "klif", ...})

A checkpoint is a dict: ``format`` ("klif-edu-checkpoint"), ``version``, ``epoch`` (epochs
completed), ``config`` (the run's settings), ``model``, ``optimizer``, ``history`` and
``wall_time`` (seconds trained so far), plus whatever else the trainer adds.

Saving writes a temporary file in the same folder, flushes it to disk, links the current
checkpoint to ``*.prev.pt`` and only then renames the new file into place, so at every
moment ``checkpoint.pt`` is a complete file and a crash mid-save loses nothing. Loading
uses ``torch.load(weights_only=True)`` (no arbitrary code from a file) and raises
``CheckpointError`` naming the file and what is wrong: unreadable/truncated, not a
klif-edu checkpoint, or a run setting that does not match (e.g. neuron "lif" vs "klif").
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from .files import atomic_open

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "previous_path",
    "write_json_atomic",
]

FORMAT = "klif-edu-checkpoint"
VERSION = 1
REQUIRED = ("epoch", "config", "model", "optimizer", "history")


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file, the problem and the way out."""


def previous_path(path: str | os.PathLike) -> Path:
    """Where the generation before ``path`` is kept: checkpoint.pt -> checkpoint.prev.pt."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def _replace_with_copy(src: Path, dst: Path) -> None:
    """Make dst a complete copy of src atomically (hard link when the filesystem allows)."""
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        tmp_path.unlink()
        try:
            os.link(src, tmp_path)
        except OSError:
            shutil.copy2(src, tmp_path)
        os.replace(tmp_path, dst)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike, keep_previous: bool = True) -> Path:
    """Write ``state`` to ``path`` atomically; the file it replaces is kept as ``*.prev.pt``."""
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise ValueError(f"save_checkpoint: state lacks {', '.join(missing)}")
    path = Path(path)
    with atomic_open(path, "wb", fsync=True) as fh:
        torch.save({"format": FORMAT, "version": VERSION, **state}, fh)
        if keep_previous and path.exists():
            _replace_with_copy(path, previous_path(path))
    return path


def write_json_atomic(data: Any, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON through a temporary file and a rename."""
    path = Path(path)
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=1)
    return path


def _previous_hint(path: Path) -> str:
    prev = previous_path(path)
    if not prev.exists():
        return "Delete it (or choose another --out) to start afresh."
    try:
        state = _read(prev)
        epoch = state.get("epoch", "?") if isinstance(state, dict) else "?"
    except Exception:
        return f"The previous checkpoint {prev} is unreadable too; delete both to start afresh."
    return (
        f"The previous checkpoint {prev} (after epoch {epoch}) is intact: move it to {path} "
        "to resume from there, or delete both to start afresh."
    )


def _read(path: Path, map_location: str | torch.device = "cpu") -> Any:
    return torch.load(path, map_location=map_location, weights_only=True)


def load_checkpoint(
    path: str | os.PathLike,
    expect: dict[str, Any] | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read and check a checkpoint; ``expect`` lists config fields that must match."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = _read(path, map_location)
    except Exception as err:  # truncated zip, bad pickle, disallowed type, I/O error ...
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
            f"it may be truncated by an interrupted copy or a full disk. {_previous_hint(path)}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a klif-edu checkpoint (no format tag {FORMAT!r}). {_previous_hint(path)}")
    if not isinstance(state.get("version"), int) or state["version"] > VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {state.get('version')!r}; this klif-edu reads up to {VERSION}. "
            "Update klif-edu or start afresh."
        )
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}. {_previous_hint(path)}")
    config = state["config"]
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: 'config' is not a dict. {_previous_hint(path)}")
    for field, want in (expect or {}).items():
        have = config.get(field)
        if have != want:
            raise CheckpointError(
                f"{path} was trained with {field}={have!r}, but this run asks for {field}={want!r}; "
                f"resume with the same {field}, or use another --out to start a new run"
            )
    return state
