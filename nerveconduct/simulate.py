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

from ._muap import muap_templates, negative_peak_amplitude, render_cmaps, truth_measures

__all__ = ["SimulatedNerve", "SimulationTruth", "simulate_nerve"]

#: Lower truncation of the per-unit conduction velocity distribution (m/s).
CV_FLOOR_M_S: float = 15.0
#: Per-unit neuromuscular/residual delay (ms): mean, SD and clip range (before distal slowing).
RESIDUAL_DELAY_MS: tuple[float, float, float, float] = (2.6, 0.35, 1.8, 3.6)
#: MUAP width classes (total duration, ms) and their probabilities.
MUAP_WIDTHS_MS: tuple[float, ...] = (11.0, 12.5, 14.0)
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


# --------------------------------------------------------------------------- public API
def simulate_nerve(
    distances_mm=(70.0, 200.0),
    *,
    site_names=None,
    nerve: str = "median",
    side: str = "right",
    muscle: str = "APB",
    n_nerves: int | None = None,
    n_units: int = 150,
    cv_mean_m_s: float = 55.0,
    cv_sd_m_s: float = 5.0,
    distal_amplitude_mv: float = 8.0,
    block: dict[int, float] | None = None,
    segment_slowing: dict[int, float] | None = None,
    distal_slowing: float = 1.0,
    noise_uv_rms: float = 10.0,
    hum_uv: float = 0.0,
    hum_hz: float = 50.0,
    drift_uv: float = 0.0,
    artifact_mv: float = 3.0,
    clip_mv: float | None = None,
    low_frequency_filter_hz: float | None = None,
    sampling_rate_hz: float = 20000.0,
    sweep_ms: float = 50.0,
    pre_stimulus_ms: float = 5.0,
    dtype="float64",
    seed=None,
) -> SimulatedNerve:
    """Simulate motor nerve-conduction traces from motor-unit populations, with their truth.

    Parameters
    ----------
    distances_mm : sequence of float
        Machine convention: ``[0]`` distal stimulation point to active electrode (mm);
        ``[k > 0]`` length of segment ``k`` from site ``k-1`` to site ``k`` (mm). One site per
        element.
    site_names : sequence of str, optional
        Default: the usual sites of ``nerve`` (median: wrist, elbow, axilla, Erb's point), or
        ``"site 1"``, ``"site 2"``... when there are more sites than names.
    nerve, side, muscle : str
        Labels carried into the result and :meth:`SimulatedNerve.to_studies`.
    n_nerves : int, optional
        None: one nerve, traces ``(n_sites, n_samples)``. N: N independent motor-unit
        populations with the same parameters, traces ``(N, n_sites, n_samples)``.
    n_units : int
        Motor units per nerve (>= 1).
    cv_mean_m_s, cv_sd_m_s : float
        Per-unit conduction velocity, normal truncated to [15, mean + 4 SD] m/s.
    distal_amplitude_mv : float
        Noiseless negative-peak amplitude of the distal CMAP (mV): unit sizes are scaled per
        nerve so that it is met (``truth`` reports the actual values).
    block : dict {int: float}, optional
        ``{segment: fraction}``: in segment ``k`` (between sites ``k-1`` and ``k``) a random
        ``round(fraction * n)`` of the ``n`` units still conducting there are blocked; they
        are absent at sites ``>= k``. Fractions in [0, 1].
    segment_slowing : dict {int: float}, optional
        ``{segment: factor >= 1}``: velocities in that segment divided by ``factor``.
    distal_slowing : float
        Factor >= 1 on the terminal conduction time and residual delay (anti-MAG pattern:
        2-3 gives a terminal latency index ~0.15-0.2; 1 gives ~0.3-0.4).
    noise_uv_rms : float
        White Gaussian noise (uV RMS).
    hum_uv, hum_hz : float
        Mains hum: peak amplitude (uV) and frequency (Hz) of a sinusoid with random phase.
    drift_uv : float
        Baseline drift: a random offset + cubic polynomial over the sweep, peak ``drift_uv`` (uV).
    artifact_mv : float
        Stimulus artifact peak (mV; 0 = off): a biphasic spike at the stimulus sample with
        random sign, decaying with a 0.15 ms time constant (under 3 uV per mV by 1.5 ms).
    clip_mv : float, optional
        Amplifier rails: recorded traces are clipped to ``[-clip_mv, clip_mv]`` (mV).
    low_frequency_filter_hz : float, optional
        First-order (causal) high-pass applied to the whole signal, noiseless traces included.
    sampling_rate_hz : float
        Sampling rate (Hz, >= 1000).
    sweep_ms, pre_stimulus_ms : float
        Trace length and pre-stimulus baseline (ms); ``stimulus_sample =
        round(pre_stimulus_ms * sampling_rate_hz / 1000)``.
    dtype : {"float64", "float32"}
        Data type of ``traces`` and ``noiseless`` (truth is always computed in float64).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Same seed, same arrays. None draws fresh entropy, recorded in
        ``parameters["seed_used"]`` so the run can be reproduced.

    Returns
    -------
    SimulatedNerve
        Traces, noiseless traces and :class:`SimulationTruth`.

    Raises
    ------
    ValueError
        For an invalid argument (the message names it, echoes the value and says what is
        allowed), or a sweep too short for the distal CMAP. Proximal responses that do not
        fit in the sweep are kept truncated: their truth is NaN where the measure falls
        outside the sweep (``present`` False if nothing reaches 20 uV inside it).

    Notes
    -----
    Unit ``i``'s latency at site ``k`` is ``distal_slowing * (d_0 / cv_i + r_i)`` plus
    ``sum_{j=1..k} d_j * slowing_j / cv_i``, with ``r_i`` the residual delay (normal 2.2 ms,
    SD 0.25 ms). MUAPs are compactly supported biphasic potentials (negative phase one third
    of a 10.5 / 12 / 13.5 ms potential). Rendering deposits each unit's size linearly onto
    the two samples around its latency and convolves by FFT, so the cost is independent of
    the number of units times samples.

    Examples
    --------
    >>> sim = simulate_nerve((70.0, 200.0), seed=1)
    >>> sim.traces.shape, sim.site_names
    ((2, 1000), ('wrist', 'elbow'))
    >>> round(float(sim.truth.negative_peak_amplitude_mv[0]), 6)
    8.0
    >>> bool(0.25 < sim.truth.terminal_latency_index < 0.45)
    True
    """
    distances = _distances(distances_mm)
    n_sites = len(distances)
    for name, val in (("nerve", nerve), ("side", side), ("muscle", muscle)):
        if not isinstance(val, str) or not val:
            raise ValueError(f"{name} must be a non-empty string; got {val!r}")
    names = _site_names(site_names, nerve, n_sites)
    batch = n_nerves is not None
    n_batch = _integer("n_nerves", n_nerves, low=1, allowed="None or an integer >= 1") \
        if batch else 1
    n_units = _integer("n_units", n_units, low=1, allowed="an integer >= 1")
    cv_mean = _number("cv_mean_m_s", cv_mean_m_s, low=CV_FLOOR_M_S, low_open=True, high=200.0,
                      allowed=f"in ({CV_FLOOR_M_S:g}, 200] m/s")
    cv_sd = _number("cv_sd_m_s", cv_sd_m_s, low=0.0, high=50.0, allowed="in [0, 50] m/s")
    target = _number("distal_amplitude_mv", distal_amplitude_mv, low=0.0, low_open=True,
                     allowed="> 0 mV")
    blocks = _segment_map("block", block, n_sites, lambda n, v: _number(
        n, v, low=0.0, high=1.0, allowed="a fraction of units lost in [0, 1]"))
    slowing = _segment_map("segment_slowing", segment_slowing, n_sites, lambda n, v: _number(
        n, v, low=1.0, allowed="a slowing factor >= 1"))
    distal_slow = _number("distal_slowing", distal_slowing, low=1.0, allowed="a factor >= 1")
    fs = _number("sampling_rate_hz", sampling_rate_hz, low=1000.0, allowed=">= 1000 Hz")
    cfg = {
        "noise_uv_rms": _number("noise_uv_rms", noise_uv_rms, low=0.0, allowed=">= 0 uV"),
        "hum_uv": _number("hum_uv", hum_uv, low=0.0, allowed=">= 0 uV"),
        "hum_hz": _number("hum_hz", hum_hz, low=0.0, low_open=True, high=fs / 2.0,
                          allowed=f"in (0, {fs / 2.0:g}] Hz (the Nyquist frequency)"),
        "drift_uv": _number("drift_uv", drift_uv, low=0.0, allowed=">= 0 uV"),
        "artifact_mv": _number("artifact_mv", artifact_mv, low=0.0, allowed=">= 0 mV"),
        "sampling_rate_hz": fs,
    }
    clip = None if clip_mv is None else _number("clip_mv", clip_mv, low=0.0, low_open=True,
                                                allowed="None or > 0 mV")
    lff = None if low_frequency_filter_hz is None else _number(
        "low_frequency_filter_hz", low_frequency_filter_hz, low=0.0, low_open=True,
        high=fs / 2.0 * 0.99, allowed=f"None or in (0, {fs / 2.0 * 0.99:g}) Hz")
    pre = _number("pre_stimulus_ms", pre_stimulus_ms, low=0.0, allowed=">= 0 ms")
    sweep = _number("sweep_ms", sweep_ms, low=0.0, low_open=True, allowed="> 0 ms")
    try:
        out_dtype = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}") from exc
    if out_dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
    n_samples = int(round(sweep * fs / 1000.0))
    stim = int(round(pre * fs / 1000.0))
    cfg["stimulus_sample"] = stim
    r_mean = RESIDUAL_DELAY_MS[0]
    need_ms = (distal_slow * (distances[0] / max(cv_mean - 2.0 * cv_sd, CV_FLOOR_M_S) + r_mean)
               + max(MUAP_WIDTHS_MS))
    if (n_samples - 1 - stim) * 1000.0 / fs < need_ms:
        raise ValueError(
            f"sweep_ms={sweep_ms!r} with pre_stimulus_ms={pre_stimulus_ms!r} is too short: the "
            f"distal CMAP needs about {need_ms:.1f} ms after the stimulus; use sweep_ms >= "
            f"{pre + need_ms + 1000.0 / fs:.1f} (responses at proximal sites may end after the "
            "sweep; their truth is then NaN where a measure falls outside it)")

    if isinstance(seed, np.random.Generator):
        rng, seed_used = seed, None
    elif seed is None:
        seq = np.random.SeedSequence()
        rng, seed_used = np.random.default_rng(seq), seq.entropy
    elif isinstance(seed, np.random.SeedSequence):
        rng, seed_used = np.random.default_rng(seed), seed.entropy
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        rng, seed_used = np.random.default_rng(int(seed)), int(seed)
    else:
        raise ValueError("seed must be None, an integer >= 0, a numpy SeedSequence or a numpy "
                         f"Generator; got {seed!r}")

    cv, residual, size, classes, alive = _draw_population(
        rng, n_batch, n_units, n_sites, cv_mean, cv_sd, blocks)
    templates = muap_templates(MUAP_WIDTHS_MS, fs)
    filt = scipy.signal.butter(1, lff, btype="highpass", fs=fs) if lff is not None else None
    traces = np.empty((n_batch, n_sites, n_samples), dtype=out_dtype)
    noiseless = np.empty_like(traces)
    site_truth: dict[str, np.ndarray] = {}
    chunk = max(1, _CHUNK_TRACES // n_sites)
    for start in range(0, n_batch, chunk):
        sl = slice(start, min(n_batch, start + chunk))
        n_here = sl.stop - sl.start
        lat = _latencies(cv[sl], residual[sl], distances, slowing, distal_slow)
        positions = stim + lat * (fs / 1000.0)
        weights = size[sl][:, None, :] * alive[sl]
        cls = np.broadcast_to(classes[sl][:, None, :], lat.shape)
        clean = render_cmaps(positions.reshape(-1, n_units), weights.reshape(-1, n_units),
                             cls.reshape(-1, n_units), templates, n_samples)
        if filt is not None:
            clean = scipy.signal.lfilter(*filt, clean, axis=-1)
        clean = clean.reshape(n_here, n_sites, n_samples)
        clean *= (target / negative_peak_amplitude(clean[:, 0, :]))[:, None, None]
        for key, val in truth_measures(clean.reshape(-1, n_samples), fs, stim).items():
            site_truth.setdefault(key, []).append(val.reshape(n_here, n_sites))
        noiseless[sl] = clean
        extra = _recording_extras(rng, clean.shape, cfg, out_dtype)
        if extra is not None and filt is not None:
            extra = scipy.signal.lfilter(*filt, extra, axis=-1).astype(out_dtype)
        recorded = noiseless[sl] if extra is None else noiseless[sl] + extra
        if clip is not None:
            recorded = np.clip(recorded, -clip, clip)
        traces[sl] = recorded

    truth = _assemble_truth({k: np.concatenate(v) for k, v in site_truth.items()}, alive, cv,
                            distances, slowing)
    parameters = {
        "distances_mm": list(distances), "site_names": list(names), "nerve": nerve,
        "side": side, "muscle": muscle, "n_nerves": n_nerves, "n_units": n_units,
        "cv_mean_m_s": cv_mean, "cv_sd_m_s": cv_sd, "distal_amplitude_mv": target,
        "block": blocks or None, "segment_slowing": slowing or None,
        "distal_slowing": distal_slow, "noise_uv_rms": cfg["noise_uv_rms"],
        "hum_uv": cfg["hum_uv"], "hum_hz": cfg["hum_hz"], "drift_uv": cfg["drift_uv"],
        "artifact_mv": cfg["artifact_mv"], "clip_mv": clip, "low_frequency_filter_hz": lff,
        "sampling_rate_hz": fs, "sweep_ms": sweep, "pre_stimulus_ms": pre,
        "dtype": out_dtype.name, "seed": seed if seed is None or seed_used == seed else repr(seed),
        "seed_used": seed_used,
    }
    if not batch:
        traces, noiseless = traces[0], noiseless[0]
        truth = SimulationTruth(**{f.name: getattr(truth, f.name)[0]
                                   for f in dataclasses.fields(SimulationTruth)})
    return SimulatedNerve(traces=traces, noiseless=noiseless, sampling_rate_hz=fs,
                          stimulus_sample=stim, distances_mm=distances, site_names=names,
                          nerve=nerve, side=side, muscle=muscle, truth=truth,
                          parameters=parameters)


def _assemble_truth(site: dict[str, np.ndarray], alive, cv, distances, slowing):
    """Add the per-site unit counts, segment velocities and TLI to the per-site measures."""
    n_sites = len(distances)
    onset = site["onset_latency_ms"]
    with np.errstate(invalid="ignore", divide="ignore"):
        dt = np.diff(onset, axis=-1)
        seg_cv = np.where(dt > 0, np.asarray(distances[1:]) / dt, np.nan)
    nan_col = np.full(onset.shape[:-1] + (1,), np.nan)
    seg_factor = np.array([slowing.get(k, 1.0) for k in range(1, n_sites)])
    through = alive[:, 1:, :]  # units conducting through segment k reach site k
    fastest_seg = np.where(through, cv[:, None, :], -np.inf).max(axis=-1) / seg_factor
    fastest_seg = np.where(np.isfinite(fastest_seg), fastest_seg, np.nan)
    if n_sites > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            tli = distances[0] / (seg_cv[:, 0] * onset[:, 0])
    else:
        tli = np.full(onset.shape[0], np.nan)
    return SimulationTruth(
        present=site["present"].astype(bool),
        onset_latency_ms=onset,
        negative_peak_latency_ms=site["negative_peak_latency_ms"],
        negative_peak_amplitude_mv=site["negative_peak_amplitude_mv"],
        peak_to_peak_amplitude_mv=site["peak_to_peak_amplitude_mv"],
        negative_peak_duration_ms=site["negative_peak_duration_ms"],
        negative_peak_area_mv_ms=site["negative_peak_area_mv_ms"],
        cmap_duration_ms=site["cmap_duration_ms"],
        n_units_present=alive.sum(axis=-1).astype(np.int64),
        conduction_velocity_m_s=np.concatenate([nan_col, seg_cv], axis=-1),
        segment_conduction_velocity_m_s=seg_cv,
        segment_fastest_cv_m_s=fastest_seg,
        fastest_cv_m_s=cv.max(axis=-1),
        terminal_latency_index=tli,
    )
