"""Read jupytext-style py:percent text into notebook cells (for tests that render section files)."""
from __future__ import annotations

import json
import re

import nbformat

_HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<meta>.*)$")


def _tags(meta: str) -> list[str]:
    match = re.search(r"tags=(\[[^\]]*\])", meta)
    return json.loads(match.group(1)) if match else []


def percent_to_cells(text: str) -> list[nbformat.NotebookNode]:
    """Cells of a py:percent text: `# %% [markdown]` cells (lines '# ...') and `# %%` code cells."""
    cells, kind, tags, lines = [], None, [], []

    def flush() -> None:
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", ln) for ln in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            flush()
            kind, tags, lines = ("markdown" if match.group("md") else "code"), _tags(match.group("meta")), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells
