"""The fused multi-step path: one autograd function over a whole sequence [T, N, ...].

Forward runs the time loop and keeps only H[t] (4 bytes per neuron-step in float32, plus
the scalar k). Backward runs the loop in reverse, recomputing F, S and the surrogate
derivative from H:

    gV[t]   = dL/dV[t]            (0 at the last step)
    gF      = gate * ((dL/dS[t] + gV[t] * dV/dS) * g'(F - V_th) + gV[t] * dV/dF)
              (gate = [k*H > 0] for KLIF, 1 for LIF and for KLIF's gate=False ablation;
              no dV/dS term with detach_reset)
    gX[t]   = k*b * gF,   gV[t-1] = k*a * gF          (H = a*V + b*X + c)
    dL/dk   = sum(gF * H) - sum(gV[t] * V[t]) / k     (the last term only with scale_reset)

KLIF with k_acts_on="leak" fires on ReLU(H) (g' at ReLU(H) - V_th) and carries F = ReLU(k*H):
gH = gate * (t1 * g' + k * d), gX = b*gH, gV[t-1] = a*gH, dL/dk = sum(d * ReLU(H)).
PLIF passes r = 1/tau = sigmoid(w) in k's place: H = (1 - r) V + r X (+ r V_reset), F = H, so
gX = r*gH (1*gH without decay_input), gV[t-1] = (1 - r) gH, and dL/dr = sum(gH * (H - V[t-1])) / r
(-sum(gH * (V[t-1] - V_reset)) without decay_input), with V[t-1] recomputed from H[t-1];
autograd takes dL/dr on to w through the sigmoid.

Both loops come twice. The forward loops do the reference's arithmetic in its order
(``klif_edu.functional``), so S and H are bit for bit the reference's (on the CPU; on
CUDA inductor may turn a division by tau into a multiplication); the backward loops
compute the gradients above, equal to the reference's up to rounding.

* ``_forward_eager`` / ``_backward_eager``: in-place ops on one time step at a time, so
  the temporaries stay in cache and only X, S, H and the gradients travel to memory.
  Comparisons write float 0/1 directly (bool masks and ``masked_fill`` are several
  times slower on the CPU) and the hard reset is ``F - F*S (+ V_reset*S)``.
* ``_forward_graph`` / ``_backward_graph``: the same equations written functionally for
  ``torch.compile``, which turns each whole loop into one kernel that reads X (or H and
  dL/dS) once. The sequence is flattened to [T, M] with M marked dynamic, so one
  compiled kernel serves every layer shape and batch size (T stays fixed: the loop is
  unrolled). How they are compiled (once per configuration and T): ``klif_edu.compiler``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.autograd.function import once_differentiable

from .compiler import compiled_for, graph_input
from .surrogate import Sigmoid, Surrogate

__all__ = ["NeuronConfig", "multistep", "compiled_available"]


@dataclass(frozen=True)
class NeuronConfig:
    """Everything but k (or PLIF's 1/tau) that fixes a neuron's dynamics (hashable, so compiled code can specialise)."""

    tau: float  # PLIF: the initial tau only (the learned 1/tau comes as a tensor beside X)
    v_threshold: float
    v_reset: float | None
    decay_input: bool
    detach_reset: bool
    surrogate: Surrogate
    klif: bool
    scale_reset: bool = False
    gate: bool = True  # KLIF only: F = ReLU(k*H); False is the "k only" ablation F = k*H
    k_on_fire: bool = True  # KLIF only: False is k_acts_on="leak" (fire on ReLU(H), carry F)
    plif: bool = False  # PLIF: the charge multiplies by r = 1/tau = sigmoid(w), passed in k's place

    @property
    def charge_coefficients(self) -> tuple[float, float, float]:
        """(a, b, c) with H = a*V + b*X + c (PLIF: at the initial tau)."""
        a = 1.0 - 1.0 / self.tau
        b = 1.0 / self.tau if self.decay_input else 1.0
        c = (0.0 if self.v_reset is None else self.v_reset) / self.tau
        return a, b, c

    @property
    def scaled(self) -> bool:
        """True when the reset works on F / k (KLIF with scale_reset, i.e. k_acts_on="fire")."""
        return self.klif and self.scale_reset

    @property
    def leak_only(self) -> bool:
        """True for KLIF with k_acts_on="leak": S fires on ReLU(H), V carries F = ReLU(k*H)."""
        return self.klif and not self.k_on_fire


def _chain(k: torch.Tensor, cfg: NeuronConfig):
    """(dH[t]/dV[t-1], dH[t]/dX[t]) times dF/dH's k where the gradient wrt F flows back through k*H.

    KLIF ("both", "fire"): k*a, k*b; PLIF: 1 - r, r (or 1); LIF and k_acts_on="leak": a, b.
    """
    if cfg.plif:
        return 1.0 - k, (k if cfg.decay_input else 1.0)
    a, b, _ = cfg.charge_coefficients
    if cfg.klif and not cfg.leak_only:
        return k * a, k * b
    return a, b


# --- eager: one time step at a time, in place -----------------------------------------------
def _charge_(
    h: torch.Tensor, x: torch.Tensor, v: torch.Tensor, cfg: NeuronConfig, tau: torch.Tensor,
    r: torch.Tensor | None = None,
) -> None:
    """h <- H = V + (X - (V - V_rest)) / tau, or V - (V - V_rest) / tau + X, rounded as functional.charge.

    PLIF (r = 1/tau given): V + (X - (V - V_rest)) * r, or V - (V - V_rest) * r + X (functional.plif_charge).
    """
    rest = 0.0 if cfg.v_reset is None else cfg.v_reset
    d = v if rest == 0.0 else torch.sub(v, rest, out=h)  # V - 0 is V, bit for bit
    if r is not None:  # a product then a sum, as the reference rounds them (no fused multiply-add)
        if cfg.decay_input:
            torch.mul(torch.sub(x, d, out=h), r, out=h).add_(v)
        else:
            torch.sub(v, torch.mul(d, r, out=h), out=h).add_(x)
    elif cfg.decay_input:
        torch.addcdiv(v, torch.sub(x, d, out=h), tau, out=h)
    else:
        torch.addcdiv(v, d, tau, value=-1.0, out=h).add_(x)


def _reset_(
    v: torch.Tensor, f: torch.Tensor, s: torch.Tensor, vth: float | torch.Tensor, vr: float | None
) -> None:
    """v <- F*(1-S) + V_reset*S (hard) or F - S*V_th (soft); S is 0 or 1, so F - F*S is F*(1-S) exactly."""
    if vr is None:
        if isinstance(vth, torch.Tensor):
            torch.addcmul(f, s, vth, value=-1.0, out=v)
        else:
            torch.sub(f, s, alpha=vth, out=v)
    else:
        torch.addcmul(f, f, s, value=-1.0, out=v)
        if vr != 0.0:
            v.add_(s, alpha=vr)


def _forward_eager(
    x: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, keep_h: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    vth, vr = cfg.v_threshold, cfg.v_reset
    tau = x.new_full((), cfg.tau)
    r = k if cfg.plif else None
    vth_r = vth / k if cfg.scaled else vth  # same expression (and rounding) as functional.klif_step
    s_seq = torch.empty_like(x)
    h_seq = torch.empty_like(x) if keep_h else None
    scratch = None if keep_h else x.new_empty(x.shape[1:])
    v = x.new_full(x.shape[1:], 0.0 if vr is None else vr)
    for t in range(x.shape[0]):
        h = h_seq[t] if h_seq is not None else scratch
        _charge_(h, x[t], v, cfg, tau, r)  # V[t-1] is dead now: its buffer takes F, then V[t]
        if cfg.leak_only:  # ReLU(H) >= V_th exactly when H >= V_th (V_th > 0)
            s = torch.ge(h, vth, out=s_seq[t])
        f = torch.mul(h, k, out=v) if cfg.klif else h
        if cfg.klif and cfg.gate:
            f.relu_()
        if not cfg.leak_only:
            s = torch.ge(f, vth, out=s_seq[t])
        if cfg.scaled:
            f = f.div_(k)
        _reset_(v, f, s, vth_r, vr)
    return s_seq, h_seq


def _surrogate_derivative(f: torch.Tensor, vth: float, surrogate: Surrogate, out: torch.Tensor):
    """(d, scale) with g'(F - V_th) = scale * d; in place (three ops) for the default Sigmoid."""
    if type(surrogate) is Sigmoid:  # g' = alpha * g * (1 - g), g = sigmoid(alpha*F - alpha*V_th)
        alpha = surrogate.alpha
        g = torch.add(f.new_full((), -alpha * vth), f, alpha=alpha, out=out).sigmoid_()
        return torch.addcmul(g, g, g, value=-1.0, out=out), alpha
    return surrogate.derivative(f - vth), 1.0


def _previous_v(h_prev: torch.Tensor | None, cfg: NeuronConfig, s: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """V[t-1] of a LIF-like neuron (F = H) recomputed from H[t-1] (rest at t = 0), for PLIF's dL/dr."""
    vth, vr = cfg.v_threshold, cfg.v_reset
    if h_prev is None:
        return out.fill_(0.0 if vr is None else vr)
    torch.ge(h_prev, vth, out=s)
    _reset_(out, h_prev, s, vth, vr)
    return out


def _backward_eager(
    h_seq: torch.Tensor, grad_s: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, need_x: bool, need_k: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    vth, vr = cfg.v_threshold, cfg.v_reset
    klif, scaled, soft, leak_only = cfg.klif, cfg.scaled, vr is None, cfg.leak_only
    grad_x = torch.empty_like(h_seq) if need_x else None
    gv = h_seq.new_zeros(h_seq.shape[1:])  # dL/dV[t]
    gf, s, sg, t1_buf, d_buf = (torch.empty_like(gv) for _ in range(5))  # per-step buffers, never rebound
    gated = klif and cfg.gate
    f = torch.empty_like(gv) if klif else None
    gate = torch.empty_like(gv) if gated else None
    fr = torch.empty_like(gv) if scaled else None
    ff = torch.empty_like(gv) if leak_only and gated else None  # what fires: ReLU(H)
    plif_k = cfg.plif and need_k
    vprev, sprev = (torch.empty_like(gv), torch.empty_like(gv)) if plif_k else (None, None)
    ka, kb = _chain(k, cfg)
    vth_r = vth / k if scaled else vth
    inv_k = 1.0 / k if scaled else None
    dots_h, dots_v = [], []  # sum(gF*H) and sum(gV*V[t]) per step, for dL/dk (PLIF: sum(gH*dH/dr))
    for t in range(h_seq.shape[0] - 1, -1, -1):
        h, gs, last = h_seq[t], grad_s[t], t == h_seq.shape[0] - 1
        if gated:
            torch.gt(torch.mul(h, k, out=f), 0.0, out=gate)
            f.relu_()
        elif klif:
            torch.mul(h, k, out=f)
        else:
            f = h
        fire_on = (torch.clamp_min(h, 0.0, out=ff) if gated else h) if leak_only else f  # k_acts_on="leak": ReLU(H)
        if not soft or (need_k and scaled):
            torch.ge(fire_on, vth, out=s)
        g, scale = _surrogate_derivative(fire_on, vth, cfg.surrogate, sg)
        fr = torch.mul(f, inv_k, out=fr) if scaled else f
        # gF = d + t1 * g'  with  t1 = gS + gV * dV/dS,  d = gV * dV/dF
        if cfg.detach_reset or last:
            t1 = gs
        elif soft:  # dV/dS = -V_th (-V_th/k with scale_reset)
            if scaled:
                t1 = torch.addcmul(gs, gv, vth_r, value=-1.0, out=t1_buf)
            else:
                t1 = torch.sub(gs, gv, alpha=vth, out=t1_buf)
        else:  # dV/dS = V_reset - F (- F/k with scale_reset)
            t1 = torch.addcmul(gs, gv, fr, value=-1.0, out=t1_buf)
            if vr != 0.0:
                t1.add_(gv, alpha=vr)
        if last:
            torch.mul(t1, g, out=gf).mul_(scale)
        else:
            if soft:  # dV/dF = 1 (1/k)
                d = torch.mul(gv, inv_k, out=d_buf) if scaled else gv
            else:  # dV/dF = 1 - S ((1 - S)/k)
                d = torch.addcmul(gv, gv, s, value=-1.0, out=d_buf)
                if scaled:
                    d.mul_(inv_k)
            if leak_only:  # only the carried F depends on k: dL/dk += d * dF/dk = d * ReLU(H); dF/dH = k
                if need_k:
                    dots_h.append(torch.dot(d, fire_on))
                d = torch.mul(d, k, out=d_buf)
            torch.addcmul(d, t1, g, value=scale, out=gf)
            if need_k and scaled:  # V[t] depends on k directly: dV/dk = -(V[t] - V_reset*S)/k
                if soft:
                    w = torch.addcmul(fr, s, vth_r, value=-1.0, out=sg)
                else:
                    w = torch.addcmul(fr, fr, s, value=-1.0, out=sg)
                dots_v.append(torch.dot(gv, w))
        if klif:
            if gated:
                gf.mul_(gate)
            if need_k and not leak_only:
                dots_h.append(torch.dot(gf, h))
        elif plif_k:  # dH/dr = X - (V[t-1] - V_rest) = (H - V[t-1]) / r, or -(V[t-1] - V_rest)
            v_prev = _previous_v(h_seq[t - 1] if t > 0 else None, cfg, sprev, vprev)
            if cfg.decay_input:
                dots_h.append(torch.dot(gf, torch.sub(h, v_prev, out=v_prev)))
            else:
                dots_h.append(torch.dot(gf, v_prev.sub_(0.0 if vr is None else vr)))
        if grad_x is not None:
            torch.mul(gf, kb, out=grad_x[t])
        torch.mul(gf, ka, out=gv)
    grad_k = None
    if need_k:
        grad_k = torch.stack(dots_h).sum() if dots_h else torch.zeros_like(k)
        if dots_v:
            grad_k = grad_k - torch.stack(dots_v).sum() / k
        if cfg.plif:
            grad_k = grad_k / k if cfg.decay_input else -grad_k
    return grad_x, grad_k


# --- graph: the same equations, functional, for torch.compile ---------------------------------
def _forward_graph(
    x: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, keep_h: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    vth, vr, tau = cfg.v_threshold, cfg.v_reset, cfg.tau
    rest = 0.0 if vr is None else vr
    vth_r = vth / k if cfg.scaled else vth
    v = torch.full_like(x[0], rest)
    spikes, hs = [], []
    for t in range(x.shape[0]):
        if cfg.plif:  # k is r = 1/tau here
            h = v + (x[t] - (v - rest)) * k if cfg.decay_input else v - (v - rest) * k + x[t]
        else:
            h = v + (x[t] - (v - rest)) / tau if cfg.decay_input else v - (v - rest) / tau + x[t]
        f = (torch.relu(k * h) if cfg.gate else k * h) if cfg.klif else h
        s = ((h if cfg.leak_only else f) >= vth).to(x.dtype)
        if cfg.scaled:
            f = f / k
        v = f - s * vth_r if vr is None else f * (1.0 - s) + vr * s
        spikes.append(s)
        hs.append(h)
    return torch.stack(spikes), (torch.stack(hs) if keep_h else None)


def _backward_graph(
    h_seq: torch.Tensor, grad_s: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, need_x: bool, need_k: bool,
    sum_k: bool = True,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    vth, vr = cfg.v_threshold, cfg.v_reset
    klif, scaled, leak_only = cfg.klif, cfg.scaled, cfg.leak_only
    ka, kb = _chain(k, cfg)
    vth_r = vth / k if scaled else vth
    gv = torch.zeros_like(h_seq[0])
    gk = torch.zeros_like(h_seq[0])
    grads = []
    for t in range(h_seq.shape[0] - 1, -1, -1):
        h = h_seq[t]
        f = (torch.relu(k * h) if cfg.gate else k * h) if klif else h
        fire_on = (torch.relu(h) if cfg.gate else h) if leak_only else f
        s = (fire_on >= vth).to(h.dtype)
        sg = cfg.surrogate.derivative(fire_on - vth)
        fr = f / k if scaled else f
        dv_ds = -vth_r if vr is None else vr - fr
        dv_df = (1.0 if vr is None else 1.0 - s) / k if scaled else (1.0 if vr is None else 1.0 - s)
        g_spike = grad_s[t] if cfg.detach_reset else grad_s[t] + gv * dv_ds
        d = gv * dv_df
        if leak_only:
            if need_k:
                gk = gk + d * fire_on
            d = d * k
        gf = g_spike * sg + d
        if klif:
            if cfg.gate:
                gf = torch.where(k * h > 0, gf, 0.0)
            if need_k and not leak_only:
                gk = gk + gf * h
                if scaled:
                    gk = gk - gv * (fr - s * vth_r if vr is None else fr * (1.0 - s)) / k
        elif cfg.plif and need_k:
            rest = 0.0 if vr is None else vr
            if t == 0:
                v_prev = torch.full_like(h, rest)
            else:
                hp = h_seq[t - 1]
                sp = (hp >= vth).to(h.dtype)
                v_prev = hp - sp * vth if vr is None else hp * (1.0 - sp) + vr * sp
            gk = gk + (gf * (h - v_prev) if cfg.decay_input else gf * (v_prev - rest))
        grads.append(gf * kb)
        gv = gf * ka
    if cfg.plif and need_k:
        gk = gk / k if cfg.decay_input else -gk
    grad_x = torch.stack(grads[::-1]) if need_x else None
    return grad_x, ((gk.sum() if sum_k else gk) if need_k else None)


def _backward_graph_terms(
    h_seq: torch.Tensor, grad_s: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, need_x: bool, need_k: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """_backward_graph with dL/dk per neuron [M], summed by the caller: what torch.compile builds.

    A sum over M inside the graph makes inductor's CPU code guard on M <= 4096, so every
    larger layer would compile the loop once more; the sum outside costs one pass over M.
    """
    return _backward_graph(h_seq, grad_s, k, cfg, need_x, need_k, sum_k=False)


# --- running the loops ------------------------------------------------------------------------
def _run(eager: Callable, graph: Callable, backend: str, cfg: NeuronConfig, *args):
    """eager(*args) or its compiled twin; args start with (X or H [T, M], k or dL/dS)."""
    if backend != "compiled" or args[0].numel() == 0:
        return eager(*args)
    if torch.compiler.is_compiling():  # inside a torch.compile'd model: the loop joins its graph
        return graph(*args)
    return compiled_for(cfg, args[0].shape[0])(eager, graph, *(graph_input(a) for a in args))


def compiled_available() -> bool:
    """True when torch.compile can build the fused loops on this machine (compiles a tiny case)."""
    from .surrogate import Sigmoid

    cfg = NeuronConfig(2.0, 1.0, 0.0, True, False, Sigmoid(), True)
    try:
        torch.compile(_forward_graph)(torch.ones(2, 3), torch.ones(()), cfg, False)
        return True
    except Exception:
        return False


def _flat(x_seq: torch.Tensor) -> torch.Tensor:
    """[T, N, ...] -> [T, M]: the loops are elementwise, so one flat kernel serves every shape."""
    return x_seq.reshape(x_seq.shape[0], math.prod(x_seq.shape[1:]))


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


class _MultiStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq, k, cfg: NeuronConfig, backend: str):
        compute = _compute_dtype(x_seq.dtype)
        x = _flat(x_seq).to(compute)
        kc = k.detach().to(compute)
        s, h = _run(_forward_eager, _forward_graph, backend, cfg, x, kc, cfg, True)
        if cfg.klif or cfg.plif:
            ctx.save_for_backward(h, kc)
        else:  # LIF's k is a constant 1
            ctx.save_for_backward(h)
        ctx.cfg, ctx.backend, ctx.x_dtype, ctx.k_dtype = cfg, backend, x_seq.dtype, k.dtype
        ctx.shape = x_seq.shape
        return s.view(x_seq.shape).to(x_seq.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_s):
        h, *kc = ctx.saved_tensors
        kc = kc[0] if kc else h.new_ones(())
        need_x = ctx.needs_input_grad[0]
        need_k = (ctx.cfg.klif or ctx.cfg.plif) and ctx.needs_input_grad[1]
        gs = grad_s.reshape(h.shape)
        if ctx.backend == "compiled":
            gs = gs.to(h.dtype).contiguous()
        cfg = ctx.cfg
        grad_x, grad_k = _run(_backward_eager, _backward_graph_terms, ctx.backend, cfg, h, gs, kc, cfg, need_x, need_k)
        if grad_k is not None and grad_k.dim() > 0:  # per neuron from the graph loop
            grad_k = grad_k.sum()
        grad_x = grad_x.view(ctx.shape).to(ctx.x_dtype) if grad_x is not None else None
        grad_k = grad_k.to(ctx.k_dtype) if grad_k is not None else None
        return grad_x, grad_k, None, None


def multistep(
    x_seq: torch.Tensor, k: torch.Tensor, cfg: NeuronConfig, backend: str = "eager"
) -> torch.Tensor:
    """Spikes S[0..T-1] for inputs X[0..T-1], starting from rest. k: 0-d tensor (1.0 for LIF, 1/tau for PLIF).

    Keeps H for the backward pass only when grad mode is on and x or k requires grad.
    """
    if torch.is_grad_enabled() and (x_seq.requires_grad or ((cfg.klif or cfg.plif) and k.requires_grad)):
        return _MultiStep.apply(x_seq, k, cfg, backend)
    compute = _compute_dtype(x_seq.dtype)
    x = _flat(x_seq).to(compute)
    s, _ = _run(_forward_eager, _forward_graph, backend, cfg, x, k.detach().to(compute), cfg, False)
    return s.view(x_seq.shape).to(x_seq.dtype)
