"""Shared pieces of the plot helpers: the palette, input checks, small conversions."""
from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from ..neurons import Trace

#: One colour per quantity, shared by every figure (read-only).
PALETTE: Mapping[str, str] = MappingProxyType(
    {
        "H": "tab:blue",
        "F": "tab:orange",
        "V": "tab:green",
        "S": "black",
        "V_th": "tab:red",
        "input": "tab:gray",
        "LIF": "#7b3294",
        "KLIF": "#008080",
        "before": "0.55",
    }
)
#: Legend to the right of the axes, outside the data (constrained layout makes room).
LEGEND_OUT: Mapping[str, object] = MappingProxyType(
    {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "fontsize": "small"}
)


# --- checks and small helpers --------------------------------------------------------------
def _check_trace(trace: object, where: str) -> Trace:
    if not isinstance(trace, Trace):
        raise TypeError(
            f"{where} expects a klif_edu.Trace (what neuron.trace(x_seq) returns), "
            f"got {type(trace).__name__}"
        )
    return trace


def _column(x: torch.Tensor, index: int, where: str) -> np.ndarray:
    """One neuron's series: flatten the N... dims of [T, N, ...] and take column ``index``."""
    flat = x.detach().reshape(x.shape[0], -1).cpu().double()
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"{where}: index must be an int, got {type(index).__name__}")
    if not -flat.shape[1] <= index < flat.shape[1]:
        raise ValueError(
            f"{where}: index {index} is out of range; the trace has {flat.shape[1]} neurons "
            f"(the N... dims flattened), so use 0 <= index < {flat.shape[1]}"
        )
    return flat[:, index].numpy()


def _input_column(x_seq: object, steps: int, index: int, where: str) -> np.ndarray:
    if not isinstance(x_seq, torch.Tensor):
        raise TypeError(f"{where}: x_seq must be a torch.Tensor [T, N, ...], got {type(x_seq).__name__}")
    if x_seq.dim() < 1 or x_seq.shape[0] != steps:
        raise ValueError(
            f"{where}: x_seq has shape {tuple(x_seq.shape)} but the trace has T = {steps} steps; "
            "pass the same input the trace was recorded with"
        )
    flat = x_seq.detach().reshape(steps, -1)
    return _column(flat, index if flat.shape[1] > 1 else 0, where)


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _as_float(value: object, name: str, where: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{where}: {name} must be a finite number, got {value!r}")
    return float(value)
