"""Which settings change a seed's accuracy? One small training run per setting, same seed, same data.

    python benchmarks/reproducibility.py                    # fashion-mnist, 2000 images, 1 epoch, seed 0
    python benchmarks/reproducibility.py --limit-train 500 --dataset embedded-fashion-mnist

Each setting runs `klif-edu train` in a fresh process (thread counts and ATEN_CPU_CAPABILITY are
read when torch starts) and prints its test accuracy, loss and recorded environment
(``klif_edu.provenance.run_environment``). A setting whose numbers equal the baseline's to the
last digit does not matter here; one that moves them is a source of cross-machine differences.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS = {  # name: (environment variables, python statements run before training)
    "baseline (2 threads)": ({}, ""),
    "baseline again": ({}, ""),
    "1 thread": ({"OMP_NUM_THREADS": "1"}, "torch.set_num_threads(1)"),
    "ATEN_CPU_CAPABILITY=avx2": ({"ATEN_CPU_CAPABILITY": "avx2"}, ""),
    "ATEN_CPU_CAPABILITY=default": ({"ATEN_CPU_CAPABILITY": "default"}, ""),
    "oneDNN (mkldnn) off": ({}, "torch.backends.mkldnn.enabled = False"),
    "ONEDNN_MAX_CPU_ISA=AVX2": ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, ""),
}

_RUN = """
import sys, torch
{pre}
from klif_edu.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(name: str, env: dict[str, str], pre: str, args: argparse.Namespace, out: Path) -> dict:
    cmd = [sys.executable, "-c", _RUN.format(pre=pre), "train", "--dataset", args.dataset, "--neuron", args.neuron,
           "--epochs", "1", "--limit-train", str(args.limit_train), "--seed", str(args.seed), "--out", str(out),
           "--quiet", "--device", "cpu"]
    subprocess.run(cmd, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    m = json.loads((out / "metrics.json").read_text())
    return {"setting": name, "test_accuracy": m["test_accuracy"], "test_loss": m["test_loss"],
            "threads": m["environment"]["threads"], "cpu_capability": m["environment"]["cpu_capability"],
            "mkldnn": m["environment"]["mkldnn"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--neuron", default="klif")
    p.add_argument("--limit-train", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, help="comma-separated setting names (default: all)")
    args = p.parse_args(argv)
    names = list(SETTINGS) if not args.only else [n.strip() for n in args.only.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="klif-repro-") as tmp:
        for i, name in enumerate(names):
            env, pre = SETTINGS[name]
            rows.append(run(name, env, pre, args, Path(tmp) / f"run{i}"))
            r = rows[-1]
            same = "same as baseline" if (r["test_accuracy"], r["test_loss"]) == (
                rows[0]["test_accuracy"], rows[0]["test_loss"]) else "DIFFERS"
            print(f"{name:32s} acc {100 * r['test_accuracy']:.2f} %  loss {r['test_loss']:.10f}  threads "
                  f"{r['threads']}  cpu {r['cpu_capability']:8s} mkldnn {r['mkldnn']}  {same}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
