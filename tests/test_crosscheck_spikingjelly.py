"""Cross-check against an independent implementation: SpikingJelly's KLIFNode and LIFNode."""
import itertools
import zlib

import pytest
import torch

from klif_edu import KLIF, LIF

sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")

RESETS = [0.0, None, -0.3]
SHAPES = [(6, 4), (5, 2, 3, 4)]


def _reference(klif: bool, k: float, **kw):
    if klif:
        node = sj_neuron.KLIFNode(step_mode="m", store_v_seq=True, **kw)
        node.k.data.fill_(k)
    else:
        kw.pop("scale_reset")
        node = sj_neuron.LIFNode(step_mode="m", store_v_seq=True, **kw)
    return node.double()


def _ours(klif: bool, k: float, **kw):
    if klif:
        return KLIF(k_init=k, **kw).double()
    kw.pop("scale_reset")
    return LIF(**kw).double()


CASES = [
    (klif, k, v_reset, decay_input, scale_reset, detach_reset, shape)
    for klif, k in [(True, 0.6), (True, 1.0), (True, 2.5), (False, 1.0)]
    for v_reset, decay_input, scale_reset, detach_reset, shape in itertools.product(
        RESETS, [True, False], [False, True], [False, True], SHAPES
    )
    if klif or not scale_reset
]


@pytest.mark.parametrize("klif, k, v_reset, decay_input, scale_reset, detach_reset, shape", CASES)
def test_same_spikes_voltage_and_gradients(klif, k, v_reset, decay_input, scale_reset, detach_reset, shape):
    kw = dict(tau=2.0, v_threshold=1.0, v_reset=v_reset, decay_input=decay_input,
              scale_reset=scale_reset, detach_reset=detach_reset)
    gen = torch.Generator().manual_seed(zlib.crc32(repr((k, v_reset, decay_input, shape)).encode()))
    x = (torch.randn(*shape, generator=gen, dtype=torch.float64) * 1.5 + 0.8).requires_grad_()
    upstream = torch.randn(*shape, generator=gen, dtype=torch.float64)

    ref = _reference(klif, k, **dict(kw))
    s_ref = ref(x)
    ref_grads = torch.autograd.grad(s_ref, [x, *ref.parameters()], upstream)

    ours = _ours(klif, k, **dict(kw))
    for path in ("fused", "reference"):
        tr = ours.trace(x)
        s = ours(x) if path == "fused" else tr.s
        grads = torch.autograd.grad(s, [x, *ours.parameters()], upstream)
        assert torch.equal(s, s_ref), path
        for g, g_ref in zip(grads, ref_grads):
            torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(tr.v, ref.v_seq, rtol=0, atol=1e-12)
    assert s_ref.sum() > 0  # the case exercises firing and reset


PLIF_CASES = [
    (tau, v_reset, decay_input, detach_reset, shape)
    for tau in (2.0, 3.5)
    for v_reset, decay_input, detach_reset, shape in itertools.product(RESETS, [True, False], [False, True], SHAPES)
]


@pytest.mark.parametrize("tau, v_reset, decay_input, detach_reset, shape", PLIF_CASES)
def test_plif_same_as_parametric_lif_node(tau, v_reset, decay_input, detach_reset, shape):
    """PLIF against SpikingJelly's ParametricLIFNode: spikes, V, dL/dX and the learned w's gradient."""
    from klif_edu import PLIF

    kw = dict(v_threshold=1.0, v_reset=v_reset, decay_input=decay_input, detach_reset=detach_reset)
    gen = torch.Generator().manual_seed(zlib.crc32(repr(("plif", tau, v_reset, decay_input, shape)).encode()))
    x = (torch.randn(*shape, generator=gen, dtype=torch.float64) * 1.5 + 0.8).requires_grad_()
    upstream = torch.randn(*shape, generator=gen, dtype=torch.float64)
    ref = sj_neuron.ParametricLIFNode(init_tau=tau, step_mode="m", store_v_seq=True, **kw).double()
    s_ref = ref(x)
    gx_ref, gw_ref = torch.autograd.grad(s_ref, [x, ref.w], upstream)

    ours = PLIF(tau=tau, **kw).double()
    assert torch.equal(ours.w, ref.w.detach())  # the same parametrisation: w = -log(tau - 1)
    for path in ("fused", "reference"):
        tr = ours.trace(x)
        s = ours(x) if path == "fused" else tr.s
        gx, gw = torch.autograd.grad(s, [x, ours.w], upstream)
        assert torch.equal(s, s_ref), path
        torch.testing.assert_close(gx, gx_ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(gw, gw_ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(tr.v, ref.v_seq, rtol=0, atol=1e-12)
    assert s_ref.sum() > 0 and gw_ref.abs() > 0  # firing, reset and a w gradient are exercised
