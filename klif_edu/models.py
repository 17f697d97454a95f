"""Spiking networks for each dataset: the paper's (PLIF-style) networks and small classroom ones.

    model = build_model("fashion-mnist", "klif", arch="small")
    rates = model(x)         # static x [N, C, H, W] or events x [N, T, C, H, W] -> [N, classes]
    model.k_values()         # {"conv1": 1.0, "conv2": 1.0, "fc1": 1.0, "fc2": 1.0}; {} for LIF
    model.tau_values()       # {layer: learned tau} for a PLIF network; {} otherwise

Every network is a stack of blocks. A block is a synapse (conv3x3-BN, or dropout-linear),
its own spiking layer (one ``KLIF`` with its own k, or one ``LIF``) and optionally a 2x2
max-pool. Convolution, BN and pooling run once per time step by folding T into the batch
([T, N, ...] -> [T*N, ...]); the neurons see [T, N, ...]. The last block has 10 neurons per
class; the output is their firing rate averaged over T and then over each group of 10
(the "voting layer", PLIF's ``AvgPool1d(10, 10)``), so every output lies in [0, 1].

Direct encoding of static images: the image is the same at every step, so the first
conv-BN is computed once and its output repeated over T (the same numbers as convolving the
repeated image, T times cheaper; BN's running variance differs only by the n/(n-1) factor).

Where the ``paper`` networks come from. The KLIF paper's networks were not available offline
(see PAPER_FACTS.md); KLIF evaluates on exactly PLIF's six datasets, so we use PLIF's
networks (Fang et al. 2021, arXiv 2007.05785) as given in the PLIF author's SpikingJelly
``activation_based.model.parametric_lif_net`` and the PLIF repository's ``codes/models.py``:

* MNIST, Fashion-MNIST: {c128k3s1-BN-SN-MPk2s2}*2 - DP - FC2048-SN - DP - FC100-SN - vote10
* CIFAR-10: {{c256k3s1-BN-SN}*3-MPk2s2}*2 - DP - FC2048-SN - DP - FC100-SN - vote10
* N-MNIST (34x34): {c128k3s1-BN-SN-MPk2s2}*2 - DP - FC2048-SN - DP - FC100-SN - vote10
* CIFAR10-DVS (128x128): {c128k3s1-BN-SN-MPk2s2}*4 - DP - FC512-SN - DP - FC100-SN - vote10
* DVS128 Gesture (128x128): {c128k3s1-BN-SN-MPk2s2}*5 - DP - FC512-SN - DP - FC110-SN - vote10

DP is dropout p=0.5 with one mask per sequence, shared by all time steps (SpikingJelly's
``layer.Dropout``). Conv layers have no bias (BN follows). Time steps (``PAPER_TIME_STEPS``)
are PLIF's: 8 for the static datasets, 10 for N-MNIST, 20 for the DVS datasets (from the
run names of the PLIF repository's logs). Assumed, not verified: that KLIF used these
networks and time steps at all; the FC layers' bias (PLIF's original code has none, so
neither do we); the older PLIF code's FC width for CIFAR10-DVS (2048 there, 512 in
SpikingJelly; we use 512). The embedded datasets get the network of the dataset they sample
(``embedded-fashion-mnist``: the Fashion-MNIST one); any other input shape gets the same
block pattern with the FC input size computed from the shape.

The ``small`` networks are ours, not the paper's: few channels and T=4, to train in
minutes on a laptop CPU (see ``SMALL_TIME_STEPS`` and ``_small_plan``).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple, Protocol

import torch
from torch import nn
from torch.nn import functional as F

from .layers import BatchNorm1d, BatchNorm2d, Block, per_step
from .neurons import KLIF, LIF, PLIF

__all__ = [
    "NEURONS",
    "NEURON_OPTIONS",
    "ARCHS",
    "PAPER_TIME_STEPS",
    "SMALL_TIME_STEPS",
    "PAPER_DETACH_RESET",
    "SpikingNet",
    "build_model",
]

NEURONS: dict[str, type[nn.Module]] = {"klif": KLIF, "lif": LIF, "plif": PLIF, "k-only": KLIF, "gate-only": KLIF,
                                       "k-fire": KLIF, "k-leak": KLIF}
#: The KLIF variants: the options that make each name (k only: F = k*H; gate only: F = ReLU(H); k-fire:
#: k on the firing only, the carried state is ReLU(H); k-leak: k on the leak only, firing on ReLU(H)).
NEURON_OPTIONS: dict[str, dict[str, Any]] = {"k-only": {"gate": False}, "gate-only": {"learn_k": False, "k_init": 1.0},
                                             "k-fire": {"k_acts_on": "fire"}, "k-leak": {"k_acts_on": "leak"}}
ARCHS = ("paper", "small")
VOTERS = 10  # output neurons per class in the voting layer

#: PLIF's time steps per dataset (from the PLIF repository's run names); not verified for KLIF.
PAPER_TIME_STEPS = {
    "mnist": 8,
    "fashion-mnist": 8,
    "cifar10": 8,
    "nmnist": 10,
    "cifar10-dvs": 20,
    "dvs-gesture": 20,
}
#: Time steps of the small classroom networks (ours).
SMALL_TIME_STEPS = 4
#: The paper networks' default ``detach_reset``: PLIF's (its run names all say detach_reset=True).
PAPER_DETACH_RESET = True


class _Spec(Protocol):
    """What a model needs from ``klif_edu.data.DatasetSpec``."""

    name: str
    kind: str
    input_shape: tuple[int, int, int]
    num_classes: int
    time_steps: int


class _Layer(NamedTuple):
    """One block of a plan: conv (out channels) or fc (out features), then max-pool or not."""

    kind: str  # "conv" | "fc"
    width: int
    pool: bool = False
    dropout: float = 0.0
    norm: bool = False  # fc only: BatchNorm1d after the linear map (conv blocks always have BN)


class SpikingNet(nn.Module):
    """Blocks of conv/fc + spiking layer, then the voting layer; see the module docstring.

    Input: static [N, C, H, W] (repeated over ``time_steps``: direct encoding), or a
    sequence [N, T, C, H, W] (events, or an encoded static image). Output [N, num_classes]:
    each class's mean firing rate over T and over its 10 voting neurons.
    """

    def __init__(
        self,
        blocks: dict[str, Block],
        *,
        dataset: str,
        kind: str,
        input_shape: tuple[int, int, int],
        num_classes: int,
        time_steps: int,
        neuron: str,
        arch: str,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict(blocks)
        self.dataset = dataset
        self.kind = kind
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.time_steps = time_steps
        self.neuron_kind = neuron
        self.arch = arch

    # --- what the notebooks and the training loop read ----------------------------------
    def neurons(self) -> dict[str, nn.Module]:
        """{layer name: its spiking layer}, in forward order."""
        return {name: block.neuron for name, block in self.blocks.items()}

    def k_values(self) -> dict[str, float]:
        """{layer name: k} for every KLIF layer ({} for a LIF network)."""
        return {name: float(n.k.detach()) for name, n in self.neurons().items() if isinstance(n, KLIF)}

    def tau_values(self) -> dict[str, float]:
        """{layer name: learned tau} for every PLIF layer ({} for KLIF or LIF networks)."""
        return {name: n.tau for name, n in self.neurons().items() if isinstance(n, PLIF)}

    def extra_repr(self) -> str:
        return (
            f"dataset={self.dataset!r}, arch={self.arch!r}, neuron={self.neuron_kind!r}, "
            f"input_shape={self.input_shape}, time_steps={self.time_steps}, classes={self.num_classes}"
        )

    # --- forward ------------------------------------------------------------------------
    def _check_input(self, x: object) -> torch.Tensor:
        c, h, w = self.input_shape
        expected = f"[N, {c}, {h}, {w}] (static) or [N, T, {c}, {h}, {w}] (a sequence)"
        if self.kind == "events":
            expected = f"[N, T, {c}, {h}, {w}] (event frames)"
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{self.dataset} network expects a torch.Tensor {expected}, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{self.dataset} network expects a floating-point tensor, got {x.dtype}; use x.float()")
        ok_static = self.kind == "static" and x.dim() == 4
        if not (ok_static or x.dim() == 5) or tuple(x.shape[-3:]) != self.input_shape:
            raise ValueError(f"{self.dataset} network expects input of shape {expected}, got {tuple(x.shape)}")
        if x.shape[0] == 0 or (x.dim() == 5 and x.shape[1] == 0):
            raise ValueError(f"{self.dataset} network got an empty batch or sequence: shape {tuple(x.shape)}")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._check_input(x)
        blocks = list(self.blocks.values())
        if x.dim() == 4:  # direct encoding: first synapse once, repeated over T
            y = blocks[0].synapse(x)
            x_seq = blocks[0].fire(y.unsqueeze(0).expand(self.time_steps, *y.shape))
            blocks = blocks[1:]
        else:
            x_seq = x.transpose(0, 1)  # [N, T, ...] -> [T, N, ...]
        for block in blocks:
            x_seq = block(x_seq)
        rates = x_seq.mean(0)  # [N, classes * 10], firing rate of each voting neuron
        return F.avg_pool1d(rates.unsqueeze(1), VOTERS, VOTERS).squeeze(1)


# --- the plans ----------------------------------------------------------------------------
_PAPER_FAMILY = {
    "mnist": "mnist",
    "fashion-mnist": "mnist",
    "embedded-fashion-mnist": "mnist",
    "cifar10": "cifar10",
    "nmnist": "nmnist",
    "embedded-events": "nmnist",
    "cifar10-dvs": "cifar10-dvs",
    "dvs-gesture": "dvs-gesture",
}


def _paper_plan(spec: _Spec) -> list[_Layer]:
    family = _PAPER_FAMILY.get(spec.name)
    if family is None:
        family = "mnist" if spec.kind == "static" else "nmnist"
    voters = spec.num_classes * VOTERS
    if family == "cifar10":
        convs = [_Layer("conv", 256, pool=(i % 3 == 2)) for i in range(6)]
        hidden = 2048
    elif family in ("cifar10-dvs", "dvs-gesture"):
        convs = [_Layer("conv", 128, pool=True)] * (4 if family == "cifar10-dvs" else 5)
        hidden = 512
    else:  # mnist, fashion-mnist, nmnist
        convs = [_Layer("conv", 128, pool=True)] * 2
        hidden = 2048
    return convs + [_Layer("fc", hidden, dropout=0.5), _Layer("fc", voters, dropout=0.5)]


def _small_plan(spec: _Spec) -> list[_Layer]:
    """Our classroom networks: two or three narrow conv blocks, one hidden FC, BN in the FCs.

    Unlike PLIF's, the FC layers have BatchNorm (Linear-BN-SN): it keeps their input near
    unit scale, so they fire from the first step and a few epochs on a CPU suffice.
    """
    c = spec.input_shape[0]
    voters = spec.num_classes * VOTERS
    if spec.kind == "static" and c == 3:
        convs = [_Layer("conv", 32, True), _Layer("conv", 64, True), _Layer("conv", 64, True)]
    else:
        convs = [_Layer("conv", 32, True), _Layer("conv", 32, True)]
    return convs + [_Layer("fc", 256, dropout=0.2, norm=True), _Layer("fc", voters, dropout=0.2, norm=True)]


def _input_pool(spec: _Spec, arch: str) -> int:
    """Small event networks first average-pool large frames down to at most ~32 pixels."""
    if arch != "small" or spec.kind != "events":
        return 1
    return max(1, spec.input_shape[1] // 32)


def _build_blocks(plan: list[_Layer], spec: _Spec, make_neuron: Callable[[], nn.Module], pool_in: int) -> dict[str, Block]:
    c, h, w = spec.input_shape
    h, w = h // pool_in, w // pool_in
    blocks: dict[str, Block] = {}
    n_conv = n_fc = 0
    features = 0
    for layer in plan:
        if layer.kind == "conv":
            n_conv += 1
            parts: list[nn.Module] = []
            if n_conv == 1 and pool_in > 1:
                parts.append(nn.AvgPool2d(pool_in, pool_in))
            parts += [nn.Conv2d(c, layer.width, 3, padding=1, bias=False), BatchNorm2d(layer.width)]
            blocks[f"conv{n_conv}"] = Block(nn.Sequential(*parts), make_neuron(), layer.pool)
            c = layer.width
            if layer.pool:
                h, w = h // 2, w // 2
            if h < 1 or w < 1:
                raise ValueError(f"input {spec.input_shape} is too small for {n_conv} pooling stages")
        else:
            n_fc += 1
            features = features or c * h * w
            parts = [nn.Flatten()] if n_fc == 1 else []
            parts.append(nn.Linear(features, layer.width, bias=False))
            if layer.norm:
                parts.append(BatchNorm1d(layer.width))
            blocks[f"fc{n_fc}"] = Block(nn.Sequential(*parts), make_neuron(), False, layer.dropout)
            features = layer.width
    return blocks


# --- the public builder -------------------------------------------------------------------
def _resolve_spec(dataset: Any) -> _Spec:
    if isinstance(dataset, str):
        from .data import DATASETS  # lazy: models do not need the data package otherwise

        key = dataset.lower()
        if key not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
        return DATASETS[key]
    missing = [a for a in ("name", "kind", "input_shape", "num_classes") if not hasattr(dataset, a)]
    if missing:
        raise TypeError(
            f"build_model: dataset must be a name or a klif_edu.data.DatasetSpec, got "
            f"{type(dataset).__name__} (missing {', '.join(missing)})"
        )
    if dataset.kind not in ("static", "events"):
        raise ValueError(f"dataset kind must be 'static' or 'events', got {dataset.kind!r}")
    if len(tuple(dataset.input_shape)) != 3:
        raise ValueError(f"dataset input_shape must be (C, H, W), got {dataset.input_shape!r}")
    return dataset


def _neuron_factory(neuron: str, kwargs: dict[str, Any]) -> Callable[[], nn.Module]:
    if not isinstance(neuron, str) or neuron.lower() not in NEURONS:
        raise ValueError(f"unknown neuron {neuron!r}; choose one of: {', '.join(NEURONS)}")
    cls = NEURONS[neuron.lower()]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"{cls.__name__} does not take {', '.join(unknown)}; its arguments are: {', '.join(accepted)}"
        )
    preset = NEURON_OPTIONS.get(neuron.lower(), {})
    clash = sorted(name for name in set(kwargs) & set(preset) if kwargs[name] != preset[name])
    if clash:
        raise ValueError(
            f"neuron {neuron!r} fixes {', '.join(f'{n}={preset[n]!r}' for n in clash)}; "
            "drop that argument, or choose neuron 'klif' and set the options yourself"
        )
    kwargs = {**kwargs, **preset}
    cls(**kwargs)  # fail here, once, with the neuron's own message about a bad value
    return lambda: cls(**kwargs)


def build_model(
    dataset: str | _Spec,
    neuron: str = "klif",
    arch: str = "small",
    time_steps: int | None = None,
    **neuron_kwargs: Any,
) -> SpikingNet:
    """The ``arch`` network for ``dataset`` with ``neuron`` spiking layers (a name from ``NEURONS``).

    dataset: a name from ``klif_edu.data.DATASETS`` or a ``DatasetSpec``. time_steps: T for
    static inputs (default: PLIF's T for ``paper``, 4 for ``small``; event inputs bring
    their own T). neuron_kwargs go to every ``KLIF``/``LIF``/``PLIF`` (tau, v_threshold, surrogate,
    k_init, backend, ...). Each spiking layer gets its own neuron module and its own k (PLIF: w).
    "k-only", "gate-only", "k-fire" and "k-leak" are KLIF with the options in ``NEURON_OPTIONS``.
    The ``paper`` networks detach the reset (``detach_reset=True``, PLIF's setting) unless
    neuron_kwargs say otherwise; the neurons' own default stays SpikingJelly's (False).
    """
    if not isinstance(arch, str) or arch.lower() not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of: {', '.join(ARCHS)}")
    arch = arch.lower()
    if arch == "paper":  # PLIF's runs (every run name in its logs) detach the reset
        neuron_kwargs = {"detach_reset": PAPER_DETACH_RESET, **neuron_kwargs}
    make_neuron = _neuron_factory(neuron, neuron_kwargs)
    spec = _resolve_spec(dataset)
    if time_steps is None:
        if arch == "paper":
            time_steps = PAPER_TIME_STEPS.get(spec.name, getattr(spec, "time_steps", None) or 8)
        else:
            time_steps = SMALL_TIME_STEPS
    if isinstance(time_steps, bool) or not isinstance(time_steps, int) or time_steps < 1:
        raise ValueError(f"time_steps must be a positive integer, got {time_steps!r}")
    plan = _paper_plan(spec) if arch == "paper" else _small_plan(spec)
    blocks = _build_blocks(plan, spec, make_neuron, _input_pool(spec, arch))
    return SpikingNet(
        blocks,
        dataset=spec.name,
        kind=spec.kind,
        input_shape=tuple(spec.input_shape),
        num_classes=spec.num_classes,
        time_steps=time_steps,
        neuron=neuron.lower(),
        arch=arch,
    )
