"""The analysis core: every site, segment and nerve value of many nerves, as columns.

:func:`build_table` is the one place where a value along a nerve is computed. It takes the
per-nerve inputs (names, side, muscle, temperature, filter, F-wave latency), the per-site
inputs (names, distances) and the per-site measures (from
:func:`~nerveconduct.measure.measure_cmap`, or typed in), and returns a :class:`NerveTable`:

- ``site`` columns, one row per stimulation site (nerves one after another, distal first):
  the measures, canonical names, positions and the :func:`~.segments.segment_table` values;
- ``segment`` columns, one row per pair of adjacent sites: names, CV, drops, dispersion,
  compression site and Erb's point, flags;
- ``nerve`` columns: DML, distal amplitude/area/duration, TLI, residual latency, the
  extremes over the segments outside compression sites and Erb's point, each normal-limit
  comparison (:data:`LIMIT_COLUMNS`) and the nerve flags.

Everything else reads these columns: the per-nerve objects
(:mod:`nerveconduct.analysis.results`), the criteria frames, the records and rows, the batch.
The inputs come from a list of :class:`~nerveconduct.model.NerveStudy`, an archive chunk or
typed-in values (:mod:`nerveconduct.analysis.sources`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..flags import MeasureFlag
from ..limits import NormalLimits
from ..names import canonical_nerve, canonical_site
from ._f_waves import f_wave_window_check
from ._nerve_columns import LIMIT_COLUMNS, LimitRows, limit_columns, nerve_flags, per_nerve_extreme
from ._stimulation import supramaximal_columns
from ._arrays import filled, mapped, object_array
from .segments import SEGMENT_INPUTS, SITE_LANDMARKS, hand_set_values, segment_columns, segment_table

__all__ = [
    "NerveTable", "build_table", "SITE_MEASURES", "LIMIT_COLUMNS", "LIMIT_KEYS",
    "SEGMENT_VALUES", "NERVE_VALUES", "EXTREMES", "LANDMARK_SOURCES", "SOURCES", "NERVE_INPUTS",
    "F_WAVE_VALUES", "F_WAVE_SOURCES",
]

#: Per-site measures carried from ``measure_cmap`` (ms, mV, mV·ms).
SITE_MEASURES: tuple[str, ...] = (
    "onset_latency_ms", "negative_peak_latency_ms", "negative_peak_amplitude_mv",
    "peak_to_peak_amplitude_mv", "negative_peak_duration_ms", "negative_peak_area_mv_ms",
    "cmap_duration_ms", "baseline_mv", "noise_mv", "negative_end_latency_ms",
    "positive_peak_latency_ms", "onset_alt_latency_ms",
)

#: Where a value comes from: found by the detector, or derived from a hand-set marker.
SOURCES: tuple[str, str] = ("detected", "hand-set")
#: Site source columns -> the landmark (or the presence) they report on.
LANDMARK_SOURCES: dict[str, str] = {
    "onset_latency_source": "onset", "negative_peak_latency_source": "negative_peak",
    "negative_end_latency_source": "negative_end", "positive_peak_latency_source": "positive_peak",
    "present_source": "present",
}
#: Per-nerve values read at one site: value -> (site measure, ``"dml"`` the DML site or
#: ``"first"`` the most distal site); their provenance is that site value's.
NERVE_INPUTS: dict[str, tuple[str, str]] = {
    "distal_motor_latency_ms": ("onset_latency_ms", "dml"),
    "distal_amplitude_mv": ("negative_peak_amplitude_mv", "first"),
    "distal_area_mv_ms": ("negative_peak_area_mv_ms", "first"),
    "distal_cmap_duration_ms": ("cmap_duration_ms", "first"),
}

LIMIT_KEYS: tuple[str, ...] = tuple(LIMIT_COLUMNS)

#: Segment values of :func:`~.segments.segment_table` carried per segment (m/s, %).
SEGMENT_VALUES: tuple[str, ...] = (
    "conduction_velocity_m_s", "conduction_velocity_from_distal_m_s", "amplitude_drop_pct",
    "area_drop_pct", "duration_increase_pct", "cmap_duration_increase_pct",
    "amplitude_drop_from_distal_pct", "area_drop_from_distal_pct",
    "duration_increase_from_distal_pct", "cmap_duration_increase_from_distal_pct",
)

#: Per-nerve values (ms, mV, mV·ms, dimensionless, °C, Hz), in output order.
NERVE_VALUES: tuple[str, ...] = (
    "distal_motor_latency_ms", "distal_amplitude_mv", "distal_area_mv_ms",
    "distal_cmap_duration_ms", "terminal_latency_index", "residual_latency_ms",
    "f_wave_latency_ms", "temperature_c", "low_frequency_filter_hz",
)

#: Per-nerve F-wave values measured from a train (ms, %); NaN without one (or when absent).
F_WAVE_VALUES: tuple[str, ...] = (
    "f_wave_mean_latency_ms", "f_wave_persistence_pct", "f_wave_chronodispersion_ms",
)
#: Where a nerve's F latency comes from (``f_wave_latency_source``); ``None``: not studied.
F_WAVE_SOURCES: tuple[str, str] = ("traces", "sheet")

#: Per-nerve extremes over the segments outside compression sites and Erb's point:
#: column -> (segment column, ``"min"`` or ``"max"``).
EXTREMES: dict[str, tuple[str, str]] = {
    "slowest_conduction_velocity_m_s": ("conduction_velocity_m_s", "min"),
    "max_amplitude_drop_pct": ("amplitude_drop_pct", "max"),
    "max_area_drop_pct": ("area_drop_pct", "max"),
    "max_duration_increase_pct": ("duration_increase_pct", "max"),
}

@dataclass(frozen=True, eq=False)
class NerveTable:
    """Every value of many nerves, as columns (NaN = unknown or absent).

    Attributes
    ----------
    nerve : dict of str to ndarray, shape (n_nerves,)
        ``nerve_index``, ``study_id``, ``nerve_label`` (as given), ``canonical`` (or None),
        ``nerve`` (canonical, else as given), ``known_nerve``, ``side``, ``muscle``,
        ``n_sites``, ``first_row`` (row of the distal site in ``site``), ``dml_position``
        (position of the DML site: the most distal site that is not a palm site), ``f_wave_studied``,
        :data:`NERVE_VALUES`, :data:`F_WAVE_VALUES`, ``f_wave_latency_source``, :data:`EXTREMES`, per :data:`LIMIT_COLUMNS` key ``K``:
        ``K_value``, ``K_limit``, ``K_limit_kind``, ``K_pct_of_limit``, ``K_abnormal``
        (-1 unknown, 0, 1), ``K_reason`` (None, or why the comparison is missing), and
        ``flags`` (tuples of sentences), ``hand_set_values`` (tuples: the value names above
        derived from hand-set markers).
    site : dict of str to ndarray, shape (n_rows,)
        ``name``, ``canonical``, ``distance_mm``, ``stimulus_intensity_ma``, ``position``
        (0 = most distal), ``nerve_row``, :data:`SITE_MEASURES`, ``present``, ``flags``,
        ``supramaximal`` (the evidence of supramaximal stimulation: ``"plateau"``, ``"no
        plateau"``, ``"below distal"``, ``"single intensity"``, ``"not recorded"``) and
        ``supramaximal_note`` (what was recorded and what it shows, or None;
        :mod:`._stimulation`),
        ``flag_names``, the :func:`~.segments.segment_table` columns, the
        :data:`LANDMARK_SOURCES` (``"detected"``/``"hand-set"``) and ``hand_set_values``
        (tuples of the measure names derived from hand-set markers).
    segment : dict of str to ndarray, shape (n_segments,)
        ``row`` (the proximal site's row), ``nerve_row``, ``index`` (1 = most distal
        segment), ``segment`` (``"distal–proximal"``), ``distal_site``, ``proximal_site``,
        their canonical names, ``distance_mm``, ``cumulative_distance_mm``,
        :data:`SEGMENT_VALUES`, the two sites' amplitudes, ``distal_absent``,
        ``proximal_absent``, ``across_entrapment_site``, ``entrapment_site``,
        ``from_erbs_point``, ``flags`` (tuples of sentences), ``conduction_velocity_source``
        and ``hand_set_values``.
    studies : tuple of NerveStudy or None, optional
        The studies the nerves were measured from (None per nerve for typed-in values).
    """

    nerve: dict[str, np.ndarray]
    site: dict[str, np.ndarray]
    segment: dict[str, np.ndarray]
    studies: tuple[Any, ...] | None = field(default=None)

    @property
    def n_nerves(self) -> int:
        """Number of nerves."""
        return len(self.nerve["n_sites"])

    def site_rows(self, j: int) -> slice:
        """The ``site`` rows of nerve ``j``."""
        a = int(self.nerve["first_row"][j])
        return slice(a, a + int(self.nerve["n_sites"][j]))

    def segment_rows(self, j: int) -> slice:
        """The ``segment`` rows of nerve ``j`` (segments are stored nerve by nerve)."""
        a = int(self.nerve["first_row"][j]) - j
        return slice(a, a + int(self.nerve["n_sites"][j]) - 1)

    def take(self, nerves: Sequence[int] | np.ndarray) -> NerveTable:
        """The nerves ``nerves`` (positions, in that order) as a table of their own."""
        idx = np.asarray(nerves, dtype=np.int64)
        counts = self.nerve["n_sites"][idx]
        site_idx = _ranges(self.nerve["first_row"][idx], counts)
        seg_idx = _ranges(self.nerve["first_row"][idx] - idx, counts - 1)
        nerve = {k: v[idx] for k, v in self.nerve.items()}
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(idx) else counts
        nerve["first_row"] = first
        site = {k: v[site_idx] for k, v in self.site.items()}
        site["nerve_row"] = np.repeat(np.arange(len(idx), dtype=np.int64), counts)
        segment = {k: v[seg_idx] for k, v in self.segment.items()}
        segment["nerve_row"] = np.repeat(np.arange(len(idx), dtype=np.int64), counts - 1)
        segment["row"] = np.flatnonzero(site["position"] > 0)
        studies = None if self.studies is None else tuple(self.studies[i] for i in idx.tolist())
        return NerveTable(nerve, site, segment, studies)

    @staticmethod
    def concat(tables: Sequence[NerveTable]) -> NerveTable:
        """Tables one after another (nerve order kept)."""
        tables = list(tables)
        if len(tables) == 1:
            return tables[0]
        parts = {}
        for part in ("nerve", "site", "segment"):
            keys = getattr(tables[0], part).keys()
            parts[part] = {k: np.concatenate([getattr(t, part)[k] for t in tables]) for k in keys}
        counts = parts["nerve"]["n_sites"]
        parts["nerve"]["first_row"] = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        parts["site"]["nerve_row"] = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        parts["segment"]["nerve_row"] = np.repeat(np.arange(len(counts), dtype=np.int64), counts - 1)
        parts["segment"]["row"] = np.flatnonzero(parts["site"]["position"] > 0)
        studies = None
        if any(t.studies is not None for t in tables):
            studies = tuple(s for t in tables for s in (t.studies or (None,) * t.n_nerves))
        return NerveTable(parts["nerve"], parts["site"], parts["segment"], studies)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each start and count."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.asarray(starts, dtype=np.int64) - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(int(counts.sum()), dtype=np.int64)


def build_table(nerve_in: dict[str, np.ndarray], site_in: dict[str, np.ndarray],
                limits: NormalLimits, *, studies: Sequence[Any] | None = None) -> NerveTable:
    """Compute every value of the nerves described by the inputs.

    Parameters
    ----------
    nerve_in : dict of str to ndarray, shape (n_nerves,)
        ``nerve_index`` (int), ``study_id``, ``nerve_label``, ``side``, ``muscle`` (object,
        ``None`` allowed except for the label), ``n_sites`` (int, ≥ 1),
        ``f_wave_latency_ms`` (float, ms; NaN when not studied or absent),
        ``f_wave_studied`` (bool), ``temperature_c`` (°C) and ``low_frequency_filter_hz``
        (Hz), NaN when unknown; optionally the :data:`F_WAVE_VALUES` (NaN: no train),
        ``f_wave_latency_source`` (:data:`F_WAVE_SOURCES` or None; default ``"sheet"``
        where studied), ``f_wave_notes`` (a nerve flag sentence or None) and
        ``f_wave_absent_window`` (see :func:`~._f_waves.f_wave_window_check`), as
        :func:`~.sources.f_wave_inputs` gives them.
    site_in : dict of str to ndarray, shape (n_rows,)
        Rows grouped per nerve, distal first: ``name`` (object), ``distance_mm`` (machine
        convention, NaN when unknown), ``stimulus_intensity_ma`` (NaN when unknown), the
        :data:`SITE_MEASURES` (NaN when absent or not given), ``present`` (bool),
        ``flags`` (int, :class:`~nerveconduct.flags.MeasureFlag` bits) and, optionally,
        ``hand_set`` (a dict: for each landmark of :data:`LANDMARK_SOURCES`, bool per row,
        set by a hand-set marker; default none) and ``series`` (a dict: the intensity-series
        columns of :func:`~._stimulation.series_inputs`; default none).
    limits : NormalLimits
        Normal limits of the comparisons and flags.
    studies : sequence, optional
        The :class:`~nerveconduct.model.NerveStudy` of each nerve (or None), kept for the
        per-nerve views.

    Returns
    -------
    NerveTable
    """
    counts = np.asarray(nerve_in["n_sites"], dtype=np.int64)
    n_nerves, n_rows = len(counts), int(counts.sum())
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if n_nerves else counts
    position = np.arange(n_rows, dtype=np.int64) - np.repeat(starts, counts)
    site = {k: np.asarray(site_in[k], dtype=float) for k in SITE_MEASURES}
    names = mapped(site_in["name"], str)  # one str per distinct name (the rows' own when str)
    site.update(name=names, canonical=mapped(names, canonical_site), position=position,
                nerve_row=np.repeat(np.arange(n_nerves, dtype=np.int64), counts),
                distance_mm=np.asarray(site_in["distance_mm"], dtype=float),
                stimulus_intensity_ma=np.asarray(site_in["stimulus_intensity_ma"], dtype=float),
                present=np.asarray(site_in["present"], dtype=bool),
                flags=np.asarray(site_in["flags"], dtype=np.int64))
    site.update(supramaximal_columns(site, position, site_in.get("series")))
    site["flags"] = site["flags"] | np.where(site.pop("submaximal_possible"),
                                             int(MeasureFlag.SUBMAXIMAL_POSSIBLE), 0)
    site["flag_names"] = _flag_names(site["flags"])
    site.update(segment_table(site, position, site["distance_mm"],
                              not_dml_site=site["canonical"] == "palm"))
    dml_all = site.pop("dml_row")
    dml_row = dml_all[starts]

    label = mapped(nerve_in["nerve_label"], str)
    canonical = mapped(label, canonical_nerve)
    f_wave = np.asarray(nerve_in["f_wave_latency_ms"], dtype=float)
    nerve: dict[str, np.ndarray] = {
        "nerve_index": np.asarray(nerve_in.get("nerve_index", np.arange(n_nerves)), dtype=np.int64),
        "study_id": object_array(nerve_in["study_id"]), "nerve_label": label, "canonical": canonical,
        "nerve": np.where(canonical == None, label, canonical),  # noqa: E711 (object array)
        "known_nerve": canonical != None,  # noqa: E711
        "side": object_array(nerve_in["side"]), "muscle": object_array(nerve_in["muscle"]),
        "n_sites": counts, "first_row": starts, "dml_position": dml_row - starts,
        "distal_motor_latency_ms": site["onset_latency_ms"][dml_row],
        "distal_amplitude_mv": site["negative_peak_amplitude_mv"][starts],
        "distal_area_mv_ms": site["negative_peak_area_mv_ms"][starts],
        "distal_cmap_duration_ms": site["cmap_duration_ms"][starts],
        "terminal_latency_index": site["terminal_latency_index"][starts],
        "residual_latency_ms": site["residual_latency_ms"][starts],
        "f_wave_latency_ms": f_wave,
        "f_wave_studied": np.asarray(nerve_in["f_wave_studied"], dtype=bool),
        **{k: np.asarray(nerve_in.get(k, np.full(n_nerves, np.nan)), dtype=float) for k in F_WAVE_VALUES},
        "temperature_c": np.asarray(nerve_in["temperature_c"], dtype=float),
        "low_frequency_filter_hz": np.asarray(nerve_in["low_frequency_filter_hz"], dtype=float),
    }
    source = nerve_in.get("f_wave_latency_source")
    nerve["f_wave_latency_source"] = (np.where(nerve["f_wave_studied"], F_WAVE_SOURCES[1], None)
                                      .astype(object) if source is None else object_array(source))
    seg = segment_columns(site, nerve["canonical"], SEGMENT_VALUES)
    usable = ~seg["across_entrapment_site"] & ~seg["from_erbs_point"]
    for key, (column, how) in EXTREMES.items():
        nerve[key] = per_nerve_extreme(seg[column], seg["nerve_row"], usable, n_nerves, how)
    _provenance(site, seg, nerve, site_in.get("hand_set"), dml_all, usable)
    rows = LimitRows(canonical, nerve["muscle"], limits, age_years=nerve_in.get("age_years"),
                     height_cm=nerve_in.get("height_cm"))
    notes = f_wave_window_check(nerve, rows, nerve_in.get("f_wave_absent_window"),
                                nerve_in.get("f_wave_notes"))  # a window too short: not "absent"
    limit_columns(nerve, rows)
    nerve["flags"] = nerve_flags(nerve, site, rows, None if notes is None else object_array(notes))
    return NerveTable(nerve, site, seg, None if studies is None else tuple(studies))


def _names_where(masks: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row, the tuple of the names whose mask is set (in the dict's order)."""
    out = filled(n, ())
    names = list(masks)
    if names:
        stacked = np.stack([masks[k] for k in names])
        for i in np.flatnonzero(stacked.any(axis=0)).tolist():
            out[i] = tuple(k for k, hs in zip(names, stacked[:, i].tolist()) if hs)
    return out


def _source(mask: np.ndarray) -> np.ndarray:
    out = filled(len(mask), SOURCES[0])  # one shared str per value
    out[mask] = SOURCES[1]
    return out


def _provenance(site: dict[str, np.ndarray], seg: dict[str, np.ndarray], nerve: dict[str, np.ndarray],
                hand_set: dict[str, Any] | None, dml_all: np.ndarray, usable: np.ndarray) -> None:
    """The source columns and ``hand_set_values`` (rule and maps: :mod:`.segments`)."""
    n_rows, n_nerves = len(site["position"]), len(nerve["n_sites"])
    given = {k: np.zeros(n_rows, dtype=bool) for k in LANDMARK_SOURCES.values()}
    for key, value in (hand_set or {}).items():
        given[key] = np.asarray(value, dtype=bool)
    for column, key in LANDMARK_SOURCES.items():
        site[column] = _source(given[key])
    if not any(v.any() for v in given.values()):  # no markers: nothing hand-set
        site["hand_set_values"] = filled(n_rows, ())
        seg["conduction_velocity_source"] = filled(len(seg["row"]), SOURCES[0])
        seg["hand_set_values"] = filled(len(seg["row"]), ())
        nerve["hand_set_values"] = filled(n_nerves, ())
        return
    hs = hand_set_values(given, site["position"], dml_all)
    site["hand_set_values"] = _names_where({k: hs[k] for k in SITE_LANDMARKS}, n_rows)
    prox, seg_nerve = seg["row"], seg["nerve_row"]
    seg_hs = {k: hs[k][prox] for k in SEGMENT_INPUTS}
    seg_hs["distal_amplitude_mv"] = hs["negative_peak_amplitude_mv"][prox - 1]
    seg_hs["proximal_amplitude_mv"] = hs["negative_peak_amplitude_mv"][prox]
    seg["conduction_velocity_source"] = _source(seg_hs["conduction_velocity_m_s"])
    seg["hand_set_values"] = _names_where(seg_hs, len(prox))
    starts = nerve["first_row"]
    at = {"dml": dml_all[starts], "first": starts}
    nerve_hs = {k: hs[m][at[where]] for k, (m, where) in NERVE_INPUTS.items()}
    nerve_hs["terminal_latency_index"] = hs["terminal_latency_index"][starts]
    nerve_hs["residual_latency_ms"] = hs["residual_latency_ms"][starts]
    for key, (column, _) in EXTREMES.items():
        nerve_hs[key] = np.bincount(seg_nerve[usable & seg_hs[column]], minlength=n_nerves) > 0
    nerve["hand_set_values"] = _names_where(nerve_hs, n_nerves)


def _flag_names(flags: np.ndarray) -> np.ndarray:
    """The :class:`~nerveconduct.flags.MeasureFlag` names of each row (tuples), worded once
    per distinct set of bits."""
    if not flags.any():  # the usual slice: no flag anywhere
        return filled(len(flags), ())
    bits, codes = np.unique(flags, return_inverse=True)
    return object_array([tuple(MeasureFlag(b).names()) for b in bits.tolist()])[codes.reshape(-1)]
