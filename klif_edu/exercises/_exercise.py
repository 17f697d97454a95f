"""The Exercise record shared by the catalogues and the checker."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

_NUMBER, _INTEGER, _CHOICE = "number", "integer", "choice"


@dataclass(frozen=True)
class Exercise:
    """One exercise: its question, how to compute the reference answer, how to judge an answer.

    ``kind``: "number" (compared with ``rtol``/``atol``), "integer" (exact) or "choice" (a word
    from ``choices``, case and spaces ignored). ``mistakes`` maps known wrong answers to a hint
    aimed at that mistake; ``wrong_example`` is a known-wrong answer the tests use.
    """

    name: str
    question: str
    reference: Callable[[], Any]
    hint: str
    worked: Callable[[Any], str]
    wrong_example: Any
    kind: str = _NUMBER
    rtol: float = 1e-2  # hand-computed answers are rounded
    atol: float = 1e-3
    choices: tuple[str, ...] = ()
    mistakes: tuple[tuple[Callable[..., Any], str], ...] = field(default_factory=tuple)
    # For answers that are code (a network class): judge(answer) -> None when right, else why not.
    judge: Callable[[Any], str | None] | None = None
    needs_run: bool = False  # the reference (and mistakes) take the student's own run: check(..., run=...)
    example_run: Callable[[], Any] | None = None  # a small stand-in run, for the tests of a needs_run exercise

    def answer(self, run: Any = None) -> Any:
        """The reference answer, computed now by the library (from ``run`` when the exercise needs one)."""
        if self.needs_run:
            if run is None:
                raise ValueError(f"{self.name} is about your own run: pass it, check({self.name!r}, answer, run=...)")
            return self.reference(run)
        return self.reference()
