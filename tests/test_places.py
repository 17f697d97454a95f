"""Folders that follow the platform: the data folder, frame caches of a read-only share, the runs folder."""
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from klif_edu import environment, places
from klif_edu.cli import build_parser
from klif_edu.data import data_root, load_dataset
from klif_edu.data import registry
from klif_edu.modes import runs_root


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """As a wheel sees it: no checkout, a fresh home and cache, no KLIF_EDU_* settings, cwd = the notebooks."""
    monkeypatch.setattr(places, "source_root", lambda: None)
    home, notebooks = tmp_path / "home", tmp_path / "home" / "klif-edu-notebooks"
    notebooks.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("KLIF_EDU_DATA", "KLIF_EDU_RUNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(notebooks)
    return home, notebooks


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG convention is Linux's")
def test_installed_downloads_and_runs_follow_the_platform(installed):
    home, notebooks = installed
    assert places.user_cache() == home / ".cache" / "klif-edu"
    assert data_root() == home / ".cache" / "klif-edu" / "data" == registry.repo_data_dir()
    assert places.data_root_origin() == "the user cache folder (not a checkout)"
    assert runs_root() == notebooks / "runs" and runs_root().is_absolute()


def test_in_a_checkout_data_and_runs_stay_in_the_repository(monkeypatch):
    for name in ("KLIF_EDU_DATA", "KLIF_EDU_RUNS"):
        monkeypatch.delenv(name, raising=False)
    root = environment.source_root()
    assert data_root() == root / "data" and runs_root() == root / "runs"
    assert places.data_root_origin() == "the source checkout"


def test_environment_variables_win_and_are_expanded(installed, monkeypatch):
    home, _ = installed
    monkeypatch.setenv("KLIF_EDU_DATA", "/srv/klif-data")
    monkeypatch.setenv("KLIF_EDU_RUNS", "$HOME/klif-runs")  # as a JupyterHub spawner passes it, unexpanded
    assert data_root() == Path("/srv/klif-data") and places.data_root_origin() == "$KLIF_EDU_DATA"
    assert runs_root() == home / "klif-runs"
    assert data_root(home / "mine") == home / "mine"  # the argument wins over everything
    assert places.data_root_origin(home) == "the data_dir argument (--data-dir)"


def test_cli_help_states_the_real_default(installed, monkeypatch, capsys):
    home, _ = installed
    monkeypatch.setenv("COLUMNS", "400")  # argparse wraps long lines at hyphens
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["datasets", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "./data" not in text
    assert str(home / ".cache" / "klif-edu" / "data") in text and "user cache folder" in text
    monkeypatch.setenv("KLIF_EDU_DATA", "/srv/klif-data")
    assert places.data_dir_help() == "dataset folder (default: $KLIF_EDU_DATA, now /srv/klif-data)"


def test_writable_dir_asks_and_tries(tmp_path, monkeypatch):
    assert places.writable_dir(tmp_path)
    assert places.writable_dir(tmp_path / "not" / "made" / "yet")  # could be made
    assert not list(tmp_path.iterdir())  # the probe left nothing behind and made nothing
    (tmp_path / "a-file").write_text("x")
    assert not places.writable_dir(tmp_path / "a-file")
    ro = tmp_path / "share"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.geteuid() != 0:  # an ordinary user: the permission says it
            assert not places.writable_dir(ro)
        # root passes os.access: the probe must be the judge. Simulate the read-only mount it would hit.
        real_mkstemp = places.tempfile.mkstemp

        def refuse(dir=None, **kw):
            if Path(dir) == ro:
                raise OSError(30, "Read-only file system", str(dir))
            return real_mkstemp(dir=dir, **kw)

        monkeypatch.setattr(places.tempfile, "mkstemp", refuse)
        assert not places.writable_dir(ro) and not places.writable_dir(ro / "cache")
    finally:
        ro.chmod(stat.S_IRWXU)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (Linux)")
def test_a_folder_nobody_can_write_even_root_is_seen_as_read_only():
    """/proc passes os.access(W_OK) for root, but no file can be created there: the probe catches it."""
    assert not places.writable_dir("/proc")


def _share_with_events(tmp_path: Path, monkeypatch) -> Path:
    """A class share (KLIF_EDU_DATA) holding a copy of the shipped embedded event file."""
    from klif_edu.data.embedded import EVENTS_FILE

    share = tmp_path / "share"
    (share / "embedded").mkdir(parents=True)
    shipped = environment.source_root() / "data" / "embedded" / EVENTS_FILE
    (share / "embedded" / EVENTS_FILE).write_bytes(shipped.read_bytes())
    monkeypatch.setenv("KLIF_EDU_DATA", str(share))
    return share


def test_read_only_share_keeps_frames_in_the_user_cache(installed, tmp_path, monkeypatch):
    """KLIF_EDU_DATA on a read-only class share: frames are cached in the user's cache, nothing in the share."""
    home, _ = installed
    share = _share_with_events(tmp_path, monkeypatch)
    before = sorted(p.relative_to(share) for p in share.rglob("*"))
    monkeypatch.setattr(places, "writable_dir", lambda path: not Path(path).is_relative_to(share))
    ds = load_dataset("embedded-events", "test", time_steps=4)
    x, _ = ds[0]
    assert ds.cache_writes == 1 and x.shape[0] == 4
    assert sorted(p.relative_to(share) for p in share.rglob("*")) == before  # nothing written to the share
    cached = list((home / ".cache" / "klif-edu" / "frames").rglob("*.npz"))
    assert len(cached) == 1 and "embedded-events" in cached[0].parts
    with np.load(cached[0]) as npz:
        assert npz["frames"].shape[0] == 4
    # a second share gets its own cache folder; a writable data folder keeps its cache inside itself
    assert places.frame_cache_dir(share) != places.frame_cache_dir(tmp_path / "other-share")
    monkeypatch.undo()
    assert places.frame_cache_dir(tmp_path) == tmp_path / "cache"


def test_a_share_with_frames_built_by_the_teacher_is_read_not_rebuilt(installed, tmp_path, monkeypatch):
    """The teacher builds the frame cache into the share once (writable then); students read it, write nothing."""
    home, _ = installed
    share = _share_with_events(tmp_path, monkeypatch)
    teacher = load_dataset("embedded-events", "test", time_steps=4)
    built = [teacher[i][0] for i in range(3)]
    assert teacher.cache_writes == 3 and len(list((share / "cache").rglob("*.npz"))) == 3
    monkeypatch.setattr(places, "writable_dir", lambda path: not Path(path).is_relative_to(share))
    student = load_dataset("embedded-events", "test", time_steps=4)
    assert all(np.array_equal(student[i][0], built[i]) for i in range(3))
    assert student.cache_writes == 0 and not (home / ".cache" / "klif-edu" / "frames").exists()
    student[3]  # not in the share's cache: built and kept in the student's own cache
    assert student.cache_writes == 1 and len(list((share / "cache").rglob("*.npz"))) == 3
