"""How big a GPU lesson's batch can be: measured activation memory per sample against free GPU memory.

    budget = gpu_batch("dvs-gesture", "paper", 20, torch.device("cuda"), full_batch=16)
    print(budget)   # activations 812 MiB per sample (measured), 70.1 GiB free: batch 16 ...

The activations a training step keeps for its backward pass grow with the batch; weights, Adam's
state and cuDNN's workspaces do not. ``activation_bytes`` measures the first by a forward pass that
counts every tensor saved for backward (parameters excluded), at two batch sizes, so that the
difference is what one more sample costs. ``batch_for_memory`` is the arithmetic: the largest
batch whose activations fill at most ``GPU_MEMORY_SHARE`` of the free memory, never above the
full run's batch, at least 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["GPU_MEMORY_SHARE", "MemoryBudget", "batch_for_memory", "activation_bytes", "per_sample_bytes",
           "gpu_batch"]

#: Share of the free GPU memory a lesson's activations may fill; the rest is for the weights, Adam's
#: state, cuDNN's workspaces, the allocator's slack (and a second notebook on the same GPU).
GPU_MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class MemoryBudget:
    """A batch chosen from memory: bytes per sample (measured), bytes free, the batch and its cap."""

    per_sample: int
    free: int
    batch: int
    full_batch: int
    share: float = GPU_MEMORY_SHARE

    @property
    def fits(self) -> bool:
        """Whether even this batch's activations fit in the share of free memory."""
        return self.batch * self.per_sample <= self.free * self.share

    def __str__(self) -> str:
        line = (f"activations {self.per_sample / 2**20:,.0f} MiB per sample (measured), "
                f"{self.free / 2**30:.1f} GiB free: batch {self.batch} "
                f"(about {self.batch * self.per_sample / 2**30:.1f} GiB; at most {self.share:.0%} of the free "
                f"memory and at most the full run's batch {self.full_batch})")
        if not self.fits:
            line += "; even one sample does not fit: close other notebooks on this GPU or use the CPU"
        return line


def batch_for_memory(per_sample: float, free: float, full_batch: int, share: float = GPU_MEMORY_SHARE) -> int:
    """The largest batch with ``batch * per_sample <= share * free``, clamped to [1, full_batch]."""
    if not per_sample > 0 or free < 0 or full_batch < 1 or not 0 < share <= 1:
        raise ValueError(f"batch_for_memory: need per_sample > 0, free >= 0, full_batch >= 1, 0 < share <= 1; "
                         f"got {per_sample}, {free}, {full_batch}, {share}")
    return max(1, min(int(full_batch), math.floor(free * share / per_sample)))


def activation_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Bytes of the tensors a forward pass of ``x`` saves for backward (the parameters not counted)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = max(saved.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(saved.values())


def per_sample_bytes(dataset: str, arch: str, time_steps: int, device: torch.device) -> int:
    """Activation bytes one more sample costs in a training step of ``arch`` on ``device`` (measured)."""
    from .data import get_spec
    from .device import autocast
    from .models import build_model

    spec = get_spec(dataset)
    torch.manual_seed(0)
    model = build_model(spec, "klif", arch, time_steps=time_steps).to(device).train()
    shape = spec.input_shape if spec.kind == "static" else (time_steps, *spec.input_shape)
    sizes = []
    with autocast(device, device.type == "cuda"):  # as training runs on CUDA: float16 activations
        for n in (2, 4):
            sizes.append(activation_bytes(model, torch.rand((n, *shape), device=device)))
    return max(1, math.ceil((sizes[1] - sizes[0]) / 2))


def gpu_batch(dataset: str, arch: str, time_steps: int, device: torch.device, full_batch: int,
              free: int | None = None, per_sample: int | None = None) -> MemoryBudget:
    """The lesson batch for ``dataset`` on GPU ``device`` (``free``/``per_sample``: measured when None)."""
    if free is None:
        free = torch.cuda.mem_get_info(device)[0]
    if per_sample is None:
        per_sample = per_sample_bytes(dataset, arch, time_steps, device)
    return MemoryBudget(per_sample, free, batch_for_memory(per_sample, free, full_batch), full_batch)
