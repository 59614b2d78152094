"""Where results go: stdout or a file written atomically, never overwritten without asking.

Also the shared options (``-o``, ``-f``, ``--overwrite``) and stderr progress/messages, so
every command behaves the same way: stdout carries only results.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, TypeVar

import click

from nerveconduct.io import atomic_write

__all__ = [
    "RESULT_FORMATS", "resolve_format", "check_new_output", "atomic_output", "result_stream",
    "message", "progress", "output_option", "overwrite_option", "format_option",
]

T = TypeVar("T")

#: Output formats of result commands: ``table`` for people, the others for programs.
RESULT_FORMATS = ("table", "json", "jsonl", "csv")
_SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
                   ".txt": "table"}


def resolve_format(fmt: str | None, out: str | None) -> str:
    """The output format: as given; else from ``out``'s suffix; else ``table`` on a terminal
    and ``jsonl`` when stdout is a pipe or a file."""
    if fmt:
        return fmt
    if out and out != "-":
        return _SUFFIX_FORMATS.get(Path(out).suffix.lower(), "jsonl")
    return "table" if sys.stdout.isatty() else "jsonl"


def check_new_output(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Refuse early to write ``path`` when it exists (without ``overwrite``) or cannot be made.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    FileNotFoundError
        Its directory does not exist.
    NotADirectoryError
        Its parent is a file.
    IsADirectoryError
        ``path`` is a directory.
    PermissionError
        Its directory is not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not an output file", str(p))
    if p.exists() and not overwrite:
        raise FileExistsError(errno.EEXIST, "output file exists, not overwritten", str(p))
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "cannot write output: its parent is a file, not "
                                 "a directory", str(p))
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "output directory does not exist", str(parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "output directory is not writable", str(parent))
    return p


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False,
                  binary: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; move it onto ``path`` only if the block succeeds.

    The library's one atomic writer (:func:`nerveconduct.io._atomic.atomic_write`): data
    fsynced before the rename, the mode of a replaced file kept, a file that appears meanwhile
    never clobbered without ``overwrite``. On an error the temporary file is removed and
    ``path`` is untouched.
    """
    dest = check_new_output(path, overwrite=overwrite)
    if binary:
        with atomic_write(dest, mode="wb", overwrite=overwrite) as fh:
            yield fh
    else:
        with atomic_write(dest, mode="w", overwrite=overwrite, newline="") as fh:
            yield fh


@contextlib.contextmanager
def result_stream(out: str | None, *, overwrite: bool) -> Iterator[IO[str]]:
    """stdout when ``out`` is None or ``-``, else :func:`atomic_output` on ``out``."""
    if out is None or out == "-":
        stream = sys.stdout  # (click.get_text_stream is deprecated in click 8.3+)
        yield stream
        stream.flush()
    else:
        with atomic_output(out, overwrite=overwrite) as fh:
            yield fh


def message(text: str) -> None:
    """A message for the user, on stderr (stdout carries only results)."""
    click.echo(text, err=True)


def announce_first_compile() -> None:
    """Say on stderr why the first run after installing is slow (numba compiles the kernel)."""
    from nerveconduct.measure import kernel_cache_ready

    if not kernel_cache_ready():
        message("first run after installing: compiling the measurement kernel "
                "(about 20-30 s, once; later runs load it from the cache)")


def progress(items: Iterable[T], *, label: str, length: int | None = None,
             show_name: Callable[[T], str] | None = None) -> contextlib.AbstractContextManager:
    """A progress bar on stderr over ``items``, drawn only when stderr is a terminal (a log
    or a pipe gets no progress noise)."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext(items)
    return click.progressbar(
        items, length=length, label=label, file=sys.stderr, show_pos=True,
        item_show_func=(lambda item: None if item is None else show_name(item)) if show_name else None,
    )


def output_option(help_text: str = "Write the results to this file (atomically) instead of stdout."):
    """``-o/--output OUT``."""
    return click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
                        help=help_text)


def overwrite_option():
    """``--overwrite``."""
    return click.option("--overwrite", is_flag=True,
                        help="Replace output files that exist (never done without it).")


def format_option():
    """``-f/--format table|json|jsonl|csv``."""
    return click.option(
        "-f", "--format", "fmt", type=click.Choice(RESULT_FORMATS), default=None,
        help="Output format. Default: from the -o suffix (.json, .jsonl, .csv, .txt), else "
             "'table' on a terminal and 'jsonl' when stdout is a pipe or file.")
