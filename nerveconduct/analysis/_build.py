"""Build :class:`~nerveconduct.model.NerveResult` objects from the flat arrays of :mod:`.segments`.

Private: the per-nerve assembly (site and segment records, nerve flags, normal-limit
comparisons) that :func:`nerveconduct.analysis.segments.analyze_nerves` and
:func:`~nerveconduct.analysis.segments.analyze_values` share.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..flags import QUALITY_FLAGS, SEGMENT_FLAG_TEXT, MeasureFlag, SegmentFlag
from ..limits import LimitRow, NormalLimits
from ..model import LimitComparison, NerveResult, NerveStudy, SegmentResult, Site, SiteResult
from ..names import canonical_nerve, canonical_site, entrapment_site, is_erbs_point

__all__ = ["build_result", "nerve_flags", "SITE_MEASURES"]

#: Per-site measures carried from ``measure_cmap`` into :class:`~nerveconduct.model.SiteResult`.
SITE_MEASURES = (
    "onset_latency_ms",
    "negative_peak_latency_ms",
    "negative_peak_amplitude_mv",
    "peak_to_peak_amplitude_mv",
    "negative_peak_duration_ms",
    "negative_peak_area_mv_ms",
    "cmap_duration_ms",
    "baseline_mv",
    "noise_mv",
)


def _flag_texts(bits: int, distal: str, proximal: str, dflags: int, pflags: int) -> tuple[str, ...]:
    texts = []
    for flag, text in SEGMENT_FLAG_TEXT.items():
        if bits & flag:
            if flag is SegmentFlag.PROXIMAL_QUALITY:
                text = f"{text} ({proximal}: {', '.join(MeasureFlag(pflags & QUALITY_FLAGS).names())})"
            elif flag is SegmentFlag.DISTAL_QUALITY:
                text = f"{text} ({distal}: {', '.join(MeasureFlag(dflags & QUALITY_FLAGS).names())})"
            texts.append(text)
    return tuple(texts)


def _compare(measure: str, value: float | None, limit: float | None, kind: str,
             what: str) -> LimitComparison:
    if value is None or not math.isfinite(value):
        return LimitComparison(measure, None, limit, kind, None, None, f"{what} not available")
    if limit is None:
        return LimitComparison(measure, value, None, kind, None, None,
                               f"no {kind} for {what} in the normal limits used")
    pct = 100.0 * value / limit
    abnormal = value < limit if kind == "LLN" else value > limit
    return LimitComparison(measure, value, limit, kind, pct, abnormal, None)


def _nerve_limits(row: LimitRow | None, nerve_label: str, dml: float, amp: float,
                  slowest_cv: float | None, f_lat: float | None) -> dict[str, LimitComparison]:
    get = (lambda attr: None) if row is None else (lambda attr: getattr(row, attr))  # noqa: E731
    out = {
        "distal_amplitude": _compare("distal_amplitude_mv", amp, get("amplitude_lln_mv"), "LLN",
                                     "distal amplitude"),
        "distal_motor_latency": _compare("distal_motor_latency_ms", dml, get("dml_uln_ms"), "ULN",
                                         "distal motor latency"),
        "conduction_velocity": _compare("conduction_velocity_m_s", slowest_cv, get("cv_lln_m_s"),
                                        "LLN", "conduction velocity (slowest segment outside "
                                        "compression sites and Erb's point)"),
        "f_wave_latency": _compare("f_wave_latency_ms", f_lat, get("f_wave_uln_ms"), "ULN",
                                   "F-wave latency"),
    }
    if row is None:
        out = {k: LimitComparison(v.measure, v.value, None, v.limit_kind, None, None,
                                  f"no normal limits for nerve {nerve_label!r}")
               for k, v in out.items()}
    return out


def nerve_flags(*, nerve_label: str, canon: str | None, site_names: Sequence[str],
                site_canonical: Sequence[str | None], distances_mm: Sequence[float | None],
                distal_present: bool, limit_row: LimitRow | None, temperature_c: float | None,
                tli: float) -> tuple[str, ...]:
    """The nerve-level problems of one nerve, as sentences (empty when there is none).

    Parameters
    ----------
    nerve_label : str
        Nerve name as given; ``canon`` its canonical name (``None`` when unknown).
    site_names, site_canonical : sequence
        Site names as given and canonical (``None`` when unknown), distal first.
    distances_mm : sequence of float or None
        Site distances (mm), ``None`` when unknown.
    distal_present : bool
        The most distal response is present.
    limit_row : LimitRow or None
        The normal-limit row used for this nerve.
    temperature_c : float or None
        Limb temperature (deg C).
    tli : float
        Terminal latency index (NaN when not computed).

    Notes
    -----
    The batch's columnar path calls this only for the nerves that
    ``chunk_table._nerve_flag_column`` pre-selects: keep its conditions in step with these.
    """
    flags: list[str] = []
    if canon is None:
        flags.append(f"unknown nerve name {nerve_label!r}: no normal limits, entrapment or criteria rules by nerve")
    unknown_sites = [name for name, c in zip(site_names, site_canonical) if c is None]
    if unknown_sites:
        flags.append(f"unknown site name(s) {unknown_sites}: entrapment/Erb's point rules not applied to them")
    if any(d is None for d in distances_mm):
        flags.append("distance(s) unknown: CV, TLI and residual latency not computed where they are needed")
    if not distal_present:
        flags.append("absent distal response")
    distal_mm = distances_mm[0]
    if limit_row is not None and limit_row.distal_distance_mm and distal_mm is not None \
            and abs(distal_mm - limit_row.distal_distance_mm) > 10.0:
        flags.append(f"distal distance {distal_mm:g} mm differs from the {limit_row.distal_distance_mm:g} mm "
                     "the DML limit assumes")
    if temperature_c is not None and temperature_c < (30.0 if canon in ("fibular", "tibial") else 32.0):
        flags.append(f"limb temperature {temperature_c:g} °C is low: slowing may be artefactual")
    if len(site_names) > 1 and math.isnan(tli):
        flags.append("TLI not computed (needs the distal distance, DML and the first segment's CV)")
    return tuple(flags)


def build_result(
    *,
    nerve_label: str,
    side: str | None,
    muscle: str | None,
    study_id: str | None,
    sites: Sequence[Site],
    site_values: Mapping[str, np.ndarray],
    table: Mapping[str, np.ndarray],
    start: int,
    limits: NormalLimits,
    f_wave_latency_ms: float | None,
    temperature_c: float | None,
    low_frequency_filter_hz: float | None,
    study: NerveStudy | None,
) -> NerveResult:
    """Turn the rows ``start .. start+len(sites)`` of the flat arrays into a NerveResult."""
    canon = canonical_nerve(nerve_label)
    nerve = canon or nerve_label
    n_sites = len(sites)
    rows = range(start, start + n_sites)
    site_results = []
    for pos, (row, s) in enumerate(zip(rows, sites)):
        values = {k: float(site_values[k][row]) for k in SITE_MEASURES}
        site_results.append(SiteResult(
            name=s.name, canonical_name=canonical_site(s.name), distance_mm=s.distance_mm,
            cumulative_distance_mm=_opt(table["cumulative_distance_mm"][row]),
            present=bool(site_values["present"][row]), flags=int(site_values["flags"][row]),
            stimulus_intensity_ma=s.stimulus_intensity_ma, **values,
        ))
    segments = []
    for k in range(1, n_sites):
        row = start + k
        dsite, psite = site_results[k - 1], site_results[k]
        ent = entrapment_site(canon, dsite.canonical_name, psite.canonical_name)
        segments.append(SegmentResult(
            index=k, distal_site=dsite.name, proximal_site=psite.name,
            distal_canonical=dsite.canonical_name, proximal_canonical=psite.canonical_name,
            distance_mm=sites[k].distance_mm, cumulative_distance_mm=psite.cumulative_distance_mm,
            conduction_velocity_m_s=float(table["conduction_velocity_m_s"][row]),
            conduction_velocity_from_distal_m_s=float(table["conduction_velocity_from_distal_m_s"][row]),
            amplitude_drop_pct=float(table["amplitude_drop_pct"][row]),
            area_drop_pct=float(table["area_drop_pct"][row]),
            duration_increase_pct=float(table["duration_increase_pct"][row]),
            cmap_duration_increase_pct=float(table["cmap_duration_increase_pct"][row]),
            amplitude_drop_from_distal_pct=float(table["amplitude_drop_from_distal_pct"][row]),
            area_drop_from_distal_pct=float(table["area_drop_from_distal_pct"][row]),
            duration_increase_from_distal_pct=float(table["duration_increase_from_distal_pct"][row]),
            cmap_duration_increase_from_distal_pct=float(table["cmap_duration_increase_from_distal_pct"][row]),
            distal_amplitude_mv=dsite.negative_peak_amplitude_mv,
            proximal_amplitude_mv=psite.negative_peak_amplitude_mv,
            proximal_absent=not psite.present, distal_absent=not dsite.present,
            across_entrapment_site=ent is not None, entrapment_site=ent,
            from_erbs_point=is_erbs_point(psite.canonical_name),
            flags=_flag_texts(int(table["segment_flags"][row]), dsite.name, psite.name,
                              dsite.flags, psite.flags),
        ))
    distal = site_results[0]
    row = limits.lookup(canon, muscle)
    flags = nerve_flags(nerve_label=nerve_label, canon=canon,
                        site_names=[s.name for s in site_results],
                        site_canonical=[s.canonical_name for s in site_results],
                        distances_mm=[s.distance_mm for s in sites], distal_present=distal.present,
                        limit_row=row, temperature_c=temperature_c,
                        tli=float(table["terminal_latency_index"][start]))
    usable = [s.conduction_velocity_m_s for s in segments
              if not s.across_entrapment_site and not s.from_erbs_point
              and math.isfinite(s.conduction_velocity_m_s)]
    slowest = min(usable) if usable else None
    return NerveResult(
        nerve=nerve, nerve_label=nerve_label, known_nerve=canon is not None, side=side,
        muscle=muscle, study_id=study_id, sites=tuple(site_results), segments=tuple(segments),
        distal_motor_latency_ms=distal.onset_latency_ms,
        distal_amplitude_mv=distal.negative_peak_amplitude_mv,
        distal_area_mv_ms=distal.negative_peak_area_mv_ms,
        distal_cmap_duration_ms=distal.cmap_duration_ms,
        terminal_latency_index=float(table["terminal_latency_index"][start]),
        residual_latency_ms=float(table["residual_latency_ms"][start]),
        f_wave_latency_ms=f_wave_latency_ms, temperature_c=temperature_c,
        low_frequency_filter_hz=low_frequency_filter_hz,
        limits=_nerve_limits(row if canon else None, nerve_label, distal.onset_latency_ms,
                             distal.negative_peak_amplitude_mv, slowest, f_wave_latency_ms),
        flags=flags, study=study,
    )


def _opt(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)
