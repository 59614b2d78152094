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
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from ..criteria import _columns_items as ci
from ..criteria._common import resolve_options
from ..criteria._reasons import _why_not, decisions_as_lists
from ..criteria._reasons_columns import nerve_item_texts, rule_texts
from ..criteria.columns import evaluate_nerve_columns, evaluate_segment_columns, nerve_frame, segment_frame

__all__ = ["record_verdict_cells"]

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_enc = _JSON.encode
_F, _N, _T = int(ci.F), int(ci.N), int(ci.T)
#: Segment outcome of a comparison the rules grade (``_columns_rules.OUTCOMES``).
_GRADED_OUTCOME = 5


def _quoted(texts: list) -> list:
    """Each text of a column as a JSON string (``None`` kept): quoted as it is unless some
    text of the column needs escaping (checked once for the column), then by :mod:`json`."""
    joined = "".join([t for t in texts if t is not None])
    if '"' not in joined and "\\" not in joined and joined.isprintable():  # nothing to escape
        return [None if t is None else f'"{t}"' for t in texts]
    return [None if t is None else _enc(t) for t in texts]


class _RuleSetCells:
    """One rule set's verdict cells for the nerves and segments of one table (or a fallback mark)."""

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
        rule_cols: list[list[str | None]] = []
        short = rs.short_name
        for rule, rc, col in zip(rs.segment_rules, lists.rules, texts):
            if col is None:  # a rule worded per nerve only (ratio bands)
                slow[np.unique(nrow)] = True
                col = [None] * n_seg
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
            rule_cols.append(_quoted(col))
        no_rule = _enc(f"{short}: no rule of this rule set applies to this segment")
        excluded = sc.excluded_by.tolist()
        reasons_of = []
        for k, checks in enumerate(zip(*rule_cols)) if rule_cols else enumerate([()] * n_seg):
            if None in checks:
                slow[nrow[k]] = True
                reasons_of.append(None)
                continue
            reasons_of.append("[" + ", ".join(checks + (no_rule,) if excluded[k] == "not-applicable" else checks)
                              + "]")
        head = f'{_enc(rs.id)}: {{"level": '
        level_json, label_json = self._texts(sc.level), self._texts(sc.label)
        items_json = self._texts(sc.items)
        excl_json = self._texts(sc.excluded_by)
        self.segment = [None if r is None else
                        f'{head}{lv}, "label": {lb}, "items": {it}, "reasons": {r}, "excluded_by": {ex}}}'
                        for r, lv, lb, it, ex in zip(reasons_of, level_json, label_json, items_json, excl_json)]
        # ---- nerves
        n = table.n_nerves
        by_level = rs.level_scope == "segment"
        states = {k: v.tolist() for k, v in nc.item_states.items()}
        branches = {k: v.tolist() for k, v in nc.item_branches.items()}
        item_texts = {item.item: nerve_item_texts(item, rs, nf, states[item.item], branches[item.item])
                      for item in rs.nerve_items}
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
        graded_list = graded.tolist()
        starts = np.searchsorted(nrow, np.arange(n + 1)).tolist()
        item_keys = {it: _enc(it) for it, _, _ in seg_items}
        item_keys.update((it, _enc(it)) for it, _ in nerve_items)
        item_labels = {it: _enc(label) for it, label, _ in seg_items}
        item_labels.update((it, _enc(label)) for it, label in nerve_items)
        met_word = {_T: "true", _F: "false", _N: "null"}
        cols: list[list[str | None]] = []  # per item: its JSON member on every nerve (None: worded per nerve)
        for it, label, head_text in seg_items:
            start = f'{item_keys[it]}: {{"label": {item_labels[it]}, "met": '
            not_met = f'{start}false, "reasons": [{_enc(head_text + "not met in any segment")}]}}'
            nothing = (f'{start}null, "reasons": '
                       f'[{_enc(head_text + "not assessable: no segment that this rule set grades")}]}}')
            met_texts: list[str] = []
            at: list[int] = []
            col: list[str | None] = []
            for i, st in enumerate(states[it]):
                if st == _F:
                    col.append(not_met)
                elif st == _T:
                    where = ", ".join(f"{names[k]} ({seg_levels[k]})" if by_level else names[k]
                                      for k in range(starts[i], starts[i + 1]) if it in seg_item_sets[k])
                    met_texts.append(f"{head_text}met in {where}")
                    at.append(i)
                    col.append(None)
                else:  # not assessable: worded here when no segment is graded
                    col.append(None if graded_list[i] else nothing)
            for i, text in zip(at, _quoted(met_texts)):
                col[i] = f'{start}true, "reasons": [{text}]}}'
            cols.append(col)
        for it, _ in nerve_items:
            start = f'{item_keys[it]}: {{"label": {item_labels[it]}, "met": '
            cols.append([None if text is None else f'{start}{met_word[st]}, "reasons": [{text}]}}'
                         for text, st in zip(_quoted(item_texts[it]), states[it])])
        level_json, label_json = self._texts(nc.level), self._texts(nc.label)
        met_json = self._texts(nc.items_met)
        out: list[str | None] = []
        for i, (members, lv, lb, met, is_slow) in enumerate(zip(zip(*cols) if cols else [()] * n, level_json,
                                                                  label_json, met_json, slow.tolist())):
            if is_slow or None in members:
                slow[i] = True
                out.append(None)
            else:
                out.append(f'{head}{lv}, "label": {lb}, "items_met": {met}, "items": {{{", ".join(members)}}}}}')
        self.nerve = out

    @staticmethod
    def _texts(values: np.ndarray) -> list[str]:
        """JSON text of each value of an object column (str, None or tuple of str), each
        distinct value encoded once."""
        cache: dict[Any, str] = {}
        out = []
        for v in values.tolist():
            text = cache.get(v)
            if text is None:
                text = cache[v] = _enc(list(v) if isinstance(v, tuple) else v)
            out.append(text)
        return out


def record_verdict_cells(table: Any, rule_sets: Sequence[Any], fallback: Any) -> dict[str, list[str]]:
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
        ``{"segment_record": [...], "nerve_record": [...]}``: JSON object texts.
    """
    n = table.n_nerves
    n_seg = len(table.segment["index"])
    if not rule_sets:
        return {"segment_record": ["{}"] * n_seg, "nerve_record": ["{}"] * n}
    slow = np.zeros(n, dtype=bool)
    if n_seg:  # a compression site crossed anywhere in a nerve: its comparisons are worded per nerve
        crossing = ((table.segment["entrapment_site"] != None)  # noqa: E711 (object array)
                    | np.asarray(table.segment["across_entrapment_site"], dtype=bool))
        slow[table.segment["nerve_row"][crossing]] = True
    sf, nf = segment_frame(table), nerve_frame(table)
    try:
        per_rs = [_RuleSetCells(rs, table, sf, nf, slow) for rs in rule_sets]
    except NotImplementedError:  # a table feature the column evaluator lacks: every nerve worded per nerve
        return fallback(table)
    nrow = table.segment["nerve_row"]
    seg_cells = ["{" + ", ".join(parts) + "}" if None not in parts else None
                 for parts in zip(*[c.segment for c in per_rs])] if n_seg else []
    nerve_cells = ["{" + ", ".join(parts) + "}" if None not in parts else None
                   for parts in zip(*[c.nerve for c in per_rs])]
    slow_idx = np.flatnonzero(slow)
    if len(slow_idx):
        worded = fallback(table.take(slow_idx))
        for i, cell in zip(slow_idx.tolist(), worded["nerve_record"]):
            nerve_cells[i] = cell
        seg_pos = np.flatnonzero(slow[nrow]).tolist()
        for k, cell in zip(seg_pos, worded["segment_record"]):
            seg_cells[k] = cell
    return {"segment_record": seg_cells, "nerve_record": nerve_cells}
