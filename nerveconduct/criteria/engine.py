"""The criteria evaluator of one nerve: segment verdicts with the reasons worded.

For each segment (adjacent stimulation sites, or the proximal site against the most distal
one when the table says ``comparison = "from_distal"``) the rule set

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

These decisions are made once, by the column evaluator
(:func:`nerveconduct.criteria._columns_rules.segment_decisions`, on a one-nerve segment
frame); :func:`evaluate` words them (:mod:`nerveconduct.criteria._reasons`), so the object
path and the batch's columns cannot disagree.
"""

from __future__ import annotations

from ..model import NerveResult
from ._columns_frames import segment_frame
from ._columns_rules import SegmentDecisions, segment_decisions
from ._common import at_least, at_most, resolve_options
from ._reasons import segment_verdicts
from .registry import get_rule_set
from .tables import RuleSet
from .verdicts import SegmentVerdict

__all__ = ["evaluate", "nerve_label", "meets_min", "meets_max", "at_least", "at_most",
           "resolve_options"]


def meets_min(value: float, threshold: float, inclusive: bool) -> bool:
    """``value ≥ threshold`` (inclusive) or ``value > threshold``, with a 1e-9 relative tolerance."""
    return bool(at_least(value, threshold, inclusive))


def meets_max(value: float, threshold: float, inclusive: bool) -> bool:
    """``value ≤ threshold`` (inclusive) or ``value < threshold``, with a 1e-9 relative tolerance."""
    return bool(at_most(value, threshold, inclusive))


def nerve_label(nr: NerveResult) -> str:
    """``"right median"``-style label of a nerve result (side omitted when unknown)."""
    return f"{nr.side} {nr.nerve}" if nr.side else nr.nerve


def decide(nerve_result: NerveResult, rs: RuleSet, *, exclude_entrapment: bool | None = None,
           include_erbs_point: bool | None = None, comparison: str | None = None,
           ) -> tuple[list[SegmentVerdict], SegmentDecisions, dict]:
    """The segment verdicts of one nerve, the decisions they word and the segment frame.

    Private to the criteria package (:func:`~nerveconduct.criteria.patient.evaluate_nerve`
    reuses the decisions); see :func:`evaluate`.
    """
    if not isinstance(nerve_result, NerveResult):
        raise TypeError(f"nerve_result must be a NerveResult, got {type(nerve_result).__name__}")
    mode, excl, erbs = resolve_options(rs, exclude_entrapment, include_erbs_point, comparison)
    frame = segment_frame([nerve_result])
    d = segment_decisions(rs, frame, mode, excl, erbs)
    return segment_verdicts(rs, nerve_result, nerve_label(nerve_result), d, mode), d, frame


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
    return decide(nerve_result, rs, exclude_entrapment=exclude_entrapment,
                  include_erbs_point=include_erbs_point, comparison=comparison)[0]
