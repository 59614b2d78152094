"""Sections of the HTML report: header, per-nerve tables and verdicts, footer (the all-nerves
motor summary table: :mod:`.summary`).

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
from .fwave import f_wave_status, f_wave_text
from .html import Cell, cell, definition_list, esc, fmt, table

__all__ = ["LIMIT_LABELS", "LIMIT_ARROWS", "IDENTIFIER_KEYS", "header_html",
           "nerve_tables_html", "impression_html", "footer_html", "range_text",
           "measure_flag_names"]


#: Readable names of the ``NerveResult.limits`` comparisons, with the value kind.
LIMIT_LABELS = {
    "distal_amplitude": ("Distal amplitude (mV)", "mv"),
    "distal_motor_latency": ("Distal motor latency (ms)", "ms"),
    "conduction_velocity": ("Conduction velocity, slowest segment (m/s)", "m_s"),
    "f_wave_latency": ("F-wave latency (ms)", "ms"),
    "distal_cmap_duration": ("Distal CMAP duration (ms)", "ms"),
}
#: The mark of a value beyond its lower / upper limit of normal.
LIMIT_ARROWS = {"LLN": "\u2193", "ULN": "\u2191"}


def range_text(values: Sequence[float | None], kind: str, unit: str) -> str:
    """``"33.0 °C"`` / ``"32.0–34.0 °C"`` over the finite values, ``"not recorded"`` if none."""
    finite = sorted({float(v) for v in values if v is not None and math.isfinite(v)})
    if not finite:
        return "not recorded"
    lo, hi = fmt(finite[0], kind), fmt(finite[-1], kind)
    return f"{lo} {unit}" if lo == hi else f"{lo}\u2013{hi} {unit}"


def _number_text(value: Any, unit: str) -> str | None:
    if value is None:
        return None
    return f"{float(value):g} {unit}"


def header_html(case: Any, results: Sequence[Any], *, keep_identifiers: bool) -> str:
    """Case header: pseudonymous id, date, patient and study details as the sheet gives them,
    temperature, filter (patient name/ID and file names only if asked)."""
    items: list[tuple[str, Any]] = [("Case", case.case_id or "not given")]
    if keep_identifiers:
        for key in IDENTIFIER_KEYS:
            found = [s.metadata[key] for s in case.studies if s.metadata.get(key)]
            if found:
                items.append((key.replace("_", " ").capitalize(), ", ".join(dict.fromkeys(map(str, found)))))
        if case.source:
            items.append(("Source files", case.source))
    items.append(("Study date", case.study_date or "not given"))
    optional = [
        ("Age", _number_text(getattr(case, "age_years", None), "years")),
        ("Sex", getattr(case, "sex", None)),
        ("Height", _number_text(getattr(case, "height_cm", None), "cm")),
    ]
    items += [(k, v) for k, v in optional if v]
    items += [
        ("Temperature", range_text([r.temperature_c for r in results], "c", "\u00b0C")),
        ("Low-frequency filter", range_text([r.low_frequency_filter_hz for r in results], "hz", "Hz")),
    ]
    people = [
        ("Referring physician", getattr(case, "referring_physician", None)),
        ("Technician", getattr(case, "technician", None)),
        ("Interpreting physician", getattr(case, "interpreting_physician", None)),
    ]
    items += [(k, v) for k, v in people if v]
    wide = [("Nerves", ", ".join(nerve_title(r) for r in results) or "none")]
    sensory = getattr(case, "sensory", None)
    if sensory:  # the sensory studies, as "right median (antidromic)"
        wide.append(("Sensory nerves", ", ".join(
            f"{' '.join(p for p in (s.side, s.canonical_nerve or s.nerve) if p)} ({s.direction})"
            for s in sensory)))
    if getattr(case, "indication", None):
        wide.insert(0, ("Indication", case.indication))
    return definition_list(items, cls="kv grid") + definition_list(wide, cls="kv wide")


def _limit_flag(comparison: Any) -> tuple[list[str], str | None, str]:
    """CSS classes, tooltip and suffix marking a value beyond its normal limit."""
    if comparison is None or comparison.abnormal is None:
        return [], None, ""
    if comparison.abnormal:
        return (["abn"], f"beyond {comparison.limit_kind} {comparison.limit:g}",
                f" {LIMIT_ARROWS.get(comparison.limit_kind, '*')}")
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
            cell(", ".join(measure_flag_names(s.flags)), classes=("flags",),
                 title=getattr(s, "supramaximal_note", None)),  # what the intensities show
        ])
        _mark_hand_set(rows[-1], s.hand_set_values)
        attrs.append({"class": "site", "data-site": s.name, "data-present": str(s.present).lower()})
    return rows, attrs


#: Suffix of a value derived from a hand-set marker (explained in the footer).
HAND_SET_MARK = "*"


def _mark_hand_set(row: list[Any], hand_set: Any) -> None:
    """Mark the cells of the values derived from hand-set markers (``*``, class ``hand-set``)."""
    for c in row:
        if isinstance(c, Cell) and c.data.get("measure") in set(hand_set or ()):
            c.text = f"{c.text}{HAND_SET_MARK}"
            c.classes = (*c.classes, "hand-set")


def _markers_note(markers: Any) -> str:
    """Footer line: how many hand-set markers, by whom and when."""
    who = sorted({" ".join(p for p in (m.by, m.at and f"at {m.at}") if p) for m in markers} - {""})
    return (f'<p class="hand-set-note">{HAND_SET_MARK} hand-set: value derived from a marker placed '
            f"by hand ({len(markers)} marker(s){'; ' + esc('; '.join(who)) if who else ''}).</p>")


def measure_flag_names(bits: int) -> list[str]:
    """A site's measurement flags (:class:`~nerveconduct.flags.MeasureFlag` bits) as words
    (``"low snr"``), ABSENT left out (the row says "absent")."""
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
        if key == "f_wave_latency":  # "absent (0 F-waves in N stimuli)", "not studied", ...
            status = f_wave_status(result)[0]
        elif comp.abnormal is None:
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
        ("F-wave latency", f_wave_text(result)),
        ("Temperature", range_text([result.temperature_c], "c", "\u00b0C")),
        ("Low-frequency filter", range_text([result.low_frequency_filter_hz], "hz", "Hz")),
    ], cls="kv nerve-values")]
    if result.flags:
        parts.append('<ul class="flags nerve-flags">' + "".join(f"<li>{esc(f)}</li>" for f in result.flags)
                     + "</ul>")
    parts = ['<div class="nerve-top"><div>', *parts, "</div><div>"]
    rows, attrs = _limit_rows(result)
    if rows:
        parts.append("<h3>Normal limits</h3>")
        parts.append(table(["Measure", "Value", "Limit", "Kind", "% of\nlimit", "Status"], rows,
                           cls="limits", row_attrs=attrs))
    parts.append("</div></div>")
    rows, attrs = _site_rows(result)
    parts.append("<h3>Stimulation sites</h3>")
    parts.append(table(["Site", "Distance\nmm", "From electrode\nmm", "Onset\nms",
                        "Neg. peak\nms", "Amplitude\nmV", "Peak-to-peak\nmV",
                        "Neg. duration\nms", "Neg. area\nmV·ms", "CMAP duration\nms", "Flags"],
                       rows, cls="sites", row_attrs=attrs))
    if result.segments:
        rows, attrs = _segment_rows(result)
        parts.append("<h3>Segments</h3>")
        parts.append(table(["Segment", "Length\nmm", "CV\nm/s", "Amp. drop\n%",
                            "Area drop\n%", "Neg. duration\nchange %",
                            "CMAP duration\nchange %", "Amp. drop\nfrom distal %",
                            "Area drop\nfrom distal %", "Notes"],
                           rows, cls="segments", row_attrs=attrs))
    return "\n".join(parts)


def impression_html(case: Any) -> str:
    """The sheet's notes, the impression (or lines to write it on) and the signature lines."""
    parts = []
    notes = getattr(case, "notes", None)
    if notes:
        parts.append('<section class="notes"><h2>Notes</h2>'
                     f'<p class="free-text" id="notes">{esc(notes)}</p></section>')
    impression = getattr(case, "impression", None)
    parts.append('<section class="sign"><h2>Impression</h2><div class="sign-grid"><div>')
    if impression:
        parts.append(f'<p class="free-text" id="impression">{esc(impression)}</p>')
    else:
        parts.append('<div id="impression" class="blank">'
                     + '<p class="blank-line"></p>' * 3 + "</div>")
    parts.append("</div>")
    physician = getattr(case, "interpreting_physician", None) or ""
    parts.append('<div class="signature">'
                 f'<div data-sign="physician">Interpreting physician{": " if physician else ""}'
                 f"{esc(physician)}</div>"
                 '<div data-sign="date">Date</div><div data-sign="signature">Signature</div></div>')
    parts.append("</div></section>")
    return "\n".join(parts)


def _confidence_text(table: Any) -> str:
    """``" Confidence: secondary (median, ulnar); recalled (sural)."`` from the rows'
    ``confidence`` ("not given" for rows without one); empty for a table without rows."""
    by: dict[str, dict[str, None]] = {}
    for r in getattr(table, "rows", ()):
        by.setdefault(getattr(r, "confidence", None) or "not given", {})[r.nerve] = None
    return (" Confidence: " + "; ".join(f"{c} ({', '.join(n)})" for c, n in by.items()) + "."
            if by else "")


def footer_html(version: str, outcomes: Sequence[Any] | None, limits: Any, *,
                markers: Sequence[Any] | None = None, sensory_limits: Any = None) -> str:
    """nerveconduct version, each rule set's id/version/year/citation, the normal-limits table;
    with hand-set ``markers``, what the mark means and who placed them when; with
    ``sensory_limits`` (the :class:`~nerveconduct.limits.SensoryLimits` the sensory section
    used), its name, citation and per-row confidence."""
    items = ([_markers_note(markers)] if markers else []) + ["<h2>Citations</h2>",
             f"<p>Generated by nerveconduct {esc(version)}. Research and teaching aid; "
             "the clinician's reading of the traces takes precedence.</p>"]
    if outcomes:
        rows = [[Cell(o.rule_set_id, classes=("text", "id")), cell(o.info.version), cell(o.info.year or ""),
                 cell(o.info.confidence), cell(o.info.citation)] for o in outcomes]
        attrs = [{"class": "rule-set", "data-rule-set": o.rule_set_id} for o in outcomes]
        items.append(table(["Rule set", "Version", "Year", "Confidence", "Citation"], rows,
                           cls="rule-sets", row_attrs=attrs))
    items.append(f'<p class="limits-source" data-limits="{esc(limits.name)}">Normal limits: '
                 f"{esc(limits.name)} — {esc(limits.citation)}</p>")
    if sensory_limits is not None:
        items.append(f'<p class="sensory-limits-source" data-limits="{esc(sensory_limits.name)}">'
                     f"Sensory normal limits: {esc(sensory_limits.name)} — "
                     f"{esc(sensory_limits.citation)}{esc(_confidence_text(sensory_limits))}</p>")
    return "<footer>" + "\n".join(items) + "</footer>"
