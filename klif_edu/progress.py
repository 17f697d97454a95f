"""``klif-edu progress DIR``: which exercises each student got right, wrong, or has not attempted.

    folders = find_results(["/home"])            # every klif-edu-results.json up to 3 folders down
    report = collect(folders)                    # one StudentProgress per file (damaged ones say why)
    print(table(report))                         # per notebook: right / wrong / not attempted

One student: ``klif-edu progress ~/klif-edu-notebooks``. A class on a JupyterHub:
``klif-edu progress /home`` finds ``/home/<student>/.../klif-edu-results.json``. The exercises
of each notebook come from the registry (``klif_edu.exercises.EXERCISES``), so an exercise with
no verdict counts as not attempted; verdicts of exercises this version does not know (another
klif-edu version) are counted apart. A file that cannot be read is reported, never a crash.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import EXERCISES
from .exercises.results import RESULTS_FILE, ResultsUnreadable, read_results

__all__ = ["StudentProgress", "find_results", "collect", "table", "detail", "as_csv", "SKIP_DIRS", "MAX_DEPTH"]

MAX_DEPTH = 3  # DIR/<student>/<notebooks folder>/<one more>
SKIP_DIRS = {"runs", "data", "__pycache__", "node_modules", "site-packages"}
_SHORT = {"right": "R", "wrong": "W", "not attempted": "N"}


@dataclass
class StudentProgress:
    """One results file: whose (a label), the verdict of every known exercise, and what went wrong reading it."""

    label: str
    path: Path
    status: dict[str, str] = field(default_factory=dict)  # exercise -> right / wrong / not attempted
    unknown: list[str] = field(default_factory=list)  # verdicts of exercises this version does not know
    error: str = ""  # why the file could not be read ("" when it could)
    titles: dict[str, str] = field(default_factory=dict)  # "03" -> "03_klif_neuron" (notebooks beside it)


def _notebook(name: str) -> str:
    return name.split(".")[0]


def _notebooks() -> list[str]:
    """The notebook prefixes that have exercises, in order ("01", ..., "12", "run")."""
    return sorted({_notebook(n) for n in EXERCISES}, key=lambda p: (not p.isdigit(), p))


def find_results(dirs: list[str | os.PathLike], depth: int = MAX_DEPTH) -> list[Path]:
    """Every results file in ``dirs`` or up to ``depth`` folders below them (hidden folders and runs/ skipped)."""
    found: list[Path] = []
    for top in map(Path, dirs):
        top_depth = len(top.parts)
        for folder, subdirs, files in os.walk(top, onerror=lambda err: None):
            here = Path(folder)
            if RESULTS_FILE in files or (here / RESULTS_FILE).is_dir():
                found.append(here / RESULTS_FILE)
            if len(here.parts) - top_depth >= depth:
                subdirs[:] = []
            else:
                subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in SKIP_DIRS
                                    and d != RESULTS_FILE)
    return sorted(dict.fromkeys(found))


def _label(path: Path, tops: list[Path]) -> str:
    folder = path.parent
    for top in tops:
        try:
            rel = folder.relative_to(top)
        except ValueError:
            continue
        return str(rel) if str(rel) != "." else (folder.name or str(folder))
    return str(folder)


def _titles(folder: Path) -> dict[str, str]:
    titles = {}
    try:
        for nb in sorted(folder.glob("*.ipynb")):
            prefix = nb.stem.split("_")[0]
            titles.setdefault(prefix, nb.stem)
    except OSError:
        pass
    return titles


def collect(files: list[Path], tops: list[str | os.PathLike] | None = None) -> list[StudentProgress]:
    """One StudentProgress per results file: every registered exercise judged or not attempted."""
    tops_p = [Path(t) for t in (tops or [])]
    report = []
    for path in files:
        student = StudentProgress(_label(path, tops_p), path, titles=_titles(path.parent))
        try:
            entries = read_results(path)
        except ResultsUnreadable as err:
            student.error = str(err)
            report.append(student)
            continue
        student.status = {name: entries.get(name, {}).get("status", "not attempted") for name in EXERCISES}
        student.unknown = sorted(n for n in entries if n not in EXERCISES)
        report.append(student)
    return report


def _counts(student: StudentProgress, notebook: str) -> dict[str, int]:
    counts = {s: 0 for s in _SHORT}
    for name, status in student.status.items():
        if _notebook(name) == notebook:
            counts[status] += 1
    return counts


def table(report: list[StudentProgress]) -> str:
    """Students down, notebooks across; each cell ``R2 W1 N0`` (right, wrong, not attempted)."""
    notebooks = _notebooks()
    header = ["student", *notebooks, "total right"]
    rows, unreadable = [], []
    for student in report:
        if student.error:
            unreadable.append(f"{student.label}: unreadable ({student.error})")
            continue
        cells = [" ".join(f"{_SHORT[s]}{n}" for s, n in _counts(student, nb).items()) for nb in notebooks]
        right = sum(s == "right" for s in student.status.values())
        extra = f" (+{len(student.unknown)} unknown)" if student.unknown else ""
        rows.append([student.label, *cells, f"{right}/{len(student.status)}{extra}"])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    legend = ("R right, W wrong, N not attempted: the exercises of each notebook in this klif-edu's registry "
              "(\"run\": the exercise on your own run, in any training notebook 05-10)")
    return "\n".join([*lines, *unreadable, "", legend])


def detail(student: StudentProgress) -> str:
    """One student: per notebook, which exercises are right, wrong and not attempted, by name."""
    if student.error:
        return f"{student.label}: unreadable: {student.error}"
    right = sum(s == "right" for s in student.status.values())
    lines = [f"{student.label} ({student.path}): {right} of {len(student.status)} exercises right"]
    for nb in _notebooks():
        title = student.titles.get(nb, nb)
        groups = {s: [n for n, st in student.status.items() if _notebook(n) == nb and st == s] for s in _SHORT}
        total = sum(len(g) for g in groups.values())
        lines.append(f"  {title}: {len(groups['right'])}/{total} right")
        for status, names in groups.items():
            if names:
                lines.append(f"    {status}: {', '.join(names)}")
    if student.unknown:
        lines.append(f"  not in this klif-edu version's exercises: {', '.join(student.unknown)}")
    return "\n".join(lines)


def as_csv(report: list[StudentProgress]) -> str:
    """Long format for a spreadsheet: student, notebook, exercise, status (one row per exercise)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "notebook", "exercise", "status"])
    for student in report:
        if student.error:
            writer.writerow([student.label, "", "", f"unreadable: {student.error}"])
            continue
        for name, status in student.status.items():
            writer.writerow([student.label, student.titles.get(_notebook(name), _notebook(name)), name, status])
    return out.getvalue()
