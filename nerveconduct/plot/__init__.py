"""Nerve-conduction pictures: stacked CMAPs, segment drops, TLI, F-wave trains, SNAPs."""

from __future__ import annotations

from .fwave import plot_f_waves
from .nerve import (
    FIGURE_FORMATS,
    plot_nerve,
    plot_segments,
    plot_tli,
    save_figure,
    new_axes,
    site_keys,
    trace_time_ms,
    nice_step,
)
from .sensory import plot_sensory

__all__ = [
    "FIGURE_FORMATS",
    "plot_nerve",
    "plot_segments",
    "plot_tli",
    "plot_f_waves",
    "plot_sensory",
    "save_figure",
    "new_axes",
    "site_keys",
    "trace_time_ms",
    "nice_step",
]
