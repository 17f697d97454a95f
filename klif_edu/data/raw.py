"""Raw events (x, y, t, p) of one sample, for looking at event data before it becomes frames.

    sample = load_events("nmnist", "train", index=0)      # real if on disk, else SIMULATED
    sample.events["t"]          # microseconds; fields x, y, t, p (p = 1 ON, 0 OFF)
    sample.simulated, sample.note                         # say which one you got, and why
    cw = rotation_events(clockwise=True)                   # a SIMULATED dot circling the sensor

Nothing here downloads: a dataset that is not on disk falls back to the embedded SIMULATED
saccade events (Fashion-MNIST images moved like N-MNIST's camera), and ``note`` says so.
"""
from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

from .embedded import EmbeddedEvents
from .events import EVENT_LAYOUT, events_present, tonic_source
from .registry import DatasetMissing, data_root, get_spec
from .simulate import EVENT_DTYPE

__all__ = ["RawSample", "load_events", "rotation_events"]


class RawSample(NamedTuple):
    """One event sample: events (structured x, y, t[us], p), label, class name, sensor (W, H, P), provenance."""

    events: np.ndarray
    label: int
    class_name: str
    sensor_size: tuple[int, int, int]
    dataset: str
    simulated: bool
    note: str


def _pick(targets: list[int], index: int, label: int | None, where: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"{where}: index must be an int >= 0, got {index!r}")
    candidates = range(len(targets)) if label is None else [i for i, t in enumerate(targets) if t == label]
    if index >= len(candidates):
        what = "samples" if label is None else f"samples of label {label}"
        raise IndexError(f"{where}: index {index} out of range, there are {len(candidates)} {what}")
    return candidates[index]


def load_events(name: str, split: str = "train", index: int = 0, *, label: int | None = None,
                data_dir: str | os.PathLike | None = None) -> RawSample:
    """Sample ``index`` (of class ``label`` if given) of an event dataset, as raw events.

    ``name`` is an event dataset (nmnist, cifar10-dvs, dvs-gesture, embedded-events). If its files
    are not on disk the embedded SIMULATED events stand in (``simulated=True``; ``note`` says so);
    a ``label`` beyond the stand-in's 10 classes then wraps around.
    """
    where = "load_events"
    spec = get_spec(name)
    if spec.kind != "events":
        raise ValueError(f"{where}: {spec.name!r} is a static image dataset; choose one of "
                         f"{', '.join(n for n, s in _event_specs().items())}")
    if split not in ("train", "test"):
        raise ValueError(f"{where}: split must be 'train' or 'test', got {split!r}")
    root = data_root(data_dir)
    if spec.name in EVENT_LAYOUT and events_present(spec.name, root, split):
        source = tonic_source(spec.name, split, root, download=False)
        i = _pick(source.targets, index, label, where)
        events, y = source[i]
        return RawSample(events, int(y), spec.class_names[int(y)], tuple(source.sensor_size), spec.name,
                         False, f"{spec.name} ({split}) sample {i}: recorded events from {root}")
    stand_in = get_spec("embedded-events")
    source = EmbeddedEvents(split, data_dir)
    wanted = None if label is None else int(label) % stand_in.num_classes
    i = _pick(source.targets, index, wanted, where)
    events, y = source[i]
    if spec.name == "embedded-events":
        note = f"embedded-events ({split}) sample {i}: SIMULATED saccade events of a Fashion-MNIST image"
    else:
        note = (f"{spec.name} is not on disk, so these are SIMULATED events: a Fashion-MNIST image moved in "
                f"N-MNIST's three saccades on a 34x34 sensor (embedded-events, {split} sample {i}). "
                f"Real {spec.name} looks different; `klif-edu fetch {spec.name}` gets it.")
    return RawSample(events, int(y), stand_in.class_names[int(y)], tuple(source.sensor_size),
                     "embedded-events", True, note)


def _event_specs() -> dict:
    from .registry import DATASETS

    return {n: s for n, s in DATASETS.items() if s.kind == "events"}


def rotation_events(clockwise: bool = True, *, size: int = 34, radius: float = 10.0, dot: float = 3.0,
                    duration_ms: int = 400, turns: float = 1.0) -> np.ndarray:
    """SIMULATED events of a bright dot circling the sensor centre (a toy "arm rotation" gesture).

    Each millisecond the dot (radius ``dot`` pixels) moves along a circle; a pixel it starts to
    cover emits ON (p=1), one it leaves emits OFF (p=0). Clockwise and counter-clockwise runs
    cover the same pixels, so their time-summed images match: only the order tells them apart.
    """
    if size < 8 or not 0 < radius + dot < size / 2:
        raise ValueError(f"rotation_events: need size >= 8 and radius + dot < size / 2, got {size}, {radius}, {dot}")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms < 2:
        raise ValueError(f"rotation_events: duration_ms must be an int >= 2, got {duration_ms!r}")
    yy, xx = np.mgrid[0:size, 0:size]
    centre = (size - 1) / 2
    sign = -1.0 if clockwise else 1.0  # image y points down: clockwise on screen is decreasing angle
    covered = None
    chunks = []
    for step in range(duration_ms + 1):
        angle = math.pi / 2 + sign * 2 * math.pi * turns * step / duration_ms
        cx, cy = centre + radius * math.cos(angle), centre - radius * math.sin(angle)
        now = (xx - cx) ** 2 + (yy - cy) ** 2 <= dot**2
        if covered is not None:
            for mask, p in ((now & ~covered, 1), (covered & ~now, 0)):
                ys, xs = np.nonzero(mask)
                ev = np.empty(len(ys), dtype=EVENT_DTYPE)
                ev["x"], ev["y"], ev["t"], ev["p"] = xs, ys, step * 1000, p
                chunks.append(ev)
        covered = now
    events = np.concatenate(chunks)
    return events[np.argsort(events["t"], kind="stable")]
