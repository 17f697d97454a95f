"""Neurons over time: one trace, LIF next to KLIF, and what the ReLU gate does to H."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..neurons import Trace
from ..surrogate import effective_derivative
from ._common import LEGEND_OUT, PALETTE, _as_float, _check_trace, _column, _input_column, _new_axes

__all__ = ["plot_trace", "compare_traces", "plot_gate_histogram"]


def _dsdh(neuron: torch.nn.Module, h: torch.Tensor) -> torch.Tensor:
    """dS/dH along a trace: k*g'(k*H - V_th) gated for KLIF, g'(H - V_th) for LIF."""
    with torch.no_grad():
        h = h.detach()
        if hasattr(neuron, "k"):
            return effective_derivative(neuron.surrogate, h, float(neuron.k.detach()), neuron.v_threshold)
        return neuron.surrogate.derivative(h - neuron.v_threshold)


def plot_trace(
    trace: Trace,
    x_seq: torch.Tensor | None = None,
    *,
    v_threshold: float = 1.0,
    index: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    show_f: bool = True,
    input_ax: Axes | None = None,
    legend: bool = True,
) -> Axes:
    """H, F, V of one neuron over time, the threshold V_th and its spikes; returns the membrane Axes.

    ``index`` picks a neuron from the N... dims flattened. F is drawn when ``show_f`` and it
    differs from H (a KLIF trace; for LIF F = H). Spikes are stars at (t, F[t]), the value
    that crossed V_th. With ``x_seq`` and no ``ax`` a second panel underneath shows the input
    X[t]; with your own ``ax``, pass ``input_ax`` to get that panel.
    """
    where = "plot_trace"
    trace = _check_trace(trace, where)
    v_threshold = _as_float(v_threshold, "v_threshold", where)
    h, f, s, v = (_column(x, index, where) for x in trace)
    t = np.arange(len(h))
    x = None if x_seq is None else _input_column(x_seq, len(h), index, where)
    if ax is None and x is not None and input_ax is None:
        _, (ax, input_ax) = plt.subplots(
            2, 1, sharex=True, figsize=(8, 4.8), height_ratios=[3, 1], layout="constrained"
        )
    ax = _new_axes(ax, (8, 3.5))
    ax.plot(t, h, color=PALETTE["H"], marker=".", label="H[t]  charged")
    if show_f and not torch.equal(trace.f, trace.h):
        ax.plot(t, f, color=PALETTE["F"], marker=".", label="F[t] = ReLU(k·H[t])")
    ax.plot(t, v, color=PALETTE["V"], lw=1.2, alpha=0.8, label="V[t]  after reset")
    ax.axhline(v_threshold, color=PALETTE["V_th"], ls="--", lw=1.2, label="V_th")
    fired = s > 0
    ax.plot(t[fired], f[fired], ls="none", marker="*", ms=9, color=PALETTE["S"], mec="white", mew=0.5,
            zorder=3, label="spike  S[t] = 1")
    ax.margins(y=0.08)
    ax.set_ylabel("membrane potential")
    ax.set_title(title if title is not None else f"neuron {index}: {int(fired.sum())} spikes in {len(t)} steps")
    if legend:
        ax.legend(**LEGEND_OUT)
    if x is not None and input_ax is not None:
        input_ax.plot(t, x, color=PALETTE["input"], drawstyle="steps-mid", label="X[t]")
        input_ax.fill_between(t, x, step="mid", color=PALETTE["input"], alpha=0.25)
        input_ax.set_ylabel("input X[t]")
        input_ax.set_xlabel("t (steps)")
    else:
        ax.set_xlabel("t (steps)")
    return ax


def compare_traces(
    x_seq: torch.Tensor,
    lif: torch.nn.Module,
    klif: torch.nn.Module,
    *,
    index: int = 0,
    fig: Figure | None = None,
    traces: tuple[Trace, Trace] | None = None,
    show_grad: bool = False,
) -> Figure:
    """Two neurons side by side on the same input, input underneath; returns the Figure.

    Titles give each neuron's spike count (neuron ``index``) and k. ``fig``: clear and redraw
    into it (no new figure). ``traces``: already recorded (lif_trace, klif_trace), so the
    neurons are not run again. ``show_grad`` adds a row with the surrogate dS/dH at every step.
    """
    where = "compare_traces"
    for name, n in (("lif", lif), ("klif", klif)):
        if not (isinstance(n, torch.nn.Module) and hasattr(n, "trace") and hasattr(n, "v_threshold")):
            raise TypeError(f"{where}: {name} must be a klif_edu LIF or KLIF neuron, got {type(n).__name__}")
    if traces is None:
        with torch.no_grad():
            traces = (lif.trace(x_seq), klif.trace(x_seq))
    elif len(traces) != 2:
        raise ValueError(f"{where}: traces must be a pair (lif_trace, klif_trace), got {len(traces)} items")
    steps = _check_trace(traces[0], where).h.shape[0]
    _check_trace(traces[1], where)
    _input_column(x_seq, steps, index, where)
    if fig is None:
        fig = plt.figure(figsize=(11, 6.5 if show_grad else 5.2), layout="constrained")
    elif not isinstance(fig, Figure):
        raise TypeError(f"{where}: fig must be a matplotlib Figure or None, got {type(fig).__name__}")
    else:
        fig.clear()
        fig.set_layout_engine("constrained")
    ratios = [3, 1.4, 1] if show_grad else [3, 1]
    axes = fig.subplots(len(ratios), 2, sharex=True, sharey="row", height_ratios=ratios, squeeze=False)
    for col, (neuron, tr) in enumerate(zip((lif, klif), traces)):
        kind = type(neuron).__name__
        colour = PALETTE.get(kind, PALETTE["KLIF"])
        count = int(_column(tr.s, index, where).sum())
        k_text = f", k = {float(neuron.k.detach()):.2f}" if hasattr(neuron, "k") else ""
        ax = axes[0, col]
        plot_trace(tr, x_seq, v_threshold=neuron.v_threshold, index=index, ax=ax,
                   input_ax=axes[-1, col], legend=False, title=f"{kind}{k_text}: {count} spikes")
        ax.title.set_color(colour)
        if show_grad:
            g = _column(_dsdh(neuron, tr.h), index, where)
            gax = axes[1, col]
            gax.plot(np.arange(steps), g, color=colour, marker=".", label=f"{kind} dS/dH")
            gax.set_ylabel("dS/dH")
    for ax in axes[:, 1]:
        ax.set_ylabel("")  # rows share y: the left column names it
    handles = {}
    for ax in axes[0, ::-1]:  # the KLIF panel first: it has F too
        for hnd, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, hnd)
    fig.legend(handles.values(), handles.keys(), loc="outside right upper", frameon=False, fontsize="small")
    return fig


def plot_gate_histogram(
    trace: Trace, *, ax: Axes | None = None, bins: int = 50, v_threshold: float | None = None
) -> Axes:
    """Histogram of H (before the gate) and F = ReLU(k*H) (after), over all steps and neurons.

    The ReLU gate passes positive potential (scaled by k) and maps every H <= 0 to F = 0 (the
    grey band: gate closed); the F legend entry says what fraction of values that was.
    ``v_threshold`` marks V_th.
    """
    where = "plot_gate_histogram"
    trace = _check_trace(trace, where)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"{where}: bins must be a positive int, got {bins!r}")
    h = trace.h.detach().reshape(-1).cpu().double().numpy()
    f = trace.f.detach().reshape(-1).cpu().double().numpy()
    edges = np.histogram_bin_edges(np.concatenate([h, f]), bins=bins)
    ax = _new_axes(ax, (8.5, 3.8))
    nh, _, _ = ax.hist(h, bins=edges, color=PALETTE["H"], alpha=0.5, label="H  before the gate")
    zero = float((f == 0).mean())
    # Say which F this is: LIF has no gate (F = H), KLIF's k-only ablation none either (F = k*H).
    gate = "F = H  (no gate)" if np.array_equal(f, h) else "F = k·H  (no gate)" if (f < 0).any() else "F = ReLU(k·H)"
    nf, _, _ = ax.hist(f, bins=edges, color=PALETTE["F"], alpha=0.5, label=f"{gate}  after ({zero:.0%} exactly 0)")
    # The gate piles every H <= 0 onto F = 0; cut that bar so the rest stays readable.
    pile = int(np.searchsorted(edges, 0.0, side="right")) - 1
    rest = max(nh.max(), np.delete(nf, pile).max() if len(nf) > 1 else 0.0)
    if pile in range(len(nf)) and nf[pile] > 1.6 * rest > 0:
        ax.set_ylim(0, 1.35 * rest)
        ax.annotate(f"↑ bar cut: {int((f == 0).sum())} values F = 0 (every H ≤ 0)", xy=(0.0, 1.35 * rest),
                    xytext=(6, -14), textcoords="offset points", fontsize="small", color=PALETTE["F"],
                    bbox={"fc": "white", "ec": "none", "alpha": 0.9, "pad": 1}, zorder=5)
    if gate.startswith("F = ReLU"):  # grey where the gate is closed: every H there becomes F = 0
        ax.axvspan(min(float(edges[0]), 0.0), 0.0, color="0.85", alpha=0.6, zorder=0, label="gate closed (H ≤ 0)")
        ax.set_xlim(float(edges[0]), float(edges[-1]))
    ax.axvline(0.0, color="0.3", lw=1, label="0: gate closes below" if gate.startswith("F = ReLU") else "0")
    if v_threshold is not None:
        ax.axvline(_as_float(v_threshold, "v_threshold", where), color=PALETTE["V_th"], ls="--", label="V_th")
    ax.set_xlabel("membrane potential (all steps and neurons)")
    ax.set_ylabel("count")
    ax.set_title("the ReLU gate: H before, F after")
    ax.legend(**LEGEND_OUT)
    return ax
