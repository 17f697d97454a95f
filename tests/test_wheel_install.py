"""The product a class receives: the wheel, installed away from the checkout, copies out its lessons and runs them.

Builds the wheel, installs it with its dependencies into its own virtual environment (no system
site-packages; cached between runs, see tests/wheel_venv.py), runs `klif-edu notebooks DIR` from a folder
outside the checkout, executes notebooks 01, 04 and 12 from DIR in test mode, and checks that a second
`klif-edu notebooks DIR` keeps a student's edit. About 1-2 minutes with the cached environment; the
first run (or KLIF_EDU_WHEEL_FRESH=1) adds about 2 minutes to create it.
"""
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

import wheel_venv

NOTEBOOKS = ["01_lif_neuron.ipynb", "04_build_a_network.ipynb", "12_klif_vs_lif_study.ipynb"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    assert wheel_venv.ROOT not in work.parents
    wheel = wheel_venv.build_wheel(work / "dist")
    steps = wheel_venv.install(wheel, fresh=os.environ.get("KLIF_EDU_WHEEL_FRESH") == "1")
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size / 2**20:.2f} MiB; install steps: {steps}")
    return wheel, Path(steps["venv"]), work


def test_wheel_carries_every_lesson_file(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    root = wheel_venv.ROOT
    for folder, pattern, kind in (("notebooks", "[0-9][0-9]_*.ipynb", "notebooks"), ("results", "*.*", "results"),
                                  ("data/embedded", "*.npz", "embedded")):
        files = sorted(p.name for p in (root / folder).glob(pattern))
        assert files, folder
        for name in files:
            assert f"klif_edu/_lessons/{kind}/{name}" in names, f"the wheel lacks {folder}/{name}"
    assert "klif_edu/_lessons/embedded/README.md" in names  # the embedded data's licence travels with it
    with zipfile.ZipFile(wheel) as z:
        nb = json.loads(z.read("klif_edu/_lessons/notebooks/01_lif_neuron.ipynb"))
    assert all(c.get("outputs", []) == [] for c in nb["cells"])


def test_installed_wheel_copies_and_runs_the_lessons_without_the_checkout(installed):
    _, venv, work = installed
    env = wheel_venv.clean_env(work)
    env["PATH"] = str(wheel_venv.venv_script(venv, "klif-edu").parent) + os.pathsep + env.get("PATH", "")
    klif_edu = str(wheel_venv.venv_script(venv, "klif-edu"))
    student = work / "student"
    student.mkdir()
    dest = student / "lessons"
    done = subprocess.run([klif_edu, "notebooks", str(dest)], cwd=student, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "copied: 01_lif_neuron.ipynb" in done.stdout
    copied = sorted(p.name for p in dest.glob("*.ipynb"))
    assert copied == sorted(p.name for p in (wheel_venv.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

    results = wheel_venv.run_notebooks(venv, dest, NOTEBOOKS, env)
    print(json.dumps({n: {k: v for k, v in r.items() if k != "text"} for n, r in results.items()}, indent=1))
    for name in NOTEBOOKS:
        r = results[name]
        assert r["error"] is None, f"{name}: {r['error']}"
        here = Path(r["KLIF_EDU_FILE"]).resolve()
        assert venv.resolve() in here.parents, f"{name} imported klif_edu from {here}, not the installed wheel"
        assert wheel_venv.ROOT not in here.parents
        assert Path(r["PYTHON"]).parent.parent.resolve() == venv.resolve()
        assert r["setup_output"].startswith("klif-edu "), r["setup_output"]  # no version warning, no install
    assert results["01_lif_neuron.ipynb"]["first_figure_s"] is not None
    # notebook 12 showed the committed studies shipped in the package (no stand-in study)
    text = results["12_klif_vs_lif_study.ipynb"]["text"]
    assert "is not here" not in text and "KLIF's learned k, mean over seeds" in text

    # a student's edit survives a second copy
    edited = dest / "01_lif_neuron.ipynb"
    nb = json.loads(edited.read_text(encoding="utf-8"))
    nb["cells"][2]["source"] = "# my own notes\n" + "".join(nb["cells"][2]["source"])
    edited.write_text(json.dumps(nb), encoding="utf-8")
    before = edited.read_bytes()
    again = subprocess.run([klif_edu, "notebooks", str(dest)], cwd=student, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert edited.read_bytes() == before
    assert "kept as you changed them: 01_lif_neuron.ipynb" in again.stdout
