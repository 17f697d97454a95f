"""Where training runs: device choice, mixed precision, and the torchrun/DDP set-up.

    device, why = explain_device("auto")   # CUDA, then Apple MPS, then the CPU
    select_device("cpu")                   # -> torch.device("cpu")

``KLIF_EDU_DEVICE`` (cpu, cuda, cuda:1, mps) replaces ``"auto"``; an explicit request wins.
Under ``torchrun`` (env RANK and WORLD_SIZE set, WORLD_SIZE > 1) ``init_distributed`` starts
a process group (NCCL on CUDA, Gloo on the CPU) and each rank uses cuda:LOCAL_RANK.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "DEVICES",
    "DeviceUnavailable",
    "select_device",
    "explain_device",
    "autocast",
    "DistInfo",
    "init_distributed",
    "rank_device",
    "close_distributed",
]

DEVICES = ("auto", "cpu", "cuda", "mps")
ENV = "KLIF_EDU_DEVICE"


class DeviceUnavailable(RuntimeError):
    """The requested device does not exist on this machine (the message says what to use)."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _check(request: str) -> torch.device:
    kind = request.split(":", 1)[0]
    if kind not in DEVICES or kind == "auto" or (":" in request and kind != "cuda"):
        raise ValueError(f"unknown device {request!r}; choose one of: {', '.join(DEVICES)} (or cuda:N)")
    if kind == "cuda":
        if not torch.cuda.is_available():
            built = "built without CUDA" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise DeviceUnavailable(
                f"device {request!r} was asked for, but no CUDA GPU is usable here (this torch is {built}); "
                "use --device auto or --device cpu"
            )
        dev = torch.device(request)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceUnavailable(
                f"device {request!r} was asked for, but only {torch.cuda.device_count()} GPU(s) exist; "
                f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}"
            )
        return dev
    if kind == "mps" and not _mps_available():
        raise DeviceUnavailable("device 'mps' was asked for, but Apple's MPS is not available here; use --device cpu")
    return torch.device(request)


def explain_device(request: str = "auto") -> tuple[torch.device, str]:
    """(device, a short reason) for a request: auto, cpu, cuda, cuda:N or mps."""
    if not isinstance(request, str):
        raise TypeError(f"device must be a string such as 'auto' or 'cpu', got {type(request).__name__}")
    request = request.strip().lower()
    if request == "auto":
        env = os.environ.get(ENV, "").strip().lower()
        if env and env != "auto":
            return _check(env), f"{ENV}={env}"
        if torch.cuda.is_available():
            return torch.device("cuda"), f"auto: CUDA GPU found ({torch.cuda.get_device_name(0)})"
        if _mps_available():
            return torch.device("mps"), "auto: Apple MPS found"
        return torch.device("cpu"), "auto: no GPU found"
    return _check(request), "asked for"


def select_device(request: str = "auto") -> torch.device:
    """The torch.device for a request (auto: CUDA, then MPS, then CPU; env KLIF_EDU_DEVICE replaces auto)."""
    return explain_device(request)[0]


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """Mixed precision (float16 autocast) on CUDA when enabled; a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@dataclass(frozen=True)
class DistInfo:
    """This process's place in a (possibly one-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    started_here: bool = False  # we created the process group, so we close it

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def rank_device(device_request: str, local_rank: int) -> torch.device:
    """The device of the rank with ``local_rank`` under torchrun: cuda:LOCAL_RANK on CUDA (made current).

    Under torchrun every rank must drive its own GPU, so an explicit ``cuda:N`` cannot hold for
    all ranks: the index is replaced by the local rank (with a warning); choose which GPUs a
    job uses with ``CUDA_VISIBLE_DEVICES``. Other devices (cpu, mps) are returned as asked.
    """
    device = select_device(device_request)
    if device.type != "cuda":
        return device
    if device.index is not None and device.index != local_rank:
        warnings.warn(
            f"klif-edu: under torchrun each rank uses the GPU of its local rank; {device_request!r} is read "
            f"as 'cuda' (this rank: cuda:{local_rank}). Choose the GPUs with CUDA_VISIBLE_DEVICES.",
            RuntimeWarning,
            stacklevel=2,
        )
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise DeviceUnavailable(
            f"local rank {local_rank} needs GPU cuda:{local_rank}, but only {count} GPU(s) are visible; "
            "start at most one process per GPU (torchrun --nproc-per-node)"
        )
    device = torch.device("cuda", local_rank)
    torch.cuda.set_device(device)  # NCCL and every bare .cuda() of this process go to this GPU
    return device


def init_distributed(device_request: str = "auto") -> tuple[DistInfo, torch.device]:
    """Start DDP when launched by torchrun (RANK/WORLD_SIZE set); otherwise a one-process run."""
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", rank))
        return DistInfo(rank, world, local, started_here=False), rank_device(device_request, local)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if "RANK" not in os.environ or world <= 1:
        return DistInfo(), select_device(device_request)
    if not dist.is_available():
        raise DeviceUnavailable("WORLD_SIZE > 1 but this torch has no torch.distributed support")
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    device = rank_device(device_request, local)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    return DistInfo(rank, world, local, started_here=True), device


def close_distributed(info: DistInfo) -> None:
    """Tear down the process group if ``init_distributed`` created it."""
    if info.started_here and dist.is_initialized():
        dist.destroy_process_group()
