"""Results as plain records: nested JSON-safe dicts and flat rows for CSV / JSON Lines.

One piece of code turns :class:`~nerveconduct.model.NerveResult` objects, the criteria
engine's verdicts and the scores into records, for the command line and for the batch engine
alike, so a result reads the same whichever path produced it. Every field and its unit is
documented in ``docs/output-fields.md``.

- :func:`nerve_record` — one nested record per nerve (its sites, segments, limits, verdicts);
  what ``nerveconduct analyze -f json/jsonl`` writes.
- :func:`nerve_row`, :func:`segment_rows`, :func:`site_rows` — flat rows, one per nerve /
  segment / site, with the columns :data:`NERVE_COLUMNS`, :func:`segment_columns` and
  :data:`SITE_COLUMNS` (CSV tables); :func:`csv_cell`, :func:`write_csv`. They live in
  :mod:`nerveconduct.serialize.rows` (both are in the package :mod:`nerveconduct.serialize`).
- :func:`failure_record` — a file or record that could not be analyzed, with its error;
  :func:`patient_record` and :func:`score_record` — patient-level verdicts and scores.
- :func:`to_jsonable` — the conversion underneath: NaN and infinities become ``None``,
  numpy scalars Python numbers, dataclasses dicts, tuples lists.

Units follow the names (``_ms``, ``_mv``, ``_mm``, ``_m_s``, ``_pct``, ``_mv_ms``, ``_hz``,
``_c``); a measure that does not exist (absent response, unknown distance) is ``None`` in
records and an empty cell in CSV, never a number.

Examples
--------
>>> from nerveconduct.model import Site
>>> from nerveconduct.analysis.segments import analyze_values
>>> r = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
>>> rec = nerve_record(r)
>>> rec["nerve"], round(rec["terminal_latency_index"], 3), rec["sites"][0]["negative_peak_area_mv_ms"]
('median', 0.388, None)
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ..criteria.verdicts import level_rank
from ..flags import MeasureFlag
from ..model import NerveResult, SegmentResult, SiteResult

__all__ = [
    "SCHEMA_VERSION", "IDENTITY_COLUMNS", "IDENTIFIER_COLUMNS", "LIMIT_KEYS", "to_jsonable",
    "verdict_map", "site_record", "segment_record", "nerve_record", "failure_record",
    "patient_record", "score_record",
]

#: Version of the record layout; bumped when a field changes meaning or is removed.
SCHEMA_VERSION = 1

#: Columns naming the nerve a flat row belongs to (first in every flat table).
IDENTITY_COLUMNS: tuple[str, ...] = ("source", "study_id", "nerve", "nerve_label", "side", "muscle")

#: Patient identifiers, added after the identity columns only with ``keep_identifiers=True``
#: (taken from the study's metadata, where readers keep them only when asked).
IDENTIFIER_COLUMNS: tuple[str, ...] = ("patient_name", "patient_id")

#: Normal-limit comparisons of a nerve, as keyed in :attr:`NerveResult.limits`.
LIMIT_KEYS: tuple[str, ...] = (
    "distal_amplitude", "distal_motor_latency", "conduction_velocity", "f_wave_latency",
    "distal_cmap_duration",
)

#: NerveResult attributes copied into nerve records and rows (units in the names).
_RESULT_VALUES: tuple[str, ...] = (
    "distal_motor_latency_ms", "distal_amplitude_mv", "distal_area_mv_ms",
    "distal_cmap_duration_ms", "terminal_latency_index", "residual_latency_ms",
    "f_wave_latency_ms", "temperature_c", "low_frequency_filter_hz",
)

# ------------------------------------------------------------------------------ conversion
def to_jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-safe Python data.

    NaN and ±inf become ``None``; numpy scalars and arrays become Python numbers and lists;
    dataclasses become dicts of their fields; enums their name; tuples, sets and lists
    lists; mappings dicts with string keys; paths strings.

    Returns data that :func:`json.dumps` accepts with ``allow_nan=False``.

    Raises
    ------
    TypeError
        For an object of a type with no JSON meaning (the message names the type).

    Examples
    --------
    >>> to_jsonable({"a": float("nan"), "b": np.float32(1.5), "c": (1, np.int64(2))})
    {'a': None, 'b': 1.5, 'c': [1, 2]}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.repr}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot serialize a {type(value).__name__} ({value!r:.80}); "
                    "allowed: numbers, strings, bools, None, dataclasses, enums, sequences, mappings")


def verdict_map(verdicts: Any) -> dict[str, Any]:
    """Normalise the verdicts given with a result to ``{rule_set_id: verdict}``.

    A verdict is what the criteria engine returns for one nerve and one rule set: a
    :class:`~nerveconduct.criteria.verdicts.NerveVerdict`, or the list of
    :class:`~nerveconduct.criteria.verdicts.SegmentVerdict` of
    :func:`~nerveconduct.criteria.engine.evaluate`.

    ``verdicts`` is ``None``, a mapping of rule-set id to verdict, or a flat sequence of
    NerveVerdict and/or SegmentVerdict objects (grouped by ``rule_set_id``, in the order
    given; segment verdicts into tuples). A :class:`TypeError` names an element without a
    ``rule_set_id``.
    """
    if verdicts is None:
        return {}
    if isinstance(verdicts, Mapping):
        return {str(k): (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in verdicts.items()}
    out: dict[str, Any] = {}
    for i, verdict in enumerate(verdicts):
        rule_set_id = getattr(verdict, "rule_set_id", None)
        if not isinstance(rule_set_id, str):
            raise TypeError(f"verdicts[{i}] must be a NerveVerdict or SegmentVerdict (with a "
                            f"rule_set_id), got {type(verdict).__name__}")
        if hasattr(verdict, "segment_index"):
            out[rule_set_id] = tuple(out.get(rule_set_id, ())) + (verdict,)
        else:
            out[rule_set_id] = verdict
    return out


def _segment_verdicts(verdict: Any) -> tuple[Any, ...]:
    """The SegmentVerdicts of a NerveVerdict, or the segment verdicts themselves."""
    segments = getattr(verdict, "segments", None)
    return tuple(segments) if segments is not None else tuple(verdict)


def _identity(result: NerveResult, source: str | os.PathLike[str] | None,
              keep_identifiers: bool = False) -> dict[str, Any]:
    out = {"source": None if source is None else os.fspath(source), "study_id": result.study_id,
           "nerve": result.nerve, "nerve_label": result.nerve_label, "side": result.side,
           "muscle": result.muscle}
    if keep_identifiers:
        metadata = result.study.metadata if result.study is not None else {}
        for key in IDENTIFIER_COLUMNS:
            value = metadata.get(key)
            out[key] = None if value is None else str(value)
    return out



def _segment_verdict(verdict: Any, index: int) -> Any:
    for seg in _segment_verdicts(verdict):
        if seg.segment_index == index:
            return seg
    return None


# ---------------------------------------------------------------------------- nested records
def site_record(site: SiteResult) -> dict[str, Any]:
    """Every :class:`~nerveconduct.model.SiteResult` field (ms, mV, mV·ms, mm; NaN -> ``None``)
    and ``flag_names`` (the :class:`~nerveconduct.flags.MeasureFlag` names)."""
    record = to_jsonable(site)
    record["flag_names"] = MeasureFlag(int(site.flags)).names()
    return record


def segment_record(segment: SegmentResult, verdicts: Any = None) -> dict[str, Any]:
    """One segment's values and each rule set's verdict on it, JSON-safe.

    Returns ``segment`` (``"distal–proximal"``), every
    :class:`~nerveconduct.model.SegmentResult` field (m/s, %, mm, mV) and ``verdicts``:
    ``{rule_set_id: {level, label, items, reasons, excluded_by}}`` from the nerve's
    ``verdicts`` (see :func:`verdict_map`), picked by :attr:`SegmentResult.index`.
    """
    record = {"segment": segment.name}
    record.update(to_jsonable(segment))
    out: dict[str, Any] = {}
    for rule_set_id, verdict in verdict_map(verdicts).items():
        seg = _segment_verdict(verdict, segment.index)
        if seg is not None:
            out[rule_set_id] = {
                "level": seg.level, "label": seg.label, "items": list(seg.items),
                "reasons": list(seg.reasons), "excluded_by": seg.excluded_by,
            }
    record["verdicts"] = out
    return record


def _nerve_verdict_record(verdict: Any) -> dict[str, Any]:
    segments = _segment_verdicts(verdict)
    if hasattr(verdict, "met_items"):  # NerveVerdict
        return {
            "level": verdict.level,
            "label": _level_label(verdict.level, segments),
            "items_met": list(verdict.met_items()),
            "items": {key: {"label": item.label, "met": item.met, "reasons": list(item.reasons)}
                      for key, item in verdict.items.items()},
        }
    level = max((s.level for s in segments), key=level_rank, default="not-assessable")
    met: list[str] = []
    for seg in segments:
        met += [item for item in seg.items if item not in met]
    return {"level": level, "label": _level_label(level, segments), "items_met": met, "items": {}}


def _level_label(level: str, segments: Sequence[Any]) -> str:
    """The rule set's wording of ``level``: the label of a segment verdict at that level."""
    return next((s.label for s in segments if s.level == level), level)


def _summary(result: NerveResult) -> dict[str, float | None]:
    """Per-nerve extremes over the segments outside compression sites and Erb's point."""
    usable = [s for s in result.segments if not s.across_entrapment_site and not s.from_erbs_point]

    def extreme(attr: str, fn) -> float | None:
        values = [getattr(s, attr) for s in usable]
        values = [v for v in values if v is not None and math.isfinite(v)]
        return fn(values) if values else None

    return {
        "slowest_conduction_velocity_m_s": extreme("conduction_velocity_m_s", min),
        "max_amplitude_drop_pct": extreme("amplitude_drop_pct", max),
        "max_area_drop_pct": extreme("area_drop_pct", max),
        "max_duration_increase_pct": extreme("duration_increase_pct", max),
    }


def nerve_record(result: NerveResult, verdicts: Any = None, *,
                 source: str | os.PathLike[str] | None = None,
                 keep_identifiers: bool = False) -> dict[str, Any]:
    """One nerve with its sites, segments, normal-limit comparisons and verdicts, JSON-safe.

    Parameters
    ----------
    result : NerveResult
        What :func:`~nerveconduct.analysis.segments.analyze_nerve` returned.
    verdicts : None, mapping or sequence of NerveVerdict
        Verdicts of the criteria engine on this nerve (see :func:`verdict_map`).
    source : str or path, optional
        File the nerve was read from (never a patient identifier).
    keep_identifiers : bool, default False
        Add :data:`IDENTIFIER_COLUMNS` from the study's metadata (present only when the
        file was read with ``keep_identifiers=True``).

    Returns
    -------
    dict
        ``record`` (``"nerve"``), ``schema_version``, the identity fields
        (:data:`IDENTITY_COLUMNS`), the per-nerve values (DML ms, distal amplitude mV, TLI,
        residual latency ms, ...), the segment extremes outside compression sites and Erb's
        point, ``limits`` (per :data:`LIMIT_KEYS`), ``flags``, ``sites`` (see
        :func:`site_record`), ``segments`` (see :func:`segment_record`) and ``verdicts``
        (``{rule_set_id: {level, label, items_met, items}}``). NaN values are ``None``.

    Raises
    ------
    TypeError
        ``result`` is not a NerveResult.
    """
    if not isinstance(result, NerveResult):
        raise TypeError(f"result must be a NerveResult, got {type(result).__name__}")
    vmap = verdict_map(verdicts)
    record: dict[str, Any] = {"record": "nerve", "schema_version": SCHEMA_VERSION}
    record.update(_identity(result, source, keep_identifiers))
    record.update(known_nerve=result.known_nerve, n_sites=len(result.sites),
                  n_segments=len(result.segments))
    record.update({key: to_jsonable(getattr(result, key)) for key in _RESULT_VALUES})
    record.update(_summary(result))
    record["limits"] = {key: to_jsonable(cmp) for key, cmp in result.limits.items()}
    record["flags"] = list(result.flags)
    record["sites"] = [site_record(s) for s in result.sites]
    record["segments"] = [segment_record(s, vmap) for s in result.segments]
    record["verdicts"] = {rid: _nerve_verdict_record(v) for rid, v in vmap.items()}
    return record


def failure_record(source: str | os.PathLike[str] | None, error: BaseException | str) -> dict[str, Any]:
    """A file or record that could not be analyzed, for the same stream as the results.

    Returns ``{"record": "failure", "schema_version", "source", "error_type", "error"}``; an
    exception gives its type name and message.

    Examples
    --------
    >>> failure_record("a.csv", ValueError("bad row"))["error"]
    'bad row'
    """
    if isinstance(error, BaseException):
        error_type, message = type(error).__name__, str(error)
    else:
        error_type, message = None, str(error)
    return {"record": "failure", "schema_version": SCHEMA_VERSION,
            "source": None if source is None else os.fspath(source),
            "error_type": error_type, "error": message}


def patient_record(verdict: Any, *, case_id: str | None = None,
                   source: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A rule set's patient-level verdict (:class:`~nerveconduct.criteria.verdicts.PatientVerdict`).

    Returns
    -------
    dict
        ``record`` (``"patient"``), ``schema_version``, ``case_id``, ``source``,
        ``rule_set_id``, ``level``, ``label``, ``reasons``, ``nerves``, ``combinations_met``
        (the per-nerve verdicts are in the nerve records).
    """
    return {"record": "patient", "schema_version": SCHEMA_VERSION, "case_id": case_id,
            "source": None if source is None else os.fspath(source),
            "rule_set_id": verdict.rule_set_id, "level": verdict.level, "label": verdict.label,
            "reasons": list(verdict.reasons), "nerves": list(verdict.nerves),
            "combinations_met": list(verdict.combinations_met)}


def score_record(score_name: str, score: Any, *, case_id: str | None = None,
                 source: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A clinical score (CIDP-MAG, MMN category, CIDP support, ...) as a JSON-safe record.

    Returns ``record`` (``"score"``), ``schema_version``, ``score`` (``score_name``:
    ``"cidp-mag"``, ``"mmn"``, ``"cidp"``), ``case_id``, ``source`` and every field of
    ``score`` (a :mod:`nerveconduct.scores.cidp_mag` dataclass); a nested PatientVerdict ``verdict``
    becomes a :func:`patient_record`.
    """
    record: dict[str, Any] = {"record": "score", "schema_version": SCHEMA_VERSION,
                              "score": score_name, "case_id": case_id,
                              "source": None if source is None else os.fspath(source)}
    for f in dataclasses.fields(score):
        value = getattr(score, f.name)
        if f.name == "verdict" and hasattr(value, "combinations_met"):
            record["verdict"] = patient_record(value, case_id=case_id, source=source)
        else:
            record[f.name] = to_jsonable(value)
    return record
