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

from collections.abc import Iterable

from ..model import NerveResult
from ._columns_frames import nerve_frame
from ._reasons import MET, nerve_item_result
from .columns import nerve_decisions
from .engine import decide, nerve_label
from .registry import get_rule_set
from .tables import RuleSet
from .verdicts import ItemResult, NerveVerdict, PatientVerdict, level_rank

__all__ = ["evaluate_nerve", "evaluate_patient"]


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
    verdicts, d, frame = decide(nerve_result, rs, **overrides)
    segments = tuple(verdicts)
    _, states, branches = nerve_decisions(rs, nerve_frame([nerve_result]), frame["nerve_id"], d.rank,
                                          d.excluded == 0, d.item_states)
    items: dict[str, ItemResult] = {}
    graded = any(s.excluded_by is None for s in segments)
    for rule in rs.segment_rules:
        if rule.item in items:
            continue
        met = MET[int(states[rule.item][0])]
        where = [f"{s.segment} ({s.level})" for s in segments if rule.item in s.items]
        name = rule.item if rule.item == rule.label else f"{rule.item} ({rule.label})"
        text = (f"{rs.short_name} {name}: "
                + (f"met in {', '.join(where)}" if met else "not met in any segment" if met is False
                   else "not assessable" + ("" if graded else ": no segment that this rule set grades")))
        items[rule.item] = ItemResult(rule.item, rule.label, met, (text,))
    for item in rs.nerve_items:
        items[item.item] = nerve_item_result(item, rs, nerve_result, states[item.item][0], branches[item.item][0])
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
