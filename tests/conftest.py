"""Shared test set-up.

Import shim: the repository folders ``cli/`` and ``data/samples/`` install as the packages
``nerveconduct_cli`` and ``nerveconduct_samples`` (pyproject ``package-dir``). CI installs the
project first, so both import normally. In a bare checkout they are made importable from a
temporary directory of symbolic links, which is also put on ``PYTHONPATH`` for subprocesses
(see the ``shim_pythonpath`` fixture).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_SHIMMED = {"nerveconduct_cli": REPO_ROOT / "cli", "nerveconduct_samples": REPO_ROOT / "data" / "samples"}


def _install_shim() -> str | None:
    missing = {name: src for name, src in _SHIMMED.items() if importlib.util.find_spec(name) is None}
    if not missing:
        return None
    folder = tempfile.mkdtemp(prefix="nerveconduct-shim-")
    atexit.register(shutil.rmtree, folder, True)
    for name, src in missing.items():
        os.symlink(src, os.path.join(folder, name), target_is_directory=True)
    sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return folder


_SHIM_DIR = _install_shim()


@pytest.fixture(scope="session")
def shim_pythonpath() -> str | None:
    """PYTHONPATH that lets a subprocess import this tree's nerveconduct, nerveconduct_cli and
    nerveconduct_samples (``None`` when they are installed and need no shim)."""
    if _SHIM_DIR is None:
        return None
    parts = [_SHIM_DIR, str(REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(parts)


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    """The batch tests' archive (``test_batch.make_archive``: ~120 varied simulated nerves),
    written once per session and only read; modules that need another one define their own."""
    from test_batch import make_archive

    return make_archive(tmp_path_factory.mktemp("population") / "population.h5")


@pytest.fixture
def stop_batch_after(monkeypatch):
    """``stop_batch_after(n)``: the next batch runs ``n`` chunk ranges, then raises
    ``KeyboardInterrupt`` as Ctrl-C would (undone with ``monkeypatch.undo()``)."""
    from nerveconduct.batch import task as batch_task

    def arm(n_ranges: int) -> None:
        real, calls = batch_task.process_chunk_range, []

        def stop(*args, **kwargs):
            calls.append(1)
            if len(calls) > n_ranges:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr("nerveconduct.batch.engine.process_chunk_range", stop)

    return arm


@pytest.fixture(autouse=True)
def _library_logger_restored():
    """Give every test the library logger as it was: a CLI command run in-process
    (``configure_logging``) stops its propagation to the root logger, where ``caplog`` listens,
    and sets its level; without this a later test's ``caplog`` would see nothing."""
    import logging

    logger = logging.getLogger("nerveconduct")
    state = (logger.propagate, logger.level, list(logger.handlers))
    yield
    logger.propagate, level, handlers = state
    logger.setLevel(level)
    logger.handlers[:] = handlers
