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
from .table import (F_WAVE_VALUES, LANDMARK_SOURCES, LIMIT_COLUMNS, NERVE_VALUES, SEGMENT_VALUES,
                    SITE_MEASURES, NerveTable)

__all__ = ["SiteResult", "SegmentResult", "LimitComparison", "NerveResult", "views"]


@dataclass(frozen=True)
class SiteResult:
    """Measures of one site's CMAP (values from :func:`nerveconduct.measure_cmap`).

    ``distance_mm`` is as recorded (machine convention); ``cumulative_distance_mm`` is the
    Measures are NaN when the response is absent
    or was not given.

    ``negative_end_latency_ms`` (the return to baseline after the negative peak) and
    ``positive_peak_latency_ms`` are the measurement's other landmarks; ``onset_alt_latency_ms``
    is the second onset detector's onset (ONSETS_DISAGREE in ``flags`` when the two differ by
    more than 0.3 ms). Each ``*_source`` says whether that landmark (``present_source``: the
    presence) was ``"detected"`` or ``"hand-set"`` (a marker); ``hand_set_values`` names every
    measure derived from a hand-set marker.
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
    negative_end_latency_ms: float = math.nan
    positive_peak_latency_ms: float = math.nan
    onset_alt_latency_ms: float = math.nan
    onset_latency_source: str = "detected"
    negative_peak_latency_source: str = "detected"
    negative_end_latency_source: str = "detected"
    positive_peak_latency_source: str = "detected"
    present_source: str = "detected"
    hand_set_values: tuple[str, ...] = ()
    #: Evidence of supramaximal stimulation: ``"plateau"``, ``"no plateau"``, ``"below
    #: distal"``, ``"single intensity"`` or ``"not recorded"`` (the first two from an intensity
    #: series, the next two from one recorded intensity); SUBMAXIMAL_POSSIBLE in ``flags``
    #: for ``"no plateau"``, ``"below distal"`` and, at a proximal site, ``"single intensity"``.
    supramaximal: str = "not recorded"
    #: What was recorded and what it shows (None when no intensity was recorded).
    supramaximal_note: str | None = None


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
    #: ``"hand-set"`` when either onset comes from a hand-set marker, else ``"detected"``.
    conduction_velocity_source: str = "detected"
    #: The segment values derived from hand-set markers.
    hand_set_values: tuple[str, ...] = ()


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
    hand_set_values : tuple of str
        The nerve values derived from hand-set markers (DML, TLI, extremes, ...).
    f_wave_latency_ms : float or None
        Minimal F latency (ms): ``None`` not studied, NaN sought and absent.
    f_wave_mean_latency_ms, f_wave_persistence_pct, f_wave_chronodispersion_ms : float or None
        Mean F latency (ms), persistence (%) and chronodispersion (ms) of the nerve's F-wave
        train; ``None`` without a measured train (latencies also when F-waves are absent).
    f_wave_latency_source : str or None
        ``"traces"`` (measured from the train), ``"sheet"`` (typed in) or ``None`` (not studied).
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
    hand_set_values: tuple[str, ...] = ()
    f_wave_mean_latency_ms: float | None = None
    f_wave_persistence_pct: float | None = None
    f_wave_chronodispersion_ms: float | None = None
    f_wave_latency_source: str | None = None
    study: NerveStudy | None = field(default=None, repr=False, compare=False)
    table: NerveTable | None = field(default=None, repr=False, compare=False)
    index: int = field(default=0, repr=False, compare=False)

    @property
    def slowest_conduction_velocity_m_s(self) -> float:
        """Slowest segment CV outside compression sites and Erb's point (m/s), NaN if none."""
        return float(self.table.nerve["slowest_conduction_velocity_m_s"][self.index]) if self.table else math.nan


def _opt(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _column(values: np.ndarray, optional: bool = False) -> list[Any]:
    """A column as a Python list; ``optional``: NaN and ±inf become ``None``."""
    if optional:
        arr = np.asarray(values, dtype=float)
        out = arr.astype(object)
        out[~np.isfinite(arr)] = None
        return out.tolist()
    return values.tolist()


def _objects(cls: type, columns: dict[str, list[Any]]) -> list[Any]:
    """Instances of the frozen dataclass ``cls``, one per row of ``columns`` (every field),
    made in bulk without the per-field ``object.__setattr__`` of its ``__init__``."""
    names = list(columns)
    out = []
    new = object.__new__
    for row in zip(*columns.values()):
        obj = new(cls)
        obj.__dict__.update(zip(names, row))
        out.append(obj)
    return out


_SITE_OPTIONAL = ("distance_mm", "cumulative_distance_mm", "stimulus_intensity_ma")
_SEGMENT_PLAIN = ("index", "distal_site", "proximal_site", "distal_canonical", "proximal_canonical",
                  "entrapment_site", *SEGMENT_VALUES, "distal_amplitude_mv", "proximal_amplitude_mv",
                  "proximal_absent", "distal_absent", "across_entrapment_site", "from_erbs_point", "flags",
                  "conduction_velocity_source", "hand_set_values")
_LIMIT_PARTS = ("value", "limit", "limit_kind", "pct_of_limit", "abnormal", "reason")


def _site_views(site: dict[str, np.ndarray]) -> list[SiteResult]:
    cols = {"name": _column(site["name"]), "canonical_name": _column(site["canonical"]),
            **{k: _column(site[k], optional=True) for k in _SITE_OPTIONAL},
            **{k: _column(site[k]) for k in (*SITE_MEASURES, "present", "flags", *LANDMARK_SOURCES,
                                             "hand_set_values", "supramaximal", "supramaximal_note")}}
    return _objects(SiteResult, cols)


def _segment_views(seg: dict[str, np.ndarray]) -> list[SegmentResult]:
    cols = {k: _column(seg[k]) for k in _SEGMENT_PLAIN}
    cols.update(distance_mm=_column(seg["distance_mm"], optional=True),
                cumulative_distance_mm=_column(seg["cumulative_distance_mm"], optional=True),
                name=_column(seg["segment"]))
    return _objects(SegmentResult, cols)


def _limit_views(nerve: dict[str, np.ndarray], key: str) -> list[LimitComparison]:
    abnormal = nerve[f"{key}_abnormal"]
    flag = np.where(abnormal < 0, None, abnormal == 1).tolist()
    cols = {"measure": [LIMIT_COLUMNS[key][3]] * len(abnormal),
            "value": _column(nerve[f"{key}_value"], optional=True),
            "limit": _column(nerve[f"{key}_limit"], optional=True),
            "limit_kind": _column(nerve[f"{key}_limit_kind"]),
            "pct_of_limit": _column(nerve[f"{key}_pct_of_limit"], optional=True),
            "abnormal": flag, "reason": _column(nerve[f"{key}_reason"])}
    return _objects(LimitComparison, cols)


def views(table: NerveTable) -> list[NerveResult]:
    """One :class:`NerveResult` per nerve of ``table``, its fields copied from the columns."""
    nv = table.nerve
    n = table.n_nerves
    sites, segments = _site_views(table.site), _segment_views(table.segment)
    limits = {key: _limit_views(nv, key) for key in LIMIT_COLUMNS}
    starts, counts = nv["first_row"].tolist(), nv["n_sites"].tolist()
    f_wave = np.where(nv["f_wave_studied"], nv["f_wave_latency_ms"], None).tolist()
    cols: dict[str, list[Any]] = {
        key: _column(nv[key]) for key in ("nerve", "nerve_label", "known_nerve", "side", "muscle", "study_id",
                                          "flags", "hand_set_values")}
    cols.update({key: _column(nv[key]) for key in NERVE_VALUES})
    cols.update({key: _column(nv[key], optional=True) for key in F_WAVE_VALUES})
    cols["f_wave_latency_source"] = _column(nv["f_wave_latency_source"])
    cols.update(temperature_c=_column(nv["temperature_c"], optional=True),
                low_frequency_filter_hz=_column(nv["low_frequency_filter_hz"], optional=True),
                f_wave_latency_ms=f_wave,
                sites=[tuple(sites[a:a + c]) for a, c in zip(starts, counts)],
                segments=[tuple(segments[a - j:a - j + c - 1]) for j, (a, c) in enumerate(zip(starts, counts))],
                limits=[{key: limits[key][j] for key in LIMIT_COLUMNS} for j in range(n)],
                study=list(table.studies) if table.studies is not None else [None] * n,
                table=[table] * n, index=list(range(n)))
    return _objects(NerveResult, cols)
