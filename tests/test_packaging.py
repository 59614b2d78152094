"""The installed package holds every module and data file of the checkout.

``pyproject.toml`` lists packages and package data explicitly (``include-package-data =
false``): a new subpackage or data file missing from those lists works in the checkout and
breaks after ``pip install .`` (CI installs; users install). These tests compare the lists with
the tree.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
_DIRS = {name: ROOT / folder for name, folder in _CONFIG["package-dir"].items()}
#: Files of the tree that are not shipped on purpose.
_NOT_SHIPPED = ("*.py", "*.pyc", "*.nbi", "*.nbc", "README*", ".gitignore")


def _package_folder(package: str) -> Path:
    top, _, rest = package.partition(".")
    return _DIRS[top].joinpath(*rest.split(".")) if rest else _DIRS[top]


def _packages_in_tree() -> set[str]:
    found = set()
    for top, folder in _DIRS.items():
        for init in folder.rglob("__init__.py"):
            rel = init.parent.relative_to(folder).parts
            if "__pycache__" not in rel:
                found.add(".".join((top, *rel)))
    return found


def test_every_package_of_the_tree_is_listed() -> None:
    listed = set(_CONFIG["packages"])
    assert _packages_in_tree() - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - _packages_in_tree() == set(), "listed packages without an __init__.py"


def test_every_data_file_of_a_package_is_shipped() -> None:
    data = _CONFIG.get("package-data", {})
    missing = []
    for package in _CONFIG["packages"]:
        folder = _package_folder(package)
        for path in folder.rglob("*"):
            rel = path.relative_to(folder)
            if (not path.is_file() or "__pycache__" in rel.parts
                    or any(fnmatch.fnmatch(path.name, pat) for pat in _NOT_SHIPPED)):
                continue
            if any((folder.joinpath(*rel.parts[:i]) / "__init__.py").exists()
                   for i in range(1, len(rel.parts))):
                continue  # belongs to a subpackage, checked there
            if not any(fnmatch.fnmatch(rel.as_posix(), pat) for pat in data.get(package, ())):
                missing.append(f"{package}: {rel.as_posix()}")
    assert missing == [], "add these to [tool.setuptools.package-data]"
