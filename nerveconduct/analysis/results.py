"""Per-nerve views of the analysis core: :class:`NerveResult`, :class:`SiteResult`,
:class:`SegmentResult`, :class:`LimitComparison`.

A view holds copies of one row of a :class:`~.table.NerveTable` (astropy's ``Row`` is the
model) and no arithmetic of its own: :func:`views` fills every field from a column of the
same name (``tests/test_analysis_table.py`` checks that each field is a column). A
:class:`NerveResult` also keeps its table and its position there, so the criteria and the
records read the table, not the copies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import NerveStudy
from .table import LIMIT_COLUMNS, NERVE_VALUES, SEGMENT_VALUES, SITE_MEASURES, NerveTable

__all__ = ["SiteResult", "SegmentResult", "LimitComparison", "NerveResult", "views"]


@dataclass(frozen=True)
class SiteResult:
    """Measures of one site's CMAP (values from :func:`nerveconduct.measure_cmap`).

    ``distance_mm`` is as recorded (machine convention); ``cumulative_distance_mm`` is the
    distance from the active recording electrode. Measures are NaN when the response is absent
    or was not given.
    """

    name: str
    canonical_name: str | None
    distance_mm: float | None
    cumulative_distance_mm: float | None
    onset_latency_ms: float
    negative_peak_latency_ms: float
    negative_peak_amplitude_mv: float
    peak_to_peak_amplitude_mv: float
    negative_peak_duration_ms: float
    negative_peak_area_mv_ms: float
    cmap_duration_ms: float
    baseline_mv: float
    noise_mv: float
    present: bool
    flags: int
    stimulus_intensity_ma: float | None = None


@dataclass(frozen=True)
class SegmentResult:
    """What a clinician reads between two adjacent stimulation sites.

    "Segment" values compare the segment's two sites; ``*_from_distal_*`` values compare the
    proximal site with the nerve's most distal site (both are read in clinic). Drops are
    100·(1 − proximal/distal) in %; duration increases 100·(proximal/distal − 1) in %. Values
    are NaN when they cannot be computed and ``flags`` says why.
    """

    index: int
    distal_site: str
    proximal_site: str
    distal_canonical: str | None
    proximal_canonical: str | None
    distance_mm: float | None
    cumulative_distance_mm: float | None
    conduction_velocity_m_s: float
    conduction_velocity_from_distal_m_s: float
    amplitude_drop_pct: float
    area_drop_pct: float
    duration_increase_pct: float
    cmap_duration_increase_pct: float
    amplitude_drop_from_distal_pct: float
    area_drop_from_distal_pct: float
    duration_increase_from_distal_pct: float
    cmap_duration_increase_from_distal_pct: float
    distal_amplitude_mv: float
    proximal_amplitude_mv: float
    proximal_absent: bool
    distal_absent: bool
    across_entrapment_site: bool
    entrapment_site: str | None
    from_erbs_point: bool
    flags: tuple[str, ...] = ()
    #: ``"distal–proximal"`` label, e.g. ``"wrist–elbow"`` (the table's ``segment`` column).
    name: str = field(default="", repr=False, compare=False)


@dataclass(frozen=True)
class LimitComparison:
    """One nerve value against its normal limit.

    ``pct_of_limit`` is 100·value/limit; ``abnormal`` says whether the value is beyond the
    limit in the abnormal direction; both are ``None`` with a ``reason`` when the value or the
    limit is missing.
    """

    measure: str
    value: float | None
    limit: float | None
    limit_kind: str  # "LLN" or "ULN"
    pct_of_limit: float | None
    abnormal: bool | None
    reason: str | None = None


@dataclass(frozen=True)
class NerveResult:
    """Everything measured and derived along one nerve.

    Attributes
    ----------
    nerve : str
        Canonical nerve name when known, else the name as given.
    sites, segments : tuple
        :class:`SiteResult` per site (distal -> proximal) and :class:`SegmentResult` per
        adjacent pair.
    distal_motor_latency_ms : float
        Onset latency at the most distal site (ms), NaN if absent.
    terminal_latency_index : float
        distal distance (mm) / (CV of the first segment (m/s) × DML (ms)); dimensionless.
    residual_latency_ms : float
        DML − distal distance / CV of the first segment (ms).
    limits : dict of str to LimitComparison
        ``distal_amplitude``, ``distal_motor_latency``, ``conduction_velocity`` (slowest
        segment outside compression sites and Erb's point) and ``f_wave_latency`` against the
        normal limits used. (The distal CMAP duration cut-offs are criteria, not normal limits:
        the rule sets read ``distal_cmap_duration_ms``.)
    flags : tuple of str
        Nerve-level problems (unknown nerve name, missing distances, ...).
    study : NerveStudy or None
        The waveforms this result came from (``None`` for :func:`analyze_values`).
    table, index : NerveTable, int
        The analysis table this view copies and the nerve's position in it (what the
        criteria and the records read; a hand-made or ``dataclasses.replace``-d view has no
        effect on them).
    """

    nerve: str
    nerve_label: str
    known_nerve: bool
    side: str | None
    muscle: str | None
    study_id: str | None
    sites: tuple[SiteResult, ...]
    segments: tuple[SegmentResult, ...]
    distal_motor_latency_ms: float
    distal_amplitude_mv: float
    distal_area_mv_ms: float
    distal_cmap_duration_ms: float
    terminal_latency_index: float
    residual_latency_ms: float
    f_wave_latency_ms: float | None
    temperature_c: float | None
    low_frequency_filter_hz: float | None
    limits: dict[str, LimitComparison] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    study: NerveStudy | None = field(default=None, repr=False, compare=False)
    table: NerveTable | None = field(default=None, repr=False, compare=False)
    index: int = field(default=0, repr=False, compare=False)

    @property
    def slowest_conduction_velocity_m_s(self) -> float:
        """Slowest segment CV outside compression sites and Erb's point (m/s), NaN if none."""
        return float(self.table.nerve["slowest_conduction_velocity_m_s"][self.index]) if self.table else math.nan


def _opt(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _make(cls: type, **fields: Any) -> Any:
    """An instance of the frozen dataclass ``cls`` with ``fields`` (all of them), without the
    per-field ``object.__setattr__`` of its ``__init__`` (the views are made in bulk)."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def _lists(columns: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    """Every column as a Python list (element access without numpy scalars)."""
    return {k: v.tolist() for k, v in columns.items()}


_SITE_OPTIONAL = ("distance_mm", "cumulative_distance_mm", "stimulus_intensity_ma")
_SEGMENT_TEXT = ("distal_site", "proximal_site", "distal_canonical", "proximal_canonical", "entrapment_site")
_SEGMENT_FLOAT = SEGMENT_VALUES + ("distal_amplitude_mv", "proximal_amplitude_mv")
_SEGMENT_BOOL = ("proximal_absent", "distal_absent", "across_entrapment_site", "from_erbs_point")
_LIMIT_PARTS = ("value", "limit", "limit_kind", "pct_of_limit", "abnormal", "reason")


def _site_view(site: dict[str, list[Any]], k: int) -> SiteResult:
    return _make(
        SiteResult, name=site["name"][k], canonical_name=site["canonical"][k], present=site["present"][k],
        flags=site["flags"][k], **{key: _opt(site[key][k]) for key in _SITE_OPTIONAL},
        **{key: site[key][k] for key in SITE_MEASURES})


def _segment_view(seg: dict[str, list[Any]], k: int) -> SegmentResult:
    return _make(
        SegmentResult, index=seg["index"][k], distance_mm=_opt(seg["distance_mm"][k]),
        cumulative_distance_mm=_opt(seg["cumulative_distance_mm"][k]), flags=seg["flags"][k],
        name=seg["segment"][k], **{key: seg[key][k] for key in _SEGMENT_TEXT + _SEGMENT_FLOAT + _SEGMENT_BOOL})


def _limit_view(measure: str, parts: list[list[Any]], j: int) -> LimitComparison:
    value, limit, kind, pct, abnormal, reason = [column[j] for column in parts]
    return _make(LimitComparison, measure=measure, value=_opt(value), limit=_opt(limit), limit_kind=kind,
                           pct_of_limit=_opt(pct), abnormal=None if abnormal < 0 else abnormal == 1,
                           reason=reason)


def views(table: NerveTable) -> list[NerveResult]:
    """One :class:`NerveResult` per nerve of ``table``, its fields copied from the columns."""
    nv, site, seg = _lists(table.nerve), _lists(table.site), _lists(table.segment)
    limit_parts = {key: (spec[3], [nv[f"{key}_{part}"] for part in _LIMIT_PARTS])
                   for key, spec in LIMIT_COLUMNS.items()}
    out = []
    for j in range(table.n_nerves):
        s_rows, g_rows = table.site_rows(j), table.segment_rows(j)
        sites = tuple(_site_view(site, k) for k in range(s_rows.start, s_rows.stop))
        segments = tuple(_segment_view(seg, k) for k in range(g_rows.start, g_rows.stop))
        values = {key: nv[key][j] for key in NERVE_VALUES}
        for key in ("temperature_c", "low_frequency_filter_hz"):
            values[key] = _opt(values[key])
        if not nv["f_wave_studied"][j]:
            values["f_wave_latency_ms"] = None
        out.append(_make(
            NerveResult, nerve=nv["nerve"][j], nerve_label=nv["nerve_label"][j], known_nerve=nv["known_nerve"][j],
            side=nv["side"][j], muscle=nv["muscle"][j], study_id=nv["study_id"][j],
            sites=sites, segments=segments, **values,
            limits={key: _limit_view(measure, parts, j) for key, (measure, parts) in limit_parts.items()},
            flags=nv["flags"][j], study=None if table.studies is None else table.studies[j],
            table=table, index=j))
    return out
