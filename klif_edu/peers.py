"""KLIF among its peers: the leak factor each trained neuron ends up with, per layer.

    learned_leaks(summary)      # {variant: {layer: mean leak factor over seeds}} from a study summary
    network_leaks(model)        # {layer: leak factor} of one trained network (KLIF, PLIF, LIF, variants)

The leak factor a is what the carried state keeps per step below threshold, V[t] = a V[t-1] + drive
(``klif_edu.dynamics``): LIF and k-fire 1 - 1/tau; KLIF and k-leak k (1 - 1/tau); PLIF 1 - 1/tau
at its learned tau. All the study's neurons start at tau = 2, k = 1: a = 0.5.
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from .dynamics import k_leak_factor, plif_leak_factor
from .neurons import KLIF, PLIF

__all__ = ["learned_leaks", "network_leaks", "neuron_leak"]

_K_ACTS_ON = {"klif": "both", "k-only": "both", "gate-only": "both", "k-fire": "fire", "k-leak": "leak"}


def neuron_leak(neuron: nn.Module) -> float:
    """The below-threshold leak factor of one spiking layer as it is now (learned k or tau included)."""
    if isinstance(neuron, PLIF):
        return neuron.leak_factor()
    if isinstance(neuron, KLIF):
        return k_leak_factor(float(neuron.k.detach()), neuron.tau, neuron.k_acts_on)
    return 1.0 - 1.0 / float(neuron.tau)


def network_leaks(model: Any) -> dict[str, float]:
    """{layer: leak factor} of a ``SpikingNet`` (``model.neurons()``)."""
    if not hasattr(model, "neurons"):
        raise TypeError(f"network_leaks expects a klif_edu SpikingNet (build_model / train), got {type(model).__name__}")
    return {name: neuron_leak(n) for name, n in model.neurons().items()}


def learned_leaks(summary: Mapping[str, Any], tau: float = 2.0) -> dict[str, dict[str, float]]:
    """{variant: {layer: leak factor, averaged over the seeds}} from a study summary (``run_study``).

    ``tau``: the fixed time constant of the KLIF-family and LIF runs (the study's default, 2).
    Variants without per-layer numbers (LIF) get LIF's 1 - 1/tau for the layers the others have.
    """
    if not isinstance(summary, Mapping) or "variants" not in summary:
        raise TypeError("learned_leaks expects a study summary (klif_edu.study.run_study or its study.json)")
    out: dict[str, dict[str, float]] = {}
    layers: list[str] = []
    for variant, d in summary["variants"].items():
        if variant == "plif" and d.get("tau"):
            per_seed = [{layer: plif_leak_factor(t) for layer, t in taus.items()} for taus in d["tau"] if taus]
        elif variant in _K_ACTS_ON and d.get("k"):
            per_seed = [{layer: k_leak_factor(k, tau, _K_ACTS_ON[variant]) for layer, k in ks.items()}
                        for ks in d["k"] if ks]
        else:
            continue
        if per_seed:
            out[variant] = {layer: sum(s[layer] for s in per_seed) / len(per_seed) for layer in per_seed[0]}
            layers += [layer for layer in per_seed[0] if layer not in layers]
    if "lif" in summary["variants"] and layers:
        out["lif"] = {layer: 1.0 - 1.0 / tau for layer in layers}
    return out
