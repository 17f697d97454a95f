"""PLIF and KLIF's k_acts_on variants: fused path against the reference, the leak each implies, errors."""
from __future__ import annotations

import itertools
import json
import warnings

import pytest
import torch

from klif_edu import KLIF, LIF, PLIF, dynamics, fused
from klif_edu.models import build_model
from klif_edu.provenance import REPRODUCING_FIELDS, run_environment, same_environment

RESETS = [0.0, -0.3, None]


def _make(kind: str, reset, decay_input: bool, detach_reset: bool, gate: bool = True, backend: str = "eager"):
    kw = dict(v_reset=reset, decay_input=decay_input, detach_reset=detach_reset, backend=backend)
    if kind == "plif":
        n = PLIF(tau=2.7, **kw)
        with torch.no_grad():
            n.w.add_(0.3)  # a learned tau, not the initial one
        return n
    return KLIF(tau=2.5, k_init=1.4, k_acts_on=kind, gate=gate, **kw)


def _param(n):
    return n.w if isinstance(n, PLIF) else n.k


def _grads(n, x, g, run):
    x = x.clone().requires_grad_(True)
    p = _param(n)
    p.grad = None
    s = run(x)
    (s * g).sum().backward()
    return s.detach(), x.grad, p.grad.clone()


def _inputs(shape, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * 2.0 + 1.5
    return x.to(dtype), torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)


CASES = [(kind, reset, di, dr, gate)
         for kind, reset, di, dr, gate in itertools.product(["plif", "leak", "fire"], RESETS, [True, False],
                                                             [False, True], [True, False])
         if gate or kind != "plif"]


@pytest.mark.parametrize("kind, reset, decay_input, detach_reset, gate", CASES)
def test_fused_matches_reference(kind, reset, decay_input, detach_reset, gate):
    """Spikes and H bit for bit, dL/dX and dL/dk (dL/dw) equal up to rounding, float64 and float32."""
    for dtype in (torch.float64, torch.float32):
        n = _make(kind, reset, decay_input, detach_reset, gate).to(dtype)
        x, g = _inputs((7, 5, 3), dtype)
        s, gx, gp = _grads(n, x, g, n)
        rs, rgx, rgp = _grads(n, x, g, lambda v: n.trace(v).s)
        assert torch.equal(s, rs) and 0.05 < s.mean() < 0.95
        _, h = fused._forward_eager(x.reshape(7, -1), n._k(x).detach(), n.config, True)
        assert torch.equal(h.view_as(x), n.trace(x).h)
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(gx, rgx, **tol)
        torch.testing.assert_close(gp, rgp, **tol)
        assert gp.abs() > 0


@pytest.mark.parametrize("kind", ["plif", "leak"])
def test_graph_loops_equal_eager_loops(kind):
    """The functional twins torch.compile builds from compute what the eager loops compute."""
    for reset, di, dr in itertools.product(RESETS, [True, False], [False, True]):
        n = _make(kind, reset, di, dr).double()
        x, g = _inputs((6, 20), torch.float64, seed=2)
        k, cfg = n._k(x).detach(), n.config
        s1, h1 = fused._forward_eager(x, k, cfg, True)
        s2, h2 = fused._forward_graph(x, k, cfg, True)
        gx1, gk1 = fused._backward_eager(h1, g, k, cfg, True, True)
        gx2, gk2 = fused._backward_graph(h1, g, k, cfg, True, True)
        assert torch.equal(s1, s2)
        torch.testing.assert_close((h2, gx2, gk2), (h1, gx1, gk1), rtol=1e-12, atol=1e-12)


def test_compiled_plif_equals_eager():
    """Through torch.compile (CPU): the same spikes, H bit for bit, gradients up to rounding.

    PLIF only: k_acts_on="leak" differs from KLIF in lines the graph-loop test above checks,
    and each configuration's cold compile costs tens of seconds."""
    for kind in ("plif",):
        n = _make(kind, 0.0, True, False, backend="compiled")
        x, g = _inputs((4, 3, 5), torch.float32, seed=4)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a fall-back to eager would test nothing
            s, gx, gp = _grads(n, x, g, n)
            x2d, k = x.reshape(4, -1), n._k(x).detach()
            h = fused._run(fused._forward_eager, fused._forward_graph, "compiled", n.config, x2d, k, n.config, True)[1]
        assert torch.equal(h, fused._forward_eager(x2d, k, n.config, True)[1])
        n.backend = "eager"
        es, egx, egp = _grads(n, x, g, n)
        assert torch.equal(s, es)
        torch.testing.assert_close((gx, gp), (egx, egp), rtol=1e-5, atol=1e-6)


def _measured_leak(n, tau_v: float = 0.8) -> float:
    """V[2] / V[1] after one input step that charges the neuron below threshold, then X = 0."""
    x = torch.tensor([[tau_v], [0.0], [0.0]], dtype=torch.float64)
    tr = n.double().trace(x)
    assert tr.s.sum() == 0, "the probe must stay below threshold"
    return float(tr.v[2, 0].detach() / tr.v[1, 0].detach())


@pytest.mark.parametrize("k_acts_on", ["both", "fire", "leak"])
@pytest.mark.parametrize("k", [0.7, 1.3])
def test_leak_factor_each_variant_implies(k_acts_on, k):
    """Below threshold V[t] = a V[t-1]: a = k (1 - 1/tau) with k on the leak, 1 - 1/tau without."""
    n = KLIF(tau=2.5, k_init=k, k_acts_on=k_acts_on)
    measured = _measured_leak(n)  # k is a float32 parameter: compare with the k the neuron holds
    assert measured == pytest.approx(dynamics.k_leak_factor(float(n.k.detach()), 2.5, k_acts_on), rel=1e-12)
    expected = k * 0.6 if k_acts_on != "fire" else 0.6
    assert dynamics.k_leak_factor(k, 2.5, k_acts_on) == pytest.approx(expected)


def test_plif_leak_factor_follows_its_learned_tau():
    n = PLIF(tau=2.0)
    with torch.no_grad():
        n.w.fill_(-0.7)  # 1/tau = sigmoid(-0.7): tau = 1 + e^0.7
    tau = 1.0 + float(torch.exp(torch.tensor(0.7, dtype=torch.float64)))
    assert n.tau == pytest.approx(tau, rel=1e-6)
    assert n.leak_factor() == pytest.approx(dynamics.plif_leak_factor(n.tau), rel=1e-6)
    assert _measured_leak(n) == pytest.approx(n.leak_factor(), rel=1e-6)


def test_k_fire_is_scale_reset_and_k_leak_fires_like_k_equal_one():
    x, _ = _inputs((9, 40), torch.float64, seed=5)
    fire = KLIF(k_init=1.6, k_acts_on="fire").double()
    assert fire.scale_reset and fire.k_acts_on == "fire"
    assert torch.equal(fire.trace(x).v, KLIF(k_init=1.6, scale_reset=True).double().trace(x).v)
    # k-leak: the spike decision sees ReLU(H); at k = 1 it is the paper's KLIF (gate only)
    leak1, both1 = KLIF(k_init=1.0, k_acts_on="leak").double(), KLIF(k_init=1.0).double()
    assert torch.equal(leak1(x), both1(x))
    leak = KLIF(k_init=1.6, k_acts_on="leak").double()
    tr = leak.trace(x)
    assert torch.equal(tr.s, (tr.h >= 1.0).double())  # fires on H, not on k*H
    assert not torch.equal(tr.s, (tr.f >= 1.0).double())


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="k_acts_on must be one of"):
        KLIF(k_acts_on="threshold")
    with pytest.raises(ValueError, match="drop one of them"):
        KLIF(k_acts_on="leak", scale_reset=True)
    with pytest.raises(ValueError, match="tau must be > 1"):
        PLIF(tau=1.0)
    with pytest.raises(TypeError, match="learn_tau"):
        PLIF(learn_tau="yes")
    with pytest.raises(ValueError, match="k_acts_on"):
        dynamics.k_leak_factor(1.0, 2.0, "nowhere")


def test_plif_parameter_and_fixed_tau():
    n = PLIF(tau=3.0)
    assert isinstance(n.w, torch.nn.Parameter) and n.tau == pytest.approx(3.0)
    assert float(n.w.detach()) == pytest.approx(-torch.log(torch.tensor(2.0)).item())  # SpikingJelly's init
    fixed = PLIF(tau=3.0, learn_tau=False)
    assert "w" in dict(fixed.named_buffers()) and not list(fixed.parameters())
    x, _ = _inputs((5, 8), torch.float32)
    assert torch.equal(fixed(x.requires_grad_()), fixed.trace(x).s)  # runs with nothing to train
    assert "tau=3" in repr(n)
    assert n.config == PLIF(tau=3.0).config  # the learned tau is not part of the compiled configuration
    with torch.no_grad():
        n.w.add_(1.0)
    assert n.config == PLIF(tau=3.0).config and n.tau < 3.0


def test_models_and_history_record_tau(tmp_path):
    from klif_edu.training import TrainConfig, train

    model = build_model("embedded-fashion-mnist", "plif")
    assert model.tau_values() == {name: pytest.approx(2.0) for name in model.neurons()}
    assert model.k_values() == {}
    leak = build_model("embedded-fashion-mnist", "k-leak")
    assert all(n.k_acts_on == "leak" for n in leak.neurons().values())
    assert all(n.k_acts_on == "fire" for n in build_model("embedded-fashion-mnist", "k-fire").neurons().values())
    with pytest.raises(ValueError, match="fixes k_acts_on"):
        build_model("embedded-fashion-mnist", "k-leak", k_acts_on="both")
    out = tmp_path / "plif"
    result = train(TrainConfig(dataset="embedded-fashion-mnist", neuron="plif", epochs=1, limit_train=64,
                               limit_test=32, out=str(out), progress=False, verbose=False))
    history = json.loads((out / "history.json").read_text())
    taus = [row["tau"] for row in history["epochs"]]
    assert taus[0] == {name: 2.0 for name in model.neurons()} and taus[-1] != taus[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tau"] == taus[-1] == result.model.tau_values()
    assert set(REPRODUCING_FIELDS) <= set(metrics["environment"])


def test_run_environment_names_what_reproduces_a_run():
    env = run_environment("cpu")
    assert env["threads"] == torch.get_num_threads() and env["torch"] == str(torch.__version__)
    assert env["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and env["device"] == "cpu"
    json.dumps(env)  # JSON-ready
    assert same_environment(env, dict(env)) == []
    other = {**env, "threads": env["threads"] + 1, "cpu_capability": "DEFAULT"}
    differ = same_environment(env, other)
    assert len(differ) == 2 and differ[0].startswith("threads:")
    assert same_environment(None, env) == ["environment (not recorded)"]


def test_notebook_13_run_exercises_by_hand():
    """The exercises about the student's own numbers, on their example runs, against hand values."""
    from klif_edu.exercises import EXERCISES, check

    plif, klif = EXERCISES["13.plif_leak"], EXERCISES["13.klif_leak"]
    assert plif.answer(plif.example_run()) == pytest.approx(1 - 1 / 1.6, rel=1e-6)  # tau = 1.6 there
    assert klif.answer(klif.example_run()) == pytest.approx(1.08 * 0.5, rel=1e-6)  # k = 1.08, tau = 2
    summary = EXERCISES["13.leak_or_fire"].example_run()
    assert EXERCISES["13.leak_or_fire"].answer(summary) == "yes"
    summary["comparisons"]["klif - k-fire"]["low"] = -0.001
    assert check("13.leak_or_fire", "no", run=summary, strict=True)
    assert not check("13.plif_leak", 0.5, run={"conv1": 1.6})  # the initial leak is not the learned one


def test_committed_peers_study_is_complete_and_records_tau():
    """results/study_fashion_mnist_peers.json: the five variants, every seed, the intervals from the seeds."""
    import math

    from klif_edu import study
    from klif_edu.peers import learned_leaks

    summary = study.committed_study(study.COMMITTED_PEERS)
    assert summary is not None and summary["complete"], "the peers study is missing or incomplete"
    acc = {name: v["test_accuracy"] for name, v in summary["variants"].items()}
    assert set(acc) == {"klif", "lif", "plif", "k-fire", "k-leak"} and {len(a) for a in acc.values()} == {5}
    for c in summary["comparisons"].values():
        d = [x - y for x, y in zip(acc[c["a"]], acc[c["b"]])]
        mean = sum(d) / len(d)
        half = study.t_quantile(0.975, len(d) - 1) * math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))
        assert (c["low"], c["high"]) == pytest.approx((mean - half, mean + half))
    taus = summary["variants"]["plif"]["tau"]
    assert len(taus) == 5 and all(set(t) == set(summary["variants"]["klif"]["k"][0]) for t in taus)
    leaks = learned_leaks(summary)
    assert set(leaks["k-fire"].values()) == {0.5} and set(leaks["lif"].values()) == {0.5}
    assert all(a != 0.5 for a in leaks["plif"].values())  # tau moved in every layer


def test_learned_leaks_and_their_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from klif_edu.peers import learned_leaks, network_leaks
    from klif_edu.plotting import peer_neurons, plot_learned_leaks, plot_peer_neurons

    summary = {"variants": {"klif": {"k": [{"conv1": 1.1}, {"conv1": 1.3}]}, "lif": {"k": [{}, {}]},
                            "k-fire": {"k": [{"conv1": 1.4}, {"conv1": 1.2}]}, "k-leak": {"k": [{"conv1": 0.9}, {"conv1": 0.9}]},
                            "plif": {"k": [{}, {}], "tau": [{"conv1": 4.0}, {"conv1": 2.0}]}}}
    leaks = learned_leaks(summary)
    assert leaks == {"klif": {"conv1": pytest.approx(0.6)}, "k-fire": {"conv1": 0.5},
                     "k-leak": {"conv1": pytest.approx(0.45)}, "plif": {"conv1": pytest.approx(0.625)},
                     "lif": {"conv1": 0.5}}
    with pytest.raises(TypeError, match="study summary"):
        learned_leaks([1, 2])
    model = build_model("embedded-fashion-mnist", "k-leak", k_init=1.2)
    assert list(network_leaks(model).values()) == [pytest.approx(0.6)] * len(model.neurons())
    fig = plot_peer_neurons(peer_neurons(k=1.5, plif_tau=4.0))
    assert [len(ax.lines) for ax in fig.axes] == [5, 6]  # five neurons; the threshold line on the right
    ax = plot_learned_leaks(leaks)
    assert len(ax.patches) == 5
    with pytest.raises(TypeError, match="variant"):
        plot_learned_leaks({})
    plt.close("all")


def test_history_records_the_surrogate_each_variant_trains_with():
    """k-leak's spikes see ReLU(H): its recorded slope and width are LIF's whatever k is; KLIF's follow k."""
    from klif_edu.training import _k_row

    rows = {name: _k_row(build_model("embedded-fashion-mnist", name, k_init=1.3)) for name in ("klif", "k-leak")}
    one = _k_row(build_model("embedded-fashion-mnist", "klif"))
    assert rows["k-leak"]["k"]["conv1"] == pytest.approx(1.3)
    assert rows["k-leak"]["slope"] == one["slope"] and rows["k-leak"]["width"] == one["width"]
    assert rows["klif"]["slope"]["conv1"] == pytest.approx(1.3 * one["slope"]["conv1"])
