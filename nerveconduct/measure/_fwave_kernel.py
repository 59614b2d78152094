"""Per-train loop of :func:`nerveconduct.measure.fwave.measure_f_waves` (private).

Plain Python compiled with numba on first use (``cache=True``; numba imported lazily so that
``import nerveconduct`` stays fast). The method is documented in ``measure_f_waves``' Notes.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["kernel"]


def _rows_py(x3, s, h, w_fixed, cfg, lat_out, amp_out, train_out):
    """Measure trains ``x3`` (``(T, S, n)``); see :func:`measure_f_waves`' Notes.

    ``cfg``: dt_ms, det_mv (min amplitude), onset_mv, tail, skip, quiet, guard, min_window,
    min_base (floats). ``train_out[:, t]``: m_end (samples), noise median, flags.
    """
    n_trains, n_stim, n = x3.shape
    dt, min_amp, onset_mv = cfg[0], cfg[1], cfg[2]
    tail, skip, quiet, guard = int(cfg[3]), int(cfg[4]), int(cfg[5]), int(cfg[6])
    min_win, min_base = int(cfg[7]), int(cfg[8])
    width = 2 * h + 1
    base = np.empty(n_stim)
    noise = np.empty(n_stim)
    ok = np.empty(n_stim, np.bool_)
    mean = np.empty(n)
    for t in range(n_trains):
        flags = 0
        b0, b1 = 0, s
        if s < min_base:
            flags |= 16  # SHORT_BASELINE: the tail
            b0, b1 = n - tail, n
        n_ok = 0
        for i in range(n):
            mean[i] = 0.0
        for j in range(n_stim):
            lat_out[t, j] = np.nan
            amp_out[t, j] = np.nan
            row = x3[t, j]
            acc = 0.0
            chk = 0.0
            for i in range(n):
                chk += row[i] * 0.0  # NaN/inf propagate: one vectorizable pass
            good = chk == 0.0
            ok[j] = good
            if not good:
                flags |= 8  # NAN_SAMPLES
                continue
            for i in range(b0, b1):
                acc += row[i]
            m = acc / (b1 - b0)
            sq = 0.0
            for i in range(b0, b1):
                sq += (row[i] - m) ** 2
            base[j] = m
            noise[j] = math.sqrt(sq / (b1 - b0))
            for i in range(n):
                mean[i] += row[i] - m
            n_ok += 1
        train_out[0, t] = np.nan
        train_out[1, t] = np.nan
        if n_ok == 0 or n - s < min_win + skip:
            train_out[2, t] = flags | 128  # UNMEASURABLE: not studied
            continue
        nz = np.sort(noise[ok])
        med_noise = nz[(n_ok - 1) // 2] if n_ok % 2 else 0.5 * (nz[n_ok // 2 - 1] + nz[n_ok // 2])
        train_out[1, t] = med_noise
        det = max(min_amp, cfg[9] * med_noise)
        level = max(onset_mv, cfg[10] * med_noise / math.sqrt(width))
        # -- the window: after the M-wave's return to baseline (or the given end).
        w0 = w_fixed
        if w_fixed < 0:
            lo = min(s + skip, n - 1)
            hi = n - h
            km, big = -1, -1.0
            i0 = max(lo, h)
            acc = 0.0
            for u in range(i0 - h, i0 + h):
                acc += mean[u]
            for i in range(i0, hi):
                acc += mean[i + h]
                v = abs(acc) / (width * n_ok)
                acc -= mean[i - h]
                if v > big:
                    big, km = v, i
            band = max(cfg[11] * med_noise / math.sqrt(width * n_ok), cfg[12] * det)
            run = 0
            w0 = -1
            i0 = max(km, h)
            acc = 0.0
            for u in range(i0 - h, i0 + h):
                acc += mean[u]
            for i in range(i0, hi):
                acc += mean[i + h]
                run = run + 1 if abs(acc) / (width * n_ok) <= band else 0
                acc -= mean[i - h]
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
        n_f = 0
        for j in range(n_stim):
            if not ok[j]:
                continue
            row = x3[t, j]
            mx, mn = -np.inf, np.inf
            k1 = -1
            v1 = 0.0
            acc = 0.0
            for u in range(w0 - h, w0 + h):
                acc += row[u]
            inv = 1.0 / width
            for i in range(w0, n - h):
                acc += row[i + h]
                v = acc * inv - base[j]
                acc -= row[i - h]
                mx = max(mx, v)
                mn = min(mn, v)
                if k1 < 0 and abs(v) >= 0.5 * det:
                    k1 = i
                    v1 = abs(v)
            if mx - mn < det or k1 < 0:
                continue
            # walk back from the first half-detection crossing to the onset level
            k = k1
            va = v1
            vb = va
            while k > w0:
                acc = 0.0
                for u in range(-h, h + 1):
                    acc += row[k - 1 + u]
                vb = abs(acc / width - base[j])
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
        train_out[2, t] = flags | (0 if n_f else 1)  # ABSENT


@functools.cache
def kernel():
    import numba  # lazy: ~0.3 s

    return numba.njit(cache=True, nogil=True, error_model="numpy")(_rows_py)
