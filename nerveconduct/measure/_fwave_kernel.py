"""Per-train loop of :func:`nerveconduct.measure.fwave.measure_f_waves` (private).

Plain Python compiled with numba on first use (``cache=True``; numba imported lazily so that
``import nerveconduct`` stays fast). The method is documented in ``measure_f_waves``' Notes.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["kernel"]

#: The compiled helpers of :func:`_rows_py` (set by :func:`kernel`).
_finite = _add_centred = _window1 = _window4 = None


def _finite_py(row):
    """Whether every sample of ``row`` is finite: NaN and inf make the sum of ``x * 0`` NaN,
    in whatever order it is summed (compiled free to reorder the sum)."""
    c = 0.0
    for i in range(row.shape[0]):
        c += row[i] * 0.0
    return c == 0.0


def _add_centred_py(mean, row, m):
    """``mean += row - m``, sample by sample (elementwise: vector instructions)."""
    for i in range(row.shape[0]):
        mean[i] += row[i] - m


def _window1_py(r0, w0, n, h, inv, half, gbase, mx, mn, k1, v1, g):
    """The box-smoothed window of one stimulus (good stimulus ``g``, samples ``r0``): its
    extrema ``mx[g]``, ``mn[g]`` and first sample at half the detection level ``k1[g]``
    (``-1``: none) with its value ``v1[g]``."""
    b0 = gbase[g]
    a0 = 0.0
    for u in range(w0 - h, w0 + h):
        a0 += r0[u]
    hi0, lo0, k0, z0 = -np.inf, np.inf, -1, 0.0
    for i in range(w0, n - h):
        a0 += r0[i + h]
        v = a0 * inv - b0
        a0 -= r0[i - h]
        hi0 = max(hi0, v)
        lo0 = min(lo0, v)
        if k0 < 0 and abs(v) >= half:
            k0, z0 = i, abs(v)
    mx[g], mn[g], k1[g], v1[g] = hi0, lo0, k0, z0


def _window4_py(r0, r1, r2, r3, w0, n, h, inv, half, gbase, mx, mn, k1, v1, g):
    """:func:`_window1_py` for good stimuli ``g`` to ``g + 3`` at once: the same operations
    in the same order for each, interleaved."""
    b0, b1, b2, b3 = gbase[g], gbase[g + 1], gbase[g + 2], gbase[g + 3]
    a0 = a1 = a2 = a3 = 0.0
    for u in range(w0 - h, w0 + h):
        a0 += r0[u]
        a1 += r1[u]
        a2 += r2[u]
        a3 += r3[u]
    hi0 = hi1 = hi2 = hi3 = -np.inf
    lo0 = lo1 = lo2 = lo3 = np.inf
    k0 = kk1 = k2 = k3 = -1
    z0 = z1 = z2 = z3 = 0.0
    for i in range(w0, n - h):
        a0 += r0[i + h]
        a1 += r1[i + h]
        a2 += r2[i + h]
        a3 += r3[i + h]
        v0 = a0 * inv - b0
        u1 = a1 * inv - b1
        u2 = a2 * inv - b2
        u3 = a3 * inv - b3
        a0 -= r0[i - h]
        a1 -= r1[i - h]
        a2 -= r2[i - h]
        a3 -= r3[i - h]
        hi0 = max(hi0, v0)
        hi1 = max(hi1, u1)
        hi2 = max(hi2, u2)
        hi3 = max(hi3, u3)
        lo0 = min(lo0, v0)
        lo1 = min(lo1, u1)
        lo2 = min(lo2, u2)
        lo3 = min(lo3, u3)
        if k0 < 0 and abs(v0) >= half:
            k0, z0 = i, abs(v0)
        if kk1 < 0 and abs(u1) >= half:
            kk1, z1 = i, abs(u1)
        if k2 < 0 and abs(u2) >= half:
            k2, z2 = i, abs(u2)
        if k3 < 0 and abs(u3) >= half:
            k3, z3 = i, abs(u3)
    mx[g], mn[g], k1[g], v1[g] = hi0, lo0, k0, z0
    mx[g + 1], mn[g + 1], k1[g + 1], v1[g + 1] = hi1, lo1, kk1, z1
    mx[g + 2], mn[g + 2], k1[g + 2], v1[g + 2] = hi2, lo2, k2, z2
    mx[g + 3], mn[g + 3], k1[g + 3], v1[g + 3] = hi3, lo3, k3, z3


def _rows_py(x3, s, h, w_fixed, cfg, lat_out, amp_out, train_out, ok_out):
    """Measure trains ``x3`` (``(T, S, n)``); see :func:`measure_f_waves`' Notes.

    ``cfg``: dt_ms, det_mv (min amplitude), onset_mv, tail, skip, quiet, guard, min_window,
    min_base (floats). ``train_out[:, t]``: m_end (samples), noise median, flags;
    ``ok_out[t, j]``: stimulus ``j`` has only finite samples (it is measured).

    Speed without changing a bit of the results: every running sum keeps its order (sample
    after sample, stimulus after stimulus), but the sums of a train's stimuli, which do not
    depend on one another, run side by side (stimulus index innermost), so the processor
    overlaps them instead of waiting for each addition in turn; the finite-samples check,
    whose sum is 0 or NaN whatever the order, is free to reorder it (vector instructions).
    """
    n_trains, n_stim, n = x3.shape
    dt, min_amp, onset_mv = cfg[0], cfg[1], cfg[2]
    tail, skip, quiet, guard = int(cfg[3]), int(cfg[4]), int(cfg[5]), int(cfg[6])
    min_win, min_base = int(cfg[7]), int(cfg[8])
    width = 2 * h + 1
    inv = 1.0 / width
    noise = np.empty(n_stim)
    good = np.empty(n_stim, np.int64)  # the finite stimuli, in order
    gbase = np.empty(n_stim)  # per good stimulus: its baseline, sums, window extrema
    acc = np.empty(n_stim)
    sq = np.empty(n_stim)
    mx = np.empty(n_stim)
    mn = np.empty(n_stim)
    k1 = np.empty(n_stim, np.int64)
    v1 = np.empty(n_stim)
    mean = np.empty(n)
    for t in range(n_trains):
        x = x3[t]
        flags = 0
        b0, b1 = 0, s
        if s < min_base:
            flags |= 16  # SHORT_BASELINE: the tail
            b0, b1 = n - tail, n
        n_ok = 0
        for j in range(n_stim):
            lat_out[t, j] = np.nan
            amp_out[t, j] = np.nan
            good_j = _finite(x[j])
            ok_out[t, j] = good_j
            if good_j:
                good[n_ok] = j
                n_ok += 1
            else:
                flags |= 8  # NAN_SAMPLES
        # baseline and noise of each finite stimulus (sums in sample order)
        for g in range(n_ok):
            acc[g] = 0.0
            sq[g] = 0.0
        for i in range(b0, b1):
            for g in range(n_ok):
                acc[g] += x[good[g], i]
        for g in range(n_ok):
            gbase[g] = acc[g] / (b1 - b0)
        for i in range(b0, b1):
            for g in range(n_ok):
                sq[g] += (x[good[g], i] - gbase[g]) ** 2
        for g in range(n_ok):
            noise[good[g]] = math.sqrt(sq[g] / (b1 - b0))
        # the train's baseline-corrected mean (stimuli added in order)
        for i in range(n):
            mean[i] = 0.0
        for g in range(n_ok):
            _add_centred(mean, x[good[g]], gbase[g])
        train_out[0, t] = np.nan
        train_out[1, t] = np.nan
        if n_ok == 0 or n - s < min_win + skip:
            train_out[2, t] = flags | 128  # UNMEASURABLE: not studied
            continue
        nz = np.sort(noise[ok_out[t]])
        med_noise = nz[(n_ok - 1) // 2] if n_ok % 2 else 0.5 * (nz[n_ok // 2 - 1] + nz[n_ok // 2])
        train_out[1, t] = med_noise
        det = max(min_amp, cfg[9] * med_noise)
        half = 0.5 * det
        level = max(onset_mv, cfg[10] * med_noise / math.sqrt(width))
        # -- the window: after the M-wave's return to baseline (or the given end).
        w0 = w_fixed
        if w_fixed < 0:
            lo = min(s + skip, n - 1)
            hi = n - h
            km, big = -1, -1.0
            i0 = max(lo, h)
            a = 0.0
            for u in range(i0 - h, i0 + h):
                a += mean[u]
            for i in range(i0, hi):
                a += mean[i + h]
                v = abs(a) / (width * n_ok)
                a -= mean[i - h]
                if v > big:
                    big, km = v, i
            band = max(cfg[11] * med_noise / math.sqrt(width * n_ok), cfg[12] * det)
            run = 0
            w0 = -1
            i0 = max(km, h)
            a = 0.0
            for u in range(i0 - h, i0 + h):
                a += mean[u]
            for i in range(i0, hi):
                a += mean[i + h]
                run = run + 1 if abs(a) / (width * n_ok) <= band else 0
                a -= mean[i - h]
                if run >= quiet:
                    w0 = i - quiet + 1
                    break
            if w0 < 0:
                flags |= 32  # ARTIFACT_OVERLAP: the M-wave never settles
                w0 = (s + n) // 2
            train_out[0, t] = w0
            w0 += guard
        else:
            train_out[0, t] = w_fixed
        w0 = max(w0, s + 1, h)
        if n - h - w0 < min_win:
            train_out[2, t] = flags | 128
            continue
        # the box-smoothed window of every finite stimulus: extrema, first half-level sample;
        # four stimuli at a time (four independent running sums in registers)
        g = 0
        while g < n_ok:
            if g + 4 <= n_ok:
                _window4(x[good[g]], x[good[g + 1]], x[good[g + 2]], x[good[g + 3]], w0, n, h,
                         inv, half, gbase, mx, mn, k1, v1, g)
                g += 4
            else:
                _window1(x[good[g]], w0, n, h, inv, half, gbase, mx, mn, k1, v1, g)
                g += 1
        n_f = 0
        for g in range(n_ok):
            if mx[g] - mn[g] < det or k1[g] < 0:
                continue
            j = good[g]
            # walk back from the first half-detection crossing to the onset level
            k = k1[g]
            va = v1[g]
            vb = va
            while k > w0:
                a = 0.0
                for u in range(-h, h + 1):
                    a += x[j, k - 1 + u]
                vb = abs(a / width - gbase[g])
                if vb < level:
                    break
                va = vb
                k -= 1
            if k > w0:  # level crossed between k-1 (vb < level) and k (va >= level)
                pos = k - 1 + (level - vb) / (va - vb) if va > vb else float(k)
            else:
                pos = float(w0)
            lat_out[t, j] = (pos - s) * dt
            amp_out[t, j] = mx[g] - mn[g]
            n_f += 1
        train_out[2, t] = flags | (0 if n_f else 1)  # ABSENT


@functools.cache
def kernel():
    import numba  # lazy: ~0.3 s

    jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    global _finite, _add_centred, _window1, _window4  # what the compiled _rows_py calls
    _finite = numba.njit(cache=True, nogil=True, fastmath={"reassoc"})(_finite_py)
    _add_centred, _window1, _window4 = jit(_add_centred_py), jit(_window1_py), jit(_window4_py)
    return jit(_rows_py)
