"""Measurement of single responses: vectorized CMAP measures (and the kernels behind them)."""

from __future__ import annotations

from .cmap import (
    CmapMeasures,
    measure_cmap,
    CMAP_MEASURE_FIELDS,
    LANDMARKS,
    POLARITIES,
    kernel_cache_ready,
)
from .snap import SnapMeasures, measure_snap, average_sweeps, SNAP_MEASURE_FIELDS
from .fwave import FWaveMeasures, measure_f_waves, F_WAVE_FIELDS

__all__ = [
    "CmapMeasures",
    "measure_cmap",
    "CMAP_MEASURE_FIELDS",
    "LANDMARKS",
    "POLARITIES",
    "kernel_cache_ready",
    "SnapMeasures",
    "measure_snap",
    "average_sweeps",
    "SNAP_MEASURE_FIELDS",
    "FWaveMeasures",
    "measure_f_waves",
    "F_WAVE_FIELDS",
]
