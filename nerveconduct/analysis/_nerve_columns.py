"""Per-nerve columns of the analysis core: segment extremes, normal-limit comparisons, flags.

Private to :mod:`nerveconduct.analysis`: :func:`~.table.build_table` calls these on the
columns it has built (the constants are documented in ``docs/errors.md``, plausibility).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..flags import MeasureFlag
from ..limits import NormalLimits, beyond_limit
from ._arrays import distinct, filled, group_rows, is_none, mapped, object_array

__all__ = ["LIMIT_COLUMNS", "LimitRows", "per_nerve_extreme", "limit_columns", "nerve_flags"]

#: Normal-limit comparisons of a nerve: key -> (LimitRow attribute, limit kind, nerve value
#: column, the measure's name in records, what it is in a sentence). The one list of limit keys.
LIMIT_COLUMNS: dict[str, tuple[str, str, str, str, str]] = {
    "distal_amplitude": ("amplitude_lln_mv", "LLN", "distal_amplitude_mv", "distal_amplitude_mv",
                         "distal amplitude"),
    "distal_motor_latency": ("dml_uln_ms", "ULN", "distal_motor_latency_ms", "distal_motor_latency_ms",
                             "distal motor latency"),
    "conduction_velocity": ("cv_lln_m_s", "LLN", "slowest_conduction_velocity_m_s",
                            "conduction_velocity_m_s",
                            "conduction velocity (slowest segment outside compression sites and "
                            "Erb's point)"),
    "f_wave_latency": ("f_wave_uln_ms", "ULN", "f_wave_latency_ms", "f_wave_latency_ms", "F-wave latency"),
}

#: A comparison's reason when the table's rows for the nerve are banded and none fits the
#: patient (the nerve's flag says why, once).
_BAND_REASON = "no normal limit for this patient's age/height (see the nerve's flags)"
#: Limb temperature (°C) below which slowing may be artefactual: legs, arms.
_LOW_TEMPERATURE_C = {"leg": 30.0, "arm": 32.0}
_LEG_NERVES = ("fibular", "tibial")
#: A distal distance further than this (mm) from the one the DML limit assumes is flagged.
_DISTAL_DISTANCE_TOLERANCE_MM = 10.0
#: A CMAP above this (mV) is a unit error, not a finding (``docs/errors.md``, plausibility).
_PLAUSIBLE_CMAP_MAX_MV = 100.0
#: Baseline noise below this (mV, 0.1 µV) is quieter than any amplifier: a unit error.
_NOISE_FLOOR_MV = 1e-4


def per_nerve_extreme(values: np.ndarray, nerve_row: np.ndarray, usable: np.ndarray,
                       n_nerves: int, how: str) -> np.ndarray:
    """min/max of the finite usable ``values`` of each nerve; NaN when it has none."""
    ufunc = np.minimum if how == "min" else np.maximum
    out = np.full(n_nerves, np.inf if how == "min" else -np.inf)
    keep = usable & np.isfinite(values)
    ufunc.at(out, nerve_row[keep], values[keep])
    return np.where(np.isfinite(out), out, np.nan)


class LimitRows:
    """The LimitRow of each nerve (``None`` when none applies), one lookup per distinct
    (nerve, muscle, age, height).

    ``age_years``/``height_cm`` (per nerve; NaN or ``None`` = not given) choose among rows
    banded by them (:meth:`~nerveconduct.limits.NormalLimits.match`); when the table has rows
    for the nerve but none applies, :meth:`problems` says why (once per nerve, as a flag).
    """

    def __init__(self, canonical: np.ndarray, muscle: np.ndarray, limits: NormalLimits, *,
                 age_years: Any = None, height_cm: Any = None) -> None:
        n = len(canonical)
        columns = [distinct(canonical), distinct(muscle), _demographic(age_years, n),
                   _demographic(height_cm, n)]
        if n:
            first, self.inverse = group_rows([codes for _, codes in columns])
        else:
            first, self.inverse = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        index = [tuple(values[codes[i]] for values, codes in columns) for i in first.tolist()]
        found = [(None, None) if c is None else limits.match(c, m, age_years=a, height_cm=h)
                 for c, m, a, h in index]
        self.heights = object_array([key[3] for key in index])
        self.unique = [row for row, _ in found]
        self.unique_problems = [problem for _, problem in found]

    def attr(self, name: str) -> np.ndarray:
        """``name`` of each nerve's row as floats (NaN for no row or ``None``)."""
        values = np.array([np.nan if r is None or getattr(r, name) is None else float(getattr(r, name))
                           for r in self.unique], dtype=float)
        return values[self.inverse] if len(self.inverse) else np.zeros(0)

    def f_wave_uln(self) -> tuple[np.ndarray, np.ndarray]:
        """Per nerve, the F-wave ULN for the patient's height (ms; NaN: none) and which
        limit it is, in words (:meth:`~nerveconduct.limits.LimitRow.f_wave_uln`)."""
        found = [(None, None) if r is None else r.f_wave_uln(h)
                 for r, h in zip(self.unique, self.heights.tolist())]
        limit = np.array([np.nan if v is None else float(v) for v, _ in found], dtype=float)
        basis = object_array([b for _, b in found])
        if not len(self.inverse):
            return np.zeros(0), object_array([])
        return limit[self.inverse], basis[self.inverse]

    def missing(self) -> np.ndarray:
        """Whether each nerve has no limit row."""
        none = np.array([r is None for r in self.unique], dtype=bool)
        return none[self.inverse] if len(self.inverse) else np.zeros(0, dtype=bool)

    def problems(self) -> np.ndarray:
        """Per nerve: why no row applies although the table has rows for the nerve (the
        patient's age/height missing or outside every band), else ``None``."""
        return object_array(self.unique_problems)[self.inverse]


def _demographic(values: Any, n: int) -> tuple[list[float | None], np.ndarray]:
    """The distinct values (``None`` when not given: NaN, None or no column) and each
    nerve's code."""
    if values is None:
        return [None], np.zeros(n, dtype=np.int64)
    floats = np.asarray(values)
    if floats.dtype == object:  # None for not given
        floats = np.array([np.nan if v is None else v for v in floats.tolist()], dtype=float)
    floats = np.asarray(floats, dtype=float)
    if np.isnan(floats).all():  # not given for any nerve (the usual slice): no sort
        return [None], np.zeros(n, dtype=np.int64)
    uniq, codes = np.unique(floats, return_inverse=True)  # NaNs: one value
    return [None if v != v else float(v) for v in uniq.tolist()], codes.reshape(-1)


def limit_columns(nerve: dict[str, np.ndarray], rows: LimitRows) -> None:
    """Per :data:`LIMIT_COLUMNS` key: the value, limit, kind, % of limit, abnormal and the
    reason a comparison is missing (the value, the limit, or the nerve's whole row)."""
    no_row = ~nerve["known_nerve"] | rows.missing()
    problems = rows.problems()
    n = len(no_row)
    overflow = np.zeros(n, dtype=bool)
    missing = None  # the nerves without a row and why, worded once per distinct label
    if no_row.any():
        at = np.flatnonzero(no_row)
        band = mapped(problems[at], bool).astype(bool)
        why = mapped(nerve["nerve_label"][at], lambda label: f"no normal limits for nerve {label!r}")
        why[band] = _BAND_REASON
        missing = (at, why)
    for key, (attr, kind, value_key, _, what) in LIMIT_COLUMNS.items():
        basis = None
        if key == "f_wave_latency":  # height-adjusted where the row has the formula
            limit, basis = rows.f_wave_uln()
            limit = np.where(no_row, np.nan, limit)
        else:
            limit = np.where(no_row, np.nan, rows.attr(attr))
        value = np.where(np.isfinite(nerve[value_key]), nerve[value_key], np.nan)
        known = ~np.isnan(value) & ~np.isnan(limit)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pct = np.where(known, 100.0 * value / limit, np.nan)
        over = np.isinf(pct)
        overflow |= over
        pct = np.where(over, np.nan, pct)
        beyond = beyond_limit(value, limit, kind)  # the one comparison (a value at its limit: normal)
        reason = filled(n, None) if basis is None else basis.copy()  # which F limit was used
        reason[np.isnan(limit)] = f"no {kind} for {what} in the normal limits used"
        reason[np.isnan(value)] = f"{what} not available"
        reason[over] = f"{what}: its % of the limit overflowed (the value is implausibly large)"
        if missing is not None:
            reason[missing[0]] = missing[1]
        nerve[f"{key}_value"] = value
        nerve[f"{key}_limit"] = limit
        nerve[f"{key}_limit_kind"] = filled(n, kind)
        nerve[f"{key}_pct_of_limit"] = pct
        nerve[f"{key}_abnormal"] = np.where(known, beyond.astype(np.int8), np.int8(-1))
        nerve[f"{key}_reason"] = reason
    nerve["value_overflow"] = overflow


def nerve_flags(nerve: dict[str, np.ndarray], site: dict[str, np.ndarray],
                rows: LimitRows, notes: np.ndarray | None = None) -> np.ndarray:
    """The nerve-level problems of each nerve, as tuples of sentences (empty when none).

    Each condition is a column; sentences are worded only for the nerves it holds for.
    ``notes``: per nerve, a sentence worded by the caller (F-wave sources) or None.
    """
    starts, counts = nerve["first_row"], nerve["n_sites"]
    n = len(starts)
    if n == 0:
        return object_array([])
    site_unknown = is_none(site["canonical"])
    dist_unknown = np.isnan(site["distance_mm"])
    n_unknown_sites = np.add.reduceat(site_unknown.astype(np.int64), starts)
    n_unknown_dist = np.add.reduceat(dist_unknown.astype(np.int64), starts)
    distal_mm = site["cumulative_distance_mm"][starts + nerve["dml_position"]]  # DML site → electrode
    assumed_mm = rows.attr("distal_distance_mm")
    temp = nerve["temperature_c"]
    cold = mapped(nerve["canonical"], lambda c: _LOW_TEMPERATURE_C["leg" if c in _LEG_NERVES
                                                                   else "arm"]).astype(float)
    band_problem = rows.problems()
    conditions: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (~is_none(band_problem), lambda j: band_problem[j]),
        (~nerve["known_nerve"],
         lambda j: f"unknown nerve name {nerve['nerve_label'][j]!r}: no normal limits, entrapment "
                   "or criteria rules by nerve"),
        (n_unknown_sites > 0,
         lambda j: f"unknown site name(s) {site['name'][_rows(j)][site_unknown[_rows(j)]].tolist()}: "
                   "entrapment/Erb's point rules not applied to them"),
        (n_unknown_dist > 0,
         lambda j: "distance(s) unknown: CV, TLI and residual latency not computed where they are needed"),
        (~site["present"][starts], lambda j: "absent distal response"),
        ((site["flags"][starts] & int(MeasureFlag.SUBMAXIMAL_POSSIBLE)) != 0,
         lambda j: f"distal site {site['name'][starts[j]]}: submaximal stimulation possible "
                   f"({site['supramaximal_note'][starts[j]]}): the distal amplitude may be too "
                   "low (its comparison with the LLN is doubtful) and every drop from it "
                   "underestimated"),
        (np.abs(distal_mm - assumed_mm) > _DISTAL_DISTANCE_TOLERANCE_MM,
         lambda j: f"distal distance {distal_mm[j]:g} mm differs from the {assumed_mm[j]:g} mm "
                   "the DML limit assumes"),
        (temp < cold, lambda j: f"limb temperature {temp[j]:g} °C is low: slowing may be artefactual"),
        ((counts > 1) & np.isnan(nerve["terminal_latency_index"]),
         lambda j: "TLI not computed (needs the distal distance, DML and the first segment's CV)"),
        (np.add.reduceat(site["nerve_not_finite"].astype(np.int64), starts) > 0,
         lambda j: "a nerve value overflowed (not written): a latency or distance is implausibly "
                   "small or large"),
        (nerve["value_overflow"],
         lambda j: "a comparison with a normal limit overflowed (not written): a value is implausibly large"),
        (np.add.reduceat((site["negative_peak_amplitude_mv"] > _PLAUSIBLE_CMAP_MAX_MV).astype(np.int64), starts) > 0,
         lambda j: f"a CMAP amplitude above {_PLAUSIBLE_CMAP_MAX_MV:g} mV is implausible: check the unit "
                   "of the export (values flagged, not corrected)"),
        (np.add.reduceat((site["noise_mv"] < _NOISE_FLOOR_MV).astype(np.int64), starts) == counts,
         lambda j: f"every trace is quieter than any amplifier's noise (< {1000 * _NOISE_FLOOR_MV:g} µV): "
                   "check the unit of the export; an absent response here may be a unit error"),
    ]
    if notes is not None:
        conditions.append((~is_none(notes), lambda j: notes[j]))

    def _rows(j: int) -> slice:
        return slice(int(starts[j]), int(starts[j] + counts[j]))

    flags = filled(n, ())
    held = np.stack([c for c, _ in conditions])
    for j in np.flatnonzero(held.any(axis=0)).tolist():
        flags[j] = tuple(word(j) for (_, word), on in zip(conditions, held[:, j].tolist()) if on)
    return flags

