"""The training history format: what the training loop writes and the plot helpers read.

A history is a JSON object (``history.json`` next to a checkpoint):

    {
      "neuron": "klif",                 # or "lif"
      "dataset": "embedded-fashion-mnist",
      "surrogate": {"name": "Sigmoid", "alpha": 4.0},
      "v_threshold": 1.0,
      "epochs": [                       # row 0 is the state before training (epoch 0)
        {"epoch": 0, "step": 0, "k": {"conv1": 1.0, "conv2": 1.0}, "test_accuracy": 0.1, ...},
        {"epoch": 1, "step": 120, "train_loss": 0.9, "train_accuracy": 0.71,
         "test_loss": 0.6, "test_accuracy": 0.80, "lr": 0.001, "wall_time": 12.3,
         "k": {...}, "slope": {...}, "width": {...}}
      ],
      "steps": [{"step": 10, "epoch": 1, "loss": 1.2, "accuracy": 0.55, "k": {...}}]
    }

A PLIF network's rows (epochs and steps) also carry ``"tau": {layer: learned tau}`` (its ``k`` is {}).
``k``, ``slope``, ``width`` and ``tau`` map layer names to numbers; slope and width are the effective
surrogate's peak dS/dH and half-maximum width at that k (``surrogate.effective_surrogate``).
Every field but ``epoch`` and ``k`` is optional in a row.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from .files import atomic_open
from .surrogate import ALL as SURROGATES
from .surrogate import Surrogate, effective_surrogate

__all__ = ["validate", "load", "save", "save_csv", "k_series", "layer_names", "surrogate_of", "surrogate_shape"]


def validate(history: dict[str, Any]) -> dict[str, Any]:
    """Check the structure above; raise ValueError naming what is wrong."""
    if not isinstance(history, dict):
        raise ValueError(f"a history is a dict (see klif_edu.history), got {type(history).__name__}")
    rows = history.get("epochs")
    if not isinstance(rows, list) or not rows:
        raise ValueError("history['epochs'] must be a non-empty list of per-epoch rows")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "epoch" not in row:
            raise ValueError(f"history['epochs'][{i}] must be a dict with an 'epoch' number")
        if "k" in row and not isinstance(row["k"], dict):
            raise ValueError(f"history['epochs'][{i}]['k'] must map layer names to numbers")
    return history


def layer_names(history: dict[str, Any]) -> list[str]:
    """Layer names in the order they first appear in the history's k records."""
    names: list[str] = []
    for row in validate(history)["epochs"]:
        for name in row.get("k", {}):
            if name not in names:
                names.append(name)
    return names


def k_series(history: dict[str, Any], key: str = "k") -> dict[str, tuple[list[float], list[float]]]:
    """{layer: (epochs, values)} for a per-layer field ("k", "slope" or "width")."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for row in validate(history)["epochs"]:
        for name, value in row.get(key, {}).items():
            xs, ys = out.setdefault(name, ([], []))
            xs.append(row["epoch"])
            ys.append(float(value))
    return out


def surrogate_of(history: dict[str, Any]) -> Surrogate:
    """The surrogate a history was trained with (Sigmoid(4) when it does not say)."""
    spec = history.get("surrogate") or {"name": "Sigmoid", "alpha": 4.0}
    cls = SURROGATES.get(spec.get("name", "Sigmoid"))
    if cls is None:
        raise ValueError(f"unknown surrogate {spec.get('name')!r}; known: {sorted(SURROGATES)}")
    return cls(spec.get("alpha"))


def surrogate_shape(surrogate: Surrogate, k_by_layer: dict[str, float], v_threshold: float = 1.0):
    """{layer: (peak slope, width)} of the effective surrogate for each layer's k."""
    out = {}
    for name, k in k_by_layer.items():
        eff = effective_surrogate(surrogate, k=k, v_threshold=v_threshold) if k > 0 else None
        out[name] = (eff.peak_slope, eff.width) if eff else (0.0, float("inf"))
    return out


def save(history: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write the history as JSON atomically (a crash never leaves half a file)."""
    path = Path(path)
    text = json.dumps(validate(history), indent=1)
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return path


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a history JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no history at {path}; train a model first (klif-edu train ...)") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); it may be truncated") from None
    return validate(data)


def save_csv(history: dict[str, Any], path: str | os.PathLike) -> Path:
    """Per-epoch rows as CSV, per-layer fields flattened to columns like ``k/conv1``."""
    rows = []
    for row in validate(history)["epochs"]:
        flat = {}
        for key, value in row.items():
            if isinstance(value, dict):
                flat.update({f"{key}/{name}": v for name, v in value.items()})
            else:
                flat[key] = value
        rows.append(flat)
    columns: list[str] = []
    for flat in rows:
        columns += [c for c in flat if c not in columns]
    path = Path(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(path, "w") as fh:
        fh.write(buf.getvalue())
    return path
