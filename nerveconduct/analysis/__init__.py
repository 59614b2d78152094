"""Along each nerve: the one analysis core and its views.

Data flow: per-nerve and per-site inputs (:mod:`.sources`: from studies, an archive chunk or
typed-in values) -> :func:`.table.build_table` (every site, segment and nerve value as
columns of a :class:`NerveTable`; :func:`.segments.segment_table` is its arithmetic) ->
views (:class:`NerveResult`, :class:`SiteResult`, :class:`SegmentResult`, copies of rows).
"""

from __future__ import annotations

from .api import analyze_nerve, analyze_nerves, analyze_table, analyze_values
from .results import LimitComparison, NerveResult, SegmentResult, SiteResult, views
from .segments import PLAUSIBLE_CV_M_S, segment_table
from .sources import resolve_limits, table_from_chunk, table_from_studies, table_from_values
from .table import (
    EXTREMES,
    LIMIT_COLUMNS,
    LIMIT_KEYS,
    NERVE_VALUES,
    SEGMENT_VALUES,
    SITE_MEASURES,
    NerveTable,
    build_table,
)

__all__ = [
    "analyze_nerve", "analyze_nerves", "analyze_values", "analyze_table",
    "NerveResult", "SiteResult", "SegmentResult", "LimitComparison", "views",
    "NerveTable", "build_table", "segment_table", "table_from_studies", "table_from_chunk",
    "table_from_values", "resolve_limits", "SITE_MEASURES", "LIMIT_COLUMNS", "LIMIT_KEYS",
    "SEGMENT_VALUES", "NERVE_VALUES", "EXTREMES", "PLAUSIBLE_CV_M_S",
]
