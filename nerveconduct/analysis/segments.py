"""Along a nerve: conduction velocity, amplitude/area drop, dispersion, TLI, residual latency.

Definitions (CRITERIA.md, "Segment measures"):

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
arrays of any number of nerves (rows grouped per nerve, distal first), and
:func:`analyze_nerves` measures all traces of all nerves in as few
:func:`~nerveconduct.measure.cmap.measure_cmap` calls as there are distinct sampling set-ups.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ._build import SITE_MEASURES, build_result
from ..flags import QUALITY_FLAGS, MeasureFlag, SegmentFlag
from ..limits import NormalLimits
from ..model import NerveResult, NerveStudy, Site

__all__ = [
    "SITE_MEASURES",
    "segment_table",
    "analyze_nerve",
    "analyze_nerves",
    "analyze_values",
]


#: CV outside this range (m/s) almost always means a distance or latency error.
PLAUSIBLE_CV_M_S = (10.0, 120.0)


def _drop_pct(proximal: np.ndarray, distal: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * (1.0 - proximal / distal)


def _increase_pct(proximal: np.ndarray, distal: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * (proximal / distal - 1.0)


def segment_table(
    site: Mapping[str, np.ndarray],
    position: np.ndarray,
    distance_mm: np.ndarray,
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

    Returns
    -------
    dict of str to ndarray, shape (n_rows,)
        Row ``i`` with ``position[i] > 0`` holds the segment from row ``i − 1`` to row ``i``
        (``conduction_velocity_m_s``, ``amplitude_drop_pct``, ``area_drop_pct``,
        ``duration_increase_pct``, ``cmap_duration_increase_pct``, the same ``*_from_distal*``,
        ``cumulative_distance_mm``, ``segment_flags``); rows with ``position == 0`` hold NaN
        segment values and the nerve values ``terminal_latency_index`` and
        ``residual_latency_ms``.
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
    with np.errstate(divide="ignore", invalid="ignore"):
        d_onset = onset - onset[prev]
        cv = np.where(seg & (d_onset > 0), dist / d_onset, np.nan)
        d_onset_first = onset - onset[first]
        cv_first = np.where(seg & (d_onset_first > 0), (cum - cum[first]) / d_onset_first, np.nan)
    out["conduction_velocity_m_s"] = cv
    out["conduction_velocity_from_distal_m_s"] = cv_first
    for name, values, fn in (
        ("amplitude_drop", amp, _drop_pct),
        ("area_drop", area, _drop_pct),
        ("duration_increase", dur, _increase_pct),
        ("cmap_duration_increase", cdur, _increase_pct),
    ):
        both = seg & present & present[prev]
        out[f"{name}_pct"] = np.where(both, fn(values, values[prev]), np.nan)
        both_first = seg & present & present[first]
        out[f"{name}_from_distal_pct"] = np.where(both_first, fn(values, values[first]), np.nan)

    flags = np.zeros(n, dtype=np.int64)
    flags |= np.where(seg & ~present, int(SegmentFlag.ABSENT_PROXIMAL), 0)
    flags |= np.where(seg & ~present[prev], int(SegmentFlag.ABSENT_DISTAL), 0)
    flags |= np.where(seg & present & present[prev] & ~(d_onset > 0), int(SegmentFlag.LATENCY_NOT_AFTER), 0)
    flags |= np.where(seg & np.isnan(dist), int(SegmentFlag.DISTANCE_UNKNOWN), 0)
    both = seg & present & present[prev]
    flags |= np.where(both & (np.isnan(area) | np.isnan(area[prev])), int(SegmentFlag.AREA_MISSING), 0)
    flags |= np.where(both & (np.isnan(dur) | np.isnan(dur[prev])), int(SegmentFlag.DURATION_MISSING), 0)
    lo, hi = PLAUSIBLE_CV_M_S
    flags |= np.where(np.isfinite(cv) & ((cv < lo) | (cv > hi)), int(SegmentFlag.CV_IMPLAUSIBLE), 0)
    flags |= np.where(seg & ((mflags & QUALITY_FLAGS) != 0), int(SegmentFlag.PROXIMAL_QUALITY), 0)
    flags |= np.where(seg & ((mflags[prev] & QUALITY_FLAGS) != 0), int(SegmentFlag.DISTAL_QUALITY), 0)
    out["segment_flags"] = np.where(seg, flags, 0)

    # nerve values, on the distal row: the first segment's CV is on the row after it
    nxt = np.minimum(rows + 1, n - 1)
    has_first_segment = (position == 0) & (rows + 1 < n) & (position[nxt] == 1)
    cv1 = np.where(has_first_segment, cv[nxt], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        tli = np.where(position == 0, dist / (cv1 * onset), np.nan)
        residual = np.where(position == 0, onset - dist / cv1, np.nan)
    out["terminal_latency_index"] = tli
    out["residual_latency_ms"] = residual
    return out


def _resolve_limits(limits: NormalLimits | str | None) -> NormalLimits:
    if limits is None:
        return NormalLimits.default()
    if isinstance(limits, NormalLimits):
        return limits
    if isinstance(limits, (str,)) or hasattr(limits, "__fspath__"):
        return NormalLimits.from_file(limits)
    raise TypeError(f"limits must be a NormalLimits, a path to a CSV/TOML file or None, got {type(limits).__name__}")


def _layout(site_lists: Sequence[Sequence[Site]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = np.array([len(s) for s in site_lists], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    position = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
    distance = np.array([np.nan if s.distance_mm is None else float(s.distance_mm)
                         for sites in site_lists for s in sites], dtype=float)
    return starts, position, distance


def analyze_nerves(studies: Sequence[NerveStudy], *, limits: NormalLimits | str | None = None,
                   n_threads: int | None = None) -> list[NerveResult]:
    """Analyze many nerve studies with one vectorized measurement per sampling set-up.

    All traces of all studies that share (sampling rate, stimulus sample, polarity, trace
    length) are stacked and measured in a single :func:`~nerveconduct.measure.cmap.measure_cmap`
    call; segments are then computed for every nerve at once by :func:`segment_table`.

    Parameters
    ----------
    studies : sequence of NerveStudy
        The nerves to analyze.
    limits : NormalLimits, path or None
        Normal limits (default: :meth:`NormalLimits.default`), or a CSV/TOML file of a lab's own.
    n_threads : int, optional
        Threads of the measurement (default: all cores; the results do not depend on it).

    Returns
    -------
    list of NerveResult
        One per study, in order.
    """
    from ..measure.cmap import measure_cmap  # numeric core; imported here to keep this module light

    studies = list(studies)
    for i, st in enumerate(studies):
        if not isinstance(st, NerveStudy):
            raise TypeError(f"studies[{i}] must be a NerveStudy, got {type(st).__name__}")
    table_limits = _resolve_limits(limits)
    if not studies:
        return []
    starts, position, distance = _layout([st.sites for st in studies])
    n_rows = position.shape[0]
    site_values: dict[str, np.ndarray] = {k: np.full(n_rows, np.nan) for k in SITE_MEASURES}
    site_values["present"] = np.zeros(n_rows, dtype=bool)
    site_values["flags"] = np.zeros(n_rows, dtype=np.int64)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, st in enumerate(studies):
        key = (st.sampling_rate_hz, st.stimulus_sample, st.polarity, st.traces.shape[1])
        groups.setdefault(key, []).append(i)
    for (rate, stim, polarity, _), members in groups.items():
        stacked = np.concatenate([studies[i].traces for i in members], axis=0)
        measures = measure_cmap(stacked, rate, stimulus_sample=stim, polarity=polarity,
                                n_threads=n_threads)
        rows = np.concatenate([np.arange(starts[i], starts[i] + studies[i].n_sites) for i in members])
        for key in SITE_MEASURES:
            site_values[key][rows] = getattr(measures, key)
        site_values["present"][rows] = measures.present
        site_values["flags"][rows] = measures.flags
    table = segment_table(site_values, position, distance)
    return [
        build_result(
            nerve_label=st.nerve, side=st.side, muscle=st.muscle, study_id=st.study_id,
            sites=st.sites, site_values=site_values, table=table, start=int(starts[i]),
            limits=table_limits, f_wave_latency_ms=st.f_wave_latency_ms,
            temperature_c=st.temperature_c, low_frequency_filter_hz=st.low_frequency_filter_hz,
            study=st,
        )
        for i, st in enumerate(studies)
    ]


def analyze_nerve(study: NerveStudy, *, limits: NormalLimits | str | None = None) -> NerveResult:
    """Measure every site of one nerve study and read the nerve: see :func:`analyze_nerves`.

    Examples
    --------
    >>> from nerveconduct.simulate.nerve import simulate_nerve
    >>> study = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]
    >>> result = analyze_nerve(study)
    >>> 45 < result.segments[0].conduction_velocity_m_s < 65
    True
    """
    return analyze_nerves([study], limits=limits)[0]


def _values(name: str, values: Sequence[float | None] | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    out = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    if out.shape != (n,):
        raise ValueError(f"{name} must give one value per site ({n} sites), got {len(values)}")
    return out


def analyze_values(
    nerve: str,
    sites: Sequence[Site],
    onset_latency_ms: Sequence[float | None],
    negative_peak_amplitude_mv: Sequence[float | None],
    *,
    negative_peak_area_mv_ms: Sequence[float | None] | None = None,
    negative_peak_duration_ms: Sequence[float | None] | None = None,
    cmap_duration_ms: Sequence[float | None] | None = None,
    side: str | None = None,
    muscle: str | None = None,
    limits: NormalLimits | str | None = None,
    f_wave_latency_ms: float | None = None,
    low_frequency_filter_hz: float | None = None,
    temperature_c: float | None = None,
    study_id: str | None = None,
) -> NerveResult:
    """Read a nerve from the machine's numbers (no waveforms), as labs often must.

    Parameters
    ----------
    nerve : str
        Nerve name (any alias).
    sites : sequence of Site
        Sites distal -> proximal, distances in the machine convention (mm).
    onset_latency_ms, negative_peak_amplitude_mv : sequence of float or None
        Per site; ``None``/NaN onset or a zero amplitude marks an absent response.
    negative_peak_area_mv_ms, negative_peak_duration_ms, cmap_duration_ms : sequence, optional
        Per site (mV·ms, ms, ms); omitted values make dependent results NaN with a flag.
    f_wave_latency_ms : float, optional
        Minimal F-wave latency (ms): ``None`` = not studied, NaN = sought and absent.

    Returns
    -------
    NerveResult
        Same as :func:`analyze_nerve` (``study`` is ``None``; per-site measures not given are NaN).

    Raises
    ------
    ValueError
        A sequence does not have one value per site, or a site is not a :class:`Site`.

    Examples
    --------
    >>> r = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
    >>> round(r.segments[0].conduction_velocity_m_s, 1), round(r.terminal_latency_index, 3)
    (44.0, 0.388)
    """
    sites = list(sites)
    if not sites or not all(isinstance(s, Site) for s in sites):
        raise ValueError("sites must be a non-empty sequence of Site(name, distance_mm)")
    n = len(sites)
    onset = _values("onset_latency_ms", onset_latency_ms, n)
    amp = _values("negative_peak_amplitude_mv", negative_peak_amplitude_mv, n)
    present = np.isfinite(onset) & np.isfinite(amp) & (amp > 0)
    site_values = {k: np.full(n, np.nan) for k in SITE_MEASURES}
    site_values["onset_latency_ms"] = np.where(present, onset, np.nan)
    site_values["negative_peak_amplitude_mv"] = np.where(present, amp, np.nan)
    for key, given in (("negative_peak_area_mv_ms", negative_peak_area_mv_ms),
                       ("negative_peak_duration_ms", negative_peak_duration_ms),
                       ("cmap_duration_ms", cmap_duration_ms)):
        site_values[key] = np.where(present, _values(key, given, n), np.nan)
    site_values["present"] = present
    site_values["flags"] = np.where(present, 0, int(MeasureFlag.ABSENT)).astype(np.int64)
    _, position, distance = _layout([sites])
    table = segment_table(site_values, position, distance)
    return build_result(
        nerve_label=nerve, side=side, muscle=muscle, study_id=study_id, sites=sites,
        site_values=site_values, table=table, start=0, limits=_resolve_limits(limits),
        f_wave_latency_ms=f_wave_latency_ms, temperature_c=temperature_c,
        low_frequency_filter_hz=low_frequency_filter_hz, study=None,
    )
