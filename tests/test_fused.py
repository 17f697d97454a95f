"""The fused multi-step path against the reference equations (``n.trace``) and autograd through them."""
from __future__ import annotations

import itertools
import time
import warnings

import pytest
import torch

from klif_edu import KLIF, LIF, surrogate
from klif_edu import fused
from klif_edu.fused import NeuronConfig

RESETS = {"hard0": 0.0, "hard-0.3": -0.3, "soft": None}
KLIF_CASES = list(itertools.product(RESETS, [True, False], [False, True], [False, True]))
LIF_CASES = list(itertools.product(RESETS, [True, False], [False, True]))
SHAPES = [(7, 5), (5, 2, 3, 4, 4)]


def make(klif: bool, reset: str, decay_input: bool, detach_reset: bool, scale_reset: bool = False,
         k: float = 1.0, tau: float = 2.5, backend: str = "eager"):
    kw = dict(tau=tau, v_reset=RESETS[reset], decay_input=decay_input, detach_reset=detach_reset,
              backend=backend)
    return KLIF(scale_reset=scale_reset, k_init=k, **kw) if klif else LIF(**kw)


def inputs(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 2.0 + 2.0  # fires often, not always
    grad = torch.randn(shape, generator=g, dtype=torch.float64)
    return x.to(dtype), grad.to(dtype)


def grads(n, x, grad, run, need_x=True, need_k=True):
    """(spikes, dL/dX, dL/dk) with L = sum(S * grad), through ``run`` = fused or reference."""
    x = x.clone().requires_grad_(need_x)
    k = getattr(n, "k", None)
    if k is not None:
        k.requires_grad_(need_k)
        k.grad = None
    s = run(x)
    (s * grad).sum().backward()
    return s.detach(), x.grad, (k.grad.clone() if k is not None and k.grad is not None else None)


def assert_same(n, x, grad, need_x=True, need_k=True):
    s, gx, gk = grads(n, x, grad, n, need_x, need_k)
    rs, rgx, rgk = grads(n, x, grad, lambda v: n.trace(v).s, need_x, need_k)
    assert torch.equal(s, rs), f"{(s != rs).sum()} spikes differ"
    tol = dict(rtol=1e-6, atol=1e-6) if x.dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4)
    if need_x:
        torch.testing.assert_close(gx, rgx, **tol)
    else:
        assert gx is None
    if isinstance(n, KLIF) and need_k:
        torch.testing.assert_close(gk, rgk, **tol)
    return s


@pytest.mark.parametrize("reset,decay_input,scale_reset,detach_reset", KLIF_CASES)
def test_klif_matches_reference(reset, decay_input, scale_reset, detach_reset):
    for k, dtype, shape in itertools.product([0.6, 1.7], [torch.float64, torch.float32], SHAPES):
        n = make(True, reset, decay_input, detach_reset, scale_reset, k).to(dtype)
        x, grad = inputs(shape, dtype)
        s = assert_same(n, x, grad)
        assert 0.02 < s.mean() < 0.98  # both branches of the reset are exercised


@pytest.mark.parametrize("reset,decay_input,detach_reset", LIF_CASES)
def test_lif_matches_reference(reset, decay_input, detach_reset):
    for dtype, shape in itertools.product([torch.float64, torch.float32], SHAPES):
        n = make(False, reset, decay_input, detach_reset).to(dtype)
        x, grad = inputs(shape, dtype)
        assert_same(n, x, grad)


@pytest.mark.parametrize("need_x,need_k", [(False, True), (True, False)])
@pytest.mark.parametrize("reset,scale_reset", [("hard-0.3", True), ("soft", True), ("hard0", False)])
def test_gradient_for_x_or_k_alone(need_x, need_k, reset, scale_reset):
    n = make(True, reset, True, False, scale_reset, k=1.3).double()
    x, grad = inputs((6, 4, 3), torch.float64)
    assert_same(n, x, grad, need_x, need_k)


@pytest.mark.parametrize("name", [n for n in surrogate.ALL if n != "Sigmoid"])
@pytest.mark.parametrize("reset", ["hard-0.3", "soft"])
def test_other_surrogates(name, reset):
    """Sigmoid has an in-place fast path; every other surrogate goes through its own derivative."""
    n = make(True, reset, True, False, scale_reset=True, k=1.3)
    n.surrogate = surrogate.ALL[name]()
    x, grad = inputs((6, 4, 3), torch.float64)
    assert_same(n, x, grad)


def test_h_and_spikes_bit_for_bit():
    """The fused loop rounds like the reference: H itself (what backward keeps) is identical."""
    cases = itertools.product([True, False], RESETS, [True, False], [False, True])
    for klif, reset, decay_input, scale_reset in cases:
        if not klif and scale_reset:
            continue
        n = make(klif, reset, decay_input, False, scale_reset, k=1.37, tau=2.3)
        x, _ = inputs((12, 500), torch.float32, seed=1)
        s, h = fused._forward_eager(x, n._k(x).detach(), n.config, True)
        tr = n.trace(x)
        assert torch.equal(s, tr.s) and torch.equal(h, tr.h)


def saved(n, x):
    """(bytes of tensors saved for backward with more than one element, number of one-element ones)."""
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = max(seen.get(t.untyped_storage().data_ptr(), (0, 0)),
                                                   (t.numel() * t.element_size(), t.numel()))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        s = n(x)
    return s, sum(b for b, m in seen.values() if m > 1), sum(1 for _, m in seen.values() if m <= 1)


@pytest.mark.parametrize("klif", [True, False])
def test_saves_four_bytes_per_neuron_step(klif):
    n = make(klif, "hard0", True, False, scale_reset=klif)
    x, _ = inputs((4, 3, 8, 5, 5), torch.float32)
    s, nbytes, scalars = saved(n, x.requires_grad_(True))
    assert nbytes <= 4 * x.numel() and scalars <= 1
    assert s.grad_fn is not None


@pytest.mark.parametrize("klif", [True, False])
def test_nothing_saved_without_grad(klif):
    n = make(klif, "soft", True, False)
    x, _ = inputs((4, 3, 10), torch.float32)
    if klif:
        with torch.no_grad():
            s, nbytes, scalars = saved(n, x.clone().requires_grad_(True))
        assert s.grad_fn is None and nbytes == 0 and scalars == 0
        n.k.requires_grad_(False)
    s, nbytes, scalars = saved(n, x)
    assert s.grad_fn is None and nbytes == 0 and scalars == 0
    assert torch.equal(s, n.trace(x).s)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_input_float32_compute(dtype):
    n = make(True, "hard0", True, False, k=1.3)
    x, grad = inputs((5, 4, 6), dtype)
    xr = x.clone().requires_grad_(True)
    s = n(xr)
    assert s.dtype == dtype
    (s.float() * grad.float()).sum().backward()
    assert xr.grad.dtype == dtype and n.k.grad.dtype == torch.float32
    _, nbytes, _ = saved(n, x.clone().requires_grad_(True))
    assert nbytes == 4 * x.numel()  # H in float32
    s32, gx32, gk32 = grads(n, x.float(), grad.float(), n)
    assert torch.equal(s.float(), s32)
    torch.testing.assert_close(xr.grad.float(), gx32, rtol=1e-2, atol=1e-2)


def test_graph_loops_have_no_graph_breaks():
    """Each loop traces into one graph, so inductor can fuse it into one kernel."""
    cfg = make(True, "soft", True, False, scale_reset=True).config
    x, g = torch.randn(3, 10), torch.randn(3, 10)
    k = torch.tensor(1.2)
    loops = ((fused._forward_graph, (x, k, cfg, True)), (fused._backward_graph, (x, g, k, cfg, True, True)))
    for fn, args in loops:
        explained = torch._dynamo.explain(fn)(*args)
        assert explained.graph_break_count == 0 and explained.graph_count == 1


def test_compiled_equals_eager():
    """One small case through torch.compile (tens of seconds on a cold cache): same spikes, H and grads;
    a second layer shape and batch size reuses the kernels."""
    from torch._dynamo.utils import counters

    n = make(True, "soft", True, False, scale_reset=True, k=1.3, tau=2.25, backend="compiled")
    x, grad = inputs((4, 3, 5), torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fall-back to eager would not test anything
        s, gx, gk = grads(n, x, grad, n)
        before = counters["stats"]["unique_graphs"]
        x2, grad2 = inputs((4, 6, 2, 2), torch.float32, seed=3)
        s2, gx2, gk2 = grads(n, x2, grad2, n)
        assert counters["stats"]["unique_graphs"] == before, "recompiled for a new shape"
        x2d, k = x.reshape(4, -1), n.k.detach()
        cfg = n.config
        compiled_h = fused._run(fused._forward_eager, fused._forward_graph, "compiled", cfg, x2d, k, cfg, True)[1]
        assert torch.equal(compiled_h, fused._forward_eager(x2d, k, n.config, True)[1])  # H bit for bit (CPU)
    n.backend = "eager"
    for (a, b, c), (xx, gg) in (((s, gx, gk), (x, grad)), ((s2, gx2, gk2), (x2, grad2))):
        es, egx, egk = grads(n, xx, gg, n)
        assert torch.equal(a, es)
        torch.testing.assert_close(b, egx, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(c, egk, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["eager", "compiled"])
def test_inside_a_compiled_model(backend):
    """torch.compile of a model holding a neuron traces through the fused path (dynamo only, no inductor)."""
    n = make(True, "hard0", True, False, k=1.3, backend=backend)
    x, grad = inputs((5, 3, 4), torch.float32)
    s, gx, gk = grads(n, x, grad, torch.compile(n, backend="eager", fullgraph=True))
    rs, rgx, rgk = grads(n, x, grad, lambda v: n.trace(v).s)
    assert torch.equal(s, rs)
    torch.testing.assert_close((gx, gk), (rgx, rgk), rtol=1e-4, atol=1e-4)


def test_compiled_falls_back_to_eager_with_one_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    # a configuration no other test compiles, so its torch.compile is not cached yet
    n = make(True, "hard-0.3", False, False, k=0.9, tau=3.125, backend="compiled")
    x, grad = inputs((5, 3, 4), torch.float32)
    with pytest.warns(RuntimeWarning) as record:
        s, gx, gk = grads(n, x, grad, n)
        grads(n, x, grad, n)
    messages = [str(w.message) for w in record if "torch.compile" in str(w.message)]
    assert len(messages) == 1 and "\n" not in messages[0] and "eager" in messages[0]
    n.backend = "eager"
    es, egx, egk = grads(n, x, grad, n)
    assert torch.equal(s, es) and torch.equal(gx, egx) and torch.equal(gk, egk)


def test_config_hashable_and_equal():
    a = make(True, "soft", True, False).config
    b = make(True, "soft", True, False).config
    assert a == b and hash(a) == hash(b) and isinstance(a, NeuronConfig)


def test_sum_backward_and_empty_sequences():
    """dL/dS from .sum() is an expanded tensor (stride 0); empty sequences give empty results."""
    n = make(True, "hard0", True, False, k=1.2).double()
    x, _ = inputs((5, 3, 4), torch.float64)
    for run in (n, lambda v: n.trace(v).s):
        xr = x.clone().requires_grad_(True)
        n.k.grad = None
        run(xr).sum().backward()  # dL/dS = ones(()).expand(shape): stride 0
        if run is n:
            gx, gk = xr.grad, n.k.grad.clone()
    torch.testing.assert_close((gx, gk), (xr.grad, n.k.grad), rtol=1e-6, atol=1e-6)
    for shape in [(0, 3), (3, 0, 2)]:
        s, gx, gk = grads(n, torch.zeros(shape, dtype=torch.float64), torch.ones(()), n)
        assert s.shape == gx.shape == shape and gk == 0
