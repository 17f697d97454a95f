"""The KLIF explorer in a real JupyterLab, driven by headless Chromium.

Runs notebooks/03_klif_neuron.ipynb top to bottom in JupyterLab (a temporary copy, so nothing
is saved into the repository), moves the neuron explorer's "k" slider, and checks that the
picture is redrawn and that no cell shows an error. Skipped when Chromium or Playwright is
missing. ``KLIF_EDU_SCREENSHOT_DIR=docs`` keeps the explorer screenshot as docs/klif_explorer.png.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab_server import ALL_CELLS_RAN, BROWSER_ARGS, CHROMIUM, KERNEL_IDLE, LabServer  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "03_klif_neuron.ipynb"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")


def test_jupyter_widgets_lab_extension_enabled(tmp_path):
    env = {**os.environ, **{f"JUPYTER_{d.upper()}_DIR": str(tmp_path / d) for d in ("config", "data", "runtime")}}
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((ln for ln in text.splitlines() if "@jupyter-widgets/jupyterlab-manager" in ln), "")
    assert "enabled" in line and "OK" in line, text


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = LabServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    target = os.environ.get("KLIF_EDU_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_klif_explorer_redraws_when_k_moves(lab, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    console_errors: list[str] = []
    page.on("pageerror", lambda err: console_errors.append(str(err)))
    page.goto(lab.url(f"lab/tree/notebooks/{NOTEBOOK}"))
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    # The settings override took effect: every cell is attached, not only the visible ones.
    mode = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.notebookConfig.windowingMode")
    assert mode == "none", mode

    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".widget-slider", timeout=60_000)
    page.wait_for_function(ALL_CELLS_RAN, timeout=60_000, polling=250)

    # No cell shows an error: widget views rendered, no traceback in any output.
    body = page.inner_text(".jp-Notebook")
    assert "Error displaying widget" not in body
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    tracebacks = [t for t in stderr.all_inner_texts() if "Traceback" in t]
    assert not tracebacks, tracebacks

    # The first explorer is the neuron explorer; its "k" slider is the one to move.
    is_k = page.locator(".widget-label", has_text=re.compile(r"^\s*k\s*$"))
    assert page.locator(".widget-slider").filter(has=is_k).count() == 2, "one k slider in each explorer"
    explorer = page.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-slider")).first
    k_slider = explorer.locator(".widget-slider").filter(has=is_k)
    assert k_slider.count() == 1
    explorer.scroll_into_view_if_needed()
    image = explorer.locator("img").first
    image.wait_for(state="visible", timeout=30_000)
    readout = k_slider.locator(".widget-readout")
    k_before = float(readout.inner_text())
    src_before = image.get_attribute("src")
    plot_before = image.screenshot()  # the figure alone: the readout text must not count

    # Move k with the keyboard, as a student would: focus the handle, press the left arrow
    # (1.5 -> 1.25: KLIF then fires every second step of the input step, LIF every third).
    k_slider.locator(".noUi-handle").focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    k_after = float(readout.inner_text())
    assert k_after < k_before, (k_before, k_after)
    # Each key press is one change (continuous_update=False); wait for the last one's redraw.
    status = explorer.locator(".widget-html").first
    sync_api.expect(status).to_contain_text(f"k = {k_after:.2f}", timeout=60_000)
    # ... and the live below-threshold numbers for that k (tau = 2): leak factor k/2, V_th/k
    sync_api.expect(status).to_contain_text(f"k(1 - 1/tau) = {k_after * 0.5:.3f}", timeout=10_000)
    sync_api.expect(status).to_contain_text(f"V_th/k = {1 / k_after:.3f}", timeout=10_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    assert image.get_attribute("src") != src_before, "the explorer's image was not replaced"

    assert image.screenshot() != plot_before, "the explorer's plot did not change after moving k"
    (_screenshot_dir(tmp_path) / "klif_explorer.png").write_bytes(explorer.screenshot())

    # Still no error anywhere, and the explorer's own error area stayed empty.
    assert "Error displaying widget" not in page.inner_text(".jp-Notebook")
    assert "could not redraw" not in page.inner_text(".jp-Notebook")
    assert not [t for t in stderr.all_inner_texts() if "Traceback" in t]
    assert not console_errors, console_errors
    page.close()
