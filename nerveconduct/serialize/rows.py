"""Results as flat rows, one per site, segment or nerve, and their CSV rendering.

The flat tables of ``nerveconduct analyze -f csv`` and of the batch engine, built on the
nested records of :mod:`nerveconduct.serialize.records` (which re-exports every public name here, so
``from nerveconduct.serialize.records import segment_rows`` keeps working). Every column and its unit
is documented in ``docs/output-fields.md``.

- :func:`nerve_row`, :func:`segment_rows`, :func:`site_rows` — flat rows, one per nerve /
  segment / site, with the columns :data:`NERVE_COLUMNS`, :func:`segment_columns` and
  :data:`SITE_COLUMNS`; per rule set ``R``, ``verdict_R_<suffix>`` columns
  (:data:`VERDICT_COLUMN_SUFFIXES`).
- :func:`csv_cell`, :func:`write_csv` — one value as a CSV cell (``None`` empty, lists joined
  with ``"; "``), rows to a text stream.

Examples
--------
>>> from nerveconduct.model import Site
>>> from nerveconduct.analysis.segments import analyze_values
>>> r = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
>>> round(segment_rows(r)[0]["conduction_velocity_m_s"], 1)
44.0
"""

from __future__ import annotations

import csv
import dataclasses
import os
from typing import IO, Any, Iterable, Mapping, Sequence

from ..model import NerveResult, SegmentResult, SiteResult
from .records import (
    IDENTIFIER_COLUMNS,
    IDENTITY_COLUMNS,
    LIMIT_KEYS,
    _identity,
    _RESULT_VALUES,
    nerve_record,
    segment_record,
    site_record,
    to_jsonable,
    verdict_map,
)

__all__ = [
    "SITE_COLUMNS", "SEGMENT_COLUMNS", "NERVE_COLUMNS", "VERDICT_COLUMN_SUFFIXES",
    "site_rows", "site_columns", "segment_rows", "segment_columns", "nerve_row",
    "nerve_columns", "csv_cell", "write_csv",
]

_SITE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SiteResult))
_SEGMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SegmentResult))

#: Columns of :func:`site_rows` (one row per stimulation site).
SITE_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + ("position",) + _SITE_FIELDS + ("flag_names",)

#: Columns of :func:`segment_rows` before the per-rule-set verdict columns.
SEGMENT_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + ("segment",) + _SEGMENT_FIELDS

_NERVE_VALUES: tuple[str, ...] = (
    ("known_nerve", "n_sites", "n_segments") + _RESULT_VALUES
    + ("slowest_conduction_velocity_m_s", "max_amplitude_drop_pct", "max_area_drop_pct",
       "max_duration_increase_pct")
)
_LIMIT_SUFFIXES: tuple[str, ...] = ("limit", "limit_kind", "pct_of_limit", "abnormal")

#: Columns of :func:`nerve_row` before the per-rule-set verdict columns.
NERVE_COLUMNS: tuple[str, ...] = (
    IDENTITY_COLUMNS + _NERVE_VALUES
    + tuple(f"{key}_{suffix}" for key in LIMIT_KEYS for suffix in _LIMIT_SUFFIXES)
    + ("flags",)
)

#: Per rule set ``R``, flat tables carry ``verdict_R_<suffix>`` columns: segment rows
#: ``level, label, items, reasons, excluded_by``; nerve rows ``level, label, items_met``.
VERDICT_COLUMN_SUFFIXES: dict[str, tuple[str, ...]] = {
    "segment": ("level", "label", "items", "reasons", "excluded_by"),
    "nerve": ("level", "label", "items_met"),
}

_LIST_SEPARATOR = "; "


def _with_identifiers(columns: Sequence[str], keep_identifiers: bool) -> list[str]:
    cols = list(columns)
    if keep_identifiers:
        at = len(IDENTITY_COLUMNS)
        cols[at:at] = IDENTIFIER_COLUMNS
    return cols


def _columns(base: Sequence[str], kind: str, rule_set_ids: Iterable[str],
             keep_identifiers: bool) -> list[str]:
    """``base`` (with the identifier columns when kept), then each rule set's verdict columns
    for ``kind`` (``"segment"`` or ``"nerve"``, see :data:`VERDICT_COLUMN_SUFFIXES`)."""
    cols = _with_identifiers(base, keep_identifiers)
    for rid in rule_set_ids:
        cols += [f"verdict_{rid}_{sfx}" for sfx in VERDICT_COLUMN_SUFFIXES[kind]]
    return cols


# -------------------------------------------------------------------------------- flat rows
def site_columns(*, keep_identifiers: bool = False) -> list[str]:
    """Columns of :func:`site_rows`."""
    return _with_identifiers(SITE_COLUMNS, keep_identifiers)


def site_rows(result: NerveResult, *, source: str | os.PathLike[str] | None = None,
              keep_identifiers: bool = False) -> list[dict[str, Any]]:
    """One flat row per stimulation site (columns :func:`site_columns`), distal first.

    ``position`` is 0 for the most distal site; ``flag_names`` lists the measure flags.
    """
    ident = _identity(result, source, keep_identifiers)
    rows = []
    for position, site in enumerate(result.sites):
        row = dict(ident)
        row["position"] = position
        row.update(site_record(site))
        rows.append(row)
    return rows


def segment_columns(rule_set_ids: Iterable[str] = (), *, keep_identifiers: bool = False) -> list[str]:
    """Columns of :func:`segment_rows` for verdicts of ``rule_set_ids`` (in that order)."""
    return _columns(SEGMENT_COLUMNS, "segment", rule_set_ids, keep_identifiers)


def segment_rows(result: NerveResult, verdicts: Any = None, *,
                 source: str | os.PathLike[str] | None = None,
                 keep_identifiers: bool = False) -> list[dict[str, Any]]:
    """One flat row per segment (columns :func:`segment_columns`), distal segment first.

    ``verdicts`` adds ``verdict_<rule_set_id>_{level,label,items,reasons,excluded_by}`` per
    rule set (``None`` where it gave no verdict); ``source`` and ``keep_identifiers`` as for
    :func:`nerve_record`. Values are JSON-safe (NaN -> ``None``); ``flags``, ``items`` and
    ``reasons`` are lists.
    """
    ident = _identity(result, source, keep_identifiers)
    vmap = verdict_map(verdicts)
    rows = []
    for segment in result.segments:
        row = dict(ident)
        rec = segment_record(segment, vmap)
        per_rule = rec.pop("verdicts")
        row.update(rec)
        for rid in vmap:
            seg = per_rule.get(rid, {})
            for sfx in VERDICT_COLUMN_SUFFIXES["segment"]:
                row[f"verdict_{rid}_{sfx}"] = seg.get(sfx)
        rows.append(row)
    return rows


def nerve_columns(rule_set_ids: Iterable[str] = (), *, keep_identifiers: bool = False) -> list[str]:
    """Columns of :func:`nerve_row` for verdicts of ``rule_set_ids`` (in that order)."""
    return _columns(NERVE_COLUMNS, "nerve", rule_set_ids, keep_identifiers)


def nerve_row(result: NerveResult, verdicts: Any = None, *,
              source: str | os.PathLike[str] | None = None,
              keep_identifiers: bool = False) -> dict[str, Any]:
    """One flat row per nerve (columns :func:`nerve_columns`): nerve values, limits, verdicts.

    Each normal-limit comparison ``K`` of :data:`LIMIT_KEYS` gives ``K_limit`` (in the unit of
    its measure), ``K_limit_kind`` (``"LLN"``/``"ULN"``), ``K_pct_of_limit`` (%) and
    ``K_abnormal``; each rule set ``R`` gives ``verdict_R_level``, ``verdict_R_label`` and
    ``verdict_R_items_met``.
    """
    record = nerve_record(result, verdicts, source=source, keep_identifiers=keep_identifiers)
    row = {col: record[col] for col in _with_identifiers(IDENTITY_COLUMNS + _NERVE_VALUES,
                                                         keep_identifiers)}
    for key in LIMIT_KEYS:
        cmp = record["limits"].get(key) or {}
        for field_name in _LIMIT_SUFFIXES:  # the LimitComparison fields of the same names
            row[f"{key}_{field_name}"] = cmp.get(field_name)
    row["flags"] = record["flags"]
    for rid, verdict in record["verdicts"].items():
        for sfx in VERDICT_COLUMN_SUFFIXES["nerve"]:
            row[f"verdict_{rid}_{sfx}"] = verdict[sfx]
    return row


# ------------------------------------------------------------------------------------- CSV
def csv_cell(value: Any) -> str:
    """Render one value for a CSV cell.

    ``None`` (and NaN) -> empty; booleans -> ``true``/``false``; floats at full precision
    (``repr``); lists joined with ``"; "``; anything else ``str``.

    Examples
    --------
    >>> [csv_cell(v) for v in (None, True, 0.1, ["a", "b"], float("nan"))]
    ['', 'true', '0.1', 'a; b', '']
    """
    value = to_jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return _LIST_SEPARATOR.join(csv_cell(v) for v in value)
    if isinstance(value, dict):
        return _LIST_SEPARATOR.join(f"{k}={csv_cell(v)}" for k, v in value.items())
    return str(value)


def write_csv(fh: IO[str], rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *,
              header: bool = True) -> int:
    """Write ``rows`` to the text stream ``fh`` (files: opened with ``newline=""``) as CSV.

    Cells are :func:`csv_cell` of ``row.get(column)`` (missing keys empty, extra keys
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
