"""The facts a diagnosis table's conditions test, from the motor verdict, sensory results and inputs.

Each fact is a :class:`Fact`: a range ``lo``..``hi`` (a number of nerves; 0/1 for yes/no; a
rank for a level) that the unknowns leave open — ``lo`` takes every unknown as unmet, ``hi``
as met — with the nerves that carry it and those unknown, so reasons can name them.

Sensory facts come from sensory results (:func:`nerveconduct.analysis.sensory.analyze_sensory`:
objects with ``nerve``, ``side``, ``label``, ``abnormal``, ``amplitude_pct_of_lln``,
``cv_pct_of_lln`` and ``sites``) and, for a nerve without traces, from the input
``sensory`` table (``{"right median": True}`` = abnormal, or ``{"right median": {"<item>":
bool}}``; a label names the side and a known nerve, :func:`nerveconduct.names.check_nerve_label`,
else a ValueError). Where both give an item and disagree, the traces win. Each nerve's
:meth:`SensoryNerve.reason` says its items' states and where each came from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.sensory import SENSORY_LIMITS
from ..names import UPPER_LIMB_NERVES, canonical_sensory_nerve, check_nerve_label, parse_nerve_label
from ._common import at_least, at_most
from ._diagnosis import Diagnosis, SensoryItem

__all__ = ["Fact", "SensoryNerve", "sensory_nerves", "parse_nerve_label", "item_state", "count_fact",
           "pattern_fact", "flag"]


@dataclass(frozen=True)
class Fact:
    """A fact's range (``lo`` with unknowns unmet, ``hi`` with unknowns met) and its nerves."""

    lo: float
    hi: float
    met: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    text: str = ""
    unit: str = "nerve"


@dataclass
class SensoryNerve:
    """One sensory nerve's items (id -> True / False / None) and where each came from.

    ``source`` (item -> ``"traces"`` / ``"sheet"``) says where a decided item came from and
    ``why`` what decided it (the measured values against their limits); ``sheet`` keeps the
    sheet's value of an item the traces decided (the traces win)."""

    label: str
    nerve: str | None
    items: dict[str, bool | None] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    sheet: dict[str, bool] = field(default_factory=dict)
    #: Items that do not apply to this nerve (an item's ``nerves`` leave it out): not counted.
    not_applicable: set[str] = field(default_factory=set)

    def reason(self, table: Diagnosis) -> str:
        """One line: each item's state and where it came from (the traces' values against
        their limits, "as given in the sheet", and the sheet's value where it disagrees)."""
        parts = []
        for item in table.sensory_items:
            i = item.item
            if i in self.not_applicable:
                parts.append(f"{item.label}: not applied to this nerve")
                continue
            state = self.items.get(i)
            word = {True: "met", False: "not met", None: "not assessable"}[state]
            if self.source.get(i) == "traces":
                text = f"{item.label}: {word}, from the traces: {self.why[i]}"
                if i in self.sheet:
                    said = "met" if self.sheet[i] else "not met"
                    text += ("; the sheet agrees" if self.sheet[i] is state else
                             f"; the sheet says {said}, the traces are used")
            elif self.source.get(i) == "sheet":
                text = f"{item.label}: {word}, as given in the sheet"
                if i in self.why:
                    text += f" (the traces do not decide: {self.why[i]})"
            else:
                text = f"{item.label}: not given (no sensory traces, not in the sheet)"
            parts.append(text)
        return f"sensory {self.label}: " + "; ".join(parts)


def flag(name: str, value: Any) -> bool | None:
    """``value`` as True / False / None; TypeError naming ``name`` otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":  # numpy bool
        return bool(value)
    raise TypeError(f"{name} must be true, false or null (unknown), got {value!r}")


def _canon(name: Any) -> str | None:
    """Canonical name of a sensory nerve (whole-name match, :mod:`nerveconduct.names`)."""
    return canonical_sensory_nerve(str(name))


def _pct(value: Any) -> float:
    return math.nan if value is None else float(value)


#: How a reason names each limit comparison of a sensory result (:data:`SENSORY_LIMITS`):
#: key -> (words, unit, sign beyond the limit, sign within it).
_LIMIT_WORDS = {"amplitude": ("SNAP amplitude", "µV", "<", "≥"),
                "conduction_velocity": ("sensory CV", "m/s", "<", "≥"),
                "peak_latency": ("peak latency", "ms", ">", "≤")}


def _limit_values(result: Any, found: Sequence[str]) -> str:
    """The distal values the sensory analysis compared with its limits ("SNAP amplitude 4.1 µV
    < LLN 10 µV"); its verdict (``found``, the abnormal items) decides the sign."""
    out = []
    for key, (limit_attr, kind, value_attr, pct_attr, words) in SENSORY_LIMITS.items():
        value, limit = getattr(result, value_attr, None), getattr(result, limit_attr, None)
        if value is None or limit is None or not math.isfinite(_pct(getattr(result, pct_attr, None))):
            continue  # not compared (no value, no limit, or the analysis did not compare)
        name, unit, beyond, within = _LIMIT_WORDS[key]
        out.append(f"{name} {value:.1f} {unit} {beyond if words in found else within} {kind} {limit:g} {unit}")
    return ", ".join(out)


def item_state(item: SensoryItem, result: Any) -> tuple[bool | None, str]:
    """``item`` on one sensory result: met / not met / not assessable, with the values that decide it."""
    if item.nerves and _canon(getattr(result, "nerve", "")) not in item.nerves:
        return None, f"{item.label}: not applied to this nerve"
    if item.measure == "abnormal":
        state = flag("abnormal", getattr(result, "abnormal", None))
        found = tuple(getattr(result, "abnormal_items", ()) or ())
        values = _limit_values(result, found)
        if values:  # the values with their limits say which are beyond
            words = {True: "abnormal", False: "within normal limits", None: "not assessable"}[state]
            return state, f"{words}: {values}"
        return state, ("abnormal" + (f" ({', '.join(found)})" if found else "") if state else
                       "within normal limits" if state is False else "not assessable")
    sites = tuple(getattr(result, "sites", ()) or ())
    present = bool(getattr(sites[0], "present", True)) if sites else None
    amp = _pct(getattr(result, "amplitude_pct_of_lln", None))
    if present is False:
        return (True, "SNAP absent") if item.measure == "amplitude" else (False, "SNAP absent: no CV")
    if item.measure == "amplitude":
        if math.isnan(amp):
            return None, "SNAP amplitude: no LLN"
        met = bool(at_most(amp, item.pct_of_lln, False))
        return met, (f"SNAP amplitude {_measured(result, 'distal_amplitude_uv', 'amplitude_lln_uv', 'µV')}"
                     f"{amp:.0f}% of LLN {'<' if met else '≥'} {item.pct_of_lln:g}%")
    cv = _pct(getattr(result, "cv_pct_of_lln", None))
    if math.isnan(cv):
        return None, "sensory CV not measured or no LLN"
    cut = item.pct_of_lln
    if item.low_amplitude_below_pct_lln is not None:
        if math.isnan(amp):  # amplitude unknown: decided only where both cut-offs agree
            low_cut = item.low_amplitude_pct_of_lln
            if bool(at_most(cv, min(cut, low_cut), False)) == bool(at_most(cv, max(cut, low_cut), False)):
                return bool(at_most(cv, cut, False)), f"sensory CV {cv:.0f}% of LLN (SNAP amplitude unknown)"
            return None, f"sensory CV {cv:.0f}% of LLN, SNAP amplitude unknown"
        if not at_least(amp, item.low_amplitude_below_pct_lln, True):
            cut = item.low_amplitude_pct_of_lln
    met = bool(at_most(cv, cut, False))
    return met, (f"sensory CV {_measured(result, 'distal_conduction_velocity_m_s', 'cv_lln_m_s', 'm/s')}"
                 f"{cv:.0f}% of LLN {'<' if met else '≥'} {cut:g}% "
                 f"(SNAP amplitude {_measured(result, 'distal_amplitude_uv', 'amplitude_lln_uv', 'µV')}"
                 f"{amp:.0f}% of LLN)")


def _measured(result: Any, value_attr: str, limit_attr: str, unit: str) -> str:
    """``"38.0 m/s (LLN 44 m/s) = "``, put before the % of LLN, when the result carries the
    distal value and its LLN; ``""`` otherwise (the % alone is shown)."""
    value, limit = getattr(result, value_attr, None), getattr(result, limit_attr, None)
    if value is None or limit is None or not (math.isfinite(value) and math.isfinite(limit)):
        return ""
    return f"{value:.1f} {unit} (LLN {limit:g} {unit}) = "


def sensory_nerves(table: Diagnosis, results: Iterable[Any], given: Mapping[str, Any] | None) -> list[SensoryNerve]:
    """Every sensory nerve's items: from the results (the traces), else from the input table.

    Raises
    ------
    ValueError
        A label of ``given`` without a side, with an unknown side word or nerve
        (:func:`nerveconduct.names.check_nerve_label`), or an unknown item id.
    """
    out: dict[tuple[str | None, str], SensoryNerve] = {}
    for i, r in enumerate(results):
        for attr in ("nerve", "label"):
            if not hasattr(r, attr):
                raise TypeError(f"sensory[{i}] must be a sensory result (analyze_sensory), got {type(r).__name__}")
        key = (_canon(r.nerve) or r.nerve, (getattr(r, "side", None) or "").lower())
        sn = out.setdefault(key, SensoryNerve(r.label, key[0]))
        for item in table.sensory_items:
            if item.nerves and key[0] not in item.nerves:
                sn.not_applicable.add(item.item)
                continue
            state, why = item_state(item, r)
            if item.item in sn.items:  # two studies of one nerve and side count once
                old = sn.items[item.item]
                state = True if True in (old, state) else None if None in (old, state) else False
                why = f"{sn.why[item.item]} / {why}"
            sn.items[item.item] = state
            sn.why[item.item] = why
            sn.source[item.item] = "traces"
    ids = [i.item for i in table.sensory_items]
    for label, value in (given or {}).items():
        nerve, side = check_nerve_label(label, name="sensory")
        values = value if isinstance(value, Mapping) else {ids[0]: value} if ids else {}
        bad = sorted(set(values) - set(ids))
        if bad:
            raise ValueError(f"sensory[{label!r}]: unknown sensory item {bad[0]!r}; allowed: {ids}")
        sn = out.setdefault((nerve, side), SensoryNerve(f"{side} {nerve}", nerve))
        for item_id, v in values.items():
            v = flag(f"sensory[{label!r}][{item_id!r}]", v)
            if table.item(item_id).nerves and nerve not in table.item(item_id).nerves:
                sn.not_applicable.add(item_id)
                continue
            if v is None:
                continue
            if sn.source.get(item_id) == "traces" and sn.items.get(item_id) is not None:
                sn.sheet[item_id] = v  # the traces win
            else:  # no traces, or traces that do not decide (``why`` keeps what they said)
                sn.items[item_id] = v
                sn.source[item_id] = "sheet"
    return list(out.values())


def count_fact(nerves: Sequence[SensoryNerve], item_id: str, want: bool, text: str) -> Fact:
    """Number of sensory nerves whose ``item_id`` is ``want`` (a range over the unknowns; 0 to
    infinity when no sensory nerve the item applies to was studied). Nerves the item does
    not apply to (:attr:`SensoryNerve.not_applicable`) are left out, not counted as unknown."""
    nerves = [n for n in nerves if item_id not in n.not_applicable]
    if not nerves:  # no sensory nerve studied: any number could be
        return Fact(0, math.inf, text=text)
    met = tuple(n.label for n in nerves if n.items.get(item_id) is want)
    unknown = tuple(n.label for n in nerves if n.items.get(item_id) is None)
    return Fact(len(met), len(met) + len(unknown), met, unknown, text)


def pattern_fact(nerves: Sequence[SensoryNerve], item_id: str, abnormal: Sequence[str], normal: Sequence[str],
                 text: str) -> Fact:
    """A pattern: ``item_id`` met in one of the ``abnormal`` nerves and not met in one of ``normal``."""
    if not nerves:
        return Fact(0.0, 1.0, text=f"{text} (no sensory nerve studied)")
    def side(names: Sequence[str], want: bool) -> tuple[bool | None, list[str]]:
        pool = [n for n in nerves if n.nerve in names]
        hits = [n.label for n in pool if n.items.get(item_id) is want]
        return (True if hits else None if any(n.items.get(item_id) is None for n in pool) else False), hits

    (a, a_hits), (b, b_hits) = side(abnormal, True), side(normal, False)
    lo = a is True and b is True
    hi = a is not False and b is not False
    unknown = tuple(n.label for n in nerves if n.nerve in (*abnormal, *normal) and n.items.get(item_id) is None)
    detail = f"{text} ({'abnormal ' + ', '.join(a_hits) if a_hits else 'no abnormal ' + '/'.join(abnormal)}; " \
             f"{'normal ' + ', '.join(b_hits) if b_hits else 'no normal ' + '/'.join(normal)})"
    return Fact(float(lo), float(hi), tuple(a_hits + b_hits) if lo else (), unknown if hi and not lo else (), detail)


def motor_nerve_facts(verdict: Any, nerve_results: Sequence[Any]) -> tuple[Fact, Fact, Fact]:
    """Upper-limb nerves meeting a motor item, motor nerves within normal limits, and motor
    nerves outside normal limits (a limit abnormal, whether or not it meets a motor item)."""
    met, unknown = [], []
    for nv in verdict.nerve_verdicts:
        if nv.key[0] not in UPPER_LIMB_NERVES or nv.nerve in met:
            continue
        states = [r.met for r in nv.items.values()]
        if True in states:
            met.append(nv.nerve)
        elif None in states:
            unknown.append(nv.nerve)
    upper = Fact(len(met), len(met) + len(unknown), tuple(met), tuple(unknown),
                 "upper-limb nerves meeting a motor item")
    normal, maybe, abnormal = [], [], []  # maybe: a limit unknown, none abnormal
    for nr in nerve_results:
        label = f"{nr.side} {nr.nerve}" if nr.side else nr.nerve
        states = [c.abnormal for c in nr.limits.values()]
        if not states or label in normal or label in maybe or label in abnormal:
            continue
        (abnormal if True in states else maybe if None in states else normal).append(label)
    return (upper,
            Fact(len(normal), len(normal) + len(maybe), tuple(normal), tuple(maybe),
                 "motor nerves within normal limits"),
            Fact(len(abnormal), len(abnormal) + len(maybe), tuple(abnormal), tuple(maybe),
                 "motor conduction outside normal limits"))
