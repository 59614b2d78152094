"""Measurement of single responses: vectorized CMAP measures (and the kernels behind them)."""

from __future__ import annotations

from .cmap import (
    CmapMeasures,
    measure_cmap,
    CMAP_MEASURE_FIELDS,
    POLARITIES,
    kernel_cache_ready,
)

__all__ = [
    "CmapMeasures",
    "measure_cmap",
    "CMAP_MEASURE_FIELDS",
    "POLARITIES",
    "kernel_cache_ready",
]
