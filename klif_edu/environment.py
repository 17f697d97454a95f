"""What klif-edu reads from its surroundings: the quick-mode switch and the source checkout."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["QUICK_ENV", "is_quick", "source_root"]

QUICK_ENV = "KLIF_EDU_QUICK"


def is_quick() -> bool:
    """True when env KLIF_EDU_QUICK asks for the short mode (1, true, yes, on)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def source_root() -> Path | None:
    """The repository root when klif_edu runs from a source checkout (editable install), else None.

    An installed wheel (it carries klif_edu/_lessons) never looks for a repository."""
    from .resources import packaged_root

    if packaged_root() is not None:
        return None
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "klif_edu").is_dir():
        return root
    return None
