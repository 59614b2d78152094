"""Array primitives, frame keys, segment-rule checks and nerve items of the columnar evaluator.

Private helpers of :mod:`nerveconduct.criteria.columns`:

* three-valued states as ``int8`` codes — :data:`F` (not met) = 0, :data:`N` (not
  assessable) = 1, :data:`T` (met) = 2 — so that the engine's "False wins, then None, then
  True" conjunction is ``np.minimum`` and its "True wins, then None, then False" merge is
  ``np.maximum``;
* the threshold comparisons ``ge`` / ``le``: the engine's own
  :func:`~nerveconduct.criteria.engine.at_least` / :func:`~nerveconduct.criteria.engine.at_most`
  (elementwise, 1e-9 relative tolerance), which its ``meets_min`` / ``meets_max`` wrap;
* :func:`math.isclose` on arrays (the distal-CMAP-duration item's filter check);
* mapping integer codes to shared Python objects without a loop per element;
* the frame keys and dtypes, and their validation;
* the nerve items (limit items with a low-amplitude cut-off, absent F-waves, distal CMAP
  duration): the one place they are decided, one state and one branch array per item, which
  :mod:`nerveconduct.criteria.columns` returns and :mod:`nerveconduct.criteria.patient` words.

The segment rules are decided in :mod:`nerveconduct.criteria._columns_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..analysis import LIMIT_KEYS, NerveResult
from ._common import at_least as ge
from ._common import at_most as le
from .tables import NerveItem

__all__ = ["F", "N", "T", "ge", "le", "compare", "isclose", "state", "tri", "objects_for_codes", "EqCache",
           "SEGMENT_KEYS", "NERVE_KEYS", "checked_frame", "nerve_results", "num",
           "nerve_item_state", "nerve_item_detail", "LIMIT_KEYS"]

F, N, T = np.int8(0), np.int8(1), np.int8(2)


def compare(values: np.ndarray, threshold: float, op: str) -> np.ndarray:
    """``values op threshold`` for a nerve item's ``compare`` (``">="``, ``">"``, ``"<="``, ``"<"``)."""
    if op in (">=", ">"):
        return ge(values, threshold, op == ">=")
    return le(values, threshold, op == "<=")


def isclose(a: np.ndarray, b: float) -> np.ndarray:
    """:func:`math.isclose` (``rel_tol=1e-9``, ``abs_tol=0``) element by element."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - b)
        close = (diff <= abs(1e-9 * b)) | (diff <= np.abs(1e-9 * a))
    return (a == b) | (np.isfinite(a) & np.isfinite(b) & close)


def state(ok: np.ndarray) -> np.ndarray:
    """Met / not met boolean array -> ``T`` / ``F`` codes."""
    out = np.asarray(ok).astype(np.int8)
    out += out  # True -> 2 (T), False -> 0 (F); cheaper than np.where on the object path's small arrays
    return out


def tri(ok: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``state(ok)`` where ``known``, ``N`` elsewhere."""
    out = state(ok)
    np.copyto(out, N, where=~known)
    return out


def objects_for_codes(codes: np.ndarray, make: Callable[[int], object]) -> np.ndarray:
    """Object array ``[make(c) for c in codes]``, calling ``make`` once per distinct code.

    ``codes`` are non-negative integers; the objects of equal codes are the same object.
    """
    codes = np.asarray(codes, dtype=np.int64)
    out_dtype = object
    if codes.size == 0:
        return np.empty(0, dtype=out_dtype)
    top = int(codes.max())
    if top < 1 << 16:
        present = np.flatnonzero(np.bincount(codes, minlength=top + 1))
        table = np.empty(top + 1, dtype=out_dtype)
        for c in present.tolist():
            table[c] = make(c)
        return table[codes]
    uniq, inverse = np.unique(codes, return_inverse=True)
    table = np.empty(uniq.size, dtype=out_dtype)
    for i, c in enumerate(uniq.tolist()):
        table[i] = make(c)
    return table[inverse]


class EqCache:
    """Element-wise ``column == value`` masks over object columns, each computed once."""

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self._columns = columns
        self._masks: dict[tuple[str, object], np.ndarray] = {}

    def eq(self, column: str, value: object) -> np.ndarray:
        """Boolean mask ``columns[column] == value`` (``None`` entries never equal a string)."""
        key = (column, value)
        if key not in self._masks:
            self._masks[key] = np.asarray(self._columns[column] == value, dtype=bool)
        return self._masks[key]

    def isin(self, column: str, values) -> np.ndarray:
        """Boolean mask: the column's entry is one of ``values``."""
        out = np.zeros(len(self._columns[column]), dtype=bool)
        for v in values:
            out |= self.eq(column, v)
        return out


# --- frames -------------------------------------------------------------------------------
_INT, _FLOAT, _BOOL, _OBJ = np.int64, np.float64, np.bool_, object

#: Segment-frame keys and their dtypes (documented in :func:`segment_frame`).
SEGMENT_KEYS: dict[str, type] = {
    "nerve_id": _INT, "index": _INT, "nerve": _OBJ, "known_nerve": _BOOL, "amplitude_lln_mv": _FLOAT,
    "distal_canonical": _OBJ, "proximal_canonical": _OBJ,
    **dict.fromkeys(("amplitude_drop_pct", "area_drop_pct", "duration_increase_pct",
                     "cmap_duration_increase_pct", "distal_amplitude_mv", "distal_peak_to_peak_mv",
                     "proximal_peak_to_peak_mv"), _FLOAT),
    "distal_absent": _BOOL, "proximal_absent": _BOOL, "entrapment_site": _OBJ, "from_erbs_point": _BOOL,
    **dict.fromkeys(("amplitude_drop_from_distal_pct", "area_drop_from_distal_pct",
                     "duration_increase_from_distal_pct", "cmap_duration_increase_from_distal_pct",
                     "first_peak_to_peak_mv", "first_amplitude_mv"), _FLOAT),
    "first_absent": _BOOL, "first_canonical": _OBJ,
    **dict.fromkeys(("amplitude_drop_from_reference_pct", "area_drop_from_reference_pct",
                     "duration_increase_from_reference_pct", "cmap_duration_increase_from_reference_pct",
                     "reference_peak_to_peak_mv", "reference_amplitude_mv"), _FLOAT),
    "reference_absent": _BOOL, "reference_canonical": _OBJ, "reference_site": _OBJ,
}
#: Nerve-frame keys and their dtypes (documented in :func:`nerve_frame`).
NERVE_KEYS: dict[str, type] = {
    "nerve": _OBJ, "known_nerve": _BOOL,
    **{f"{k}_{part}": _FLOAT for k in LIMIT_KEYS for part in ("value", "limit")},
    "f_wave_studied": _BOOL, "f_wave_latency_ms": _FLOAT, "distal_cmap_duration_ms": _FLOAT,
    "low_frequency_filter_hz": _FLOAT,
}


def num(x: float | None) -> float:
    """``None`` -> NaN, else ``float(x)``."""
    return np.nan if x is None else float(x)


def nerve_results(results: Sequence[NerveResult]) -> list[NerveResult]:
    """``results`` as a list, each checked to be a NerveResult (TypeError naming the position)."""
    results = list(results)
    for i, nr in enumerate(results):
        if not isinstance(nr, NerveResult):
            raise TypeError(f"results[{i}] must be a NerveResult, got {type(nr).__name__}")
    return results


def checked_frame(frame: Mapping[str, np.ndarray], keys: Mapping[str, type] | Sequence[str],
                  name: str) -> dict[str, np.ndarray]:
    """``frame``'s ``keys`` as 1-D arrays of one length and of the keys' dtypes (no copy when they are)."""
    missing = [k for k in keys if k not in frame]
    if missing:
        raise ValueError(f"{name} lacks keys {missing}; required: {list(keys)}")
    dtypes = keys if isinstance(keys, Mapping) else dict.fromkeys(keys, _INT)
    out = {k: np.asarray(frame[k], dtype=dtypes[k]) for k in keys}
    shapes = {k: a.shape for k, a in out.items()}
    if len(set(shapes.values())) > 1 or any(len(s) != 1 for s in shapes.values()):
        raise ValueError(f"{name} arrays must be 1-D of one length, got shapes {shapes}")
    return out


# --- nerve items -----------------------------------------------------------------------
#: Nerve-item branch codes (``nerve_item_detail``): which test decided the item on a nerve.
#: GRADED: the measure's own test (with the normal cut-off); LOW_CUTOFF / BOTH_CUTOFFS: a
#: limit item graded with the low-amplitude cut-off, or with both (distal amplitude unknown);
#: F_NOT_STUDIED, F_ABSENT (a limit item on the F latency), F_PRESENT, F_ABSENT_AMP_UNKNOWN;
#: MISSING: the value (or its limit) not available; NO_CUTOFF, WRONG_FILTER, FILTER_NOT_RECORDED
#: (graded, the cut-off assumes the table's filter): distal CMAP duration; UNKNOWN_NERVE,
#: OTHER_NERVE: the item's nerve condition. Cut-offs per filter (``thresholds_ms_by_filter``):
#: GRADED with the recorded filter's row; WRONG_FILTER: no row for the recorded filter;
#: FILTER_ALL_ROWS: filter not recorded, every row gives the same answer; FILTER_ROWS_DISAGREE:
#: filter not recorded and the answer depends on it (not assessable).
(GRADED, LOW_CUTOFF, BOTH_CUTOFFS, F_NOT_STUDIED, F_ABSENT, F_PRESENT, F_ABSENT_AMP_UNKNOWN, MISSING,
 NO_CUTOFF, WRONG_FILTER, FILTER_NOT_RECORDED, UNKNOWN_NERVE, OTHER_NERVE, FILTER_ALL_ROWS,
 FILTER_ROWS_DISAGREE) = range(15)


def _distal_pct_lln(nf: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(% of LLN, known): known needs the limit and a finite value."""
    value, limit = nf["distal_amplitude_value"], nf["distal_amplitude_limit"]
    known = ~np.isnan(limit) & np.isfinite(value)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * value / limit
    return pct, known


def _limit_item(item: NerveItem, nf: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    value, limit = nf[f"{item.measure}_value"], nf[f"{item.measure}_limit"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * value / limit
    out = state(compare(pct, item.pct_of_limit, item.compare))
    branch = np.full(value.shape, GRADED, dtype=np.int8)
    if item.low_amplitude_below_pct_lln is not None and item.low_amplitude_pct_of_limit is not None:
        amp_pct, amp_known = _distal_pct_lln(nf)
        low = state(compare(pct, item.low_amplitude_pct_of_limit, item.compare))
        both = np.where(out == low, out, N)  # amplitude % unknown: both cut-offs tried
        with np.errstate(invalid="ignore"):  # "< 80 % LLN" with the tolerance of every threshold
            use_low = amp_known & le(amp_pct, item.low_amplitude_below_pct_lln, False)
        out = np.where(~amp_known, both, np.where(use_low, low, out))
        branch = np.where(~amp_known, BOTH_CUTOFFS, np.where(use_low, LOW_CUTOFF, GRADED))
    missing = np.isnan(value) | np.isnan(limit)
    out = np.where(missing, N, out)
    branch = np.where(missing, MISSING, branch)
    if item.measure == "f_wave_latency":
        studied, f = nf["f_wave_studied"], nf["f_wave_latency_ms"]
        out = np.where(~studied, N, np.where(np.isnan(f), F, out))
        branch = np.where(~studied, F_NOT_STUDIED, np.where(np.isnan(f), F_ABSENT, branch))
    return out, branch


def _f_absent(item: NerveItem, nf: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    studied, f = nf["f_wave_studied"], nf["f_wave_latency_ms"]
    if item.distal_amplitude_min_pct_lln is None:  # absence counts whatever the distal amplitude
        return (np.where(~studied, N, np.where(np.isnan(f), T, F)).astype(np.int8),
                np.where(~studied, F_NOT_STUDIED, np.where(np.isnan(f), GRADED, F_PRESENT)))
    amp_pct, amp_known = _distal_pct_lln(nf)
    ok = state(ge(amp_pct, item.distal_amplitude_min_pct_lln, item.distal_amplitude_min_pct_lln_inclusive))
    out = np.where(amp_known, ok, N)
    absent = np.where(amp_known, GRADED, F_ABSENT_AMP_UNKNOWN)
    return (np.where(~studied, N, np.where(np.isnan(f), out, F)),
            np.where(~studied, F_NOT_STUDIED, np.where(np.isnan(f), absent, F_PRESENT)))


def _duration_by_filter(item: NerveItem, nf: Mapping[str, np.ndarray],
                        eqc: EqCache) -> tuple[np.ndarray, np.ndarray]:
    """Distal CMAP duration with one row of cut-offs per low-frequency filter."""
    value, lff = nf["distal_cmap_duration_ms"], nf["low_frequency_filter_hz"]
    out = np.full(value.shape, F)
    branch = np.full(value.shape, NO_CUTOFF, dtype=np.int8)
    finite, recorded = np.isfinite(value), ~np.isnan(lff)
    for nerve in item.cutoff_nerves():
        sel = eqc.eq("nerve", nerve)
        matched = np.zeros(value.shape, dtype=bool)
        graded = np.full(value.shape, N)
        lo, hi = np.full(value.shape, T), np.full(value.shape, F)  # min / max over the rows
        for hz, row in item.thresholds_ms_by_filter:
            cutoffs = dict(row)
            if nerve not in cutoffs:
                continue
            st = state(compare(value, cutoffs[nerve], item.compare))
            at = recorded & isclose(lff, hz)
            graded = np.where(at, st, graded)
            matched |= at
            lo, hi = np.minimum(lo, st), np.maximum(hi, st)
        agree = lo == hi
        st_nerve = np.where(recorded, np.where(matched, graded, N), np.where(agree, lo, N))
        br_nerve = np.where(recorded, np.where(matched, GRADED, WRONG_FILTER),
                            np.where(agree, FILTER_ALL_ROWS, FILTER_ROWS_DISAGREE))
        st_nerve = np.where(finite, st_nerve, N)
        br_nerve = np.where(finite | (recorded & ~matched), br_nerve, MISSING)
        out = np.where(sel, st_nerve, out)
        branch = np.where(sel, br_nerve, branch)
    return out, branch


def _duration_item(item: NerveItem, nf: Mapping[str, np.ndarray], eqc: EqCache) -> tuple[np.ndarray, np.ndarray]:
    if item.thresholds_ms_by_filter:
        return _duration_by_filter(item, nf, eqc)
    value = nf["distal_cmap_duration_ms"]
    cutoffs = dict(item.thresholds_ms)
    out = np.full(value.shape, F)  # a nerve without a cut-off: not applicable
    branch = np.full(value.shape, NO_CUTOFF, dtype=np.int8)
    finite = np.isfinite(value)
    graded = GRADED
    if item.filter_hz is not None:
        graded = np.where(np.isnan(nf["low_frequency_filter_hz"]), FILTER_NOT_RECORDED, GRADED)
    for nerve, cutoff in cutoffs.items():
        sel = eqc.eq("nerve", nerve)
        out[sel] = np.where(finite[sel], state(compare(value[sel], cutoff, item.compare)), N)
        branch[sel] = np.where(finite, graded, MISSING)[sel]
    if item.filter_hz is not None:  # recorded with another filter: the cut-offs do not hold
        lff = nf["low_frequency_filter_hz"]
        wrong_filter = ~np.isnan(lff) & ~isclose(lff, item.filter_hz) & eqc.isin("nerve", cutoffs)
        out = np.where(wrong_filter, N, out)
        branch = np.where(wrong_filter, WRONG_FILTER, branch)
    return out, branch


def nerve_item_detail(item: NerveItem, nf: Mapping[str, np.ndarray], eqc: EqCache) -> tuple[np.ndarray, np.ndarray]:
    """State codes (``F``/``N``/``T``) and branch codes of one nerve item on every nerve.

    An unknown nerve name with a nerve condition -> ``N`` (``UNKNOWN_NERVE``); a nerve outside
    ``nerves`` or in ``exclude_nerves`` -> ``F`` (``OTHER_NERVE``); else the measure's own test
    (see the branch codes above).
    """
    if item.measure == "f_wave_absent":
        out, branch = _f_absent(item, nf)
    elif item.measure == "distal_cmap_duration":
        out, branch = _duration_item(item, nf, eqc)
    else:
        out, branch = _limit_item(item, nf)
    if item.nerves or item.exclude_nerves:
        outside = eqc.isin("nerve", item.exclude_nerves)
        if item.nerves:
            outside |= ~eqc.isin("nerve", item.nerves)
        unknown = ~nf["known_nerve"]
        out = np.where(unknown, N, np.where(outside, F, out))
        branch = np.where(unknown, UNKNOWN_NERVE, np.where(outside, OTHER_NERVE, branch))
    return out.astype(np.int8, copy=False), np.asarray(branch, dtype=np.int8)


def nerve_item_state(item: NerveItem, nf: Mapping[str, np.ndarray], eqc: EqCache) -> np.ndarray:
    """State codes (``F``/``N``/``T``) of one nerve item on every nerve: see :func:`nerve_item_detail`."""
    return nerve_item_detail(item, nf, eqc)[0]
