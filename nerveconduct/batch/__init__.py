"""Whole archives: streamed chunk by chunk, in-process, on a process pool or on Dask, resumable."""

from __future__ import annotations

from .engine import (
    run,
    BatchSummary,
    BatchResumeError,
    DaskMissingError,
    TABLES,
    FORMATS,
    DEFAULT_CRITERIA,
    DEFAULT_CHUNK_ROWS,
)

__all__ = [
    "run",
    "BatchSummary",
    "BatchResumeError",
    "DaskMissingError",
    "TABLES",
    "FORMATS",
    "DEFAULT_CRITERIA",
    "DEFAULT_CHUNK_ROWS",
]
