"""Physiological CMAP simulator: motor-unit populations conducted along a nerve, with ground truth.

A compound muscle action potential (CMAP) is the sum of motor-unit potentials (MUAPs). Each
simulated motor unit has its own conduction velocity (truncated normal), terminal (distal)
latency and size (lognormal, mildly correlated with velocity). Stimulating further up the
nerve adds, per unit, the segment length over that unit's velocity, so the latencies spread
and the CMAP disperses (phase cancellation): the physics behind "temporal dispersion versus
conduction block". Conduction block removes a random fraction of the units in a segment;
segmental slowing divides the velocities in a segment; distal slowing prolongs the terminal
conduction time (the anti-MAG pattern with a low terminal latency index).

:func:`simulate_nerve` returns the recorded traces (noise, mains hum, baseline drift,
stimulus artifact, amplifier clipping) together with the noiseless traces and the
**noiseless truth** of every CMAP and segment measure, defined operationally exactly as the
measurement core defines them (:mod:`nerveconduct.constants`).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np
import scipy.signal

from ._muap import muap_templates, render_cmaps, truth_measures

__all__ = ["SimulatedNerve", "SimulationTruth", "simulate_nerve"]

#: Lower truncation of the per-unit conduction velocity distribution (m/s).
CV_FLOOR_M_S: float = 15.0
#: Per-unit neuromuscular/residual delay (ms): mean, SD and clip range (before distal slowing).
RESIDUAL_DELAY_MS: tuple[float, float, float, float] = (2.2, 0.25, 1.5, 3.2)
#: MUAP width classes (total duration, ms) and their probabilities.
MUAP_WIDTHS_MS: tuple[float, ...] = (10.5, 12.0, 13.5)
MUAP_WIDTH_PROBABILITIES: tuple[float, ...] = (0.25, 0.5, 0.25)
#: Lognormal sigma of unit sizes and correlation of log-size with the unit's velocity.
SIZE_LOG_SD: float = 0.7
SIZE_CV_CORRELATION: float = 0.3
#: Time constant of the stimulus artifact (ms); it is below 3 uV per mV of artifact by 1.5 ms.
ARTIFACT_TAU_MS: float = 0.15

_DEFAULT_SITE_NAMES = {
    "median": ("wrist", "elbow", "axilla", "Erb's point"),
    "ulnar": ("wrist", "below elbow", "above elbow", "axilla", "Erb's point"),
    "fibular": ("ankle", "below fibular head", "popliteal fossa"),
    "peroneal": ("ankle", "below fibular head", "popliteal fossa"),
    "tibial": ("ankle", "popliteal fossa"),
}
_CHUNK_TRACES = 2048


@dataclasses.dataclass(frozen=True, eq=False)
class SimulationTruth:
    """Noiseless truth of a simulation; arrays are shaped like the batch.

    Per-site fields have shape ``(n_sites,)`` (single nerve) or ``(N, n_sites)``; per-segment
    fields ``(..., n_sites - 1)``; per-nerve fields ``()`` or ``(N,)``. Latencies are in ms from
    the stimulus. NaN marks a measure that does not exist (absent response: ``present`` False;
    a return to baseline beyond the sweep: durations and area).

    Attributes
    ----------
    present : ndarray of bool
        The noiseless CMAP departs from baseline by at least 20 uV.
    onset_latency_ms : ndarray
        First time ``|v| >= 0.020`` mV (linear interpolation between samples).
    negative_peak_latency_ms, negative_peak_amplitude_mv : ndarray
        Negative peak (parabolic interpolation); amplitude baseline to peak, positive (mV).
    peak_to_peak_amplitude_mv : ndarray
        Negative peak to the following positive peak (mV).
    negative_peak_duration_ms : ndarray
        Onset to the first baseline crossing after the negative peak.
    negative_peak_area_mv_ms : ndarray
        Integral of ``-v`` over that interval (mV·ms, positive).
    cmap_duration_ms : ndarray
        Onset to the return to baseline after the last negative peak deeper than
        ``CMAP_DURATION_PEAK_FRACTION`` x the negative-peak amplitude.
    n_units_present : ndarray of int
        Motor units conducting to the stimulation site (not blocked distal to it).
    conduction_velocity_m_s : ndarray
        Per site: distance / onset-latency difference with the next distal site (NaN at 0).
    segment_conduction_velocity_m_s : ndarray
        The same per segment, shape ``(..., n_sites - 1)``.
    segment_fastest_cv_m_s : ndarray
        Velocity of the fastest unit conducting through each segment (slowing included).
    fastest_cv_m_s : ndarray
        Fastest unit's velocity in the nerve (m/s, before segmental slowing).
    terminal_latency_index : ndarray
        ``distances_mm[0] / (segment_conduction_velocity_m_s[0] * onset_latency_ms[0])``
        (NaN with a single site).
    """

    present: np.ndarray
    onset_latency_ms: np.ndarray
    negative_peak_latency_ms: np.ndarray
    negative_peak_amplitude_mv: np.ndarray
    peak_to_peak_amplitude_mv: np.ndarray
    negative_peak_duration_ms: np.ndarray
    negative_peak_area_mv_ms: np.ndarray
    cmap_duration_ms: np.ndarray
    n_units_present: np.ndarray
    conduction_velocity_m_s: np.ndarray
    segment_conduction_velocity_m_s: np.ndarray
    segment_fastest_cv_m_s: np.ndarray
    fastest_cv_m_s: np.ndarray
    terminal_latency_index: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedNerve:
    """Simulated motor nerve-conduction study (one nerve or a batch of independent nerves).

    Attributes
    ----------
    traces : ndarray, shape (n_sites, n_samples) or (N, n_sites, n_samples)
        Recorded traces (mV, physical polarity: the CMAP's first phase is negative).
    noiseless : ndarray, same shape
        The CMAPs alone (no noise, hum, drift, artifact or clipping; high-pass filtered if a
        low-frequency filter was requested). Baseline exactly 0 before the onset.
    sampling_rate_hz : float
    stimulus_sample : int
        Index of the stimulus; earlier samples are baseline.
    distances_mm : tuple of float
        ``[0]``: distal stimulation point to active electrode; ``[k]``: segment ``k`` length.
    site_names : tuple of str
    nerve, side, muscle : str
    truth : SimulationTruth
    parameters : dict
        The call's arguments (normalized) and ``seed_used`` (reproduces the run).
    """

    traces: np.ndarray
    noiseless: np.ndarray
    sampling_rate_hz: float
    stimulus_sample: int
    distances_mm: tuple[float, ...]
    site_names: tuple[str, ...]
    nerve: str
    side: str
    muscle: str
    truth: SimulationTruth
    parameters: dict[str, Any]

    @property
    def time_ms(self) -> np.ndarray:
        """Time of each sample from the stimulus (ms), shape ``(n_samples,)``."""
        n_samples = self.traces.shape[-1]
        return (np.arange(n_samples) - self.stimulus_sample) * 1000.0 / self.sampling_rate_hz

    def to_studies(self) -> list:
        """Wrap each simulated nerve as a :class:`nerveconduct.model.NerveStudy`.

        Returns
        -------
        list of NerveStudy
            One study per nerve (one element for a single-nerve simulation), with physical
            polarity, the stimulus sample and the low-frequency filter recorded.
        """
        from . import model  # lazy: the simulator itself needs no model

        traces = self.traces if self.traces.ndim == 3 else self.traces[None]
        lff = self.parameters.get("low_frequency_filter_hz")
        seed_used = self.parameters.get("seed_used")
        studies = []
        for i, nerve_traces in enumerate(traces):
            sites = [model.Site(name, dist) for name, dist in zip(self.site_names,
                                                                  self.distances_mm)]
            studies.append(model.NerveStudy(
                self.nerve, self.side, self.muscle, sites, nerve_traces, self.sampling_rate_hz,
                stimulus_sample=self.stimulus_sample, polarity="physical",
                low_frequency_filter_hz=lff, study_id=f"sim-{seed_used}-{i}"))
        return studies


# --------------------------------------------------------------------------- validation
def _number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number ({allowed}); got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return value


def _integer(name: str, value: Any, *, low: int, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return int(value)


def _segment_map(name: str, value: Any, n_sites: int, check) -> dict[int, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a dict {{segment_index: value}} or None; got {value!r}")
    out = {}
    for key, val in value.items():
        if (isinstance(key, bool) or not isinstance(key, numbers.Integral)
                or not 1 <= key <= n_sites - 1):
            allowed = ("no segment exists with a single site" if n_sites == 1
                       else f"segments are 1..{n_sites - 1} (segment k lies between site k-1 "
                            "and site k)")
            raise ValueError(f"{name} has segment index {key!r}: {allowed}")
        out[int(key)] = check(f"{name}[{key}]", val)
    return dict(sorted(out.items()))


def _site_names(site_names: Any, nerve: str, n_sites: int) -> tuple[str, ...]:
    if site_names is None:
        names = _DEFAULT_SITE_NAMES.get(nerve.lower(), _DEFAULT_SITE_NAMES["median"])
        if n_sites <= len(names):
            return tuple(names[:n_sites])
        return tuple(f"site {i + 1}" for i in range(n_sites))
    names = tuple(site_names) if not isinstance(site_names, str) else (site_names,)
    if len(names) != n_sites or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"site_names must be {n_sites} non-empty strings (one per distance); "
                         f"got {site_names!r}")
    if len(set(names)) != n_sites:
        raise ValueError(f"site_names must be unique; got {site_names!r}")
    return names


def _distances(distances_mm: Any) -> tuple[float, ...]:
    try:
        d = np.asarray(distances_mm, dtype=float)
    except (TypeError, ValueError):
        d = None
    if d is None or d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError("distances_mm must be a non-empty sequence of positive finite "
                         f"distances (mm); got {distances_mm!r}")
    return tuple(float(x) for x in d)


# --------------------------------------------------------------------------- population
def _truncated_normal(rng: np.random.Generator, mean: float, sd: float, size,
                      low: float, high: float) -> np.ndarray:
    x = rng.normal(mean, sd, size)
    bad = (x < low) | (x > high)
    while bad.any():
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (x < low) | (x > high)
    return x


def _draw_population(rng, n_nerves, n_units, n_sites, cv_mean, cv_sd, block):
    """Per-unit velocity, residual delay, size, width class and per-site presence."""
    shape = (n_nerves, n_units)
    cv = _truncated_normal(rng, cv_mean, cv_sd, shape, CV_FLOOR_M_S, cv_mean + 4.0 * cv_sd)
    r_mean, r_sd, r_low, r_high = RESIDUAL_DELAY_MS
    residual = _truncated_normal(rng, r_mean, r_sd, shape, r_low, r_high)
    z_cv = (cv - cv_mean) / cv_sd if cv_sd > 0 else np.zeros(shape)
    rho = SIZE_CV_CORRELATION
    log_size = SIZE_LOG_SD * (rho * z_cv + np.sqrt(1.0 - rho * rho) * rng.standard_normal(shape))
    size = np.exp(log_size)
    classes = rng.choice(len(MUAP_WIDTHS_MS), size=shape, p=MUAP_WIDTH_PROBABILITIES)
    alive = np.ones((n_nerves, n_sites, n_units), dtype=bool)
    conducting = np.ones(shape, dtype=bool)
    rows = np.arange(n_nerves)[:, None]
    for segment, fraction in block.items():
        n_alive = int(conducting[0].sum())  # the same in every nerve
        n_lost = int(round(fraction * n_alive))
        if n_lost:
            keys = np.where(conducting, rng.random(shape), np.inf)
            lost = np.argsort(keys, axis=1)[:, :n_lost]
            conducting[rows, lost] = False
        alive[:, segment:, :] = conducting[:, None, :]
    return cv, residual, size, classes, alive


def _latencies(cv, residual, distances, slowing, distal_slowing):
    """Per-unit latency (ms from the stimulus) at every site, shape (N, n_sites, U)."""
    terminal = distal_slowing * (distances[0] / cv + residual)
    seg_factor = np.array([slowing.get(k, 1.0) for k in range(1, len(distances))])
    seg_time = np.asarray(distances[1:]) * seg_factor  # mm at 1/cv -> ms
    cum = np.concatenate([[0.0], np.cumsum(seg_time)])
    return terminal[:, None, :] + cum[None, :, None] / cv[:, None, :]


# --------------------------------------------------------------------------- recording
def _recording_extras(rng, shape, cfg, dtype) -> np.ndarray | None:
    """Noise + hum + drift + artifact (mV) for a chunk of traces of ``shape``; None if none."""
    n_samples = shape[-1]
    m_traces = int(np.prod(shape[:-1]))
    fs, stim = cfg["sampling_rate_hz"], cfg["stimulus_sample"]
    if not any(cfg[k] > 0 for k in ("noise_uv_rms", "hum_uv", "drift_uv", "artifact_mv")):
        return None
    if cfg["noise_uv_rms"] > 0:
        extra = rng.standard_normal((m_traces, n_samples), dtype=dtype)
        extra *= dtype.type(cfg["noise_uv_rms"] / 1000.0)
    else:
        extra = np.zeros((m_traces, n_samples), dtype=dtype)
    t_s = np.arange(n_samples) / fs
    if cfg["hum_uv"] > 0:
        phase = rng.uniform(0.0, 2.0 * np.pi, (m_traces, 1))
        arg = 2.0 * np.pi * cfg["hum_hz"] * t_s
        amp = cfg["hum_uv"] / 1000.0
        extra += (amp * (np.cos(phase) * np.sin(arg) + np.sin(phase) * np.cos(arg))).astype(dtype)
    if cfg["drift_uv"] > 0:
        x = np.linspace(-1.0, 1.0, n_samples)
        basis = np.polynomial.legendre.legvander(x, 3)[:, 1:].T  # degrees 1..3
        drift = rng.standard_normal((m_traces, 3)) @ basis
        drift += rng.standard_normal((m_traces, 1))  # an offset as well
        peak = np.abs(drift).max(axis=1, keepdims=True)
        extra += (drift * (cfg["drift_uv"] / 1000.0 / np.where(peak > 0, peak, 1.0))).astype(dtype)
    if cfg["artifact_mv"] > 0:
        n_art = min(n_samples - stim, int(np.ceil(3.0 * fs / 1000.0)) + 1)
        t_ms = np.arange(n_art) * 1000.0 / fs
        shape_art = (1.0 - 2.0 * t_ms / ARTIFACT_TAU_MS) * np.exp(-t_ms / ARTIFACT_TAU_MS)
        sign = rng.choice(np.array([-1.0, 1.0]), size=(m_traces, 1))
        extra[:, stim:stim + n_art] += (cfg["artifact_mv"] * sign * shape_art).astype(dtype)
    return extra.reshape(shape)
