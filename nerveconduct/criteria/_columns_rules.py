"""The segment decisions of a rule set, on arrays: the one place where segment rules are decided.

Private. :func:`segment_decisions` grades every segment of a segment frame (see
:func:`nerveconduct.criteria.columns.segment_frame`) and keeps the state of every check of
every rule, so that :func:`nerveconduct.criteria.columns.evaluate_segment_columns` (levels,
labels, items for a batch) and :func:`nerveconduct.criteria.engine.evaluate` (the same
verdicts with their sentences, :mod:`nerveconduct.criteria._reasons`) read one set of
decisions. States are the ``int8`` codes of :mod:`._columns_items` (``F`` not met, ``N`` not
assessable, ``T`` met).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._columns_items import EqCache, F, N, T, ge, le, state, tri
from .tables import RuleSet, SegmentRule
from .verdicts import level_rank

__all__ = ["RuleChecks", "SegmentDecisions", "segment_decisions", "rule_checks", "measure_parts", "first_up_to",
           "compared",
           "ordered_items", "EXCLUDED", "OUTCOMES", "WHY_NOT", "BAND_NOT_AVAILABLE", "NO_BAND"]

#: ``SegmentDecisions.excluded`` codes -> ``SegmentVerdict.excluded_by``.
EXCLUDED = (None, "nerve", "entrapment", "erbs-point", "not-applicable")
#: ``SegmentDecisions.outcome`` codes: what decided the segment, in the engine's order.
OUTCOMES = ("excluded nerve", "entrapment", "erbs-point", "distal absent", "proximal absent", "rules")
#: ``RuleChecks.why_not`` codes: 0 the rule applies, else why it does not.
WHY_NOT = ("applies", "unknown nerve name", "other nerve", "excluded nerve", "other segment")
#: ``RuleChecks.band`` codes besides a band's index.
BAND_NOT_AVAILABLE, NO_BAND = -2, -1


@dataclass(frozen=True)
class RuleChecks:
    """The checks of one segment rule on every segment (arrays of the frame's length).

    Attributes
    ----------
    why_not : ndarray of int8
        :data:`WHY_NOT` code (all 0 for a rule without conditions); the other states are those
        of the checks as if the rule applied.
    state : ndarray of int8
        The rule's state: ``F`` where it does not apply, else the conjunction of its checks.
    drop : ndarray of int8 or None
        Drop (or amplitude-ratio) check; None when the rule has none.
    drop_parts : tuple of ndarray of int8
        Per measure of the drop (``amplitude``, ``area``, ``peak_to_peak``, in the table's
        order); empty for ratio bands.
    band : ndarray of int64 or None
        Ratio bands: index of the band used, :data:`NO_BAND` or :data:`BAND_NOT_AVAILABLE`.
    duration_max, duration_min : ndarray of int8 or None
        Duration-increase limits.
    distal, distal_mv, distal_lln : ndarray of int8 or None
        Distal-amplitude minimums: the clause, and its mV and %-of-LLN parts.
    distal_known : ndarray of bool
        The distal amplitude is finite.
    """

    why_not: np.ndarray
    state: np.ndarray
    drop: np.ndarray | None
    drop_parts: tuple[np.ndarray, ...]
    band: np.ndarray | None
    duration_max: np.ndarray | None
    duration_min: np.ndarray | None
    distal: np.ndarray | None
    distal_mv: np.ndarray | None
    distal_lln: np.ndarray | None
    distal_known: np.ndarray


@dataclass(frozen=True)
class SegmentDecisions:
    """Every decision of one rule set on every segment of a segment frame.

    Attributes
    ----------
    compared : dict of str to ndarray
        The values compared (:func:`compared`).
    lln : ndarray of float
        The distal-amplitude LLN (mV, NaN = unknown).
    entrapment, erbs : ndarray of bool
        Across a compression site / from Erb's point (for the comparison made).
    outcome : ndarray of int8
        :data:`OUTCOMES` code.
    excluded : ndarray of int8
        :data:`EXCLUDED` code.
    rank : ndarray of int8
        ``level_rank`` of the level.
    rules : tuple of RuleChecks
        One per segment rule, table order.
    met_rules : ndarray of int64 or None
        Bit ``j`` set where rule ``j`` is met on a segment the rules grade (None with more than 62 rules).
    item_states : dict of str to ndarray of int8
        Per segment item (rule order), merged over its rules where the rules grade the segment;
        elsewhere ``N``, or ``F`` for an absent proximal response graded "possible" (see
        ``columns.SegmentColumns``).
    carry_states : dict of str to ndarray of int8
        ``comparison = "from_distal"`` only (else empty): per segment item, its state on a
        comparison excluded as across a compression site, as if it were graded (``F``
        elsewhere): where it is not ``F`` the excluded comparison could carry the item, so a
        nerve that meets it nowhere else is not assessable for it rather than "not met".
    """

    compared: Mapping[str, np.ndarray]
    lln: np.ndarray
    entrapment: np.ndarray
    erbs: np.ndarray
    outcome: np.ndarray
    excluded: np.ndarray
    rank: np.ndarray
    rules: tuple[RuleChecks, ...]
    met_rules: np.ndarray | None
    item_states: Mapping[str, np.ndarray]
    carry_states: Mapping[str, np.ndarray] = field(default_factory=dict)


def _const(n: int, value: int) -> np.ndarray:
    """``np.full(n, value, dtype=np.int8)``, cheaper on small arrays."""
    out = np.empty(n, dtype=np.int8)
    out.fill(value)
    return out


def ordered_items(rules) -> list[str]:
    """Item ids of ``rules`` in first-seen order."""
    return list(dict.fromkeys(r.item for r in rules))


def first_up_to(mask: np.ndarray, nerve_id: np.ndarray, index: np.ndarray) -> np.ndarray:
    """True where ``mask`` holds for a segment of the same nerve with an index <= this one."""
    if not mask.any():
        return mask.copy()
    n_nerves = int(nerve_id.max()) + 1
    first = np.full(n_nerves, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, nerve_id[mask], index[mask])
    return first[nerve_id] <= index


def compared(f: Mapping[str, np.ndarray], mode: str,
             beyond: str = "nearest-site") -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The compared values of each segment, and the entrapment and Erb's point masks.

    ``mode`` ``"adjacent"``: each segment's own two sites. ``"from_distal"``: the proximal site
    against the most distal one; beyond a compression site, with ``beyond`` ``"nearest-site"``
    against the nearest site proximal to it (only a comparison that itself crosses a
    compression site is "across" it), with ``"excluded"`` against the most distal site still
    (every comparison from the first compression site on is "across" it).

    Besides the drops (%), duration increases (%), distal amplitude (mV), canonical sites and
    nerve: ``peak_to_peak`` (drop %, NaN without two finite amplitudes and a positive distal
    one), ``distal_pct_lln`` (distal amplitude as % of its LLN), ``distal_known`` and
    ``lln_known`` (bool).
    """
    has_ent = f["entrapment_site"].astype(bool)
    if mode == "adjacent":
        c = {"distal": f["distal_canonical"], "amplitude": f["amplitude_drop_pct"], "area": f["area_drop_pct"],
             "duration": f["duration_increase_pct"], "cmap_duration": f["cmap_duration_increase_pct"],
             "distal_amplitude_mv": f["distal_amplitude_mv"], "distal_absent": f["distal_absent"]}
        d_pp, ent, erbs = f["distal_peak_to_peak_mv"], has_ent, f["from_erbs_point"]
    elif beyond == "nearest-site":
        c = {"distal": f["reference_canonical"], "amplitude": f["amplitude_drop_from_reference_pct"],
             "area": f["area_drop_from_reference_pct"], "duration": f["duration_increase_from_reference_pct"],
             "cmap_duration": f["cmap_duration_increase_from_reference_pct"],
             "distal_amplitude_mv": f["reference_amplitude_mv"], "distal_absent": f["reference_absent"]}
        d_pp, ent = f["reference_peak_to_peak_mv"], has_ent
        erbs = first_up_to(f["from_erbs_point"], f["nerve_id"], f["index"])
    else:
        c = {"distal": f["first_canonical"], "amplitude": f["amplitude_drop_from_distal_pct"],
             "area": f["area_drop_from_distal_pct"], "duration": f["duration_increase_from_distal_pct"],
             "cmap_duration": f["cmap_duration_increase_from_distal_pct"],
             "distal_amplitude_mv": f["first_amplitude_mv"], "distal_absent": f["first_absent"]}
        d_pp = f["first_peak_to_peak_mv"]
        ent = first_up_to(has_ent, f["nerve_id"], f["index"])
        erbs = first_up_to(f["from_erbs_point"], f["nerve_id"], f["index"])
    p_pp = f["proximal_peak_to_peak_mv"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = np.isfinite(d_pp) & np.isfinite(p_pp) & (d_pp > 0)
        c["peak_to_peak"] = np.where(ok, 100.0 * (1.0 - p_pp / d_pp), np.nan)
        c["distal_pct_lln"] = 100.0 * c["distal_amplitude_mv"] / f["amplitude_lln_mv"]
    c["proximal"], c["nerve"] = f["proximal_canonical"], f["nerve"]
    c["distal_known"] = np.isfinite(c["distal_amplitude_mv"])
    c["lln_known"] = ~np.isnan(f["amplitude_lln_mv"])
    return c, ent, erbs


_PARTS = {"amplitude_or_area": ("amplitude", "area"), "amplitude_and_area": ("amplitude", "area"),
          "peak_to_peak_or_area": ("peak_to_peak", "area")}


def measure_parts(measure: str) -> tuple[str, ...]:
    """The compared measures a drop measure combines (``"amplitude_or_area"`` -> amplitude, area)."""
    return _PARTS.get(measure, (measure,))


def _drop(rule: SegmentRule, c: Mapping[str, np.ndarray]):
    """(state, parts, band) of the drop check, or of the amplitude-ratio bands."""
    if rule.ratio_bands:
        amp, drop = c["distal_amplitude_mv"], c["amplitude"]
        todo = np.isfinite(amp) & np.isfinite(drop)
        out = np.full(amp.shape, N)
        band = np.where(todo, NO_BAND, BAND_NOT_AVAILABLE)
        ratio = 1.0 - drop / 100.0
        for k, b in enumerate(rule.ratio_bands):  # the first band covering the distal amplitude decides
            sel = todo & ge(amp, b.distal_min_mv, b.distal_min_inclusive) & le(amp, b.distal_max_mv,
                                                                              b.distal_max_inclusive)
            out = np.where(sel, state(le(ratio, b.min_ratio, False)), out)
            band = np.where(sel, k, band)
            todo &= ~sel
        return out, (), band
    parts = tuple(tri(ge(c[k], rule.drop_min_pct, rule.drop_min_pct_inclusive), np.isfinite(c[k]))
                  for k in measure_parts(rule.measure))
    if len(parts) == 1:
        return parts[0], parts, None
    combine = np.maximum if rule.measure.endswith("_or_area") else np.minimum
    return combine(parts[0], parts[1]), parts, None


def _limit(value: np.ndarray, threshold: float, inclusive: bool, minimum: bool) -> np.ndarray:
    return tri((ge if minimum else le)(value, threshold, inclusive), np.isfinite(value))


def _why_not(rule: SegmentRule, eqc: EqCache, known: np.ndarray) -> np.ndarray | None:
    """:data:`WHY_NOT` code of the rule on every segment (the first reason that holds); None:
    the rule has no condition (applies everywhere)."""
    if not (rule.segments or rule.nerves or rule.exclude_nerves):
        return None
    out = np.zeros(known.shape, dtype=np.int8)
    if rule.segments:
        fits = np.zeros(known.shape, dtype=bool)
        for p in rule.segments:
            pair = eqc.eq("distal", p.distal) & eqc.eq("proximal", p.proximal)
            fits |= pair if p.nerve is None else pair & eqc.eq("nerve", p.nerve)
        out[~fits] = 4
    if rule.exclude_nerves:
        out[eqc.isin("nerve", rule.exclude_nerves)] = 3
    if rule.nerves:
        out[~eqc.isin("nerve", rule.nerves)] = 2
    if rule.nerves or rule.exclude_nerves:
        out[~known] = 1
    return out


def _and(out: np.ndarray | None, st: np.ndarray) -> np.ndarray:
    """Conjunction of states (False beats None beats True); ``None`` stands for no check yet."""
    return st if out is None else np.minimum(out, st)


def rule_checks(rule: SegmentRule, c: Mapping[str, np.ndarray], eqc: EqCache, known: np.ndarray) -> RuleChecks:
    """Every check of one rule on every segment; the rule's state is ``F`` where it does not apply."""
    why_not = _why_not(rule, eqc, known)
    amp = c["distal_amplitude_mv"]
    out = drop = band = dmax = dmin = dist = d_mv = d_lln = None
    parts = ()
    if rule.drop_min_pct is not None or rule.ratio_bands:
        drop, parts, band = _drop(rule, c)
        out = drop
    dur = c["cmap_duration"] if rule.duration == "cmap" else c["duration"]
    if rule.duration_increase_max_pct is not None:
        dmax = _limit(dur, rule.duration_increase_max_pct, rule.duration_increase_max_pct_inclusive, False)
        out = _and(out, dmax)
    if rule.duration_increase_min_pct is not None:
        dmin = _limit(dur, rule.duration_increase_min_pct, rule.duration_increase_min_pct_inclusive, True)
        out = _and(out, dmin)
    known_amp = c["distal_known"]
    if rule.distal_amplitude_min_mv is not None or rule.distal_amplitude_min_pct_lln is not None:
        if rule.distal_amplitude_min_mv is not None:
            d_mv = state(ge(amp, rule.distal_amplitude_min_mv, rule.distal_amplitude_min_mv_inclusive))
            dist = d_mv
        if rule.distal_amplitude_min_pct_lln is not None:
            d_lln = tri(ge(c["distal_pct_lln"], rule.distal_amplitude_min_pct_lln,
                           rule.distal_amplitude_min_pct_lln_inclusive), c["lln_known"])
            dist = _and(dist, d_lln)
        dist = np.where(known_amp, dist, N)
        out = _and(out, dist)
    if why_not is None:
        why_not = np.zeros(amp.shape, dtype=np.int8)
        out = _const(len(amp), T) if out is None else out
    else:
        out = np.where(why_not == 0, T if out is None else out, F)
    return RuleChecks(why_not, out.astype(np.int8, copy=False), drop, parts, band, dmax, dmin, dist, d_mv,
                      d_lln, known_amp)


def segment_decisions(rs: RuleSet, f: Mapping[str, np.ndarray], mode: str, exclude_entrapment: bool,
                      include_erbs_point: bool, beyond: str = "nearest-site") -> SegmentDecisions:
    """Grade every segment of a checked segment frame (options already resolved).

    Order of the decisions (the engine's): a nerve excluded by the rule set; a segment across
    a compression site (excluded, or graded on request); from Erb's point (likewise); distal
    response absent; proximal response absent (``possible`` or not assessable, as the table
    says); else every rule, the strongest level of a met rule winning.
    """
    c, ent, erbs = compared(f, mode, beyond)
    eqc = EqCache(c)
    n = len(f["nerve_id"])
    none = np.zeros(n, dtype=bool)
    by_nerve = eqc.isin("nerve", rs.excluded_nerves) if rs.excluded_nerves else none
    by_ent = ~by_nerve & ent if exclude_entrapment else none
    by_erbs = ~by_nerve & ~by_ent & erbs if not include_erbs_point else none
    remaining = ~(by_nerve | by_ent | by_erbs)
    d_abs = remaining & c["distal_absent"]
    p_abs = remaining & ~c["distal_absent"] & f["proximal_absent"]
    ruled = remaining & ~c["distal_absent"] & ~f["proximal_absent"]
    states: dict[str, np.ndarray] = {}
    best = _const(n, -2)  # strongest level of a met rule (-2: none met)
    applicable = none.copy()
    bits = len(rs.segment_rules) <= 62
    met_rules = np.zeros(n, dtype=np.int64) if bits else None
    checks = []
    for j, rule in enumerate(rs.segment_rules):
        rc = rule_checks(rule, c, eqc, f["known_nerve"])
        checks.append(rc)
        met = rc.state == T
        if rule.segments or rule.nerves or rule.exclude_nerves:
            applicable |= rc.why_not == 0
        else:
            applicable = ~none
        np.maximum(best, np.int8(level_rank(rule.level)), out=best, where=met)
        if bits:
            np.bitwise_or(met_rules, np.int64(1) << j, out=met_rules, where=met)
        prev = states.get(rule.item)
        states[rule.item] = rc.state if prev is None else np.maximum(prev, rc.state)
    if bits:
        met_rules[~ruled] = 0
    # the strongest met level; else "none" when every rule was assessable (no N) and one applied
    strongest = None
    for st in states.values():
        strongest = st if strongest is None else np.maximum(strongest, st)
    rank = np.maximum(best, np.int8(-1))
    if strongest is not None:
        rank[(strongest == F) & applicable] = 0
    rank[~ruled] = -1
    possible = rs.absent_proximal == "possible"
    if possible:
        rank[p_abs] = level_rank("possible")
    outcome = _const(n, 5)
    excluded = np.zeros(n, dtype=np.int8)
    not_applicable = ruled & ~applicable  # no rule applies (so none is met)
    for code, mask in ((4, p_abs), (3, d_abs), (2, by_erbs), (1, by_ent), (0, by_nerve)):  # disjoint
        if mask is not none:
            outcome[mask] = code
    for code, mask in ((4, not_applicable), (3, by_erbs), (2, by_ent), (1, by_nerve)):
        if mask is not none:
            excluded[mask] = code
    carry: dict[str, np.ndarray] = {}
    if mode == "from_distal":  # what a comparison excluded at a compression site could carry
        for it, st in states.items():
            carry[it] = np.where(by_ent, st, F).astype(np.int8)
    early = _const(n, N)  # early verdicts have no item results: the level decides
    if possible:
        early[p_abs] = F
    for it in list(states):
        states[it] = np.where(ruled, states[it], early)
    return SegmentDecisions(c, f["amplitude_lln_mv"], ent, erbs, outcome, excluded, rank, tuple(checks),
                            met_rules, states, carry)
