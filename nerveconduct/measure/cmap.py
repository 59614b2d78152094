"""Vectorized CMAP measurement core: every per-trace measure of a batch of motor responses.

:func:`measure_cmap` takes traces of any batch shape ``(..., n_samples)`` (mV) and returns a
:class:`CmapMeasures` of read-only arrays with the batch shape: onset and negative-peak
latencies (ms from the stimulus), negative-peak and peak-to-peak amplitudes (mV),
negative-peak duration and area, CMAP duration, baseline, noise, presence and quality flags
(:class:`nerveconduct.flags.MeasureFlag`).

The numeric core knows nothing of nerves, files or plots. The algorithm lives once, in the
compiled kernel :mod:`nerveconduct.measure._kernels` (numba, imported on first use so that
``import nerveconduct`` stays fast); this module checks the arguments, cuts the batch into
cache-sized chunks and runs them on a thread pool (the kernel releases the GIL).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._checks import check_number, check_option, check_range_of
from ..constants import CMAP_DURATION_PEAK_FRACTION, REFERENCE_ONSET_THRESHOLD_MV
from ..flags import MeasureFlag
from ._batch import BatchMeasures, run_in_chunks
from ..model import POLARITIES  # allowed values of ``polarity`` (the model's ground floor)

__all__ = ["CmapMeasures", "measure_cmap", "CMAP_MEASURE_FIELDS", "POLARITIES", "LANDMARKS",
           "kernel_cache_ready"]


# Method constants (documented in measure_cmap's Notes; times in ms).
BASELINE_MIN_SAMPLES = 20      #: fewer pre-stimulus samples -> SHORT_BASELINE
BASELINE_MIN_MS = 1.0          #: ... or a shorter pre-stimulus time
TAIL_FRACTION = 0.10           #: tail used as baseline when the pre-stimulus part is short
MIN_POST_MS = 2.0              #: shortest measurable post-stimulus part (also >= 20 samples)
SMOOTH_HALF_MS = 0.1           #: half-width of the box smoother (0.2 ms box)
PEAK_FIT_HALF_MS = 0.4         #: half-width of the least-squares parabola at the peaks
ONSET_FIT_HALF_MS = 0.3        #: ... and at the onset crossing
FIT_TOLERANCE_NOISE = 2.0      #: a parabola whose RMS residual exceeds this x noise is not used
ARTIFACT_BAND_NOISE = 4.0      #: artifact has ended within this many x noise ...
ARTIFACT_BAND_FLOOR_MV = 0.02  #: ... (or this floor, mV)
ARTIFACT_RUN_MS = 0.2          #: ... for this long (at least 3 samples)
ARTIFACT_PEAK_WINDOW_MS = 0.5  #: the artifact's peak is looked for this soon after the stimulus
ARTIFACT_MAX_TAU_MS = 0.5      #: slowest credible exponential decay of the artifact tail
DETECT_NOISE = 5.0             #: negative peak must be this many x noise deep ...
DETECT_FLOOR_MV = 0.05         #: ... and at least this deep (mV)
MIN_WIDTH_MS = 0.5             #: ... for at least this long at half that depth
LOW_SNR_NOISE = 10.0           #: amplitude under this many x noise -> LOW_SNR
DURATION_NOISE = 5.0           #: a late negative peak counts if this many x smoothed noise deep
LOCAL_BASELINE_MS = 1.0        #: window of the local (pre-take-off) baseline ...
LOCAL_GUARD_MS = 0.5           #: ... ending at least this long before the 10 % crossing
LOCAL_BASELINE_K = 4.0         #: ... used when it differs from baseline by this many SE
LOCAL_BASELINE_MIN_MV = 0.005  #: ... and by at least this much (mV)
MAX_GAP_MS = 0.25              #: longest run of NaN samples filled by interpolation
ALT_ONSET_NOISE = 3.0          #: second onset: band of this many x smoothed noise ...
ALT_ONSET_RUN_MS = 0.5         #: ... left for at least this long (>= 3 samples)
ONSET_DISAGREE_MS = 0.3        #: the two onsets further apart than this: ONSETS_DISAGREE
CHUNK_BYTES = 1 << 21          #: input bytes per chunk given to one thread (2 MiB)

#: Names of the float measures, in the order of the kernel's output rows.
_FLOAT_FIELDS = ("onset_latency_ms", "negative_peak_latency_ms", "negative_peak_amplitude_mv",
                 "peak_to_peak_amplitude_mv", "negative_peak_duration_ms",
                 "negative_peak_area_mv_ms", "cmap_duration_ms", "baseline_mv", "noise_mv",
                 "negative_end_latency_ms", "positive_peak_latency_ms", "onset_alt_latency_ms")
#: Landmarks ``measure_cmap`` accepts hand-set (times, ms) and the "absent" mask, in the
#: order of the kernel's landmark columns (the same names as the markers file's kinds).
LANDMARKS = ("onset", "negative_peak", "negative_end", "positive_peak", "absent")
#: Every field of :class:`CmapMeasures`, in order.
CMAP_MEASURE_FIELDS = _FLOAT_FIELDS + ("present", "flags")


@dataclass(frozen=True, eq=False, repr=False)
class CmapMeasures(BatchMeasures):
    """Per-trace CMAP measures of a batch; every field is a read-only array of the batch shape.

    Attributes
    ----------
    onset_latency_ms : ndarray of float
        Stimulus to the CMAP's departure from baseline (ms).
    negative_peak_latency_ms : ndarray of float
        Stimulus to the negative peak (ms).
    negative_peak_amplitude_mv : ndarray of float
        Baseline to negative peak (mV, positive).
    peak_to_peak_amplitude_mv : ndarray of float
        Negative peak to the following positive peak (mV).
    negative_peak_duration_ms : ndarray of float
        Onset to the first baseline crossing after the negative peak (ms).
    negative_peak_area_mv_ms : ndarray of float
        Area between baseline and trace over that interval (mV·ms, positive).
    cmap_duration_ms : ndarray of float
        Onset of the first negative peak to the return to baseline of the last one (ms;
        EFNS/PNS 2010, EAN/PNS 2021 "distal CMAP duration").
    baseline_mv : ndarray of float
        Baseline the measures refer to (mV, physical polarity): the pre-stimulus mean, or the
        local pre-take-off level when it differs significantly (hum, drift; see Notes).
    noise_mv : ndarray of float
        RMS of the baseline about its level (mV).
    negative_end_latency_ms : ndarray of float
        Stimulus to the end of the negative phase: its return to baseline after the negative
        peak (ms; where the negative-peak duration and area end).
    positive_peak_latency_ms : ndarray of float
        Stimulus to the positive peak that follows the negative one (ms).
    onset_alt_latency_ms : ndarray of float
        The second onset detector's onset (ms; a sustained departure from the baseline by
        3 x its smoothed RMS, :mod:`nerveconduct.measure._onset`); ONSETS_DISAGREE when it differs from
        ``onset_latency_ms`` by more than 0.3 ms.
    present : ndarray of bool
        A response was found and measured. False (ABSENT or UNMEASURABLE): the measures
        above, but baseline and noise, are NaN. When present, a measure is NaN only where it
        does not exist (no return to baseline within the sweep; an onset hidden by the
        stimulus artifact, ARTIFACT_OVERLAP).
    flags : ndarray of int
        Bitmask of :class:`nerveconduct.flags.MeasureFlag`.

    Examples
    --------
    >>> import numpy as np
    >>> m = CmapMeasures(**{f: np.zeros(2) for f in CMAP_MEASURE_FIELDS})
    >>> len(m), len(m[:1]), m.shape
    (2, 1, (2,))
    """

    onset_latency_ms: np.ndarray
    negative_peak_latency_ms: np.ndarray
    negative_peak_amplitude_mv: np.ndarray
    peak_to_peak_amplitude_mv: np.ndarray
    negative_peak_duration_ms: np.ndarray
    negative_peak_area_mv_ms: np.ndarray
    cmap_duration_ms: np.ndarray
    baseline_mv: np.ndarray
    noise_mv: np.ndarray
    negative_end_latency_ms: np.ndarray
    positive_peak_latency_ms: np.ndarray
    onset_alt_latency_ms: np.ndarray
    present: np.ndarray
    flags: np.ndarray


# --------------------------------------------------------------------------- arguments
def _check_traces(traces: Any) -> np.ndarray:
    arr = np.asarray(traces)
    if arr.dtype.kind == "f" and arr.dtype.itemsize in (4, 8) and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # e.g. big-endian data from a file
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"traces must be a float32 or float64 array (mV); got dtype "
                         f"{arr.dtype} (convert to float first, scaling counts to mV)")
    if arr.ndim == 0:
        raise ValueError("traces must have shape (..., n_samples), at least one dimension; "
                         "got a scalar")
    return arr


def _check_rate(sampling_rate_hz: Any) -> float:
    return check_range_of("sampling_rate_hz", sampling_rate_hz)


def _check_stimulus(stimulus_sample: Any, n_samples: int) -> int:
    return check_number("stimulus_sample", stimulus_sample,
                        minimum=0, maximum=max(n_samples - 1, 0), integer=True)


def _check_polarity(polarity: Any) -> float:
    return 1.0 if check_option("polarity", polarity, POLARITIES) == "physical" else -1.0


def _check_onset(onset_threshold_mv: Any) -> float:
    return check_number("onset_threshold_mv", onset_threshold_mv, unit="mV", minimum=0,
                        inclusive=(False, True))


def _check_threads(n_threads: Any) -> int:
    if n_threads is None:
        return os.cpu_count() or 1
    return check_number("n_threads", n_threads, minimum=1, integer=True,
                        allow_none=True)


def _kernel_config(fs_hz: float, onset_mv: float, n_samples: int, stimulus_sample: int):
    """Method constants converted to samples at ``fs_hz`` (see the kernel's I_*/C_* slots)."""
    from . import _kernels as k

    per_ms = fs_hz / 1000.0

    def samples(ms: float, minimum: int) -> int:
        return max(minimum, int(round(ms * per_ms)))

    min_base = max(BASELINE_MIN_SAMPLES, int(math.ceil(BASELINE_MIN_MS * per_ms)))
    tail = max(min_base, int((n_samples - stimulus_sample) * TAIL_FRACTION))
    min_post = max(BASELINE_MIN_SAMPLES, int(math.ceil(MIN_POST_MS * per_ms)))
    if stimulus_sample < min_base:
        min_post = max(min_post, 4 * tail)  # the tail baseline must lie past the response
    cfg_i = np.zeros(k.N_CFG_I, dtype=np.int64)
    cfg_i[k.I_MIN_BASE] = min_base
    cfg_i[k.I_TAIL] = tail
    cfg_i[k.I_MIN_POST] = min_post
    cfg_i[k.I_SMOOTH_H] = min(samples(SMOOTH_HALF_MS, 1), k.MAX_SMOOTH_H)
    cfg_i[k.I_FIT_H] = samples(PEAK_FIT_HALF_MS, 1)
    cfg_i[k.I_ONSET_FIT_H] = samples(ONSET_FIT_HALF_MS, 1)
    cfg_i[k.I_ART_RUN] = samples(ARTIFACT_RUN_MS, 3)
    cfg_i[k.I_ART_PEAK_WIN] = samples(ARTIFACT_PEAK_WINDOW_MS, 2)
    cfg_i[k.I_MIN_WIDTH] = samples(MIN_WIDTH_MS, 3)
    cfg_i[k.I_MAX_GAP] = samples(MAX_GAP_MS, 1)
    cfg_i[k.I_LOCAL_WIN] = samples(LOCAL_BASELINE_MS, 8)
    cfg_i[k.I_LOCAL_GUARD] = samples(LOCAL_GUARD_MS, 2)
    cfg_i[k.I_ALT_RUN] = samples(ALT_ONSET_RUN_MS, 3)
    cfg_f = np.zeros(k.N_CFG_F, dtype=np.float64)
    cfg_f[k.C_DT_MS] = 1.0 / per_ms
    cfg_f[k.C_ONSET_MV] = onset_mv
    cfg_f[k.C_ART_K] = ARTIFACT_BAND_NOISE
    cfg_f[k.C_ART_FLOOR_MV] = ARTIFACT_BAND_FLOOR_MV
    cfg_f[k.C_ART_TAU_SAMPLES] = ARTIFACT_MAX_TAU_MS * per_ms
    cfg_f[k.C_DET_K] = DETECT_NOISE
    cfg_f[k.C_DET_FLOOR_MV] = DETECT_FLOOR_MV
    cfg_f[k.C_LOW_SNR_K] = LOW_SNR_NOISE
    cfg_f[k.C_DUR_FRACTION] = CMAP_DURATION_PEAK_FRACTION
    cfg_f[k.C_DUR_K] = DURATION_NOISE
    cfg_f[k.C_LOCAL_K] = LOCAL_BASELINE_K
    cfg_f[k.C_FIT_TOL_K] = FIT_TOLERANCE_NOISE
    cfg_f[k.C_LOCAL_MIN_MV] = LOCAL_BASELINE_MIN_MV
    cfg_f[k.C_ALT_K] = ALT_ONSET_NOISE
    cfg_f[k.C_DISAGREE_MS] = ONSET_DISAGREE_MS
    return cfg_i, cfg_f


# --------------------------------------------------------------------------- measuring
def measure_cmap(traces: Any, sampling_rate_hz: float, *, stimulus_sample: int = 0,
                 polarity: str = "physical",
                 onset_threshold_mv: float = REFERENCE_ONSET_THRESHOLD_MV,
                 n_threads: int | None = None,
                 landmarks: Mapping[str, Any] | None = None) -> CmapMeasures:
    """Measure every CMAP of a batch of motor nerve-conduction traces.

    Parameters
    ----------
    traces : array_like, shape (..., n_samples), float32 or float64
        Recorded traces (mV); the last axis is time, any leading shape is the batch.
    sampling_rate_hz : float
        Sampling rate (Hz), in [1, 1e7] (the range the file readers accept).
    stimulus_sample : int, default 0
        Index of the stimulus in every trace; latencies are measured from it and the samples
        before it are the baseline (with fewer than 20 samples or 1 ms: SHORT_BASELINE).
    polarity : {"physical", "negative-up"}, default "physical"
        ``"physical"``: the CMAP's first phase is negative voltage; ``"negative-up"``: the
        display convention (traces are flipped before measuring). Results are always in
        physical polarity (amplitudes positive).
    onset_threshold_mv : float, default ``REFERENCE_ONSET_THRESHOLD_MV`` (0.020 mV)
        Departure from baseline that defines the onset (mV).
    n_threads : int or None, default None
        Threads measuring chunks of the batch concurrently (None: one per core).
    landmarks : mapping, optional
        Hand-set landmarks, keys from :data:`LANDMARKS`: ``"onset"``, ``"negative_peak"``,
        ``"negative_end"``, ``"positive_peak"`` -- times (ms after the stimulus) broadcastable
        to the batch shape, NaN = detect -- and ``"absent"`` (bool: no response). A given
        landmark replaces the detected one, and every measure that depends on it is computed
        from it by the same steps (Notes, step 12).

    Returns
    -------
    CmapMeasures
        Read-only arrays with the batch shape ``traces.shape[:-1]``; times in ms from the
        stimulus, voltages in mV, areas in mV·ms. Absent or unmeasurable responses have
        ``present=False`` and NaN measures (baseline and noise are kept when known).

    Raises
    ------
    ValueError
        ``traces`` not a float32/float64 array with a time axis; ``sampling_rate_hz`` not a
        finite number in [1, 1e7] Hz; ``stimulus_sample`` not an index inside the trace;
        ``polarity`` not one of :data:`POLARITIES`; ``onset_threshold_mv`` not > 0;
        ``n_threads`` not None or >= 1. Bad *data* (NaN samples, too short, flat, clipped)
        never raises: it is flagged per trace. A non-number (a string, a bool) raises
        :class:`~nerveconduct._checks.ArgumentTypeError`, a ``TypeError`` that is also a
        ``ValueError``.

    Notes
    -----
    Each trace is measured on its own, by the same compiled kernel whatever the batch size.
    Times are converted to samples at ``sampling_rate_hz`` (with the stated minimum number of
    samples). ``v`` is the trace in physical polarity minus the baseline; "fits" below are
    least-squares parabolas through raw samples (Savitzky & Golay [3]), used only where their
    RMS residual is within 2 x noise -- otherwise (a kink, or a noiseless trace) the raw
    samples are interpolated directly (3-point parabola, linear crossing), exact on noiseless
    hand-made shapes.

    1. **Baseline, noise** -- mean and RMS deviation of the pre-stimulus samples. With fewer
       than 20 samples or 1 ms before the stimulus, the last 10 % of the trace (>= 20 samples)
       is used instead and SHORT_BASELINE is set. A post-stimulus part shorter than 2 ms (or,
       with a tail baseline, 4 tail lengths) is UNMEASURABLE.
    2. **Non-finite samples** -- NAN_SAMPLES. Trailing NaN/inf shorten the trace (NaN padding
       of ragged batches); gaps up to 0.25 ms are filled by linear interpolation; a longer
       gap makes the trace UNMEASURABLE.
    3. **Stimulus artifact** -- its peak ``P`` is the largest ``|v|`` in the first 0.5 ms. If
       ``P`` exceeds the band ``max(4 noise, 0.02 mV)``, the artifact ends at the first sample
       from which ``|v|`` stays inside the band for 0.2 ms (>= 3 samples), searched up to where
       an exponential tail of time constant 0.5 ms starting at ``P`` would be under the band
       (``t_P + 0.5 ms x ln(P / band)``): the end adapts to the artifact's size, and a fixed
       blanking window is never assumed. A signal still outside the band there is a response
       overlapping the artifact: ARTIFACT_OVERLAP, and the response is searched from that cap.
    4. **Smoothing** -- a centred 0.2 ms box average (3 samples at 10 kHz, 5 at 20 kHz, at
       most 13) of the post-artifact trace locates peaks and crossings.
    5. **Presence** -- the smoothed minimum after the artifact must be at least
       ``max(5 noise, 0.05 mV)`` deep and stay below half that level for 0.5 ms (a sustained
       deflection, not a spike); otherwise ABSENT. A constant trace is UNMEASURABLE.
    6. **Onset** -- walk back from the smoothed minimum to the last sample above
       ``-onset_threshold_mv`` (the simulator's 20 uV reference departure) and interpolate
       linearly; refine by the fit over +-0.3 ms around it. The level is taken from a local
       baseline -- the mean over 1 ms ending ``max(2 (t50 - t10), 0.5 ms)`` before the
       10 %-of-amplitude crossing ``t10`` (``t50``: the 50 % crossing), i.e. before the
       take-off -- when it differs from the baseline by more than ``max(4 SE, 5 uV)`` (hum,
       drift); that local level is then the baseline of every measure below and is reported as
       ``baseline_mv``. Reaching the artifact's end first, the take-off is hidden: the onset
       and the measures that start from it (durations, area) are NaN, ARTIFACT_OVERLAP is
       set, and the peaks are still measured.
    7. **Negative peak** -- fit over +-0.4 ms around the smoothed minimum, re-centred on its
       vertex (up to twice): latency and amplitude (baseline to vertex). LOW_SNR when the
       amplitude is under 10 noise.
    8. **Peak-to-peak** -- the largest smoothed value after the negative peak, refined the
       same way, minus the negative peak.
    9. **Negative-peak duration and area** -- onset to the first return of the smoothed trace
       to baseline after the negative peak, refined by the fit over +-0.3 ms; area =
       trapezoidal integral of ``-v`` (raw, linearly interpolated at both ends) over it.
    10. **CMAP duration** -- onset to the return to baseline after the last smoothed sample
        deeper than ``max(CMAP_DURATION_PEAK_FRACTION x amplitude, 5 x smoothed-baseline
        RMS)``, i.e. after the last negative peak that counts ([1], [2]); the noise term keeps
        noise dips from counting as peaks.
    11. **Other flags** -- CLIPPED: three equal consecutive raw samples at the negative or
        positive peak (a rail; a clipped artifact alone does not affect the measures and is
        not flagged). POLARITY_SUSPECT: the largest post-artifact deflection is positive and
        the first phase crossing the detection level is positive. TRUNCATED: the sweep ends
        before the response returns to baseline (no return after the negative peak, or
        after the last negative peak that counts for the CMAP duration, or no sample after
        the negative peak).
    12. **Second onset, hand-set landmarks** -- ``onset_alt_latency_ms``: the first time the
        smoothed trace leaves ``baseline +- max(3 x its noise, onset_threshold_mv)`` (its
        noise: noise / sqrt(box width), white noise) for 0.5 ms, after being inside, searched
        forward from the artifact's end to the negative peak (Hodges & Bui 1996; the raw
        crossing next to it, :mod:`nerveconduct.measure._onset`); ONSETS_DISAGREE when it differs from
        the onset by more than 0.3 ms (not with a hand-set onset). A hand-set onset, negative
        end (the return to baseline after the negative peak) or peak replaces the detected
        one: a peak's value is the raw trace's at its time (linear interpolation; the
        amplitude, peak-to-peak and the CMAP-duration level follow); durations and area run
        from the onset to the negative end (the CMAP duration too, unless a later negative
        peak that counts follows the detected return: then to the later of the two ends). The searches for the other
        landmarks are those of steps 6-10, so a landmark's value never depends on another
        hand-set one. A landmark on a trace without a detected response measures it there,
        the searches starting from a hand-set negative peak (HAND_SET_RESPONSE); ``absent``
        makes the site absent (measures NaN but baseline and noise).

    Missing crossings (the trace ends first) give NaN for the measures that need them, and
    TRUNCATED. No measure is ever infinite: a trace whose values lie beyond +-1e150 mV
    (where squares and sums could overflow) is UNMEASURABLE.
    Accuracy against the simulator's noiseless truth is checked in
    ``tests/test_measure_accuracy.py``.

    References
    ----------
    .. [1] Joint Task Force of the EFNS and the PNS. Guideline on management of multifocal
       motor neuropathy. J Peripher Nerv Syst 2010;15:295-301 (CMAP measures, duration).
    .. [2] Van den Bergh PYK et al. EAN/PNS guideline on CIDP, second revision. Eur J Neurol
       2021;28:3556-3583 (distal CMAP duration: onset of the first negative peak to the
       return to baseline of the last negative peak).
    .. [3] Savitzky A, Golay MJE. Smoothing and differentiation of data by simplified least
       squares procedures. Anal Chem 1964;36:1627-1639.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 20000.0
    >>> t_ms = (np.arange(1000) - 100) / fs * 1000  # stimulus at sample 100
    >>> cmap = np.where((t_ms > 3) & (t_ms < 7), -5 * np.sin(np.pi * (t_ms - 3) / 4), 0.0)
    >>> m = measure_cmap(cmap, fs, stimulus_sample=100)
    >>> bool(m.present), round(float(m.negative_peak_amplitude_mv), 3)
    (True, 5.0)
    >>> round(float(m.negative_peak_latency_ms), 3), round(float(m.negative_peak_duration_ms), 2)
    (5.0, 3.99)
    """
    arr = _check_traces(traces)
    fs_hz = _check_rate(sampling_rate_hz)
    n_samples = arr.shape[-1]
    stim = _check_stimulus(stimulus_sample, n_samples)
    sign = _check_polarity(polarity)
    onset_mv = _check_onset(onset_threshold_mv)
    threads = _check_threads(n_threads)

    batch_shape = arr.shape[:-1]
    m_traces = math.prod(batch_shape)
    x2d = np.ascontiguousarray(arr.reshape(m_traces, n_samples))
    out = np.full((len(_FLOAT_FIELDS), m_traces), np.nan)
    flags = np.zeros(m_traces, dtype=np.int64)
    present = np.zeros(m_traces, dtype=bool)
    lm, absent = _check_landmarks(landmarks, batch_shape)
    if m_traces and n_samples:
        from ._kernels import measure_rows

        cfg_i, cfg_f = _kernel_config(fs_hz, onset_mv, n_samples, stim)
        rows = max(1, CHUNK_BYTES // max(1, n_samples * x2d.itemsize))
        has_lm = landmarks is not None

        def work(lo: int, hi: int) -> None:
            measure_rows(x2d[lo:hi], stim, sign, cfg_i, cfg_f, out[:, lo:hi], flags[lo:hi],
                         present[lo:hi], lm[lo:hi], absent[lo:hi], has_lm)

        run_in_chunks(m_traces, rows, threads, work)
        _no_infinity(out, flags, present)
    elif m_traces:
        flags[:] = int(MeasureFlag.UNMEASURABLE)
    cols = {f: out[i].reshape(batch_shape) for i, f in enumerate(_FLOAT_FIELDS)}
    return CmapMeasures(**cols, present=present.reshape(batch_shape),
                        flags=flags.reshape(batch_shape))


def _check_landmarks(landmarks: Mapping[str, Any] | None,
                     shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks as the kernel's ``(M, 4)`` times (ms, NaN = detect) and ``(M,)`` absent mask."""
    m = math.prod(shape)
    if landmarks is None:
        return np.empty((m, 4)), np.empty(m, dtype=bool)  # never read by the kernel
    if not isinstance(landmarks, Mapping):
        raise TypeError(f"landmarks must be a mapping of {LANDMARKS} to arrays, got "
                        f"{type(landmarks).__name__}")
    for key in landmarks:
        check_option("landmark", key, LANDMARKS)
    lm = np.full((m, 4), np.nan)
    for c, key in enumerate(LANDMARKS[:4]):
        if landmarks.get(key) is not None:
            t = np.broadcast_to(np.asarray(landmarks[key], dtype=float), shape).reshape(m)
            if np.isinf(t).any() or (t < 0).any():
                raise ValueError(f"landmark {key!r} times must be finite and >= 0 ms after "
                                 "the stimulus (NaN: detect)")
            lm[:, c] = t
    absent = landmarks.get("absent")
    absent = (np.zeros(m, dtype=bool) if absent is None
              else np.broadcast_to(np.asarray(absent, dtype=bool), shape).reshape(m).copy())
    return lm, absent


def _no_infinity(out: np.ndarray, flags: np.ndarray, present: np.ndarray) -> None:
    """The last net: a trace with an infinite measure becomes UNMEASURABLE (NaN measures).

    The kernel already refuses values beyond +-1e150 mV, where its arithmetic could overflow,
    so this never changes a result it computed; it guarantees that ``measure_cmap`` returns
    no infinity whatever the input.
    """
    bad = np.isinf(out).any(axis=0)
    if bad.any():
        keep = [_FLOAT_FIELDS.index("baseline_mv"), _FLOAT_FIELDS.index("noise_mv")]
        kept = out[keep][:, bad]
        out[:, bad] = np.nan
        out[np.ix_(keep, np.flatnonzero(bad))] = np.where(np.isfinite(kept), kept, np.nan)
        flags[bad] |= int(MeasureFlag.UNMEASURABLE)
        present[bad] = False


def kernel_cache_ready() -> bool:
    """Whether numba's on-disk cache of the measurement kernel exists.

    The first :func:`measure_cmap` call after installing compiles the kernel (about 20-30 s on
    a 2-core machine) and caches it next to the module; later processes load it in about a
    second. Front ends use this to tell the user why the first run is slow.

    Returns
    -------
    bool
        True when cached kernel index files are present (no compile expected).
    """
    return any(Path(__file__).with_name("__pycache__").glob("_kernels.*.nbi"))

