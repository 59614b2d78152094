"""The patient table of an archive: one row per case, streamed (``table="patient"``).

A case is the nerves sharing a case key (``study_id``: the sheet's ``case_id``, else the
pseudonym of the export's patient fields, else one per file; a nerve without one belongs to
the archive file's case, :func:`nerveconduct.model.case_key`). The case's nerves may lie
anywhere in the archive and across any number of chunks:

1. the nerve table's ``study_id`` column (no traces) is read once, in slices, to find each
   case's *last* nerve;
2. the chunks are analyzed as for the other tables (in-process, a process pool or Dask), and
   come back in nerve order; a task returns, per nerve, its case key and its
   :class:`~nerveconduct.analysis.NerveResult` (or that it failed);
3. a case's row is written as soon as its last nerve has come back, and its nerves are
   forgotten. Memory holds the nerves of the cases still open (for an archive written case by
   case, as ``nerveconduct convert`` does, one case) plus one integer per case.

Rows are in the order of each case's last nerve, so the output is the same bytes whatever
``jobs``, ``chunk_rows`` or the scheduler. The file is written atomically (the temporary file
replaces ``OUT`` at the end); ``resume`` is not offered for this table (a run that stops
leaves nothing: run it again).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..analysis import table_from_chunk, views
from ..io import _archive_layout as L
from ..io._atomic import atomic_path
from ..io.archive import Archive, open_archive
from ..io.pseudonym import source_key
from ..limits import NormalLimits
from ..model import case_key
from ..serialize.patient import (
    PATIENT_RULE_SETS, patient_arrow_schema, patient_columns, patient_csv_line, patient_json_line,
    patient_row,
)
from .executors import dask_backend, inline_backend, ordered_results, pool_backend
from .task import RECORD_ERRORS, _read, _sub_chunk, _worker_archive

__all__ = ["run_patient_table", "patient_inputs", "ROW_GROUP_CASES"]

#: Cases per Parquet row group (fixed: the file is the same whatever the chunking).
ROW_GROUP_CASES = 4096


def _results(chunk: Any, limits: NormalLimits, n_threads: int | None) -> list[Any]:
    """NerveResults of a chunk's nerves (None for a nerve that cannot be analyzed), halving
    a slice that fails down to the nerve that fails (as the nerve table's rows do)."""
    valid = np.asarray(chunk.valid_nerves(), dtype=bool)
    out: list[Any] = [None] * chunk.n_nerves

    def runs(j0: int, j1: int) -> None:
        try:
            out[j0:j1] = views(table_from_chunk(_sub_chunk(chunk, j0, j1), limits, n_threads=n_threads))
        except RECORD_ERRORS:
            if j1 - j0 > 1:
                mid = (j0 + j1) // 2
                runs(j0, mid)
                runs(mid, j1)

    edges = (np.flatnonzero(valid[1:] != valid[:-1]) + 1).tolist()
    for j, k in zip([0, *edges], [*edges, chunk.n_nerves]):
        if j < k and valid[j]:
            runs(j, k)
    return out


def patient_inputs(archive: Archive, start_nerve: int, stop_nerve: int, *, limits: NormalLimits,
                   source: str, n_threads: int | None = None) -> list[tuple[int, str | None, Any]]:
    """Per nerve of ``[start_nerve, stop_nerve)``: (nerve index, case key, NerveResult or
    ``None`` when the nerve cannot be read or analyzed)."""
    out: list[tuple[int, str | None, Any]] = []
    for a, b in archive.plan_chunks(2048, start_nerve=start_nerve, stop_nerve=stop_nerve):
        for piece in _read(archive, a, b):
            if isinstance(piece, tuple):  # unreadable: its case key is read from the index
                bad_a, bad_b, _ = piece
                ids = _ids_or_none(archive, bad_a, bad_b)
                out += [(i, case_key(k, source), None) for i, k in zip(range(bad_a, bad_b), ids)]
                continue
            results = _results(piece, limits, n_threads)
            for j, result in enumerate(results):
                out.append((int(piece.nerves["nerve_index"][j]),
                            case_key(piece.nerves["study_id"][j], source), result))
    return out


def _ids_or_none(archive: Archive, a: int, b: int) -> list[str | None]:
    try:
        return archive.study_ids(a, b)
    except Exception:  # noqa: BLE001 - a damaged index: the nerves go to the file's case
        return [None] * (b - a)


def _worker_inputs(path: str, start: int, stop: int, *, limits: NormalLimits,
                   source: str) -> list[tuple[int, str | None, Any]]:
    return patient_inputs(_worker_archive(path), start, stop, limits=limits, source=source,
                          n_threads=1)


def _last_nerve(archive: Archive, source: str) -> dict[str | None, int]:
    """Each case key's last nerve index, from the nerve table read in slices."""
    last: dict[str | None, int] = {}
    for a in range(0, archive.n_nerves, L.INDEX_SLICE):
        b = min(a + L.INDEX_SLICE, archive.n_nerves)
        for i, key in enumerate(_ids_or_none(archive, a, b), start=a):
            last[case_key(key, source)] = i
    return last


def _rows(ordered: Iterator[list[tuple[int, str | None, Any]]], last: dict[str | None, int]
          ) -> Iterator[dict[str, Any]]:
    """Case rows in the order of each case's last nerve, from per-chunk nerve inputs."""
    open_cases: dict[str | None, list[Any]] = {}
    failed: dict[str | None, int] = {}
    for chunk in ordered:
        for index, key, result in chunk:
            if result is None:
                failed[key] = failed.get(key, 0) + 1
                open_cases.setdefault(key, [])
            else:
                open_cases.setdefault(key, []).append(result)
            if last.get(key) == index:
                yield patient_row(key, open_cases.pop(key), n_failed=failed.pop(key, 0),
                                  rule_set_ids=PATIENT_RULE_SETS)


def run_patient_table(archive: str | Any, out: Path, fmt: str, *, jobs: int | None,
                      chunk_rows: int, scheduler: str | None, limits: NormalLimits,
                      overwrite: bool, resume: bool = False, keep_identifiers: bool = False,
                      progress: Callable[[int, int], Any] | None = None) -> tuple[int, int, int]:
    """Write the patient table of ``archive`` to ``out`` (``fmt``: csv, jsonl or parquet);
    the options mean what they mean for :func:`nerveconduct.batch.run`.

    Returns
    -------
    (n_nerves, n_failed, n_traces)
        Nerves in the archive, those that could not be analyzed (counted in their case's
        ``n_nerves_failed``), and the trace rows read.

    Raises
    ------
    ValueError
        ``resume`` (the table is written in one pass).
    """
    if resume:
        raise ValueError("the patient table is written in one pass and cannot be resumed "
                         "(resume=True, --resume): run it again without it")
    columns = patient_columns(PATIENT_RULE_SETS)
    with open_archive(archive) as arc:
        path = arc.path.resolve()
        source = path.name if keep_identifiers else source_key(path)
        last = _last_nerve(arc, source)
        plan = arc.plan_chunks(chunk_rows) if arc.n_nerves else []
        parallel = scheduler is not None or (jobs or 1) > 1
        if scheduler is not None:
            backend = dask_backend(scheduler, jobs, functools.partial(
                _worker_inputs, str(path), limits=limits, source=source))
        elif parallel:
            backend = pool_backend(jobs, functools.partial(
                _worker_inputs, str(path), limits=limits, source=source))
        else:
            backend = inline_backend(
                lambda a, b: patient_inputs(arc, a, b, limits=limits, source=source))
        counts = {"failed": 0, "traces": 0}

        def ordered() -> Iterator[list[tuple[int, str | None, Any]]]:
            with backend as (submit, max_in_flight):
                for chunk in ordered_results(submit, plan, max_in_flight):
                    counts["failed"] += sum(r is None for _, _, r in chunk)
                    if chunk and progress is not None:
                        r0, r1 = arc.row_range(chunk[0][0], chunk[-1][0] + 1)
                        counts["traces"] += r1 - r0
                        progress(counts["traces"], arc.n_traces)
                    yield chunk

        with atomic_path(out, overwrite=overwrite) as tmp:
            _write(tmp, fmt, columns, _rows(ordered(), last))
        return arc.n_nerves, counts["failed"], arc.n_traces


def _write(path: Path, fmt: str, columns: list[str], rows: Iterator[dict[str, Any]]) -> int:
    n = 0
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = patient_arrow_schema(columns)
        writer = pq.ParquetWriter(str(path), schema)
        batch: list[dict[str, Any]] = []
        try:
            for row in rows:
                batch.append(row)
                n += 1
                if len(batch) == ROW_GROUP_CASES:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch or n == 0:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        finally:
            writer.close()
        return n
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            fh.write(patient_csv_line(dict(zip(columns, columns)), columns) + "\n")  # header
        for row in rows:
            fh.write((patient_csv_line(row, columns) if fmt == "csv"
                      else patient_json_line(row, columns)) + "\n")
            n += 1
    return n
