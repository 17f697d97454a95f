"""probe: per-layer traces of a network equal the layer's own equations on the input it received."""
import pytest
import torch

from klif_edu import KLIF, LIF
from klif_edu.models import build_model
from klif_edu.probe import capture_inputs, firing_rates, gate_closed_fraction, layer_table, probe, sample_batch


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = build_model("embedded-fashion-mnist", "klif", "small")
    for i, neuron in enumerate(model.neurons().values()):
        neuron.k.data.fill_(0.8 + 0.2 * i)  # distinct k per layer
    return model


def test_one_trace_per_spiking_layer_with_time_first(net):
    x = torch.randn(3, 1, 28, 28)
    traces = probe(net, x)
    assert list(traces) == list(net.neurons())
    for tr in traces.values():
        assert tr.h.shape[:2] == (net.time_steps, 3)
        assert tr.h.shape == tr.f.shape == tr.s.shape == tr.v.shape


def test_traces_replay_the_layer_on_its_captured_input(net):
    x = torch.randn(2, 1, 28, 28)
    net.eval()
    with torch.no_grad(), capture_inputs(net) as inputs:
        out = net(x)
    traces = probe(net, x)
    for name, neuron in net.neurons().items():
        torch.testing.assert_close(traces[name].s, neuron(inputs[name]))  # same spikes as the network made
        torch.testing.assert_close(traces[name].f, torch.relu(neuron.k.detach() * traces[name].h))
    # the last layer's spikes give the network's output (voting: mean over T, then groups of 10)
    rates = traces["fc2"].s.mean(0).view(2, 10, 10).mean(2)
    torch.testing.assert_close(rates, out)


def test_probe_restores_training_mode_and_removes_hooks(net):
    net.train()
    probe(net, torch.randn(1, 1, 28, 28))
    assert net.training
    assert all(not n._forward_pre_hooks for n in net.neurons().values())


def test_layers_subset_and_unknown_layer(net):
    assert list(probe(net, torch.randn(1, 1, 28, 28), layers=["conv2"])) == ["conv2"]
    with pytest.raises(ValueError, match="unknown layers"):
        probe(net, torch.randn(1, 1, 28, 28), layers=["conv9"])
    with pytest.raises(TypeError):
        probe(net, [[0.0]])


def test_plain_modules_with_lif_are_probed_too():
    model = torch.nn.Sequential(torch.nn.Identity(), LIF())
    tr = probe(model, torch.full((4, 2, 3), 1.5))
    assert list(tr) == ["1"] and torch.equal(tr["1"].f, tr["1"].h)
    with pytest.raises(ValueError, match="no LIF/KLIF"):
        probe(torch.nn.Linear(2, 2), torch.zeros(1, 2))


def test_firing_rates_and_gate_fraction_by_hand():
    neuron = KLIF(k_init=2.0)
    x = torch.tensor([[1.0, -1.0], [1.0, -1.0]])  # [T=2, N=2]; H = 0.5 then 0.5 (after reset) for the first
    tr = {"a": neuron.trace(x)}
    # first neuron: H[0] = 0.5, F = 1 -> spike; reset to 0, H[1] = 0.5 -> spike; second never fires
    assert firing_rates(tr) == {"a": 0.5}
    assert gate_closed_fraction(tr) == {"a": 0.5}  # the second neuron's H < 0 at both steps


def test_sample_batch_and_layer_table(net):
    x, y = sample_batch("embedded-fashion-mnist", n=5)
    assert x.shape == (5, 1, 28, 28) and y.shape == (5,) and y.dtype == torch.long
    text = layer_table(net)
    assert text.count("\n") == len(net.neurons()) + 1
    assert "conv 1->32 3x3, max-pool 2x2" in text and "KLIF" in text and "0.800" in text
    lif_text = layer_table(build_model("embedded-fashion-mnist", "lif", "small"))
    assert "LIF" in lif_text and "0.800" not in lif_text
    with pytest.raises(TypeError):
        layer_table(torch.nn.Linear(1, 1))
