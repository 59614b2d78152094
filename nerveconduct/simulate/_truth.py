"""Ground truth of noiseless traces: onset, peaks, amplitudes, durations, area, sub-sample.

Private helpers of the simulators (:mod:`nerveconduct.simulate.nerve`, ``.sensory``,
``.fwave``), on plain arrays ``(M, n_samples)`` with baseline exactly 0: the reference the
accuracy tests hold the measurement kernels to. CMAP and SNAP truths share
:func:`truth_landmarks`, so both define onset and peaks alike.
"""

from __future__ import annotations

import numpy as np

from ..constants import CMAP_DURATION_PEAK_FRACTION, REFERENCE_ONSET_THRESHOLD_MV

__all__ = ["negative_peak_amplitude", "truth_landmarks", "truth_measures", "zero_crossing_after"]


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, idx[:, None], axis=1)[:, 0]


def zero_crossing_after(v: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Fractional index of the first sample > ``after`` where ``v`` reaches 0 from below."""
    mask = (v >= 0.0) & (np.arange(v.shape[1])[None, :] > after[:, None])
    idx, found = np.maximum(mask.argmax(axis=1), 1), mask.any(axis=1)
    v1, v0 = _take(v, idx), _take(v, idx - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(found, idx - 1 + (-v0) / (v1 - v0), np.nan)


def _parabolic(v: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-sample position and value of the extremum at sample ``k`` (parabola, 3 points)."""
    last = v.shape[1] - 1
    y0, ym, yp = _take(v, k), _take(v, np.clip(k - 1, 0, last)), _take(v, np.clip(k + 1, 0, last))
    denom = ym - 2.0 * y0 + yp
    ok = (k > 0) & (k < last) & (denom != 0.0)
    delta = np.where(ok, 0.5 * (ym - yp) / np.where(ok, denom, 1.0), 0.0)
    return k + delta, y0 - 0.25 * (ym - yp) * delta


def negative_peak_amplitude(v: np.ndarray) -> np.ndarray:
    """Depth below 0 of each row's minimum, parabolically interpolated (units of ``v``)."""
    return -_parabolic(v, v.argmin(axis=1))[1]


def _integral_to(v: np.ndarray, cum: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Integral (in samples) of the linear interpolant of ``v`` from sample 0 to ``pos``."""
    safe = np.where(np.isfinite(pos), pos, 0.0)
    i = np.clip(np.floor(safe).astype(np.intp), 0, max(v.shape[1] - 2, 0))
    f = safe - i
    vi, vj = _take(v, i), _take(v, np.minimum(i + 1, v.shape[1] - 1))
    return _take(cum, i) + vi * f + 0.5 * (vj - vi) * f * f


def truth_landmarks(v: np.ndarray, threshold_mv: float) -> tuple[np.ndarray, ...]:
    """Landmarks of noiseless traces ``(M, n)`` (mV, baseline 0), in samples.

    Returns ``present`` (something reaches ``threshold_mv``), ``onset`` (first ``|v| >=
    threshold_mv``, linear interpolation), ``k`` (sample of the minimum), the negative peak's
    position and value (parabolic interpolation) and the largest value after it. Shared by
    the CMAP and SNAP ground truths, so both define onset and peaks alike.
    """
    absv = np.abs(v)
    above = absv >= threshold_mv
    j, present = above.argmax(axis=1), above.any(axis=1)
    jm = np.maximum(j - 1, 0)
    a0, a1 = _take(absv, jm), _take(absv, j)
    with np.errstate(invalid="ignore", divide="ignore"):
        onset = np.where(j > 0, jm + (threshold_mv - a0) / (a1 - a0), 0.0)
    k = v.argmin(axis=1)
    neg_pos, neg_val = _parabolic(v, k)
    n = np.arange(v.shape[1])[None, :]
    _, pos_val = _parabolic(v, np.where(n >= k[:, None], v, -np.inf).argmax(axis=1))
    return present, onset, k, neg_pos, neg_val, pos_val


def truth_measures(noiseless: np.ndarray, sampling_rate_hz: float,
                   stimulus_sample: int) -> dict[str, np.ndarray]:
    """Reference CMAP measures of noiseless traces (baseline exactly 0), sub-sample accurate.

    Parameters
    ----------
    noiseless : ndarray, shape (M, n_samples)
        Noiseless traces (mV, physical polarity, baseline 0).
    sampling_rate_hz : float
        Sampling rate (Hz).
    stimulus_sample : int
        Index of the stimulus in these traces (may lie outside them); latencies are from it.

    Returns
    -------
    dict of ndarray, each shape (M,)
        ``present`` (bool) and the float measures ``onset_latency_ms``,
        ``negative_peak_latency_ms``, ``negative_peak_amplitude_mv``,
        ``peak_to_peak_amplitude_mv``, ``negative_peak_duration_ms``,
        ``negative_peak_area_mv_ms``, ``cmap_duration_ms``: all NaN where nothing reaches
        the onset threshold; durations and area NaN if the return to baseline is not in the
        traces.

    Notes
    -----
    Onset: first time ``|v| >= REFERENCE_ONSET_THRESHOLD_MV`` (linear interpolation between
    samples). Negative peak: parabolic interpolation of the minimum; peak-to-peak: to the
    largest value after it. Negative-peak duration: onset to the first upward 0-crossing
    after the negative peak; area: integral of ``-v`` (linear interpolant) over that interval.
    CMAP duration: onset to the first upward 0-crossing after the last local minimum at or
    below ``-CMAP_DURATION_PEAK_FRACTION`` x the negative-peak amplitude.
    """
    v = np.asarray(noiseless, dtype=np.float64)
    n_samples = v.shape[1]
    dt_ms = 1000.0 / sampling_rate_hz
    present, onset, k, neg_pos, neg_val, pos_val = truth_landmarks(v, REFERENCE_ONSET_THRESHOLD_MV)
    amp = -neg_val
    cross = zero_crossing_after(v, k)
    cum = np.zeros_like(v)
    np.cumsum(0.5 * (v[:, 1:] + v[:, :-1]), axis=1, out=cum[:, 1:])
    area = np.where(np.isfinite(cross),
                    _integral_to(v, cum, onset) - _integral_to(v, cum, cross), np.nan)

    deep = np.zeros_like(v, dtype=bool)  # local minima at least 10 % of the amplitude deep
    deep[:, 1:-1] = ((v[:, 1:-1] < v[:, :-2]) & (v[:, 1:-1] <= v[:, 2:])
                     & (v[:, 1:-1] <= -CMAP_DURATION_PEAK_FRACTION * amp[:, None]))
    last = np.where(deep.any(axis=1), n_samples - 1 - deep[:, ::-1].argmax(axis=1), k)
    cross_last = zero_crossing_after(v, np.maximum(last, k))

    out = {
        "onset_latency_ms": (onset - stimulus_sample) * dt_ms,
        "negative_peak_latency_ms": (neg_pos - stimulus_sample) * dt_ms,
        "negative_peak_amplitude_mv": amp,
        "peak_to_peak_amplitude_mv": pos_val - neg_val,
        "negative_peak_duration_ms": (cross - onset) * dt_ms,
        "negative_peak_area_mv_ms": area * dt_ms,
        "cmap_duration_ms": (cross_last - onset) * dt_ms,
    }
    out = {key: np.where(present, val, np.nan) for key, val in out.items()}
    return {"present": present, **out}
