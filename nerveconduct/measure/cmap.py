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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..constants import REFERENCE_ONSET_THRESHOLD_MV
from ..flags import MeasureFlag
from ._arguments import (LANDMARKS, _check_landmarks, _check_onset, _check_polarity,
                         _check_rate, _check_stimulus, _check_threads, _check_traces)
from ._batch import BatchMeasures, run_in_chunks
from ._cmap_config import CHUNK_BYTES, ONSET_DISAGREE_MS, _kernel_config  # noqa: F401
from ..model import POLARITIES  # allowed values of ``polarity`` (the model's ground floor)

__all__ = ["CmapMeasures", "measure_cmap", "CMAP_MEASURE_FIELDS", "POLARITIES", "LANDMARKS",
           "kernel_cache_ready"]


#: Names of the float measures, in the order of the kernel's output rows.
_FLOAT_FIELDS = ("onset_latency_ms", "negative_peak_latency_ms", "negative_peak_amplitude_mv",
                 "peak_to_peak_amplitude_mv", "negative_peak_duration_ms",
                 "negative_peak_area_mv_ms", "cmap_duration_ms", "baseline_mv", "noise_mv",
                 "negative_end_latency_ms", "positive_peak_latency_ms", "onset_alt_latency_ms")
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
        3 x its smoothed RMS, :mod:`nerveconduct.measure._onset`); ONSETS_DISAGREE when,
        followed back to the onset level (20 uV), it differs from ``onset_latency_ms`` by more
        than 0.3 ms (Notes, step 12).
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
        crossing next to it, :mod:`nerveconduct.measure._onset`); ONSETS_DISAGREE when, followed
        back on the smoothed trace to the onset level (so that one take-off seen at two levels
        compares at one), it differs from the onset by more than 0.3 ms (not with a hand-set
        onset). LANDMARKS_OUT_OF_ORDER when a hand-set landmark and the landmarks used are
        not in the order onset < negative peak < negative end, negative peak < positive peak
        (a review flag: the measures are taken as they are). A hand-set onset, negative
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

