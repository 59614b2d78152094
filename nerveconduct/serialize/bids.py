"""Our measures as BIDS derivatives: the tables ``nerveconduct export-bids`` writes.

:func:`bids_measures` analyzes the studies of a BIDS export and gives, per study, the
per-site and per-segment rows (the flat rows of :mod:`.rows`, ``source`` the run's EDF path);
:func:`nerveconduct.io.bids.write_bids` writes them under ``derivatives/nerveconduct/``.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..analysis import analyze_nerves
from ..model import NerveStudy
from .rows import segment_columns, segment_rows, site_columns, site_rows

__all__ = ["bids_measures"]


def bids_measures(studies: Sequence[NerveStudy], sources: Sequence[str]) -> list[dict[str, Any]]:
    """Per study: ``{"sites": (columns, rows), "segments": (columns, rows)}``.

    Parameters
    ----------
    studies : sequence of NerveStudy
    sources : sequence of str
        Each study's EDF path in the dataset (the rows' ``source``).
    """
    results = analyze_nerves(list(studies))
    return [{"sites": (site_columns(), site_rows(result, source=source)),
             "segments": (segment_columns(), segment_rows(result, source=source))}
            for result, source in zip(results, sources, strict=True)]
