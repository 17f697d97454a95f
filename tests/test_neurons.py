"""The neuron modules' contract: shapes, rest on every call, step(), trace(), k, errors."""
import numpy as np
import pytest
import torch

from klif_edu import KLIF, LIF, surrogate


def _x(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 1.2 + 0.7).to(dtype)


@pytest.mark.parametrize("cls", [LIF, KLIF])
@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3), (3, 2, 2, 4, 4)])
def test_shapes_and_binary_spikes(cls, shape):
    x = _x(*shape)
    s = cls()(x)
    assert s.shape == x.shape and s.dtype == x.dtype
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    tr = cls().trace(x)
    assert all(t.shape == x.shape for t in tr)


@pytest.mark.parametrize("cls", [LIF, KLIF])
def test_every_call_starts_from_rest(cls):
    n = cls()
    x = _x(6, 4)
    assert torch.equal(n(x), n(x))
    assert torch.equal(n.trace(x).v, n.trace(x).v)


@pytest.mark.parametrize("cls, kw", [(LIF, {}), (KLIF, {"k_init": 1.3, "v_reset": None})])
def test_step_over_a_sequence_equals_forward(cls, kw):
    n = cls(**kw)
    x = _x(7, 3, 2)
    v = None
    spikes = []
    for xt in x:
        s, v = n.step(xt, v)
        spikes.append(s)
    assert torch.equal(torch.stack(spikes), n(x))
    torch.testing.assert_close(v, n.trace(x).v[-1])


def test_k_is_a_learnable_scalar_and_gets_a_gradient():
    n = KLIF(k_init=0.8)
    assert isinstance(n.k, torch.nn.Parameter) and n.k.shape == () and n.k.item() == pytest.approx(0.8)
    assert [name for name, _ in n.named_parameters()] == ["k"]
    assert list(LIF().parameters()) == []
    n(_x(8, 16)).sum().backward()
    assert n.k.grad is not None and n.k.grad.item() != 0.0


def test_larger_k_fires_more_for_the_same_input():
    x = torch.full((20, 1), 0.6)
    counts = [KLIF(k_init=k)(x).sum().item() for k in (0.5, 1.0, 2.0, 4.0)]
    assert counts == sorted(counts) and counts[0] < counts[-1]


def test_klif_with_k1_and_positive_potential_is_lif():
    x = torch.rand(10, 5) + 0.2  # H stays > 0, so the ReLU gate is the identity
    assert torch.equal(KLIF(k_init=1.0)(x), LIF()(x))


def test_dtype_and_device_follow_the_input():
    x = _x(4, 3, dtype=torch.float64)
    n = KLIF()
    assert n(x).dtype == torch.float64 and n.trace(x).v.dtype == torch.float64
    half = _x(4, 3).to(torch.bfloat16)
    assert n(half).dtype == torch.bfloat16


def test_repr_shows_the_parameters():
    r = repr(KLIF(tau=3.0, k_init=1.5, v_reset=None, surrogate=surrogate.ATan(2.0)))
    for part in ("k=1.5", "tau=3", "v_threshold=1", "v_reset=None", "ATan(alpha=2)", "scale_reset=False"):
        assert part in r, r
    assert "k=" not in repr(LIF())


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"tau": 1.0}, ValueError, "tau must be > 1"),
        ({"tau": 0.5}, ValueError, "tau must be > 1"),
        ({"tau": "2"}, TypeError, "tau must be a number"),
        ({"v_threshold": 0.0}, ValueError, "v_threshold must be > 0"),
        ({"v_threshold": -1.0}, ValueError, "v_threshold must be > 0"),
        ({"v_reset": 1.0}, ValueError, "must be below v_threshold"),
        ({"k_init": 0.0}, ValueError, "k_init must be > 0"),
        ({"k_init": -2.0}, ValueError, "k_init must be > 0"),
        ({"surrogate": torch.sigmoid}, TypeError, "surrogate must be a klif_edu.surrogate.Surrogate"),
        ({"backend": "cuda"}, ValueError, "backend must be one of"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        KLIF(**kwargs)


def test_bad_alpha_through_the_surrogate():
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        KLIF(surrogate=surrogate.Sigmoid(alpha=0.0))


@pytest.mark.parametrize("method", ["forward", "trace"])
@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.ones((4, 2), dtype=np.float32), TypeError, "expects a torch.Tensor"),
        (torch.ones(4, 2, dtype=torch.int64), TypeError, "floating-point"),
        (torch.ones(4), ValueError, r"shape \[T, N, ...\]"),
    ],
)
def test_bad_inputs(method, bad, exc, match):
    n = KLIF()
    with pytest.raises(exc, match=match):
        getattr(n, method)(bad)


def test_step_bad_state():
    n = LIF()
    with pytest.raises(ValueError, match="state v has shape"):
        n.step(torch.ones(3), torch.zeros(4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        n.step(torch.ones(3), [0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="floating-point"):
        n.step(torch.ones(3, dtype=torch.int32))
