"""Put the current setup cell at the top of every lesson notebook (idempotent; re-run after any merge).

    python scripts/setup_cell.py           # re-render 05-10 from notebooks/_source, refresh the rest
    python scripts/setup_cell.py --check   # exit 1 and name the notebooks whose setup cell is missing or old

The cell (klif_edu/notebook_setup.py) installs or checks the klif-edu version it pins, so after a version
bump every notebook needs it again. The training notebooks get it from their rendering
(scripts/render_notebooks.py calls the same function), the others here. Only the setup cell changes.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def main(argv: list[str]) -> int:
    """Refresh the setup cell of every notebooks/*.ipynb, or with --check report the stale ones."""
    from klif_edu.files import atomic_open
    from klif_edu.notebook_setup import insert_setup_cell

    sys.path.insert(0, str(ROOT / "scripts"))
    import render_notebooks

    check = "--check" in argv
    if not check and render_notebooks.main([]) != 0:
        return 1
    stale = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not insert_setup_cell(nb):
            continue
        stale.append(path.name)
        if not check:
            with atomic_open(path, "w") as fh:
                fh.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            print(f"setup cell written: {path.relative_to(ROOT)}")
    if check and stale:
        print(f"setup cell missing or old: {', '.join(stale)}; run `python scripts/setup_cell.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
