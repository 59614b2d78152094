"""The report's verdict sections: each nerve's verdicts with their reasons, and the
patient-level summary of every rule set applied (``docs/report.md``)."""

from __future__ import annotations

from typing import Any, Sequence

from ..criteria.verdicts import FINDING_LEVELS
from ..plot.summary import nerve_title
from .html import Cell, cell, esc, table

__all__ = ["nerve_verdicts_html", "criteria_summary_html"]


def _reasons(reasons: Sequence[str]) -> Cell:
    body = '<ul class="reasons">' + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"
    return Cell(body, classes=("text", "reasons"), raw=True)


def _common_prefix(reasons: Sequence[str]) -> str:
    """The words every reason starts with (the rule set's name, e.g. ``"EFNS/PNS 2010 MMN "``),
    when there are at least two reasons and the prefix is a few words long; else ``""``."""
    if len(reasons) < 2:
        return ""
    first = reasons[0].split(" ")
    n = 0
    while n < min(len(first), 4) and all(r.split(" ")[:n + 1] == first[:n + 1] for r in reasons):
        n += 1
    prefix = " ".join(first[:n]) + " " if n else ""
    return prefix if all(len(r) > len(prefix) for r in reasons) else ""


def _without_prefix(reasons: Sequence[str]) -> list[str]:
    """The reasons without the rule set's name they all start with (see :func:`_common_prefix`)."""
    prefix = _common_prefix(list(reasons))
    return [r[len(prefix):] if prefix else r for r in reasons]


def _item_reason(reason: str, item: Any, prefix: str) -> str:
    """An item's reason without what its row already shows: the rule set's name, the item's
    letter and label, and the leading ``not met:`` / ``not assessable:`` state."""
    marker = f"({item.label})"
    if marker in reason:
        reason = reason.split(marker, 1)[1].lstrip(" :)")
        for state in ("not met: ", "not assessable: ", "met: "):
            if reason.startswith(state):
                return reason[len(state):]
        return reason
    return reason[len(prefix):] if prefix and reason.startswith(prefix) else reason


def nerve_verdicts_html(outcomes: Sequence[Any], index: int) -> str:
    """Per rule set: the segment verdicts of nerve ``index`` and the nerve items met.

    Reasons are shown without the rule set's name they all start with (it heads the table);
    rules that do not apply to the nerve (``not applicable``) are left out of a segment's
    reasons when others remain.
    """
    parts = []
    for outcome in outcomes:
        verdicts = outcome.segment_verdicts[index]
        nerve = outcome.nerve_verdict(index)
        every = [r for v in verdicts for r in v.reasons]
        prefix = _common_prefix(every) if len(every) > 1 else ""
        rows, attrs = [], []
        for v in verdicts:
            shown = [r for r in v.reasons if ": not applicable" not in r] or list(v.reasons)
            shown = [r[len(prefix):] if prefix and r.startswith(prefix) else r for r in shown]
            rows.append([cell(v.segment), Cell(v.label, classes=("text", "level")), _reasons(shown)])
            attrs.append({"class": f"verdict level-{v.level}", "data-rule-set": outcome.rule_set_id,
                          "data-segment": v.segment_index, "data-level": v.level})
        parts.append(f'<h3 data-rule-set="{esc(outcome.rule_set_id)}">{esc(outcome.info.title)} '
                     f"<code>{esc(outcome.rule_set_id)}</code></h3>")
        parts.append(table(["Segment", "Verdict", "Reasons"], rows, cls="verdicts",
                           row_attrs=attrs) if rows else '<p class="note">No segments to assess.</p>')
        rows, attrs = [], []
        if nerve is not None and outcome.kind != "conduction-block":
            for item in nerve.items.values():
                if item.met is None and not item.reasons:
                    continue
                state = {True: "met", False: "not met", None: "not assessable"}[item.met]
                rows.append([cell(f"{item.item}: {item.label}"), Cell(state, classes=("text", "level")),
                             _reasons([_item_reason(r, item, prefix) for r in item.reasons])])
                attrs.append({"class": f"item item-{state.replace(' ', '-')}",
                              "data-rule-set": outcome.rule_set_id, "data-item": item.item,
                              "data-met": "" if item.met is None else str(item.met).lower()})
        if rows:
            parts.append(table(["Item", "Result", "Reasons"], rows, cls="items", row_attrs=attrs))
    return "\n".join(parts)


def criteria_summary_html(outcomes: Sequence[Any] | None, results: Sequence[Any]) -> str:
    """The patient-level verdict of each rule set, and every graded segment verdict."""
    if outcomes is None:
        return ('<p class="note" id="criteria-missing">Criteria evaluator not installed: no '
                "verdicts.</p>")
    parts = []
    rows, attrs = [], []
    for outcome in outcomes:
        p = outcome.patient
        level = p.level if p is not None else "n/a"
        label = p.label if p is not None else "patient level not evaluated"
        rows.append([_rule_set_cell(outcome), Cell(label, classes=("text", "level")),
                     _reasons(_without_prefix(p.reasons) if p is not None else [])])
        attrs.append({"class": f"patient-verdict level-{level}", "data-rule-set": outcome.rule_set_id,
                      "data-level": level})
    parts.append(table(["Rule set", "Result", "Reasons"], rows, cls="patient-verdicts",
                       row_attrs=attrs))
    graded = [(o, results[i], v) for o in outcomes for i, vs in enumerate(o.segment_verdicts)
              for v in vs if v.level in FINDING_LEVELS]
    if graded:
        rows = [[Cell(o.rule_set_id, classes=("text", "id")), cell(nerve_title(r)), cell(v.segment),
                 Cell(v.label, classes=("text", "level"))] for o, r, v in graded]
        attrs = [{"class": f"finding level-{v.level}", "data-rule-set": o.rule_set_id,
                  "data-level": v.level} for o, _, v in graded]
        parts.append("<h3>Segments meeting a criterion</h3>")
        parts.append(table(["Rule set", "Nerve", "Segment", "Verdict"], rows, cls="findings",
                           row_attrs=attrs))
    else:
        parts.append('<p class="note">No segment meets a graded criterion of the rule sets used.</p>')
    return "\n".join(parts)


def _rule_set_cell(outcome: Any) -> Cell:
    """Rule-set title with its id below (the id never wraps)."""
    return Cell(f"{esc(outcome.info.title)}<br><code>{esc(outcome.rule_set_id)}</code>",
                classes=("text", "rule-set"), raw=True)
