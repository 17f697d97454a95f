"""Exercises of notebook 13 (PLIF's learned tau beside KLIF's k, and which of k's effects helps).

Three are about the student's own numbers (``check(name, answer, run=...)``): the leak factor
PLIF learned in a layer of their network, the one KLIF's k implies in the same layer, and
what their copy of the peers study says. One is a fixed question on the k-fire variant.
"""
from __future__ import annotations

from typing import Any

from ._exercise import _CHOICE, Exercise

LAYER = "conv1"  # the layer the run exercises ask about


def _plif_tau(run: Any) -> float:
    """tau of LAYER from a PLIF network (or a {layer: tau} dict)."""
    taus = run.tau_values() if hasattr(run, "tau_values") else dict(run)
    if LAYER not in taus:
        raise ValueError(f"pass a PLIF network (or its tau_values()); this one has no PLIF layer {LAYER!r}")
    return float(taus[LAYER])


def _klif_k(run: Any) -> tuple[float, float]:
    """(k, tau) of LAYER from a KLIF network, or from a {layer: k} dict (tau = 2, the study's)."""
    if hasattr(run, "neurons"):
        neuron = run.neurons()[LAYER]
        return float(neuron.k.detach()), float(neuron.tau)
    if LAYER not in run:
        raise ValueError(f"pass a KLIF network (or its k_values()); this one has no KLIF layer {LAYER!r}")
    return float(run[LAYER]), 2.0


def _example_plif():
    """A PLIF classroom network whose first layer learned tau = 1.6 (for the tests)."""
    import torch

    from ..models import build_model

    model = build_model("embedded-fashion-mnist", "plif")
    with torch.no_grad():
        model.neurons()[LAYER].w.fill_(-torch.log(torch.tensor(0.6)))  # sigmoid(w) = 1/1.6
    return model


def _example_klif():
    """A KLIF classroom network whose first layer learned k = 1.08 (for the tests)."""
    import torch

    from ..models import build_model

    model = build_model("embedded-fashion-mnist", "klif")
    with torch.no_grad():
        model.neurons()[LAYER].k.fill_(1.08)
    return model


def _example_summary() -> dict[str, Any]:
    """A made-up peers study summary with one interval excluding 0 and one containing it."""
    return {"comparisons": {"klif - k-fire": {"low": 0.0012, "high": 0.0051, "mean": 0.0031},
                            "klif - k-leak": {"low": -0.0020, "high": 0.0030, "mean": 0.0005}}}


def _k_leak(k: float, tau: float, k_acts_on: str) -> float:
    from ..dynamics import k_leak_factor  # lazy: the catalogue loads without torch modules

    return k_leak_factor(k, tau, k_acts_on)


def _excludes_zero(run: dict[str, Any], name: str) -> str:
    c = run["comparisons"][name]
    if c.get("low") is None:
        raise ValueError(f"the study has no interval for {name!r} yet (one seed only?)")
    return "yes" if c["low"] > 0 or c["high"] < 0 else "no"


EXERCISES = [
    Exercise(
        name="13.plif_leak",
        question=f"Your PLIF network learned a time constant tau in layer {LAYER} "
                 f"(`plif_net.tau_values()['{LAYER}']`). What leak factor a does that give below threshold "
                 "(V[t] = a V[t-1] + drive)?",
        reference=lambda run: 1.0 - 1.0 / _plif_tau(run),
        hint="PLIF's charge keeps 1 - 1/tau of the distance to rest each step; tau = 2 gives 0.5.",
        worked=lambda a: f"a = 1 - 1/tau = {a:.4f}: above 0.5 PLIF leaks less than LIF at tau = 2, below it more.",
        wrong_example=0.5 + 0.123,
        needs_run=True,
        example_run=_example_plif,
        rtol=1e-3,
        atol=1e-4,
        mistakes=((lambda run: 1.0 / _plif_tau(run), "1/tau is the input's weight, the part that leaks away; "
                                                      "the leak factor is what stays, 1 - 1/tau."),
                  (lambda run: 0.5, "0.5 is the leak at the initial tau = 2; use the tau this layer learned.")),
    ),
    Exercise(
        name="13.klif_leak",
        question=f"Your KLIF network learned k in layer {LAYER} (tau fixed at 2). What leak factor does that k "
                 "imply below threshold, where the neuron carries V = ReLU(k*H)?",
        reference=lambda run: _klif_k(run)[0] * (1.0 - 1.0 / _klif_k(run)[1]),
        hint="H[t] = (1 - 1/tau) V[t-1] + X[t]/tau, and the carried state is k*H: multiply.",
        worked=lambda a: f"a = k (1 - 1/tau) = {a:.4f}; k > 1 means KLIF leaks less than LIF's 0.5.",
        wrong_example=0.25,
        needs_run=True,
        example_run=_example_klif,
        rtol=1e-3,
        atol=1e-4,
        mistakes=((lambda run: 1.0 - 1.0 / _klif_k(run)[1], "That is LIF's leak: in KLIF the carried state "
                                                             "is k*H, so k multiplies the leak too."),
                  (lambda run: _klif_k(run)[0], "k alone is the scale; the leak factor is k times (1 - 1/tau).")),
    ),
    Exercise(
        name="13.k_fire_leak",
        question="A k-fire neuron (k on the firing only) has k = 1.4 and tau = 2. What is its leak factor "
                 "below threshold?",
        reference=lambda: _k_leak(1.4, 2.0, "fire"),
        hint="k-fire carries F/k = ReLU(H), not F: what is left of k in the carried state?",
        worked=lambda a: (f"k-fire carries ReLU(H), so the leak is LIF's 1 - 1/tau = {a:g}; k moves only the "
                          "threshold (V_th/k on H) and the surrogate (slope x k, width / k)."),
        wrong_example=0.7,
        mistakes=((lambda: _k_leak(1.4, 2.0, "both"), "0.7 = k (1 - 1/tau) is the paper's KLIF (and k-leak); k-fire takes k off the "
                                "carried state."),),
    ),
    Exercise(
        name="13.leak_or_fire",
        question="In your peers study (`summary`), does the 95 % interval of klif - k-fire exclude zero? "
                 "Answer \"yes\" or \"no\". (klif - k-fire is what k's effect on the leak adds.)",
        reference=lambda run: _excludes_zero(run, "klif - k-fire"),
        hint="Read summary['comparisons']['klif - k-fire']: its low and high ends, in accuracy (0-1).",
        worked=lambda a: (f"{a!r}: the interval {'excludes' if a == 'yes' else 'contains'} 0. Read it beside "
                          "klif - k-leak (what k's effect on the firing adds) before concluding."),
        wrong_example="no",  # the example study excludes 0 there
        kind=_CHOICE,
        choices=("yes", "no"),
        needs_run=True,
        example_run=_example_summary,
    ),
]
