"""Sections of the HTML report: header, per-nerve tables and verdicts, footer.

Each function returns an HTML fragment; every text is escaped (:func:`report_html.esc`).
Rows and cells carry ``data-*`` attributes (``data-site``, ``data-segment``,
``data-measure``/``data-value``, ``data-rule-set``, ``data-level``) so the report can be read
back by a program.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..flags import MeasureFlag
from ..model import IDENTIFIER_KEYS  # metadata keys shown only with keep_identifiers=True
from ..plot.summary import nerve_title
from .html import Cell, cell, definition_list, esc, fmt, table

__all__ = ["LIMIT_LABELS", "IDENTIFIER_KEYS", "header_html", "nerve_tables_html",
           "nerve_verdicts_html", "criteria_summary_html", "footer_html", "range_text"]


#: Readable names of the ``NerveResult.limits`` comparisons, with the value kind.
LIMIT_LABELS = {
    "distal_amplitude": ("Distal amplitude (mV)", "mv"),
    "distal_motor_latency": ("Distal motor latency (ms)", "ms"),
    "conduction_velocity": ("Conduction velocity, slowest segment (m/s)", "m_s"),
    "f_wave_latency": ("F-wave latency (ms)", "ms"),
    "distal_cmap_duration": ("Distal CMAP duration (ms)", "ms"),
}
_ARROW = {"LLN": "\u2193", "ULN": "\u2191"}


def range_text(values: Sequence[float | None], kind: str, unit: str) -> str:
    """``"33.0 °C"`` / ``"32.0–34.0 °C"`` over the finite values, ``"not recorded"`` if none."""
    finite = sorted({float(v) for v in values if v is not None and math.isfinite(v)})
    if not finite:
        return "not recorded"
    lo, hi = fmt(finite[0], kind), fmt(finite[-1], kind)
    return f"{lo} {unit}" if lo == hi else f"{lo}\u2013{hi} {unit}"


def header_html(case: Any, results: Sequence[Any], *, keep_identifiers: bool) -> str:
    """Case header: pseudonymous id, date, temperature, filter (identifiers only if asked)."""
    items: list[tuple[str, Any]] = [("Case", case.case_id or "not given")]
    if keep_identifiers:
        for key in IDENTIFIER_KEYS:
            found = [s.metadata[key] for s in case.studies if s.metadata.get(key)]
            if found:
                items.append((key.replace("_", " ").capitalize(), ", ".join(dict.fromkeys(map(str, found)))))
        if case.source:
            items.append(("Source files", case.source))
    items += [
        ("Study date", case.study_date or "not given"),
        ("Temperature", range_text([r.temperature_c for r in results], "c", "\u00b0C")),
        ("Low-frequency filter", range_text([r.low_frequency_filter_hz for r in results], "hz", "Hz")),
        ("Nerves", ", ".join(nerve_title(r) for r in results) or "none"),
    ]
    return definition_list(items)


def _limit_flag(comparison: Any) -> tuple[list[str], str | None, str]:
    """CSS classes, tooltip and suffix marking a value beyond its normal limit."""
    if comparison is None or comparison.abnormal is None:
        return [], None, ""
    if comparison.abnormal:
        return (["abn"], f"beyond {comparison.limit_kind} {comparison.limit:g}",
                f" {_ARROW.get(comparison.limit_kind, '*')}")
    return [], f"within {comparison.limit_kind} {comparison.limit:g}", ""


def _flagged(value: float, kind: str, measure: str, comparison: Any) -> Cell:
    classes, title, suffix = _limit_flag(comparison)
    c = cell(value, kind, measure=measure, classes=classes, title=title)
    c.text = f"{c.text}{suffix}"
    return c


def _site_rows(result: Any) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    rows, attrs = [], []
    limits = result.limits
    for k, s in enumerate(result.sites):
        distal = k == 0
        if s.present:
            onset = (_flagged(s.onset_latency_ms, "ms", "onset_latency_ms",
                              limits.get("distal_motor_latency")) if distal
                     else cell(s.onset_latency_ms, "ms", measure="onset_latency_ms"))
            amp = (_flagged(s.negative_peak_amplitude_mv, "mv", "negative_peak_amplitude_mv",
                            limits.get("distal_amplitude")) if distal
                   else cell(s.negative_peak_amplitude_mv, "mv", measure="negative_peak_amplitude_mv"))
        else:
            onset = Cell("absent", classes=("absent",), data={"measure": "onset_latency_ms", "value": ""})
            amp = cell(None, "mv", measure="negative_peak_amplitude_mv", classes=("absent",))
        rows.append([
            cell(s.name), cell(s.distance_mm, "mm", measure="distance_mm"),
            cell(s.cumulative_distance_mm, "mm", measure="cumulative_distance_mm"), onset,
            cell(s.negative_peak_latency_ms, "ms", measure="negative_peak_latency_ms"), amp,
            cell(s.peak_to_peak_amplitude_mv, "mv", measure="peak_to_peak_amplitude_mv"),
            cell(s.negative_peak_duration_ms, "ms", measure="negative_peak_duration_ms"),
            cell(s.negative_peak_area_mv_ms, "mv_ms", measure="negative_peak_area_mv_ms"),
            cell(s.cmap_duration_ms, "ms", measure="cmap_duration_ms"),
            cell(", ".join(_measure_flag_names(s.flags)), classes=("flags",)),
        ])
        attrs.append({"class": "site", "data-site": s.name, "data-present": str(s.present).lower()})
    return rows, attrs


def _measure_flag_names(bits: int) -> list[str]:
    return [n.lower().replace("_", " ") for n in MeasureFlag(bits).names() if n != "ABSENT"]


def _segment_rows(result: Any) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    rows, attrs = [], []
    cv_limit = result.limits.get("conduction_velocity")
    lln = cv_limit.limit if cv_limit is not None and cv_limit.limit_kind == "LLN" else None
    for seg in result.segments:
        cv = seg.conduction_velocity_m_s
        slow = lln is not None and math.isfinite(cv) and cv < lln
        notes = list(seg.flags)
        if seg.across_entrapment_site:
            notes.insert(0, f"across compression site ({seg.entrapment_site})")
        if seg.from_erbs_point:
            notes.insert(0, "from Erb's point: submaximal stimulation likely")
        rows.append([
            cell(seg.name), cell(seg.distance_mm, "mm", measure="distance_mm"),
            cell(cv, "m_s", measure="conduction_velocity_m_s", classes=["abn"] if slow else [],
                 title=f"below LLN {lln:g} m/s" if slow else None),
            cell(seg.amplitude_drop_pct, "pct", measure="amplitude_drop_pct"),
            cell(seg.area_drop_pct, "pct", measure="area_drop_pct"),
            cell(seg.duration_increase_pct, "pct", measure="duration_increase_pct", signed=True),
            cell(seg.cmap_duration_increase_pct, "pct", measure="cmap_duration_increase_pct", signed=True),
            cell(seg.amplitude_drop_from_distal_pct, "pct", measure="amplitude_drop_from_distal_pct"),
            cell(seg.area_drop_from_distal_pct, "pct", measure="area_drop_from_distal_pct"),
            cell("; ".join(notes), classes=("flags",)),
        ])
        attrs.append({"class": "segment", "data-segment": seg.index, "data-name": seg.name})
    return rows, attrs


def _limit_rows(result: Any) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    rows, attrs = [], []
    for key, comp in result.limits.items():
        label, kind = LIMIT_LABELS.get(key, (key.replace("_", " "), "pct"))
        if comp.abnormal is None:
            status = f"n/a: {comp.reason}" if comp.reason else "n/a"
        else:
            status = "abnormal" if comp.abnormal else "normal"
        rows.append([cell(label), cell(comp.value, kind, measure=comp.measure,
                                       classes=["abn"] if comp.abnormal else []),
                     cell(comp.limit, kind, measure=f"{key}_limit"), cell(comp.limit_kind),
                     cell(comp.pct_of_limit, "pct", measure=f"{key}_pct_of_limit"),
                     cell(status, classes=["abn"] if comp.abnormal else [])])
        attrs.append({"class": "limit", "data-limit": key, "data-abnormal":
                      "" if comp.abnormal is None else str(comp.abnormal).lower()})
    return rows, attrs


def _with_unit(value: float | None, kind: str, unit: str, *, missing: str = "not available") -> str:
    text = fmt(value, kind, missing="")
    return f"{text} {unit}" if text else missing


def nerve_tables_html(result: Any) -> str:
    """Nerve summary, normal-limit comparisons, site table and segment table of one nerve."""
    parts = [definition_list([
        ("Distal motor latency", _with_unit(result.distal_motor_latency_ms, "ms", "ms")),
        ("Distal amplitude", _with_unit(result.distal_amplitude_mv, "mv", "mV")),
        ("Distal CMAP duration", _with_unit(result.distal_cmap_duration_ms, "ms", "ms")),
        ("Terminal latency index", fmt(result.terminal_latency_index, "index", missing="not computed")),
        ("Residual latency", _with_unit(result.residual_latency_ms, "ms", "ms")),
        ("F-wave latency", _with_unit(result.f_wave_latency_ms, "ms", "ms", missing="not given")),
        ("Temperature", range_text([result.temperature_c], "c", "\u00b0C")),
        ("Low-frequency filter", range_text([result.low_frequency_filter_hz], "hz", "Hz")),
    ])]
    if result.flags:
        parts.append('<ul class="flags nerve-flags">' + "".join(f"<li>{esc(f)}</li>" for f in result.flags)
                     + "</ul>")
    rows, attrs = _limit_rows(result)
    if rows:
        parts.append("<h3>Normal limits</h3>")
        parts.append(table(["Measure", "Value", "Limit", "Kind", "% of limit", "Status"], rows,
                           cls="limits", row_attrs=attrs))
    rows, attrs = _site_rows(result)
    parts.append("<h3>Stimulation sites</h3>")
    parts.append(table(["Site", "Distance (mm)", "From electrode (mm)", "Onset latency (ms)",
                        "Neg. peak latency (ms)", "Amplitude (mV)", "Peak-to-peak (mV)",
                        "Neg. duration (ms)", "Neg. area (mV·ms)", "CMAP duration (ms)", "Flags"],
                       rows, cls="sites", row_attrs=attrs))
    if result.segments:
        rows, attrs = _segment_rows(result)
        parts.append("<h3>Segments</h3>")
        parts.append(table(["Segment", "Length (mm)", "CV (m/s)", "Amplitude drop (%)",
                            "Area drop (%)", "Neg. duration increase (%)",
                            "CMAP duration increase (%)", "Amplitude drop from distal (%)",
                            "Area drop from distal (%)", "Notes"],
                           rows, cls="segments", row_attrs=attrs))
        parts.append('<p class="note">Drops: 100·(1 − proximal/distal) between the segment\'s '
                     "two sites (and from the most distal site); duration increases: "
                     "100·(proximal/distal − 1). ↓/↑: beyond the lower/upper limit of normal.</p>")
    return "\n".join(parts)


def _reasons(reasons: Sequence[str]) -> Cell:
    body = '<ul class="reasons">' + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"
    return Cell(body, classes=("text", "reasons"), raw=True)


def nerve_verdicts_html(outcomes: Sequence[Any], index: int) -> str:
    """Per rule set: the segment verdicts of nerve ``index`` and the nerve items met."""
    parts = []
    for outcome in outcomes:
        verdicts = outcome.segment_verdicts[index]
        rows, attrs = [], []
        for v in verdicts:
            rows.append([cell(v.segment), Cell(v.label, classes=("text", "level")), _reasons(v.reasons)])
            attrs.append({"class": f"verdict level-{v.level}", "data-rule-set": outcome.rule_set_id,
                          "data-segment": v.segment_index, "data-level": v.level})
        nerve = outcome.nerve_verdict(index)
        if nerve is not None and outcome.kind != "conduction-block":
            for item in nerve.items.values():
                if item.met is None and not item.reasons:
                    continue
                state = {True: "met", False: "not met", None: "not assessable"}[item.met]
                rows.append([cell(f"item {item.item}: {item.label}"), Cell(state, classes=("text", "level")),
                             _reasons(item.reasons)])
                attrs.append({"class": f"item item-{state.replace(' ', '-')}",
                              "data-rule-set": outcome.rule_set_id, "data-item": item.item,
                              "data-met": "" if item.met is None else str(item.met).lower()})
        title = f"{outcome.info.title} ({outcome.rule_set_id})"
        parts.append(f'<h3 data-rule-set="{esc(outcome.rule_set_id)}">{esc(title)}</h3>')
        parts.append(table(["Segment / item", "Verdict", "Reasons"], rows, cls="verdicts",
                           row_attrs=attrs) if rows else '<p class="note">No segments to assess.</p>')
        parts.append(f'<p class="note citation">{esc(outcome.info.citation)}</p>')
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
        rows.append([cell(outcome.info.title), cell(outcome.rule_set_id), Cell(label, classes=("text", "level")),
                     _reasons(p.reasons if p is not None else [])])
        attrs.append({"class": f"patient-verdict level-{level}", "data-rule-set": outcome.rule_set_id,
                      "data-level": level})
    parts.append(table(["Rule set", "Id", "Result", "Reasons"], rows, cls="patient-verdicts",
                       row_attrs=attrs))
    graded = [(o, results[i], v) for o in outcomes for i, vs in enumerate(o.segment_verdicts)
              for v in vs if v.level in ("definite", "probable", "possible")]
    if graded:
        rows = [[cell(o.rule_set_id), cell(nerve_title(r)), cell(v.segment),
                 Cell(v.label, classes=("text", "level"))] for o, r, v in graded]
        attrs = [{"class": f"finding level-{v.level}", "data-rule-set": o.rule_set_id,
                  "data-level": v.level} for o, _, v in graded]
        parts.append("<h3>Segments meeting a criterion</h3>")
        parts.append(table(["Rule set", "Nerve", "Segment", "Verdict"], rows, cls="findings",
                           row_attrs=attrs))
    else:
        parts.append('<p class="note">No segment meets a graded criterion of the rule sets used.</p>')
    return "\n".join(parts)


def footer_html(version: str, outcomes: Sequence[Any] | None, limits: Any) -> str:
    """nerveconduct version, each rule set's id/version/year/citation, the normal-limits table."""
    items = [f"<p>Generated by nerveconduct {esc(version)}. Research and teaching aid; "
             "the clinician's reading of the traces takes precedence.</p>"]
    if outcomes:
        rows = [[cell(o.rule_set_id), cell(o.info.version), cell(o.info.year or ""),
                 cell(o.info.confidence), cell(o.info.citation)] for o in outcomes]
        attrs = [{"class": "rule-set", "data-rule-set": o.rule_set_id} for o in outcomes]
        items.append(table(["Rule set", "Version", "Year", "Confidence", "Citation"], rows,
                           cls="rule-sets", row_attrs=attrs))
    items.append(f'<p class="limits-source" data-limits="{esc(limits.name)}">Normal limits: '
                 f"{esc(limits.name)} — {esc(limits.citation)}</p>")
    return "<footer>" + "\n".join(items) + "</footer>"
