"""What every trace picture shares: time axis, steps, labels, scale bar, colours, files.

The stacked-CMAP display (:mod:`.nerve`), the SNAP display (:mod:`.sensory`) and the F-wave
raster (:mod:`.fwave`) draw with these helpers, so one convention holds for all of them:
time in ms from the stimulus, one gain per picture chosen from a short list of round steps,
a gain/time scale bar in the lower right corner, values beyond a limit in
:data:`ABNORMAL_COLOR`, and :func:`save_figure` for every file written.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._checks import check_option
from ..io._atomic import atomic_write

__all__ = [
    "FIGURE_FORMATS",
    "ABNORMAL_COLOR",
    "HAND_SET_MARK",
    "GAIN_STEPS_MV",
    "GAIN_STEPS_UV",
    "TIME_STEPS_MS",
    "nice_step",
    "site_keys",
    "trace_time_ms",
    "fmt_value",
    "site_label",
    "pre_stimulus_baseline",
    "scale_bar",
    "finish_trace_stack",
    "check_window",
    "save_figure",
]

#: File formats :func:`save_figure` writes.
FIGURE_FORMATS = ("png", "svg", "pdf")
#: Gain steps of a CMAP display (mV per scale bar).
GAIN_STEPS_MV = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Gain steps of a SNAP or F-wave display (uV per scale bar).
GAIN_STEPS_UV = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
#: Time steps of the scale bar (ms).
TIME_STEPS_MS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Colour of a value beyond its normal limit or threshold (as in the report's tables).
ABNORMAL_COLOR = "#b03a2e"
#: Suffix of a value derived from a hand-set marker (as in the command line's tables).
HAND_SET_MARK = "*"


def nice_step(span: float, steps: Sequence[float]) -> float:
    """Smallest value of ``steps`` that is >= ``span`` (the largest when none is).

    Examples
    --------
    >>> nice_step(3.2, (1.0, 2.0, 5.0, 10.0))
    5.0
    """
    for step in steps:
        if step >= span:
            return float(step)
    return float(steps[-1])


def site_keys(names: Sequence[str]) -> list[str]:
    """Gid keys of the sites: the names, with ``#<position>`` added to repeated names."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [name if counts[name] == 1 else f"{name}#{i}" for i, name in enumerate(names)]


def trace_time_ms(n_samples: int, sampling_rate_hz: float, stimulus_sample: int) -> np.ndarray:
    """Time of each sample from the stimulus (ms)."""
    return (np.arange(n_samples) - stimulus_sample) * 1000.0 / sampling_rate_hz


def fmt_value(value: float | None, spec: str, unit: str = "") -> str:
    """``value`` formatted with ``spec`` and ``unit``; ``"n/a"`` for None, NaN or inf."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:{spec}}{unit}"


def site_label(name: str, cumulative_distance_mm: float | None) -> str:
    """Two-line label of a stimulation site: its name and its distance from the electrode (mm)."""
    dist = cumulative_distance_mm
    return f"{name}\n{dist:g} mm" if dist is not None else f"{name}\n? mm"


def pre_stimulus_baseline(trace: np.ndarray, stimulus_sample: int) -> float:
    """Median of the finite pre-stimulus samples of ``trace`` (its unit; 0 when there are none)."""
    pre = np.asarray(trace[:stimulus_sample], dtype=float)
    pre = pre[np.isfinite(pre)]
    return float(np.median(pre)) if pre.size else 0.0


def check_window(window_ms: tuple[float, float] | None, t: np.ndarray) -> tuple[float, float]:
    """The display window (ms): ``window_ms``, or 1 ms before the stimulus (or the trace start)
    to the trace end.

    Raises
    ------
    ValueError
        ``window_ms`` is not an increasing pair of finite numbers overlapping the trace.
    """
    if window_ms is None:
        window_ms = (max(float(t[0]), -1.0), float(t[-1]))
    lo, hi = (float(w) for w in window_ms)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and hi > t[0] and lo < t[-1]):
        raise ValueError(f"window_ms must be an increasing (start, end) pair overlapping the trace "
                         f"[{t[0]:g}, {t[-1]:g}] ms, got {window_ms!r}")
    return lo, hi


def scale_bar(ax: Axes, lo: float, hi: float, y0: float, gain: float, unit: str = "mV") -> None:
    """Draw a gain (vertical, ``gain`` in ``unit``) and time (horizontal) scale bar in the lower
    right corner of the window ``[lo, hi]`` ms, at height ``y0`` (gids ``scalebar:gain``,
    ``scalebar:time``, ``scalebar:text``)."""
    time_ms = nice_step((hi - lo) / 10.0, TIME_STEPS_MS)
    x1 = hi - 0.03 * (hi - lo)
    x0 = x1 - time_ms
    ax.plot([x0, x1], [y0, y0], color="black", lw=1.5, gid="scalebar:time")
    ax.plot([x1, x1], [y0, y0 + gain], color="black", lw=1.5, gid="scalebar:gain")
    ax.text(x0, y0 + 0.15 * gain, f"{gain:g} {unit}\n{time_ms:g} ms", fontsize=7,
            ha="right", va="bottom", gid="scalebar:text")


def finish_trace_stack(ax: Axes, lo: float, hi: float, offsets: Sequence[float], spacing: float,
                       gain: float, unit: str = "mV") -> None:
    """Frame a stack of traces (one per site, top to bottom at ``offsets``, ``spacing`` apart).

    Draws the :func:`scale_bar` (``gain`` in ``unit``) below the last trace, limits the x axis
    to the window ``[lo, hi]`` ms, labels it, and hides the y ticks and the left, right and
    top spines (the CMAP and SNAP displays alike).
    """
    scale_bar(ax, lo, hi, offsets[-1] - 0.75 * spacing, gain, unit=unit)
    ax.set_xlim(lo, hi)
    ax.set_ylim(offsets[-1] - spacing * 1.1, offsets[0] + spacing * 0.9)
    ax.set_xlabel("time from stimulus (ms)")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def save_figure(fig: Figure, path: str | os.PathLike[str], *, format: str | None = None,
                dpi: float | None = None) -> Path:
    """Write a figure as PNG, SVG or PDF, atomically (:func:`nerveconduct.io._atomic.atomic_write`).

    Parameters
    ----------
    fig : Figure
        The figure (``ax.figure`` of a plot function).
    path : str or PathLike
        Output file; its folder must exist. Overwritten if it exists (keeping its mode).
    format : {"png", "svg", "pdf"}, optional
        Default: from the file suffix.
    dpi : float, optional
        Resolution for PNG (dots per inch); default the figure's.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        The format (given or from the suffix) is not one of ``png``, ``svg``, ``pdf``.
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    out = Path(path)
    fmt = (format or out.suffix.lstrip(".")).lower()
    if fmt not in FIGURE_FORMATS:
        check_option(f"the figure format of {str(out)!r}", format or out.suffix or "no suffix",
                     FIGURE_FORMATS, extra=" (from format= or the file suffix)")
    with atomic_write(out, mode="wb", overwrite=True) as fh:
        fig.savefig(fh, format=fmt, dpi=dpi if dpi is not None else "figure",
                    metadata=_metadata(fmt))
    return out


def _metadata(fmt: str) -> dict[str, Any]:
    """Reproducible files: no creation date in SVG/PDF."""
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}
