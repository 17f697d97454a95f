"""Hand-computed 3-step examples, one per branch of the equations (tau = 2, V_th = 1)."""
import pytest
import torch

from klif_edu import KLIF, LIF, functional as F
from klif_edu.surrogate import Sigmoid

CASES = [
    # (neuron, kwargs, X, expected H, F, S, V)
    ("LIF, decay_input, hard reset 0 (Theta(0) = 1 at t=1)", LIF, {},
     [1.0, 1.5, 0.8], [0.5, 1.0, 0.4], None, [0, 1, 0], [0.5, 0.0, 0.4]),
    ("LIF, decay_input=False", LIF, {"decay_input": False},
     [0.6, 0.8, 0.3], [0.6, 1.1, 0.3], None, [0, 1, 0], [0.6, 0.0, 0.3]),
    ("LIF, soft reset", LIF, {"v_reset": None},
     [2.4, 1.0, 0.0], [1.2, 0.6, 0.3], None, [1, 0, 0], [0.2, 0.6, 0.3]),
    ("LIF, hard reset to -0.5 (charge leaks towards V_reset)", LIF, {"v_reset": -0.5},
     [3.0, 0.5, 1.0], [1.0, -0.25, 0.125], None, [1, 0, 0], [-0.5, -0.25, 0.125]),
    ("KLIF k=2, hard reset 0 (ReLU gate at t=1)", KLIF, {"k_init": 2.0},
     [0.6, -1.0, 2.0], [0.3, -0.2, 1.0], [0.6, 0.0, 2.0], [0, 0, 1], [0.6, 0.0, 0.0]),
    ("KLIF k=2, scale_reset, hard reset 0", KLIF, {"k_init": 2.0, "scale_reset": True},
     [0.6, 0.9, 1.2], [0.3, 0.6, 0.6], [0.6, 1.2, 1.2], [0, 1, 1], [0.3, 0.0, 0.0]),
    ("KLIF k=0.5, soft reset", KLIF, {"k_init": 0.5, "v_reset": None},
     [2.0, 4.0, 0.0], [1.0, 2.25, 0.0625], [0.5, 1.125, 0.03125], [0, 1, 0], [0.5, 0.125, 0.03125]),
    ("KLIF k=0.5, soft reset, scale_reset", KLIF, {"k_init": 0.5, "v_reset": None, "scale_reset": True},
     [2.0, 4.0, 0.0], [1.0, 2.5, 0.25], [0.5, 1.25, 0.125], [0, 1, 0], [1.0, 0.5, 0.25]),
    # H0 = -0.5 - 0/2 + 1.5; at t=1 the gate lifts V from -0.3 to 0, above V_reset = -0.5
    ("KLIF k=1, decay_input=False, hard reset -0.5", KLIF, {"decay_input": False, "v_reset": -0.5},
     [1.5, 0.2, 1.0], [1.0, -0.3, 0.75], [1.0, 0.0, 0.75], [1, 0, 0], [-0.5, 0.0, 0.75]),
]


@pytest.mark.parametrize("name, cls, kwargs, x, h, f, s, v", CASES, ids=[c[0] for c in CASES])
def test_three_steps_by_hand(name, cls, kwargs, x, h, f, s, v):
    n = cls(tau=2.0, v_threshold=1.0, **kwargs).double()
    x_seq = torch.tensor(x, dtype=torch.float64).reshape(3, 1)
    tr = n.trace(x_seq)
    expected = {"h": h, "f": h if f is None else f, "s": s, "v": v}
    for field, want in expected.items():
        got = getattr(tr, field).reshape(-1).tolist()
        assert got == pytest.approx(want, abs=1e-12), f"{field}: {got} != {want}"
    # the fused path fires the same spikes
    assert n(x_seq).reshape(-1).tolist() == s


def test_charge_forms():
    x, v = torch.tensor(1.0), torch.tensor(0.4)
    assert F.charge(x, v, 2.0, 0.0, True).item() == pytest.approx(0.4 + (1.0 - 0.4) / 2)
    assert F.charge(x, v, 2.0, 0.0, False).item() == pytest.approx(0.4 - 0.4 / 2 + 1.0)
    # a soft-reset neuron (v_reset None) leaks towards 0
    assert F.charge(x, v, 2.0, None, True).item() == pytest.approx(0.7)


def test_klif_gate_passes_only_positive_scaled_potential():
    h = torch.tensor([-1.0, 0.0, 0.5])
    assert F.klif_gate(h, torch.tensor(3.0)).tolist() == [0.0, 0.0, 1.5]


def _two_step_grad(detach_reset: bool) -> float:
    """dS[1]/dX[0] for LIF (tau=2, hard reset 0): it flows only through the reset of step 0."""
    x = torch.tensor([2.4, 1.0], dtype=torch.float64, requires_grad=True)
    n = LIF(detach_reset=detach_reset).double()
    s = n.trace(x.reshape(2, 1)).s
    (grad,) = torch.autograd.grad(s[1, 0], x)
    return grad[0].item()


def test_detach_reset_cuts_the_gradient_through_the_reset():
    sg = Sigmoid(4.0)
    d = lambda u: sg.derivative(torch.tensor(u, dtype=torch.float64)).item()  # noqa: E731
    # H0 = 1.2 fires; V0 = H0 * (1 - S0): dV0/dH0 = (1 - S0) - H0 * g'(H0 - 1) = -1.2 g'(0.2)
    # H1 = V0 + (X1 - V0)/2 = 0.5;  dS1/dX0 = g'(H1 - 1) * 1/2 * dV0/dH0 * 1/2
    by_hand = d(-0.5) * 0.5 * (-1.2 * d(0.2)) * 0.5
    assert _two_step_grad(detach_reset=False) == pytest.approx(by_hand, rel=1e-12)
    assert _two_step_grad(detach_reset=True) == 0.0


def test_k_receives_the_paper_gradient():
    # one step, KLIF: dS/dk = g'(kH - V_th) * H where kH > 0
    k = 1.5
    n = KLIF(k_init=k).double()
    x = torch.tensor([[1.2]], dtype=torch.float64)  # H = 0.6, kH = 0.9
    s = n.trace(x).s
    (gk,) = torch.autograd.grad(s.sum(), n.k)
    want = Sigmoid(4.0).derivative(torch.tensor(0.9 - 1.0, dtype=torch.float64)).item() * 0.6
    assert gk.item() == pytest.approx(want, rel=1e-6)
