"""The archive's optional group of stimulus intensity series (``/stimulation``, format 1.3).

A motor site's series (:class:`~nerveconduct.model.StimulationSeries`: its CMAPs at increasing
intensities, the evidence of supramaximal stimulation) is stored as rows of one 2-D
``stimulation/traces`` dataset (mV, NaN padded, the archive's trace dtype), one row per step,
aligned with the ``stimulation/steps`` table (:data:`~._archive_layout.STIMULATION_STEP_COLUMNS`:
nerve row, site position, intensity in mA, valid samples). The group is written only when a
study has a series, so an archive without series is laid out as before; a reader that does not
know the group ignores it (it then sees one intensity per site at most). Private to
:mod:`nerveconduct.io`: :mod:`._archive_write` writes it; :meth:`.archive.Archive.read_chunk`
reads the steps of a chunk's nerves (:func:`read_chunk_series`) into the
:class:`~._trace_chunk.TraceChunk`, whose :meth:`~._trace_chunk.TraceChunk.studies` attaches them
(:func:`attach_series`) and whose :meth:`~._trace_chunk.TraceChunk.valid_nerves` applies the
same rule column-wise (:func:`invalid_series_nerves`).
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from .._checks import in_range
from ..model import NerveStudy, StimulationSeries, study_problems
from . import _archive_layout as L
from ._archive_extra import ExtraWriter, _first_at_least
from .errors import ArchiveError

__all__ = ["write_series", "read_series", "read_chunk_series", "attach_series",
           "invalid_series_nerves", "series_runs"]

_STEPS = f"{L.STIMULATION}/steps"


def write_series(extra: ExtraWriter, studies: list[tuple[int, NerveStudy]]) -> None:
    """Append the intensity series of ``(global nerve index, study)`` pairs (nerve order);
    nothing (no group) when none of them has a series."""
    rows = [(index, site, series) for index, st in studies
            for site, series in sorted((getattr(st, "stimulation_series", None) or {}).items())]
    if not rows:
        return
    f = extra.f
    if L.STIMULATION not in f:
        grp = f.create_group(L.STIMULATION)
        sub = grp.create_group("steps")
        chunk = int(min(16384, max(256, sum(len(s.intensities_ma) for _, _, s in rows))))
        for name, kind in L.STIMULATION_STEP_COLUMNS.items():
            sub.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.dtype(kind),
                               chunks=(chunk,), **extra.filters)
        grp.attrs["rows"] = ("one row of 'traces' per step of a stimulus intensity series, "
                             "aligned with the rows of 'steps'")
    arrays = [np.asarray(s.traces) for _, _, s in rows]
    width = max(a.shape[1] for a in arrays)
    block = np.full((sum(a.shape[0] for a in arrays), width), np.nan, dtype=extra.dtype)
    cols: dict[str, list[Any]] = {name: [] for name in L.STIMULATION_STEP_COLUMNS}
    r = 0
    for (index, site, series), arr in zip(rows, arrays):
        block[r:r + arr.shape[0], :arr.shape[1]] = arr
        r += arr.shape[0]
        for intensity in series.intensities_ma:
            cols["nerve_index"].append(index)
            cols["site_position"].append(site)
            cols["intensity_ma"].append(float(intensity))
            cols["n_samples"].append(arr.shape[1])
    extra._traces(L.STIMULATION, block)
    ExtraWriter._append(f[_STEPS], L.STIMULATION_STEP_COLUMNS, cols)


def _group(f: h5py.File, path: Any) -> h5py.Group | None:
    """The checked ``/stimulation`` group, or ``None`` when the archive has none."""
    grp = f.get(L.STIMULATION)
    if grp is None:
        return None
    traces = grp.get("traces") if isinstance(grp, h5py.Group) else None
    missing = [] if isinstance(traces, h5py.Dataset) else [f"{L.STIMULATION}/traces"]
    missing += [f"{_STEPS}/{c}" for c in L.STIMULATION_STEP_COLUMNS
                if not isinstance(f.get(f"{_STEPS}/{c}"), h5py.Dataset)]
    if missing:
        raise ArchiveError(f"incomplete archive, missing: {', '.join(missing)}", path=path,
                           location=L.STIMULATION)
    if traces.ndim != 2 or str(traces.dtype) not in L.TRACE_DTYPES:
        raise ArchiveError(f"must be a 2-D dataset of floats ({', '.join(L.TRACE_DTYPES)}), has "
                           f"shape {traces.shape} and dtype {traces.dtype}", path=path,
                           location=f"{L.STIMULATION}/traces")
    sizes = {grp["steps"][c].shape[0] for c in L.STIMULATION_STEP_COLUMNS} | {traces.shape[0]}
    if len(sizes) != 1:
        raise ArchiveError(f"inconsistent archive: the columns of {_STEPS} and the rows of "
                           f"{L.STIMULATION}/traces have different lengths {sorted(sizes)}",
                           path=path, location=L.STIMULATION)
    return grp


def read_series(f: h5py.File, a: int, b: int, path: Any = None) -> dict[str, np.ndarray] | None:
    """The intensity-series steps of motor nerves ``[a, b)``, or ``None`` when there are none.

    Returns
    -------
    dict or None
        The columns of :data:`~._archive_layout.STIMULATION_STEP_COLUMNS` (one entry per step)
        and ``traces`` (their rows, mV, NaN padded).

    Raises
    ------
    ArchiveError
        The group is incomplete, its tables disagree in length, ``nerve_index`` is not in
        order, or a trace holds an infinite value.
    """
    grp = _group(f, path)
    return None if grp is None else _read_steps(grp, a, b, path)


def _read_steps(grp: h5py.Group, a: int, b: int, path: Any) -> dict[str, np.ndarray] | None:
    """:func:`read_series` in a checked group (:func:`_group`)."""
    steps = grp["steps"]
    t0 = _first_at_least(steps["nerve_index"], a)
    t1 = _first_at_least(steps["nerve_index"], b)
    if t1 == t0:
        return None
    out = {name: steps[name][t0:t1] for name in L.STIMULATION_STEP_COLUMNS}
    nerves = f"nerve {a}" if b - a == 1 else f"nerves {a}:{b}"
    where = f"{nerves}, {L.STIMULATION} rows {t0}:{t1}"
    if np.any(np.diff(out["nerve_index"]) < 0) or out["nerve_index"][0] < a \
            or out["nerve_index"][-1] >= b:
        raise ArchiveError(f"{_STEPS}/nerve_index must be in nerve order", path=path, location=where)
    widths = out["n_samples"]
    if np.any((widths < 1) | (widths > grp["traces"].shape[1])):
        raise ArchiveError(f"{_STEPS}/n_samples must be 1 to {grp['traces'].shape[1]}",
                           path=path, location=where)
    traces = grp["traces"][t0:t1]
    if traces.size and np.isinf(np.fmax.reduce(np.abs(traces), axis=None)):
        raise ArchiveError("traces must be finite (NaN only as padding), got inf", path=path,
                           location=where)
    out["traces"] = traces
    return out


def read_chunk_series(f: h5py.File, a: int, b: int,
                      path: Any = None) -> tuple[dict[str, np.ndarray] | None, ArchiveError | None]:
    """The steps of nerves ``[a, b)`` for a :class:`~._trace_chunk.TraceChunk`: ``(steps,
    None)``, or ``(None, error)`` when the group as a whole is damaged (incomplete, tables of
    different lengths, traces not 2-D floats): every nerve may then have lost its series, and
    each becomes a failure naming it, without the slice being read again nerve by nerve.

    Raises
    ------
    ArchiveError
        A problem of the slice itself (``nerve_index`` out of order, ``n_samples`` out of
        range, an infinite trace value), located at its nerves and step rows: a reader that
        halves the slice finds the nerves concerned.
    """
    try:
        grp = _group(f, path)
    except ArchiveError as exc:
        return None, exc
    return (None if grp is None else _read_steps(grp, a, b, path)), None


def series_runs(steps: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The runs of consecutive steps of one (nerve, site): ``(first step, stop step)`` per run
    (int64 arrays; a valid series is one run)."""
    key = steps["nerve_index"].astype(np.int64) * (1 << 32) + steps["site_position"].astype(np.int64)
    edges = np.flatnonzero(np.diff(key)) + 1
    return (np.concatenate([[0], edges]).astype(np.int64),
            np.concatenate([edges, [len(key)]]).astype(np.int64))


def invalid_series_nerves(steps: dict[str, np.ndarray], first: int, n_sites: np.ndarray,
                          stimulus_sample: np.ndarray) -> np.ndarray:
    """Per nerve ``first, first + 1, ...`` (``len(n_sites)`` of them): True where its stored
    steps make no valid series, column-wise.

    The rule of :func:`attach_series` and of the model's study rule
    (:func:`~nerveconduct.model.study_problems`, ``stimulation_series``) on whole columns: each
    (nerve, site) series is one run of consecutive rows of one ``n_samples``, its site is one of
    the nerve's, its intensities lie in ``RANGES["stimulus_intensity_ma"]`` and increase
    strictly, and the nerve's stimulus sample lies inside its traces. ``steps`` as
    :func:`read_series` returns them (``nerve_index`` in order, ``n_samples`` already checked).
    """
    n = len(n_sites)
    bad_nerve = np.zeros(n, dtype=bool)
    if not steps or not len(steps["nerve_index"]):
        return bad_nerve
    pos = steps["nerve_index"].astype(np.int64) - first
    site = steps["site_position"].astype(np.int64)
    width = steps["n_samples"].astype(np.int64)
    intensity = np.asarray(steps["intensity_ma"], dtype=float)
    bad = (pos < 0) | (pos >= n)
    pos = np.clip(pos, 0, max(n - 1, 0))
    bad |= (site < 0) | (site >= np.asarray(n_sites, dtype=np.int64)[pos])
    bad |= ~in_range("stimulus_intensity_ma", intensity)
    bad |= np.asarray(stimulus_sample, dtype=np.int64)[pos] >= width
    key = pos * (1 << 32) + site
    same = np.diff(key) == 0  # a step continuing the series of the step before it
    bad[1:] |= same & ((np.diff(width) != 0) | ~(np.diff(intensity) > 0))
    run_key = key[np.concatenate([[True], ~same])]  # one key per run of rows
    if len(np.unique(run_key)) != len(run_key):  # a (nerve, site) in two runs: not consecutive
        values, counts = np.unique(run_key, return_counts=True)
        bad |= np.isin(key, values[counts > 1])
    np.logical_or.at(bad_nerve, pos, bad)
    return bad_nerve


def attach_series(studies: list[NerveStudy], first: int, steps: dict[str, np.ndarray] | None,
                  path: Any = None) -> None:
    """Give the studies of nerves ``first, first + 1, ...`` their intensity series (traces
    copied, unpadded), checked by the model's one study rule.

    Raises
    ------
    ArchiveError
        A series' stored rows are not contiguous, hold different lengths, or make no valid
        series (location ``nerve <i>``).
    """
    if not steps:
        return
    found: dict[int, dict[int, StimulationSeries]] = {}
    for r0, r1 in zip(*(v.tolist() for v in series_runs(steps))):
        index, site = int(steps["nerve_index"][r0]), int(steps["site_position"][r0])
        n = int(steps["n_samples"][r0])
        per_nerve = found.setdefault(index, {})
        if site in per_nerve or np.any(steps["n_samples"][r0:r1] != n):
            raise ArchiveError(f"the steps of the series of site {site} must be consecutive rows "
                               "of one length", path=path, location=f"nerve {index}")
        per_nerve[site] = StimulationSeries(tuple(float(v) for v in steps["intensity_ma"][r0:r1]),
                                            steps["traces"][r0:r1, :n].copy())
    for index, series in found.items():
        study = studies[index - first]
        problems = study_problems(  # the model's one study rule, series included
            nerve=study.nerve, sites=study.sites, traces=study.traces,
            sampling_rate_hz=study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
            polarity=study.polarity, stimulation_series=series)
        if problems:
            raise ArchiveError("stored intensity series make no valid series: " + "; ".join(problems),
                               path=path, location=f"nerve {index}")
        study.stimulation_series = dict(sorted(series.items()))
