"""One batch task: read a range of nerves from an archive, analyze them, serialize the rows.

The task function :func:`process_range` is what the batch engine (:mod:`nerveconduct.batch`)
runs in a worker process, a Dask worker or in-process: it receives only picklable values (the
archive *path*, a nerve range and :class:`TaskOptions`), never an h5py object, opens the
archive itself and returns the finished output rows as bytes (:class:`ChunkOutput`).

One path for every table and format: each slice of the task is analyzed by the analysis core
(:func:`nerveconduct.analysis.table_from_chunk`), its verdicts gathered
(:func:`nerveconduct.serialize.verdict_cells`: column-wise for the flat tables, worded for
the nested records and ``reasons``) and its rows written by the one row builder
(:func:`nerveconduct.serialize.render`; for Parquet its typed twin,
:func:`nerveconduct.serialize.arrow_table`, which reads the same columns and verdicts; for
the nested records its record assembly, as UTF-8 bytes of the whole slice,
``serialize._nested.record_block``).

Per-record isolation: a nerve whose stored values make no valid study, whose analysis or
criteria evaluation raises one of :data:`RECORD_ERRORS`, or whose rows cannot be read from the
file gets one *failure row* (its ``nerve_index``, ``study_id``, ``error_type`` and ``error``)
instead of its result rows: a run of nerves that raises is halved until the nerve that raises
is found. Every nerve of the range appears in the output exactly once: with its result, or
with its error. Any other exception (a bug, memory exhaustion) stops the run; the output
written so far is kept and the run can be resumed.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa

from ..analysis import table_from_chunk
from ..criteria.tables import RuleSet
from ..io.archive import Archive, TraceChunk, open_archive
from ..io.errors import ArchiveError, NerveConductIOError
from ..limits import NormalLimits
from ..serialize import failure_record, nerve_columns, render, segment_columns, verdict_cells
from ..serialize._nested import record_block
from .encoding import ChunkOutput, Encoder

__all__ = [
    "TABLES",
    "FORMATS",
    "RECORD_ERRORS",
    "ERROR_COLUMNS",
    "TaskOptions",
    "ChunkOutput",
    "output_columns",
    "process_range",
    "process_chunk_range",
]

#: Output tables: one row per nerve, or one row per segment.
TABLES = ("nerve", "segment")
#: Output formats (chosen from the output file's suffix).
FORMATS = ("jsonl", "csv", "parquet")
#: What a bad record can raise and is reported as a failure row: invalid values
#: (``ValueError``, which includes ``InvalidStudyError``), wrong types, arithmetic, missing
#: keys or indices, and file errors. Anything else is a bug and stops the run.
RECORD_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, ArithmeticError, LookupError, NerveConductIOError,
)
#: Columns that failure rows fill (besides ``nerve_index``, ``source`` and ``study_id``).
ERROR_COLUMNS = ("error_type", "error")
#: Trace rows read and analyzed at once inside a task (whole nerves) for the flat tables (CSV,
#: JSON Lines, Parquet): bounds a worker's memory (traces and per-row arrays: ~60 MB at the
#: slice's peak with 500-sample float32 traces) whatever the task's size, while keeping each
#: read, each ``measure_cmap`` call and each column operation large enough that its fixed cost
#: is small (per two-site nerve, one thread, ``benchmarks/README.md``: the Parquet task
#: ~3 µs less at 8192 rows than at 2048, of ~20; the CSV task ~1-2 µs less, of ~32).
READ_ROWS = 8192
#: The same for the worded outputs (nested records, ``reasons``), whose per-nerve objects and
#: sentences take ~4x the memory of a flat slice (~90 MB traced at 8192 rows, ~27 at 2048):
#: 4096 pays the per-slice fixed costs half as often as 2048 (~2.5 us less per two-site nerve of
#: ~70; a worker with ``--jobs 2`` peaks at ~350 MB, ``benchmarks/README.md``).
WORDED_READ_ROWS = 4096


@dataclass(frozen=True)
class TaskOptions:
    """Everything a task needs besides the nerve range (picklable; no open files).

    Attributes
    ----------
    table : {"nerve", "segment"}
        One row per nerve (nested record in JSON Lines) or one flat row per segment.
    fmt : {"jsonl", "csv", "parquet"}
        Output format (Parquet: the flat tables, as typed columns).
    rule_sets : tuple of RuleSet
        Rule sets whose verdicts are added (resolved in the parent, so rule sets a user
        registered at run time reach the workers too).
    limits : NormalLimits
        Normal limits for the nerve comparisons.
    source : str
        Value of the ``source`` field of every row (the archive's file name).
    reasons : bool, default False
        Segment tables: add each rule set's ``verdict_R_reasons`` column (the sentences).
    n_threads : int, optional
        Threads of the measurement in this task (``None``: all cores; 1 in pool workers).
    """

    table: str
    fmt: str
    rule_sets: tuple[RuleSet, ...]
    limits: NormalLimits
    source: str
    reasons: bool = False
    n_threads: int | None = None
    columns: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        ids = [rs.id for rs in self.rule_sets]
        object.__setattr__(self, "columns", tuple(output_columns(self.table, ids, self.reasons)))

    @property
    def kind(self) -> str:
        """The row kind of :func:`nerveconduct.serialize.render`."""
        return "record" if (self.table, self.fmt) == ("nerve", "jsonl") else self.table

    @property
    def worded(self) -> bool:
        """Whether the verdicts need their sentences (nested records, reasons)."""
        return self.kind == "record" or self.reasons


def output_columns(table: str, rule_set_ids: Sequence[str], reasons: bool = False) -> list[str]:
    """Columns of a batch CSV table (``nerve_index`` first, the error columns last).

    Parameters
    ----------
    table : {"nerve", "segment"}
    rule_set_ids : sequence of str
        Rule sets whose verdict columns are included, in order.
    reasons : bool, default False
        Keep the segment tables' ``verdict_R_reasons`` columns.

    Returns
    -------
    list of str
        ``nerve_index``, then :func:`nerveconduct.serialize.nerve_columns` or
        :func:`~nerveconduct.serialize.segment_columns`, then :data:`ERROR_COLUMNS`.
    """
    body = nerve_columns(rule_set_ids) if table == "nerve" else segment_columns(rule_set_ids)
    if not reasons:
        body = [col for col in body if not _is_reasons(col, rule_set_ids)]
    return ["nerve_index", *body, *ERROR_COLUMNS]


def _is_reasons(column: str, rule_set_ids: Sequence[str]) -> bool:
    return any(column == f"verdict_{rid}_reasons" for rid in rule_set_ids)


def _error_text(exc: BaseException) -> str:
    """The error's message without the archive path (the same for every row of a run)."""
    if isinstance(exc, NerveConductIOError):
        return f"{exc.location}: {exc.detail}" if exc.location else exc.detail
    return str(exc)


def _failure(index: int, study_id: Any, exc: BaseException, opts: TaskOptions) -> dict[str, Any]:
    record = {"nerve_index": index, **failure_record(opts.source, exc)}
    record["error"] = _error_text(exc)
    record["study_id"] = None if study_id is None else str(study_id)
    return record


# ------------------------------------------------------------------------------ rows
def _sub_chunk(chunk: TraceChunk, j0: int, j1: int) -> TraceChunk:
    """Nerves ``j0:j1`` of ``chunk`` (positions within the chunk) as a chunk of their own,
    with their F-wave trains (:meth:`~nerveconduct.io.archive.TraceChunk.sub_chunk`)."""
    return chunk.sub_chunk(j0, j1)


def _rows(chunk: TraceChunk, opts: TaskOptions) -> Any:
    """The output rows of every nerve of ``chunk`` (all valid), in nerve order: text lines,
    or an Arrow table for Parquet."""
    table = table_from_chunk(chunk, opts.limits, n_threads=opts.n_threads)
    verdicts = (verdict_cells(table, opts.rule_sets, worded=opts.worded, reasons=opts.reasons)
                if opts.rule_sets else None)
    if opts.fmt == "parquet":  # the same columns, typed; the error columns null
        from ..serialize.arrow import arrow_table

        return arrow_table(table, opts.kind, opts.columns, sources=[opts.source] * table.n_nerves,
                           verdicts=verdicts, blank_single_site=True,
                           extra={"nerve_index": table.nerve["nerve_index"]})
    if opts.kind == "record":  # the nested records: the slice's UTF-8 bytes, no line made first
        return record_block(table, sources=[opts.source] * table.n_nerves, verdicts=verdicts,
                            extra={"nerve_index": [str(i) for i in table.nerve["nerve_index"].tolist()]},
                            as_buffer=True)  # the records' Arrow memory, not copied into bytes
    cells = render(table, opts.kind, opts.fmt, opts.columns[:-len(ERROR_COLUMNS)],
                   sources=[opts.source] * table.n_nerves, verdicts=verdicts, blank_single_site=True,
                   extra={"nerve_index": [str(i) for i in table.nerve["nerve_index"].tolist()]})
    if opts.fmt == "csv":  # the error columns: empty
        return [line + ",," for line in cells]
    return cells


def _runs(chunk: TraceChunk, opts: TaskOptions, encoder: Encoder, j0: int, j1: int) -> int:
    """Write nerves ``j0:j1`` (valid studies); a run that raises is halved down to the nerve
    that raises, which gets a failure row. Returns the number of failed nerves."""
    try:
        rows = _rows(_sub_chunk(chunk, j0, j1), opts)
        if isinstance(rows, (bytes, pa.Buffer)) and not hasattr(encoder, "add_encoded"):  # an encoder of text only
            rows = [bytes(rows)[:-1].decode("utf-8")] if len(rows) else []
        encoder.add_rendered(rows)
        return 0
    except RECORD_ERRORS as exc:
        if j1 - j0 == 1:
            encoder.add([_failure(int(chunk.nerves["nerve_index"][j0]), chunk.nerves["study_id"][j0], exc, opts)])
            return 1
        mid = (j0 + j1) // 2
        return _runs(chunk, opts, encoder, j0, mid) + _runs(chunk, opts, encoder, mid, j1)


def _write_chunk(chunk: TraceChunk, opts: TaskOptions, encoder: Encoder) -> int:
    """Write every nerve of a chunk that was read: runs of valid nerves analyzed together, a
    nerve whose stored values make no valid study as a failure row. Returns the failures."""
    valid = np.asarray(chunk.valid_nerves(), dtype=bool)
    failed = 0
    edges = (np.flatnonzero(valid[1:] != valid[:-1]) + 1).tolist()  # runs of equal validity
    for j, k in zip([0, *edges], [*edges, chunk.n_nerves]):
        if j >= k:
            continue
        if valid[j]:
            failed += _runs(chunk, opts, encoder, j, k)
        else:
            for m in range(j, k):
                try:
                    _sub_chunk(chunk, m, m + 1).studies()
                    exc: BaseException = ArchiveError("stored values make no valid study",
                                                      location=f"nerve {int(chunk.nerves['nerve_index'][m])}")
                except ArchiveError as err:
                    exc = err
                encoder.add([_failure(int(chunk.nerves["nerve_index"][m]), chunk.nerves["study_id"][m], exc, opts)])
                failed += 1
    return failed


def _read(archive: Archive, a: int, b: int) -> Iterator[TraceChunk | tuple[int, int, ArchiveError]]:
    """Read nerves ``[a, b)``; a range that fails is halved until the bad nerves are found."""
    try:
        yield archive.read_chunk(a, b)
    except ArchiveError as exc:
        if b - a == 1:
            yield (a, b, exc)
        else:
            mid = (a + b) // 2
            yield from _read(archive, a, mid)
            yield from _read(archive, mid, b)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a slice is analyzed and written.

    A slice makes many short-lived, acyclic objects (views, verdicts, cells), which reference
    counting frees; the collector's passes over them cost 10-20 % of a nested-record task and
    find nothing. It runs again after the slice.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def process_chunk_range(archive: Archive, start_nerve: int, stop_nerve: int,
                        opts: TaskOptions) -> ChunkOutput:
    """Analyze nerves ``[start_nerve, stop_nerve)`` of an open archive into output rows.

    Parameters
    ----------
    archive : Archive
        Open archive (in the process that runs this).
    start_nerve, stop_nerve : int
        Nerve range (``stop_nerve > start_nerve``).
    opts : TaskOptions
        Table, format, rule sets and limits.

    Returns
    -------
    ChunkOutput
        Rows of every nerve of the range in nerve order, each nerve once (result or failure).
    """
    encoder = Encoder(opts.fmt, opts.columns, compress=opts.worded, kind=opts.kind)
    failed = n_traces = 0
    read_rows = WORDED_READ_ROWS if opts.worded else READ_ROWS
    for a, b in archive.plan_chunks(read_rows, start_nerve=start_nerve, stop_nerve=stop_nerve):
        for piece in _read(archive, a, b):
            if isinstance(piece, tuple):  # unreadable nerves: their study_id is unknown too
                bad_a, bad_b, exc = piece
                encoder.add([_failure(i, None, exc, opts) for i in range(bad_a, bad_b)])
                failed += bad_b - bad_a
                r0, r1 = archive.row_range(bad_a, bad_b)
                n_traces += r1 - r0
                continue
            n_traces += piece.n_rows
            with _no_cyclic_gc():
                failed += _write_chunk(piece, opts, encoder)
    data = encoder.finish()
    sizes = tuple(getattr(encoder, "sizes", ()))  # Zstandard pieces (an encoder that makes them)
    return ChunkOutput(start_nerve, stop_nerve, n_traces, failed, data, compressed=encoder.compressed,
                       **({"sizes": sizes} if sizes else {}))


# One open archive per worker process, reused by the tasks that process runs.
_OPEN: dict[str, Any] = {}


def _worker_archive(path: str) -> Archive:
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if _OPEN.get("key") != key:
        if "archive" in _OPEN:
            _OPEN.pop("archive").close()
        _OPEN["archive"] = open_archive(path)
        _OPEN["key"] = key
    return _OPEN["archive"]


def process_range(path: str, start_nerve: int, stop_nerve: int, opts: TaskOptions) -> ChunkOutput:
    """Task entry point for a worker process: open ``path`` (kept open for the next task).

    Parameters
    ----------
    path : str
        Absolute path of the archive, readable by the worker.
    start_nerve, stop_nerve : int
        Nerve range.
    opts : TaskOptions

    Returns
    -------
    ChunkOutput
        See :func:`process_chunk_range`.

    Raises
    ------
    ArchiveError
        The archive cannot be opened at all in this worker.
    """
    return process_chunk_range(_worker_archive(path), start_nerve, stop_nerve, opts)
