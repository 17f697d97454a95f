"""Notebook 13 runs with its claims checked from here (no assert in the cells students read)."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from test_neuron_notebooks import NOTEBOOKS, _inject  # tests/ is on sys.path

NAME = "13_plif_and_k.ipynb"
CHECKS = [
    # the formulas the notebook prints are the neurons' measured leak factors
    ('formula = {"lif": 0.5', """
for name, n in neurons.items():
    v = n.trace(pulse).v.detach()[:, 0]
    assert abs(float(v[2] / v[1]) - formula[name]) < 1e-6, name"""),
    # the student's own study: k-fire carries ReLU(H), LIF's leak whatever k learned
    ("my_leaks = learned_leaks(mine)", 'assert all(a == 0.5 for a in my_leaks["k-fire"].values()), my_leaks["k-fire"]'),
    # the committed study: the same, and PLIF's tau moved in every layer
    ("leaks = learned_leaks(summary)", """
assert all(abs(a - 0.5) < 1e-12 for a in leaks["k-fire"].values())
assert all(a != 0.5 for a in leaks["plif"].values())"""),
]


def test_no_assert_in_the_cells_students_read():
    nb = json.loads((NOTEBOOKS / NAME).read_text())
    assert not [c for c in nb["cells"] if c["cell_type"] == "code" and "assert " in "".join(c["source"])]


def test_notebook_13_runs_and_its_claims_hold(monkeypatch):
    monkeypatch.setenv("KLIF_EDU_QUICK", "1")
    monkeypatch.setenv("KLIF_EDU_DEVICE", "cpu")
    nb = _inject(nbformat.read(NOTEBOOKS / NAME, as_version=4), CHECKS, NAME)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{NAME}: a cell or an injected check failed:\n{err}")
