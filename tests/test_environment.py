"""The quick-mode switch and the source checkout, shared by the demo, notebooks and data."""
from pathlib import Path

import pytest

from klif_edu.environment import is_quick, source_root


@pytest.mark.parametrize("value, quick", [("1", True), (" Yes ", True), ("on", True), ("0", False), ("", False)])
def test_is_quick(monkeypatch, value, quick):
    monkeypatch.setenv("KLIF_EDU_QUICK", value)
    assert is_quick() is quick


def test_source_root_is_this_checkout_and_feeds_data_and_runs(monkeypatch):
    from klif_edu.data import data_root
    from klif_edu.experiment import runs_root

    root = source_root()
    assert root == Path(__file__).resolve().parents[1]
    monkeypatch.delenv("KLIF_EDU_DATA", raising=False)
    monkeypatch.delenv("KLIF_EDU_RUNS", raising=False)
    assert data_root() == root / "data" and runs_root() == root / "runs"
