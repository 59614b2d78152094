"""The packed HDF5 archive: many nerve studies in one self-describing, chunked file.

All traces live in one 2-D dataset (rows = traces, NaN padded) next to two index tables
(one row per nerve, one row per trace); ``docs/archive-format.md`` documents the layout
for plain-h5py users. Reading is lazy: :class:`Archive` yields :class:`NerveStudy` objects
or, for batch work, :class:`TraceChunk` blocks of whole nerves read as contiguous slices.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> from nerveconduct.model import NerveStudy, Site
>>> study = NerveStudy("median", "right", "APB", [Site("wrist", 70.0), Site("elbow", 200.0)],
...                    np.zeros((2, 100)), 10_000.0, study_id="s1")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "a.h5"
>>> _ = write_archive(path, [study])
>>> with open_archive(path) as archive:
...     (archive.n_nerves, archive.n_traces, archive.study(0).sites[1].distance_mm)
(1, 2, 200.0)
"""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any, Self

import numpy as np

from .._checks import check_number
from ..model import NerveStudy
from . import _archive_layout as L
from ._guard import open_checked
from ._archive_write import write_archive
from ._trace_chunk import TraceChunk
from .errors import ArchiveError, boundary

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Archive",
    "TraceChunk",
    "open_archive",
    "write_archive",
]

FORMAT_NAME = L.FORMAT_NAME
FORMAT_VERSION = L.FORMAT_VERSION

#: Rows read at a time when iterating studies one by one.
_ITER_ROWS = 4096


def _positive_int(name: str, value: Any) -> int:
    return check_number(name, value, unit="rows", minimum=1, integer=True)


class Archive:
    """An open nerveconduct archive (read-only); use :func:`open_archive` to get one.

    Attributes
    ----------
    path : pathlib.Path
    n_nerves, n_traces : int
        Nerves (studies) and trace rows stored.
    n_samples_max : int
        Width of the traces dataset (samples).
    format_version : str
    creator, created : str
        Software that created the archive and when (ISO 8601, UTC).
    """

    def __init__(self, path: str | PathLike[str], *, deadline_s: float | None = None) -> None:
        self.path = Path(path)
        # structure checked in a child first (a damaged file cannot hang this process), then
        # every declared size checked
        self._file, info = open_checked(self.path, deadline_s=deadline_s)
        self.n_nerves: int = info["n_nerves"]
        self.n_traces: int = info["n_traces"]
        self.n_samples_max: int = info["n_samples_max"]
        self.format_version: str = info["format_version"]
        # dataset handles looked up once: a group lookup costs ~0.2 ms per call. The row
        # index (nerves/row_start, nerves/n_sites) stays in the file and is read in slices,
        # so an open archive holds nothing per nerve.
        f = self._file
        self._traces = f[L.TRACES]
        self._site_columns = {name: (f[L.SITES][name].asstr() if kind == "str"
                                     else f[L.SITES][name])
                              for name, kind in L.SITE_COLUMNS.items()}
        self._nerve_columns = {name: (f[L.NERVES][name].asstr() if kind == "str"
                                      else f[L.NERVES][name])
                               for name, kind in L.NERVE_COLUMNS.items()
                               if name in info["nerve_columns"]}  # older 1.x: fewer
        self._row_start = self._nerve_columns["row_start"]
        self._n_sites = self._nerve_columns["n_sites"]
        attrs = f.attrs
        self.creator = str(L._decode(attrs.get("creator", "")))
        self.created = str(L._decode(attrs.get("created", "")))

    # ---------------------------------------------------------------- lifecycle
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return not self._file.id.valid

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.n_nerves} nerves, {self.n_traces} traces"
        return f"<Archive {str(self.path)!r} v{self.format_version}: {state}>"

    def _require_open(self) -> None:
        if self.closed:
            raise ArchiveError("the archive is closed", path=self.path)

    # ---------------------------------------------------------------- layout
    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of the traces."""
        self._require_open()
        return self._traces.dtype

    @property
    def compression(self) -> str | None:
        """HDF5 filter of the traces dataset (``None``, ``"gzip"`` or ``"lzf"``)."""
        self._require_open()
        return self._traces.compression

    def __len__(self) -> int:
        return self.n_nerves

    def _index(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """``row_start`` and ``n_sites`` (int64) of nerves ``[a, b)``, read from the file."""
        self._require_open()
        return L.read_row_index(self._row_start, self._n_sites, a, b, self.path)

    def study_ids(self, start_nerve: int, stop_nerve: int) -> list[str | None]:
        """The ``study_id`` (case key) of nerves ``[start_nerve, stop_nerve)`` (``None`` where
        not stored), read from the nerve table only (no traces).

        Raises
        ------
        ArchiveError
            The column cannot be read (damaged file).
        """
        self._require_open()
        a, b = self._nerve_span(start_nerve, stop_nerve)
        with boundary(ArchiveError, self.path, extra=(OSError, RuntimeError),
                      describe=_read_problem, location=f"{L.NERVES}/study_id, nerves {a}:{b}"):
            ids = self._nerve_columns["study_id"][a:b].tolist()
            has = self._nerve_columns["has_study_id"][a:b].tolist()
        return [str(i) if h else None for i, h in zip(ids, has)]

    def nerve_row_ranges(self) -> np.ndarray:
        """Global trace rows of every nerve (the whole index, read from the file).

        Memory grows with the archive (16 bytes per nerve): batch work uses
        :meth:`row_range`, :meth:`plan_chunks` and :meth:`read_chunk`, which read only the
        part of the index they need.

        Returns
        -------
        ndarray of int64, shape (n_nerves, 2)
            ``[row_start, row_stop)`` per nerve.

        Raises
        ------
        ArchiveError
            The archive is closed or its index cannot be read.
        """
        starts, sizes = self._index(0, self.n_nerves)
        return np.stack([starts, starts + sizes], axis=1)

    def row_range(self, start_nerve: int, stop_nerve: int) -> tuple[int, int]:
        """Global trace rows ``[row_start, row_stop)`` of nerves ``[start_nerve, stop_nerve)``.

        Reads at most two entries of the index; an empty range gives ``(r, r)``.

        Raises
        ------
        ValueError
            The range is outside ``[0, n_nerves]``.
        ArchiveError
            The archive is closed or its index cannot be read.
        """
        a, b = self._nerve_span(start_nerve, stop_nerve)
        return self._first_row(a), self._first_row(b)

    def _first_row(self, i: int) -> int:
        # the nerves tile the rows (checked on open): nerve i starts where nerve i - 1 ends
        return self.n_traces if i == self.n_nerves else int(self._index(i, i + 1)[0][0])

    def _nerve_span(self, start_nerve: Any, stop_nerve: Any) -> tuple[int, int]:
        stop = self.n_nerves if stop_nerve is None else stop_nerve
        for name, value in (("start_nerve", start_nerve), ("stop_nerve", stop)):
            check_number(f"{name} (a nerve number)", value, integer=True)
        if not 0 <= start_nerve <= stop <= self.n_nerves:
            raise ValueError(f"need 0 <= start_nerve <= stop_nerve <= n_nerves "
                             f"({self.n_nerves}), got start_nerve={start_nerve}, "
                             f"stop_nerve={stop_nerve}")
        return int(start_nerve), int(stop)

    def plan_chunks(self, chunk_rows: int = 65536, *, start_nerve: int = 0,
                    stop_nerve: int | None = None) -> list[tuple[int, int]]:
        """Split nerves into chunks of about ``chunk_rows`` trace rows, aligned to nerves.

        Parameters
        ----------
        chunk_rows : int
            Maximum rows per chunk; a chunk holds at least one nerve, so a single nerve with
            more sites makes a larger chunk.
        start_nerve, stop_nerve : int, optional
            Plan only nerves ``[start_nerve, stop_nerve)``.

        Returns
        -------
        list of (int, int)
            ``(start_nerve, stop_nerve)`` pairs tiling the range in order; give one to
            :meth:`read_chunk` (e.g. in a worker that opens the archive itself).

        Notes
        -----
        Only the index of the requested nerves is read, a slice at a time: memory and time
        depend on the range and the number of chunks, not on the archive's size.

        Examples
        --------
        A worker process reads exactly its part::

            with open_archive(path) as archive:
                chunk = archive.read_chunk(start_nerve, stop_nerve)
        """
        return list(self._plan(chunk_rows, start_nerve, stop_nerve))

    def _plan(self, chunk_rows: Any, start_nerve: Any,
              stop_nerve: Any) -> Iterator[tuple[int, int]]:
        chunk_rows = _positive_int("chunk_rows", chunk_rows)
        a, stop = self._nerve_span(start_nerve, stop_nerve)
        self._require_open()
        return L.iter_row_plan(self._row_start, self._n_sites, chunk_rows, a, stop, self.path)

    # ---------------------------------------------------------------- reading
    def read_chunk(self, start_nerve: int, stop_nerve: int) -> TraceChunk:
        """Read nerves ``[start_nerve, stop_nerve)`` (one contiguous slice of every dataset).

        Raises
        ------
        ArchiveError
            The slice cannot be read (damaged file, undecodable strings; location: the
            dataset), its rows disagree with the nerve table, it holds infinite values
            (traces or numeric columns), or ``nerves/f_wave_absent`` holds a value other
            than 0/1 or is 1 next to a stored (non-NaN) F-wave latency (location
            ``nerve <i>``).
        ValueError
            The range is empty or outside ``[0, n_nerves]``.

        Notes
        -----
        An archive older than format 1.1 has no ``f_wave_absent`` column: the chunk's
        ``nerves["f_wave_absent"]`` is then all False (a NaN latency means "not studied").
        """
        self._require_open()
        a, b = self._nerve_span(start_nerve, stop_nerve)
        if a == b:
            raise ValueError(f"empty nerve range [{a}, {b}): stop_nerve must exceed start_nerve")
        with boundary(ArchiveError, self.path, extra=(OSError, RuntimeError),
                      describe=_read_problem) as where:
            nerves = {}
            for name, ds in self._nerve_columns.items():
                where.location = f"{L.NERVES}/{name}, nerves {a}:{b}"
                nerves[name] = ds[a:b]
            r0 = int(nerves["row_start"][0])
            r1 = int(nerves["row_start"][-1]) + int(nerves["n_sites"][-1])
            if not 0 <= r0 < r1 <= self.n_traces:  # the index was checked on open
                raise ArchiveError(f"rows {r0}:{r1} lie outside the {self.n_traces} traces",
                                   path=self.path, location=f"nerves {a}:{b}")
            rows = {}
            for name, ds in self._site_columns.items():
                where.location = f"{L.SITES}/{name}, rows {r0}:{r1}"
                rows[name] = ds[r0:r1]
            where.location = f"{L.TRACES}, rows {r0}:{r1}"
            traces = self._traces[r0:r1]  # width checked on open against sites/n_samples
        _refuse_infinite(traces, rows, nerves, r0, a, self.path)
        expected = np.repeat(np.arange(a, b), nerves["n_sites"])
        if not np.array_equal(rows["nerve_index"], expected):
            raise ArchiveError("sites/nerve_index disagrees with the nerve table",
                               path=self.path, location=f"rows {r0}:{r1}")
        for name, flag in L.NULLABLE_STRINGS.items():
            values = nerves[name].astype(object)
            values[nerves.pop(flag) == 0] = None
            nerves[name] = values
        nerves["f_wave_absent"] = self._f_wave_absent(nerves, a)
        for name in ("age_years", "height_cm"):  # added in 1.2: NaN (not given) before
            if name not in nerves:
                nerves[name] = np.full(b - a, np.nan)
        nerves["nerve_index"] = np.arange(a, b, dtype=np.int64)
        return TraceChunk(
            traces=traces, n_samples=rows.pop("n_samples").astype(np.int64),
            nerve_index=rows.pop("nerve_index"),
            site_position=rows.pop("site_position").astype(np.int64),
            row_start=r0, row_stop=r1, nerves=nerves, sites=rows)

    def _f_wave_absent(self, nerves: dict[str, np.ndarray], a: int) -> np.ndarray:
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
            raise ArchiveError(f"invalid nerve table value: {why}", path=self.path,
                               location=f"nerve {a + i}")
        return raw == 1

    def iter_chunks(self, chunk_rows: int = 65536, *, start_nerve: int = 0,
                    stop_nerve: int | None = None) -> Iterator[TraceChunk]:
        """Yield :class:`TraceChunk` blocks of whole nerves, about ``chunk_rows`` rows each.

        Only one chunk is in memory at a time (plus what the caller keeps), and the index is
        read a slice at a time. See :meth:`plan_chunks` for the chunking rule and the
        parameters.
        """
        for a, b in self._plan(chunk_rows, start_nerve, stop_nerve):  # never held whole
            yield self.read_chunk(a, b)

    def studies(self) -> Iterator[NerveStudy]:
        """Yield every study in archive order, reading a few thousand rows at a time."""
        for chunk in self.iter_chunks(_ITER_ROWS):
            yield from self._studies_of(chunk)

    def _studies_of(self, chunk: TraceChunk) -> list[NerveStudy]:
        """``chunk.studies()``, with what its parsing raises named (e.g. deep JSON)."""
        first = int(chunk.nerves["nerve_index"][0])
        with boundary(ArchiveError, self.path,
                      location=f"nerves {first}:{first + chunk.n_nerves}"):
            studies = chunk.studies()
        return studies

    def __iter__(self) -> Iterator[NerveStudy]:
        return self.studies()

    def study(self, i: int) -> NerveStudy:
        """Read study number ``i`` (negative counts from the end).

        Raises
        ------
        IndexError
            ``i`` outside ``[-n_nerves, n_nerves)``.
        """
        check_number("study index", i, integer=True)
        if not -self.n_nerves <= i < self.n_nerves:
            raise IndexError(f"study index {i} out of range for {self.n_nerves} studies")
        i = int(i) % self.n_nerves
        return self._studies_of(self.read_chunk(i, i + 1))[0]


def _read_problem(exc: BaseException) -> str:
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


def open_archive(path: str | PathLike[str], *, deadline_s: float | None = None) -> Archive:
    """Open a nerveconduct HDF5 archive for reading (use as a context manager).

    Parameters
    ----------
    path : str or path-like
        The archive file.
    deadline_s : float, optional
        Seconds the structure check may take. Before this process touches the file with
        h5py, a child process walks every structure the reader uses (headers, attributes,
        chunk indexes, the index tables); a damaged file that makes the HDF5 library loop
        (or crash) is refused instead of hanging the caller. Default: 20 s + 10 s per GB of
        file, or the environment variable ``NERVECONDUCT_ARCHIVE_DEADLINE_S``. The verdict
        is cached per (path, size, modification time) in this process, so reopening the same
        file costs nothing extra.

    Returns
    -------
    Archive
        Lazy reader holding nothing per nerve: opening checks the nerve table's row index
        in slices, so its memory does not grow with the archive.

    Raises
    ------
    ArchiveError
        The file is missing, not HDF5, truncated, or lacks an attribute or dataset of the
        layout (the message names what is missing); or the file makes the HDF5 library hang
        ("the file makes the HDF5 library hang: not a readable archive") or crash.
    ValueError
        ``deadline_s`` is not a positive number.
    KeyboardInterrupt
        Ctrl-C during the structure check (the checking process is killed first).
    """
    return Archive(path, deadline_s=deadline_s)
