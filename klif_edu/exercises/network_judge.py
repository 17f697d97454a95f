"""The judge behind ``check("04.network", MyNet)``: a spiking classifier is judged by what it does.

Every probe feeds inputs the student cannot see coming and asks one question; the first that
fails names the mistake in one sentence. In order: it builds; the forward pass runs (a shape
mismatch is explained); it returns [N, 10]; it runs KLIF layers, each its own, each k a trained
parameter, each layer carrying its V from step to step; BatchNorm follows the convs; rates lie
in [0, 1] and are made of spikes (multiples of 1/(T*voters)); the same input gives the same
output; the output follows the input, sample by sample and at every time step; a constant
input gives a response that develops over time; k and the input receive gradient through the spikes.

The forward probes run in eval mode (no batch coupling, running statistics untouched) with every
neuron's threshold lowered, so that an untrained network fires enough to be seen.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn

from ..neurons import KLIF, LIF
from ..neurons import _Neuron as Neuron

__all__ = ["judge_network", "PROBE_SHAPE", "THRESHOLD_FACTORS"]

PROBE_SHAPE = (4, 4, 1, 28, 28)  # [T, N, C, H, W] of the main probe
THRESHOLD_FACTORS = (0.3, 0.2, 0.15, 0.1, 0.05)  # tried in turn until half the class rates are not 0


class Mistake(Exception):
    """One failed probe; its message is the one-sentence hint."""


# --- watching what the student's forward does ------------------------------------------------
class _Record:
    """What one forward pass did: neuron calls, the last module entered (for error messages)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Neuron, str, tuple[int, ...]]] = []  # (neuron, "step"|"seq", input shape)
        self.restarts: set[Neuron] = set()  # neurons whose step got v=None after their first step
        self.strangers: set[Neuron] = set()  # ... or a v other than the one their previous step returned
        self.last_v: dict[int, torch.Tensor] = {}
        self.entered: tuple[nn.Module, tuple] | None = None


@contextmanager
def _watch() -> Iterator[_Record]:
    """Record every neuron call and the last module entered, for the duration of one forward pass."""
    rec = _Record()
    original_step = Neuron.step

    def step(self, x, v=None):  # noqa: ANN001 - same signature as Neuron.step
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else ()
        if id(self) in rec.last_v and v is None:
            rec.restarts.add(self)
        elif id(self) in rec.last_v and not _same_state(v, rec.last_v[id(self)]):
            rec.strangers.add(self)
        rec.calls.append((self, "step", shape))
        s, v_out = original_step(self, x, v)
        rec.last_v[id(self)] = v_out
        return s, v_out

    def pre_hook(module, args):  # noqa: ANN001
        if isinstance(module, Neuron):
            shape = tuple(args[0].shape) if args and isinstance(args[0], torch.Tensor) else ()
            rec.calls.append((module, "seq", shape))
        else:
            rec.entered = (module, args)

    handle = torch.nn.modules.module.register_module_forward_pre_hook(pre_hook)
    Neuron.step = step
    try:
        yield rec
    finally:
        Neuron.step = original_step
        handle.remove()


def _same_state(v: Any, last: torch.Tensor) -> bool:
    return isinstance(v, torch.Tensor) and v.shape == last.shape and torch.equal(v.detach(), last.detach())


@contextmanager
def _lowered_thresholds(model: nn.Module, factor: float) -> Iterator[None]:
    neurons = [m for m in model.modules() if isinstance(m, Neuron)]
    saved = [n.v_threshold for n in neurons]
    try:
        for n in neurons:
            n.v_threshold = n.v_threshold * factor
        yield
    finally:
        for n, vth in zip(neurons, saved):
            n.v_threshold = vth


# --- explaining a failed forward pass ---------------------------------------------------------
def _names(model: nn.Module) -> dict[int, str]:
    return {id(m): name or "the network" for name, m in model.named_modules()}


def _explain_failure(err: Exception, rec: _Record, model: nn.Module, shape: tuple[int, ...]) -> str:
    names = _names(model)
    if rec.entered is not None:
        module, args = rec.entered
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        name = names.get(id(module), type(module).__name__)
        if isinstance(module, nn.Linear) and x is not None and x.shape[-1] != module.in_features:
            return (f"`{name}` = nn.Linear({module.in_features}, ...) gets {x.shape[-1]} inputs per sample: with "
                    "3x3 kernels, padding=1 keeps each conv's output as large as its input (28x28, then 14x14), so "
                    "two 2x2 max-pools leave channels x 7 x 7 (32 x 7 x 7 = 1568); without padding=1 each conv "
                    "trims a pixel on every side.")
        if isinstance(module, nn.Conv2d) and x is not None and x.dim() == 5:
            return (f"`{name}` got a 5-D input {list(x.shape)}, but nn.Conv2d takes one time step [N, C, H, W]: "
                    "loop over x_seq (for x in x_seq) or fold time into the batch (x_seq.flatten(0, 1)).")
        if isinstance(module, nn.Conv2d) and x is not None and x.dim() == 4 and x.shape[1] != module.in_channels:
            return (f"`{name}` expects {module.in_channels} input channels but gets {x.shape[1]}: its in_channels "
                    "must equal the out_channels of the layer before it.")
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and x is not None and x.dim() >= 2 \
                and x.shape[1] != module.num_features:
            return (f"`{name}` normalises {module.num_features} channels but gets {x.shape[1]}: give each "
                    "BatchNorm2d the out_channels of the conv before it.")
    if isinstance(err, IndexError) and "out of bounds for dimension 0" in str(err):
        return ("The forward pass indexed past the end of x_seq: loop over x_seq itself (for x in x_seq) so "
                "that it works for any number of time steps T.")
    return f"The forward pass on x of shape {list(shape)} failed ({type(err).__name__}: {err})."


def _run(model: nn.Module, x: torch.Tensor) -> tuple[Any, _Record]:
    """One probe forward pass: the output and what it did (Mistake when it fails)."""
    with _watch() as rec:
        try:
            out = model(x)
        except Exception as err:  # noqa: BLE001 - the student's forward may fail in any way
            raise Mistake(_explain_failure(err, rec, model, tuple(x.shape))) from err
    return out, rec


# --- the probes -------------------------------------------------------------------------------
def _build(answer: Any) -> nn.Module:
    if isinstance(answer, nn.Module):
        return answer
    if not callable(answer):
        raise Mistake(f"Pass your nn.Module subclass itself (answer = MyNet), not a {type(answer).__name__}.")
    try:
        model = answer()
    except Exception as err:  # noqa: BLE001 - the student's constructor may fail in any way
        raise Mistake(f"Could not build it with no arguments ({type(err).__name__}: {err}).") from err
    if not isinstance(model, nn.Module):
        raise Mistake(f"Calling it gave a {type(model).__name__}, not an nn.Module: write class MyNet(nn.Module).")
    return model


def _check_output(out: Any, shape: tuple[int, ...]) -> torch.Tensor:
    t, n = shape[0], shape[1]
    if not isinstance(out, torch.Tensor):
        raise Mistake(f"forward should return one tensor of class rates [N, 10], got a {type(out).__name__}.")
    got = tuple(out.shape)
    if got == (n, 10):
        return out
    if len(got) == 2 and got[0] == n and got[1] % 10 == 0 and got[1] > 10:
        raise Mistake(f"For {n} images it returns {list(got)}, one rate per output neuron: average each class's "
                      f"voters into one rate per class (rates.view(-1, 10, {got[1] // 10}).mean(2)).")
    if len(got) >= 2 and got[:2] == (t, n):
        raise Mistake(f"For x of shape {list(shape)} it returns {list(got)}, one value per time step: average "
                      "the output spikes over time (dim 0) before the voting.")
    raise Mistake(f"For x of shape {list(shape)} it should return class rates of shape [{n}, 10], got {list(got)}.")


def _check_neurons(model: nn.Module, rec: _Record) -> None:
    names = _names(model)
    used = list(dict.fromkeys(n for n, _, _ in rec.calls))
    klifs = [n for n in used if isinstance(n, KLIF)]
    if not used:
        raise Mistake("Its forward never runs a spiking neuron: pass each layer's current through its KLIF "
                      "(s1, v1 = self.sn1.step(current, v1)).")
    if not klifs:
        kind = "LIF" if any(isinstance(n, LIF) for n in used) else type(used[0]).__name__
        raise Mistake(f"It uses {kind} neurons: this network is built from KLIF neurons, whose k it learns.")
    if any(id(n) not in names for n in klifs):
        raise Mistake("A KLIF is made inside forward (or kept in a plain Python list): create each one once in "
                      "__init__ as an attribute (self.sn1 = KLIF(), or an nn.ModuleList), so that it is part "
                      "of the network and its k is trained.")
    params = {id(p) for p in model.parameters()}
    for n in klifs:
        if id(n.k) not in params:
            raise Mistake(f"The k of `{names[id(n)]}` is not among net.parameters(): make each KLIF an attribute "
                          "(self.sn1 = KLIF()) so that the optimiser trains its k.")
    shapes: dict[Neuron, set] = {}
    for n, kind, shape in rec.calls:
        shapes.setdefault(n, set()).add(shape[1:] if kind == "seq" else shape)
    shared = [n for n in klifs if len(shapes[n]) > 1]
    if shared:
        raise Mistake(f"`{names[id(shared[0])]}` serves several layers: give every layer its own KLIF (self.sn1, "
                      "self.sn2, self.sn3), each with its own k and its own V.")
    if len(klifs) < 2:
        raise Mistake(f"It has {len(klifs)} KLIF layer; give every conv block and the output layer its own KLIF.")
    unused = [name for name, m in model.named_modules() if isinstance(m, Neuron) and m not in used]
    if unused:
        raise Mistake(f"`{unused[0]}` is never used in forward: its k would never learn; use it or remove it.")
    if rec.restarts:
        name = min(names[id(n)] for n in rec.restarts)
        raise Mistake(f"`{name}` starts from rest at every time step: carry its state, passing the v that "
                      "step returned to the next step (s, v = neuron.step(current, v)).")
    if rec.strangers:
        name = min(names[id(n)] for n in rec.strangers)
        raise Mistake(f"`{name}` gets a state v other than the one its previous step returned: step returns "
                      "(spikes, v) in that order; pass that v on unchanged (s, v = neuron.step(current, v)).")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not convs or not norms:
        raise Mistake("It needs conv-BN-KLIF blocks: an nn.Conv2d followed by an nn.BatchNorm2d before each KLIF.")


def _voters(model: nn.Module) -> int:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    out = linears[-1].out_features if linears else 10
    return out // 10 if out % 10 == 0 else 10


def _check_readout(rates: torch.Tensor, t: int, voters: int) -> None:
    slots = rates.double() * t * voters
    off = (slots - slots.round()).abs()
    if float(off.max()) > 1e-3:
        bad = float(rates.flatten()[int(off.flatten().argmax())])
        raise Mistake(f"Its output {bad:.4f} is not a count of spikes (a multiple of 1/(T*voters) = 1/{t * voters}): "
                      "read out the output layer's spikes averaged over time and voters, not a membrane potential "
                      "or a sigmoid.")
    fine = (slots.round() % t) != 0
    if t > 1 and int((rates > 0).sum()) >= 8 and not bool(fine.any()):
        raise Mistake(f"All its rates are multiples of 1/{voters}, as if it read one time step only (or summed "
                      "over time): average the output spikes over all T steps (torch.stack(out).mean(0)).")


def _differs(a: torch.Tensor, b: torch.Tensor) -> bool:
    return not torch.allclose(a, b, atol=1e-6)


def _rates(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The class rates for probe input x, checked for shape and range."""
    out, _ = _run(model, x)
    rates = _check_output(out, tuple(x.shape))
    lo, hi = float(rates.min()), float(rates.max())
    if lo < 0 or hi > 1:
        raise Mistake(f"Its outputs run from {lo:.3g} to {hi:.3g}, but firing rates lie in [0, 1]: take the "
                      "mean of the spikes over time and over each class's voters, not their sum.")
    return rates


def _check_behaviour(model: nn.Module, x: torch.Tensor, rates: torch.Tensor, gen: torch.Generator) -> None:
    t = x.shape[0]
    const = torch.randn((1, *x.shape[1:]), generator=gen).expand(4 * t, *x.shape[1:]).contiguous()
    long = _rates(model, const)  # sums over 4T steps overflow [0, 1] here
    if _differs(_rates(model, x), rates):
        raise Mistake("The same input gave a different output on a second call: start every neuron from rest "
                      "in each forward (v1 = v2 = v3 = None inside forward), not from what the last call left.")
    if not _differs(_rates(model, torch.randn(x.shape, generator=gen)), rates):
        raise Mistake("Its output does not change when the input changes: feed each time step of x_seq "
                      "through conv1 into the network.")
    x_one = x.clone()
    x_one[:, 0] = torch.randn(x_one[:, 0].shape, generator=gen)
    if _differs(_rates(model, x_one)[1:], rates[1:]):
        raise Mistake("Changing image 0 changed the rates of other images: a reshape mixes the batch "
                      "(flatten with .flatten(1), group the voters with .view(-1, 10, voters)).")
    for step in range(t):
        x_t = x.clone()
        x_t[step] = torch.randn(x_t[step].shape, generator=gen)
        if not _differs(_rates(model, x_t), rates):
            which = "only the first time step is used" if step == 1 else f"time step {step} is never used"
            raise Mistake(f"Changing the input at time step {step} (of {t}) left the output unchanged, so {which}: "
                          "feed x_seq[t] to the network at every step t.")
    if not _differs(_rates(model, const[:1]), long):
        raise Mistake("A constant input gives the same spikes at every step, as if every step restarted from "
                      "rest: carry each layer's V from one step to the next.")


def _check_gradient(model: nn.Module, x: torch.Tensor, gen: torch.Generator) -> None:
    names = _names(model)
    x = x.clone().requires_grad_(True)
    rates, rec = _run(model, x)
    klifs = list(dict.fromkeys(m for m, _, _ in rec.calls if isinstance(m, KLIF)))
    frozen = [m for m in klifs if not m.k.requires_grad]
    if frozen:
        raise Mistake(f"The k of `{names[id(frozen[0])]}` is frozen (requires_grad=False): leave k trainable.")
    if not rates.requires_grad:
        raise Mistake("Its output carries no gradient: do not run forward under torch.no_grad() or detach the "
                      "spikes or the rates.")
    weights = torch.rand(rates.shape, generator=gen) + 0.5
    grads = torch.autograd.grad((rates * weights).sum(), [x] + [m.k for m in klifs], allow_unused=True)
    for m, g in zip(klifs, grads[1:]):
        if g is None or float(g.abs()) == 0.0:
            raise Mistake(f"No gradient reaches the k of `{names[id(m)]}`: keep the spikes in the graph from that "
                          "layer to the output (no .detach(), .item() or torch.no_grad() between layers).")
    if grads[0] is None or float(grads[0].abs().sum()) == 0.0:
        raise Mistake("No gradient reaches the input: keep the spikes in the graph from the first layer to the "
                      "output (no .detach() between layers).")


def _threshold_factor(model: nn.Module, x: torch.Tensor) -> float:
    """The first factor in THRESHOLD_FACTORS at which at least half the class rates are not 0."""
    for factor in THRESHOLD_FACTORS:
        with _lowered_thresholds(model, factor):
            out, _ = _run(model, x)
        if isinstance(out, torch.Tensor) and out.is_floating_point() and float((out != 0).float().mean()) >= 0.5:
            return factor
    return THRESHOLD_FACTORS[-1]


def judge_network(answer: Any) -> str | None:
    """None when ``answer`` (an nn.Module subclass or instance) behaves as a trainable spiking classifier
    of [T, N, 1, 28, 28] into 10 class rates; else the first mistake found, in one sentence."""
    try:
        model = _build(answer)
        was_training = model.training
        model.eval()
        gen = torch.Generator().manual_seed(1234)
        x = torch.randn(PROBE_SHAPE, generator=gen)
        try:
            with torch.no_grad():
                out, rec = _run(model, x)
                _check_output(out, PROBE_SHAPE)
                _check_neurons(model, rec)
                factor = _threshold_factor(model, x)
                with _lowered_thresholds(model, factor):
                    rates = _rates(model, x)
                    _check_behaviour(model, x, rates, gen)
                    _check_readout(rates, PROBE_SHAPE[0], _voters(model))
            with _lowered_thresholds(model, factor):
                _check_gradient(model, x, gen)
        finally:
            model.train(was_training)
    except Mistake as mistake:
        return str(mistake)
    return None
