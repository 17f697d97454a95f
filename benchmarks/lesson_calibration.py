"""Calibrate the doctor's lesson-time estimate: a real lesson run against the probe's prediction, back to back.

    python benchmarks/lesson_calibration.py [fashion-mnist embedded-fashion-mnist ...]

For each dataset: the doctor's probe (klif_edu.readiness) predicts the lesson pair's training time
(KLIF + LIF, training images + test passes), then `compare_neurons(dataset, mode="lesson")` really
trains the pair into a temporary runs folder, then the probe runs again (the machine may be shared:
the mean of the two probes is used). Prints and writes OUT/lesson_calibration.json with the ratio
real / predicted, which goes into klif_edu/readiness.py as CALIBRATION. CPU only.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(os.environ.get("KLIF_EDU_BENCH_OUT", tempfile.gettempdir())) / "klif-lesson-calibration"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def calibrate(dataset: str) -> dict:
    """Probe, real lesson pair, probe: the ratio real / predicted for ``dataset`` on the CPU."""
    import torch

    from klif_edu.experiment import compare_neurons
    from klif_edu.modes import DATASET_SIZES, plan_run
    from klif_edu.readiness import _probe

    device = torch.device("cpu")
    plan = plan_run(dataset, device="cpu", mode="lesson", out=OUT / f"runs-{dataset}")
    test = DATASET_SIZES[plan.train_dataset][1]
    test = test if plan.limit_test is None else min(test, plan.limit_test)
    images = plan.epochs * plan.train_size + (plan.epochs + 1) * test / 3.0
    load_before = _load()
    before = _probe(plan, device, quick=False)
    tic = time.perf_counter()
    cmp = compare_neurons(dataset, mode="lesson", device="cpu", out=plan.out, verbose=False, progress=False)
    real = time.perf_counter() - tic
    after = _probe(plan, device, quick=False)
    per_image = (before + after) / 2
    predicted = 2 * images * per_image
    return {"dataset": dataset, "trained_on": plan.train_dataset, "images_per_neuron": images,
            "probe_s_per_image": [before, after], "predicted_s": round(predicted, 1), "real_s": round(real, 1),
            "ratio": round(real / predicted, 3), "load_before": load_before, "load_after": _load(),
            "accuracy": {n: r.metrics["test_accuracy"] for n, r in cmp.results.items()},
            "threads": torch.get_num_threads()}


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names or ["embedded-fashion-mnist", "fashion-mnist"]:
        rows.append(calibrate(name))
        print(json.dumps(rows[-1]), flush=True)
    (OUT / "lesson_calibration.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
