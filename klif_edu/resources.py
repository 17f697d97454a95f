"""Where the files a lesson reads are: the package's own copy when installed, the checkout when editable.

    notebooks_dir()                 # the lesson notebooks (01_lif_neuron.ipynb ...)
    resource_path("results", "study_fashion_mnist.json")   # a committed study
    resource_path("embedded", "fashion_mnist_subset.npz")  # the offline data

A wheel carries them as package data under klif_edu/_lessons/ (setup.py's build step copies the
repository's notebooks/, results/ and data/embedded/ there). Its presence is what makes an install
"installed": then the repository is never looked for. Without it (a source checkout, editable install)
the same files are read where the repository keeps them.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["KINDS", "PACKAGED", "ResourceMissing", "packaged_root", "resource_dir", "resource_path", "notebooks_dir"]

PACKAGED = "_lessons"
# kind -> folder in the repository (the wheel keeps each kind under klif_edu/_lessons/<kind>)
KINDS = {"notebooks": Path("notebooks"), "results": Path("results"), "embedded": Path("data") / "embedded"}


class ResourceMissing(FileNotFoundError):
    """A lesson file is neither in the installed package nor in a source checkout; str() says what to do."""


def packaged_root() -> Path | None:
    """klif_edu/_lessons of an installed wheel, or None (a source checkout or an editable install)."""
    root = resources.files("klif_edu") / PACKAGED
    # A wheel installed by pip is unpacked on disk, so the Traversable is a real Path.
    return root if isinstance(root, Path) and root.is_dir() else None


def resource_dir(kind: str) -> Path:
    """The folder of one kind of lesson file: the package's copy when installed, else the checkout's."""
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}; choose one of: {', '.join(KINDS)}")
    packaged = packaged_root()
    if packaged is not None:
        return packaged / kind
    from .environment import source_root

    root = source_root()
    if root is None:
        raise ResourceMissing(
            f"klif-edu's {kind} are not in this install (no klif_edu/{PACKAGED}/ and no source checkout).\n"
            "To fix: install klif-edu from its wheel (`pip install klif-edu`, or `pip install .` in the "
            "repository), or use an editable install of a checkout (`pip install -e .`).")
    return root / KINDS[kind]


def resource_path(kind: str, name: str) -> Path:
    """One lesson file (``kind`` in KINDS); ResourceMissing says where it was looked for."""
    path = resource_dir(kind) / name
    if not path.is_file():
        raise ResourceMissing(f"{name} is not among klif-edu's {kind} (looked in {path.parent})")
    return path


def notebooks_dir() -> Path:
    """The folder of the lesson notebooks shipped with this klif-edu."""
    return resource_dir("notebooks")
