"""KLIF's ablation variants (gate=False: "k only", learn_k=False: "gate only") against the equations."""
from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from klif_edu import KLIF, LIF, functional
from klif_edu.models import NEURON_OPTIONS, NEURONS, build_model
from test_fused import RESETS, assert_same, grads, inputs  # the fused-vs-reference harness

VARIANT_CASES = list(itertools.product(RESETS, [True, False], [False, True]))


def variant(reset: str, gate: bool, learn_k: bool, k: float, scale_reset: bool = False,
            backend: str = "eager", detach_reset: bool = False) -> KLIF:
    return KLIF(tau=2.5, v_reset=RESETS[reset], scale_reset=scale_reset, k_init=k, backend=backend,
                detach_reset=detach_reset, gate=gate, learn_k=learn_k)


@pytest.mark.parametrize("reset,scale_reset,detach_reset", VARIANT_CASES)
def test_k_only_matches_reference(reset, scale_reset, detach_reset):
    """gate=False: fused spikes, dL/dX and dL/dk equal the step-by-step equations."""
    for k, dtype, shape in itertools.product([0.6, 1.7], [torch.float64, torch.float32], [(7, 5), (5, 2, 3, 4)]):
        n = variant(reset, False, True, k, scale_reset, detach_reset=detach_reset).to(dtype)
        x, grad = inputs(shape, dtype)
        s = assert_same(n, x, grad)
        assert 0.02 < s.mean() < 0.98


@pytest.mark.parametrize("reset,scale_reset,detach_reset", VARIANT_CASES)
def test_gate_only_matches_reference(reset, scale_reset, detach_reset):
    """learn_k=False: fused spikes and dL/dX equal the equations; k gets no gradient."""
    n = variant(reset, True, False, 1.0, scale_reset, detach_reset=detach_reset)
    x, grad = inputs((6, 4, 3), torch.float32)
    assert_same(n, x, grad, need_k=False)
    _, _, gk = grads(n, x, grad, n, need_k=False)
    assert gk is None and not n.k.requires_grad


def test_k_only_equation_keeps_negative_potential():
    """F = k*H exactly, negative values included (the ReLU gate is what would cut them)."""
    n = variant("hard0", False, True, 1.5)
    x = torch.tensor([[-1.0, 0.5], [0.3, -2.0], [2.0, 0.1]])
    tr = n.trace(x)
    torch.testing.assert_close(tr.f, 1.5 * tr.h)
    assert (tr.f < 0).any()
    full = variant("hard0", True, True, 1.5).trace(x)
    torch.testing.assert_close(full.f, torch.relu(1.5 * full.h))
    assert (full.f >= 0).all()
    assert torch.equal(functional.klif_gate(tr.h, torch.tensor(1.5), gate=False), 1.5 * tr.h)


def test_gate_only_is_relu_of_h_and_k_is_a_fixed_buffer():
    n = KLIF(learn_k=False)
    assert "k" not in dict(n.named_parameters()) and "k" in dict(n.named_buffers())
    assert "k" in n.state_dict() and n.k.dtype == torch.float32
    tr = n.trace(torch.tensor([[-1.0], [0.5], [3.0]]))
    torch.testing.assert_close(tr.f, torch.relu(tr.h))
    assert n.to(torch.float64).k.dtype == torch.float64  # moves with the module


@pytest.mark.parametrize("reset", list(RESETS))
def test_both_ingredients_off_is_lif(reset):
    """learn_k=False, gate=False, k=1: F = 1*H = H, so LIF number for number (spikes and gradients)."""
    x, grad = inputs((6, 3, 4), torch.float64)
    klif = variant(reset, False, False, 1.0).to(torch.float64)
    lif = LIF(tau=2.5, v_reset=RESETS[reset])
    a, b = grads(klif, x, grad, klif, need_k=False), grads(lif, x, grad, lif)
    assert torch.equal(a[0], b[0])
    torch.testing.assert_close(a[1], b[1], rtol=0, atol=1e-12)


def test_defaults_are_the_papers_klif():
    n = KLIF()
    assert n.gate and n.learn_k and isinstance(n.k, torch.nn.Parameter)
    assert n.config.gate and ", gate=" not in repr(n) and "learn_k=" not in repr(n)
    assert "gate=False" in repr(KLIF(gate=False)) and "learn_k=False" in repr(KLIF(learn_k=False))


@pytest.mark.parametrize("name,value", [("gate", 1), ("learn_k", "yes")])
def test_bad_flags_say_what_is_expected(name, value):
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        KLIF(**{name: value})


def test_compiled_variants_equal_eager():
    """Both ablations through torch.compile: the same spikes and gradients as the eager loops."""
    x, grad = inputs((4, 3, 5), torch.float32)
    for gate, learn_k, k in ((False, True, 1.3), (True, False, 1.0)):
        compiled = variant("soft", gate, learn_k, k, backend="compiled")
        eager = variant("soft", gate, learn_k, k)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a fall-back to eager would test nothing
            s, gx, gk = grads(compiled, x, grad, compiled, need_k=learn_k)
        es, egx, egk = grads(eager, x, grad, eager, need_k=learn_k)
        assert torch.equal(s, es)
        torch.testing.assert_close(gx, egx, rtol=1e-5, atol=1e-6)
        if learn_k:
            torch.testing.assert_close(gk, egk, rtol=1e-5, atol=1e-6)


def test_model_names_build_the_variants():
    for name in ("klif", "lif", "k-only", "gate-only"):
        assert name in NEURONS
        model = build_model("embedded-fashion-mnist", name)
        assert model.neuron_kind == name
        neurons = list(model.neurons().values())
        if name == "lif":
            assert all(isinstance(n, LIF) for n in neurons) and model.k_values() == {}
            continue
        assert all(isinstance(n, KLIF) for n in neurons)
        assert all(n.gate == (name != "k-only") and n.learn_k == (name != "gate-only") for n in neurons)
        assert set(model.k_values().values()) == {1.0}
    trainable = {n for n, _ in build_model("embedded-fashion-mnist", "gate-only").named_parameters()}
    assert not any(n.endswith(".k") for n in trainable)


def test_variant_options_cannot_be_contradicted():
    with pytest.raises(ValueError, match="fixes gate=False"):
        build_model("embedded-fashion-mnist", "k-only", gate=True)
    with pytest.raises(ValueError, match="fixes"):
        build_model("embedded-fashion-mnist", "gate-only", learn_k=True)
    model = build_model("embedded-fashion-mnist", "k-only", gate=False, k_init=1.2)  # agreeing is fine
    assert list(model.k_values().values()) == pytest.approx([1.2] * 4)
    assert NEURON_OPTIONS["gate-only"]["k_init"] == 1.0
