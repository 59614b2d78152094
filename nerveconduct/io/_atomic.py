"""One atomic file writer for every output of nerveconduct: :func:`atomic_write`.

Used by the file writers (EDF, text exports, the HDF5 archive), figures and the HTML
report, the command line's result files and the batch engine's final output.

A reader of the target sees the old file or the complete new one, never a part: the data go
to a temporary file in the same folder, are flushed and fsynced, and the temporary file is
renamed over the target (:func:`os.replace`, atomic on POSIX and Windows within one file
system). On any error the temporary file is removed and the target is untouched. Replacing
a file keeps its permission bits; a new file gets the bits ``open()`` would give it (0666
minus the umask). Without ``overwrite`` a target that appears while the data are written is
not clobbered either: the commit is a hard link, which refuses an existing name.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_path", "commit_file", "check_target"]

#: Errors of :func:`os.link` on file systems without hard links (then: check and rename).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
             errno.ENOSYS}


def _new_file_mode() -> int:
    """The permission bits ``open()`` gives a new file: 0666 minus the process umask.

    (``mkstemp`` creates 0600; outputs are ordinary files.)
    """
    try:  # Linux: read the umask without changing it (os.umask would, for all threads)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass  # not Linux, or no /proc: fall through to the portable way
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def check_target(target: str | os.PathLike[str], *, overwrite: bool) -> int | None:
    """Permission bits to keep (``None`` for a new file); refuse what cannot be replaced.

    Writers that take long before they write call it first, to fail early.

    Raises
    ------
    FileExistsError
        ``target`` exists and ``overwrite`` is False.
    FileNotFoundError, IsADirectoryError
        The folder does not exist, or ``target`` is a directory.
    """
    target = Path(target)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory, not a file")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: folder {target.parent} does not exist")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return None
    if not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    return mode


def _exists_error(target: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, "exists (it appeared while writing), not overwritten; "
                           "pass overwrite=True to replace it", str(target))


def _commit(tmp: Path, target: Path, *, overwrite: bool, mode: int | None) -> None:
    """Give ``tmp`` (written and fsynced) its mode and move it onto ``target`` atomically."""
    os.chmod(tmp, _new_file_mode() if mode is None else mode)
    if overwrite:
        os.replace(tmp, target)
    else:
        try:
            os.link(tmp, target)  # atomic, and refuses a target created meanwhile
        except FileExistsError:
            raise _exists_error(target) from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if target.exists():  # no hard links here: check, then rename
                raise _exists_error(target) from None
            os.replace(tmp, target)
        else:
            tmp.unlink()
    _fsync_folder(target.parent)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def commit_file(source: str | os.PathLike[str], path: str | os.PathLike[str], *,
                overwrite: bool = False) -> Path:
    """Move a finished file onto ``path`` atomically: fsync it, keep the target's mode, rename.

    For writers that build their output in a file of their own (the batch engine's resumable
    partial output). ``source`` must be in the folder of ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False (``source`` is left as it is).
    FileNotFoundError, IsADirectoryError
        The folder does not exist, or ``path`` is a directory.
    """
    src, target = Path(source), Path(path)
    mode = check_target(target, overwrite=overwrite)
    _fsync_file(src)
    _commit(src, target, overwrite=overwrite, mode=mode)
    return target


def _temporary(target: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent)
    except OSError as exc:  # name the file the user asked for, not our temporary file
        raise type(exc)(exc.errno, f"cannot create the output file ({exc.strerror})",
                        str(target)) from None
    os.close(fd)
    return Path(name)


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    For writers that open the file themselves (HDF5). The temporary file exists (empty)
    when the block starts; it is fsynced and renamed when the block ends without error,
    removed otherwise.

    Raises
    ------
    FileExistsError
        ``path`` exists (or appeared meanwhile) and ``overwrite`` is False.
    FileNotFoundError, IsADirectoryError
        The folder does not exist, or ``path`` is a directory.
    """
    target = Path(path)
    mode = check_target(target, overwrite=overwrite)
    tmp = _temporary(target)
    try:
        yield tmp
        _fsync_file(tmp)  # the writer closed it: make its data durable
        _commit(tmp, target, overwrite=overwrite, mode=mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        ``path`` exists (or appeared while writing) and ``overwrite`` is False.
    FileNotFoundError, IsADirectoryError
        The folder does not exist, or ``path`` is a directory.
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
    target = Path(path)
    file_mode = check_target(target, overwrite=overwrite)
    tmp = _temporary(target)
    try:
        kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _commit(tmp, target, overwrite=overwrite, mode=file_mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
