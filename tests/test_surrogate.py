"""Surrogates: Heaviside forward, their own derivative backward, and KLIF's effective surrogate."""
import math

import pytest
import torch

from klif_edu import surrogate as sg

FAMILIES = list(sg.ALL.values())


@pytest.mark.parametrize("cls", FAMILIES)
def test_forward_is_heaviside_with_theta0_one(cls):
    x = torch.tensor([-1.0, -1e-6, 0.0, 1e-6, 2.0])
    assert cls()(x).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("cls", FAMILIES)
@pytest.mark.parametrize("alpha", [0.5, 2.0, 7.0])
def test_backward_is_the_derivative(cls, alpha):
    s = cls(alpha)
    x = torch.linspace(-3, 3, 61, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(s(x).sum(), x)
    torch.testing.assert_close(grad, s.derivative(x.detach()))


@pytest.mark.parametrize("cls", FAMILIES)
def test_derivative_is_the_slope_of_the_primitive(cls):
    s = cls(3.0)
    # avoid the kinks of the piecewise surrogates
    x = torch.tensor([-0.9, -0.37, -0.05, 0.05, 0.21, 0.6], dtype=torch.float64)
    x = x[(x.abs() - 0.5 / s.alpha).abs() > 1e-3].requires_grad_()
    (grad,) = torch.autograd.grad(s.primitive(x).sum(), x)
    torch.testing.assert_close(grad, s.derivative(x.detach()))


@pytest.mark.parametrize("cls", FAMILIES)
def test_smooth_step_goes_from_0_to_1_and_derivative_has_area_1(cls):
    s = cls(2.0)
    x, g, dg = s.curve(-60, 60, 240001)
    assert g[0] == pytest.approx(0.0, abs=0.02) and g[-1] == pytest.approx(1.0, abs=0.02)
    assert torch.trapezoid(dg, x).item() == pytest.approx(1.0, abs=0.02)
    assert s.peak == pytest.approx(dg.max().item(), rel=1e-3)


def test_sigmoid_matches_the_paper_convention():
    s = sg.Sigmoid()  # alpha 4 is SpikingJelly's and the paper's default
    assert s.alpha == 4.0 and s.peak == pytest.approx(1.0)  # alpha/4
    # half maximum of alpha*s*(1-s) at alpha*x = ln(3 + 2*sqrt(2))
    assert s.half_max_halfwidth() == pytest.approx(math.log(3 + 2 * math.sqrt(2)) / 4, rel=1e-9)


def test_gradcheck_smooth_primitive():
    x = torch.randn(20, dtype=torch.float64, requires_grad=True)
    for cls in (sg.Sigmoid, sg.ATan, sg.FastSigmoid):
        assert torch.autograd.gradcheck(cls(1.5).primitive, (x,))


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf")])
def test_alpha_must_be_positive(bad):
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        sg.Sigmoid(bad)


def test_alpha_type_and_input_type_errors():
    with pytest.raises(TypeError, match="alpha"):
        sg.ATan("2")
    with pytest.raises(TypeError, match="torch.Tensor"):
        sg.Sigmoid()([0.0, 1.0])


def test_repr_and_equality():
    assert repr(sg.Sigmoid()) == "Sigmoid(alpha=4)"
    assert sg.Sigmoid(2) == sg.Sigmoid(2.0) and sg.Sigmoid(2) != sg.ATan(2)
    assert len({sg.Sigmoid(2), sg.Sigmoid(2.0)}) == 1


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0, 3.0])
def test_effective_surrogate_scales_slope_and_width(k):
    s = sg.Sigmoid(4.0)
    base = sg.effective_surrogate(s, k=1.0)
    eff = sg.effective_surrogate(s, k=k)
    assert eff.center == pytest.approx(1.0 / k)
    assert eff.peak_slope == pytest.approx(k * 1.0)  # k * alpha / 4
    assert eff.width == pytest.approx(base.width / k)
    # the curve on its grid agrees with the numbers
    assert eff.dsdh.max().item() == pytest.approx(eff.peak_slope, rel=1e-3)
    above = eff.h[eff.dsdh >= eff.peak_slope / 2]
    assert (above.max() - above.min()).item() == pytest.approx(eff.width, rel=0.02)


def test_effective_derivative_is_autograd_of_klif_fire():
    s = sg.Sigmoid(4.0)
    k = 1.7
    h = torch.linspace(-1, 2, 31, dtype=torch.float64, requires_grad=True)
    spikes = s(torch.relu(k * h) - 1.0)
    (grad,) = torch.autograd.grad(spikes.sum(), h)
    torch.testing.assert_close(grad, sg.effective_derivative(s, h.detach(), k, 1.0))
    assert (grad[h.detach() <= 0] == 0).all()  # the ReLU gate passes no gradient


def test_effective_width_clipped_by_the_gate():
    # a very wide surrogate (alpha small) is cut at H = 0 by the ReLU gate
    s = sg.Sigmoid(0.5)
    eff = sg.effective_surrogate(s, k=1.0, v_threshold=1.0)
    assert eff.width == pytest.approx(s.half_max_halfwidth() + 1.0)


def test_effective_surrogate_bad_k():
    with pytest.raises(ValueError, match="k must be a positive number"):
        sg.effective_surrogate(sg.Sigmoid(), k=0.0)
    with pytest.raises(ValueError, match="v_threshold"):
        sg.effective_surrogate(sg.Sigmoid(), k=1.0, v_threshold=0.0)


def test_fast_sigmoid_is_snntorchs_times_alpha_over_two():
    """The doc note: ours is area-normalised, snnTorch's fast_sigmoid(slope) peaks at 1."""
    from snntorch import surrogate as snn_surrogate

    x = torch.linspace(-1.0, 1.0, 41, requires_grad=True)
    snn_surrogate.fast_sigmoid(slope=25)(x).sum().backward()
    ours = sg.FastSigmoid(25.0).derivative(x.detach())
    torch.testing.assert_close(ours, 12.5 * x.grad)
