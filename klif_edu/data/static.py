"""Static image datasets (MNIST, Fashion-MNIST, CIFAR-10) through torchvision, kept in memory.

    ds = load_static("fashion-mnist", "train", root, download=True)
    x, y = ds[0]        # x: float32 [C, H, W], normalised with the dataset's mean/std; y: int

torchvision owns the download, the integrity checks and the file layout
(root/MNIST/raw, root/FashionMNIST/raw, root/cifar-10-batches-py). The original gz IDX files
count as present: they are unzipped beside themselves on first use (or read in memory when the
folder is read-only). Before any download, Fashion-MNIST looks for Debian's copy
(/usr/share/datasets/fashion-mnist) and uses it the same way.
"""
from __future__ import annotations

import gzip
import os
import pathlib
from urllib.error import URLError

import numpy as np
import torch
from torch.utils.data import Dataset

from ..files import atomic_open
from .registry import DEBIAN_FASHION_MNIST, DatasetMissing, DatasetSpec, get_spec, is_writable

__all__ = ["ImageTensors", "load_static", "static_present", "static_how_to_get", "static_folder",
           "read_idx", "NORMALISATION", "system_copy", "copy_system_copy"]

# Per-channel (mean, std) of each training set, the usual published values.
NORMALISATION = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "embedded-fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_CIFAR_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                "test_batch", "batches.meta")
_SOURCES = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/ (gz files; gunzip them)",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ (gz files; "
                     "gunzip them), or `sudo apt install dataset-fashion-mnist`",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extract it there)",
}


class ImageTensors(Dataset):
    """Images held as uint8 [N, C, H, W]; item i is (float32 [C, H, W] normalised, int label)."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, spec: DatasetSpec,
                 mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} labels")
        self.images = images
        self.targets = torch.as_tensor(targets, dtype=torch.long)
        self.spec = spec
        self.time_steps = spec.time_steps
        self.input_shape = tuple(images.shape[1:])
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = self.images[index].to(torch.float32).div_(255.0)
        return (x - self.mean) / self.std, int(self.targets[index])

    def unnormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Back to intensities in [0, 1] (for plots or Poisson encoding); x [..., C, H, W]."""
        return x * self.std.to(x) + self.mean.to(x)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally .gz), e.g. MNIST's, into a uint8 numpy array of its shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {dims}, found {data.size} bytes")
    return data.reshape(dims)


def static_folder(name: str, root: pathlib.Path) -> pathlib.Path:
    """The folder torchvision reads `name` from under `root`."""
    return root / {"mnist": "MNIST/raw", "fashion-mnist": "FashionMNIST/raw",
                   "cifar10": "cifar-10-batches-py"}[name]


def _files(name: str) -> tuple[str, ...]:
    return _CIFAR_FILES if name == "cifar10" else _IDX_FILES


def _gz_complete(folder: pathlib.Path) -> bool:
    """True when ``folder`` holds the four original gz IDX files (as downloaded or as Debian ships them)."""
    return all((folder / f"{f}.gz").is_file() for f in _IDX_FILES)


def system_copy(name: str) -> pathlib.Path | None:
    """A copy of ``name`` installed outside any data folder (Debian's Fashion-MNIST), or None."""
    return DEBIAN_FASHION_MNIST if name == "fashion-mnist" and _gz_complete(DEBIAN_FASHION_MNIST) else None


def static_present(name: str, root: pathlib.Path, system: bool = True) -> bool:
    """True when every file torchvision needs for `name` is under `root`, unpacked or as the original
    gz files (MNIST, Fashion-MNIST), or (with ``system``) a system copy exists."""
    folder = static_folder(name, root)
    if all((folder / f).is_file() for f in _files(name)):
        return True
    if name != "cifar10" and _gz_complete(folder):
        return True
    return system and system_copy(name) is not None


def static_how_to_get(name: str, root: pathlib.Path) -> str:
    """One short paragraph: which files go where, and where they come from."""
    return (f"put {', '.join(_files(name))} (or their .gz originals) in {static_folder(name, root)}; "
            f"get them from {_SOURCES[name]}, or load with download=True on a machine with network")


def _unzip_idx(source: pathlib.Path, folder: pathlib.Path) -> None:
    """Decompress the gz IDX files in ``source`` into ``folder`` (atomically, file by file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in _IDX_FILES:
        if (folder / f).is_file():
            continue
        with atomic_open(folder / f, "wb") as out, gzip.open(source / f"{f}.gz") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)


def copy_system_copy(name: str, root: pathlib.Path) -> pathlib.Path:
    """Unpack the system copy of ``name`` into ``root``'s torchvision folder; return that folder."""
    source = system_copy(name)
    if source is None:
        raise DatasetMissing(f"no system copy of {name} on this machine")
    _unzip_idx(source, static_folder(name, root))
    return static_folder(name, root)


def _idx_in_memory(source: pathlib.Path, split: str, spec: DatasetSpec) -> ImageTensors:
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
    mean, std = NORMALISATION[spec.name]
    return ImageTensors(torch.from_numpy(images.copy()).unsqueeze(1),
                        torch.from_numpy(labels.astype(np.int64)), spec, mean, std)


def load_static(name: str, split: str, root: pathlib.Path, download: bool) -> ImageTensors:
    """Load MNIST, Fashion-MNIST or CIFAR-10 (`split` "train"/"test") into memory via torchvision."""
    import torchvision.datasets as tvd

    spec = get_spec(name)
    folder = static_folder(spec.name, root)
    missing = [f for f in _files(spec.name) if not (folder / f).is_file()]
    source = None if not missing or spec.name == "cifar10" else (
        folder if _gz_complete(folder) else system_copy(spec.name))
    if source is not None:  # gz originals: unpacked beside them when we may write, else read in memory
        try:
            if not is_writable(folder):
                raise PermissionError(folder)
            _unzip_idx(source, folder)
            missing = []
        except OSError:
            return _idx_in_memory(source, split, spec)
    if missing and download and not is_writable(root):
        raise DatasetMissing(f"{spec.name} ({split}) is not in the data folder {root}, which is read-only here.\n"
                             f"To fix: ask whoever looks after it to run `klif-edu fetch {spec.name} --data-dir "
                             f"{root}`, or use a folder you can write (data_dir=... or KLIF_EDU_DATA).")
    if missing and not download:
        raise DatasetMissing(f"{spec.name} ({split}) is not on disk: missing {', '.join(missing)}.\n"
                             f"To fix: {static_how_to_get(spec.name, root)}.")
    cls = {"mnist": tvd.MNIST, "fashion-mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[spec.name]
    try:
        ds = cls(str(root), train=(split == "train"), download=bool(missing))
    except (RuntimeError, URLError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DatasetMissing(f"{spec.name} ({split}) could not be loaded or downloaded ({reason}).\n"
                             f"To fix: {static_how_to_get(spec.name, root)}.") from None
    data = ds.data
    images = (torch.from_numpy(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))
              if isinstance(data, np.ndarray) else data.unsqueeze(1))
    mean, std = NORMALISATION[spec.name]
    return ImageTensors(images.contiguous(), torch.as_tensor(ds.targets), spec, mean, std)
