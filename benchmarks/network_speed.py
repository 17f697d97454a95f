"""Whole-network training speed and memory: our KLIF (eager, compiled) against SpikingJelly's KLIFNode.

    python benchmarks/network_speed.py                          # CPU: paper Fashion-MNIST and CIFAR-10 nets
    python benchmarks/network_speed.py --device cuda            # + peak GPU memory, mixed precision
    python benchmarks/network_speed.py --datasets fashion-mnist --rounds 5

The same paper network (``klif_edu.models``, PLIF's, detach_reset=True) three times: spiking
layers of our ``KLIF`` with ``backend="eager"`` and ``"compiled"``, and of SpikingJelly's
``KLIFNode`` (multi-step, torch backend, same tau, threshold, reset and Sigmoid(4) surrogate).
Synthetic images, the training loop's own ``train_step`` (forward, MSE on rates, backward,
Adam). After warm-up steps the three run round by round (interleaved, so all see the same
load) and the median round counts. Memory: the bytes of activations the forward pass keeps for
the backward pass (autograd's saved tensors but not the weights, each storage once), on every device; on CUDA also
the peak allocated memory of a training step. Not a test: figures depend on the machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from klif_edu.data import DATASETS  # noqa: E402
from klif_edu.device import select_device  # noqa: E402
from klif_edu.models import build_model  # noqa: E402
from klif_edu.steps import train_step  # noqa: E402
from klif_edu.surrogate import Sigmoid  # noqa: E402

VARIANTS = ("ours-eager", "ours-compiled", "spikingjelly")


class SpikingJellyKLIF(nn.Module):
    """SpikingJelly's KLIFNode over [T, N, ...], starting from rest at every call (as our KLIF)."""

    def __init__(self, like: nn.Module) -> None:
        super().__init__()
        from spikingjelly.activation_based import neuron, surrogate

        self.node = neuron.KLIFNode(
            scale_reset=False, tau=like.tau, decay_input=like.decay_input, v_threshold=like.v_threshold,
            v_reset=like.v_reset, surrogate_function=surrogate.Sigmoid(alpha=like.surrogate.alpha),
            detach_reset=like.detach_reset, step_mode="m",  # KLIFNode has only the torch backend
        )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self.node.reset()
        return self.node(x_seq)


def make(dataset: str, variant: str, device: torch.device, time_steps: int | None) -> nn.Module:
    """The paper network for ``dataset`` with the spiking layers of ``variant``."""
    torch.manual_seed(0)
    backend = "compiled" if variant == "ours-compiled" else "eager"
    model = build_model(DATASETS[dataset], "klif", "paper", time_steps, backend=backend,
                        surrogate=Sigmoid(alpha=4.0))
    if variant == "spikingjelly":
        for block in model.blocks.values():
            block.neuron = SpikingJellyKLIF(block.neuron)
    return model.to(device)


def saved_bytes(model: nn.Module, x: torch.Tensor, amp: bool, device: torch.device) -> int:
    """Bytes of activations autograd keeps from one forward pass for the backward pass (each storage once)."""
    from klif_edu.device import autocast

    storages: dict[int, int] = {}
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s.data_ptr() not in weights:  # the weights are kept anyway; count activations only
            storages[s.data_ptr()] = max(storages.get(s.data_ptr(), 0), s.nbytes())
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast(device, amp):
        model(x)
    return sum(storages.values())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(dataset: str, device: torch.device, batch: int, steps: int, warmup: int, rounds: int, amp: bool,
            time_steps: int | None) -> dict[str, dict[str, float]]:
    """{variant: {"images_per_s", "saved_mb", "peak_mb"}} for the paper network of ``dataset``."""
    spec = DATASETS[dataset]
    x = torch.randn(batch, *spec.input_shape, device=device)
    y = torch.randint(0, spec.num_classes, (batch,), device=device)
    use_amp = amp and device.type == "cuda"
    runs, found = {}, {}
    for variant in VARIANTS:
        model = make(dataset, variant, device, time_steps)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        runs[variant] = (lambda m=model, o=opt, s=scaler: train_step(m, o, s, x, y, "mse", device, use_amp))
        found[variant] = {"saved_mb": saved_bytes(model, x, use_amp, device) / 2**20}
    for variant, step in runs.items():  # warm-up: torch.compile, allocator, oneDNN/cuDNN choices
        for _ in range(warmup):
            step()
        if device.type == "cuda":
            _sync(device)
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
            step()
            _sync(device)
            found[variant]["peak_mb"] = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    seconds: dict[str, list[float]] = {v: [] for v in runs}
    for _ in range(rounds):
        for variant, step in runs.items():
            _sync(device)
            tic = time.perf_counter()
            for _ in range(steps):
                step()
            _sync(device)
            seconds[variant].append(time.perf_counter() - tic)
    for variant, s in seconds.items():
        found[variant]["images_per_s"] = batch * steps / statistics.median(s)
        found[variant]["rounds_s"] = s
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--datasets", nargs="+", default=["fashion-mnist", "cifar10"], choices=["fashion-mnist", "cifar10"])
    p.add_argument("--batch-size", type=int, default=None, help="default: 64 on CUDA; on the CPU 8 (FMNIST), 2 (CIFAR-10)")
    p.add_argument("--time-steps", type=int, default=None, help="default: the paper's T (8)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per round (default: 20 CUDA, 2 CPU)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-amp", action="store_true")
    args = p.parse_args(argv)
    device = select_device(args.device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} CPU threads")
    for dataset in args.datasets:
        cpu_batch = 8 if dataset == "fashion-mnist" else 2
        batch = args.batch_size or (64 if device.type == "cuda" else cpu_batch)
        steps = args.steps or (20 if device.type == "cuda" else 2)
        r = measure(dataset, device, batch, steps, args.warmup, args.rounds, not args.no_amp, args.time_steps)
        print(f"\n{dataset} paper network, batch {batch}, {steps} steps x {args.rounds} rounds "
              f"after {args.warmup} warm-up steps")
        print(f"  {'variant':14} {'img/s':>8} {'saved for backward':>19}" + (f" {'peak step':>10}" if device.type == "cuda" else "")
              + "  rounds (s)")
        for v in VARIANTS:
            row = r[v]
            print(f"  {v:14} {row['images_per_s']:8.2f} {row['saved_mb']:16.1f} MB"
                  + (f" {row['peak_mb']:7.0f} MB" if "peak_mb" in row else "")
                  + "  " + " ".join(f"{s:.2f}" for s in row["rounds_s"]))
        sj = r["spikingjelly"]
        for v in ("ours-eager", "ours-compiled"):
            mem = sj["saved_mb"] / r[v]["saved_mb"]
            peak = f", peak memory x{sj['peak_mb'] / r[v]['peak_mb']:.2f} less" if "peak_mb" in r[v] else ""
            print(f"  {v} vs spikingjelly: x{r[v]['images_per_s'] / sj['images_per_s']:.2f} images/s, "
                  f"saved-for-backward memory x{mem:.2f} less{peak}")
        print(f"  compiled/eager: x{r['ours-compiled']['images_per_s'] / r['ours-eager']['images_per_s']:.2f} images/s",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
