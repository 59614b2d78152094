"""Batch analysis of a whole archive: streamed chunk by chunk, in parallel, resumable.

:func:`run` reads a nerveconduct HDF5 archive in chunks of whole nerves (never all at once),
measures and analyzes each chunk with the vectorized core, applies the criteria, and writes
one output table incrementally — JSON Lines, CSV or Parquet, one row per nerve or one row per
segment (``docs/batch.md`` lists every column with its unit). The same run executes in-process, on a
local process pool (``jobs``) or on a Dask cluster (``scheduler``); the output is
byte-identical whichever is used and whatever ``chunk_rows`` is.

- **Order and memory.** Rows are written in nerve order; chunks finishing early wait in a
  bounded window (two per worker), so memory does not grow with the archive.
- **Failures.** A nerve that cannot be read, is invalid, or whose analysis fails gets a
  failure row with its error; the run goes on. Every nerve of the archive appears in the
  output exactly once. See :mod:`nerveconduct.batch.task`.
- **Resume.** Rows go to ``OUT.partial`` with a checkpoint log; an interrupted run (even
  killed) restarted with ``resume=True`` continues after the last complete chunk and
  produces the same bytes as an uninterrupted run; on a finished ``OUT`` it does nothing
  (``BatchSummary.already_complete``). See :mod:`nerveconduct.batch.output`.
- **Atomic.** ``OUT`` appears only when the run is complete (:func:`os.replace`).
- **Parquet.** The partial file holds the chunks' rows as typed Arrow IPC streams (what
  ``resume`` continues); as they come, they are also written as Parquet row groups of
  :data:`nerveconduct.serialize.parquet.ROW_GROUP_NERVES` nerves into a temporary file that
  replaces ``OUT`` atomically at the end (the same bytes whatever ``jobs``, ``chunk_rows``
  and resume history).

Scripts using ``jobs > 1`` should guard their entry point with ``if __name__ == "__main__":``
(where there is no fork server, e.g. on Windows, worker processes are spawned and import
the main module).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import hashlib
import io
import time
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Sequence

from .executors import (
    DaskMissingError, dask_backend, inline_backend, ordered_results, pool_backend,
)
from .output import BatchResumeError, LiveParquet, PartialOutput, partial_paths
from .patient import run_patient_table
from .task import FORMATS, TaskOptions, process_chunk_range, process_range
from .task import TABLES as ROW_TABLES
from .._checks import check_number, check_option
from ..criteria import DEFAULT_CRITERIA as CRITERIA_DEFAULT
from ..criteria.registry import get_rule_set
from ..criteria.tables import RuleSet
from ..io.pseudonym import source_key
from ..io._atomic import atomic_path
from ..io.archive import Archive, open_archive
from ..limits import NormalLimits
from ..serialize.records import SCHEMA_VERSION

__all__ = ["run", "BatchSummary", "BatchResumeError", "DaskMissingError", "TABLES", "FORMATS",
           "DEFAULT_CRITERIA", "DEFAULT_CHUNK_ROWS"]

#: Output tables: one row per nerve, per segment, or per case (patient).
TABLES: tuple[str, ...] = (*ROW_TABLES, "patient")
#: Rule sets whose verdicts a batch adds by default.
DEFAULT_CRITERIA: tuple[str, ...] = CRITERIA_DEFAULT  # the one default list (nerveconduct.criteria)
#: Trace rows per task by default (read and analyzed in slices of ``READ_ROWS``).
DEFAULT_CHUNK_ROWS = 16384
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    out : pathlib.Path
        The output file written.
    n_nerves : int
        Nerves in the archive (= nerves in the output, each exactly once).
    n_ok, n_failed : int or None
        Nerves written with results / as failure rows (whole output, resumed part included);
        None when ``already_complete`` (the existing output is not read).
    n_resumed : int
        Nerves already in the partial output when the run resumed (0 for a fresh run).
    n_traces : int
        Traces analyzed by this run (the resumed part excluded).
    seconds : float
        Wall time of this run (s), from opening the archive to the final rename.
    traces_per_s : float
        ``n_traces / seconds``.
    already_complete : bool
        ``resume=True`` found ``out`` already written and no partial output: nothing was
        done and ``out`` was left untouched (``n_traces`` is 0).
    """

    out: Path
    n_nerves: int
    n_ok: int | None
    n_failed: int | None
    n_resumed: int
    n_traces: int
    seconds: float
    traces_per_s: float
    already_complete: bool = False


# ---------------------------------------------------------------------------- options
def _output_format(out: Path) -> str:
    suffix = check_option(f"the suffix of the output file {str(out)!r} (it sets the format)",
                          out.suffix.lower(), sorted(_SUFFIX_FORMATS))
    return _SUFFIX_FORMATS[suffix]


def _rule_sets(criteria: Sequence[str | RuleSet] | str | None) -> tuple[RuleSet, ...]:
    if criteria is None:
        return ()
    if isinstance(criteria, (str, RuleSet)):
        criteria = (criteria,)
    return tuple(get_rule_set(c) for c in criteria)


def _limits(limits: NormalLimits | str | PathLike[str] | None) -> NormalLimits:
    if limits is None:
        return NormalLimits.default()
    if isinstance(limits, NormalLimits):
        return limits
    if isinstance(limits, (str, PathLike)):
        return NormalLimits.from_file(limits)
    raise TypeError(f"limits must be None (the default table), a NormalLimits or the path of "
                    f"a CSV/TOML limits file, got {type(limits).__name__}")


def _sha256(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8")).hexdigest()[:16]


def _fingerprint(archive: Archive, opts: TaskOptions) -> dict[str, Any]:
    """What must not change between an interrupted run and its resumption."""
    from ..constants import VERSION as __version__

    stat = archive.path.stat()
    return {
        "archive": {"name": archive.path.name, "size": stat.st_size,
                    "mtime_ns": stat.st_mtime_ns, "n_nerves": archive.n_nerves,
                    "n_traces": archive.n_traces, "created": archive.created},
        "table": opts.table, "format": opts.fmt, "columns": list(opts.columns),
        "criteria": [rs.id for rs in opts.rule_sets],
        "criteria_sha256": _sha256(opts.rule_sets),
        "limits": opts.limits.name,
        "limits_sha256": _sha256((opts.limits.name, opts.limits.citation, opts.limits.rows)),
        "schema_version": SCHEMA_VERSION, "nerveconduct": __version__,
    }


def _open_output(out: Path, fingerprint: dict[str, Any], header: bytes, *, resume: bool,
                 overwrite: bool) -> PartialOutput:
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not an output file", str(out))
    if not out.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "output directory does not exist", str(out.parent))
    data_path, log_path = partial_paths(out)
    if out.exists() and not overwrite:
        hint = (": a partial run exists too; continue it and replace the output with "
                "resume=True, overwrite=True (--resume --overwrite)"
                if resume and (data_path.exists() or log_path.exists()) else "")
        raise FileExistsError(errno.EEXIST, f"output file exists, not overwritten{hint}",
                              str(out))
    if data_path.exists() or log_path.exists():
        if resume:
            return PartialOutput.resume(out, fingerprint)
        if not overwrite:
            raise FileExistsError(errno.EEXIST, "the partial output of an interrupted run "
                                  "exists: continue it (resume=True, --resume) or start over "
                                  "(overwrite=True, --overwrite)", str(data_path))
    return PartialOutput.start(out, fingerprint, header)


def _complete(out: Path) -> bool:
    """Whether ``out`` is a finished output: the file exists and no partial run is left."""
    return out.is_file() and not any(p.exists() for p in partial_paths(out))


def _header(opts: TaskOptions) -> bytes:
    if opts.fmt != "csv":
        return b""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(opts.columns)
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------- the run
def run(
    archive: str | PathLike[str],
    out: str | PathLike[str],
    *,
    jobs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    table: str = "nerve",
    criteria: Sequence[str | RuleSet] | None = DEFAULT_CRITERIA,
    limits: NormalLimits | str | PathLike[str] | None = None,
    reasons: bool = False,
    keep_identifiers: bool = False,
    progress: Callable[[int, int], Any] | None = None,
) -> BatchSummary:
    """Analyze every nerve of an archive into one results file, streaming.

    Parameters
    ----------
    archive : str or path-like
        A nerveconduct HDF5 archive (:func:`nerveconduct.io.archive.write_archive`).
    out : str or path-like
        Output file; its suffix chooses the format: ``.jsonl`` (JSON Lines), ``.csv`` or
        ``.parquet`` (the flat tables as typed columns; see ``docs/output-fields.md``).
    jobs : int, optional
        Worker processes. Locally: None or 1 runs in this process, N > 1 a pool of N worker
        processes. With ``scheduler="local"``: the LocalCluster's workers (None: 2). Ignored
        for a remote scheduler.
    chunk_rows : int, default 16384
        Trace rows per task (whole nerves; a nerve is never split). A task reads and
        analyzes its rows in slices of 8192 (2048 for nested records and reasons), so
        memory does not grow with ``chunk_rows``;
        smaller tasks give finer progress and load balance, larger ones less overhead. The
        results do not depend on it.
    scheduler : str, optional
        ``"local"`` (start a Dask LocalCluster) or a Dask scheduler address
        (``"tcp://host:8786"``) whose workers can import nerveconduct and read ``archive`` at
        the same absolute path. Needs ``pip install 'nerveconduct[dask]'``.
    resume : bool, default False
        Continue the partial output of an interrupted run (same archive and options; a
        different ``jobs``, ``chunk_rows`` or ``scheduler`` is fine). Without a partial
        output the run starts from the beginning, unless ``out`` already exists: then the
        run is taken as done, nothing is written and the summary says
        ``already_complete=True`` (``out`` is not checked against the archive or options;
        ``overwrite=True`` redoes it).
    overwrite : bool, default False
        Replace an existing output file, or discard a partial output instead of resuming.
    table : {"nerve", "segment", "patient"}, default "nerve"
        One row per nerve (JSON Lines: the nested record of ``nerveconduct analyze`` with its
        sites, segments, limits and verdicts; CSV, Parquet: the flat nerve row), one flat row per
        segment (a nerve with a single site gets one row with its identity only), or one row
        per case (patient: :mod:`nerveconduct.batch.patient`; ``criteria`` and ``reasons``
        do not apply: its rule sets are fixed; ``resume`` is refused).
    criteria : sequence of str or RuleSet, default :data:`nerveconduct.criteria.DEFAULT_CRITERIA`
        Rule sets whose verdicts are added to every row (``()`` or None: none).
    limits : NormalLimits, path or None
        Normal limits (default: :meth:`NormalLimits.default`) or a lab's CSV/TOML file.
    reasons : bool, default False
        Segment table: add each rule set's ``verdict_R_reasons`` column (every rule item
        with its threshold and the measured value). The sentences are built per segment,
        which makes the run several times slower. The nested nerve records of
        ``table="nerve"`` in JSON Lines always carry them.
    keep_identifiers : bool, default False
        Rows name the archive by its file name (``source``); by default by its pseudonymous
        key (:func:`nerveconduct.io.source_key`: file names often carry a patient's name).
    progress : callable (done_traces, total_traces), optional
        Called after each chunk is written (resumed traces count as done).

    Returns
    -------
    BatchSummary
        Counts (nerves ok / failed), traces analyzed, time and throughput (traces/s).

    Raises
    ------
    ValueError
        Output suffix not ``.jsonl``/``.csv``/``.parquet``; ``table`` not one of :data:`TABLES`;
        ``jobs``/``chunk_rows`` not positive integers.
    FileExistsError
        ``out`` exists (without ``overwrite``; with ``resume`` only when a partial output
        exists too), or a partial output exists (without ``resume`` or ``overwrite``).
    BatchResumeError
        The partial output was written for another archive or other options.
    ArchiveError
        ``archive`` is missing or not a nerveconduct archive (damage *inside* it gives
        failure rows instead).
    KeyError
        An unknown rule-set id (the message lists the known ones).
    DaskMissingError
        ``scheduler`` given but Dask distributed is not installed.

    Notes
    -----
    Rows carry ``nerve_index``, the nerve's position in the archive. Failure rows carry
    ``nerve_index``, ``source``, ``study_id`` (None when unreadable), ``error_type`` and
    ``error``. Any other exception (a bug, a full disk) stops the run with the partial
    output kept, so that ``resume=True`` continues it once the cause is fixed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nerveconduct.simulate.nerve import simulate_nerve
    >>> from nerveconduct.io.archive import write_archive
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> studies = simulate_nerve((70.0, 200.0), n_nerves=3, seed=1, sweep_ms=25.0).to_studies()
    >>> _ = write_archive(folder / "a.h5", studies)
    >>> summary = run(folder / "a.h5", folder / "results.jsonl")
    >>> summary.n_nerves, summary.n_failed, summary.out.name
    (3, 0, 'results.jsonl')
    """
    started = time.perf_counter()
    out = Path(out)
    fmt = _output_format(out)
    check_option("table", table, TABLES)
    chunk_rows = check_number("chunk_rows", chunk_rows, unit="rows", minimum=1,
                              integer=True)
    jobs = check_number("jobs", jobs, unit="processes", minimum=1, integer=True,
                        allow_none=True)
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
        raise ValueError(f"scheduler must be None, 'local' or a Dask scheduler address such as "
                         f"'tcp://host:8786', got {scheduler!r}")
    rule_sets, table_limits = _rule_sets(criteria), _limits(limits)
    if table == "patient":  # one row per case: its own streaming pass (batch/patient.py)
        n_nerves, n_failed, n_traces = run_patient_table(
            archive, out, fmt, jobs=jobs, chunk_rows=chunk_rows, scheduler=scheduler,
            limits=table_limits, overwrite=overwrite, resume=resume,
            keep_identifiers=keep_identifiers, progress=progress)
        seconds = time.perf_counter() - started
        return BatchSummary(out=out, n_nerves=n_nerves, n_ok=n_nerves - n_failed,
                            n_failed=n_failed, n_resumed=0, n_traces=n_traces, seconds=seconds,
                            traces_per_s=n_traces / seconds if seconds > 0 else 0.0)

    with open_archive(archive) as arc:
        path = arc.path.resolve()
        parallel = scheduler is not None or (jobs or 1) > 1  # workers measure on one thread
        opts = TaskOptions(table=table, fmt=fmt, rule_sets=rule_sets, limits=table_limits,
                           source=path.name if keep_identifiers else source_key(path),
                           reasons=bool(reasons),
                           n_threads=1 if parallel else None)
        if resume and not overwrite and _complete(out):
            return BatchSummary(out=out, n_nerves=arc.n_nerves, n_ok=None, n_failed=None,
                                n_resumed=0, n_traces=0,
                                seconds=time.perf_counter() - started, traces_per_s=0.0,
                                already_complete=True)
        output = _open_output(out, _fingerprint(arc, opts), _header(opts), resume=resume,
                              overwrite=overwrite)
        n_resumed, n_nerves = output.next_nerve, arc.n_nerves
        plan = arc.plan_chunks(chunk_rows, start_nerve=n_resumed) if n_resumed < n_nerves else []
        resumed = output.n_traces
        if scheduler is not None:
            backend = dask_backend(scheduler, jobs, functools.partial(process_range, str(path),
                                                                      opts=opts))
        elif (jobs or 1) > 1:
            backend = pool_backend(jobs, functools.partial(process_range, str(path), opts=opts))
        else:
            backend = inline_backend(functools.partial(process_chunk_range, arc, opts=opts))
        with contextlib.ExitStack() as stack:
            live = None
            if opts.fmt == "parquet":  # OUT's row groups, written as chunks come (atomic at the end)
                live = LiveParquet(output, opts,
                                    stack.enter_context(atomic_path(out, overwrite=overwrite)))
            try:
                with backend as (submit, max_in_flight):
                    for chunk in ordered_results(submit, plan, max_in_flight):
                        for piece in chunk.chunks():
                            output.write(piece)
                        output.checkpoint(chunk.stop_nerve, chunk.n_failed, chunk.n_traces)
                        if live is not None:
                            live.add(b"".join(chunk.data))
                        if progress is not None:
                            progress(output.n_traces, arc.n_traces)
                if output.next_nerve != n_nerves:  # a plan always covers every nerve
                    raise RuntimeError(f"internal error: the run ended at nerve "
                                       f"{output.next_nerve} of {n_nerves}; the partial output "
                                       f"is kept")
                if live is None:
                    output.commit(overwrite=overwrite)
            finally:
                if live is not None:
                    live.close()  # the footer; on an error the temporary file is then removed
                output.close()  # after an error the partial output stays: resume=True continues it
        if live is not None:  # OUT is in place (atomic_path): the partial output is done with
            output.discard()
    seconds = time.perf_counter() - started
    n_traces = output.n_traces - resumed
    return BatchSummary(out=out, n_nerves=n_nerves, n_ok=n_nerves - output.n_failed,
                        n_failed=output.n_failed, n_resumed=n_resumed, n_traces=n_traces,
                        seconds=seconds, traces_per_s=n_traces / seconds if seconds > 0 else 0.0)

