"""Along a nerve: conduction velocity, amplitude/area drop, dispersion, TLI, residual latency.

Definitions (``docs/output-fields.md``):

- CV (m/s) = segment distance (mm) / (proximal onset − distal onset) (ms).
- Amplitude drop % = 100·(1 − A_prox/A_dist) on negative-peak amplitudes; area drop likewise
  on negative-peak areas; duration increase % = 100·(D_prox/D_dist − 1) on negative-peak
  durations (``cmap_duration_increase_pct`` on the EFNS/EAN CMAP durations).
- TLI = distal distance (mm) / (CV of the first segment (m/s) × DML (ms)) (Cocito 2001;
  e.g. 70 / (44 × 4.1) = 0.388); residual latency (ms) = DML − distal distance / CV.

Each value is given between the segment's two sites and, with ``_from_distal`` in its name,
between the proximal site and the nerve's most distal site.

CV here is onset-based, as clinicians read it: the onset is the take-off of the fastest
fibres as seen at a 20 µV threshold, which runs a few % below the CV of the single fastest
motor unit (the onset of a sum of units is set by the fast tail of the population, not by one
unit's arrival).

Many nerves at once are one array computation: :func:`segment_table` works on flat per-site
arrays of any number of nerves (rows grouped per nerve, distal first); it is the arithmetic
of the analysis core (:func:`nerveconduct.analysis.table.build_table`), and
:func:`segment_columns` turns the site rows into the table's segment rows (names, compression
site, Erb's point, flag sentences).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..flags import QUALITY_FLAGS, SEGMENT_FLAG_TEXT, MeasureFlag, SegmentFlag
from ..names import entrapment_site, is_erbs_point
from ._arrays import distinct, filled, group_rows, is_none, mapped, object_array

__all__ = ["segment_table", "segment_columns", "PLAUSIBLE_CV_M_S", "SITE_LANDMARKS", "SEGMENT_INPUTS",
           "hand_set_values"]


#: CV outside this range (m/s) almost always means a distance or latency error.
PLAUSIBLE_CV_M_S = (10.0, 120.0)


def _drop_pct(proximal: np.ndarray, distal: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return 100.0 * (1.0 - proximal / distal)


def _increase_pct(proximal: np.ndarray, distal: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return 100.0 * (proximal / distal - 1.0)


def segment_table(
    site: Mapping[str, np.ndarray],
    position: np.ndarray,
    distance_mm: np.ndarray,
    not_dml_site: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Segment and per-nerve values for many nerves at once, with array arithmetic only.

    Parameters
    ----------
    site : mapping of str to ndarray, shape (n_rows,)
        Per-site measures, rows grouped per nerve and ordered distal -> proximal within a nerve:
        at least ``onset_latency_ms``, ``negative_peak_amplitude_mv``, ``present`` (bool) and
        ``flags`` (int); ``negative_peak_area_mv_ms``, ``negative_peak_duration_ms`` and
        ``cmap_duration_ms`` are NaN where unknown.
    position : ndarray of int, shape (n_rows,)
        Site position within its nerve (0 = most distal).
    distance_mm : ndarray of float, shape (n_rows,)
        Distance as recorded (machine convention), NaN where unknown.
    not_dml_site : ndarray of bool, shape (n_rows,), optional
        Sites that are never the distal-motor-latency site (a palm site: palm → muscle skips
        the carpal tunnel); the DML site is the most distal site that is not one.

    Returns
    -------
    dict of str to ndarray, shape (n_rows,)
        Row ``i`` with ``position[i] > 0`` holds the segment from row ``i − 1`` to row ``i``
        (``conduction_velocity_m_s``, ``amplitude_drop_pct``, ``area_drop_pct``,
        ``duration_increase_pct``, ``cmap_duration_increase_pct``, the same ``*_from_distal*``,
        ``cumulative_distance_mm``, ``segment_flags``); rows with ``position == 0`` hold NaN
        segment values and the nerve values ``dml_row`` (the row of the DML site),
        ``terminal_latency_index`` and ``residual_latency_ms`` (both at the DML site:
        its distance from the active electrode, its onset and the CV of the segment above it).
    """
    position = np.asarray(position, dtype=np.int64)
    n = position.shape[0]
    rows = np.arange(n)
    first = rows - position
    prev = np.where(position > 0, rows - 1, rows)
    dist = np.asarray(distance_mm, dtype=float)
    # cumulative distance from the active electrode, summed along each nerve from its distal
    # site (NaN from the first unknown distance on): per nerve, so a value never depends on
    # which other nerves are in the same arrays
    cum = np.where(position == 0, dist, np.nan)
    for p in range(1, int(position.max(initial=0)) + 1):
        at = rows[position == p]
        cum[at] = cum[at - 1] + dist[at]

    get = lambda key: np.asarray(site.get(key, np.full(n, np.nan)), dtype=float)  # noqa: E731
    onset = get("onset_latency_ms")
    amp = get("negative_peak_amplitude_mv")
    area = get("negative_peak_area_mv_ms")
    dur = get("negative_peak_duration_ms")
    cdur = get("cmap_duration_ms")
    present = np.asarray(site["present"], dtype=bool)
    mflags = np.asarray(site.get("flags", np.zeros(n, dtype=np.int64)), dtype=np.int64)

    seg = position > 0
    out: dict[str, np.ndarray] = {"cumulative_distance_mm": cum}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d_onset = onset - onset[prev]
        cv = np.where(seg & (d_onset > 0), dist / d_onset, np.nan)
        d_onset_first = onset - onset[first]
        cv_first = np.where(seg & (d_onset_first > 0), (cum - cum[first]) / d_onset_first, np.nan)
    out["conduction_velocity_m_s"] = cv
    out["conduction_velocity_from_distal_m_s"] = cv_first
    both = seg & present & present[prev]
    both_first = seg & present & present[first]
    for name, values, fn in (
        ("amplitude_drop", amp, _drop_pct),
        ("area_drop", area, _drop_pct),
        ("duration_increase", dur, _increase_pct),
        ("cmap_duration_increase", cdur, _increase_pct),
    ):
        out[f"{name}_pct"] = np.where(both, fn(values, values[prev]), np.nan)
        out[f"{name}_from_distal_pct"] = np.where(both_first, fn(values, values[first]), np.nan)

    flags = np.zeros(n, dtype=np.int64)
    flags |= np.where(seg & ~present, int(SegmentFlag.ABSENT_PROXIMAL), 0)
    flags |= np.where(seg & ~present[prev], int(SegmentFlag.ABSENT_DISTAL), 0)
    flags |= np.where(seg & present & present[prev] & ~(d_onset > 0), int(SegmentFlag.LATENCY_NOT_AFTER), 0)
    flags |= np.where(seg & np.isnan(dist), int(SegmentFlag.DISTANCE_UNKNOWN), 0)
    flags |= np.where(both & (np.isnan(area) | np.isnan(area[prev])), int(SegmentFlag.AREA_MISSING), 0)
    flags |= np.where(both & (np.isnan(dur) | np.isnan(dur[prev])), int(SegmentFlag.DURATION_MISSING), 0)
    lo, hi = PLAUSIBLE_CV_M_S
    flags |= np.where(~np.isnan(cv) & ((cv < lo) | (cv > hi)), int(SegmentFlag.CV_IMPLAUSIBLE), 0)
    overflow = np.zeros(n, dtype=bool)  # a value beyond float range: never written as inf
    for key in [k for k in out if k != "cumulative_distance_mm"]:
        bad = np.isinf(out[key])
        if bad.any():
            overflow |= bad
            out[key] = np.where(bad, np.nan, out[key])
    flags |= np.where(seg & overflow, int(SegmentFlag.NOT_FINITE), 0)
    flags |= np.where(seg & ((mflags & QUALITY_FLAGS) != 0), int(SegmentFlag.PROXIMAL_QUALITY), 0)
    flags |= np.where(seg & ((mflags[prev] & QUALITY_FLAGS) != 0), int(SegmentFlag.DISTAL_QUALITY), 0)
    submaximal = (mflags & int(MeasureFlag.SUBMAXIMAL_POSSIBLE)) != 0  # of the proximal site
    flags |= np.where(seg & submaximal, int(SegmentFlag.PROXIMAL_SUBMAXIMAL), 0)
    flags |= np.where(seg & submaximal[prev], int(SegmentFlag.DISTAL_SUBMAXIMAL), 0)
    out["segment_flags"] = np.where(seg, flags, 0)

    # nerve values, on the distal row, read at the DML site: the most distal site that may be
    # one (a palm site is skipped while a more proximal site follows it)
    skip = np.zeros(n, dtype=bool) if not_dml_site is None else np.asarray(not_dml_site, dtype=bool)
    starts = np.flatnonzero(position == 0)
    counts = np.diff(np.append(starts, n))
    last = np.repeat(starts + counts - 1, counts)  # each row's nerve's most proximal row
    dml = first.copy()
    for _ in range(int(position.max(initial=0))):
        step = skip[dml] & (dml < last)
        if not step.any():
            break
        dml = dml + step
    nxt = np.minimum(dml + 1, n - 1)
    above = (dml < last)  # the DML site has a segment above it, whose CV is on the next row
    cv1 = np.where(above, cv[nxt], np.nan)
    d_dml, on_dml = cum[dml], onset[dml]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tli = np.where(position == 0, d_dml / (cv1 * on_dml), np.nan)
        residual = np.where(position == 0, on_dml - d_dml / cv1, np.nan)
    out["dml_row"] = dml
    # a latency or distance so small (or large) that TLI or the residual latency overflows:
    # NaN, and ``nerve_not_finite`` says why (a nerve flag)
    not_finite = np.isinf(tli) | np.isinf(residual) | np.isinf(cum)
    out["terminal_latency_index"] = np.where(np.isinf(tli), np.nan, tli)
    out["residual_latency_ms"] = np.where(np.isinf(residual), np.nan, residual)
    out["cumulative_distance_mm"] = np.where(np.isinf(cum), np.nan, cum)
    out["nerve_not_finite"] = not_finite
    return out


# ------------------------------------------------------------------ provenance (hand-set)
#: The landmarks each per-site measure is computed from. A value is "hand-set" when any
#: landmark it depends on was set by hand (a hand-set marker), or when the site's presence
#: was (an ``absent`` marker, or a response measured only at hand-set markers: every measure
#: of the site then depends on it). ``docs/output-fields.md`` states the same rule.
SITE_LANDMARKS: dict[str, tuple[str, ...]] = {
    "onset_latency_ms": ("onset",),
    "negative_peak_latency_ms": ("negative_peak",),
    "negative_peak_amplitude_mv": ("negative_peak",),
    "peak_to_peak_amplitude_mv": ("negative_peak", "positive_peak"),
    "negative_peak_duration_ms": ("onset", "negative_end"),
    "negative_peak_area_mv_ms": ("onset", "negative_end"),
    "cmap_duration_ms": ("onset", "negative_end", "negative_peak"),
    "negative_end_latency_ms": ("negative_end",),
    "positive_peak_latency_ms": ("positive_peak",),
}
#: The site measure each segment value is computed from, and at which sites: ``"pair"`` the
#: segment's two sites, ``"first"`` its proximal site and the nerve's most distal site.
SEGMENT_INPUTS: dict[str, tuple[str, str]] = {
    "conduction_velocity_m_s": ("onset_latency_ms", "pair"),
    "conduction_velocity_from_distal_m_s": ("onset_latency_ms", "first"),
    "amplitude_drop_pct": ("negative_peak_amplitude_mv", "pair"),
    "area_drop_pct": ("negative_peak_area_mv_ms", "pair"),
    "duration_increase_pct": ("negative_peak_duration_ms", "pair"),
    "cmap_duration_increase_pct": ("cmap_duration_ms", "pair"),
    "amplitude_drop_from_distal_pct": ("negative_peak_amplitude_mv", "first"),
    "area_drop_from_distal_pct": ("negative_peak_area_mv_ms", "first"),
    "duration_increase_from_distal_pct": ("negative_peak_duration_ms", "first"),
    "cmap_duration_increase_from_distal_pct": ("cmap_duration_ms", "first"),
}


def hand_set_values(landmarks: Mapping[str, np.ndarray], position: np.ndarray,
                    dml_row: np.ndarray) -> dict[str, np.ndarray]:
    """Which site, segment and TLI/residual values derive from hand-set landmarks.

    Parameters
    ----------
    landmarks : mapping of str to ndarray of bool, shape (n_rows,)
        Per site, whether each landmark (``onset``, ``negative_peak``, ``negative_end``,
        ``positive_peak``) and the presence (``present``) was set by hand.
    position : ndarray of int, shape (n_rows,)
        Site position within its nerve (0 = most distal).
    dml_row : ndarray of int, shape (n_rows,)
        Each row's nerve's DML site (``segment_table``'s ``dml_row``).

    Returns
    -------
    dict of str to ndarray of bool, shape (n_rows,)
        Every :data:`SITE_LANDMARKS` measure, every :data:`SEGMENT_INPUTS` value (on the
        segment's proximal row) and ``terminal_latency_index``/``residual_latency_ms`` (on
        the distal row: the DML site's onset and the CV of the segment above it).
    """
    position = np.asarray(position, dtype=np.int64)
    n = position.shape[0]
    rows = np.arange(n)
    prev = np.where(position > 0, rows - 1, rows)
    first = rows - position
    seg = position > 0
    present = np.asarray(landmarks["present"], dtype=bool)
    out: dict[str, np.ndarray] = {}
    for measure, deps in SITE_LANDMARKS.items():
        hs = present.copy()
        for key in deps:
            hs |= np.asarray(landmarks[key], dtype=bool)
        out[measure] = hs
    for value, (measure, at) in SEGMENT_INPUTS.items():
        other = prev if at == "pair" else first
        out[value] = seg & (out[measure] | out[measure][other])
    dml = np.asarray(dml_row, dtype=np.int64)
    nxt = np.minimum(dml + 1, n - 1)
    above = out["conduction_velocity_m_s"][nxt] & (nxt > dml)
    tli = (position == 0) & (out["onset_latency_ms"][dml] | above)
    out["terminal_latency_index"] = tli
    out["residual_latency_ms"] = tli.copy()
    return out


# ------------------------------------------------------------------ segment rows
def _segment_flag_texts(bits: int, distal: str, proximal: str, dflags: int, pflags: int,
                        supramaximal_note: str | None = None,
                        distal_supramaximal_note: str | None = None) -> tuple[str, ...]:
    texts = []
    for flag, text in SEGMENT_FLAG_TEXT.items():
        if bits & flag:
            if flag is SegmentFlag.PROXIMAL_QUALITY:
                text = f"{text} ({proximal}: {', '.join(MeasureFlag(pflags & QUALITY_FLAGS).names())})"
            elif flag is SegmentFlag.DISTAL_QUALITY:
                text = f"{text} ({distal}: {', '.join(MeasureFlag(dflags & QUALITY_FLAGS).names())})"
            elif flag is SegmentFlag.PROXIMAL_SUBMAXIMAL:
                text = f"{text} ({proximal}: {supramaximal_note})"
            elif flag is SegmentFlag.DISTAL_SUBMAXIMAL:
                text = f"{text} ({distal}: {distal_supramaximal_note})"
            texts.append(text)
    return tuple(texts)


def _per_pair(codes: Sequence[np.ndarray], values: Sequence[np.ndarray],
              fn: Callable[..., Any]) -> np.ndarray:
    """``fn(*row values)`` per row (object array), called once per distinct tuple of codes.

    ``codes[k][i]``: the code of ``values[k][i]`` (:func:`~._arrays.distinct`, equal codes
    for equal values).
    """
    n = len(codes[0])
    if n == 0:
        return np.empty(0, dtype=object)
    first, inverse = group_rows(codes)
    return object_array([fn(*(v[i] for v in values)) for i in first.tolist()])[inverse]


def segment_columns(site: dict[str, np.ndarray], nerve_canonical: np.ndarray,
                    values: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``segment`` columns of the analysis table from its ``site`` columns.

    One row per site row with ``position > 0`` (the segment from the row before): names,
    distances, the :func:`segment_table` ``values`` read on the proximal row, both sites'
    amplitudes and absence, the compression site crossed, Erb's point, and the flag
    sentences (computed once per distinct input). ``nerve_canonical``: each nerve's
    canonical name (or None).
    """
    position = site["position"]
    prox = np.flatnonzero(position > 0)
    dist = prox - 1
    nrow = site["nerve_row"][prox]
    # names and rules once per distinct pair (or triple) of names: codes of the distinct values
    _, name_code = distinct(site["name"])
    _, canonical_code = distinct(site["canonical"])
    seg: dict[str, np.ndarray] = {
        "row": prox, "nerve_row": nrow, "index": position[prox],
        "segment": _per_pair((name_code[dist], name_code[prox]), (site["name"][dist], site["name"][prox]),
                             lambda d, p: f"{d}\u2013{p}"),
        "distal_site": site["name"][dist], "proximal_site": site["name"][prox],
        "distal_canonical": site["canonical"][dist], "proximal_canonical": site["canonical"][prox],
        "distance_mm": site["distance_mm"][prox],
        "cumulative_distance_mm": site["cumulative_distance_mm"][prox]}
    for key in values:
        seg[key] = site[key][prox]
    seg["distal_amplitude_mv"] = site["negative_peak_amplitude_mv"][dist]
    seg["proximal_amplitude_mv"] = site["negative_peak_amplitude_mv"][prox]
    seg["distal_peak_to_peak_mv"] = site["peak_to_peak_amplitude_mv"][dist]
    seg["proximal_peak_to_peak_mv"] = site["peak_to_peak_amplitude_mv"][prox]
    seg["proximal_absent"] = ~site["present"][prox]
    seg["distal_absent"] = ~site["present"][dist]
    _, nerve_code = distinct(nerve_canonical)
    ent = _per_pair((nerve_code[nrow], canonical_code[dist], canonical_code[prox]),
                    (nerve_canonical[nrow], seg["distal_canonical"], seg["proximal_canonical"]),
                    entrapment_site)
    seg["entrapment_site"] = ent
    seg["across_entrapment_site"] = ~is_none(ent)
    erbs = mapped(seg["proximal_canonical"], is_erbs_point)
    seg["from_erbs_point"] = erbs.astype(bool) if len(erbs) else np.zeros(0, dtype=bool)
    bits = site["segment_flags"][prox]
    flags = filled(len(prox), ())
    cache: dict[tuple[Any, ...], tuple[str, ...]] = {}
    for k in np.flatnonzero(bits).tolist():
        key = (int(bits[k]), seg["distal_site"][k], seg["proximal_site"][k],
               int(site["flags"][dist[k]]), int(site["flags"][prox[k]]), site["supramaximal_note"][prox[k]],
               site["supramaximal_note"][dist[k]])
        if key not in cache:
            cache[key] = _segment_flag_texts(*key)
        flags[k] = cache[key]
    seg["flags"] = flags
    return seg
