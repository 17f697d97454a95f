"""Neuromorphic datasets (N-MNIST, CIFAR10-DVS, DVS128-Gesture) read through tonic.

    source = tonic_source("nmnist", "train", root, download=False)
    source[i]           # (structured events x, y, t, p; int label), fed to frames.FrameDataset

Files live where tonic puts them: root/NMNIST/{Train,Test}/<digit>/*.bin,
root/CIFAR10DVS/<class>/*.aedat4 (needs the `aedat` package),
root/DVSGesture/{ibmGestureTrain,ibmGestureTest}/userNN_<lighting>/<label>.npy.
We check for the extracted files ourselves, so a copy without its archive still loads and
download=False never reaches tonic's downloader. CIFAR10-DVS has no official split; two
9:1 splits of each class are offered (``DVS_SPLITS``): ``"spikingjelly"`` (default), the
first 90 % of each class in file order, as SpikingJelly's ``split_to_train_test_set(0.9, ...,
random_split=False)`` that PLIF's published numbers use; ``"random"``, a seeded permutation
of each class (seed 0, independent of `seed`).
"""
from __future__ import annotations

import math
import os
import pathlib
from urllib.error import URLError

import numpy as np
import torch

from .registry import DatasetMissing, get_spec

__all__ = ["EVENT_LAYOUT", "TonicSource", "tonic_source", "events_present", "events_how_to_get",
           "cifar10_dvs_split", "SPLIT_SEED", "DVS_SPLITS"]

SPLIT_SEED = 0
DVS_SPLITS = ("spikingjelly", "random")
# name -> (tonic class name, {split: (subfolder, glob)}, where to get the files)
EVENT_LAYOUT = {
    "nmnist": ("NMNIST", {"train": ("Train", "*/*.bin"), "test": ("Test", "*/*.bin")},
               "train.zip and test.zip from https://www.garrickorchard.com/datasets/n-mnist "
               "(extracted: Train/0..9/*.bin, Test/0..9/*.bin)"),
    "cifar10-dvs": ("CIFAR10DVS", {"train": ("", "*/*.aedat4"), "test": ("", "*/*.aedat4")},
                    "CIFAR10DVS.zip from https://figshare.com/ndownloader/files/38023437 "
                    "(extract it, then each <class>.zip inside, giving <class>/*.aedat4)"),
    "dvs-gesture": ("DVSGesture", {"train": ("ibmGestureTrain", "*/*.npy"),
                                   "test": ("ibmGestureTest", "*/*.npy")},
                    "ibmGestureTrain.tar.gz (https://figshare.com/ndownloader/files/38022171) and "
                    "ibmGestureTest.tar.gz (https://figshare.com/ndownloader/files/38020584), extracted"),
}


def _folder(name: str, root: pathlib.Path, split: str) -> pathlib.Path:
    cls_name, splits, _ = EVENT_LAYOUT[name]
    return root / cls_name / splits[split][0]


def events_present(name: str, root: pathlib.Path, split: str) -> bool:
    """True when at least one extracted event file of `split` is under `root` where tonic reads it."""
    pattern = EVENT_LAYOUT[name][1][split][1]
    return next(iter(_folder(name, root, split).glob(pattern)), None) is not None


def events_how_to_get(name: str, root: pathlib.Path) -> str:
    """One short paragraph: which files go where, and where they come from."""
    return (f"put {EVENT_LAYOUT[name][2]} in {root / EVENT_LAYOUT[name][0]}, "
            "or load with download=True on a machine with network (tonic downloads and extracts)")


def cifar10_dvs_split(targets: list[int], split: str, seed: int = SPLIT_SEED,
                      method: str = "spikingjelly") -> list[int]:
    """Indices of `split` in a fixed 9:1 per-class split of items in file order (sorted).

    method "spikingjelly": the first ceil(0.9 n) items of each class train (SpikingJelly's
    ``split_to_train_test_set(0.9, ..., random_split=False)``); "random": the first
    (9 n) // 10 of a permutation seeded with ``seed + class``.
    """
    if method not in DVS_SPLITS:
        raise ValueError(f"CIFAR10-DVS split must be one of {DVS_SPLITS}, got {method!r}")
    targets_t = torch.as_tensor(targets, dtype=torch.long)
    chosen = []
    for c in torch.unique(targets_t).tolist():
        members = torch.nonzero(targets_t == c).flatten()
        if method == "spikingjelly":
            order, n_train = members, math.ceil(0.9 * len(members))
        else:
            order = members[torch.randperm(len(members), generator=torch.Generator().manual_seed(seed + c))]
            n_train = (9 * len(members)) // 10
        chosen.append(order[:n_train] if split == "train" else order[n_train:])
    return sorted(torch.cat(chosen).tolist()) if chosen else []


class TonicSource:
    """(events, label) pairs of a tonic dataset, in sorted file order, with stable cache keys."""

    def __init__(self, dataset, root: pathlib.Path, indices: list[int] | None = None) -> None:
        order = sorted(range(len(dataset.data)), key=lambda i: dataset.data[i])
        if indices is not None:
            order = [order[i] for i in indices]
        self.dataset = dataset
        self._order = order
        self.sensor_size = tuple(dataset.sensor_size)
        self.targets = [int(dataset.targets[i]) for i in order]
        self.keys = [os.path.relpath(dataset.data[i], dataset.location_on_system) for i in order]

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        events, label = self.dataset[self._order[index]]
        return events, int(label)


def _construct(cls, trust_files: bool, **kwargs):
    """Build a tonic dataset; with trust_files, skip tonic's own check (it would download)."""
    if not trust_files:
        return cls(**kwargs)
    obj = cls.__new__(cls)
    obj._check_exists = _files_found  # we found the extracted files ourselves
    obj.__init__(**kwargs)
    del obj._check_exists  # back to tonic's own method; keeps the dataset picklable for workers
    return obj


def _files_found() -> bool:
    return True


def tonic_source(name: str, split: str, root: pathlib.Path, download: bool,
                 dvs_split: str = "spikingjelly") -> TonicSource:
    """The tonic dataset `name` for `split` ("train"/"test") as a TonicSource (dvs_split: CIFAR10-DVS's)."""
    import tonic.datasets as td

    spec = get_spec(name)
    present = events_present(spec.name, root, split)
    if not present and not download:
        raise DatasetMissing(f"{spec.name} ({split}) is not on disk.\n"
                             f"To fix: {events_how_to_get(spec.name, root)}.")
    cls = getattr(td, EVENT_LAYOUT[spec.name][0])
    kwargs = {"save_to": str(root)}
    if spec.name != "cifar10-dvs":
        kwargs["train"] = split == "train"
    try:
        dataset = _construct(cls, present, **kwargs)
    except (URLError, OSError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DatasetMissing(f"{spec.name} ({split}) could not be downloaded ({reason}).\n"
                             f"To fix: {events_how_to_get(spec.name, root)}.") from None
    indices = None
    if spec.name == "cifar10-dvs":
        order = sorted(range(len(dataset.data)), key=lambda i: dataset.data[i])
        indices = cifar10_dvs_split([dataset.targets[i] for i in order], split, method=dvs_split)
    return TonicSource(dataset, root, indices)
