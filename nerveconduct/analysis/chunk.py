"""A chunk of an archive analyzed as arrays: site, segment and nerve values without objects.

The batch engine's fast path. :func:`analyze_chunk` takes the :class:`~nerveconduct.io.archive.TraceChunk`
that :meth:`Archive.read_chunk` returns and gives a :class:`ChunkTable`: the same values as
:func:`nerveconduct.analysis.segments.analyze_nerves` puts in its :class:`~nerveconduct.model.NerveResult`
objects (the same measurement call, the same :func:`~nerveconduct.analysis.segments.segment_table`
arithmetic, the same name, limit and flag functions), held as columns. Writing rows from
them (:mod:`nerveconduct.serialize.columns`) costs microseconds per nerve instead of the
hundreds that the objects and their records cost.

Only chunks whose every nerve makes a valid :class:`~nerveconduct.model.NerveStudy` are
analyzed here: :func:`analyze_chunk` returns ``None`` for any other chunk, and the batch
then takes the object path for it (which names each bad nerve in a failure row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._build import SITE_MEASURES, _flag_texts, nerve_flags
from ..io.archive import TraceChunk
from ..limits import NormalLimits
from ..names import canonical_nerve, canonical_site, entrapment_site, is_erbs_point
from .segments import segment_table

__all__ = ["ChunkTable", "analyze_chunk", "LIMIT_COLUMNS"]

#: Normal-limit comparisons: key -> (LimitRow attribute, kind, per-nerve value column).
LIMIT_COLUMNS: dict[str, tuple[str, str, str]] = {
    "distal_amplitude": ("amplitude_lln_mv", "LLN", "distal_amplitude_mv"),
    "distal_motor_latency": ("dml_uln_ms", "ULN", "distal_motor_latency_ms"),
    "conduction_velocity": ("cv_lln_m_s", "LLN", "slowest_conduction_velocity_m_s"),
    "f_wave_latency": ("f_wave_uln_ms", "ULN", "f_wave_latency_ms"),
}


@dataclass(frozen=True, eq=False)
class ChunkTable:
    """Every value of the nerves of one chunk, as arrays (NaN = unknown / absent).

    Attributes
    ----------
    nerve : dict of str to ndarray, shape (n_nerves,)
        ``nerve_index``, ``study_id``, ``nerve_label``, ``nerve`` (canonical or as stored),
        ``known_nerve``, ``side``, ``muscle``, ``n_sites``, ``first_row`` (row of the distal
        site in ``site``), the :data:`nerveconduct.serialize.records._RESULT_VALUES` (ms, mV, mV·ms, °C,
        Hz), the segment extremes outside compression sites and Erb's point
        (``slowest_conduction_velocity_m_s``, ``max_*_pct``), per :data:`LIMIT_COLUMNS` key
        ``K_limit``, ``K_pct_of_limit``, ``K_abnormal`` (-1 unknown, 0, 1) and ``flags``
        (tuples of sentences).
    site : dict of str to ndarray, shape (n_rows,)
        ``name``, ``canonical``, ``distance_mm``, ``position``, ``nerve_row`` (index into the
        nerve arrays), the :data:`~nerveconduct.analysis.segments.SITE_MEASURES`, ``present``,
        ``flags`` and the :func:`~nerveconduct.analysis.segments.segment_table` columns.
    segment : dict of str to ndarray, shape (n_segments,)
        Per segment (its proximal row ``row``): every
        :class:`~nerveconduct.model.SegmentResult` field (``flags`` as tuples of sentences)
        plus ``nerve_row``, ``row`` and the peak-to-peak amplitudes the criteria need.
    """

    nerve: dict[str, np.ndarray]
    site: dict[str, np.ndarray]
    segment: dict[str, np.ndarray]

    @property
    def n_nerves(self) -> int:
        """Number of nerves."""
        return len(self.nerve["nerve_index"])


def _mapped(values: np.ndarray, fn: Callable[[str], Any]) -> np.ndarray:
    """``fn`` applied once to each distinct string of ``values`` (object array out)."""
    if len(values) == 0:
        return np.empty(0, dtype=object)
    uniq, inverse = np.unique(values.astype(str), return_inverse=True)
    out = np.empty(len(uniq), dtype=object)
    out[:] = [fn(u) for u in uniq.tolist()]
    return out[inverse]


def _measure(chunk: TraceChunk, starts: np.ndarray, counts: np.ndarray,
             n_threads: int | None) -> dict[str, np.ndarray]:
    """Measure every row, one ``measure_cmap`` call per sampling set-up (as analyze_nerves)."""
    from ..measure.cmap import measure_cmap  # the numeric core: imported on first use

    nv, n_rows = chunk.nerves, chunk.n_rows
    out: dict[str, np.ndarray] = {k: np.full(n_rows, np.nan) for k in SITE_MEASURES}
    out["present"] = np.zeros(n_rows, dtype=bool)
    out["flags"] = np.zeros(n_rows, dtype=np.int64)
    keys = list(zip(np.asarray(nv["sampling_rate_hz"], dtype=float).tolist(),
                    np.asarray(nv["stimulus_sample"]).tolist(), nv["polarity"].astype(str).tolist(),
                    chunk.n_samples[starts].tolist()))
    groups: dict[tuple[Any, ...], list[int]] = {}
    for j, key in enumerate(keys):
        groups.setdefault(key, []).append(j)
    row_nerve = np.repeat(np.arange(len(starts)), counts)
    for (rate, stim, polarity, n), members in groups.items():
        if len(groups) == 1:
            rows = np.arange(n_rows)
        else:
            rows = np.flatnonzero(np.isin(row_nerve, members))
        traces = chunk.traces[rows, :n] if len(rows) < n_rows else chunk.traces[:, :n]
        measures = measure_cmap(np.ascontiguousarray(traces), rate, stimulus_sample=int(stim),
                                polarity=polarity, n_threads=n_threads)
        for key in SITE_MEASURES:
            out[key][rows] = getattr(measures, key)
        out["present"][rows] = measures.present
        out["flags"][rows] = measures.flags
    return out


def _per_nerve_extreme(values: np.ndarray, nerve_row: np.ndarray, usable: np.ndarray,
                       n_nerves: int, ufunc: np.ufunc) -> np.ndarray:
    """min/max of the finite usable ``values`` of each nerve; NaN when it has none."""
    fill = np.inf if ufunc is np.minimum else -np.inf
    out = np.full(n_nerves, fill)
    keep = usable & np.isfinite(values)
    ufunc.at(out, nerve_row[keep], values[keep])
    return np.where(np.isfinite(out), out, np.nan)


class _LimitRows:
    """The LimitRow of each nerve (``None`` for unknown nerves), one lookup per (nerve, muscle)."""

    def __init__(self, nerve: dict[str, np.ndarray], limits: NormalLimits) -> None:
        canonical, muscle = nerve["canonical"].tolist(), nerve["muscle"].tolist()
        index: dict[tuple[Any, Any], int] = {}
        self.inverse = np.array([index.setdefault(key, len(index)) for key in zip(canonical, muscle)],
                                dtype=np.int64)
        self.unique = [None if c is None else limits.lookup(c, m) for c, m in index]

    def __getitem__(self, j: int) -> Any:
        return self.unique[self.inverse[j]]

    def attr(self, name: str) -> np.ndarray:
        """``name`` of each nerve's row as floats (NaN for no row or ``None``)."""
        values = np.array([np.nan if r is None or getattr(r, name) is None else float(getattr(r, name))
                           for r in self.unique], dtype=float)
        return values[self.inverse]


def _segments(site: dict[str, np.ndarray], nerve: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per segment (rows with ``position > 0``): the SegmentResult fields, with its flag
    sentences, compression site and Erb's point computed once per distinct input."""
    position = site["position"]
    prox = np.flatnonzero(position > 0)
    dist = prox - 1
    nrow = site["nerve_row"][prox]
    seg: dict[str, np.ndarray] = {"row": prox, "nerve_row": nrow, "index": position[prox],
                                  "distal_site": site["name"][dist], "proximal_site": site["name"][prox],
                                  "distal_canonical": site["canonical"][dist],
                                  "proximal_canonical": site["canonical"][prox],
                                  "distance_mm": site["distance_mm"][prox],
                                  "cumulative_distance_mm": site["cumulative_distance_mm"][prox]}
    for key in ("conduction_velocity_m_s", "conduction_velocity_from_distal_m_s", "amplitude_drop_pct",
                "area_drop_pct", "duration_increase_pct", "cmap_duration_increase_pct",
                "amplitude_drop_from_distal_pct", "area_drop_from_distal_pct",
                "duration_increase_from_distal_pct", "cmap_duration_increase_from_distal_pct"):
        seg[key] = site[key][prox]
    seg["distal_amplitude_mv"] = site["negative_peak_amplitude_mv"][dist]
    seg["proximal_amplitude_mv"] = site["negative_peak_amplitude_mv"][prox]
    seg["proximal_absent"] = ~site["present"][prox]
    seg["distal_absent"] = ~site["present"][dist]
    triples = np.empty(len(prox), dtype=object)
    triples[:] = list(zip(nerve["canonical"][nrow].tolist(), seg["distal_canonical"].tolist(),
                          seg["proximal_canonical"].tolist()))
    ent_cache: dict[tuple[Any, ...], Any] = {}
    ent = [ent_cache[t] if t in ent_cache else ent_cache.setdefault(t, entrapment_site(*t))
           for t in triples.tolist()]
    seg["entrapment_site"] = np.empty(len(ent), dtype=object)
    seg["entrapment_site"][:] = ent
    seg["across_entrapment_site"] = np.array([e is not None for e in ent], dtype=bool)
    erbs = {c: is_erbs_point(c) for c in set(seg["proximal_canonical"].tolist())}
    seg["from_erbs_point"] = np.array([erbs[c] for c in seg["proximal_canonical"].tolist()], dtype=bool)
    bits = site["segment_flags"][prox]
    flags = np.empty(len(prox), dtype=object)
    flags[:] = [()] * len(prox)
    cache: dict[tuple[Any, ...], tuple[str, ...]] = {}
    for k in np.flatnonzero(bits).tolist():
        key = (int(bits[k]), seg["distal_site"][k], seg["proximal_site"][k],
               int(site["flags"][dist[k]]), int(site["flags"][prox[k]]))
        if key not in cache:
            cache[key] = _flag_texts(*key)
        flags[k] = cache[key]
    seg["flags"] = flags
    seg["distal_peak_to_peak_mv"] = site["peak_to_peak_amplitude_mv"][dist]
    seg["proximal_peak_to_peak_mv"] = site["peak_to_peak_amplitude_mv"][prox]
    return seg


def analyze_chunk(chunk: TraceChunk, limits: NormalLimits, *,
                  n_threads: int | None = None) -> ChunkTable | None:
    """Analyze every nerve of ``chunk`` as arrays.

    Parameters
    ----------
    chunk : TraceChunk
        Whole nerves read from an archive.
    limits : NormalLimits
        Normal limits for the comparisons and the nerve flags.
    n_threads : int, optional
        Threads of the measurement (default: all cores; 1 in pool workers).

    Returns
    -------
    ChunkTable or None
        ``None`` when a nerve's stored values make no valid study (the caller then uses
        :func:`nerveconduct.analysis.segments.analyze_nerves`, which names the problem).
    """
    if not chunk.studies_are_valid():
        return None
    nv, st = chunk.nerves, chunk.sites
    starts = nv["row_start"].astype(np.int64) - chunk.row_start
    counts = nv["n_sites"].astype(np.int64)
    n_nerves, n_rows = len(starts), chunk.n_rows
    position = np.arange(n_rows, dtype=np.int64) - np.repeat(starts, counts)
    site = _measure(chunk, starts, counts, n_threads)
    names = np.asarray(st["name"]).astype(str).astype(object)
    site.update(name=names, canonical=_mapped(names, canonical_site), position=position,
                nerve_row=np.repeat(np.arange(n_nerves), counts),
                distance_mm=np.asarray(st["distance_mm"], dtype=float))
    site.update(segment_table(site, position, site["distance_mm"]))

    label = nv["nerve"].astype(str).astype(object)
    canonical = _mapped(label, canonical_nerve)
    nerve: dict[str, np.ndarray] = {
        "nerve_index": np.asarray(nv["nerve_index"], dtype=np.int64), "study_id": nv["study_id"],
        "nerve_label": label, "canonical": canonical,
        "nerve": np.where(canonical == None, label, canonical),  # noqa: E711 (object array)
        "known_nerve": canonical != None,  # noqa: E711
        "side": nv["side"], "muscle": nv["muscle"], "n_sites": counts, "first_row": starts,
        "distal_motor_latency_ms": site["onset_latency_ms"][starts],
        "distal_amplitude_mv": site["negative_peak_amplitude_mv"][starts],
        "distal_area_mv_ms": site["negative_peak_area_mv_ms"][starts],
        "distal_cmap_duration_ms": site["cmap_duration_ms"][starts],
        "terminal_latency_index": site["terminal_latency_index"][starts],
        "residual_latency_ms": site["residual_latency_ms"][starts],
        "f_wave_latency_ms": np.asarray(nv["f_wave_latency_ms"], dtype=float),
        "f_wave_studied": ~np.isnan(np.asarray(nv["f_wave_latency_ms"], dtype=float))
        | np.asarray(nv.get("f_wave_absent", False), dtype=bool),
        "temperature_c": np.asarray(nv["temperature_c"], dtype=float),
        "low_frequency_filter_hz": np.asarray(nv["low_frequency_filter_hz"], dtype=float),
    }
    seg = _segments(site, nerve)
    usable = ~seg["across_entrapment_site"] & ~seg["from_erbs_point"]
    nrow = seg["nerve_row"]
    nerve["slowest_conduction_velocity_m_s"] = _per_nerve_extreme(
        seg["conduction_velocity_m_s"], nrow, usable, n_nerves, np.minimum)
    for key in ("amplitude_drop_pct", "area_drop_pct", "duration_increase_pct"):
        nerve[f"max_{key}"] = _per_nerve_extreme(seg[key], nrow, usable, n_nerves, np.maximum)
    rows = _LimitRows(nerve, limits)  # LimitRow values are positive and finite, or None
    _limit_columns(nerve, rows)
    _nerve_flag_column(nerve, site, rows)
    return ChunkTable(nerve, site, seg)


def _limit_columns(nerve: dict[str, np.ndarray], rows: _LimitRows) -> None:
    """``K_limit``, ``K_pct_of_limit``, ``K_abnormal`` as the nerve's LimitComparison has them."""
    for key, (attr, kind, value_key) in LIMIT_COLUMNS.items():
        limit = rows.attr(attr)
        value = nerve[value_key]
        known = np.isfinite(value) & ~np.isnan(limit)
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(known, 100.0 * value / limit, np.nan)
        beyond = value < limit if kind == "LLN" else value > limit
        nerve[f"{key}_limit"] = limit
        nerve[f"{key}_pct_of_limit"] = pct
        nerve[f"{key}_abnormal"] = np.where(known, beyond.astype(np.int8), np.int8(-1))


def _nerve_flag_column(nerve: dict[str, np.ndarray], site: dict[str, np.ndarray],
                       rows: _LimitRows) -> None:
    """Nerve-level flags (sentences) by :func:`nerve_flags`, called only where one may apply.

    ``maybe`` must hold every nerve for which any condition of :func:`nerve_flags` can be
    true (a superset is fine): when a condition is added to or changed in ``nerve_flags``,
    change it here too (``tests/test_batch_columns.py`` compares the flags of both paths).
    """
    starts, counts = nerve["first_row"], nerve["n_sites"]
    n = len(starts)
    site_unknown = site["canonical"] == None  # noqa: E711
    dist_unknown = np.isnan(site["distance_mm"])
    per_nerve = np.add.reduceat((site_unknown | dist_unknown).astype(np.int64), starts) if n else \
        np.zeros(0, dtype=np.int64)
    temp = nerve["temperature_c"]
    maybe = (~nerve["known_nerve"] | (per_nerve > 0) | ~site["present"][starts]
             | (temp < 32.0) | ((counts > 1) & np.isnan(nerve["terminal_latency_index"]))
             | (np.abs(site["distance_mm"][starts] - rows.attr("distal_distance_mm")) > 10.0))
    flags = np.empty(n, dtype=object)
    flags[:] = [()] * n
    for j in np.flatnonzero(maybe).tolist():
        a, b = int(starts[j]), int(starts[j] + counts[j])
        dists = [None if math.isnan(d) else d for d in site["distance_mm"][a:b].tolist()]
        flags[j] = nerve_flags(
            nerve_label=nerve["nerve_label"][j], canon=nerve["canonical"][j],
            site_names=site["name"][a:b].tolist(), site_canonical=site["canonical"][a:b].tolist(),
            distances_mm=dists, distal_present=bool(site["present"][a]), limit_row=rows[j],
            temperature_c=None if math.isnan(temp[j]) else float(temp[j]),
            tli=float(nerve["terminal_latency_index"][j]))
    nerve["flags"] = flags
