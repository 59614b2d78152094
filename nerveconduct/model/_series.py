"""A site's stimulation series: its CMAPs at increasing stimulus intensities, and their checks.

Private to :mod:`nerveconduct.model`: :class:`StimulationSeries` is exported from
:mod:`.motor`; :func:`_series_problems` is part of the one study-validity rule
(:func:`.motor.study_problems`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .._checks import check_range_of, gather
from ._common import _real_array

__all__ = ["StimulationSeries", "warn_series_lost"]

#: The library's logger (the CLI shows its warnings).
_log = logging.getLogger("nerveconduct")


@dataclass(frozen=True, eq=False)
class StimulationSeries:
    """The CMAPs of one site at increasing stimulus intensities (the search for supramaximal).

    Recorded with the study's sampling set-up (rate, stimulus sample, polarity). The analysis
    measures every step and checks the last one for a plateau of the CMAP amplitude
    (``nerveconduct.analysis._stimulation``; ``docs/criteria.md``, supramaximal stimulation).
    Checked by :func:`study_problems` when given to a :class:`NerveStudy`.

    Parameters
    ----------
    intensities_ma : sequence of float
        Stimulus intensity of each step (mA), strictly increasing, each in the range of
        ``RANGES["stimulus_intensity_ma"]`` ((0, 1000] mA: 0 mA is no stimulus), as a site's
        ``stimulus_intensity_ma``.
    traces : array_like, shape (n_steps, n_samples)
        The CMAP of each step (mV), in step order.
    """

    intensities_ma: Sequence[float]
    traces: Any

    def __repr__(self) -> str:
        shape = getattr(self.traces, "shape", None)
        return f"StimulationSeries(intensities_ma={tuple(self.intensities_ma)!r}, traces shape {shape})"


def _series_problems(series: Any, sites: Sequence[Any]) -> list[str]:
    """Every problem of a study's ``stimulation_series`` (none when it is ``None`` or empty)."""
    if series is None:
        return []
    if not isinstance(series, Mapping):
        return [f"stimulation_series must be a mapping {{site index or name: StimulationSeries}} "
                f"or None, got {type(series).__name__}"]
    problems: list[str] = []
    seen: dict[int, Any] = {}
    for key, value in series.items():
        at = _series_site(key, sites, problems)
        if at is None:
            continue
        if at in seen:
            problems.append(f"stimulation_series: keys {seen[at]!r} and {key!r} name the same site "
                            f"({at}); give one series per site")
            continue
        seen[at] = key
        where = f"stimulation_series[{key!r}]"
        if not isinstance(value, StimulationSeries):
            problems.append(f"{where} must be a StimulationSeries(intensities_ma, traces), got "
                            f"{type(value).__name__}")
            continue
        steps = _real_array(f"{where}.intensities_ma", value.intensities_ma, "(n_steps,)", problems)
        arr = _real_array(f"{where}.traces", value.traces, "(n_steps, n_samples)", problems)
        if steps is not None:
            if steps.ndim != 1 or steps.size == 0:
                problems.append(f"{where}.intensities_ma must be a non-empty sequence of numbers "
                                f"(mA), got shape {steps.shape}")
                steps = None
            else:
                for i, v in enumerate(steps.tolist()):
                    gather(problems, check_range_of, "stimulus_intensity_ma", v,
                           name=f"{where}.intensities_ma[{i}]")
                if steps.size > 1 and not np.all(np.diff(steps) > 0):
                    problems.append(f"{where}.intensities_ma must increase strictly (one CMAP per "
                                    f"intensity, lowest first), got {steps.tolist()}")
        if arr is not None:
            if arr.ndim != 2 or arr.shape[1] == 0:
                problems.append(f"{where}.traces must have shape (n_steps, n_samples ≥ 1), got "
                                f"shape {arr.shape}")
            elif steps is not None and arr.shape[0] != steps.size:
                problems.append(f"{where}: {steps.size} intensities but {arr.shape[0]} traces: one "
                                "trace per intensity is required")
    return problems


def _series_site(key: Any, sites: Sequence[Any], problems: list[str]) -> int | None:
    """The position of the site a ``stimulation_series`` key names (index or site name)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if 0 <= int(key) < len(sites):
            return int(key)
        problems.append(f"stimulation_series: site index {int(key)} is outside the study's "
                        f"{len(sites)} sites (0-{len(sites) - 1})")
        return None
    if isinstance(key, str):
        names = [getattr(s, "name", None) for s in sites]
        hits = [i for i, n in enumerate(names) if isinstance(n, str)
                and n.strip().lower() == key.strip().lower()]
        if len(hits) == 1:
            return hits[0]
        problems.append(f"stimulation_series: site name {key!r} matches {len(hits)} of the study's "
                        f"sites {[n for n in names if isinstance(n, str)]}; give a site index "
                        "(0 = most distal) or a name that matches exactly one site")
        return None
    problems.append(f"stimulation_series keys must be site indices (int) or site names (str), "
                    f"got {type(key).__name__}")
    return None


def _float_series(series: StimulationSeries) -> StimulationSeries:
    """``series`` with a float tuple of intensities and a float32/float64 trace array."""
    arr = np.asarray(series.traces)
    arr = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    return StimulationSeries(tuple(float(v) for v in np.asarray(series.intensities_ma, dtype=float)), arr)


def warn_series_lost(studies: Iterable[Any], fmt: str, where: Sequence[str] | None = None) -> int:
    """Log one warning when studies written to ``fmt`` carry stimulation series it cannot store.

    For the writers of formats without intensity series (a trace CSV export, an archive
    layout without them): the series, and with them the evidence of supramaximal
    stimulation, would be lost without a word. The warning names the studies by their
    position (``where``: each study's place in the writer's input, default ``studies[i]``)
    and nerve (never an identifier) and goes to the ``"nerveconduct"`` logger.

    Returns
    -------
    int
        How many studies had a series.
    """
    studies = list(studies)
    labels = list(where) if where is not None else [f"studies[{i}]" for i in range(len(studies))]
    lost = [f"{at} ({getattr(st, 'nerve', '?')}: site(s) "
            f"{', '.join(str(st.sites[k].name) for k in sorted(st.stimulation_series) if k < len(st.sites))})"
            for at, st in zip(labels, studies) if getattr(st, "stimulation_series", None)]
    if lost:
        _log.warning("stimulation series are not stored in %s; they would be lost (the analysis "
                     "of the file read back has one intensity per site at most): %s", fmt,
                     "; ".join(lost))
    return len(lost)
