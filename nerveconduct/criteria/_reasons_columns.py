"""The reasons' sentences worded column-wise: one comprehension per clause over a whole frame.

Private. The same sentences as :mod:`._reasons` words per segment and per nerve (byte for
byte; the golden outputs check it), built once per rule, clause and frame instead of once
per segment: a rule's constants (its name, operator, threshold) are bound once, and each
clause is a list over the frame's columns. Where a sentence needs the nerve itself (a rule
that does not apply, amplitude-ratio bands, an unknown LLN, a caveat, rarer branches) the
lists hold ``None`` and :mod:`._reasons` words that one from the nerve.
"""

from __future__ import annotations

import math

from . import _columns_items as ci
from ._columns_rules import RuleChecks, SegmentDecisions, measure_parts
from ._reasons import _F, _N, _NAMES, _PART_NAMES, _STATUS, _T, MET, _op, _row_text
from .tables import NerveItem, RuleSet, SegmentRule

__all__ = ["rule_texts", "nerve_item_texts"]


def _cond_column(name: str, values: list, threshold: float, inclusive: bool, minimum: bool,
                 states: list, memo: dict | None = None) -> list[str]:
    """:func:`_cond` on every segment of a frame at once (the rule's constants bound once).

    ``memo`` (a dict kept for one frame, the ``values`` lists alive as long as it) shares work
    between the rules of a frame: each column's numbers are formatted once (``.1f``), and a
    clause asked for again (the same measure, threshold and states: e.g. the duration limit of
    several rules) is the same list."""
    op = (">" if not inclusive else "\u2265") if minimum else ("<" if not inclusive else "\u2264")
    met, not_met, na = f"% {op} {threshold:g}%", f"% not {op} {threshold:g}%", f"{name} not available"
    pre = f"{name} "
    if memo is None:
        return [na if st == _N else f"{pre}{v:.1f}{met if st == _T else not_met}" for v, st in zip(values, states)]
    key = (name, id(values), threshold, inclusive, minimum)
    done = memo.get(key)
    if done is not None and done[0] == states:
        return done[1]
    tenths = memo.get(id(values))
    if tenths is None:
        tenths = memo[id(values)] = [f"{v:.1f}" for v in values]
    out = [na if st == _N else f"{pre}{v}{met if st == _T else not_met}" for v, st in zip(tenths, states)]
    memo[key] = (states, out)
    return out


def _distal_column(rule: SegmentRule, rc: RuleChecks, amp: list, lln: list) -> list[str | None]:
    """:func:`_distal` on every segment (``None`` where the LLN is unknown: worded per nerve)."""
    mv = lln_part = None
    if rc.distal_mv is not None:
        op = "\u2265" if rule.distal_amplitude_min_mv_inclusive else ">"
        tail = f"{op} {rule.distal_amplitude_min_mv:g} mV"
        not_tail = "not " + tail
        mv = [tail if st == _T else not_tail for st in rc.distal_mv]
    if rc.distal_lln is not None:
        op = "\u2265" if rule.distal_amplitude_min_pct_lln_inclusive else ">"
        tail = f"{op} {rule.distal_amplitude_min_pct_lln:g}% of LLN "
        not_tail = "not " + tail
        limits = {x: f"{x:g}" for x in set(lln) if x == x}  # each LLN worded once
        lln_part = [None if x != x else f"{tail if st == _T else not_tail}{limits[x]} mV ({100.0 * a / x:.1f}%)"
                    for st, a, x in zip(rc.distal_lln, amp, lln)]
    na = "distal amplitude not available"
    if mv is not None and lln_part is not None:  # both clauses, joined in the one pass
        return [na if not known else None if b is None else f"distal amplitude {a:.2f} mV {m} and {b}"
                for a, known, m, b in zip(amp, rc.distal_known, mv, lln_part)]
    clauses = mv if mv is not None else lln_part if lln_part is not None else [""] * len(amp)
    return [na if not known else None if clause is None else f"distal amplitude {a:.2f} mV {clause}"
            for a, known, clause in zip(amp, rc.distal_known, clauses)]


def rule_texts(rs: RuleSet, d: SegmentDecisions) -> list[list[str | None] | None]:
    """Every segment rule's sentence on every segment of ``d`` (:func:`decisions_as_lists`
    form), worded column-wise; ``None`` (a whole rule, or one segment) where the sentence needs
    the nerve itself (not applicable, ratio bands, unknown LLN): :func:`_rule` words those."""
    c, out = d.compared, []
    memo: dict = {}  # numbers and clauses shared by the rules (:func:`_cond_column`)
    for rule, rc in zip(rs.segment_rules, d.rules):
        if rule.ratio_bands:
            out.append(None)
            continue
        columns: list[list] = []
        if rc.drop is not None:
            parts = [_cond_column(_PART_NAMES[key], c[key], rule.drop_min_pct, rule.drop_min_pct_inclusive, True,
                                  part, memo) for key, part in zip(measure_parts(rule.measure), rc.drop_parts)]
            sep = " and " if rule.measure.endswith("_and_area") else " or "
            columns.append(parts[0] if len(parts) == 1 else [sep.join(t) for t in zip(*parts)])
        dur_name, dur = (("CMAP duration increase", c["cmap_duration"]) if rule.duration == "cmap"
                         else ("duration increase", c["duration"]))
        if rc.duration_max is not None:
            columns.append(_cond_column(dur_name, dur, rule.duration_increase_max_pct,
                                        rule.duration_increase_max_pct_inclusive, False, rc.duration_max, memo))
        if rc.duration_min is not None:
            columns.append(_cond_column(dur_name, dur, rule.duration_increase_min_pct,
                                        rule.duration_increase_min_pct_inclusive, True, rc.duration_min, memo))
        if rc.distal is not None:
            columns.append(_distal_column(rule, rc, c["distal_amplitude_mv"], d.lln))
        head = f"{rs.short_name} {rule.label}"
        heads = {st: f"{head}{_STATUS[MET[st]]}: " for st in (_T, _N, _F)}
        out.append([None if why or None in checks else heads[st] + "; ".join(checks)
                    for why, st, checks in zip(rc.why_not, rc.state, zip(*columns))])
    return out


_LIMIT_KINDS = {"distal_motor_latency": "ULN", "conduction_velocity": "LLN", "f_wave_latency": "ULN"}


def nerve_item_texts(item: NerveItem, rs: RuleSet, nf: dict, states: list, branches: list) -> list[str | None]:
    """The sentence of one nerve item on every nerve of a nerve frame, worded column-wise for
    the common branches (a limit item graded on its usual cut-off, F-waves not studied);
    ``None`` where :func:`nerve_item_result` words it from the nerve itself."""
    head = f"{rs.short_name} {item.item} ({item.label})"
    heads = {st: f"{head}{_STATUS[MET[st]]}: " for st in (_T, _N, _F)}
    not_studied = {st: heads[st] + "F-waves not studied" for st in heads}
    f_branch = int(ci.F_NOT_STUDIED)
    if item.measure == "distal_cmap_duration" and item.thresholds_ms_by_filter:
        return _duration_by_filter_texts(item, heads, nf, states, branches)
    if item.measure not in _NAMES:
        if item.measure != "f_wave_absent":
            return [None] * len(states)
        return [not_studied[st] if br == f_branch else None for st, br in zip(states, branches)]
    name, unit = _NAMES[item.measure]
    kind, graded = _LIMIT_KINDS[item.measure], int(ci.GRADED)
    met_tail = f" {unit} {_op(item.compare)} {item.pct_of_limit:g}%"
    not_tail = f" {unit} not {_op(item.compare)} {item.pct_of_limit:g}%"
    caveat = bool(item.caveat)
    values = nf[f"{item.measure}_value"].tolist()
    limits = nf[f"{item.measure}_limit"].tolist()
    out: list[str | None] = []
    for st, br, v, lim in zip(states, branches, values, limits):
        if br == graded and not (caveat and st == _T):
            out.append(f"{heads[st]}{name} {v:.2f} {unit} = {100.0 * v / lim:.1f}% of {kind} {lim:g}"
                       f"{met_tail if st == _T else not_tail}")
        elif br == f_branch:
            out.append(not_studied[st])
        else:
            out.append(None)
    return out


def _duration_by_filter_texts(item: NerveItem, heads: dict, nf: dict, states: list,
                              branches: list) -> list[str | None]:
    """:func:`_duration_by_filter_text` (branches ``GRADED`` and ``FILTER_ALL_ROWS``) on every
    nerve; the cut-off list is worded once per nerve name."""
    rows: dict[str, str] = {}
    cutoffs: dict[tuple[str, float], float] = {}
    graded, all_rows, caveat = int(ci.GRADED), int(ci.FILTER_ALL_ROWS), bool(item.caveat)
    op = _op(item.compare)
    out: list[str | None] = []
    for st, br, nerve, value, lff in zip(states, branches, nf["nerve"].tolist(),
                                         nf["distal_cmap_duration_ms"].tolist(), nf["low_frequency_filter_hz"].tolist()):
        ok = MET[st]
        if caveat and ok:
            out.append(None)
        elif br == all_rows:
            row = rows.get(nerve)
            if row is None:
                row = rows[nerve] = _row_text(item, nerve)
            out.append(f"{heads[st]}distal CMAP duration {value:.2f} ms; low-frequency filter not recorded: "
                       f"{'met' if ok else 'not met'} with the cut-off of every filter the guideline gives ({row})")
        elif br == graded:
            cutoff = cutoffs.get((nerve, lff))
            if cutoff is None:
                cutoff = cutoffs[nerve, lff] = next(dict(r)[nerve] for hz, r in item.thresholds_ms_by_filter
                                                     if nerve in dict(r) and math.isclose(hz, lff, rel_tol=1e-9))
            out.append(f"{heads[st]}distal CMAP duration {value:.2f} ms {'' if ok else 'not '}{op} {cutoff:g} ms "
                       f"(cut-off for the recorded {lff:g} Hz low-frequency filter)")
        else:
            out.append(None)
    return out
