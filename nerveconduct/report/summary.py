"""The all-nerves motor summary table of the HTML report (:func:`motor_summary_html`).

Per nerve and stimulation site, the values EMG systems print in one table, each beside its
limit of normal; the per-nerve tables and the other sections are in :mod:`.sections`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..plot.summary import nerve_title
from .fwave import f_wave_state, f_wave_state_cell
from .html import Cell, cell, esc, fmt
from .sections import LIMIT_ARROWS, range_text

__all__ = ["SUMMARY_HEADERS", "motor_summary_html"]

_BOUND = {"LLN": "\u2265", "ULN": "\u2264"}
SUMMARY_HEADERS = ("Nerve / site", "Latency (ms)", "Norm", "Amplitude (mV)", "Norm",
                   "Area (mV\u00b7ms)", "Duration (ms)", "Norm", "Distance (mm)", "CV (m/s)",
                   "Norm", "F-wave (ms)", "Norm")


def _norm_cell(comparison: Any, kind: str) -> Cell:
    """The limit of a comparison as ``≤4.4`` / ``≥4.0`` (empty when there is none)."""
    if comparison is None or comparison.limit is None or not math.isfinite(comparison.limit):
        return Cell("", classes=("limit",))
    return Cell(f"{_BOUND.get(comparison.limit_kind, '')}{fmt(comparison.limit, kind)}",
                classes=("limit",), data={"limit": repr(float(comparison.limit)),
                                          "limit-kind": comparison.limit_kind})


def _summary_value(value: Any, kind: str, measure: str, comparison: Any = None,
                   *, abnormal: bool | None = None, limit_kind: str | None = None) -> Cell:
    """A value cell of the summary table, bold red with ↓/↑ when beyond its limit."""
    if comparison is not None and abnormal is None:
        abnormal, limit_kind = comparison.abnormal, comparison.limit_kind
    c = cell(value, kind, measure=measure, classes=["abn"] if abnormal else [])
    if abnormal:
        c.text = f"{c.text} {LIMIT_ARROWS.get(limit_kind or '', '*')}"
        c.data["abnormal"] = "true"
    return c


def _blank(n: int) -> list[Cell]:
    return [Cell("") for _ in range(n)]


def motor_summary_html(results: Sequence[Any]) -> str:
    """The all-nerves motor summary table EMG systems print: per nerve and stimulation site the
    onset latency, amplitude, area, CMAP duration, distance, CV and F-wave, each with its normal
    limit; values beyond the limit bold red with ↓/↑.

    The distal site carries the distal limits (DML, amplitude, CMAP duration) and the nerve's
    F-wave; every other site the segment ending there (its length, as the machines give
    distances, and its CV against the CV lower limit). One ``tbody`` per nerve, kept on one
    page when printed.
    """
    if not results:
        return '<p class="note">No nerves.</p>'
    out = ['<table class="motor-summary">',
           "<thead><tr>" + "".join(
               f'<th class="{"text" if k == 0 else "limit" if h == "Norm" else "num"}">{esc(h)}</th>'
               for k, h in enumerate(SUMMARY_HEADERS)) + "</tr></thead>"]
    for i, result in enumerate(results):
        limits = result.limits
        cv_comp = limits.get("conduction_velocity")
        cv_lln = cv_comp.limit if cv_comp is not None and cv_comp.limit_kind == "LLN" else None
        temp = range_text([result.temperature_c], "c", "\u00b0C")
        head = esc(nerve_title(result) or "nerve")
        if temp != "not recorded":
            head += f' <span class="note">{esc(temp)}</span>'
        out.append(f'<tbody class="nerve-group" data-nerve-index="{i}" '
                   f'data-nerve="{esc(result.nerve)}">')
        out.append(f'<tr class="nerve-row"><th colspan="{len(SUMMARY_HEADERS)}">{head}</th></tr>')
        segments = {seg.index: seg for seg in result.segments}
        for k, site in enumerate(result.sites):
            distal = k == 0
            label = Cell(site.name, classes=("text", "site-name"))
            if site.present:
                cells = [
                    label,
                    _summary_value(site.onset_latency_ms, "ms", "onset_latency_ms",
                                   limits.get("distal_motor_latency") if distal else None),
                    _norm_cell(limits.get("distal_motor_latency"), "ms") if distal else Cell(""),
                    _summary_value(site.negative_peak_amplitude_mv, "mv", "negative_peak_amplitude_mv",
                                   limits.get("distal_amplitude") if distal else None),
                    _norm_cell(limits.get("distal_amplitude"), "mv") if distal else Cell(""),
                    _summary_value(site.negative_peak_area_mv_ms, "mv_ms", "negative_peak_area_mv_ms"),
                    _summary_value(site.cmap_duration_ms, "ms", "cmap_duration_ms",
                                   limits.get("distal_cmap_duration") if distal else None),
                    _norm_cell(limits.get("distal_cmap_duration"), "ms") if distal else Cell(""),
                ]
            else:
                cells = [label, Cell("absent", classes=("absent",),
                                     data={"measure": "onset_latency_ms", "value": ""}), *_blank(6)]
            cells.append(cell(site.distance_mm, "mm", measure="distance_mm"))
            seg = segments.get(k)
            if seg is not None:
                cv = seg.conduction_velocity_m_s
                slow = cv_lln is not None and math.isfinite(cv) and cv < cv_lln
                cells += [_summary_value(cv, "m_s", "conduction_velocity_m_s", abnormal=slow,
                                         limit_kind="LLN"),
                          _norm_cell(cv_comp, "m_s")]
            else:
                cells += _blank(2)
            if distal:
                f_comp, state = limits.get("f_wave_latency"), f_wave_state(result)
                cells += [f_wave_state_cell(state) if state else _summary_value(
                    result.f_wave_latency_ms, "ms", "f_wave_latency_ms", f_comp), _norm_cell(f_comp, "ms")]
            else:
                cells += _blank(2)
            row = "".join(c.render() for c in cells)
            out.append(f'<tr class="summary-site" data-summary-site="{esc(site.name)}" '
                       f'data-present="{str(site.present).lower()}">{row}</tr>')
        out.append("</tbody>")
    out.append("</table>")
    out.append('<p class="note">Latency: onset; amplitude: baseline to negative peak; area: '
               "negative phase; duration: CMAP. Distance: distal site to electrode, else from the "
               "next distal site (the segment of the CV on its row). Norm: limit of normal; ↓/↑ "
               "bold red: beyond it. Drops: 100·(1 − proximal/distal); duration changes: "
               "100·(proximal/distal − 1).</p>")
    return "\n".join(out)
