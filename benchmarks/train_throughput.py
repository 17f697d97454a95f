"""Training throughput (images/s, forward + backward + Adam step) of KLIF vs LIF networks.

    python benchmarks/train_throughput.py                      # CPU: small and paper networks
    python benchmarks/train_throughput.py --backend compiled   # the torch.compile'd neuron loop
    python benchmarks/train_throughput.py --device cuda        # + epoch-time estimates (paper nets)

Synthetic inputs (random images shaped like the dataset's), the training loop's own
``train_step``; a warm-up first, then KLIF and LIF alternate round by round so that both see
the same machine load, and the median round counts. Prints images/s per network and the
KLIF/LIF time ratio. With ``--device cuda`` it also estimates one epoch of the paper's
CIFAR-10 and Fashion-MNIST networks (train-set size / images per second, mixed precision).
Not a test: numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from klif_edu.data import DATASETS  # noqa: E402
from klif_edu.models import build_model  # noqa: E402
from klif_edu.training import select_device, train_step  # noqa: E402

TRAIN_SIZE = {"fashion-mnist": 60_000, "mnist": 60_000, "cifar10": 50_000}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _setup(dataset: str, neuron: str, arch: str, backend: str, batch: int, device: torch.device, amp: bool,
           time_steps: int | None):
    spec = DATASETS[dataset]
    torch.manual_seed(0)
    model = build_model(spec, neuron, arch, time_steps, backend=backend).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp and device.type == "cuda")
    x = torch.randn(batch, *spec.input_shape, device=device)
    y = torch.randint(0, spec.num_classes, (batch,), device=device)
    use_amp = amp and device.type == "cuda"

    def step() -> None:
        train_step(model, opt, scaler, x, y, "mse", device, use_amp)

    return model, step


def _time(step, steps: int, device: torch.device) -> float:
    _sync(device)
    tic = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return time.perf_counter() - tic


def compare(dataset: str, arch: str, backend: str, batch: int, steps: int, warmup: int, rounds: int,
            device: torch.device, amp: bool, time_steps: int | None) -> dict[str, float]:
    """{neuron: images/s} for KLIF and LIF, interleaved rounds, median."""
    runs = {n: _setup(dataset, n, arch, backend, batch, device, amp, time_steps) for n in ("klif", "lif")}
    for _, step in runs.values():
        _time(step, warmup, device)  # warm-up: allocator, oneDNN/cuDNN choices, torch.compile
    seconds: dict[str, list[float]] = {n: [] for n in runs}
    for _ in range(rounds):
        for n, (_, step) in runs.items():
            seconds[n].append(_time(step, steps, device))
    t = runs["klif"][0].time_steps
    print(f"  (T={t}, batch {batch}, {steps} steps x {rounds} rounds after {warmup} warm-up steps)")
    return {n: batch * steps / statistics.median(s) for n, s in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--datasets", nargs="+", default=["fashion-mnist"], choices=sorted(DATASETS))
    p.add_argument("--archs", nargs="+", default=["small", "paper"], choices=["small", "paper"])
    p.add_argument("--backend", nargs="+", default=["eager"], choices=["eager", "compiled"])
    p.add_argument("--batch-size", type=int, default=None, help="default: 64 small, 16 paper on CPU, 64 on CUDA")
    p.add_argument("--time-steps", type=int, default=None, help="default: the network's own T")
    p.add_argument("--steps", type=int, default=None, help="timed steps per round (default: 10 small, 2 paper)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-amp", action="store_true")
    args = p.parse_args(argv)
    device = select_device(args.device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} CPU threads")
    print(f"{'dataset':15} {'arch':6} {'backend':9} {'KLIF img/s':>11} {'LIF img/s':>10} {'KLIF/LIF time':>14}")
    results = []
    for dataset in args.datasets:
        for arch in args.archs:
            for backend in args.backend:
                batch = args.batch_size or (64 if arch == "small" or device.type == "cuda" else 16)
                steps = args.steps or (10 if arch == "small" or device.type == "cuda" else 2)
                ips = compare(dataset, arch, backend, batch, steps, args.warmup, args.rounds, device,
                              not args.no_amp, args.time_steps)
                ratio = ips["lif"] / ips["klif"]
                print(f"{dataset:15} {arch:6} {backend:9} {ips['klif']:11.1f} {ips['lif']:10.1f} {ratio:14.2f}",
                      flush=True)
                results.append((dataset, arch, backend, ips))
    if device.type == "cuda":
        print("\nepoch-time estimates of the paper networks (synthetic data, training only):")
        for dataset in ("cifar10", "fashion-mnist"):
            ips = compare(dataset, "paper", args.backend[0], args.batch_size or 64, args.steps or 20, args.warmup,
                          args.rounds, device, not args.no_amp, args.time_steps)
            for n, v in ips.items():
                print(f"  {dataset:14} {n.upper():5} {v:9.0f} img/s -> {TRAIN_SIZE[dataset] / v:7.1f} s per epoch "
                      f"({TRAIN_SIZE[dataset]} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
