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
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, TypeVar

import click

from nerveconduct import check_option
from nerveconduct.io import atomic_write

from ._options import Vocabulary, is_quiet

__all__ = [
    "RESULT_FORMATS", "SUFFIX_FORMATS", "resolve_format", "file_format", "check_new_output",
    "atomic_output", "result_stream", "message", "progress", "output_option",
    "overwrite_option", "format_option",
]

T = TypeVar("T")

#: Output formats of result commands: ``table`` for people, the others for programs.
RESULT_FORMATS = ("table", "json", "jsonl", "csv", "parquet")
#: Output suffixes of result commands and the format each selects.
SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
                  ".txt": "table", ".parquet": "parquet"}


def _refuse_suffix(out: str, suffix: str, allowed: Iterable[str], *, fmt_hint: bool) -> None:
    """A usage error (exit 2): ``out``'s suffix is not one the command can write."""
    try:
        check_option("its suffix", suffix or "(none)", list(allowed))
    except ValueError as exc:
        more = " (or give -f/--format)" if fmt_hint and not suffix else ""
        raise click.BadParameter(f"cannot write {out!r}: {exc}{more}",
                                 param_hint="'-o/--output'") from None


def resolve_format(fmt: str | None, out: str | None, *,
                   suffixes: Mapping[str, str] = SUFFIX_FORMATS,
                   default: str | None = None) -> str:
    """The output format of a result command: as given; else from ``out``'s suffix; else
    ``default``, or ``table`` on a terminal and ``jsonl`` when stdout is a pipe or a file.

    An ``out`` whose suffix the command cannot write (``results.xlsx``) is a usage error
    (exit 2) naming the suffixes it can; an ``out`` without a suffix needs ``fmt``.
    """
    if out and out != "-":
        suffix = Path(out).suffix.lower()
        if suffix in suffixes:
            return fmt or suffixes[suffix]
        if suffix or not fmt:
            _refuse_suffix(out, suffix, suffixes, fmt_hint=True)
    if fmt:
        return fmt
    if default is not None:
        return default
    return "table" if sys.stdout.isatty() else "jsonl"


def file_format(out: str, fmt: str | None, suffixes: Mapping[str, str], *,
                param_hint: str = "'-o/--output'") -> str:
    """The format of an output file whose suffix sets it (archives, figures, reports, batch).

    ``out``'s suffix must be one of ``suffixes`` (else a usage error naming them); ``fmt``,
    when given, must be the format of that suffix.
    """
    suffix = Path(out).suffix.lower()
    if suffix not in suffixes:
        _refuse_suffix(out, suffix, suffixes, fmt_hint=False)
    kind = suffixes[suffix]
    if fmt is not None and fmt != kind:
        wanted = [s for s, k in suffixes.items() if k == fmt]
        raise click.BadParameter(
            f"-f {fmt} writes {'/'.join(wanted) or fmt} files, but {out!r} ends in {suffix!r}; "
            f"change the suffix or drop -f (the suffix sets the format)", param_hint=param_hint)
    return kind


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


def message(text: str, *, always: bool = False) -> None:
    """A message for the user, on stderr (stdout carries only results); ``-q`` hides it
    unless ``always`` (warnings the user must see: failures, unknown inputs)."""
    if always or not is_quiet():
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
    or a pipe gets no progress noise, nor does ``-q``)."""
    if is_quiet() or not sys.stderr.isatty():
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
        "-f", "--format", "fmt", type=Vocabulary(RESULT_FORMATS), default=None,
        help="Output format. Default: from the -o suffix (.json, .jsonl, .csv, .txt), else "
             "'table' on a terminal and 'jsonl' when stdout is a pipe or file.")
