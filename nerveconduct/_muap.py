"""Numerical core of the CMAP simulator: MUAP templates, fast rendering and truth measures.

Private helpers for :mod:`nerveconduct.simulate`. Nothing here knows about sites, nerves or
noise; everything works on plain arrays whose last axis is time and whose leading axis is a
flat batch of traces.

* :func:`muap_templates` samples the motor-unit potential shape (one template per width class).
* :func:`render_cmaps` sums motor-unit potentials at fractional latencies: each unit's size is
  deposited linearly onto the two samples around its latency, the deposits are convolved with
  the templates by FFT, and samples outside the support of the sum are set to exactly 0.
* :func:`truth_measures` computes the reference CMAP measures of noiseless traces.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .constants import CMAP_DURATION_PEAK_FRACTION, REFERENCE_ONSET_THRESHOLD_MV

__all__ = ["MUAP_SHAPE_A", "MUAP_SHAPE_B", "MUAP_SHAPE_C", "muap_shape", "muap_templates",
           "negative_peak_amplitude", "render_cmaps", "truth_measures"]

#: MUAP shape ``-(B'(u) + c B(u))`` with the beta bump ``B(u) = u^a (1-u)^b`` on ``u`` in
#: [0, 1]: a negative phase of ~0.4 of the potential, then a positive phase ~0.57x as deep
#: carrying ~2/3 of the negative phase's area.
MUAP_SHAPE_A: float = 3.0
MUAP_SHAPE_B: float = 5.0
MUAP_SHAPE_C: float = 1.0


def _raw_shape(u: np.ndarray) -> np.ndarray:
    a, b, c = MUAP_SHAPE_A, MUAP_SHAPE_B, MUAP_SHAPE_C
    inside = (u > 0.0) & (u < 1.0)
    uc = np.where(inside, u, 0.0)
    bump = uc ** a * (1.0 - uc) ** b
    slope = uc ** (a - 1.0) * (1.0 - uc) ** (b - 1.0) * (a - (a + b) * uc)
    return np.where(inside, -(slope + c * bump), 0.0)


def muap_shape(u: np.ndarray) -> np.ndarray:
    """Evaluate the normalized motor-unit potential shape.

    Parameters
    ----------
    u : ndarray
        Time since the unit's start as a fraction of its total duration (dimensionless).

    Returns
    -------
    ndarray
        Potential with a negative peak of -1 (dimensionless), exactly 0 outside ``(0, 1)``.

    Notes
    -----
    ``-(B'(u) + c B(u))`` with ``B(u) = u^3 (1-u)^5`` and ``c = 1``: compactly supported,
    smooth (it leaves the baseline quadratically), first phase negative, then a shallower
    and longer positive phase.

    Examples
    --------
    >>> import numpy as np
    >>> v = muap_shape(np.linspace(-0.5, 1.5, 2001))
    >>> round(float(v.min()), 6), bool(v[:251].any() or v[1750:].any())
    (-1.0, False)
    """
    u = np.asarray(u, dtype=float)
    return _raw_shape(u) / _SHAPE_DEPTH


def _shape_depth() -> float:
    u = np.linspace(0.0, 1.0, 100_001)
    v = _raw_shape(u)
    k = int(v.argmin())
    ym, y0, yp = v[k - 1], v[k], v[k + 1]  # parabolic refinement of the minimum
    delta = 0.5 * (ym - yp) / (ym - 2.0 * y0 + yp)
    return float(-(y0 - 0.25 * (ym - yp) * delta))


_SHAPE_DEPTH = _shape_depth()


def muap_templates(widths_ms: np.ndarray, sampling_rate_hz: float) -> list[np.ndarray]:
    """Sample one MUAP template per width class.

    Parameters
    ----------
    widths_ms : array_like
        Total duration of each class's MUAP (ms).
    sampling_rate_hz : float
        Sampling rate (Hz).

    Returns
    -------
    list of ndarray
        ``templates[c][j]`` is the class-``c`` potential ``j`` samples after the unit's start
        (negative peak -1); ``templates[c][0] == 0``.
    """
    out = []
    for width in np.asarray(widths_ms, dtype=float):
        n = int(np.floor(width * sampling_rate_hz / 1000.0)) + 1
        t_ms = np.arange(n) * 1000.0 / sampling_rate_hz
        out.append(muap_shape(t_ms / width))
    return out


def render_cmaps(positions: np.ndarray, weights: np.ndarray, classes: np.ndarray,
                 templates: list[np.ndarray], n_samples: int, *, workers: int = -1) -> np.ndarray:
    """Sum motor-unit potentials at fractional sample positions, batched over traces.

    Parameters
    ----------
    positions : ndarray, shape (M, U)
        Start of each unit's potential in each trace, in (fractional) samples from the
        trace's first sample.
    weights : ndarray, shape (M, U)
        Size of each unit in each trace (mV at the template's negative peak); 0 = absent.
    classes : ndarray of int, shape (M, U) or (U,)
        Width class of each unit (index into ``templates``).
    templates : list of ndarray
        Sampled templates from :func:`muap_templates`.
    n_samples : int
        Length of the output traces.
    workers : int, optional
        Worker threads for :mod:`scipy.fft` (-1 = all cores).

    Returns
    -------
    ndarray, shape (M, n_samples), float64
        The summed potentials (mV). Samples before the earliest unit's start, and after the
        end of the latest unit's potential, are exactly 0.

    Notes
    -----
    A unit starting at ``p = i + f`` deposits ``(1 - f) w`` at sample ``i`` and ``f w`` at
    ``i + 1``; convolving with the sampled template then gives the template linearly
    interpolated at the fractional offset, so sub-sample latencies are honoured. The
    circular FFT length is at least ``n_samples + len(template) - 1`` (no wrap-around).
    """
    positions = np.asarray(positions, dtype=float)
    weights = np.asarray(weights, dtype=float)
    m_traces, n_units = positions.shape
    classes = np.broadcast_to(np.asarray(classes, dtype=np.intp), (m_traces, n_units))
    n_classes = len(templates)
    t_len = max(len(t) for t in templates)
    nfft = scipy.fft.next_fast_len(n_samples + t_len - 1, real=True)

    i0 = np.floor(positions)
    frac = positions - i0
    # A unit starting at or after sample n_samples - 1 contributes nothing inside the sweep
    # (the template is 0 at its first sample); units before sample 0 are not generated.
    usable = (weights != 0.0) & (i0 >= 0) & (i0 < n_samples - 1)
    i0 = np.where(usable, i0, 0).astype(np.intp)
    w = np.where(usable, weights, 0.0)
    row = (classes * m_traces + np.arange(m_traces)[:, None]) * n_samples + i0
    grid_size = n_classes * m_traces * n_samples
    flat_idx = np.concatenate([row.ravel(), (row + 1).ravel()])
    flat_w = np.concatenate([(w * (1.0 - frac)).ravel(), (w * frac).ravel()])
    grid = np.bincount(flat_idx, weights=flat_w, minlength=grid_size)
    grid = grid.reshape(n_classes, m_traces, n_samples)

    spec = scipy.fft.rfft(grid, n=nfft, axis=-1, workers=workers)
    t_spec = np.stack([scipy.fft.rfft(t, n=nfft) for t in templates])
    total = np.einsum("cmf,cf->mf", spec, t_spec)
    out = scipy.fft.irfft(total, n=nfft, axis=-1, workers=workers)[:, :n_samples]

    # Exact zeros outside the support (the FFT leaves ~1e-17 round-off there).
    big = np.iinfo(np.intp).max
    first = np.where(usable, i0, big).min(axis=1)
    last = np.where(usable, i0 + 1, -1).max(axis=1) + t_len - 1
    n = np.arange(n_samples)
    outside = (n[None, :] <= first[:, None]) | (n[None, :] > last[:, None])
    out[outside] = 0.0
    return np.ascontiguousarray(out)


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, idx[:, None], axis=1)[:, 0]


def _first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first True per row and whether any exists."""
    return mask.argmax(axis=1), mask.any(axis=1)


def _zero_crossing_after(v: np.ndarray, start: np.ndarray, n: np.ndarray):
    """First fractional index > ``start`` where a negative run reaches 0 (upward crossing)."""
    idx, found = _first_true((v >= 0.0) & (n[None, :] > start[:, None]))
    idx = np.maximum(idx, 1)
    v1, v0 = _take(v, idx), _take(v, idx - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = idx - 1 + (-v0) / (v1 - v0)
    return np.where(found, pos, np.nan)


def _parabolic(v: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-sample position and value of the extremum at sample ``k`` (parabola through 3 points)."""
    n_samples = v.shape[1]
    interior = (k > 0) & (k < n_samples - 1)
    km, kp = np.clip(k - 1, 0, n_samples - 1), np.clip(k + 1, 0, n_samples - 1)
    y0, ym, yp = _take(v, k), _take(v, km), _take(v, kp)
    denom = ym - 2.0 * y0 + yp
    ok = interior & (denom != 0.0)
    delta = np.where(ok, 0.5 * (ym - yp) / np.where(ok, denom, 1.0), 0.0)
    return k + delta, y0 - 0.25 * (ym - yp) * delta


def negative_peak_amplitude(v: np.ndarray) -> np.ndarray:
    """Depth below 0 of each row's minimum, parabolically interpolated (same units as ``v``)."""
    v = np.asarray(v, dtype=np.float64)
    return -_parabolic(v, v.argmin(axis=1))[1]


def _integral_to(v: np.ndarray, cum: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Integral (in samples) of the linear interpolant of ``v`` from sample 0 to ``pos``."""
    n_samples = v.shape[1]
    safe = np.where(np.isfinite(pos), pos, 0.0)
    i = np.clip(np.floor(safe).astype(np.intp), 0, n_samples - 2)
    f = safe - i
    vi, vj = _take(v, i), _take(v, i + 1)
    return _take(cum, i) + vi * f + 0.5 * (vj - vi) * f * f


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
        Index of the stimulus; latencies are measured from it.

    Returns
    -------
    dict of ndarray, each shape (M,)
        ``present`` (bool), ``onset_latency_ms``, ``negative_peak_latency_ms``,
        ``negative_peak_amplitude_mv``, ``peak_to_peak_amplitude_mv``,
        ``negative_peak_duration_ms``, ``negative_peak_area_mv_ms``, ``cmap_duration_ms``.
        NaN where the measure does not exist (no departure of 20 uV: every measure; a
        return to baseline beyond the sweep: the durations and the area).

    Notes
    -----
    Onset: first time ``|v| >= REFERENCE_ONSET_THRESHOLD_MV`` (linear interpolation between
    samples). Negative peak: parabolic interpolation of the minimum. Peak-to-peak: negative
    peak to the largest value after it. Negative-peak duration: onset to the first upward
    0-crossing after the negative peak; area: integral of ``-v`` (linear interpolant) over that
    interval. CMAP duration: onset to the first upward 0-crossing after the last local minimum
    deeper than ``CMAP_DURATION_PEAK_FRACTION`` x the negative-peak amplitude.
    """
    v = np.asarray(noiseless, dtype=np.float64)
    m_traces, n_samples = v.shape
    dt_ms = 1000.0 / sampling_rate_hz
    n = np.arange(n_samples)
    thr = REFERENCE_ONSET_THRESHOLD_MV

    absv = np.abs(v)
    j, present = _first_true(absv >= thr)
    jm = np.maximum(j - 1, 0)
    a0, a1 = _take(absv, jm), _take(absv, j)
    with np.errstate(invalid="ignore", divide="ignore"):
        onset = np.where(j > 0, jm + (thr - a0) / (a1 - a0), 0.0)

    k = v.argmin(axis=1)
    neg_pos, neg_val = _parabolic(v, k)
    after = np.where(n[None, :] >= k[:, None], v, -np.inf)
    kp = after.argmax(axis=1)
    _, pos_val = _parabolic(v, kp)
    amp = -neg_val

    cross = _zero_crossing_after(v, k, n)
    cum = np.concatenate([np.zeros((m_traces, 1)),
                          np.cumsum(0.5 * (v[:, 1:] + v[:, :-1]), axis=1)], axis=1)
    area = -(_integral_to(v, cum, cross) - _integral_to(v, cum, onset))
    area = np.where(np.isfinite(cross), area, np.nan)

    inner = np.zeros_like(v, dtype=bool)
    inner[:, 1:-1] = (v[:, 1:-1] < v[:, :-2]) & (v[:, 1:-1] <= v[:, 2:])
    deep = inner & (v <= -CMAP_DURATION_PEAK_FRACTION * amp[:, None])
    last = n_samples - 1 - deep[:, ::-1].argmax(axis=1)
    last = np.where(deep.any(axis=1), np.maximum(last, k), k)
    cross_last = _zero_crossing_after(v, last, n)

    to_ms = lambda idx: (idx - stimulus_sample) * dt_ms  # noqa: E731
    nan = np.nan
    out = {
        "present": present,
        "onset_latency_ms": to_ms(onset),
        "negative_peak_latency_ms": to_ms(neg_pos),
        "negative_peak_amplitude_mv": amp,
        "peak_to_peak_amplitude_mv": pos_val - neg_val,
        "negative_peak_duration_ms": (cross - onset) * dt_ms,
        "negative_peak_area_mv_ms": area * dt_ms,
        "cmap_duration_ms": (cross_last - onset) * dt_ms,
    }
    for key, val in out.items():
        if key != "present":
            out[key] = np.where(present, val, nan).astype(np.float64)
    return out
