"""Spike trains: rasters and firing rates."""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from ._common import LEGEND_OUT, PALETTE, _new_axes

__all__ = ["plot_raster", "plot_firing_rate"]


def _spikes_2d(spikes: object, sample: int, where: str) -> tuple[torch.Tensor, str]:
    """[T, N] as it is; [T, N, C, ...] -> sample ``sample`` with C... flattened to neurons."""
    if isinstance(spikes, np.ndarray):
        spikes = torch.from_numpy(spikes)
    if not isinstance(spikes, torch.Tensor):
        raise TypeError(f"{where} expects spikes as a torch.Tensor [T, N, ...], got {type(spikes).__name__}")
    if spikes.dim() < 2 or spikes.numel() == 0:
        raise ValueError(
            f"{where} expects spikes of shape [T, N] or [T, N, C, ...], got {tuple(spikes.shape)}; "
            "for one neuron use spikes.reshape(T, 1)"
        )
    s = spikes.detach().cpu().double()
    if not bool(((s == 0) | (s == 1)).all()):
        raise ValueError(f"{where} expects spikes (only 0 and 1); did you pass a membrane potential?")
    if s.dim() == 2:
        return s, ""
    if not -s.shape[1] <= sample < s.shape[1]:
        raise ValueError(f"{where}: sample {sample} out of range for a batch of {s.shape[1]}")
    dims = "x".join(str(d) for d in s.shape[2:])
    return s[:, sample].reshape(s.shape[0], -1), f"sample {sample}, {dims} flattened"


def plot_raster(
    spikes: torch.Tensor,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    max_neurons: int = 100,
    sample: int = 0,
) -> Axes:
    """Spike raster: a tick at (t, neuron) for every spike.

    [T, N]: the N columns are the neurons. [T, N, C, ...]: the batch sample ``sample`` is shown
    with its C... dims flattened into neurons. With more than ``max_neurons`` neurons an evenly
    spaced subset is drawn, each at its true index (the title says so). (snnTorch's
    ``spikeplot.raster`` is this same scatter but needs pandas, which klif-edu does not install.)
    """
    where = "plot_raster"
    s, how = _spikes_2d(spikes, sample, where)
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, int) or max_neurons < 1:
        raise ValueError(f"{where}: max_neurons must be a positive int, got {max_neurons!r}")
    steps, count = s.shape
    rows = np.unique(np.linspace(0, count - 1, min(count, max_neurons)).round().astype(int))
    t_idx, j = np.nonzero(s[:, rows].numpy())
    ax = _new_axes(ax, (8, 3.5))
    size = float(np.clip((250.0 / len(rows)) ** 2, 4.0, 120.0))
    ax.scatter(t_idx, rows[j], marker="|", s=size, color=PALETTE["S"], linewidths=1.2)
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(-0.5, count - 0.5)
    ax.set_xlabel("t (steps)")
    ax.set_ylabel("neuron")
    notes = [n for n in (how, f"{len(rows)} evenly spaced neurons shown" if len(rows) < count else "") if n]
    default = f"spike raster: {int(s.sum())} spikes from {count} neurons" + (f"\n({'; '.join(notes)})" if notes else "")
    ax.set_title(title if title is not None else default)
    return ax


def plot_firing_rate(
    spikes: torch.Tensor, *, ax: Axes | None = None, by: str = "neuron", sample: int = 0
) -> Axes:
    """Firing rate as bars: per neuron (mean over time) or per time step (mean over neurons).

    Shapes are reduced as in ``plot_raster``; a dashed line marks the overall mean.
    """
    where = "plot_firing_rate"
    if by not in ("neuron", "time"):
        raise ValueError(f"{where}: by must be 'neuron' or 'time', got {by!r}")
    s, how = _spikes_2d(spikes, sample, where)
    rate = s.mean(0) if by == "neuron" else s.mean(1)
    unit = "neuron" if by == "neuron" else "time step"
    ax = _new_axes(ax, (8, 3))
    ax.bar(np.arange(len(rate)), rate.numpy(), width=0.85, color=PALETTE["H"], label=f"rate per {unit}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    mean = float(s.mean())
    ax.axhline(mean, color=PALETTE["V_th"], ls="--", lw=1, label=f"mean {mean:.3f}")
    if by == "neuron":
        ax.set_xlabel("neuron")
        ax.set_ylabel("rate (spikes / step)")
    else:
        ax.set_xlabel("t (steps)")
        ax.set_ylabel("fraction of neurons firing")
    ax.set_ylim(0, max(1e-3, float(rate.max())) * 1.15)
    ax.set_title(f"firing rate per {unit}" + (f" ({how})" if how else ""))
    ax.legend(**LEGEND_OUT)
    return ax
