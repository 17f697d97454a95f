"""Build step: the wheel carries the lessons. Everything else about the package is in pyproject.toml.

The repository keeps notebooks/, results/ and data/embedded/ at the top, where teachers see them; a
wheel needs them inside the package, so build_py copies them to klif_edu/_lessons/<kind>/ (the kinds of
klif_edu/resources.py), notebooks with their outputs stripped. An editable install reads the checkout.
"""
import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# kind (klif_edu/resources.py KINDS) -> (folder in the repository, its files); data/README.md carries the
# embedded data's licence (Fashion-MNIST, MIT), which must travel with the copies
LESSONS = {"notebooks": ("notebooks", ["[0-9][0-9]_*.ipynb"]), "results": ("results", ["*.*"]),
           "embedded": ("data", ["embedded/*.npz", "README.md"])}


def stripped(text: str) -> str:
    """A notebook without outputs, execution counts or widget state (as committed)."""
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.get("metadata", {}).pop("widgets", None)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


class BuildWithLessons(build_py):
    """build_py, then copy the lessons into the build's klif_edu/_lessons/."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds them in the checkout
        lessons = Path(self.build_lib) / "klif_edu" / "_lessons"
        shutil.rmtree(lessons, ignore_errors=True)  # a lesson renamed since the last build must not linger
        for kind, (folder, patterns) in LESSONS.items():
            files = sorted(p for pattern in patterns for p in (ROOT / folder).glob(pattern) if p.is_file())
            if not files:
                raise RuntimeError(f"no {kind} in {ROOT / folder}: a wheel without its lessons is useless")
            target = lessons / kind
            target.mkdir(parents=True, exist_ok=True)
            for path in files:
                if path.suffix == ".ipynb":
                    (target / path.name).write_text(stripped(path.read_text(encoding="utf-8")), encoding="utf-8")
                else:
                    (target / path.name).write_bytes(path.read_bytes())


setup(cmdclass={"build_py": BuildWithLessons})
