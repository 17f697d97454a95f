"""Atomic writes: the old file survives a failed write, no temporary file is left behind."""
import os
import stat

import pytest

from klif_edu.files import atomic_open, file_mode


def test_success_replaces_the_file_with_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "a.json"
    with atomic_open(path, "w") as fh:
        fh.write("new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(os.stat(path).st_mode) == file_mode()
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_open(path, "wb") as fh:
            fh.write(b"half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_open("x", "a"):
            pass
