"""Nerve-conduction pictures: stacked CMAPs, segment drops, TLI."""

from __future__ import annotations

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
