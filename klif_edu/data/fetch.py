"""Download a dataset with a progress bar, check it, write it atomically, resume after an interruption.

    fetch("fashion-mnist")                  # small: downloads, verifies, extracts; returns the folder
    fetch("dvs-gesture", data_dir="/shared/klif-data")
    download_size("nmnist")                 # bytes to download (approximate for the event sets)

URLs and MD5 checksums are the ones torchvision and tonic already carry (``resources``);
the MD5 check is torchvision's ``check_integrity``. A file is downloaded to ``NAME.part``
(continued with an HTTP Range request after an interruption, restarted when the server
cannot continue), checked, and only then renamed; archives are extracted into a scratch
folder and moved into place, so a half-finished fetch never looks like a dataset. Every
network call has a timeout: with no network, ``DatasetMissing`` says what to do instead.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import urllib.request
from dataclasses import dataclass
from urllib.error import URLError

from .registry import DatasetMissing, data_root, get_spec

__all__ = ["Resource", "resources", "fetch", "download_size", "LARGE", "DOWNLOAD_SIZES", "TIMEOUT_S"]

TIMEOUT_S = 30.0
CHUNK = 1 << 16
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


def _check(path: pathlib.Path, md5: str) -> bool:
    from torchvision.datasets.utils import check_integrity

    return check_integrity(str(path), md5)


def _bar(total: int | None, desc: str, initial: int, progress: bool | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=None if progress is None else not progress, leave=True)


def _download(url: str, target: pathlib.Path, progress: bool | None, timeout: float) -> None:
    """``url`` to ``target`` through ``target.part``, continuing a partial file when the server can."""
    part = target.with_name(target.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "klif-edu"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = start > 0 and getattr(response, "status", None) == 206
        if not resumed:
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        with open(part, "ab" if resumed else "wb") as out, _bar(total, target.name, start, progress) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    os.replace(part, target)


def _get(res: Resource, root: pathlib.Path, progress: bool | None, timeout: float) -> pathlib.Path:
    """The checked archive of ``res`` on disk (downloaded when missing or corrupt)."""
    folder = root / res.folder
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / res.filename
    if target.is_file() and _check(target, res.md5):
        return target
    errors = []
    for url in res.urls:
        try:
            _download(url, target, progress, timeout)
        except (URLError, OSError, ValueError) as err:  # ValueError: a malformed URL
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
            continue
        if _check(target, res.md5):
            return target
        target.unlink()  # corrupt: a later fetch starts again from zero
        errors.append(f"{url}: the download does not match its MD5 checksum {res.md5}")
    raise DatasetMissing(f"could not download {res.filename} ({'; '.join(errors)})")


def _extract(archive: pathlib.Path, dest: pathlib.Path) -> None:
    """Extract ``archive`` (and any zips it holds, as CIFAR10-DVS needs) into ``dest``, all or nothing."""
    from torchvision.datasets.utils import extract_archive

    marker = dest / f".{archive.name}.extracted"
    if marker.is_file():
        return
    scratch = dest / f".{archive.name}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    extract_archive(str(archive), str(scratch))
    for inner in sorted(scratch.rglob("*.zip")):  # CIFAR10-DVS: one zip per class inside
        extract_archive(str(inner), str(inner.parent))
        inner.unlink()
    for entry in scratch.iterdir():
        final = dest / entry.name
        if final.is_dir() and entry.is_dir():
            shutil.rmtree(final)
        os.replace(entry, final)
    scratch.rmdir()
    marker.touch()


def fetch(name: str, data_dir: str | os.PathLike | None = None, progress: bool | None = None,
          timeout: float = TIMEOUT_S) -> pathlib.Path:
    """Download, verify and extract dataset ``name`` under the data root; return that root.

    Does nothing when the dataset is already there (embedded sets always are). Raises
    ``DatasetMissing`` (what failed, and where to put the files by hand) when it cannot.
    """
    from .loader import dataset_status

    spec = get_spec(name)
    root = data_root(data_dir)
    row = next(r for r in dataset_status(data_dir) if r["name"] == spec.name)
    if row["present"]:
        return root
    try:
        for res in resources(spec.name):
            archive = _get(res, root, progress, timeout)
            if res.extract_to is not None:
                _extract(archive, root / res.extract_to)
    except DatasetMissing as err:
        raise DatasetMissing(f"{spec.name}: {err}.\nTo fix: connect to the network and run "
                             f"`klif-edu fetch {spec.name}` again (it continues where it stopped), "
                             f"or {row['how_to_get']}") from None
    row = next(r for r in dataset_status(data_dir) if r["name"] == spec.name)
    if not row["present"]:
        raise DatasetMissing(f"{spec.name}: downloaded and extracted, but the files are still not where "
                             f"klif-edu reads them ({row['path']}). To fix: {row['how_to_get']}")
    return root
