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

__all__ = ["LIF", "KLIF", "PLIF", "Trace", "BACKENDS", "K_ACTS_ON"]

K_ACTS_ON = F.K_ACTS_ON

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
    _plif = False

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
            tau=getattr(self, "tau_init", self.tau),  # PLIF: the initial tau (the learned one is a tensor)
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            decay_input=self.decay_input,
            detach_reset=self.detach_reset,
            surrogate=self.surrogate,
            klif=self._klif,
            scale_reset=self.scale_reset,
            gate=self._gated(),
            k_on_fire=self._k_on_fire(),
            plif=self._plif,
        )

    def _gated(self) -> bool:
        """KLIF's ReLU gate is on (LIF has none; the flag is unused there)."""
        return True

    def _k_on_fire(self) -> bool:
        """k acts on the firing (False only for KLIF's k_acts_on="leak")."""
        return True

    def _k(self, like: torch.Tensor) -> torch.Tensor:
        """The scalar the fused path takes beside X: k for KLIF, 1/tau for PLIF, 1 for LIF."""
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

    Where k acts (``k_acts_on``; separates k's two effects, see ``klif_edu.functional``):
    "both" (the paper): fire on F and carry F, so k moves the firing (threshold V_th/k on H,
    surrogate slope x k, width / k) and the leak (V[t] = k(1 - 1/tau) V[t-1] + (k/tau) X[t]
    below threshold). "fire" (the same as ``scale_reset=True``): carry F/k = ReLU(H), so the
    leak is LIF's 1 - 1/tau. "leak": fire on F/k = ReLU(H), S = Theta(ReLU(H) - V_th), so the
    firing is LIF's (with the gate) and k moves only the carried state's leak and drive.
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
        k_acts_on: str = "both",
    ) -> None:
        if k_acts_on not in K_ACTS_ON:
            raise ValueError(f"KLIF: k_acts_on must be one of {K_ACTS_ON}, got {k_acts_on!r}")
        if k_acts_on == "leak" and scale_reset:
            raise ValueError("KLIF: k_acts_on='leak' carries F = ReLU(k*H) itself; scale_reset=True would take "
                             "k off the leak too (that is k_acts_on='fire'); drop one of them")
        super().__init__(
            tau, v_threshold, v_reset, decay_input, detach_reset, surrogate, backend,
            scale_reset or k_acts_on == "fire",
        )
        k_init = _number("k_init", k_init, type(self).__name__)
        if k_init <= 0:
            raise ValueError(f"KLIF: k_init must be > 0 (k scales the membrane potential), got {k_init}")
        for name, flag in (("learn_k", learn_k), ("gate", gate)):
            if not isinstance(flag, bool):
                raise TypeError(f"KLIF: {name} must be True or False, got {flag!r}")
        self.learn_k = learn_k
        self.gate = gate
        self._k_leak_only = k_acts_on == "leak"
        if learn_k:
            self.k = nn.Parameter(torch.tensor(k_init))
        else:  # a fixed k: saved with the model, moved by .to(), never trained
            self.register_buffer("k", torch.tensor(k_init))

    def _k(self, like: torch.Tensor) -> torch.Tensor:
        return self.k

    def _gated(self) -> bool:
        return self.gate

    @property
    def k_acts_on(self) -> str:
        """Where k acts: "both" (the paper's KLIF), "fire" (scale_reset=True) or "leak"."""
        return "fire" if self.scale_reset else ("leak" if self._leak_only else "both")

    @property
    def _leak_only(self) -> bool:
        return getattr(self, "_k_leak_only", False)

    def _k_on_fire(self) -> bool:
        return not self._leak_only

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
            "leak" if self._leak_only else "both",
        )

    def extra_repr(self) -> str:
        ablation = "".join(f", {name}=False" for name in ("learn_k", "gate") if not getattr(self, name))
        where = ", k_acts_on='leak'" if self._leak_only else ""
        return (f"k={float(self.k.detach()):.4g}{ablation}{where}, scale_reset={self.scale_reset}, "
                + super().extra_repr())


class PLIF(_Neuron):
    """PLIF (Fang et al. 2021): LIF whose time constant is learned, one per layer.

    H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) * r   (decay_input=True; r = 1/tau = sigmoid(w))
    H[t] = V[t-1] - (V[t-1] - V_reset) * r + X[t]     (decay_input=False)
    S[t] = Theta(H[t] - V_th),  then LIF's reset.

    SpikingJelly's ``ParametricLIFNode`` parametrisation: ``w`` is the learnable parameter,
    initialised to -log(tau - 1) so that sigmoid(w) = 1/tau; 1/tau stays in (0, 1), tau > 1.
    The leak factor below threshold is 1 - 1/tau (``leak_factor()``); ``tau`` reads the
    learned value. PLIF learns the leak alone: no gate, no k, the surrogate untouched.
    """

    _plif = True

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        decay_input: bool = True,
        detach_reset: bool = False,
        surrogate: Surrogate | None = None,
        backend: str = "eager",
        *,
        learn_tau: bool = True,
    ) -> None:
        super().__init__(tau, v_threshold, v_reset, decay_input, detach_reset, surrogate, backend)
        if not isinstance(learn_tau, bool):
            raise TypeError(f"PLIF: learn_tau must be True or False, got {learn_tau!r}")
        self.learn_tau = learn_tau
        w = torch.tensor(-math.log(self.tau_init - 1.0))
        if learn_tau:
            self.w = nn.Parameter(w)
        else:
            self.register_buffer("w", w)

    # The configuration (what compiled code specialises on) keeps the initial tau; the learned
    # one travels as a tensor, r = sigmoid(w), beside X.
    @property
    def tau(self) -> float:
        """The learned time constant 1 / sigmoid(w) (a float; the initial value before w exists)."""
        w = self.__dict__.get("_parameters", {}).get("w")
        if w is None:
            w = self.__dict__.get("_buffers", {}).get("w")
        return self.tau_init if w is None else float(1.0 / torch.sigmoid(w.detach().double()))

    @tau.setter
    def tau(self, value: float) -> None:
        self.tau_init = float(value)

    def reciprocal_tau(self) -> torch.Tensor:
        """r = 1/tau = sigmoid(w), differentiable in w (what the charge multiplies by)."""
        return self.w.sigmoid()

    def leak_factor(self) -> float:
        """The learned leak factor 1 - 1/tau below threshold (LIF's at tau = 2 is 0.5)."""
        return float(1.0 - torch.sigmoid(self.w.detach().double()))

    def _k(self, like: torch.Tensor) -> torch.Tensor:
        return self.reciprocal_tau()

    def _one_step(self, x: torch.Tensor, v: torch.Tensor) -> F.StepRecord:
        return F.plif_step(
            x, v, self.reciprocal_tau().to(x.dtype), self.v_threshold, self.v_reset, self.decay_input,
            self.surrogate, self.detach_reset,
        )

    def extra_repr(self) -> str:
        fixed = ", learn_tau=False" if not self.learn_tau else ""
        return f"tau={self.tau:.4g} (init {self.tau_init:g}){fixed}, " + super().extra_repr().split(", ", 1)[1]
