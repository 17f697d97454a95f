"""LIF and KLIF neurons as torch modules over sequences [T, N, ...].

    n = KLIF(tau=2.0, v_threshold=1.0, v_reset=0.0, k_init=1.0)
    spikes = n(x_seq)        # [T, N, ...] -> [T, N, ...]; every call starts from rest
    tr = n.trace(x_seq)      # tr.h, tr.f, tr.s, tr.v, each [T, N, ...], for plots
    s, v = n.step(x, v)      # one step with explicit state (v=None: from rest)

``n(x_seq)`` runs the fused path (``klif_edu.fused``); ``trace`` and ``step`` run the
readable reference equations (``klif_edu.functional``). Both give the same numbers.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from . import functional as F
from .fused import NeuronConfig, multistep
from .surrogate import Sigmoid, Surrogate

__all__ = ["LIF", "KLIF", "Trace", "BACKENDS"]

BACKENDS = ("eager", "compiled")


class Trace(NamedTuple):
    """One run of a neuron, each field [T, N, ...]: H (charged), F (gated), S (spikes), V (after reset)."""

    h: torch.Tensor
    f: torch.Tensor
    s: torch.Tensor
    v: torch.Tensor


def _number(name: str, value: object, cls: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{cls}: {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{cls}: {name} must be finite, got {value}")
    return float(value)


class _Neuron(nn.Module):
    """Shared machinery: argument checks, input checks, the three ways to run."""

    _klif = False

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        decay_input: bool = True,
        detach_reset: bool = False,
        surrogate: Surrogate | None = None,
        backend: str = "eager",
        scale_reset: bool = False,
    ) -> None:
        super().__init__()
        cls = type(self).__name__
        tau = _number("tau", tau, cls)
        if tau <= 1.0:
            raise ValueError(
                f"{cls}: tau must be > 1 (the leak is 1/tau of the distance to rest per step), got {tau}"
            )
        v_threshold = _number("v_threshold", v_threshold, cls)
        if v_threshold <= 0:
            raise ValueError(f"{cls}: v_threshold must be > 0, got {v_threshold}")
        if v_reset is not None:
            v_reset = _number("v_reset", v_reset, cls)
            if v_reset >= v_threshold:
                raise ValueError(
                    f"{cls}: v_reset ({v_reset}) must be below v_threshold ({v_threshold}); "
                    "use v_reset=None for a soft reset"
                )
        surrogate = Sigmoid() if surrogate is None else surrogate
        if not isinstance(surrogate, Surrogate):
            raise TypeError(
                f"{cls}: surrogate must be a klif_edu.surrogate.Surrogate such as "
                f"surrogate.Sigmoid(alpha=4.0), got {type(surrogate).__name__}"
            )
        if backend not in BACKENDS:
            raise ValueError(f"{cls}: backend must be one of {BACKENDS}, got {backend!r}")
        self.tau = tau
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.decay_input = bool(decay_input)
        self.detach_reset = bool(detach_reset)
        self.surrogate = surrogate
        self.backend = backend
        self.scale_reset = bool(scale_reset)

    # --- configuration -------------------------------------------------------------------
    @property
    def config(self) -> NeuronConfig:
        return NeuronConfig(
            tau=self.tau,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            decay_input=self.decay_input,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate,
            klif=self._klif,
            scale_reset=self.scale_reset,
            gate=self._gated(),
        )

    def _gated(self) -> bool:
        """KLIF's ReLU gate is on (LIF has none; the flag is unused there)."""
        return True

    def _k(self, like: torch.Tensor) -> torch.Tensor:
        return torch.ones((), dtype=like.dtype, device=like.device)

    def _one_step(self, x: torch.Tensor, v: torch.Tensor) -> F.StepRecord:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau:g}, v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
            f"decay_input={self.decay_input}, detach_reset={self.detach_reset}, "
            f"surrogate={self.surrogate!r}, backend={self.backend!r}"
        )

    # --- input checks --------------------------------------------------------------------
    def _check_seq(self, x_seq: object) -> torch.Tensor:
        cls = type(self).__name__
        if not isinstance(x_seq, torch.Tensor):
            raise TypeError(
                f"{cls} expects a torch.Tensor of shape [T, N, ...], got {type(x_seq).__name__}; "
                "convert it with torch.as_tensor(x, dtype=torch.float32)"
            )
        if not x_seq.is_floating_point():
            raise TypeError(
                f"{cls} expects a floating-point tensor, got dtype {x_seq.dtype}; use x.float()"
            )
        if x_seq.dim() < 2:
            raise ValueError(
                f"{cls} expects a sequence of shape [T, N, ...] (time first, then batch), got shape "
                f"{tuple(x_seq.shape)}; for one neuron over T steps use x.reshape(T, 1)"
            )
        return x_seq

    def _rest(self, like: torch.Tensor) -> torch.Tensor:
        return torch.full_like(like, 0.0 if self.v_reset is None else self.v_reset)

    # --- the three ways to run -----------------------------------------------------------
    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes S for inputs X over [T, N, ...], starting from rest (fused path)."""
        x_seq = self._check_seq(x_seq)
        return multistep(x_seq, self._k(x_seq), self.config, self.backend)

    def trace(self, x_seq: torch.Tensor) -> Trace:
        """Run the reference equations and record H, F, S, V at every step (for plots)."""
        x_seq = self._check_seq(x_seq)
        v = self._rest(x_seq[0])
        steps = []
        for x in x_seq:
            rec = self._one_step(x, v)
            steps.append(rec)
            v = rec.v
        return Trace(*(torch.stack(field) for field in zip(*steps)))

    def step(self, x: torch.Tensor, v: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step with explicit state: (S[t], V[t]) from X[t] and V[t-1] (None = rest)."""
        cls = type(self).__name__
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(
                f"{cls}.step expects a floating-point torch.Tensor x of shape [N, ...], got "
                f"{type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}"
            )
        if v is None:
            v = self._rest(x)
        elif not isinstance(v, torch.Tensor):
            raise TypeError(f"{cls}.step expects v to be a torch.Tensor or None, got {type(v).__name__}")
        elif v.shape != x.shape:
            raise ValueError(
                f"{cls}.step: state v has shape {tuple(v.shape)} but x has shape {tuple(x.shape)}; "
                "pass the v returned by the previous step, or v=None to start from rest"
            )
        rec = self._one_step(x, v)
        return rec.s, rec.v


class LIF(_Neuron):
    """Leaky integrate-and-fire: charge H, fire on H, reset.

    H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau   (decay_input=True)
    S[t] = Theta(H[t] - V_th)
    """

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        decay_input: bool = True,
        detach_reset: bool = False,
        surrogate: Surrogate | None = None,
        backend: str = "eager",
    ) -> None:
        super().__init__(tau, v_threshold, v_reset, decay_input, detach_reset, surrogate, backend)

    def _one_step(self, x: torch.Tensor, v: torch.Tensor) -> F.StepRecord:
        return F.lif_step(
            x, v, self.tau, self.v_threshold, self.v_reset, self.decay_input, self.surrogate, self.detach_reset
        )


class KLIF(_Neuron):
    """KLIF: LIF charge, then F = ReLU(k*H) with one learnable k, fire and reset on F.

    H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau   (decay_input=True)
    F[t] = ReLU(k * H[t]),   S[t] = Theta(F[t] - V_th)
    dS/dH = k * g'(k*H - V_th) where k*H > 0: the surrogate's slope times k, width over k.

    Ablations of KLIF's two ingredients (the defaults are the paper's KLIF):
    ``gate=False`` drops the ReLU, F[t] = k * H[t] ("k only"); ``learn_k=False`` keeps k
    fixed at ``k_init`` (a buffer, not a parameter; with k_init=1 and the gate: "gate only").
    Both off with k_init=1 is LIF, number for number.
    """

    _klif = True

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        decay_input: bool = True,
        scale_reset: bool = False,
        detach_reset: bool = False,
        surrogate: Surrogate | None = None,
        k_init: float = 1.0,
        backend: str = "eager",
        *,
        learn_k: bool = True,
        gate: bool = True,
    ) -> None:
        super().__init__(
            tau, v_threshold, v_reset, decay_input, detach_reset, surrogate, backend, scale_reset
        )
        k_init = _number("k_init", k_init, type(self).__name__)
        if k_init <= 0:
            raise ValueError(f"KLIF: k_init must be > 0 (k scales the membrane potential), got {k_init}")
        for name, flag in (("learn_k", learn_k), ("gate", gate)):
            if not isinstance(flag, bool):
                raise TypeError(f"KLIF: {name} must be True or False, got {flag!r}")
        self.learn_k = learn_k
        self.gate = gate
        if learn_k:
            self.k = nn.Parameter(torch.tensor(k_init))
        else:  # a fixed k: saved with the model, moved by .to(), never trained
            self.register_buffer("k", torch.tensor(k_init))

    def _k(self, like: torch.Tensor) -> torch.Tensor:
        return self.k

    def _gated(self) -> bool:
        return self.gate

    def _one_step(self, x: torch.Tensor, v: torch.Tensor) -> F.StepRecord:
        return F.klif_step(
            x,
            v,
            self.k.to(x.dtype),
            self.tau,
            self.v_threshold,
            self.v_reset,
            self.decay_input,
            self.scale_reset,
            self.surrogate,
            self.detach_reset,
            self.gate,
        )

    def extra_repr(self) -> str:
        ablation = "".join(f", {name}=False" for name in ("learn_k", "gate") if not getattr(self, name))
        return f"k={float(self.k.detach()):.4g}{ablation}, scale_reset={self.scale_reset}, " + super().extra_repr()
