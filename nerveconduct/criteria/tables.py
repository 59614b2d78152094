"""Rule sets as data: the TOML table schema, its validation and loading.

One TOML file per rule set (shipped ones in ``nerveconduct/criteria/tables/``; a lab's own are
registered with :mod:`nerveconduct.criteria.registry`). The schema is documented in
``docs/criteria.md``; every key is checked on load, and a bad table raises
:class:`RuleSetError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import tomllib
from os import PathLike
from pathlib import Path
from typing import Any, Iterable

from .._checks import check_option
from ._diagnosis import Diagnosis, _Error, parse_diagnosis
from ..names import canonical_nerve, canonical_site
from .ruleset import (
    _CONFIDENCE,
    _COMPARE,
    BEYOND_COMPRESSION,
    CONFIDENCE_LEGEND,
    LEVEL_SCOPES,
    CONFIDENCE_MARKS,
    MEASURES,
    NERVE_MEASURES,
    Combination,
    Criterion,
    NerveItem,
    RatioBand,
    RuleSet,
    RuleSetError,
    SegmentPair,
    SegmentRule,
    ThresholdMark,
    render_confidence_table,
)
from .verdicts import GRADED_LEVELS, LEVELS

__all__ = [
    "RuleSetError", "RuleSet", "SegmentRule", "NerveItem", "Combination", "SegmentPair",
    "RatioBand", "Criterion", "ThresholdMark", "load_rule_set", "loads_rule_set", "MEASURES",
    "NERVE_MEASURES", "CONFIDENCE_MARKS", "CONFIDENCE_LEGEND", "render_confidence_table",
    "BEYOND_COMPRESSION",
]

# --- validation -------------------------------------------------------------------------
_STR, _BOOL, _NUM, _INT, _STRS = "string", "boolean", "number", "integer", "list of strings"


def _check_type(path: str, key: str, value: Any, kind: str) -> Any:
    ok = {
        _STR: isinstance(value, str) and value.strip() != "",
        _BOOL: isinstance(value, bool),
        _NUM: isinstance(value, (int, float)) and not isinstance(value, bool),
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _STRS: isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        raise RuleSetError(path, key, f"must be a {kind}, got {value!r}")
    if kind == _NUM:
        return float(value)
    return tuple(value) if kind == _STRS else value


def _fields(path: str, where: str, raw: Any, spec: dict[str, tuple[str, bool]],
            extra: Iterable[str] = ()) -> dict[str, Any]:
    """Check ``raw`` against ``spec`` {key: (type, required)}; keys in ``extra`` pass untouched."""
    if not isinstance(raw, dict):
        raise RuleSetError(path, where, f"must be a table, got {raw!r}")
    allowed = [*spec, *extra]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise RuleSetError(path, f"{where}.{unknown[0]}" if where else unknown[0],
                           f"unknown key; allowed keys: {sorted(allowed)}")
    out: dict[str, Any] = {}
    for key, (kind, required) in spec.items():
        name = f"{where}.{key}" if where else key
        if key not in raw:
            if required:
                raise RuleSetError(path, name, "required key is missing")
            continue
        out[key] = _check_type(path, name, raw[key], kind)
    return out


def _choice(path: str, key: str, value: Any, allowed: Iterable[str]) -> None:
    try:
        check_option(key.rsplit(".", 1)[-1], value, tuple(allowed))
    except ValueError as exc:
        raise RuleSetError(path, key, str(exc)) from None


def _nerves(path: str, key: str, names: Iterable[str]) -> tuple[str, ...]:
    out = []
    for name in names:
        canon = canonical_nerve(name)
        if canon is None:
            raise RuleSetError(path, key, f"unknown nerve {name!r}; use a canonical nerve name "
                               "(see nerveconduct.names.NERVE_ALIASES)")
        out.append(canon)
    return tuple(out)


def _site(path: str, key: str, name: str) -> str:
    canon = canonical_site(name)
    if canon is None:
        raise RuleSetError(path, key, f"unknown site {name!r}; see nerveconduct.names.SITE_ALIASES")
    return canon


_COMMON = {"confidence": (_STR, True), "verification": (_STR, True), "nerves": (_STRS, False),
           "exclude_nerves": (_STRS, False), "item": (_STR, True), "label": (_STR, True)}
_SEGMENT_SPEC = {
    **_COMMON, "level": (_STR, True), "measure": (_STR, False), "drop_min_pct": (_NUM, False),
    "drop_min_pct_inclusive": (_BOOL, False), "duration": (_STR, False),
    **{f"{k}{s}": (t, False) for k in ("duration_increase_max_pct", "duration_increase_min_pct",
                                       "distal_amplitude_min_pct_lln", "distal_amplitude_min_mv")
       for s, t in (("", _NUM), ("_inclusive", _BOOL))},
}
_BAND_SPEC = {"distal_min_mv": (_NUM, True), "distal_max_mv": (_NUM, True), "min_ratio": (_NUM, True),
              "distal_min_inclusive": (_BOOL, False), "distal_max_inclusive": (_BOOL, False)}
_ITEM_SPEC = {
    **_COMMON, "measure": (_STR, True), "compare": (_STR, False), "pct_of_limit": (_NUM, False),
    "low_amplitude_below_pct_lln": (_NUM, False), "low_amplitude_pct_of_limit": (_NUM, False),
    "distal_amplitude_min_pct_lln": (_NUM, False), "distal_amplitude_min_pct_lln_inclusive": (_BOOL, False),
    "filter_hz": (_NUM, False), "caveat": (_STR, False), "caveat_nerves": (_STRS, False),
}
_COMBO_SPEC = {"level": (_STR, True), "label": (_STR, True), "items": (_STRS, False),
               "min_nerves": (_INT, False), "other_items": (_STRS, False), "min_criteria": (_INT, False),
               "confidence": (_STR, True), "verification": (_STR, True)}
_CRITERION_SPEC = {"items": (_STRS, True), "min_nerves": (_INT, True), "label": (_STR, False)}
_TOP_SPEC = {
    "id": (_STR, True), "title": (_STR, True), "short_name": (_STR, True), "version": (_STR, True),
    "citation": (_STR, True), "confidence": (_STR, True), "verification": (_STR, True),
    "kind": (_STR, True), "year": (_INT, False), "url": (_STR, False), "notes": (_STR, False),
    "comparison": (_STR, False), "beyond_compression": (_STR, False), "exclude_entrapment": (_BOOL, False),
    "include_erbs_point": (_BOOL, False), "excluded_nerves": (_STRS, False),
    "absent_proximal": (_STR, False), "not_evaluated": (_STRS, False), "level_scope": (_STR, False),
}


def _marks(path: str, where: str, raw: Any, allowed: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The ``marks`` table of a rule: threshold key -> confidence mark."""
    marks = raw.get("marks", {}) if isinstance(raw, dict) else {}
    if not isinstance(marks, dict):
        raise RuleSetError(path, f"{where}.marks", f"must be a table threshold = mark, got {marks!r}")
    allowed = sorted(allowed)
    for key, mark in marks.items():
        if key not in allowed:
            raise RuleSetError(path, f"{where}.marks.{key}", f"not a threshold of this rule; allowed: {allowed}")
        _choice(path, f"{where}.marks.{key}", mark, _CONFIDENCE)
    return tuple(marks.items())


def _segment_rule(path: str, where: str, raw: Any) -> SegmentRule:
    f = _fields(path, where, raw, _SEGMENT_SPEC, extra=("segments", "ratio_bands", "marks"))
    _choice(path, f"{where}.level", f["level"], GRADED_LEVELS)
    _choice(path, f"{where}.measure", f.get("measure", "amplitude"), MEASURES)
    _choice(path, f"{where}.confidence", f["confidence"], _CONFIDENCE)
    _choice(path, f"{where}.duration", f.get("duration", "negative_peak"), ("negative_peak", "cmap"))
    for key in ("nerves", "exclude_nerves"):
        if key in f:
            f[key] = _nerves(path, f"{where}.{key}", f[key])
    pairs = []
    for i, seg in enumerate(raw.get("segments", [])):
        w = f"{where}.segments[{i}]"
        s = _fields(path, w, seg, {"distal": (_STR, True), "proximal": (_STR, True), "nerve": (_STR, False)})
        nerve = _nerves(path, f"{w}.nerve", [s["nerve"]])[0] if "nerve" in s else None
        pairs.append(SegmentPair(_site(path, f"{w}.distal", s["distal"]),
                                 _site(path, f"{w}.proximal", s["proximal"]), nerve))
    bands = tuple(RatioBand(**_fields(path, f"{where}.ratio_bands[{i}]", b, _BAND_SPEC))
                  for i, b in enumerate(raw.get("ratio_bands", [])))
    if "drop_min_pct" in f and bands:
        raise RuleSetError(path, f"{where}.drop_min_pct", "give drop_min_pct or ratio_bands, not both")
    if not ("drop_min_pct" in f or bands or "duration_increase_min_pct" in f):
        raise RuleSetError(path, f"{where}.drop_min_pct", "a rule needs drop_min_pct, ratio_bands or "
                           "duration_increase_min_pct (temporal dispersion)")
    if bands and f.get("measure", "amplitude") != "amplitude":
        raise RuleSetError(path, f"{where}.measure", "ratio_bands apply to measure = \"amplitude\" only")
    keys = [k for k in ("drop_min_pct", "duration_increase_max_pct", "duration_increase_min_pct",
                        "distal_amplitude_min_pct_lln", "distal_amplitude_min_mv") if k in f]
    keys += [f"ratio_bands[{k}]" for k in range(len(bands))] + (["segments"] if pairs else [])
    return SegmentRule(**f, segments=tuple(pairs), ratio_bands=bands, marks=_marks(path, where, raw, keys))


def _nerve_item(path: str, where: str, raw: Any) -> NerveItem:
    f = _fields(path, where, raw, _ITEM_SPEC, extra=("thresholds_ms", "thresholds_ms_by_filter", "marks"))
    _choice(path, f"{where}.measure", f["measure"], NERVE_MEASURES)
    _choice(path, f"{where}.compare", f.get("compare", ">="), _COMPARE)
    _choice(path, f"{where}.confidence", f["confidence"], _CONFIDENCE)
    for key in ("nerves", "exclude_nerves", "caveat_nerves"):
        if key in f:
            f[key] = _nerves(path, f"{where}.{key}", f[key])
    thresholds = raw.get("thresholds_ms", {})
    if not isinstance(thresholds, dict):
        raise RuleSetError(path, f"{where}.thresholds_ms", f"must be a table nerve = ms, got {thresholds!r}")
    pairs = tuple((_nerves(path, f"{where}.thresholds_ms", [k])[0],
                   _check_type(path, f"{where}.thresholds_ms.{k}", v, _NUM)) for k, v in thresholds.items())
    by_filter = raw.get("thresholds_ms_by_filter", {})
    if not isinstance(by_filter, dict):
        raise RuleSetError(path, f"{where}.thresholds_ms_by_filter",
                           f"must be a table \"Hz\" = {{nerve = ms}}, got {by_filter!r}")
    rows = []
    for hz, row in by_filter.items():
        w = f"{where}.thresholds_ms_by_filter.{hz}"
        try:
            hz_value = float(hz)
        except ValueError:
            raise RuleSetError(path, w, f"the key must be a filter in Hz (e.g. \"2\"), got {hz!r}") from None
        if not isinstance(row, dict) or not row:
            raise RuleSetError(path, w, f"must be a table nerve = ms, got {row!r}")
        rows.append((hz_value, tuple((_nerves(path, w, [k])[0], _check_type(path, f"{w}.{k}", v, _NUM))
                                     for k, v in row.items())))
    if (pairs or "filter_hz" in f) and rows:
        raise RuleSetError(path, f"{where}.thresholds_ms_by_filter",
                           "give thresholds_ms (with an optional filter_hz) or thresholds_ms_by_filter, not both")
    if f["measure"] == "distal_cmap_duration":
        if not pairs and not rows:
            raise RuleSetError(path, f"{where}.thresholds_ms", "required for measure 'distal_cmap_duration' "
                               "(or thresholds_ms_by_filter)")
    elif f["measure"] != "f_wave_absent" and "pct_of_limit" not in f:
        raise RuleSetError(path, f"{where}.pct_of_limit", f"required for measure {f['measure']!r}")
    keys = [k for k in ("pct_of_limit", "low_amplitude_pct_of_limit", "distal_amplitude_min_pct_lln") if k in f]
    keys += [f"thresholds_ms.{n}" for n, _ in pairs]
    keys += [f"thresholds_ms_by_filter.{hz:g}.{n}" for hz, row in rows for n, _ in row]
    return NerveItem(**f, thresholds_ms=pairs, thresholds_ms_by_filter=tuple(rows),
                     marks=_marks(path, where, raw, keys))


def _combination(path: str, where: str, raw: Any, items: set[str]) -> Combination:
    f = _fields(path, where, raw, _COMBO_SPEC, extra=("criteria", "marks"))
    _choice(path, f"{where}.level", f["level"], GRADED_LEVELS)
    _choice(path, f"{where}.confidence", f["confidence"], _CONFIDENCE)
    criteria = []
    raw_criteria = raw.get("criteria", [])
    if not isinstance(raw_criteria, list):
        raise RuleSetError(path, f"{where}.criteria", f"must be a list of tables, got {raw_criteria!r}")
    for i, c in enumerate(raw_criteria):
        w = f"{where}.criteria[{i}]"
        cf = _fields(path, w, c, _CRITERION_SPEC)
        if cf["min_nerves"] < 1:
            raise RuleSetError(path, f"{w}.min_nerves", f"must be >= 1, got {cf['min_nerves']}")
        for item in cf["items"]:
            _choice(path, f"{w}.items", item, sorted(items))
        criteria.append(Criterion(cf["items"], cf["min_nerves"], cf.get("label", "")))
    if criteria:
        if "items" in f or "min_nerves" in f or "other_items" in f or "min_criteria" not in f:
            raise RuleSetError(path, f"{where}.criteria", "a counted combination gives criteria and "
                               "min_criteria, without items / min_nerves / other_items")
        if not 1 <= f["min_criteria"] <= len(criteria):
            raise RuleSetError(path, f"{where}.min_criteria", f"must lie in [1, {len(criteria)}], got "
                               f"{f['min_criteria']}")
        f["items"] = tuple(dict.fromkeys(it for c in criteria for it in c.items))
        f["min_nerves"] = 1
    else:
        for key in ("items", "min_nerves"):
            if key not in f:
                raise RuleSetError(path, f"{where}.{key}", "required key is missing")
        if "min_criteria" in f:
            raise RuleSetError(path, f"{where}.min_criteria", "only with criteria")
        if f["min_nerves"] < 1:
            raise RuleSetError(path, f"{where}.min_nerves", f"must be >= 1, got {f['min_nerves']}")
        for key in ("items", "other_items"):
            for item in f.get(key, ()):
                _choice(path, f"{where}.{key}", item, sorted(items))
    marks = _marks(path, where, raw, ("criteria",) if criteria else ("min_nerves",))
    return Combination(**f, criteria=tuple(criteria), marks=marks)


def _parse(doc: dict[str, Any], source: str) -> RuleSet:
    f = _fields(source, "", doc, _TOP_SPEC,
                extra=("level_labels", "item_titles", "segment_rules", "nerve_items", "combinations", "diagnosis"))
    _choice(source, "kind", f["kind"], ("conduction-block", "demyelination"))
    _choice(source, "confidence", f["confidence"], _CONFIDENCE)
    _choice(source, "comparison", f.get("comparison", "adjacent"), ("adjacent", "from_distal"))
    _choice(source, "beyond_compression", f.get("beyond_compression", "nearest-site"), BEYOND_COMPRESSION)
    _choice(source, "absent_proximal", f.get("absent_proximal", "not-assessable"),
            ("not-assessable", "possible"))
    _choice(source, "level_scope", f.get("level_scope", "segment"), LEVEL_SCOPES)
    if "excluded_nerves" in f:
        f["excluded_nerves"] = _nerves(source, "excluded_nerves", f["excluded_nerves"])
    labels = doc.get("level_labels", {})
    if not isinstance(labels, dict):
        raise RuleSetError(source, "level_labels", f"must be a table level = label, got {labels!r}")
    for level, text in labels.items():
        _choice(source, "level_labels", level, LEVELS)
        _check_type(source, f"level_labels.{level}", text, _STR)
    seg = tuple(_segment_rule(source, f"segment_rules[{i}]", r) for i, r in enumerate(doc.get("segment_rules", [])))
    nrv = tuple(_nerve_item(source, f"nerve_items[{i}]", r) for i, r in enumerate(doc.get("nerve_items", [])))
    if not seg and not nrv:
        raise RuleSetError(source, "segment_rules", "a rule set needs at least one segment rule or nerve item")
    clash = {r.item for r in seg} & {r.item for r in nrv}
    if clash:
        raise RuleSetError(source, "nerve_items", f"item ids {sorted(clash)} are also segment-rule items")
    items = {r.item for r in (*seg, *nrv)}
    titles = doc.get("item_titles", {})
    if not isinstance(titles, dict):
        raise RuleSetError(source, "item_titles", f"must be a table item = title, got {titles!r}")
    for item, text in titles.items():
        _choice(source, "item_titles", item, sorted(items))
        _check_type(source, f"item_titles.{item}", text, _STR)
    combos = tuple(_combination(source, f"combinations[{i}]", c, items)
                   for i, c in enumerate(doc.get("combinations", [])))
    if not combos:
        raise RuleSetError(source, "combinations", "at least one combination rule is required "
                           "(how items combine into the patient-level result)")
    return RuleSet(**f, source=source, level_labels=tuple(labels.items()), item_titles=tuple(titles.items()),
                   segment_rules=seg,
                   nerve_items=nrv, combinations=combos, diagnosis=_diagnosis(source, doc))


def _diagnosis(source: str, doc: dict[str, Any]) -> Diagnosis | None:
    """The table's ``[diagnosis]`` section (``docs/criteria.md``, "Diagnosis"), or None."""
    if "diagnosis" not in doc:
        return None
    try:
        return parse_diagnosis(doc["diagnosis"], lambda key, value: _choice(source, key, value, _CONFIDENCE))
    except _Error as exc:
        raise RuleSetError(source, exc.key, str(exc)) from None


def load_rule_set(path: str | PathLike[str]) -> RuleSet:
    """Load and validate one rule-set table (TOML).

    Parameters
    ----------
    path : str or path-like
        A ``.toml`` file following the schema of ``docs/criteria.md``.

    Returns
    -------
    RuleSet

    Raises
    ------
    RuleSetError
        Invalid TOML, unknown or missing key, wrong type or value; the message names the file,
        the key and what is allowed.
    FileNotFoundError
        ``path`` does not exist.
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    return loads_rule_set(text, str(p))


def loads_rule_set(text: str, source: str = "<string>") -> RuleSet:
    """Parse and validate a rule-set table given as TOML text (``source`` names it in errors)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError(source, "(file)", f"not valid TOML: {exc}") from exc
    return _parse(doc, source)
