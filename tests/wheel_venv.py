"""The installed route, away from the checkout: build the wheel, install it into its own virtual
environment, run notebooks copied out of it. Used by tests/test_wheel_install.py and
benchmarks/wheel_to_first_figure.py.

The environment is made with `python -m venv` (no system site-packages), so nothing of the checkout or of
the shared .venv can leak in; pip fills it from the package index (here: local disk). Creating it takes
minutes (torch), so it is kept between runs in $KLIF_EDU_WHEEL_VENV (default: <tmp>/klif-edu-wheel-venv)
and made afresh only when the wheel's dependencies change (or ``fresh=True``); a changed wheel is
reinstalled into it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.14.1 torchvision==0.29.1").split()
RUNNER_EXTRAS = ["ipykernel", "nbclient"]  # to execute notebooks in that environment


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    """Run a command away from the checkout: cwd a temporary folder, no PYTHONPATH (unless kw say otherwise)."""
    kw.setdefault("cwd", tempfile.gettempdir())
    kw.setdefault("env", {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))})
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


# What a build reads: copied to a scratch folder so that the build leaves nothing in the checkout.
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "klif_edu", "notebooks", "results",
           "data/embedded", "data/README.md"]


def _no_isolation() -> list[str]:
    """Build with this environment's setuptools when it is recent enough (faster, offline), else pip's own."""
    try:
        import setuptools
    except ImportError:
        return []
    return ["--no-build-isolation"] if int(setuptools.__version__.split(".")[0]) >= 64 else []


def build_wheel(out_dir: Path) -> Path:
    """`pip wheel --no-deps` of the checkout (its sources copied to out_dir/src first); the wheel's path."""
    src = Path(out_dir) / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "_source"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *_no_isolation(), "-q", "-w", out_dir, src])
    (wheel,) = sorted(Path(out_dir).glob("klif_edu-*.whl"))
    return wheel


def wheel_digest(wheel: Path) -> tuple[str, str]:
    """(content digest of the wheel, digest of its dependencies): file names and CRCs, not zip timestamps."""
    with zipfile.ZipFile(wheel) as z:
        content = "\n".join(f"{i.filename} {i.CRC} {i.file_size}" for i in sorted(z.infolist(), key=lambda i: i.filename))
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [ln for ln in z.read(meta).decode().splitlines() if ln.startswith("Requires-Dist:")]
    deps = "\n".join(TORCH_SPEC + RUNNER_EXTRAS + requires)
    return hashlib.sha256(content.encode()).hexdigest(), hashlib.sha256(deps.encode()).hexdigest()


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment (Windows keeps it in Scripts/)."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_script(venv: Path, name: str) -> Path:
    """A console script of a virtual environment (klif-edu)."""
    return venv / ("Scripts" if os.name == "nt" else "bin") / (name + (".exe" if os.name == "nt" else ""))


def install(wheel: Path, venv: Path | None = None, fresh: bool = False) -> dict:
    """The wheel installed with its dependencies in ``venv``; what was done and how long each step took."""
    venv = Path(venv or os.environ.get("KLIF_EDU_WHEEL_VENV") or Path(tempfile.gettempdir()) / "klif-edu-wheel-venv")
    content, deps = wheel_digest(wheel)
    stamp = venv / "klif-edu-test-stamp.json"
    old = json.loads(stamp.read_text()) if stamp.is_file() and not fresh else {}
    steps: dict = {"venv": str(venv)}
    py = venv_python(venv)
    if old.get("deps") != deps or not py.is_file():
        shutil.rmtree(venv, ignore_errors=True)
        t = time.perf_counter()
        _run([sys.executable, "-m", "venv", venv])
        _run([py, "-m", "pip", "install", "-q", *TORCH_SPEC])
        steps["venv_and_torch_s"] = time.perf_counter() - t
        t = time.perf_counter()
        _run([py, "-m", "pip", "install", "-q", wheel])
        steps["pip_install_wheel_s"] = time.perf_counter() - t
        _run([py, "-m", "pip", "install", "-q", *RUNNER_EXTRAS])
        steps["fresh"] = True
    elif old.get("content") != content or not installed_matches(wheel, venv):
        t = time.perf_counter()
        _run([py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheel])
        steps["pip_reinstall_wheel_s"] = time.perf_counter() - t
    stamp.write_text(json.dumps({"deps": deps, "content": content}))
    return steps


def installed_matches(wheel: Path, venv: Path) -> bool:
    """Every klif_edu file of the wheel is installed in the venv, byte for byte (CRC)."""
    sites = list(venv.glob("lib/python*/site-packages")) + list(venv.glob("Lib/site-packages"))
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.filename.startswith("klif_edu/") and not info.is_dir():
                there = [s / info.filename for s in sites if (s / info.filename).is_file()]
                if not there or zlib.crc32(there[0].read_bytes()) != info.CRC:
                    return False
    return True


RUNNER = r'''
import json, sys, time
import nbformat
from nbclient import NotebookClient

results = {}
for name in sys.argv[1:]:
    nb = nbformat.read(name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, klif_edu\nprint('KLIF_EDU_FILE=' + klif_edu.__file__)\nprint('PYTHON=' + sys.executable)"))
    start, first = time.perf_counter(), []

    def on_cell_executed(cell, execute_reply, **_):
        if not first and any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            first.append((time.perf_counter() - start, time.time()))

    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}},
                            on_cell_executed=on_cell_executed)
    error = None
    try:
        client.execute()
    except Exception as err:
        error = f"{type(err).__name__}: {str(err)[-2000:]}"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    lines = dict(ln.split("=", 1) for ln in text.splitlines() if ln.startswith(("KLIF_EDU_FILE=", "PYTHON=")))
    setup = "".join(o.get("text", "") for o in nb.cells[1].get("outputs", []))
    results[name] = {"error": error, "seconds": time.perf_counter() - start,
                     "first_figure_s": first[0][0] if first else None, "first_figure_at": first[0][1] if first else None, "setup_output": setup, "text": text, **lines}
print("RESULTS=" + json.dumps(results))
'''


def clean_env(work: Path, quick: bool = True) -> dict:
    """The environment of a student's shell: no PYTHONPATH, Jupyter's own folders under ``work``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "KLIF_EDU"))}
    env.update(JUPYTER_DATA_DIR=str(work / "jupyter-data"), JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"), KLIF_EDU_DEVICE="cpu")
    if quick:
        env["KLIF_EDU_QUICK"] = "1"
    return env


def run_notebooks(venv: Path, folder: Path, names: list[str], env: dict) -> dict:
    """Execute notebooks in ``folder`` (its own cwd) with the venv's kernel; per notebook: error, times, paths."""
    runner = folder.parent / "run_notebooks.py"
    runner.write_text(RUNNER)
    done = subprocess.run([str(venv_python(venv)), str(runner), *names], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=1800)  # 2-3 min idle, 12 at load 20
    found = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULTS=")]
    if not found:
        raise RuntimeError(f"the notebook runner failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(found[0][len("RESULTS="):])
