"""Summary plots over nerves: segment drops against rule thresholds, and the TLI per nerve.

Both functions take a sequence of :class:`~nerveconduct.model.NerveResult` (from
:func:`~nerveconduct.analysis.analyze_nerves` or
:func:`~nerveconduct.analysis.analyze_values`; no waveforms needed), draw on the given Axes
or a new Agg Figure, and return the Axes. Artists carry ``gid`` values:

- :func:`plot_segments`: bars ``"<measure>:<r>:<k>"`` with ``<measure>`` one of
  ``amplitude_drop_pct``, ``area_drop_pct``, ``duration_increase_pct`` (``r`` = index of the
  result, ``k`` = :attr:`SegmentResult.index`), threshold lines
  ``"threshold:<measure>:<value>"``, verdict labels ``"verdict:<r>:<k>"``, missing values
  ``"missing:<measure>:<r>:<k>"``, and ``"empty"`` when no result has a segment.
- :func:`plot_tli`: bars ``"tli:<r>"``, the CIDP-MAG line ``"threshold:cidp-mag"``, the
  per-nerve cut-offs ``"cutoff:<r>"``, value labels ``"value:tli:<r>"``, missing values
  ``"missing:tli:<r>"``.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any, Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from .._checks import check_number
from .criteria import (
    DEFAULT_CB_RULE_SET,
    HIGHLIGHT_LEVELS,
    ThresholdLine,
    criteria_module,
    evaluate_segments,
    rule_set_duration,
    rule_set_table,
    rule_set_thresholds,
    verdicts_by_segment,
)

__all__ = [
    "LEVEL_COLORS",
    "MEASURE_COLORS",
    "CIDP_MAG_TLI_THRESHOLD",
    "TLI_CUTOFFS",
    "TLI_CUTOFFS_CITATION",
    "nerve_title",
    "new_axes",
    "patient_words",
    "plot_segments",
    "plot_tli",
]

#: Colour of each verdict level.
LEVEL_COLORS = {"definite": "#c0392b", "probable": "#e67e22", "possible": "#b7950b",
                "none": "dimgray", "not-assessable": "gray",
                "met": "#c0392b", "not-met": "dimgray"}  # item levels (CIDP rule sets)
#: Colour of each plotted segment measure.
MEASURE_COLORS = {"amplitude_drop_pct": "#1f77b4", "area_drop_pct": "#9467bd",
                  "duration_increase_pct": "#2ca02c"}
_MEASURE_NAMES = {"amplitude_drop_pct": "amplitude drop", "area_drop_pct": "area drop",
                  "duration_increase_pct": "duration increase"}

#: CIDP-MAG score item: "TLI ≤ 0.25 in at least 2 different motor nerves" (Doneddu et al.; ``docs/criteria.md``).
CIDP_MAG_TLI_THRESHOLD = 0.25
#: Per-nerve anti-MAG TLI cut-offs (Cocito 2001).
TLI_CUTOFFS: dict[str, float] = {"median": 0.26, "ulnar": 0.33}
TLI_CUTOFFS_CITATION = ("Cocito D, et al. Terminal latency index in polyneuropathy with IgM "
                        "paraproteinemia and anti-MAG antibody. Muscle Nerve 2001;24:1278-82.")


def new_axes(figsize: tuple[float, float]) -> Axes:
    """A single Axes on a new Figure with an Agg canvas (no pyplot state); size in inches."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def nerve_title(result: Any) -> str:
    """``"right median (APB)"``-style label of a nerve result."""
    text = " ".join(p for p in (result.side, result.nerve_label) if p)
    return f"{text} ({result.muscle})" if result.muscle else text


def _segment_values(seg: Any, comparison: str, duration: str) -> dict[str, float]:
    suffix = "_from_distal_pct" if comparison == "from_distal" else "_pct"
    dur = "cmap_duration_increase" if duration == "cmap" else "duration_increase"
    return {"amplitude_drop_pct": getattr(seg, f"amplitude_drop{suffix}"),
            "area_drop_pct": getattr(seg, f"area_drop{suffix}"),
            "duration_increase_pct": getattr(seg, f"{dur}{suffix}")}


def patient_words(results: Sequence[Any], rule_set: Any) -> str | None:
    """The patient-level result of ``rule_set`` over ``results`` (one patient's nerves) in the
    rule set's own words, with the nerves carrying it, e.g. ``"definite CB (left ulnar)"``.

    Parameters
    ----------
    results : sequence of NerveResult
        Every nerve of one patient.
    rule_set : str or RuleSet
        A rule-set id or a loaded table.

    Returns
    -------
    str or None
        None without the evaluator or without nerves.
    """
    if not results:
        return None
    module = criteria_module()
    if module is None:
        return None
    verdict = module.evaluate_patient(list(results), rule_set)
    return verdict.label + (f" ({', '.join(verdict.nerves)})" if verdict.nerves else "")


def plot_segments(
    results: Sequence[Any],
    ax: Axes | None = None,
    *,
    rule_set: Any = DEFAULT_CB_RULE_SET,
    thresholds: Sequence[ThresholdLine] | str | None = "auto",
    verdicts: Mapping[int, Sequence[Any]] | str | None = "auto",
    patient: str | None = "auto",
) -> Axes:
    """Amplitude drop, area drop and duration increase per segment against rule thresholds.

    Parameters
    ----------
    results : sequence of NerveResult
        Nerves whose segments to show (top to bottom, distal segment first).
    ax : Axes, optional
        Where to draw; default a new Figure.
    rule_set : str, RuleSet or None, default "efns-pns-2010-mmn"
        Rule set (id or table) whose thresholds, comparison (adjacent sites or from the
        distal site) and duration measure (negative-peak or CMAP duration) are used.
        ``None``: adjacent sites, negative-peak duration, no rule set.
    thresholds : "auto", sequence of ThresholdLine or None
        ``"auto"`` reads them from the rule-set table when the criteria tables are installed.
    verdicts : "auto", mapping or None
        ``{result index: [SegmentVerdict, ...]}``; ``"auto"`` evaluates ``rule_set`` when
        the evaluator is installed. Segments with a definite/probable/possible verdict get
        their label in the verdict's colour: the items met, named by their meaning, or the
        conduction-block level (e.g. "definite CB"), never a patient-level word.
    patient : "auto", str or None, default "auto"
        The patient-level result shown under the title: ``"auto"`` evaluates ``rule_set`` on
        ``results`` taken as one patient's nerves (when the evaluator is installed), in the
        rule set's own words (e.g. "weakly supportive of demyelination"); a string is shown
        as given; ``None`` shows none (nerves of several patients).

    Returns
    -------
    Axes

    Raises
    ------
    ValueError
        ``thresholds`` or ``verdicts`` is a string other than ``"auto"``.
    KeyError
        ``rule_set`` is not a known rule-set id (criteria installed).
    """
    results = list(results)
    for name, value in (("thresholds", thresholds), ("verdicts", verdicts)):
        if isinstance(value, str) and value != "auto":
            raise ValueError(f"{name} must be 'auto', a sequence or None, got {value!r}")
    table = rule_set_table(rule_set) if rule_set is not None else None
    comparison = getattr(table, "comparison", "adjacent")
    duration = rule_set_duration(table) if table is not None else "negative_peak"
    if thresholds == "auto":
        thresholds = rule_set_thresholds(table) if table is not None else []
    if verdicts == "auto":
        verdicts = ({} if rule_set is None else
                    {r: evaluate_segments(res, rule_set) for r, res in enumerate(results)})
    verdicts = verdicts or {}
    rows = [(r, res, seg) for r, res in enumerate(results) for seg in res.segments]
    own_figure = ax is None
    if ax is None:
        height_in = 2.0 + 0.45 * max(len(rows), 1)
        ax = new_axes((7.5, height_in))
        ax.figure.subplots_adjust(left=0.3, right=0.97, top=1 - 0.35 / height_in,
                                  bottom=1.45 / height_in)
    measures = tuple(MEASURE_COLORS)
    height = 0.8 / len(measures)
    finite = [v for _, _, seg in rows for v in _segment_values(seg, comparison, duration).values()
              if math.isfinite(v)]
    x_hi = max([0.0, *finite, *(t.value_pct for t in thresholds or ())]) or 100.0
    x_lo = min([0.0, *finite])
    at_right = blended_transform_factory(ax.transAxes, ax.transData)
    labels = []
    for i, (r, res, seg) in enumerate(rows):
        y = len(rows) - 1 - i
        values = _segment_values(seg, comparison, duration)
        by_seg = verdicts_by_segment(verdicts.get(r))
        for j, measure in enumerate(measures):
            yy = y + (1 - j) * height
            value = values[measure]
            if math.isfinite(value):
                bar = ax.barh(yy, value, height=height * 0.9, color=MEASURE_COLORS[measure],
                              label=_MEASURE_NAMES[measure] if i == 0 else None)
                bar.patches[0].set_gid(f"{measure}:{r}:{seg.index}")
            else:
                why = "absent" if (seg.proximal_absent or seg.distal_absent) else "n/a"
                ax.text(0.0, yy, f" {why}", va="center", fontsize=6, color="gray",
                        gid=f"missing:{measure}:{r}:{seg.index}")
        label = f"{nerve_title(res)}\n{seg.name}"
        if seg.across_entrapment_site:
            label += "\nacross compression site"
        labels.append((y, label))
        verdict = by_seg.get(seg.index)
        if verdict is not None and verdict.level in HIGHLIGHT_LEVELS:
            # right-aligned inside the axes, in the room right of every bar and threshold
            ax.text(0.995, y, textwrap.fill(verdict.label, 22), fontsize=7, va="center",
                    ha="right", transform=at_right, color=LEVEL_COLORS[verdict.level],
                    fontweight="bold", gid=f"verdict:{r}:{seg.index}")
    ax.set_yticks([y for y, _ in labels], [text for _, text in labels], fontsize=7)
    for tick, (r, _res, seg) in zip(ax.get_yticklabels(), rows, strict=True):
        verdict = verdicts_by_segment(verdicts.get(r)).get(seg.index)
        if verdict is not None and verdict.level in HIGHLIGHT_LEVELS:
            tick.set_color(LEVEL_COLORS[verdict.level])
    styles = ("--", ":", "-.", (0, (5, 1, 1, 1)))
    for n, line in enumerate(thresholds or ()):
        ax.axvline(line.value_pct, color=MEASURE_COLORS.get(line.measure, "black"), lw=1.0,
                   ls=styles[n % len(styles)], gid=f"threshold:{line.measure}:{line.value_pct:g}",
                   label=line.label)
    ax.axvline(0.0, color="black", lw=0.6)
    ax.set_xlim(x_lo - 0.05 * (x_hi - x_lo), x_hi + 0.55 * (x_hi - x_lo))
    ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    which = "from the distal site" if comparison == "from_distal" else "between adjacent sites"
    dur_name = "CMAP duration" if duration == "cmap" else "negative-peak duration"
    ax.set_xlabel(f"% {which}\ndrops: 100·(1 − prox/dist); {dur_name} increase: "
                  "100·(prox/dist − 1)", fontsize=7)
    name = getattr(table, "id", rule_set) if rule_set is not None else "no rule set"
    if patient == "auto":
        patient = patient_words(results, table) if table is not None else None
    ax.set_title(f"Segments against {name}" + (f"\npatient ({len(results)} nerve"
                 f"{'s' if len(results) != 1 else ''}): {patient}" if patient else ""), fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    if rows or thresholds:
        if own_figure:  # below the x label, at the bottom of the figure
            ax.legend(fontsize=6, loc="lower center", bbox_to_anchor=(0.5, 0.01), ncol=3,
                      bbox_transform=ax.figure.transFigure, frameon=False)
        else:
            ax.legend(fontsize=6, frameon=False)
    if not rows:
        ax.text(0.5, 0.5, "no segments (single-site studies)", transform=ax.transAxes,
                ha="center", gid="empty")
    return ax


def _tli_label_position(tli: float, lines: Sequence[float], top: float) -> tuple[float, str, str]:
    """Where a TLI value label goes, clear of the threshold and cut-off lines: inside the bar,
    near its foot, in white when the bar is tall enough and no line crosses the label; else
    above the bar and above any line the label would touch. Returns (y, va, colour)."""
    height = 0.075 * top  # the label's height in data units (7 pt on a ~2.2 in axes)
    foot = 0.02 * top
    if tli >= foot + height + 0.01 * top and not any(foot <= v <= foot + height for v in lines):
        return foot, "bottom", "white"
    y = tli + 0.015 * top
    for v in sorted(lines):
        if y - 0.015 * top <= v <= y + height:
            y = v + 0.02 * top
    return y, "bottom", "black"


def plot_tli(
    results: Sequence[Any],
    ax: Axes | None = None,
    *,
    threshold: float = CIDP_MAG_TLI_THRESHOLD,
    cutoffs: Mapping[str, float] | None = None,
) -> Axes:
    """Terminal latency index per nerve against 0.25 (CIDP-MAG) and per-nerve cut-offs.

    Parameters
    ----------
    results : sequence of NerveResult
        One bar per nerve (``terminal_latency_index``, dimensionless).
    ax : Axes, optional
        Where to draw; default a new Figure.
    threshold : float, default 0.25
        CIDP-MAG item "TLI ≤ 0.25 in at least 2 different motor nerves".
    cutoffs : mapping of canonical nerve -> float, optional
        Per-nerve cut-offs drawn over each bar; default :data:`TLI_CUTOFFS` (Cocito 2001:
        median 0.26, ulnar 0.33).

    Returns
    -------
    Axes

    Raises
    ------
    ValueError
        ``threshold`` is not a positive finite number.

    Notes
    -----
    TLI = distal distance (mm) / (CV of the first segment (m/s) × DML (ms)); a low TLI means
    disproportionate distal slowing (anti-MAG neuropathy). Bars at or below ``threshold``
    are red; nerves without a TLI show "n/a".
    """
    check_number("threshold (TLI)", threshold, minimum=0, inclusive=(False, True))
    cutoffs = TLI_CUTOFFS if cutoffs is None else dict(cutoffs)
    results = list(results)
    if ax is None:
        ax = new_axes((max(4.0, 1.2 + 0.9 * len(results)), 2.8))
        ax.figure.subplots_adjust(left=0.14, right=0.97, top=0.88, bottom=0.33)
    finite = [res.terminal_latency_index for res in results if math.isfinite(res.terminal_latency_index)]
    top = max([threshold, *cutoffs.values(), *finite]) if (finite or cutoffs) else threshold
    cutoff_labelled = False
    for r, res in enumerate(results):
        tli = res.terminal_latency_index
        cut = cutoffs.get(res.nerve)
        if math.isfinite(tli):
            low = tli <= threshold
            bar = ax.bar(r, tli, width=0.6, color="#c0392b" if low else "#5d6d7e")
            bar.patches[0].set_gid(f"tli:{r}")
            lines = [threshold] + ([cut] if cut is not None else [])
            y, va, color = _tli_label_position(tli, lines, top)
            ax.text(r, y, f"{tli:.3f}", ha="center", va=va, fontsize=7, color=color,
                    fontweight="bold" if color == "white" else "normal", gid=f"value:tli:{r}")
        else:
            ax.text(r, 0.01, "n/a", ha="center", va="bottom", fontsize=7, color="gray",
                    gid=f"missing:tli:{r}")
        if cut is not None:
            ax.plot([r - 0.4, r + 0.4], [cut, cut], color="#e67e22", lw=2, gid=f"cutoff:{r}",
                    label=None if cutoff_labelled else "anti-MAG cut-off (Cocito 2001)")
            cutoff_labelled = True
    ax.axhline(threshold, color="#c0392b", ls="--", lw=1, gid="threshold:cidp-mag",
               label=f"CIDP-MAG item: TLI \u2264 {threshold:g}")
    ax.set_xticks(range(len(results)), [nerve_title(res) for res in results], rotation=30,
                  ha="right", fontsize=7)
    ax.set_ylim(0.0, top * 1.6)  # room for the legend above the bars
    ax.set_xlim(-0.7, max(len(results), 1) - 0.3)
    ax.set_ylabel("terminal latency index", fontsize=8)
    ax.set_title("TLI = distal distance / (CV × DML)", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=6, loc="upper right", frameon=False)
    return ax
