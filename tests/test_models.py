"""The networks: shapes per dataset, one k per layer, direct encoding, voting, bad inputs."""
from dataclasses import dataclass

import pytest
import torch

from klif_edu import KLIF, LIF
from klif_edu.layers import SeqDropout
from klif_edu.models import PAPER_TIME_STEPS, SMALL_TIME_STEPS, SpikingNet, build_model


@dataclass(frozen=True)
class Spec:
    """A stand-in for klif_edu.data.DatasetSpec with the fields a model reads."""

    name: str
    kind: str
    input_shape: tuple
    num_classes: int
    time_steps: int


STATIC = Spec("toy-static", "static", (1, 12, 12), 3, 4)
EVENTS = Spec("toy-events", "events", (2, 16, 16), 4, 3)


def _input(spec, n=2, t=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    if spec.kind == "static":
        return torch.rand(n, *spec.input_shape, generator=g)
    return (torch.rand(n, t, *spec.input_shape, generator=g) < 0.3).float()


def test_dataset_names_all_build():
    from klif_edu.data import DATASETS

    for name, spec in DATASETS.items():
        for arch in ("small", "paper"):
            m = build_model(name, "klif", arch)
            assert isinstance(m, SpikingNet) and m.input_shape == tuple(spec.input_shape)
            assert m.num_classes == spec.num_classes and m.dataset == name and m.arch == arch


@pytest.mark.parametrize("spec", [STATIC, EVENTS], ids=["static", "events"])
@pytest.mark.parametrize("neuron", ["klif", "lif"])
def test_output_is_one_rate_per_class(spec, neuron):
    m = build_model(spec, neuron, "small")
    out = m(_input(spec))
    assert out.shape == (2, spec.num_classes)
    assert out.min() >= 0 and out.max() <= 1
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_every_spiking_layer_has_its_own_k():
    m = build_model(STATIC, "klif", "small", k_init=0.7)
    neurons = m.neurons()
    assert list(neurons) == list(m.k_values()) == ["conv1", "conv2", "fc1", "fc2"]
    assert all(isinstance(n, KLIF) for n in neurons.values())
    assert len({id(n.k) for n in neurons.values()}) == len(neurons)
    assert m.k_values() == {name: pytest.approx(0.7) for name in neurons}
    with torch.no_grad():
        neurons["conv2"].k.fill_(2.0)
    assert m.k_values()["conv2"] == 2.0 and m.k_values()["conv1"] == pytest.approx(0.7)
    k_params = [name for name, _ in m.named_parameters() if name.endswith(".k")]
    assert k_params == [f"blocks.{n}.neuron.k" for n in neurons]


def test_lif_network_has_no_k():
    m = build_model(STATIC, "lif", "small")
    assert m.k_values() == {}
    assert all(isinstance(n, LIF) for n in m.neurons().values())


def test_neuron_kwargs_reach_every_layer():
    m = build_model(STATIC, "klif", "small", tau=3.0, v_threshold=0.5, detach_reset=True)
    assert {(n.tau, n.v_threshold, n.detach_reset) for n in m.neurons().values()} == {(3.0, 0.5, True)}


def test_static_image_is_repeated_over_t_direct_encoding():
    """The once-computed first conv equals feeding the image repeated T times as a sequence."""
    torch.manual_seed(0)
    m = build_model(STATIC, "klif", "small", time_steps=5).eval()
    x = _input(STATIC, n=3)
    repeated = x.unsqueeze(1).expand(3, 5, *x.shape[1:])
    torch.testing.assert_close(m(x), m(repeated))
    assert m.time_steps == 5


def test_samples_do_not_mix_when_time_is_folded_into_the_batch():
    m = build_model(EVENTS, "klif", "small").eval()
    x = _input(EVENTS, n=4, t=3)
    together = m(x)
    for i in range(4):
        torch.testing.assert_close(together[i : i + 1], m(x[i : i + 1]))


def test_output_is_the_vote_of_ten_neurons_per_class():
    m = build_model(STATIC, "klif", "small").eval()
    seen = {}
    m.blocks["fc2"].neuron.register_forward_hook(lambda mod, inp, out: seen.setdefault("s", out))
    out = m(_input(STATIC, n=2))
    spikes = seen["s"]  # [T, N, classes * 10]
    assert spikes.shape == (SMALL_TIME_STEPS, 2, STATIC.num_classes * 10)
    expected = spikes.mean(0).view(2, STATIC.num_classes, 10).mean(-1)
    torch.testing.assert_close(out, expected)


def test_events_bring_their_own_time_steps():
    m = build_model(EVENTS, "lif", "small")
    for t in (1, 2, 5):
        assert m(_input(EVENTS, t=t)).shape == (2, EVENTS.num_classes)


def test_default_time_steps():
    assert build_model("fashion-mnist", "klif", "paper").time_steps == PAPER_TIME_STEPS["fashion-mnist"]
    assert build_model("fashion-mnist", "klif", "small").time_steps == SMALL_TIME_STEPS
    assert build_model("fashion-mnist", "klif", "small", time_steps=7).time_steps == 7


def _layers(m):
    convs = [b.synapse for name, b in m.blocks.items() if name.startswith("conv")]
    conv_widths = [next(l for l in s if isinstance(l, torch.nn.Conv2d)).out_channels for s in convs]
    fcs = [next(l for l in b.synapse if isinstance(l, torch.nn.Linear)) for n, b in m.blocks.items() if n.startswith("fc")]
    pools = [b.pool is not None for name, b in m.blocks.items() if name.startswith("conv")]
    return conv_widths, [(f.in_features, f.out_features) for f in fcs], pools


@pytest.mark.parametrize(
    "name, convs, fcs, pools",
    [  # the PLIF networks as documented in klif_edu.models (SpikingJelly's parametric_lif_net)
        ("fashion-mnist", [128] * 2, [(128 * 7 * 7, 2048), (2048, 100)], [True] * 2),
        ("cifar10", [256] * 6, [(256 * 8 * 8, 2048), (2048, 100)], [False, False, True] * 2),
        ("nmnist", [128] * 2, [(128 * 8 * 8, 2048), (2048, 100)], [True] * 2),
        ("cifar10-dvs", [128] * 4, [(128 * 8 * 8, 512), (512, 100)], [True] * 4),
        ("dvs-gesture", [128] * 5, [(128 * 4 * 4, 512), (512, 110)], [True] * 5),
    ],
)
def test_paper_networks_follow_plif(name, convs, fcs, pools):
    m = build_model(name, "klif", "paper")
    assert _layers(m) == (convs, fcs, pools)
    drops = [b.dropout.p for n, b in m.blocks.items() if n.startswith("fc")]
    assert drops == [0.5, 0.5]


def test_sequence_dropout_shares_one_mask_over_time():
    d = SeqDropout(0.5).train()
    torch.manual_seed(0)
    y = d(torch.ones(6, 4, 50))
    assert torch.equal(y[0], y[-1]) and (y[0] == 0).any() and (y[0] == 2.0).any()
    assert torch.equal(d.eval()(torch.ones(6, 4, 50)), torch.ones(6, 4, 50))
    with pytest.raises(ValueError, match="p must be in"):
        SeqDropout(1.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"neuron": "izhikevich"}, ValueError, "choose one of: klif, lif"),
        ({"arch": "resnet"}, ValueError, "choose one of: paper, small"),
        ({"dataset": "imagenet"}, ValueError, "choose one of: mnist, fashion-mnist"),
        ({"neuron": "lif", "k_init": 2.0}, ValueError, "LIF does not take k_init"),
        ({"tau": 0.5}, ValueError, "tau must be > 1"),
        ({"time_steps": 0}, ValueError, "time_steps must be a positive integer"),
        ({"dataset": 42}, TypeError, "a name or a klif_edu.data.DatasetSpec"),
    ],
)
def test_bad_arguments_say_what_is_valid(kwargs, error, match):
    args = {"dataset": STATIC, "neuron": "klif", "arch": "small", **kwargs}
    with pytest.raises(error, match=match):
        build_model(**args)


def test_bad_inputs_say_the_expected_shape():
    m = build_model(STATIC, "klif", "small")
    with pytest.raises(ValueError, match=r"\[N, 1, 12, 12\]"):
        m(torch.rand(2, 3, 12, 12))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.ones(2, 1, 12, 12, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        m([[0.0]])
    with pytest.raises(ValueError, match=r"event frames"):
        build_model(EVENTS, "klif", "small")(torch.rand(2, 2, 16, 16))
    with pytest.raises(ValueError, match="too small"):
        build_model(Spec("tiny", "static", (1, 2, 2), 2, 4), "klif", "small")


def test_batchnorm_running_stats_start_as_the_mean_of_the_first_batches():
    from klif_edu.layers import BatchNorm1d

    torch.manual_seed(0)
    bn = BatchNorm1d(3)
    batches = [torch.randn(16, 3) * (i + 1) + i for i in range(12)]
    for i, b in enumerate(batches[:5]):
        bn(b)
    # after 5 batches: the plain mean of their means (PyTorch's default would keep 0.9**5 of 0)
    torch.testing.assert_close(bn.running_mean, torch.stack([b.mean(0) for b in batches[:5]]).mean(0))
    for b in batches[5:]:
        bn(b)
    assert bn.momentum == 0.1 and int(bn.num_batches_tracked) == 12
    # from batch 11 on it is the usual exponential average
    first10 = torch.stack([b.mean(0) for b in batches[:10]]).mean(0)
    want = first10
    for b in batches[10:]:
        want = 0.9 * want + 0.1 * b.mean(0)
    torch.testing.assert_close(bn.running_mean, want)


def test_batchnorm_warm_start_survives_a_checkpoint_round_trip():
    from klif_edu.layers import BatchNorm2d

    a = BatchNorm2d(2)
    for _ in range(3):
        a(torch.randn(4, 2, 3, 3))
    b = BatchNorm2d(2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 2, 3, 3)
    a(x), b(x)
    torch.testing.assert_close(a.running_var, b.running_var)
    assert a.momentum == b.momentum == 1 / 4
