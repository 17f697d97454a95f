"""Time the installed route from scratch: pip install of the wheel to the first figure of notebook 01.

    python benchmarks/wheel_to_first_figure.py [VENV]     # default VENV: <tmp>/klif-edu-bench-venv (made, then removed)

Builds the wheel, creates a fresh virtual environment with torch (timed apart: TORCH_SPEC, from local
disk here), then times `pip install WHEEL` (its other dependencies included), `klif-edu notebooks DIR`,
and notebook 01 in lesson mode (not test mode) from DIR until its first figure. Prints the wheel's size
and the times; the machine may be shared, so it prints the load average too.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import wheel_venv  # noqa: E402


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def main(argv: list[str]) -> int:
    """Build, install fresh, copy, run notebook 01; print the figures."""
    venv = Path(argv[0]) if argv else Path(tempfile.gettempdir()) / "klif-edu-bench-venv"
    work = Path(tempfile.mkdtemp(prefix="klif-edu-bench-"))
    print(f"load average before: {_load()}")
    wheel = wheel_venv.build_wheel(work / "dist")
    print(f"wheel {wheel.name}: {wheel.stat().st_size:,} bytes ({wheel.stat().st_size / 2**20:.2f} MiB)")
    shutil.rmtree(venv, ignore_errors=True)
    py = wheel_venv.venv_python(venv)
    t = time.perf_counter()
    wheel_venv._run([sys.executable, "-m", "venv", venv])
    wheel_venv._run([py, "-m", "pip", "install", "-q", *wheel_venv.TORCH_SPEC])
    print(f"venv + {' '.join(wheel_venv.TORCH_SPEC)}: {time.perf_counter() - t:.1f} s")
    wheel_venv._run([py, "-m", "pip", "install", "-q", *wheel_venv.RUNNER_EXTRAS])  # the runner's, not timed

    t0, wall0 = time.perf_counter(), time.time()
    wheel_venv._run([py, "-m", "pip", "install", "-q", wheel])
    t_pip = time.perf_counter() - t0
    env = wheel_venv.clean_env(work, quick=False)
    dest = work / "student" / "lessons"
    dest.parent.mkdir(parents=True)
    subprocess.run([str(wheel_venv.venv_script(venv, "klif-edu")), "notebooks", str(dest)], cwd=dest.parent,
                   env=env, check=True, capture_output=True)
    t_copy = time.perf_counter() - t0 - t_pip
    result = wheel_venv.run_notebooks(venv, dest, ["01_lif_neuron.ipynb"], env)["01_lif_neuron.ipynb"]
    first = result["first_figure_s"]
    total = result["first_figure_at"] - wall0 if first is not None else None
    print(json.dumps({"pip_install_wheel_s": round(t_pip, 1), "klif_edu_notebooks_s": round(t_copy, 1),
                      "kernel_start_to_first_figure_s": first and round(first, 1),
                      "pip_install_to_first_figure_s": total and round(total, 1),
                      "notebook_01_lesson_mode_s": round(result["seconds"], 1), "error": result["error"],
                      "setup_cell": result["setup_output"].strip()}, indent=1))
    print(f"load average after: {_load()}")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(venv, ignore_errors=True)  # about 2 GB
    return 0 if result["error"] is None and first is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
