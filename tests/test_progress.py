"""Exercise results a teacher can collect: check() keeps its verdicts, `klif-edu progress` tabulates them."""
import json
import os
import threading
from pathlib import Path

import pytest

from klif_edu import progress
from klif_edu.cli import main
from klif_edu.exercises import EXERCISES, check, names, results
from klif_edu.exercises.results import RESULTS_FILE, ResultsUnreadable, read_results, record


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's notebooks folder as the kernel's cwd, with the default results file (not the tests' "off")."""
    folder = tmp_path / "class" / "alice" / "klif-edu-notebooks"
    folder.mkdir(parents=True)
    (folder / "01_lif_neuron.ipynb").write_text("{}")
    monkeypatch.delenv("KLIF_EDU_RESULTS", raising=False)
    monkeypatch.chdir(folder)
    return folder


def _right(name):
    return EXERCISES[name].answer()


def test_check_keeps_each_verdict_beside_the_notebook(student, capsys):
    assert check("01.first_spike", _right("01.first_spike")) is True
    assert check("01.beta", EXERCISES["01.beta"].wrong_example) is False
    assert check("03.k_slope", None) is False
    kept = read_results(student / RESULTS_FILE)
    assert {n: e["status"] for n, e in kept.items()} == {
        "01.first_spike": "right", "01.beta": "wrong", "03.k_slope": "not attempted"}
    assert kept["01.beta"]["attempts"] == 1 and kept["01.beta"]["time"].endswith("Z")
    # right after wrong: the latest verdict counts, attempts add up
    check("01.beta", _right("01.beta"))
    # an empty answer cell run again never erases an attempt
    check("01.beta", None)
    kept = read_results(student / RESULTS_FILE)
    assert kept["01.beta"]["status"] == "right" and kept["01.beta"]["attempts"] == 2
    assert "right" in capsys.readouterr().out  # the student still sees the verdicts


def test_strict_checks_and_unknown_names_keep_nothing(student):
    check("01.first_spike", _right("01.first_spike"), strict=True)
    check("no.such_exercise", 1.0)
    assert not (student / RESULTS_FILE).exists()


def test_results_env_names_the_file_or_turns_it_off(student, monkeypatch, tmp_path):
    monkeypatch.setenv("KLIF_EDU_RESULTS", str(tmp_path / "elsewhere.json"))
    check("01.first_spike", 3)
    assert (tmp_path / "elsewhere.json").is_file() and not (student / RESULTS_FILE).exists()
    monkeypatch.setenv("KLIF_EDU_RESULTS", "off")
    assert results.results_path() is None and record("01.beta", "right") is False


def test_keeping_a_record_never_raises_into_the_notebook(student, monkeypatch, capsys):
    """A read-only folder, a full disk, a damaged file: the verdict is printed, nothing is raised."""
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results, "atomic_open", no_space)
    assert check("01.first_spike", _right("01.first_spike")) is True
    assert "right, well done" in capsys.readouterr().out
    assert record("01.first_spike", "right") is False
    monkeypatch.undo()
    monkeypatch.chdir(student)
    monkeypatch.delenv("KLIF_EDU_RESULTS", raising=False)
    (student / RESULTS_FILE).write_text("{ not json")
    assert record("01.first_spike", "right") is True  # a damaged file is replaced by a good one
    assert read_results(student / RESULTS_FILE)["01.first_spike"]["status"] == "right"
    assert not list(student.glob(".*lock")) and not list(student.glob("*.tmp"))


def test_two_kernels_checking_at_once_lose_nothing(student):
    """Concurrent writers (two notebooks open): every exercise ends up in the file."""
    some = names()[:12]
    threads = [threading.Thread(target=record, args=(n, "wrong")) for n in some]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(read_results(student / RESULTS_FILE)) == set(some)


def test_a_stale_lock_of_a_killed_kernel_is_taken_over(student):
    lock = student / f".{RESULTS_FILE}.lock"
    lock.touch()
    old = lock.stat().st_mtime - 3600
    os.utime(lock, (old, old))
    assert record("01.beta", "right") is True and not lock.exists()


def _class(tmp_path):
    """A JupyterHub-like /home: two students with results, one without, one's file one level deeper."""
    home = tmp_path / "home"
    for who, answers in (("alice", {"01.first_spike": "right", "01.beta": "wrong", "12.paired_mean": "right"}),
                         ("bob", {"02.hand_grad": "right"})):
        path = home / who / "klif-edu-notebooks" / RESULTS_FILE
        for name, status in answers.items():
            assert record(name, status, path)
    (home / "carol" / "klif-edu-notebooks").mkdir(parents=True)
    return home


def test_progress_tabulates_a_class(tmp_path, capsys):
    home = _class(tmp_path)
    assert main(["progress", str(home)]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    n01, n12 = len(names("01")), len(names("12"))
    assert f"R1 W1 N{n01 - 2}" in lines["alice/klif-edu-notebooks"]
    assert f"R1 W0 N{n12 - 1}" in lines["alice/klif-edu-notebooks"]
    assert lines["alice/klif-edu-notebooks"].endswith(f"2/{len(EXERCISES)}")
    assert lines["bob/klif-edu-notebooks"].endswith(f"1/{len(EXERCISES)}")
    assert "carol" not in out  # no file, no row


def test_progress_of_one_student_names_the_exercises(tmp_path, capsys):
    folder = _class(tmp_path) / "alice" / "klif-edu-notebooks"
    (folder / "01_lif_neuron.ipynb").write_text("{}")
    assert main(["progress", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "2 of" in out and "01_lif_neuron: 1/" in out
    assert "right: 01.first_spike" in out and "wrong: 01.beta" in out
    not_attempted = [n for n in names("01") if n not in ("01.first_spike", "01.beta")]
    assert f"not attempted: {', '.join(not_attempted)}" in out


def test_progress_csv(tmp_path, capsys):
    home = _class(tmp_path)
    assert main(["progress", str(home / "alice"), str(home / "bob"), "--csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "student,notebook,exercise,status" and len(rows) == 1 + 2 * len(EXERCISES)
    assert "klif-edu-notebooks,01,01.beta,wrong" in rows


# A catalogue of damaged and foreign files a teacher's folder may hold: none may crash progress.
_DAMAGED = {
    "garbage": b"this is not json",
    "empty": b"",
    "not utf-8": b"\xff\xfe\x00\x81" * 10,
    "a json list": b"[1, 2, 3]",
    "foreign json": json.dumps({"name": "some other tool", "exercises": {}}).encode(),
    "exercises not a table": json.dumps({"format": results.FORMAT, "exercises": [1, 2]}).encode(),
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "too large": b" " * (results.MAX_BYTES + 1),
    "NaN and odd entries": (b'{"format": "klif-edu-exercise-results", "exercises": {"01.beta": NaN, '
                            b'"01.first_spike": {"status": "maybe"}, "02.hand_grad": {"status": "right", '
                            b'"attempts": "many"}, "from.the_future": {"status": "right"}}}'),
}


@pytest.mark.parametrize("case", sorted(_DAMAGED))
def test_read_results_rejects_or_cleans_damaged_files(tmp_path, case):
    path = tmp_path / RESULTS_FILE
    path.write_bytes(_DAMAGED[case])
    if case == "NaN and odd entries":  # the file is ours: its good entries are kept, the rest dropped
        assert read_results(path) == {"02.hand_grad": {"status": "right", "time": "", "attempts": 0},
                                      "from.the_future": {"status": "right", "time": "", "attempts": 0}}
        return
    with pytest.raises(ResultsUnreadable, match=str(tmp_path)):
        read_results(path)


def test_progress_survives_a_folder_of_damaged_and_foreign_files(tmp_path, capsys, monkeypatch):
    home = _class(tmp_path)
    for i, case in enumerate(sorted(_DAMAGED)):
        folder = home / f"damaged{i}"
        folder.mkdir()
        (folder / RESULTS_FILE).write_bytes(_DAMAGED[case])
    (home / "dir-named-like-the-file" / RESULTS_FILE).mkdir(parents=True)
    (home / "dangling").mkdir()
    (home / "dangling" / RESULTS_FILE).symlink_to(home / "nowhere.json")
    (home / "loop").mkdir()
    (home / "loop" / "again").symlink_to(home / "loop")  # a symlink loop: os.walk must not follow it
    (home / "unreadable").mkdir()
    record("01.beta", "right", home / "unreadable" / RESULTS_FILE)
    (home / "notes.txt").write_text("a file where a student folder would be")
    (home / ".hidden" / "x").mkdir(parents=True)
    record("01.beta", "right", home / ".hidden" / "x" / RESULTS_FILE)  # hidden folders are not searched
    (home / "deep" / "a" / "b" / "c").mkdir(parents=True)
    record("01.beta", "right", home / "deep" / "a" / "b" / "c" / RESULTS_FILE)  # 4 down: too deep
    real = Path.read_bytes

    def denied(self):  # root can read anything: simulate a file the teacher may not read
        if self.parent.name == "unreadable":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert main(["progress", str(home)]) == 0
    out = capsys.readouterr().out
    assert "alice/klif-edu-notebooks" in out and "bob/klif-edu-notebooks" in out
    unreadable = [ln for ln in out.splitlines() if "unreadable (" in ln]
    assert len(unreadable) == len(_DAMAGED) - 1 + 3  # every damaged file but the cleanable one; dir, link, denied
    assert any("PermissionError" in ln for ln in unreadable)
    assert "hidden" not in out and "deep" not in out
    cleaned = next(ln for ln in out.splitlines() if ln.startswith(f"damaged{sorted(_DAMAGED).index('NaN and odd entries')} "))
    assert cleaned.endswith("(+1 unknown)")


def test_progress_errors_are_one_line(tmp_path, capsys):
    assert main(["progress", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["progress", str(tmp_path)]) == 1
    assert "no exercise results under" in capsys.readouterr().err


def test_find_results_respects_the_depth(tmp_path):
    for parts in (("a",), ("a", "b"), ("a", "b", "c"), ("a", "b", "c", "d")):
        record("01.beta", "right", tmp_path.joinpath(*parts, RESULTS_FILE))
    assert len(progress.find_results([tmp_path])) == 3
