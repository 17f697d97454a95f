"""The paper's equations, one readable step function each (the reference path).

Notation (SpikingJelly's, used by the KLIF paper):

    charge, decay_input=True :  H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau
    charge, decay_input=False:  H[t] = V[t-1] - (V[t-1] - V_reset) / tau + X[t]
    KLIF gate                :  F[t] = ReLU(k * H[t])          (LIF: F[t] = H[t])
    ablation, gate=False     :  F[t] = k * H[t]                ("k only": no ReLU gate)
    fire                     :  S[t] = Theta(F[t] - V_th),  Theta(0) = 1
    hard reset (V_reset set) :  V[t] = F[t] * (1 - S[t]) + V_reset * S[t]
    soft reset (V_reset None):  V[t] = F[t] - S[t] * V_th
    scale_reset (KLIF)       :  the reset acts on F[t] / k (and V_th / k)

Where k acts (KLIF's ``k_acts_on``; the carried state below threshold is what the reset keeps):

    "both" (the paper's KLIF):  fire on F = ReLU(k*H), carry F        k on the firing and the leak
    "fire" (= scale_reset)   :  fire on F,             carry F / k    k on the firing only
    "leak"                   :  fire on F / k = ReLU(H), carry F      k on the leak only

"fire": S = Theta(k*H - V_th) (threshold V_th/k on H, surrogate slope x k, width / k), but
V = ReLU(H) below threshold: LIF's leak 1 - 1/tau. "leak": S = Theta(ReLU(H) - V_th) and
dS/dH = g'(ReLU(H) - V_th) [H > 0] (LIF's firing), but V = ReLU(k*H): leak k (1 - 1/tau).

PLIF (Fang et al. 2021) learns the leak itself: the same charge with 1/tau = r = sigmoid(w),

    PLIF charge, decay_input=True :  H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) * r
    PLIF charge, decay_input=False:  H[t] = V[t-1] - (V[t-1] - V_reset) * r + X[t]

then LIF's fire and reset (written as SpikingJelly's ParametricLIFNode writes them).

A soft-reset neuron charges towards 0 (V_reset counts as 0 in the charge). These functions
are written for reading and for checking the fused path (``klif_edu.fused``), not for speed.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .surrogate import Surrogate

__all__ = ["StepRecord", "charge", "plif_charge", "klif_gate", "fire", "reset", "lif_step", "klif_step",
           "plif_step", "K_ACTS_ON"]

#: Where KLIF's k acts: on the firing and the leak (the paper), on the firing only, on the leak only.
K_ACTS_ON = ("both", "fire", "leak")


class StepRecord(NamedTuple):
    """One time step of a neuron: membrane H, gated F, spikes S, state after reset V."""

    h: torch.Tensor
    f: torch.Tensor
    s: torch.Tensor
    v: torch.Tensor


def charge(
    x: torch.Tensor, v: torch.Tensor, tau: float, v_reset: float | None, decay_input: bool
) -> torch.Tensor:
    """H[t] from the input X[t] and the previous state V[t-1] (leaky integration)."""
    v_rest = 0.0 if v_reset is None else v_reset
    if decay_input:
        return v + (x - (v - v_rest)) / tau
    return v - (v - v_rest) / tau + x


def plif_charge(
    x: torch.Tensor, v: torch.Tensor, r: torch.Tensor, v_reset: float | None, decay_input: bool
) -> torch.Tensor:
    """PLIF's H[t]: the charge with 1/tau = r = sigmoid(w) multiplied in (SpikingJelly's expressions)."""
    v_rest = 0.0 if v_reset is None else v_reset
    if decay_input:
        return v + (x - (v - v_rest)) * r
    return v - (v - v_rest) * r + x


def klif_gate(h: torch.Tensor, k: torch.Tensor, gate: bool = True) -> torch.Tensor:
    """F[t] = ReLU(k * H[t]): scale by k, pass on only positive potential (gate=False: F = k * H)."""
    return torch.relu(k * h) if gate else k * h


def fire(f: torch.Tensor, v_threshold: float, surrogate: Surrogate) -> torch.Tensor:
    """S[t] = Theta(F[t] - V_th), with the surrogate's derivative in the backward pass."""
    return surrogate(f - v_threshold)


def reset(
    f: torch.Tensor,
    s: torch.Tensor,
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
) -> torch.Tensor:
    """V[t]: hard reset to V_reset where S = 1 (v_reset a number) or soft reset by V_th (None)."""
    if detach_reset:
        s = s.detach()
    if v_reset is None:
        return f - s * v_threshold
    return f * (1.0 - s) + v_reset * s


def lif_step(
    x: torch.Tensor,
    v: torch.Tensor,
    tau: float = 2.0,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    decay_input: bool = True,
    surrogate: Surrogate | None = None,
    detach_reset: bool = False,
) -> StepRecord:
    """One LIF step: charge, fire on H itself, reset. Returns (h, f=h, s, v)."""
    surrogate = _default_surrogate(surrogate)
    h = charge(x, v, tau, v_reset, decay_input)
    s = fire(h, v_threshold, surrogate)
    return StepRecord(h, h, s, reset(h, s, v_threshold, v_reset, detach_reset))


def klif_step(
    x: torch.Tensor,
    v: torch.Tensor,
    k: torch.Tensor,
    tau: float = 2.0,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    decay_input: bool = True,
    scale_reset: bool = False,
    surrogate: Surrogate | None = None,
    detach_reset: bool = False,
    gate: bool = True,
    k_acts_on: str = "both",
) -> StepRecord:
    """One KLIF step: charge, gate F = ReLU(k*H) (gate=False: F = k*H), fire on F, reset. Returns (h, f, s, v).

    k_acts_on="leak" fires on ReLU(H) (= F/k) instead; "fire" is scale_reset=True (both may not be given).
    """
    surrogate = _default_surrogate(surrogate)
    if k_acts_on not in K_ACTS_ON:
        raise ValueError(f"klif_step: k_acts_on must be one of {K_ACTS_ON}, got {k_acts_on!r}")
    if k_acts_on == "leak" and scale_reset:
        raise ValueError("klif_step: k_acts_on='leak' carries F itself; it cannot also scale the reset")
    scale_reset = scale_reset or k_acts_on == "fire"
    h = charge(x, v, tau, v_reset, decay_input)
    f = klif_gate(h, k, gate)
    if k_acts_on == "leak":  # fire as KLIF with k = 1 would: on ReLU(H) (H without the gate)
        s = fire(torch.relu(h) if gate else h, v_threshold, surrogate)
    else:
        s = fire(f, v_threshold, surrogate)
    if scale_reset:
        v_next = reset(f / k, s, v_threshold / k, v_reset, detach_reset)
    else:
        v_next = reset(f, s, v_threshold, v_reset, detach_reset)
    return StepRecord(h, f, s, v_next)


def plif_step(
    x: torch.Tensor,
    v: torch.Tensor,
    r: torch.Tensor,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    decay_input: bool = True,
    surrogate: Surrogate | None = None,
    detach_reset: bool = False,
) -> StepRecord:
    """One PLIF step: charge with r = 1/tau = sigmoid(w), fire on H, reset. Returns (h, f=h, s, v)."""
    surrogate = _default_surrogate(surrogate)
    h = plif_charge(x, v, r, v_reset, decay_input)
    s = fire(h, v_threshold, surrogate)
    return StepRecord(h, h, s, reset(h, s, v_threshold, v_reset, detach_reset))


def _default_surrogate(surrogate: Surrogate | None) -> Surrogate:
    from .surrogate import Sigmoid

    return Sigmoid() if surrogate is None else surrogate
