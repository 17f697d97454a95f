"""Speed and memory of one spiking layer, forward + backward, against SpikingJelly and snnTorch.

    python benchmarks/neuron_speed.py                  # [8, 32, 128, 14, 14] on the CPU, 2 threads
    python benchmarks/neuron_speed.py --quick          # tiny shape, few rounds: does it run?
    python benchmarks/neuron_speed.py --device cuda --rounds 20
    python benchmarks/neuron_speed.py --ours --warm-cache   # KLIF, LIF, PLIF only: the cost ratios
    python benchmarks/neuron_speed.py --ours-compiled --warm-cache --rounds 31   # compiled only, repeatable

Every contender runs the same input X [T, N, C, H, W] (requires grad) and the same fixed
upstream gradient dL/dS (a random tensor, as a following layer would send). Contenders are
warmed up first (SpikingJelly and torch.compile need a few calls), then timed round-robin,
one call each per round in a rotating order, so that a busy machine slows all of them
alike; the table gives medians, and the ratios are medians of per-round ratios.

Bytes saved for backward per neuron-step: every tensor that autograd packs during the
forward pass (torch.autograd.graph.saved_tensors_hooks), counted once per storage, divided
by T*N*C*H*W. One-element tensors (the scalar k) are listed apart.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Callable

import torch

TAU, V_TH, ALPHA = 2.0, 1.0, 4.0


@dataclass
class Contender:
    name: str
    module: torch.nn.Module
    run: Callable[[torch.Tensor], torch.Tensor]  # X -> S (forward only)
    reset: Callable[[], None] = lambda: None
    note: str = ""
    times: list[float] = field(default_factory=list)
    first_call_s: float | None = None
    bytes_per_step: float | None = None
    scalar_bytes: int = 0
    fell_back: bool = False  # the compiled backend could not compile and ran eager


def build_contenders(device: torch.device, with_compiled: bool, only_ours: bool | str = False,
                     ) -> tuple[list[Contender], list[str]]:
    """Every contender that is installed; the notes say which ones are not and why."""
    contenders, notes = [], []
    try:
        from klif_edu import KLIF, LIF, PLIF
        from klif_edu import surrogate as ksg

        backends = ["eager", "compiled"] if with_compiled else ["eager"]
        if only_ours == "compiled" and with_compiled:
            backends = ["compiled"]
        for backend in backends:
            for cls, name in ((KLIF, "KLIF"), (LIF, "LIF"), (PLIF, "PLIF")):
                m = cls(tau=TAU, v_threshold=V_TH, v_reset=0.0, surrogate=ksg.Sigmoid(ALPHA), backend=backend)
                m = m.to(device)
                contenders.append(Contender(f"klif-edu {name} ({backend})", m, m))
    except ImportError as err:
        notes.append(f"klif-edu not importable ({err}): skipped")

    if only_ours:
        return contenders, notes + ["--ours: SpikingJelly and snnTorch left out"]
    try:
        from spikingjelly.activation_based import neuron, surrogate as sjsg

        for cls_name, name in (("KLIFNode", "KLIFNode"), ("LIFNode", "LIFNode")):
            cls = getattr(neuron, cls_name)
            kwargs = dict(tau=TAU, v_threshold=V_TH, v_reset=0.0, surrogate_function=sjsg.Sigmoid(alpha=ALPHA),
                          step_mode="m")
            note = ""
            try:  # SpikingJelly <= 0.0.0.0.15 chooses a backend; 2.x picks the torch path on the CPU itself
                m = cls(backend="torch", **kwargs)
                note = "backend='torch'"
            except TypeError:
                m = cls(**kwargs)
            m = m.to(device)
            contenders.append(Contender(f"SpikingJelly {name}", m, m, m.reset, note))
    except Exception as err:  # not installed, or an API this script does not know
        notes.append(f"SpikingJelly unusable ({type(err).__name__}: {err}): skipped")

    try:
        import snntorch as snn
        from snntorch import surrogate as snsg

        leaky = snn.Leaky(
            beta=1.0 - 1.0 / TAU, threshold=V_TH, reset_mechanism="zero", spike_grad=snsg.sigmoid(slope=ALPHA)
        ).to(device)

        def leaky_run(x: torch.Tensor, leaky=leaky) -> torch.Tensor:
            mem = leaky.init_leaky()
            spikes = []
            for x_t in x:  # the usual snnTorch way: a Python loop over time steps
                spk, mem = leaky(x_t, mem)
                spikes.append(spk)
            return torch.stack(spikes)

        contenders.append(Contender("snnTorch Leaky", leaky, leaky_run, note="Python time loop"))
    except Exception as err:
        notes.append(f"snnTorch unusable ({type(err).__name__}: {err}): skipped")
    return contenders, notes


class Timer:
    """Wall time on the CPU; CUDA events (after a synchronize) on the GPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def __call__(self, fn: Callable[[], None]) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


def fwd_bwd(c: Contender, x: torch.Tensor, grad: torch.Tensor) -> None:
    x.grad = None
    for p in c.module.parameters():
        p.grad = None
    s = c.run(x)
    s.backward(grad)
    c.reset()


def saved_bytes(c: Contender, x: torch.Tensor) -> tuple[float, int]:
    """(bytes per neuron-step of tensors held for backward, bytes of one-element tensors).

    Counts what autograd packs during the forward pass and still holds when it ends (a
    tensor packed by a part of the graph that was dropped is freed again), once per storage.
    """
    packed: list[weakref.ref] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        packed.append(weakref.ref(t))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        s = c.run(x)
    gc.collect()
    seen: dict[tuple, tuple[int, int]] = {}  # storage -> (bytes, elements) of its largest saved view
    for ref in packed:
        t = ref()
        if t is not None:
            key = (t.device, t.untyped_storage().data_ptr())
            seen[key] = max(seen.get(key, (0, 0)), (t.numel() * t.element_size(), t.numel()))
    c.reset()
    del s
    big = sum(nbytes for nbytes, numel in seen.values() if numel > 1)
    scalars = sum(nbytes for nbytes, numel in seen.values() if numel <= 1)
    return big / x.numel(), scalars


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 4:
        return min(values), statistics.median(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def paired_ratio(a: Contender, b: Contender) -> float:
    """Median over rounds of time(a) / time(b) measured in the same round."""
    return statistics.median(ta / tb for ta, tb in zip(a.times, b.times))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--shape", default="8,32,128,14,14", help="T,N,C,H,W (any [T, N, ...] shape)")
    p.add_argument("--rounds", type=int, default=15, help="timed rounds (one call per contender each)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls per contender before timing")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads on the CPU")
    p.add_argument("--quick", action="store_true", help="tiny shape, 3 rounds: check that the script runs")
    p.add_argument("--no-compiled", action="store_true", help="leave out the torch.compile backend")
    p.add_argument("--ours", action="store_true", help="only klif-edu's neurons (KLIF, LIF, PLIF): the cost ratios")
    p.add_argument("--ours-compiled", action="store_true",
                   help="only klif-edu's compiled neurons: the KLIF/LIF and PLIF/LIF targets, fastest to repeat")
    p.add_argument("--warm-cache", action="store_true",
                   help="let torch.compile reuse its on-disk cache (default: a fresh one, so the first call "
                        "shows the cold compile time a new user sees)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not args.warm_cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache = tempfile.mkdtemp(prefix="klif-edu-bench-inductor-")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)

    if args.quick:
        args.shape, args.rounds, args.warmup = "4,2,3,4,4", 3, 1
    shape = tuple(int(s) for s in args.shape.split(","))
    if len(shape) < 2:
        p.error("--shape needs at least T,N")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available here; run with --device cpu", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x = (torch.randn(shape, device=device) + 1.0).requires_grad_(True)  # firing rate ~ 0.2-0.3
    grad = torch.randn(shape, device=device)
    timer = Timer(device)
    only = "compiled" if args.ours_compiled else args.ours
    contenders, notes = build_contenders(device, not args.no_compiled, only)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"input {list(shape)} on {device}, {args.threads} CPU threads, torch {torch.__version__}, "
          f"load average {load:.2f}, inductor cache {'warm' if args.warm_cache else 'cold'}")
    for n in notes:
        print("  note:", n)

    # warm-up; the first call of the compiled backend is its compile time
    for c in list(contenders):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                c.first_call_s = timer(lambda c=c: fwd_bwd(c, x, grad))
                for _ in range(max(args.warmup - 1, 0)):
                    fwd_bwd(c, x, grad)
            except Exception as err:  # e.g. a backend this device lacks
                print(f"  note: {c.name} failed ({type(err).__name__}: {err}): skipped")
                contenders.remove(c)
                continue
        fallback = [w for w in caught
                    if issubclass(w.category, RuntimeWarning) and "torch.compile" in str(w.message)]
        if fallback:
            c.fell_back = True
            c.note = (c.note + "; " if c.note else "") + "torch.compile unusable: ran eager"
        c.bytes_per_step, c.scalar_bytes = saved_bytes(c, x)

    for r in range(args.rounds):  # round-robin, rotating the order every round
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            c.times.append(timer(lambda c=c: fwd_bwd(c, x, grad)))

    by_name = {c.name: c for c in contenders}
    ref = by_name.get("SpikingJelly KLIFNode")
    print(f"\nforward + backward, {args.rounds} interleaved rounds (ms: median [quartiles])")
    header = (f"{'contender':30s} {'median':>8s} {'quartiles':>17s} {'vs SJ KLIF':>10s} {'bytes/step':>10s} "
              f"{'first call':>11s}  note")
    print(header)
    print("-" * len(header))
    for c in contenders:
        q1, med, q3 = quantiles(c.times)
        speedup = f"{paired_ratio(ref, c):9.2f}x" if ref is not None else "        -"
        scal = f" +{c.scalar_bytes}B" if c.scalar_bytes else ""
        print(f"{c.name:30s} {med * 1e3:8.2f} [{q1 * 1e3:7.2f},{q3 * 1e3:7.2f}] {speedup:>10s} "
              f"{c.bytes_per_step:6.2f}{scal:5s} {c.first_call_s:10.2f}s  {c.note}")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end {load:.2f} (on a busy machine compare ratios, not times)")
    print("\ntargets (ratios are medians of per-round ratios)")
    ok = True

    def verdict(name: str, passed: bool, text: str) -> None:
        nonlocal ok
        ok &= passed
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {text}")

    ck, cl = by_name.get("klif-edu KLIF (compiled)"), by_name.get("klif-edu LIF (compiled)")
    cp = by_name.get("klif-edu PLIF (compiled)")
    if any(c is not None and c.fell_back for c in (ck, cl, cp)):
        ck = cl = cp = None  # nothing compiled to judge
    ek, el = by_name.get("klif-edu KLIF (eager)"), by_name.get("klif-edu LIF (eager)")
    if ref is not None and ck is not None:
        r = paired_ratio(ref, ck)
        verdict("compiled KLIF vs SpikingJelly KLIFNode", r >= 2.0, f"{r:.2f}x faster (target >= 2x, aim 4x)")
    else:
        print("  [SKIP] compiled KLIF vs SpikingJelly KLIFNode: one of them did not run (or did not compile)")
    if ref is not None and ek is not None:
        print(f"  [info] eager KLIF vs SpikingJelly KLIFNode: {paired_ratio(ref, ek):.2f}x faster")
    if ck is not None and cl is not None:
        r = paired_ratio(ck, cl)
        verdict("KLIF / LIF time, compiled", r <= 1.15, f"{r:.2f} (target <= 1.15)")
    else:
        print("  [SKIP] KLIF / LIF time, compiled: the compiled backend did not run")
    if cp is not None and cl is not None:
        r = paired_ratio(cp, cl)
        verdict("PLIF / LIF time, compiled", r <= 1.15, f"{r:.2f} (target <= 1.15)")
    if ek is not None and el is not None:
        print(f"  [info] KLIF / LIF time, eager: {paired_ratio(ek, el):.2f} (the target applies to compiled)")
    for c in (ek, ck):
        if c is not None:
            verdict(f"bytes saved per neuron-step, {c.name}", c.bytes_per_step <= 4.0,
                    f"{c.bytes_per_step:.2f} (+ scalar k, {c.scalar_bytes} B) (target <= 4)")
    if ek is not None and ref is not None:
        same = torch.equal(ek.run(x.detach()), ref.run(x.detach()))
        ref.reset()
        print(f"  [info] klif-edu KLIF spikes identical to SpikingJelly KLIFNode's on this input: {same}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
