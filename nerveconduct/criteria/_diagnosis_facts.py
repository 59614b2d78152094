"""The facts a diagnosis table's conditions test, from the motor verdict, sensory results and inputs.

Each fact is a :class:`Fact`: a range ``lo``..``hi`` (a number of nerves; 0/1 for yes/no; a
rank for a level) that the unknowns leave open — ``lo`` takes every unknown as unmet, ``hi``
as met — with the nerves that carry it and those unknown, so reasons can name them.

Sensory facts come from sensory results (:func:`nerveconduct.analysis.sensory.analyze_sensory`:
objects with ``nerve``, ``side``, ``label``, ``abnormal``, ``amplitude_pct_of_lln``,
``cv_pct_of_lln`` and ``sites``) and, for a nerve without traces, from the input
``sensory`` table (``{"right median": True}`` = abnormal, or ``{"right median": {"<item>":
bool}}``). Where both give an item and disagree, the traces win and a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..names import UPPER_LIMB_NERVES, canonical_sensory_nerve, parse_nerve_label
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
    """One sensory nerve's items (id -> True / False / None) and where each came from."""

    label: str
    nerve: str | None
    items: dict[str, bool | None] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Items that do not apply to this nerve (an item's ``nerves`` leave it out): not counted.
    not_applicable: set[str] = field(default_factory=set)


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


def item_state(item: SensoryItem, result: Any) -> tuple[bool | None, str]:
    """``item`` on one sensory result: met / not met / not assessable, with the values that decide it."""
    if item.nerves and _canon(getattr(result, "nerve", "")) not in item.nerves:
        return None, f"{item.label}: not applied to this nerve"
    if item.measure == "abnormal":
        state = flag("abnormal", getattr(result, "abnormal", None))
        found = ", ".join(getattr(result, "abnormal_items", ()) or ())
        return state, ("abnormal" + (f" ({found})" if found else "") if state else
                       "within normal limits" if state is False else "not assessable")
    sites = tuple(getattr(result, "sites", ()) or ())
    present = bool(getattr(sites[0], "present", True)) if sites else None
    amp = _pct(getattr(result, "amplitude_pct_of_lln", None))
    if present is False:
        return (True, "SNAP absent") if item.measure == "amplitude" else (False, "SNAP absent: no CV")
    if item.measure == "amplitude":
        if math.isnan(amp):
            return None, "SNAP amplitude: no LLN"
        return bool(at_most(amp, item.pct_of_lln, False)), f"SNAP amplitude {amp:.0f}% of LLN"
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
    return met, f"sensory CV {cv:.0f}% of LLN {'<' if met else '≥'} {cut:g}% (SNAP amplitude {amp:.0f}% of LLN)"


def sensory_nerves(table: Diagnosis, results: Iterable[Any], given: Mapping[str, Any] | None) -> list[SensoryNerve]:
    """Every sensory nerve's items: from the results (the traces), else from the input table."""
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
            sn.items[item.item] = state
            sn.why[item.item] = f"{why} (from the traces)"
    ids = [i.item for i in table.sensory_items]
    for label, value in (given or {}).items():
        nerve, side = parse_nerve_label(label)
        values = value if isinstance(value, Mapping) else {ids[0]: value} if ids else {}
        bad = sorted(set(values) - set(ids))
        if bad:
            raise ValueError(f"sensory[{label!r}]: unknown sensory item {bad[0]!r}; allowed: {ids}")
        sn = out.setdefault((nerve or label, side), SensoryNerve(str(label), nerve))
        for item_id, v in values.items():
            v = flag(f"sensory[{label!r}][{item_id!r}]", v)
            if table.item(item_id).nerves and nerve not in table.item(item_id).nerves:
                sn.not_applicable.add(item_id)
                continue
            have = sn.items.get(item_id)
            if have is None:
                if v is not None:
                    sn.items[item_id] = v
                    sn.why[item_id] = "as given in the sheet"
            elif v is not None and v != have:
                sn.notes.append(f"{sn.label}: {table.item(item_id).label}: the traces say "
                                f"{'met' if have else 'not met'}, the sheet says {'met' if v else 'not met'}; "
                                "the traces are used")
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
