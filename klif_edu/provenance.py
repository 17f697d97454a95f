"""What a run needs to be reproduced number for number: the software and the CPU/GPU kernels it ran on.

    run_environment()        # {"torch": "2.14.1", "numpy": ..., "threads": 2, "cpu_capability": "AVX2", ...}
    same_environment(a, b)   # the fields that differ between two runs' environments ([] = the same)

The same seed on the same machine gives the same accuracy, bit for bit. Elsewhere the
floating-point sums can be ordered differently: the number of threads (how a convolution or
a reduction is split), the CPU kernels torch dispatches to (``ATEN_CPU_CAPABILITY``:
default / AVX2 / AVX512 vector widths), oneDNN (mkldnn) convolutions, whose kernels follow the
CPU's instruction set (``ONEDNN_MAX_CPU_ISA`` caps it) and cache sizes, the library versions,
the device. Rounding differences grow over training, so a seed's accuracy moves by a few
tenths of a point while the paired comparison between neurons stays (see the README,
"What a re-run reproduces"). ``training.train`` records this dict in ``metrics.json``.
"""
from __future__ import annotations

import os
import platform
from typing import Any

import torch

__all__ = ["run_environment", "same_environment", "REPRODUCING_FIELDS"]

#: The fields that must match for a seed's numbers to be expected bit for bit.
REPRODUCING_FIELDS = ("torch", "numpy", "threads", "cpu_capability", "mkldnn", "deterministic", "device",
                      "cpu_model", "cuda", "cudnn")


def _cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_environment(device: str | torch.device | None = None) -> dict[str, Any]:
    """Versions, threads, CPU kernels, determinism flags and device of this process (JSON-ready)."""
    try:
        import numpy

        numpy_version = numpy.__version__
    except ImportError:  # numpy is optional for torch
        numpy_version = None
    cuda = torch.cuda.is_available()
    return {
        "torch": str(torch.__version__),
        "numpy": numpy_version,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY"),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "onednn_max_cpu_isa_env": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "mkldnn": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "mkl": torch.backends.mkl.is_available(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "cudnn": {"version": torch.backends.cudnn.version(), "deterministic": torch.backends.cudnn.deterministic,
                  "benchmark": torch.backends.cudnn.benchmark} if cuda else None,
        "cuda": torch.version.cuda if cuda else None,
        "device": None if device is None else str(device),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }


def same_environment(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[str]:
    """The ``REPRODUCING_FIELDS`` in which two recorded environments differ ("a -> b" each); [] if none.

    A run without a record (written before it was kept) differs in "environment".
    """
    if not a or not b:
        return ["environment (not recorded)"]
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in REPRODUCING_FIELDS if a.get(k) != b.get(k)]
