"""The F-wave picture: the train of responses to repeated stimuli as a stacked raster.

Clinicians read an F-wave study as a raster: one sweep per stimulus, first at the top, all at
the same (high) gain so the small late responses show, the M-wave clipped, each F-wave's
onset marked and the minimal F latency drawn across the train. :func:`plot_f_waves` draws
that display from a nerve's result (:func:`~nerveconduct.analysis.analyze_nerve` on a
:class:`~nerveconduct.model.NerveStudy` with ``f_wave_traces``), at the latencies
:func:`~nerveconduct.measure.fwave.measure_f_waves` measures — the same call, with the same
arguments, as the analysis core, so the markers are the values of the nerve's tables.

Artists carry ``gid`` values: ``"trace:<k>"`` (stimulus ``k``, 1-based), ``"f:<k>"`` (the
onset of its F-wave), ``"value:<k>"`` (its F latency as text; ``"none:<k>"`` reads "no F"),
``"minimal"`` (the minimal F latency, a line across the train), ``"minimal:text"``, ``"excluded"`` (the M-wave and its after-potentials, not searched),
``"absent"`` (F-waves sought and none found), ``"stimulus"``, ``"legend"`` and the scale
bar (``"scalebar:gain"``, ``"scalebar:time"``, ``"scalebar:text"``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ._common import (
    ABNORMAL_COLOR,
    GAIN_STEPS_UV,
    check_window,
    fmt_value,
    nice_step,
    pre_stimulus_baseline,
    scale_bar,
    trace_time_ms,
)
from .summary import nerve_title, new_axes

__all__ = ["plot_f_waves", "f_wave_train_measures", "has_f_wave_train"]

#: Colour of the F-wave onset markers and of the minimal-latency line.
F_COLOR = "tab:blue"
MINIMAL_COLOR = "tab:red"
#: Display extent when no F-wave was found (uV): the gain F-waves are usually read at.
_DEFAULT_EXTENT_UV = 400.0


def has_f_wave_train(result: Any) -> bool:
    """The result's study holds an F-wave train (``NerveStudy.f_wave_traces``)."""
    study = getattr(result, "study", None)
    return study is not None and getattr(study, "f_wave_traces", None) is not None


def f_wave_train_measures(study: Any) -> Any:
    """The F-wave measures of one study's train, per stimulus.

    The call the analysis core makes (:func:`nerveconduct.analysis.sources.f_wave_inputs`):
    :func:`~nerveconduct.measure.fwave.measure_f_waves` with the train's sampling rate and
    stimulus sample and the default thresholds; each train is measured on its own, so the
    values equal the nerve result's.

    Returns
    -------
    FWaveMeasures
        Of batch shape ``()``: ``latencies_ms`` and ``amplitudes_uv`` per stimulus (NaN: no
        F-wave), the minimal/mean latency, persistence, chronodispersion, ``m_wave_end_ms``.

    Raises
    ------
    ValueError
        The study has no F-wave train.
    """
    if getattr(study, "f_wave_traces", None) is None:
        raise ValueError("the study has no F-wave train (NerveStudy.f_wave_traces is None)")
    from ..measure.fwave import measure_f_waves  # numba: imported on first use

    return measure_f_waves(study.f_wave_traces, study.f_wave_sampling_rate_hz,
                           stimulus_sample=int(study.f_wave_stimulus_sample), n_threads=1)


def _window_start_ms(measures: Any) -> float:
    """Where the F window starts (ms): the M-wave's end plus the guard the measure uses."""
    from ..measure.fwave import M_GUARD_MS

    end = float(measures.m_wave_end_ms)
    return end + M_GUARD_MS if math.isfinite(end) else math.nan


def plot_f_waves(result: Any, ax: Axes | None = None, *, negative_up: bool = True,
                 window_ms: tuple[float, float] | None = None, measures: Any = None) -> Axes:
    """Draw a nerve's F-wave train as a raster: one sweep per stimulus, first at the top.

    Parameters
    ----------
    result : NerveResult
        From :func:`~nerveconduct.analysis.analyze_nerve`; ``result.study`` must hold an
        F-wave train (``f_wave_traces``, mV, shape ``(n_stimuli, n_samples)``).
    ax : Axes, optional
        Where to draw; default a new Figure (Agg canvas) sized for the number of stimuli.
    negative_up : bool, default True
        Display convention: negative deflections point up (as the CMAP display).
    window_ms : (float, float), optional
        Time window (ms from the stimulus); default 1 ms before the stimulus (or the trace
        start) to the end of the sweep.
    measures : FWaveMeasures, optional
        The train's measures (:func:`f_wave_train_measures`); computed when not given.

    Returns
    -------
    Axes
        The axes drawn on (the figure is ``ax.figure``).

    Raises
    ------
    ValueError
        ``result.study`` holds no F-wave train, or ``window_ms`` is not an increasing pair
        inside the sweep.

    Notes
    -----
    All sweeps share one gain (uV), set by the largest F-wave (peak-to-peak); each is drawn
    relative to its pre-stimulus baseline and clipped to the space between its neighbours,
    so the M-wave, many times larger, shows as a clipped block (the F-waves are clipped only
    beyond one sweep spacing). The M-wave and its
    after-potentials (up to ``m_wave_end_ms`` plus the guard of
    :func:`~nerveconduct.measure.fwave.measure_f_waves`), where no F-wave is sought, are
    shaded. Each F-wave's onset is a marker on its sweep at the measured latency (on the
    plotted trace, linear interpolation); a vertical line marks the minimal F latency,
    drawn in :data:`~nerveconduct.plot._common.ABNORMAL_COLOR` text when the minimal
    latency is beyond the upper limit of normal (``result.limits["f_wave_latency"]``).
    """
    study = getattr(result, "study", None)
    if not has_f_wave_train(result):
        raise ValueError("plot_f_waves needs an F-wave train: result.study has no f_wave_traces "
                         "(a latency typed into a sheet has no traces to draw)")
    m = measures if measures is not None else f_wave_train_measures(study)
    fs, stim = study.f_wave_sampling_rate_hz, int(study.f_wave_stimulus_sample)
    train_uv = np.asarray(study.f_wave_traces, dtype=float) * 1000.0
    n_stim, n_samples = train_uv.shape
    t = trace_time_ms(n_samples, fs, stim)
    lo, hi = check_window(window_ms, t)
    latencies = np.asarray(m.latencies_ms, dtype=float)
    amplitudes = np.asarray(m.amplitudes_uv, dtype=float)
    found = np.isfinite(latencies)
    extent = float(np.max(amplitudes[found])) if found.any() else _DEFAULT_EXTENT_UV
    gain_uv = nice_step(extent / 2.0, GAIN_STEPS_UV)
    spacing = max(0.9 * extent, gain_uv)
    sign = -1.0 if negative_up else 1.0

    if ax is None:
        height_in = 1.5 + 0.22 * n_stim
        ax = new_axes((7.5, height_in))
        ax.figure.subplots_adjust(left=0.06, right=0.86, top=1 - 0.4 / height_in,
                                  bottom=0.7 / height_in)
    right = blended_transform_factory(ax.transAxes, ax.transData)
    offsets = [-k * spacing for k in range(n_stim)]
    start = _window_start_ms(m)
    if math.isfinite(start):
        ax.axvspan(max(lo, 0.0), start, color="0.92", lw=0, zorder=0, gid="excluded")
    # clipped: the M-wave to the space between neighbours, the rest (F-waves) to one spacing
    clip = np.where(t < start, 0.45 * spacing, spacing) if math.isfinite(start) else spacing
    for k in range(n_stim):
        base = pre_stimulus_baseline(train_uv[k], stim)
        y = offsets[k] + np.clip(sign * (train_uv[k] - base), -clip, clip)
        key = k + 1
        ax.plot(t, y, color="black", lw=0.6, gid=f"trace:{key}")
        if found[k]:
            x = float(latencies[k])
            ax.plot([x], [float(np.interp(x, t, y))], linestyle="none", marker="v",
                    color=F_COLOR, markersize=4, gid=f"f:{key}")
            text = f"{x:.1f}"
        else:
            text = "no F"
        ax.text(1.01, offsets[k], f"{key:>2}  {text}", transform=right, fontsize=6,
                va="center", gid=f"value:{key}" if found[k] else f"none:{key}",
                color="black" if found[k] else "gray")

    comparison = (getattr(result, "limits", None) or {}).get("f_wave_latency")
    beyond = bool(comparison is not None and comparison.abnormal)
    minimal = float(m.minimal_latency_ms)
    top = offsets[0] + 0.9 * spacing
    from ..measure.fwave import FEW_STIMULI, MIN_STIMULI_ASSESSABLE, NO_M_WAVE

    # the analysis core withdrew "absent": the window ends before the nerve's F-wave ULN
    short = bool(m.absent) and getattr(result, "f_wave_latency_source", "traces") != "traces"
    why = None
    if int(m.flags) & FEW_STIMULI:  # too short a train: no minimal latency, never "absent"
        why = f"{int(m.n_stimuli_measured)} stimuli (< {MIN_STIMULI_ASSESSABLE})"
    elif int(m.flags) & NO_M_WAVE:  # flat or noise only: no motor response, never "absent"
        why = "no M-wave"
    elif short:
        uln = "" if comparison is None or comparison.limit is None else f" {comparison.limit:g} ms"
        why = f"window ends at {float(m.window_end_ms):.1f} ms, before the F ULN{uln}"
    if why is not None:
        ax.text(0.5, 0.5, f"not assessable: {why}", transform=ax.transAxes, ha="center",
                fontsize=9, color="gray", style="italic", gid="not-assessable")
    elif math.isfinite(minimal):
        ax.axvline(minimal, color=MINIMAL_COLOR, lw=0.8, ls="--", gid="minimal")
        uln = ("" if comparison is None or comparison.limit is None
               else f" (ULN {comparison.limit:g} ms)")
        ax.text(minimal, top, f" F min {minimal:.2f} ms{uln}", fontsize=7, va="bottom",
                color=ABNORMAL_COLOR if beyond else MINIMAL_COLOR, gid="minimal:text",
                fontweight="bold" if beyond else "normal")
    elif bool(m.absent):
        ax.text(0.5, 0.5, "F-waves absent", transform=ax.transAxes, ha="center", fontsize=9,
                color=ABNORMAL_COLOR, style="italic", gid="absent")
    ax.axvline(0.0, color="gray", lw=0.6, ls=":", gid="stimulus")
    handles = [Line2D([], [], linestyle="none", marker="v", color=F_COLOR, markersize=4,
                      label="F-wave onset"),
               Line2D([], [], color=MINIMAL_COLOR, lw=0.8, ls="--", label="minimal F latency")]
    if math.isfinite(start):
        handles.append(Line2D([], [], color="0.85", lw=5, label="M-wave (not searched)"))
    legend = ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                       bbox_transform=ax.figure.transFigure, fontsize=6, frameon=False, ncol=3,
                       handletextpad=0.3, columnspacing=1.0, borderaxespad=0.2)
    legend.set_gid("legend")
    scale_bar(ax, lo, hi, offsets[-1] - 0.8 * spacing, gain_uv, unit="\u00b5V")
    ax.set_xlim(lo, hi)
    ax.set_ylim(offsets[-1] - 1.1 * spacing, top + 0.6 * spacing)
    ax.set_xlabel("time from stimulus (ms)", fontsize=8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    polarity = "negative up" if negative_up else "negative down"
    persistence = fmt_value(float(m.persistence_pct), ".0f", " %")
    ax.set_title(f"{nerve_title(result)} F-waves \u2014 {n_stim} stimuli, persistence "
                 f"{persistence}; {polarity}, scale bar {gain_uv:g} \u00b5V (M-wave clipped)",
                 fontsize=8)
    return ax
