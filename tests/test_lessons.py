"""`klif-edu notebooks` / `lab` and the lookup of lesson files (installed package or checkout)."""
import json
import shutil
import sys
from pathlib import Path

import pytest

import klif_edu
from klif_edu import cli, lessons, resources
from klif_edu.environment import source_root
from klif_edu.lessons import META_KEY, copy_notebooks, fingerprint, list_lessons, open_lab

ROOT = Path(__file__).resolve().parents[1]
SERIES = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _nb(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _edit(path, text="# my notes\n"):
    nb = _nb(path)
    nb["cells"][2]["source"] = text + "".join(nb["cells"][2]["source"])
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture
def package(tmp_path):
    """A copy of the shipped notebooks, standing in for a package whose notebooks may change."""
    src = tmp_path / "package"
    src.mkdir()
    for name in SERIES[:3]:
        shutil.copy(ROOT / "notebooks" / name, src / name)
    return src


def test_copy_records_the_version_and_a_second_copy_changes_nothing(tmp_path):
    dest = tmp_path / "lessons"
    report = copy_notebooks(dest)
    assert report.copied == SERIES and sorted(p.name for p in dest.iterdir()) == SERIES
    nb = _nb(dest / SERIES[0])
    assert nb["metadata"][META_KEY]["version"] == klif_edu.__version__
    assert nb["metadata"][META_KEY]["fingerprint"] == fingerprint(_nb(ROOT / "notebooks" / SERIES[0]))
    again = copy_notebooks(dest)
    assert again.unchanged == SERIES and not (again.copied or again.updated or again.kept)


def test_an_edited_or_run_notebook_is_kept_and_a_missing_one_added(tmp_path, package):
    dest = tmp_path / "lessons"
    copy_notebooks(dest, source=package)
    a, b, c = sorted(dest.glob("*.ipynb"))
    _edit(a)
    ran = _nb(b)
    ran["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    b.write_text(json.dumps(ran), encoding="utf-8")
    c.unlink()
    before = a.read_bytes(), b.read_bytes()
    report = copy_notebooks(dest, source=package)
    assert (a.read_bytes(), b.read_bytes()) == before
    assert report.kept == [a.name, b.name] and report.copied == [c.name] and not report.beside
    assert sorted(p.name for p in dest.iterdir()) == [a.name, b.name, c.name]  # nothing written beside


def test_a_newer_package_updates_untouched_copies_and_writes_beside_edited_ones(tmp_path, package, monkeypatch):
    dest = tmp_path / "lessons"
    copy_notebooks(dest, source=package)
    a, b, _ = sorted(dest.glob("*.ipynb"))
    _edit(a, "# mine\n")
    mine = a.read_bytes()
    for path in package.glob("*.ipynb"):  # the next release changed every notebook
        _edit(path, "# new in 9.9\n")
    monkeypatch.setattr(klif_edu, "__version__", "9.9.0")
    report = copy_notebooks(dest, source=package)
    assert a.read_bytes() == mine
    beside = dest / f"{a.stem}.klif-edu-9.9.0.ipynb"
    assert report.beside == {a.name: beside.name} and beside.is_file()
    assert "# new in 9.9" in "".join(_nb(beside)["cells"][2]["source"])
    assert _nb(beside)["metadata"][META_KEY]["version"] == "9.9.0"
    assert b.name in report.updated and "# new in 9.9" in "".join(_nb(b)["cells"][2]["source"])
    assert any("is yours (changed); the newer version of it is in" in line for line in report.lines())
    # a third run writes nothing more
    third = copy_notebooks(dest, source=package)
    assert third.beside == {a.name: beside.name} and a.read_bytes() == mine and len(list(dest.iterdir())) == 4


def test_a_new_release_that_did_not_change_an_edited_notebook_writes_nothing_beside(tmp_path, package, monkeypatch):
    dest = tmp_path / "lessons"
    copy_notebooks(dest, source=package)
    a = sorted(dest.glob("*.ipynb"))[0]
    _edit(a)
    monkeypatch.setattr(klif_edu, "__version__", "9.9.0")
    report = copy_notebooks(dest, source=package)
    assert a.name in report.kept and not report.beside and len(list(dest.iterdir())) == 3


def test_an_unreadable_file_is_never_overwritten(tmp_path, package):
    dest = tmp_path / "lessons"
    dest.mkdir()
    name = sorted(p.name for p in package.glob("*.ipynb"))[0]
    (dest / name).write_text("not a notebook", encoding="utf-8")
    report = copy_notebooks(dest, source=package)
    assert (dest / name).read_text(encoding="utf-8") == "not a notebook"
    assert name in report.kept and name in report.beside


def test_list_shows_title_minutes_gpu_and_download():
    series = list_lessons()
    assert [s.name for s in series] == SERIES
    by_name = {s.name: s for s in series}
    first = by_name["01_lif_neuron.ipynb"]
    assert first.minutes == 25 and first.title.startswith("01 · ") and first.gpu == "no" and not first.download_bytes
    fashion = by_name["06_fashion_mnist.ipynb"]
    assert fashion.dataset == "fashion-mnist" and fashion.download_bytes > 0 and fashion.gpu != "no"
    assert "downloads fashion-mnist" in fashion.line() and "30 min" in fashion.line()


def test_cli_notebooks_list_and_copy(tmp_path, capsys, monkeypatch):
    assert cli.main(["notebooks", "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in out[:-1]] == SERIES and out[-1].startswith(f"{len(SERIES)} notebooks")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["notebooks"]) == 0  # default destination
    assert sorted(p.name for p in (tmp_path / lessons.DEFAULT_DEST).iterdir()) == SERIES
    (tmp_path / "afile").write_text("x")
    assert cli.main(["notebooks", "afile"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_lab_copies_then_starts_jupyterlab_in_the_folder(tmp_path):
    calls = []
    report = open_lab(tmp_path / "lessons", launcher=calls.append, say=lambda line: None)
    assert report.copied == SERIES
    (argv,) = calls
    assert argv[0] == f"--ServerApp.root_dir={(tmp_path / 'lessons').resolve()}"
    assert argv[1].endswith("01_lif_neuron.ipynb")
    open_lab(tmp_path / "lessons", launcher=calls.append, say=lambda line: None)
    assert len(calls) == 2  # a second time: nothing copied, JupyterLab still opens


def test_cli_lab_without_jupyterlab_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "jupyterlab", None)
    assert cli.main(["lab", str(tmp_path / "lessons")]) == 2
    assert 'pip install "klif-edu[notebooks]"' in capsys.readouterr().err


def test_cli_lab_uses_the_real_launcher_entry(tmp_path, monkeypatch):
    pytest.importorskip("jupyterlab")
    from jupyterlab.labapp import LabApp

    seen = []
    monkeypatch.setattr(LabApp, "launch_instance", classmethod(lambda cls, argv=None: seen.append(argv)))
    assert cli.main(["lab", str(tmp_path / "lessons")]) == 0
    assert seen and seen[0][0].startswith("--ServerApp.root_dir=")


def test_checkout_route_reads_the_repository():
    assert resources.packaged_root() is None and source_root() == ROOT
    assert resources.notebooks_dir() == ROOT / "notebooks"
    assert resources.resource_path("embedded", "fashion_mnist_subset.npz") == ROOT / "data/embedded/fashion_mnist_subset.npz"
    with pytest.raises(ValueError, match="unknown resource kind"):
        resources.resource_dir("figures")


def test_installed_route_never_looks_for_the_repository(tmp_path, monkeypatch):
    packaged = tmp_path / "_lessons"
    for kind, folder in resources.KINDS.items():
        shutil.copytree(ROOT / folder, packaged / kind, ignore=shutil.ignore_patterns("_source", "README.md"))
    monkeypatch.setattr(resources, "packaged_root", lambda: packaged)
    assert source_root() is None
    assert resources.notebooks_dir() == packaged / "notebooks"
    from klif_edu.data.embedded import IMAGES_FILE, embedded_file
    from klif_edu.study import COMMITTED, committed_study

    monkeypatch.setenv("KLIF_EDU_DATA", str(tmp_path / "data"))
    assert embedded_file(IMAGES_FILE) == packaged / "embedded" / IMAGES_FILE
    assert committed_study(COMMITTED)["format"] == "klif-edu-study"
    (packaged / "results" / COMMITTED.name).unlink()
    assert committed_study(COMMITTED) is None
    with pytest.raises(resources.ResourceMissing, match="not among klif-edu's results"):
        resources.resource_path("results", COMMITTED.name)


def test_no_install_and_no_checkout_says_how_to_fix(monkeypatch):
    monkeypatch.setattr(resources, "packaged_root", lambda: None)
    monkeypatch.setattr("klif_edu.environment.source_root", lambda: None)
    with pytest.raises(resources.ResourceMissing, match="install klif-edu from its wheel"):
        resources.notebooks_dir()


def test_library_shells_out_to_nothing():
    """No POSIX tools (or any other program) run from the library: it must work on Windows too."""
    for path in (ROOT / "klif_edu").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in ("subprocess", "os.system", "os.popen", "shutil.which"):
            assert call not in text, f"{path.relative_to(ROOT)} uses {call}"
