"""The setup cell every notebook starts with: present and current everywhere; each branch of it run in IPython."""
import copy
import json
import sys
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import klif_edu
from klif_edu.notebook_setup import SETUP_TAG, insert_setup_cell, setup_cell, setup_lines, setup_source

ROOT = Path(__file__).resolve().parents[1]
PATHS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_every_notebook_starts_with_the_current_setup_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert not insert_setup_cell(copy.deepcopy(nb)), \
        f"{path.name}: setup cell missing or old; run `python scripts/setup_cell.py`"
    cell = nb["cells"][1]
    assert SETUP_TAG in cell["metadata"]["tags"] and cell["metadata"]["jupyter"]["source_hidden"] is True
    assert f'KLIF_EDU = "{klif_edu.__version__}"' in "".join(cell["source"])


def test_setup_cell_script_check_passes():
    sys.path.insert(0, str(ROOT / "scripts"))
    import setup_cell as script

    assert script.main(["--check"]) == 0


def test_insert_is_idempotent_and_replaces_an_old_cell():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# 99 · Title\n"]},
                    {"cell_type": "code", "metadata": {}, "source": ["x = 1\n"], "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert insert_setup_cell(nb, version="0.0.1")
    assert [c["cell_type"] for c in nb["cells"]] == ["markdown", "code", "code"]
    assert nb["cells"][1]["id"] == SETUP_TAG and isinstance(nb["cells"][1]["source"], list)  # the file's style
    assert not insert_setup_cell(nb, version="0.0.1")
    assert insert_setup_cell(nb, version="0.0.2")  # a new version replaces the old cell, nothing else moves
    assert len(nb["cells"]) == 3 and '"0.0.2"' in "".join(nb["cells"][1]["source"])
    old = {"nbformat": 4, "nbformat_minor": 4, "cells": [{"cell_type": "code", "metadata": {}, "source": "y = 2"}]}
    insert_setup_cell(old)
    assert "id" not in old["cells"][0] and old["cells"][1]["source"] == "y = 2"  # no title: on top


class _Pip:
    """A stand-in %pip: records the line it got, 'installs' klif_edu by making it importable again."""

    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(line)
        sys.modules.pop("klif_edu", None)
        sys.modules["klif_edu"] = klif_edu


def _run_cell(source, monkeypatch, capsys, missing=False):
    shell = InteractiveShell()
    pip = _Pip()
    shell.register_magic_function(pip, "line", "pip")
    if missing:
        monkeypatch.setitem(sys.modules, "klif_edu", None)  # `import klif_edu` raises ImportError
    try:
        result = shell.run_cell(source)
    finally:
        shell.cleanup()
    assert result.success, result.error_in_exec
    return pip.lines, capsys.readouterr().out


def test_branch_installed_at_the_notebooks_version(monkeypatch, capsys):
    lines, out = _run_cell(setup_source(), monkeypatch, capsys)
    assert lines == []
    (line,) = out.strip().splitlines()
    assert line.startswith(f"klif-edu {klif_edu.__version__} | Python ")
    for part in ("torch ", "device ", "data "):
        assert f"| {part}" in line


def test_branch_installed_version_differs(monkeypatch, capsys):
    lines, out = _run_cell(setup_source("0.0.1"), monkeypatch, capsys)
    assert lines == []
    warning, info = out.strip().splitlines()
    assert warning.startswith("WARNING: klif-edu") and "written for 0.0.1" in warning
    assert "pip install klif-edu==0.0.1" in warning and info.startswith("klif-edu ")


def test_branch_missing_installs_the_pinned_version(monkeypatch, capsys):
    lines, out = _run_cell(setup_source(), monkeypatch, capsys, missing=True)
    assert lines == [f'install --quiet "klif-edu=={klif_edu.__version__}"']
    assert out.startswith(f"klif-edu {klif_edu.__version__} | ")


def test_branch_missing_installs_what_the_teacher_points_to(monkeypatch, capsys):
    wheel = r"C:\Users\A Teacher\klif_edu-0.1.0-py3-none-any.whl"
    source = setup_source().replace('INSTALL_FROM = f"klif-edu=={KLIF_EDU}"', f'INSTALL_FROM = r"{wheel}"')
    assert source != setup_source()
    lines, _ = _run_cell(source, monkeypatch, capsys, missing=True)
    assert lines == [f'install --quiet "{wheel}"']  # quoted: a path with spaces stays one argument


def test_report_survives_a_broken_device_setting(monkeypatch):
    monkeypatch.setenv("KLIF_EDU_DEVICE", "tpu")
    line = setup_lines(klif_edu.__version__)[-1]
    assert "device ? (ValueError" in line


def test_setup_cell_is_collapsed_on_colab_and_in_jupyter():
    cell = setup_cell("1.2.3")
    assert cell["metadata"]["cellView"] == "form" and cell["source"].startswith("#@title")
    assert cell["metadata"]["jupyter"] == {"source_hidden": True} and cell["outputs"] == []
    assert len(cell["source"].splitlines()) <= 10
