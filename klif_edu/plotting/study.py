"""The study figure: each variant's accuracy per seed, and the paired differences with their 95 % interval."""
from __future__ import annotations

from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ._common import PALETTE

_COLOURS = {"klif": PALETTE["KLIF"], "lif": PALETTE["LIF"], "k-only": "tab:orange", "gate-only": "tab:olive",
            "plif": "tab:pink", "k-fire": "tab:red", "k-leak": "tab:cyan"}


def _check_summary(summary: object) -> Mapping[str, Any]:
    if not isinstance(summary, Mapping) or "variants" not in summary or "comparisons" not in summary:
        raise TypeError("plot_study expects the summary dict of klif_edu.study.run_study "
                        "(or json.load of its study.json), with 'variants' and 'comparisons'")
    return summary


def plot_study(summary: Mapping[str, Any], fig: Figure | None = None) -> Figure:
    """Left: test accuracy per variant, one dot per seed (lines join a seed's runs), dash = mean.
    Right: per-seed paired differences a - b with the mean and its 95 % paired t-interval."""
    summary = _check_summary(summary)
    fig = fig or plt.figure(figsize=(11, max(4.2, 1.6 + 0.42 * len(summary["comparisons"]))), layout="constrained")
    ax_acc, ax_diff = fig.subplots(1, 2, width_ratios=(1, 1.25))
    variants = [v for v, d in summary["variants"].items() if d["test_accuracy"]]
    by_seed: dict[int, list[tuple[int, float]]] = {}
    for i, v in enumerate(variants):
        d = summary["variants"][v]
        acc = 100 * np.asarray(d["test_accuracy"])
        ax_acc.hlines(acc.mean(), i - 0.3, i + 0.3, color=_COLOURS.get(v, "0.3"), lw=2.5, zorder=4)
        ax_acc.scatter(np.full(len(acc), i), acc, color=_COLOURS.get(v, "0.3"), zorder=3, s=22)
        for seed, a in zip(d["seeds"], acc):
            by_seed.setdefault(seed, []).append((i, a))
    for points in by_seed.values():  # the pairing made visible: one grey line per seed
        xs, ys = zip(*points)
        ax_acc.plot(xs, ys, color="0.7", lw=0.8, zorder=2)
    if variants:
        accs = 100 * np.concatenate([summary["variants"][v]["test_accuracy"] for v in variants])
        pad = max(0.5, 0.15 * (accs.max() - accs.min()))
        ax_acc.set_ylim(accs.min() - pad, accs.max() + pad)
    ax_acc.set_xticks(range(len(variants)), variants)
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title("each dot is one run; grey lines join a seed's runs; dash = mean", fontsize="medium")

    comps = list(summary["comparisons"].items())
    for row, (name, c) in enumerate(comps):
        y = len(comps) - 1 - row
        d = 100 * np.asarray(c["differences"])
        ax_diff.scatter(d, np.full(len(d), y), color="0.45", s=18, zorder=3)
        if c["low"] is not None:
            ax_diff.plot([100 * c["low"], 100 * c["high"]], [y, y], color="black", lw=2.5, zorder=2)
        ax_diff.plot(100 * c["mean"], y, marker="D", color=_COLOURS.get(c["a"], "black"), ms=7, zorder=4)
    ax_diff.axvline(0.0, color=PALETTE["V_th"], lw=1, ls="--")
    ax_diff.set_yticks(range(len(comps)), [name for name, _ in comps][::-1])
    ax_diff.set_xlabel("paired difference in test accuracy (percentage points)")
    n = comps[0][1]["n"] if comps else 0
    ax_diff.set_title(f"dots: seeds; diamond: mean; bar: 95 % paired t-interval (n = {n})", fontsize="medium")
    settings = summary.get("settings", {})
    if settings:
        fig.suptitle(f"{settings.get('dataset')}, {settings.get('arch')} network, {settings.get('epochs')} epoch(s), "
                     f"{settings.get('train_size')} training images, {len(settings.get('seeds', []))} seeds",
                     fontsize="medium")
    return fig
