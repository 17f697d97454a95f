"""KLIF beside PLIF and the variants that split k's two effects: leak, surrogate, learned leak per layer."""
from __future__ import annotations

from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ._common import PALETTE

__all__ = ["peer_neurons", "plot_peer_neurons", "plot_learned_leaks"]

COLOURS = {"lif": PALETTE["LIF"], "klif": PALETTE["KLIF"], "plif": "tab:pink", "k-fire": "tab:red",
           "k-leak": "tab:cyan", "k-only": "tab:orange", "gate-only": "tab:olive"}


def peer_neurons(k: float = 1.5, plif_tau: float = 4.0, tau: float = 2.0) -> dict[str, nn.Module]:
    """LIF, PLIF (at ``plif_tau``, as if learned), KLIF, k-fire and k-leak (at ``k``), all float64.

    The defaults give PLIF KLIF's leak: 1 - 1/4 = 1.5 (1 - 1/2) = 0.75.
    """
    from ..neurons import KLIF, LIF, PLIF

    plif = PLIF(tau=plif_tau).double()
    return {"lif": LIF(tau=tau).double(), "plif": plif,
            "klif": KLIF(tau=tau, k_init=k).double(),
            "k-fire": KLIF(tau=tau, k_init=k, k_acts_on="fire").double(),
            "k-leak": KLIF(tau=tau, k_init=k, k_acts_on="leak").double()}


def _ds_dh(neuron: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """dS/dH at membrane values H, from the neuron itself: one step from rest with X chosen to give H."""
    from ..neurons import PLIF

    r = float(neuron.reciprocal_tau().detach()) if isinstance(neuron, PLIF) else 1.0 / neuron.tau
    x = (h / r).clone().requires_grad_(True)  # from rest (V = 0), decay_input: H = X * (1/tau)
    s, _ = neuron.step(x)
    (gx,) = torch.autograd.grad(s.sum(), x)
    return gx / r


def plot_peer_neurons(neurons: Mapping[str, nn.Module] | None = None, pulse: float = 0.8, steps: int = 8,
                      fig: Figure | None = None) -> Figure:
    """Left: the carried V after one input pulse (the leak). Right: dS/dH, the surrogate each neuron trains with."""
    neurons = neurons or peer_neurons()
    fig = fig or plt.figure(figsize=(11, 3.8), layout="constrained")
    ax_v, ax_g = fig.subplots(1, 2)
    x = torch.zeros(steps, 1, dtype=torch.float64)
    x[0] = pulse
    h = torch.linspace(-0.5, 2.0, 301, dtype=torch.float64)
    for i, (name, n) in enumerate(neurons.items()):
        with torch.no_grad():
            v = n.trace(x).v[:, 0].numpy()
        dashed = name in ("k-fire", "k-leak")
        style = dict(color=COLOURS.get(name, f"C{i}"), lw=1.8 if dashed else 3.2, ls="--" if dashed else "-")
        ax_v.semilogy(range(steps), np.clip(v, 1e-6, None), marker="o", ms=3, label=name, **style)
        ax_g.plot(h.numpy(), _ds_dh(n, h).detach().numpy(), label=name, **style)
    ax_v.set_xlabel("time step t")
    ax_v.set_ylabel("carried V[t], log scale")
    ax_v.set_title(f"the leak: one pulse X = {pulse:g}, then nothing (parallel = same leak)", fontsize="medium")
    ax_v.legend(fontsize="small")
    ax_g.axvline(1.0, color=PALETTE["V_th"], lw=1, ls=":")
    ax_g.set_xlabel("membrane H")
    ax_g.set_ylabel("dS/dH (surrogate)")
    ax_g.set_title("the surrogate: where and how steeply each neuron learns", fontsize="medium")
    return fig


def plot_learned_leaks(leaks: Mapping[str, Mapping[str, float]], ax: plt.Axes | None = None) -> plt.Axes:
    """Grouped bars: the leak factor each variant learned, per layer (``peers.learned_leaks``)."""
    if not isinstance(leaks, Mapping) or not leaks:
        raise TypeError("plot_learned_leaks expects {variant: {layer: leak factor}}, e.g. peers.learned_leaks(summary)")
    ax = ax or plt.figure(figsize=(9, 3.6), layout="constrained").add_subplot()
    layers = list(next(iter(leaks.values())))
    width = 0.8 / len(leaks)
    for i, (variant, per_layer) in enumerate(leaks.items()):
        xs = np.arange(len(layers)) + (i - (len(leaks) - 1) / 2) * width
        ax.bar(xs, [per_layer.get(layer, np.nan) for layer in layers], width, label=variant,
               color=COLOURS.get(variant, f"C{i}"))
    ax.axhline(0.5, color="0.4", lw=1, ls="--")
    ax.set_xticks(range(len(layers)), layers)
    lows = [v for d in leaks.values() for v in d.values()]
    ax.set_ylim(min(0.45, min(lows) - 0.01), max(lows) + 0.02)
    ax.set_ylabel("leak factor a (V[t] = a V[t-1] + drive)")
    ax.set_title("learned leak per layer (dashed: 0.5, where all started: tau = 2, k = 1)", fontsize="medium")
    ax.legend(fontsize="small", ncol=len(leaks))
    return ax
