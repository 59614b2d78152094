"""Columns of the sensory core: every SNAP measured at once, then per-site and per-study arrays.

Private to :mod:`nerveconduct.analysis`: :func:`~.sensory.build_sensory_table` calls
:func:`site_columns` (measurement and conduction velocities) and :func:`study_columns`
(distal values, normal limits, ``abnormal``) and keeps what they return.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..flags import QUALITY_FLAGS, MeasureFlag
from ..limits import PEAK_LATENCY_DISTANCE_TOLERANCE_MM, SensoryLimits, beyond_limit
from ..measure.snap import average_sweeps, measure_snap
from ..model import SensoryStudy
from ..names import LOWER_LIMB_NERVES, canonical_site
from ._arrays import object_array
from ._nerve_columns import _LOW_TEMPERATURE_C
from .segments import PLAUSIBLE_CV_M_S

__all__ = ["SENSORY_SITE_MEASURES", "SENSORY_LIMITS", "site_columns", "study_columns"]

#: SNAP measures of a site: column of the sensory table -> field of
#: :class:`~nerveconduct.measure.snap.SnapMeasures` (the amplitude is baseline to negative peak).
SENSORY_SITE_MEASURES: dict[str, str] = {
    "onset_latency_ms": "onset_latency_ms",
    "negative_peak_latency_ms": "negative_peak_latency_ms",
    "amplitude_uv": "negative_peak_amplitude_uv",
    "peak_to_peak_amplitude_uv": "peak_to_peak_amplitude_uv",
    "duration_ms": "duration_ms",
    "baseline_uv": "baseline_uv",
    "noise_uv": "noise_uv",
}

#: The distal SNAP against the normal limits: item -> (SensoryLimitRow attribute = limit
#: column, limit kind, distal value column, % column, the abnormal item's words). The one list.
SENSORY_LIMITS: dict[str, tuple[str, str, str, str, str]] = {
    "amplitude": ("amplitude_lln_uv", "LLN", "distal_amplitude_uv", "amplitude_pct_of_lln",
                  "amplitude below LLN"),
    "conduction_velocity": ("cv_lln_m_s", "LLN", "distal_conduction_velocity_m_s",
                            "cv_pct_of_lln", "CV below LLN"),
    "peak_latency": ("peak_latency_uln_ms", "ULN", "distal_peak_latency_ms",
                     "peak_latency_pct_of_uln", "peak latency above ULN"),
}
#: The abnormal item of an absent distal SNAP.
ABSENT_ITEM = "absent"
#: Flags of a distal SNAP that make its values and their comparison with the limits suspect
#: (the segment quality flags, and a baseline too short to measure the noise and onset on).
SNAP_QUALITY_FLAGS = QUALITY_FLAGS | int(MeasureFlag.SHORT_BASELINE)
#: Lower-limb sensory nerves whose SNAP may be absent in healthy older people.
AGE_CAVEAT_NERVES = ("sural", "superficial fibular")
#: Above this age (years; or when the age is not given) an absent SNAP of an
#: :data:`AGE_CAVEAT_NERVES` nerve carries a caveat flag. The normal-limit source (Preston &
#: Shapiro's appendix, :mod:`nerveconduct.limits.sensory`, read in a secondary copy) notes that
#: lower-limb SNAPs may be small or absent in healthy older people; the cut-off of 60 years is
#: a project choice (recalled, not from that source): in a prospective study of 50 healthy
#: people aged 60 or more, 48 (96 %) had a sural SNAP (Muscle Nerve 2014;49:564-9, confirmed
#: from its abstract), so an absent SNAP stays "abnormal", with the caveat.
AGE_CAVEAT_MIN_YEARS = 60.0


def _measure(studies: Sequence[SensoryStudy]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Every site's SNAP measures: one :func:`measure_snap` call per distinct (sampling rate,
    stimulus sample, trace length, polarity) -- one call when the studies share them."""
    counts = [st.n_sites for st in studies]
    n = sum(counts)
    starts = np.cumsum([0] + counts[:-1]).tolist() if counts else []
    out = {key: np.full(n, np.nan) for key in SENSORY_SITE_MEASURES}
    present, flags = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for j, st in enumerate(studies):
        key = (st.sampling_rate_hz, st.stimulus_sample, st.n_samples, st.polarity)
        groups.setdefault(key, []).append(j)
    for (fs, stim, _, polarity), members in groups.items():
        traces = [average_sweeps(studies[j].traces, axis=1) if studies[j].traces.ndim == 3
                  else studies[j].traces for j in members]
        rows = np.concatenate([np.arange(starts[j], starts[j] + counts[j]) for j in members])
        m = measure_snap(np.concatenate(traces) if len(traces) > 1 else traces[0], fs,
                         stimulus_sample=stim, polarity=polarity)
        for key, field in SENSORY_SITE_MEASURES.items():
            out[key][rows] = getattr(m, field)
        present[rows], flags[rows] = m.present, m.flags
    return out, present, flags


def site_columns(studies: Sequence[SensoryStudy]) -> dict[str, np.ndarray]:
    """Per site (rows: study after study, distal first): names, distances, the SNAP measures
    and the onset-based conduction velocity (m/s).

    The distal site's CV is its distance (mm) over its onset latency (ms); a later site's is
    its segment length over the onset difference from the previous site (mm/ms = m/s). NaN
    when a distance is unknown, a SNAP absent, or the onset difference not positive.
    """
    measures, present, flags = _measure(studies)
    names = [s.name for st in studies for s in st.sites]
    distance = np.array([np.nan if s.distance_mm is None else float(s.distance_mm)
                         for st in studies for s in st.sites], dtype=float)
    study_index = np.repeat(np.arange(len(studies)), [st.n_sites for st in studies])
    site_index = np.concatenate([np.arange(st.n_sites) for st in studies]) if studies else \
        np.zeros(0, dtype=np.int64)
    first = site_index == 0
    canonical = {x: canonical_site(x) for x in set(names)}
    cumulative = np.array([np.nan if d is None else d for st in studies
                           for d in st.cumulative_distances_mm], dtype=float)
    onset = measures["onset_latency_ms"]
    previous = np.where(first, 0.0, np.roll(onset, 1))
    delta = onset - previous
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where((delta > 0) & np.isfinite(distance), distance / delta, np.nan)
    return {"study_index": study_index, "site_index": site_index, "site": object_array(names),
            "canonical_site": object_array([canonical[x] for x in names]),
            "distance_mm": distance, "cumulative_distance_mm": cumulative,
            **measures, "conduction_velocity_m_s": cv, "present": present, "flags": flags,
            "n_sweeps": np.repeat([st.n_sweeps for st in studies],
                                  [st.n_sites for st in studies]).astype(np.int64)}


def _site_flags(studies: Sequence[SensoryStudy], site: dict[str, np.ndarray]) -> list[list[str]]:
    """Per study: sentences on what could not be computed from its sites, and why."""
    out: list[list[str]] = [[] for _ in studies]
    low, high = PLAUSIBLE_CV_M_S
    for i in range(len(site["site"])):
        j, k, name = int(site["study_index"][i]), int(site["site_index"][i]), site["site"][i]
        bits = MeasureFlag(int(site["flags"][i]))
        if not site["present"][i] and not (bits & MeasureFlag.ABSENT):
            out[j].append(f"SNAP at {name!r} not measurable ({', '.join(bits.names()) or 'no flag'}): "
                          f"no values from it")
        elif k == 0 and site["present"][i] and bits & SNAP_QUALITY_FLAGS:
            out[j].append(f"distal SNAP at {name!r} flagged "
                          f"({', '.join(MeasureFlag(int(bits) & SNAP_QUALITY_FLAGS).names())}): its "
                          "values and their comparison with the normal limits may be unreliable")
        if math.isnan(site["distance_mm"][i]):
            what = "distance" if k == 0 else "segment length"
            out[j].append(f"{what} of site {name!r} not given: no conduction velocity "
                          f"{'from it' if k == 0 else 'for its segment'}")
        elif site["present"][i] and k and not site["present"][i - 1]:
            before = site["site"][i - 1]
            why = ("absent" if MeasureFlag(int(site["flags"][i - 1])) & MeasureFlag.ABSENT
                   else "not measurable")
            out[j].append(f"no segment conduction velocity for {name!r}: the SNAP at {before!r} "
                          f"is {why}")
        elif site["present"][i] and (k == 0 or site["present"][i - 1]):
            delta = site["onset_latency_ms"][i] - (site["onset_latency_ms"][i - 1] if k else 0.0)
            cv = site["conduction_velocity_m_s"][i]
            if not delta > 0 and k:
                out[j].append(f"onset at {name!r} not later than at {site['site'][i - 1]!r}: no "
                              f"segment conduction velocity")
            elif math.isfinite(cv) and not low <= cv <= high:
                out[j].append(f"conduction velocity {cv:.3g} m/s at {name!r} is outside "
                              f"{low:g}-{high:g} m/s: check the distance and the onset")
    return out


def _limit_rows(studies: Sequence[SensoryStudy], canonical: list[str | None],
                limits: SensoryLimits) -> tuple[list[Any], list[str | None]]:
    """Each study's SensoryLimitRow (or None) and why none applies; one match per distinct key."""
    cache: dict[tuple[Any, ...], tuple[Any, str | None]] = {}
    rows, problems = [], []
    for st, canon in zip(studies, canonical):
        key = (canon, st.direction, st.age_years, st.height_cm)
        if key not in cache:
            cache[key] = ((None, None) if canon is None else
                          limits.match(canon, st.direction, age_years=st.age_years,
                                       height_cm=st.height_cm))
        row, problem = cache[key]
        rows.append(row)
        if row is None and problem is None and canon is not None:
            problem = f"no normal limits for the {canon} nerve in {limits.name!r}"
        problems.append(problem)
    return rows, problems


def study_columns(studies: Sequence[SensoryStudy], site: dict[str, np.ndarray],
                  limits: SensoryLimits) -> dict[str, np.ndarray]:
    """Per study: identity, the distal SNAP's values, the limits used and their comparisons,
    ``abnormal`` (1, 0, -1 = not assessable), ``abnormal_items`` and ``flags`` (tuples)."""
    n = len(studies)
    counts = np.array([st.n_sites for st in studies], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if n else counts
    canonical = [st.canonical_nerve for st in studies]
    nerve = [c or st.nerve for c, st in zip(canonical, studies)]
    side = [st.side for st in studies]
    col: dict[str, np.ndarray] = {
        "nerve": object_array(nerve), "nerve_label": object_array([st.nerve for st in studies]),
        "known_nerve": np.array([c is not None for c in canonical], dtype=bool),
        "side": object_array(side), "label": object_array([f"{s} {v}" if s else v for s, v in zip(side, nerve)]),
        "direction": object_array([st.direction for st in studies]),
        "recording_site": object_array([st.recording_site for st in studies]),
        "study_id": object_array([st.study_id for st in studies]), "n_sites": counts, "first_row": first,
        "age_years": np.array([np.nan if st.age_years is None else st.age_years for st in studies],
                              dtype=float),
        "temperature_c": np.array([np.nan if st.temperature_c is None else st.temperature_c
                                   for st in studies], dtype=float),
        "low_frequency_filter_hz": np.array([np.nan if st.low_frequency_filter_hz is None
                                             else st.low_frequency_filter_hz for st in studies],
                                            dtype=float)}
    for key, src in (("distal_onset_latency_ms", "onset_latency_ms"),
                     ("distal_peak_latency_ms", "negative_peak_latency_ms"),
                     ("distal_amplitude_uv", "amplitude_uv"),
                     ("distal_peak_to_peak_amplitude_uv", "peak_to_peak_amplitude_uv"),
                     ("distal_duration_ms", "duration_ms"),
                     ("distal_conduction_velocity_m_s", "conduction_velocity_m_s"),
                     ("distal_distance_mm", "distance_mm"), ("distal_present", "present"),
                     ("distal_flags", "flags")):
        col[key] = site[src][first] if n else site[src][:0]
    rows, problems = _limit_rows(studies, canonical, limits)
    for attr, *_ in SENSORY_LIMITS.values():
        col[attr] = np.array([np.nan if r is None or getattr(r, attr) is None
                              else float(getattr(r, attr)) for r in rows], dtype=float)
    col["limits_distance_mm"] = np.array([np.nan if r is None or r.distance_mm is None
                                          else r.distance_mm for r in rows], dtype=float)
    col["limits_source"] = object_array([limits.name] * n)
    col["limits_confidence"] = object_array([None if r is None else r.confidence for r in rows])
    flags = _site_flags(studies, site)
    _compare(col, rows, problems, flags)
    for j, st in enumerate(studies):
        limb = "leg" if canonical[j] in LOWER_LIMB_NERVES else "arm"
        t = st.temperature_c
        if t is not None and t < _LOW_TEMPERATURE_C[limb]:
            flags[j].append(f"limb temperature {t:g} °C is below {_LOW_TEMPERATURE_C[limb]:g} °C "
                            f"({limb}): latencies may be prolonged and the CV slowed by cold")
        if canonical[j] is None:
            flags[j].insert(0, f"unknown nerve name {st.nerve!r}: no normal limits")
    col["flags"] = object_array([tuple(f) for f in flags])
    return col


def _compare(col: dict[str, np.ndarray], rows: list[Any], problems: list[str | None],
             flags: list[list[str]]) -> None:
    """The distal SNAP against the limits: % columns, ``abnormal`` and its items (in place)."""
    n = len(rows)
    distance, standard = col["distal_distance_mm"], col["limits_distance_mm"]
    peak_ok = np.isnan(standard) | (np.abs(distance - standard) <= PEAK_LATENCY_DISTANCE_TOLERANCE_MM)
    items: list[list[str]] = [[] for _ in range(n)]
    compared = np.zeros(n, dtype=bool)
    for key, (attr, kind, value_key, pct_key, words) in SENSORY_LIMITS.items():
        value, limit = col[value_key], col[attr]
        usable = np.isfinite(value) & np.isfinite(limit) & (peak_ok if key == "peak_latency" else True)
        with np.errstate(divide="ignore", invalid="ignore"):
            col[pct_key] = np.where(usable, 100.0 * value / limit, np.nan)
        beyond = usable & beyond_limit(value, limit, kind)  # at the limit: normal (as motor)
        compared |= usable
        for j in np.flatnonzero(beyond).tolist():
            items[j].append(words)
    unmeasured = ~col["distal_present"] & ((col["distal_flags"] & int(MeasureFlag.ABSENT)) == 0)
    absent = ~col["distal_present"] & ~unmeasured
    for j in range(n):
        if problems[j]:
            flags[j].append(problems[j])
        elif (rows[j] is not None and col["distal_present"][j] and not peak_ok[j]
              and np.isfinite(col["peak_latency_uln_ms"][j])):
            flags[j].append(
                f"peak latency ULN {col['peak_latency_uln_ms'][j]:g} ms assumes "
                f"{standard[j]:g} mm; the distal distance is "
                + (f"{distance[j]:g} mm" if np.isfinite(distance[j]) else "not given")
                + ": peak latency not compared (the onset-based CV is)")
        if absent[j]:
            items[j] = [ABSENT_ITEM]
            age = col["age_years"][j]
            if col["nerve"][j] in AGE_CAVEAT_NERVES and not age <= AGE_CAVEAT_MIN_YEARS:
                flags[j].append(
                    f"absent {col['nerve'][j]} SNAP "
                    + ("(age not given)" if np.isnan(age) else f"at age {age:g}")
                    + f": lower-limb SNAPs may be absent in healthy people over "
                      f"{AGE_CAVEAT_MIN_YEARS:g}; interpret with the clinical picture")
    col["abnormal"] = np.where(absent | np.array([bool(i) for i in items], dtype=bool), 1,
                               np.where(compared & ~unmeasured, 0, -1)).astype(np.int8)
    col["abnormal_items"] = object_array([tuple(i) for i in items])
