"""Exercises: every reference answer is judged right, a known-wrong one wrong with a hint."""
import math

import numpy as np
import pytest
import torch

from klif_edu import LIF, surrogate
from klif_edu.exercises import EXERCISES, Solution, check, names, solution

ALL_NAMES = list(EXERCISES)


def _run(ex):
    """The example run of an exercise about the student's own run (None for the others)."""
    return ex.example_run() if ex.needs_run else None


def test_every_notebook_has_two_or_three_exercises():
    for nb in ("01", "02", "03"):
        assert 2 <= len(names(nb)) <= 4, nb
    assert names("04") == ["04.network", "04.mse", "04.loss", "04.step", "04.epoch"]  # the net, then the loop
    assert sorted(names()) == sorted(ALL_NAMES)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_reference_answer_is_right(name, capsys):
    run = _run(EXERCISES[name])
    answer = EXERCISES[name].answer(run)
    assert check(name, answer, strict=True, run=run) is True
    assert check(name, answer, run=run) is True
    out = capsys.readouterr().out
    assert "right" in out and "not quite" not in out


@pytest.mark.parametrize("name", ALL_NAMES)
def test_known_wrong_answer_is_wrong_with_hint(name, capsys):
    ex = EXERCISES[name]
    assert check(name, ex.wrong_example, run=_run(ex)) is False
    out = capsys.readouterr().out
    assert "not quite" in out and "Hint:" in out and ex.hint in out
    with pytest.raises(AssertionError, match="Hint:"):
        check(name, ex.wrong_example, strict=True, run=_run(ex))


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("missing", [None, ...])
def test_not_attempted(name, missing, capsys):
    assert check(name, missing) is False
    out = capsys.readouterr().out
    assert "not attempted" in out and "Hint" not in out
    with pytest.raises(AssertionError, match="not attempted"):
        check(name, missing, strict=True)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_known_mistakes_get_their_own_hint(name, capsys):
    ex = EXERCISES[name]
    for wrong, why in ex.mistakes:
        value = wrong(_run(ex)) if ex.needs_run else wrong()
        assert check(name, value, run=_run(ex)) is False, (name, value)
        assert why in capsys.readouterr().out


@pytest.mark.parametrize("name", ALL_NAMES)
def test_solution_reveals_the_reference(name):
    ex = EXERCISES[name]
    text = solution(name, run=_run(ex))
    assert isinstance(text, Solution) and name in text and ex.question in text
    answer = ex.answer(_run(ex))
    shown = answer.__name__ if callable(answer) else f"{answer:.4g}" if isinstance(answer, float) else str(answer)
    assert f"**{shown}**" in text
    assert text._repr_markdown_() == str(text)


def test_an_exercise_about_the_own_run_needs_the_run(capsys):
    assert check("run.half_peak", 0.3) is False  # no run passed: a clear message, no exception
    assert "run=" in capsys.readouterr().out
    trace, neuron = EXERCISES["run.half_peak"].example_run()
    h = trace.h.double()
    k = float(neuron.k.detach())
    # by hand: dS/dH >= half its peak where |k*H - V_th| <= the surrogate's half width (and k*H > 0)
    by_hand = float(((k * h - 1.0).abs() <= neuron.surrogate.half_max_halfwidth()).double().mean())
    assert check("run.half_peak", by_hand, run=(trace, neuron)) is True


def test_solution_is_not_printed_by_check(capsys):
    check("03.k_slope", 1.0)
    check("03.k_slope", 2.0)
    assert "Answer:" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "odd", ["two", [2.0], {"k": 2}, object(), torch.ones(3), float("nan"), float("inf"), True]
)
def test_odd_answers_never_raise(odd, capsys):
    assert check("03.k_slope", odd) is False
    assert "Hint:" in capsys.readouterr().out


def test_numeric_answers_in_other_types_are_accepted():
    ref = EXERCISES["03.k_slope"].answer()
    for value in (ref, int(ref), np.float32(ref), torch.tensor(ref), torch.tensor([ref]), f" {ref} "):
        assert check("03.k_slope", value, strict=True)


def test_tolerance_accepts_rounding_but_not_a_different_answer():
    ref = EXERCISES["02.hand_grad"].answer()
    assert check("02.hand_grad", round(ref, 2), strict=True)
    assert not check("02.hand_grad", ref * 1.05)


def test_integer_exercise_rejects_fractions(capsys):
    ref = EXERCISES["01.first_spike"].answer()
    assert check("01.first_spike", float(ref), strict=True)
    assert not check("01.first_spike", ref + 0.5)
    assert "whole number" in capsys.readouterr().out


def test_choice_exercise_ignores_case_and_spaces(capsys):
    ref = EXERCISES["02.narrowest"].answer()
    assert check("02.narrowest", f"  {ref.lower()} ", strict=True)
    assert not check("02.narrowest", "Gaussian")
    assert "expected one of" in capsys.readouterr().out


def test_unknown_exercise(capsys):
    assert check("99.nope", 1.0) is False
    assert "no exercise called" in capsys.readouterr().out
    with pytest.raises(AssertionError):
        check("99.nope", 1.0, strict=True)
    with pytest.raises(KeyError):
        solution("99.nope")


# The reference answers come from the library; pin them to hand-derived values so a
# regression in the library or a registry slip shows up here.
HAND = {
    "01.first_spike": 3,  # H = 0.55, 0.825, 0.9625, 1.03125
    "01.most_spikes_tau": 1.5,
    "01.beta": 1 - 1 / 4,
    "02.sigmoid_peak": 8 / 4,
    "02.hand_grad": 4 * (1 / (1 + math.exp(0.8))) * (1 - 1 / (1 + math.exp(0.8))) / 2,
    "02.narrowest": "FastSigmoid",
    "03.k_slope": 2 * 4 / 4,
    "03.k_center": 1 / 0.5,
    "03.gate_grad": 0.0,
    "03.klif_first_spike": 6,  # V = 0.75 V + 0.3: 0.3, 0.525, 0.694, 0.820, 0.915, 0.986, 1.040
    "04.network": "SolutionNet",
    "04.mse": (0.4**2 + 0.2**2 + 0.2**2) / 10,
    "04.loss": "mse_on_rates",
    "04.step": "train_step",
    "04.epoch": "run_epoch",
    "05.vote": 20 / (10 * 8),
    "05.width_ratio": 1 / 1.25,
    "06.mse_loss": (1 - 0.2) ** 2 / 10,
    "06.slope_ratio": 1.6,
    "07.conv1_weights": 3 * 256 * 3 * 3,
    "07.k_count": 6 + 2,
    "08.sample_numbers": 10 * 2 * 34 * 34,
    "08.centre_shift": 1 / 0.8,
    "09.fc1_inputs": 128 * (128 // 2**4) ** 2,
    "09.width_ratio": 1 / 0.5,
    "10.output_neurons": 11 * 10,
    "10.fc1_inputs": 128 * (128 // 2**5) ** 2,
    "11.margin": 93.4 - 92.9,
    "11.noise": "no",
    "12.paired_mean": (0.4 - 0.3 + 0.7 + 0.7 + 0.3) / 5,  # d = KLIF - LIF per seed
    "12.interval_low": 0.36 - 2.776445105 * math.sqrt(0.168 / 5),  # sd^2 = 0.672 / 4, t(0.975, 4) from a table
    # same mean 0.36 and sd sqrt(0.168): n = 7 gives 0.36 - 2.447 * 0.4099 / sqrt(7) = -0.019, n = 8 (t = 2.365) +0.017
    "12.detectable": 8,
    "13.k_fire_leak": 1 - 1 / 2,  # k-fire carries ReLU(H): LIF's leak whatever k is
}


def test_hand_values_cover_every_exercise():
    assert set(HAND) == {n for n, ex in EXERCISES.items() if not ex.needs_run}  # run.*: tested by hand above


@pytest.mark.parametrize("name", sorted(HAND))
def test_reference_matches_hand_derivation(name):
    ref, hand = EXERCISES[name].answer(), HAND[name]
    if callable(ref):
        assert ref.__name__ == hand
    elif isinstance(hand, str):
        assert ref == hand
    else:
        assert math.isclose(float(ref), hand, rel_tol=1e-6, abs_tol=1e-9)


def test_most_spikes_tau_really_fires_most():
    counts = {tau: int(LIF(tau=tau)(torch.full((20, 1), 1.2)).sum()) for tau in (1.5, 2.0, 4.0, 8.0)}
    assert counts[1.5] > max(c for t, c in counts.items() if t != 1.5)


def test_gate_grad_wrong_example_is_the_ungated_surrogate():
    ungated = 1.5 * float(surrogate.Sigmoid(4.0).derivative(torch.tensor(1.5 * -0.3 - 1.0)))
    assert ungated > 1e-3  # big enough to be told apart from 0
    assert math.isclose(EXERCISES["03.gate_grad"].wrong_example, ungated, rel_tol=1e-6)
