"""The fused multi-step path: one autograd function over a whole sequence [T, N, ...].

Forward runs the time loop and keeps only H[t] (float32, 4 bytes per neuron-step).
Backward runs the loop in reverse, recomputing F, S and the surrogate derivative from H:

    gV[t]   = dL/dV[t]            (0 at the last step)
    gS      = dL/dS[t] + gV[t] * dV/dS      (the reset path, unless detach_reset)
    gF      = gS * g'(F - V_th) + gV[t] * dV/dF
    gH      = gF * k * [k*H > 0]           (LIF: gH = gF)
    gX[t]   = b * gH,   gV[t-1] = a * gH   (H = a*V + b*X + c)
    dL/dk  += gF * H * [k*H > 0] + gV[t] * dV/dk   (scale_reset makes V depend on k directly)

``functional`` holds the same equations step by step; tests check both paths agree.
``backend="compiled"`` runs the same two loops through ``torch.compile``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch

from .surrogate import Surrogate

__all__ = ["NeuronConfig", "multistep", "compiled_available"]


@dataclass(frozen=True)
class NeuronConfig:
    """Everything but k that fixes a neuron's dynamics (hashable, so compiled code can specialise)."""

    tau: float
    v_threshold: float
    v_reset: float | None
    decay_input: bool
    detach_reset: bool
    surrogate: Surrogate
    klif: bool
    scale_reset: bool = False

    @property
    def charge_coefficients(self) -> tuple[float, float, float]:
        """(a, b, c) with H = a*V + b*X + c."""
        a = 1.0 - 1.0 / self.tau
        b = 1.0 / self.tau if self.decay_input else 1.0
        c = (0.0 if self.v_reset is None else self.v_reset) / self.tau
        return a, b, c


def _forward_loop(
    x_seq: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, keep_h: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    a, b, c = cfg.charge_coefficients
    vth, vr = cfg.v_threshold, cfg.v_reset
    drive = x_seq * b + c if c != 0.0 else x_seq * b  # b*X[t] + c for every t at once
    s_seq = torch.empty_like(x_seq)
    h_seq = torch.empty_like(x_seq) if keep_h else None
    v = torch.full_like(x_seq[0], 0.0 if vr is None else vr)
    for t in range(x_seq.shape[0]):
        h = torch.add(drive[t], v, alpha=a)
        if h_seq is not None:
            h_seq[t] = h
        f = torch.relu(k * h) if cfg.klif else h
        fired = f >= vth
        s_seq[t] = fired
        if cfg.klif and cfg.scale_reset:
            f = f / k
            v = f.masked_fill(fired, vr) if vr is not None else f - fired * (vth / k)
        else:
            v = f.masked_fill(fired, vr) if vr is not None else torch.sub(f, fired.to(f.dtype), alpha=vth)
    return s_seq, h_seq


def _backward_loop(
    h_seq: torch.Tensor,
    grad_s: torch.Tensor,
    k: torch.Tensor,
    cfg: NeuronConfig,
    need_k: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    a, b, _ = cfg.charge_coefficients
    vth, vr = cfg.v_threshold, cfg.v_reset
    soft = vr is None
    grad_x = torch.empty_like(h_seq)
    grad_v = torch.zeros_like(h_seq[0])
    grad_k = torch.zeros_like(h_seq[0]) if need_k else None
    for t in range(h_seq.shape[0] - 1, -1, -1):
        h = h_seq[t]
        if cfg.klif:
            kh = k * h
            gate = (kh > 0).to(h.dtype)
            f = kh * gate
        else:
            f = h
        x = f - vth
        s = (x >= 0).to(h.dtype)
        sg = cfg.surrogate.derivative(x)
        # V = reset(Fr, S) with Fr = F/k under scale_reset, else Fr = F
        scaled = cfg.klif and cfg.scale_reset
        fr = f / k if scaled else f
        vth_r = vth / k if scaled else vth
        if soft:
            dv_dfr = 1.0
            dv_ds = -vth_r
        else:
            dv_dfr = 1.0 - s
            dv_ds = vr - fr
        grad_spike = grad_s[t] if cfg.detach_reset else grad_s[t] + grad_v * dv_ds
        grad_fr = grad_v * dv_dfr
        grad_f = grad_spike * sg + (grad_fr / k if scaled else grad_fr)
        if cfg.klif:
            grad_f = grad_f * gate
            grad_h = grad_f * k
            if grad_k is not None:
                grad_k = grad_k + grad_f * h
                if scaled:  # direct dependence of V on k: d(F/k)/dk and d(V_th/k)/dk
                    v_next = fr - s * vth_r if soft else fr * (1.0 - s)
                    grad_k = grad_k - grad_v * v_next / k  # (V_reset * S does not depend on k)
        else:
            grad_h = grad_f
        grad_x[t] = grad_h * b
        grad_v = grad_h * a
    return grad_x, (grad_k.sum() if grad_k is not None else None)


@lru_cache(maxsize=None)
def _compiled(fn: Callable) -> Callable:
    return torch.compile(fn, dynamic=None)


def _run(fn: Callable, backend: str, *args):
    if backend == "compiled":
        try:
            return _compiled(fn)(*args)
        except Exception as err:  # no C++ compiler, no triton, unsupported platform, ...
            warnings.warn(
                f"klif-edu: torch.compile is not usable here ({type(err).__name__}); "
                "falling back to the eager fused path (same numbers, slower).",
                RuntimeWarning,
                stacklevel=3,
            )
    return fn(*args)


def compiled_available() -> bool:
    """True when torch.compile can build the fused loops on this machine (compiles a tiny case)."""
    from .surrogate import Sigmoid

    cfg = NeuronConfig(2.0, 1.0, 0.0, True, False, Sigmoid(), True)
    try:
        _compiled(_forward_loop)(torch.ones(2, 1), torch.ones(()), cfg, False)
        return True
    except Exception:
        return False


class _MultiStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq, k, cfg: NeuronConfig, backend: str):
        compute = torch.float32 if x_seq.dtype in (torch.float16, torch.bfloat16) else x_seq.dtype
        xc = x_seq.to(compute)
        kc = k.detach().to(compute)
        keep_h = any(ctx.needs_input_grad[:2])
        s_seq, h_seq = _run(_forward_loop, backend, xc, kc, cfg, keep_h)
        if keep_h:
            ctx.save_for_backward(h_seq, kc)
        ctx.cfg, ctx.backend, ctx.x_dtype, ctx.k_dtype = cfg, backend, x_seq.dtype, k.dtype
        return s_seq.to(x_seq.dtype)

    @staticmethod
    def backward(ctx, grad_s):
        h_seq, kc = ctx.saved_tensors
        need_k = ctx.cfg.klif and ctx.needs_input_grad[1]
        grad_x, grad_k = _run(
            _backward_loop, ctx.backend, h_seq, grad_s.to(h_seq.dtype).contiguous(), kc, ctx.cfg, need_k
        )
        grad_x = grad_x.to(ctx.x_dtype) if ctx.needs_input_grad[0] else None
        grad_k = grad_k.to(ctx.k_dtype) if grad_k is not None else None
        return grad_x, grad_k, None, None


def multistep(x_seq: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, backend: str = "eager") -> torch.Tensor:
    """Spikes S[0..T-1] for inputs X[0..T-1], starting from rest. k: 0-d tensor (1.0 for LIF)."""
    return _MultiStep.apply(x_seq, k, cfg, backend)
