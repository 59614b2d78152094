"""Motor-unit core of the CMAP simulator: populations, MUAP templates, rendering, truth.

Private helpers for :mod:`nerveconduct.simulate.nerve`, on plain arrays (last axis time, leading
axis a flat batch of traces); nothing here knows about noise, names or the model.

* :func:`draw_population` draws per-unit velocity, residual delay, size, width class and
  which units conduct to each site; :func:`unit_latencies_ms` gives per-site latencies.
* :func:`render_cmaps` sums motor-unit potentials at fractional latencies: sizes are deposited
  linearly onto the two samples around each latency and convolved with the templates
  (:func:`muap_templates`) by FFT; samples outside the support are exactly 0.
* :func:`render_nerves` renders whole nerves (all sites, scaled to the distal amplitude).
* :func:`segment_truth` gives the per-segment reference values (the per-trace ones are
  :func:`nerveconduct.simulate._truth.truth_measures`).
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal

from ._truth import negative_peak_amplitude, truth_measures

__all__ = ["CV_FLOOR_M_S", "MUAP_WIDTHS_MS", "RESIDUAL_DELAY_MS", "draw_population",
           "muap_shape", "muap_templates", "render_cmaps", "render_nerves", "segment_truth",
           "unit_latencies_ms"]

#: Lower truncation of the per-unit conduction velocity distribution (m/s).
CV_FLOOR_M_S: float = 15.0
#: Per-unit neuromuscular/residual delay (ms): mean, SD, clip range (before distal slowing).
RESIDUAL_DELAY_MS: tuple[float, float, float, float] = (2.4, 0.15, 1.9, 2.9)
#: MUAP width classes (total duration, ms) and their probabilities.
MUAP_WIDTHS_MS: tuple[float, ...] = (11.0, 12.5, 14.0)
MUAP_WIDTH_PROBABILITIES: tuple[float, ...] = (0.25, 0.5, 0.25)
#: Lognormal sigma of unit sizes and correlation of log-size with the unit's velocity.
SIZE_LOG_SD: float = 0.7
SIZE_CV_CORRELATION: float = 0.1
#: MUAP shape ``-(B'(u) + c B(u))`` with ``B(u) = u^a (1-u)^b`` on ``u`` in [0, 1].
MUAP_SHAPE_A: float = 2.5
MUAP_SHAPE_B: float = 5.0
MUAP_SHAPE_C: float = 1.0


def _raw_shape(u: np.ndarray) -> np.ndarray:
    a, b, c = MUAP_SHAPE_A, MUAP_SHAPE_B, MUAP_SHAPE_C
    inside = (u > 0.0) & (u < 1.0)
    uc = np.where(inside, u, 0.0)
    slope = uc ** (a - 1.0) * (1.0 - uc) ** (b - 1.0) * (a - (a + b) * uc)
    return np.where(inside, -(slope + c * uc ** a * (1.0 - uc) ** b), 0.0)


def _shape_depth() -> float:
    v = _raw_shape(np.linspace(0.0, 1.0, 100_001))
    k = int(v.argmin())
    ym, y0, yp = v[k - 1], v[k], v[k + 1]  # parabolic refinement of the minimum
    return float(-(y0 - 0.125 * (ym - yp) ** 2 / (ym - 2.0 * y0 + yp)))


_SHAPE_DEPTH = _shape_depth()


def muap_shape(u: np.ndarray) -> np.ndarray:
    """Normalized motor-unit potential at ``u`` = time since its start / its duration.

    Returns the potential (dimensionless, negative peak -1), exactly 0 outside ``(0, 1)``:
    ``-(B'(u) + B(u))`` with ``B(u) = u^2.5 (1-u)^5`` leaves the baseline smoothly (as
    ``u^1.5``), peaks negative at ``u`` = 0.16, crosses 0 at 0.36 (a 4.0-5.1 ms negative
    phase for the 11-14 ms widths) and has a positive phase half as deep carrying 2/3 of
    the negative phase's area.

    Examples
    --------
    >>> import numpy as np
    >>> v = muap_shape(np.linspace(-0.5, 1.5, 2001))
    >>> round(float(v.min()), 3), bool(v[:501].any() or v[1500:].any())
    (-1.0, False)
    """
    return _raw_shape(np.asarray(u, dtype=float)) / _SHAPE_DEPTH


def muap_templates(widths_ms, sampling_rate_hz: float) -> list[np.ndarray]:
    """Sample one template per width class (total duration in ms); ``t[j]`` is ``j`` samples
    after the unit's start, so ``t[0] == 0``."""
    out = []
    for width in np.asarray(widths_ms, dtype=float):
        t_ms = np.arange(int(np.floor(width * sampling_rate_hz / 1000.0)) + 1) \
            * (1000.0 / sampling_rate_hz)
        out.append(muap_shape(t_ms / width))
    return out


def _truncated_normal(rng, mean, sd, size, low, high) -> np.ndarray:
    x = rng.normal(mean, sd, size)
    bad = (x < low) | (x > high)
    while bad.any():  # rejection: more than half of the draws are accepted (mean > low)
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (x < low) | (x > high)
    return x


def draw_population(rng: np.random.Generator, n_nerves: int, n_units: int, n_sites: int,
                    cv_mean_m_s: float, cv_sd_m_s: float, block: dict[int, float]) -> dict:
    """Draw ``n_nerves`` independent motor-unit populations.

    Returns a dict of ``cv_m_s`` (normal truncated to ``[CV_FLOOR_M_S, mean + 4 SD]``),
    ``residual_ms``, ``size`` (lognormal, log-size correlated ``SIZE_CV_CORRELATION`` with
    velocity), ``width_class`` (each ``(n_nerves, n_units)``) and ``present`` (bool,
    ``(n_nerves, n_sites, n_units)``). ``block`` maps segment ``k`` (between sites ``k-1``
    and ``k``) to a fraction: distal to proximal, a random ``round(fraction * n)`` of the
    ``n`` units still conducting there are lost (same count in every nerve, other units).
    """
    shape = (n_nerves, n_units)
    cv = _truncated_normal(rng, cv_mean_m_s, cv_sd_m_s, shape, CV_FLOOR_M_S,
                           cv_mean_m_s + 4.0 * cv_sd_m_s)
    r_mean, r_sd, r_low, r_high = RESIDUAL_DELAY_MS
    residual = _truncated_normal(rng, r_mean, r_sd, shape, r_low, r_high)
    z_cv = (cv - cv_mean_m_s) / cv_sd_m_s if cv_sd_m_s > 0 else np.zeros(shape)
    rho = SIZE_CV_CORRELATION
    log_size = SIZE_LOG_SD * (rho * z_cv + np.sqrt(1.0 - rho * rho) * rng.standard_normal(shape))
    cum_p = np.cumsum(MUAP_WIDTH_PROBABILITIES)
    width_class = np.minimum(np.searchsorted(cum_p, rng.random(shape), side="right"),
                             len(cum_p) - 1)
    present = np.ones((n_nerves, n_sites, n_units), dtype=bool)
    conducting = np.ones(shape, dtype=bool)
    rows = np.arange(n_nerves)[:, None]
    for segment, fraction in sorted(block.items()):
        n_lost = round(fraction * int(conducting[0].sum()))
        if n_lost:
            keys = np.where(conducting, rng.random(shape), np.inf)
            conducting[rows, np.argsort(keys, axis=1)[:, :n_lost]] = False
        present[:, segment:, :] = conducting[:, None, :]
    return {"cv_m_s": cv, "residual_ms": residual, "size": np.exp(log_size),
            "width_class": width_class, "present": present}


def unit_latencies_ms(cv_m_s, residual_ms, distances_mm, segment_slowing, distal_slowing):
    """Latency (ms from the stimulus) of every unit at every site, shape ``(N, n_sites, U)``:
    ``distal_slowing * (d_0 / cv + r) + sum_{j=1..k} d_j * slowing_j / cv``."""
    terminal = distal_slowing * (distances_mm[0] / cv_m_s + residual_ms)
    seg = [d * segment_slowing.get(k, 1.0) for k, d in enumerate(distances_mm[1:], start=1)]
    path_mm = np.concatenate([[0.0], np.cumsum(seg)])
    return terminal[:, None, :] + path_mm[None, :, None] / cv_m_s[:, None, :]


def render_cmaps(positions: np.ndarray, weights: np.ndarray, classes: np.ndarray,
                 templates: list[np.ndarray], n_samples: int, *,
                 workers: int = -1) -> tuple[np.ndarray, int]:
    """Sum motor-unit potentials at fractional sample positions, batched over traces.

    Parameters
    ----------
    positions, weights : ndarray, shape (M, U)
        Start of each unit's potential (fractional samples from the trace's first sample)
        and its size (mV at the template's negative peak; 0 = absent).
    classes : ndarray of int, shape (M, U)
        Width class of each unit (index into ``templates``).
    templates : list of ndarray
        From :func:`muap_templates`.
    n_samples : int
        Length of the full traces.
    workers : int, optional
        Threads for :mod:`scipy.fft` (-1 = all cores).

    Returns
    -------
    window : ndarray, shape (M, n_window)
        The summed potentials (mV) at samples ``start .. start + n_window - 1``; the full
        traces are 0 elsewhere. Samples up to a trace's earliest unit start and after the
        end of its latest potential are exactly 0.
    start : int
        Index of the window's first sample in the full traces.

    Notes
    -----
    A unit starting at ``p = i + f`` deposits ``(1 - f) w`` at sample ``i`` and ``f w`` at
    ``i + 1``; convolving with the sampled template gives the template linearly interpolated
    at the fractional offset, so sub-sample latencies are honoured. The FFT runs over a window
    from the earliest unit to the end of the latest potential (no circular wrap-around), so
    its cost follows the latency spread, not the sweep.
    """
    m_traces = positions.shape[0]
    classes = np.broadcast_to(np.asarray(classes, dtype=np.intp), positions.shape)
    t_len = max(len(t) for t in templates)
    i0 = np.floor(positions)
    frac = positions - i0
    # A unit starting at or after sample n_samples - 1 adds nothing inside the sweep.
    usable = (weights != 0.0) & (i0 >= 0) & (i0 < n_samples - 1)
    if not usable.any():
        return np.zeros((m_traces, min(3, n_samples))), 0
    i0 = np.where(usable, i0, 0).astype(np.intp)
    w = np.where(usable, weights, 0.0)
    first = np.where(usable, i0, n_samples).min(axis=1)
    last = np.where(usable, i0, -1).max(axis=1)
    start = int(first.min())
    n_win = int(last.max()) + 1 + t_len - start  # the last deposit is at last + 1
    nfft = scipy.fft.next_fast_len(n_win, real=True)

    rel = np.where(usable, i0 - start, 0)  # absent units deposit weight 0 at offset 0
    row = (classes * m_traces + np.arange(m_traces)[:, None]) * nfft + rel
    grid = np.bincount(np.concatenate([row.ravel(), (row + 1).ravel()]),
                       weights=np.concatenate([(w * (1.0 - frac)).ravel(), (w * frac).ravel()]),
                       minlength=len(templates) * m_traces * nfft)
    spec = scipy.fft.rfft(grid.reshape(len(templates), m_traces, nfft), axis=-1,
                          workers=workers)
    t_spec = np.stack([scipy.fft.rfft(t, n=nfft) for t in templates])
    n_keep = min(n_win, n_samples - start)
    win = scipy.fft.irfft(np.einsum("cmf,cf->mf", spec, t_spec), n=nfft, axis=-1,
                          workers=workers)[:, :n_keep]
    # Exact zeros where only FFT round-off (~1e-16 of the peak) sits: before each trace's
    # first unit, after its last potential, and where the potentials have ended.
    n = np.arange(start, start + n_keep)[None, :]
    tiny = np.abs(win) <= 1e-12 * np.abs(win).max(axis=1, keepdims=True)
    win[tiny | (n <= first[:, None]) | (n > (last + t_len)[:, None])] = 0.0
    return win, start


def render_nerves(pop: dict, sl: slice, p: dict, templates: list, highpass,
                  out: np.ndarray) -> dict[str, np.ndarray]:
    """Render the noiseless CMAPs of nerves ``sl`` of ``pop`` into ``out`` (N, n_sites, n).

    ``p`` holds the validated arguments of :func:`nerveconduct.simulate.nerve.simulate_nerve`;
    ``highpass`` is None or the ``(b, a)`` of the low-frequency filter. Each nerve is scaled
    so that its distal negative peak is ``p["distal_amplitude_mv"]``. Returns the
    :func:`truth_measures` of every trace, each shaped ``(N, n_sites)``.
    """
    n_here, n_sites, n_samples = out.shape
    fs, stim = p["sampling_rate_hz"], p["stimulus_sample"]
    lat = unit_latencies_ms(pop["cv_m_s"][sl], pop["residual_ms"][sl], p["distances_mm"],
                            p["segment_slowing"], p["distal_slowing"])
    positions = stim + lat * (fs / 1000.0)
    weights = pop["size"][sl][:, None, :] * pop["present"][sl]
    windows = [render_cmaps(positions[:, k], weights[:, k], pop["width_class"][sl], templates,
                            n_samples) for k in range(n_sites)]  # one short window per site
    if highpass is None:  # the windows hold every non-zero sample: scale and measure only them
        scale = p["distal_amplitude_mv"] / _distal_depth(windows[0][0])
        per_site = []
        for k, (win, lo) in enumerate(windows):
            win *= scale[:, None]
            out[:, k, lo:lo + win.shape[1]] = win
            per_site.append(truth_measures(win, fs, stim - lo))
        return {key: np.stack([m[key] for m in per_site], axis=1) for key in per_site[0]}
    clean = np.zeros((n_here, n_sites, n_samples))
    for k, (win, lo) in enumerate(windows):
        clean[:, k, lo:lo + win.shape[1]] = win
    clean = scipy.signal.lfilter(*highpass, clean, axis=-1)
    clean *= (p["distal_amplitude_mv"] / _distal_depth(clean[:, 0, :]))[:, None, None]
    out[...] = clean
    return {key: val.reshape(n_here, n_sites) for key, val in
            truth_measures(clean.reshape(-1, n_samples), fs, stim).items()}


def _distal_depth(distal: np.ndarray) -> np.ndarray:
    depth = negative_peak_amplitude(distal)
    if not np.all(depth > 0):  # cannot happen when the sweep check passed; never scale by inf
        raise ValueError("the distal CMAP lies outside the sweep; lengthen sweep_ms")
    return depth


def segment_truth(onset_ms: np.ndarray, pop: dict, distances_mm: tuple,
                  segment_slowing: dict[int, float]) -> dict[str, np.ndarray]:
    """Per-site unit counts, segment velocities and TLI from truth onsets ``(N, n_sites)``.

    Segment CV = length / onset difference (NaN unless positive); the TLI is
    ``d_0 / (CV_1 * onset_0)`` (NaN with one site); ``segment_fastest_cv_m_s`` is the fastest
    unit conducting through each segment, slowing included.
    """
    n_sites = len(distances_mm)
    with np.errstate(invalid="ignore", divide="ignore"):
        seg_cv = np.asarray(distances_mm[1:]) / np.diff(onset_ms, axis=-1)
        seg_cv = np.where(seg_cv > 0, seg_cv, np.nan)
        tli = (distances_mm[0] / (seg_cv[:, 0] * onset_ms[:, 0]) if n_sites > 1
               else np.full(onset_ms.shape[0], np.nan))
    factor = np.array([segment_slowing.get(k, 1.0) for k in range(1, n_sites)])
    cv = pop["cv_m_s"]
    fastest = np.where(pop["present"][:, 1:, :], cv[:, None, :], -np.inf).max(axis=-1)
    return {
        "n_units_present": pop["present"].sum(axis=-1).astype(np.int64),
        "conduction_velocity_m_s": np.concatenate(
            [np.full(onset_ms.shape[:-1] + (1,), np.nan), seg_cv], axis=-1),
        "segment_conduction_velocity_m_s": seg_cv,
        "segment_fastest_cv_m_s": np.where(np.isfinite(fastest), fastest / factor, np.nan),
        "fastest_cv_m_s": cv.max(axis=-1),
        "terminal_latency_index": tli,
    }
