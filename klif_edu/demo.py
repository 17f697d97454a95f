"""`klif-edu demo`: KLIF next to LIF, offline, in about two minutes on a laptop CPU.

    summary = run_demo()        # writes into runs/demo/
    summary["metrics"]["klif"]["test_accuracy"]

Writes, under ``out``:

* ``traces.png``: membrane traces of a LIF and a KLIF neuron fed the same input;
* ``effective_surrogate.png``: KLIF's dS/dH for k = 0.5, 1, 2;
* ``learning_curves.png``: test accuracy and training loss per epoch, KLIF and LIF;
* ``k_history.png``: k of every KLIF layer over training;
* ``learned_surrogate.png``: each layer's effective surrogate before and after training;
* ``summary.md``: accuracies, wall times and learned k, numbers from this run;
* ``klif/`` and ``lif/``: each run's metrics.json, history.json/.csv and checkpoint.

Both networks are the ``small`` network on ``embedded-fashion-mnist`` (2000 training and 500
test images shipped with the package), same seed, so same initial weights and data order.
They train in turns, one epoch each (``stop_after`` and ``resume``), so that both see the
same machine load and their wall times compare.
Quick mode (``quick=True`` or env ``KLIF_EDU_QUICK=1``) trains on a few hundred images for
two epochs: the same code path in seconds, for tests.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib

if not os.environ.get("MPLBACKEND") and not os.environ.get("DISPLAY") and os.name != "nt":
    matplotlib.use("Agg")  # a headless machine: draw to files only
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from . import plotting
from .environment import is_quick
from .neurons import KLIF, LIF
from .surrogate import Sigmoid
from .training import TrainConfig, TrainResult, train

__all__ = ["run_demo", "is_quick", "DATASET"]

DATASET = "embedded-fashion-mnist"
TRACE_K = 1.5  # the KLIF neuron of the trace figure: a k that differs visibly from LIF
FULL = {"epochs": 6, "batch_size": 32, "lr": 2e-3, "limit_train": None, "limit_test": None}
QUICK = {"epochs": 2, "batch_size": 16, "lr": 2e-3, "limit_train": 64, "limit_test": 64}


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def demo_input(steps: int = 40, seed: int = 0) -> torch.Tensor:
    """One neuron's input [T, 1]: a positive pulse, a pause, a negative dip, a noisy plateau."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(steps, dtype=torch.float32)
    x = 1.6 * ((t >= 3) & (t < 12)).float() - 1.2 * ((t >= 16) & (t < 22)).float()
    x = x + ((t >= 25).float() * (1.1 + 0.4 * torch.randn(steps, generator=g)))
    return x.unsqueeze(1)


def _trace_figure(out: Path) -> Path:
    lif, klif = LIF(), KLIF(k_init=TRACE_K)
    fig = plotting.compare_traces(demo_input(), lif, klif)
    fig.suptitle(f"same input, two neurons: LIF (left) and KLIF with k = {TRACE_K:g} (right); "
                 "KLIF fires on F = ReLU(k·H)", fontsize="medium")
    return _save(fig, out / "traces.png")


def _surrogate_figure(out: Path) -> Path:
    ax = plotting.plot_effective_surrogate(Sigmoid(4.0), ks=(0.5, 1.0, 2.0))
    return _save(ax.figure, out / "effective_surrogate.png")


def _learning_curves(results: dict[str, TrainResult], out: Path) -> Path:
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    colours = plotting.PALETTE
    for name, result in results.items():
        rows = result.history["epochs"]
        colour = colours.get(name.upper(), None)
        acc_ax.plot([r["epoch"] for r in rows], [100 * r["test_accuracy"] for r in rows], marker="o", ms=4,
                    color=colour, label=f"{name.upper()} (after epoch {rows[-1]['epoch']}: "
                                        f"{100 * rows[-1]['test_accuracy']:.1f} %)")
        trained = [r for r in rows if "train_loss" in r]
        loss_ax.plot([r["epoch"] for r in trained], [r["train_loss"] for r in trained],
                     marker="o", ms=4, color=colour, label=name.upper())
    acc_ax.set(xlabel="epoch (0 = before training: the untrained network is silent)", ylabel="test accuracy (%)",
               title=f"test accuracy, {DATASET}")
    loss_ax.set(xlabel="epoch", ylabel="training loss (MSE of firing rates)", title="training loss")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    acc_ax.xaxis.get_major_locator().set_params(integer=True)
    loss_ax.xaxis.get_major_locator().set_params(integer=True)
    return _save(fig, out / "learning_curves.png")


def _summary(results: dict[str, TrainResult], figures: list[Path], out: Path, quick: bool) -> Path:
    m = {name: r.metrics for name, r in results.items()}
    klif = m["klif"]
    lines = [
        "# klif-edu demo: KLIF vs LIF",
        "",
        f"Data: `{DATASET}` ({klif['train_size']} training / {klif['test_size']} test images), "
        f"`small` network, T = {klif['time_steps']}, {klif['epochs']} epochs, batch {klif['batch_size']}, "
        f"Adam lr {klif['lr']:g} (cosine), seed {klif['seed']}, device {klif['device']}"
        + (" — QUICK MODE: a short run for tests, the numbers mean little." if quick else "."),
        "",
        "| neuron | test accuracy | train accuracy | wall time |",
        "|---|---|---|---|",
    ]
    for name, x in m.items():
        lines.append(f"| {name.upper()} | {100 * x['test_accuracy']:.1f} % | {100 * x['train_accuracy']:.1f} % "
                     f"| {x['wall_time_s']:.1f} s |")
    lines += ["", "Wall time: training plus one test pass per epoch, on this machine, the two runs taking "
              "turns epoch by epoch (so both saw the same load).", "", "Learned k per KLIF layer (all start at 1.0), with the effective surrogate it gives:", "",
              "| layer | k | peak dS/dH | width (FWHM in H) |", "|---|---|---|---|"]
    for layer, k in klif["k"].items():
        slope, width = klif["slope"].get(layer), klif["width"].get(layer)
        lines.append(f"| {layer} | {k:.3f} | {slope:.3f} | {width:.3f} |" if slope is not None and width is not None
                     else f"| {layer} | {k:.3f} | - | - |")
    lines += ["", "A k above 1 makes that layer's surrogate steeper and narrower and lowers its effective "
              "threshold (V_th/k); below 1 the opposite. One run on a small data set: differences of a "
              "point or two in accuracy are within run-to-run noise.", "", "Figures:", ""]
    lines += [f"- `{p.name}`" for p in figures]
    path = out / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _progress_line(results: dict[str, TrainResult], epoch: int, epochs: int) -> str:
    parts = []
    for name, r in results.items():
        row = r.history["epochs"][-1]
        k = " ".join(f"{v:.3f}" for v in row["k"].values())
        parts.append(f"{name.upper()} test acc {100 * row['test_accuracy']:.1f} %, {row['wall_time']:.1f} s"
                     + (f", k {k}" if k else ""))
    return f"demo epoch {epoch}/{epochs}: " + " | ".join(parts)


def run_demo(out: str | os.PathLike = "runs/demo", quick: bool | None = None) -> dict[str, Any]:
    """Draw the neuron figures, train KLIF and LIF side by side, write figures and summary.md.

    Returns {"out", "figures" (paths), "summary" (path), "metrics" {"klif": ..., "lif": ...}}.
    """
    quick = is_quick() if quick is None else bool(quick)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = [_trace_figure(out), _surrogate_figure(out)]
    settings = QUICK if quick else FULL
    results: dict[str, TrainResult] = {}
    epochs = settings["epochs"]
    for epoch in range(1, epochs + 1):  # epoch by epoch, in turn: both runs see the same machine load
        for neuron in ("klif", "lif"):
            config = TrainConfig(dataset=DATASET, neuron=neuron, arch="small", out=str(out / neuron), seed=0,
                                 log_every=10, stop_after=epoch, resume=epoch > 1, overwrite=epoch == 1,
                                 progress=False, verbose=False, **settings)
            results[neuron] = train(config)
        print(_progress_line(results, epoch, epochs), file=sys.stderr, flush=True)
    figures.append(_learning_curves(results, out))
    figures.append(_save(plotting.plot_k_history(results["klif"].history).figure, out / "k_history.png"))
    figures.append(_save(plotting.plot_learned_surrogate(results["klif"].history), out / "learned_surrogate.png"))
    summary = _summary(results, figures, out, quick)
    return {"out": out, "figures": figures, "summary": summary,
            "metrics": {name: r.metrics for name, r in results.items()}}
