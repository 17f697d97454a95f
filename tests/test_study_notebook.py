"""Notebook 12 runs with its claims checked from here (no assert in the cells students read)."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from test_neuron_notebooks import NOTEBOOKS, _inject  # tests/ is on sys.path

NAME = "12_klif_vs_lif_study.ipynb"
CHECKS = [
    ('print("seed 0, KLIF vs LIF, same start:"', """
assert torch.equal(first_layer_weights("klif", SEED), first_layer_weights("lif", SEED))  # pairs start alike
assert not torch.equal(first_layer_weights("klif", 0), first_layer_weights("klif", 1))"""),
    ("half = t * sd / n**0.5", "assert abs(mean - half - paired['low']) < 1e-9  # the hand computation is the library's"),
    ('check("12.study_low", answer, run=summary)', """
from klif_edu.exercises import EXERCISES
assert abs(EXERCISES['12.study_low'].answer(summary) - 100 * summary['comparisons']['klif - lif']['low']) < 1e-9"""),
    ('for variant in ("klif", "k-only"):', """
assert all(k == 1.0 for ks in summary["variants"]["gate-only"]["k"] for k in ks.values())  # gate-only: k stays 1"""),
    ("k can move by about", "assert moved <= s['lr'] * steps / 2 * 1.05  # the text: Adam's bound"),
]


def test_no_assert_in_the_cells_students_read():
    nb = json.loads((NOTEBOOKS / NAME).read_text())
    assert not [c for c in nb["cells"] if c["cell_type"] == "code" and "assert " in "".join(c["source"])]


def test_notebook_12_runs_and_its_claims_hold(monkeypatch):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    nb = nbformat.read(NOTEBOOKS / NAME, as_version=4)
    # Sections 1-6 make the claims; section 7's tiny study (the slow part) runs under nbval anyway.
    stop = [i for i, c in enumerate(nb.cells) if c.source.startswith("## 7. Run a study yourself")]
    assert len(stop) == 1, "section 7's heading moved: update this test"
    nb.cells = nb.cells[: stop[0]]
    nb = _inject(nb, CHECKS, NAME)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{NAME}: a cell or an injected check failed:\n{err}")
