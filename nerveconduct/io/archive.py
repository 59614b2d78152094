"""The packed HDF5 archive: many nerve studies in one self-describing, chunked file.

All traces live in one 2-D dataset (rows = traces, NaN padded) next to two index tables
(one row per nerve, one row per trace); since format 1.3, optional groups hold the motor
nerves' F-wave trains (``/f_waves``) and sensory studies (``/sensory``,
:meth:`Archive.sensory_studies`). ``docs/archive-format.md`` documents the layout for
plain-h5py users. Reading is lazy: :class:`Archive` yields :class:`NerveStudy` objects
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
from ..model import NerveStudy, SensoryStudy
from . import _archive_layout as L
from ._archive_extra import iter_sensory, read_trains
from ._archive_read import assemble_chunk, read_problem
from ._archive_series import read_chunk_series
from ._archive_strings import TextColumn
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
        Nerves (motor studies) and trace rows stored.
    n_sensory, n_f_wave_trains : int
        Sensory studies and F-wave trains stored (format 1.3; 0 in older files).
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
        self.n_sensory: int = info["n_sensory"]
        self.n_f_wave_trains: int = info["n_f_wave_trains"]
        # dataset handles looked up once: a group lookup costs ~0.2 ms per call. The row
        # index (nerves/row_start, nerves/n_sites) stays in the file and is read in slices,
        # so an open archive holds nothing per nerve.
        f = self._file
        self._traces = f[L.TRACES]
        # strings through TextColumn: read as NumPy strings per slice, one str per frequent value
        self._site_columns = {name: (TextColumn(f[L.SITES][name]) if kind == "str"
                                     else f[L.SITES][name])
                              for name, kind in L.SITE_COLUMNS.items()}
        self._nerve_columns = {name: (TextColumn(f[L.NERVES][name]) if kind == "str"
                                      else f[L.NERVES][name])
                               for name, kind in L.NERVE_COLUMNS.items()
                               if name in info["nerve_columns"]}  # older 1.x: fewer
        self._row_start = self._nerve_columns["row_start"]
        self._n_sites = self._nerve_columns["n_sites"]
        # the optional intensity series: looked up once, read per chunk only when present
        self._has_series = L.STIMULATION in f
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
                      describe=read_problem, location=f"{L.NERVES}/study_id, nerves {a}:{b}"):
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
            ``nerve <i>``); the slice's intensity series (``/stimulation``) are out of
            order or hold infinite values. A ``/stimulation`` group damaged as a whole
            does not raise here: the chunk carries the error
            (:attr:`TraceChunk.series_error`).
        ValueError
            The range is empty or outside ``[0, n_nerves]``.

        Columns an older format version lacks get their defaults (:func:`assemble_chunk`).
        """
        self._require_open()
        a, b = self._nerve_span(start_nerve, stop_nerve)
        if a == b:
            raise ValueError(f"empty nerve range [{a}, {b}): stop_nerve must exceed start_nerve")
        with boundary(ArchiveError, self.path, extra=(OSError, RuntimeError),
                      describe=read_problem) as where:
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
            where.location = f"{L.F_WAVES}, nerves {a}:{b}"
            trains = read_trains(self._file, a, b, self.path) if self.n_f_wave_trains else None
            where.location = f"{L.STIMULATION}, nerves {a}:{b}"
            series, series_error = (read_chunk_series(self._file, a, b, self.path)
                                    if self._has_series else (None, None))
        return assemble_chunk(nerves, rows, traces, trains, a, b, r0, r1, self.path,
                              series=series, series_error=series_error)

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
        """``chunk.studies()`` (with their stimulus intensity series, read with the chunk), with
        what its parsing raises named (e.g. deep JSON)."""
        first = int(chunk.nerves["nerve_index"][0])
        with boundary(ArchiveError, self.path,
                      location=f"nerves {first}:{first + chunk.n_nerves}"):
            return chunk.studies()

    def __iter__(self) -> Iterator[NerveStudy]:
        return self.studies()

    def sensory_studies(self) -> Iterator[SensoryStudy]:
        """Yield every sensory study in archive order (none before format 1.3), a thousand
        at a time.

        Raises
        ------
        ArchiveError
            A slice cannot be read, or its values make no valid sensory study (location
            ``sensory study <i>``).
        """
        self._require_open()
        if not self.n_sensory:
            return
        with boundary(ArchiveError, self.path, extra=(OSError, RuntimeError),
                      describe=read_problem, location=L.SENSORY):
            yield from iter_sensory(self._file, path=self.path)

    def sensory_study(self, i: int) -> SensoryStudy:
        """Read sensory study number ``i`` (negative counts from the end).

        Raises
        ------
        IndexError
            ``i`` outside ``[-n_sensory, n_sensory)``.
        """
        check_number("sensory study index", i, integer=True)
        if not -self.n_sensory <= i < self.n_sensory:
            raise IndexError(f"sensory study index {i} out of range for {self.n_sensory} "
                             "sensory studies")
        self._require_open()
        i = int(i) % self.n_sensory
        with boundary(ArchiveError, self.path, extra=(OSError, RuntimeError),
                      describe=read_problem, location=f"sensory study {i}"):
            return next(iter_sensory(self._file, i, i + 1, path=self.path))

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
