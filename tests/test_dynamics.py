"""The derived dynamics of klif_edu.dynamics, each checked against the neuron simulation itself."""
import math

import pytest
import torch

from klif_edu import KLIF, LIF, surrogate
from klif_edu import dynamics as dyn

SETTINGS = [  # (decay_input, v_reset, scale_reset)
    (True, 0.0, False), (False, 0.0, False), (True, None, False),
    (True, 0.0, True), (False, 0.0, True), (True, None, True),
]


def _run(x: float, k: float, tau: float, steps: int, decay_input=True, v_reset=0.0, scale_reset=False,
         v_threshold=1.0):
    n = KLIF(tau=tau, k_init=k, v_threshold=v_threshold, v_reset=v_reset, decay_input=decay_input,
             scale_reset=scale_reset)
    with torch.no_grad():
        return n.trace(torch.full((steps, 1), x, dtype=torch.float64))


@pytest.mark.parametrize("decay_input,v_reset,scale_reset", SETTINGS)
@pytest.mark.parametrize("k", [0.5, 1.0, 1.5, 2.5])
def test_subthreshold_recursion_matches_the_neuron(decay_input, v_reset, scale_reset, k):
    # threshold far away: V[t] = a V[t-1] + b X, in closed form
    tr = _run(0.3, k, 2.0, 12, decay_input, v_reset, scale_reset, v_threshold=1e6)
    v = tr.v[:, 0]
    a = dyn.leak_factor(k, 2.0, scale_reset)
    b = dyn.drive_gain(k, 2.0, decay_input, scale_reset)
    torch.testing.assert_close(v[1:], a * v[:-1] + b * 0.3)
    torch.testing.assert_close(v, dyn.subthreshold_potential(0.3, k, 2.0, 12, decay_input, scale_reset))


def test_leak_factor_values_and_the_no_leak_point():
    assert dyn.leak_factor(1.0, 2.0) == 0.5  # LIF
    assert dyn.leak_factor(2.0, 2.0) == 1.0  # tau = 2: no leak at k = 2
    assert dyn.leak_factor(2.0, 2.0, scale_reset=True) == 0.5
    # at k = 2, tau = 2 a silent neuron holds its potential exactly
    n = KLIF(tau=2.0, k_init=2.0, v_threshold=10.0)
    x = torch.zeros(6, 1, dtype=torch.float64)
    x[0] = 1.0
    v = n.trace(x).v[:, 0]
    torch.testing.assert_close(v[1:], torch.full((5,), float(v[0].detach()), dtype=torch.float64))


@pytest.mark.parametrize("decay_input,v_reset,scale_reset", SETTINGS)
@pytest.mark.parametrize("k", [0.6, 1.0, 1.3, 1.5, 1.9, 2.0, 3.0])
def test_steady_state_threshold_separates_firing_from_silence(decay_input, v_reset, scale_reset, k):
    thr = dyn.steady_state_threshold(k, 2.0, 1.0, decay_input, scale_reset)
    above, below = max(thr * 1.05, 0.05), thr * 0.95  # at a = 1 V grows linearly: give it 0.05
    assert _run(above, k, 2.0, 400, decay_input, v_reset, scale_reset).s.sum() > 0
    if below > 0:
        assert _run(below, k, 2.0, 400, decay_input, v_reset, scale_reset).s.sum() == 0


def test_the_issue_example_x_04():
    # tau = 2, V_th = 1, X = 0.4: k = 1 never fires, k = 1.5 fires repeatedly though V_th/k = 0.67 > 0.4
    assert dyn.steady_state_threshold(1.0, 2.0) == pytest.approx(1.0)
    assert dyn.steady_state_threshold(1.5, 2.0) == pytest.approx(1.0 / 3.0)
    assert _run(0.4, 1.0, 2.0, 100).s.sum() == 0
    assert _run(0.4, 1.5, 2.0, 100).s.sum() >= 5
    # with scale_reset the one-step picture V_th/k is right again: 0.4 < 0.67 never fires
    assert dyn.steady_state_threshold(1.5, 2.0, scale_reset=True) == pytest.approx(1 / 1.5)
    assert _run(0.4, 1.5, 2.0, 100, scale_reset=True).s.sum() == 0


@pytest.mark.parametrize("decay_input,v_reset,scale_reset", SETTINGS)
@pytest.mark.parametrize("x,k", [(0.4, 1.5), (1.2, 1.0), (0.9, 1.2), (0.23, 2.5), (0.4, 1.0), (0.05, 1.9)])
def test_first_spike_step_matches_the_neuron(decay_input, v_reset, scale_reset, x, k):
    s = _run(x, k, 2.0, 300, decay_input, v_reset, scale_reset).s[:, 0]
    hits = torch.nonzero(s).flatten()
    expected = int(hits[0]) if len(hits) else -1
    assert dyn.first_spike_step(x, k, 2.0, 1.0, decay_input, scale_reset) == expected


def test_steady_state_potential():
    assert dyn.steady_state_potential(0.4, 1.5, 2.0) == pytest.approx(1.2)
    assert dyn.steady_state_potential(0.4, 2.5, 2.0) == math.inf
    assert dyn.steady_state_potential(-1.0, 1.5, 2.0) == 0.0
    tr = _run(0.4, 1.5, 2.0, 200, v_threshold=1e6)
    assert float(tr.v[-1, 0]) == pytest.approx(1.2, rel=1e-9)


def test_dspike_dk_direct_is_autograds_one_step_derivative():
    sig = surrogate.Sigmoid(4.0)
    xs = torch.linspace(-1.0, 4.0, 201, dtype=torch.float64).reshape(1, -1)
    n = KLIF(k_init=1.5, surrogate=sig).double()
    tr = n.trace(xs)
    (grad,) = torch.autograd.grad(tr.s.sum(), n.k)
    direct = dyn.dspike_dk_direct(tr.h, 1.5, sig)
    torch.testing.assert_close(grad, direct.sum())  # one step from rest: no path through time
    assert torch.all(direct[tr.h <= 0] == 0)


def test_dspike_dk_through_time_adds_to_the_direct_part():
    sig = surrogate.Sigmoid(4.0)
    n = KLIF(k_init=1.5, surrogate=sig, detach_reset=True).double()
    x = torch.full((8, 3), 0.4, dtype=torch.float64)
    tr = n.trace(x)
    (full,) = torch.autograd.grad(tr.s.sum(), n.k)
    direct = dyn.dspike_dk_direct(tr.h, 1.5, sig).sum()
    assert float(full) > float(direct) > 0  # V = F carries k forward: extra gradient through time


def test_lif_is_klif_at_k_1_below_threshold():
    x = torch.full((10, 1), 0.7, dtype=torch.float64)
    torch.testing.assert_close(LIF().trace(x).v, _run(0.7, 1.0, 2.0, 10).v)


@pytest.mark.parametrize("call", [
    lambda: dyn.leak_factor(0.0, 2.0), lambda: dyn.leak_factor(1.0, 1.0),
    lambda: dyn.steady_state_threshold(-1.0), lambda: dyn.subthreshold_potential(0.4, 1.0, 2.0, 0),
    lambda: dyn.leak_factor("1", 2.0), lambda: dyn.dspike_dk_direct([1.0], 1.0, surrogate.Sigmoid()),
])
def test_bad_arguments_say_what_was_wrong(call):
    with pytest.raises((ValueError, TypeError), match="must"):
        call()
