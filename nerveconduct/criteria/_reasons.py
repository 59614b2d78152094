"""The reasons of the object path: sentences worded from the column evaluator's decisions.

Private. Nothing here decides a criterion: every state (met / not met / not assessable),
every applicability, exclusion, band, cut-off and branch comes from
:func:`._columns_rules.segment_decisions` and :func:`._columns_items.nerve_item_detail`;
these functions put the values compared and those decisions into the sentences of
:func:`nerveconduct.criteria.engine.evaluate` and
:func:`nerveconduct.criteria.patient.evaluate_nerve`.
"""

from __future__ import annotations

import math

from ..analysis import NerveResult
from ..flags import SUBMAXIMAL_TEXT
from . import _columns_items as ci
from ._columns_rules import EXCLUDED, RuleChecks, SegmentDecisions, measure_parts
from .tables import NerveItem, RuleSet, SegmentRule
from .verdicts import LEVELS, ItemResult, SegmentVerdict, level_rank

__all__ = ["segment_verdicts", "decisions_as_lists", "nerve_item_result", "MET", "verdict_warning"]

_F, _N, _T = int(ci.F), int(ci.N), int(ci.T)
#: State code -> the ``True`` / ``None`` / ``False`` of the verdicts.
MET = {_T: True, _N: None, _F: False}
_STATUS = {True: "", False: " not met", None: " not assessable"}
_LEVELS_BY_RANK = tuple(sorted(LEVELS, key=level_rank))
_SKIP_NOTES = ("absent proximal response", "absent distal response")
_PART_NAMES = {"amplitude": "amplitude drop", "area": "area drop", "peak_to_peak": "peak-to-peak amplitude drop"}


def _cond(name: str, value: float, threshold: float, inclusive: bool, minimum: bool, st: int) -> str:
    """One threshold clause: "area drop 62.0% ≥ 50%" (``st``: the check's state code)."""
    if st == _N:
        return f"{name} not available"
    op = (">" if not inclusive else "\u2265") if minimum else ("<" if not inclusive else "\u2264")
    return f"{name} {value:.1f}% {'' if st == _T else 'not '}{op} {threshold:g}%"


def _drop(rule: SegmentRule, rc: RuleChecks, c, k: int) -> str:
    if rule.ratio_bands:
        band, amp = rc.band[k], c["distal_amplitude_mv"][k]
        if band == -2:
            return "amplitude ratio not available"
        if band == -1:
            return f"no ratio band covers a distal amplitude of {amp:.2f} mV"
        b = rule.ratio_bands[band]
        ratio = 1.0 - c["amplitude"][k] / 100.0
        return (f"proximal/distal amplitude ratio {ratio:.2f} {'' if rc.drop[k] == _T else 'not '}< "
                f"{b.min_ratio:g} (minimum normal for a distal amplitude of {amp:.2f} mV)")
    texts = [_cond(_PART_NAMES[key], c[key][k], rule.drop_min_pct, rule.drop_min_pct_inclusive, True,
                   part[k]) for key, part in zip(measure_parts(rule.measure), rc.drop_parts)]
    return (" and " if rule.measure.endswith("_and_area") else " or ").join(texts)


def _distal(rule: SegmentRule, rc: RuleChecks, amp: float, lln: float, lln_reason: str, k: int) -> str:
    """Distal-amplitude minimums, as one clause: "distal amplitude 6.10 mV > 1 mV and > 20% of LLN 4 mV"."""
    if not rc.distal_known[k]:
        return "distal amplitude not available"
    parts = []
    if rc.distal_mv is not None:
        op = "\u2265" if rule.distal_amplitude_min_mv_inclusive else ">"
        parts.append(f"{'' if rc.distal_mv[k] == _T else 'not '}{op} {rule.distal_amplitude_min_mv:g} mV")
    if rc.distal_lln is not None:
        op = "\u2265" if rule.distal_amplitude_min_pct_lln_inclusive else ">"
        if math.isnan(lln):
            parts.append(f"% of LLN unknown ({lln_reason})")
        else:
            parts.append(f"{'' if rc.distal_lln[k] == _T else 'not '}{op} {rule.distal_amplitude_min_pct_lln:g}% "
                         f"of LLN {lln:g} mV ({100.0 * amp / lln:.1f}%)")
    return f"distal amplitude {amp:.2f} mV " + " and ".join(parts)


def _why_not(rule: SegmentRule, code: int, nerve: str) -> str:
    if code == 1:
        return f"nerve name {nerve!r} not recognised"
    if code == 2:
        return f"applies to the {', '.join(rule.nerves)} nerve(s) only"
    if code == 3:
        return f"not applied to the {nerve} nerve"
    allowed = sorted({f"{p.distal}\u2013{p.proximal}" for p in rule.segments if p.nerve in (None, nerve)})
    return f"applies to segments {', '.join(allowed) or '(none for this nerve)'} only"


def _rule(rule: SegmentRule, rs: RuleSet, nerve: str, rc: RuleChecks, d: SegmentDecisions, k: int,
          lln_reason: str) -> str:
    head = f"{rs.short_name} {rule.label}"
    if rc.why_not[k]:
        return f"{head}: not applicable ({_why_not(rule, rc.why_not[k], nerve)})"
    c = d.compared
    checks = [_drop(rule, rc, c, k)] if rc.drop is not None else []
    dur_name, dur = (("CMAP duration increase", c["cmap_duration"][k]) if rule.duration == "cmap"
                     else ("duration increase", c["duration"][k]))
    if rc.duration_max is not None:
        checks.append(_cond(dur_name, dur, rule.duration_increase_max_pct,
                            rule.duration_increase_max_pct_inclusive, False, rc.duration_max[k]))
    if rc.duration_min is not None:
        checks.append(_cond(dur_name, dur, rule.duration_increase_min_pct,
                            rule.duration_increase_min_pct_inclusive, True, rc.duration_min[k]))
    if rc.distal is not None:
        checks.append(_distal(rule, rc, c["distal_amplitude_mv"][k], d.lln[k], lln_reason, k))
    return f"{head}{_STATUS[MET[rc.state[k]]]}: " + "; ".join(checks)


def _shown(nr: NerveResult, k: int, mode: str,
           beyond: str = "nearest-site") -> tuple[str, str | None, tuple[str, ...], str | None]:
    """Segment name, compression site crossed, measurement notes of the comparison made, and
    the compression site a re-referenced comparison starts beyond (else None)."""
    seg = nr.segments[k]
    after = None
    if mode == "adjacent":
        segs, name, ent = [seg], seg.name, seg.entrapment_site
    elif beyond == "nearest-site":
        start = max((j + 1 for j in range(k) if nr.segments[j].across_entrapment_site), default=0)
        segs = nr.segments[start: k + 1]
        if start:
            after = nr.segments[start - 1].entrapment_site
        name, ent = f"{segs[0].distal_site}\u2013{seg.proximal_site}", seg.entrapment_site
    else:
        segs = nr.segments[: k + 1]
        crossed = [s.entrapment_site for s in segs if s.across_entrapment_site]
        name, ent = f"{nr.segments[0].distal_site}\u2013{seg.proximal_site}", crossed[0] if crossed else None
    notes = (f for s in segs for f in s.flags if f not in _SKIP_NOTES and not f.startswith(SUBMAXIMAL_TEXT))
    return name, ent, tuple(dict.fromkeys(notes)), after


def _submaximal(seg) -> str | None:
    """The segment's warning when its proximal site shows no evidence of supramaximal
    stimulation (``SegmentFlag.PROXIMAL_SUBMAXIMAL``: the sentence with the site's note), else None."""
    return next((f for f in seg.flags if f.startswith(SUBMAXIMAL_TEXT)), None)


def verdict_warning(verdict) -> str | None:
    """The submaximal-stimulation warning a segment verdict carries (from
    ``SUBMAXIMAL_TEXT`` on, with the site's note), else None: the nerve and patient verdicts
    that count this segment repeat it, since those are what a clinician reads."""
    return next((r[r.index(SUBMAXIMAL_TEXT):] for r in verdict.reasons if SUBMAXIMAL_TEXT in r), None)


def _segment(rs: RuleSet, nr: NerveResult, label: str, d: SegmentDecisions, at: int, k: int, mode: str,
             lln_reason: str, beyond: str = "nearest-site", texts: list | None = None) -> SegmentVerdict:
    """Segment ``at`` of ``nr`` (position ``k`` in the decisions ``d``)."""
    short, reasons = rs.short_name, []
    name, entrapment, notes, after = _shown(nr, at, mode, beyond)
    outcome, level = d.outcome[k], _LEVELS_BY_RANK[d.rank[k] + 1]  # the graded level (rank)
    excluded = EXCLUDED[d.excluded[k]]
    items: tuple[str, ...] = ()
    results: dict[str, bool | None] = {}
    if outcome == 0:
        reasons.append(f"{short}: the {nr.nerve} nerve is excluded by this rule set")
    elif d.entrapment[k] and outcome == 1:
        reasons.append(f"{short}: not assessed: across a compression site: {entrapment} (a drop there does "
                       "not count for this rule set unless compression sites are graded on request)")
    else:
        if d.entrapment[k]:
            reasons.append(f"across a compression site: {entrapment} (graded on request)")
        if outcome == 2:  # this verdict words its exclusion only
            reasons = [(f"{short}: not assessed: from Erb's point: submaximal stimulation likely; excluded by "
                        "default (included on request)")]
        elif d.erbs[k]:
            reasons.append("from Erb's point: submaximal stimulation likely (included on request)")
        if outcome == 3:
            reasons.append(f"{short}: not assessable: distal response absent, nothing to compare the proximal "
                           "response with")
        elif outcome == 4:
            text = (f"{short}: proximal response absent with the distal present: conduction block cannot be "
                    "quantified beyond 'absent' (complete block, axon loss or submaximal stimulation)")
            if level == "possible":
                items = ("absent proximal response",)
                reasons.append(text + "; graded possible by this rule set")
            else:
                reasons.append(text + "; no level is graded for it")
        elif outcome == 5:
            if after is not None:
                reasons.append(f"compared with {name.split(chr(0x2013))[0]}, the nearest site proximal to the "
                               f"compression site ({after})")
            rules = rs.segment_rules
            for rule, rc, col in zip(rules, d.rules, texts or [None] * len(rules)):
                text = None if col is None else col[k]
                reasons.append(text if text is not None else _rule(rule, rs, nr.nerve, rc, d, k, lln_reason))
            if excluded == "not-applicable":
                reasons.append(f"{short}: no rule of this rule set applies to this segment")
            items = tuple(dict.fromkeys(r.item for r, rc in zip(rules, d.rules) if rc.state[k] == _T))
            results = {it: MET[st[k]] for it, st in d.item_states.items()}
        warning = _submaximal(nr.segments[at]) if outcome in (4, 5) else None
        if warning is not None:  # a drop to a site stimulated perhaps submaximally (docs/criteria.md)
            reasons.append(f"{short}: {warning}")
    if notes and excluded is None:
        reasons.append(f"measurement notes: {'; '.join(notes)}")
    return SegmentVerdict(rs.id, label, nr.segments[at].index, name, rs.level_code(level, items),
                          rs.segment_label(level, items), items,
                          reasons, excluded, results)


def _rule_lists(rc: RuleChecks) -> RuleChecks:
    def lst(a):
        return None if a is None else a.tolist()

    return RuleChecks(rc.why_not.tolist(), rc.state.tolist(), lst(rc.drop), tuple(a.tolist() for a in rc.drop_parts),
                      lst(rc.band), lst(rc.duration_max), lst(rc.duration_min), lst(rc.distal), lst(rc.distal_mv),
                      lst(rc.distal_lln), rc.distal_known.tolist())


def decisions_as_lists(d: SegmentDecisions) -> SegmentDecisions:
    """``d`` with Python lists for arrays (indexing and comparing them is much cheaper)."""
    c = d.compared
    c = {k: c[k].tolist() for k in ("amplitude", "area", "peak_to_peak", "duration", "cmap_duration",
                                    "distal_amplitude_mv")}
    return SegmentDecisions(c, d.lln.tolist(), d.entrapment.tolist(), d.erbs.tolist(), d.outcome.tolist(),
                            d.excluded.tolist(), d.rank.tolist(), tuple(_rule_lists(rc) for rc in d.rules), None,
                            {k: v.tolist() for k, v in d.item_states.items()},
                            {k: v.tolist() for k, v in d.carry_states.items()})


def segment_verdicts(rs: RuleSet, nr: NerveResult, label: str, d: SegmentDecisions, mode: str,
                     offset: int = 0, beyond: str = "nearest-site",
                     texts: list | None = None) -> list[SegmentVerdict]:
    """The verdict of every segment of ``nr``, with reasons.

    ``d`` holds the decisions of a segment frame (:func:`decisions_as_lists` form) in which the
    segments of ``nr`` are at positions ``offset``, ``offset + 1``, ... in segment order;
    ``texts``, the rule sentences :func:`rule_texts` worded for that frame (else worded here).
    """
    comp = nr.limits.get("distal_amplitude")
    lln_reason = (comp.reason if comp is not None and comp.reason else f"no amplitude LLN for {nr.nerve}")
    return [_segment(rs, nr, label, d, at, offset + at, mode, lln_reason, beyond, texts)
            for at in range(len(nr.segments))]


# --- nerve items ----------------------------------------------------------------------------
_NAMES = {"distal_motor_latency": ("DML", "ms"), "conduction_velocity": ("CV", "m/s"),
          "f_wave_latency": ("F-wave latency", "ms")}


def _op(op: str) -> str:
    return {">=": "\u2265", "<=": "\u2264"}.get(op, op)


def _amplitude_text(nr: NerveResult) -> str:
    """The distal amplitude as % of its LLN, or why that is unknown."""
    comp = nr.limits.get("distal_amplitude")
    if comp is None or comp.limit is None:
        return comp.reason if comp is not None and comp.reason else "no amplitude LLN"
    if comp.value is None or not math.isfinite(comp.value):
        return "distal amplitude not available"
    return f"distal amplitude {comp.value:.2f} mV = {100.0 * comp.value / comp.limit:.1f}% of LLN {comp.limit:g} mV"


def _limit_text(item: NerveItem, nr: NerveResult, ok: bool | None, branch: int) -> str:
    comp = nr.limits.get(item.measure)
    if branch == ci.F_NOT_STUDIED:
        return "F-waves not studied"
    if branch == ci.F_ABSENT:
        return "F-waves absent (a separate item)"
    if branch == ci.MISSING:
        return comp.reason if comp is not None and comp.reason else f"{item.measure} not available"
    name, unit = _NAMES[item.measure]
    thresholds, note = [item.pct_of_limit], ""
    if branch == ci.BOTH_CUTOFFS:
        thresholds = [item.pct_of_limit, item.low_amplitude_pct_of_limit]
        note = f"; {_amplitude_text(nr)}: both cut-offs tried"
    elif branch == ci.LOW_CUTOFF:
        thresholds = [item.low_amplitude_pct_of_limit]
        note = f" ({_amplitude_text(nr)} < {item.low_amplitude_below_pct_lln:g}%)"
    shown = " or ".join(f"{t:g}%" for t in thresholds)
    return (f"{name} {comp.value:.2f} {unit} = {100.0 * comp.value / comp.limit:.1f}% of {comp.limit_kind} "
            f"{comp.limit:g} {unit} {'' if ok else 'not '}{_op(item.compare)} {shown}{note}")


def _f_absent_text(item: NerveItem, nr: NerveResult, ok: bool | None, branch: int) -> str:
    if branch == ci.F_NOT_STUDIED:
        return "F-waves not studied"
    if branch == ci.F_PRESENT:
        return f"F-waves present (latency {nr.f_wave_latency_ms:.1f} ms)"
    if item.distal_amplitude_min_pct_lln is None:
        return "F-waves sought and absent"
    if branch == ci.F_ABSENT_AMP_UNKNOWN:
        return f"F-waves absent; {_amplitude_text(nr)}"
    op = "\u2265" if item.distal_amplitude_min_pct_lln_inclusive else ">"
    return f"F-waves absent; {_amplitude_text(nr)} {'' if ok else 'not '}{op} {item.distal_amplitude_min_pct_lln:g}%"


def _row_text(item: NerveItem, nerve: str) -> str:
    return ", ".join(f"{hz:g} Hz {_op(item.compare)} {dict(row)[nerve]:g} ms"
                     for hz, row in item.thresholds_ms_by_filter if nerve in dict(row))


def _duration_by_filter_text(item: NerveItem, nr: NerveResult, ok: bool | None, branch: int) -> str:
    nerve, lff, value = nr.nerve, nr.low_frequency_filter_hz, nr.distal_cmap_duration_ms
    if branch == ci.NO_CUTOFF:
        return f"not applicable (cut-offs for {', '.join(item.cutoff_nerves())} only)"
    if branch == ci.WRONG_FILTER:
        return (f"the guideline gives no cut-off for a {lff:g} Hz low-frequency filter (it gives "
                f"{_row_text(item, nerve)})")
    if branch == ci.MISSING:
        return "distal CMAP duration not available"
    if branch == ci.GRADED:
        cutoff = next(dict(row)[nerve] for hz, row in item.thresholds_ms_by_filter
                      if nerve in dict(row) and math.isclose(hz, lff, rel_tol=1e-9))
        return (f"distal CMAP duration {value:.2f} ms {'' if ok else 'not '}{_op(item.compare)} {cutoff:g} ms "
                f"(cut-off for the recorded {lff:g} Hz low-frequency filter)")
    if branch == ci.FILTER_ALL_ROWS:
        return (f"distal CMAP duration {value:.2f} ms; low-frequency filter not recorded: "
                f"{'met' if ok else 'not met'} with the cut-off of every filter the guideline gives "
                f"({_row_text(item, nerve)})")
    return (f"distal CMAP duration {value:.2f} ms; low-frequency filter not recorded and the verdict depends "
            f"on it ({_row_text(item, nerve)})")


def _duration_text(item: NerveItem, nr: NerveResult, ok: bool | None, branch: int) -> str:
    if item.thresholds_ms_by_filter:
        return _duration_by_filter_text(item, nr, ok, branch)
    cutoffs = dict(item.thresholds_ms)
    if branch == ci.NO_CUTOFF:
        return f"not applicable (cut-offs for {', '.join(cutoffs)} only)"
    if branch == ci.WRONG_FILTER:
        return (f"cut-offs hold for a {item.filter_hz:g} Hz low-frequency filter; this nerve was "
                f"recorded at {nr.low_frequency_filter_hz:g} Hz")
    if branch == ci.MISSING:
        return "distal CMAP duration not available"
    note = (f" (low-frequency filter not recorded: cut-off assumes {item.filter_hz:g} Hz)"
            if branch == ci.FILTER_NOT_RECORDED else "")
    return (f"distal CMAP duration {nr.distal_cmap_duration_ms:.2f} ms {'' if ok else 'not '}{_op(item.compare)} "
            f"{cutoffs[nr.nerve]:g} ms{note}")


def nerve_item_result(item: NerveItem, rs: RuleSet, nr: NerveResult, state: int, branch: int) -> ItemResult:
    """One nerve item on ``nr``, worded from its state and branch codes (``nerve_item_detail``)."""
    head = f"{rs.short_name} {item.item} ({item.label})"
    ok = MET[int(state)]
    if branch == ci.UNKNOWN_NERVE:
        return ItemResult(item.item, item.label, ok, (f"{head}: nerve name {nr.nerve!r} not recognised",))
    if branch == ci.OTHER_NERVE:
        return ItemResult(item.item, item.label, ok, (f"{head}: not applicable to the {nr.nerve} nerve",))
    fn = {"f_wave_absent": _f_absent_text, "distal_cmap_duration": _duration_text}.get(item.measure, _limit_text)
    text = f"{head}{_STATUS[ok]}: {fn(item, nr, ok, int(branch))}"
    if ok and item.caveat and nr.nerve in item.caveat_nerves:
        text += f" (caveat: {item.caveat})"
    return ItemResult(item.item, item.label, ok, (text,))
