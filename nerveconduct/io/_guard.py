"""Untrusted HDF5 files cannot hang a command: their structure is checked in a child first.

A damaged HDF5 file can make the HDF5 library loop forever inside C code (one zeroed 4 KiB
page of an archive's root attribute storage or of a global heap does it), where neither a
deadline nor Ctrl-C can reach it. So before this process touches a file with h5py,
:func:`check_structure` runs the archive's checks (:func:`~._archive_checks.open_unguarded`) and then walks every structure the reader will use -- each object's header and
attributes, each chunked dataset's chunk index, every value of the index tables (``nerves/*``,
``sites/*``; strings live in the file's global heaps) -- in a **fresh Python process** with a
deadline (``subprocess``, never ``fork``: no h5py state crosses processes, and the caller's
main module is not re-imported). When the child does not finish in time it is killed and
:class:`~.errors.ArchiveError` says "the file makes the HDF5 library hang"; a child killed
by a signal (a crash in the library) gives "the file crashes the HDF5 library". Ctrl-C while
waiting kills the child and propagates.

The child only decides *hang or not*: errors it meets (a missing dataset, an unreadable
column) are left to the reader, which raises them with their location. The verdict is cached
per ``(real path, size, mtime)`` in this process; the batch's pool passes its verdicts to its
workers (:func:`known_verdicts`, :func:`adopt_verdicts`), so a run pays the check once.

The cost is one interpreter start with h5py imported (~0.3 s) plus the walk (~0.1 s per
10 000 nerves), once per archive and process.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import subprocess
import sys
import threading
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

from .._checks import check_number
from ._archive_checks import exists, open_unguarded
from .errors import ArchiveError

__all__ = ["ENV_DEADLINE", "DEADLINE_BASE_S", "DEADLINE_S_PER_GB", "default_deadline",
           "check_structure", "known_verdicts", "adopt_verdicts", "die_with_parent"]

#: Environment variable overriding the default deadline (seconds, a positive number).
ENV_DEADLINE = "NERVECONDUCT_ARCHIVE_DEADLINE_S"
#: Default deadline: this many seconds ...
DEADLINE_BASE_S = 20.0
#: ... plus this many per GB of file (the walk reads the index tables, not the traces).
DEADLINE_S_PER_GB = 10.0
#: Rows of an index column read at a time by the walk.
_WALK_ROWS = 65536

_OK = "ok"
_Key = tuple[str, int, int]
_LOCK = threading.Lock()
#: (real path, size, mtime_ns) -> None (safe) or the ArchiveError message (hangs, crashes).
_VERDICTS: dict[_Key, str | None] = {}


def default_deadline(size_bytes: int) -> float:
    """The deadline (s) for checking a file of ``size_bytes``: :data:`ENV_DEADLINE` if set,
    else ``DEADLINE_BASE_S + DEADLINE_S_PER_GB * size_bytes / 1e9``."""
    text = os.environ.get(ENV_DEADLINE, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"environment variable {ENV_DEADLINE} must be a positive number "
                             f"of seconds, got {text[:20]!r}")
        return value
    return DEADLINE_BASE_S + DEADLINE_S_PER_GB * size_bytes / 1e9


def _key(path: str | PathLike[str]) -> _Key:
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns


def known_verdicts() -> dict[_Key, str | None]:
    """A copy of this process's verdicts (for a worker process: :func:`adopt_verdicts`)."""
    with _LOCK:
        return dict(_VERDICTS)


def adopt_verdicts(verdicts: dict[_Key, str | None]) -> None:
    """Add verdicts found by another process (the batch coordinator) to this process's."""
    with _LOCK:
        _VERDICTS.update(verdicts)


def check_structure(path: str | PathLike[str], *, deadline_s: float | None = None) -> None:
    """Raise :class:`ArchiveError` if reading ``path`` makes the HDF5 library hang or crash.

    Parameters
    ----------
    path : path-like
        An existing file (the caller checks that it exists and is not a directory).
    deadline_s : float, optional
        Seconds the check may take (default: :func:`default_deadline`).

    Raises
    ------
    ArchiveError
        The check did not finish within the deadline (the library hangs on this file), or
        the checking process was killed by a signal (the library crashes on it).
    KeyboardInterrupt
        Ctrl-C while waiting: the checking process is killed first.
    """
    key = _key(path)
    with _LOCK:  # one check at a time; a second thread asking for the same file waits
        if key not in _VERDICTS:
            deadline = default_deadline(key[1]) if deadline_s is None else deadline_s
            verdict = _probe(path, deadline)
            if verdict is _UNAVAILABLE:
                return
            _VERDICTS[key] = verdict
        verdict = _VERDICTS[key]
    if verdict is not None:
        raise ArchiveError(verdict, path=path)


_UNAVAILABLE = "unavailable"  # the child could not run: read in this process (warned)
#: What the checking interpreter runs (argv: parent pid, path).
_CHILD_CODE = "from nerveconduct.io._guard import _child; _child()"


def _python() -> str:
    from multiprocessing import spawn  # honours multiprocessing.set_executable

    return spawn.get_executable() or sys.executable


def _probe(path: str | PathLike[str], deadline_s: float) -> str | None:
    """Run the walk in a child; ``None`` (safe), an error message, or ``_UNAVAILABLE``."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding nerveconduct/
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [_python(), "-c", _CHILD_CODE,
           str(os.getpid()), os.fsencode(path)]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, close_fds=True)
    except OSError as exc:
        warnings.warn(f"could not start a process to check {os.fspath(path)!r} ({exc}); "
                      "reading it without a deadline", RuntimeWarning, stacklevel=4)
        return _UNAVAILABLE
    try:
        out, err = proc.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return ("the file makes the HDF5 library hang: not a readable archive (its structure "
                f"was not checked within {deadline_s:g} s; a damaged or forged file; "
                f"{ENV_DEADLINE} sets a longer deadline for a slow disk)")
    except BaseException:  # Ctrl-C or SystemExit while waiting: never leave the child behind
        _kill(proc)
        raise
    if out.strip() == _OK.encode():
        return None
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return f"the file crashes the HDF5 library ({name}): not a readable archive"
    last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
    warnings.warn(f"the process checking {os.fspath(path)!r} failed ({last[0][:200]}); "
                  "reading it without a deadline", RuntimeWarning, stacklevel=4)
    return _UNAVAILABLE


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.communicate()


# ------------------------------------------------------------------ the child
def _child() -> None:
    """Entry point of the checking process: ``argv = [-c, parent pid, path]``."""
    die_with_parent(int(sys.argv[1]))
    import h5py


    try:
        f, _ = open_unguarded(sys.argv[2])
    except Exception:  # noqa: BLE001 - not a hang: the reader raises it again, named
        f = None
    if f is not None:
        try:
            _walk(f, h5py)
        except Exception:  # noqa: BLE001 - not a hang: the reader names what it meets
            pass
        finally:
            f.close()
    sys.stdout.write(_OK + "\n")
    sys.stdout.flush()


def _walk(f: Any, h5py: Any) -> None:
    """Touch every structure a reader uses: headers, attributes, chunk indexes, index tables."""
    from . import _archive_layout as L

    tables = (L.NERVES + "/", L.SITES + "/", L.F_WAVES + "/", L.SENSORY + "/")

    def visit(name: str, obj: Any) -> None:
        for key in obj.attrs:
            obj.attrs[key]
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.chunks is not None:
            obj.id.chunk_iter(lambda info: None)
        if name.startswith(tables) and obj.ndim == 1:
            for a in range(0, obj.shape[0], _WALK_ROWS):
                obj[a:a + _WALK_ROWS]

    for key in f.attrs:
        f.attrs[key]
    f.visititems(visit)


# ------------------------------------------------------------------ dying with the parent
_PR_SET_PDEATHSIG = 1


def _arm_pdeathsig() -> bool:
    """Linux: SIGKILL this process when its parent (the thread that forked it) exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def die_with_parent(parent_pid: int | None = None, *, poll_s: float = 0.5) -> str:
    """Make this process exit when its parent dies (also when the parent is SIGKILLed).

    Parameters
    ----------
    parent_pid : int, optional
        The process whose death ends this one: the direct parent (default), or an ancestor,
        e.g. the coordinator of a process pool whose workers a fork server starts (the fork
        server is then the direct parent). A process that is already gone makes this
        process exit at once.
    poll_s : float
        Polling interval of the fallback thread (s).

    Returns
    -------
    str
        The mechanism watching ``parent_pid``: ``"prctl"`` (Linux ``PR_SET_PDEATHSIG``, the
        direct parent), ``"pidfd"`` (a thread waiting on a Linux pidfd of an ancestor) or
        ``"poll"`` (a thread polling ``os.getppid()``, or the ancestor's pid, every
        ``poll_s``).

    Notes
    -----
    ``PR_SET_PDEATHSIG`` (SIGKILL) is armed for the direct parent whenever available, so a
    pool worker also dies with its fork server.
    """
    direct = os.getppid()
    target = direct if parent_pid is None else int(parent_pid)
    armed = _arm_pdeathsig()
    if (target == direct and os.getppid() != direct) or not _alive(target):
        os._exit(1)  # the parent died before anything was armed
    if target == direct and armed:
        return "prctl"
    pidfd = None
    if target != direct and hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(target)
        except OSError:
            pidfd = None
    if pidfd is not None and not _alive(target):  # the pid may have been reused meanwhile
        os._exit(1)

    def watch() -> None:
        if pidfd is not None:
            import select

            select.select([pidfd], [], [])  # readable when the process exits
            os._exit(1)
        while (os.getppid() == direct) if target == direct else _alive(target):
            threading.Event().wait(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="nerveconduct-parent-watch", daemon=True).start()
    return "pidfd" if pidfd is not None else "poll"


def open_checked(path: str | PathLike[str], *,
                 deadline_s: float | None = None) -> tuple[Any, dict[str, Any]]:
    """Open ``path`` read-only and validate it (:func:`check_layout`); return file and facts.

    The file's structure is first checked in a child process with a deadline
    (:func:`nerveconduct.io._guard.check_structure`): a file that makes the HDF5 library hang
    or crash is refused before this process touches it with h5py.

    Parameters
    ----------
    deadline_s : float, optional
        Seconds the structure check may take (default: 20 s + 10 s per GB, or the environment
        variable ``NERVECONDUCT_ARCHIVE_DEADLINE_S``).

    Raises
    ------
    ArchiveError
        Missing file, a directory, not HDF5, truncated or damaged, any layout problem, or a
        file that makes the HDF5 library hang or crash.
    """
    exists(path)
    if deadline_s is not None:
        check_number("deadline_s", deadline_s, unit="s", minimum=0, inclusive=(False, True))
    check_structure(path, deadline_s=deadline_s)
    return open_unguarded(path)
