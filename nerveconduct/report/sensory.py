"""The sensory section of the report: the SNAP table of every sensory nerve, and its pictures.

Shown only when the case has sensory studies (``Case.sensory``); measured by
:func:`nerveconduct.analysis.sensory.analyze_sensory`. The table is the sensory counterpart of
the motor summary: per nerve and site the onset and negative-peak latency, the amplitude
(baseline to negative peak, uV), peak-to-peak amplitude, duration, distance and CV (from the
onset latency), each with the limit of normal used (peak latency ULN and amplitude LLN at the
distal site, CV LLN), values beyond it bold red with an arrow, each site's measurement flags
(as the motor site table gives them), and per nerve the verdict (``abnormal`` with its items,
``normal``, or ``not assessable``), the nerve's flags (``SensoryResult.flags``) and where the
limits came from. Every value cell carries ``data-measure`` / ``data-value``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..plot.sensory import plot_sensory, sensory_title, site_abnormal
from .html import Cell, cell, esc, figure_html, fmt
from .sections import measure_flag_names

__all__ = ["SENSORY_HEADERS", "sensory_section_html", "sensory_table_html", "sensory_verdict"]

SENSORY_HEADERS = ("Nerve / site", "Onset (ms)", "Peak (ms)", "Norm", "Amplitude (\u00b5V)",
                   "Norm", "Peak-to-peak (\u00b5V)", "Duration (ms)", "Distance (mm)",
                   "CV (m/s)", "Norm", "Flags")


def sensory_verdict(result: Any) -> str:
    """``"abnormal: amplitude below LLN; …"``, ``"normal"`` or ``"not assessable"``."""
    if result.abnormal is None:
        return "not assessable"
    if result.abnormal:
        return "abnormal: " + "; ".join(result.abnormal_items)
    return "normal"


def _finite(value: Any) -> bool:
    return value is not None and not isinstance(value, bool) and math.isfinite(float(value))


def _norm(limit: Any, kind: str, bound: str, limit_kind: str, title: str | None = None) -> Cell:
    if not _finite(limit):
        return Cell("", classes=("limit",))
    return Cell(f"{bound}{fmt(limit, kind)}", classes=("limit",), title=title,
                data={"limit": repr(float(limit)), "limit-kind": limit_kind})


def _peak_norm(result: Any) -> Cell:
    """The peak-latency ULN, with the standard distance it holds at (the analysis compares
    it only there) as the cell's tooltip."""
    distance = getattr(result, "limits_distance_mm", None)
    title = f"at the standard distance {distance:g} mm" if _finite(distance) else None
    return _norm(result.peak_latency_uln_ms, "ms", "\u2264", "ULN", title)


def _value(value: Any, kind: str, measure: str, abnormal: bool, arrow: str) -> Cell:
    c = cell(value, kind, measure=measure, classes=["abn"] if abnormal else [])
    if abnormal:
        c.text = f"{c.text} {arrow}"
        c.data["abnormal"] = "true"
    return c


def sensory_table_html(results: Sequence[Any], studies: Sequence[Any]) -> str:
    """The all-sensory-nerves table (one ``tbody`` per nerve, kept on one page)."""
    out = ['<table class="motor-summary sensory-summary">', "<thead><tr>" + "".join(
        f'<th class="{"text" if k == 0 or h == "Flags" else "limit" if h == "Norm" else "num"}">'
        f"{esc(h)}</th>" for k, h in enumerate(SENSORY_HEADERS)) + "</tr></thead>"]
    for i, (result, study) in enumerate(zip(results, studies, strict=True)):
        verdict = sensory_verdict(result)
        state = "unknown" if result.abnormal is None else str(bool(result.abnormal)).lower()
        head = esc(sensory_title(result)) + (
            f' \u2014 <span class="{"abn" if result.abnormal else "note"}">{esc(verdict)}</span>')
        out.append(f'<tbody class="nerve-group sensory-nerve" data-sensory-index="{i}" '
                   f'data-nerve="{esc(result.nerve)}" data-abnormal="{state}">')
        out.append(f'<tr class="nerve-row"><th colspan="{len(SENSORY_HEADERS)}">{head}</th></tr>')
        for k, site in enumerate(result.sites):
            distal = k == 0
            bad = site_abnormal(result, k)
            label = Cell(site.site, classes=("text", "site-name"))
            if site.present:
                cells = [
                    label, cell(site.onset_latency_ms, "ms", measure="onset_latency_ms"),
                    _value(site.negative_peak_latency_ms, "ms", "negative_peak_latency_ms",
                           bad["peak_latency"], "\u2191"),
                    _peak_norm(result) if distal else Cell(""),
                    _value(site.amplitude_uv, "uv", "amplitude_uv", bad["amplitude"], "\u2193"),
                    _norm(result.amplitude_lln_uv, "uv", "\u2265", "LLN") if distal else Cell(""),
                    cell(site.peak_to_peak_amplitude_uv, "uv", measure="peak_to_peak_amplitude_uv"),
                    cell(site.duration_ms, "ms", measure="duration_ms")]
            else:
                cells = [label, Cell("absent", classes=("absent",),
                                     data={"measure": "onset_latency_ms", "value": ""}),
                         *(Cell("") for _ in range(6))]
            cells += [cell(site.distance_mm, "mm", measure="distance_mm"),
                      _value(site.conduction_velocity_m_s, "m_s", "conduction_velocity_m_s",
                             bad["conduction_velocity"], "\u2193"),
                      _norm(result.cv_lln_m_s, "m_s", "\u2265", "LLN") if distal else Cell(""),
                      cell(", ".join(measure_flag_names(site.flags)), classes=("flags",))]
            out.append(f'<tr class="sensory-site" data-site="{esc(site.site)}" '
                       f'data-present="{str(bool(site.present)).lower()}">'
                       + "".join(c.render() for c in cells) + "</tr>")
        if result.flags:  # the nerve's own: what could not be computed or compared, and why
            out.append(f'<tr class="sensory-flags"><td class="text" colspan="{len(SENSORY_HEADERS)}">'
                       '<ul class="flags nerve-flags">' + "".join(
                           f"<li>{esc(f)}</li>" for f in result.flags) + "</ul></td></tr>")
        out.append("</tbody>")
    out.append("</table>")
    sources = sorted({str(r.limits_source) for r in results if getattr(r, "limits_source", None)})
    out.append('<p class="note">Onset: departure from baseline (the CV is computed from it: '
               "distal site = its distance / onset latency, other sites = segment length / "
               "onset-latency difference); peak: negative peak; amplitude: baseline to negative "
               "peak. Distance: distal site to the recording electrode, else from the next distal "
               "site. Norm: limit of normal; \u2193/\u2191 bold red: beyond it."
               + (f" Sensory limits: {esc('; '.join(sources))}." if sources else "") + "</p>")
    return "\n".join(out)


def sensory_section_html(results: Sequence[Any], studies: Sequence[Any], *, plots: bool,
                         image_format: str, dpi: float, negative_up: bool) -> str:
    """The report's sensory section: the table, then one SNAP picture per sensory study
    (:func:`~nerveconduct.plot.sensory.plot_sensory`, ids ``plot-sensory-<i>``)."""
    parts = ['<section class="sensory"><div class="keep"><h2>Sensory nerve conduction</h2>',
             sensory_table_html(results, studies), "</div>"]
    if plots:
        for i, (result, study) in enumerate(zip(results, studies, strict=True)):
            ax = plot_sensory(result, study=study, negative_up=negative_up)
            caption = (f"{sensory_title(result)}: SNAPs distal (top) to proximal, "
                       f"{'negative up' if negative_up else 'negative down'}; markers at onset "
                       "(\u25bc) and negative peak (\u25cf)")
            parts.append(figure_html(ax.figure, caption=caption, image_format=image_format,
                                     dpi=dpi, gid=f"plot-sensory-{i}", cls="traces"))
    parts.append("</section>")
    return "\n".join(parts)
