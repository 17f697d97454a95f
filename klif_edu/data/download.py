"""One file over HTTP(S) or file://, checked, written atomically, continued after an interruption.

    download_file("https://example.org/lecture.npz", "data/lecture.npz", md5="0123...")

The bytes go to ``DEST.part``. When the connection drops (fewer bytes arrive than the server
announced, a reset, a timeout) the short ``.part`` stays and ``DownloadError`` says so; the next
call asks the server for the rest with an HTTP Range request, and starts again from zero when
the server answers with the whole file instead (status 200). A complete ``.part`` (left by a
kill before the rename) is checked and renamed, never refused with HTTP 416. A ``.part`` whose
MD5 checksum is wrong is deleted, with a message that says so. Every network call has a timeout.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import pathlib
import re
import urllib.request
from urllib.error import HTTPError, URLError

__all__ = ["download_file", "DownloadError", "TIMEOUT_S", "md5_of"]

TIMEOUT_S = 30.0
CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download did not finish or did not check out; str() says what happened and what to do."""


def md5_of(path: str | os.PathLike) -> str:
    """The MD5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _bar(total: int | None, desc: str, initial: int, progress: bool | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=None if progress is None else not progress, leave=True)


def _finish(part: pathlib.Path, dest: pathlib.Path, md5: str | None, url: str) -> pathlib.Path:
    """Check a complete ``.part`` against ``md5`` and rename it to ``dest``; delete it when it fails."""
    if md5 is not None:
        got = md5_of(part)
        if got != md5.lower():
            part.unlink(missing_ok=True)
            raise DownloadError(f"{url}: the download does not match its MD5 checksum {md5} (got {got}); "
                                f"deleted {part.name}, so the next try starts again from zero")
    os.replace(part, dest)
    return dest


def _total_from_416(err: HTTPError) -> int | None:
    """The file's size from a 416 answer's ``Content-Range: bytes */SIZE``, if the server sent it."""
    found = re.fullmatch(r"bytes \*/(\d+)", (err.headers or {}).get("Content-Range", "") or "")
    return int(found.group(1)) if found else None


def _open(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "klif-edu"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def _resumes_at(response, start: int) -> bool:
    """True when ``response`` is a 206 that continues exactly at byte ``start``."""
    if not start or getattr(response, "status", None) != 206:
        return False
    found = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", "") or "")
    return found is None or int(found.group(1)) == start


def download_file(url: str, dest: str | os.PathLike, md5: str | None = None, timeout: float = TIMEOUT_S,
                  progress: bool | None = None) -> pathlib.Path:
    """Download ``url`` to ``dest`` (through ``dest.part``), check ``md5`` if given; return ``dest``.

    A ``dest`` already there with the right checksum (or any ``dest``, without ``md5``) is kept.
    Raises ``DownloadError`` when the transfer stops early (the ``.part`` is kept: call again to
    continue), when the checksum is wrong (the ``.part`` is deleted), or when the server cannot be reached.
    """
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    dest = pathlib.Path(dest)
    part = dest.with_name(dest.name + ".part")
    if dest.is_file() and (md5 is None or md5_of(dest) == md5.lower()):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.is_file() else 0
    try:
        response = _open(url, start, timeout)
    except HTTPError as err:
        if err.code == 416 and start:  # nothing after byte `start`: the .part is complete (or too long)
            total = _total_from_416(err)
            if md5 is not None or total == start:
                return _finish(part, dest, md5, url)
            part.unlink()
            raise DownloadError(f"{url}: {part.name} is longer than the file on the server; deleted it, "
                                "so the next try starts again from zero") from None
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (URLError, OSError, ValueError) as err:  # ValueError: a malformed URL
        raise DownloadError(f"{url}: {getattr(err, 'reason', err)}") from None
    with response:
        if not _resumes_at(response, start):
            start = 0  # the server sends the whole file (it ignores Range): start again
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        with open(part, "ab" if start else "wb") as out, _bar(None if expected is None else start + expected,
                                                               dest.name, start, progress) as bar:
            try:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as err:  # a reset or a timeout mid-transfer: keep what arrived
                reason = f"{type(err).__name__}: {err}"
            else:
                reason = None
            finally:
                out.flush()
                os.fsync(out.fileno())
    if reason is not None or (expected is not None and received < expected):
        got = f"{start + received:,} of {start + expected:,} bytes" if expected is not None else \
            f"{start + received:,} bytes"
        raise DownloadError(f"{url}: the connection stopped after {got}"
                            + (f" ({reason})" if reason else "")
                            + f"; kept them in {part}, so the next try continues where this one stopped")
    return _finish(part, dest, md5, url)
