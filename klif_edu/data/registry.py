"""What datasets exist, where their files live, and how to get them.

    DATASETS["fashion-mnist"].input_shape   # (1, 28, 28)
    data_root()                             # data_dir > $KLIF_EDU_DATA > <repo>/data > user cache

Default time steps follow the PLIF paper (Fang et al. 2021), whose six datasets KLIF
reuses; the numbers are read from the run names in the PLIF repository's LOGS folder
(github.com/fangwei123456/Parametric-Leaky-Integrate-and-Fire-Spiking-Neuron):
T=8 for MNIST, Fashion-MNIST and CIFAR-10 (direct encoding), T=10 frames for N-MNIST,
T=20 frames for CIFAR10-DVS and DVS128-Gesture, events split into frames "by number"
(equal event counts per frame). The embedded sets use T=8 (our choice, for speed).
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

from ..places import default_data_root, expand

__all__ = [
    "DatasetSpec", "DATASETS", "DatasetMissing", "data_root", "repo_data_dir",
    "get_spec", "DEBIAN_FASHION_MNIST", "is_writable",
]

ENV_VAR = "KLIF_EDU_DATA"
# Debian/Ubuntu package `dataset-fashion-mnist` puts the four gz IDX files here.
DEBIAN_FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")

_DIGITS = tuple(str(i) for i in range(10))
_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_CIFAR = ("airplane", "automobile", "bird", "cat", "deer",
          "dog", "frog", "horse", "ship", "truck")
_GESTURES = ("hand clapping", "right hand wave", "left hand wave", "right arm cw",
             "right arm ccw", "left arm cw", "left arm ccw", "arm roll", "air drums",
             "air guitar", "other gestures")


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its name, kind ("static" or "events"), shapes, default T and classes."""

    name: str
    kind: str
    input_shape: tuple
    num_classes: int
    time_steps: int
    class_names: tuple[str, ...]
    description: str


def _spec(name, kind, shape, T, classes, description) -> DatasetSpec:
    return DatasetSpec(name, kind, tuple(shape), len(classes), T, tuple(classes), description)


DATASETS: dict[str, DatasetSpec] = {s.name: s for s in (
    _spec("mnist", "static", (1, 28, 28), 8, _DIGITS,
          "MNIST handwritten digits, 60k/10k, downloaded by torchvision"),
    _spec("fashion-mnist", "static", (1, 28, 28), 8, _FASHION,
          "Fashion-MNIST (Zalando, MIT), 60k/10k; Debian's copy in "
          "/usr/share/datasets/fashion-mnist if present, else torchvision downloads it"),
    _spec("cifar10", "static", (3, 32, 32), 8, _CIFAR,
          "CIFAR-10 colour images, 50k/10k, downloaded by torchvision"),
    _spec("nmnist", "events", (2, 34, 34), 10, _DIGITS,
          "N-MNIST: MNIST recorded by a moving event camera (ATIS), 60k/10k, downloaded by tonic"),
    _spec("cifar10-dvs", "events", (2, 128, 128), 20, _CIFAR,
          "CIFAR10-DVS: CIFAR-10 on a monitor recorded by a DVS, 10k, downloaded by tonic; "
          "fixed seeded 9:1 split per class"),
    _spec("dvs-gesture", "events", (2, 128, 128), 20, _GESTURES,
          "DVS128-Gesture: 11 hand gestures by 29 people, 1077/264 (tonic's preprocessed copy)"),
    _spec("embedded-fashion-mnist", "static", (1, 28, 28), 8, _FASHION,
          "2000/500 real Fashion-MNIST images shipped in data/embedded (no download)"),
    _spec("embedded-events", "events", (2, 34, 34), 8, _FASHION,
          "SIMULATED events from embedded Fashion-MNIST images moved in 3 saccades, "
          "shipped in data/embedded (no download)"),
)}


class DatasetMissing(RuntimeError):
    """A dataset's files are not on disk and could not be downloaded; str() says what to do."""


def get_spec(name: str) -> DatasetSpec:
    """The DatasetSpec called `name`; a ValueError lists the known names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[key]


def repo_data_dir() -> pathlib.Path:
    """<repository root>/data in a source checkout; installed, the user's cache folder (``places``)."""
    return default_data_root()


def data_root(data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Folder for downloads and caches: `data_dir` > $KLIF_EDU_DATA > <checkout>/data > the user cache."""
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise TypeError(f"data_dir must be a path (str or PathLike), got {type(data_dir).__name__}")
        if str(data_dir) == "":
            raise ValueError("data_dir is an empty string; pass a folder or None for the default")
        return pathlib.Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "")
    if env.strip():
        return expand(env)
    return repo_data_dir()


def is_writable(path: str | os.PathLike) -> bool:
    """Whether klif-edu may create files in ``path`` (or create it): klif_edu.places.writable_dir."""
    from ..places import writable_dir

    return writable_dir(pathlib.Path(path).expanduser().absolute())