"""Feedback a student can trust: "close" for rounding, targeted hints for common slips, classes as answers."""
import math

import pytest
import torch

from klif_edu import surrogate
from klif_edu.exercises import CLOSE_RTOL, EXERCISES, check


def _verdict(name, answer, capsys, run=None):
    ok = check(name, answer, run=run)
    return ok, capsys.readouterr().out


@pytest.mark.parametrize("name", [n for n, ex in EXERCISES.items() if ex.kind == "number" and not ex.needs_run
                                  and ex.judge is None and EXERCISES[n].answer() != 0])
def test_an_answer_a_few_percent_off_is_close_not_a_hint(name, capsys):
    ex = EXERCISES[name]
    target = float(ex.answer())
    off = target * (1 - 0.6 * CLOSE_RTOL)  # outside the tolerance, within a few percent (and off every slip)
    ok, out = _verdict(name, off, capsys)
    if math.isclose(off, target, rel_tol=ex.rtol, abs_tol=ex.atol):  # a small answer: atol is wider than 3 %
        assert ok, out
        return
    assert not ok and "close" in out and "keep more digits" in out and "Hint:" not in out


def test_a_far_answer_gets_the_generic_hint_not_close(capsys):
    ok, out = _verdict("02.hand_grad", 0.9, capsys)
    assert not ok and "close" not in out and EXERCISES["02.hand_grad"].hint in out


@pytest.mark.parametrize("name, slip, words", [
    ("02.sigmoid_peak", 0.25, "multiply by alpha"),
    ("01.beta", math.exp(-1 / 4), "exp(-1/tau)"),
    ("01.beta", 0.25, "leaks away"),
    ("02.hand_grad", float(surrogate.Sigmoid(4.0).derivative(torch.tensor(0.6, dtype=torch.float64))) / 2,
     "not at X - V_th"),
    ("03.k_slope", 0.5, "divides the width"),
    ("03.k_center", 1.0, "centre for k = 1"),
])
def test_common_slips_get_their_own_message(name, slip, words, capsys):
    ok, out = _verdict(name, slip, capsys)
    assert not ok and words in out and "close" not in out


def test_beta_slip_is_within_a_few_percent_yet_named():
    # exp(-1/4) = 0.7788 lies 3.8 % from 0.75: the slip must win over the "close" message
    assert abs(math.exp(-0.25) - 0.75) / 0.75 < CLOSE_RTOL


@pytest.mark.parametrize("answer", [surrogate.FastSigmoid, surrogate.FastSigmoid(), "FastSigmoid", " fastsigmoid "])
def test_narrowest_accepts_the_class_an_instance_or_its_name(answer, capsys):
    assert EXERCISES["02.narrowest"].answer() == "FastSigmoid"
    ok, out = _verdict("02.narrowest", answer, capsys)
    assert ok, out


@pytest.mark.parametrize("answer", [surrogate.Sigmoid, surrogate.ATan(), "Triangle"])
def test_narrowest_rejects_another_surrogate_class(answer, capsys):
    ok, out = _verdict("02.narrowest", answer, capsys)
    assert not ok and "not quite" in out


def test_choice_exercises_never_say_close(capsys):
    ok, out = _verdict("01.first_spike", EXERCISES["01.first_spike"].answer() + 1, capsys)
    assert not ok and "close" not in out


# --- notebook 12: numbers, not yes/no; the real study's interval is checked too ----------------
def test_detectable_asks_for_a_number_that_cannot_be_guessed(capsys):
    assert check("12.detectable", 8)
    for guess in ("yes", "no", 5, 6, 7, 9, 10):
        ok, out = _verdict("12.detectable", guess, capsys)
        assert not ok, guess
    assert "contains 0" in _verdict("12.detectable", 5, capsys)[1]


def test_study_low_is_checked_against_the_committed_study(capsys):
    from klif_edu.study import committed_study

    summary = committed_study()
    low = 100 * summary["comparisons"]["klif - lif"]["low"]  # what the report prints
    assert check("12.study_low", round(low, 2), run=summary)
    capsys.readouterr()
    for wrong, words in ((100 * summary["comparisons"]["klif - lif"]["high"], "upper end"),
                         (100 * summary["comparisons"]["klif - lif"]["mean"], "mean difference"),
                         (low / 100, "percentage points"), (0.0, "Hint:")):
        ok, out = _verdict("12.study_low", wrong, capsys, run=summary)
        assert not ok and words in out, (wrong, out)
    ok, out = _verdict("12.study_low", low, capsys, run=summary)
    assert ok and "not quite" not in out
    assert "contains 0" in str(__import__("klif_edu.exercises", fromlist=["solution"]).solution("12.study_low", run=summary))


def test_study_low_without_the_study_says_how_to_pass_it(capsys):
    ok, out = _verdict("12.study_low", -0.04, capsys)
    assert not ok and "run=" in out
