"""Nerve-level items and the patient-level combination of a rule set.

Nerve items (distal motor latency, conduction velocity, F-wave latency, absent F-waves,
distal CMAP duration) are read from :attr:`NerveResult.limits` and the nerve's values, as
percentages of the normal limit. Segment items (conduction block, temporal dispersion) are
met on a nerve when any segment meets them (:func:`nerveconduct.criteria.evaluate`).

The table's ``combinations`` then say how items make the patient-level result, as counts of
nerves: ``items`` met in at least ``min_nerves`` nerves, and — when ``other_items`` is given
— any of those met in at least one *other* nerve ("I-E in 1 nerve + ≥1 other demyelinating
parameter in ≥1 other nerve"). A nerve is identified by (canonical nerve, side): left and
right median are two nerves; two studies of the same nerve and side count once.

Conventions: ``NerveResult.f_wave_latency_ms`` is ``None`` when F-waves were not studied and
NaN when they were sought and absent.
"""

from __future__ import annotations

import math
from typing import Iterable

from ..model import NerveResult
from .engine import evaluate, meets_max, meets_min, nerve_label
from .registry import get_rule_set
from .tables import NerveItem, RuleSet
from .verdicts import ItemResult, NerveVerdict, PatientVerdict, level_rank

__all__ = ["evaluate_nerve", "evaluate_patient"]

_NAMES = {"distal_motor_latency": ("DML", "ms"), "conduction_velocity": ("CV", "m/s"),
          "f_wave_latency": ("F-wave latency", "ms")}


def _compare(value: float, threshold: float, op: str) -> bool:
    if op in (">=", ">"):
        return meets_min(value, threshold, op == ">=")
    return meets_max(value, threshold, op == "<=")


def _op(op: str) -> str:
    return {">=": "\u2265", "<=": "\u2264"}.get(op, op)


def _distal_pct_lln(nr: NerveResult) -> tuple[float | None, str]:
    comp = nr.limits.get("distal_amplitude")
    if comp is None or comp.limit is None:
        return None, (comp.reason if comp is not None and comp.reason else "no amplitude LLN")
    if comp.value is None or not math.isfinite(comp.value):
        return None, "distal amplitude not available"
    return 100.0 * comp.value / comp.limit, f"distal amplitude {comp.value:.2f} mV = " \
        f"{100.0 * comp.value / comp.limit:.1f}% of LLN {comp.limit:g} mV"


def _limit_item(item: NerveItem, nr: NerveResult) -> tuple[bool | None, str]:
    comp = nr.limits.get(item.measure)
    if item.measure == "f_wave_latency":
        if nr.f_wave_latency_ms is None:
            return None, "F-waves not studied"
        if math.isnan(nr.f_wave_latency_ms):
            return False, "F-waves absent (a separate item)"
    if comp is None or comp.value is None or comp.limit is None:
        return None, comp.reason if comp is not None and comp.reason else f"{item.measure} not available"
    name, unit = _NAMES[item.measure]
    pct = 100.0 * comp.value / comp.limit
    thresholds = [item.pct_of_limit]
    note = ""
    if item.low_amplitude_below_pct_lln is not None and item.low_amplitude_pct_of_limit is not None:
        amp_pct, amp_text = _distal_pct_lln(nr)
        if amp_pct is None:
            thresholds = [item.pct_of_limit, item.low_amplitude_pct_of_limit]
            note = f"; {amp_text}: both cut-offs tried"
        elif amp_pct < item.low_amplitude_below_pct_lln:
            thresholds = [item.low_amplitude_pct_of_limit]
            note = f" ({amp_text} < {item.low_amplitude_below_pct_lln:g}%)"
    oks = {_compare(pct, t, item.compare) for t in thresholds}
    ok = oks.pop() if len(oks) == 1 else None
    shown = " or ".join(f"{t:g}%" for t in thresholds)
    text = (f"{name} {comp.value:.2f} {unit} = {pct:.1f}% of {comp.limit_kind} {comp.limit:g} {unit} "
            f"{'' if ok else 'not '}{_op(item.compare)} {shown}{note}")
    return ok, text


def _f_absent(item: NerveItem, nr: NerveResult) -> tuple[bool | None, str]:
    f = nr.f_wave_latency_ms
    if f is None:
        return None, "F-waves not studied"
    if not math.isnan(f):
        return False, f"F-waves present (latency {f:.1f} ms)"
    amp_pct, amp_text = _distal_pct_lln(nr)
    if amp_pct is None:
        return None, f"F-waves absent; {amp_text}"
    ok = meets_min(amp_pct, item.distal_amplitude_min_pct_lln, item.distal_amplitude_min_pct_lln_inclusive)
    op = "\u2265" if item.distal_amplitude_min_pct_lln_inclusive else ">"
    return ok, f"F-waves absent; {amp_text} {'' if ok else 'not '}{op} {item.distal_amplitude_min_pct_lln:g}%"


def _duration_item(item: NerveItem, nr: NerveResult) -> tuple[bool | None, str]:
    cutoffs = dict(item.thresholds_ms)
    if nr.nerve not in cutoffs:
        return False, f"not applicable (cut-offs for {', '.join(cutoffs)} only)"
    value, lff = nr.distal_cmap_duration_ms, nr.low_frequency_filter_hz
    note = ""
    if item.filter_hz is not None:
        if lff is not None and not math.isclose(lff, item.filter_hz):
            return None, (f"cut-offs hold for a {item.filter_hz:g} Hz low-frequency filter; this nerve was "
                          f"recorded at {lff:g} Hz")
        if lff is None:
            note = f" (low-frequency filter not recorded: cut-off assumes {item.filter_hz:g} Hz)"
    if value is None or not math.isfinite(value):
        return None, "distal CMAP duration not available"
    ok = _compare(value, cutoffs[nr.nerve], item.compare)
    return ok, (f"distal CMAP duration {value:.2f} ms {'' if ok else 'not '}{_op(item.compare)} "
                f"{cutoffs[nr.nerve]:g} ms{note}")


def _nerve_item(item: NerveItem, rs: RuleSet, nr: NerveResult) -> ItemResult:
    head = f"{rs.short_name} {item.item} ({item.label})"
    if (item.nerves or item.exclude_nerves) and not nr.known_nerve:
        return ItemResult(item.item, item.label, None, (f"{head}: nerve name {nr.nerve!r} not recognised",))
    if (item.nerves and nr.nerve not in item.nerves) or nr.nerve in item.exclude_nerves:
        return ItemResult(item.item, item.label, False, (f"{head}: not applicable to the {nr.nerve} nerve",))
    fn = {"f_wave_absent": _f_absent, "distal_cmap_duration": _duration_item}.get(item.measure, _limit_item)
    ok, text = fn(item, nr)
    status = {True: "", False: " not met", None: " not assessable"}[ok]
    text = f"{head}{status}: {text}"
    if ok and item.caveat and nr.nerve in item.caveat_nerves:
        text += f" (caveat: {item.caveat})"
    return ItemResult(item.item, item.label, ok, (text,))


def _merge(values: Iterable[bool | None]) -> bool | None:
    values = list(values)
    return True if True in values else None if (None in values or not values) else False


def evaluate_nerve(nerve_result: NerveResult, rule_set: str | RuleSet, **overrides: bool | None) -> NerveVerdict:
    """Every item of ``rule_set`` on one nerve: segment items and nerve-level items.

    Parameters
    ----------
    nerve_result : NerveResult
    rule_set : str or RuleSet
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` passed to :func:`evaluate`.

    Returns
    -------
    NerveVerdict
        Segment items are met when any segment meets them, not assessable (None) when no
        segment meets them and some segment not excluded by design could not be graded.
    """
    rs = get_rule_set(rule_set)
    segments = tuple(evaluate(nerve_result, rs, **overrides))
    items: dict[str, ItemResult] = {}
    for rule in rs.segment_rules:
        if rule.item in items:
            continue
        graded = [s for s in segments if s.excluded_by is None]
        met = _merge(s.item_results.get(rule.item, None if s.level == "not-assessable" else False)
                     for s in graded)
        where = [f"{s.segment} ({s.level})" for s in segments if rule.item in s.items]
        name = rule.item if rule.item == rule.label else f"{rule.item} ({rule.label})"
        text = (f"{rs.short_name} {name}: "
                + (f"met in {', '.join(where)}" if met else "not met in any segment" if met is False
                   else "not assessable" + ("" if graded else ": no segment that this rule set grades")))
        items[rule.item] = ItemResult(rule.item, rule.label, met, (text,))
    for item in rs.nerve_items:
        items[item.item] = _nerve_item(item, rs, nerve_result)
    level = max((s.level for s in segments), key=level_rank, default="not-assessable")
    key = (nerve_result.nerve, (nerve_result.side or "").lower())
    return NerveVerdict(rs.id, nerve_label(nerve_result), key, items, segments, level)


def _combine(verdicts: list[NerveVerdict]) -> dict[tuple[str, str], tuple[str, dict[str, bool | None]]]:
    out: dict[tuple[str, str], tuple[str, dict[str, bool | None]]] = {}
    for v in verdicts:
        label, items = out.get(v.key, (v.nerve, {}))
        for k, r in v.items.items():
            items[k] = _merge([items[k], r.met]) if k in items else r.met
        out[v.key] = (label, items)
    return out


def _satisfied(combo, nerves, assume_unknown: bool = False) -> tuple[bool, list[tuple[str, str]]]:
    def has(items, names):
        return any(items.get(n) or (assume_unknown and items.get(n) is None) for n in names)

    carrying = [k for k, (_, items) in nerves.items() if has(items, combo.items)]
    if not combo.other_items:
        return len(carrying) >= combo.min_nerves, carrying
    for other in (k for k, (_, items) in nerves.items() if has(items, combo.other_items)):
        rest = [k for k in carrying if k != other]
        if len(rest) >= combo.min_nerves:
            return True, rest + [other]
    return False, carrying


def evaluate_patient(nerve_results: Iterable[NerveResult], rule_set: str | RuleSet,
                     **overrides: bool | None) -> PatientVerdict:
    """The patient-level result of a rule set over all the nerves studied.

    Parameters
    ----------
    nerve_results : iterable of NerveResult
        Every motor nerve studied (both sides count as different nerves).
    rule_set : str or RuleSet
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` passed to :func:`evaluate`.

    Returns
    -------
    PatientVerdict
        ``level`` is the strongest level among the table's combination rules met; "none" when
        none is met but something could be assessed; "not-assessable" when nothing could.

    Raises
    ------
    TypeError
        An element is not a NerveResult.
    """
    rs = get_rule_set(rule_set)
    results = list(nerve_results)
    for i, nr in enumerate(results):
        if not isinstance(nr, NerveResult):
            raise TypeError(f"nerve_results[{i}] must be a NerveResult, got {type(nr).__name__}")
    verdicts = [evaluate_nerve(nr, rs, **overrides) for nr in results]
    nerves = _combine(verdicts)
    met = []
    for combo in rs.combinations:
        ok, carrying = _satisfied(combo, nerves)
        if ok:
            met.append((combo, [nerves[k][0] for k in carrying]))
    reasons = [f"{rs.short_name}: {c.label}: met in {', '.join(n)}" for c, n in met]
    if met:
        best = max(met, key=lambda cn: level_rank(cn[0].level))
        level, carrying = best[0].level, tuple(best[1])
    else:
        anything = any(v is not None for _, items in nerves.values() for v in items.values())
        level, carrying = ("none" if anything else "not-assessable"), ()
        reasons.append(f"{rs.short_name}: no combination rule met" if anything else
                       f"{rs.short_name}: nothing could be assessed" + ("" if results else " (no nerves given)"))
        could = [c.label for c in rs.combinations if _satisfied(c, nerves, assume_unknown=True)[0]]
        if anything and could:
            reasons.append(f"{rs.short_name}: could still be met if the items not assessable were: "
                           + "; ".join(could))
    for v in verdicts:
        reasons.extend(r for item in v.items.values() if item.met for r in item.reasons)
    reasons.extend(f"{rs.short_name}: not evaluated here: {text}" for text in rs.not_evaluated)
    return PatientVerdict(rs.id, level, rs.label_for(level), reasons, carrying,
                          tuple(c.label for c, _ in met), tuple(verdicts))
