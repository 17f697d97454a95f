"""What k does below threshold: the leak factor and the steady-state firing threshold against k."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from .. import dynamics as dyn
from ._common import LEGEND_OUT, PALETTE, _as_float, _new_axes

__all__ = ["plot_k_dynamics"]


def plot_k_dynamics(
    tau: float = 2.0,
    v_threshold: float = 1.0,
    *,
    k_max: float = 3.0,
    mark: Sequence[float] | float = (),
    axes: Sequence[Axes] | None = None,
) -> tuple[Axes, Axes]:
    """Left: leak factor k(1 - 1/tau) against k. Right: smallest constant input that fires.

    The right panel sets the steady-state bound V_th (tau - k(tau - 1)) / k (hard reset,
    decay_input=True; a constant X fires iff X lies above it while k(1 - 1/tau) < 1, and any X > 0
    fires where k(1 - 1/tau) >= 1) beside the one-step "effective threshold" V_th / k, which is what
    scale_reset=True gives. ``mark`` draws a dot at each given k on both curves.
    """
    where = "plot_k_dynamics"
    tau = _as_float(tau, "tau", where)
    v_threshold = _as_float(v_threshold, "v_threshold", where)
    k_max = _as_float(k_max, "k_max", where)
    if tau <= 1 or v_threshold <= 0 or k_max <= 0:
        raise ValueError(f"{where}: need tau > 1, v_threshold > 0 and k_max > 0, got "
                         f"tau={tau}, v_threshold={v_threshold}, k_max={k_max}")
    marks = [mark] if isinstance(mark, (int, float)) else list(mark)
    marks = [_as_float(k, "each marked k", where) for k in marks]
    if any(k <= 0 for k in marks):
        raise ValueError(f"{where}: every marked k must be > 0, got {marks}")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    if len(axes) != 2:
        raise ValueError(f"{where}: axes must be two Axes (leak, threshold), got {len(axes)}")
    ax_leak, ax_thr = (_new_axes(a, (5, 3.6)) for a in axes)
    ks = np.linspace(0.05, k_max, 400)
    k_flat = tau / (tau - 1.0)  # where the leak vanishes
    leak = [dyn.leak_factor(k, tau) for k in ks]
    thr = [dyn.steady_state_threshold(k, tau, v_threshold) for k in ks]
    naive = [dyn.steady_state_threshold(k, tau, v_threshold, scale_reset=True) for k in ks]

    ax_leak.plot(ks, leak, color=PALETTE["KLIF"], lw=2, label="KLIF: k(1 - 1/tau)")
    ax_leak.axhline(1 - 1 / tau, color=PALETTE["LIF"], ls="--", lw=1.2, label="LIF (and scale_reset)")
    ax_leak.axhline(1.0, color="0.4", ls=":", lw=1)
    ax_leak.axvspan(k_flat, k_max, color="0.92", label=f"k > {k_flat:.3g}: grows until it fires")
    ax_leak.set(xlabel="k", ylabel="leak factor a", xlim=(0, k_max),
                title=f"leak factor a in V[t] = a·V[t-1] + drive\n(tau = {tau:g}; a = 1 at k = {k_flat:.3g})")
    ax_thr.plot(ks, thr, color=PALETTE["KLIF"], lw=2,
                label="fires iff X > V_th(tau - k(tau-1))/k  (a < 1)\nany X > 0 fires  (a ≥ 1)")
    ax_thr.plot(ks, naive, color=PALETTE["V_th"], ls="--", lw=1.2, label="naive: LIF with threshold V_th/k (exact with scale_reset)")
    ax_thr.axvspan(k_flat, k_max, color="0.92")
    ax_thr.set(xlabel="k", ylabel="constant input X", xlim=(0, k_max), ylim=(0, 2.2 * v_threshold),
               title="a constant input X fires sooner or later\nwhen it lies above the curve")
    for k in marks:
        ax_leak.plot([k], [dyn.leak_factor(k, tau)], "o", color="black", ms=5)
        ax_thr.plot([k], [dyn.steady_state_threshold(k, tau, v_threshold)], "o", color="black", ms=5)
        ax_thr.annotate(f"k = {k:g}", (k, dyn.steady_state_threshold(k, tau, v_threshold)),
                        textcoords="offset points", xytext=(6, 6), fontsize="small")
    ax_leak.legend(fontsize="small", loc="upper left")
    ax_thr.legend(**LEGEND_OUT)
    return ax_leak, ax_thr
