"""Frames of the column-wise evaluator built from NerveResult objects (tests, small inputs).

:func:`segment_frame` and :func:`nerve_frame` turn :class:`~nerveconduct.model.NerveResult`
objects into the arrays :mod:`nerveconduct.criteria.columns` evaluates; the batch builds the
same keys from its arrays directly (:mod:`nerveconduct.serialize.columns`). Re-exported by
:mod:`nerveconduct.criteria.columns`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model import NerveResult
from . import _columns_items as ci
from ._columns_items import NERVE_KEYS, SEGMENT_KEYS, build_frame, nerve_results, num

__all__ = ["segment_frame", "nerve_frame"]


def segment_frame(results: Sequence[NerveResult]) -> dict[str, np.ndarray]:
    """The segment frame of nerve results: one entry per segment, nerve order then segment order.

    Parameters
    ----------
    results : sequence of NerveResult

    Returns
    -------
    dict of str to ndarray
        Keys (:data:`SEGMENT_KEYS`); NaN = unknown; object columns hold ``str`` or ``None``:

        - ``nerve_id`` (int64): position of the nerve in ``results``; ``index`` (int64):
          :attr:`SegmentResult.index` (1-based); ``nerve`` (object): ``NerveResult.nerve``;
          ``known_nerve`` (bool);
        - ``amplitude_lln_mv`` (float, mV): the nerve's distal-amplitude LLN, NaN when the
          limit is missing or 0 (the engine treats a falsy limit as unknown);
        - adjacent comparison: ``distal_canonical``, ``proximal_canonical`` (object);
          ``amplitude_drop_pct``, ``area_drop_pct``, ``duration_increase_pct``,
          ``cmap_duration_increase_pct`` (%); ``distal_amplitude_mv`` (mV, negative peak);
          ``distal_peak_to_peak_mv``, ``proximal_peak_to_peak_mv`` (mV, the two sites'
          peak-to-peak amplitudes); ``distal_absent``, ``proximal_absent`` (bool);
          ``entrapment_site`` (object: the compression site crossed, or None);
          ``from_erbs_point`` (bool);
        - against the nerve's most distal site: ``amplitude_drop_from_distal_pct``,
          ``area_drop_from_distal_pct``, ``duration_increase_from_distal_pct``,
          ``cmap_duration_increase_from_distal_pct`` (%); ``first_peak_to_peak_mv``,
          ``first_amplitude_mv`` (mV), ``first_absent`` (bool), ``first_canonical`` (object)
          of the most distal site.

    Raises
    ------
    TypeError
        An element is not a NerveResult.

    Examples
    --------
    >>> from nerveconduct.model import Site
    >>> from nerveconduct.analysis.segments import analyze_values
    >>> r = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100)],
    ...                    [3.0, 7.0, 9.0], [8.0, 7.5, 3.0])
    >>> f = segment_frame([r])
    >>> f["index"].tolist(), f["entrapment_site"].tolist()
    ([1, 2], [None, 'ulnar across the elbow'])
    """
    cols: dict[str, list] = {k: [] for k in SEGMENT_KEYS}
    measures = ("amplitude_drop_pct", "area_drop_pct", "duration_increase_pct", "cmap_duration_increase_pct",
                "distal_amplitude_mv", "amplitude_drop_from_distal_pct", "area_drop_from_distal_pct",
                "duration_increase_from_distal_pct", "cmap_duration_increase_from_distal_pct")
    for i, nr in enumerate(nerve_results(results)):
        if not nr.segments:
            continue
        comp = nr.limits.get("distal_amplitude")
        per_nerve = {"nerve_id": i, "nerve": nr.nerve, "known_nerve": nr.known_nerve,
                     "amplitude_lln_mv": comp.limit if comp is not None and comp.limit else np.nan,
                     "first_amplitude_mv": num(nr.segments[0].distal_amplitude_mv),
                     "first_absent": nr.segments[0].distal_absent,
                     "first_canonical": nr.segments[0].distal_canonical}
        pp = [num(s.peak_to_peak_amplitude_mv) for s in nr.sites] + [np.nan]  # engine: IndexError -> NaN
        for s in nr.segments:
            row = dict(per_nerve, index=s.index, distal_canonical=s.distal_canonical,
                       proximal_canonical=s.proximal_canonical, distal_absent=s.distal_absent,
                       proximal_absent=s.proximal_absent, entrapment_site=s.entrapment_site,
                       from_erbs_point=s.from_erbs_point, first_peak_to_peak_mv=pp[0],
                       distal_peak_to_peak_mv=pp[min(s.index - 1, len(pp) - 1)],
                       proximal_peak_to_peak_mv=pp[min(s.index, len(pp) - 1)],
                       **{k: num(getattr(s, k)) for k in measures})
            for k, v in row.items():
                cols[k].append(v)
    return build_frame(cols, SEGMENT_KEYS)


def nerve_frame(results: Sequence[NerveResult]) -> dict[str, np.ndarray]:
    """The nerve frame of nerve results: one entry per nerve, what the nerve items read.

    Parameters
    ----------
    results : sequence of NerveResult

    Returns
    -------
    dict of str to ndarray
        Keys (:data:`NERVE_KEYS`); NaN = unknown (``None`` in the result):

        - ``nerve`` (object): ``NerveResult.nerve``; ``known_nerve`` (bool);
        - for each ``K`` of ``distal_amplitude`` (mV), ``distal_motor_latency`` (ms),
          ``conduction_velocity`` (m/s), ``f_wave_latency`` (ms): ``K_value`` and
          ``K_limit`` (float, the unit of the measure), the ``LimitComparison`` value and
          normal limit of ``NerveResult.limits[K]`` (NaN when missing; the limit kind only
          words the reasons);
        - ``f_wave_studied`` (bool): ``f_wave_latency_ms`` is not None;
          ``f_wave_latency_ms`` (float, ms): the minimal F latency, NaN when sought and absent
          (or not studied);
        - ``distal_cmap_duration_ms`` (float, ms);
        - ``low_frequency_filter_hz`` (float, Hz): NaN when not recorded; a recorded NaN is
          stored as -inf (like the object path, it then matches no cut-off's filter).

    Raises
    ------
    TypeError
        An element is not a NerveResult.
    """
    cols: dict[str, list] = {k: [] for k in NERVE_KEYS}
    for nr in nerve_results(results):
        cols["nerve"].append(nr.nerve)
        cols["known_nerve"].append(nr.known_nerve)
        for k in ci.LIMIT_KEYS:
            comp = nr.limits.get(k)
            cols[f"{k}_value"].append(np.nan if comp is None else num(comp.value))
            cols[f"{k}_limit"].append(np.nan if comp is None else num(comp.limit))
        cols["f_wave_studied"].append(nr.f_wave_latency_ms is not None)
        cols["f_wave_latency_ms"].append(num(nr.f_wave_latency_ms))
        cols["distal_cmap_duration_ms"].append(num(nr.distal_cmap_duration_ms))
        lff = nr.low_frequency_filter_hz
        cols["low_frequency_filter_hz"].append(np.nan if lff is None else -np.inf if np.isnan(lff) else float(lff))
    return build_frame(cols, NERVE_KEYS)
