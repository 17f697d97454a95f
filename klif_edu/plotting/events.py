"""Raw event data (x, y, t, p): space-time scatter, polarity image, event rate, frame strip.

    plot_events_3d(sample.events, sample.sensor_size)     # every event as a dot in (x, t, y)
    plot_polarity(sample.events, sample.sensor_size)      # ON minus OFF counts per pixel
    plot_event_rate(sample.events)                         # events per ms over time, ON and OFF
    plot_frame_strip(frames)                               # frames [T, 2, H, W] side by side

ON events (p = 1, brighter) are red, OFF events (p = 0, darker) blue, in every figure.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import LEGEND_OUT, _new_axes

__all__ = ["ON_OFF", "plot_events_3d", "plot_polarity", "plot_event_rate", "plot_frame_strip"]

ON_OFF = {1: "tab:red", 0: "tab:blue"}


def _check_events(events: object, where: str) -> np.ndarray:
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    if not isinstance(events, np.ndarray) or not {"x", "y", "t", "p"} <= set(names):
        raise TypeError(f"{where} expects a structured numpy array with fields x, y, t, p "
                        "(what load_events(...).events gives)")
    if len(events) == 0:
        raise ValueError(f"{where}: there are no events to plot")
    return events


def _sensor(sensor_size: Sequence[int], where: str) -> tuple[int, int]:
    if len(sensor_size) < 2 or min(sensor_size[:2]) < 1:
        raise ValueError(f"{where}: sensor_size must be (W, H[, P]) with W, H >= 1, got {sensor_size}")
    return int(sensor_size[0]), int(sensor_size[1])


def plot_events_3d(events: np.ndarray, sensor_size: Sequence[int], *, ax: Axes | None = None,
                   max_events: int = 6000, title: str | None = None) -> Axes:
    """Each event a dot at (x, t in ms, y): ON red, OFF blue; at most ``max_events`` (evenly thinned)."""
    where = "plot_events_3d"
    events = _check_events(events, where)
    width, height = _sensor(sensor_size, where)
    if ax is None:
        ax = plt.figure(figsize=(7, 5), layout="constrained").add_subplot(projection="3d")
    elif getattr(ax, "name", "") != "3d":
        raise TypeError(f"{where}: ax must be a 3D Axes (fig.add_subplot(projection='3d')) or None")
    shown = events[:: max(1, int(np.ceil(len(events) / max_events)))]
    for p, colour in ON_OFF.items():
        sel = shown[shown["p"] == p]
        ax.scatter(sel["x"], sel["t"] / 1000.0, sel["y"], s=2, color=colour, alpha=0.6, depthshade=False,
                   label=f"{'ON' if p else 'OFF'} ({int((events['p'] == p).sum())})")
    ax.set(xlabel="x", ylabel="t (ms)", zlabel="y", xlim=(0, width), zlim=(height, 0))
    ax.set_title(title or f"{len(events)} events in space-time" + (f" ({len(shown)} shown)" if len(shown) < len(events) else ""))
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_polarity(events: np.ndarray, sensor_size: Sequence[int], *, ax: Axes | None = None,
                  title: str | None = None) -> Axes:
    """Per pixel, ON events in red and OFF events in blue over the whole sample (both: dark purple).

    Returns the Axes; the image's RGB data is ``ax.images[0].get_array()``.
    """
    where = "plot_polarity"
    events = _check_events(events, where)
    width, height = _sensor(sensor_size, where)
    on = np.zeros((height, width))
    off = np.zeros((height, width))
    np.add.at(on, (events["y"][events["p"] == 1], events["x"][events["p"] == 1]), 1)
    np.add.at(off, (events["y"][events["p"] == 0], events["x"][events["p"] == 0]), 1)
    top = max(1.0, float(max(on.max(), off.max())))
    rgb = np.ones((height, width, 3))
    rgb -= 0.9 * (on / top)[..., None] * np.array([0.0, 1.0, 1.0])  # ON removes green and blue: red
    rgb -= 0.9 * (off / top)[..., None] * np.array([1.0, 1.0, 0.0])  # OFF removes red and green: blue
    ax = _new_axes(ax, (4, 4))
    ax.imshow(np.clip(rgb, 0.0, 1.0))
    ax.set_title(title or f"where: {int(on.sum())} ON (red), {int(off.sum())} OFF (blue)")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_event_rate(events: np.ndarray, *, ax: Axes | None = None, bin_ms: float = 5.0,
                    label: str = "", title: str | None = None) -> Axes:
    """Events per millisecond over time, ON and OFF separately, in bins of ``bin_ms``."""
    where = "plot_event_rate"
    events = _check_events(events, where)
    if not bin_ms > 0:
        raise ValueError(f"{where}: bin_ms must be > 0, got {bin_ms}")
    t_ms = events["t"] / 1000.0
    edges = np.arange(float(t_ms.min()), float(t_ms.max()) + bin_ms, bin_ms)
    if len(edges) < 2:
        edges = np.array([float(t_ms.min()), float(t_ms.min()) + bin_ms])
    ax = _new_axes(ax, (7, 3))
    for p, colour in ON_OFF.items():
        counts, _ = np.histogram(t_ms[events["p"] == p], edges)
        ax.step(edges[:-1], counts / bin_ms, where="post", color=colour,
                label=f"{label}{' ' if label else ''}{'ON' if p else 'OFF'}")
    ax.set(xlabel="t (ms)", ylabel="events per ms", title=title or f"event rate ({bin_ms:g} ms bins)")
    ax.legend(**LEGEND_OUT)
    return ax


def plot_frame_strip(frames: np.ndarray, *, fig: Figure | None = None, title: str | None = None) -> Figure:
    """Frames [T, 2, H, W] (event counts, OFF then ON channel) side by side: ON - OFF per frame."""
    where = "plot_frame_strip"
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1] != 2:
        raise ValueError(f"{where} expects frames of shape [T, 2, H, W] (events_to_frames), got {frames.shape}")
    T = frames.shape[0]
    if fig is None:
        fig = plt.figure(figsize=(min(1.5 * T, 16), 2.2), layout="constrained")
    diff = frames[:, 1].astype(np.float64) - frames[:, 0]
    lim = max(1.0, float(np.abs(diff).max()))
    axes = fig.subplots(1, T, squeeze=False)[0]
    for t, ax in enumerate(axes):
        ax.imshow(diff[t], cmap="bwr", vmin=-lim, vmax=lim)
        ax.set_title(f"t={t}: {int(frames[t].sum())}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or f"T = {T} frames (title: events in the frame; red ON, blue OFF)", fontsize="medium")
    return fig
