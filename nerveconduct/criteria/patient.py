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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..analysis import NerveResult
from ._columns_frames import nerve_frame
from ..flags import SUBMAXIMAL_TEXT
from ._reasons import MET, nerve_item_result, verdict_warning
from ._reasons_columns import nerve_item_texts
from .columns import nerve_decisions
from .engine import checked_nerve_results, decide_many, nerve_label
from .registry import get_rule_set
from .tables import RuleSet
from ._diagnosis_eval import decide_diagnosis
from .verdicts import DiagnosisVerdict, ItemResult, NerveVerdict, PatientVerdict, level_rank

__all__ = ["evaluate_nerve", "evaluate_nerves", "evaluate_patient", "evaluate_diagnosis"]


def _merge(values: Iterable[bool | None]) -> bool | None:
    values = list(values)
    return True if True in values else None if (None in values or not values) else False


def evaluate_nerves(nerve_results: Sequence[NerveResult], rule_set: str | RuleSet,
                    **overrides: bool | str | None) -> list[NerveVerdict]:
    """:func:`evaluate_nerve` of many nerves at once, deciding the rule set once for all of them.

    One segment frame and one nerve frame are built for all the nerves and the column
    evaluator decides every segment and nerve item in one pass; each nerve's verdict is then
    worded from its share of the decisions. The result equals
    ``[evaluate_nerve(nr, rule_set, **overrides) for nr in nerve_results]`` (segments,
    levels, items and reasons) but saves numpy's fixed cost per operation on every nerve:
    use it for more than a few nerves.

    Parameters
    ----------
    nerve_results : sequence of NerveResult
        Any nerves (sides, patients and known or unknown nerve names may be mixed).
    rule_set : str or RuleSet
        A rule-set id or a loaded table.
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` / ``comparison``, as for
        :func:`~nerveconduct.criteria.engine.evaluate`.

    Returns
    -------
    list of NerveVerdict
        One per nerve, in the order given.

    Raises
    ------
    TypeError
        An element is not a NerveResult (its position named), or an unknown override.
    KeyError
        Unknown rule-set id.
    ValueError
        Unknown ``comparison``.

    Examples
    --------
    >>> from nerveconduct.model import Site
    >>> from nerveconduct.analysis import analyze_values
    >>> a = analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], [6.1, 2.9],
    ...                    negative_peak_area_mv_ms=[20.0, 7.6], negative_peak_duration_ms=[5.0, 5.4])
    >>> b = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200)], [3.0, 7.0], [8.0, 7.5],
    ...                    negative_peak_area_mv_ms=[24.0, 23.0], negative_peak_duration_ms=[5.0, 5.1])
    >>> [(v.nerve, v.level) for v in evaluate_nerves([a, b], "efns-pns-2010-mmn")]
    [('median', 'definite'), ('ulnar', 'none')]
    """
    rs = get_rule_set(rule_set)
    results = checked_nerve_results(nerve_results, "nerve_results")
    seg_verdicts, d, frame = decide_many(results, rs, **overrides)
    nf = nerve_frame(results)
    _, states, branches = nerve_decisions(rs, nf, frame["nerve_id"], d.rank,
                                          d.excluded == 0, d.item_states, d.carry_states)
    states = {k: v.tolist() for k, v in states.items()}
    branches = {k: v.tolist() for k, v in branches.items()}
    item_texts = {item.item: nerve_item_texts(item, rs, nf, states[item.item], branches[item.item])
                  for item in rs.nerve_items}
    seg_items = []  # (item, label, "<short> <name>: ") of the first rule of each segment item
    for rule in rs.segment_rules:
        if rule.item not in (it for it, _, _ in seg_items):
            name = rule.item if rule.item == rule.label else f"{rule.item} ({rule.label})"
            seg_items.append((rule.item, rule.label, f"{rs.short_name} {name}: "))
    by_level = rs.level_scope == "segment"  # a segment's level words name it only there
    out = []
    for i, nr in enumerate(results):
        segments = tuple(seg_verdicts[i])
        items: dict[str, ItemResult] = {}
        graded = any(s.excluded_by is None for s in segments)
        for it, label, head in seg_items:
            met = MET[states[it][i]]
            if met:
                where = ", ".join((f"{s.segment} ({s.level})" if by_level else s.segment)
                                  + ("" if w is None else f" [{w}]")
                                  for s in segments if it in s.items for w in (verdict_warning(s),))
                text = f"{head}met in {where}"
            elif met is False:
                text = f"{head}not met in any segment"
            elif not graded:
                text = f"{head}not assessable: no segment that this rule set grades"
            elif all(s.item_results.get(it) is False for s in segments if s.excluded_by is None):
                across = ", ".join(s.segment for s in segments if s.excluded_by == "entrapment")
                text = (f"{head}not assessable: not met in any graded segment, but a comparison across a "
                        f"compression site ({across}), which this rule set does not grade, could carry it")
            else:
                text = f"{head}not assessable"
            items[it] = ItemResult(it, label, met, (text,))
        for item in rs.nerve_items:
            text = item_texts[item.item][i]
            items[item.item] = (nerve_item_result(item, rs, nr, states[item.item][i], branches[item.item][i])
                                if text is None else
                                ItemResult(item.item, item.label, MET[states[item.item][i]], (text,)))
        key = (nr.nerve, (nr.side or "").lower())
        if by_level:
            level, label = max((s.level for s in segments), key=level_rank, default="not-assessable"), ""
        else:  # an item level, worded as the label: met if any item (segment or nerve item) is met
            met_items = [k for k, v in items.items() if v.met]
            graded_level = "none" if any(level_rank(s.level) >= 0 for s in segments) else "not-assessable"
            level, label = rs.level_code(graded_level, met_items), rs.items_text(graded_level, met_items)
        out.append(NerveVerdict(rs.id, nerve_label(nr), key, items, segments, level, label))
    return out


def evaluate_nerve(nerve_result: NerveResult, rule_set: str | RuleSet, **overrides: bool | str | None) -> NerveVerdict:
    """Every item of ``rule_set`` on one nerve: segment items and nerve-level items.

    Parameters
    ----------
    nerve_result : NerveResult
    rule_set : str or RuleSet
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` / ``comparison`` passed to :func:`evaluate`.

    Returns
    -------
    NerveVerdict
        Segment items are met when any segment meets them, not assessable (None) when no
        segment meets them and some segment not excluded by design could not be graded.

    Notes
    -----
    For many nerves, :func:`evaluate_nerves` gives the same verdicts several times faster.
    """
    if not isinstance(nerve_result, NerveResult):
        raise TypeError(f"nerve_result must be a NerveResult, got {type(nerve_result).__name__}")
    return evaluate_nerves([nerve_result], rule_set, **overrides)[0]


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

    if combo.criteria:  # "at least min_criteria of these criteria", each in its own number of nerves
        met, carrying = 0, []
        for crit in combo.criteria:
            keys = [k for k, (_, items) in nerves.items() if has(items, crit.items)]
            if len(keys) >= crit.min_nerves:
                met += 1
                carrying.extend(k for k in keys if k not in carrying)
        return met >= combo.min_criteria, carrying
    carrying = [k for k, (_, items) in nerves.items() if has(items, combo.items)]
    if not combo.other_items:
        return len(carrying) >= combo.min_nerves, carrying
    for other in (k for k, (_, items) in nerves.items() if has(items, combo.other_items)):
        rest = [k for k in carrying if k != other]
        if len(rest) >= combo.min_nerves:
            return True, rest + [other]
    return False, carrying


def _criteria_reasons(rs: RuleSet, nerves) -> list[str]:
    """One sentence per counted combination: each criterion with the nerves meeting it."""
    out = []
    for combo in rs.combinations:
        if not combo.criteria:
            continue
        parts, met = [], 0
        for crit in combo.criteria:
            keys = [k for k, (_, items) in nerves.items() if any(items.get(n) for n in crit.items)]
            unknown = [k for k, (_, items) in nerves.items() if k not in keys
                       and any(items.get(n) is None for n in crit.items)]
            ok = len(keys) >= crit.min_nerves
            met += ok
            name = crit.label or "/".join(crit.items)
            parts.append(f"{name}: {'met' if ok else 'not met'} ({len(keys)} of {crit.min_nerves} nerve(s) needed"
                         + (f": {', '.join(nerves[k][0] for k in keys)}" if keys else "")
                         + (f"; not assessable in {len(unknown)}" if unknown else "") + ")")
        out.append(f"{rs.short_name}: {met} of {len(combo.criteria)} criteria met, {combo.min_criteria} needed "
                   f"({combo.label}): " + "; ".join(parts))
    return out


def _titles(rs: RuleSet, combo) -> str:
    """The items a combination counts, by their meaning (rule sets whose items are named by a
    letter, ``item_titles``; at most two items: a longer list is the table's label itself)."""
    if not rs.item_titles or not combo.items or len(combo.items) > 2:
        return ""
    return " [" + "; ".join(f"{it}: {rs.item_title(it)}" for it in combo.items) + "]"


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
    results = checked_nerve_results(nerve_results, "nerve_results")
    verdicts = evaluate_nerves(results, rs, **overrides)
    nerves = _combine(verdicts)
    met = []
    for combo in rs.combinations:
        ok, carrying = _satisfied(combo, nerves)
        if ok:
            met.append((combo, [nerves[k][0] for k in carrying]))
    # a nerve whose segment items are all met in segments warned of submaximal stimulation:
    # the patient-level line says so too (it is what a clinician reads)
    warned = {nerves[v.key][0] for v in verdicts
              if (met_segments := [s for s in v.segments if s.items])
              and all(verdict_warning(s) is not None for s in met_segments)}
    reasons = [f"{rs.short_name}: {c.label}{_titles(rs, c)}: met in "
               + ", ".join(f"{x} [{SUBMAXIMAL_TEXT}]" if x in warned else x for x in n) for c, n in met]
    reasons.extend(_criteria_reasons(rs, nerves))
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


def evaluate_diagnosis(nerve_results: Iterable[NerveResult], rule_set: str | RuleSet, *,
                       sensory: Iterable[Any] = (), inputs: Mapping[str, Any] | None = None,
                       **overrides: bool | None) -> DiagnosisVerdict:
    """A rule set's diagnosis: its ``[diagnosis]`` table over the motor verdict, sensory and inputs.

    Parameters
    ----------
    nerve_results : iterable of NerveResult
        Every motor nerve studied; graded by the rule set's motor criteria
        (:func:`evaluate_patient`).
    rule_set : str or RuleSet
        A rule set with a ``[diagnosis]`` table (``ean-pns-2021-cidp``, ``efns-pns-2010-cidp``).
    sensory : iterable of sensory results, optional
        From :func:`nerveconduct.analysis.sensory.analyze_sensory` (the traces); a nerve given
        here and in ``inputs["sensory"]`` is judged by the traces (a reason says where they
        disagree).
    inputs : mapping, optional
        ``Case.cidp``: ``variant`` (one of the table's variants), ``clinical_criteria``
        (True / False / None), ``supportive`` (criterion -> True / False / None) and
        ``sensory`` (nerve label -> True / False / None = sensory conduction abnormal, or ->
        {sensory item -> True / False / None}). A missing input is unknown.
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` for the motor segments.

    Returns
    -------
    DiagnosisVerdict
        ``category`` with unknowns unmet, ``max_category`` with unknowns met, and the reasons.

    Raises
    ------
    ValueError
        The rule set has no ``[diagnosis]`` table; an unknown input, variant, supportive
        criterion or sensory item (the message lists what is allowed).
    TypeError
        An input flag is not True / False / None; a sensory element is not a sensory result.
    """
    rs = get_rule_set(rule_set)
    if rs.diagnosis is None:
        raise ValueError(f"rule set {rs.id!r} has no [diagnosis] table (clinical, electrodiagnostic and "
                         "supportive criteria combined); ean-pns-2021-cidp and efns-pns-2010-cidp have one")
    results = checked_nerve_results(nerve_results, "nerve_results")
    verdict = evaluate_patient(results, rs, **overrides)
    nerves = _combine(verdict.nerve_verdicts)
    could = [c.level for c in rs.combinations if _satisfied(c, nerves, assume_unknown=True)[0]]
    high = max([*could, verdict.level], key=level_rank)
    return decide_diagnosis(rs, verdict, high, results, list(sensory), dict(inputs or {}))
