"""scripts/render_notebooks.py (the template renderer of notebooks 05-10) loaded as a module, for the tests."""
import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "scripts" / "render_notebooks.py"


def load():
    """A fresh module object of the renderer."""
    spec = importlib.util.spec_from_file_location("render_notebooks", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
