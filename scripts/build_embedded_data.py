"""Rebuild data/embedded/ deterministically from Debian's Fashion-MNIST.

    python scripts/build_embedded_data.py [--source /usr/share/datasets/fashion-mnist] [--out data/embedded]

1. fashion_mnist_subset.npz: 200 train + 50 test images per class (2000 + 500), chosen by a
   seeded permutation (numpy default_rng(0)) of each split, kept in source order, uint8.
2. fashion_mnist_events.npz: SIMULATED saccade events (klif_edu.data.simulate) for the first
   60 train and 20 test images of each class of that subset (600 + 200 samples).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from klif_edu.data.embedded import EVENTS_FILE, IMAGES_FILE
from klif_edu.data.frames import atomic_save_npz
from klif_edu.data.registry import DEBIAN_FASHION_MNIST
from klif_edu.data.simulate import saccade_events
from klif_edu.data.static import read_idx

SEED = 0
IMAGES_PER_CLASS = {"train": 200, "test": 50}
EVENTS_PER_CLASS = {"train": 60, "test": 20}
THRESHOLD, EPS = 1.0, 0.1
_PREFIX = {"train": "train", "test": "t10k"}


def select_balanced(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of `per_class` items of each class, from a seeded permutation, sorted."""
    order = np.random.default_rng(seed).permutation(len(labels))
    chosen = [order[labels[order] == c][:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(chosen))


def build_images(source: pathlib.Path = DEBIAN_FASHION_MNIST) -> dict[str, np.ndarray]:
    """The embedded image subset as arrays x_/y_/idx_ + train/test."""
    out = {}
    for split, prefix in _PREFIX.items():
        x = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
        idx = select_balanced(y, IMAGES_PER_CLASS[split], SEED)
        out[f"x_{split}"], out[f"y_{split}"] = x[idx], y[idx]
        out[f"idx_{split}"] = idx.astype(np.int32)
    return out


def event_image_indices(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Positions in the subset of the first `per_class` images of each class, sorted."""
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]))


def simulate_split(images: np.ndarray) -> list[np.ndarray]:
    """SIMULATED events of each image (structured x, y, t, p)."""
    return [saccade_events(img, threshold=THRESHOLD, eps=EPS) for img in images]


def build_events(subset: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The embedded event file's arrays, from the image subset."""
    out = {"threshold": np.float64(THRESHOLD), "eps": np.float64(EPS)}
    for split in _PREFIX:
        pick = event_image_indices(subset[f"y_{split}"], EVENTS_PER_CLASS[split])
        events = simulate_split(subset[f"x_{split}"][pick])
        allev = np.concatenate(events)
        out[f"{split}_x"] = allev["x"].astype(np.uint8)
        out[f"{split}_y"] = allev["y"].astype(np.uint8)
        out[f"{split}_p"] = allev["p"].astype(np.uint8)
        out[f"{split}_t_ms"] = (allev["t"] // 1000).astype(np.uint16)
        out[f"{split}_offsets"] = np.concatenate([[0], np.cumsum([len(e) for e in events])]).astype(np.int64)
        out[f"{split}_labels"] = subset[f"y_{split}"][pick]
        out[f"{split}_image_index"] = pick.astype(np.int32)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=pathlib.Path, default=DEBIAN_FASHION_MNIST)
    parser.add_argument("--out", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parents[1] / "data" / "embedded")
    args = parser.parse_args(argv)
    if not (args.source / "train-images-idx3-ubyte.gz").is_file():
        print(f"no Fashion-MNIST gz files in {args.source}; "
              "install them with `sudo apt install dataset-fashion-mnist`", file=sys.stderr)
        return 1
    subset = build_images(args.source)
    atomic_save_npz(args.out / IMAGES_FILE, **subset)
    atomic_save_npz(args.out / EVENTS_FILE, **build_events(subset))
    for name in (IMAGES_FILE, EVENTS_FILE):
        print(f"wrote {args.out / name} ({(args.out / name).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
