"""Training notebooks 05-10 (one template) and the reproduction notebook 11.

* The committed notebooks equal their rendering from notebooks/_source (the one source).
* Structure: the calls and tagged figure cells every training notebook needs; no assert blocks.
* A real test-mode run with checks injected after the cells they check (the students never see
  them): notebook 11 alone on an empty runs folder (it trains its own tiny pair), notebook 05,
  then 11 again, with KLIF_EDU_RUNS pointing to a temp folder.
"""
import re
from pathlib import Path

import nbformat
import pytest

import renderer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TRAINING = {
    "05_mnist.ipynb": "mnist", "06_fashion_mnist.ipynb": "fashion-mnist", "07_cifar10.ipynb": "cifar10",
    "08_nmnist.ipynb": "nmnist", "09_cifar10_dvs.ipynb": "cifar10-dvs", "10_dvs_gesture.ipynb": "dvs-gesture",
}
FIGURES = {"fig-k-history": "plot_k_history(", "fig-learned-surrogate": "plot_learned_surrogate(",
           "fig-gate-histogram": "plot_gate_histogram(", "fig-firing-rates": "plot_layer_rates("}


def _renderer():
    return renderer.load()


def _read(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def test_committed_notebooks_equal_their_rendering():
    rendered = _renderer().rendered()
    assert sorted(p.name for p in rendered) == sorted(TRAINING)
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} differs from notebooks/_source: run `python scripts/render_notebooks.py`")


def test_renderer_inserts_sections_that_exist_and_skips_the_others(tmp_path):
    r = _renderer()
    (tmp_path / "events.py").write_text('# ---\n# contract\n# ---\n\n# %% [markdown]\n# ## Events here\n\n'
                                        '# %% tags=["demo"]\nprint(DATASET)\n', encoding="utf-8")
    values = dict(r.datasets()["nmnist"], sections=["events", "gesture_timing"])
    cells = r.render(values, sections_dir=tmp_path)["cells"]
    sources = [c["source"] for c in cells]
    i = sources.index("## Events here")
    assert sources[i + 1] == "print(DATASET)" and cells[i + 1]["metadata"] == {"tags": ["demo"]}
    assert sources.index("show_samples(plan.train_dataset);") < i < next(
        j for j, s in enumerate(sources) if s.startswith("## 4. The networks"))
    not_listed = r.render(dict(values, sections=[]), sections_dir=tmp_path)["cells"]
    assert "## Events here" not in [c["source"] for c in not_listed]
    with pytest.raises(KeyError, match="no value for"):
        r.render({k: v for k, v in values.items() if k != "title"}, sections_dir=tmp_path)


@pytest.mark.parametrize("name", sorted(TRAINING))
def test_training_notebook_structure(name):
    nb = _read(name)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    params = _tagged(nb, "parameters")[0].source
    assert f'DATASET = "{TRAINING[name]}"' in params and "MODE = None" in params
    for call in ("ensure_dataset(DATASET", "explain_device(", "plan_run(DATASET, mode=MODE", "plan.banner()",
                 "estimate_full_time(", "full_run_command(", "show_samples(", 'build_model(DATASET, "klif", arch="paper")',
                 "compare_neurons(DATASET, mode=MODE", "plot_learning_curves(", "probe(",
                 'check("run.half_peak", answer, run=my_run)'):
        assert call in code, f"{name} does not call {call}"
    for tag, call in FIGURES.items():
        cells = _tagged(nb, tag)
        assert len(cells) == 1 and call in cells[0].source, (name, tag)
    # checks live in the tests (injected below), not in cells students read
    assert not [c.source for c in nb.cells if c.cell_type == "code" and re.search(r"^assert ", c.source, re.M)]
    # the own-run exercise comes after the figure it needs, and no answer is printed above it
    sources = [c.source for c in nb.cells]
    ex = next(i for i, s in enumerate(sources) if "Exercise run.half_peak" in s)
    assert sources.index(_tagged(nb, "fig-gate-histogram")[0].source) < ex
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "k(1 - 1/\\tau)" in text and "(\\tau - k(\\tau-1))/k" in text and "BatchNorm" in text


def test_event_notebooks_ask_before_a_large_download():
    for name in ("08_nmnist.ipynb", "09_cifar10_dvs.ipynb", "10_dvs_gesture.ipynb"):
        cell = next(c.source for c in _read(name).cells if "ensure_dataset(" in c.source)
        assert cell.startswith("DOWNLOAD_LARGE = False  #") and "GB" in cell.splitlines()[0]
    for name in ("05_mnist.ipynb", "06_fashion_mnist.ipynb", "07_cifar10.ipynb"):
        assert "DOWNLOAD_LARGE" not in "".join(c.source for c in _read(name).cells)


def test_reproduction_notebook_structure():
    nb = _read("11_reproduction.ipynb")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for call in ("collect_runs(", "results_table(rows)", "margins(rows)", "plot_margins(pairs)", "compare_neurons("):
        assert call in code
    assert not re.search(r"^assert ", code, re.M)


# --- a real run, with the checks injected -------------------------------------------------------
CHECKS = {  # cell (by tag or by its first line) -> check run right after it
    "cmp = compare_neurons(": """
assert len(klif_run.history["epochs"]) == cmp.plan.epochs + 1  # epoch 0 is the untrained network
assert klif_run.history["epochs"][-1]["k"] == klif_run.model.k_values()
assert lif_run.model.k_values() == {}
""",
    "fig-k-history": """
assert {line.get_label() for line in ax_k.lines} >= set(klif_run.model.k_values())
""",
    "fig-learned-surrogate": """
layers = list(klif_run.model.k_values())
assert [ax.get_title().split(":")[0] for ax in fig_s.axes[: len(layers)]] == layers
""",
    "first, last = ": """
for layer, k in last["k"].items():  # width x k stays the same: width is proportional to 1/k
    assert abs(last["width"][layer] * k - first["width"][layer] * first["k"][layer]) < 1e-6
""",
    "fig-gate-histogram": """
tr_k, tr_l = traces["klif"][LAYER], traces["lif"][LAYER]
torch.testing.assert_close(tr_k.f, torch.relu(klif_run.model.k_values()[LAYER] * tr_k.h))
assert torch.equal(tr_l.f, tr_l.h)
""",
    "answer = None  # your answer here\nmy_run": """
from klif_edu.exercises import solution as _sol
from klif_edu.exercises.training_series import _half_peak_fraction
_f = _half_peak_fraction(my_run)
assert 0.0 <= _f <= 1.0 and check("run.half_peak", _f, run=my_run) and not check("run.half_peak", _f + 0.5, run=my_run)
assert f"{_f:.3f}" in _sol("run.half_peak", run=my_run)
""",
    "fig-firing-rates": """
assert all(0.0 <= r <= 1.0 for per_layer in rates.values() for r in per_layer.values())
assert list(rates["klif"]) == list(klif_run.model.neurons())
""",
}


def _inject(nb, checks):
    """A copy of ``nb`` with a check cell after every cell named in ``checks``; fails on a missing one."""
    out, used = [], set()
    for cell in nb.cells:
        out.append(cell)
        for key, code in checks.items():
            if key in cell.metadata.get("tags", []) or cell.source.startswith(key):
                out.append(nbformat.v4.new_code_cell(code.strip()))
                used.add(key)
    assert used == set(checks), f"cells not found: {set(checks) - used}"
    nb.cells = out
    return nb


def _execute(name, checks=None):
    from nbclient import NotebookClient

    nb = _read(name)
    if checks:
        nb = _inject(nb, checks)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def _has_image(cell):
    return any("image/png" in out.get("data", {}) for out in cell.outputs)


def _text(cell):
    return "".join(out.get("text", "") + "".join(str(v) for v in out.get("data", {}).values())
                   for out in cell.outputs)


def test_test_mode_runs_make_the_figures_and_the_table_lists_every_run(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("KLIF_EDU_RUNS", str(runs))
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    monkeypatch.setenv("KLIF_EDU_DATA", str(tmp_path / "no-data"))  # mnist missing: the stand-in trains

    alone = _execute("11_reproduction.ipynb")  # nothing there yet: trains one tiny pair itself
    found = "".join(_text(c) for c in alone.cells if c.cell_type == "code")
    assert "No runs yet" in found and "2 runs found" in found
    assert sorted(p.parent.name for p in runs.rglob("metrics.json")) == ["klif", "lif"]

    nb = _execute("05_mnist.ipynb", CHECKS)
    out = "".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "TEST MODE (KLIF_EDU_QUICK=1" in out and "embedded-fashion-mnist STANDING IN for mnist" in out
    assert "STAND-IN DATA: mnist is not on disk" in out and "test mode downloads nothing" in out
    for tag in FIGURES:
        assert _has_image(_tagged(nb, tag)[0]), f"no figure in the {tag} cell"
    assert (runs / "mnist-test" / "klif" / "history.json").is_file()

    again = _execute("11_reproduction.ipynb")
    metrics = sorted(runs.rglob("metrics.json"))
    assert len(metrics) == 4
    table_cell = next(c for c in again.cells if c.source.strip() == "results_table(rows)")
    html = table_cell.outputs[0]["data"]["text/html"]
    assert html.count("<tr>") == len(metrics) + 1 and "STAND-IN embedded-fashion-mnist" in html
    for path in metrics:
        assert f"{path.parent.parent.name}/{path.parent.name}" in html
    assert _has_image(_tagged(again, "fig-margins")[0])
    assert re.search(r"mnist.*test", _text(next(c for c in again.cells if "margins_table(pairs)" in c.source)))
