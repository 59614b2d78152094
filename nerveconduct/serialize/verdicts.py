"""The verdict cells of rows and records: per rule set, per segment and per nerve.

:func:`verdict_cells` gathers the verdicts of the nerves of a table in one of two ways:

- **columns**: the rule sets evaluated column-wise on the table's frames
  (:mod:`nerveconduct.criteria.columns`): level, label, items, excluded_by and items met,
  without sentences — the fast way for flat tables;
- **worded**: the verdicts of :func:`nerveconduct.criteria.evaluate_nerves` (or verdicts a
  caller passes per nerve), with their reasons — for the nested records and ``reasons``.
  For the nested records of rule sets evaluated here, the same text is written from the
  criteria columns (:mod:`._nested_verdicts`); only the nerves whose sentences the columns
  do not word become verdict objects.

Both render through the one cell rule (:class:`~.cells.Cells`). The decisions are the same
either way (one evaluator); only the worded verdicts carry sentences.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..criteria.verdicts import level_rank, level_words
from .cells import Cells

__all__ = ["SEGMENT_VERDICT_FIELDS", "VerdictCells", "verdict_cells", "verdict_map"]

#: Fields of a segment's verdict (flat columns ``verdict_R_<field>``, nested record keys).
SEGMENT_VERDICT_FIELDS: tuple[str, ...] = ("level", "label", "items", "reasons", "excluded_by")


def verdict_map(verdicts: Any) -> dict[str, Any]:
    """Normalise the verdicts given with a result to ``{rule_set_id: verdict}``.

    A verdict is what the criteria engine returns for one nerve and one rule set: a
    :class:`~nerveconduct.criteria.verdicts.NerveVerdict`, or the list of
    :class:`~nerveconduct.criteria.verdicts.SegmentVerdict` of
    :func:`~nerveconduct.criteria.engine.evaluate`.

    ``verdicts`` is ``None``, a mapping of rule-set id to verdict, or a flat sequence of
    NerveVerdict and/or SegmentVerdict objects (grouped by ``rule_set_id``, in the order
    given; segment verdicts into tuples). A :class:`TypeError` names an element without a
    ``rule_set_id``.
    """
    if verdicts is None:
        return {}
    if isinstance(verdicts, Mapping):
        return {str(k): (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in verdicts.items()}
    out: dict[str, Any] = {}
    for i, verdict in enumerate(verdicts):
        rule_set_id = getattr(verdict, "rule_set_id", None)
        if not isinstance(rule_set_id, str):
            raise TypeError(f"verdicts[{i}] must be a NerveVerdict or SegmentVerdict (with a "
                            f"rule_set_id), got {type(verdict).__name__}")
        if hasattr(verdict, "segment_index"):
            out[rule_set_id] = tuple(out.get(rule_set_id, ())) + (verdict,)
        else:
            out[rule_set_id] = verdict
    return out


def _segment_verdicts(verdict: Any) -> tuple[Any, ...]:
    """The SegmentVerdicts of a NerveVerdict, or the segment verdicts themselves."""
    segments = getattr(verdict, "segments", None)
    return tuple(segments) if segments is not None else tuple(verdict)


def _level_label(level: str, segments: Sequence[Any]) -> str:
    """The rule set's wording of ``level``: the label of a segment verdict at that level."""
    return next((s.label for s in segments if s.level == level), level_words(level))


def _nerve_verdict(verdict: Any) -> dict[str, Any]:
    """A nerve's verdict of one rule set: level, label, items met and (worded) items."""
    segments = _segment_verdicts(verdict)
    if hasattr(verdict, "met_items"):  # NerveVerdict
        return {
            "level": verdict.level, "label": getattr(verdict, "label", "") or _level_label(verdict.level, segments),
            "items_met": list(verdict.met_items()),
            "items": {key: {"label": item.label, "met": item.met, "reasons": list(item.reasons)}
                      for key, item in verdict.items.items()},
        }
    level = max((s.level for s in segments), key=level_rank, default="not-assessable")
    met: list[str] = []
    for seg in segments:
        met += [item for item in seg.items if item not in met]
    return {"level": level, "label": _level_label(level, segments), "items_met": met, "items": {}}


class VerdictCells:
    """The verdicts of a table's nerves, ready to render (see :func:`verdict_cells`)."""

    def __init__(self, table: Any, rule_set_ids: Sequence[str], *, columns: Mapping[str, Any] | None = None,
                 worded: Sequence[Mapping[str, Any]] | None = None, reasons: bool = True,
                 rule_sets: Sequence[Any] | None = None) -> None:
        self.table = table
        self.rule_set_ids = tuple(rule_set_ids)
        self._columns = columns
        self._worded_given = worded
        self._rule_sets = rule_sets
        self.reasons = reasons

    @property
    def _worded(self) -> Sequence[Mapping[str, Any]]:
        """Each nerve's verdict objects (``{rule_set_id: NerveVerdict}``), evaluated on first use."""
        if self._worded_given is None:
            self._worded_given = _evaluated(self.table, self._rule_sets or ())
        return self._worded_given

    def cells(self, kind: str, cells: Cells) -> dict[str, list[str]]:
        """Rendered cells of rows of ``kind``: ``verdict_R_*`` columns of segment or nerve rows;
        for records, ``segment_record`` and ``nerve_record`` (JSON objects per segment / nerve)."""
        if kind == "site":
            return {}
        if self._columns is not None:
            return self._from_columns(kind, cells)
        if kind == "record":
            return {k: v if isinstance(v, list) else v.to_pylist() for k, v in self.record_cells(cells).items()}
        return self._from_worded(kind, cells)

    def record_cells(self, cells: Cells) -> dict[str, Any]:
        """The cells of :meth:`cells` for ``kind="record"``, each kind a list of texts or an Arrow
        string array (what the nested records are assembled from)."""
        if self._columns is not None:
            return self._from_columns("record", cells)
        if self._rule_sets is not None and self._worded_given is None:
            # nested records of rule sets evaluated here: worded from the criteria columns
            from ._nested_verdicts import record_verdict_cells

            return record_verdict_cells(self.table, self._rule_sets, self._fallback_records)
        return self._from_worded("record", cells)

    def _fallback_records(self, sub_table: Any) -> dict[str, list[str]]:
        """Record cells of some of the nerves (a table of their own), from the verdict objects."""
        return VerdictCells(sub_table, self.rule_set_ids, worded=_evaluated(sub_table, self._rule_sets or ()),
                            reasons=self.reasons).cells("record", Cells("json"))

    def _from_columns(self, kind: str, cells: Cells) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rid, (seg, nerve) in self._columns.items():
            if kind == "segment":
                out[f"verdict_{rid}_level"] = cells.texts(seg.level.tolist())
                out[f"verdict_{rid}_label"] = cells.texts(seg.label.tolist())
                out[f"verdict_{rid}_items"] = cells.texts(seg.items.tolist())
                out[f"verdict_{rid}_excluded_by"] = cells.texts(seg.excluded_by.tolist())
            elif kind == "nerve":
                out[f"verdict_{rid}_level"] = cells.texts(nerve.level.tolist())
                out[f"verdict_{rid}_label"] = cells.texts(nerve.label.tolist())
                out[f"verdict_{rid}_items_met"] = cells.texts(nerve.items_met.tolist())
            else:
                raise ValueError("nested records need worded verdicts (with reasons)")
        return out

    def _from_worded(self, kind: str, cells: Cells) -> dict[str, list[str]]:
        t = self.table
        seg_index = t.segment["index"].tolist()
        seg_nerve = t.segment["nerve_row"].tolist()
        per_nerve = [verdict_map(v) for v in self._worded]
        if kind == "nerve" or kind == "record":
            nerve_dicts = [{rid: _nerve_verdict(v) for rid, v in vm.items()} for vm in per_nerve]
        # per segment: {rid: {level, label, items, reasons, excluded_by}}
        lookup = [{rid: {s.segment_index: s for s in _segment_verdicts(v)} for rid, v in vm.items()}
                  for vm in per_nerve]
        seg_dicts = []
        for k, j in zip(seg_index, seg_nerve):
            d = {}
            for rid, by_index in lookup[j].items():
                s = by_index.get(k)
                if s is not None:
                    d[rid] = {"level": s.level, "label": s.label, "items": list(s.items),
                              "reasons": list(s.reasons), "excluded_by": s.excluded_by}
            seg_dicts.append(d)
        if kind == "record":
            return {"segment_record": [cells.one(d) for d in seg_dicts],
                    "nerve_record": [cells.one(d) for d in nerve_dicts]}
        out: dict[str, list[str]] = {}
        if kind == "segment":
            fields = [f for f in SEGMENT_VERDICT_FIELDS if self.reasons or f != "reasons"]
            for rid in self.rule_set_ids:
                for f in fields:
                    values = [d[rid][f] if rid in d else None for d in seg_dicts]
                    # repeated words and item lists: each distinct value rendered once
                    out[f"verdict_{rid}_{f}"] = ([cells.one(v) for v in values] if f == "reasons"
                                                 else cells.texts(values))
        else:
            for rid in self.rule_set_ids:
                for f in ("level", "label", "items_met"):
                    out[f"verdict_{rid}_{f}"] = [cells.one(d[rid][f]) if rid in d else cells.none
                                                 for d in nerve_dicts]
        return out


def verdict_cells(table: Any, rule_sets: Sequence[Any] = (), *, per_nerve: Sequence[Any] | None = None,
                  worded: bool = False, reasons: bool = True) -> VerdictCells:
    """The verdicts of ``table``'s nerves for rows and records.

    Parameters
    ----------
    table : NerveTable
    rule_sets : sequence of RuleSet or str
        Rule sets to evaluate (ignored when ``per_nerve`` is given).
    per_nerve : sequence, optional
        Verdicts already made, one entry per nerve (anything :func:`verdict_map` takes).
    worded : bool, default False
        Evaluate with sentences (:func:`nerveconduct.criteria.evaluate_nerves`) instead of
        column-wise; needed for nested records and reasons.
    reasons : bool, default True
        Segment rows: include the ``verdict_R_reasons`` columns (worded verdicts only).

    Returns
    -------
    VerdictCells
    """
    if per_nerve is not None:
        maps = [verdict_map(v) for v in per_nerve]
        ids = list(dict.fromkeys(rid for m in maps for rid in m))
        return VerdictCells(table, ids, worded=maps, reasons=reasons)
    from ..criteria.registry import get_rule_set

    rule_sets = [rs if not isinstance(rs, str) else get_rule_set(rs) for rs in rule_sets]
    ids = [rs.id for rs in rule_sets]
    if worded:  # evaluated when the cells are asked for (records: mostly from the columns)
        return VerdictCells(table, ids, reasons=reasons, rule_sets=rule_sets)
    return VerdictCells(table, ids, columns=_ColumnVerdicts(table, rule_sets), reasons=False)


def _evaluated(table: Any, rule_sets: Sequence[Any]) -> list[dict[str, Any]]:
    """Each nerve's verdict objects of ``rule_sets`` (:func:`~nerveconduct.criteria.evaluate_nerves`)."""
    from ..analysis import views
    from ..criteria.patient import evaluate_nerves

    results = views(table)
    per_rs = {rs.id: evaluate_nerves(results, rs) for rs in rule_sets}
    return [{rs.id: per_rs[rs.id][j] for rs in rule_sets} for j in range(table.n_nerves)]


class _ColumnVerdicts:
    """Column-wise verdicts per rule set: segment verdicts at once, nerve verdicts on demand."""

    def __init__(self, table: Any, rule_sets: Sequence[Any]) -> None:
        from ..criteria import columns as vc

        self._vc = vc
        self._seg_frame = vc.segment_frame(table) if rule_sets else None
        self._nerve_frame: Any = None
        self._table = table
        self._segments = {rs.id: (rs, vc.evaluate_segment_columns(rs, self._seg_frame)) for rs in rule_sets}

    def items(self):
        for rid, (rs, seg) in self._segments.items():
            yield rid, (seg, _Lazy(lambda rs=rs, seg=seg: self._nerve(rs, seg)))

    def _nerve(self, rs: Any, seg: Any) -> Any:
        if self._nerve_frame is None:
            self._nerve_frame = self._vc.nerve_frame(self._table)
        return self._vc.evaluate_nerve_columns(rs, self._nerve_frame, self._seg_frame, seg)


class _Lazy:
    """Attribute access computes the value once."""

    def __init__(self, make: Any) -> None:
        self._make, self._value = make, None

    def __getattr__(self, name: str) -> Any:
        if self._value is None:
            self._value = self._make()
        return getattr(self._value, name)
