"""One entry point for every dataset, and a table of what is on disk.

    ds = load_dataset("fashion-mnist", "train", limit=1000)   # static: (x [C,H,W], y)
    ds = load_dataset("nmnist", "test")                        # events: (x [T,C,H,W], y)
    dataset_status()                                           # present or missing, size, how to get
"""
from __future__ import annotations

import os
import pathlib

import torch
from torch.utils.data import Dataset, Subset

from ..places import frame_cache_dir
from .embedded import EVENTS_FILE, IMAGES_FILE, EmbeddedEvents, embedded_file, load_embedded_images
from .events import DVS_SPLITS, EVENT_LAYOUT, events_how_to_get, events_present, tonic_source
from .frames import BINNINGS, FrameDataset
from .registry import DATASETS, DatasetMissing, data_root, get_spec
from .static import load_static, static_folder, static_how_to_get, static_present, system_copy

__all__ = ["load_dataset", "dataset_status", "present_in", "LimitedDataset", "SPLITS"]

SPLITS = ("train", "test")


class LimitedDataset(Subset):
    """`limit` items of a dataset chosen by a seeded permutation; keeps spec, time_steps, targets."""

    def __init__(self, dataset: Dataset, limit: int, seed: int) -> None:
        perm = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
        super().__init__(dataset, sorted(perm[:limit].tolist()))
        self.spec = dataset.spec
        self.time_steps = dataset.time_steps
        self.input_shape = dataset.input_shape
        self.targets = dataset.targets[torch.as_tensor(self.indices, dtype=torch.long)]


def _positive_int(name: str, value, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int{' or None' if allow_none else ''}, got {value!r}")


def load_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None,
                 time_steps: int | None = None, download: bool = True, limit: int | None = None,
                 seed: int = 0, *, binning: str = "number", downscale: int = 1,
                 dvs_split: str = "spikingjelly") -> Dataset:
    """A dataset by name: static items (float32 [C,H,W], int), events items (float32 [T,C,H,W], int).

    Static images come normalised and the model repeats them over T (direct encoding);
    `time_steps` then only sets `ds.time_steps`. Event datasets give T frames of event
    counts, split by equal event numbers (`binning="number"`, the PLIF paper's) or equal
    durations (`"time"`), optionally with x and y divided by `downscale`. `limit` keeps that
    many items chosen by a permutation seeded with `seed`. `dvs_split` picks CIFAR10-DVS's 9:1
    split ("spikingjelly": first 90 % of each class in file order; "random": seeded; see
    ``klif_edu.data.events``). Missing files raise DatasetMissing.
    """
    spec = get_spec(name)
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    _positive_int("time_steps", time_steps)
    _positive_int("limit", limit)
    _positive_int("downscale", downscale, allow_none=False)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
    if dvs_split not in DVS_SPLITS:
        raise ValueError(f"dvs_split must be one of {DVS_SPLITS}, got {dvs_split!r}")
    if downscale != 1 and spec.kind != "events":
        raise ValueError(f"downscale only applies to event datasets, not {spec.name!r}")
    T = spec.time_steps if time_steps is None else time_steps
    root = data_root(data_dir)

    if spec.name == "embedded-fashion-mnist":
        dataset = load_embedded_images(split, data_dir)
    elif spec.kind == "static":
        dataset = load_static(spec.name, split, root, download)
    else:
        source = (EmbeddedEvents(split, data_dir) if spec.name == "embedded-events"
                  else tonic_source(spec.name, split, root, download, dvs_split))
        cache = frame_cache_dir(root)  # root/cache, or the user cache when root is a read-only share
        shared = root / "cache" / spec.name / split if cache != root / "cache" else None
        dataset = FrameDataset(source, spec, T, cache / spec.name / split, binning, downscale, shared_cache=shared)
    dataset.time_steps = T
    if limit is not None and limit < len(dataset):
        return LimitedDataset(dataset, limit, seed)
    return dataset


def _size_bytes(path: pathlib.Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(folder, f))
            except OSError:
                pass
    return total


def present_in(name: str, root: pathlib.Path) -> bool:
    """True when both splits of ``name`` are in the folder ``root`` itself (no system copy counts)."""
    spec = get_spec(name)
    if spec.kind == "static":
        return static_present(spec.name, root, system=False)
    return spec.name in EVENT_LAYOUT and all(events_present(spec.name, root, s) for s in SPLITS)


def dataset_status(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One dict per dataset: name, kind, present (both splits), path, size_bytes, how_to_get."""
    root = data_root(data_dir)
    rows = []
    for spec in DATASETS.values():
        if spec.name.startswith("embedded-"):
            filename = IMAGES_FILE if spec.name == "embedded-fashion-mnist" else EVENTS_FILE
            try:
                path, present = embedded_file(filename, data_dir), True
            except DatasetMissing:
                path, present = root / "embedded" / filename, False
            how = ("ships with the repository (data/embedded); rebuild with "
                   "`python scripts/build_embedded_data.py`")
        elif spec.kind == "static":
            path = static_folder(spec.name, root)
            present = static_present(spec.name, root)
            how = static_how_to_get(spec.name, root)
            system = system_copy(spec.name)
            if present and not static_present(spec.name, root, system=False) and system is not None:
                path = system  # a system copy, not this data folder: say where the data really is
                how = (f"a system copy (Debian's dataset-fashion-mnist) in {system}, read from there; `klif-edu fetch {spec.name} --data-dir "
                       f"{root}` copies it into {root} for others pointed at that folder")
        else:
            path = root / EVENT_LAYOUT[spec.name][0]
            present = all(events_present(spec.name, root, s) for s in SPLITS)
            how = events_how_to_get(spec.name, root)
        rows.append({"name": spec.name, "kind": spec.kind, "present": bool(present), "path": str(path),
                     "size_bytes": _size_bytes(path) if path.exists() else 0, "how_to_get": how})
    return rows
