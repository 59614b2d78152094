"""Stimulus intensity series in the readers and writers of the text and EDF formats.

One rule for every format that writes a site's series as extra traces of its motor item
(``docs/formats.md``, "Stimulus intensity series"): each step is one more trace of the site,
labelled with the site's name, with its intensity (mA) and a step number ``1..n`` (the
step's place in the series); the site's own trace has no step number. A reader gathers the
traces with a step number back into :class:`~nerveconduct.model.StimulationSeries`, in step
order, and :func:`with_series` gives them to the study (validated by the model's one study
rule). Private to :mod:`nerveconduct.io`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..model import NerveStudy, Site, StimulationSeries
from ._kinds import attach_f_wave_trains
from .errors import FormatError

__all__ = ["ma_text", "series_columns", "split_series", "take_series", "step_numbers", "with_series",
           "carries_series", "attach_trains_keeping_series"]


def ma_text(value: float) -> str:
    """An intensity (mA) as text that reads back exactly: ``%g`` when exact, else ``repr``."""
    short = f"{float(value):g}"
    return short if float(short) == float(value) else repr(float(value))


def carries_series(study: Any) -> bool:
    """Whether a text writer can lay out ``study``'s series as extra traces of its motor item:
    it has one, and every step's trace is as long as the site traces (one column length per
    item in these formats)."""
    series = getattr(study, "stimulation_series", None) or {}
    width = np.shape(study.traces)[-1]
    return bool(series) and all(np.shape(s.traces)[1] == width for s in series.values())


def series_columns(study: Any) -> tuple[np.ndarray, list[str], list[float | None], list[int | None]]:
    """A motor study's traces followed by its series' steps, as a writer lays them out.

    Returns
    -------
    traces_mv : ndarray, shape (n_sites + n_steps, n_samples)
        The sites' traces, then every step of every series (site order, step order), NaN
        padded to the longest (mV, as stored).
    names : list of str
        The site name of each row.
    intensities_ma : list of float or None
        Each row's stimulus intensity: a site's ``stimulus_intensity_ma``, a step's intensity.
    steps : list of int or None
        ``None`` for a site's own trace, the step number (from 1) for a series' step.
    """
    rows = [np.asarray(t, dtype=float) for t in np.asarray(study.traces)]
    names = [s.name for s in study.sites]
    intensities: list[float | None] = [s.stimulus_intensity_ma for s in study.sites]
    steps: list[int | None] = [None] * len(rows)
    for site, series in sorted((getattr(study, "stimulation_series", None) or {}).items()):
        for k, (ma, trace) in enumerate(zip(series.intensities_ma, np.asarray(series.traces))):
            rows.append(np.asarray(trace, dtype=float))
            names.append(study.sites[site].name)
            intensities.append(float(ma))
            steps.append(k + 1)
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out, names, intensities, steps


def split_series(traces: np.ndarray, names: Sequence[str], intensities: Sequence[float | None],
                 steps: Sequence[int | None]) -> tuple[np.ndarray, list[int],
                                                        dict[int, StimulationSeries], list[str]]:
    """Separate a motor item's site traces from its series' steps (the reader's side).

    Parameters
    ----------
    traces : ndarray, shape (n_rows, n_samples)
        Every trace of the item (mV).
    names, intensities, steps
        Per row: site name, intensity (mA, or None), step number (None: a site's own trace).

    Returns
    -------
    site_traces : ndarray
        The rows without a step number.
    site_rows : list of int
        Their positions in ``traces``.
    series : dict of int to StimulationSeries
        Site position -> its series (steps sorted by step number).
    problems : list of str
        What makes the steps no series: a step naming no site of the item, a step without an
        intensity, a step number given twice for a site (the caller raises its named error).
    """
    site_rows = [i for i, k in enumerate(steps) if k is None]
    site_names = [str(names[i]).strip().lower() for i in site_rows]
    found: dict[int, list[tuple[int, float, int]]] = {}
    problems: list[str] = []
    for i, k in enumerate(steps):
        if k is None:
            continue
        key = str(names[i]).strip().lower()
        if site_names.count(key) != 1:
            problems.append(f"series step {k} of trace {i + 1} names site {names[i]!r}, which is "
                            f"{'not' if not site_names.count(key) else 'more than once'} among the "
                            f"item's sites {[names[j] for j in site_rows]}")
            continue
        if intensities[i] is None:
            problems.append(f"series step {k} of trace {i + 1} ({names[i]}) has no stimulus "
                            "intensity; every step needs one (mA)")
            continue
        found.setdefault(site_names.index(key), []).append((int(k), float(intensities[i]), i))
    series: dict[int, StimulationSeries] = {}
    for site, entries in found.items():
        entries.sort()
        numbers = [e[0] for e in entries]
        if len(set(numbers)) != len(numbers):
            problems.append(f"series of site {names[site_rows[site]]!r}: step numbers {numbers} "
                            "repeat; one trace per step")
            continue
        rows = np.asarray(traces)[[e[2] for e in entries]]
        series[site] = StimulationSeries(tuple(e[1] for e in entries), rows)
    return np.asarray(traces)[site_rows], site_rows, series, problems


def with_series(study: NerveStudy, series: dict[int, StimulationSeries]) -> NerveStudy:
    """``study`` rebuilt with intensity series (validated by :class:`NerveStudy`: raises
    :class:`~nerveconduct.model.InvalidStudyError` listing every problem); itself without."""
    if not series:
        return study
    return NerveStudy(study.nerve, study.side, study.muscle, study.sites, study.traces,
                      study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
                      polarity=study.polarity, temperature_c=study.temperature_c,
                      low_frequency_filter_hz=study.low_frequency_filter_hz,
                      study_id=study.study_id, f_wave_latency_ms=study.f_wave_latency_ms,
                      metadata=dict(study.metadata), age_years=study.age_years,
                      height_cm=study.height_cm, sex=study.sex, f_wave_traces=study.f_wave_traces,
                      f_wave_sampling_rate_hz=study.f_wave_sampling_rate_hz,
                      f_wave_stimulus_sample=study.f_wave_stimulus_sample,
                      stimulation_series={**study.stimulation_series, **series})


def take_series(traces: np.ndarray, sites: list[Site], steps: Sequence[Any] | None, *, path: Any,
                location: str, metadata: dict[str, Any] | None = None
                ) -> tuple[np.ndarray, list[Site], dict[int, StimulationSeries]]:
    """A reader's motor item split into its sites and their series (:func:`split_series`;
    ``steps`` ``None``: no series line, everything is a site). ``metadata["source_traces"]``
    (the item's trace numbers in the file), when given, keeps the sites' numbers only (one per
    site, as without a series).

    Raises
    ------
    FormatError
        The steps make no series (at ``location``, the series line).
    """
    if steps is None or all(k is None for k in steps):
        return traces, sites, {}
    _, rows, series, problems = split_series(traces, [s.name for s in sites],
                                             [s.stimulus_intensity_ma for s in sites], steps)
    if problems:
        raise FormatError("; ".join(problems), path=path, location=location)
    if metadata is not None and len(metadata.get("source_traces", ())) == len(sites):
        metadata["source_traces"] = [metadata["source_traces"][i] for i in rows]
    return np.asarray(traces)[rows], [sites[i] for i in rows], series


def step_numbers(values: Sequence[str], *, path: Any, location: str) -> list[int | None]:
    """The series line's values: blank (a site's own trace) or a step number 1, 2, ..."""
    out: list[int | None] = []
    for v in values:
        text = str(v).strip()
        if not text:
            out.append(None)
        elif text.isdigit() and 0 < int(text) <= 99_999:
            out.append(int(text))
        else:
            raise FormatError("a series step must be blank (the site's own trace) or a whole "
                              "number from 1 to 99999", path=path, location=location)
    return out


def attach_trains_keeping_series(studies: list[NerveStudy], trains: Sequence[dict[str, Any]]
                                 ) -> tuple[list[NerveStudy], list[dict[str, Any]]]:
    """:func:`~._kinds.attach_f_wave_trains`, the studies' intensity series kept."""
    out, left = attach_f_wave_trains(studies, trains)
    return [with_series(new, old.stimulation_series) if old.stimulation_series
            and not new.stimulation_series else new for old, new in zip(studies, out)], left
