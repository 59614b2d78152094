"""Columnar criteria evaluation: the verdicts of a rule set for thousands of nerves at once.

Every criteria decision is made here, on numpy arrays: a *segment frame* (one entry per
segment of every nerve, :func:`segment_frame`) and a *nerve frame* (one entry per nerve,
:func:`nerve_frame`) go through a bounded number of array operations per rule, item, band
and segment pair — no Python loop over segments or nerves (the segment rules in
:mod:`._columns_rules`, the nerve items in :mod:`._columns_items`). The object path
(:func:`~nerveconduct.criteria.engine.evaluate`,
:func:`~nerveconduct.criteria.patient.evaluate_nerve`) evaluates a one-nerve frame here with
``details=True`` and words the decisions as its reasons (:mod:`._reasons`); so the results
equal its ``level``, ``label``, ``items`` and ``excluded_by`` of every segment, and the
``verdict_<id>_level``, ``_label`` and ``_items_met`` columns of
:func:`nerveconduct.serialize.rows.nerve_row`.

Both frames are built from the analysis table (:class:`~nerveconduct.analysis.NerveTable`,
or the table behind :class:`~nerveconduct.analysis.NerveResult` views) by
:func:`segment_frame` / :func:`nerve_frame`; a caller then runs :func:`check_supported` once
per rule set and the two evaluators.

Conventions: NaN stands for a missing number (``None`` in the objects); object columns hold
``str`` or ``None``. So a normal limit that is NaN (rather than ``None``) counts as missing
here; the limit tables never hold one (:mod:`nerveconduct.limits` stores ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import _columns_items as ci
from ._columns_frames import nerve_frame, segment_frame
from ._columns_items import (
    NERVE_KEYS,
    SEGMENT_KEYS,
    checked_frame,
)
from ._columns_rules import EXCLUDED, SegmentDecisions, ordered_items, segment_decisions
from ._common import resolve_options
from .registry import get_rule_set
from .tables import MEASURES, NERVE_MEASURES, RuleSet
from .verdicts import LEVELS, level_rank, level_words

__all__ = ["segment_frame", "nerve_frame", "SEGMENT_KEYS", "NERVE_KEYS", "check_supported",
           "SegmentColumns", "NerveColumns", "evaluate_segment_columns", "evaluate_nerve_columns"]

#: Level codes: ``level_rank`` + 1 indexes this (not-assessable, none, possible, probable, definite).
_LEVELS_BY_RANK = tuple(sorted(LEVELS, key=level_rank))
_ABSENT_PROXIMAL_ITEM = "absent proximal response"
_MAX_RULES = 62


def check_supported(rule_set: str | RuleSet) -> RuleSet:
    """Raise unless the columnar evaluator handles every feature of ``rule_set``.

    Every feature of the six shipped tables is supported (adjacent and from-distal
    comparisons, every drop measure and ratio bands, duration limits on the negative-peak or
    CMAP duration, distal-amplitude minimums, nerve and segment conditions, absent proximal
    responses, every nerve-item measure). This guards against tables written for a newer
    schema.

    Parameters
    ----------
    rule_set : str or RuleSet
        A rule-set id or a loaded table.

    Returns
    -------
    RuleSet
        The table, resolved.

    Raises
    ------
    NotImplementedError
        Naming the unsupported feature; the caller falls back to the object path.
    KeyError
        Unknown rule-set id.
    """
    rs = get_rule_set(rule_set)
    if rs.comparison not in ("adjacent", "from_distal"):
        raise NotImplementedError(f"{rs.id}: comparison {rs.comparison!r} (columnar: adjacent, from_distal)")
    if rs.absent_proximal not in ("not-assessable", "possible"):
        raise NotImplementedError(f"{rs.id}: absent_proximal {rs.absent_proximal!r}")
    n_items = len(ordered_items(rs.segment_rules)) + len(rs.nerve_items)
    if len(rs.segment_rules) > _MAX_RULES or n_items > _MAX_RULES:
        raise NotImplementedError(f"{rs.id}: {len(rs.segment_rules)} segment rules, {n_items} items "
                                  f"(columnar: at most {_MAX_RULES} of each)")
    for rule in rs.segment_rules:
        if rule.measure not in MEASURES or rule.duration not in ("negative_peak", "cmap"):
            raise NotImplementedError(f"{rs.id}: segment rule {rule.item!r}: measure {rule.measure!r} / "
                                      f"duration {rule.duration!r}")
    for item in rs.nerve_items:
        if item.measure not in NERVE_MEASURES or item.compare not in (">=", ">", "<=", "<"):
            raise NotImplementedError(f"{rs.id}: nerve item {item.item!r}: measure {item.measure!r} / "
                                      f"compare {item.compare!r}")
    return rs


@dataclass(frozen=True)
class SegmentColumns:
    """One rule set's verdicts on every segment of a segment frame (arrays of its length).

    Attributes
    ----------
    rule_set_id : str
    level : ndarray of object (str)
        As ``SegmentVerdict.level``: one of :data:`~nerveconduct.criteria.verdicts.LEVELS`, or of
        :data:`~nerveconduct.criteria.verdicts.ITEM_LEVELS` (``level_scope = "patient"``).
    label : ndarray of object (str)
        The rule set's wording of the level, as ``SegmentVerdict.label``.
    items : ndarray of object (tuple of str)
        Item ids met, in the engine's order, as ``SegmentVerdict.items``.
    excluded_by : ndarray of object (str or None)
        As ``SegmentVerdict.excluded_by``.
    rank : ndarray of int8
        :func:`~nerveconduct.criteria.verdicts.level_rank` of the graded level (the rank of
        the rule levels met, also where ``level`` is an item level).
    graded : ndarray of bool
        ``excluded_by is None`` (the segments a nerve's segment items are merged over).
    item_states : dict of str to ndarray of int8
        Per segment-rule item: 0 not met, 1 not assessable, 2 met — the value the nerve merge
        of :func:`~nerveconduct.criteria.patient.evaluate_nerve` reads (meaningful where
        ``graded``).
    decisions : SegmentDecisions or None
        Every check of every rule (``details=True``), else None.
    carry_states : dict of str to ndarray of int8
        ``SegmentDecisions.carry_states``: per segment item, what a comparison excluded at a
        compression site could carry (from-distal tables only; else empty).
    """

    rule_set_id: str
    level: np.ndarray
    label: np.ndarray
    items: np.ndarray
    excluded_by: np.ndarray
    rank: np.ndarray
    graded: np.ndarray
    item_states: Mapping[str, np.ndarray]
    decisions: SegmentDecisions | None = None
    carry_states: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class NerveColumns:
    """One rule set's verdicts on every nerve of a nerve frame (arrays of its length).

    Attributes
    ----------
    rule_set_id : str
    level, label : ndarray of object (str)
        ``verdict_<id>_level`` / ``verdict_<id>_label`` of :func:`~nerveconduct.serialize.rows.nerve_row`.
    items_met : ndarray of object (tuple of str)
        ``verdict_<id>_items_met`` (as a tuple, same order).
    rank : ndarray of int8
        :func:`~nerveconduct.criteria.verdicts.level_rank` of the strongest graded segment
        level (also where ``level`` is an item level).
    item_states : dict of str to ndarray of int8
        Every item of the rule set (table order): 0 not met, 1 not assessable, 2 met.
    item_branches : dict of str to ndarray of int8, or None
        Per nerve item: the branch code that decided it (``details=True``), else None.
    """

    rule_set_id: str
    level: np.ndarray
    label: np.ndarray
    items_met: np.ndarray
    rank: np.ndarray
    item_states: Mapping[str, np.ndarray]
    item_branches: Mapping[str, np.ndarray] | None = None


def evaluate_segment_columns(rule_set: str | RuleSet, seg_frame: Mapping[str, np.ndarray], *,
                             exclude_entrapment: bool | None = None, include_erbs_point: bool | None = None,
                             comparison: str | None = None, beyond_compression: str | None = None,
                             details: bool = False) -> SegmentColumns:
    """Apply a rule set to every segment of a segment frame, as :func:`~nerveconduct.criteria.engine.evaluate`.

    Parameters
    ----------
    rule_set : str or RuleSet
        A rule-set id or a loaded table.
    seg_frame : mapping of str to ndarray
        The keys of :data:`SEGMENT_KEYS` (see :func:`segment_frame`), one entry per segment;
        ``nerve_id`` and ``index`` identify each segment (any order).
    exclude_entrapment, include_erbs_point, comparison, beyond_compression
        Overrides of the table, as for :func:`~nerveconduct.criteria.engine.evaluate`.
    details : bool, default False
        Also return every check of every rule on every segment (``SegmentColumns.decisions``):
        what :func:`~nerveconduct.criteria.engine.evaluate` words as its reasons.

    Returns
    -------
    SegmentColumns
        ``level``, ``label``, ``items``, ``excluded_by`` equal to the engine's, segment for segment.

    Raises
    ------
    ValueError
        Unknown ``comparison``, or a frame with a missing key or arrays of different lengths.
    NotImplementedError
        A table feature :func:`check_supported` rejects.
    """
    rs = check_supported(rule_set)
    mode, excl, incl_erbs, beyond = resolve_options(rs, exclude_entrapment, include_erbs_point, comparison,
                                                    beyond_compression)
    f = checked_frame(seg_frame, SEGMENT_KEYS, "seg_frame")
    if len(f["nerve_id"]) and f["nerve_id"].min() < 0:
        raise ValueError(f"seg_frame nerve_id must be >= 0, got {f['nerve_id'].min()}")
    d = segment_decisions(rs, f, mode, excl, incl_erbs, beyond)
    rules = rs.segment_rules
    mask = d.met_rules
    if rs.absent_proximal == "possible":
        mask = mask | (d.outcome == 4).astype(np.int64) << len(rules)

    def items_of(code: int) -> tuple[str, ...]:
        if code >> len(rules):
            return (_ABSENT_PROXIMAL_ITEM,)
        return tuple(dict.fromkeys(r.item for j, r in enumerate(rules) if code >> j & 1))

    items = ci.objects_for_codes(mask, items_of)
    return SegmentColumns(rs.id, _level_codes(rs, d.rank, mask), _labels(rs, d.rank, mask, items), items,
                          np.array(EXCLUDED, dtype=object)[d.excluded], d.rank, d.excluded == 0, d.item_states,
                          d if details else None, d.carry_states)


def _level_codes(rs: RuleSet, rank: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The ``level`` of each segment or nerve: the level (``level_scope = "segment"``), else
    its item level (:meth:`RuleSet.level_code`: met / not-met / not-assessable)."""
    if rs.level_scope == "segment":
        return np.array(_LEVELS_BY_RANK, dtype=object)[rank + 1]
    out = np.where(rank >= 0, "not-met", "not-assessable").astype(object)
    out[mask != 0] = "met"
    return out


def _labels(rs: RuleSet, rank: np.ndarray, mask: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The ``label`` of each segment or nerve: the level's words (``level_scope = "segment"``),
    else the items met (:meth:`RuleSet.items_text`), worded once per distinct item set."""
    if rs.level_scope == "segment":
        return np.array([rs.label_for(lv) for lv in _LEVELS_BY_RANK], dtype=object)[rank + 1]
    by_rank = np.array([rs.items_text(lv, ()) for lv in _LEVELS_BY_RANK], dtype=object)[rank + 1]
    met = mask != 0
    if met.any():
        texts: dict[tuple[str, ...], str] = {}
        by_rank[met] = [texts.get(t) or texts.setdefault(t, rs.items_text("", t)) for t in items[met].tolist()]
    return by_rank


def evaluate_nerve_columns(rule_set: str | RuleSet, nerve_frame: Mapping[str, np.ndarray],
                           seg_frame: Mapping[str, np.ndarray], seg_verdicts: SegmentColumns | None = None,
                           details: bool = False, **overrides: bool | str | None) -> NerveColumns:
    """Every item of a rule set on every nerve, as :func:`~nerveconduct.criteria.patient.evaluate_nerve`.

    Parameters
    ----------
    rule_set : str or RuleSet
        A rule-set id or a loaded table.
    nerve_frame : mapping of str to ndarray
        The keys of :data:`NERVE_KEYS` (see :func:`nerve_frame`), one entry per nerve.
    seg_frame : mapping of str to ndarray
        The segment frame of the same nerves (``nerve_id`` indexes ``nerve_frame``); nerves
        without a segment are fine.
    seg_verdicts : SegmentColumns, optional
        :func:`evaluate_segment_columns` of ``rule_set`` on ``seg_frame``; computed here (with
        ``overrides``) when omitted.
    details : bool, default False
        Also return the branch code of every nerve item on every nerve
        (``NerveColumns.item_branches``, see :func:`._columns_items.nerve_item_detail`).
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` / ``comparison``, only with
        ``seg_verdicts`` omitted.

    Returns
    -------
    NerveColumns
        ``level``, ``label``, ``items_met`` equal to ``nerve_row``'s ``verdict_<id>_*`` columns.

    Raises
    ------
    ValueError
        A frame with a missing key or arrays of different lengths, a ``nerve_id`` outside the
        nerve frame, ``seg_verdicts`` of another rule set or length, or overrides given with
        ``seg_verdicts``.
    """
    rs = check_supported(rule_set)
    if seg_verdicts is None:
        seg_verdicts = evaluate_segment_columns(rs, seg_frame, **overrides)
    elif overrides:
        raise ValueError(f"overrides {sorted(overrides)} apply when seg_verdicts is computed here; "
                         "pass them to evaluate_segment_columns instead")
    nf = checked_frame(nerve_frame, NERVE_KEYS, "nerve_frame")
    nid = checked_frame(seg_frame, ("nerve_id",), "seg_frame")["nerve_id"]
    n = len(nf["nerve"])
    if seg_verdicts.rule_set_id != rs.id or len(seg_verdicts.rank) != len(nid):
        raise ValueError(f"seg_verdicts are of rule set {seg_verdicts.rule_set_id!r} on {len(seg_verdicts.rank)} "
                         f"segments; expected {rs.id!r} on the {len(nid)} segments of seg_frame")
    if len(nid) and (nid.min() < 0 or nid.max() >= n):
        raise ValueError(f"seg_frame nerve_id must lie in [0, {n - 1}] (the nerve frame), got values in "
                         f"[{nid.min()}, {nid.max()}]")
    rank, states, branches = nerve_decisions(rs, nf, nid, seg_verdicts.rank, seg_verdicts.graded,
                                             seg_verdicts.item_states, seg_verdicts.carry_states)
    has_segment = np.bincount(nid, minlength=n) > 0
    order = list(states)
    mask = np.zeros(n, dtype=np.int64)
    for j, it in enumerate(order):
        mask |= (states[it] == ci.T).astype(np.int64) << j
    items_met = ci.objects_for_codes(mask, lambda code: tuple(it for j, it in enumerate(order) if code >> j & 1))
    label = _labels(rs, rank, mask, items_met)
    if rs.level_scope == "segment":
        label[~has_segment] = level_words("not-assessable")  # serialize._level_label: no segment verdict to word it
    return NerveColumns(rs.id, _level_codes(rs, rank, mask), label, items_met, rank, states, branches if details else None)


def nerve_decisions(rs: RuleSet, nf: Mapping[str, np.ndarray], nid: np.ndarray, seg_rank: np.ndarray,
                    graded: np.ndarray, seg_item_states: Mapping[str, np.ndarray],
                    carry_states: Mapping[str, np.ndarray] | None = None):
    """Nerve level rank, item states and nerve-item branch codes of checked frames.

    A segment item is met on a nerve when met in any graded segment, not assessable when no
    segment is graded, or when it is met in none but a comparison excluded at a compression
    site could carry it (``carry_states``, from-distal tables); a nerve item is decided by
    :func:`._columns_items.nerve_item_detail`.
    Returns ``(rank, states, branches)``: int8 ranks per nerve, int8 state arrays per item
    (segment items first, then nerve items, table order), int8 branch arrays per nerve item.
    """
    n = len(nf["nerve"])
    rank = np.full(n, -1, dtype=np.int8)
    np.maximum.at(rank, nid, seg_rank)
    g_nid = nid[graded]
    has_graded = np.bincount(g_nid, minlength=n) > 0
    states: dict[str, np.ndarray] = {}
    for it in ordered_items(rs.segment_rules):  # met in any graded segment; None when none graded
        merged = np.zeros(n, dtype=np.int8)
        np.maximum.at(merged, g_nid, seg_item_states[it][graded])
        merged = np.where(has_graded, merged, ci.N).astype(np.int8)
        if carry_states and it in carry_states:
            could = np.zeros(n, dtype=np.int8)
            np.maximum.at(could, nid, carry_states[it])
            merged = np.where((merged == ci.F) & (could != ci.F), ci.N, merged).astype(np.int8)
        states[it] = merged
    eqc = ci.EqCache(nf)
    branches: dict[str, np.ndarray] = {}
    for item in rs.nerve_items:
        states[item.item], branches[item.item] = ci.nerve_item_detail(item, nf, eqc)
    return rank, states, branches
