"""The criteria evaluator of one nerve: segment verdicts with the reasons worded.

For each segment (adjacent stimulation sites, or the proximal site against the most distal
one when the table says ``comparison = "from_distal"`` — beyond a compression site, against
the nearest site proximal to it, unless the table says ``beyond_compression = "excluded"``)
the rule set

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
(:func:`nerveconduct.criteria._columns_rules.segment_decisions`, on one segment frame for
all the nerves of :func:`evaluate_many`, a one-nerve frame for :func:`evaluate`); these
functions word them (:mod:`nerveconduct.criteria._reasons`), so the object
path and the batch's columns cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..analysis import NerveResult
from ._columns_frames import segment_frame
from ._columns_rules import SegmentDecisions, segment_decisions
from ._common import at_least, at_most, resolve_options
from ._reasons import decisions_as_lists, segment_verdicts
from ._reasons_columns import rule_texts
from .registry import get_rule_set
from .tables import RuleSet
from .verdicts import SegmentVerdict

__all__ = ["evaluate", "evaluate_many", "nerve_label", "meets_min", "meets_max", "at_least", "at_most",
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


def decide_many(nerve_results: list[NerveResult], rs: RuleSet, *, exclude_entrapment: bool | None = None,
                include_erbs_point: bool | None = None, comparison: str | None = None,
                beyond_compression: str | None = None,
                ) -> tuple[list[list[SegmentVerdict]], SegmentDecisions, dict]:
    """The segment verdicts of many nerves, the decisions they word and their one segment frame.

    Private to the criteria package: ``nerve_results`` must already be checked to hold
    NerveResult objects only. One segment frame and one :func:`segment_decisions` call for
    all the nerves (the frame holds each nerve's segments in order, nerve after nerve); then
    each nerve's verdicts are worded from its slice of the decisions.
    """
    mode, excl, erbs, beyond = resolve_options(rs, exclude_entrapment, include_erbs_point, comparison,
                                               beyond_compression)
    frame = segment_frame(nerve_results)
    d = segment_decisions(rs, frame, mode, excl, erbs, beyond)
    lists = decisions_as_lists(d)
    texts = rule_texts(rs, lists)
    verdicts, offset = [], 0
    for nr in nerve_results:
        verdicts.append(segment_verdicts(rs, nr, nerve_label(nr), lists, mode, offset, beyond, texts))
        offset += len(nr.segments)
    return verdicts, d, frame


def checked_nerve_results(nerve_results: Iterable[NerveResult], name: str) -> list[NerveResult]:
    """``nerve_results`` as a list; TypeError naming the first element that is not a NerveResult."""
    results = list(nerve_results)
    for i, nr in enumerate(results):
        if not isinstance(nr, NerveResult):
            raise TypeError(f"{name}[{i}] must be a NerveResult, got {type(nr).__name__}")
    return results


def evaluate_many(nerve_results: Iterable[NerveResult], rule_set: str | RuleSet, *,
                  exclude_entrapment: bool | None = None, include_erbs_point: bool | None = None,
                  comparison: str | None = None, beyond_compression: str | None = None) -> list[list[SegmentVerdict]]:
    """:func:`evaluate` of many nerves at once: ``[evaluate(nr, rule_set, ...) for nr in nerve_results]``.

    The decisions are made once for all the nerves (one segment frame), which saves numpy's
    fixed cost per operation: use this rather than a loop over :func:`evaluate`.

    Parameters
    ----------
    nerve_results : iterable of NerveResult
    rule_set : str or RuleSet
        A rule-set id (see :func:`list_rule_sets`) or a loaded table.
    exclude_entrapment, include_erbs_point, comparison, beyond_compression
        Overrides of the table, as for :func:`evaluate`.

    Returns
    -------
    list of list of SegmentVerdict
        One list per nerve, in the order given (empty for a nerve without segments).

    Raises
    ------
    TypeError
        An element is not a NerveResult (its position named).
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
    >>> [[v.level for v in vs] for vs in evaluate_many([a, b], "efns-pns-2010-mmn")]
    [['definite'], ['none']]
    """
    rs = get_rule_set(rule_set)
    results = checked_nerve_results(nerve_results, "nerve_results")
    return decide_many(results, rs, exclude_entrapment=exclude_entrapment, include_erbs_point=include_erbs_point,
                       comparison=comparison, beyond_compression=beyond_compression)[0]


def evaluate(nerve_result: NerveResult, rule_set: str | RuleSet, *,
             exclude_entrapment: bool | None = None,
             include_erbs_point: bool | None = None,
             comparison: str | None = None,
             beyond_compression: str | None = None) -> list[SegmentVerdict]:
    """Apply a rule set to every segment of one nerve.

    Parameters
    ----------
    nerve_result : NerveResult
        From :func:`nerveconduct.analysis.analyze_nerve` or ``analyze_values``.
    rule_set : str or RuleSet
        A rule-set id (see :func:`list_rule_sets`) or a loaded table.
    exclude_entrapment : bool, optional
        Override the table: grade (False) or exclude (True) segments across compression sites.
    include_erbs_point : bool, optional
        Override the table: grade segments from Erb's point (True) or exclude them (False).
    comparison : {"adjacent", "from_distal"}, optional
        Override the table: compare each segment's own two sites, or each proximal site with
        the most distal one.
    beyond_compression : {"nearest-site", "excluded"}, optional
        Override the table (``comparison="from_distal"`` only): compare a site beyond a
        compression site with the nearest site proximal to that compression site (the
        shipped CIDP tables' reading), or leave every comparison beyond it unassessed.

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
    >>> from nerveconduct.analysis import analyze_values
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
    return decide_many([nerve_result], rs, exclude_entrapment=exclude_entrapment,
                       include_erbs_point=include_erbs_point, comparison=comparison,
                       beyond_compression=beyond_compression)[0][0]
