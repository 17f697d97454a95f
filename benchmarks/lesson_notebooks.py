"""Time the training notebooks in lesson mode (what a class runs), and the Fashion-MNIST one in JupyterLab.

    python benchmarks/lesson_notebooks.py nbclient 05_mnist 07_cifar10 ...   # headless kernel runs
    python benchmarks/lesson_notebooks.py lab 06_fashion_mnist               # real JupyterLab + Chromium
    python benchmarks/lesson_notebooks.py test 05_mnist ...                  # test mode (KLIF_EDU_QUICK=1)

Each run starts from an empty runs folder (so nothing is picked up), prints the notebook's wall
time, the machine load before and after (the machine may be shared: say so with the numbers), the
mode line, the accuracies and how far k moved, and writes them to OUT/lesson_times.json. The lab
mode also saves screenshots of the learned-surrogate figure and the k-history figure in OUT.
Run it under the heavy-work lock on a shared machine.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("KLIF_EDU_BENCH_OUT", tempfile.gettempdir())) / "klif-lesson-bench"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def _summary(runs: Path) -> dict:
    """Accuracies and the largest k movement of the runs the notebook made."""
    out = {}
    for metrics in sorted(runs.rglob("metrics.json")):
        m = json.loads(metrics.read_text())
        out[m["neuron"]] = {"test_accuracy": m["test_accuracy"], "wall_time_s": m["wall_time_s"],
                            "train_size": m["train_size"], "epochs": m["epochs"], "dataset": m["dataset"]}
        history = json.loads((metrics.parent / "history.json").read_text())
        if history["epochs"][-1].get("k"):
            first, last = history["epochs"][0]["k"], history["epochs"][-1]["k"]
            out[m["neuron"]]["k"] = {n: [round(first[n], 4), round(last[n], 4)] for n in last}
            out[m["neuron"]]["k_moved_max"] = max(abs(last[n] - first[n]) for n in last)
    return out


def _env(runs: Path, test: bool = False) -> None:
    if test:
        os.environ["KLIF_EDU_QUICK"] = "1"
    else:
        os.environ.pop("KLIF_EDU_QUICK", None)  # lesson mode: the default
    os.environ["KLIF_EDU_RUNS"] = str(runs)
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")


def run_nbclient(name: str, test: bool = False) -> dict:
    """Execute notebooks/NAME.ipynb top to bottom in lesson (or test) mode; its time and results."""
    import nbformat
    from nbclient import NotebookClient

    runs = OUT / f"runs-{'test-' if test else ''}{name}"
    shutil.rmtree(runs, ignore_errors=True)
    _env(runs, test)
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    load_before, tic = _load(), time.perf_counter()
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    seconds = time.perf_counter() - tic
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    mode = next((ln for ln in text.splitlines() if " MODE (" in ln), "")
    nbformat.write(nb, OUT / f"{name}.executed.ipynb")
    return {"notebook": name, "how": "nbclient, test mode" if test else "nbclient", "seconds": round(seconds, 1), "load_before": load_before,
            "load_after": _load(), "mode_line": mode, "runs": _summary(runs)}


def run_lab(name: str) -> dict:
    """Run notebooks/NAME.ipynb with 'Run All' in a real JupyterLab (headless Chromium); time it, screenshot it."""
    sys.path.insert(0, str(ROOT / "tests"))
    from lab_server import ALL_CELLS_RAN, BROWSER_ARGS, CHROMIUM, KERNEL_IDLE, LabServer
    from playwright import sync_api

    runs = OUT / f"runs-lab-{name}"
    shutil.rmtree(runs, ignore_errors=True)
    _env(runs)
    root = OUT / "lab-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    with LabServer(root) as lab, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(lab.url(f"lab/tree/notebooks/{name}.ipynb"))
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        load_before, tic = _load(), time.perf_counter()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_CELLS_RAN, timeout=1_200_000, polling=1000)
        seconds = time.perf_counter() - tic
        body = page.inner_text(".jp-Notebook")
        stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        tracebacks = [t for t in stderr.all_inner_texts() if "Traceback" in t]
        shots = {}
        for tag in ("fig-learned-surrogate", "fig-k-history", "fig-gate-histogram"):
            cell = page.locator(f".jp-CodeCell.{tag}, .jp-Cell[data-tags*='{tag}']").first
            if not cell.count():  # tags are not classes in every JupyterLab: find the cell by its code
                code = {"fig-learned-surrogate": "plot_learned_surrogate(", "fig-k-history": "plot_k_history(",
                        "fig-gate-histogram": "plot_gate_histogram("}[tag]
                cell = page.locator(".jp-CodeCell").filter(has_text=code).first
            image = cell.locator(".jp-OutputArea-output img").first
            image.scroll_into_view_if_needed()
            shots[tag] = str(OUT / f"{name}-{tag}.png")
            image.screenshot(path=shots[tag])
        page.screenshot(path=str(OUT / f"{name}-page.png"))
        browser.close()
    mode = next((ln for ln in body.splitlines() if " MODE (" in ln), "")
    return {"notebook": name, "how": "JupyterLab + Chromium, Run All", "seconds": round(seconds, 1),
            "load_before": load_before, "load_after": _load(), "mode_line": mode, "tracebacks": tracebacks,
            "screenshots": shots, "runs": _summary(runs)}


def main(argv: list[str]) -> int:
    """Run the notebooks named in argv with nbclient or in JupyterLab; append the results to lesson_times.json."""
    how, names = argv[0], argv[1:]
    OUT.mkdir(parents=True, exist_ok=True)
    record = OUT / "lesson_times.json"
    results = json.loads(record.read_text()) if record.exists() else []
    for name in names:
        result = run_lab(name) if how == "lab" else run_nbclient(name, test=how == "test")
        results.append(result)
        record.write_text(json.dumps(results, indent=1))
        print(json.dumps(result, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
