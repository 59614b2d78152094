"""Study sheets (JSON or TOML): what a waveform file lacks, and the case's clinical context.

A sheet names the case (``case_id``, ``study_date``; every study read with the sheet gets the
``case_id`` as its case key), may give the machine's numbers of nerves recorded without
waveforms (``[[values]]``, one table per site, as a values table's rows:
:mod:`nerveconduct.io.values`), may give what a report's header prints
(:data:`CASE_DETAILS`: ``age_years``, ``height_cm``, ``sex``, ``indication``,
``referring_physician``, ``technician``, ``interpreting_physician``, ``impression``,
``notes``), gives the clinical items scores need (``clinical``, ``mmn``, ``paraprotein``,
``cidp``: the CIDP diagnosis inputs, ``docs/criteria.md`` "Diagnosis"),
and lists ``nerves``; each entry may name its
waveform ``file`` (relative to the sheet) so ``read("case.json")`` loads a whole case. The
schema is documented in ``docs/formats.md``.

Merging rule: the sheet *fills* what the file lacks (``None`` fields, generic site names,
unknown distances); a value both give and that differs stays as the file has it and is listed
in ``metadata["sheet_conflicts"]``. A different number of sites is a :class:`SheetError`.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator, Mapping

from ._sheet_model import (_DETAIL_NUMBERS, _NERVE_KEYS, _SENSORY_KEYS, _SITE_KEYS, _TOP_KEYS,
                           CASE_DETAILS, CLINICAL_ITEMS, SheetNerve, SheetSensory, SheetSite,
                           StudySheet)
from .errors import SheetError, boundary, quote

__all__ = ["SheetSite", "SheetNerve", "SheetSensory", "StudySheet", "load_sheet", "parse_sheet",
           "CLINICAL_ITEMS", "CASE_DETAILS"]


def load_sheet(path: str | Path) -> StudySheet:
    """Read a JSON or TOML study sheet (by content: a JSON sheet starts with ``{``).

    Raises
    ------
    SheetError
        Syntax errors (with their line), unknown keys (listing the allowed ones), values of
        the wrong type, bad dates.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetError(f"a sheet must be UTF-8 text ({exc.reason} at byte {exc.start})",
                         path=path, location=f"byte {exc.start}") from None
    if not text.strip():
        raise SheetError("empty sheet", path=path, location="line 1")
    with boundary(SheetError, path, location="line 1") as where:
        try:
            if text.lstrip().startswith("{"):
                data = json.loads(text)
            else:
                data = tomllib.loads(text)
        except json.JSONDecodeError as exc:
            raise SheetError(f"invalid JSON: {exc.msg}", path=path,
                             location=f"line {exc.lineno}") from None
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise SheetError(f"invalid TOML: {exc}", path=path,
                             location=f"line {m[1]}" if m else None) from None
        except RecursionError:
            raise SheetError(f"nested more than {_MAX_DEPTH} levels deep (a sheet needs 4)",
                             path=path, location=_deep_line(text)) from None
        where.location = "top level"
        return parse_sheet(data, path=path)


#: Nesting a sheet may not exceed (its own schema needs 4 levels).
_MAX_DEPTH = 64


def _deep_line(text: str) -> str:
    """The line where bracket nesting first exceeds :data:`_MAX_DEPTH` (brackets in strings
    count too: this only locates the problem for the message)."""
    depth = 0
    for n, line in enumerate(text.splitlines(), start=1):
        for ch in line:
            depth += 1 if ch in "[{" else -1 if ch in "]}" else 0
            if depth > _MAX_DEPTH:
                return f"line {n}"
    return "line 1"


def _number(value: Any, where: str, path: Any, *, positive: bool = True) -> float | None:
    if value is None:
        return None
    kind = f"a {'positive ' if positive else ''}number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            positive and not value > 0):
        raise SheetError(f"must be {kind}, got {quote(value)}", path=path, location=where)
    kind = "a finite number"
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        got = "an integer too large for a float" if isinstance(value, int) else quote(value)
        raise SheetError(f"must be {kind}, got {got}", path=path, location=where)
    return number


def _text(value: Any, where: str, path: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SheetError(f"must be a string, got {quote(value)}", path=path, location=where)
    return value.strip() or None


def _keys(mapping: Any, allowed: set[str], where: str, path: Any) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise SheetError(f"must be a table/object, got {type(mapping).__name__}", path=path,
                         location=where)
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise SheetError(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}", path=path,
                         location=where)
    return mapping


def _tables(rows: Any, key: str, allowed: set[str], path: Any
            ) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """``(index, location, table)`` of each table of the array ``key`` (checked keys)."""
    if not isinstance(rows, list):
        raise SheetError(f"must be a list of tables, got {type(rows).__name__}", path=path,
                         location=key)
    for i, raw in enumerate(rows):
        where = f"{key}[{i}]"
        yield i, where, _keys(raw, allowed, where, path)


def parse_sheet(data: Mapping[str, Any], *, path: str | Path | None = None) -> StudySheet:
    """Validate a sheet given as a mapping (as :func:`load_sheet` does after parsing).

    Raises
    ------
    SheetError
        Unknown keys, values of the wrong type, non-finite or non-positive numbers, bad
        dates (naming the key path, e.g. ``nerves[0].sites[1].distance_mm``).
    """
    with boundary(SheetError, path, location="top level"):
        return _parse_sheet(data, path)


def _parse_sheet(data: Mapping[str, Any], path: str | Path | None) -> StudySheet:
    top = _keys(data, _TOP_KEYS, "top level", path)
    date = _text(top.get("study_date"), "study_date", path)
    if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise SheetError(f"must be an ISO date YYYY-MM-DD, got {quote(date)}", path=path,
                         location="study_date")
    clinical = dict(_keys(top.get("clinical", {}), set(CLINICAL_ITEMS), "clinical", path))
    for k, v in clinical.items():
        if v == "unknown":
            clinical[k] = None
        elif v is not None and not isinstance(v, bool):
            raise SheetError(f"must be true, false or \"unknown\", got {quote(v)}", path=path,
                             location=f"clinical.{k}")
    for name in ("mmn", "paraprotein", "cidp"):
        if not isinstance(top.get(name, {}), Mapping):
            raise SheetError(f"must be a table/object, got {quote(top[name])}", path=path,
                             location=name)
    paraprotein = _flat_immunoglobulins(dict(top.get("paraprotein", {})), path)
    details: dict[str, Any] = {}
    for key in CASE_DETAILS:
        if key in _DETAIL_NUMBERS:
            value = _number(top.get(key), key, path)
            lo, hi = _DETAIL_NUMBERS[key]
            if value is not None and not lo <= value <= hi:
                raise SheetError(f"must be between {lo:g} and {hi:g}, got {quote(top[key])}",
                                 path=path, location=key)
        else:
            value = _notes(top.get(key), key, path)
        if value is not None:
            details[key] = value
    nerves = top.get("nerves", [])
    entries = []
    for i, w, e in _tables(nerves, "nerves", _NERVE_KEYS, path):
        sites, sel, side = _entry_common(e, w, path)
        entries.append(SheetNerve(
            i, _text(e.get("file"), f"{w}.file", path), _text(e.get("nerve"), f"{w}.nerve", path),
            side.lower() if side else None, _text(e.get("muscle"), f"{w}.muscle", path),
            _number(e.get("temperature_c"), f"{w}.temperature_c", path, positive=False),
            _number(e.get("low_frequency_filter_hz"), f"{w}.low_frequency_filter_hz", path),
            _number(e.get("f_wave_latency_ms"), f"{w}.f_wave_latency_ms", path),
            _number(e.get("sampling_rate_hz"), f"{w}.sampling_rate_hz", path), sites, sel,
            _notes(e.get("notes"), f"{w}.notes", path),
            _text(e.get("f_wave_file"), f"{w}.f_wave_file", path)))
    return StudySheet(
        Path(path) if path is not None else None, _text(top.get("case_id"), "case_id", path),
        date, clinical, dict(top.get("mmn", {})), paraprotein,
        _number(top.get("sampling_rate_hz"), "sampling_rate_hz", path), tuple(entries), details,
        _values(top.get("values"), path), _text(top.get("markers"), "markers", path),
        _sensory(top.get("sensory"), path),
        cidp=_cidp(top.get("cidp", {}), path))


def _sensory(rows: Any, path: Any) -> tuple[SheetSensory, ...]:
    """The ``[[sensory]]`` entries (sensory studies)."""
    from ..model.sensory import DIRECTIONS

    if rows is None:
        return ()
    out = []
    for i, w, e in _tables(rows, "sensory", _SENSORY_KEYS, path):
        sites, sel, side = _entry_common(e, w, path)
        direction = _text(e.get("direction"), f"{w}.direction", path)
        if direction is not None and direction.lower() not in DIRECTIONS:
            raise SheetError(f"direction must be one of {list(DIRECTIONS)}, got "
                             f"{quote(direction, max_chars=12)}", path=path,
                             location=f"{w}.direction")
        out.append(SheetSensory(
            i, _text(e.get("file"), f"{w}.file", path), _text(e.get("nerve"), f"{w}.nerve", path),
            side.lower() if side else None, direction.lower() if direction else None,
            _text(e.get("recording_site"), f"{w}.recording_site", path),
            _number(e.get("temperature_c"), f"{w}.temperature_c", path, positive=False),
            _number(e.get("low_frequency_filter_hz"), f"{w}.low_frequency_filter_hz", path),
            _number(e.get("sampling_rate_hz"), f"{w}.sampling_rate_hz", path), sites, sel,
            _notes(e.get("notes"), f"{w}.notes", path)))
    return tuple(out)


def _entry_common(e: Mapping[str, Any], w: str, path: Any
                  ) -> tuple[tuple[SheetSite, ...] | None, tuple[int, ...] | None, str | None]:
    """The sites, trace/record selector and side of a ``nerves`` or ``sensory`` entry."""
    sites = None
    if "sites" in e:
        if not isinstance(e["sites"], list) or not e["sites"]:
            raise SheetError(f"must be a non-empty list, got {quote(e['sites'])}", path=path,
                             location=f"{w}.sites")
        sites = tuple(SheetSite(
            _text(s.get("name"), f"{w}.sites[{j}].name", path),
            _number(s.get("distance_mm"), f"{w}.sites[{j}].distance_mm", path),
            _number(s.get("stimulus_intensity_ma"), f"{w}.sites[{j}].stimulus_intensity_ma",
                    path))
            for j, s in enumerate(_keys(x, _SITE_KEYS, f"{w}.sites[{j}]", path)
                                  for j, x in enumerate(e["sites"])))
    sel = e.get("trace", e.get("record"))
    if sel is not None:
        sel = [sel] if isinstance(sel, int) and not isinstance(sel, bool) else sel
        if not isinstance(sel, list) or not sel or not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in sel):
            raise SheetError(f"trace/record must be an index >= 0 or a list of them, got "
                             f"{quote(e.get('trace', e.get('record')))}", path=path,
                             location=w)
        sel = tuple(sel)
    side = _text(e.get("side"), f"{w}.side", path)
    if side is not None and side.lower() not in ("left", "right"):
        raise SheetError(f"side must be 'left' or 'right', got {quote(side)}", path=path,
                         location=f"{w}.side")
    return sites, sel, side


def _values(rows: Any, path: Any) -> tuple[Any, ...]:
    """The ``[[values]]`` rows as nerves (:func:`nerveconduct.io.values.parse_values`); a bad
    row is a SheetError naming ``values[i]``."""
    if rows is None:
        return ()
    if not isinstance(rows, list) or not rows or not all(isinstance(r, Mapping) for r in rows):
        raise SheetError("must be a non-empty list of tables (one per site: nerve, side, site, "
                         "distance_mm, onset_latency_ms, negative_peak_amplitude_mv, ...)",
                         path=path, location="values")
    from .errors import FormatError
    from .values import parse_values

    try:
        return tuple(parse_values([(f"values[{i}]", r) for i, r in enumerate(rows)]))
    except FormatError as exc:
        raise SheetError(exc.detail, path=path, location=exc.location) from None


def _notes(value: Any, where: str, path: Any) -> str | None:
    """Free text: a string, or a list of strings (one line each)."""
    if isinstance(value, list):
        lines = [_text(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
        return "\n".join(line for line in lines if line) or None
    return _text(value, where, path)


def _flat_immunoglobulins(para: dict[str, Any], path: Any) -> dict[str, Any]:
    """``igg = {value, unit, lln}`` -> ``igg``, ``igg_unit``, ``igg_lln`` (flat keys stay)."""
    for ig in ("igg", "iga", "igm"):
        entry = para.get(ig)
        if not isinstance(entry, Mapping):
            continue
        where = f"paraprotein.{ig}"
        _keys(entry, {"value", "unit", "lln"}, where, path)
        para[ig] = _number(entry.get("value"), f"{where}.value", path, positive=False)
        for key, convert in (("lln", _number), ("unit", _text)):
            if entry.get(key) is not None:
                para[f"{ig}_{key}"] = convert(entry[key], f"{where}.{key}", path)
    return para


_CIDP_KEYS = {"variant", "clinical_criteria", "supportive", "sensory"}


def _cidp(raw: Mapping[str, Any], path: Any) -> dict[str, Any]:
    """The ``[cidp]`` table: ``variant`` (text), ``clinical_criteria`` (true / false / "unknown"),
    ``supportive`` (criterion -> flag) and ``sensory`` (nerve label -> flag, or -> {item -> flag});
    "unknown" becomes None. Variant, criterion and item names are checked where the diagnosis
    is made (they depend on the rule set)."""
    def flag(value: Any, where: str) -> Any:
        if value == "unknown":
            return None
        if isinstance(value, Mapping):
            return {str(k): flag(v, f"{where}.{k}") for k, v in value.items()}
        if value is not None and not isinstance(value, bool):
            raise SheetError(f"must be true, false or \"unknown\", got {quote(value)}", path=path, location=where)
        return value

    out = dict(_keys(raw, _CIDP_KEYS, "cidp", path))
    if "variant" in out:
        out["variant"] = _text(out["variant"], "cidp.variant", path)
    for key in ("clinical_criteria", "supportive", "sensory"):
        if key in out:
            if key != "clinical_criteria" and not isinstance(out[key], Mapping):
                raise SheetError(f"must be a table/object, got {quote(out[key])}", path=path, location=f"cidp.{key}")
            out[key] = flag(out[key], f"cidp.{key}")
    return out
