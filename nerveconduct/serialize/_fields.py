"""The columns of every row kind and their cells: the one list of fields and their kinds.

What :func:`~.rows.render` writes and the nested record (:mod:`._nested`) is assembled from:
the column lists (site, segment, nerve, limit fields; identity and identifier columns) and
the functions that turn the columns of a :class:`~nerveconduct.analysis.NerveTable` into
cells by the one cell rule (:class:`~.cells.Cells`), made lazily, column by column.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..analysis import (EXTREMES, F_WAVE_VALUES, LANDMARK_SOURCES, LIMIT_KEYS, NERVE_VALUES,
                        SEGMENT_VALUES, SITE_MEASURES, NerveTable)
from .cells import Cells
from .verdicts import SEGMENT_VERDICT_FIELDS

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

    def f_wave() -> list[str]:  # missing where F-waves were not studied
        return cells.floats(np.where(nv["f_wave_studied"], nv["f_wave_latency_ms"], np.nan))

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
