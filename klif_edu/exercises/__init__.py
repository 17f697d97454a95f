"""Answer checks for the notebooks' exercises: right, wrong with a hint, or not attempted.

    from klif_edu.exercises import check, solution
    answer = None                       # the student replaces None with a number or a word
    check("03.k_slope", answer)         # prints the verdict, returns True/False, never raises
    solution("03.k_slope")              # the worked answer, only when asked for

Reference answers are computed by the library itself (``klif_edu.neurons``,
``klif_edu.surrogate``) when a check runs, so they follow the code they teach.
``check(..., strict=True)`` raises ``AssertionError`` instead of printing "wrong" or
"not attempted": the test suite uses it. Otherwise each verdict is kept in
``klif-edu-results.json`` beside the notebook (``klif_edu.exercises.results``), which
``klif-edu progress`` tabulates for a teacher.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from . import network_series, neuron_series, peers_series, study_series, training_series
from ..surrogate import Surrogate
from ._exercise import _CHOICE, _INTEGER, _NUMBER, Exercise

__all__ = ["Exercise", "EXERCISES", "check", "solution", "names"]

EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in neuron_series.EXERCISES + network_series.EXERCISES + training_series.EXERCISES + study_series.EXERCISES
    + peers_series.EXERCISES
}


def names(notebook: str | None = None) -> list[str]:
    """Exercise names, all or those of one notebook prefix such as "03"."""
    return [n for n in EXERCISES if notebook is None or n.split(".")[0] == notebook]


# --- judging -------------------------------------------------------------------------------
def _as_float(answer: Any) -> float | None:
    if isinstance(answer, bool):
        return None
    if isinstance(answer, torch.Tensor):
        return float(answer.detach().reshape(())) if answer.numel() == 1 else None
    if isinstance(answer, numbers.Real):
        return float(answer)
    if isinstance(answer, str):
        try:
            return float(answer.strip())
        except ValueError:
            return None
    try:  # numpy scalars and 1-element arrays
        return float(answer)
    except (TypeError, ValueError):
        return None


def _normalise(answer: Any) -> str:
    if isinstance(answer, type):  # a class named as the answer, e.g. surrogate.FastSigmoid
        answer = answer.__name__
    elif isinstance(answer, Surrogate):  # or an instance of it, surrogate.FastSigmoid()
        answer = type(answer).__name__
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool):
        return f"{float(answer):g}"
    return "".join(str(answer).split()).lower()


def _same(ex: Exercise, answer: Any, target: Any) -> bool:
    if ex.kind == _CHOICE:
        return _normalise(answer) == _normalise(target)
    value = _as_float(answer)
    if value is None or not math.isfinite(value):
        return False
    if ex.kind == _INTEGER:
        return value == int(target)
    return math.isclose(value, float(target), rel_tol=ex.rtol, abs_tol=ex.atol)


#: A number within this relative distance of the reference (but outside the tolerance) is "close".
CLOSE_RTOL = 0.05


def _close(ex: Exercise, answer: Any, target: Any) -> bool:
    """A numeric answer a few percent off the reference: most likely rounded too early."""
    if ex.kind != _NUMBER:
        return False
    value, target = _as_float(answer), float(target)
    if value is None or not math.isfinite(value) or target == 0.0:
        return False
    return abs(value - target) <= CLOSE_RTOL * abs(target)


def _type_problem(ex: Exercise, answer: Any) -> str | None:
    if ex.kind == _CHOICE:
        if _normalise(answer) not in {_normalise(c) for c in ex.choices}:
            return f"expected one of: {', '.join(ex.choices)}"
        return None
    value = _as_float(answer)
    if value is None:
        return f"expected a number, got {type(answer).__name__}"
    if ex.kind == _INTEGER and value != int(value):
        return "expected a whole number"
    return None


def _verdict(ex: Exercise, answer: Any, run: Any = None) -> tuple[str, str]:
    """("right"|"wrong"|"not attempted", message)."""
    if answer is None or answer is Ellipsis:
        return "not attempted", f"{ex.name}: not attempted yet. Replace None with your answer and run the cell again."
    if ex.judge is not None:
        why = ex.judge(answer)
        return ("right", f"{ex.name}: right, well done.") if why is None else (
            "wrong", f"{ex.name}: not quite. {why} Hint: {ex.hint}")
    problem = _type_problem(ex, answer)
    if problem is not None:
        return "wrong", f"{ex.name}: {problem}. Hint: {ex.hint}"
    target = ex.answer(run)
    if _same(ex, answer, target):
        return "right", f"{ex.name}: right, well done."
    for wrong, why in ex.mistakes:  # a known slip first: some lie within a few percent of the answer
        if _same(ex, answer, wrong(run) if ex.needs_run else wrong()):
            return "wrong", f"{ex.name}: not quite ({answer!r}). {why} Hint: {ex.hint}"
    if _close(ex, answer, target):
        return "wrong", (f"{ex.name}: close ({answer!r}), but outside the tolerance: keep more digits in "
                         "the intermediate steps (round only at the end).")
    return "wrong", f"{ex.name}: not quite ({answer!r}). Hint: {ex.hint}"


# Marks in DejaVu Sans (so they show without an emoji font): check, cross, open circle.
_MARK = {"right": "\u2714", "wrong": "\u2718", "not attempted": "\u25cb"}


def check(name: str, answer: Any, *, strict: bool = False, run: Any = None) -> bool:
    """Judge ``answer`` for exercise ``name``; print right / wrong with a hint / not attempted.

    ``run``: the student's own run, for exercises whose answer comes from it (``needs_run``).
    Returns True only for a right answer. Never raises unless ``strict=True``, where a wrong,
    missing or unknown answer raises ``AssertionError`` (for tests).
    """
    ex = EXERCISES.get(name)
    if ex is None:
        msg = f"There is no exercise called {name!r}; known exercises: {', '.join(EXERCISES)}"
        if strict:
            raise AssertionError(msg)
        print(msg)
        return False
    try:
        status, msg = _verdict(ex, answer, run)
    except Exception as err:  # a student's odd answer must never break the notebook
        status, msg = "wrong", f"{ex.name}: could not read that answer ({err}). Hint: {ex.hint}"
    if not strict:  # a student's verdict, kept beside the notebook for `klif-edu progress`
        from .results import record

        record(ex.name, status)
    if strict and status != "right":
        raise AssertionError(msg)
    print(f"{_MARK[status]} {msg}")
    return status == "right"


class Solution(str):
    """The worked answer: shown as Markdown in a notebook, plain text elsewhere."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def solution(name: str, run: Any = None) -> Solution:
    """The worked answer of exercise ``name`` (raises KeyError for an unknown name; ``run`` as in check)."""
    if name not in EXERCISES:
        raise KeyError(f"There is no exercise called {name!r}; known exercises: {', '.join(EXERCISES)}")
    ex = EXERCISES[name]
    answer = ex.answer(run)
    shown = answer.__name__ if callable(answer) else f"{answer:.4g}" if isinstance(answer, float) else str(answer)
    return Solution(f"**{ex.name}**: {ex.question}\n\nAnswer: **{shown}**. {ex.worked(answer)}")
