"""Per-train loop of :func:`nerveconduct.measure.fwave.measure_f_waves` (private).

Plain Python compiled with numba on first use (``cache=True``; numba imported lazily so that
``import nerveconduct`` stays fast). The method is documented in ``measure_f_waves``' Notes.
The box smoother is the CMAP kernel's (:mod:`._trace_ops`), the block extrema those of
:mod:`._simd`, the flag bits those of :mod:`._kernel_layout` (NO_M_WAVE, for F-wave trains
only, from :mod:`nerveconduct.flags`); :func:`_invalidate` deletes stale cache files when they
change.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..flags import MeasureFlag
from ._kernel_layout import _ABSENT, _NAN, _OVERLAP, _SHORT_BASE, _UNMEASURABLE

_NO_M = int(MeasureFlag.NO_M_WAVE)  # not in _kernel_layout: F-wave trains only

__all__ = ["kernel"]

#: The compiled helpers of :func:`_rows_py` (set by :func:`kernel`).
_smooth = _add_centred = _extrema = _box = _anchor = _block_extrema = _loop = None

#: The modules compiled into the kernel besides this one (and ``nerveconduct/flags.py``): the
#: box smoother of :mod:`._trace_ops`, the block extrema of :mod:`._simd` and the flag bits
#: of :mod:`._kernel_layout`.
DEPENDENCIES = ("_fwave_kernel", "_trace_ops", "_kernel_layout", "_simd")


def _add_centred_py(mean, row, m):
    """``mean += row - m``, sample by sample; returns whether every sample of ``row`` is
    finite (NaN and inf make ``v - v`` non-zero). Elementwise and an OR: vector
    instructions, one pass over the stimulus."""
    bad = False
    for i in range(row.shape[0]):
        v = row[i]
        mean[i] += v - m
        bad |= (v - v) != 0.0
    return not bad


def _extrema_py(v, lo, hi, half, bmin, bmax):
    """Maximum and minimum of ``v[lo:hi]`` and the first index ``k`` with ``|v[k]| >= half``
    (-1: none), for finite values. One pass in vector instructions over 16-sample blocks
    (:func:`._simd.block_extrema`: exact minima and maxima, the values a sample-by-sample
    loop finds); the first index is sought block by block, a block whose extrema stay
    below the level passed over at once. ``bmin``/``bmax``: scratch of ``(hi - lo) // 16 +
    1`` values."""
    _block_extrema(v, lo, hi, bmin, bmax)
    nb = (hi - lo + 15) // 16
    mx = -np.inf
    mn = np.inf
    for b in range(nb):
        mx = max(mx, bmax[b])
        mn = min(mn, bmin[b])
    k = -1
    if max(mx, -mn) >= half:
        for b in range(nb):
            if max(bmax[b], -bmin[b]) >= half:
                for i in range(lo + 16 * b, min(lo + 16 * (b + 1), hi)):
                    if abs(v[i]) >= half:
                        k = i
                        break
                break
    return mx, mn, k


def _anchor_py(v, k, hi, half, det, span, spike):
    """The F-wave's anchor: from ``k`` (the first ``|v| >= half``), the first sample at
    ``|v| >= half`` that is the F-wave, not a noise spike before it: within its next
    ``span`` samples the trace reaches the detection level ``det`` peak to peak, or a
    deflection ``|v| >= spike`` (beyond the smoothed noise). None such: ``k``."""
    first = k
    while k >= 0:
        mx = -np.inf
        mn = np.inf
        for i in range(k, min(k + span, hi)):
            mx = max(mx, v[i])
            mn = min(mn, v[i])
        if mx - mn >= det or max(mx, -mn) >= spike:
            return k
        nxt = -1
        for i in range(k + 1, hi):
            if abs(v[i]) >= half:
                nxt = i
                break
        k = nxt
    return first


def _box_py(row, out, lo, hi, h, scale, base):
    """``out[i] = scale * sum(row[i-h..i+h]) - base``, ``i`` in ``[lo, hi)``: the box smoother
    of the CMAP kernel (``_trace_ops._smooth``, sums in the input's precision, vector
    instructions) for the widths it is compiled for, a direct sum otherwise."""
    if _smooth(row, out, lo, hi, h, scale, base) < 0:  # a box wider than 13 samples
        for i in range(lo, hi):
            a = 0.0
            for u in range(i - h, i + h + 1):
                a += row[u]
            out[i] = a * scale - base


def _rows_py(x3, s, h, w_fixed, cfg, lat_out, amp_out, train_out, ok_out):
    """Measure trains ``x3`` (``(T, S, n)``): :func:`_loop_py` with its scratch arrays."""
    n_stim, n = x3.shape[1], x3.shape[2]
    _loop(x3, s, h, w_fixed, cfg, lat_out, amp_out, train_out, ok_out, np.empty(n_stim),
          np.empty(n_stim), np.empty(n_stim, np.int64), np.empty(n_stim), np.empty(n_stim),
          np.empty(n_stim), np.empty(n), np.empty(n), np.empty(n // 16 + 1),
          np.empty(n // 16 + 1))


def _loop_py(x3, s, h, w_fixed, cfg, lat_out, amp_out, train_out, ok_out, noise, nz, good,
             base, acc, sq, mean, box, bmin, bmax):
    """Measure trains ``x3`` (``(T, S, n)``); see :func:`measure_f_waves`' Notes.

    ``cfg``: dt_ms, det_mv (min amplitude), onset_mv, tail, skip, quiet, guard, min_window,
    min_base, detect_noise, onset_noise, band_noise, band_detect, span, spike_noise
    (floats). ``train_out[:, t]``: m_end (samples), noise median, flags;
    ``ok_out[t, j]``: stimulus ``j`` has only finite samples (it is measured).

    Per train: the baseline of every stimulus (its sums in sample order, the stimuli side by
    side); one pass per stimulus adding it to the train's mean and checking its samples
    are finite; the box-smoothed mean and each stimulus' box-smoothed F window computed
    whole (vector instructions), then searched. Allocates nothing (the scratch arrays come
    from :func:`_rows_py`): compiled without reference counting where numba has the option.
    """
    n_trains, n_stim, n = x3.shape
    dt, min_amp, onset_mv = cfg[0], cfg[1], cfg[2]
    tail, skip, quiet, guard = int(cfg[3]), int(cfg[4]), int(cfg[5]), int(cfg[6])
    min_win, min_base, span = int(cfg[7]), int(cfg[8]), int(cfg[13])
    width = 2 * h + 1
    inv = 1.0 / width
    for t in range(n_trains):
        x = x3[t]
        flags = 0
        b0, b1 = 0, s
        if s < min_base:
            flags |= _SHORT_BASE  # the tail
            b0, b1 = n - tail, n
        # baseline and noise of each stimulus (sums in sample order, stimuli side by side)
        for j in range(n_stim):
            acc[j] = 0.0
            sq[j] = 0.0
            lat_out[t, j] = np.nan
            amp_out[t, j] = np.nan
        for i in range(b0, b1):
            for j in range(n_stim):
                acc[j] += x[j, i]
        for j in range(n_stim):
            base[j] = acc[j] / (b1 - b0)
        for i in range(b0, b1):
            for j in range(n_stim):
                sq[j] += (x[j, i] - base[j]) ** 2
        # the train's baseline-corrected mean (stimuli added in order) and the finite check
        for i in range(n):
            mean[i] = 0.0
        n_ok = 0
        for j in range(n_stim):
            ok = _add_centred(mean, x[j], base[j])
            ok_out[t, j] = ok
            if ok:
                good[n_ok] = j
                noise[n_ok] = math.sqrt(sq[j] / (b1 - b0))
                n_ok += 1
            else:
                flags |= _NAN
        if n_ok < n_stim:  # rare: a stimulus with non-finite samples; the mean without it
            for i in range(n):
                mean[i] = 0.0
            for g in range(n_ok):
                _add_centred(mean, x[good[g]], base[good[g]])
        train_out[0, t] = np.nan
        train_out[1, t] = np.nan
        if n_ok == 0 or n - s < min_win + skip:
            train_out[2, t] = flags | _UNMEASURABLE  # not studied
            continue
        for g in range(n_ok):  # insertion sort (no allocation; ~20 stimuli)
            v = noise[g]
            i = g
            while i > 0 and nz[i - 1] > v:
                nz[i] = nz[i - 1]
                i -= 1
            nz[i] = v
        med_noise = nz[(n_ok - 1) // 2] if n_ok % 2 else 0.5 * (nz[n_ok // 2 - 1] + nz[n_ok // 2])
        train_out[1, t] = med_noise
        det = max(min_amp, cfg[9] * med_noise)
        half = 0.5 * det
        level = max(onset_mv, cfg[10] * med_noise / math.sqrt(width))
        spike = cfg[14] * med_noise / math.sqrt(width)  # beyond the smoothed noise
        # -- the M-wave's peak: the largest |mean| (first one) from ``skip`` after the
        # stimulus; under the F detection level, no stimulus evoked a motor response
        lo = max(min(s + skip, n - 1), h)
        hi = n - h
        _box(mean, box, lo, hi, h, 1.0 / (width * n_ok), 0.0)  # lo < hi: checked above
        km, big = -1, -1.0
        for i in range(lo, hi):
            v = abs(box[i])
            if v > big:
                big, km = v, i
        if big < det:
            flags |= _NO_M  # a flat or noise-only train: it cannot show F-waves
        # -- the window: after the M-wave's return to baseline (or the given end).
        w0 = w_fixed
        if w_fixed < 0:
            band = max(cfg[11] * med_noise / math.sqrt(width * n_ok), cfg[12] * det)
            run = 0
            w0 = -1
            for i in range(max(km, h), hi):
                run = run + 1 if abs(box[i]) <= band else 0
                if run >= quiet:
                    w0 = i - quiet + 1
                    break
            if w0 < 0:
                flags |= _OVERLAP  # the M-wave never settles
                w0 = (s + n) // 2
            train_out[0, t] = w0
            w0 += guard
        else:
            train_out[0, t] = w_fixed
        w0 = max(w0, s + 1, h)
        if n - h - w0 < min_win:
            train_out[2, t] = flags | _UNMEASURABLE
            continue
        # each finite stimulus' box-smoothed window: extrema, then the first sample at half
        # the detection level and the walk back to the onset level
        n_f = 0
        for g in range(n_ok):
            j = good[g]
            _box(x[j], box, w0, n - h, h, inv, base[j])
            mx, mn, k = _extrema(box, w0, n - h, half, bmin, bmax)
            if mx - mn < det or k < 0:
                continue
            k = _anchor(box, k, n - h, half, det, span, spike)
            va = abs(box[k])
            vb = va
            while k > w0:
                vb = abs(box[k - 1])
                if vb < level:
                    break
                va = vb
                k -= 1
            if k > w0:  # level crossed between k-1 (vb < level) and k (va >= level)
                pos = k - 1 + (level - vb) / (va - vb) if va > vb else float(k)
            else:
                pos = float(w0)
            lat_out[t, j] = (pos - s) * dt
            amp_out[t, j] = mx - mn
            n_f += 1
        train_out[2, t] = flags | (0 if n_f else _ABSENT)


@functools.cache
def kernel():
    """The compiled per-train loop (numba imported and the helpers compiled on first use)."""
    import numba  # lazy: ~0.3 s

    from ._simd import block_extrema
    from ._trace_ops import _no_reference_counting
    from ._trace_ops import _smooth as smooth

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    inline = numba.njit(nogil=True, error_model="numpy", inline="always")
    global _smooth, _add_centred, _extrema, _box, _anchor, _block_extrema, _loop
    _smooth = smooth  # what the compiled functions call
    _block_extrema = block_extrema
    _add_centred = inline(_add_centred_py)
    _extrema = inline(_extrema_py)
    _box = inline(_box_py)
    _anchor = numba.njit(cache=True, nogil=True)(_anchor_py)
    # The per-train loop without numba's reference counting (as the SNAP kernel's loop,
    # :mod:`._snap_kernel`, explains): it allocates nothing, and each array view (a train,
    # a stimulus) would otherwise cost an atomic increment and decrement through a call.
    _loop = numba.njit(cache=True, nogil=True, error_model="numpy",
                       **_no_reference_counting())(_loop_py)
    rows = jit(_rows_py)
    _invalidate(rows)
    return rows


def _invalidate(rows) -> None:
    """Delete this module's numba cache files (those of the compiled ``rows`` and its
    helpers) older than any of :data:`DEPENDENCIES`: numba checks a cached function against
    its own file only, and the box smoother comes from :mod:`._trace_ops`."""
    from ._kernels import _invalidate_stale_cache

    _invalidate_stale_cache(rows, DEPENDENCIES, owners=("_fwave_kernel",))
