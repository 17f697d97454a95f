"""Training notebooks 04-09 and the reproduction notebook 10: structure, and a real quick-mode run.

The run executes notebook 10 alone on an empty runs folder (it must train its own tiny pair),
then notebook 04 in quick mode, then 10 again, all with KLIF_EDU_RUNS pointing to a temp folder;
it checks the tagged figure cells produced images and that the table lists every run.
"""
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TRAINING = {
    "04_mnist.ipynb": "mnist", "05_fashion_mnist.ipynb": "fashion-mnist", "06_cifar10.ipynb": "cifar10",
    "07_nmnist.ipynb": "nmnist", "08_cifar10_dvs.ipynb": "cifar10-dvs", "09_dvs_gesture.ipynb": "dvs-gesture",
}
FIGURES = {"fig-k-history": "plot_k_history(", "fig-learned-surrogate": "plot_learned_surrogate(",
           "fig-gate-histogram": "plot_gate_histogram(", "fig-firing-rates": "plot_layer_rates("}


def _read(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


@pytest.mark.parametrize("name", sorted(TRAINING))
def test_training_notebook_structure(name):
    nb = _read(name)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    params = _tagged(nb, "parameters")[0].source
    assert f'DATASET = "{TRAINING[name]}"' in params
    for call in ("explain_device(", "estimate_full_time(", "full_run_command(", "show_samples(",
                 'build_model(DATASET, "klif", arch="paper")', "compare_neurons(DATASET", "plot_learning_curves(",
                 "probe("):
        assert call in code, f"{name} does not call {call}"
    for tag, call in FIGURES.items():
        cells = _tagged(nb, tag)
        assert len(cells) == 1 and call in cells[0].source, (name, tag)
    # the k-history and learned-surrogate figures are checked by the notebook itself, right
    # after drawing them, so nbval's run of every notebook proves each one produces them
    for tag, name in (("fig-k-history", "ax_k"), ("fig-learned-surrogate", "fig_s")):
        i = nb.cells.index(_tagged(nb, tag)[0])
        assert nb.cells[i].source.startswith(f"{name} = plot_"), (name, tag)
        assert nb.cells[i + 1].cell_type == "code" and f"assert" in nb.cells[i + 1].source
        assert name in nb.cells[i + 1].source and "klif_run.model.k_values()" in nb.cells[i + 1].source


def test_reproduction_notebook_structure():
    code = "\n".join(c.source for c in _read("10_reproduction.ipynb").cells if c.cell_type == "code")
    for call in ("collect_runs(", "results_table(rows)", "margins(rows)", "plot_margins(pairs)", "compare_neurons("):
        assert call in code


def _execute(name, tmp_path):
    from nbclient import NotebookClient

    nb = _read(name)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def _has_image(cell):
    return any("image/png" in out.get("data", {}) for out in cell.outputs)


def _text(cell):
    return "".join(out.get("text", "") + "".join(str(v) for v in out.get("data", {}).values())
                   for out in cell.outputs)


def test_quick_runs_make_the_figures_and_the_table_lists_every_run(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("KLIF_EDU_RUNS", str(runs))
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")

    alone = _execute("10_reproduction.ipynb", tmp_path)  # nothing there yet: trains one tiny pair itself
    found = "".join(_text(c) for c in alone.cells if c.cell_type == "code")
    assert "No runs yet" in found and "2 runs found" in found
    assert sorted(p.parent.name for p in runs.rglob("metrics.json")) == ["klif", "lif"]

    nb = _execute("04_mnist.ipynb", tmp_path)
    out = "".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "QUICK MODE (KLIF_EDU_QUICK=1" in out and "embedded-fashion-mnist standing in for mnist" in out
    for tag in FIGURES:
        assert _has_image(_tagged(nb, tag)[0]), f"no figure in the {tag} cell"
    assert (runs / "mnist-quick" / "klif" / "history.json").is_file()

    again = _execute("10_reproduction.ipynb", tmp_path)
    metrics = sorted(runs.rglob("metrics.json"))
    assert len(metrics) == 4
    table_cell = next(c for c in again.cells if c.source.strip() == "results_table(rows)")
    html = table_cell.outputs[0]["data"]["text/html"]
    assert html.count("<tr>") == len(metrics) + 1
    for path in metrics:
        assert f"{path.parent.parent.name}/{path.parent.name}" in html
    assert _has_image(_tagged(again, "fig-margins")[0])
    assert re.search(r"mnist.*quick", _text(next(c for c in again.cells if "margins_table(pairs)" in c.source)))
