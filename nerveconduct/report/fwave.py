"""The F-wave panel of a nerve's report page: the raster of the train and its table.

Shown only for a nerve whose study holds an F-wave train (``NerveStudy.f_wave_traces``); a
latency typed into a sheet stays in the nerve's summary lines as before. The table gives the
values the analysis measured from the train (:class:`~nerveconduct.analysis.NerveResult`:
minimal and mean latency, persistence, chronodispersion, where the latency came from) and the
minimal latency against its upper limit of normal (``limits["f_wave_latency"]``: the limit,
% of it, fixed or height-adjusted), each row with ``data-measure`` / ``data-value``.

A nerve without an F latency reads, here and in the nerve values, the motor summary and the
normal-limits table (:func:`f_wave_state`), "absent (0 F-waves in N stimuli)" (sought in a
train, none found), "absent (study sheet)" (the sheet says absent), "not assessable" (a train
that could not show F-waves: the nerve's F-wave flags say why) or "not studied".
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..analysis.sources import f_wave_unassessable
from ..plot.fwave import f_wave_train_measures, has_f_wave_train, plot_f_waves
from .html import Cell, cell, esc, figure_html, fmt, table

__all__ = ["f_wave_panel_html", "f_wave_rows", "f_wave_state", "f_wave_state_cell",
           "f_wave_status", "f_wave_text", "FWaveState"]

#: Where the nerve's F latency came from, in words (``NerveResult.f_wave_latency_source``).
SOURCE_WORDS = {"traces": "measured from the F-wave train", "sheet": "typed in the study sheet",
                None: "not studied"}


class FWaveState(NamedTuple):
    """How a nerve without an F latency reads: ``kind`` (``"absent"``, ``"not assessable"``
    or ``"not studied"``), the ``text`` shown and the ``reason`` (the nerve's F-wave flags,
    for a train that is not assessable; else ``None``)."""

    kind: str
    text: str
    reason: str | None = None


def _f_wave_flags(result: Any) -> list[str]:
    return [f for f in (getattr(result, "flags", None) or ()) if str(f).startswith("F-wave")]


def f_wave_state(result: Any, measures: Any = None) -> FWaveState | None:
    """The F-wave state of a nerve without an F latency; ``None`` when it has one.

    - sought in the nerve's train and none found (``f_wave_latency_source`` ``"traces"``,
      persistence 0 %): ``"absent (0 F-waves in N stimuli)"``, N the stimuli measured;
    - the sheet's F latency is NaN (sought, absent): ``"absent (study sheet)"``;
    - a train that gave no latency, or a NaN latency from traces that is not a measured
      absence (persistence not 0 %, or a nerve flag starting "F-wave" that says "not
      assessable"): ``"not assessable"``, the reason being the nerve's F-wave flags;
    - otherwise ``"not studied"``.

    ``measures`` (:func:`~nerveconduct.plot.fwave.f_wave_train_measures` of the study) is
    measured here when needed and not given.
    """
    latency = getattr(result, "f_wave_latency_ms", None)
    if latency is not None and math.isfinite(latency):
        return None
    flags = _f_wave_flags(result)
    reason = "; ".join(flags) or "the F-wave train could not be measured"
    source = getattr(result, "f_wave_latency_source", None)
    if latency is None:  # not studied, or a train that gave no latency (flagged)
        if flags or has_f_wave_train(result):
            return FWaveState("not assessable", "not assessable", reason)
        return FWaveState("not studied", "not studied")
    if source != "traces":
        return FWaveState("absent", "absent (study sheet)")
    if getattr(result, "f_wave_persistence_pct", None) != 0 or f_wave_unassessable(flags):
        return FWaveState("not assessable", "not assessable", reason)
    if measures is None and has_f_wave_train(result):
        measures = f_wave_train_measures(result.study)
    if measures is None:
        return FWaveState("absent", "absent (no F-wave in the train)")
    return FWaveState("absent", f"absent ({int(measures.n_f_waves)} F-waves in "
                                f"{int(measures.n_stimuli_measured)} stimuli)")


def f_wave_text(result: Any) -> str:
    """The nerve's F latency (``"25.33 ms"``), else its :func:`f_wave_state` (``"not
    assessable (see the flags)"`` when the nerve's flags give the reason)."""
    state = f_wave_state(result)
    if state is None:
        return f"{fmt(result.f_wave_latency_ms, 'ms')} ms"
    return f"{state.text} (see the flags)" if state.reason else state.text


def f_wave_state_cell(state: FWaveState, *, measure: str = "f_wave_latency_ms") -> Cell:
    """A table cell reading the state (class ``absent``, ``data-f-wave-state``), the reason
    as its tooltip."""
    return Cell(state.text, classes=("absent",), title=state.reason,
                data={"measure": measure, "value": "", "f-wave-state": state.kind})


def f_wave_status(result: Any, measures: Any = None, *, short: bool = False) -> tuple[str, list[str]]:
    """Status text and CSS classes of the F latency against its ULN: ``"normal"``,
    ``"abnormal"``, the :func:`f_wave_state` (``"absent (0 F-waves in 20 stimuli)"``,
    ``"not assessable: <reason>"``; ``short``: its kind, ``"absent"``), else ``"n/a: <reason>"``."""
    comp = (result.limits or {}).get("f_wave_latency")
    if comp is not None and comp.abnormal is not None:
        return ("abnormal", ["abn"]) if comp.abnormal else ("normal", [])
    state = f_wave_state(result, measures)
    if state is not None:
        text = state.kind if short else state.text
        return (f"{text}: {state.reason}" if state.reason else text), ["absent"]
    return (f"n/a: {comp.reason}" if comp is not None and comp.reason else "n/a"), []


def f_wave_rows(result: Any, measures: Any) -> tuple[list[list[Cell]], list[dict[str, Any]]]:
    """Rows of the F-wave table: (measure, value, limit, % of limit, status)."""
    comp = (result.limits or {}).get("f_wave_latency")
    status, status_classes = f_wave_status(result, measures, short=True)  # the value says more
    bad = ["abn"] if comp is not None and comp.abnormal else []
    limit = cell(comp.limit if comp else None, "ms", measure="f_wave_uln_ms")
    if comp is not None and comp.limit is not None:
        limit.text = f"\u2264{limit.text}"
    n_f, n_stim = int(measures.n_f_waves), int(measures.n_stimuli_measured)
    blank = [Cell(""), Cell(""), Cell("")]
    state = f_wave_state(result, measures)
    minimal = (cell(result.f_wave_latency_ms, "ms", measure="f_wave_latency_ms", classes=bad)
               if state is None else f_wave_state_cell(state))
    source = SOURCE_WORDS.get(result.f_wave_latency_source, str(result.f_wave_latency_source))
    if state is not None and state.kind == "not assessable":
        source = "F-wave train not assessable"
    rows = [
        [cell("Minimal F latency (ms)"), minimal, limit,
         cell(comp.pct_of_limit if comp else None, "pct", measure="f_wave_latency_pct_of_uln"),
         cell(status, classes=bad or status_classes)],
        [cell("Mean F latency (ms)"),
         cell(result.f_wave_mean_latency_ms, "ms", measure="f_wave_mean_latency_ms"), *blank],
        [cell("Persistence (%)"),
         cell(result.f_wave_persistence_pct, "pct", measure="f_wave_persistence_pct"),
         Cell(""), Cell(""), cell(f"{n_f} F-waves / {n_stim} stimuli")],
        [cell("Chronodispersion (ms)"),
         cell(result.f_wave_chronodispersion_ms, "ms", measure="f_wave_chronodispersion_ms"),
         *blank],
        [cell("Source"), cell(source), *blank],
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
