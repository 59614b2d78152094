"""The ``[diagnosis]`` section of a rule table: a diagnosis as data.

A rule set whose combinations grade the motor conduction criteria may add how a diagnosis is
made from them (EAN/PNS 2021 CIDP: "CIDP" / "possible CIDP" per variant; EFNS/PNS 2010 CIDP:
definite / probable / possible CIDP). The section holds

- ``sensory_items`` — criteria read on each sensory nerve (a SNAP outside normal limits; a
  sensory CV below a % of LLN that depends on the SNAP amplitude);
- ``patterns`` — patient-level sensory patterns (sural sparing: an item met in one of some
  nerves and not met in one of others);
- ``supportive`` — supportive criteria: inputs (CSF, imaging, biopsy, treatment response), or
  computed from conditions on the conduction facts (a sensory criterion);
- ``rows`` — the diagnostic table: each row grants ``category`` to the ``variants`` it names
  when every condition of ``when`` holds; ``upgrade = true`` rows may test ``base``, the
  category the other rows grant (possible CIDP + ≥ 2 supportive criteria -> CIDP); a row with
  ``base = false`` grants its category but is not a base an upgrade builds on.

A condition is a string ``"<fact>"``, ``"not <fact>"`` or ``"<fact> <op> <value>"`` (op one of
``>= > <= < ==``); a list of strings in ``when`` is met when any of them is. The facts are
listed in :data:`FACTS` (``docs/criteria.md``, "Diagnosis"). Parsed here (from
:mod:`nerveconduct.criteria.tables`); evaluated by :mod:`nerveconduct.criteria._diagnosis_eval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..names import canonical_sensory_nerve

__all__ = ["SENSORY_MEASURES", "FACTS", "Condition", "SensoryItem", "SensoryPattern", "Supportive",
           "DiagnosisRow", "Diagnosis", "parse_diagnosis"]

#: What a sensory item reads on a sensory result: its ``abnormal`` verdict (any value outside
#: normal limits, or absent), its distal SNAP amplitude below a % of LLN, or its distal sensory
#: CV below a % of LLN (a lower % when the SNAP amplitude is below a % of LLN).
SENSORY_MEASURES = ("abnormal", "amplitude", "conduction_velocity")

#: The facts a condition may test, with their kind: ``bool`` (True / False / unknown),
#: ``count`` (a number of nerves, a range when some are unknown), ``level`` (the rule set's
#: motor level, definite > probable > possible > none) or ``category`` (``base``). A fact
#: ``name:<id>`` takes a sensory item, pattern or supportive criterion id of the table.
FACTS: dict[str, str] = {
    "clinical_criteria": "bool",
    "motor": "level",
    "motor_upper_limb_nerves": "count",
    "motor_normal_nerves": "count",
    "motor_abnormal_nerves": "count",
    "sensory": "count",
    "sensory_normal": "count",
    "pattern": "bool",
    "supportive": "count",
    "supportive_met": "bool",
    "base": "category",
}
_MOTOR_LEVELS = ("definite", "probable", "possible", "none")
_OPS = (">=", ">", "<=", "<", "==")


class _Error(ValueError):
    """Raised as the caller's RuleSetError (tables.py wraps it with the file name)."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class Condition:
    """One condition: ``fact`` (with its ``arg`` id for ``name:<id>`` facts) ``op`` ``value``."""

    text: str
    fact: str
    arg: str | None
    op: str
    value: Any


@dataclass(frozen=True)
class SensoryItem:
    """A criterion read on one sensory nerve (see :data:`SENSORY_MEASURES`)."""

    item: str
    label: str
    measure: str
    confidence: str
    verification: str
    normal_label: str = ""
    pct_of_lln: float | None = None
    low_amplitude_below_pct_lln: float | None = None
    low_amplitude_pct_of_lln: float | None = None
    nerves: tuple[str, ...] = ()


@dataclass(frozen=True)
class SensoryPattern:
    """``item`` met in one of ``abnormal_nerves`` and not met in one of ``normal_nerves``."""

    id: str
    label: str
    item: str
    abnormal_nerves: tuple[str, ...]
    normal_nerves: tuple[str, ...]
    confidence: str
    verification: str


@dataclass(frozen=True)
class Supportive:
    """A supportive criterion: an input ``key``, or computed when ``when`` is given."""

    key: str
    label: str
    confidence: str
    verification: str
    when: tuple[tuple[Condition, ...], ...] = ()


@dataclass(frozen=True)
class DiagnosisRow:
    """One row of the diagnostic table: ``category`` for ``variants`` when ``when`` holds."""

    category: str
    label: str
    when: tuple[tuple[Condition, ...], ...]
    confidence: str
    verification: str
    variants: tuple[str, ...] = ()
    upgrade: bool = False
    base: bool = True


@dataclass(frozen=True)
class Diagnosis:
    """The ``[diagnosis]`` section of a rule table."""

    title: str
    categories: tuple[str, ...]
    none_label: str
    variants: tuple[str, ...]
    sensory_items: tuple[SensoryItem, ...]
    patterns: tuple[SensoryPattern, ...]
    supportive: tuple[Supportive, ...]
    rows: tuple[DiagnosisRow, ...]
    not_evaluated: tuple[str, ...] = ()

    def rank(self, category: str | None) -> int:
        """Order of a category: the first of ``categories`` ranks highest; none ranks 0."""
        return len(self.categories) - self.categories.index(category) if category in self.categories else 0

    def item(self, item_id: str) -> SensoryItem:
        """The sensory item ``item_id``."""
        return next(i for i in self.sensory_items if i.item == item_id)


def _str(raw: dict, key: str, where: str, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Error(f"{where}.{key}", "required key is missing" if value is None else
                     f"must be a string, got {value!r}")
    return value


def _strs(raw: dict, key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Error(f"{where}.{key}", f"must be a list of strings, got {value!r}")
    return tuple(value)


def _nerves(raw: dict, key: str, where: str) -> tuple[str, ...]:
    out = []
    for name in _strs(raw, key, where):
        canon = canonical_sensory_nerve(name)
        if canon is None:
            raise _Error(f"{where}.{key}", f"unknown nerve {name!r}; use a canonical nerve name "
                         "(see nerveconduct.names.NERVE_ALIASES)")
        out.append(canon)
    return tuple(out)


def _num(raw: dict, key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Error(f"{where}.{key}", f"must be a number, got {value!r}")
    return float(value)


def _known(raw: Any, where: str, allowed: set[str], check: Callable[[str, str], None]) -> dict:
    if not isinstance(raw, dict):
        raise _Error(where, f"must be a table, got {raw!r}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _Error(f"{where}.{unknown[0]}", f"unknown key; allowed keys: {sorted(allowed)}")
    if "confidence" in allowed:
        check(f"{where}.confidence", _str(raw, "confidence", where))
        _str(raw, "verification", where)
    return raw


def _condition(text: Any, where: str, ids: dict[str, set[str]]) -> Condition:
    if not isinstance(text, str) or not text.split():
        raise _Error(where, f"a condition must be a string \"<fact> <op> <value>\", got {text!r}")
    words = text.split()
    negate = words[0] == "not"
    if negate:
        words = words[1:]
    name = words[0] if words else ""
    fact, _, arg = name.partition(":")
    allowed = sorted(FACTS)
    if fact not in FACTS:
        raise _Error(where, f"unknown fact {name!r} in {text!r}; allowed: {allowed}")
    kind = FACTS[fact]
    needs_arg = fact in ("sensory", "sensory_normal", "pattern", "supportive_met")
    if needs_arg != bool(arg):
        raise _Error(where, f"fact {fact!r} " + (f"takes an id ({fact}:<id>, one of {sorted(ids[fact])})"
                                                  if needs_arg else "takes no id") + f", in {text!r}")
    if needs_arg and arg not in ids[fact]:
        raise _Error(where, f"unknown id {arg!r} of {fact!r} in {text!r}; allowed: {sorted(ids[fact])}")
    if kind == "bool":
        if len(words) != 1:
            raise _Error(where, f"a yes/no fact is written \"{fact}\" or \"not {fact}\", got {text!r}")
        return Condition(text, fact, arg or None, "==", not negate)
    if negate or len(words) != 3 or words[1] not in _OPS:
        raise _Error(where, f"write \"{name} <op> <value>\" with op one of {list(_OPS)}, got {text!r}")
    value: Any = words[2]
    if kind == "count":
        if not value.isdigit():
            raise _Error(where, f"a number of nerves must be a whole number, got {value!r} in {text!r}")
        value = int(value)
    else:
        if value not in _MOTOR_LEVELS:
            raise _Error(where, f"value of {fact!r} must be one of {list(_MOTOR_LEVELS)}, got {value!r}")
    return Condition(text, fact, arg or None, words[1], value)


def _base_condition(text: str, where: str, categories: tuple[str, ...], upgrade: bool) -> Condition:
    """``"base >= possible CIDP"``: the category the other rows grant (a value of several words)."""
    words = text.split()
    if len(words) < 3 or words[1] not in _OPS:
        raise _Error(where, f"write \"base <op> <category>\", got {text!r}")
    if not upgrade:
        raise _Error(where, f"fact 'base' only in rows with upgrade = true, in {text!r}")
    category = " ".join(words[2:])
    if category not in categories:
        raise _Error(where, f"value of 'base' must be one of {list(categories)}, got {category!r}")
    return Condition(text, "base", None, words[1], category)


def _when(raw: Any, where: str, ids: dict[str, set[str]], categories: tuple[str, ...],
          upgrade: bool) -> tuple[tuple[Condition, ...], ...]:
    if not isinstance(raw, list) or not raw:
        raise _Error(where, f"must be a non-empty list of conditions, got {raw!r}")
    groups = []
    for i, entry in enumerate(raw):
        alternatives = entry if isinstance(entry, list) else [entry]
        group = []
        for j, text in enumerate(alternatives):
            w = f"{where}[{i}]" + (f"[{j}]" if isinstance(entry, list) else "")
            is_base = isinstance(text, str) and text.split()[:1] == ["base"]
            cond = (_base_condition(text, w, categories, upgrade) if is_base
                    else _condition(text, w, ids))
            group.append(cond)
        if not group:
            raise _Error(f"{where}[{i}]", "an empty list of alternatives")
        groups.append(tuple(group))
    return tuple(groups)


def parse_diagnosis(raw: Any, check_confidence: Callable[[str, str], None]) -> Diagnosis:
    """The ``[diagnosis]`` section, validated; ``_Error(key, message)`` on the first problem.

    ``check_confidence(key, value)`` validates a confidence mark (raising as the table does).
    """
    top = _known(raw, "diagnosis", {"title", "categories", "none_label", "variants", "sensory_items",
                                    "patterns", "supportive", "rows", "not_evaluated"}, check_confidence)
    title = _str(top, "title", "diagnosis")
    categories = _strs(top, "categories", "diagnosis")
    if not categories or len(set(categories)) != len(categories):
        raise _Error("diagnosis.categories", f"must list distinct categories, strongest first, got {categories!r}")
    none_label = _str(top, "none_label", "diagnosis")
    variants = _strs(top, "variants", "diagnosis")
    items = []
    for i, r in enumerate(top.get("sensory_items", [])):
        w = f"diagnosis.sensory_items[{i}]"
        r = _known(r, w, {"item", "label", "normal_label", "measure", "pct_of_lln", "low_amplitude_below_pct_lln",
                          "low_amplitude_pct_of_lln", "nerves", "confidence", "verification"}, check_confidence)
        measure = _str(r, "measure", w)
        if measure not in SENSORY_MEASURES:
            raise _Error(f"{w}.measure", f"must be one of {list(SENSORY_MEASURES)}, got {measure!r}")
        pct = _num(r, "pct_of_lln", w)
        if measure != "abnormal" and pct is None:
            raise _Error(f"{w}.pct_of_lln", f"required for measure {measure!r}")
        low = (_num(r, "low_amplitude_below_pct_lln", w), _num(r, "low_amplitude_pct_of_lln", w))
        if (low[0] is None) != (low[1] is None) or (low[0] is not None and measure != "conduction_velocity"):
            raise _Error(f"{w}.low_amplitude_pct_of_lln", "give low_amplitude_below_pct_lln and "
                         "low_amplitude_pct_of_lln together, for measure 'conduction_velocity' only")
        label = _str(r, "label", w)
        items.append(SensoryItem(_str(r, "item", w), label, measure, r["confidence"], r["verification"],
                                 _str(r, "normal_label", w, False) or f"not met: {label}", pct, low[0], low[1],
                                 _nerves(r, "nerves", w)))
    item_ids = {i.item for i in items}
    patterns = []
    for i, r in enumerate(top.get("patterns", [])):
        w = f"diagnosis.patterns[{i}]"
        r = _known(r, w, {"id", "label", "item", "abnormal_nerves", "normal_nerves", "confidence",
                          "verification"}, check_confidence)
        if _str(r, "item", w) not in item_ids:
            raise _Error(f"{w}.item", f"unknown sensory item {r['item']!r}; allowed: {sorted(item_ids)}")
        patterns.append(SensoryPattern(_str(r, "id", w), _str(r, "label", w), r["item"],
                                       _nerves(r, "abnormal_nerves", w), _nerves(r, "normal_nerves", w),
                                       r["confidence"], r["verification"]))
    raw_supp = top.get("supportive", [])
    supp_ids = {s.get("key") for s in raw_supp if isinstance(s, dict)}
    ids = {"sensory": item_ids, "sensory_normal": item_ids, "pattern": {p.id for p in patterns},
           "supportive_met": supp_ids}
    supportive = []
    for i, r in enumerate(raw_supp):
        w = f"diagnosis.supportive[{i}]"
        r = _known(r, w, {"key", "label", "when", "confidence", "verification"}, check_confidence)
        when = _when(r["when"], f"{w}.when", {**ids, "supportive_met": set()}, categories, False) if "when" in r else ()
        if any(c.fact in ("supportive", "supportive_met") for g in when for c in g):
            raise _Error(f"{w}.when", "a supportive criterion cannot test supportive criteria")
        supportive.append(Supportive(_str(r, "key", w), _str(r, "label", w), r["confidence"], r["verification"], when))
    rows = []
    for i, r in enumerate(top.get("rows", [])):
        w = f"diagnosis.rows[{i}]"
        r = _known(r, w, {"category", "label", "variants", "when", "upgrade", "base", "confidence", "verification"},
                   check_confidence)
        category = _str(r, "category", w)
        if category not in categories:
            raise _Error(f"{w}.category", f"must be one of {list(categories)}, got {category!r}")
        upgrade, base = r.get("upgrade", False), r.get("base", True)
        for key, value in (("upgrade", upgrade), ("base", base)):
            if not isinstance(value, bool):
                raise _Error(f"{w}.{key}", f"must be a boolean, got {value!r}")
        row_variants = _strs(r, "variants", w)
        bad = sorted(set(row_variants) - set(variants))
        if bad:
            raise _Error(f"{w}.variants", f"unknown variant {bad[0]!r}; allowed (diagnosis.variants): {list(variants)}")
        rows.append(DiagnosisRow(category, _str(r, "label", w), _when(r.get("when"), f"{w}.when", ids, categories,
                                                                       upgrade),
                                 r["confidence"], r["verification"], row_variants, upgrade, base))
    if not rows:
        raise _Error("diagnosis.rows", "at least one row is required")
    return Diagnosis(title, categories, none_label, variants, tuple(items), tuple(patterns), tuple(supportive),
                     tuple(rows), _strs(top, "not_evaluated", "diagnosis"))
