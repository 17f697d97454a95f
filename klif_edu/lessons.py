"""The lesson notebooks outside the package: list them, copy them out, open them in JupyterLab.

    for lesson in list_lessons(): print(lesson.line())
    report = copy_notebooks("klif-edu-notebooks")    # never overwrites what a student changed
    open_lab("klif-edu-notebooks")                    # copies when needed, then starts JupyterLab there

Every copied notebook records where it came from in its metadata (``klif_edu``: the version, the
notebook's name and a fingerprint of its cells). A later copy compares the student's file with that
fingerprint: an unchanged old copy is replaced by the package's version; a changed one (edited, or run
and saved with outputs) is left alone, and when the package's version is newer it is written beside it
as NAME.klif-edu-VERSION.ipynb.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .files import atomic_open
from .resources import notebooks_dir

__all__ = ["DEFAULT_DEST", "META_KEY", "Lesson", "CopyReport", "list_lessons", "fingerprint",
           "copy_notebooks", "open_lab"]

DEFAULT_DEST = "klif-edu-notebooks"
META_KEY = "klif_edu"
_TIME = re.compile(r"\*\*Time:\*\* about (\d+) minutes")
_DATASET = re.compile(r'^DATASET = "([a-z0-9-]+)"', re.M)


def _version() -> str:
    from . import __version__

    return __version__


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


@dataclass(frozen=True)
class Lesson:
    """One notebook of the series: file name, title, minutes, what it needs beyond a laptop CPU."""

    name: str
    title: str
    minutes: int | None
    dataset: str | None  # the dataset it downloads (None: it runs on what ships with klif-edu)
    download_bytes: int
    gpu: str  # "no", or when a GPU is wanted

    def line(self) -> str:
        """One line of `klif-edu notebooks --list`."""
        minutes = f"{self.minutes} min" if self.minutes else "? min"
        if self.dataset and self.download_bytes:
            download = f"downloads {self.dataset} ({self.download_bytes / 2**20:,.0f} MB)"
        else:
            download = "no download"
        return f"{self.name:<30} {minutes:>7}  GPU: {self.gpu:<18} {download:<32} {self.title}"


def _lesson(path: Path) -> Lesson:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb.get("cells", [])
    first = _text(cells[0]["source"]) if cells else ""
    title = first.splitlines()[0].lstrip("# ").strip() if first.strip() else path.stem
    minutes = _TIME.search(first)
    params = next((_text(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), "")
    dataset = _DATASET.search(params)
    size = 0
    if dataset:
        from .data import download_size

        size = download_size(dataset.group(1))
    gpu = "for full mode only" if re.search(r"^MODE = ", params, re.M) else "no"
    return Lesson(path.name, title, int(minutes.group(1)) if minutes else None,
                  dataset.group(1) if dataset else None, size, gpu)


def list_lessons(source: str | os.PathLike | None = None) -> list[Lesson]:
    """The series in order (notebooks of the installed klif-edu, or of ``source``)."""
    folder = Path(source) if source is not None else notebooks_dir()
    return [_lesson(p) for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))]


def fingerprint(nb: dict[str, Any]) -> str:
    """sha256 of a notebook's cells (type, source, outputs): running and saving a notebook changes it too."""
    cells = [[c.get("cell_type"), _text(c.get("source", "")), c.get("outputs", [])] for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode("utf-8")).hexdigest()


def _newer(a: str, b: str) -> bool:
    """Version a is later than version b (PEP 440)."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) > Version(b)
    except InvalidVersion:
        return a != b


@dataclass
class CopyReport:
    """What copy_notebooks did, file by file (names relative to the destination)."""

    dest: Path
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    beside: dict[str, str] = field(default_factory=dict)  # the student's file -> the new version's file

    def lines(self) -> list[str]:
        """Human-readable summary, one line per kind of outcome (and per notebook written beside)."""
        out = []
        for what, names in (("copied", self.copied), ("updated (you had not changed them)", self.updated),
                            ("already up to date", self.unchanged), ("kept as you changed them", self.kept)):
            if names:
                out.append(f"{what}: {', '.join(names)}")
        for mine, new in self.beside.items():
            out.append(f"{mine} is yours (changed); the newer version of it is in {new}")
        return out


def _stamped(nb: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(nb)
    out.setdefault("metadata", {})[META_KEY] = {"version": _version(), "notebook": name,
                                                "fingerprint": fingerprint(nb)}
    return out


def _write(path: Path, nb: dict[str, Any]) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return nb if isinstance(nb, dict) else None


def copy_notebooks(dest: str | os.PathLike = DEFAULT_DEST, source: str | os.PathLike | None = None) -> CopyReport:
    """Copy the lessons into ``dest``; add what is missing, never overwrite a notebook the student changed."""
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest} is a file, not a folder; give a folder for the notebooks")
    lessons = sorted((Path(source) if source is not None else notebooks_dir()).glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        raise FileNotFoundError("no lesson notebooks found in this klif-edu install; reinstall it")
    dest.mkdir(parents=True, exist_ok=True)
    report = CopyReport(dest)
    version = _version()
    for src in lessons:
        name, target = src.name, dest / src.name
        shipped = json.loads(src.read_text(encoding="utf-8"))
        if not target.exists():
            _write(target, _stamped(shipped, name))
            report.copied.append(name)
            continue
        mine = _read(target)
        meta = (mine or {}).get("metadata", {}).get(META_KEY, {})
        if mine is not None and fingerprint(mine) == fingerprint(shipped):
            report.unchanged.append(name)
        elif mine is not None and meta.get("fingerprint") == fingerprint(mine):
            _write(target, _stamped(shipped, name))  # an untouched copy of another version
            report.updated.append(name)
        elif meta.get("fingerprint") == fingerprint(shipped) or (
                meta.get("version") and not _newer(version, meta["version"])):
            report.kept.append(name)  # changed, and the package has nothing newer than what the student started from
        else:
            beside = target.with_name(f"{target.stem}.klif-edu-{version}.ipynb")
            if not beside.exists():
                _write(beside, _stamped(shipped, name))
            report.kept.append(name)
            report.beside[name] = beside.name
    return report


def _jupyter_lab(argv: list[str]) -> None:
    from jupyterlab.labapp import LabApp

    LabApp.launch_instance(argv=argv)


def open_lab(dest: str | os.PathLike = DEFAULT_DEST, launcher: Callable[[list[str]], Any] | None = None,
             say: Callable[[str], Any] = print) -> CopyReport:
    """Copy the lessons into ``dest`` when needed, then run JupyterLab there (``launcher(argv)``)."""
    if launcher is None:
        try:
            import jupyterlab  # noqa: F401
        except ImportError:
            raise ModuleNotFoundError(
                "JupyterLab is not installed; install it with `pip install \"klif-edu[notebooks]\"` "
                "(or `pip install jupyterlab`), then run `klif-edu lab` again") from None
        launcher = _jupyter_lab
    report = copy_notebooks(dest)
    for line in report.lines():
        say(line)
    first = sorted(report.dest.glob("01_*.ipynb"))
    argv = [f"--ServerApp.root_dir={report.dest.resolve()}"] + [str(p.resolve()) for p in first[:1]]
    launcher(argv)
    return report

