"""Reading one chunk of the archive: what is checked and assembled after the slices are read.

:meth:`nerveconduct.io.archive.Archive.read_chunk` reads one contiguous slice of every
dataset; :func:`assemble_chunk` refuses what the layout forbids (infinite values, rows that
disagree with the nerve table, an invalid ``f_wave_absent``) and builds the
:class:`~nerveconduct.io._trace_chunk.TraceChunk`, filling the columns older format versions
lack with their documented defaults.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _archive_layout as L
from ._trace_chunk import TraceChunk
from .errors import ArchiveError

__all__ = ["assemble_chunk", "read_problem"]


def assemble_chunk(nerves: dict[str, np.ndarray], rows: dict[str, np.ndarray], traces: np.ndarray,
                   trains: Any, a: int, b: int, r0: int, r1: int, path: Any, *,
                   series: dict[str, np.ndarray] | None = None,
                   series_error: ArchiveError | None = None) -> TraceChunk:
    """The checked :class:`TraceChunk` of nerves ``[a, b)`` (rows ``[r0, r1)``) read from ``path``.

    ``trains``, ``series`` and ``series_error``: the chunk's F-wave trains and intensity
    series as read (:func:`~._archive_extra.read_trains`,
    :func:`~._archive_series.read_chunk_series`; ``None``: none).

    Raises
    ------
    ArchiveError
        Infinite values, ``sites/nerve_index`` disagreeing with the nerve table, or an
        invalid ``nerves/f_wave_absent`` (location: the row or nerve).

    Notes
    -----
    An archive older than format 1.1 has no ``f_wave_absent`` column: the chunk's
    ``nerves["f_wave_absent"]`` is then all False (a NaN latency means "not studied"); one
    older than 1.2 has no ``age_years``/``height_cm``: NaN (not given).
    """
    _refuse_infinite(traces, rows, nerves, r0, a, path)
    expected = np.repeat(np.arange(a, b), nerves["n_sites"])
    if not np.array_equal(rows["nerve_index"], expected):
        raise ArchiveError("sites/nerve_index disagrees with the nerve table",
                           path=path, location=f"rows {r0}:{r1}")
    for name, flag in L.NULLABLE_STRINGS.items():
        values = nerves[name].astype(object)
        values[nerves.pop(flag) == 0] = None
        nerves[name] = values
    nerves["f_wave_absent"] = _f_wave_absent(nerves, a, path)
    for name in ("age_years", "height_cm"):  # added in 1.2: NaN (not given) before
        if name not in nerves:
            nerves[name] = np.full(b - a, np.nan)
    nerves["nerve_index"] = np.arange(a, b, dtype=np.int64)
    return TraceChunk(
        traces=traces, n_samples=rows.pop("n_samples").astype(np.int64),
        nerve_index=rows.pop("nerve_index"),
        site_position=rows.pop("site_position").astype(np.int64),
        row_start=r0, row_stop=r1, nerves=nerves, sites=rows, f_waves=trains, series=series,
        series_error=series_error)


def _f_wave_absent(nerves: dict[str, np.ndarray], a: int, path: Any) -> np.ndarray:
    """Checked ``f_wave_absent`` (bool) of nerves read from ``a`` on; all False if not stored."""
    latency = nerves["f_wave_latency_ms"]
    raw = nerves.get("f_wave_absent")
    if raw is None:  # archive older than 1.1: a NaN latency meant "not studied"
        return np.zeros(latency.shape, dtype=bool)
    bad = ~np.isin(raw, (0, 1))
    bad |= (raw == 1) & ~np.isnan(latency)
    if bad.any():
        i = int(np.argmax(bad))
        value = raw[i].item()
        why = (f"f_wave_absent={value!r} (allowed: 0 = measured or not studied, 1 = "
               "sought and absent)" if value not in (0, 1) else
               f"f_wave_absent=1 (F-waves absent) but f_wave_latency_ms="
               f"{float(latency[i])!r} (must be NaN when absent)")
        raise ArchiveError(f"invalid nerve table value: {why}", path=path,
                           location=f"nerve {a + i}")
    return raw == 1


def read_problem(exc: BaseException) -> str:
    """What went wrong reading a slice, in words (never file content)."""
    if isinstance(exc, UnicodeDecodeError):
        return (f"strings must be UTF-8 ({exc.reason} at byte {exc.start} of a value); "
                "the column holds undecodable bytes")
    if isinstance(exc, (OSError, RuntimeError)):  # h5py: HDF5's message, never file content
        return f"cannot read (damaged file?): {exc}"
    return f"cannot read as the layout says ({type(exc).__name__})"


def _refuse_infinite(traces: np.ndarray, rows: dict[str, np.ndarray],
                     nerves: dict[str, np.ndarray], r0: int, a: int, path: Any) -> None:
    """Refuse infinite values: the archive's "unknown" is NaN, never inf.

    The traces are scanned with ``fmax``/``fmin`` reductions (no temporary array).
    """
    extremes = ((float(np.fmax.reduce(traces, axis=None)),
                 float(np.fmin.reduce(traces, axis=None))) if traces.size else ())
    if any(np.isinf(x) for x in extremes):
        r = int(np.argmax(np.isinf(traces).any(axis=1)))
        raise ArchiveError("traces must be finite (NaN only as padding), got inf",
                           path=path, location=f"{L.TRACES}, row {r0 + r}")
    for group, table, first in ((L.SITES, rows, r0), (L.NERVES, nerves, a)):
        for name, values in table.items():
            if values.dtype.kind == "f" and np.isinf(values).any():
                i = int(np.argmax(np.isinf(values)))
                raise ArchiveError("must be finite or NaN (unknown), got inf", path=path,
                                   location=f"{group}/{name}, row {first + i}")
