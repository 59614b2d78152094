"""One slice of an archive in memory: :class:`TraceChunk` (whole nerves, their traces and index rows).

What :meth:`nerveconduct.io.archive.Archive.read_chunk` returns; re-exported by
:mod:`nerveconduct.io.archive`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ..model import POLARITIES, InvalidStudyError, NerveStudy, Site
from . import _archive_layout as L
from .errors import ArchiveError

__all__ = ["TraceChunk"]


@dataclass(frozen=True, eq=False)
class TraceChunk:
    """Whole nerves read from an archive in one contiguous slice of rows.

    Attributes
    ----------
    traces : ndarray, shape (n_rows, n_samples_max)
        Traces (mV) in the archive's dtype, NaN beyond each row's ``n_samples``.
    n_samples : ndarray of int, shape (n_rows,)
        Valid samples of each row.
    nerve_index : ndarray of int, shape (n_rows,)
        Global nerve number of each row.
    site_position : ndarray of int, shape (n_rows,)
        Position of the row's site along its nerve (0 = most distal).
    row_start, row_stop : int
        Global rows ``[row_start, row_stop)`` of the archive held here.
    nerves : dict of str to ndarray
        One entry per nerve in the chunk: ``nerve_index``, ``nerve``, ``side``, ``muscle``,
        ``study_id`` (object arrays; ``None`` when unknown), ``sampling_rate_hz``,
        ``stimulus_sample``, ``polarity``, ``temperature_c``, ``low_frequency_filter_hz``,
        ``f_wave_latency_ms`` (ms; NaN = no latency), ``f_wave_absent`` (bool: True = F-waves
        sought and absent, latency NaN; False with a NaN latency = F-waves not studied;
        all False for archives older than format 1.1), ``metadata_json``, ``row_start``
        (global row), ``n_sites``.
    sites : dict of str to ndarray
        One entry per row: ``name`` (site name), ``distance_mm`` (NaN = unknown),
        ``stimulus_intensity_ma`` (NaN = unknown).
    """

    traces: np.ndarray
    n_samples: np.ndarray
    nerve_index: np.ndarray
    site_position: np.ndarray
    row_start: int
    row_stop: int
    nerves: dict[str, np.ndarray]
    sites: dict[str, np.ndarray]

    @property
    def n_rows(self) -> int:
        """Number of trace rows."""
        return self.row_stop - self.row_start

    @property
    def n_nerves(self) -> int:
        """Number of (whole) nerves."""
        return len(self.nerves["nerve_index"])

    def studies(self) -> list[NerveStudy]:
        """Build one :class:`NerveStudy` per nerve of the chunk (traces copied, unpadded).

        ``f_wave_latency_ms`` is NaN where ``nerves["f_wave_absent"]`` is True (F-waves
        sought and absent), ``None`` where the stored latency is NaN otherwise (not studied).

        Raises
        ------
        ArchiveError
            The stored values do not make a valid study (names the nerve and the problems).
        """
        out = []
        nv, st = self.nerves, self.sites
        for j in range(self.n_nerves):
            a = int(nv["row_start"][j]) - self.row_start
            b = a + int(nv["n_sites"][j])
            index = int(nv["nerve_index"][j])
            n = int(self.n_samples[a])
            if np.any(self.n_samples[a:b] != n):
                raise ArchiveError(f"rows of one nerve hold different n_samples "
                                   f"{self.n_samples[a:b].tolist()}", location=f"nerve {index}")
            sites = [Site(str(st["name"][k]), L.none_if_nan(st["distance_mm"][k]),
                          L.none_if_nan(st["stimulus_intensity_ma"][k])) for k in range(a, b)]
            try:
                metadata = json.loads(nv["metadata_json"][j])
                out.append(NerveStudy(
                    str(nv["nerve"][j]), nv["side"][j], nv["muscle"][j], sites,
                    self.traces[a:b, :n].copy(), float(nv["sampling_rate_hz"][j]),
                    stimulus_sample=int(nv["stimulus_sample"][j]),
                    polarity=str(nv["polarity"][j]),
                    temperature_c=L.none_if_nan(nv["temperature_c"][j]),
                    low_frequency_filter_hz=L.none_if_nan(nv["low_frequency_filter_hz"][j]),
                    study_id=nv["study_id"][j],
                    f_wave_latency_ms=(math.nan if nv["f_wave_absent"][j] else
                                       L.none_if_nan(nv["f_wave_latency_ms"][j])),
                    metadata=metadata))
            except json.JSONDecodeError as exc:
                raise ArchiveError(f"metadata_json is not valid JSON: {exc}",
                                   location=f"nerve {index}") from exc
            except InvalidStudyError as exc:
                raise ArchiveError(f"stored values make no valid study: {exc}",
                                   location=f"nerve {index}") from exc
        return out

    def studies_are_valid(self) -> bool:
        """Whether :meth:`studies` would build every study of the chunk without an error.

        A vectorized check of the same rules (:class:`~nerveconduct.model.NerveStudy`'s and the
        ones above), for callers that read the values as arrays instead of building studies
        (:func:`nerveconduct.analysis.chunk.analyze_chunk`). ``True`` guarantees that
        :meth:`studies` succeeds; ``False`` may also be returned for an unusual chunk that is
        valid (e.g. an empty one, or a non-float trace dtype): the caller then builds the
        studies, which name any problem. Keep both in step when a rule changes
        (``tests/test_batch_columns.py`` checks the guarantee on corrupted chunks).
        """
        nv, st = self.nerves, self.sites
        if self.traces.dtype not in (np.float32, np.float64) or self.n_nerves == 0:
            return False
        starts = nv["row_start"].astype(np.int64) - self.row_start
        counts = nv["n_sites"].astype(np.int64)
        ns = self.n_samples.astype(np.int64)
        rate = np.asarray(nv["sampling_rate_hz"], dtype=float)
        stim = np.asarray(nv["stimulus_sample"])
        dist = np.asarray(st["distance_mm"], dtype=float)
        if (np.any(counts < 1) or np.any(ns < 1) or np.any(ns != np.repeat(ns[starts], counts))
                or not np.issubdtype(stim.dtype, np.integer)
                or not np.all(np.isfinite(rate) & (rate > 0))
                or np.any((stim < 0) | (stim >= ns[starts]))
                or np.any(~np.isnan(dist) & ~(np.isfinite(dist) & (dist > 0)))
                or not set(np.unique(nv["polarity"].astype(str)).tolist()) <= set(POLARITIES)
                or any(not n.strip() for n in np.unique(nv["nerve"].astype(str)).tolist())):
            return False
        for text in set(nv["metadata_json"].tolist()):
            try:
                metadata = json.loads(text)
                if metadata is not None and not isinstance(metadata, dict):  # a mapping or None
                    return False
            except (json.JSONDecodeError, TypeError):
                return False
        return True
