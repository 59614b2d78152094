"""Results as rows and records: the one row builder, the one cell rule, verdict cells.

Data flow: a :class:`~nerveconduct.analysis.NerveTable` (and its verdicts,
:mod:`.verdicts`) -> :func:`.rows.render` (flat site / segment / nerve rows and nested nerve
records, as CSV or JSON text, cell by :mod:`.cells`) -> the CLI, the batch and the API
(:func:`nerve_record`, :func:`nerve_row`, ... read back what ``render`` writes). Its typed
twin, :func:`.arrow.arrow_table` (Apache Arrow columns, Parquet files: :func:`write_parquet`),
reads the same columns and verdicts; it is imported when first used. Sensory studies
(:class:`~nerveconduct.analysis.SensoryTable`) are written by :mod:`.sensory` with the same
cell rule.
"""

from __future__ import annotations

from .cells import Cells, csv_cell, json_value
from .records import (
    LIMIT_KEYS,
    failure_record,
    nerve_record,
    patient_record,
    score_record,
    to_jsonable,
)
from .rows import (
    IDENTIFIER_COLUMNS,
    IDENTITY_COLUMNS,
    NERVE_COLUMNS,
    SCHEMA_VERSION,
    SEGMENT_COLUMNS,
    SITE_COLUMNS,
    VERDICT_COLUMN_SUFFIXES,
    nerve_columns,
    nerve_row,
    render,
    segment_columns,
    segment_rows,
    site_columns,
    site_rows,
    write_csv,
)
from .sensory import render_sensory, sensory_columns, sensory_records, write_sensory_parquet
from .verdicts import VerdictCells, verdict_cells, verdict_map

__all__ = [
    "SCHEMA_VERSION", "IDENTITY_COLUMNS", "IDENTIFIER_COLUMNS", "SITE_COLUMNS", "SEGMENT_COLUMNS",
    "NERVE_COLUMNS", "LIMIT_KEYS", "VERDICT_COLUMN_SUFFIXES", "to_jsonable", "verdict_map",
    "nerve_record", "failure_record", "patient_record", "score_record", "site_rows", "site_columns",
    "segment_rows", "segment_columns", "nerve_row", "nerve_columns", "csv_cell", "json_value",
    "write_csv", "render", "Cells", "VerdictCells", "verdict_cells", "arrow_table", "arrow_schema",
    "write_parquet", "bids_measures", "render_sensory", "sensory_records", "sensory_columns",
    "write_sensory_parquet",
]

#: Names of :mod:`.arrow` and :mod:`.parquet` (which import pyarrow) served on first use.
_ARROW_NAMES = {"arrow_table": "arrow", "arrow_schema": "arrow", "write_parquet": "parquet",
                "bids_measures": "bids"}


def __getattr__(name: str):
    if name in _ARROW_NAMES:
        import importlib

        return getattr(importlib.import_module(f".{_ARROW_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
