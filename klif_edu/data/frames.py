"""Events to T frames (tonic's ToFrame), cached on disk so a second epoch reads frames back.

    frames = events_to_frames(events, sensor_size=(34, 34, 2), time_steps=10)   # int16 [T, 2, 34, 34]
    ds = FrameDataset(source, spec, time_steps=10, cache_dir=root / "cache" / ...)
    x, y = ds[0]        # x: float32 [T, C, H, W] event counts per frame and polarity; y: int

`binning="number"` gives every frame the same number of events, N // T, and the last frame
also the remaining N mod T, exactly as SpikingJelly's ``split_by="number"`` with which the
published networks were trained (tonic's n_event_bins instead drops the remainder and gives
empty frames when N < T); `binning="time"` gives every frame the same duration, 1/T of the span
from the first event to the last, and keeps every event: the last ones (at the final timestamp) go
into the last frame (tonic's n_time_bins drops them, its windows end just before the last event).
`downscale=d` divides x and y by the integer d.
"""
from __future__ import annotations

import pathlib
import zipfile

import numpy as np
import torch
from torch.utils.data import Dataset

from ..files import atomic_open
from .registry import DatasetSpec

__all__ = ["BINNINGS", "events_to_frames", "FrameDataset", "atomic_save_npz"]

BINNINGS = ("number", "time")
# cache sub-folder per binning; "number2": the remainder goes to the last frame (older caches dropped it)
# "time2": every event kept (older caches dropped the events at the last timestamp)
_CACHE_NAMES = {"number": "number2", "time": "time2"}


def atomic_save_npz(path: pathlib.Path, **arrays: np.ndarray) -> None:
    """Write a compressed .npz so that readers see the old file or the whole new one, never half."""
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def events_to_frames(events: np.ndarray, sensor_size: tuple[int, int, int], time_steps: int,
                     binning: str = "number", downscale: int = 1) -> np.ndarray:
    """Structured events (x, y, t, p) -> int16 frames [T, P, H // d, W // d] of event counts."""
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
    W, H, P = sensor_size
    size = (W // downscale, H // downscale, P)
    if len(events) == 0:
        return np.zeros((time_steps, P, size[1], size[0]), dtype=np.int16)
    if downscale != 1:
        events = events.copy()
        events["x"] //= downscale
        events["y"] //= downscale
    if binning == "number":
        return _count(events, size, time_steps, _frame_by_number(len(events), time_steps))
    return _count(events, size, time_steps, _frame_by_time(events["t"], time_steps))


def _frame_by_number(n: int, time_steps: int) -> np.ndarray:
    """Frame j counts events [j*(N//T), (j+1)*(N//T)), the last frame up to N (SpikingJelly's split)."""
    step = n // time_steps
    return np.minimum(np.arange(n) // step, time_steps - 1) if step else np.full(n, time_steps - 1)


def _frame_by_time(t: np.ndarray, time_steps: int) -> np.ndarray:
    """Frame j holds t0 + j*D/T <= t < t0 + (j+1)*D/T (D = last - first time); t = last goes to frame T-1."""
    t = t.astype(np.int64)
    t0, span = int(t.min()), int(t.max() - t.min())
    if span == 0:
        return np.zeros(len(t), dtype=np.int64)
    return np.minimum((t - t0) * time_steps // span, time_steps - 1)  # integer arithmetic: no rounding at edges


def _count(events: np.ndarray, size: tuple[int, int, int], time_steps: int, frame: np.ndarray) -> np.ndarray:
    """Event counts per (frame, polarity, y, x) as int16 [T, P, H, W]."""
    W, H, P = size
    n = len(events)
    p = (events["p"] != 0).astype(np.int64) if P == 2 else np.zeros(n, dtype=np.int64)
    cell = ((frame * P + p) * H + events["y"].astype(np.int64)) * W + events["x"].astype(np.int64)
    counts = np.bincount(cell, minlength=time_steps * P * H * W)
    return counts.reshape(time_steps, P, H, W).astype(np.int16)


class FrameDataset(Dataset):
    """Frames of an event source; item i is (float32 [T, C, H, W], int label), cached as .npz."""

    def __init__(self, source, spec: DatasetSpec, time_steps: int, cache_dir: pathlib.Path | None,
                 binning: str = "number", downscale: int = 1, shared_cache: pathlib.Path | None = None) -> None:
        if binning not in BINNINGS:
            raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
        self.source = source
        self.spec = spec
        self.time_steps = time_steps
        self.binning = binning
        self.downscale = downscale
        self.sensor_size = tuple(source.sensor_size)
        self.targets = torch.as_tensor(list(source.targets), dtype=torch.long)
        W, H, P = self.sensor_size
        self.frame_shape = (time_steps, P, H // downscale, W // downscale)
        self.input_shape = self.frame_shape[1:]  # (C, H, W) of one frame, after any downscale
        self.cache_dir = (None if cache_dir is None else
                          pathlib.Path(cache_dir) / f"T{time_steps}_{_CACHE_NAMES[binning]}_d{downscale}")
        # a read-only cache also looked in (a class share's, built by the teacher); never written
        self.shared_cache = (None if shared_cache is None or cache_dir is None else
                             pathlib.Path(shared_cache) / self.cache_dir.name)
        self.cache_writes = 0  # how many frame files this object wrote (to see cache hits)

    def __len__(self) -> int:
        return len(self.source)

    def _cache_path(self, index: int) -> pathlib.Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / self._cache_name(index)

    def _cache_name(self, index: int) -> str:
        key = str(self.source.keys[index]).replace("/", "__").replace("\\", "__")
        return f"{key}.npz"

    def _read_cache(self, path: pathlib.Path | None) -> np.ndarray | None:
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path) as npz:
                frames = npz["frames"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None  # unreadable: rebuild it
        return frames if frames.shape == self.frame_shape else None

    def frames(self, index: int) -> np.ndarray:
        """int16 frames [T, C, H, W] of item `index`, from the cache or integrated now and cached."""
        path = self._cache_path(index)
        frames = self._read_cache(path)
        if frames is None and self.shared_cache is not None:
            frames = self._read_cache(self.shared_cache / self._cache_name(index))
            if frames is not None:
                return frames
        if frames is None:
            events, _ = self.source[index]
            frames = events_to_frames(events, self.sensor_size, self.time_steps,
                                      self.binning, self.downscale)
            if path is not None:
                try:
                    atomic_save_npz(path, frames=frames)
                    self.cache_writes += 1
                except OSError:
                    pass  # read-only data folder: work without a cache
        return frames

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        return torch.from_numpy(self.frames(index).astype(np.float32)), int(self.targets[index])
