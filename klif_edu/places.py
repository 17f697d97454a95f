"""Where klif-edu keeps things on this machine: datasets, frame caches and runs.

    user_cache()                  # ~/.cache/klif-edu (Linux), ~/Library/Caches/klif-edu (macOS),
                                  # %LOCALAPPDATA%\\klif-edu\\Cache (Windows): platformdirs' convention
    default_data_root()           # <checkout>/data in a source checkout, else user_cache()/data
    writable_dir(path)            # can files be created there (asked, then tried)?
    frame_cache_dir(root)         # root/cache, or the user cache when root is read-only (a class share)
    default_runs_root()           # <checkout>/runs, else ./runs beside the notebooks (cwd)

``KLIF_EDU_DATA`` and ``KLIF_EDU_RUNS`` override the data folder and the runs folder (``~`` and
``$VARS`` in them are expanded, so a JupyterHub spawner can set ``$HOME/klif-runs``). A data folder
that cannot be written (a read-only share) is only read: its frame caches go to the user cache.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .environment import source_root

__all__ = ["APP", "DATA_ENV", "RUNS_ENV", "user_cache", "default_data_root", "data_root_origin",
           "expand", "writable_dir", "frame_cache_dir", "default_runs_root", "data_dir_help"]

APP = "klif-edu"
DATA_ENV = "KLIF_EDU_DATA"
RUNS_ENV = "KLIF_EDU_RUNS"


def user_cache() -> Path:
    """The user's cache folder for klif-edu, as the operating system expects it (platformdirs)."""
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # an install without platformdirs: the Linux convention, which works everywhere
        return Path.home() / ".cache" / APP
    return Path(user_cache_dir(APP, appauthor=False))


def expand(value: str) -> Path:
    """A folder named in an environment variable: ``~`` and ``$VARS`` expanded."""
    return Path(os.path.expandvars(value.strip())).expanduser()


def default_data_root() -> Path:
    """<checkout>/data in a source checkout (editable install), else the user cache's data folder."""
    root = source_root()
    return root / "data" if root is not None else user_cache() / "data"


def data_root_origin(data_dir: str | os.PathLike | None = None) -> str:
    """Why the data folder is where it is: the argument, $KLIF_EDU_DATA, the checkout or the user cache."""
    if data_dir is not None:
        return "the data_dir argument (--data-dir)"
    if os.environ.get(DATA_ENV, "").strip():
        return f"${DATA_ENV}"
    return "the source checkout" if source_root() is not None else "the user cache folder (not a checkout)"


def writable_dir(path: str | os.PathLike) -> bool:
    """True when files can be created in ``path`` (or, when it does not exist yet, could be made there).

    Asked first (``os.access``), then tried with a probe file that is removed at once: root passes
    every permission check, yet cannot write to a read-only mount or to /proc.
    """
    path = Path(path)
    probe_in = path
    while not probe_in.exists():  # not made yet: it can be made where its nearest existing parent is writable
        if probe_in.parent == probe_in:
            return False
        probe_in = probe_in.parent
    if not probe_in.is_dir() or not os.access(probe_in, os.W_OK | os.X_OK):
        return False
    try:
        fd, name = tempfile.mkstemp(dir=probe_in, prefix=".klif-edu-write-probe-")
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass
    return True


def frame_cache_dir(root: str | os.PathLike) -> Path:
    """Where the frames of event datasets under data folder ``root`` are cached.

    ``root/cache`` when it can be written; else (a read-only class share) a folder of the user
    cache named after ``root``, so that two shares never mix their frames.
    """
    root = Path(root)
    if writable_dir(root / "cache"):
        return root / "cache"
    key = hashlib.sha256(str(root.resolve()).encode("utf-8")).hexdigest()[:12]
    return user_cache() / "frames" / key


def default_runs_root() -> Path:
    """<checkout>/runs in a source checkout, else ``runs`` in the current folder (the notebooks' folder)."""
    root = source_root()
    return root / "runs" if root is not None else Path.cwd() / "runs"


def data_dir_help() -> str:
    """The --data-dir help of the command line: the default this machine really uses."""
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        where = f"${DATA_ENV}, now {expand(env)}"
    else:
        fallback = "in this checkout" if source_root() is not None else "the user cache folder"
        where = f"${DATA_ENV} when set, else {default_data_root()} ({fallback})"
    return f"dataset folder (default: {where})".replace("%", "%%")  # argparse formats help with %
