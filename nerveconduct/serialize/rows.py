"""Rows of the analysis table: one per site, segment or nerve, and the nested nerve record.

The one row builder. :func:`render` writes the rows of a :class:`~nerveconduct.analysis.NerveTable`
as CSV lines or JSON objects, column by column with the one cell rule
(:class:`~.cells.Cells`); the nested nerve record (``kind="record"``) is assembled from the
same cells. The dict-returning functions (:func:`nerve_row`, :func:`segment_rows`,
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

from ..analysis import (EXTREMES, F_WAVE_VALUES, LANDMARK_SOURCES, LIMIT_COLUMNS, LIMIT_KEYS, NERVE_VALUES,
                        SEGMENT_VALUES, SITE_MEASURES, NerveResult, NerveTable)
from .cells import Cells, csv_cell
from .verdicts import SEGMENT_VERDICT_FIELDS

__all__ = [
    "SCHEMA_VERSION", "IDENTITY_COLUMNS", "IDENTIFIER_COLUMNS", "SITE_COLUMNS", "SEGMENT_COLUMNS",
    "NERVE_COLUMNS", "VERDICT_COLUMN_SUFFIXES", "KINDS", "render", "site_rows", "site_columns",
    "segment_rows", "segment_columns", "nerve_row", "nerve_columns", "write_csv", "csv_cell",
]

#: Version of the record layout; bumped when a field changes meaning or is removed.
SCHEMA_VERSION = 1
#: Row kinds :func:`render` writes: flat site, segment, nerve rows; nested nerve records.
KINDS = ("site", "segment", "nerve", "record")

#: Columns naming the nerve a flat row belongs to (first in every flat table).
IDENTITY_COLUMNS: tuple[str, ...] = ("source", "study_id", "nerve", "nerve_label", "side", "muscle")
#: Patient identifiers, added after the identity columns only with ``keep_identifiers=True``
#: (taken from the study's metadata, where readers keep them only when asked).
from ..model import IDENTIFIER_KEYS as IDENTIFIER_COLUMNS  # noqa: E402  (defined once, in the model)

#: Site fields: output column -> table column (floats unless listed in ``_SITE_KINDS``).
_SITE_FIELDS: dict[str, str] = {
    "name": "name", "canonical_name": "canonical", "distance_mm": "distance_mm",
    "cumulative_distance_mm": "cumulative_distance_mm", **{k: k for k in SITE_MEASURES},
    "present": "present", "flags": "flags", "stimulus_intensity_ma": "stimulus_intensity_ma",
    "flag_names": "flag_names", **{k: k for k in LANDMARK_SOURCES}, "hand_set_values": "hand_set_values",
}
_SITE_KINDS = {"name": "texts", "canonical_name": "texts", "present": "bools", "flags": "ints",
               "flag_names": "texts", **{k: "texts" for k in LANDMARK_SOURCES}, "hand_set_values": "lists"}
#: Segment fields, in output order (floats unless listed in ``_SEGMENT_KINDS``).
_SEGMENT_FIELDS: tuple[str, ...] = (
    "segment", "index", "distal_site", "proximal_site", "distal_canonical", "proximal_canonical",
    "distance_mm", "cumulative_distance_mm", *SEGMENT_VALUES, "distal_amplitude_mv",
    "proximal_amplitude_mv", "proximal_absent", "distal_absent", "across_entrapment_site",
    "entrapment_site", "from_erbs_point", "flags", "conduction_velocity_source", "hand_set_values",
)
_SEGMENT_KINDS = {
    "segment": "texts", "index": "ints", "distal_site": "texts", "proximal_site": "texts",
    "distal_canonical": "texts", "proximal_canonical": "texts", "entrapment_site": "texts",
    "flags": "texts", "proximal_absent": "bools", "distal_absent": "bools",
    "across_entrapment_site": "bools", "from_erbs_point": "bools",
    "conduction_velocity_source": "texts", "hand_set_values": "lists",
}
_NERVE_FIELDS: tuple[str, ...] = ("known_nerve", "n_sites", "n_segments", *NERVE_VALUES,
                                   "f_wave_latency_source", *F_WAVE_VALUES, *EXTREMES)
#: Nerve fields that are not floats (besides the counts, flags and limit parts).
_NERVE_KINDS = {"f_wave_latency_source": "texts"}
#: Nested-record-only nerve fields (after :data:`_NERVE_FIELDS`).
_NERVE_RECORD_FIELDS: tuple[str, ...] = ("hand_set_values",)
_LIMIT_FIELDS: tuple[str, ...] = ("measure", "value", "limit", "limit_kind", "pct_of_limit", "abnormal", "reason")
#: Limit sub-columns of the flat nerve row.
_LIMIT_SUFFIXES: tuple[str, ...] = ("limit", "limit_kind", "pct_of_limit", "abnormal")

#: Public names of the field definitions above, for the typed (Arrow) twin of :func:`render`.
SITE_FIELDS, SITE_FIELD_KINDS = _SITE_FIELDS, _SITE_KINDS
SEGMENT_FIELDS, SEGMENT_FIELD_KINDS = _SEGMENT_FIELDS, _SEGMENT_KINDS
NERVE_FIELDS, NERVE_FIELD_KINDS, LIMIT_SUFFIXES = _NERVE_FIELDS, _NERVE_KINDS, _LIMIT_SUFFIXES

#: Columns of :func:`site_rows` (one row per stimulation site).
SITE_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + ("position",) + tuple(_SITE_FIELDS)
#: Columns of :func:`segment_rows` before the per-rule-set verdict columns.
SEGMENT_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + _SEGMENT_FIELDS
#: Columns of :func:`nerve_row` before the per-rule-set verdict columns.
NERVE_COLUMNS: tuple[str, ...] = (
    IDENTITY_COLUMNS + _NERVE_FIELDS
    + tuple(f"{key}_{suffix}" for key in LIMIT_KEYS for suffix in _LIMIT_SUFFIXES) + ("flags",)
)
#: Per rule set ``R``, flat tables carry ``verdict_R_<suffix>`` columns.
VERDICT_COLUMN_SUFFIXES: dict[str, tuple[str, ...]] = {
    "segment": SEGMENT_VERDICT_FIELDS, "nerve": ("level", "label", "items_met"),
}


def _with_identifiers(columns: Sequence[str], keep_identifiers: bool) -> list[str]:
    cols = list(columns)
    if keep_identifiers:
        at = len(IDENTITY_COLUMNS)
        cols[at:at] = IDENTIFIER_COLUMNS
    return cols


def _columns(base: Sequence[str], kind: str, rule_set_ids: Iterable[str], keep_identifiers: bool) -> list[str]:
    cols = _with_identifiers(base, keep_identifiers)
    for rid in rule_set_ids:
        cols += [f"verdict_{rid}_{sfx}" for sfx in VERDICT_COLUMN_SUFFIXES[kind]]
    return cols


def site_columns(*, keep_identifiers: bool = False) -> list[str]:
    """Columns of :func:`site_rows`."""
    return _with_identifiers(SITE_COLUMNS, keep_identifiers)


def segment_columns(rule_set_ids: Iterable[str] = (), *, keep_identifiers: bool = False) -> list[str]:
    """Columns of :func:`segment_rows` for verdicts of ``rule_set_ids`` (in that order)."""
    return _columns(SEGMENT_COLUMNS, "segment", rule_set_ids, keep_identifiers)


def nerve_columns(rule_set_ids: Iterable[str] = (), *, keep_identifiers: bool = False) -> list[str]:
    """Columns of :func:`nerve_row` for verdicts of ``rule_set_ids`` (in that order)."""
    return _columns(NERVE_COLUMNS, "nerve", rule_set_ids, keep_identifiers)


# ------------------------------------------------------------------------------ cells
def _identity(t: NerveTable, cells: Cells, sources: Sequence[Any], keep_identifiers: bool) -> dict[str, list[str]]:
    nv = t.nerve
    out = {"source": cells.texts([None if s is None else os.fspath(s) for s in sources]),
           "study_id": cells.texts([None if s is None else str(s) for s in nv["study_id"].tolist()]),
           "nerve": cells.texts(nv["nerve"].tolist()), "nerve_label": cells.texts(nv["nerve_label"].tolist()),
           "side": cells.texts(nv["side"].tolist()), "muscle": cells.texts(nv["muscle"].tolist())}
    if keep_identifiers:
        metas = [getattr(s, "metadata", {}) or {} for s in (t.studies or (None,) * t.n_nerves)]
        for key in IDENTIFIER_COLUMNS:
            out[key] = cells.texts([None if m.get(key) is None else str(m[key]) for m in metas])
    return out


def _render(cells: Cells, kind: str, values: np.ndarray) -> list[str]:
    if kind in ("texts", "lists"):  # "lists": tuples of texts (typed list<string> in Parquet)
        return cells.texts(values.tolist())
    return getattr(cells, kind)(values)


class _Lazy(dict):
    """Cells rendered on first use: ``renderers`` maps a column to a function making its cells
    (a flat table renders only the columns it writes)."""

    def __init__(self, renderers: dict[str, Callable[[], list[str]]]) -> None:
        super().__init__()
        self.renderers = renderers

    def __missing__(self, key: str) -> list[str]:
        value = self[key] = self.renderers[key]()
        return value

    def __contains__(self, key: object) -> bool:
        return key in self.renderers or dict.__contains__(self, key)


def _site_cells(t: NerveTable, cells: Cells) -> _Lazy:
    site = t.site
    renderers = {col: (lambda kind=_SITE_KINDS.get(col, "floats"), key=key: _render(cells, kind, site[key]))
                 for col, key in _SITE_FIELDS.items()}
    renderers["position"] = lambda: cells.ints(site["position"])
    return _Lazy(renderers)


def _segment_cells(t: NerveTable, cells: Cells) -> _Lazy:
    seg = t.segment
    return _Lazy({col: (lambda col=col: _render(cells, _SEGMENT_KINDS.get(col, "floats"), seg[col]))
                  for col in _SEGMENT_FIELDS})


def _nerve_cells(t: NerveTable, cells: Cells) -> _Lazy:
    nv = t.nerve

    def f_wave() -> list[str]:
        values = cells.floats(nv["f_wave_latency_ms"])
        return [c if s else cells.none for c, s in zip(values, nv["f_wave_studied"].tolist())]

    renderers: dict[str, Callable[[], list[str]]] = {
        "known_nerve": lambda: cells.bools(nv["known_nerve"]), "n_sites": lambda: cells.ints(nv["n_sites"]),
        "n_segments": lambda: cells.ints(nv["n_sites"] - 1),
        "flags": lambda: cells.texts(nv["flags"].tolist()),
        "hand_set_values": lambda: cells.texts(nv["hand_set_values"].tolist())}
    for key in (*NERVE_VALUES, *F_WAVE_VALUES, *EXTREMES):
        renderers[key] = lambda key=key: cells.floats(nv[key])
    renderers["f_wave_latency_source"] = lambda: cells.texts(nv["f_wave_latency_source"].tolist())
    renderers["f_wave_latency_ms"] = f_wave
    for key in LIMIT_KEYS:
        for part, how in (("value", "floats"), ("limit", "floats"), ("pct_of_limit", "floats"),
                          ("limit_kind", "texts"), ("reason", "texts"), ("abnormal", "tristate")):
            column = f"{key}_{part}"
            renderers[column] = lambda column=column, how=how: _render(cells, how, nv[column])
    return _Lazy(renderers)


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
    if kind == "record":
        return _records(t, cells, ident, vcells, keep_identifiers)
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


def _records(t: NerveTable, cells: Cells, ident: dict[str, list[str]], vcells: dict[str, list[str]],
             keep_identifiers: bool) -> list[str]:
    """The nested nerve records (JSON), assembled from the cells column by column."""
    n = t.n_nerves
    nerve = _nerve_cells(t, cells)
    site = _site_cells(t, cells)
    seg = _segment_cells(t, cells)
    site_json = _objects_json([(k, site[k]) for k in _SITE_FIELDS])
    seg["verdicts"] = vcells.get("segment_record", ["{}"] * len(seg["index"]))
    seg_json = _objects_json([(k, seg[k]) for k in (*_SEGMENT_FIELDS, "verdicts")])
    limits = []
    for key in LIMIT_KEYS:
        measure = [cells.one(LIMIT_COLUMNS[key][3])] * n
        sub = _objects_json([("measure", measure)] + [(f, nerve[f"{key}_{f}"]) for f in _LIMIT_FIELDS[1:]])
        limits.append((key, sub))
    starts = t.nerve["first_row"].tolist()
    counts = t.nerve["n_sites"].tolist()
    sites_json = ["[" + ", ".join(site_json[a:a + c]) + "]" for a, c in zip(starts, counts)]
    segs_json = ["[" + ", ".join(seg_json[a - j:a - j + c - 1]) + "]"
                 for j, (a, c) in enumerate(zip(starts, counts))]
    columns = [(c, ident[c]) for c in ("nerve_index",) if c in ident]
    columns += [("record", ['"nerve"'] * n), ("schema_version", [str(SCHEMA_VERSION)] * n)]
    columns += [(c, ident[c]) for c in _with_identifiers(IDENTITY_COLUMNS, keep_identifiers)]
    columns += [(c, nerve[c]) for c in (*_NERVE_FIELDS, *_NERVE_RECORD_FIELDS)]
    columns += [("limits", _objects_json(limits)), ("flags", nerve["flags"]), ("sites", sites_json),
                ("segments", segs_json), ("verdicts", vcells.get("nerve_record", ["{}"] * n))]
    return _objects_json(columns)


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
