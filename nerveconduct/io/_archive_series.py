"""The archive's optional group of stimulus intensity series (``/stimulation``, format 1.3).

A motor site's series (:class:`~nerveconduct.model.StimulationSeries`: its CMAPs at increasing
intensities, the evidence of supramaximal stimulation) is stored as rows of one 2-D
``stimulation/traces`` dataset (mV, NaN padded, the archive's trace dtype), one row per step,
aligned with the ``stimulation/steps`` table (:data:`~._archive_layout.STIMULATION_STEP_COLUMNS`:
nerve row, site position, intensity in mA, valid samples). The group is written only when a
study has a series, so an archive without series is laid out as before; a reader that does not
know the group ignores it (it then sees one intensity per site at most). Private to
:mod:`nerveconduct.io`: :mod:`._archive_write` writes it, :meth:`.archive.Archive.study` and
:meth:`.archive.Archive.studies` attach it.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from ..model import NerveStudy, StimulationSeries, study_problems
from . import _archive_layout as L
from ._archive_extra import ExtraWriter, _first_at_least
from .errors import ArchiveError

__all__ = ["write_series", "read_series", "attach_series"]

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
    if grp is None:
        return None
    steps = grp["steps"]
    t0 = _first_at_least(steps["nerve_index"], a)
    t1 = _first_at_least(steps["nerve_index"], b)
    if t1 == t0:
        return None
    out = {name: steps[name][t0:t1] for name in L.STIMULATION_STEP_COLUMNS}
    where = f"{L.STIMULATION}, rows {t0}:{t1}"
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
    key = steps["nerve_index"].astype(np.int64) * (1 << 32) + steps["site_position"].astype(np.int64)
    edges = np.flatnonzero(np.diff(key)) + 1
    found: dict[int, dict[int, StimulationSeries]] = {}
    for r0, r1 in zip([0, *edges.tolist()], [*edges.tolist(), len(key)]):
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
