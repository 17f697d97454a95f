"""The small datasets shipped in data/embedded: real Fashion-MNIST images and SIMULATED events.

    images = load_embedded_images("train")          # ImageTensors, 2000 train / 500 test
    source = EmbeddedEvents("train")                # (events, label) pairs for frames.FrameDataset

Both files are rebuilt deterministically by scripts/build_embedded_data.py from Debian's
Fashion-MNIST (MIT licence, Zalando Research; see data/README.md).
"""
from __future__ import annotations

import os
import pathlib

import numpy as np
import torch

from .registry import DatasetMissing, data_root, get_spec
from .simulate import EVENT_DTYPE, SENSOR
from .static import NORMALISATION, ImageTensors

__all__ = ["IMAGES_FILE", "EVENTS_FILE", "embedded_file", "load_embedded_images", "EmbeddedEvents"]

IMAGES_FILE = "fashion_mnist_subset.npz"
EVENTS_FILE = "fashion_mnist_events.npz"


def embedded_file(filename: str, data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Path of an embedded file: data_root(data_dir)/embedded, else the copy shipped with klif-edu.

    The shipped copy is the installed package's (klif_edu/_lessons/embedded) or, in a source
    checkout, <repository>/data/embedded (klif_edu.resources decides which).
    """
    from ..resources import ResourceMissing, resource_dir

    candidates = [data_root(data_dir) / "embedded" / filename]
    try:
        candidates.append(resource_dir("embedded") / filename)
    except ResourceMissing:
        pass
    for path in candidates:
        if path.is_file():
            return path
    raise DatasetMissing(
        f"embedded file {filename} not found in {' or '.join(str(p.parent) for p in candidates)}.\n"
        "To fix: reinstall klif-edu (`pip install --force-reinstall klif-edu`), or in a source checkout "
        "rebuild it with `python scripts/build_embedded_data.py` (needs /usr/share/datasets/fashion-mnist).")


def _load(filename: str, data_dir) -> dict[str, np.ndarray]:
    with np.load(embedded_file(filename, data_dir)) as npz:
        return {k: npz[k] for k in npz.files}


def load_embedded_images(split: str, data_dir: str | os.PathLike | None = None) -> ImageTensors:
    """The embedded Fashion-MNIST subset; items (float32 [1, 28, 28] normalised, int label)."""
    arrays = _load(IMAGES_FILE, data_dir)
    spec = get_spec("embedded-fashion-mnist")
    mean, std = NORMALISATION[spec.name]
    images = torch.from_numpy(arrays[f"x_{split}"]).unsqueeze(1)
    return ImageTensors(images, torch.from_numpy(arrays[f"y_{split}"].astype(np.int64)), spec, mean, std)


class EmbeddedEvents:
    """The SIMULATED event samples of one split: item i is (structured events x,y,t,p, label)."""

    sensor_size = (SENSOR[1], SENSOR[0], 2)  # tonic's (W, H, P)

    def __init__(self, split: str, data_dir: str | os.PathLike | None = None) -> None:
        arrays = _load(EVENTS_FILE, data_dir)
        self.split = split
        self._x, self._y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        self._p, self._t_ms = arrays[f"{split}_p"], arrays[f"{split}_t_ms"]
        self._offsets = arrays[f"{split}_offsets"]
        self.targets = [int(v) for v in arrays[f"{split}_labels"]]
        self.keys = [f"{split}-{i:05d}" for i in range(len(self.targets))]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        a, b = int(self._offsets[index]), int(self._offsets[index + 1])
        events = np.empty(b - a, dtype=EVENT_DTYPE)
        events["x"], events["y"] = self._x[a:b], self._y[a:b]
        events["t"] = self._t_ms[a:b].astype(np.int64) * 1000  # stored in ms, tonic works in us
        events["p"] = self._p[a:b]
        return events, self.targets[index]
