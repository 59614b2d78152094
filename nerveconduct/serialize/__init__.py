"""Results as records and rows: nested JSON-safe records, flat CSV/JSON Lines rows, their cells."""

from __future__ import annotations

from .records import (
    SCHEMA_VERSION,
    IDENTITY_COLUMNS,
    IDENTIFIER_COLUMNS,
    LIMIT_KEYS,
    to_jsonable,
    verdict_map,
    site_record,
    segment_record,
    nerve_record,
    failure_record,
    patient_record,
    score_record,
)
from .rows import (
    SITE_COLUMNS,
    SEGMENT_COLUMNS,
    NERVE_COLUMNS,
    VERDICT_COLUMN_SUFFIXES,
    site_rows,
    site_columns,
    segment_rows,
    segment_columns,
    nerve_row,
    nerve_columns,
    csv_cell,
    write_csv,
)

__all__ = [
    "SCHEMA_VERSION",
    "IDENTITY_COLUMNS",
    "IDENTIFIER_COLUMNS",
    "LIMIT_KEYS",
    "to_jsonable",
    "verdict_map",
    "site_record",
    "segment_record",
    "nerve_record",
    "failure_record",
    "patient_record",
    "score_record",
    "SITE_COLUMNS",
    "SEGMENT_COLUMNS",
    "NERVE_COLUMNS",
    "VERDICT_COLUMN_SUFFIXES",
    "site_rows",
    "site_columns",
    "segment_rows",
    "segment_columns",
    "nerve_row",
    "nerve_columns",
    "csv_cell",
    "write_csv",
]
