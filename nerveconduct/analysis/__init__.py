"""Along each nerve: the one analysis core and its views.

Data flow: per-nerve and per-site inputs (:mod:`.sources`: from studies, an archive chunk or
typed-in values) -> :func:`.table.build_table` (every site, segment and nerve value as
columns of a :class:`NerveTable`; :func:`.segments.segment_table` is its arithmetic) ->
views (:class:`NerveResult`, :class:`SiteResult`, :class:`SegmentResult`, copies of rows).
Sensory studies have their own columnar core (:mod:`.sensory`: :func:`analyze_sensory`).
Hand-set markers (``markers=``) enter as landmark inputs of the measurement; which values
derive from them is one rule, as data (:data:`SITE_LANDMARKS`, :data:`SEGMENT_INPUTS`,
:data:`NERVE_INPUTS`).
"""

from __future__ import annotations

from .api import analyze_nerve, analyze_nerves, analyze_table, analyze_values
from .results import LimitComparison, NerveResult, SegmentResult, SiteResult, views
from .sensory import (SensoryResult, SensorySiteResult, SensoryTable, analyze_sensory,
                      build_sensory_table, sensory_views)
from .segments import PLAUSIBLE_CV_M_S, SEGMENT_INPUTS, SITE_LANDMARKS, hand_set_values, segment_table
from .sources import (
    landmarks_from_markers,
    resolve_limits,
    table_from_chunk,
    table_from_studies,
    table_from_values,
)
from .table import (
    EXTREMES,
    F_WAVE_SOURCES,
    F_WAVE_VALUES,
    LANDMARK_SOURCES,
    LIMIT_COLUMNS,
    LIMIT_KEYS,
    NERVE_INPUTS,
    NERVE_VALUES,
    SEGMENT_VALUES,
    SITE_MEASURES,
    SOURCES,
    NerveTable,
    build_table,
)

__all__ = [
    "analyze_nerve", "analyze_nerves", "analyze_values", "analyze_table",
    "NerveResult", "SiteResult", "SegmentResult", "LimitComparison", "views",
    "NerveTable", "build_table", "segment_table", "table_from_studies", "table_from_chunk",
    "table_from_values", "resolve_limits", "SITE_MEASURES", "LIMIT_COLUMNS", "LIMIT_KEYS",
    "SEGMENT_VALUES", "NERVE_VALUES", "EXTREMES", "PLAUSIBLE_CV_M_S", "LANDMARK_SOURCES",
    "SOURCES", "SITE_LANDMARKS", "SEGMENT_INPUTS", "NERVE_INPUTS", "hand_set_values",
    "landmarks_from_markers", "F_WAVE_VALUES", "F_WAVE_SOURCES",
    "analyze_sensory", "build_sensory_table", "sensory_views", "SensoryTable", "SensoryResult",
    "SensorySiteResult",
]
