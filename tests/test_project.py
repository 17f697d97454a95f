"""Project set-up stays consistent: one dependency list, the README's commands exist."""
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment_yml():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_yml_installs_this_package_with_existing_extras():
    env = _environment_yml()
    deps = env["dependencies"]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    (line,) = pip_sections[0]
    m = re.fullmatch(r"-e \.\[([a-z,]+)\]", line)
    assert m, f"the pip section must install this package (-e .[extras]), got {line!r}"
    extras = set(m.group(1).split(","))
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"]), extras


def test_environment_yml_lists_no_second_set_of_versions():
    conda = [d for d in _environment_yml()["dependencies"] if isinstance(d, str)]
    names = {re.split(r"[<>=!~ ]", d)[0] for d in conda}
    assert names == {"python", "pip"}, f"dependencies belong in pyproject.toml, not here: {conda}"
    (python,) = [d for d in conda if d.startswith("python")]
    assert python.replace("python", "") == PYPROJECT["project"]["requires-python"]


def test_console_script_and_module_entry_point():
    assert PYPROJECT["project"]["scripts"]["klif-edu"] == "klif_edu.cli:main"
    assert (ROOT / "klif_edu" / "__main__.py").exists()


def test_makefile_targets_create_the_venv_and_install():
    text = (ROOT / "Makefile").read_text()
    for target in ("demo:", "test:", "lab:"):
        assert re.search(rf"^{target}", text, re.M), target
    assert "-m venv" in text and "pip install" in text
    # torch is pinned to the release kept on this machine's disk (no download), overridable
    assert re.search(r"^TORCH_SPEC \?= torch==\S+ torchvision==\S+", text, re.M)


def test_ci_runs_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in text and re.search(r"^make test$", text, re.M)


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make test" in text and "make demo" in text
