"""Notebooks as committed: no outputs, numbered names, public imports only, exercises wired up."""
import ast
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import klif_edu
from klif_edu.exercises import EXERCISES
from klif_edu.notebook_setup import SETUP_TAG

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
IDS = [p.name for p in PATHS]
# What a notebook may import from klif_edu: the package and its public modules.
PUBLIC_MODULES = {
    "klif_edu", "klif_edu.plotting", "klif_edu.widgets", "klif_edu.exercises", "klif_edu.surrogate",
    "klif_edu.models", "klif_edu.experiment", "klif_edu.dynamics", "klif_edu.data", "klif_edu.data.raw",
    "klif_edu.probe", "klif_edu.training_plots", "klif_edu.reproduction", "klif_edu.study",
    "klif_edu.peers", "klif_edu.provenance",
}
THIRD_PARTY = {"os", "math", "time", "tempfile", "matplotlib", "torch", "numpy", "snntorch", "ipywidgets", "tqdm"}


def _load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code(nb) -> list[str]:
    """Code cells as Python (IPython magics such as the setup cell's %pip turned into calls)."""
    return [TransformerManager().transform_cell(c.source) for c in nb.cells if c.cell_type == "code"]


def test_the_three_teaching_notebooks_exist():
    for name in ("01_lif_neuron.ipynb", "02_surrogate_gradients.ipynb", "03_klif_neuron.ipynb"):
        assert (NOTEBOOKS / name).is_file(), name


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_name_is_numbered_slug(path):
    assert re.fullmatch(r"\d{2}_[a-z0-9]+(_[a-z0-9]+)*\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_valid_and_stripped(path):
    nb = _load(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has stored outputs: strip them"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
        allowed = {"tags", "jupyter", "cellView"} if SETUP_TAG in cell.metadata.get("tags", []) else {"tags"}
        assert set(cell.metadata) <= allowed, f"{path.name} cell {i}: only tags belong in cell metadata"
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state: strip it"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_opens_with_goals_and_time(path):
    first = _load(path).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert re.search(r"\*\*Time:\*\* about \d+ minutes", first.source), "say how long it takes"
    assert "By the end of this notebook you can" in first.source


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_quick_mode_parameters_cell(path):
    tagged = [c for c in _load(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "KLIF_EDU_QUICK" in tagged[0].source and "SEED" in tagged[0].source


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_imports_only_public_api(path):
    for src in _code(_load(path)):
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods, names = [a.name for a in node.names], []
            elif isinstance(node, ast.ImportFrom):
                mods, names = [node.module or ""], [a.name for a in node.names]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top == "klif_edu":
                    assert mod in PUBLIC_MODULES, f"{path.name}: import of non-public module {mod}"
                    for name in names:
                        assert not name.startswith("_"), f"{path.name}: private name {mod}.{name}"
                        module = __import__(mod, fromlist=[name])
                        public = getattr(module, "__all__", None)
                        assert public is None or name in public, f"{path.name}: {mod}.{name} is not in __all__"
                else:
                    assert top in THIRD_PARTY, f"{path.name}: unexpected import {mod}"
        # No reaching into private attributes of the package either.
        assert not re.search(r"klif_edu\.\w*\._", src), f"{path.name}: private attribute used"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_exercises_are_registered_and_left_for_the_student(path):
    nb = _load(path)
    prefix = path.name[:2]
    calls = []
    for src in _code(nb):
        for match in re.finditer(r'check\("([^"]+)", answer(, run=[^)]+)?\)', src):
            if match.group(2) and not match.group(1).startswith(prefix + "."):
                continue  # run.*: shared exercises about the student's own run, wired up elsewhere
            calls.append(match.group(1))
            # the answer cell defaults to None so the notebook runs green without the solution
            assert re.search(r"^answer = None  # your answer here", src, re.M), src
            assert re.search(rf'^# solution\("{re.escape(match.group(1))}"[,)]', src, re.M), src
    assert 2 <= len(calls) <= (5 if prefix == "04" else 4), f"{path.name}: {calls}"  # 04: the net, then the loop
    assert all(name in EXERCISES and name.startswith(prefix + ".") for name in calls), calls
    assert sorted(calls) == sorted(n for n in EXERCISES if n.startswith(prefix + "."))
    # each exercise is introduced by a heading that names it
    headings = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for name in calls:
        assert f"Exercise {name}" in headings


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_correctness_is_checked_outside_the_students_cells(path):
    """Every notebook's claims are checked by cells a test injects (01-04: test_neuron_notebooks;
    05-11: test_training_notebooks; 12: test_study_notebook; 13: test_peers_notebook), never by an
    assert in a cell students read."""
    from test_neuron_notebooks import CHECKS as NEURON_CHECKS
    from test_peers_notebook import NAME as PEERS
    from test_study_notebook import NAME as STUDY
    from test_training_notebooks import TRAINING

    assert path.name in NEURON_CHECKS or path.name in TRAINING or path.name in ("11_reproduction.ipynb", STUDY, PEERS), \
        f"{path.name}: no test injects its checks"
    assert not [s for s in _code(_load(path)) if re.search(r"^\s*assert\b", s, re.M)], \
        f"{path.name}: an assert in a cell students read; inject the check from a test instead"


def test_klif_notebook_ends_explorer_cells_with_the_explorer():
    srcs = _code(_load(NOTEBOOKS / "03_klif_neuron.ipynb"))
    assert "explore_neuron()" in [s.strip().splitlines()[-1] for s in srcs]
    assert "explore_surrogate()" in [s.strip().splitlines()[-1] for s in srcs]


def test_public_module_list_is_real():
    for mod in PUBLIC_MODULES:
        assert __import__(mod, fromlist=["_"]) is not None
    assert klif_edu.__name__ == "klif_edu"
