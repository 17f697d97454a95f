"""What ``check()`` judged, kept beside the notebook so that a teacher can collect it.

    record("03.k_slope", "right")        # called by check(); never raises, returns False when it could not write
    read_results(path)                   # {exercise name: {"status", "time", "attempts"}}; ResultsUnreadable if damaged

The file is ``klif-edu-results.json`` in the current folder (a notebook's kernel runs in the
notebook's folder: JupyterLab, Colab's /content, a JupyterHub home), or the file named by
``$KLIF_EDU_RESULTS`` (``off`` keeps nothing). One entry per exercise: the latest verdict, right
or wrong, its time (UTC) and how many answers were judged; running an exercise's cell without an
answer never erases an earlier attempt. Writes are atomic and serialised by a lock file, so two
notebooks checking at once lose nothing. ``klif-edu progress`` tabulates these files.
"""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..files import atomic_open

__all__ = ["RESULTS_FILE", "RESULTS_ENV", "FORMAT", "STATUSES", "ResultsUnreadable", "results_path",
           "record", "read_results"]

RESULTS_FILE = "klif-edu-results.json"
RESULTS_ENV = "KLIF_EDU_RESULTS"
FORMAT = "klif-edu-exercise-results"
STATUSES = ("right", "wrong", "not attempted")
MAX_BYTES = 1 << 20  # a real file holds a few kB; anything larger is not ours
LOCK_WAIT_S = 2.0
LOCK_STALE_S = 30.0


class ResultsUnreadable(ValueError):
    """A results file that cannot be read as klif-edu's; str() says why."""


def results_path() -> Path | None:
    """The results file of this kernel: $KLIF_EDU_RESULTS, else ./klif-edu-results.json; None when turned off."""
    env = os.environ.get(RESULTS_ENV, "").strip()
    if env.lower() in ("0", "off", "no", "false", "none"):
        return None
    if env:
        return Path(os.path.expandvars(env)).expanduser()
    return Path.cwd() / RESULTS_FILE


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entries(data: Any, path: Path) -> dict[str, dict[str, Any]]:
    """The exercise entries of a parsed results file, checked entry by entry (bad entries are dropped)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ResultsUnreadable(f"{path} is not a klif-edu results file (no \"format\": \"{FORMAT}\")")
    exercises = data.get("exercises")
    if not isinstance(exercises, dict):
        raise ResultsUnreadable(f"{path} has no \"exercises\" table")
    good = {}
    for name, entry in exercises.items():
        if isinstance(entry, dict) and entry.get("status") in STATUSES:
            attempts = entry.get("attempts")
            good[str(name)] = {"status": entry["status"], "time": str(entry.get("time", "")),
                               "attempts": attempts if isinstance(attempts, int) and attempts >= 0 else 0}
    return good


def read_results(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """{exercise name: {"status", "time", "attempts"}} of a results file; ResultsUnreadable says why not.

    Entries that are not ours (an unknown status, not a table) are left out; the file as a whole
    must be klif-edu's results JSON, under 1 MB.
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise ResultsUnreadable(f"{path} is not a file")
        if path.stat().st_size > MAX_BYTES:
            raise ResultsUnreadable(f"{path} is larger than {MAX_BYTES // 1024} kB: not a klif-edu results file")
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text)
    except ResultsUnreadable:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        reason = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
        raise ResultsUnreadable(f"{path} cannot be read ({type(err).__name__}: {reason[:120]})") from None
    return _entries(data, path)


def _lock(path: Path) -> Path | None:
    """A lock file beside ``path`` (created exclusively); None when it could not be had within LOCK_WAIT_S."""
    lock = path.with_name(f".{path.name}.lock")
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return lock
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > LOCK_STALE_S:  # left by a killed kernel
                    lock.unlink()
                    continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)


def _update(path: Path, name: str, status: str) -> None:
    try:
        entries = read_results(path) if path.exists() else {}
    except ResultsUnreadable:
        entries = {}  # a damaged file is replaced (it could not be tabulated either)
    old = entries.get(name, {"status": "not attempted", "time": "", "attempts": 0})
    if status == "not attempted" and old["status"] != "not attempted":
        return  # an empty answer cell run again does not erase an attempt
    entries[name] = {"status": status, "time": _now(),
                     "attempts": old["attempts"] + (status != "not attempted")}
    data = {"format": FORMAT, "version": 1, "exercises": dict(sorted(entries.items()))}
    with atomic_open(path, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")


def record(name: str, status: str, path: str | os.PathLike | None = None) -> bool:
    """Keep ``status`` ("right", "wrong", "not attempted") of exercise ``name`` in the results file.

    Returns True when it was written. Never raises: a read-only folder or a full disk must not
    break a student's notebook (the verdict was printed all the same).
    """
    try:
        if status not in STATUSES:
            return False
        target = Path(path) if path is not None else results_path()
        if target is None:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = _lock(target)
        try:
            _update(target, name, status)
        finally:
            if lock is not None:
                lock.unlink(missing_ok=True)
        return True
    except Exception:  # noqa: BLE001 - keeping a record is a courtesy, never an error in the notebook
        return False
