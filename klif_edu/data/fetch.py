"""Download a dataset with a progress bar, check it, write it atomically, resume after an interruption.

    fetch("fashion-mnist")                  # small: downloads, verifies, extracts; returns the folder
    fetch("dvs-gesture", data_dir="/shared/klif-data")
    download_size("nmnist")                 # bytes to download (approximate for the event sets)

URLs and MD5 checksums are the ones torchvision and tonic already carry (``resources``).
Every file goes through ``download_file`` (klif_edu.data.download: a ``.part`` continued with
an HTTP Range request after a dropped connection, checked, then renamed; also for a teacher's
own files); archives are extracted by klif_edu.data.extract (members confined to the data
folder, all or nothing), so a half-finished fetch never looks like a dataset. Every network
call has a timeout: with no network, ``DatasetMissing`` says what to do instead.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
from dataclasses import dataclass, replace

from .download import TIMEOUT_S, DownloadError, download_file
from .extract import UnsafeArchive, extract
from .registry import DatasetMissing, data_root, get_spec, is_writable
from .static import copy_system_copy, static_folder, system_copy

__all__ = ["Resource", "resources", "fetch", "download_file", "DownloadError", "download_size", "LARGE",
           "DOWNLOAD_SIZES", "TIMEOUT_S"]
#: Bytes to download per dataset. Static sets: the archives' sizes; event sets: approximate.
DOWNLOAD_SIZES = {"mnist": 11_594_722, "fashion-mnist": 30_878_645, "cifar10": 170_498_071,
                  "nmnist": 1_100_000_000, "cifar10-dvs": 5_000_000_000, "dvs-gesture": 2_500_000_000}
#: Downloads that a notebook makes only after a one-line opt-in.
LARGE = ("nmnist", "cifar10-dvs", "dvs-gesture")


@dataclass(frozen=True)
class Resource:
    """One file to download: its mirrors, name, MD5, folder under the data root, and what to extract."""

    urls: tuple[str, ...]
    filename: str
    md5: str
    folder: str  # relative to the data root
    extract_to: str | None  # relative to the data root; None: keep the file as it is


def resources(name: str) -> list[Resource]:
    """The files of dataset ``name``, with the URLs and checksums of torchvision or tonic."""
    spec = get_spec(name)
    if spec.name.startswith("embedded-"):
        return []
    if spec.kind == "static":
        import torchvision.datasets as tvd

        if spec.name == "cifar10":
            c = tvd.CIFAR10
            return [Resource((c.url,), c.filename, c.tgz_md5, ".", ".")]
        cls, folder = (tvd.MNIST, "MNIST/raw") if spec.name == "mnist" else (tvd.FashionMNIST, "FashionMNIST/raw")
        return [Resource(tuple(m + f for m in cls.mirrors), f, md5, folder, folder) for f, md5 in cls.resources]
    try:
        import tonic.datasets as td
    except ImportError:
        raise DatasetMissing(f"fetching {spec.name} needs the `tonic` package: pip install tonic") from None
    if spec.name == "nmnist":
        c = td.NMNIST
        return [Resource((c.train_url,), c.train_filename, c.train_md5, "NMNIST", "NMNIST"),
                Resource((c.test_url,), c.test_filename, c.test_md5, "NMNIST", "NMNIST")]
    if spec.name == "dvs-gesture":
        c = td.DVSGesture
        return [Resource((c.train_url,), c.train_filename, c.train_md5, "DVSGesture", "DVSGesture"),
                Resource((c.test_url,), c.test_filename, c.test_md5, "DVSGesture", "DVSGesture")]
    c = td.CIFAR10DVS  # one zip holding one zip per class
    return [Resource((c.url,), c.filename, c.file_md5, "CIFAR10DVS", "CIFAR10DVS")]


def download_size(name: str) -> int:
    """Bytes ``fetch(name)`` downloads (0 for the embedded sets)."""
    return DOWNLOAD_SIZES.get(get_spec(name).name, 0)


def _with_mirror(res: Resource, mirror: str) -> Resource:
    """``res`` taken from a class mirror: the same file name and checksum under ``mirror``."""
    if "://" not in mirror:  # a folder on this machine (a USB stick, a network share)
        mirror = pathlib.Path(mirror).expanduser().resolve().as_uri()
    return replace(res, urls=(mirror.rstrip("/") + "/" + res.filename,))


def _get(res: Resource, root: pathlib.Path, progress: bool | None, timeout: float) -> pathlib.Path:
    """The checked archive of ``res`` on disk, from the first of its URLs that delivers it."""
    target = root / res.folder / res.filename
    errors = []
    for url in res.urls:
        try:
            return download_file(url, target, res.md5, timeout=timeout, progress=progress)
        except DownloadError as err:
            errors.append(str(err))
    raise DatasetMissing(f"could not download {res.filename} ({'; '.join(errors)})")


def _new_folders(root: pathlib.Path, relative: list[str]) -> list[pathlib.Path]:
    """The folders among ``root/relative`` (and their parents) not there yet, deepest first."""
    wanted = {root}
    for rel in relative:
        folder = root / rel
        wanted.update([folder, *[p for p in folder.parents if root in p.parents]])
    return sorted((p for p in wanted if not p.exists()), key=lambda p: len(p.parts), reverse=True)


def _read_only(name: str, root: pathlib.Path) -> DatasetMissing:
    return DatasetMissing(
        f"{name} is not in the data folder {root}, which is read-only here, so klif-edu will not write "
        f"into it.\nTo fix: ask whoever looks after {root} to run `klif-edu fetch {name} --data-dir {root}`, "
        f"or fetch into a folder you can write (`klif-edu fetch {name} --data-dir ~/klif-data`) and point "
        "KLIF_EDU_DATA at it")


def fetch(name: str, data_dir: str | os.PathLike | None = None, progress: bool | None = None,
          timeout: float = TIMEOUT_S, mirror: str | None = None) -> pathlib.Path:
    """Download, verify and extract dataset ``name`` into the data root; return that root.

    Does nothing when the dataset is already in that folder (embedded sets always are); a
    system copy (Debian's Fashion-MNIST) is copied in rather than downloaded. ``mirror``: a
    URL or folder holding the same files (a class mirror). A read-only data folder is never
    written. Raises ``DatasetMissing`` (what failed, and what to do) when it cannot.
    """
    from .loader import dataset_status, present_in

    spec = get_spec(name)
    root = data_root(data_dir)
    if spec.name.startswith("embedded-"):
        return root
    if present_in(spec.name, root):
        return root
    if not is_writable(root):
        raise _read_only(spec.name, root)
    how = next(r for r in dataset_status(data_dir) if r["name"] == spec.name)["how_to_get"]
    system = system_copy(spec.name) if mirror is None else None
    res_list = [] if system is not None else resources(spec.name)
    if mirror is not None:
        res_list = [_with_mirror(r, mirror) for r in res_list]
    created = _new_folders(root, [static_folder(spec.name, root).relative_to(root).as_posix()] if system else
                           [rel for r in res_list for rel in (r.folder, r.extract_to or r.folder)])
    try:
        if system is not None:
            copy_system_copy(spec.name, root)
        for res in res_list:
            archive = _get(res, root, progress, timeout)
            if res.extract_to is not None:
                extract(archive, root / res.extract_to)
    except (DatasetMissing, UnsafeArchive, OSError) as err:
        for folder in created:  # no empty dataset folders left behind (a kept .part keeps its folder)
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(err, UnsafeArchive):
            raise DatasetMissing(f"{spec.name}: {err}") from None
        raise DatasetMissing(f"{spec.name}: {err}.\nTo fix: connect to the network and run "
                             f"`klif-edu fetch {spec.name}` again (it continues where it stopped), "
                             f"or {how}") from None
    if not present_in(spec.name, root):
        raise DatasetMissing(f"{spec.name}: downloaded and extracted, but the files are still not where "
                             f"klif-edu reads them under {root}. To fix: {how}")
    return root
