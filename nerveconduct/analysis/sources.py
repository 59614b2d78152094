"""Where the analysis core's inputs come from: studies, an archive chunk, or typed-in values.

Each function gathers the per-nerve and per-site inputs of :func:`.table.build_table` and,
for waveforms, measures every trace with as few :func:`~nerveconduct.measure.measure_cmap`
calls as there are sampling set-ups (rate, stimulus sample, polarity, trace length). The
three give the same :class:`~.table.NerveTable` for the same nerve.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np

from .._checks import ArgumentTypeError, check_number
from ..flags import MeasureFlag
from ..limits import NormalLimits
from ..model import InvalidStudyError, NerveStudy, Site
from ..model.motor import site_problems
from ._f_waves import F_WAVE_AGREE_MS, _f_wave, f_wave_inputs, f_wave_unassessable
from ._stimulation import series_columns, series_inputs
from ._arrays import distinct, group_rows, value_codes
from .table import SITE_MEASURES, NerveTable, build_table

__all__ = ["table_from_studies", "table_from_chunk", "table_from_values", "resolve_limits",
           "landmarks_from_markers", "f_wave_inputs", "f_wave_unassessable", "F_WAVE_AGREE_MS"]

#: The landmarks a marker sets, as ``measure_cmap`` takes them (``absent``: a mask).
_TIMED = ("onset", "negative_peak", "negative_end", "positive_peak")


def resolve_limits(limits: NormalLimits | str | Any | None) -> NormalLimits:
    """``limits`` as a :class:`NormalLimits`: the default table for ``None``, a file read."""
    if limits is None:
        return NormalLimits.default()
    if isinstance(limits, NormalLimits):
        return limits
    if isinstance(limits, str) or hasattr(limits, "__fspath__"):
        return NormalLimits.from_file(limits)
    raise TypeError(f"limits must be a NormalLimits, a path to a CSV/TOML file or None, "
                    f"got {type(limits).__name__}")


def _nerve_key(name: Any) -> str:
    from ..names import canonical_nerve

    text = str(name).strip()
    return canonical_nerve(text) or text.lower()


def landmarks_from_markers(markers: Sequence[Any], studies: Sequence[NerveStudy]) -> dict[str, np.ndarray]:
    """Hand-set markers as per-row landmark arrays of the studies' sites (distal first).

    A marker matches the site whose nerve (any alias, or the same name ignoring case), side
    (``L``/``R`` for left/right; a missing side on either matches) and site name (ignoring
    case) it names.

    Returns
    -------
    dict of str to ndarray, shape (n_rows,)
        ``onset``, ``negative_peak``, ``negative_end``, ``positive_peak`` (ms after the
        stimulus, NaN = detect) and ``absent`` (bool), as ``measure_cmap``'s ``landmarks``.

    Raises
    ------
    MarkerError
        A marker is not a :class:`~nerveconduct.io.markers.Marker`, matches no trace or
        several, or its time lies outside its trace; the message names the marker.
    """
    from ..io.markers import MarkerError, _check_set, marker_label, side_key

    markers = _check_set(list(markers))
    n_rows = sum(st.n_sites for st in studies)
    out: dict[str, np.ndarray] = {k: np.full(n_rows, np.nan) for k in _TIMED}
    out["absent"] = np.zeros(n_rows, dtype=bool)
    starts = np.concatenate([[0], np.cumsum([st.n_sites for st in studies])]).astype(int)
    nerves = [(_nerve_key(st.nerve), side_key(st.side)) for st in studies]
    for m in markers:
        nerve, side, site = _nerve_key(m.nerve), side_key(m.side), m.site.strip().lower()
        hits = [(j, i) for j, (nv, sd) in enumerate(nerves)
                if nv == nerve and (side is None or sd is None or side == sd)
                for i, st_site in enumerate(studies[j].sites) if st_site.name.strip().lower() == site]
        if not hits:
            raise MarkerError(f"{marker_label(m)} matches no trace: no site of that name on that "
                              "nerve and side among the studies analyzed")
        if len(hits) > 1:
            raise MarkerError(f"{marker_label(m)} matches {len(hits)} traces; give the side "
                              "(L or R) to say which")
        j, i = hits[0]
        row = starts[j] + i
        if m.marker == "absent":
            out["absent"][row] = True
            continue
        st = studies[j]
        sweep_ms = (st.traces.shape[1] - 1 - st.stimulus_sample) * 1000.0 / st.sampling_rate_hz
        if m.time_ms > sweep_ms:
            raise MarkerError(f"{marker_label(m)}: time_ms {m.time_ms:g} is after the end of the "
                              f"trace (0-{sweep_ms:.2f} ms after the stimulus)")
        out[m.marker][row] = m.time_ms
    return out


def _hand_set(landmarks: dict[str, np.ndarray] | None, flags: np.ndarray) -> dict[str, np.ndarray] | None:
    """Per row, which landmarks (and the presence) were set by hand (``build_table``'s ``hand_set``)."""
    if landmarks is None:
        return None
    out = {k: ~np.isnan(landmarks[k]) for k in _TIMED}
    out["present"] = landmarks["absent"] | ((flags & int(MeasureFlag.HAND_SET_RESPONSE)) != 0)
    return out


def _setup_groups(setups: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[int]]:
    """The nerves of each distinct set-up, in order of first appearance."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for j, key in enumerate(setups):
        groups.setdefault(key, []).append(j)
    return groups


def _chunk_setup_groups(rate: np.ndarray, stim: np.ndarray, polarity: np.ndarray,
                        n_samples: np.ndarray) -> dict[tuple[Any, ...], list[int]]:
    """:func:`_setup_groups` of per-nerve set-up columns, found per distinct value (no
    tuple per nerve): the same groups, keys and order."""
    if len(rate) == 0:
        return {}
    first, inverse = group_rows([value_codes(rate), value_codes(stim), distinct(polarity)[1],
                                 value_codes(n_samples)])
    if len(first) == 1:  # one set-up
        j = int(first[0])
        return {(float(rate[j]), stim[j].item(), str(polarity[j]), n_samples[j].item()):
                list(range(len(rate)))}
    by_group = np.split(np.argsort(inverse, kind="stable"),
                        np.cumsum(np.bincount(inverse, minlength=len(first)))[:-1])
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k in np.argsort(first, kind="stable").tolist():  # order of first appearance
        j = int(first[k])
        key = (float(rate[j]), stim[j].item(), str(polarity[j]), n_samples[j].item())
        if key in groups:  # equal polarity strings held by different objects
            groups[key] = sorted(groups[key] + by_group[k].tolist())
        else:
            groups[key] = by_group[k].tolist()
    return groups


def _measure(groups: dict[tuple[Any, ...], list[int]], counts: np.ndarray,
             traces_of: Callable[[list[int], np.ndarray, int], np.ndarray],
             n_threads: int | None,
             landmarks: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Measure every row: one ``measure_cmap`` call per distinct set-up.

    ``groups`` maps each set-up (rate, stimulus sample, polarity, n_samples) to its nerves
    (:func:`_setup_groups`); ``traces_of(members, rows, n)`` returns the traces of those
    rows (nerves ``members``); ``landmarks``: hand-set landmarks per row
    (:func:`landmarks_from_markers`).
    """
    from ..measure import measure_cmap  # the numeric core: imported on first use

    n_rows = int(counts.sum())
    if len(groups) == 1:  # one set-up (the usual slice): the measured columns, copied
        (rate, stim, polarity, n), members = next(iter(groups.items()))
        rows = np.arange(n_rows)
        given = None if landmarks is None else {k: v[rows] for k, v in landmarks.items()}
        measures = measure_cmap(traces_of(members, rows, n), rate, stimulus_sample=int(stim),
                                polarity=polarity, n_threads=n_threads, landmarks=given)
        out = {key: np.array(getattr(measures, key), dtype=float) for key in SITE_MEASURES}
        out["present"] = np.array(measures.present, dtype=bool)
        out["flags"] = np.array(measures.flags, dtype=np.int64)
        out["hand_set"] = _hand_set(landmarks, out["flags"])
        return out
    out = {k: np.full(n_rows, np.nan) for k in SITE_MEASURES}
    out["present"] = np.zeros(n_rows, dtype=bool)
    out["flags"] = np.zeros(n_rows, dtype=np.int64)
    row_nerve = np.repeat(np.arange(len(counts)), counts)
    for (rate, stim, polarity, n), members in groups.items():
        rows = np.flatnonzero(np.isin(row_nerve, members))
        given = None if landmarks is None else {k: v[rows] for k, v in landmarks.items()}
        measures = measure_cmap(traces_of(members, rows, n), rate, stimulus_sample=int(stim),
                                polarity=polarity, n_threads=n_threads, landmarks=given)
        for key in SITE_MEASURES:
            out[key][rows] = getattr(measures, key)
        out["present"][rows] = measures.present
        out["flags"][rows] = measures.flags
    out["hand_set"] = _hand_set(landmarks, out["flags"])
    return out


def _none_as_nan(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _site_inputs(sites: Sequence[Site]) -> dict[str, np.ndarray]:
    names = np.empty(len(sites), dtype=object)
    names[:] = [s.name for s in sites]
    return {"name": names, "distance_mm": _none_as_nan([s.distance_mm for s in sites]),
            "stimulus_intensity_ma": _none_as_nan([s.stimulus_intensity_ma for s in sites])}


def table_from_studies(studies: Sequence[NerveStudy], limits: NormalLimits, *,
                       n_threads: int | None = None, markers: Sequence[Any] | None = None) -> NerveTable:
    """Measure and analyze nerve studies (see :func:`nerveconduct.analysis.analyze_nerves`);
    ``markers``: hand-set markers (:func:`landmarks_from_markers`)."""
    counts = np.array([st.n_sites for st in studies], dtype=np.int64)
    all_sites = [s for st in studies for s in st.sites]
    site_in = _site_inputs(all_sites)
    setups = [(st.sampling_rate_hz, st.stimulus_sample, st.polarity, st.traces.shape[1]) for st in studies]
    site_in.update(_measure(_setup_groups(setups), counts,
                            lambda members, rows, n: np.concatenate([studies[j].traces for j in members]),
                            n_threads,
                            None if markers is None else landmarks_from_markers(markers, studies)))
    series = series_inputs(studies, n_threads)
    if series:
        site_in["series"] = series
    nerve_in = {
        "study_id": [st.study_id for st in studies], "nerve_label": [st.nerve for st in studies],
        "side": [st.side for st in studies], "muscle": [st.muscle for st in studies],
        "n_sites": counts, **f_wave_inputs(studies, n_threads),
        "temperature_c": _none_as_nan([st.temperature_c for st in studies]),
        "low_frequency_filter_hz": _none_as_nan([st.low_frequency_filter_hz for st in studies]),
        "age_years": _none_as_nan([st.age_years for st in studies]),
        "height_cm": _none_as_nan([st.height_cm for st in studies]),
    }
    return build_table(nerve_in, site_in, limits, studies=studies)


def table_from_chunk(chunk: Any, limits: NormalLimits, *, n_threads: int | None = None) -> NerveTable:
    """Measure and analyze every nerve of an archive chunk (a
    :class:`~nerveconduct.io.archive.TraceChunk` whose nerves are valid studies:
    :meth:`~nerveconduct.io.archive.TraceChunk.valid_nerves`); its stored intensity series
    (:meth:`~nerveconduct.io.archive.TraceChunk.stimulation_series`) give the same columns as
    the studies' (:func:`~._stimulation.series_columns`)."""
    nv, st = chunk.nerves, chunk.sites
    starts = nv["row_start"].astype(np.int64) - chunk.row_start
    counts = nv["n_sites"].astype(np.int64)
    rate = np.asarray(nv["sampling_rate_hz"], dtype=float)
    groups = _chunk_setup_groups(rate, np.asarray(nv["stimulus_sample"]), nv["polarity"],
                                 chunk.n_samples[starts])

    def traces_of(members: list[int], rows: np.ndarray, n: int) -> np.ndarray:
        traces = chunk.traces[rows, :n] if len(rows) < chunk.n_rows else chunk.traces[:, :n]
        return np.ascontiguousarray(traces)

    site_in = {"name": np.asarray(st["name"], dtype=object),  # build_table makes each a str
               "distance_mm": np.asarray(st["distance_mm"], dtype=float),
               "stimulus_intensity_ma": np.asarray(st["stimulus_intensity_ma"], dtype=float)}
    site_in.update(_measure(groups, counts, traces_of, n_threads))
    stored = chunk.stimulation_series() if getattr(chunk, "series", None) is not None else []
    if stored:  # intensity series stored in the archive (its /stimulation group)
        series = series_columns([(int(starts[j]) + site, (float(rate[j]), nv["stimulus_sample"][j].item(),
                                                           str(nv["polarity"][j])), intensities, traces)
                                 for j, site, intensities, traces in stored],
                                chunk.n_rows, n_threads)
        if series:
            site_in["series"] = series
    latency = np.asarray(nv["f_wave_latency_ms"], dtype=float)
    absent = np.asarray(nv.get("f_wave_absent", np.zeros(len(counts), dtype=bool)), dtype=bool)
    nerve_in = {
        "nerve_index": np.asarray(nv["nerve_index"], dtype=np.int64), "study_id": nv["study_id"],
        "nerve_label": nv["nerve"], "side": nv["side"], "muscle": nv["muscle"], "n_sites": counts,
        "f_wave_latency_ms": np.where(absent, np.nan, latency),
        "f_wave_studied": ~np.isnan(latency) | absent,
        "temperature_c": np.asarray(nv["temperature_c"], dtype=float),
        "low_frequency_filter_hz": np.asarray(nv["low_frequency_filter_hz"], dtype=float),
        "age_years": nv.get("age_years"), "height_cm": nv.get("height_cm"),
    }
    trains = chunk.f_wave_trains() if getattr(chunk, "f_waves", None) is not None else []
    if any(t is not None for t in trains):  # F-wave trains stored in the archive (format 1.3)
        sheet = [np.nan if a else (None if np.isnan(v) else float(v))
                 for v, a in zip(latency.tolist(), absent.tolist())]
        nerve_in.update(f_wave_inputs([SimpleNamespace(
            f_wave_latency_ms=v, f_wave_traces=None if t is None else t[0],
            f_wave_sampling_rate_hz=None if t is None else t[1],
            f_wave_stimulus_sample=0 if t is None else t[2]) for v, t in zip(sheet, trains)],
            n_threads))
    return build_table(nerve_in, site_in, limits)


def _number(name: str, value: Any) -> float:
    """A finite number; ``None`` and NaN stand for a value not given (NaN out)."""
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return np.nan
    return float(check_number(name, value))


def _values(name: str, values: Sequence[float | None] | None, n: int) -> np.ndarray:
    """One number per site (``None``/NaN: not given); ±inf and non-numbers are refused."""
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise ArgumentTypeError(f"{name} must be a sequence of numbers (one per site), got {values!r:.60}")
    out = np.array([_number(f"{name}[{i}]", v) for i, v in enumerate(values)], dtype=float)
    if out.shape != (n,):
        raise ValueError(f"{name} must give one value per site ({n} sites), got {len(values)}")
    return out


def table_from_values(nerve: str, sites: Sequence[Site], measures: dict[str, Sequence[float | None] | None],
                      limits: NormalLimits, *, side: str | None = None, muscle: str | None = None,
                      f_wave_latency_ms: float | None = None, low_frequency_filter_hz: float | None = None,
                      temperature_c: float | None = None, study_id: str | None = None,
                      age_years: float | None = None, height_cm: float | None = None) -> NerveTable:
    """Analyze one nerve from the machine's numbers (see :func:`nerveconduct.analysis.analyze_values`).

    ``measures`` maps :data:`~.table.SITE_MEASURES` names to one value per site (``None`` or
    NaN unknown); ``onset_latency_ms`` and ``negative_peak_amplitude_mv`` are required: a
    NaN onset or a non-positive amplitude marks an absent response.
    """
    sites = list(sites)
    if not sites or not all(isinstance(s, Site) for s in sites):
        raise ValueError("sites must be a non-empty sequence of Site(name, distance_mm)")
    problems = site_problems(sites)  # the one site rule (distance, stimulus intensity)
    if problems:
        raise InvalidStudyError(problems, study_id=study_id if isinstance(study_id, str) else None)
    n = len(sites)
    onset = _values("onset_latency_ms", measures.get("onset_latency_ms"), n)
    amp = _values("negative_peak_amplitude_mv", measures.get("negative_peak_amplitude_mv"), n)
    present = np.isfinite(onset) & np.isfinite(amp) & (amp > 0)
    site_in = _site_inputs(sites)
    for key in SITE_MEASURES:
        site_in[key] = np.where(present, _values(key, measures.get(key), n), np.nan)
    site_in["present"] = present
    site_in["flags"] = np.where(present, 0, int(MeasureFlag.ABSENT)).astype(np.int64)
    latency, studied = _f_wave(f_wave_latency_ms)
    nerve_in = {"study_id": [study_id], "nerve_label": [nerve], "side": [side], "muscle": [muscle],
                "n_sites": np.array([n]), "f_wave_latency_ms": [latency], "f_wave_studied": [studied],
                "temperature_c": _none_as_nan([temperature_c]),
                "low_frequency_filter_hz": _none_as_nan([low_frequency_filter_hz]),
                "age_years": _none_as_nan([age_years]), "height_cm": _none_as_nan([height_cm])}
    return build_table(nerve_in, site_in, limits, studies=[None])

