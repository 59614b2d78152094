"""Along each nerve: the one analysis core (sites, segments and nerve values as columns) and its views."""

from __future__ import annotations

from .segments import (
    SITE_MEASURES,
    segment_table,
    analyze_nerve,
    analyze_nerves,
    analyze_values,
)

__all__ = [
    "SITE_MEASURES",
    "segment_table",
    "analyze_nerve",
    "analyze_nerves",
    "analyze_values",
]
