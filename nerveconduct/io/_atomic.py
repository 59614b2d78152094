"""One atomic file writer for every io writer: :func:`atomic_write`.

A reader of the target sees the old file or the complete new one, never a part: the data go
to a temporary file in the same folder, are flushed and fsynced, and the temporary file is
renamed over the target (:func:`os.replace`, atomic on POSIX and Windows within one file
system). On any error the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_path"]

#: Permission bits of a new file (``mkstemp`` creates 0600; outputs are ordinary files).
_NEW_FILE_MODE = 0o644


def _check_target(target: Path, overwrite: bool) -> int | None:
    """Permission bits to keep (``None`` for a new file); refuse what cannot be replaced."""
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory, not a file")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"folder {target.parent} does not exist")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return None
    if not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    return mode


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    For writers that open the file themselves (HDF5). The temporary file exists (empty)
    when the block starts; it is fsynced and renamed when the block ends without error,
    removed otherwise.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    FileNotFoundError, IsADirectoryError
        The folder does not exist, or ``path`` is a directory.
    """
    target = Path(path)
    mode = _check_target(target, overwrite)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # the writer closed it: make its data durable
            os.fsync(fh.fileno())
        os.chmod(tmp, _NEW_FILE_MODE if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, mode: str = "w", overwrite: bool = False,
                 encoding: str | None = "utf-8", newline: str | None = None) -> Iterator[IO[Any]]:
    """Open ``path`` for writing through a temporary file that replaces it atomically.

    Parameters
    ----------
    path : path-like
        The file to write.
    mode : {"w", "wb"}
        Text or binary.
    overwrite : bool, default False
        Replace an existing file (keeping its permission bits); otherwise an existing file
        is refused.
    encoding, newline : str, optional
        For text mode (default UTF-8, newlines as written).

    Yields
    ------
    file object
        Write to it; when the block ends without error the data are flushed, fsynced and
        renamed over ``path``. On any error the temporary file is removed and ``path`` is
        left as it was.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        ``mode`` is not "w" or "wb".

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(p) as fh:
    ...     _ = fh.write("hello")
    >>> p.read_text()
    'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path, overwrite=overwrite) as tmp:
        kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows fsync on a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        with suppress(OSError):  # some file systems refuse fsync on a directory
            os.fsync(fd)
    finally:
        os.close(fd)
