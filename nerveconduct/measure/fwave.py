"""Vectorized F-wave measurement: minimal/mean latency, persistence, chronodispersion.

:func:`measure_f_waves` takes trains of responses to repeated supramaximal stimuli, shape
``(..., n_stimuli, n_samples)`` in mV, and returns a :class:`FWaveMeasures` of read-only
arrays: per train (batch shape ``...``) the minimal and mean F latency, persistence,
chronodispersion, the three states (measured / sought and absent / not studied), and per
stimulus (``(..., n_stimuli)``) each F latency and peak-to-peak amplitude.

The per-train loop is compiled with numba on first use (``cache=True``; numba is imported
lazily so that ``import nerveconduct`` stays fast) and runs on a thread pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .._checks import check_number
from ..constants import REFERENCE_ONSET_THRESHOLD_MV
from ..flags import MeasureFlag
from ._fwave_kernel import kernel as _kernel
from ._batch import run_in_chunks
from .cmap import CHUNK_BYTES, _check_rate, _check_stimulus, _check_threads, _check_traces

__all__ = ["FWaveMeasures", "measure_f_waves", "F_WAVE_FIELDS", "F_ONSET_THRESHOLD_UV",
           "F_MIN_AMPLITUDE_UV", "MIN_STIMULI_ASSESSABLE", "FEW_STIMULI", "NO_M_WAVE"]

#: F-wave onset: departure from baseline by this much (uV), the CMAP's reference 20 uV.
F_ONSET_THRESHOLD_UV: float = REFERENCE_ONSET_THRESHOLD_MV * 1000.0
#: Smallest peak-to-peak deflection counted as an F-wave (uV).
F_MIN_AMPLITUDE_UV: float = 40.0
#: Fewest measured stimuli for a train's verdict ("absent", or its minimal latency): with
#: fewer, the train is not assessable (``studied`` False, flag :data:`FEW_STIMULI`). F-waves
#: are intermittent (persistence ~50-100 % in healthy hand muscles), so a train of 1-2
#: stimuli without one says nothing, and a minimal latency over a few stimuli is too long.
#: Fisher et al. (Muscle Nerve 1994;17:1185-1189, "Normative F wave values and the number of
#: recorded F waves"; abstract read from a public copy: confirmed) found 10 stimuli give
#: latencies within 1 ms of the 100-stimulus values, and persistences; 20 for mean latency
#: within 0.5 ms. Textbooks (Preston & Shapiro, Electromyography and Neuromuscular
#: Disorders) recommend 10-20 stimuli: recalled, secondary.
MIN_STIMULI_ASSESSABLE: int = 10
#: Flag bit of a train with fewer than :data:`MIN_STIMULI_ASSESSABLE` measured stimuli.
FEW_STIMULI: int = int(MeasureFlag.FEW_STIMULI)
#: Flag bit of a train without an M-wave (flat or noise only: no stimulus evoked a motor
#: response, so it cannot show F-waves): not assessable, never "absent".
NO_M_WAVE: int = int(MeasureFlag.NO_M_WAVE)

# Method constants (times in ms).
SMOOTH_HALF_MS = 0.1       #: half-width of the box smoother (0.2 ms box)
DETECT_NOISE = 5.0         #: an F-wave's peak-to-peak must also exceed this many x noise
ONSET_NOISE = 3.0          #: the onset level is at least this many x the smoothed noise
M_SKIP_MS = 1.0            #: the M-wave peak is searched from this long after the stimulus
M_QUIET_MS = 1.0           #: the M-wave has ended when the train's mean stays quiet this long
M_BAND_NOISE = 4.0         #: ... within this many x the mean's smoothed noise ...
M_BAND_DETECT = 0.25       #: ... or this fraction of the F detection level, if larger
M_GUARD_MS = 1.0           #: the F window starts this long after the M-wave's end
MIN_WINDOW_MS = 2.0        #: a shorter F window makes the train UNMEASURABLE
F_SPAN_MS = 5.0            #: an F-wave's first deflection: the detection level within this ...
SPIKE_NOISE = 5.0          #: ... or this many x the smoothed noise (else: a noise spike)
MIN_BASE_SAMPLES = 20      #: fewer pre-stimulus samples: SHORT_BASELINE (tail baseline)
TAIL_FRACTION = 0.10       #: the tail used as baseline then

_TRAIN_FIELDS = ("minimal_latency_ms", "mean_latency_ms", "maximal_latency_ms",
                 "chronodispersion_ms", "persistence_pct", "n_f_waves", "n_stimuli_measured",
                 "m_wave_end_ms", "window_end_ms", "noise_uv", "studied", "absent", "flags")
_STIM_FIELDS = ("latencies_ms", "amplitudes_uv")
#: Every field of :class:`FWaveMeasures`, in order.
F_WAVE_FIELDS = _TRAIN_FIELDS + _STIM_FIELDS


@dataclass(frozen=True, eq=False, repr=False)
class FWaveMeasures:
    """F-wave measures of a batch of trains; read-only arrays.

    Per train (batch shape ``...``):

    Attributes
    ----------
    minimal_latency_ms, mean_latency_ms, maximal_latency_ms : ndarray of float
        Shortest, mean and longest F latency over the train's F-waves (ms from stimulus).
    chronodispersion_ms : ndarray of float
        Maximal minus minimal F latency (ms).
    persistence_pct : ndarray of float
        F-waves per 100 measured stimuli (%).
    n_f_waves, n_stimuli_measured : ndarray of int
        Stimuli with an F-wave; stimuli measured (all-finite traces).
    m_wave_end_ms : ndarray of float
        Where the M-wave (and its after-potentials) ended; the F window starts
        ``M_GUARD_MS`` later (or at ``m_wave_end_ms`` when given to the call).
    window_end_ms : ndarray of float
        Where the F window ends (ms after the stimulus: the sweep's end less the smoother's
        half-width); NaN when no window was searched (UNMEASURABLE). "Absent" means none in
        the window: an F-wave later than its end cannot be seen, so whether the window
        reaches the nerve's plausible F latencies is the caller's check (the analysis
        core's: a window ending before the nerve's F-wave ULN makes absence not assessable).
    noise_uv : ndarray of float
        Median over the stimuli of the baseline RMS noise (uV).
    studied : ndarray of bool
        F-waves were sought and the train is assessable: an F window exists, at least
        ``min_stimuli`` stimuli were measured and an M-wave shows that the stimuli evoked a
        motor response. False = "not studied" (UNMEASURABLE: every measure NaN, counts 0) or
        "not assessable" (FEW_STIMULI, NO_M_WAVE: the per-train measures are given for
        information only; neither "absent" nor a minimal latency is a verdict).
        ``absent`` is False either way.
    absent : ndarray of bool
        Sought over at least ``min_stimuli`` measured stimuli and none found (ABSENT):
        latencies NaN, persistence 0.
    flags : ndarray of int
        :class:`nerveconduct.flags.MeasureFlag` bits: ABSENT, UNMEASURABLE (not studied),
        FEW_STIMULI (:data:`FEW_STIMULI`; fewer than ``min_stimuli`` measured stimuli),
        NO_M_WAVE (:data:`NO_M_WAVE`; the train's mean never reaches the F detection level
        from 1 ms after the stimulus: no motor response, so no F-waves can be seen),
        NAN_SAMPLES (stimuli with non-finite samples were left out), SHORT_BASELINE,
        ARTIFACT_OVERLAP (no quiet run after the M-wave: window from the sweep's middle).

    Per stimulus (``(..., n_stimuli)``):

    latencies_ms : ndarray of float
        F latency (onset) of each stimulus' F-wave; NaN: no F-wave or not measured.
    amplitudes_uv : ndarray of float
        Peak-to-peak amplitude of that F-wave (uV); NaN likewise.
    """

    minimal_latency_ms: np.ndarray
    mean_latency_ms: np.ndarray
    maximal_latency_ms: np.ndarray
    chronodispersion_ms: np.ndarray
    persistence_pct: np.ndarray
    n_f_waves: np.ndarray
    n_stimuli_measured: np.ndarray
    m_wave_end_ms: np.ndarray
    window_end_ms: np.ndarray
    noise_uv: np.ndarray
    studied: np.ndarray
    absent: np.ndarray
    flags: np.ndarray
    latencies_ms: np.ndarray
    amplitudes_uv: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.studied)
        for f in fields(self):
            arr = np.asarray(getattr(self, f.name)).view()
            want = arr.shape[:-1] if f.name in _STIM_FIELDS else arr.shape
            if want != shape:
                raise ValueError(f"FWaveMeasures field {f.name!r} has shape {arr.shape}; the "
                                 f"batch shape is {shape}")
            arr.flags.writeable = False
            object.__setattr__(self, f.name, arr)

    @property
    def shape(self) -> tuple[int, ...]:
        """Batch shape (the trains' shape without the stimulus and time axes)."""
        return self.studied.shape

    def __repr__(self) -> str:
        return (f"FWaveMeasures(shape={self.shape}, studied={int(self.studied.sum())}, "
                f"absent={int(self.absent.sum())})")

    def f_wave_latency_ms(self) -> list[float | None]:
        """Minimal F latency per train (C order) in the model's convention.

        Returns
        -------
        list of float or None
            None: not studied; NaN: sought and absent; else the minimal latency (ms), as
            ``NerveStudy.f_wave_latency_ms`` and the criteria expect.
        """
        return [None if not s else (math.nan if a else float(v)) for s, a, v in zip(
            np.ravel(self.studied).tolist(), np.ravel(self.absent).tolist(),
            np.ravel(self.minimal_latency_ms).tolist())]


def _check_uv(name: str, value: Any) -> float:
    return check_number(name, value, unit="uV", minimum=0, inclusive=(False, True))


def measure_f_waves(traces: Any, sampling_rate_hz: float, *, stimulus_sample: int = 0,
                    m_wave_end_ms: float | None = None,
                    min_amplitude_uv: float = F_MIN_AMPLITUDE_UV,
                    onset_threshold_uv: float = F_ONSET_THRESHOLD_UV,
                    min_stimuli: int = MIN_STIMULI_ASSESSABLE,
                    n_threads: int | None = None) -> FWaveMeasures:
    """Measure the F-waves of trains of responses to repeated supramaximal stimuli.

    Parameters
    ----------
    traces : array_like, shape (..., n_stimuli, n_samples), float32 or float64
        One trace per stimulus (mV, single sweeps, the stimulus at ``stimulus_sample``);
        ``...`` is the batch of trains. A stimulus with any non-finite sample is left out
        (NAN_SAMPLES); a train with no finite stimulus is "not studied".
    sampling_rate_hz : float
        Sampling rate (Hz), > 0.
    stimulus_sample : int, default 0
        Index of the stimulus; earlier samples are each trace's baseline.
    m_wave_end_ms : float, optional
        Start of the F window (ms after the stimulus), when known; default: found per
        train (see Notes). Must lie inside the sweep: ``[0, sweep after the stimulus)``.
    min_amplitude_uv : float, default ``F_MIN_AMPLITUDE_UV`` (40 uV)
        Smallest peak-to-peak F-wave (uV); the level is raised to 5 x the noise if higher.
    onset_threshold_uv : float, default ``F_ONSET_THRESHOLD_UV`` (20 uV)
        Departure from baseline that defines the F-wave's onset (uV).
    min_stimuli : int, default ``MIN_STIMULI_ASSESSABLE`` (10)
        Fewest measured stimuli for a verdict ("absent" or a minimal latency); a train with
        fewer is not assessable (``studied`` False, FEW_STIMULI), >= 1.
    n_threads : int or None, default None
        Threads measuring chunks of the batch (None: one per core).

    Returns
    -------
    FWaveMeasures

    Raises
    ------
    ValueError
        ``traces`` not a float array of at least two dimensions, or with no stimulus or no
        sample; bad ``sampling_rate_hz``, ``stimulus_sample``, ``m_wave_end_ms``,
        ``min_amplitude_uv``, ``onset_threshold_uv``, ``min_stimuli`` or ``n_threads`` (the
        message names the allowed range).

    Notes
    -----
    Definitions (AANEM glossary [1]; Fisher [2]; Panayiotopoulos & Chroni [3]): the
    **F latency** of a response is the interval from the stimulus to the F-wave's onset;
    the **minimal F latency** is the shortest over the train (the value criteria use), the
    **mean latency** their mean; **persistence** is the percentage of stimuli followed by an
    F-wave; **chronodispersion** is the longest minus the shortest F latency. F-waves that
    are sought and not found are "absent", distinct from "not studied".

    1. Baseline and noise of each stimulus: mean and RMS of the pre-stimulus samples (the
       last 10 % of the sweep with fewer than 20: SHORT_BASELINE).
    2. M-wave end (unless ``m_wave_end_ms``): on the train's baseline-corrected mean (the
       M-wave is the same every time; F-waves, scattered in time, average out), box-smoothed
       over 0.2 ms, the M-wave's peak is the largest deflection from 1 ms after the stimulus;
       it has ended at the first sample after that peak from which the mean stays within
       ``max(4 x its smoothed noise, 0.25 x the F detection level)`` for 1 ms. The F window
       starts 1 ms later, after the after-potentials have settled.
    3. An F-wave: in the window, the box-smoothed trace's peak-to-peak reaches
       ``max(min_amplitude_uv, 5 x noise)``. Its onset: from the first sample at half that
       level that belongs to the F-wave (within 5 ms it reaches the detection level peak to
       peak, or deviates by more than 5 x the smoothed noise; a lone noise spike before the
       F-wave does not: at 10 kHz one crossed half the level 17 ms before the F-wave), back
       to where the deflection falls under ``max(onset_threshold_uv, 3 x smoothed noise)``,
       linearly interpolated.
    4. A verdict needs at least ``min_stimuli`` measured stimuli (:data:`MIN_STIMULI_ASSESSABLE`):
       a shorter train is not assessable (``studied`` False, FEW_STIMULI), never "absent".
    5. A verdict needs an M-wave: an F-wave is a motor response's backfiring, so a train
       whose box-smoothed mean stays under the F detection level ``max(min_amplitude_uv,
       5 x noise)`` from 1 ms after the stimulus (flat, or noise only: no stimulus evoked a
       motor response) is not assessable (``studied`` False, NO_M_WAVE), never "absent"
       (inferred from the definition [1]: the M-wave and the F-wave come from the same
       supramaximal stimulus; a fixed ``m_wave_end_ms`` does not skip this check).
    6. "Absent" means no F-wave in the window ``[m_wave_end_ms + guard, window_end_ms)``;
       this function does not know the nerve, so a sweep too short for the nerve's F
       latencies is the caller's check (``window_end_ms``; the analysis core compares it
       with the nerve's F-wave ULN).

    Repeater F-waves and A-waves (constant latency, same shape) are counted as F-waves.
    Accuracy against :func:`nerveconduct.simulate.fwave.simulate_f_waves` is checked in
    ``tests/test_measure_fwave.py``.

    References
    ----------
    .. [1] AANEM glossary of terms in neuromuscular and electrodiagnostic medicine
       (American Association of Neuromuscular & Electrodiagnostic Medicine, 2015):
       "F wave", "F wave latency", "F wave persistence", "F wave chronodispersion".
    .. [2] Fisher MA. AAEM Minimonograph #13: H reflexes and F waves: physiology and
       clinical indications. Muscle Nerve 1992;15:1223-1233.
    .. [3] Panayiotopoulos CP, Chroni E. F-waves in clinical neurophysiology: a review,
       methodological issues and overall value in peripheral neuropathies.
       Electroencephalogr Clin Neurophysiol 1996;101:365-374.
    """
    arr = _check_traces(traces)
    if arr.ndim < 2:
        raise ValueError(f"traces must have shape (..., n_stimuli, n_samples), at least 2 "
                         f"dimensions; got shape {arr.shape}")
    if arr.shape[-2] == 0 or arr.shape[-1] == 0:  # the model's rule (NerveStudy f_wave_traces)
        raise ValueError(f"traces must hold at least one stimulus and one sample, got shape "
                         f"{arr.shape}")
    fs_hz = _check_rate(sampling_rate_hz)
    n_samples = arr.shape[-1]
    stim = _check_stimulus(stimulus_sample, n_samples)
    min_amp = _check_uv("min_amplitude_uv", min_amplitude_uv)
    onset_uv = _check_uv("onset_threshold_uv", onset_threshold_uv)
    least = int(check_number("min_stimuli", min_stimuli, minimum=1, integer=True))
    threads = _check_threads(n_threads)
    per_ms = fs_hz / 1000.0
    sweep_after_ms = (n_samples - stim) / per_ms
    w_fixed = -1
    if m_wave_end_ms is not None:
        m_wave_end_ms = check_number("m_wave_end_ms", m_wave_end_ms, unit="ms", minimum=0,
                                     maximum=sweep_after_ms, inclusive=(True, False),
                                     allow_none=True)
        w_fixed = stim + int(math.ceil(m_wave_end_ms * per_ms))

    def samples(ms: float, minimum: int) -> int:
        return max(minimum, int(round(ms * per_ms)))

    h = samples(SMOOTH_HALF_MS, 1)
    tail = max(MIN_BASE_SAMPLES, int((n_samples - stim) * TAIL_FRACTION))
    cfg = np.array([1.0 / per_ms, min_amp / 1000.0, onset_uv / 1000.0, tail,
                    samples(M_SKIP_MS, 2), samples(M_QUIET_MS, 4), samples(M_GUARD_MS, 0),
                    samples(MIN_WINDOW_MS, 20), MIN_BASE_SAMPLES, DETECT_NOISE, ONSET_NOISE,
                    M_BAND_NOISE, M_BAND_DETECT, samples(F_SPAN_MS, 2), SPIKE_NOISE])
    batch = arr.shape[:-2]
    n_stim = arr.shape[-2]
    n_trains = math.prod(batch)
    x3 = np.ascontiguousarray(arr.reshape(n_trains, n_stim, n_samples))
    lat = np.full((n_trains, n_stim), np.nan)
    amp = np.full((n_trains, n_stim), np.nan)
    train = np.full((3, n_trains), np.nan)
    train[2] = int(MeasureFlag.UNMEASURABLE)
    finite = np.zeros((n_trains, n_stim), dtype=bool)  # stimuli measured (all samples finite)
    if n_trains and n_stim and n_samples > 2 * h + 1:
        kernel = _kernel()
        rows = max(1, CHUNK_BYTES // max(1, n_stim * n_samples * x3.itemsize))

        def work(lo: int, hi: int) -> None:
            kernel(x3[lo:hi], stim, h, w_fixed, cfg, lat[lo:hi], amp[lo:hi], train[:, lo:hi],
                   finite[lo:hi])

        run_in_chunks(n_trains, rows, threads, work)
    return _assemble(lat, amp, train, finite, batch, n_stim, per_ms, stim, least,
                     (n_samples - h - stim) / per_ms)


def _assemble(lat, amp, train, finite, batch, n_stim, per_ms, stim, least,
              window_end_ms) -> FWaveMeasures:
    flags = train[2].astype(np.int64)
    sought = (flags & int(MeasureFlag.UNMEASURABLE)) == 0
    measured = np.where(sought, finite.sum(axis=-1), 0)
    few = sought & (measured < least)  # not assessable: no verdict, only the flag
    flags = np.where(few, (flags & ~int(MeasureFlag.ABSENT)) | FEW_STIMULI, flags)
    no_m = (flags & NO_M_WAVE) != 0  # no motor response: it cannot show F-waves
    flags = np.where(no_m, flags & ~int(MeasureFlag.ABSENT), flags)
    studied = sought & ~few & ~no_m
    found = np.isfinite(lat)
    n_f = found.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(n_f > 0, np.nanmin(np.where(found, lat, np.inf), axis=-1), np.nan)
        hi = np.where(n_f > 0, np.nanmax(np.where(found, lat, -np.inf), axis=-1), np.nan)
        mean = np.where(n_f > 0, np.where(found, lat, 0.0).sum(axis=-1) / n_f, np.nan)
        pers = np.where(sought, 100.0 * n_f / measured, np.nan)
    m_end = (train[0] - stim) / per_ms
    out = {"minimal_latency_ms": lo, "mean_latency_ms": mean, "maximal_latency_ms": hi,
           "chronodispersion_ms": hi - lo, "persistence_pct": pers,
           "n_f_waves": n_f.astype(np.int64), "n_stimuli_measured": measured.astype(np.int64),
           "m_wave_end_ms": np.where(sought, m_end, np.nan),
           "window_end_ms": np.where(sought, window_end_ms, np.nan), "noise_uv": train[1] * 1000.0,
           "studied": studied, "absent": studied & (n_f == 0), "flags": flags}
    cols = {k: np.asarray(v).reshape(batch) for k, v in out.items()}
    return FWaveMeasures(**cols, latencies_ms=lat.reshape(batch + (n_stim,)),
                         amplitudes_uv=(amp * 1000.0).reshape(batch + (n_stim,)))
