"""The frames of the column-wise evaluator, built from the analysis table only.

:func:`segment_frame` and :func:`nerve_frame` read a :class:`~nerveconduct.analysis.NerveTable`
(or the table behind :class:`~nerveconduct.analysis.NerveResult` views, :func:`table_of`) and
give the arrays :mod:`nerveconduct.criteria.columns` evaluates. Re-exported by
:mod:`nerveconduct.criteria.columns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis import LIMIT_COLUMNS, NerveResult, NerveTable, analyze_table
from ._columns_items import NERVE_KEYS, SEGMENT_KEYS, checked_frame, nerve_results

__all__ = ["segment_frame", "nerve_frame", "table_of"]

#: Segment-frame keys read as they are from the table's segment columns.
_SEGMENT_COPIED = (
    "index", "distal_canonical", "proximal_canonical", "amplitude_drop_pct", "area_drop_pct",
    "duration_increase_pct", "cmap_duration_increase_pct", "distal_amplitude_mv",
    "distal_peak_to_peak_mv", "proximal_peak_to_peak_mv", "distal_absent", "proximal_absent",
    "entrapment_site", "from_erbs_point", "amplitude_drop_from_distal_pct", "area_drop_from_distal_pct",
    "duration_increase_from_distal_pct", "cmap_duration_increase_from_distal_pct",
)


def table_of(results: NerveTable | Sequence[NerveResult]) -> NerveTable:
    """The analysis table of ``results``: the table itself, or the rows behind the views.

    Raises
    ------
    TypeError
        An element is not a NerveResult, or a NerveResult made by hand (not by the analysis).
    """
    if isinstance(results, NerveTable):
        return results
    results = nerve_results(results)
    for i, nr in enumerate(results):
        if nr.table is None:
            raise TypeError(f"results[{i}] is a NerveResult without its analysis table: make it with "
                            "analyze_nerve, analyze_nerves or analyze_values")
    if results and all(nr.table is results[0].table for nr in results):
        table = results[0].table
        if [nr.index for nr in results] == list(range(table.n_nerves)):
            return table
        return table.take([nr.index for nr in results])
    parts: list[NerveTable] = []
    k = 0
    while k < len(results):  # runs of views of one table, taken together
        m = k
        while m < len(results) and results[m].table is results[k].table:
            m += 1
        parts.append(results[k].table.take([nr.index for nr in results[k:m]]))
        k = m
    return NerveTable.concat(parts) if parts else analyze_table([])


def segment_frame(results: NerveTable | Sequence[NerveResult]) -> dict[str, np.ndarray]:
    """The segment frame: one entry per segment, nerve order then segment order.

    Parameters
    ----------
    results : NerveTable or sequence of NerveResult

    Returns
    -------
    dict of str to ndarray
        Keys (:data:`SEGMENT_KEYS`); NaN = unknown; object columns hold ``str`` or ``None``:

        - ``nerve_id`` (int64): position of the nerve; ``index`` (int64): the segment's
          index along its nerve (1-based); ``nerve`` (object); ``known_nerve`` (bool);
        - ``amplitude_lln_mv`` (float, mV): the nerve's distal-amplitude LLN, NaN when missing;
        - adjacent comparison: ``distal_canonical``, ``proximal_canonical`` (object);
          ``amplitude_drop_pct``, ``area_drop_pct``, ``duration_increase_pct``,
          ``cmap_duration_increase_pct`` (%); ``distal_amplitude_mv`` (mV, negative peak);
          ``distal_peak_to_peak_mv``, ``proximal_peak_to_peak_mv`` (mV); ``distal_absent``,
          ``proximal_absent`` (bool); ``entrapment_site`` (object: the compression site
          crossed, or None); ``from_erbs_point`` (bool);
        - against the nerve's most distal site: ``amplitude_drop_from_distal_pct``,
          ``area_drop_from_distal_pct``, ``duration_increase_from_distal_pct``,
          ``cmap_duration_increase_from_distal_pct`` (%); ``first_peak_to_peak_mv``,
          ``first_amplitude_mv`` (mV), ``first_absent`` (bool), ``first_canonical`` (object)
          of the most distal site;
        - against the *reference site* (``comparison = "from_distal"`` with
          ``beyond_compression = "nearest-site"``): the most distal site, or, beyond a
          compression site, the nearest site proximal to it (the proximal site of the last
          segment across a compression site distal to this segment):
          ``amplitude_drop_from_reference_pct``, ``area_drop_from_reference_pct``,
          ``duration_increase_from_reference_pct``,
          ``cmap_duration_increase_from_reference_pct`` (%); ``reference_peak_to_peak_mv``,
          ``reference_amplitude_mv`` (mV), ``reference_absent`` (bool),
          ``reference_canonical`` and ``reference_site`` (object: canonical and recorded name).

    Examples
    --------
    >>> from nerveconduct.model import Site
    >>> from nerveconduct.analysis import analyze_values
    >>> r = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100)],
    ...                    [3.0, 7.0, 9.0], [8.0, 7.5, 3.0])
    >>> f = segment_frame([r])
    >>> f["index"].tolist(), f["entrapment_site"].tolist()
    ([1, 2], [None, 'ulnar across the elbow'])
    """
    t = table_of(results)
    seg, nv, site = t.segment, t.nerve, t.site
    nrow = seg["nerve_row"]
    first = nv["first_row"][nrow]
    frame: dict[str, Any] = {key: seg[key] for key in _SEGMENT_COPIED}
    frame.update(nerve_id=nrow, nerve=nv["nerve"][nrow], known_nerve=nv["known_nerve"][nrow],
                 amplitude_lln_mv=nv["distal_amplitude_limit"][nrow],
                 first_peak_to_peak_mv=site["peak_to_peak_amplitude_mv"][first],
                 first_amplitude_mv=site["negative_peak_amplitude_mv"][first],
                 first_absent=~site["present"][first], first_canonical=site["canonical"][first])
    frame.update(_reference_values(seg, site, first))
    return checked_frame(frame, SEGMENT_KEYS, "segment frame")


def _reference_values(seg: dict[str, np.ndarray], site: dict[str, np.ndarray],
                      first: np.ndarray) -> dict[str, np.ndarray]:
    """Each segment's proximal site against its reference site (see :func:`segment_frame`).

    The reference position of segment ``i`` of a nerve is the largest ``j < i`` whose segment
    crosses a compression site (its proximal site is the nearest site beyond it), else 0 (the
    most distal site). Segments are stored nerve by nerve, ``index`` ascending.
    """
    n = len(seg["index"])
    index = np.asarray(seg["index"], dtype=np.int64)
    nrow = np.asarray(seg["nerve_row"], dtype=np.int64)
    crossing = np.asarray(seg["entrapment_site"] != None, dtype=bool)  # noqa: E711 (object array)
    mark = np.where(crossing, index, 0)
    prev = np.zeros(n, dtype=np.int64)  # the mark of the segment before, within a nerve
    if n:
        same = np.zeros(n, dtype=bool)
        same[1:] = nrow[1:] == nrow[:-1]
        prev[1:] = np.where(same[1:], mark[:-1], 0)
        big = int(index.max()) + 1
        ref_pos = np.maximum.accumulate(prev + nrow * big) - nrow * big  # running max per nerve
    else:
        ref_pos = prev
    ref = first + ref_pos
    prox = np.asarray(seg["row"], dtype=np.int64)
    present = np.asarray(site["present"], dtype=bool)
    both = present[prox] & present[ref]
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for name, key, drop in (("amplitude_drop", "negative_peak_amplitude_mv", True),
                                ("area_drop", "negative_peak_area_mv_ms", True),
                                ("duration_increase", "negative_peak_duration_ms", False),
                                ("cmap_duration_increase", "cmap_duration_ms", False)):
            v = np.asarray(site[key], dtype=float)
            ratio = v[prox] / v[ref]
            value = 100.0 * (1.0 - ratio) if drop else 100.0 * (ratio - 1.0)
            out[f"{name}_from_reference_pct"] = np.where(both & np.isfinite(value), value, np.nan)
    out.update(reference_peak_to_peak_mv=site["peak_to_peak_amplitude_mv"][ref],
               reference_amplitude_mv=site["negative_peak_amplitude_mv"][ref],
               reference_absent=~present[ref], reference_canonical=site["canonical"][ref],
               reference_site=site["name"][ref])
    return out


def nerve_frame(results: NerveTable | Sequence[NerveResult]) -> dict[str, np.ndarray]:
    """The nerve frame: one entry per nerve, what the nerve items read.

    Returns
    -------
    dict of str to ndarray
        Keys (:data:`NERVE_KEYS`); NaN = unknown:

        - ``nerve`` (object); ``known_nerve`` (bool);
        - for each ``K`` of :data:`~nerveconduct.analysis.LIMIT_KEYS`: ``K_value`` and
          ``K_limit`` (float, the unit of the measure; NaN when missing);
        - ``f_wave_studied`` (bool); ``f_wave_latency_ms`` (float, ms): NaN when sought and
          absent (or not studied);
        - ``distal_cmap_duration_ms`` (float, ms); ``low_frequency_filter_hz`` (float, Hz,
          NaN when not recorded).
    """
    nv = table_of(results).nerve
    frame: dict[str, Any] = {key: nv[key] for key in (
        "nerve", "known_nerve", "f_wave_studied", "f_wave_latency_ms", "distal_cmap_duration_ms",
        "low_frequency_filter_hz")}
    for key in LIMIT_COLUMNS:
        frame[f"{key}_value"] = nv[f"{key}_value"]
        frame[f"{key}_limit"] = nv[f"{key}_limit"]
    return checked_frame(frame, NERVE_KEYS, "nerve frame")
