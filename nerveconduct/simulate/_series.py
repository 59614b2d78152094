"""Stimulus-intensity series for the simulator: motor-unit thresholds, recruitment, truth.

Private to :mod:`nerveconduct.simulate`. Each motor unit has an excitation threshold at each
stimulation site: the site's median threshold (mA) times the unit's own factor
``exp(THRESHOLD_LOG_SD * z)``, ``z`` ~ N(0, 1) truncated to ±3 and the same at every site (a
unit's axon is as excitable, relative to the others, wherever it is stimulated). A stimulus of
``I`` mA excites the units whose threshold is at most ``I``: the CMAP grows with the intensity
and stops growing once every conducting unit is excited, at ``exp(3 * THRESHOLD_LOG_SD)``
(×1.57) the site's median threshold: the plateau a supramaximal stimulus shows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ._muap import render_cmaps, unit_latencies_ms
from ._truth import negative_peak_amplitude, truth_measures

__all__ = ["SimulatedSeries", "THRESHOLD_LOG_SD", "validated_series", "draw_thresholds", "render_series",
           "distal_recruited_fraction"]

#: SD of a unit's log threshold factor (dimensionless); truncated at ±3 SD.
THRESHOLD_LOG_SD: float = 0.15


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedSeries:
    """The CMAPs of one site at increasing intensities, with their noiseless truth.

    Attributes
    ----------
    intensities_ma : tuple of float
        Stimulus intensity of each step (mA), increasing.
    traces, noiseless : ndarray, shape (n_steps, n_samples) or (N, n_steps, n_samples)
        Recorded (noise, artifact, ... as the study's traces) and noiseless CMAPs (mV).
    negative_peak_amplitude_mv : ndarray, shape (n_steps,) or (N, n_steps)
        Noiseless negative-peak amplitude of each step (mV; NaN when absent).
    n_units_recruited : ndarray of int, same shape
        Conducting motor units excited at each step.
    maximal : ndarray of bool, same shape
        Every unit conducting to the site is excited (the response is maximal).
    threshold_ma : float
        The site's median unit threshold (mA).
    """

    intensities_ma: tuple[float, ...]
    traces: np.ndarray
    noiseless: np.ndarray
    negative_peak_amplitude_mv: np.ndarray
    n_units_recruited: np.ndarray
    maximal: np.ndarray
    threshold_ma: float

    @property
    def plateau_from_ma(self) -> float:
        """Lowest intensity (mA) at which every unit is excited whatever its draw."""
        return self.threshold_ma * float(np.exp(3.0 * THRESHOLD_LOG_SD))


def validated_series(series: Any, threshold_ma: Any,
                     n_sites: int) -> tuple[dict[int, tuple[float, ...]], tuple[float, ...]]:
    """``intensity_series`` and ``threshold_ma`` of ``simulate_nerve``, checked and normalized.

    Raises
    ------
    ValueError
        A site index outside the sites, intensities not strictly increasing positive finite
        numbers (mA), a threshold that is not a positive number or one per site.
    """
    try:
        thr = np.broadcast_to(np.asarray(threshold_ma, dtype=float), (n_sites,))
    except (TypeError, ValueError):
        thr = np.array([np.nan])
    if thr.shape != (n_sites,) or not np.all(np.isfinite(thr)) or np.any(thr <= 0):
        raise ValueError(f"threshold_ma must be a positive number (mA) or one per site ({n_sites}); "
                         f"got {threshold_ma!r}")
    out: dict[int, tuple[float, ...]] = {}
    if series is None:
        return out, tuple(float(x) for x in thr)
    if not isinstance(series, dict):
        raise ValueError(f"intensity_series must be None or a dict {{site index: increasing intensities "
                         f"(mA)}}; got {series!r:.80}")
    for k, values in series.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= int(k) < n_sites:
            raise ValueError(f"intensity_series keys must be site indices in 0..{n_sites - 1}; got {k!r}")
        try:
            v = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            v = np.array([np.nan])
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0) or np.any(np.diff(v) <= 0):
            raise ValueError(f"intensity_series[{k}] must be strictly increasing positive intensities (mA); "
                             f"got {values!r}")
        out[int(k)] = tuple(float(x) for x in v)
    return out, tuple(float(x) for x in thr)


def draw_thresholds(rng: np.random.Generator, n_nerves: int, n_units: int) -> np.ndarray:
    """Each unit's threshold factor ``exp(THRESHOLD_LOG_SD * z)``, shape (n_nerves, n_units)."""
    z = np.clip(rng.standard_normal((n_nerves, n_units)), -3.0, 3.0)
    return np.exp(THRESHOLD_LOG_SD * z)


def _positions(pop: dict, p: dict) -> np.ndarray:
    """Each unit's arrival at each site, in samples (N, n_sites, U)."""
    lat = unit_latencies_ms(pop["cv_m_s"], pop["residual_ms"], p["distances_mm"], p["segment_slowing"],
                            p["distal_slowing"])
    return p["stimulus_sample"] + lat * (p["sampling_rate_hz"] / 1000.0)


def _render(pop: dict, pos: np.ndarray, weights: np.ndarray, templates: list, n_samples: int,
            highpass) -> np.ndarray:
    """Noiseless unscaled CMAPs of ``weights`` (N, m, U) at ``pos`` (N, m, U): (N, m, n_samples)."""
    import scipy.signal

    units = weights.shape[-1]
    classes = np.broadcast_to(pop["width_class"][:, None, :], weights.shape).reshape(-1, units)
    win, lo = render_cmaps(pos.reshape(-1, units), weights.reshape(-1, units), classes, templates, n_samples)
    out = np.zeros((win.shape[0], n_samples))
    out[:, lo:lo + win.shape[1]] = win
    if highpass is not None:
        out = scipy.signal.lfilter(*highpass, out, axis=-1)
    return out.reshape(weights.shape[:2] + (n_samples,))


def distal_recruited_fraction(pop: dict, conducting: np.ndarray, p: dict, templates: list,
                              highpass) -> np.ndarray:
    """Per nerve, the distal CMAP's depth with the units recruited at the distal site over its
    depth with every unit conducting there, shape (N,): 1 when the distal stimulus is maximal.

    ``distal_amplitude_mv`` is the amplitude of a supramaximal distal response: a distal
    series that stops short of the plateau scales the nerve by the units conducting (before
    recruitment), so its submaximal distal CMAP is smaller by this fraction and the other
    sites keep their amplitudes.
    """
    pos = _positions(pop, p)[:, :1]
    both = np.concatenate([pop["size"][:, None, :] * pop["present"][:, None, 0],
                           pop["size"][:, None, :] * conducting[:, None, 0]], axis=1)
    traces = _render(pop, np.broadcast_to(pos, both.shape), both, templates, p["n_samples"], highpass)
    depth = negative_peak_amplitude(traces.reshape(-1, p["n_samples"])).reshape(-1, 2)
    return depth[:, 0] / depth[:, 1]


def render_series(pop: dict, conducting: np.ndarray, factor: np.ndarray, p: dict, templates: list,
                  highpass, series: dict[int, tuple[float, ...]], thresholds: tuple[float, ...]
                  ) -> dict[int, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """The noiseless CMAPs of every series step, scaled as the study's traces, with their truth.

    ``conducting`` (N, n_sites, U): units conducting to each site (before recruitment);
    ``factor`` (N, U): :func:`draw_thresholds`. The scale is the study's: the distal CMAP of
    every conducting unit (a supramaximal distal response) is ``p["distal_amplitude_mv"]``
    (:func:`distal_recruited_fraction`). Returns ``{site: (noiseless (N, m, n), truth)}``, the
    truth holding ``negative_peak_amplitude_mv``, ``n_units_recruited`` and ``maximal`` (N, m).
    """
    n_samples, fs, stim = p["n_samples"], p["sampling_rate_hz"], p["stimulus_sample"]
    positions = _positions(pop, p)
    n, units = factor.shape
    distal = _render(pop, positions[:, :1], (pop["size"] * conducting[:, 0])[:, None, :], templates,
                     n_samples, highpass)[:, 0]
    scale = p["distal_amplitude_mv"] / negative_peak_amplitude(distal)
    out = {}
    for k, steps in sorted(series.items()):
        excited = factor[:, None, :] * thresholds[k] <= np.asarray(steps)[None, :, None]  # (N, m, U)
        weights = pop["size"][:, None, :] * (conducting[:, k, None, :] & excited)
        clean = _render(pop, np.broadcast_to(positions[:, k, None, :], weights.shape), weights, templates,
                        n_samples, highpass) * scale[:, None, None]
        measured = truth_measures(clean.reshape(-1, n_samples), fs, stim)
        recruited = (conducting[:, k, None, :] & excited).sum(axis=-1)
        out[k] = (clean, {"negative_peak_amplitude_mv": measured["negative_peak_amplitude_mv"].reshape(n, -1),
                          "n_units_recruited": recruited,
                          "maximal": recruited == conducting[:, k, None, :].sum(axis=-1)})
    return out
