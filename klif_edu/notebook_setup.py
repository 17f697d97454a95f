"""The setup cell at the top of every lesson notebook, and the report it prints.

The cell must work before klif_edu can be imported (Colab, Kaggle, a fresh kernel), so it only
imports the package or installs the notebook's version of it; everything else is
``setup_report(version)``, which it calls once the import works:

    klif-edu 0.1.0 | torch 2.14.1 (CPU build) | device cpu (auto: no GPU found) | data /home/me/.cache/klif-edu

``insert_setup_cell(nb)`` puts the current cell into a notebook (a JSON dict) right after its title,
replacing an older one: scripts/setup_cell.py runs it over notebooks/, scripts/render_notebooks.py
over the rendered 05-10.
"""
from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["SETUP_TAG", "setup_source", "setup_cell", "insert_setup_cell", "setup_lines", "setup_report"]

SETUP_TAG = "klif-edu-setup"
# `#@title` and cellView "form" fold the cell on Colab; jupyter.source_hidden folds it in JupyterLab/VS Code.
_TEMPLATE = '''\
#@title Setup: klif-edu {version} (installed here when missing: Colab, Kaggle, a fresh kernel)
KLIF_EDU = "{version}"  # the klif-edu version these lessons were written for
INSTALL_FROM = f"klif-edu=={{KLIF_EDU}}"  # teachers: or a wheel file or URL of your class's build
try:
    import klif_edu
except ImportError:
    %pip install --quiet "{{INSTALL_FROM}}"
    import klif_edu
klif_edu.setup_report(KLIF_EDU)'''


def _version() -> str:
    from . import __version__

    return __version__


def setup_source(version: str | None = None) -> str:
    """The setup cell's code for ``version`` (default: this klif-edu's)."""
    return _TEMPLATE.format(version=version or _version())


def setup_cell(version: str | None = None, with_id: bool = True) -> dict[str, Any]:
    """The setup cell as a notebook cell dict (an ``id`` only for nbformat >= 4.5 notebooks)."""
    cell: dict[str, Any] = {"cell_type": "code", "execution_count": None}
    if with_id:
        cell["id"] = SETUP_TAG
    cell["metadata"] = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": [SETUP_TAG]}
    cell["outputs"] = []
    cell["source"] = setup_source(version)
    return cell


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


def insert_setup_cell(nb: dict[str, Any], version: str | None = None) -> bool:
    """Put the current setup cell right after the notebook's title cell (replacing an old one); True if nb changed."""
    cells = nb.setdefault("cells", [])
    rest = [c for c in cells if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    new = setup_cell(version, with_id=(nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5))
    if rest and isinstance(rest[0].get("source"), list):  # keep the notebook's own way of storing source
        new["source"] = new["source"].splitlines(keepends=True)
    where = 1 if rest and rest[0].get("cell_type") == "markdown" else 0
    updated = rest[:where] + [new] + rest[where:]
    if updated == cells:
        return False
    cells[:] = updated
    return True


def _torch_line() -> str:
    try:
        import torch
    except ImportError:
        return "torch NOT INSTALLED (pip install torch)"
    cuda = torch.version.cuda
    build = f"CUDA {cuda}" if cuda else "CPU build"
    gpus = torch.cuda.device_count() if cuda else 0
    return f"torch {torch.__version__} ({build}" + (f", {gpus} GPU(s) visible)" if cuda else ")")


def _device_line() -> str:
    try:
        from .device import explain_device

        device, why = explain_device("auto")
        return f"device {device} ({why})"
    except Exception as err:  # the report must never stop a lesson; say what went wrong instead
        return f"device ? ({type(err).__name__}: {err})"


def _data_line() -> str:
    try:
        from .data import data_root

        root = data_root()
        source = "KLIF_EDU_DATA" if os.environ.get("KLIF_EDU_DATA") else "default"
        return f"data {root} ({source})"
    except Exception as err:
        return f"data ? ({type(err).__name__}: {err})"


def setup_lines(version: str) -> list[str]:
    """What the setup cell prints: a warning when ``version`` is not the installed one, then the debug line."""
    installed = _version()
    lines = []
    if installed != version:
        lines.append(f"WARNING: klif-edu {installed} is installed, but this notebook was written for {version}; "
                     f"take the notebooks of {installed} (`klif-edu notebooks NEW_FOLDER`) or "
                     f"`pip install klif-edu=={version}`")
    py = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    lines.append(" | ".join([f"klif-edu {installed}", py, _torch_line(), _device_line(), _data_line()]))
    return lines


def setup_report(version: str) -> None:
    """Print setup_lines(version): the setup cell's last line (it returns nothing, so nothing else shows)."""
    for line in setup_lines(version):
        print(line)
