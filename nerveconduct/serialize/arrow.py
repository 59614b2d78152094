"""Results tables as typed Apache Arrow columns (Parquet files of them: :mod:`.parquet`).

The typed twin of the one row builder (:func:`.rows.render`): :func:`arrow_table` reads the
same :class:`~nerveconduct.analysis.NerveTable` columns, through the same field definitions
(:data:`.rows.SITE_FIELDS`, :data:`.rows.SEGMENT_FIELDS`, :data:`.rows.NERVE_FIELDS`) and the
same verdicts (:class:`~.verdicts.VerdictCells`), and returns the rows of a flat table as
Arrow columns, without text formatting:

- floats: ``float64``, with NaN and ±inf as nulls (never written as numbers);
- counts and indices: ``int64``; booleans: ``bool`` (``K_abnormal``: null when unknown);
- names, levels, labels and other repeated strings: dictionary-encoded strings; strings that
  differ from row to row (``study_id``, ``error``, patient identifiers): plain strings;
- lists (``flags``, ``flag_names``, verdict ``items``, ``items_met``, ``reasons``):
  ``list<string>``; a missing value: null.

The columns and their order are the CSV table's (the ``columns`` given). :func:`arrow_schema`
gives the type of every column from its name alone, so that tables written piece by piece
(the batch engine's tasks, failure rows) share one schema; :mod:`.parquet` writes them as
Parquet files (:func:`~.parquet.write_parquet` is the whole path for results analyzed in
memory, ``nerveconduct analyze -o results.parquet``). ``docs/output-fields.md`` ("Parquet")
lists the schema with its units.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..analysis import LIMIT_COLUMNS, LIMIT_KEYS, NerveTable
from ._arrow_text import constant
from ._arrow_text import repeated as _repeated
from ._fields import (
    IDENTIFIER_COLUMNS,
    IDENTITY_COLUMNS,
    LIMIT_SUFFIXES,
    NERVE_FIELD_KINDS,
    NERVE_FIELDS,
    SEGMENT_FIELD_KINDS,
    SEGMENT_FIELDS,
    SITE_FIELD_KINDS,
    SITE_FIELDS,
    VERDICT_COLUMN_SUFFIXES,
    nerve_columns,
    segment_columns,
    site_columns,
)

__all__ = ["TABLE_KINDS", "ERROR_COLUMNS", "column_type", "arrow_schema", "arrow_table", "rows_table",
           "arrow_columns", "default_columns"]

#: Flat row kinds with a typed table.
TABLE_KINDS = ("site", "segment", "nerve")
#: Columns of a failure row (filled only on the row of a file or nerve that failed).
ERROR_COLUMNS = ("error_type", "error")

FLOAT, INT, BOOL = pa.float64(), pa.int64(), pa.bool_()
TEXT = pa.string()
CATEGORY = pa.dictionary(pa.int32(), pa.string())
TEXTS = pa.list_(pa.string())

#: Text columns whose values are tuples of strings (``list<string>``).
_LIST_TEXTS = frozenset({"flags", "flag_names"})
#: Text columns whose values mostly differ from row to row (plain strings; every other text
#: column is dictionary-encoded).
_PLAIN_TEXTS = frozenset({"study_id", "error", *IDENTIFIER_COLUMNS})
#: Verdict fields that are lists.
_LIST_VERDICT_FIELDS = frozenset({"items", "items_met", "reasons"})

#: Nerve-row value kinds (the floats are every other nerve column), as rows.py renders them.
_NERVE_KINDS: dict[str, str] = {
    **NERVE_FIELD_KINDS,
    "known_nerve": "bools", "n_sites": "ints", "n_segments": "ints", "flags": "texts",
    **{f"{key}_limit_kind": "texts" for key in LIMIT_KEYS},
    **{f"{key}_abnormal": "tristate" for key in LIMIT_KEYS},
}
_NERVE_COLUMNS = frozenset(
    {*NERVE_FIELDS, "flags", *(f"{k}_{s}" for k in LIMIT_KEYS for s in LIMIT_SUFFIXES)})
_KIND_TYPES = {"floats": FLOAT, "ints": INT, "bools": BOOL, "tristate": BOOL}

#: Unit of a column from the end of its name (docs/output-fields.md); longest first.
_UNIT_SUFFIXES = (("_mv_ms", "mV·ms"), ("_m_s", "m/s"), ("_ms", "ms"), ("_mv", "mV"),
                  ("_mm", "mm"), ("_pct", "%"), ("_hz", "Hz"), ("_ma", "mA"), ("_c", "°C"))


def _value_kind(kind: str, column: str) -> str | None:
    """How rows.py renders ``column`` of a ``kind`` row (floats, ints, bools, tristate,
    texts), or None for a column the row builder does not know."""
    if column in IDENTITY_COLUMNS or column in IDENTIFIER_COLUMNS or column in ERROR_COLUMNS:
        return "texts"
    if column == "nerve_index":
        return "ints"
    if column.startswith("verdict_") and kind in VERDICT_COLUMN_SUFFIXES:
        for suffix in sorted(VERDICT_COLUMN_SUFFIXES[kind], key=len, reverse=True):
            if column.endswith("_" + suffix):
                return "lists" if suffix in _LIST_VERDICT_FIELDS else "categories"
    if kind == "site":
        if column == "position":
            return "ints"
        return SITE_FIELD_KINDS.get(column, "floats") if column in SITE_FIELDS else None
    if kind == "segment":
        return SEGMENT_FIELD_KINDS.get(column, "floats") if column in SEGMENT_FIELDS else None
    if kind == "nerve":
        return _NERVE_KINDS.get(column, "floats") if column in _NERVE_COLUMNS else None
    raise ValueError(f"kind must be one of {TABLE_KINDS}, got {kind!r}")


def column_type(kind: str, column: str) -> pa.DataType:
    """The Arrow type of ``column`` in a flat ``kind`` table (a string for unknown columns).

    Examples
    --------
    >>> str(column_type("segment", "conduction_velocity_m_s")), str(column_type("segment", "flags"))
    ('double', 'list<item: string>')
    """
    value_kind = _value_kind(kind, column)
    if value_kind in _KIND_TYPES:
        return _KIND_TYPES[value_kind]
    if value_kind == "lists":
        return TEXTS
    if value_kind == "categories":
        return CATEGORY
    if value_kind == "texts":
        if column in _LIST_TEXTS:
            return TEXTS
        return TEXT if column in _PLAIN_TEXTS else CATEGORY
    return TEXT


def _unit(column: str) -> str | None:
    for key in LIMIT_KEYS:  # K_limit: the unit of K's measure; K_pct_of_limit: %
        if column == f"{key}_limit":
            return _unit(LIMIT_COLUMNS[key][3])
        if column == f"{key}_pct_of_limit":
            return "%"
    return next((unit for suffix, unit in _UNIT_SUFFIXES if column.endswith(suffix)), None)


def arrow_schema(kind: str, columns: Sequence[str]) -> pa.Schema:
    """The schema of a flat ``kind`` table with ``columns`` (in that order).

    Every field's type comes from its name (:func:`column_type`); measures carry their unit
    as field metadata (``unit``: ``ms``, ``mV``, ``mV·ms``, ``mm``, ``m/s``, ``%``, ``Hz``,
    ``°C``, ``mA``).
    """
    return _plan(kind, tuple(columns))[0]


@functools.lru_cache(maxsize=64)
def _plan(kind: str, columns: tuple[str, ...]) -> tuple[pa.Schema, tuple[str | None, ...]]:
    """The schema of ``columns`` and how rows.py renders each (:func:`_value_kind`): made
    once per table layout, not per slice of rows."""
    fields = []
    for col in columns:
        typ = column_type(kind, col)
        unit = _unit(col) if typ == FLOAT else None
        fields.append(pa.field(col, typ, metadata=None if unit is None else {"unit": unit}))
    return pa.schema(fields), tuple(_value_kind(kind, col) for col in columns)


# ------------------------------------------------------------------------------ columns
def _array(values: Any, typ: pa.DataType, value_kind: str | None) -> pa.Array:
    """Values of one kind (numpy array or list) as an Arrow array of type ``typ``."""
    if typ == FLOAT:
        arr = np.asarray(values, dtype=float)
        return pa.array(arr, type=FLOAT, mask=~np.isfinite(arr))
    if value_kind == "tristate":  # -1 unknown, 0, 1
        arr = np.asarray(values)
        return pa.array(arr == 1, type=BOOL, mask=arr < 0)
    if typ == INT:
        return pa.array(np.asarray(values, dtype=np.int64), type=INT)
    if typ == BOOL:
        return pa.array(np.asarray(values, dtype=bool), type=BOOL)
    # one value in every row (a string, None, no items): made from it (see _arrow_text)
    built = _repeated(values, typ) if pa.types.is_dictionary(typ) else None
    if built is None:
        built = constant(values, typ)
    if built is not None:
        return built
    return pa.array(values.tolist() if isinstance(values, np.ndarray) else list(values), type=typ)


def _one_source(sources: Sequence[Any] | None) -> bool:
    """Whether every nerve has the same ``source`` (a batch: one archive)."""
    return (isinstance(sources, (list, tuple)) and len(sources) > 0
            and sources.count(sources[0]) == len(sources))


def _constant(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    """``n`` rows of one ``source`` (a file name or None) as an array of type ``typ``: its
    dictionary of one value and zero indices, not ``n`` strings converted one by one."""
    if value is None:
        return pa.nulls(n, type=typ)
    text = pa.array([os.fspath(value)], type=TEXT)
    if not pa.types.is_dictionary(typ):
        return text.take(pa.array(np.zeros(n, dtype=np.int32)))
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), text)


def _body(t: NerveTable, kind: str, column: str) -> np.ndarray | None:
    """The table column behind a body column of a ``kind`` row, as rows.py reads it."""
    if kind == "site":
        if column == "position":
            return t.site["position"]
        return t.site[SITE_FIELDS[column]] if column in SITE_FIELDS else None
    if kind == "segment":
        return t.segment[column] if column in SEGMENT_FIELDS else None
    nv = t.nerve
    if column == "n_segments":
        return nv["n_sites"] - 1
    if column == "f_wave_latency_ms":  # no F-wave studied: missing, as in every output
        return np.where(nv["f_wave_studied"], nv[column], np.nan)
    return nv[column] if column in _NERVE_COLUMNS else None


class _Raw:
    """The cell rule of :class:`~.cells.Cells` without the text: values as they are (the
    verdicts' cells, read through :meth:`~.verdicts.VerdictCells.cells`)."""

    none = None

    @staticmethod
    def texts(values: Sequence[Any]) -> list[Any]:
        return list(values)

    @staticmethod
    def one(value: Any) -> Any:
        return value


def _identity(t: NerveTable, column: str, sources: Sequence[Any] | None) -> list[Any] | None:
    nv = t.nerve
    if column == "source":  # usually one file for every nerve: each distinct source once
        names = {s: None if s is None else os.fspath(s) for s in dict.fromkeys(sources or [None])}
        return [names[s] for s in sources] if sources else [None] * t.n_nerves
    if column == "study_id":
        return [None if s is None else str(s) for s in nv["study_id"].tolist()]
    if column in IDENTITY_COLUMNS:
        return nv[column].tolist()
    if column in IDENTIFIER_COLUMNS:
        metas = [getattr(s, "metadata", {}) or {} for s in (t.studies or (None,) * t.n_nerves)]
        return [None if m.get(column) is None else str(m[column]) for m in metas]
    return None


def arrow_columns(t: NerveTable, kind: str, columns: Sequence[str], *,
                   sources: Sequence[Any] | None, verdicts: Any, blank_single_site: bool,
                   extra: Mapping[str, Any] | None) -> tuple[pa.Table, np.ndarray]:
    """:func:`arrow_table`, and the nerve (row of ``t.nerve``) of each row."""
    if kind not in TABLE_KINDS:
        raise ValueError(f"kind must be one of {TABLE_KINDS}, got {kind!r}")
    n = t.n_nerves
    nerve_of = {"site": t.site["nerve_row"], "segment": t.segment["nerve_row"],
                "nerve": np.arange(n, dtype=np.int64)}[kind]
    pick: pa.Array | None = None  # body rows of each output row (null: a blank row)
    if kind == "segment" and blank_single_site:
        single = np.flatnonzero(t.nerve["n_sites"] == 1)
        if len(single):  # a nerve without segments: one row of its identity, the rest null
            rows = np.concatenate([nerve_of, single])
            by = np.argsort(rows, kind="stable")
            order = np.concatenate([np.arange(len(nerve_of)), np.full(len(single), -1)])[by]
            nerve_of = rows[by]
            pick = pa.array(order, type=INT, mask=order < 0)
    vcells = verdicts.cells(kind, _Raw()) if verdicts is not None else {}
    schema, value_kinds = _plan(kind, tuple(columns))
    # one row per nerve (e.g. the segments of two-site nerves): the per-nerve columns as they are
    one_each = len(nerve_of) == n and bool(np.array_equal(nerve_of, np.arange(n)))
    per_nerve_take = None if one_each else pa.array(nerve_of, type=INT)
    arrays = []
    for fld, value_kind in zip(schema, value_kinds):
        col, typ = fld.name, fld.type
        if col == "source" and _one_source(sources):
            arrays.append(_constant(sources[0], len(nerve_of), typ))  # one file: the batch
            continue
        per_nerve = extra[col] if extra and col in extra else _identity(t, col, sources)
        if per_nerve is not None:
            arr = _array(per_nerve, typ, value_kind)
            arrays.append(arr if per_nerve_take is None else arr.take(per_nerve_take))
            continue
        body = vcells.get(col)
        if body is None:
            body = _body(t, kind, col)
        if body is None:  # a column the row builder does not know (e.g. the error columns)
            arrays.append(pa.nulls(len(nerve_of), type=typ))
            continue
        arr = _array(body, typ, value_kind)
        arrays.append(arr if pick is None else arr.take(pick))
    return pa.Table.from_arrays(arrays, schema=schema), nerve_of


def arrow_table(t: NerveTable, kind: str, columns: Sequence[str] | None = None, *,
                sources: Sequence[Any] | None = None, verdicts: Any = None,
                keep_identifiers: bool = False, blank_single_site: bool = False,
                extra: Mapping[str, Any] | None = None) -> pa.Table:
    """The rows of ``t`` as a typed Arrow table, in nerve order: :func:`.rows.render`'s rows
    without text formatting.

    Parameters
    ----------
    t : NerveTable
    kind : {"site", "segment", "nerve"}
        One row per site, segment or nerve.
    columns : sequence of str, optional
        The columns, in order (default: all of the kind's, as :func:`.rows.site_columns`,
        :func:`.rows.segment_columns`, :func:`.rows.nerve_columns` with the verdict columns
        of ``verdicts``); columns the row builder does not know are all null.
    sources : sequence, optional
        Each nerve's ``source`` (file name or None).
    verdicts : VerdictCells, optional
        What :func:`~.verdicts.verdict_cells` made for these nerves.
    keep_identifiers : bool, default False
        With the default columns: add :data:`.rows.IDENTIFIER_COLUMNS`.
    blank_single_site : bool, default False
        Segment rows: a nerve without segments still gets one row (its identity).
    extra : mapping, optional
        Per-nerve values of extra columns (e.g. ``nerve_index``: an int array).

    Returns
    -------
    pyarrow.Table
        Schema :func:`arrow_schema` of ``kind`` and the columns.
    """
    if columns is None:
        columns = default_columns(kind, verdicts.rule_set_ids if verdicts is not None else (),
                                   keep_identifiers)
    table, _ = arrow_columns(t, kind, columns, sources=sources, verdicts=verdicts,
                              blank_single_site=blank_single_site, extra=extra)
    return table


def default_columns(kind: str, rule_set_ids: Iterable[str], keep_identifiers: bool) -> list[str]:
    if kind == "site":
        return site_columns(keep_identifiers=keep_identifiers)
    if kind == "segment":
        return segment_columns(rule_set_ids, keep_identifiers=keep_identifiers)
    if kind == "nerve":
        return nerve_columns(rule_set_ids, keep_identifiers=keep_identifiers)
    raise ValueError(f"kind must be one of {TABLE_KINDS}, got {kind!r}")


def rows_table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows given as dicts (failure rows) as a table of ``schema``: missing keys null, extra
    keys ignored."""
    arrays = [pa.array([row.get(f.name) for row in rows], type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
