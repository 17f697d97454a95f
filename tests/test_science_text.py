"""Each claim the neuron notebooks (01-03), the README and dynamics.py make, checked on the neurons."""
import math

import pytest
import torch

from klif_edu import KLIF, LIF, surrogate
from klif_edu import dynamics as dyn

SIG = surrogate.Sigmoid(4.0)


# --- 03: dS/dk through time is the small sum of two large terms -----------------------------
def _unrolled_dk(k0: float, x: torch.Tensor, reset_grad: bool, carry: bool) -> float:
    """d(spike count)/dk written out step by step (hard reset to 0, tau = 2, V_th = 1), independent of the library."""
    k = torch.tensor(k0, dtype=torch.float64, requires_grad=True)
    v, total = torch.zeros((), dtype=torch.float64), 0.0
    for x_t in x:
        h = v + (x_t - v) / 2.0
        f = torch.relu(k * h)
        s = SIG(f - 1.0)
        total = total + s
        v = f * (1.0 - (s if reset_grad else s.detach()))
        v = v if carry else v.detach()
    (g,) = torch.autograd.grad(total, k)
    return float(g)


def test_dk_through_time_is_carried_plus_reset_and_detach_reset_removes_the_reset_term():
    x = torch.full((10, 1), 0.4, dtype=torch.float64)
    paths = dyn.dspike_dk_paths(KLIF(k_init=1.5, surrogate=SIG).double(), x)
    xs = x[:, 0]
    full, detached, direct = (_unrolled_dk(1.5, xs, True, True), _unrolled_dk(1.5, xs, False, True),
                              _unrolled_dk(1.5, xs, False, False))
    assert paths.total == pytest.approx(full, rel=1e-9)
    assert paths.direct == pytest.approx(direct, rel=1e-9)
    assert paths.carried == pytest.approx(detached - direct, rel=1e-9)
    assert paths.direct + paths.carried + paths.reset == pytest.approx(paths.total, rel=1e-12)
    # the notebook's numbers: a small 0.57 hides +4.5 along the carried V and -3.9 through the reset
    assert paths.through_time == pytest.approx(0.570, abs=5e-3)
    assert paths.carried == pytest.approx(4.51, abs=0.01) and paths.reset == pytest.approx(-3.94, abs=0.01)
    gone = dyn.dspike_dk_paths(KLIF(k_init=1.5, surrogate=SIG, detach_reset=True).double(), x)
    assert gone.reset == 0.0 and gone.total == pytest.approx(paths.total - paths.reset, rel=1e-9)
    assert gone.carried == pytest.approx(paths.carried, rel=1e-12)


def test_dk_paths_leaves_the_neuron_as_it_was_and_refuses_what_it_does_not_cover():
    n = KLIF(k_init=1.5)
    dyn.dspike_dk_paths(n, torch.full((5, 2), 0.4))
    assert n.detach_reset is False
    with pytest.raises(TypeError, match="KLIF with a scalar learnable k"):
        dyn.dspike_dk_paths(LIF(), torch.ones(3, 1))
    with pytest.raises(ValueError, match="hard reset"):
        dyn.dspike_dk_paths(KLIF(v_reset=None), torch.ones(3, 1))


# --- the firing condition ------------------------------------------------------------------
def _fires(k: float, x: float, tau: float = 2.0, steps: int = 3000) -> bool:
    n = KLIF(k_init=k, tau=tau).double()
    return bool(n(torch.full((steps, 1), x, dtype=torch.float64)).any())


@pytest.mark.parametrize("k, tau", [(1.0, 2.0), (1.5, 2.0), (1.9, 2.0), (1.2, 4.0)])
def test_below_a_leak_factor_of_one_the_bound_is_sharp(k, tau):
    assert dyn.leak_factor(k, tau) < 1
    bound = dyn.steady_state_threshold(k, tau)
    assert bound == pytest.approx((tau - k * (tau - 1)) / k)
    assert _fires(k, bound * 1.02, tau) and not _fires(k, bound * 0.98, tau)


@pytest.mark.parametrize("k, tau", [(2.0, 2.0), (2.5, 2.0), (4 / 3, 4.0)])
def test_at_a_leak_factor_of_one_or_more_any_positive_input_fires_and_no_other(k, tau):
    assert dyn.leak_factor(k, tau) >= 1 - 1e-12 and dyn.steady_state_threshold(k, tau) == pytest.approx(0, abs=1e-12)
    assert _fires(k, 0.01, tau)
    assert not _fires(k, 0.0, tau) and not _fires(k, -0.5, tau)


def test_scale_reset_carries_relu_h_not_h():
    x = torch.tensor([[0.4], [-1.0], [-0.5], [0.3]], dtype=torch.float64)
    tr = KLIF(k_init=1.5, scale_reset=True).double().trace(x)
    assert (tr.s == 0).all() and (tr.h < 0).any()
    assert torch.allclose(tr.v, torch.relu(tr.h)) and not torch.allclose(tr.v, tr.h)


def test_h_is_positively_homogeneous_in_x_but_not_linear():
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(12, 50, generator=gen, dtype=torch.float64)  # stays below threshold
    n = KLIF(k_init=1.5).double()
    h = n.trace(x).h
    assert n.trace(2 * x).s.sum() == 0
    assert torch.allclose(n.trace(2.0 * x).h, 2.0 * h) and torch.allclose(n.trace(0.5 * x).h, 0.5 * h)
    assert not torch.allclose(n.trace(-x).h, -h)  # the gate cuts negative potential: not linear


# --- 02/03: one width ------------------------------------------------------------------------
def test_width_is_the_full_width_at_half_maximum_in_02_and_03():
    assert SIG.width == pytest.approx(2 * math.log(3 + 2 * math.sqrt(2)) / 4, rel=1e-9)
    assert round(SIG.width, 3) == 0.881 and SIG.width == pytest.approx(2 * SIG.half_max_halfwidth())
    assert surrogate.effective_surrogate(SIG, k=1.0).width == pytest.approx(SIG.width)
    x = torch.linspace(-2, 2, 400_001, dtype=torch.float64)
    above = x[SIG.derivative(x) >= SIG.peak / 2]
    assert float(above.max() - above.min()) == pytest.approx(SIG.width, abs=1e-4)


# --- 01: two input spikes in a row suffice ---------------------------------------------------
def test_two_input_spikes_in_a_row_fire_a_lif_one_or_two_apart_do_not():
    lif = LIF(tau=2.0)
    assert lif(torch.tensor([[1.5], [0.0], [0.0]])).sum() == 0
    assert lif(torch.tensor([[1.5], [1.5], [0.0]]))[1, 0] == 1
    assert lif(torch.tensor([[1.5], [0.0], [1.5], [0.0]])).sum() == 0


# --- 03: the explorer reaches the no-leak point ----------------------------------------------
@pytest.mark.parametrize("tau", [2.0, 4.0, 2.5, 1.4])
def test_explorer_reaches_the_no_leak_point(tau):
    from klif_edu.widgets import explore_neuron

    ex = explore_neuron(tau=tau, input="constant", strength=0.2, steps=20)
    ex.no_leak.click()
    assert ex.controls["k"].value == pytest.approx(tau / (tau - 1), rel=1e-12)
    assert ex.state["numbers"]["leak"] == pytest.approx(1.0, abs=1e-12)
    assert "no leak" in ex.status.value and "any constant X &gt; 0 fires" in ex.status.value


def test_explorer_says_why_a_no_leak_point_is_out_of_reach():
    from klif_edu.widgets import explore_neuron

    ex = explore_neuron(tau=1.1, steps=20)
    ex.no_leak.click()  # a click never raises into the kernel
    assert ex.controls["k"].value == 1.5 and "beyond the k slider" in ex.status.value and "1.34" in ex.status.value
    with pytest.raises(ValueError, match="beyond the k slider"):
        ex.set_no_leak()


def test_explorers_tell_a_viewer_without_widgets_what_to_do():
    from klif_edu.widgets import WIDGET_FALLBACK, explore_neuron, explore_surrogate

    for ex in (explore_neuron(steps=10), explore_surrogate()):
        data = ex._repr_mimebundle_()
        data = data[0] if isinstance(data, tuple) else data
        assert data["text/plain"] == WIDGET_FALLBACK == repr(ex) and "VBox" not in data["text/plain"]
        assert "application/vnd.jupyter.widget-view+json" in data
        assert __import__("base64").b64decode(data["image/png"]) == ex.state["png"]
    assert "running Jupyter kernel" in WIDGET_FALLBACK
