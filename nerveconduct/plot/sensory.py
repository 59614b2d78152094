"""The SNAP picture: a sensory nerve's action potentials stacked, distal site at the top.

The sensory counterpart of :func:`~nerveconduct.plot.nerve.plot_nerve`: one SNAP per site
(repeated sweeps averaged with :func:`~nerveconduct.measure.snap.average_sweeps`), all at one
gain in uV, time in ms from the stimulus, markers at the onset and the negative peak the
sensory analysis measured (:func:`nerveconduct.analysis.sensory.analyze_sensory`), the
values beside each trace and in :data:`~nerveconduct.plot._common.ABNORMAL_COLOR` when
beyond the limits the result carries.

Artists carry ``gid`` values: ``"trace:<site>"``, ``"onset:<site>"``, ``"peak:<site>"``,
``"label:<site>"``, ``"values:<site>"``, ``"absent:<site>"``, ``"stimulus"``, ``"legend"``
and the scale bar (``"scalebar:gain"``, ``"scalebar:time"``, ``"scalebar:text"``);
``<site>`` is the site name, suffixed ``#<position>`` when a name repeats.
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
    finish_trace_stack,
    fmt_value,
    nice_step,
    pre_stimulus_baseline,
    site_keys,
    site_label,
    trace_time_ms,
)
from .summary import new_axes

__all__ = ["plot_sensory", "sensory_title", "snap_traces_uv", "site_abnormal"]

_UV = " \u00b5V"
_MARKERS = (  # kind, marker, colour, what it marks, SensorySiteResult field
    ("onset", "v", "tab:blue", "onset", "onset_latency_ms"),
    ("peak", "o", "tab:red", "negative peak", "negative_peak_latency_ms"),
)


def sensory_title(result: Any) -> str:
    """``"right median (antidromic, digit II)"``-style label of a sensory result."""
    label = getattr(result, "label", None) or " ".join(
        p for p in (getattr(result, "side", None), getattr(result, "nerve", None)) if p)
    study = getattr(result, "study", None)
    details = [d for d in (getattr(result, "direction", None),
                           getattr(study, "recording_site", None)) if d]
    return f"{label} ({', '.join(details)})" if details else label


def snap_traces_uv(study: Any) -> np.ndarray:
    """The study's SNAPs in uV, physical polarity, one per site ``(n_sites, n_samples)``:
    repeated sweeps averaged (:func:`~nerveconduct.measure.snap.average_sweeps`)."""
    from ..measure.snap import average_sweeps

    traces = np.asarray(study.traces)
    if traces.ndim == 3:
        traces = average_sweeps(traces, axis=1)
    physical = np.asarray(traces, dtype=float) * 1000.0
    return -physical if study.polarity == "negative-up" else physical


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def site_abnormal(result: Any, k: int) -> dict[str, bool]:
    """Which values of site ``k`` the analysis judged beyond their limit: the distal SNAP's
    ``amplitude``, ``conduction_velocity`` and ``peak_latency``, from ``result.abnormal_items``
    (the analysis's one list, :data:`nerveconduct.analysis.sensory.SENSORY_LIMITS`); the
    other sites are not compared with limits (all False)."""
    from ..analysis.sensory import SENSORY_LIMITS

    items = set(getattr(result, "abnormal_items", ()) or ())
    return {key: k == 0 and spec[4] in items for key, spec in SENSORY_LIMITS.items()}


def plot_sensory(result: Any, ax: Axes | None = None, *, study: Any = None,
                 negative_up: bool = True, window_ms: tuple[float, float] | None = None) -> Axes:
    """Draw the SNAPs of one sensory study, distal site at the top.

    Parameters
    ----------
    result : SensoryResult
        From :func:`~nerveconduct.analysis.sensory.analyze_sensory`: the site measures
        (``onset_latency_ms``, ``negative_peak_latency_ms``, ``amplitude_uv``,
        ``conduction_velocity_m_s``, ``present``) and the limits used.
    ax : Axes, optional
        Where to draw; default a new Figure (Agg canvas) sized for the number of sites.
    study : SensoryStudy, optional
        The waveforms (mV); default ``result.study``.
    negative_up : bool, default True
        Display convention: the negative peak of the SNAP points up.
    window_ms : (float, float), optional
        Time window (ms from the stimulus); default 1 ms before the stimulus (or the trace
        start) to the trace end.

    Returns
    -------
    Axes

    Raises
    ------
    ValueError
        No study (neither ``study`` nor ``result.study``), a study whose sites do not match
        the result's, or a bad ``window_ms``.

    Notes
    -----
    All SNAPs share one gain (uV), set by the largest measured peak-to-peak amplitude; each
    is drawn relative to its pre-stimulus baseline (median) and clipped at 0.8 trace spacings
    (the stimulus artifact, not the SNAP). Markers sit at the measured
    onset and negative-peak latencies, on the plotted trace (linear interpolation). Each
    trace's right-hand text gives onset latency, peak latency, amplitude (baseline to
    negative peak) and CV; the distal site's is red when the analysis judged a value beyond
    its limit (:func:`site_abnormal`). Absent responses get no markers and an "absent" label.
    """
    study = study if study is not None else getattr(result, "study", None)
    if study is None:
        raise ValueError("plot_sensory needs the waveforms: give study= (the SensoryStudy) or a "
                         "result whose .study holds it")
    if len(study.sites) != len(result.sites):
        raise ValueError(f"the study has {len(study.sites)} sites but the result "
                         f"{len(result.sites)}: give the study the result was analyzed from")
    fs, stim = study.sampling_rate_hz, study.stimulus_sample
    physical = snap_traces_uv(study)
    n_sites, n_samples = physical.shape
    t = trace_time_ms(n_samples, fs, stim)
    lo, hi = check_window(window_ms, t)
    sign = -1.0 if negative_up else 1.0
    display = np.stack([sign * (physical[k] - pre_stimulus_baseline(physical[k], stim))
                        for k in range(n_sites)])
    amps = [s.peak_to_peak_amplitude_uv for s in result.sites if s.present]
    amps = [a for a in amps if _finite(a) and a > 0]
    if amps:
        extent = max(amps)
    else:  # nothing measured: the traces' own range after the artifact
        late = display[:, t > 1.0]
        late = late[np.isfinite(late)]
        extent = float(np.percentile(late, 99.5) - np.percentile(late, 0.5)) if late.size else 10.0
    gain_uv = nice_step(extent / 2.0, GAIN_STEPS_UV)
    spacing = max(1.25 * extent, gain_uv)

    if ax is None:
        height_in = 1.0 + 0.8 * n_sites
        ax = new_axes((7.5, height_in))
        ax.figure.subplots_adjust(left=0.13, right=0.62, top=1 - 0.3 / height_in,
                                  bottom=0.45 / height_in)
    left = blended_transform_factory(ax.transAxes, ax.transData)
    keys = site_keys([s.site for s in result.sites])
    offsets = [-k * spacing for k in range(n_sites)]
    for k, (site, key) in enumerate(zip(result.sites, keys, strict=True)):
        # clipped (the stimulus artifact, often larger than the SNAP) short of the neighbours
        y = offsets[k] + np.clip(display[k], -0.8 * spacing, 0.8 * spacing)
        ax.plot(t, y, color="black", lw=0.8, gid=f"trace:{key}", label=site.site)
        ax.text(-0.02, offsets[k], site_label(site.site, site.cumulative_distance_mm), transform=left,
                ha="right", va="center", fontsize=8, gid=f"label:{key}")
        if not site.present:
            ax.text(lo + 0.02 * (hi - lo), offsets[k] + 0.25 * spacing, "absent", fontsize=8,
                    color="tab:red", style="italic", gid=f"absent:{key}")
            continue
        for kind, marker, color, _, field in _MARKERS:
            x = getattr(site, field)
            if _finite(x):
                ax.plot([x], [float(np.interp(x, t, y))], linestyle="none", marker=marker,
                        color=color, markersize=5, gid=f"{kind}:{key}")
        bad = site_abnormal(result, k)
        text = (f"{fmt_value(site.onset_latency_ms, '.2f', ' ms')}  "
                f"peak {fmt_value(site.negative_peak_latency_ms, '.2f', ' ms')}  "
                f"{fmt_value(site.amplitude_uv, '.1f', _UV)}  "
                f"CV {fmt_value(site.conduction_velocity_m_s, '.0f', ' m/s')}")
        beyond = any(bad.values())
        ax.text(1.01, offsets[k], text, transform=left, fontsize=7, va="center",
                gid=f"values:{key}", color=ABNORMAL_COLOR if beyond else "black",
                fontweight="bold" if beyond else "normal")

    ax.axvline(0.0, color="gray", lw=0.6, ls=":", gid="stimulus")
    handles = [Line2D([], [], linestyle="none", marker=m, color=c, markersize=4, label=what)
               for _, m, c, what, _ in _MARKERS]
    legend = ax.legend(handles=handles, loc="lower left", fontsize=6, frameon=False, ncol=2,
                       handletextpad=0.2, columnspacing=0.8, borderaxespad=0.1)
    legend.set_gid("legend")
    finish_trace_stack(ax, lo, hi, offsets, spacing, gain_uv, unit="\u00b5V")
    polarity = "negative up" if negative_up else "negative down"
    ax.set_title(f"{sensory_title(result)} \u2014 SNAPs, {polarity}, scale bar {gain_uv:g} \u00b5V",
                 fontsize=9)
    return ax
