"""Named errors of the file readers and the archive, and the boundary that produces them.

Every error names the file and, where it applies, the line (text formats) or record (EDF,
archive row) where reading failed, so one bad file in a batch can be reported and skipped.

The readers' contract (``docs/formats.md``, "Errors"): whatever the bytes of a file, a reader
returns studies or raises one of the errors below (or
:class:`~nerveconduct.model.InvalidStudyError` for a file that reads but describes an
impossible study). :func:`boundary` turns what a parsing library raises (``csv.Error``,
``UnicodeDecodeError``, ``RecursionError``, ``OverflowError``, ``ValueError``, ...) into the
reader's error at the location it had reached. Messages never quote file content that could
carry a patient identifier: :func:`quote` shows numbers and short tokens, and only the length
of any other text.
"""

from __future__ import annotations

import csv
import re
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from os import PathLike
from typing import Any

__all__ = ["NerveConductIOError", "FormatError", "UnknownFormatError", "ArchiveError",
           "SheetError", "Where", "boundary", "quote"]


class NerveConductIOError(Exception):
    """Base of every reading/writing error; ``path`` and ``location`` say where."""

    def __init__(self, message: str, *, path: str | PathLike[str] | None = None,
                 location: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.location = location
        self.detail = message
        where = ""
        if self.path is not None:
            where = self.path + (f", {location}" if location else "") + ": "
        elif location:
            where = location + ": "
        super().__init__(where + message)


class FormatError(NerveConductIOError, ValueError):
    """The file is of a known format but its content is malformed."""


class UnknownFormatError(NerveConductIOError, ValueError):
    """The file's content matches none of the formats nerveconduct reads."""


class ArchiveError(NerveConductIOError):
    """An HDF5 file is not a (complete) nerveconduct archive, or an archive write failed."""


class SheetError(NerveConductIOError, ValueError):
    """A study sheet (JSON/TOML/CSV) is malformed or misses a required field."""


# ------------------------------------------------------------------ quoting file content
_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*[a-zA-Zµμ°/%]{0,6}\s*"
                     r"|\s*[-+]?(?:nan|inf|infinity)\s*", re.I)
#: Longest non-numeric token :func:`quote` shows verbatim (a unit, a code such as "ab").
SHORT_TOKEN_CHARS = 8


def quote(value: Any, *, max_chars: int = SHORT_TOKEN_CHARS) -> str:
    """Show a value read from a file in an error message without leaking identifiers.

    Numbers (with an optional unit glued on, e.g. ``'1e-320ms'``) and short tokens without
    inner spaces (at most ``max_chars`` characters: a unit, a code) are quoted verbatim;
    any other text is described by its length only, since it may hold a name.

    Examples
    --------
    >>> quote("1e308"), quote("70mm"), quote("furlong"), quote("Testpatient Quentin")
    ("'1e308'", "'70mm'", "'furlong'", 'a text of 19 characters')
    """
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return repr(value)
        return f"a value of type {type(value).__name__}"
    if _NUMBER.fullmatch(value):
        return repr(value)
    if len(value) <= max_chars and " " not in value.strip():
        return repr(value)
    return f"a text of {len(value)} characters"


# ------------------------------------------------------------------ the reader boundary
class Where:
    """The location a reader has reached; :func:`boundary` reports it on failure."""

    __slots__ = ("location",)

    def __init__(self, location: str | None = None) -> None:
        self.location = location


#: What parsing libraries raise on malformed content (never an OSError: a missing or
#: unreadable file stays an OSError unless the caller adds it, as the archive does).
LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    csv.Error, UnicodeError, RecursionError, ArithmeticError, struct.error, ValueError,
    TypeError, AttributeError, LookupError)


def _describe(exc: BaseException) -> str:
    """The kind of problem, without the library's message where it may quote content."""
    if isinstance(exc, csv.Error):  # csv's messages never quote the data
        return (f"malformed comma-separated text ({exc}); a field may hold at most "
                f"{csv.field_size_limit()} characters and quotes must be balanced")
    if isinstance(exc, RecursionError):
        return "structure nested too deeply to read"
    if isinstance(exc, UnicodeDecodeError):
        return (f"text is not valid {exc.encoding} ({exc.reason} at byte {exc.start}); "
                "allowed: UTF-8 text")
    if isinstance(exc, OverflowError):
        return "a number is too large (overflow); values must be finite and in range"
    if isinstance(exc, struct.error):
        return "binary field shorter than its declared size"
    return f"unexpected content ({type(exc).__name__} while parsing)"


@contextmanager
def boundary(error: type[NerveConductIOError], path: str | PathLike[str] | None, *,
             location: str | None = None, extra: tuple[type[BaseException], ...] = (),
             describe: Callable[[BaseException], str] = _describe) -> Iterator[Where]:
    """Turn library exceptions raised inside the block into ``error`` at the reached location.

    Parameters
    ----------
    error : type
        The reader's named error (:class:`FormatError`, :class:`SheetError`, ...).
    path : path-like or None
        The file being read (named in the message).
    location : str, optional
        Initial location; the block updates it through the yielded :class:`Where`.
    extra : tuple of exception types
        Further exceptions to convert (the archive adds ``OSError`` from h5py).
    describe : callable
        Message for a converted exception (default: its kind, never its text when that may
        quote content).

    Yields
    ------
    Where
        Set ``.location`` (``"line 12"``, ``"record 3"``, ``"nerves/n_sites"``) as parsing
        proceeds.

    Notes
    -----
    Named errors (:class:`NerveConductIOError`) and the model's ``InvalidStudyError`` pass
    through unchanged. The converted exception stays available as ``__context__`` for
    debugging but is not shown in tracebacks (it may quote file content).

    Examples
    --------
    >>> try:
    ...     with boundary(FormatError, "x.csv", location="line 3"):
    ...         int("Testpatient")
    ... except FormatError as err:
    ...     print(err)
    x.csv, line 3: unexpected content (ValueError while parsing)
    """
    from ..model import InvalidStudyError  # the model never imports io: no cycle

    where = Where(location)
    try:
        yield where
    except (NerveConductIOError, InvalidStudyError):
        raise
    except LIBRARY_ERRORS + extra as exc:
        raise error(describe(exc), path=path, location=where.location) from None
