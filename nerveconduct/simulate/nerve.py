"""Physiological CMAP simulator: motor-unit populations conducted along a nerve, with ground truth.

A CMAP is the sum of motor-unit potentials (MUAPs); each simulated unit has its own conduction
velocity, terminal latency and size. Stimulating further up the nerve adds per-unit segment
delays, so the CMAP disperses (phase cancellation): the physics behind temporal dispersion
versus conduction block. :func:`simulate_nerve` returns recorded traces (noise, hum, drift,
stimulus artifact, clipping), the noiseless traces and their **noiseless truth**, defined as
the measurement core defines its measures (:mod:`nerveconduct.constants`). Motor-unit
numerics live in :mod:`nerveconduct.simulate._muap`, the argument checks in :mod:`nerveconduct.simulate._args`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.signal

from ._muap import MUAP_WIDTHS_MS, draw_population, muap_templates, render_nerves, segment_truth
from ._args import rng_from_seed, validated
from ._series import (SimulatedSeries, distal_recruited_fraction, draw_thresholds, render_series,
                      validated_series)

__all__ = ["SimulatedNerve", "SimulationTruth", "SimulatedSeries", "simulate_nerve"]

#: Time constant of the stimulus artifact (ms): it is under 3 uV per mV of artifact by 1.5 ms.
ARTIFACT_TAU_MS: float = 0.15

_CHUNK_TRACES = 4096  # traces rendered per chunk (bounds the temporary memory)


@dataclasses.dataclass(frozen=True, eq=False)
class SimulationTruth:
    """Noiseless truth of a simulation, computed from ``noiseless`` (baseline exactly 0).

    Per-site fields are shaped ``(n_sites,)`` for one nerve or ``(N, n_sites)``; per-segment
    fields ``(..., n_sites - 1)``; per-nerve fields ``()`` or ``(N,)``. Latencies in ms from the
    stimulus, crossings linearly interpolated between samples. NaN where a measure does not
    exist: every measure of an absent response (``present`` False), durations and area when
    the return to baseline lies beyond the sweep.

    Attributes
    ----------
    present : ndarray of bool
        The CMAP departs from baseline by ``REFERENCE_ONSET_THRESHOLD_MV`` (20 uV).
    onset_latency_ms : ndarray
        First time ``|v| >= 0.020`` mV.
    negative_peak_latency_ms, negative_peak_amplitude_mv : ndarray
        Negative peak (parabolic interpolation); amplitude baseline to peak, positive (mV).
    peak_to_peak_amplitude_mv : ndarray
        Negative peak to the following positive peak (mV).
    negative_peak_duration_ms, negative_peak_area_mv_ms : ndarray
        Onset to the first baseline crossing after the negative peak; integral of ``-v``
        over that interval (mV·ms, positive).
    cmap_duration_ms : ndarray
        Onset to the return to baseline after the last local minimum at least
        ``CMAP_DURATION_PEAK_FRACTION`` (10 %) of the amplitude deep.
    n_units_present : ndarray of int
        Motor units conducting to the site (not blocked distal to it).
    conduction_velocity_m_s, segment_conduction_velocity_m_s : ndarray
        Segment length / onset-latency difference (m/s): per site (NaN at site 0) and per
        segment ``(..., n_sites - 1)``.
    segment_fastest_cv_m_s : ndarray
        Fastest unit conducting through each segment (m/s, segmental slowing included).
    fastest_cv_m_s : ndarray
        Fastest unit of the nerve (m/s, before segmental slowing); per nerve.
    terminal_latency_index : ndarray
        ``distances_mm[0] / (segment_conduction_velocity_m_s[0] * onset_latency_ms[0])``;
        per nerve (NaN with one site).
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
    """Simulated motor nerve-conduction study: one nerve or a batch of independent nerves.

    Attributes
    ----------
    traces : ndarray, shape (n_sites, n_samples) or (N, n_sites, n_samples)
        Recorded traces (mV, physical polarity: the CMAP's first phase is negative).
    noiseless : ndarray, same shape
        The CMAPs alone (no noise, hum, drift, artifact or clipping; high-pass filtered when a
        low-frequency filter is set); exactly 0 until the first unit's potential begins.
    sampling_rate_hz : float
    stimulus_sample : int
        Index of the stimulus; earlier samples are baseline.
    distances_mm, site_names : tuple
        Machine-convention distances (mm) and site names, distal first.
    nerve, side, muscle : str
    truth : SimulationTruth
    parameters : dict
        The call's arguments (normalized) and ``seed_used`` (reproduces the run).
    stimulation_series : dict of int to SimulatedSeries
        Per site given in ``intensity_series``: its CMAPs at each intensity, with truth
        (empty without ``intensity_series``).
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
    stimulation_series: dict[int, SimulatedSeries] = dataclasses.field(default_factory=dict)

    @property
    def time_ms(self) -> np.ndarray:
        """Time of each sample from the stimulus (ms), shape ``(n_samples,)``."""
        n_samples = self.traces.shape[-1]
        return (np.arange(n_samples) - self.stimulus_sample) * 1000.0 / self.sampling_rate_hz

    def to_studies(self) -> list:
        """One :class:`nerveconduct.model.NerveStudy` per nerve (a list of one for a single
        nerve), with physical polarity, the stimulus sample and the low-frequency filter; a
        site with an intensity series gets it (``stimulation_series``) and its last intensity
        as ``stimulus_intensity_ma``."""
        from .. import model  # lazy: the simulator itself needs no model
        from ..model.motor import StimulationSeries

        traces = self.traces if self.traces.ndim == 3 else self.traces[None]
        series = self.stimulation_series
        sites = [model.Site(name, dist, series[k].intensities_ma[-1] if k in series else None)
                 for k, (name, dist) in enumerate(zip(self.site_names, self.distances_mm))]
        seed = self.parameters.get("seed_used")
        prefix = "sim" if seed is None else f"sim-{seed}"
        return [model.NerveStudy(
            self.nerve, self.side, self.muscle, sites, nerve_traces, self.sampling_rate_hz,
            stimulus_sample=self.stimulus_sample, polarity="physical",
            low_frequency_filter_hz=self.parameters.get("low_frequency_filter_hz"),
            study_id=f"{prefix}-{i}",
            stimulation_series={k: StimulationSeries(s.intensities_ma, s.traces if s.traces.ndim == 2 else s.traces[i])
                                for k, s in series.items()} or None)
            for i, nerve_traces in enumerate(traces)]


# --------------------------------------------------------------------------- recording
def _fill_recording(rng: np.random.Generator, out: np.ndarray, cfg: dict[str, Any]) -> None:
    """Write noise + hum + drift + stimulus artifact (mV) into ``out`` (..., n_samples)."""
    n_samples = out.shape[-1]
    flat = out.reshape(-1, n_samples)  # a view: ``out`` is C-contiguous
    m_traces = flat.shape[0]
    fs, stim, dtype = cfg["sampling_rate_hz"], cfg["stimulus_sample"], out.dtype
    if cfg["noise_uv_rms"] > 0:
        rng.standard_normal(dtype=dtype, out=flat)
        flat *= dtype.type(cfg["noise_uv_rms"] / 1000.0)
    else:
        flat[...] = 0.0
    if cfg["hum_uv"] > 0:
        phase = rng.uniform(0.0, 2.0 * np.pi, (m_traces, 1))
        arg = 2.0 * np.pi * cfg["hum_hz"] * np.arange(n_samples) / fs
        flat += (cfg["hum_uv"] / 1000.0) * (np.cos(phase) * np.sin(arg)
                                            + np.sin(phase) * np.cos(arg))
    if cfg["drift_uv"] > 0:  # random offset + Legendre degrees 1..3, peak |drift| = drift_uv
        basis = np.polynomial.legendre.legvander(np.linspace(-1.0, 1.0, n_samples), 3).T
        drift = rng.standard_normal((m_traces, 4)) @ basis
        peak = np.abs(drift).max(axis=1, keepdims=True)
        flat += drift * (cfg["drift_uv"] / 1000.0 / np.where(peak > 0, peak, 1.0))
    if cfg["artifact_mv"] > 0 and stim < n_samples:
        n_art = min(n_samples - stim, int(np.ceil(3.0 * fs / 1000.0)) + 1)
        t_ms = np.arange(n_art) * 1000.0 / fs
        spike = (1.0 - 2.0 * t_ms / ARTIFACT_TAU_MS) * np.exp(-t_ms / ARTIFACT_TAU_MS)
        sign = np.where(rng.random((m_traces, 1)) < 0.5, -1.0, 1.0)
        flat[:, stim:stim + n_art] += cfg["artifact_mv"] * sign * spike


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
    intensity_series: dict[int, Any] | None = None,
    threshold_ma: Any = 10.0,
) -> SimulatedNerve:
    """Simulate motor nerve-conduction traces from motor-unit populations, with their truth.

    Parameters
    ----------
    distances_mm : sequence of float
        One value per site (mm): ``[0]`` distal stimulation point to active electrode,
        ``[k > 0]`` length of segment ``k`` from site ``k-1`` to site ``k``.
    site_names : sequence of str, optional
        Default: the nerve's usual sites (median: wrist, elbow, axilla, Erb's point; ulnar,
        fibular, tibial likewise), or "site 1", "site 2"... when there are more sites.
    nerve, side, muscle : str
        Labels carried into the result and :meth:`SimulatedNerve.to_studies`.
    n_nerves : int, optional
        None: one nerve, traces ``(n_sites, n_samples)``; N: N independent motor-unit
        populations with the same parameters, traces ``(N, n_sites, n_samples)``.
    n_units : int
        Motor units per nerve.
    cv_mean_m_s, cv_sd_m_s : float
        Per-unit conduction velocity (m/s): normal, truncated to [15, mean + 4 SD].
    distal_amplitude_mv : float
        Noiseless distal negative-peak amplitude (mV) of a supramaximal distal stimulus
        (every conducting unit excited); each nerve's unit sizes are scaled to it (the truth
        reports the actual values at every site). A distal ``intensity_series`` that stops
        short of the plateau gives a smaller (submaximal) distal CMAP; the other sites keep
        theirs.
    block : dict {int: float}, optional
        ``{k: fraction}``: a random ``round(fraction * n)`` of the ``n`` units conducting
        through segment ``k`` (between sites ``k-1`` and ``k``) are blocked there: absent at
        sites ``>= k``.
    segment_slowing : dict {int: float}, optional
        ``{k: factor >= 1}``: velocities in segment ``k`` divided by ``factor``.
    distal_slowing : float
        Factor >= 1 on the terminal conduction time and residual delay (anti-MAG pattern:
        2-3 gives a terminal latency index ~0.12-0.18; 1 gives ~0.3-0.35).
    noise_uv_rms : float
        White Gaussian noise (uV RMS).
    hum_uv, hum_hz : float
        Mains hum: peak amplitude (uV) and frequency (Hz); random phase per trace.
    drift_uv : float
        Baseline drift: random offset + cubic over the sweep, peak ``drift_uv`` (uV).
    artifact_mv : float
        Stimulus artifact peak (mV; 0 = off): a biphasic spike from the stimulus sample,
        random sign, decaying with a 0.15 ms time constant (< 3 uV per mV after 1.5 ms).
    clip_mv : float, optional
        Amplifier rails: recorded traces are clipped to ``[-clip_mv, clip_mv]`` (mV).
    low_frequency_filter_hz : float, optional
        First-order causal high-pass on the whole signal, noiseless traces included (Hz).
    sampling_rate_hz : float
        Sampling rate (Hz, >= 1000).
    sweep_ms, pre_stimulus_ms : float
        Trace length and pre-stimulus baseline (ms); ``stimulus_sample =
        round(pre_stimulus_ms * sampling_rate_hz / 1000)``.
    dtype : {"float64", "float32"}
        Type of ``traces`` and ``noiseless`` (the truth is computed in float64).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator, optional
        Same seed, same arrays. None draws fresh entropy, kept in
        ``parameters["seed_used"]`` to reproduce the run.
    intensity_series : dict {int: sequence of float}, optional
        ``{k: intensities}``: site ``k`` stimulated at these increasing intensities (mA),
        one CMAP each (:attr:`SimulatedNerve.stimulation_series`); the site's own trace is
        its response at the last intensity, so a series that stops short of the plateau
        gives a submaximal site CMAP (a false block). Without it nothing changes (every unit
        is excited; the random draws are those of earlier versions).
    threshold_ma : float or sequence of float
        Median motor-unit threshold at each site (mA; one value or one per site): every
        unit is excited from 1.57 times it (:mod:`nerveconduct.simulate._series`). Used
        with ``intensity_series`` only.

    Returns
    -------
    SimulatedNerve

    Raises
    ------
    ValueError
        An invalid argument (the message names it, echoes the value and says what is
        allowed), or a sweep too short for the distal CMAP. Proximal responses running past
        the sweep are kept truncated, with NaN truth where a measure falls outside it
        (``present`` False if nothing reaches 20 uV inside the sweep).

    Notes
    -----
    Unit ``i``'s latency at site ``k`` is ``distal_slowing * (d_0 / cv_i + r_i) +
    sum_{j=1..k} d_j * slowing_j / cv_i`` with residual delay ``r_i`` ~ N(2.4, 0.15) ms;
    its MUAP is a compact biphasic potential (negative phase 4.0-5.1 ms, total 11, 12.5 or
    14 ms). Sizes are deposited linearly at the fractional latencies and convolved with the
    MUAPs by FFT in a short window per site (cost independent of units x samples). Defaults
    give a wrist CMAP with onset ~3.4 ms, negative-peak duration ~4.8 ms, total duration
    ~13 ms, forearm onset CV ~63 m/s (~7 % below the fastest of 150 units from N(55, 5),
    ~68 m/s) and TLI ~0.32.

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
    p = validated({k: v for k, v in locals().items() if k != "seed"})
    rng, seed_used = rng_from_seed(seed)
    distances, n_sites = p["distances_mm"], len(p["distances_mm"])
    p["intensity_series"], p["threshold_ma"] = validated_series(intensity_series, threshold_ma, n_sites)
    n_batch = 1 if n_nerves is None else p["n_nerves"]
    n_samples, fs = p["n_samples"], p["sampling_rate_hz"]
    pop = draw_population(rng, n_batch, p["n_units"], n_sites, p["cv_mean_m_s"],
                          p["cv_sd_m_s"], p["block"])
    if p["intensity_series"]:  # recruitment: each series' site excited at its last intensity
        conducting, factor = pop["present"].copy(), draw_thresholds(rng, n_batch, p["n_units"])
        for k, steps in p["intensity_series"].items():
            pop["present"][:, k, :] &= factor * p["threshold_ma"][k] <= steps[-1]
    templates = muap_templates(MUAP_WIDTHS_MS, fs)
    lff = p["low_frequency_filter_hz"]
    filt = None if lff is None else scipy.signal.butter(1, lff, btype="highpass", fs=fs)
    traces = np.empty((n_batch, n_sites, n_samples), dtype=p["dtype"])
    noiseless = np.zeros((n_batch, n_sites, n_samples), dtype=p["dtype"])
    site_truth: dict[str, list[np.ndarray]] = {}
    chunk = max(1, _CHUNK_TRACES // n_sites)
    fraction = None  # a distal series short of the plateau: its CMAP is the submaximal one
    if 0 in p["intensity_series"]:
        fraction = distal_recruited_fraction(pop, conducting, p, templates, filt)
    for first in range(0, n_batch, chunk):
        sl = slice(first, min(n_batch, first + chunk))
        p_sl = p if fraction is None else dict(p, distal_amplitude_mv=p["distal_amplitude_mv"] * fraction[sl])
        for key, val in render_nerves(pop, sl, p_sl, templates, filt, noiseless[sl]).items():
            site_truth.setdefault(key, []).append(val)
        _fill_recording(rng, traces[sl], p)
        if filt is not None:
            traces[sl] = scipy.signal.lfilter(*filt, traces[sl], axis=-1)
        traces[sl] += noiseless[sl]
        if p["clip_mv"] is not None:
            np.clip(traces[sl], -p["clip_mv"], p["clip_mv"], out=traces[sl])

    series = {}
    if p["intensity_series"]:
        rendered = render_series(pop, conducting, factor, p, templates, filt, p["intensity_series"],
                                 p["threshold_ma"])
        series = {k: _recorded_series(rng, clean.astype(p["dtype"]), truth, p, filt, k, n_nerves is None)
                  for k, (clean, truth) in rendered.items()}
    site = {k: np.concatenate(v) for k, v in site_truth.items()}
    truth = SimulationTruth(**site, **segment_truth(site["onset_latency_ms"], pop, distances,
                                                    p["segment_slowing"]))
    if n_nerves is None:
        traces, noiseless = traces[0], noiseless[0]
        truth = SimulationTruth(**{f.name: getattr(truth, f.name)[0]
                                   for f in dataclasses.fields(SimulationTruth)})
    parameters = {k: v for k, v in p.items() if k not in ("n_samples", "stimulus_sample")}
    parameters.update(distances_mm=list(distances), site_names=list(p["site_names"]),
                      block=p["block"] or None, segment_slowing=p["segment_slowing"] or None,
                      intensity_series=p["intensity_series"] or None,
                      threshold_ma=list(p["threshold_ma"]) if p["intensity_series"] else None,
                      seed=seed if seed is None or seed_used == seed else repr(seed),
                      seed_used=seed_used)
    return SimulatedNerve(traces=traces, noiseless=noiseless, sampling_rate_hz=fs,
                          stimulus_sample=p["stimulus_sample"], distances_mm=distances,
                          site_names=p["site_names"], nerve=nerve, side=side, muscle=muscle,
                          truth=truth, parameters=parameters, stimulation_series=series)


def _recorded_series(rng: np.random.Generator, clean: np.ndarray, truth: dict, p: dict, filt,
                     site: int, single: bool) -> SimulatedSeries:
    """A series' recorded traces (the study's noise, artifact, filter and clipping added)."""
    traces = np.empty_like(clean)
    _fill_recording(rng, traces, p)
    if filt is not None:
        traces = scipy.signal.lfilter(*filt, traces, axis=-1).astype(clean.dtype)
    traces += clean
    if p["clip_mv"] is not None:
        np.clip(traces, -p["clip_mv"], p["clip_mv"], out=traces)
    pick = (lambda a: a[0]) if single else (lambda a: a)
    return SimulatedSeries(p["intensity_series"][site], pick(traces), pick(clean),
                           pick(truth["negative_peak_amplitude_mv"]), pick(truth["n_units_recruited"]),
                           pick(truth["maximal"]), p["threshold_ma"][site])
