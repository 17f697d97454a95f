"""Figures of the training notebooks: the data, the learning curves, firing rates per layer.

    show_samples("fashion-mnist")              # a grid of images with their class names
    show_samples("embedded-events")            # event frames as a strip per sample (ON - OFF)
    plot_learning_curves(comparison.histories())
    plot_layer_rates({"klif": firing_rates(tr_klif), "lif": firing_rates(tr_lif)})

Like ``klif_edu.plotting``: each helper takes data and an optional ``ax``/``fig`` and returns
the Axes/Figure; none calls ``plt.show()``.
"""
from __future__ import annotations

import os
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .plotting import PALETTE

__all__ = ["show_samples", "show_channels", "plot_learning_curves", "plot_layer_rates", "neuron_colour"]


def neuron_colour(neuron: str) -> Any:
    """The house colour of "klif" or "lif" (``plotting.PALETTE``)."""
    return PALETTE.get(neuron.upper(), None)


def _take(dataset: Any, n: int) -> tuple[torch.Tensor, list[int]]:
    xs, ys = [], []
    for i in range(min(n, len(dataset))):
        x, y = dataset[i]
        xs.append(torch.as_tensor(x))
        ys.append(int(y))
    if not xs:
        raise ValueError("show_samples: the dataset is empty")
    return torch.stack(xs), ys


def show_samples(dataset: str, n: int = 8, split: str = "test", frames: int = 6, seed: int = 0,
                 data_dir: str | os.PathLike | None = None, fig: Figure | None = None) -> Figure:
    """A first look at ``dataset``: ``n`` images in a grid, or for event data ``min(n, 4)`` samples
    as strips of ``frames`` frames (red: ON events, blue: OFF events)."""
    from .data import get_spec, load_dataset

    spec = get_spec(dataset)
    ds = load_dataset(spec.name, split, data_dir=data_dir, limit=64, seed=seed, download=False)
    names = spec.class_names
    if spec.kind == "static":
        x, y = _take(ds, n)
        cols = min(n, 8)
        rows = int(np.ceil(len(y) / cols))
        fig = fig or plt.figure(figsize=(1.4 * cols, 1.6 * rows + 0.4), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, img, label in zip(axes, x, y):
            img = img.numpy()
            if img.shape[0] == 3:  # colour: rescale the normalised image into [0, 1] for display
                img = np.transpose(img, (1, 2, 0))
                img = (img - img.min()) / max(float(img.max() - img.min()), 1e-8)
                ax.imshow(img)
            else:
                ax.imshow(img[0], cmap="gray")
            ax.set_title(names[label], fontsize="small")
        for ax in axes:
            ax.set_axis_off()
        fig.suptitle(f"{spec.name}: {len(y)} {split} images (input {tuple(spec.input_shape)})\n{spec.description}",
                     fontsize="medium")
        return fig
    x, y = _take(ds, min(n, 4))  # [N, T, 2, H, W]
    t = x.shape[1]
    steps = np.unique(np.linspace(0, t - 1, min(frames, t)).round().astype(int))
    fig = fig or plt.figure(figsize=(1.5 * len(steps) + 0.6, 1.6 * len(y) + 0.5), layout="constrained")
    axes = fig.subplots(len(y), len(steps), squeeze=False)
    for row, (sample, label) in enumerate(zip(x, y)):
        diff = (sample[:, 1] - sample[:, 0]).numpy() if sample.shape[1] == 2 else sample[:, 0].numpy()
        lim = max(float(np.abs(diff).max()), 1e-8)
        for col, step in enumerate(steps):
            ax = axes[row, col]
            ax.imshow(diff[step], cmap="bwr", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"frame t={step}", fontsize="small")
        axes[row, 0].set_ylabel(names[label], fontsize="small")
    fig.suptitle(f"{spec.name}: {len(y)} {split} samples, {len(steps)} of T={t} frames "
                 f"(red: ON events, blue: OFF events)\n{spec.description}", fontsize="medium")
    return fig


def show_channels(dataset: str, index: int = 0, split: str = "test",
                  data_dir: str | os.PathLike | None = None, fig: Figure | None = None) -> Figure:
    """One image and each of its colour channels as the network receives it (normalised values)."""
    from .data import get_spec, load_dataset

    spec = get_spec(dataset)
    if spec.kind != "static":
        raise ValueError(f"show_channels: {spec.name} is event data, not images")
    ds = load_dataset(spec.name, split, data_dir=data_dir, limit=index + 1, seed=0, download=False)
    x, y = ds[index]
    x = torch.as_tensor(x)
    c = x.shape[0]
    fig = fig or plt.figure(figsize=(2.6 * (c + 1), 2.9), layout="constrained")
    axes = fig.subplots(1, c + 1, squeeze=False).ravel()
    shown = x.permute(1, 2, 0).numpy() if c == 3 else x[0].numpy()
    shown = (shown - shown.min()) / max(float(shown.max() - shown.min()), 1e-8)
    axes[0].imshow(shown, cmap=None if c == 3 else "gray")
    axes[0].set_title(f"{spec.class_names[int(y)]}", fontsize="small")
    names = ("red", "green", "blue") if c == 3 else ("grey",)
    lim = float(x.abs().max())
    for ax, channel, name in zip(axes[1:], x, names):
        im = ax.imshow(channel.numpy(), cmap="coolwarm", vmin=-lim, vmax=lim)
        ax.set_title(f"channel {name}", fontsize="small")
    fig.colorbar(im, ax=list(axes[1:]), shrink=0.8, label="normalised value")
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(f"{spec.name}: one {split} image and its {c} input channel(s), {tuple(x.shape[1:])} pixels",
                 fontsize="medium")
    return fig


def plot_learning_curves(histories: dict[str, dict[str, Any]], fig: Figure | None = None) -> Figure:
    """Test accuracy per epoch (epoch 0 = untrained) and training loss per logged step, per neuron."""
    if not histories:
        raise ValueError("plot_learning_curves: no histories given")
    fig = fig or plt.figure(figsize=(11, 3.6), layout="constrained")
    acc_ax, loss_ax = fig.subplots(1, 2)
    for neuron, history in histories.items():
        colour = neuron_colour(neuron)
        rows = [r for r in history["epochs"] if r.get("test_accuracy") is not None]
        acc_ax.plot([r["epoch"] for r in rows], [100 * r["test_accuracy"] for r in rows], marker="o", ms=4,
                    color=colour, label=neuron.upper())
        steps = history.get("steps") or []
        if steps:
            loss_ax.plot([s["step"] for s in steps], [s["loss"] for s in steps], marker=".", color=colour,
                         label=neuron.upper())
    first = next(iter(histories.values()))
    acc_ax.set(xlabel="epoch (0 = before training)", ylabel="test accuracy (%)",
               title=f"test accuracy, {first.get('dataset', '')}")
    acc_ax.xaxis.get_major_locator().set_params(integer=True)
    loss_ax.set(xlabel="optimisation step", ylabel="training loss", title="training loss (mean since last point)")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_layer_rates(rates: dict[str, dict[str, float]], ax: Axes | None = None) -> Axes:
    """Grouped bars: firing rate (spikes per neuron per step) of every layer, one bar per neuron type."""
    if not rates:
        raise ValueError("plot_layer_rates: no rates given")
    layers: list[str] = []
    for per_layer in rates.values():
        layers += [name for name in per_layer if name not in layers]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    width = 0.8 / len(rates)
    xs = np.arange(len(layers))
    for i, (neuron, per_layer) in enumerate(rates.items()):
        values = [per_layer.get(name, np.nan) for name in layers]
        bars = ax.bar(xs + (i - (len(rates) - 1) / 2) * width, values, width, color=neuron_colour(neuron),
                      label=neuron.upper())
        ax.bar_label(bars, fmt="%.2f", fontsize="x-small", padding=1)
    ax.set_xticks(xs, layers)
    ax.set(xlabel="layer", ylabel="spikes per neuron per step", title="firing rate per layer (test images)")
    ax.margins(y=0.15)
    ax.legend()
    return ax
