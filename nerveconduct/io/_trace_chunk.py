"""One slice of an archive in memory: :class:`TraceChunk` (whole nerves, their traces and index rows).

What :meth:`nerveconduct.io.archive.Archive.read_chunk` returns; re-exported by
:mod:`nerveconduct.io.archive`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._checks import in_range
from ..model import DEMOGRAPHIC_RANGES, POLARITIES, InvalidStudyError, NerveStudy, Site
from . import _archive_layout as L
from ._archive_extra import attach_trains
from ._archive_series import attach_series, invalid_series_nerves, series_runs
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
        all False for archives older than format 1.1), ``age_years`` and ``height_cm`` (the
        patient's, NaN = not given; all NaN before format 1.2), ``metadata_json`` (the
        patient's ``sex`` is kept there), ``row_start`` (global row), ``n_sites``.
    sites : dict of str to ndarray
        One entry per row: ``name`` (site name), ``distance_mm`` (NaN = unknown),
        ``stimulus_intensity_ma`` (NaN = unknown).
    f_waves : dict of str to ndarray, optional
        The F-wave trains of the chunk's nerves (format 1.3; ``None`` when the archive holds
        none): one entry per train, in nerve order -- ``nerve_index`` (global),
        ``sampling_rate_hz``, ``stimulus_sample``, ``n_stimuli``, ``n_samples``,
        ``row_start`` (first row in ``f_waves["traces"]``) -- and ``traces`` (mV, one row
        per stimulus, NaN beyond each train's ``n_samples``).
    series : dict of str to ndarray, optional
        The stimulus intensity series of the chunk's nerves (the archive's ``/stimulation``
        group; ``None`` when the archive or the chunk holds none): one entry per step, in
        nerve order -- ``nerve_index`` (global), ``site_position``, ``intensity_ma`` (mA),
        ``n_samples`` -- and ``traces`` (mV, one row per step, aligned with the steps, NaN
        beyond each step's ``n_samples``).
    series_error : ArchiveError, optional
        Why the archive's ``/stimulation`` group as a whole cannot be read (incomplete,
        tables of different lengths): every nerve of the chunk is then invalid
        (:meth:`valid_nerves`) and :meth:`studies` raises it, naming the nerve.
    """

    traces: np.ndarray
    n_samples: np.ndarray
    nerve_index: np.ndarray
    site_position: np.ndarray
    row_start: int
    row_stop: int
    nerves: dict[str, np.ndarray]
    sites: dict[str, np.ndarray]
    f_waves: dict[str, np.ndarray] | None = None
    series: dict[str, np.ndarray] | None = None
    series_error: ArchiveError | None = None

    @property
    def n_rows(self) -> int:
        """Number of trace rows."""
        return self.row_stop - self.row_start

    @property
    def n_nerves(self) -> int:
        """Number of (whole) nerves."""
        return len(self.nerves["nerve_index"])

    def f_wave_trains(self) -> list[tuple[np.ndarray, float, int] | None]:
        """Per nerve of the chunk: its F-wave train as ``(traces (n_stimuli, n_samples) mV,
        sampling_rate_hz, stimulus_sample)`` (a view, unpadded), or ``None``."""
        out: list[tuple[np.ndarray, float, int] | None] = [None] * self.n_nerves
        fw = self.f_waves
        if fw is None or not len(fw["nerve_index"]):
            return out
        first = int(self.nerves["nerve_index"][0])
        for t in range(len(fw["nerve_index"])):
            r0, n = int(fw["row_start"][t]), int(fw["n_stimuli"][t])
            out[int(fw["nerve_index"][t]) - first] = (
                fw["traces"][r0:r0 + n, :int(fw["n_samples"][t])],
                float(fw["sampling_rate_hz"][t]), int(fw["stimulus_sample"][t]))
        return out

    def stimulation_series(self) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """Every intensity series of the chunk, in nerve and step order: ``(nerve position in
        the chunk, site position, intensities (mA), traces (n_steps, n_samples) mV)`` (views,
        unpadded; one entry per run of consecutive steps of one site, as stored)."""
        steps = self.series
        if not steps or not len(steps["nerve_index"]):
            return []
        first = int(self.nerves["nerve_index"][0])
        out = []
        for r0, r1 in zip(*(v.tolist() for v in series_runs(steps))):
            out.append((int(steps["nerve_index"][r0]) - first, int(steps["site_position"][r0]),
                        steps["intensity_ma"][r0:r1],
                        steps["traces"][r0:r1, :int(steps["n_samples"][r0])]))
        return out

    def sub_chunk(self, j0: int, j1: int) -> "TraceChunk":
        """Nerves ``j0:j1`` (positions within the chunk) as a chunk of their own, with their
        F-wave trains and intensity series (views, no copy)."""
        a = int(self.nerves["row_start"][j0]) - self.row_start
        b = int(self.nerves["row_start"][j1 - 1] + self.nerves["n_sites"][j1 - 1]) - self.row_start
        f_waves = self.f_waves
        if f_waves is not None:
            index = self.nerves["nerve_index"]
            keep = (f_waves["nerve_index"] >= index[j0]) & (f_waves["nerve_index"] <= index[j1 - 1])
            f_waves = {k: v for k, v in f_waves.items() if k != "traces"}
            f_waves = {k: v[keep] for k, v in f_waves.items()}
            f_waves["traces"] = self.f_waves["traces"]  # row_start still points into it
        series = self.series
        if series is not None:  # steps in nerve order, aligned with their traces: one slice
            index = self.nerves["nerve_index"]
            t0, t1 = np.searchsorted(series["nerve_index"], [index[j0], index[j1 - 1] + 1])
            series = {k: v[t0:t1] for k, v in series.items()} if t1 > t0 else None
        return TraceChunk(
            traces=self.traces[a:b], n_samples=self.n_samples[a:b],
            nerve_index=self.nerve_index[a:b], site_position=self.site_position[a:b],
            row_start=self.row_start + a, row_stop=self.row_start + b,
            nerves={k: v[j0:j1] for k, v in self.nerves.items()},
            sites={k: v[a:b] for k, v in self.sites.items()}, f_waves=f_waves, series=series,
            series_error=self.series_error)

    def studies(self) -> list[NerveStudy]:
        """Build one :class:`NerveStudy` per nerve of the chunk (traces copied, unpadded).

        ``f_wave_latency_ms`` is NaN where ``nerves["f_wave_absent"]`` is True (F-waves
        sought and absent), ``None`` where the stored latency is NaN otherwise (not studied).
        A nerve's F-wave train (:attr:`f_waves`) becomes its ``f_wave_traces``, its intensity
        series (:attr:`series`) its ``stimulation_series``.

        Raises
        ------
        ArchiveError
            The stored values do not make a valid study, or the archive's intensity series
            cannot be read (:attr:`series_error`); names the nerve and the problems.
        """
        if self.series_error is not None and self.n_nerves:
            err = self.series_error
            where = f"nerve {int(self.nerves['nerve_index'][0])}"
            raise ArchiveError(err.detail, path=err.path,
                               location=f"{where}, {err.location}" if err.location else where)
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
                sex = metadata.pop("sex", None) if isinstance(metadata, dict) else None
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
                    metadata=metadata,
                    age_years=L.none_if_nan(nv["age_years"][j]) if "age_years" in nv else None,
                    height_cm=L.none_if_nan(nv["height_cm"][j]) if "height_cm" in nv else None,
                    sex=sex if isinstance(sex, str) else None))
            except json.JSONDecodeError as exc:
                raise ArchiveError(f"metadata_json is not valid JSON: {exc}",
                                   location=f"nerve {index}") from exc
            except InvalidStudyError as exc:
                raise ArchiveError(f"stored values make no valid study: {exc}",
                                   location=f"nerve {index}") from exc
        if out:
            attach_trains(out, nv["nerve_index"], self.f_waves)
            attach_series(out, int(nv["nerve_index"][0]), self.series)
        return out

    def valid_nerves(self) -> np.ndarray:
        """Whether each nerve's stored values make a valid study (bool per nerve).

        The one study-validity rule (:func:`nerveconduct.model.study_problems`, and the
        ranges of temperature, filter and F-wave latency that :class:`NerveStudy` checks)
        applied to whole columns, with the same bounds (:data:`nerveconduct._checks.RANGES`),
        plus what :meth:`studies` needs of an archive: one trace length per nerve and
        metadata that is a JSON object or null. True for a nerve guarantees that
        :meth:`studies` builds it (``tests/test_batch_columns.py`` checks it on corrupted
        chunks); the analysis core reads only such nerves, and the batch writes a failure row
        naming the problem (from :meth:`studies`) for the others. A nerve whose intensity
        series break the series rule (:func:`~._archive_series.invalid_series_nerves`), or any
        nerve when the archive's series cannot be read (:attr:`series_error`), is invalid.
        """
        nv, st = self.nerves, self.sites
        n = self.n_nerves
        if n == 0 or self.series_error is not None:
            return np.zeros(n, dtype=bool)
        if self.traces.dtype not in (np.float32, np.float64) or self.traces.ndim != 2:
            return np.zeros(n, dtype=bool)
        starts = nv["row_start"].astype(np.int64) - self.row_start
        counts = nv["n_sites"].astype(np.int64)
        ok = counts >= 1
        ns = self.n_samples.astype(np.int64)
        first_ns = ns[np.clip(starts, 0, max(len(ns) - 1, 0))]
        row_nerve = np.repeat(np.arange(n), np.where(ok, counts, 0))
        row_ok = (ns >= 1) & (ns == np.repeat(first_ns, np.where(ok, counts, 0)))
        dist = np.asarray(st["distance_mm"], dtype=float)
        row_ok &= np.isnan(dist) | (np.isfinite(dist) & (dist > 0))  # NerveStudy: > 0 mm, no maximum
        ok &= np.bincount(row_nerve, weights=~row_ok, minlength=n)[:n] == 0
        ok &= in_range("sampling_rate_hz", nv["sampling_rate_hz"])
        for quantity in ("temperature_c", "low_frequency_filter_hz"):
            ok &= in_range(quantity, nv[quantity], missing_ok=True)
        for quantity in ("age_years", "height_cm"):
            low, high, _ = DEMOGRAPHIC_RANGES[quantity]
            values = np.asarray(nv.get(quantity, np.full(n, np.nan)), dtype=float)
            ok &= np.isnan(values) | ((values >= low) & (values <= high))
        absent = np.asarray(nv.get("f_wave_absent", np.zeros(n, dtype=bool)), dtype=bool)
        ok &= absent | in_range("f_wave_latency_ms", nv["f_wave_latency_ms"], missing_ok=True)
        stim = np.asarray(nv["stimulus_sample"])
        if not np.issubdtype(stim.dtype, np.integer):
            return np.zeros(n, dtype=bool)
        ok &= (stim >= 0) & (stim < first_ns)
        ok &= _per_distinct(nv["polarity"], lambda polarity: polarity in POLARITIES)
        ok &= _per_distinct(nv["nerve"], lambda name: bool(name.strip()))
        ok &= _per_distinct(nv["metadata_json"], _is_json_object_or_null)
        if self.f_waves is not None and len(self.f_waves["nerve_index"]):
            ok &= _valid_trains(self.f_waves, nv["nerve_index"])
        if self.series is not None:
            ok &= ~invalid_series_nerves(self.series, int(nv["nerve_index"][0]), counts, stim)
        return ok


def _valid_trains(trains: dict[str, np.ndarray], nerve_index: np.ndarray) -> np.ndarray:
    """Per nerve: False where its F-wave train breaks the model's train rule (rate in range,
    stimulus inside the trace, at least one stimulus and one sample, finite)."""
    ok = np.ones(len(nerve_index), dtype=bool)
    good = in_range("sampling_rate_hz", trains["sampling_rate_hz"])
    n_samples = trains["n_samples"].astype(np.int64)
    stim = np.asarray(trains["stimulus_sample"])
    good &= (trains["n_stimuli"] >= 1) & (n_samples >= 1)
    good &= (stim >= 0) & (stim < n_samples)
    position = trains["nerve_index"].astype(np.int64) - int(nerve_index[0])
    ok[position[~good]] = False
    return ok


def _per_distinct(values: np.ndarray, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each value as NumPy makes it a string, computed once per distinct string
    (bool array).

    A slice usually holds one value throughout, one shared ``str`` (:mod:`._archive_strings`):
    that is recognised with one ``list.count`` (pointer comparison first, ~1 ns per row)
    before any conversion of the rows.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=bool)
    items = values.tolist() if isinstance(values, np.ndarray) and values.ndim == 1 else None
    if items is not None and type(items[0]) is str and items.count(items[0]) == n:
        text = np.array(items[:1], dtype=object).astype(str)[0].item()  # as for every row
        return np.full(n, bool(test(text)), dtype=bool)
    uniq, inverse = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return np.array([test(u) for u in uniq.tolist()], dtype=bool)[inverse.reshape(-1)]


def _is_json_object_or_null(text: str) -> bool:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError, RecursionError):
        return False
    return value is None or isinstance(value, dict)

