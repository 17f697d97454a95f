"""Unpack a downloaded archive inside its folder, all or nothing, and remember what it unpacked.

    extract(archive, dest)      # .tar/.tar.gz/.tgz, .zip (and the zips inside it), or one .gz file

Members that would land outside ``dest`` (``../x``, ``/etc/x``, a link pointing out) are refused
with ``UnsafeArchive``: tar uses Python's ``filter="data"`` where it exists, zip and older Pythons
an explicit check. Everything lands in a scratch folder first and is moved into place at the end;
a marker then lists the files, and an extraction counts as done only while they are all there.
"""
from __future__ import annotations

import gzip
import json
import os
import pathlib
import shutil
import tarfile
import zipfile

from ..files import atomic_open

__all__ = ["extract", "extracted", "UnsafeArchive"]


class UnsafeArchive(RuntimeError):
    """An archive member would land outside the destination folder; nothing was extracted."""


def _inside(root: pathlib.Path, name: str) -> bool:
    target = os.path.realpath(os.path.join(root, name))
    return os.path.commonpath([os.path.realpath(root), target]) == os.path.realpath(root)


def _refuse(archive: pathlib.Path, member: str, dest: pathlib.Path) -> UnsafeArchive:
    return UnsafeArchive(f"{archive.name}: member {member!r} would land outside {dest}; refused to extract "
                         "anything from it. To fix: delete the archive and download it again from the "
                         "official source (a damaged or tampered file)")


def _untar(archive: pathlib.Path, scratch: pathlib.Path, dest: pathlib.Path) -> None:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.12, 3.11.4+, 3.10.12+ ...
            try:
                tar.extractall(scratch, filter="data")
            except tarfile.FilterError as err:
                raise _refuse(archive, getattr(err, "tarinfo", None).name if getattr(err, "tarinfo", None)
                              else str(err), dest) from None
            return
        for member in tar.getmembers():
            bad_link = (member.issym() or member.islnk()) and not _inside(
                scratch, os.path.join(os.path.dirname(member.name), member.linkname))
            if not _inside(scratch, member.name) or bad_link or member.isdev():
                raise _refuse(archive, member.name, dest)
        tar.extractall(scratch)  # noqa: S202 (every member checked above)


def _unzip(archive: pathlib.Path, scratch: pathlib.Path, dest: pathlib.Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if name.startswith(("/", "\\")) or ".." in pathlib.PurePosixPath(name.replace("\\", "/")).parts \
                    or not _inside(scratch, name):
                raise _refuse(archive, name, dest)
        zf.extractall(scratch)


def _gunzip(archive: pathlib.Path, scratch: pathlib.Path) -> None:
    with gzip.open(archive, "rb") as src, open(scratch / archive.name[: -len(".gz")], "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def _marker(archive: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    return dest / f".{archive.name}.extracted"


def extracted(archive: pathlib.Path, dest: pathlib.Path) -> bool:
    """True when the marker of ``archive`` in ``dest`` lists files and every one of them is there."""
    try:
        files = json.loads(_marker(archive, dest).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(files) and all((dest / f).is_file() for f in files)


def _unpack(archive: pathlib.Path, scratch: pathlib.Path, dest: pathlib.Path) -> None:
    name = archive.name.lower()
    if name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        _untar(archive, scratch, dest)
    elif name.endswith(".zip"):
        _unzip(archive, scratch, dest)
        for inner in sorted(scratch.rglob("*.zip")):  # CIFAR10-DVS: one zip per class inside
            _unzip(inner, inner.parent, dest)
            inner.unlink()
    elif name.endswith(".gz"):
        _gunzip(archive, scratch)
    else:
        raise ValueError(f"{archive.name}: not an archive klif-edu can extract (.tar[.gz], .tgz, .zip, .gz)")


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> pathlib.Path:
    """Extract ``archive`` into ``dest`` (nothing when a previous extraction's files are all there)."""
    archive, dest = pathlib.Path(archive), pathlib.Path(dest)
    if extracted(archive, dest):
        return dest
    scratch = dest / f".{archive.name}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        _unpack(archive, scratch, dest)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    files = sorted(p.relative_to(scratch).as_posix() for p in scratch.rglob("*") if p.is_file())
    for entry in scratch.iterdir():
        final = dest / entry.name
        if final.is_dir() and entry.is_dir():
            shutil.rmtree(final)
        os.replace(entry, final)
    scratch.rmdir()
    with atomic_open(_marker(archive, dest), "w") as fh:
        fh.write(json.dumps({"archive": archive.name, "files": files}))
    return dest
