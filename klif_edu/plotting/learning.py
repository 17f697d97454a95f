"""Training history: k per layer over epochs and the effective surrogate it learned."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import history as hist
from ..surrogate import Surrogate, effective_derivative, effective_surrogate
from ._common import LEGEND_OUT, PALETTE, _new_axes

__all__ = ["plot_k_history", "plot_learned_surrogate"]


def _layer_colours(history: dict[str, Any]) -> dict[str, Any]:
    cmap = plt.get_cmap("tab10")
    return {name: cmap(i % 10) for i, name in enumerate(hist.layer_names(history))}


def _k_or_fail(history: dict[str, Any], where: str) -> dict[str, tuple[list[float], list[float]]]:
    series = hist.k_series(history, "k")
    if not series:
        raise ValueError(f"{where}: the history has no 'k' records (a LIF run has no k); "
                         "train with neuron='klif' to get them")
    return series


def plot_k_history(history: dict[str, Any], *, ax: Axes | None = None) -> Axes:
    """k of every layer over the epochs (epoch 0 = before training); dotted line at k = 1."""
    where = "plot_k_history"
    series = _k_or_fail(history, where)
    colours = _layer_colours(history)
    ax = _new_axes(ax, (7, 3.5))
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label="k = 1")
    for name, (epochs, values) in series.items():
        ax.plot(epochs, values, marker="o", ms=4, color=colours[name], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("k")
    ax.set_title("learned k per layer")
    ax.legend(**LEGEND_OUT)
    return ax


def _shape_series(history: dict[str, Any], surrogate: Surrogate, v_threshold: float, name: str,
                  epochs: list[float], ks: list[float]) -> tuple[list[float], list[float], list[float]]:
    """(epochs, slopes, widths) of a layer: as recorded, else computed from k."""
    slope, width = hist.k_series(history, "slope").get(name), hist.k_series(history, "width").get(name)
    if slope and width and slope[0] == width[0]:
        return slope[0], slope[1], width[1]
    shapes = [hist.surrogate_shape(surrogate, {name: k}, v_threshold)[name] for k in ks]
    return epochs, [p for p, _ in shapes], [w if math.isfinite(w) else np.nan for _, w in shapes]


def plot_learned_surrogate(
    history: dict[str, Any], *, layers: Sequence[str] | None = None, fig: Figure | None = None
) -> Figure:
    """Per layer, dS/dH before (first record) and after (last) training; slope and width over epochs.

    Top: one panel per layer with the effective surrogate at its first and last k. Bottom:
    peak slope and width (FWHM) of every layer's effective surrogate against the epoch.
    """
    where = "plot_learned_surrogate"
    series = _k_or_fail(history, where)
    names = list(series) if layers is None else list(layers)
    unknown = [n for n in names if n not in series]
    if unknown or not names:
        raise ValueError(f"{where}: unknown layers {unknown or names}; the history has {list(series)}")
    surrogate = hist.surrogate_of(history)
    v_threshold = float(history.get("v_threshold", 1.0))
    colours = _layer_colours(history)
    if fig is None:
        fig = plt.figure(figsize=(11, 3.0 * math.ceil(len(names) / 4) + 3.2), layout="constrained")
    elif not isinstance(fig, Figure):
        raise TypeError(f"{where}: fig must be a matplotlib Figure or None, got {type(fig).__name__}")
    else:
        fig.clear()
        fig.set_layout_engine("constrained")
    ncols, nrows = min(len(names), 4), math.ceil(len(names) / 4)
    top, bottom = fig.subfigures(2, 1, height_ratios=[nrows, 1.0])
    positive = [k for n in names for k in (series[n][1][0], series[n][1][-1]) if k > 0] or [1.0]
    right = max(float(effective_surrogate(surrogate, k, v_threshold).h[-1]) for k in positive)
    h = torch.linspace(-0.12 * right, right, 801, dtype=torch.float64)
    axes = top.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        epochs, ks = series[name]
        for k, epoch, style in ((ks[0], epochs[0], "before"), (ks[-1], epochs[-1], "after")):
            colour = PALETTE["before"] if style == "before" else colours[name]
            dsdh = effective_derivative(surrogate, h, k, v_threshold) if k > 0 else torch.zeros_like(h)
            ax.plot(h.numpy(), dsdh.numpy(), color=colour, lw=2, ls="--" if style == "before" else "-",
                    label=f"{style} (epoch {epoch:g}): k = {k:.2f}")
        ax.set_title(f"{name}: k = {ks[0]:.2f} → {ks[-1]:.2f}", fontsize="medium")
    for i, ax in enumerate(axes):
        if i >= len(names):
            ax.set_visible(False)
        elif i + ncols >= len(names):  # lowest visible panel of its column
            ax.set_xlabel("H")
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[::ncols]:
        ax.set_ylabel("dS/dH")
    first, last = history["epochs"][0]["epoch"], history["epochs"][-1]["epoch"]
    top.suptitle(f"effective surrogate dS/dH per layer ({surrogate!r}): "
                 f"dashed grey before training (epoch {first:g}), solid after (epoch {last:g})")
    slope_ax, width_ax = bottom.subplots(1, 2, sharex=True)
    for name in names:
        epochs, slopes, widths = _shape_series(history, surrogate, v_threshold, name, *series[name])
        slope_ax.plot(epochs, slopes, marker="o", ms=4, color=colours[name], label=name)
        width_ax.plot(epochs, widths, marker="o", ms=4, color=colours[name], label=name)
    slope_ax.set(xlabel="epoch", ylabel="peak dS/dH", title="peak slope (grows with k)")
    width_ax.set(xlabel="epoch", ylabel="width in H (FWHM)", title="width (shrinks as 1/k)")
    width_ax.legend(**LEGEND_OUT)
    return fig
