"""Nerve-conduction pictures: the stacked CMAPs of a nerve, segment drops, TLI.

Clinicians read a motor study as a picture first: one CMAP per stimulation site, distal at
the top, all at the same gain, time in ms from the stimulus, with markers at the onset, the
negative peak and the end of the negative phase. :func:`plot_nerve` draws that display;
:func:`~nerveconduct.plot.summary.plot_segments` and :func:`~nerveconduct.plot.summary.plot_tli`
(re-exported here) draw the per-segment and per-nerve summaries.

Every function draws on a :class:`matplotlib.axes.Axes` it is given, or on a new
:class:`matplotlib.figure.Figure` with an Agg canvas when ``ax`` is ``None``; none touches
``pyplot`` state. The artists carry ``gid`` values so programs (and tests) can find them:
``"trace:<site>"``, ``"onset:<site>"``, ``"peak:<site>"``, ``"end:<site>"``,
``"label:<site>"``, ``"values:<site>"``, ``"absent:<site>"``, ``"segment:<k>"``,
``"verdict:<k>"``, ``"scalebar:gain"``, ``"scalebar:time"``, ``"scalebar:text"``,
``"stimulus"``, ``"legend"`` (``<site>`` is the site name
as recorded, suffixed ``#<position>`` when a name repeats; ``<k>`` is
:attr:`SegmentResult.index`). :func:`save_figure` (from :mod:`._common`, re-exported here)
writes PNG, SVG or PDF atomically.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ..analysis import NerveResult
from ._common import (
    ABNORMAL_COLOR,
    FIGURE_FORMATS,
    GAIN_STEPS_MV,
    HAND_SET_MARK,
    check_window,
    finish_trace_stack,
    fmt_value as _fmt,
    nice_step,
    pre_stimulus_baseline,
    save_figure,
    site_keys,
    site_label,
    trace_time_ms,
)
from .criteria import (
    DEFAULT_CB_RULE_SET,
    HIGHLIGHT_LEVELS,
    evaluate_segments,
    rule_set_table,
    rule_set_thresholds,
    verdicts_by_segment,
)
from .summary import LEVEL_COLORS, new_axes, plot_segments, plot_tli

__all__ = [
    "FIGURE_FORMATS",
    "plot_nerve",
    "plot_segments",
    "plot_tli",
    "save_figure",
    "new_axes",
    "site_keys",
    "trace_time_ms",
    "nice_step",
]

_MARKERS = (  # kind, marker, colour, what it marks
    ("onset", "v", "tab:blue", "onset"),
    ("peak", "o", "tab:red", "negative peak"),
    ("end", "^", "tab:green", "end of negative phase"),
)
#: The SiteResult field saying whether each marker above was hand-set (drawn hollow).
_MARKER_SOURCES = ("onset_latency_source", "negative_peak_latency_source", "negative_end_latency_source")


def _baseline_mv(site: Any, trace: np.ndarray, stim: int) -> float:
    if math.isfinite(site.baseline_mv):
        return float(site.baseline_mv)
    return pre_stimulus_baseline(trace, stim)


def _extent_mv(result: NerveResult, display: np.ndarray, t: np.ndarray) -> float:
    """Vertical extent one trace needs (mV): the largest measured response."""
    amps = [s.peak_to_peak_amplitude_mv for s in result.sites if s.present]
    amps += [s.negative_peak_amplitude_mv for s in result.sites if s.present]
    amps = [a for a in amps if math.isfinite(a) and a > 0]
    if amps:
        return max(amps)
    late = display[:, t > 1.0]  # nothing measured: the traces' own range after the artifact
    late = late[np.isfinite(late)]
    return float(np.percentile(late, 99.5) - np.percentile(late, 0.5)) if late.size else 1.0


#: Changes along a segment drawn in the abnormal colour (%): an amplitude or area drop of at
#: least 50 % (the EFNS/PNS 2010 definite-block drop) or a negative-peak duration increase of
#: more than 30 % (the EFNS/PNS 2010 temporal-dispersion limit). Used only when no rule set
#: is given; with one, its own thresholds decide.
DEFAULT_ABNORMAL_PCT = {"amplitude_drop_pct": 50.0, "area_drop_pct": 50.0,
                        "duration_increase_pct": 30.0}


def _cv_lln(result: NerveResult) -> float | None:
    comp = result.limits.get("conduction_velocity") if result.limits else None
    if comp is None or comp.limit_kind != "LLN" or comp.limit is None or not math.isfinite(comp.limit):
        return None
    return float(comp.limit)


#: Where the segment annotations start (axes fraction): right of the sites' latency and
#: amplitude (at 1.01), so the two never overlap however close the traces are.
_SEGMENT_X = 1.25


def _distal_abnormal(result: NerveResult) -> bool:
    """The distal motor latency or the distal amplitude is beyond its normal limit."""
    limits = result.limits or {}
    return any(getattr(limits.get(k), "abnormal", None) for k in ("distal_motor_latency",
                                                                   "distal_amplitude"))


def _segment_lines(seg: Any, verdict: Any, cv_lln: float | None,
                   limits: dict[str, float]) -> list[tuple[str, bool]]:
    """The segment annotation as (line, abnormal) pairs."""
    if seg.proximal_absent or seg.distal_absent:
        lines = [(f"{'proximal' if seg.proximal_absent else 'distal'} response absent", True)]
    else:
        cv = seg.conduction_velocity_m_s
        amp, area, dur = seg.amplitude_drop_pct, seg.area_drop_pct, seg.duration_increase_pct
        slow = cv_lln is not None and math.isfinite(cv) and cv < cv_lln
        drop = any(math.isfinite(v) and v >= limits[k] for k, v in
                   (("amplitude_drop_pct", amp), ("area_drop_pct", area)) if k in limits)
        wide = ("duration_increase_pct" in limits and math.isfinite(dur)
                and dur > limits["duration_increase_pct"])
        hs = set(getattr(seg, "hand_set_values", ()))
        m = {k: HAND_SET_MARK if k in hs and math.isfinite(getattr(seg, k)) else "" for k in
             ("conduction_velocity_m_s", "amplitude_drop_pct", "area_drop_pct", "duration_increase_pct")}
        lines = [(f"CV {_fmt(cv, '.1f', ' m/s')}{m['conduction_velocity_m_s']}"
                  + (f" (< {cv_lln:g})" if slow else ""), slow),
                 (f"drop: amp {_fmt(amp, '.0f', '%')}{m['amplitude_drop_pct']}, "
                  f"area {_fmt(area, '.0f', '%')}{m['area_drop_pct']}", drop),
                 (f"duration {_fmt(dur, '+.0f', '%')}{m['duration_increase_pct']}", wide)]
    if seg.across_entrapment_site:
        lines.append((f"across compression site:\n{seg.entrapment_site}", False))
    if verdict is not None and verdict.level in HIGHLIGHT_LEVELS:
        lines.append((verdict.label, True))
    return lines


def _segment_text(seg: Any, verdict: Any) -> str:
    return "\n".join(text for text, _ in _segment_lines(seg, verdict, None, {}))


def _abnormal_limits(rule_set: Any) -> dict[str, float]:
    """Segment limits for colouring: the lowest drop and duration thresholds of ``rule_set``'s
    table (adjacent-site comparisons only), else :data:`DEFAULT_ABNORMAL_PCT`."""
    table = None
    if rule_set is not None:
        try:
            table = rule_set_table(rule_set)
        except KeyError:  # unknown id: the verdicts call reports it; colour by default limits
            table = None
    if table is None or getattr(table, "comparison", "adjacent") != "adjacent":
        return dict(DEFAULT_ABNORMAL_PCT)
    found: dict[str, float] = {}
    for line in rule_set_thresholds(table):
        found[line.measure] = min(found.get(line.measure, math.inf), line.value_pct)
    return {**DEFAULT_ABNORMAL_PCT, **found} if found else dict(DEFAULT_ABNORMAL_PCT)


def plot_nerve(
    result: NerveResult,
    ax: Axes | None = None,
    *,
    negative_up: bool = True,
    verdicts: Sequence[Any] | str | None = "auto",
    rule_set: str = DEFAULT_CB_RULE_SET,
    window_ms: tuple[float, float] | None = None,
    patient: str | None = None,
) -> Axes:
    """Draw the standard NCS display of one nerve: stacked CMAPs, distal at the top.

    Parameters
    ----------
    result : NerveResult
        From :func:`~nerveconduct.analysis.analyze_nerve`; ``result.study`` must hold the
        waveforms (mV).
    ax : Axes, optional
        Where to draw; default a new Figure (Agg canvas) sized for the number of sites.
    negative_up : bool, default True
        Display convention: the negative phase of the CMAP points up. ``False`` draws the
        physical polarity (negative down).
    verdicts : "auto", sequence of SegmentVerdict or None
        Verdicts to highlight: ``"auto"`` evaluates ``rule_set`` when the criteria evaluator
        is installed; ``None`` shows no verdicts.
    rule_set : str, default "efns-pns-2010-mmn"
        Rule set for ``verdicts="auto"``.
    window_ms : (float, float), optional
        Time window (ms from the stimulus); default from 1 ms before the stimulus (or the
        trace start) to the trace end.
    patient : str, optional
        The patient-level result of the same rule set over all the patient's nerves, in its
        own words (:func:`~nerveconduct.plot.summary.patient_words`); captioned under the
        title with the rule set whose verdicts are shown. One nerve alone does not make a
        patient, so none is computed here.

    Returns
    -------
    Axes
        The axes drawn on (the figure is ``ax.figure``).

    Raises
    ------
    ValueError
        ``result.study`` is ``None`` (values without waveforms), or ``window_ms`` is not an
        increasing pair inside the trace.

    Notes
    -----
    Values beyond a limit are drawn in red (:data:`ABNORMAL_COLOR`): the distal site's
    latency/amplitude when beyond the normal limits, a CV below the CV lower limit, a drop
    or duration increase at or beyond the lowest threshold of ``rule_set`` (adjacent-site
    tables; else :data:`DEFAULT_ABNORMAL_PCT`), an absent response; red lines are the
    ``"abnormal:<k>"`` text drawn over the segment's annotation.

    All traces share one gain; each is drawn relative to its measured baseline and offset
    by the same spacing. Markers sit at the measured latencies: onset
    (``onset_latency_ms``), negative peak (``negative_peak_latency_ms``) and the end of the
    negative phase (``negative_end_latency_ms``), at the plotted trace's value there (linear
    interpolation); a hand-set marker is drawn hollow (a "hand-set" legend entry) and a
    value derived from one carries :data:`HAND_SET_MARK`. Absent responses get no markers and an
    "absent" label. Segment annotations give CV and the amplitude, area (as changes from
    the distal site of the segment) and duration changes; segments with a definite,
    probable or possible verdict, or meeting an item of a CIDP rule set (level ``met``), are
    bracketed in the verdict's colour. With verdicts, a second title line names their rule set
    and, when given, the patient-level result.
    """
    study = result.study
    if study is None:
        raise ValueError("plot_nerve needs the waveforms: result.study is None "
                         "(results of analyze_values carry no traces); use plot_segments instead")
    fs, stim = study.sampling_rate_hz, study.stimulus_sample
    physical = np.asarray(study.traces, dtype=float)
    if study.polarity == "negative-up":
        physical = -physical
    n_sites, n_samples = physical.shape
    t = trace_time_ms(n_samples, fs, stim)
    lo, hi = check_window(window_ms, t)
    if isinstance(verdicts, str):
        if verdicts != "auto":
            raise ValueError(f"verdicts must be 'auto', a list of SegmentVerdict or None, got {verdicts!r}")
        verdicts = evaluate_segments(result, rule_set)
    by_segment = verdicts_by_segment(verdicts)
    caption = _verdict_caption(verdicts, rule_set, patient)

    if ax is None:
        height_in = 0.9 + 0.72 * n_sites + (0.16 if caption else 0.0)
        ax = new_axes((7.5, height_in))
        ax.figure.subplots_adjust(left=0.13, right=0.62, top=1 - (0.46 if caption else 0.3) / height_in,
                                  bottom=0.45 / height_in)
    sign = -1.0 if negative_up else 1.0
    display = np.stack([sign * (physical[k] - _baseline_mv(s, physical[k], stim))
                        for k, s in enumerate(result.sites)])
    extent = _extent_mv(result, display, t)
    gain_mv = nice_step(extent / 2.0, GAIN_STEPS_MV)
    spacing = max(1.25 * extent, gain_mv)
    keys = site_keys([s.name for s in result.sites])
    left = blended_transform_factory(ax.transAxes, ax.transData)

    offsets = [-k * spacing for k in range(n_sites)]
    any_hand_set = False
    for k, (site, key) in enumerate(zip(result.sites, keys, strict=True)):
        y = offsets[k] + display[k]
        ax.plot(t, y, color="black", lw=0.8, gid=f"trace:{key}", label=site.name)
        ax.text(-0.02, offsets[k], site_label(site.name, site.cumulative_distance_mm),
                transform=left, ha="right", va="center", fontsize=8, gid=f"label:{key}")
        if not site.present:
            ax.text(lo + 0.02 * (hi - lo), offsets[k] + 0.25 * spacing, "absent", fontsize=8,
                    color="tab:red", style="italic", gid=f"absent:{key}")
            continue
        end = site.negative_end_latency_ms
        if not math.isfinite(end):
            end = site.onset_latency_ms + site.negative_peak_duration_ms
        positions = (site.onset_latency_ms, site.negative_peak_latency_ms, end)
        for (kind, marker, color, _), x, source in zip(_MARKERS, positions, _MARKER_SOURCES, strict=True):
            if math.isfinite(x):
                hand = getattr(site, source, "detected") == "hand-set"
                any_hand_set |= hand
                ax.plot([x], [float(np.interp(x, t, y))], linestyle="none", marker=marker,
                        color=color, markersize=6 if hand else 5, gid=f"{kind}:{key}",
                        markerfacecolor="none" if hand else color, markeredgewidth=1.3 if hand else 1.0)
        beyond = k == 0 and _distal_abnormal(result)
        hs = set(getattr(site, "hand_set_values", ()))
        mark = {f: HAND_SET_MARK if f in hs else "" for f in ("onset_latency_ms", "negative_peak_amplitude_mv")}
        ax.text(1.01, offsets[k],
                f"{_fmt(site.onset_latency_ms, '.2f', ' ms')}{mark['onset_latency_ms']}  "
                f"{_fmt(site.negative_peak_amplitude_mv, '.2f', ' mV')}{mark['negative_peak_amplitude_mv']}",
                transform=left, fontsize=7, va="center", gid=f"values:{key}",
                color=ABNORMAL_COLOR if beyond else "black",
                fontweight="bold" if beyond else "normal")

    cv_lln = _cv_lln(result)
    limits = _abnormal_limits(rule_set)
    for seg in result.segments:
        verdict = by_segment.get(seg.index)
        level = verdict.level if verdict is not None else None
        color = LEVEL_COLORS.get(level, "dimgray")
        y_mid = 0.5 * (offsets[seg.index - 1] + offsets[seg.index])
        lines = _segment_lines(seg, verdict, cv_lln, limits)
        text = ax.text(_SEGMENT_X, y_mid, "\n".join(t for t, _ in lines), transform=left, fontsize=7,
                       va="center", color=color, gid=f"segment:{seg.index}",
                       fontweight="bold" if level in HIGHLIGHT_LEVELS else "normal")
        if level not in HIGHLIGHT_LEVELS and any(bad for _, bad in lines):
            _overlay_abnormal(ax, text, lines, seg.index)
        if level in HIGHLIGHT_LEVELS:
            ax.plot([1.0, 1.0], [offsets[seg.index - 1], offsets[seg.index]], transform=left,
                    color=color, lw=4, solid_capstyle="butt", clip_on=False,
                    gid=f"verdict:{seg.index}")

    ax.axvline(0.0, color="gray", lw=0.6, ls=":", gid="stimulus")
    handles = [Line2D([], [], linestyle="none", marker=m, color=c, markersize=4, label=what)
               for _, m, c, what in _MARKERS]
    if any_hand_set:
        handles.append(Line2D([], [], linestyle="none", marker="o", color="dimgray", markersize=4,
                              markerfacecolor="none", label=f"hand-set ({HAND_SET_MARK})"))
    legend = ax.legend(handles=handles, loc="lower left", fontsize=6, frameon=False, ncol=3,
                       handletextpad=0.2, columnspacing=0.8, borderaxespad=0.1)
    legend.set_gid("legend")
    finish_trace_stack(ax, lo, hi, offsets, spacing, gain_mv)
    title = " ".join(p for p in (result.side, result.nerve_label) if p)
    if result.muscle:
        title += f" ({result.muscle})"
    polarity = "negative up" if negative_up else "negative down"
    ax.set_title(f"{title} — {polarity}, scale bar {gain_mv:g} mV" + (f"\n{caption}" if caption else ""),
                 fontsize=9)
    return ax


def _verdict_caption(verdicts: Any, rule_set: str, patient: str | None) -> str:
    """Which rule set the bracketed verdicts are of, and the patient-level result when given
    (empty without verdicts)."""
    if verdicts is None:
        return ""
    rule_set_id = next((getattr(v, "rule_set_id", None) for v in verdicts), None) or str(rule_set)
    return f"verdicts: {rule_set_id}" + (f"; patient: {patient}" if patient else "")


def _overlay_abnormal(ax: Axes, text: Any, lines: list[tuple[str, bool]], index: int) -> None:
    """Redraw the abnormal lines of a segment annotation in :data:`ABNORMAL_COLOR` exactly over
    the grey ones (same font, position and line layout; the other lines left empty), so the
    ``segment:<k>`` text keeps every line and the abnormal ones read red."""
    overlay = "\n".join(t if bad else "\n".join("" for _ in t.split("\n")) for t, bad in lines)
    x, y = text.get_position()
    ax.text(x, y, overlay, transform=text.get_transform(), fontsize=text.get_fontsize(),
            va="center", color=ABNORMAL_COLOR, gid=f"abnormal:{index}")
