"""Columnar criteria evaluation: the verdicts of a rule set for thousands of nerves at once.

The object path (:func:`~nerveconduct.criteria.engine.evaluate`,
:func:`~nerveconduct.criteria.patient.evaluate_nerve`) grades one nerve at a time. Here the
same decisions are made on numpy arrays: a *segment frame* (one entry per segment of every
nerve, :func:`segment_frame`) and a *nerve frame* (one entry per nerve, :func:`nerve_frame`)
go through a bounded number of array operations per rule, item, band and segment pair — no
Python loop over segments or nerves. The results equal the object path's ``level``,
``label``, ``items`` and ``excluded_by`` of every segment, and the ``verdict_<id>_level``,
``_label`` and ``_items_met`` columns of :func:`nerveconduct.serialize_rows.nerve_row`.
Reasons (the sentences) stay in the object path.

A batch builds the two frames from its own arrays (the keys below are the contract) or with
:func:`segment_frame` / :func:`nerve_frame` from :class:`~nerveconduct.model.NerveResult`
objects, then calls :func:`check_supported` once per rule set and the two evaluators.

Conventions: NaN stands for a missing number (``None`` in the objects); object columns hold
``str`` or ``None``. So a normal limit that is NaN (rather than ``None``) counts as missing
here; the limit tables never hold one (:mod:`nerveconduct.limits` stores ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from . import _columns_items as ci
from ._columns_frames import nerve_frame, segment_frame
from ._columns_items import NERVE_KEYS, SEGMENT_KEYS, checked_frame, nerve_frame_from_columns
from .engine import resolve_options
from .registry import get_rule_set
from .tables import MEASURES, NERVE_MEASURES, RuleSet
from .verdicts import LEVELS, level_rank

__all__ = ["segment_frame", "nerve_frame", "nerve_frame_from_columns", "SEGMENT_KEYS", "NERVE_KEYS", "check_supported",
           "SegmentColumns", "NerveColumns", "evaluate_segment_columns", "evaluate_nerve_columns"]

#: Level codes: ``level_rank`` + 1 indexes this (not-assessable, none, possible, probable, definite).
_LEVELS_BY_RANK = tuple(sorted(LEVELS, key=level_rank))
_EXCLUDED = (None, "nerve", "entrapment", "erbs-point", "not-applicable")
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
    n_items = len(_ordered_items(rs.segment_rules)) + len(rs.nerve_items)
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
        One of :data:`~nerveconduct.criteria.verdicts.LEVELS`, as ``SegmentVerdict.level``.
    label : ndarray of object (str)
        The rule set's wording of the level, as ``SegmentVerdict.label``.
    items : ndarray of object (tuple of str)
        Item ids met, in the engine's order, as ``SegmentVerdict.items``.
    excluded_by : ndarray of object (str or None)
        As ``SegmentVerdict.excluded_by``.
    rank : ndarray of int8
        :func:`~nerveconduct.criteria.verdicts.level_rank` of ``level``.
    graded : ndarray of bool
        ``excluded_by is None`` (the segments a nerve's segment items are merged over).
    item_states : dict of str to ndarray of int8
        Per segment-rule item: 0 not met, 1 not assessable, 2 met — the value the nerve merge
        of :func:`~nerveconduct.criteria.patient.evaluate_nerve` reads (meaningful where
        ``graded``).
    """

    rule_set_id: str
    level: np.ndarray
    label: np.ndarray
    items: np.ndarray
    excluded_by: np.ndarray
    rank: np.ndarray
    graded: np.ndarray
    item_states: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class NerveColumns:
    """One rule set's verdicts on every nerve of a nerve frame (arrays of its length).

    Attributes
    ----------
    rule_set_id : str
    level, label : ndarray of object (str)
        ``verdict_<id>_level`` / ``verdict_<id>_label`` of :func:`~nerveconduct.serialize_rows.nerve_row`.
    items_met : ndarray of object (tuple of str)
        ``verdict_<id>_items_met`` (as a tuple, same order).
    rank : ndarray of int8
        :func:`~nerveconduct.criteria.verdicts.level_rank` of ``level``.
    item_states : dict of str to ndarray of int8
        Every item of the rule set (table order): 0 not met, 1 not assessable, 2 met.
    """

    rule_set_id: str
    level: np.ndarray
    label: np.ndarray
    items_met: np.ndarray
    rank: np.ndarray
    item_states: Mapping[str, np.ndarray]


def _ordered_items(rules) -> list[str]:
    return list(dict.fromkeys(r.item for r in rules))


def evaluate_segment_columns(rule_set: str | RuleSet, seg_frame: Mapping[str, np.ndarray], *,
                             exclude_entrapment: bool | None = None, include_erbs_point: bool | None = None,
                             comparison: str | None = None) -> SegmentColumns:
    """Apply a rule set to every segment of a segment frame, as :func:`~nerveconduct.criteria.engine.evaluate`.

    Parameters
    ----------
    rule_set : str or RuleSet
        A rule-set id or a loaded table.
    seg_frame : mapping of str to ndarray
        The keys of :data:`SEGMENT_KEYS` (see :func:`segment_frame`), one entry per segment;
        ``nerve_id`` and ``index`` identify each segment (any order).
    exclude_entrapment, include_erbs_point, comparison
        Overrides of the table, as for :func:`~nerveconduct.criteria.engine.evaluate`.

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
    mode, excl, incl_erbs = resolve_options(rs, exclude_entrapment, include_erbs_point, comparison)
    f = checked_frame(seg_frame, SEGMENT_KEYS, "seg_frame")
    if len(f["nerve_id"]) and f["nerve_id"].min() < 0:
        raise ValueError(f"seg_frame nerve_id must be >= 0, got {f['nerve_id'].min()}")
    c, ent, erbs = ci.compared(f, mode)
    eqc = ci.EqCache(c)
    n = len(f["nerve_id"])
    known = f["known_nerve"]
    # exclusions by design, then absent responses (engine._segment's order)
    by_nerve = eqc.isin("nerve", rs.excluded_nerves)
    by_ent = ~by_nerve & ent if excl else np.zeros(n, dtype=bool)
    by_erbs = ~by_nerve & ~by_ent & erbs if not incl_erbs else np.zeros(n, dtype=bool)
    remaining = ~(by_nerve | by_ent | by_erbs)
    p_abs = remaining & ~c["distal_absent"] & f["proximal_absent"]
    ruled = remaining & ~c["distal_absent"] & ~f["proximal_absent"]
    # every rule on every segment
    items = _ordered_items(rs.segment_rules)
    states = {it: np.zeros(n, dtype=np.int8) for it in items}
    best = np.full(n, -2, dtype=np.int8)  # strongest level of a met rule (-2: none met)
    applicable = np.zeros(n, dtype=bool)
    unassessable = np.zeros(n, dtype=bool)
    met_mask = np.zeros(n, dtype=np.int64)
    for j, rule in enumerate(rs.segment_rules):
        app = ci.applies(rule, eqc, known)
        ok = np.where(app, ci.rule_state(rule, c, f["amplitude_lln_mv"]), ci.F)
        met = ok == ci.T
        applicable |= app
        unassessable |= ok == ci.N
        best = np.where(met, np.maximum(best, level_rank(rule.level)), best).astype(np.int8)
        met_mask |= met.astype(np.int64) << j
        states[rule.item] = np.maximum(states[rule.item], ok)
    any_met = best > -2
    rule_rank = np.where(any_met, best, np.where(applicable & ~unassessable, 0, -1))
    possible = rs.absent_proximal == "possible"
    rank = np.full(n, -1, dtype=np.int8)
    rank[ruled] = rule_rank[ruled]
    if possible:
        rank[p_abs] = level_rank("possible")
    excluded = np.select([by_nerve, by_ent, by_erbs, ruled & ~any_met & ~applicable], [1, 2, 3, 4], 0)
    mask = np.where(ruled, met_mask, 0)
    if possible:
        mask |= p_abs.astype(np.int64) << len(rs.segment_rules)
    graded = excluded == 0
    default = ci.F if possible else ci.N  # early verdicts have no item results: level decides
    for it in items:
        states[it] = np.where(ruled, states[it], np.where(p_abs, default, ci.N)).astype(np.int8)
    rules = rs.segment_rules

    def items_of(code: int) -> tuple[str, ...]:
        if code >> len(rules):
            return (_ABSENT_PROXIMAL_ITEM,)
        return tuple(dict.fromkeys(r.item for j, r in enumerate(rules) if code >> j & 1))

    levels = np.array(_LEVELS_BY_RANK, dtype=object)
    labels = np.array([rs.label_for(lv) for lv in _LEVELS_BY_RANK], dtype=object)
    return SegmentColumns(rs.id, levels[rank + 1], labels[rank + 1], ci.objects_for_codes(mask, items_of),
                          np.array(_EXCLUDED, dtype=object)[excluded], rank, graded, states)


def evaluate_nerve_columns(rule_set: str | RuleSet, nerve_frame: Mapping[str, np.ndarray],
                           seg_frame: Mapping[str, np.ndarray], seg_verdicts: SegmentColumns | None = None,
                           **overrides: bool | str | None) -> NerveColumns:
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
    rank = np.full(n, -1, dtype=np.int8)
    np.maximum.at(rank, nid, seg_verdicts.rank)
    has_segment = np.bincount(nid, minlength=n) > 0
    g_nid = nid[seg_verdicts.graded]
    has_graded = np.bincount(g_nid, minlength=n) > 0
    states: dict[str, np.ndarray] = {}
    for it in _ordered_items(rs.segment_rules):  # met in any graded segment; None when none graded
        merged = np.zeros(n, dtype=np.int8)
        np.maximum.at(merged, g_nid, seg_verdicts.item_states[it][seg_verdicts.graded])
        states[it] = np.where(has_graded, merged, ci.N).astype(np.int8)
    eqc = ci.EqCache(nf)
    for item in rs.nerve_items:
        states[item.item] = ci.nerve_item_state(item, nf, eqc)
    order = list(states)
    mask = np.zeros(n, dtype=np.int64)
    for j, it in enumerate(order):
        mask |= (states[it] == ci.T).astype(np.int64) << j
    levels = np.array(_LEVELS_BY_RANK, dtype=object)
    label = np.array([rs.label_for(lv) for lv in _LEVELS_BY_RANK], dtype=object)[rank + 1]
    label[~has_segment] = "not-assessable"  # serialize._level_label: no segment verdict to word it
    items_met = ci.objects_for_codes(mask, lambda code: tuple(it for j, it in enumerate(order) if code >> j & 1))
    return NerveColumns(rs.id, levels[rank + 1], label, items_met, rank, states)
