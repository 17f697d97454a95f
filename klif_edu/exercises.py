"""Answer checks for the notebooks' exercises: right, wrong with a hint, or not attempted.

    from klif_edu.exercises import check, solution
    answer = None                       # the student replaces None with a number or a word
    check("03.k_slope", answer)         # prints the verdict, returns True/False, never raises
    solution("03.k_slope")              # the worked answer, only when asked for

Reference answers are computed by the library itself (``klif_edu.neurons``,
``klif_edu.surrogate``) when a check runs, so they follow the code they teach.
``check(..., strict=True)`` raises ``AssertionError`` instead of printing "wrong" or
"not attempted": the test suite uses it.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .neurons import LIF
from .surrogate import ALL, ATan, Sigmoid, effective_derivative, effective_surrogate

__all__ = ["Exercise", "EXERCISES", "check", "solution", "names"]

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
    mistakes: tuple[tuple[Callable[[], Any], str], ...] = field(default_factory=tuple)

    def answer(self) -> Any:
        """The reference answer, computed now by the library."""
        return self.reference()


# --- reference answers, computed with the library -----------------------------------------
def _first_spike_step(x: float, tau: float, steps: int = 50) -> int:
    spikes = LIF(tau=tau)(torch.full((steps, 1), x)).flatten()
    hits = torch.nonzero(spikes).flatten()
    return int(hits[0]) if len(hits) else -1


def _spike_count(x: float, tau: float, steps: int) -> int:
    return int(LIF(tau=tau)(torch.full((steps, 1), x)).sum())


_TAUS = (1.5, 2.0, 4.0, 8.0)


def _most_spikes_tau() -> float:
    counts = {tau: _spike_count(1.2, tau, 20) for tau in _TAUS}
    return max(counts, key=counts.get)


def _charging(x: float, tau: float, steps: int) -> str:
    h = LIF(tau=tau).trace(torch.full((steps, 1), x)).h.flatten().tolist()
    return ";  ".join(f"H[{t}] = {v:.3g}" for t, v in enumerate(h))


def _beta(tau: float) -> float:
    # beta = what is left of V after one step without input (decay_input=False, no spike).
    n = LIF(tau=tau, decay_input=False, v_threshold=10.0)
    h = n.trace(torch.tensor([[0.5], [0.0]])).h.flatten()
    return float(h[1] / h[0])


def _hand_grad(x: float, tau: float = 2.0, alpha: float = 4.0) -> float:
    # One LIF step from rest: H = x / tau, S = Theta(H - V_th); dS/dx = g'(H - V_th) / tau.
    xt = torch.tensor([[x]], dtype=torch.float64, requires_grad=True)
    s = LIF(tau=tau, surrogate=Sigmoid(alpha)).trace(xt).s.sum()
    (grad,) = torch.autograd.grad(s, xt)
    return float(grad)


def _hand_grad_worked(x: float, answer: float, tau: float = 2.0, alpha: float = 4.0) -> str:
    h = x / tau
    s = float(torch.sigmoid(torch.tensor(alpha * (h - 1.0), dtype=torch.float64)))
    return (
        f"H = {x:g} / {tau:g} = {h:g}, so x = H - V_th = {h - 1:g}; s = sigmoid({alpha:g} * {h - 1:g}) "
        f"= {s:.3f}; g'(x) = {alpha:g} * {s:.3f} * {1 - s:.3f} = {alpha * s * (1 - s):.3f}; "
        f"dH/dX = 1/tau = {1 / tau:g}; dS/dX = {alpha * s * (1 - s):.3f} * {1 / tau:g} = {answer:.3f}."
    )


def _narrowest() -> str:
    widths = {name: cls().half_max_halfwidth() for name, cls in ALL.items()}
    return min(widths, key=widths.get)


def _k_slope(k: float) -> float:
    return effective_surrogate(Sigmoid(4.0), k=k, v_threshold=1.0).peak_slope


def _k_center(k: float) -> float:
    return effective_surrogate(Sigmoid(4.0), k=k, v_threshold=1.0).center


def _gated_grad(h: float, k: float) -> float:
    return float(effective_derivative(Sigmoid(4.0), torch.tensor(h, dtype=torch.float64), k, 1.0))


# --- the registry ------------------------------------------------------------------------
_LIST = [
    Exercise(
        name="01.first_spike",
        question=(
            "A LIF neuron (tau=2, V_th=1, hard reset to 0) starts at rest and gets a constant "
            "input X = 1.1 at every step. At which step t (counting from 0) does it fire first?"
        ),
        reference=lambda: _first_spike_step(1.1, 2.0),
        hint=(
            "Charge step by step with H[t] = V[t-1] + (X - V[t-1]) / tau from V = 0, "
            "and stop at the first H that reaches V_th = 1."
        ),
        worked=lambda a: (
            "H[t] = V[t-1] + (1.1 - V[t-1]) / 2 from V = 0: "
            f"{_charging(1.1, 2.0, a + 1)}. The first H >= 1 is at t = {a}."
        ),
        wrong_example=4,
        kind=_INTEGER,
        mistakes=((lambda: _first_spike_step(1.1, 2.0) + 1, "Count the steps from t = 0, not from 1."),),
    ),
    Exercise(
        name="01.most_spikes_tau",
        question=(
            "A constant input X = 1.2 drives a LIF neuron for 20 steps. Which tau in "
            f"{', '.join(f'{t:g}' for t in _TAUS)} gives the most spikes?"
        ),
        reference=_most_spikes_tau,
        hint=(
            "With decay_input=True, H creeps towards X whatever tau is; tau sets how fast. "
            "After a reset, which neuron gets back to the threshold soonest?"
        ),
        worked=lambda a: (
            "Each step closes 1/tau of the gap between V and X. The smaller tau, the bigger "
            f"the step, the sooner H reaches V_th again after every reset: tau = {a} fires most. "
            "Check it: LIF(tau=tau)(torch.full((20, 1), 1.2)).sum() for each tau."
        ),
        wrong_example=8,
        mistakes=((lambda: max(_TAUS), "A large tau means a slow leak, but also slow charging."),),
    ),
    Exercise(
        name="01.beta",
        question=(
            "snnTorch's Leaky neuron decays its membrane by a factor beta per step. "
            "Which beta matches our LIF with tau = 4 and decay_input=False?"
        ),
        reference=lambda: _beta(4.0),
        hint="With no input, H[t] = V[t-1] - V[t-1] / tau. What fraction of V is left?",
        worked=lambda a: f"H[t] = V[t-1] * (1 - 1/tau), so beta = 1 - 1/4 = {a:g}.",
        wrong_example=0.25,
        mistakes=((lambda: 1.0 / 4.0, "1/tau is the part that leaks away; beta is the part that stays."),),
    ),
    Exercise(
        name="02.sigmoid_peak",
        question="What is the largest value of the Sigmoid surrogate's derivative g'(x) for alpha = 8?",
        reference=lambda: Sigmoid(8.0).peak,
        hint="g'(x) = alpha * s(1 - s) with s = sigmoid(alpha*x); where is s(1 - s) largest?",
        worked=lambda a: f"At x = 0, s = 1/2, so g'(0) = alpha * 1/4 = 8/4 = {a:g}.",
        wrong_example=8.0,
        mistakes=((lambda: 8.0, "alpha multiplies s(1 - s), which is at most 1/4."),),
    ),
    Exercise(
        name="02.hand_grad",
        question=(
            "One LIF neuron (tau=2, V_th=1, Sigmoid surrogate with alpha=4) at rest gets X = 1.6 "
            "for one step. What is dS/dX?"
        ),
        reference=lambda: _hand_grad(1.6),
        hint=(
            "Chain rule: dS/dX = g'(H - V_th) * dH/dX with H = X / tau, "
            "g'(x) = alpha * s(1 - s), s = sigmoid(alpha*x)."
        ),
        worked=lambda a: _hand_grad_worked(1.6, a),
        wrong_example=0.856,
        mistakes=((lambda: 2.0 * _hand_grad(1.6), "Do not forget dH/dX = 1/tau in the chain rule."),),
    ),
    Exercise(
        name="02.narrowest",
        question=(
            "Among the surrogates in surrogate.ALL with their default alpha, which one has the "
            "narrowest g'(x) at half its peak? Answer with its name."
        ),
        reference=_narrowest,
        hint="Plot them side by side, or compare sur.half_max_halfwidth() for each one.",
        worked=lambda a: (
            "Half-maximum half-widths: "
            + ", ".join(f"{n} {c().half_max_halfwidth():.3f}" for n, c in ALL.items())
            + f"; the narrowest is {a}."
        ),
        wrong_example="Rectangular",
        kind=_CHOICE,
        choices=tuple(ALL),
    ),
    Exercise(
        name="03.k_slope",
        question=(
            "KLIF with the Sigmoid surrogate (alpha=4) and V_th=1 has k = 2. What is the "
            "largest value of dS/dH?"
        ),
        reference=lambda: _k_slope(2.0),
        hint="dS/dH = k * g'(k*H - V_th). The peak of g' for Sigmoid(4) is 4/4 = 1; what does k do to it?",
        worked=lambda a: f"Peak of g' is alpha/4 = 1, multiplied by k = 2: {a:g}.",
        wrong_example=1.0,
        mistakes=((lambda: _k_slope(1.0), "That is the peak for k = 1; k multiplies the slope."),),
    ),
    Exercise(
        name="03.k_center",
        question="For k = 0.5 and V_th = 1, at which membrane potential H is dS/dH largest?",
        reference=lambda: _k_center(0.5),
        hint="The surrogate peaks where k*H - V_th = 0.",
        worked=lambda a: f"k*H = V_th gives H = V_th / k = 1 / 0.5 = {a:g}: a small k moves the centre up.",
        wrong_example=0.5,
        mistakes=((lambda: 0.5, "That is V_th * k; solve k*H = V_th for H."),),
    ),
    Exercise(
        name="03.gate_grad",
        question="For k = 1.5, V_th = 1 and a membrane potential H = -0.3, what is dS/dH?",
        reference=lambda: _gated_grad(-0.3, 1.5),
        hint="Look at the gate F = ReLU(k*H) first: what is its derivative where k*H < 0?",
        worked=lambda a: (
            f"k*H = -0.45 < 0, so the ReLU gate blocks the gradient: dS/dH = {a:g}, "
            "even though the sigmoid surrogate alone would give a small positive value."
        ),
        wrong_example=float(1.5 * Sigmoid(4.0).derivative(torch.tensor(1.5 * -0.3 - 1.0))),
        atol=1e-4,
        mistakes=(
            (
                lambda: float(1.5 * Sigmoid(4.0).derivative(torch.tensor(1.5 * -0.3 - 1.0))),
                "That is the surrogate without the gate; F = ReLU(k*H) is flat for k*H < 0.",
            ),
        ),
    ),
]

EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in _LIST}


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


def _verdict(ex: Exercise, answer: Any) -> tuple[str, str]:
    """("right"|"wrong"|"not attempted", message)."""
    if answer is None or answer is Ellipsis:
        return "not attempted", f"{ex.name}: not attempted yet. Replace None with your answer and run the cell again."
    problem = _type_problem(ex, answer)
    if problem is not None:
        return "wrong", f"{ex.name}: {problem}. Hint: {ex.hint}"
    if _same(ex, answer, ex.answer()):
        return "right", f"{ex.name}: right, well done."
    for wrong, why in ex.mistakes:
        if _same(ex, answer, wrong()):
            return "wrong", f"{ex.name}: not quite ({answer!r}). {why} Hint: {ex.hint}"
    return "wrong", f"{ex.name}: not quite ({answer!r}). Hint: {ex.hint}"


# Marks in DejaVu Sans (so they show without an emoji font): check, cross, open circle.
_MARK = {"right": "\u2714", "wrong": "\u2718", "not attempted": "\u25cb"}


def check(name: str, answer: Any, *, strict: bool = False) -> bool:
    """Judge ``answer`` for exercise ``name``; print right / wrong with a hint / not attempted.

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
        status, msg = _verdict(ex, answer)
    except Exception as err:  # a student's odd answer must never break the notebook
        status, msg = "wrong", f"{ex.name}: could not read that answer ({err}). Hint: {ex.hint}"
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


def solution(name: str) -> Solution:
    """The worked answer of exercise ``name`` (raises KeyError for an unknown name)."""
    if name not in EXERCISES:
        raise KeyError(f"There is no exercise called {name!r}; known exercises: {', '.join(EXERCISES)}")
    ex = EXERCISES[name]
    answer = ex.answer()
    shown = f"{answer:.4g}" if isinstance(answer, float) else str(answer)
    return Solution(f"**{ex.name}**: {ex.question}\n\nAnswer: **{shown}**. {ex.worked(answer)}")


# --- exercises of the training notebooks (04-10) --------------------------------------------
# Their numbers are fixed in the question, so the check does not depend on any one run; each
# notebook then asks the student to apply the same reasoning to the k values its run learned.
def _width_ratio(k_before: float, k_after: float) -> float:
    sig = Sigmoid(4.0)
    return effective_surrogate(sig, k=k_after, v_threshold=1.0).width / effective_surrogate(
        sig, k=k_before, v_threshold=1.0).width


def _slope_ratio(k_before: float, k_after: float) -> float:
    return _k_slope(k_after) / _k_slope(k_before)


def _vote(spikes_of_class: int, steps: int, voters: int = 10) -> float:
    # The voting layer as the models compute it: mean over T, then over the class's 10 neurons.
    s = torch.zeros(steps, voters)
    s.view(-1)[:spikes_of_class] = 1.0
    return float(s.mean(0).mean())


def _mse_loss(rate_true: float, classes: int = 10) -> float:
    rates = torch.zeros(1, classes)
    rates[0, 0] = rate_true
    target = torch.zeros(1, classes)
    target[0, 0] = 1.0
    return float(torch.nn.functional.mse_loss(rates, target))


def _paper_model(dataset: str, neuron: str = "lif"):
    from .models import build_model  # lazy: the neuron exercises do not need the models

    return build_model(dataset, neuron, "paper")


def _first_conv_weights(dataset: str) -> int:
    conv = next(m for m in _paper_model(dataset).modules() if isinstance(m, torch.nn.Conv2d))
    return int(conv.weight.numel())


def _fc1_inputs(dataset: str) -> int:
    fc = next(m for m in _paper_model(dataset).modules() if isinstance(m, torch.nn.Linear))
    return int(fc.in_features)


def _output_neurons(dataset: str) -> int:
    last = [m for m in _paper_model(dataset).modules() if isinstance(m, torch.nn.Linear)][-1]
    return int(last.out_features)


def _k_count(dataset: str) -> int:
    return len(_paper_model(dataset, "klif").k_values())


def _sample_numbers(dataset: str) -> int:
    from .data import get_spec
    from .models import PAPER_TIME_STEPS

    spec = get_spec(dataset)
    c, h, w = spec.input_shape
    return int(PAPER_TIME_STEPS[spec.name] * c * h * w)


def _margin(klif: float, lif: float) -> float:
    from .reproduction import margins

    rows = [{"asked_for": "x", "dataset": "x", "mode": "full", "arch": "paper", "epochs": 1, "time_steps": 8,
             "train_size": 1, "seed": 0, "path": f"runs/x/{n}/metrics.json", "neuron": n, "test_accuracy": a}
            for n, a in (("klif", klif), ("lif", lif))]
    return margins(rows)[0]["margin"]


def _within_noise(margin: float, spread: float) -> str:
    return "no" if abs(margin) <= spread else "yes"


_TRAINING = [
    Exercise(
        name="04.vote",
        question=(
            "The paper's network ends in a voting layer: 10 output neurons per class, and the output "
            "for a class is their mean firing rate over T steps. With T = 8, the 10 neurons of the class "
            "'7' fire 20 spikes in total. What output does the network give for '7'?"
        ),
        reference=lambda: _vote(20, 8),
        hint="Rate = spikes / (neurons x steps): how many (neuron, step) slots are there?",
        worked=lambda a: f"10 neurons x 8 steps = 80 slots; 20 spikes / 80 = {a:g}.",
        wrong_example=2.5,
        mistakes=((lambda: 20 / 8, "Divide by the 10 voting neurons too, not only by T."),),
    ),
    Exercise(
        name="04.width_ratio",
        question=(
            "During training, a layer's k went from 1.0 to 1.25. By what factor did the width (FWHM in H) "
            "of its effective surrogate dS/dH change? (Answer new width / old width.)"
        ),
        reference=lambda: _width_ratio(1.0, 1.25),
        hint="dS/dH = k g'(kH - V_th): as a function of H the curve is squeezed by the factor k.",
        worked=lambda a: f"The width scales as 1/k: 1.0 / 1.25 = {a:g}. A growing k narrows the surrogate.",
        wrong_example=1.25,
        mistakes=((lambda: 1.25, "That is the factor of the peak slope; the width goes the other way."),),
    ),
    Exercise(
        name="05.mse_loss",
        question=(
            "The training loss is the mean squared error between the 10 output rates and the one-hot label. "
            "An image's true class gets rate 0.2 and every other class rate 0. What is the loss?"
        ),
        reference=lambda: _mse_loss(0.2),
        hint="Mean over the 10 classes of (rate - target)^2; the target is 1 for the true class, 0 elsewhere.",
        worked=lambda a: f"(0.2 - 1)^2 = 0.64 for the true class, 0 for the other nine; mean = 0.64 / 10 = {a:g}.",
        wrong_example=0.64,
        mistakes=((lambda: 0.64, "That is the squared error of one class; take the mean over all 10."),),
    ),
    Exercise(
        name="05.slope_ratio",
        question="A layer's k grew from 1.0 to 1.6 during training. By what factor did its peak dS/dH grow?",
        reference=lambda: _slope_ratio(1.0, 1.6),
        hint="dS/dH = k g'(kH - V_th); the peak of g' does not depend on k.",
        worked=lambda a: f"The peak is k x max g', so it grows by 1.6 / 1.0 = {a:g}.",
        wrong_example=1 / 1.6,
        mistakes=((lambda: 1 / 1.6, "That is how the width changes; the slope scales with k."),),
    ),
    Exercise(
        name="06.conv1_weights",
        question=(
            "The paper's CIFAR-10 network starts with a 3x3 convolution from the 3 colour channels to "
            "256 channels, without bias. How many weights does it have?"
        ),
        reference=lambda: _first_conv_weights("cifar10"),
        hint="One 3x3 kernel per (input channel, output channel) pair.",
        worked=lambda a: f"3 x 256 x 3 x 3 = {a}.",
        wrong_example=256 * 9,
        kind=_INTEGER,
        mistakes=((lambda: 256 * 9, "Each output channel sees all 3 input channels."),),
    ),
    Exercise(
        name="06.k_count",
        question=(
            "How many learnable k does the paper's CIFAR-10 network with KLIF neurons have? "
            "(Six conv blocks and two fully connected blocks, one spiking layer each.)"
        ),
        reference=lambda: _k_count("cifar10"),
        hint="KLIF has one k per spiking layer, shared by all its neurons.",
        worked=lambda a: f"One k per spiking layer: 6 conv + 2 fc = {a}. Compare that with millions of weights.",
        wrong_example=6,
        kind=_INTEGER,
        mistakes=((lambda: 6, "The two fully connected blocks have spiking layers too."),),
    ),
    Exercise(
        name="07.sample_numbers",
        question=(
            "An N-MNIST sample becomes T = 10 frames of 2 polarities x 34 x 34 pixels. "
            "How many numbers does the network get per sample?"
        ),
        reference=lambda: _sample_numbers("nmnist"),
        hint="Multiply frames x polarities x height x width.",
        worked=lambda a: f"10 x 2 x 34 x 34 = {a}, against 28 x 28 = 784 for an MNIST image.",
        wrong_example=2 * 34 * 34,
        kind=_INTEGER,
        mistakes=((lambda: 2 * 34 * 34, "That is one frame; there are T = 10 of them."),),
    ),
    Exercise(
        name="07.centre_shift",
        question=(
            "After training on events, a layer has k = 0.8 (V_th = 1). At which membrane potential H "
            "does its dS/dH peak now (it peaked at H = 1 before training)?"
        ),
        reference=lambda: _k_center(0.8),
        hint="The surrogate peaks where k*H - V_th = 0.",
        worked=lambda a: f"H = V_th / k = 1 / 0.8 = {a:g}: a k below 1 raises the effective threshold.",
        wrong_example=0.8,
        mistakes=((lambda: 0.8, "That is V_th * k; solve k*H = V_th for H."),),
    ),
    Exercise(
        name="08.fc1_inputs",
        question=(
            "The paper's CIFAR10-DVS network takes 128 x 128 frames through four conv blocks of 128 "
            "channels, each followed by a 2x2 max-pool. How many inputs does the first fully connected "
            "layer get?"
        ),
        reference=lambda: _fc1_inputs("cifar10-dvs"),
        hint="Each 2x2 pool halves height and width; then flatten channels x height x width.",
        worked=lambda a: f"128 / 2^4 = 8, so 128 channels x 8 x 8 = {a}.",
        wrong_example=128 * 16 * 16,
        kind=_INTEGER,
        mistakes=((lambda: 128 * 16 * 16, "Count the pools again: there are four."),),
    ),
    Exercise(
        name="08.width_ratio",
        question="A layer's k fell from 1.0 to 0.5. By what factor did the width of its dS/dH change?",
        reference=lambda: _width_ratio(1.0, 0.5),
        hint="The width of k g'(kH - V_th) as a function of H scales as 1/k.",
        worked=lambda a: f"1 / 0.5 = {a:g}: the surrogate got twice as wide (and half as tall).",
        wrong_example=0.5,
        mistakes=((lambda: 0.5, "A smaller k makes the curve wider, not narrower."),),
    ),
    Exercise(
        name="09.output_neurons",
        question=(
            "DVS128 Gesture has 11 classes and the network votes with 10 neurons per class. "
            "How many neurons does the last spiking layer have?"
        ),
        reference=lambda: _output_neurons("dvs-gesture"),
        hint="Classes x voters per class.",
        worked=lambda a: f"11 x 10 = {a}.",
        wrong_example=100,
        kind=_INTEGER,
        mistakes=((lambda: 100, "That is the number for 10 classes; DVS128 Gesture has 11."),),
    ),
    Exercise(
        name="09.fc1_inputs",
        question=(
            "The DVS128 Gesture network has five conv blocks (128 channels, each with a 2x2 max-pool) on "
            "128 x 128 frames. How many inputs does its first fully connected layer get?"
        ),
        reference=lambda: _fc1_inputs("dvs-gesture"),
        hint="Five poolings: 128 / 2^5 pixels per side, times 128 channels.",
        worked=lambda a: f"128 / 32 = 4, so 128 x 4 x 4 = {a}.",
        wrong_example=8192,
        kind=_INTEGER,
        mistakes=((lambda: 8192, "That is after four pools (CIFAR10-DVS); count five."),),
    ),
    Exercise(
        name="10.margin",
        question=(
            "Two runs trained alike reach 93.4 % (KLIF) and 92.9 % (LIF) test accuracy. "
            "What is the KLIF-minus-LIF margin in percentage points?"
        ),
        reference=lambda: _margin(93.4, 92.9),
        hint="Subtract LIF's accuracy from KLIF's, in points (not a ratio).",
        worked=lambda a: f"93.4 - 92.9 = {a:+.1f} points.",
        wrong_example=-0.5,
        mistakes=((lambda: -0.5, "KLIF minus LIF, not LIF minus KLIF."),),
    ),
    Exercise(
        name="10.noise",
        question=(
            "Repeating the LIF run with five seeds gives accuracies that spread over 0.6 points. "
            "Is a KLIF-minus-LIF margin of +0.4 points from one run each evidence that KLIF is better? "
            "Answer yes or no."
        ),
        reference=lambda: _within_noise(0.4, 0.6),
        hint="Compare the margin with how much the same setting varies from seed to seed.",
        worked=lambda a: (f"{a}: +0.4 points lies inside the 0.6-point spread of seeds alone. More seeds per "
                          "neuron (and a mean with its spread) are needed before calling a winner."),
        wrong_example="yes",
        kind=_CHOICE,
        choices=("yes", "no"),
    ),
]
for _ex in _TRAINING:
    EXERCISES[_ex.name] = _ex
