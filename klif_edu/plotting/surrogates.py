"""Surrogate curves: the smooth step and its derivative, and KLIF's effective surrogate dS/dH."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from ..surrogate import Surrogate, effective_surrogate
from ._common import LEGEND_OUT, PALETTE, _as_float, _new_axes

__all__ = ["plot_surrogate", "plot_effective_surrogate"]


def plot_surrogate(
    surrogate: Surrogate, *, ax: Axes | None = None, lo: float = -2.0, hi: float = 2.0, legend: bool = True
) -> Axes:
    """The Heaviside step, the surrogate's smooth step g(x) and its derivative g'(x).

    x is how far the neuron is above its threshold (H - V_th for LIF; notebook 03 adds F - V_th for KLIF).

    ``legend=False`` leaves the legend out (for grids of panels that share one).
    """
    where = "plot_surrogate"
    if not isinstance(surrogate, Surrogate):
        raise TypeError(f"{where} expects a klif_edu.surrogate.Surrogate such as Sigmoid(4.0), "
                        f"got {type(surrogate).__name__}")
    lo, hi = _as_float(lo, "lo", where), _as_float(hi, "hi", where)
    if not lo < 0 < hi:
        raise ValueError(f"{where}: need lo < 0 < hi so the step at x = 0 is visible, got lo={lo}, hi={hi}")
    x, g, dg = (a.numpy() for a in surrogate.curve(lo, hi, 801))
    ax = _new_axes(ax, (6.5, 3.5))
    ax.plot([lo, 0, 0, hi], [0, 0, 1, 1], color=PALETTE["S"], ls=":", lw=1.2, label="Θ(x)  Heaviside (forward)")
    ax.plot(x, g, color=PALETTE["H"], label="g(x)  smooth step")
    ax.plot(x, dg, color=PALETTE["F"], lw=2, label="g'(x)  surrogate gradient (backward)")
    ax.set_xlabel("x  (distance above the threshold)")
    ax.set_ylabel("value")
    ax.set_title(f"{surrogate!r}: peak g'(0) = {surrogate.peak:.2f}")
    if legend:
        ax.legend(**LEGEND_OUT)
    return ax


def _k_colours(count: int) -> list:
    return [plt.get_cmap("viridis")(v) for v in np.linspace(0.05, 0.8, max(count, 1))]


def plot_effective_surrogate(
    surrogate: Surrogate,
    ks: Sequence[float] | float = (0.5, 1.0, 2.0),
    *,
    v_threshold: float = 1.0,
    ax: Axes | None = None,
    annotate: bool = True,
) -> Axes:
    """KLIF's dS/dH = k*g'(k*H - V_th) (zero where k*H <= 0) against H, one curve per k.

    With ``annotate``: a dotted line at each centre V_th/k, an arrow across each full width at
    half maximum, and the legend gives peak slope, width and centre from ``effective_surrogate``.
    """
    where = "plot_effective_surrogate"
    if not isinstance(surrogate, Surrogate):
        raise TypeError(f"{where} expects a klif_edu.surrogate.Surrogate such as Sigmoid(4.0), "
                        f"got {type(surrogate).__name__}")
    ks = [ks] if isinstance(ks, (int, float, torch.Tensor)) else list(ks)
    if not ks:
        raise ValueError(f"{where}: ks must hold at least one k, e.g. ks=(0.5, 1.0, 2.0)")
    ks = [_as_float(k, "each k", where) for k in ks]
    if min(ks) <= 0:
        raise ValueError(f"{where}: every k must be > 0 (the gate F = ReLU(k·H) needs k > 0), got {ks}")
    v_threshold = _as_float(v_threshold, "v_threshold", where)
    right = max(float(effective_surrogate(surrogate, k, v_threshold).h[-1]) for k in ks)
    h = torch.linspace(-0.12 * right, right, 1201, dtype=torch.float64)  # a little of the closed gate
    ax = _new_axes(ax, (10, 4.2))
    ax.axvspan(float(h[0]), 0.0, color="0.92", label="gate closed (k·H ≤ 0)")
    half = surrogate.width / 2.0
    for k, colour in zip(ks, _k_colours(len(ks))):
        eff = effective_surrogate(surrogate, k, v_threshold, h=h)
        label = f"k = {k:g}"
        if annotate:
            label += f": peak {eff.peak_slope:.2f}, width {eff.width:.2f}, centre {eff.center:.2f}"
        ax.plot(eff.h.numpy(), eff.dsdh.numpy(), color=colour, lw=2, label=label)
        if annotate:
            ax.axvline(eff.center, color=colour, ls=":", lw=1.2)
            edge = eff.center + half / k  # right end of the half-maximum band
            ax.annotate("", xy=(edge - eff.width, eff.peak_slope / 2), xytext=(edge, eff.peak_slope / 2),
                        arrowprops={"arrowstyle": "<->", "color": colour, "lw": 1.2})
    ax.set_xlim(float(h[0]), float(h[-1]))
    ax.set_xlabel("H (membrane potential before the gate)")
    ax.set_ylabel("dS/dH")
    ax.set_title(f"effective surrogate of KLIF, {surrogate!r}, V_th = {v_threshold:g}\n"
                 "larger k: steeper, narrower, centred lower at V_th/k")
    key = "dotted: centre V_th/k\n↔: width (full width at half the peak)" if annotate else None
    ax.legend(title=key, title_fontsize="small", alignment="left", **LEGEND_OUT)
    return ax
