"""SNAP simulator: sensory-fibre populations recorded antidromically, with a noiseless truth.

A sensory nerve action potential is the sum of single-fibre action potentials; each simulated
fibre has its own conduction velocity and size. Recorded antidromically (stimulating the
nerve, ring electrodes on a digit), the SNAP is a short negative-first biphasic potential of
a few to ~60 uV. :func:`simulate_snap` returns recorded traces (mV: noise, hum, drift,
stimulus artifact), the noiseless traces and their **noiseless truth**, defined as
:func:`nerveconduct.measure.snap.measure_snap` defines its measures.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._checks import check_number
from ..measure.snap import REFERENCE_SNAP_ONSET_THRESHOLD_UV
from ._args import _number, rng_from_seed
from ._muap import draw_population, muap_templates, render_cmaps
from ._truth import negative_peak_amplitude, truth_landmarks, zero_crossing_after
from .nerve import _fill_recording

__all__ = ["SimulatedSnap", "SnapTruth", "simulate_snap", "SFAP_WIDTHS_MS", "snap_truth"]

#: Single-fibre action potential width classes (total duration, ms; negative phase ~36 %).
SFAP_WIDTHS_MS: tuple[float, ...] = (1.1, 1.3, 1.5)


@dataclasses.dataclass(frozen=True, eq=False)
class SnapTruth:
    """Noiseless truth of simulated SNAPs, each field of the batch shape (``()`` or ``(N,)``).

    Attributes
    ----------
    present : ndarray of bool
        The SNAP departs from baseline by ``REFERENCE_SNAP_ONSET_THRESHOLD_UV`` (2 uV).
    onset_latency_ms : ndarray
        First time ``|v| >= 2 uV`` (linear interpolation between samples), ms from stimulus.
    negative_peak_latency_ms, negative_peak_amplitude_uv : ndarray
        Negative peak (parabolic interpolation); amplitude baseline to peak (uV, positive).
    peak_to_peak_amplitude_uv : ndarray
        Negative peak to the largest value after it (uV).
    duration_ms : ndarray
        Onset to the first upward baseline crossing after the negative peak (ms).
    fastest_cv_m_s : ndarray
        Fastest fibre (m/s); ``distance_mm / onset_latency_ms`` runs a little below it.
    """

    present: np.ndarray
    onset_latency_ms: np.ndarray
    negative_peak_latency_ms: np.ndarray
    negative_peak_amplitude_uv: np.ndarray
    peak_to_peak_amplitude_uv: np.ndarray
    duration_ms: np.ndarray
    fastest_cv_m_s: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedSnap:
    """Simulated antidromic sensory study: one SNAP or a batch.

    Attributes
    ----------
    traces, noiseless : ndarray, shape (n_samples,) or (N, n_samples)
        Recorded and noiseless traces (mV, physical polarity: main phase negative).
    sampling_rate_hz : float
    stimulus_sample : int
    distance_mm : float
        Stimulation point to the active recording electrode (mm).
    truth : SnapTruth
    parameters : dict
        The call's arguments and ``seed_used``.
    """

    traces: np.ndarray
    noiseless: np.ndarray
    sampling_rate_hz: float
    stimulus_sample: int
    distance_mm: float
    truth: SnapTruth
    parameters: dict[str, Any]


def snap_truth(noiseless_mv: np.ndarray, sampling_rate_hz: float,
               stimulus_sample: int) -> dict[str, np.ndarray]:
    """Reference SNAP measures of noiseless traces ``(M, n_samples)`` in mV (baseline 0).

    Returns a dict of ``(M,)`` arrays: ``present`` and the :class:`SnapTruth` measures
    (NaN when absent; duration NaN if the return to baseline is outside the trace).
    """
    v = np.asarray(noiseless_mv, dtype=np.float64)
    dt_ms = 1000.0 / sampling_rate_hz
    present, onset, k, neg_pos, neg_val, pos_val = truth_landmarks(
        v, REFERENCE_SNAP_ONSET_THRESHOLD_UV / 1000.0)
    cross = zero_crossing_after(v, k)
    out = {"onset_latency_ms": (onset - stimulus_sample) * dt_ms,
           "negative_peak_latency_ms": (neg_pos - stimulus_sample) * dt_ms,
           "negative_peak_amplitude_uv": -neg_val * 1000.0,
           "peak_to_peak_amplitude_uv": (pos_val - neg_val) * 1000.0,
           "duration_ms": (cross - onset) * dt_ms}
    return {"present": present, **{key: np.where(present, val, np.nan) for key, val in out.items()}}


def simulate_snap(
    distance_mm: float = 140.0,
    *,
    n_snaps: int | None = None,
    n_fibres: int = 400,
    cv_mean_m_s: float = 58.0,
    cv_sd_m_s: float = 5.0,
    amplitude_uv: float = 30.0,
    noise_uv_rms: float = 1.0,
    hum_uv: float = 0.0,
    hum_hz: float = 50.0,
    drift_uv: float = 0.0,
    artifact_mv: float = 0.5,
    sampling_rate_hz: float = 20000.0,
    sweep_ms: float = 15.0,
    pre_stimulus_ms: float = 2.0,
    dtype="float64",
    seed=None,
) -> SimulatedSnap:
    """Simulate antidromic SNAPs from sensory-fibre populations, with their noiseless truth.

    Parameters
    ----------
    distance_mm : float
        Stimulation point to the active (recording) electrode (mm), > 0.
    n_snaps : int, optional
        None: one SNAP, traces ``(n_samples,)``; N: N independent fibre populations,
        traces ``(N, n_samples)``.
    n_fibres : int
        Fibres per nerve (>= 1).
    cv_mean_m_s, cv_sd_m_s : float
        Per-fibre conduction velocity (m/s): normal, truncated to [15, mean + 4 SD].
    amplitude_uv : float
        Noiseless baseline-to-negative-peak amplitude (uV, >= 0; 0 = an absent SNAP).
    noise_uv_rms : float
        White Gaussian noise (uV RMS; after averaging, typically 0.5-2 uV).
    hum_uv, hum_hz, drift_uv : float
        Mains hum (peak uV, Hz) and baseline drift (peak uV), as in
        :func:`~nerveconduct.simulate.nerve.simulate_nerve`.
    artifact_mv : float
        Stimulus artifact peak (mV; 0 = off), decaying with a 0.15 ms time constant.
    sampling_rate_hz : float
        Sampling rate (Hz, >= 5000).
    sweep_ms, pre_stimulus_ms : float
        Trace length and pre-stimulus baseline (ms).
    dtype : {"float64", "float32"}
        Type of the traces (the truth is computed in float64).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Same seed, same arrays; None draws fresh entropy (kept in ``seed_used``).

    Returns
    -------
    SimulatedSnap

    Raises
    ------
    ValueError
        An invalid argument (named, its value echoed, the allowed range said), or a sweep
        too short for the SNAP.

    Notes
    -----
    Fibre ``i`` starts its potential at ``distance_mm / cv_i`` (no synaptic delay); each
    single-fibre potential is the compact biphasic shape of
    :func:`~nerveconduct.simulate._muap.muap_shape` lasting 1.1-1.5 ms (negative phase
    ~0.4-0.55 ms), sizes lognormal. Defaults (median nerve, wrist to index finger, 140 mm)
    give an onset latency ~2.1 ms, a peak latency ~2.7 ms, a negative phase ~0.9 ms and a
    total duration under 2 ms.

    Examples
    --------
    >>> sim = simulate_snap(140.0, seed=1)
    >>> round(float(sim.truth.negative_peak_amplitude_uv), 6)
    30.0
    >>> bool(1.8 < sim.truth.onset_latency_ms < 2.6)
    True
    """
    p = {"distance_mm": _number("distance_mm", distance_mm, low=0.0, low_open=True,
                                allowed="> 0 mm"),
         "cv_mean_m_s": _number("cv_mean_m_s", cv_mean_m_s, low=15.0, low_open=True,
                                high=200.0, allowed="in (15, 200] m/s"),
         "cv_sd_m_s": _number("cv_sd_m_s", cv_sd_m_s, low=0.0, high=50.0,
                              allowed="in [0, 50] m/s"),
         "amplitude_uv": _number("amplitude_uv", amplitude_uv, low=0.0, allowed=">= 0 uV")}
    for name, value in (("noise_uv_rms", noise_uv_rms), ("hum_uv", hum_uv),
                        ("drift_uv", drift_uv)):
        p[name] = _number(name, value, low=0.0, allowed=">= 0 uV")
    p["artifact_mv"] = _number("artifact_mv", artifact_mv, low=0.0, allowed=">= 0 mV")
    fs = p["sampling_rate_hz"] = _number("sampling_rate_hz", sampling_rate_hz, low=5000.0,
                                         allowed=">= 5000 Hz")
    p["hum_hz"] = _number("hum_hz", hum_hz, low=0.0, low_open=True, high=fs / 2,
                          allowed=f"in (0, {fs / 2:g}] Hz (the Nyquist frequency)")
    p["sweep_ms"] = _number("sweep_ms", sweep_ms, low=0.0, low_open=True, allowed="> 0 ms")
    p["pre_stimulus_ms"] = _number("pre_stimulus_ms", pre_stimulus_ms, low=0.0,
                                   allowed=">= 0 ms")
    p["n_fibres"] = check_number("n_fibres", n_fibres, minimum=1, integer=True)
    p["n_snaps"] = check_number("n_snaps", n_snaps, minimum=1, integer=True, allow_none=True)
    if dtype not in ("float64", "float32", np.float64, np.float32):
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
    p["dtype"] = np.dtype(dtype).name
    n_samples = round(p["sweep_ms"] * fs / 1000.0)
    stim = round(p["pre_stimulus_ms"] * fs / 1000.0)
    cv_slow = max(p["cv_mean_m_s"] - 4.0 * p["cv_sd_m_s"], 15.0)
    need_ms = p["distance_mm"] / cv_slow + max(SFAP_WIDTHS_MS) + 1.0
    if (n_samples - 1 - stim) * 1000.0 / fs < need_ms:
        raise ValueError(f"sweep_ms={sweep_ms!r} with pre_stimulus_ms={pre_stimulus_ms!r} is "
                         f"too short: the SNAP needs about {need_ms:.1f} ms after the stimulus; "
                         f"use sweep_ms >= {p['pre_stimulus_ms'] + need_ms:.1f}")
    rng, seed_used = rng_from_seed(seed)
    n_batch = 1 if n_snaps is None else p["n_snaps"]
    pop = draw_population(rng, n_batch, p["n_fibres"], 1, p["cv_mean_m_s"], p["cv_sd_m_s"], {})
    positions = stim + p["distance_mm"] / pop["cv_m_s"] * (fs / 1000.0)
    win, lo = render_cmaps(positions, pop["size"], pop["width_class"],
                           muap_templates(SFAP_WIDTHS_MS, fs), n_samples)
    depth = negative_peak_amplitude(win)
    win *= (p["amplitude_uv"] / 1000.0 / depth)[:, None]
    clean = np.zeros((n_batch, n_samples))
    clean[:, lo:lo + win.shape[1]] = win
    truth = snap_truth(clean, fs, stim)
    truth["fastest_cv_m_s"] = pop["cv_m_s"].max(axis=1)
    traces = np.empty((n_batch, n_samples), dtype=p["dtype"])
    _fill_recording(rng, traces, {**p, "stimulus_sample": stim})
    traces += clean.astype(p["dtype"])
    noiseless = clean.astype(p["dtype"])
    if n_snaps is None:
        traces, noiseless = traces[0], noiseless[0]
        truth = {key: val[0] for key, val in truth.items()}
    p.update(seed=seed if seed is None or seed_used == seed else repr(seed), seed_used=seed_used)
    return SimulatedSnap(traces=traces, noiseless=noiseless, sampling_rate_hz=fs,
                         stimulus_sample=stim, distance_mm=p["distance_mm"],
                         truth=SnapTruth(**truth), parameters=p)
