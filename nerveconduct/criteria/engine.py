"""The one evaluator: applies any rule-set table to the segments of a nerve.

For each segment (adjacent stimulation sites, or the proximal site against the most distal
one when the table says ``comparison = "from_distal"``) the engine

1. excludes what the table excludes by design — segments across a common compression site
   (``names.entrapment_site``), segments from Erb's point, excluded nerves — with the reason;
2. refuses to grade a segment whose distal response is absent, and a segment whose proximal
   response is absent while the distal one is present (the table's ``absent_proximal`` says
   whether that is "not-assessable" or a "possible" block: never a made-up percentage);
3. checks every segment rule (drop threshold on the table's measure, duration-increase limits,
   distal-amplitude minimums as % of LLN and in mV, nerve and segment conditions); a NaN
   measure makes the rule not assessable, with the reason;
4. grants the strongest level whose rule is met; "none" when every rule was assessable and
   none is met; "not-assessable" otherwise.

Thresholds are compared as the guideline words them (``*_inclusive`` keys: ≥ vs >); values
within 1e-9 (relative) of a threshold count as equal to it, so a drop computed as exactly
50% in decimal arithmetic is not lost to binary rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model import NerveResult
from .registry import get_rule_set
from .tables import RuleSet, SegmentRule
from .verdicts import SegmentVerdict, level_rank

__all__ = ["evaluate", "nerve_label", "meets_min", "meets_max", "at_least", "at_most",
           "resolve_options"]

_REL_TOL = 1e-9


def at_least(values, threshold: float, inclusive: bool):
    """``values ≥ threshold`` (inclusive) or ``values > threshold``, elementwise for arrays,
    with a 1e-9 relative tolerance (the one comparison of the scalar and column evaluators)."""
    tol = _REL_TOL * max(1.0, abs(threshold))
    return values >= threshold - tol if inclusive else values > threshold + tol


def at_most(values, threshold: float, inclusive: bool):
    """``values ≤ threshold`` (inclusive) or ``values < threshold``: see :func:`at_least`."""
    tol = _REL_TOL * max(1.0, abs(threshold))
    return values <= threshold + tol if inclusive else values < threshold - tol


def meets_min(value: float, threshold: float, inclusive: bool) -> bool:
    """``value ≥ threshold`` (inclusive) or ``value > threshold``, with a 1e-9 relative tolerance."""
    return bool(at_least(value, threshold, inclusive))


def meets_max(value: float, threshold: float, inclusive: bool) -> bool:
    """``value ≤ threshold`` (inclusive) or ``value < threshold``, with a 1e-9 relative tolerance."""
    return bool(at_most(value, threshold, inclusive))


def resolve_options(rs: RuleSet, exclude_entrapment: bool | None, include_erbs_point: bool | None,
                    comparison: str | None) -> tuple[str, bool, bool]:
    """The table's comparison mode, entrapment exclusion and Erb's point inclusion, overridden
    where an argument is given; ``ValueError`` for an unknown ``comparison``."""
    mode = rs.comparison if comparison is None else comparison
    if mode not in ("adjacent", "from_distal"):
        raise ValueError(f"comparison must be 'adjacent' or 'from_distal', got {comparison!r}")
    excl = rs.exclude_entrapment if exclude_entrapment is None else bool(exclude_entrapment)
    erbs = rs.include_erbs_point if include_erbs_point is None else bool(include_erbs_point)
    return mode, excl, erbs


def nerve_label(nr: NerveResult) -> str:
    """``"right median"``-style label of a nerve result (side omitted when unknown)."""
    return f"{nr.side} {nr.nerve}" if nr.side else nr.nerve


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _pp_drop(nr: NerveResult, distal: int, proximal: int) -> float:
    try:
        d = nr.sites[distal].peak_to_peak_amplitude_mv
        p = nr.sites[proximal].peak_to_peak_amplitude_mv
    except IndexError:
        return math.nan
    return 100.0 * (1.0 - p / d) if _finite(d) and _finite(p) and d > 0 else math.nan


@dataclass(frozen=True)
class _Compared:
    """The two responses a segment verdict compares, and what it needs to know about them."""

    index: int
    name: str
    distal: str | None
    proximal: str | None
    amplitude_drop: float
    area_drop: float
    pp_drop: float
    duration: float
    cmap_duration: float
    distal_amplitude_mv: float
    distal_absent: bool
    proximal_absent: bool
    entrapment: str | None
    erbs: bool
    notes: tuple[str, ...] = ()


_SKIP_NOTES = ("absent proximal response", "absent distal response")


def _notes(segments) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for s in segments for f in s.flags if f not in _SKIP_NOTES))


def _compared(nr: NerveResult, k: int, mode: str) -> _Compared:
    seg = nr.segments[k]
    if mode == "adjacent":
        return _Compared(seg.index, seg.name, seg.distal_canonical, seg.proximal_canonical,
                         seg.amplitude_drop_pct, seg.area_drop_pct, _pp_drop(nr, seg.index - 1, seg.index),
                         seg.duration_increase_pct, seg.cmap_duration_increase_pct,
                         seg.distal_amplitude_mv, seg.distal_absent, seg.proximal_absent,
                         seg.entrapment_site, seg.from_erbs_point, _notes([seg]))
    first = nr.segments[0]
    crossed = [s.entrapment_site for s in nr.segments[: k + 1] if s.across_entrapment_site]
    return _Compared(seg.index, f"{first.distal_site}\u2013{seg.proximal_site}", first.distal_canonical,
                     seg.proximal_canonical, seg.amplitude_drop_from_distal_pct,
                     seg.area_drop_from_distal_pct, _pp_drop(nr, 0, seg.index),
                     seg.duration_increase_from_distal_pct, seg.cmap_duration_increase_from_distal_pct,
                     first.distal_amplitude_mv, first.distal_absent, seg.proximal_absent,
                     crossed[0] if crossed else None, any(s.from_erbs_point for s in nr.segments[: k + 1]),
                     _notes(nr.segments[: k + 1]))


def _pct(x: float) -> str:
    return f"{x:.1f}%"


def _cond(name: str, value: float, threshold: float, inclusive: bool, minimum: bool,
          unit: str = "%") -> tuple[bool | None, str]:
    op = (">" if not inclusive else "\u2265") if minimum else ("<" if not inclusive else "\u2264")
    if not _finite(value):
        return None, f"{name} not available"
    ok = (meets_min if minimum else meets_max)(value, threshold, inclusive)
    shown = f"{value:.1f}%" if unit == "%" else f"{value:.2f} {unit}"
    return ok, f"{name} {shown} {'' if ok else 'not '}{op} {threshold:g}{unit if unit == '%' else ' ' + unit}"


def _drop(rule: SegmentRule, c: _Compared) -> tuple[bool | None, str]:
    if rule.ratio_bands:
        amp = c.distal_amplitude_mv
        if not _finite(amp) or not _finite(c.amplitude_drop):
            return None, "amplitude ratio not available"
        for band in rule.ratio_bands:
            lo_ok = meets_min(amp, band.distal_min_mv, band.distal_min_inclusive)
            hi_ok = meets_max(amp, band.distal_max_mv, band.distal_max_inclusive)
            if lo_ok and hi_ok:
                ratio = 1.0 - c.amplitude_drop / 100.0
                ok = meets_max(ratio, band.min_ratio, False)
                return ok, (f"proximal/distal amplitude ratio {ratio:.2f} {'' if ok else 'not '}< {band.min_ratio:g} "
                            f"(minimum normal for a distal amplitude of {amp:.2f} mV)")
        return None, f"no ratio band covers a distal amplitude of {amp:.2f} mV"
    parts = {"amplitude": [("amplitude drop", c.amplitude_drop)], "area": [("area drop", c.area_drop)],
             "peak_to_peak": [("peak-to-peak amplitude drop", c.pp_drop)]}
    names = {"amplitude_or_area": ("amplitude", "area"), "amplitude_and_area": ("amplitude", "area"),
             "peak_to_peak_or_area": ("peak_to_peak", "area")}.get(rule.measure, (rule.measure,))
    results = [_cond(n, v, rule.drop_min_pct, rule.drop_min_pct_inclusive, True)
               for key in names for n, v in parts[key]]
    oks = [ok for ok, _ in results]
    text = " and ".join(t for _, t in results) if rule.measure.endswith("_and_area") else \
        " or ".join(t for _, t in results)
    if len(results) == 1:
        return oks[0], text
    if rule.measure.endswith("_or_area"):
        return (True if True in oks else None if None in oks else False), text
    return (False if False in oks else None if None in oks else True), text


def _distal(rule: SegmentRule, c: _Compared, lln: float | None, lln_reason: str) -> list[tuple[bool | None, str]]:
    """Distal-amplitude minimums, as one clause: "distal amplitude 6.10 mV > 1 mV and > 20% of LLN 4 mV"."""
    amp, oks, parts = c.distal_amplitude_mv, [], []
    if rule.distal_amplitude_min_mv is None and rule.distal_amplitude_min_pct_lln is None:
        return []
    if not _finite(amp):
        return [(None, "distal amplitude not available")]
    if rule.distal_amplitude_min_mv is not None:
        inc = rule.distal_amplitude_min_mv_inclusive
        ok = meets_min(amp, rule.distal_amplitude_min_mv, inc)
        oks.append(ok)
        parts.append(f"{'' if ok else 'not '}{'≥' if inc else '>'} {rule.distal_amplitude_min_mv:g} mV")
    if rule.distal_amplitude_min_pct_lln is not None:
        inc = rule.distal_amplitude_min_pct_lln_inclusive
        if lln is None:
            oks.append(None)
            parts.append(f"% of LLN unknown ({lln_reason})")
        else:
            pct = 100.0 * amp / lln
            ok = meets_min(pct, rule.distal_amplitude_min_pct_lln, inc)
            oks.append(ok)
            parts.append(f"{'' if ok else 'not '}{'≥' if inc else '>'} {rule.distal_amplitude_min_pct_lln:g}% "
                         f"of LLN {lln:g} mV ({pct:.1f}%)")
    met = False if False in oks else None if None in oks else True
    return [(met, f"distal amplitude {amp:.2f} mV " + " and ".join(parts))]


def _applies(rule: SegmentRule, nerve: str, known: bool, c: _Compared) -> str | None:
    """None when the rule applies to this segment, else the reason it does not."""
    if (rule.nerves or rule.exclude_nerves) and not known:
        return f"nerve name {nerve!r} not recognised"
    if rule.nerves and nerve not in rule.nerves:
        return f"applies to the {', '.join(rule.nerves)} nerve(s) only"
    if nerve in rule.exclude_nerves:
        return f"not applied to the {nerve} nerve"
    if rule.segments:
        fits = [p for p in rule.segments if (p.nerve in (None, nerve)) and p.distal == c.distal
                and p.proximal == c.proximal]
        if not fits:
            allowed = sorted({f"{p.distal}\u2013{p.proximal}" for p in rule.segments if p.nerve in (None, nerve)})
            return f"applies to segments {', '.join(allowed) or '(none for this nerve)'} only"
    return None


def _rule(rule: SegmentRule, rs: RuleSet, nr: NerveResult, c: _Compared, lln: float | None,
          lln_reason: str) -> tuple[bool | None, str, bool]:
    """(met, reason, applicable): met is True / False / None (not assessable)."""
    head = f"{rs.short_name} {rule.label}"
    why_not = _applies(rule, nr.nerve, nr.known_nerve, c)
    if why_not:
        return False, f"{head}: not applicable ({why_not})", False
    checks = [_drop(rule, c)] if (rule.drop_min_pct is not None or rule.ratio_bands) else []
    dur_name, dur = (("CMAP duration increase", c.cmap_duration) if rule.duration == "cmap"
                     else ("duration increase", c.duration))
    if rule.duration_increase_max_pct is not None:
        checks.append(_cond(dur_name, dur, rule.duration_increase_max_pct,
                            rule.duration_increase_max_pct_inclusive, False))
    if rule.duration_increase_min_pct is not None:
        checks.append(_cond(dur_name, dur, rule.duration_increase_min_pct,
                            rule.duration_increase_min_pct_inclusive, True))
    checks.extend(_distal(rule, c, lln, lln_reason))
    oks = [ok for ok, _ in checks]
    met = False if False in oks else None if None in oks else True
    status = {True: "", False: " not met", None: " not assessable"}[met]
    return met, f"{head}{status}: " + "; ".join(t for _, t in checks), True


def _verdict(rs: RuleSet, nr: NerveResult, c: _Compared, level: str, items: tuple[str, ...],
             reasons: list[str], excluded_by: str | None = None,
             item_results: dict[str, bool | None] | None = None) -> SegmentVerdict:
    if c.notes and excluded_by is None:
        reasons = reasons + [f"measurement notes: {'; '.join(c.notes)}"]
    return SegmentVerdict(rs.id, nerve_label(nr), c.index, c.name, level, rs.label_for(level), items,
                          reasons, excluded_by, dict(item_results or {}))


def _segment(rs: RuleSet, nr: NerveResult, c: _Compared, lln: float | None, lln_reason: str,
             exclude_entrapment: bool, include_erbs_point: bool) -> SegmentVerdict:
    short, reasons = rs.short_name, []
    if nr.nerve in rs.excluded_nerves:
        return _verdict(rs, nr, c, "not-assessable", (), [f"{short}: the {nr.nerve} nerve is excluded "
                                                          "by this rule set"], "nerve")
    if c.entrapment:
        if exclude_entrapment:
            return _verdict(rs, nr, c, "not-assessable", (), [
                f"{short}: not assessed: across a compression site: {c.entrapment} (a drop there does "
                "not count for this rule set; exclude_entrapment=False to grade it)"], "entrapment")
        reasons.append(f"across a compression site: {c.entrapment} (graded on request: exclude_entrapment=False)")
    if c.erbs:
        if not include_erbs_point:
            return _verdict(rs, nr, c, "not-assessable", (), [
                f"{short}: not assessed: from Erb's point: submaximal stimulation likely; excluded by "
                "default (include_erbs_point=True to include)"], "erbs-point")
        reasons.append("from Erb's point: submaximal stimulation likely (included on request)")
    if c.distal_absent:
        return _verdict(rs, nr, c, "not-assessable", (), reasons + [
            f"{short}: not assessable: distal response absent, nothing to compare the proximal response with"])
    if c.proximal_absent:
        text = (f"{short}: proximal response absent with the distal present: conduction block cannot be "
                "quantified beyond 'absent' (complete block, axon loss or submaximal stimulation)")
        if rs.absent_proximal == "possible":
            return _verdict(rs, nr, c, "possible", ("absent proximal response",),
                            reasons + [text + "; graded possible by this rule set"])
        return _verdict(rs, nr, c, "not-assessable", (), reasons + [text + "; no level is graded for it"])
    results = [(rule, *_rule(rule, rs, nr, c, lln, lln_reason)) for rule in rs.segment_rules]
    reasons.extend(text for _, _, text, _ in results)
    met = [rule for rule, ok, _, _ in results if ok]
    items: dict[str, bool | None] = {}
    for rule, ok, _, _ in results:
        prev = items.get(rule.item, False)
        items[rule.item] = True if (ok or prev) else None if (ok is None or prev is None) else False
    excluded = None
    if met:
        level = max((r.level for r in met), key=level_rank)
    elif not any(applicable for *_, applicable in results):
        level, excluded = "not-assessable", "not-applicable"
        reasons.append(f"{short}: no rule of this rule set applies to this segment")
    else:
        level = "not-assessable" if any(ok is None for _, ok, _, _ in results) else "none"
    met_items = tuple(dict.fromkeys(r.item for r in met))
    return _verdict(rs, nr, c, level, met_items, reasons, excluded, items)


def evaluate(nerve_result: NerveResult, rule_set: str | RuleSet, *,
             exclude_entrapment: bool | None = None,
             include_erbs_point: bool | None = None,
             comparison: str | None = None) -> list[SegmentVerdict]:
    """Apply a rule set to every segment of one nerve.

    Parameters
    ----------
    nerve_result : NerveResult
        From :func:`nerveconduct.segments.analyze_nerve` or ``analyze_values``.
    rule_set : str or RuleSet
        A rule-set id (see :func:`list_rule_sets`) or a loaded table.
    exclude_entrapment : bool, optional
        Override the table: grade (False) or exclude (True) segments across compression sites.
    include_erbs_point : bool, optional
        Override the table: grade segments from Erb's point (True) or exclude them (False).
    comparison : {"adjacent", "from_distal"}, optional
        Override the table: compare each segment's own two sites, or each proximal site with
        the most distal one.

    Returns
    -------
    list of SegmentVerdict
        One per segment, in segment order (distal first), each with ``.level`` and ``.reasons``.
        Each verdict also has ``item_results`` (item id -> True / False / None).

    Raises
    ------
    TypeError
        ``nerve_result`` is not a NerveResult.
    KeyError
        Unknown rule-set id.
    ValueError
        Unknown ``comparison``.

    Examples
    --------
    >>> from nerveconduct.model import Site
    >>> from nerveconduct.segments import analyze_values
    >>> r = analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], [6.1, 2.9],
    ...                    negative_peak_area_mv_ms=[20.0, 7.6], negative_peak_duration_ms=[5.0, 5.4])
    >>> v = evaluate(r, "efns-pns-2010-mmn")[0]
    >>> v.level
    'definite'
    >>> for clause in v.reasons[0].split("; "):
    ...     print(clause)
    EFNS/PNS 2010 MMN definite CB: area drop 62.0% ≥ 50%
    duration increase 8.0% ≤ 30%
    distal amplitude 6.10 mV > 1 mV and > 20% of LLN 4 mV (152.5%)
    """
    if not isinstance(nerve_result, NerveResult):
        raise TypeError(f"nerve_result must be a NerveResult, got {type(nerve_result).__name__}")
    rs = get_rule_set(rule_set)
    mode, excl, erbs = resolve_options(rs, exclude_entrapment, include_erbs_point, comparison)
    comp = nerve_result.limits.get("distal_amplitude")
    lln = comp.limit if comp is not None and comp.limit else None
    lln_reason = (comp.reason if comp is not None and comp.reason else f"no amplitude LLN for {nerve_result.nerve}")
    return [_segment(rs, nerve_result, _compared(nerve_result, k, mode), lln, lln_reason, excl, erbs)
            for k in range(len(nerve_result.segments))]
