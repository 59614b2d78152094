"""Small text helpers shared by the readers and writers of text exports (and EDF's units).

Amplitude units to mV (:func:`amplitude_scale_to_mv`), a machine's test item split into side,
nerve and muscle (:func:`parse_test_item`), text decoding that refuses binary data
(:func:`decode_text`), atomic file writing (:func:`atomic_write_bytes`, through
:func:`nerveconduct.io._atomic.atomic_write`), dates
(:func:`parse_date`), numbers with a named error (:func:`to_float`), and the comma-separated
rows and sample values of the machines' exports (:func:`csv_rows`, :func:`parse_samples`).
Private to :mod:`nerveconduct.io`; the public names stay importable from
:mod:`nerveconduct.io.vendor`.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..names import canonical_nerve
from ._atomic import atomic_write
from .errors import FormatError, boundary, quote

__all__ = [
    "amplitude_scale_to_mv",
    "parse_test_item",
    "decode_text",
    "atomic_write_bytes",
    "to_float",
    "parse_date",
    "csv_rows",
    "parse_samples",
]

_UNIT_SCALE_TO_MV = {"nv": 1e-6, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "mv": 1.0, "v": 1e3}
_SIDES = {"right": "right", "r": "right", "rt": "right", "left": "left", "l": "left", "lt": "left"}
_NOISE_WORDS = {"motor", "nerve", "ncs", "mnc", "ncv", "cmap", "test"}


def amplitude_scale_to_mv(unit: str, *, path: Any = None, location: str | None = None) -> float:
    """Return the factor that converts values in ``unit`` to mV.

    Raises
    ------
    FormatError
        When the unit is none of nV, µV (uV, μV), mV, V.

    Examples
    --------
    >>> amplitude_scale_to_mv("μV"), amplitude_scale_to_mv(" mV ")
    (0.001, 1.0)
    """
    key = unit.strip().replace(" ", "").lower()
    if key not in _UNIT_SCALE_TO_MV:
        raise FormatError(
            f"unknown amplitude unit {quote(unit)}; allowed: nV, µV (uV), mV, V", path=path,
            location=location,
        )
    return _UNIT_SCALE_TO_MV[key]


def parse_test_item(text: str | None) -> tuple[str | None, str | None, str | None]:
    """Split a machine's test item into ``(side, nerve, muscle)``.

    The nerve is the canonical name when known, else the words left after removing the side,
    the muscle and words such as "Motor"; each part is ``None`` when absent.

    Examples
    --------
    >>> parse_test_item("Right Median Motor (APB)")
    ('right', 'median', 'APB')
    >>> parse_test_item("L Ulnar ADM")
    ('left', 'ulnar', 'ADM')
    """
    if text is None or not text.strip():
        return None, None, None
    muscle = None
    paren = re.search(r"\(([^)]*)\)", text)
    if paren:
        muscle = paren.group(1).strip() or None
        text = text[: paren.start()] + text[paren.end():]
    words = [w for w in re.split(r"[\s_]+", text.strip()) if w]
    side = None
    if words and words[0].lower() in _SIDES:
        side = _SIDES[words.pop(0).lower()]
    nerve = canonical_nerve(" ".join(words)) if words else None
    rest = [w for w in words if w.lower() not in _NOISE_WORDS and canonical_nerve(w) is None
            and w.lower() not in ("common", "deep", "posterior", "spinal")]
    if nerve is None:
        nerve = " ".join(w for w in words if w.lower() not in _NOISE_WORDS) or None
    elif muscle is None and rest:
        muscle = " ".join(rest)
    return side, nerve, muscle


def decode_text(data: bytes, *, path: Any) -> str:
    """Decode a text export (UTF-8 with or without BOM, else Latin-1); refuse binary data.

    Raises
    ------
    FormatError
        When the bytes hold NUL characters (binary content), naming the byte offset.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FormatError(f"binary content (NUL byte at offset {nul}) in a text export",
                          path=path, location=f"byte {nul}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`nerveconduct.io._atomic.atomic_write`).

    Raises
    ------
    FileExistsError
        When ``path`` exists and ``overwrite`` is False.
    """
    with atomic_write(path, mode="wb", overwrite=overwrite) as fh:
        fh.write(data)
    return Path(path)


def to_float(text: str, *, path: Any, location: str, what: str) -> float:
    """Parse a number (units glued to it, e.g. ``"0.05ms"``, are the caller's business).

    Non-finite spellings (``nan``, ``inf``, ``1e999``) parse; the caller checks the range
    (:func:`nerveconduct.io._ranges.check_range`).
    """
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{what} must be a number, got {quote(text)}", path=path,
                          location=location) from None


def parse_date(text: str) -> str | None:
    """Return ISO ``YYYY-MM-DD`` for ``dd/mm/yyyy`` (``mm/dd`` when the day is >12) or ISO."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if m:
        return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
    m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
    if not m:
        return None
    a, b, year = int(m[1]), int(m[2]), int(m[3])
    day, month = (b, a) if b > 12 >= a else (a, b)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def csv_rows(text: str, *, path: Any = None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, fields)`` for each non-blank CSV row of ``text``, trailing blanks trimmed.

    ``line`` is the 1-based line where the row starts; rows whose fields are all blank are
    skipped (the machines write trailing commas).

    Raises
    ------
    FormatError
        A field over :func:`csv.field_size_limit` characters, or a quoted field that runs
        across lines (an unbalanced ``"``: the machines' fields never hold a line break),
        naming the line where the row starts.

    Examples
    --------
    >>> list(csv_rows("a,1,,\\n,,\\nb,2\\n"))
    [(1, ['a', '1']), (3, ['b', '2'])]
    """
    reader = csv.reader(io.StringIO(text))
    with boundary(FormatError, path, location="line 1") as where:
        start = 1
        for fields in reader:
            if reader.line_num != start and any("\n" in f or "\r" in f for f in fields):
                raise FormatError(
                    f"a quoted field runs from line {start} to line {reader.line_num} (an "
                    "unbalanced '\"'); fields must open and close their quotes on one line",
                    path=path, location=f"line {start}")
            line, start = start, reader.line_num + 1
            where.location = f"line {start}"
            while fields and not fields[-1].strip():
                fields.pop()
            if fields:
                yield line, fields


def parse_samples(values: Sequence[str], *, path: Any, line: int) -> list[float]:
    """Parse one row of sample values; the error names the column (the first value is column 2).

    Raises
    ------
    FormatError
        A value is not a number, or not a finite one (``nan``, ``inf``, ``1e999``).
    """
    out = []
    for col, v in enumerate(values, start=2):
        try:
            x = float(v)
        except ValueError:
            raise FormatError(f"non-numeric sample {quote(v)} in column {col}", path=path,
                              location=f"line {line}") from None
        if not math.isfinite(x):
            raise FormatError(f"sample in column {col} must be a finite number, got {x!r}",
                              path=path, location=f"line {line}")
        out.append(x)
    return out
