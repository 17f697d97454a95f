"""Look inside a trained network: record every spiking layer's H, F, S, V on some inputs.

    traces = probe(model, x)            # {"conv1": Trace(h, f, s, v), "conv2": ..., ...}
    firing_rates(traces)                # {"conv1": 0.12, ...}: spikes per neuron per step
    plot_gate_histogram(traces["conv2"], v_threshold=1.0)

How: a forward pre-hook on each spiking layer catches the input X [T, N, ...] that the
layer receives during one ordinary forward pass, and ``neuron.trace(X)`` replays the
layer's equations on it (the reference, step-by-step path) to record H, F, S and V.
The network itself runs unchanged, in eval mode and without gradients; the model's
train/eval mode is restored afterwards.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from .neurons import KLIF, LIF, Trace

__all__ = ["probe", "capture_inputs", "firing_rates", "gate_closed_fraction", "sample_batch", "layer_table"]


def _spiking_layers(model: nn.Module) -> dict[str, nn.Module]:
    """{name: spiking layer}: ``model.neurons()`` when the model has it, else every LIF/KLIF module."""
    if hasattr(model, "neurons") and callable(model.neurons):
        layers = dict(model.neurons())
    else:
        layers = {name: m for name, m in model.named_modules() if isinstance(m, (LIF, KLIF))}
    if not layers:
        raise ValueError(f"probe: {type(model).__name__} has no LIF/KLIF layers to record")
    return layers


@contextmanager
def capture_inputs(model: nn.Module, layers: list[str] | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, every forward pass stores each spiking layer's input X [T, N, ...]."""
    all_layers = _spiking_layers(model)
    names = list(all_layers) if layers is None else list(layers)
    unknown = [n for n in names if n not in all_layers]
    if unknown:
        raise ValueError(f"probe: unknown layers {unknown}; the model has {list(all_layers)}")
    inputs: dict[str, torch.Tensor] = {}
    handles = []
    for name in names:
        def hook(module, args, name=name):
            inputs[name] = args[0].detach()
        handles.append(all_layers[name].register_forward_pre_hook(hook))
    try:
        yield inputs
    finally:
        for handle in handles:
            handle.remove()


def probe(model: nn.Module, x: torch.Tensor, layers: list[str] | None = None) -> dict[str, Trace]:
    """{layer: Trace} of every spiking layer (or those named) for the input batch ``x``.

    ``x`` is what the model takes (static [N, C, H, W] or a sequence [N, T, C, H, W]); it is
    moved to the model's device. Each Trace has fields h, f, s, v of shape [T, N, ...].
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"probe: x must be a torch.Tensor batch, got {type(x).__name__}")
    all_layers = _spiking_layers(model)
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = x.device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), capture_inputs(model, layers) as inputs:
            model(x.to(device))
            return {name: all_layers[name].trace(x_seq) for name, x_seq in inputs.items()}
    finally:
        model.train(was_training)


def firing_rates(traces: dict[str, Trace]) -> dict[str, float]:
    """{layer: mean spikes per neuron per time step} from probe traces."""
    return {name: float(tr.s.detach().float().mean()) for name, tr in traces.items()}


def gate_closed_fraction(traces: dict[str, Trace]) -> dict[str, float]:
    """{layer: fraction of (step, neuron) values with F = 0}: where KLIF's ReLU gate is closed.

    For LIF (F = H) this is the fraction with H exactly 0, usually near 0.
    """
    return {name: float((tr.f.detach() == 0).float().mean()) for name, tr in traces.items()}


def sample_batch(dataset: str, n: int = 16, seed: int = 0, time_steps: int | None = None,
               data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y): ``n`` test samples of ``dataset`` stacked into one batch, ready for ``probe``."""
    from .data import load_dataset

    kwargs = {"time_steps": time_steps} if time_steps is not None else {}
    ds = load_dataset(dataset, "test", data_dir=data_dir, limit=n, seed=seed, download=False, **kwargs)
    items = [ds[i] for i in range(len(ds))]
    return torch.stack([torch.as_tensor(x) for x, _ in items]), torch.tensor([int(y) for _, y in items])


def layer_table(model: nn.Module) -> str:
    """One line per spiking layer: its synapse, neuron type, parameter count and k (a text table)."""
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise TypeError(f"layer_table: expects a SpikingNet (klif_edu.models.build_model), got {type(model).__name__}")
    lines = [f"{'layer':<7} {'synapse':<44} {'neuron':<6} {'weights':>10}  k"]
    for name, block in blocks.items():
        parts = [m for m in block.synapse.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        syn = ", ".join(
            f"conv {m.in_channels}->{m.out_channels} {m.kernel_size[0]}x{m.kernel_size[1]}" if isinstance(m, nn.Conv2d)
            else f"linear {m.in_features}->{m.out_features}" for m in parts)
        if getattr(block, "pool", None) is not None:
            syn += ", max-pool 2x2"
        if getattr(block, "dropout", None) is not None:
            syn = f"dropout {block.dropout.p:g}, " + syn
        weights = sum(p.numel() for p in block.synapse.parameters())
        neuron = block.neuron
        k = f"{float(neuron.k.detach()):.3f}" if isinstance(neuron, KLIF) else "-"
        lines.append(f"{name:<7} {syn:<44} {type(neuron).__name__:<6} {weights:>10,}  {k}")
    total = sum(p.numel() for p in model.parameters())
    lines.append(f"total parameters: {total:,} (k counts one per KLIF layer)")
    return "\n".join(lines)
