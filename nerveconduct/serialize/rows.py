"""Rows of the analysis table: one per site, segment or nerve, and the nested nerve record.

The one row builder. :func:`render` writes the rows of a :class:`~nerveconduct.analysis.NerveTable`
as CSV lines or JSON objects, column by column with the one cell rule
(:class:`~.cells.Cells`); the nested nerve record (``kind="record"``) is assembled from the
same cells (:mod:`._nested`). The dict-returning functions (:func:`nerve_row`, :func:`segment_rows`,
:func:`site_rows`, and :func:`~.records.nerve_record`) read back what :func:`render` writes,
so a value reads the same in every output. Every column and its unit is documented in
``docs/output-fields.md``.

Examples
--------
>>> from nerveconduct.model import Site
>>> from nerveconduct.analysis import analyze_values
>>> r = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
>>> round(segment_rows(r)[0]["conduction_velocity_m_s"], 1)
44.0
"""

from __future__ import annotations

import csv
import json
import operator
import os
from typing import IO, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..analysis import NerveResult, NerveTable
from .cells import Cells, csv_cell

__all__ = [
    "SCHEMA_VERSION", "IDENTITY_COLUMNS", "IDENTIFIER_COLUMNS", "SITE_COLUMNS", "SEGMENT_COLUMNS",
    "NERVE_COLUMNS", "VERDICT_COLUMN_SUFFIXES", "KINDS", "render", "site_rows", "site_columns",
    "segment_rows", "segment_columns", "nerve_row", "nerve_columns", "write_csv", "csv_cell",
]

from ._fields import (  # the columns and their cells, shared with the nested record
    IDENTIFIER_COLUMNS, IDENTITY_COLUMNS, KINDS, NERVE_COLUMNS, SCHEMA_VERSION, SEGMENT_COLUMNS,
    SITE_COLUMNS, VERDICT_COLUMN_SUFFIXES, _identity, _Lazy, _nerve_cells, _segment_cells, _site_cells,
    nerve_columns, segment_columns, site_columns,
)


def _picker(index: np.ndarray, n: int) -> Callable[[list[str]], list[str]]:
    """A function taking ``values[index]`` from lists (the list itself when ``index`` is 0..n-1)."""
    if len(index) == n and np.array_equal(index, np.arange(n)):
        return lambda values: values  # noqa: E731
    picks = index.tolist()
    getter = operator.itemgetter(*picks) if len(picks) > 1 else None
    if getter is None:
        return lambda values: [values[i] for i in picks]  # noqa: E731
    return lambda values: list(getter(values))  # noqa: E731


# ------------------------------------------------------------------------------ render
def render(t: NerveTable, kind: str, fmt: str, columns: Sequence[str] | None = None, *,
           sources: Sequence[Any] | None = None, verdicts: Any = None, keep_identifiers: bool = False,
           blank_single_site: bool = False, extra: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
    """The rows of ``t`` as text: one line per row (without newline), in nerve order.

    Parameters
    ----------
    t : NerveTable
    kind : {"site", "segment", "nerve", "record"}
        Flat rows per site, segment or nerve, or one nested record per nerve.
    fmt : {"csv", "jsonl"}
        CSV lines (cells in ``columns`` order) or JSON objects.
    columns : sequence of str, optional
        Flat rows: the columns, in order (default: all of the kind's, with the verdict
        columns of ``verdicts``); columns the row builder does not know are left missing
        (empty in CSV, absent in JSON). Ignored for records.
    sources : sequence, optional
        Each nerve's ``source`` (file name or None).
    verdicts : VerdictCells, optional
        What :func:`~.verdicts.verdict_cells` made for these nerves.
    keep_identifiers : bool, default False
        Add :data:`IDENTIFIER_COLUMNS` from the studies' metadata.
    blank_single_site : bool, default False
        Segment rows: a nerve without segments still gets one row (its identity).
    extra : mapping, optional
        Per-nerve cells (already rendered) of extra leading columns, e.g. ``nerve_index``.

    Returns
    -------
    list of str
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    cells = Cells("json" if fmt == "jsonl" else "csv")
    n = t.n_nerves
    ident = _identity(t, cells, sources if sources is not None else [None] * n, keep_identifiers)
    ident.update(extra or {})
    vcells = verdicts.cells(kind, cells) if verdicts is not None else {}
    if kind == "record":  # assembled column by column (repeated columns formatted once)
        from ._nested import records

        return records(t, ident, vcells, keep_identifiers)
    if kind == "site":
        body, nerve_of = _site_cells(t, cells), t.site["nerve_row"]
        default = site_columns(keep_identifiers=keep_identifiers)
    elif kind == "segment":
        body, nerve_of = _segment_cells(t, cells), t.segment["nerve_row"]
        default = segment_columns(verdicts.rule_set_ids if verdicts is not None else (),
                                  keep_identifiers=keep_identifiers)
    else:
        body, nerve_of = _nerve_cells(t, cells), np.arange(n)
        default = nerve_columns(verdicts.rule_set_ids if verdicts is not None else (),
                                keep_identifiers=keep_identifiers)
    body.update(vcells)
    order = np.arange(len(nerve_of))
    if kind == "segment" and blank_single_site:
        single = np.flatnonzero(t.nerve["n_sites"] == 1)
        if len(single):  # a nerve without segments: one row of its identity, the rest blank
            n_seg = len(nerve_of)
            rows = np.concatenate([nerve_of, single])
            by = np.argsort(rows, kind="stable")
            nerve_of = rows[by]
            order = np.concatenate([np.arange(n_seg), np.full(len(single), n_seg)])[by]
            short = body
            body = _Lazy({k: (lambda k=k: short[k] + [cells.none]) for k in (*short.renderers, *vcells)})
    cols = list(columns) if columns is not None else ["nerve_index"] * ("nerve_index" in ident) + default
    by_nerve = _picker(nerve_of, n)
    picks = _picker(order, len(order))
    data: list[tuple[str, list[str]]] = []
    for col in cols:
        if col in ident:
            data.append((col, by_nerve(ident[col])))
        elif col in body:
            data.append((col, picks(body[col])))
        elif fmt == "csv":
            data.append((col, [""] * len(order)))
    if fmt == "csv":
        return [",".join(row) for row in zip(*[v for _, v in data])] if data else []
    return _objects_json(data)


def _objects_json(columns: Sequence[tuple[str, list[str]]]) -> list[str]:
    """JSON objects, one per row, from rendered cells (key order as given)."""
    if not columns:
        return []
    template = "{{" + ", ".join(f'"{key}": {{}}' for key, _ in columns) + "}}"
    return list(map(template.format, *[values for _, values in columns]))


# ------------------------------------------------------------------------- dict rows (API)
def _one_table(result: NerveResult) -> NerveTable:
    if not isinstance(result, NerveResult):
        raise TypeError(f"result must be a NerveResult, got {type(result).__name__}")
    if result.table is None:
        raise TypeError("result is a NerveResult without its analysis table: make it with "
                        "analyze_nerve, analyze_nerves or analyze_values")
    return result.table.take([result.index])


def _dict_rows(result: NerveResult, kind: str, verdicts: Any, source: Any, keep_identifiers: bool) -> list[dict[str, Any]]:
    from .verdicts import verdict_cells as _vc

    t = _one_table(result)
    v = _vc(t, per_nerve=[verdicts]) if verdicts is not None else None
    lines = render(t, kind, "jsonl", sources=[source], verdicts=v, keep_identifiers=keep_identifiers)
    return [json.loads(line) for line in lines]


def site_rows(result: NerveResult, *, source: str | os.PathLike[str] | None = None,
              keep_identifiers: bool = False) -> list[dict[str, Any]]:
    """One flat row per stimulation site (columns :func:`site_columns`), distal first.

    ``position`` is 0 for the most distal site; ``flag_names`` lists the measure flags.
    """
    return _dict_rows(result, "site", None, source, keep_identifiers)


def segment_rows(result: NerveResult, verdicts: Any = None, *,
                 source: str | os.PathLike[str] | None = None,
                 keep_identifiers: bool = False) -> list[dict[str, Any]]:
    """One flat row per segment (columns :func:`segment_columns`), distal segment first.

    ``verdicts`` (see :func:`~.records.verdict_map`) adds
    ``verdict_<rule_set_id>_{level,label,items,reasons,excluded_by}`` per rule set (``None``
    where it gave no verdict). Values are JSON-safe (NaN -> ``None``); ``flags``, ``items``
    and ``reasons`` are lists.
    """
    return _dict_rows(result, "segment", verdicts, source, keep_identifiers)


def nerve_row(result: NerveResult, verdicts: Any = None, *,
              source: str | os.PathLike[str] | None = None,
              keep_identifiers: bool = False) -> dict[str, Any]:
    """One flat row per nerve (columns :func:`nerve_columns`): nerve values, limits, verdicts.

    Each normal-limit comparison ``K`` gives ``K_limit`` (in the unit of its measure),
    ``K_limit_kind`` (``"LLN"``/``"ULN"``), ``K_pct_of_limit`` (%) and ``K_abnormal``; each
    rule set ``R`` gives ``verdict_R_level``, ``verdict_R_label`` and ``verdict_R_items_met``.
    """
    return _dict_rows(result, "nerve", verdicts, source, keep_identifiers)[0]


def write_csv(fh: IO[str], rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *,
              header: bool = True) -> int:
    """Write dict ``rows`` to the text stream ``fh`` (files: opened with ``newline=""``) as CSV.

    Cells are :func:`~.cells.csv_cell` of ``row.get(column)`` (missing keys empty, extra keys
    ignored), after a header row when ``header``. Returns the number of data rows written.
    """
    writer = csv.writer(fh, lineterminator="\n")
    if header:
        writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([csv_cell(row.get(col)) for col in columns])
        n += 1
    return n
