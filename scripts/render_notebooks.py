"""Render the training notebooks 05-10 from their one source, notebooks/_source/training.py.

    python scripts/render_notebooks.py           # write notebooks/NN_slug.ipynb for every dataset
    python scripts/render_notebooks.py --check   # exit 1 and name the notebooks that differ

The template's contract is written at the top of notebooks/_source/training.py; the values per
dataset are in notebooks/_source/datasets.toml; optional sections in notebooks/_source/sections/.
Output: nbformat 4.4, no outputs, only tags in cell metadata (what tests/test_notebooks_clean.py wants),
and after the title the setup cell of klif_edu/notebook_setup.py.
"""
from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "_source"
NOTEBOOKS = ROOT / "notebooks"
_HEADER = re.compile(r"^# %%(?: \[(markdown)\])?(?: tags=(\[.*\]))?\s*$")
_INSERT = re.compile(r"^# %% insert: ([a-z_]+)\s*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _strip_header(text: str) -> str:
    """Drop the leading `# ---` ... `# ---` comment block (the contract), if any."""
    lines = text.splitlines()
    if lines and lines[0] == "# ---":
        end = lines.index("# ---", 1)
        lines = lines[end + 1:]
    return "\n".join(lines)


def parse(text: str) -> list[dict | str]:
    """py:percent text -> a list of cells (dicts) and insert markers (the section name, a str)."""
    items: list[dict | str] = []
    current: dict | None = None
    for line in _strip_header(text).splitlines():
        insert = _INSERT.match(line)
        header = _HEADER.match(line)
        if insert or header:
            current = None
            if insert:
                items.append(insert.group(1))
                continue
            current = {"cell_type": "markdown" if header.group(1) else "code",
                       "tags": json.loads(header.group(2)) if header.group(2) else [], "lines": []}
            items.append(current)
        elif current is not None:
            if current["cell_type"] == "markdown":
                if line.strip() and not line.startswith("#"):
                    raise ValueError(f"markdown line does not start with '#': {line!r}")
                line = line[2:] if line.startswith("# ") else line[1:]
            current["lines"].append(line)
    return items


def _cell(kind: str, source: str, tags: list[str] | None = None) -> dict:
    cell = {"cell_type": kind, "metadata": {"tags": tags} if tags else {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def percent_cells(text: str) -> list[dict]:
    """The cells of a py:percent text without insert markers (a section file), as notebook cell dicts."""
    items = parse(text)
    if any(isinstance(item, str) for item in items):
        raise ValueError("percent_cells reads section files; insert markers belong to the template")
    return [_cell(item["cell_type"], "\n".join(item["lines"]).strip("\n"), item["tags"])
            for item in items if "\n".join(item["lines"]).strip()]


def _fill(text: str, values: dict, where: str) -> str:
    def one(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{where}: no value for {{{{{key}}}}} in datasets.toml")
        return str(values[key]).strip()

    return _PLACEHOLDER.sub(one, text)


def _exercise_cells(name: str) -> list[dict]:
    from klif_edu.exercises import EXERCISES

    ex = EXERCISES[name]
    code = (f'answer = None  # your answer here\ncheck("{name}", answer);\n'
            f'# solution("{name}")  # uncomment to see the worked answer')
    return [_cell("markdown", f"### ✏️ Exercise {name}\n{ex.question}"), _cell("code", code)]


def render(values: dict, sections_dir: Path = SOURCE / "sections") -> dict:
    """The notebook (a JSON-ready dict) of one dataset."""
    cells: list[dict] = []

    def add(items: list, where: str) -> None:
        for item in items:
            if isinstance(item, str):
                if item == "exercises":
                    for name in values.get("exercises", []):
                        cells.extend(_exercise_cells(name))
                elif item in values.get("sections", []) and (sections_dir / f"{item}.py").is_file():
                    add(parse((sections_dir / f"{item}.py").read_text(encoding="utf-8")), f"sections/{item}.py")
                continue
            source = "\n".join(item["lines"]).strip("\n")
            if source:
                cells.append(_cell(item["cell_type"], _fill(source, values, where), item["tags"]))

    add(parse((SOURCE / "training.py").read_text(encoding="utf-8")), "training.py")
    nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                                       "language": "python", "name": "python3"},
                                        "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 4}
    from klif_edu.notebook_setup import insert_setup_cell

    insert_setup_cell(nb)  # the setup cell every notebook starts with (scripts/setup_cell.py)
    return nb


def datasets() -> dict[str, dict]:
    """datasets.toml: one table per training notebook."""
    return tomllib.loads((SOURCE / "datasets.toml").read_text(encoding="utf-8"))


def rendered() -> dict[Path, str]:
    """Every training notebook's path and its text as written to disk."""
    out = {}
    for values in datasets().values():
        path = NOTEBOOKS / f"{values['number']}_{values['slug']}.ipynb"
        out[path] = json.dumps(render(values), indent=1, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str]) -> int:
    """Write the notebooks, or with --check report the ones that differ from their rendering."""
    stale = []
    for path, text in rendered().items():
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            from klif_edu.files import atomic_open

            with atomic_open(path, "w") as f:
                f.write(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run `python scripts/render_notebooks.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
