"""The F-wave panel of a nerve's report page: the raster of the train and its table.

Shown only for a nerve whose study holds an F-wave train (``NerveStudy.f_wave_traces``); a
latency typed into a sheet stays in the nerve's summary lines as before. The table gives the
values the analysis measured from the train (:class:`~nerveconduct.analysis.NerveResult`:
minimal and mean latency, persistence, chronodispersion, where the latency came from) and the
minimal latency against its upper limit of normal (``limits["f_wave_latency"]``: the limit,
% of it, fixed or height-adjusted), each row with ``data-measure`` / ``data-value``.
"""

from __future__ import annotations

from typing import Any

from ..plot.fwave import f_wave_train_measures, has_f_wave_train, plot_f_waves
from .html import Cell, cell, esc, figure_html, table

__all__ = ["f_wave_panel_html", "f_wave_rows"]

#: Where the nerve's F latency came from, in words (``NerveResult.f_wave_latency_source``).
SOURCE_WORDS = {"traces": "measured from the F-wave train", "sheet": "typed in the study sheet",
                None: "not studied"}


def f_wave_rows(result: Any, measures: Any) -> tuple[list[list[Cell]], list[dict[str, Any]]]:
    """Rows of the F-wave table: (measure, value, limit, % of limit, status)."""
    comp = (result.limits or {}).get("f_wave_latency")
    if comp is None or comp.abnormal is None:
        status = f"n/a: {comp.reason}" if comp is not None and comp.reason else "n/a"
    else:
        status = "abnormal" if comp.abnormal else "normal"
    bad = ["abn"] if comp is not None and comp.abnormal else []
    limit = cell(comp.limit if comp else None, "ms", measure="f_wave_uln_ms")
    if comp is not None and comp.limit is not None:
        limit.text = f"\u2264{limit.text}"
    n_f, n_stim = int(measures.n_f_waves), int(measures.n_stimuli_measured)
    blank = [Cell(""), Cell(""), Cell("")]
    rows = [
        [cell("Minimal F latency (ms)"),
         cell(result.f_wave_latency_ms, "ms", measure="f_wave_latency_ms", classes=bad), limit,
         cell(comp.pct_of_limit if comp else None, "pct", measure="f_wave_latency_pct_of_uln"),
         cell(status, classes=bad)],
        [cell("Mean F latency (ms)"),
         cell(result.f_wave_mean_latency_ms, "ms", measure="f_wave_mean_latency_ms"), *blank],
        [cell("Persistence (%)"),
         cell(result.f_wave_persistence_pct, "pct", measure="f_wave_persistence_pct"),
         Cell(""), Cell(""), cell(f"{n_f} F-waves / {n_stim} stimuli")],
        [cell("Chronodispersion (ms)"),
         cell(result.f_wave_chronodispersion_ms, "ms", measure="f_wave_chronodispersion_ms"),
         *blank],
        [cell("Source"), cell(SOURCE_WORDS.get(result.f_wave_latency_source,
                                               str(result.f_wave_latency_source))), *blank],
    ]
    keys = ("minimal", "mean", "persistence", "chronodispersion", "source")
    return rows, [{"class": "f-wave", "data-f-wave": k} for k in keys]


def f_wave_panel_html(result: Any, index: int, *, plots: bool, image_format: str, dpi: float,
                      negative_up: bool) -> str:
    """The F-wave panel of nerve ``index`` (empty when its study has no F-wave train).

    The raster (:func:`~nerveconduct.plot.fwave.plot_f_waves`, id ``plot-fwave-<index>``)
    when ``plots``, then the table (class ``f-waves``) with the upper limit of normal used
    and the basis of that limit (the comparison's reason: fixed or height-adjusted).
    """
    if not has_f_wave_train(result):
        return ""
    measures = f_wave_train_measures(result.study)
    parts = [f'<div class="keep f-wave-panel" data-nerve-index="{index}"><h3>F-waves</h3>']
    if plots:
        ax = plot_f_waves(result, negative_up=negative_up, measures=measures)
        caption = (f"F-waves: {int(measures.n_stimuli_measured)} stimuli, first at the top, "
                   f"{'negative up' if negative_up else 'negative down'}; F-wave onsets (\u25bc), "
                   "minimal F latency (dashed line); the M-wave (shaded) is clipped and not searched")
        parts.append(figure_html(ax.figure, caption=caption, image_format=image_format, dpi=dpi,
                                 gid=f"plot-fwave-{index}", cls="traces"))
    rows, attrs = f_wave_rows(result, measures)
    parts.append(table(["Measure", "Value", "ULN\nms", "% of\nULN", "Status"], rows,
                       cls="limits f-waves", row_attrs=attrs))
    comp = (result.limits or {}).get("f_wave_latency")
    if comp is not None and comp.reason and comp.abnormal is not None:
        parts.append(f'<p class="note f-wave-limit">Upper limit: {esc(comp.reason)}.</p>')
    parts.append("</div>")
    return "\n".join(parts)
