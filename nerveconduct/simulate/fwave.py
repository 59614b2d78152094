"""F-wave simulator: trains of supramaximal stimuli, the M-wave and motor units backfiring.

Each stimulus of a train evokes the same M-wave (every motor unit, conducted distally) and,
late, an F-wave: a few motor neurons, chosen at random anew for every stimulus, backfire
after the antidromic volley reaches the spinal cord; their potentials arrive at
``2 x spinal distance / cv + turnaround + distal latency``. Some stimuli have none.
:func:`simulate_f_waves` returns recorded trains (mV), the noiseless trains and the
**noiseless truth** of each stimulus' F-wave, defined as
:func:`nerveconduct.measure.fwave.measure_f_waves` defines it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._checks import check_number
from ..measure.fwave import F_MIN_AMPLITUDE_UV, F_ONSET_THRESHOLD_UV
from ._args import _number, rng_from_seed
from ._muap import MUAP_WIDTHS_MS, draw_population, muap_templates, render_cmaps, unit_latencies_ms
from ._truth import negative_peak_amplitude
from .nerve import _fill_recording

__all__ = ["SimulatedFWaves", "FWaveTruth", "simulate_f_waves", "f_wave_truth"]

#: Spread (SD, ms) of the motor neuron's turnaround time from stimulus to stimulus.
TURNAROUND_SD_MS: float = 0.05


@dataclasses.dataclass(frozen=True, eq=False)
class FWaveTruth:
    """Noiseless truth of simulated F-wave trains.

    Per stimulus, shape ``(n_stimuli,)`` or ``(N, n_stimuli)``; per train ``()`` or ``(N,)``.

    Attributes
    ----------
    f_latency_ms : ndarray
        F latency of each stimulus (ms): onset of its F-wave, as measured (the deflection
        that first reaches half of ``F_MIN_AMPLITUDE_UV``, back to its 20 uV departure);
        NaN: no F-wave (no unit backfired, or their sum stays under 40 uV peak-to-peak).
    f_amplitude_uv : ndarray
        Peak-to-peak of the F component (uV; 0 when no unit backfired).
    n_backfiring : ndarray of int
        Motor units backfiring on each stimulus.
    minimal_latency_ms, mean_latency_ms, chronodispersion_ms, persistence_pct : ndarray
        Per train, from ``f_latency_ms`` (NaN latencies when the train has no F-wave).
    m_wave_end_ms : ndarray
        End of the noiseless M-wave (ms from the stimulus; last non-zero sample).
    """

    f_latency_ms: np.ndarray
    f_amplitude_uv: np.ndarray
    n_backfiring: np.ndarray
    minimal_latency_ms: np.ndarray
    mean_latency_ms: np.ndarray
    chronodispersion_ms: np.ndarray
    persistence_pct: np.ndarray
    m_wave_end_ms: np.ndarray

    def latencies_or_none(self) -> list:
        """Per-stimulus F latencies as Python floats, None for a stimulus without F-wave
        (nested per train when the batch has trains)."""
        lat = np.asarray(self.f_latency_ms)
        return np.where(np.isnan(lat), None, lat).tolist()


@dataclasses.dataclass(frozen=True, eq=False)
class SimulatedFWaves:
    """Simulated F-wave study: one train or a batch of trains.

    Attributes
    ----------
    traces, noiseless : ndarray, shape (n_stimuli, n_samples) or (N, n_stimuli, n_samples)
        Recorded and noiseless responses (mV, physical polarity).
    sampling_rate_hz : float
    stimulus_sample : int
    truth : FWaveTruth
    parameters : dict
        The call's arguments and ``seed_used``.
    """

    traces: np.ndarray
    noiseless: np.ndarray
    sampling_rate_hz: float
    stimulus_sample: int
    truth: FWaveTruth
    parameters: dict[str, Any]


def f_wave_truth(f_only_mv: np.ndarray, sampling_rate_hz: float,
                 stimulus_sample: int) -> tuple[np.ndarray, np.ndarray]:
    """F latency (ms, NaN: none) and peak-to-peak (uV) of noiseless F components ``(M, n)``."""
    v = np.asarray(f_only_mv, dtype=np.float64)
    a = np.abs(v)
    p2p = v.max(axis=1) - v.min(axis=1)
    half = 0.5 * F_MIN_AMPLITUDE_UV / 1000.0
    thr = F_ONSET_THRESHOLD_UV / 1000.0
    big = a >= half
    k1 = np.where(big.any(axis=1), big.argmax(axis=1), 0)
    idx = np.arange(v.shape[1])[None, :]
    below = (a < thr) & (idx < k1[:, None])
    j = np.where(below.any(axis=1), v.shape[1] - 1 - below[:, ::-1].argmax(axis=1), 0)
    aj = np.take_along_axis(a, j[:, None], 1)[:, 0]
    aj1 = np.take_along_axis(a, np.minimum(j + 1, v.shape[1] - 1)[:, None], 1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = j + (thr - aj) / (aj1 - aj)
    present = p2p >= F_MIN_AMPLITUDE_UV / 1000.0
    lat = np.where(present, (pos - stimulus_sample) * 1000.0 / sampling_rate_hz, np.nan)
    return lat, p2p * 1000.0


def _int(name: str, value: Any, low: int, allow_none: bool = False) -> int | None:
    return check_number(name, value, minimum=low, integer=True, allow_none=allow_none)


def simulate_f_waves(
    *,
    n_trains: int | None = None,
    n_stimuli: int = 20,
    n_units: int = 150,
    cv_mean_m_s: float = 55.0,
    cv_sd_m_s: float = 5.0,
    distal_distance_mm: float = 70.0,
    spinal_distance_mm: float = 650.0,
    turnaround_ms: float = 1.0,
    m_amplitude_mv: float = 8.0,
    backfiring_units_mean: float = 1.6,
    noise_uv_rms: float = 10.0,
    artifact_mv: float = 3.0,
    hum_uv: float = 0.0,
    hum_hz: float = 50.0,
    drift_uv: float = 0.0,
    sampling_rate_hz: float = 20000.0,
    sweep_ms: float = 60.0,
    pre_stimulus_ms: float = 5.0,
    dtype="float64",
    seed=None,
) -> SimulatedFWaves:
    """Simulate trains of M-waves and F-waves from a motor-unit population, with the truth.

    Parameters
    ----------
    n_trains : int, optional
        None: one train, traces ``(n_stimuli, n_samples)``; N: N independent nerves,
        traces ``(N, n_stimuli, n_samples)``.
    n_stimuli : int
        Stimuli per train (>= 1).
    n_units, cv_mean_m_s, cv_sd_m_s :
        Motor units and their conduction velocities (m/s), as in
        :func:`~nerveconduct.simulate.nerve.simulate_nerve`.
    distal_distance_mm : float
        Stimulation point to the recording electrode (mm, > 0).
    spinal_distance_mm : float
        Stimulation point to the motor neurons (mm, > 0): the F-wave travels it twice.
    turnaround_ms : float
        Motor neuron turnaround (ms, >= 0); each backfiring adds N(0, 0.05 ms) jitter.
    m_amplitude_mv : float
        Noiseless M-wave negative-peak amplitude (mV, > 0); F-waves are the same units'
        potentials at the same scale.
    backfiring_units_mean : float
        Mean number of units backfiring per stimulus (Poisson, >= 0): a stimulus has none
        with probability ``exp(-mean)`` (20 % for 1.6); 0 = absent F-waves.
    noise_uv_rms, artifact_mv, hum_uv, hum_hz, drift_uv :
        Recording imperfections (uV RMS, mV, uV, Hz, uV) as in ``simulate_nerve``.
    sampling_rate_hz : float
        Sampling rate (Hz, >= 1000).
    sweep_ms, pre_stimulus_ms : float
        Trace length and pre-stimulus baseline (ms).
    dtype : {"float64", "float32"}
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Same seed, same arrays (numpy ``default_rng``).

    Returns
    -------
    SimulatedFWaves

    Raises
    ------
    ValueError
        An invalid argument (named, value echoed, allowed range said), or a sweep too
        short for the F-waves of the slowest units.

    Examples
    --------
    >>> sim = simulate_f_waves(n_stimuli=10, seed=1)
    >>> sim.traces.shape
    (10, 1200)
    >>> bool(22.0 < sim.truth.minimal_latency_ms < 32.0)
    True
    """
    p: dict[str, Any] = {
        "n_trains": _int("n_trains", n_trains, 1, allow_none=True),
        "n_stimuli": _int("n_stimuli", n_stimuli, 1), "n_units": _int("n_units", n_units, 1)}
    for name, value, low, low_open, high, allowed in (
            ("cv_mean_m_s", cv_mean_m_s, 15.0, True, 200.0, "in (15, 200] m/s"),
            ("cv_sd_m_s", cv_sd_m_s, 0.0, False, 50.0, "in [0, 50] m/s"),
            ("distal_distance_mm", distal_distance_mm, 0.0, True, None, "> 0 mm"),
            ("spinal_distance_mm", spinal_distance_mm, 0.0, True, None, "> 0 mm"),
            ("turnaround_ms", turnaround_ms, 0.0, False, None, ">= 0 ms"),
            ("m_amplitude_mv", m_amplitude_mv, 0.0, True, None, "> 0 mV"),
            ("backfiring_units_mean", backfiring_units_mean, 0.0, False, None, ">= 0 units"),
            ("noise_uv_rms", noise_uv_rms, 0.0, False, None, ">= 0 uV"),
            ("artifact_mv", artifact_mv, 0.0, False, None, ">= 0 mV"),
            ("hum_uv", hum_uv, 0.0, False, None, ">= 0 uV"),
            ("drift_uv", drift_uv, 0.0, False, None, ">= 0 uV"),
            ("sampling_rate_hz", sampling_rate_hz, 1000.0, False, None, ">= 1000 Hz"),
            ("sweep_ms", sweep_ms, 0.0, True, None, "> 0 ms"),
            ("pre_stimulus_ms", pre_stimulus_ms, 0.0, False, None, ">= 0 ms")):
        p[name] = _number(name, value, low=low, low_open=low_open, high=high, allowed=allowed)
    fs = p["sampling_rate_hz"]
    p["hum_hz"] = _number("hum_hz", hum_hz, low=0.0, low_open=True, high=fs / 2,
                          allowed=f"in (0, {fs / 2:g}] Hz (the Nyquist frequency)")
    if dtype not in ("float64", "float32", np.float64, np.float32):
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
    p["dtype"] = np.dtype(dtype).name
    n_samples = round(p["sweep_ms"] * fs / 1000.0)
    stim = round(p["pre_stimulus_ms"] * fs / 1000.0)
    cv_slow = max(p["cv_mean_m_s"] - 2.0 * p["cv_sd_m_s"], 15.0)
    need_ms = ((2.0 * p["spinal_distance_mm"] + p["distal_distance_mm"]) / cv_slow
               + p["turnaround_ms"] + 2.9 + 0.4 * max(MUAP_WIDTHS_MS))
    if (n_samples - 1 - stim) * 1000.0 / fs < need_ms:
        raise ValueError(f"sweep_ms={sweep_ms!r} with pre_stimulus_ms={pre_stimulus_ms!r} is "
                         f"too short: the F-waves need about {need_ms:.1f} ms after the "
                         f"stimulus; use sweep_ms >= {p['pre_stimulus_ms'] + need_ms:.1f}")

    rng, seed_used = rng_from_seed(seed)
    n_batch = 1 if p["n_trains"] is None else p["n_trains"]
    n_stim, n_u = p["n_stimuli"], p["n_units"]
    pop = draw_population(rng, n_batch, n_u, 1, p["cv_mean_m_s"], p["cv_sd_m_s"], {})
    templates = muap_templates(MUAP_WIDTHS_MS, fs)
    per_ms = fs / 1000.0
    m_lat = unit_latencies_ms(pop["cv_m_s"], pop["residual_ms"], (p["distal_distance_mm"],),
                              {}, 1.0)[:, 0, :]
    m_win, m_lo = render_cmaps(stim + m_lat * per_ms, pop["size"], pop["width_class"],
                               templates, n_samples)
    scale = p["m_amplitude_mv"] / negative_peak_amplitude(m_win)
    m_win *= scale[:, None]
    m_wave = np.zeros((n_batch, n_samples))
    m_wave[:, m_lo:m_lo + m_win.shape[1]] = m_win
    nz = m_wave != 0.0
    m_end_ms = (n_samples - 1 - nz[:, ::-1].argmax(axis=1) - stim) / per_ms

    # backfiring: a Poisson number of distinct units per stimulus, chosen uniformly
    count = np.minimum(rng.poisson(p["backfiring_units_mean"], (n_batch, n_stim)), n_u)
    keys = rng.random((n_batch, n_stim, n_u))
    rank = np.argsort(np.argsort(keys, axis=-1), axis=-1)
    fires = rank < count[..., None]
    jitter = rng.normal(0.0, TURNAROUND_SD_MS, (n_batch, n_stim, n_u))
    f_lat = (m_lat + 2.0 * p["spinal_distance_mm"] / pop["cv_m_s"]
             + p["turnaround_ms"])[:, None, :] + jitter
    weights = np.where(fires, (pop["size"] * scale[:, None])[:, None, :], 0.0)
    classes = np.broadcast_to(pop["width_class"][:, None, :], fires.shape)
    f_only = np.zeros((n_batch * n_stim, n_samples))
    f_win, f_lo = render_cmaps((stim + f_lat * per_ms).reshape(-1, n_u),
                               weights.reshape(-1, n_u), classes.reshape(-1, n_u), templates,
                               n_samples)
    f_only[:, f_lo:f_lo + f_win.shape[1]] = f_win
    lat, p2p = f_wave_truth(f_only, fs, stim)
    lat, p2p = lat.reshape(n_batch, n_stim), p2p.reshape(n_batch, n_stim)
    found = np.isfinite(lat)
    n_f = found.sum(axis=1)
    with np.errstate(invalid="ignore"):
        lo = np.where(n_f > 0, np.where(found, lat, np.inf).min(axis=1), np.nan)
        hi = np.where(n_f > 0, np.where(found, lat, -np.inf).max(axis=1), np.nan)
        mean = np.where(n_f > 0, np.where(found, lat, 0.0).sum(axis=1) / np.maximum(n_f, 1),
                        np.nan)
    truth = {"f_latency_ms": lat, "f_amplitude_uv": p2p, "n_backfiring": count.astype(np.int64),
             "minimal_latency_ms": lo, "mean_latency_ms": mean, "chronodispersion_ms": hi - lo,
             "persistence_pct": 100.0 * n_f / n_stim, "m_wave_end_ms": m_end_ms}

    clean = m_wave[:, None, :] + f_only.reshape(n_batch, n_stim, n_samples)
    traces = np.empty((n_batch, n_stim, n_samples), dtype=p["dtype"])
    _fill_recording(rng, traces, {**p, "stimulus_sample": stim})
    traces += clean.astype(p["dtype"])
    noiseless = clean.astype(p["dtype"])
    if p["n_trains"] is None:
        traces, noiseless = traces[0], noiseless[0]
        truth = {key: val[0] for key, val in truth.items()}
    p.update(seed=seed if seed is None or seed_used == seed else repr(seed), seed_used=seed_used)
    return SimulatedFWaves(traces=traces, noiseless=noiseless, sampling_rate_hz=fs,
                           stimulus_sample=stim, truth=FWaveTruth(**truth), parameters=p)
