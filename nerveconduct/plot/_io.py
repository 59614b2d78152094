"""Atomic file writing shared by :func:`nerveconduct.plot.nerve.save_figure` and the HTML report.

The content goes to a temporary file in the target folder, which is then moved into place
with :func:`os.replace`: a reader sees the old file or the complete new one, never a part.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

__all__ = ["atomic_write"]


def _default_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 minus the process umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None], *,
                 overwrite: bool = True) -> Path:
    """Write a file atomically: ``write(fh)`` fills a temporary binary file, then it replaces ``path``.

    Parameters
    ----------
    path : str or PathLike
        Target file; its folder must exist.
    write : callable
        Called with the open temporary file (binary mode).
    overwrite : bool, default True
        When False, an existing ``path`` (before or after writing) raises.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False (the message names it).
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    out = Path(path)
    if not overwrite and out.exists():
        raise FileExistsError(f"{str(out)!r} exists: pass overwrite=True (CLI: --overwrite) to replace it")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {str(out)!r}: folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
    done = False
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, out.stat().st_mode & 0o777 if out.exists() else _default_mode())
        if not overwrite and out.exists():  # appeared while we were writing
            raise FileExistsError(f"{str(out)!r} exists: pass overwrite=True (CLI: --overwrite) to replace it")
        os.replace(tmp, out)
        done = True
    finally:
        if not done:
            Path(tmp).unlink(missing_ok=True)
    return out
