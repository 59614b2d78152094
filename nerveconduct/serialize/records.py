"""Results as plain records: nested JSON-safe dicts and flat rows for CSV / JSON Lines.

Nerve records and rows are written from the analysis table by the one row builder
(:func:`nerveconduct.serialize.rows.render`), for the command line and the batch alike, so a
result reads the same in every output. Every field and its unit is
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
>>> from nerveconduct.analysis import analyze_values
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
from typing import Any, Mapping

import numpy as np

from ..analysis import LIMIT_KEYS, NerveResult
from ._fields import IDENTIFIER_COLUMNS, IDENTITY_COLUMNS, SCHEMA_VERSION
from .rows import _dict_rows
from .verdicts import verdict_map

__all__ = [
    "SCHEMA_VERSION", "IDENTITY_COLUMNS", "IDENTIFIER_COLUMNS", "LIMIT_KEYS", "to_jsonable",
    "verdict_map", "nerve_record", "failure_record", "patient_record", "score_record",
]


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


def nerve_record(result: NerveResult, verdicts: Any = None, *,
                 source: str | os.PathLike[str] | None = None,
                 keep_identifiers: bool = False) -> dict[str, Any]:
    """One nerve with its sites, segments, normal-limit comparisons and verdicts, JSON-safe.

    Parameters
    ----------
    result : NerveResult
        What :func:`~nerveconduct.analysis.analyze_nerve` returned.
    verdicts : None, mapping or sequence of NerveVerdict
        Verdicts of the criteria engine on this nerve (see :func:`~.verdicts.verdict_map`).
    source : str or path, optional
        File the nerve was read from (never a patient identifier).
    keep_identifiers : bool, default False
        Add :data:`~.rows.IDENTIFIER_COLUMNS` from the study's metadata (present only when
        the file was read with ``keep_identifiers=True``).

    Returns
    -------
    dict
        ``record`` (``"nerve"``), ``schema_version``, the identity fields
        (:data:`~.rows.IDENTITY_COLUMNS`), the per-nerve values (DML ms, distal amplitude
        mV, TLI, residual latency ms, ...), the segment extremes outside compression sites
        and Erb's point, ``limits`` (per :data:`~nerveconduct.analysis.LIMIT_KEYS`),
        ``flags``, ``sites``, ``segments`` (each with ``verdicts``: ``{rule_set_id: {level,
        label, items, reasons, excluded_by}}``) and ``verdicts`` (``{rule_set_id: {level,
        label, items_met, items}}``). NaN values are ``None``. The same record, as text, is
        what :func:`~.rows.render` writes for ``kind="record"``.

    Raises
    ------
    TypeError
        ``result`` is not a NerveResult made by the analysis.
    """
    return _dict_rows(result, "record", verdicts if verdicts is not None else {}, source, keep_identifiers)[0]


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
