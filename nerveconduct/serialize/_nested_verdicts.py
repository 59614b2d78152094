"""The worded verdicts of the nested nerve records, written from the criteria columns.

Private. What :meth:`~.verdicts.VerdictCells.cells` gives for ``kind="record"``: per segment
the JSON object ``{rule_set_id: {level, label, items, reasons, excluded_by}}``, per nerve
``{rule_set_id: {level, label, items_met, items}}`` — the same text, byte for byte, as the
verdict objects of :func:`nerveconduct.criteria.evaluate_nerves` rendered by the cell rule,
without making those objects for most nerves.

Every decision comes from the column evaluator (:func:`~nerveconduct.criteria.columns.evaluate_segment_columns`
and :func:`~nerveconduct.criteria.columns.evaluate_nerve_columns` with ``details=True``) and
every sentence from the column-wise wording (:mod:`nerveconduct.criteria._reasons_columns`):
this module only puts them together. A nerve whose verdicts need a sentence those do not
word (a segment across a compression site or from Erb's point, an absent response, a
measurement note, a rule worded from the nerve itself, a caveat, ...) is evaluated and
worded by :func:`~nerveconduct.criteria.evaluate_nerves` as before, on a table of those
nerves only; its cells take their place in the output.

The sentences are made by the column-wise wording (Python lists; Arrow's string kernels
cost more per value than a Python f-string of a whole sentence); quoting them as JSON
strings and putting the objects together is done in Arrow (element-wise joins over whole
columns; a missing value marks a nerve worded per nerve), so the cells come out as Arrow
string arrays, one per kind.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..criteria import _columns_items as ci
from ..criteria._common import resolve_options
from ..criteria._reasons import _why_not, decisions_as_lists
from ..criteria._reasons_columns import nerve_item_texts, rule_texts
from ..criteria.columns import evaluate_nerve_columns, evaluate_segment_columns, nerve_frame, segment_frame
from ._nested import Column, as_array, as_column, join_columns

__all__ = ["record_verdict_cells"]

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_enc = _JSON.encode
_F, _N, _T = int(ci.F), int(ci.N), int(ci.T)
#: Segment outcome of a comparison the rules grade (``_columns_rules.OUTCOMES``).
_GRADED_OUTCOME = 5


def _needs_escaping(col: pa.Array) -> bool:
    """Whether some text of a string array holds a character that JSON escapes
    (``ensure_ascii=False``: a control character, ``"`` or ``\\``), from its UTF-8 bytes (the
    bytes of those characters occur in no other character's encoding)."""
    _, offset_buffer, data_buffer = col.buffers()
    if data_buffer is None:  # only empty texts
        return False
    offsets = np.frombuffer(offset_buffer, dtype=np.int32, count=len(col) + 1, offset=4 * col.offset)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(((data < 0x20) | (data == 0x22) | (data == 0x5C)).any())


def _quoted(texts: Column | list) -> Column:
    """Each text of a column as a JSON string (missing values kept): quoted as it is unless
    some text of the column needs escaping (checked once for the column), then by :mod:`json`."""
    col = as_column(texts)
    if isinstance(col, str):
        return _enc(col)
    if len(col) - col.null_count == 0:
        return col
    if _needs_escaping(col):
        return pa.array([None if t is None else _enc(t) for t in col.to_pylist()], pa.string())
    return pc.binary_join_element_wise('"', col, '"', "")


def _json_texts(values: np.ndarray) -> Column:
    """JSON text of each value of an object column (str, None or tuple of str), each distinct
    value encoded once."""
    cache: dict[Any, str] = {}
    out = []
    for v in values.tolist():
        text = cache.get(v)
        if text is None:
            text = cache[v] = _enc(list(v) if isinstance(v, tuple) else v)
        out.append(text)
    return as_column(out)


def _pick(codes: np.ndarray, texts: list[str]) -> Column:
    """``texts[code]`` per row (a missing value where ``code < 0``)."""
    codes = np.asarray(codes, dtype=np.int32)
    if len(codes) and (codes == codes[0]).all() and codes[0] >= 0:
        return texts[int(codes[0])]
    return pc.take(pa.array(texts, pa.string()), pa.array(codes, mask=codes < 0))


class _RuleSetCells:
    """One rule set's verdict cells for the nerves and segments of one table: ``segment`` and
    ``nerve``, Arrow string arrays or one text for every row; a missing value marks a nerve
    worded per nerve (``slow`` is set for it)."""

    def __init__(self, rs: Any, table: Any, sf: dict, nf: dict, slow: np.ndarray) -> None:
        self.rs = rs
        mode, _, _, _ = resolve_options(rs, None, None, None, None)
        sc = evaluate_segment_columns(rs, sf, details=True)
        nc = evaluate_nerve_columns(rs, nf, sf, sc, details=True)
        d = sc.decisions
        lists = decisions_as_lists(d)
        texts = rule_texts(rs, lists)
        seg, nv = table.segment, table.nerve
        n_seg = len(seg["index"])
        nrow = seg["nerve_row"]
        # ---- segments: a segment outside the common case makes its nerve a fallback
        plain = ((d.outcome == _GRADED_OUTCOME) & ~np.asarray(d.entrapment, dtype=bool)
                 & ~np.asarray(d.erbs, dtype=bool))
        plain &= np.fromiter((not f for f in seg["flags"].tolist()), dtype=bool, count=n_seg)
        slow[np.unique(nrow[~plain])] = True
        nerve_names = sf["nerve"].tolist()
        pieces: list[Column] = []  # the reasons array: "[" rule, ", ", rule, ... "]"
        short = rs.short_name
        for rule, rc, col in zip(rs.segment_rules, lists.rules, texts):
            if col is None:  # a rule worded per nerve only (ratio bands)
                slow[np.unique(nrow)] = True
                quoted: Column = pa.nulls(n_seg, pa.string())
            else:
                col = list(col)
                heads: dict[tuple[int, str], str] = {}
                for k in (k for k, why in enumerate(rc.why_not) if why):
                    key = (rc.why_not[k], nerve_names[k])
                    text = heads.get(key)
                    if text is None:
                        text = heads[key] = (f"{short} {rule.label}: not applicable "
                                             f"({_why_not(rule, key[0], key[1])})")
                    col[k] = text
                quoted = _quoted(col)
            pieces += [", ", quoted]
        no_rule = _enc(f"{short}: no rule of this rule set applies to this segment")
        not_applicable = np.asarray(sc.excluded_by == "not-applicable", dtype=bool)
        reasons_parts = ["[", *pieces[1:]]
        if not_applicable.any():  # the rules' sentences, then why none of them applies
            tail = f", {no_rule}" if pieces else no_rule
            reasons_parts.append(tail if not_applicable.all() else pc.if_else(pa.array(not_applicable), tail, ""))
        reasons = join_columns(reasons_parts + ["]"])
        self.segment = join_columns([
            f'{_enc(rs.id)}: {{"level": ', _json_texts(sc.level), ', "label": ', _json_texts(sc.label),
            ', "items": ', _json_texts(sc.items), ', "reasons": ', reasons, ', "excluded_by": ',
            _json_texts(sc.excluded_by), "}"])
        # ---- nerves
        n = table.n_nerves
        by_level = rs.level_scope == "segment"
        states = {k: np.asarray(v) for k, v in nc.item_states.items()}
        branches = {k: v.tolist() for k, v in nc.item_branches.items()}
        seg_items: list[tuple[str, str, str]] = []
        for rule in rs.segment_rules:
            if rule.item not in (it for it, _, _ in seg_items):
                name = rule.item if rule.item == rule.label else f"{rule.item} ({rule.label})"
                seg_items.append((rule.item, rule.label, f"{rs.short_name} {name}: "))
        nerve_items = [(item.item, item.label) for item in rs.nerve_items]
        if len({it for it, _, _ in seg_items} | {it for it, _ in nerve_items}) < len(seg_items) + len(nerve_items):
            slow[:] = True  # an item id shared by a segment rule and a nerve item: worded per nerve
        # segment names as the nerve verdict words them, and each segment's items met
        if mode == "adjacent":
            names = seg["segment"].tolist()
        else:  # no compression site crossed (else a fallback): every comparison starts at the first site
            first = table.site["name"][nv["first_row"][nrow]].tolist()
            names = [f"{a}\u2013{b}" for a, b in zip(first, seg["proximal_site"].tolist())]
        seg_levels = sc.level.tolist()
        seg_item_sets = sc.items.tolist()
        graded = np.zeros(n, dtype=bool)
        graded[nrow[sc.graded]] = True
        starts = np.searchsorted(nrow, np.arange(n + 1)).tolist()
        members: list[Column] = []  # per item: its JSON member on every nerve (missing: worded per nerve)
        for it, label, head_text in seg_items:
            start = f'{_enc(it)}: {{"label": {_enc(label)}, "met": '
            st = states[it]
            codes = np.full(n, -1, dtype=np.int32)  # 0 not met, 1 nothing graded, 2.. met (per nerve)
            codes[st == _F] = 0
            codes[(st != _F) & (st != _T) & ~graded] = 1
            met_at = np.flatnonzero(st == _T)
            met_texts: list[str] = []
            for i in met_at.tolist():
                where = ", ".join(f"{names[k]} ({seg_levels[k]})" if by_level else names[k]
                                  for k in range(starts[i], starts[i + 1]) if it in seg_item_sets[k])
                met_texts.append(f"{head_text}met in {where}")
            codes[met_at] = np.arange(2, 2 + len(met_at), dtype=np.int32)
            quoted_met = as_array(_quoted(met_texts), len(met_texts)).to_pylist()
            nothing = head_text + "not assessable: no segment that this rule set grades"
            members.append(_pick(codes, [
                f'{start}false, "reasons": [{_enc(head_text + "not met in any segment")}]}}',
                f'{start}null, "reasons": [{_enc(nothing)}]}}',
                *(f'{start}true, "reasons": [{text}]}}' for text in quoted_met)]))
        for item in rs.nerve_items:
            st = states[item.item]
            words = _pick(np.select([st == _T, st == _F], [2, 0], 1), ["false", "null", "true"])
            sentences = nerve_item_texts(item, rs, nf, st.tolist(), branches[item.item])
            members.append(join_columns([f'{_enc(item.item)}: {{"label": {_enc(item.label)}, "met": ', words,
                                         ', "reasons": [', _quoted(sentences), "]}"]))
        items: list[Column] = []
        for member in members:
            items += [", ", member]
        self.nerve = join_columns([
            f'{_enc(rs.id)}: {{"level": ', _json_texts(nc.level), ', "label": ', _json_texts(nc.label),
            ', "items_met": ', _json_texts(nc.items_met), ', "items": {', *items[1:], "}}"])


def record_verdict_cells(table: Any, rule_sets: Sequence[Any], fallback: Any) -> dict[str, pa.Array]:
    """``segment_record`` and ``nerve_record`` cells of every segment and nerve of ``table``.

    Parameters
    ----------
    table : NerveTable
    rule_sets : sequence of RuleSet
        In output order.
    fallback : callable
        ``fallback(sub_table)`` -> the same two lists for a table of some of the nerves, worded
        from the verdict objects (the nerves this module does not word).

    Returns
    -------
    dict
        ``{"segment_record": ..., "nerve_record": ...}``: Arrow string arrays of JSON object
        texts, one per segment and one per nerve.
    """
    n = table.n_nerves
    n_seg = len(table.segment["index"])
    if not rule_sets:
        return {"segment_record": as_array("{}", n_seg), "nerve_record": as_array("{}", n)}
    slow = np.zeros(n, dtype=bool)
    if n_seg:  # a compression site crossed anywhere in a nerve: its comparisons are worded per nerve
        crossing = ((table.segment["entrapment_site"] != None)  # noqa: E711 (object array)
                    | np.asarray(table.segment["across_entrapment_site"], dtype=bool))
        slow[table.segment["nerve_row"][crossing]] = True
    sf, nf = segment_frame(table), nerve_frame(table)
    try:
        per_rs = [_RuleSetCells(rs, table, sf, nf, slow) for rs in rule_sets]
    except NotImplementedError:  # a table feature the column evaluator lacks: every nerve worded per nerve
        return _arrays(fallback(table), n, n_seg)
    nrow = table.segment["nerve_row"]
    seg_cells = as_array(_objects([c.segment for c in per_rs]), n_seg)
    nerve_cells = as_array(_objects([c.nerve for c in per_rs]), n)
    if nerve_cells.null_count:
        slow |= np.asarray(nerve_cells.is_null())
    if seg_cells.null_count:
        slow[nrow[np.asarray(seg_cells.is_null())]] = True
    if slow.any():
        slow_idx = np.flatnonzero(slow)
        worded = fallback(table.take(slow_idx))
        nerve_cells = pc.replace_with_mask(nerve_cells, pa.array(slow), as_array(worded["nerve_record"]))
        seg_slow = slow[nrow]
        if seg_slow.any():
            seg_cells = pc.replace_with_mask(seg_cells, pa.array(seg_slow), as_array(worded["segment_record"]))
    return {"segment_record": seg_cells, "nerve_record": nerve_cells}


def _objects(parts: list[Column]) -> Column:
    """``{part, part, ...}`` per row."""
    pieces: list[Column] = []
    for part in parts:
        pieces += [", ", part]
    return join_columns(["{", *pieces[1:], "}"])


def _arrays(cells: dict[str, list[str]], n: int, n_seg: int) -> dict[str, pa.Array]:
    """Record cells given as lists, as Arrow arrays."""
    return {"segment_record": as_array(cells["segment_record"], n_seg),
            "nerve_record": as_array(cells["nerve_record"], n)}
