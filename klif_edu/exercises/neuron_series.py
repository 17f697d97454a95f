"""Exercises of the neuron notebooks (01-03), with reference answers computed by the library."""
from __future__ import annotations

import math

import torch

from ..dynamics import first_spike_step, subthreshold_potential
from ..neurons import LIF
from ..surrogate import ALL, Sigmoid, effective_derivative, effective_surrogate
from ._exercise import _CHOICE, _INTEGER, Exercise

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


def _sigmoid_grad(x: float, alpha: float = 4.0) -> float:
    return float(Sigmoid(alpha).derivative(torch.tensor(x, dtype=torch.float64)))


def _hand_grad_worked(x: float, answer: float, tau: float = 2.0, alpha: float = 4.0) -> str:
    h = x / tau
    s = float(torch.sigmoid(torch.tensor(alpha * (h - 1.0), dtype=torch.float64)))
    return (
        f"H = {x:g} / {tau:g} = {h:g}, so x = H - V_th = {h - 1:g}; s = sigmoid({alpha:g} * {h - 1:g}) "
        f"= {s:.3f}; g'(x) = {alpha:g} * {s:.3f} * {1 - s:.3f} = {alpha * s * (1 - s):.3f}; "
        f"dH/dX = 1/tau = {1 / tau:g}; dS/dX = {alpha * s * (1 - s):.3f} * {1 / tau:g} = {answer:.3f}."
    )


def _narrowest() -> str:
    widths = {name: cls().width for name, cls in ALL.items()}
    return min(widths, key=widths.get)


def _k_slope(k: float) -> float:
    return effective_surrogate(Sigmoid(4.0), k=k, v_threshold=1.0).peak_slope


def _k_center(k: float) -> float:
    return effective_surrogate(Sigmoid(4.0), k=k, v_threshold=1.0).center


def _gated_grad(h: float, k: float) -> float:
    return float(effective_derivative(Sigmoid(4.0), torch.tensor(h, dtype=torch.float64), k, 1.0))


def _klif_first_spike_worked(answer: int) -> str:
    v = subthreshold_potential(0.4, 1.5, 2.0, answer + 1).tolist()
    steps = ";  ".join(f"V[{t}] = {x:.3f}" for t, x in enumerate(v))
    return (
        "Below threshold the neuron carries V = F = 1.5*H, so V[t] = 1.5*(1 - 1/2)*V[t-1] + (1.5/2)*0.4 "
        f"= 0.75*V[t-1] + 0.3: {steps}. V climbs towards 0.3 / (1 - 0.75) = 1.2 > V_th, and first "
        f"reaches 1 at t = {answer}. The one-step picture (fires when X/tau >= V_th/k, i.e. never for "
        "X = 0.4) misses that k also slows the leak."
    )


# --- the registry ------------------------------------------------------------------------
EXERCISES = [
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
            "Each step closes 1/tau of the gap between V and X: H creeps towards X whatever tau is, "
            "tau sets how fast. "
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
        mistakes=(
            (lambda: 1.0 / 4.0, "1/tau is the part that leaks away; beta is the part that stays."),
            (lambda: math.exp(-1.0 / 4.0), "exp(-1/tau) is the continuous-time decay; our neuron steps in "
                                           "discrete time, H[t] = V[t-1] - V[t-1]/tau, so beta is exactly 1 - 1/tau."),
        ),
    ),
    Exercise(
        name="02.sigmoid_peak",
        question="What is the largest value of the Sigmoid surrogate's derivative g'(x) for alpha = 8?",
        reference=lambda: Sigmoid(8.0).peak,
        hint="g'(x) = alpha * s(1 - s) with s = sigmoid(alpha*x); where is s(1 - s) largest?",
        worked=lambda a: f"At x = 0, s = 1/2, so g'(0) = alpha * 1/4 = 8/4 = {a:g}.",
        wrong_example=8.0,
        mistakes=(
            (lambda: 8.0, "alpha multiplies s(1 - s), which is at most 1/4."),
            (lambda: 0.25, "0.25 is the largest s(1 - s); g'(x) = alpha * s(1 - s): multiply by alpha."),
        ),
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
        mistakes=(
            (lambda: 2.0 * _hand_grad(1.6), "Do not forget dH/dX = 1/tau in the chain rule."),
            (lambda: _sigmoid_grad(1.6 - 1.0) / 2.0, "The surrogate is evaluated at H - V_th with H = X / tau, "
                                                      "not at X - V_th."),
        ),
    ),
    Exercise(
        name="02.narrowest",
        question=(
            "Among the surrogates in surrogate.ALL with their default alpha, which one has the "
            "narrowest g'(x) at half its peak? Answer with its name (a string) or the class itself."
        ),
        reference=_narrowest,
        hint="Plot them side by side, or compare sur.width (full width at half maximum) for each one.",
        worked=lambda a: (
            "Widths (full width at half maximum): "
            + ", ".join(f"{n} {c().width:.3f}" for n, c in ALL.items())
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
        mistakes=(
            (lambda: _k_slope(1.0), "That is the peak for k = 1; k multiplies the slope."),
            (lambda: _k_slope(1.0) / 2.0, "k divides the width, but multiplies the slope."),
        ),
    ),
    Exercise(
        name="03.k_center",
        question="For k = 0.5 and V_th = 1, at which membrane potential H is dS/dH largest?",
        reference=lambda: _k_center(0.5),
        hint="The surrogate peaks where k*H - V_th = 0.",
        worked=lambda a: f"k*H = V_th gives H = V_th / k = 1 / 0.5 = {a:g}: a small k moves the centre up.",
        wrong_example=0.5,
        mistakes=(
            (lambda: 0.5, "That is V_th * k; solve k*H = V_th for H."),
            (lambda: 1.0, "That is V_th, the centre for k = 1; the gate scales H by k first."),
        ),
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
    Exercise(
        name="03.klif_first_spike",
        question=(
            "KLIF with tau=2, V_th=1, hard reset to 0, decay_input=True and k = 1.5 starts at rest and "
            "gets a constant input X = 0.4 at every step. At which step t (counting from 0) does it fire "
            "first? Answer -1 if it never fires."
        ),
        reference=lambda: first_spike_step(0.4, 1.5, 2.0, 1.0),
        hint=(
            "Without a spike the state carried on is V[t] = F[t] = k*H[t], not H[t]. Write V[t] in terms "
            "of V[t-1] and iterate from V = 0: where does it level off?"
        ),
        worked=_klif_first_spike_worked,
        wrong_example=-1,
        kind=_INTEGER,
        mistakes=(
            (lambda: -1, "V_th/k = 0.67 > 0.4 is only the first step's threshold; V = k*H is carried on."),
            (lambda: first_spike_step(0.4, 1.5, 2.0, 1.0) + 1, "Count the steps from t = 0, not from 1."),
        ),
    ),
]
