"""What k does to KLIF's membrane below threshold: leak factor, steady state, dS/dk.

With a hard reset, a KLIF neuron that did not fire carries ``V[t] = F[t] = ReLU(k*H[t])``
to the next step, so (decay_input=True, V_reset = 0, k*H > 0)

    H[t] = (1 - 1/tau) V[t-1] + X[t] / tau
    V[t] = k (1 - 1/tau) V[t-1] + (k / tau) X[t]          leak factor a = k (1 - 1/tau)

With decay_input=False the drive is ``k X[t]`` instead of ``(k/tau) X[t]``; the leak factor is
the same. A soft reset (``v_reset=None``) carries the same ``V = F`` below threshold. With
``scale_reset=True`` the carried state is ``F / k = ReLU(k H) / k = ReLU(H)`` (not H: the gate
still cuts H <= 0): the leak is LIF's ``1 - 1/tau`` and k only moves the threshold to ``V_th / k``.
For a constant input X > 0 from rest, V climbs towards ``V* = b X / (1 - a)`` (b the drive gain)
when a < 1, and grows without bound until it fires when a >= 1; X <= 0 never fires.

    leak_factor(k=1.5, tau=2.0)                       # 0.75
    steady_state_threshold(k=1.5, tau=2.0)            # 0.333: X = 0.4 fires, although V_th/k = 0.67
    first_spike_step(x=0.4, k=1.5, tau=2.0)           # 6 (counting from 0); -1 if it never fires
    dspike_dk_direct(h, k=1.5, surrogate=Sigmoid())   # H * g'(kH - V_th) where kH > 0
    dspike_dk_paths(KLIF(k_init=1.5), x)              # d(spike count)/dk, split by the path it takes

Only V_reset = 0 (or a soft reset, which rests at 0) is covered; the neurons in
``klif_edu.neurons`` are the reference these formulas are checked against (tests/test_dynamics.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .surrogate import Surrogate

__all__ = [
    "leak_factor",
    "plif_leak_factor",
    "k_leak_factor",
    "drive_gain",
    "steady_state_potential",
    "steady_state_threshold",
    "subthreshold_potential",
    "first_spike_step",
    "dspike_dk_direct",
    "DkPaths",
    "dspike_dk_paths",
]


def _positive(name: str, value: object, where: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{where}: {name} must be a finite number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{where}: {name} must be > 0, got {value}")
    return float(value)


def _k_tau(k: object, tau: object, where: str) -> tuple[float, float]:
    k, tau = _positive("k", k, where), _positive("tau", tau, where)
    if tau <= 1.0:
        raise ValueError(f"{where}: tau must be > 1 (as in the neurons), got {tau}")
    return k, tau


def leak_factor(k: float, tau: float = 2.0, scale_reset: bool = False) -> float:
    """a in V[t] = a V[t-1] + drive: ``k (1 - 1/tau)``, or LIF's ``1 - 1/tau`` with scale_reset.

    a < 1: the membrane leaks; a = 1 (k = tau / (tau - 1)): no leak; a > 1: it grows until it fires.
    """
    k, tau = _k_tau(k, tau, "leak_factor")
    return (1.0 - 1.0 / tau) * (1.0 if scale_reset else k)


def k_leak_factor(k: float, tau: float = 2.0, k_acts_on: str = "both") -> float:
    """The leak factor of KLIF with k acting on "both", the "fire" only, or the "leak" only.

    k scales the carried state V = ReLU(k*H) ("both", "leak"): a = k (1 - 1/tau); with k on the
    firing only the carried state is ReLU(H) ("fire", the same as scale_reset): a = 1 - 1/tau.
    """
    if k_acts_on not in ("both", "fire", "leak"):
        raise ValueError(f"k_leak_factor: k_acts_on must be 'both', 'fire' or 'leak', got {k_acts_on!r}")
    return leak_factor(k, tau, scale_reset=k_acts_on == "fire")


def plif_leak_factor(tau: float) -> float:
    """PLIF's leak factor 1 - 1/tau at its learned tau (k = 1 in ``leak_factor``); 0.5 at tau = 2."""
    return leak_factor(1.0, tau)


def drive_gain(k: float, tau: float = 2.0, decay_input: bool = True, scale_reset: bool = False) -> float:
    """b in V[t] = a V[t-1] + b X[t] below threshold: ``k/tau`` or ``k`` (``1/tau`` or 1 with scale_reset)."""
    k, tau = _k_tau(k, tau, "drive_gain")
    gain = 1.0 / tau if decay_input else 1.0
    return gain * (1.0 if scale_reset else k)


def steady_state_potential(x: float, k: float, tau: float = 2.0, decay_input: bool = True,
                           scale_reset: bool = False) -> float:
    """V* = b X / (1 - a), where a constant input X would hold V if the neuron never fired.

    ``math.inf`` when a >= 1 and X > 0 (no steady state: the membrane grows until it fires).
    """
    a = leak_factor(k, tau, scale_reset)
    b = drive_gain(k, tau, decay_input, scale_reset)
    if x <= 0:
        return 0.0  # the gate passes nothing on: F = ReLU(k*H) = 0
    return math.inf if a >= 1.0 else b * x / (1.0 - a)


def steady_state_threshold(k: float, tau: float = 2.0, v_threshold: float = 1.0,
                           decay_input: bool = True, scale_reset: bool = False) -> float:
    """The bound X_min such that a constant input X from rest (V_reset = 0) fires sooner or later iff X > X_min.

    While the leak factor k (1 - 1/tau) < 1: ``X > V_th (tau - k (tau - 1)) / k`` (decay_input=True,
    hard or soft reset), where the steady state V* passes V_th. For a leak factor >= 1 it returns
    0: any X > 0 fires eventually and X <= 0 never does. With scale_reset ``V_th / k`` (the
    one-step "effective threshold" holds only there). decay_input=False divides each by tau.
    """
    k, tau = _k_tau(k, tau, "steady_state_threshold")
    v_threshold = _positive("v_threshold", v_threshold, "steady_state_threshold")
    scale = 1.0 if decay_input else 1.0 / tau
    if scale_reset:  # carried state H -> X (or tau X); fires when k * H >= V_th
        return scale * v_threshold / k
    a = leak_factor(k, tau)
    if a >= 1.0:
        return 0.0
    return scale * v_threshold * tau * (1.0 - a) / k


def subthreshold_potential(x: float, k: float, tau: float = 2.0, steps: int = 10,
                           decay_input: bool = True, scale_reset: bool = False) -> torch.Tensor:
    """The carried V[0..steps-1] for a constant input X from rest, ignoring the threshold.

    Closed form of the recursion: ``V[t] = b X (1 - a^(t+1)) / (1 - a)`` (``b X (t+1)`` at a = 1);
    it is F[t] = k*H[t] without scale_reset and H[t] with it. float64 [steps].
    """
    a = leak_factor(k, tau, scale_reset)
    b = drive_gain(k, tau, decay_input, scale_reset)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"subthreshold_potential: steps must be a positive int, got {steps!r}")
    if x <= 0:
        return torch.zeros(steps, dtype=torch.float64)
    t = torch.arange(1, steps + 1, dtype=torch.float64)
    if a == 1.0:
        return b * x * t
    return b * x * (1.0 - a**t) / (1.0 - a)


def first_spike_step(x: float, k: float, tau: float = 2.0, v_threshold: float = 1.0,
                     decay_input: bool = True, scale_reset: bool = False, max_steps: int = 1000) -> int:
    """First t (from 0) at which a constant input X from rest makes KLIF fire; -1 if it never does.

    F[t] = k*H[t] reaches V_th. Without scale_reset F[t] is the carried V[t] itself; with it F = k*V.
    """
    v_threshold = _positive("v_threshold", v_threshold, "first_spike_step")
    if x <= 0 or x <= steady_state_threshold(k, tau, v_threshold, decay_input, scale_reset):
        return -1  # converges to (or stays at) a potential below the threshold: never fires
    v = subthreshold_potential(x, k, tau, max_steps, decay_input, scale_reset)
    f = v * k if scale_reset else v
    hits = torch.nonzero(f >= v_threshold * (1 - 1e-12)).flatten()
    return int(hits[0]) if len(hits) else -1


def dspike_dk_direct(h: torch.Tensor, k: float, surrogate: Surrogate, v_threshold: float = 1.0) -> torch.Tensor:
    """The local dS[t]/dk at each step, H[t] * g'(k H[t] - V_th) where k H > 0 (else 0).

    The full gradient of a loss with respect to a layer's k adds these over every neuron and
    step (weighted by dLoss/dS), plus the part that flows through time via V = F.
    """
    if not isinstance(h, torch.Tensor) or not h.is_floating_point():
        raise TypeError("dspike_dk_direct: h must be a floating-point torch.Tensor (e.g. trace.h)")
    if not isinstance(surrogate, Surrogate):
        raise TypeError(f"dspike_dk_direct: surrogate must be a klif_edu Surrogate, got {type(surrogate).__name__}")
    k = _positive("k", k, "dspike_dk_direct")
    h = h.detach()
    kh = k * h
    return torch.where(kh > 0, h * surrogate.derivative(kh - v_threshold), torch.zeros_like(h))


@dataclass(frozen=True)
class DkPaths:
    """d(spike count)/dk split by the path the gradient takes; ``total = direct + carried + reset``.

    ``direct``: the local terms H g'(kH - V_th) of every step; ``carried``: along the carried V = F
    into later steps (the reset's S held fixed); ``reset``: every path through the hard reset's
    dV/dS = V_reset - F (= -F); ``detach_reset=True`` removes exactly this part.
    """

    total: float
    direct: float
    carried: float
    reset: float

    @property
    def through_time(self) -> float:
        """What flows through later steps: ``carried + reset`` (= total - direct)."""
        return self.carried + self.reset


def dspike_dk_paths(neuron: torch.nn.Module, x_seq: torch.Tensor) -> DkPaths:
    """d(total spike count)/dk of a KLIF ``neuron`` on ``x_seq`` [T, ...], split into DkPaths.

    Autograd runs twice on the same forward: as the neuron is, and with ``detach_reset=True``
    (no gradient through S in the reset). The second gives direct + carried, so
    reset = total - detached; direct comes from ``dspike_dk_direct`` on the recorded H.
    The neuron is left as it was.
    """
    k = getattr(neuron, "k", None)
    if not isinstance(k, torch.Tensor) or not k.requires_grad or k.numel() != 1 or not hasattr(neuron, "trace"):
        raise TypeError("dspike_dk_paths: neuron must be a KLIF with a scalar learnable k, e.g. KLIF(k_init=1.5)")
    if not isinstance(x_seq, torch.Tensor) or not x_seq.is_floating_point():
        raise TypeError("dspike_dk_paths: x_seq must be a floating-point torch.Tensor [T, ...]")
    if getattr(neuron, "scale_reset", False) or getattr(neuron, "v_reset", None) is None:
        raise ValueError("dspike_dk_paths: the split is worked out for a hard reset without scale_reset "
                         "(KLIF(v_reset=0.0, scale_reset=False))")
    was = neuron.detach_reset
    grads = []
    try:
        for detach in (was, True):
            neuron.detach_reset = detach
            tr = neuron.trace(x_seq)
            (g,) = torch.autograd.grad(tr.s.sum(), k)
            grads.append(float(g))
    finally:
        neuron.detach_reset = was
    direct = float(dspike_dk_direct(tr.h, float(k.detach()), neuron.surrogate, neuron.v_threshold).sum())
    total, detached = grads
    return DkPaths(total=total, direct=direct, carried=detached - direct, reset=total - detached)
