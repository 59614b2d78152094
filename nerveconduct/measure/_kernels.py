"""Compiled per-trace kernel of :func:`nerveconduct.measure.cmap.measure_cmap` (private).

The one implementation of the CMAP measurement algorithm (numba, ``cache=True``, GIL
released): :mod:`nerveconduct.measure.cmap` checks the arguments, cuts the batch into chunks and
runs :func:`measure_rows` on them from a thread pool. The method is documented step by step
in ``measure_cmap``'s Notes; comments here say how, not why. The kernel works in samples:
``cfg_i``/``cfg_f`` hold the method's constants converted for the batch's sampling rate
(``measure._kernel_config``), in the ``I_*``/``C_*`` slots; ``out`` rows are the ``F_*``.
Importing this module imports numba (~0.3 s), hence :mod:`nerveconduct.measure.cmap` imports it
lazily.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import literal_unroll

from ..flags import MeasureFlag
from ._onset import BLOCK as _ONSET_BLOCK, baseline_deviation_onset

(F_ONSET, F_NEG_LAT, F_NEG_AMP, F_P2P, F_NEG_DUR, F_AREA, F_CMAP_DUR, F_BASE, F_NOISE, F_NEG_END,
 F_POS_LAT, F_ONSET_ALT) = range(12)
N_FIELDS = 12
#: Columns of the landmark input ``lm`` (ms after the stimulus, NaN = detect).
L_ONSET, L_NEG_PEAK, L_NEG_END, L_POS_PEAK = range(4)
N_LANDMARKS = 4
(I_MIN_BASE, I_TAIL, I_MIN_POST, I_SMOOTH_H, I_FIT_H, I_ONSET_FIT_H, I_ART_RUN, I_ART_PEAK_WIN,
 I_MIN_WIDTH, I_MAX_GAP, I_LOCAL_WIN, I_LOCAL_GUARD, I_ALT_RUN) = range(13)
N_CFG_I = 13
(C_DT_MS, C_ONSET_MV, C_ART_K, C_ART_FLOOR_MV, C_ART_TAU_SAMPLES, C_DET_K, C_DET_FLOOR_MV,
 C_LOW_SNR_K, C_DUR_FRACTION, C_DUR_K, C_LOCAL_K, C_LOCAL_MIN_MV, C_FIT_TOL_K, C_ALT_K,
 C_DISAGREE_MS) = range(15)
N_CFG_F = 15

_ABSENT = int(MeasureFlag.ABSENT)
_LOW_SNR = int(MeasureFlag.LOW_SNR)
_CLIPPED = int(MeasureFlag.CLIPPED)
_NAN = int(MeasureFlag.NAN_SAMPLES)
_SHORT_BASE = int(MeasureFlag.SHORT_BASELINE)
_OVERLAP = int(MeasureFlag.ARTIFACT_OVERLAP)
_POLARITY = int(MeasureFlag.POLARITY_SUSPECT)
_UNMEASURABLE = int(MeasureFlag.UNMEASURABLE)
_TRUNCATED = int(MeasureFlag.TRUNCATED)
_DISAGREE = int(MeasureFlag.ONSETS_DISAGREE)
_HAND_SET = int(MeasureFlag.HAND_SET_RESPONSE)
_NONFINITE = -1  # internal return code of _core: repair the trace and measure it again
_FLAT_MV = 1e-9  # below this, noise/artifact/deflections count as none (a flat line)
_HUGE_MV = 1e150  # beyond this, squares and sums of samples may overflow: UNMEASURABLE

BLOCK = 16  # samples per min/max summary of the smoothed trace
assert BLOCK == _ONSET_BLOCK  # the second onset detector reads the same summaries
SMOOTH_WIDTHS = (3, 5, 7, 9, 11, 13)  # box widths compiled as constants (vectorized loops)
MAX_SMOOTH_H = 6

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_jit_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
# Sums keep NaN/inf and their order: no "reassoc", so a sum does not depend on where its
# scratch buffer happens to be aligned (vectorized reductions peel to alignment), and results
# are bit-identical whatever the chunking or thread count.
_jit_sum = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"nsz", "contract"})
_jit_fast = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=True)


@_jit_inline
def _smooth(x, vs, lo, hi, h, scale, base):
    """``vs[i] = scale * sum(x[i-h..i+h]) - base``, ``i`` in ``[lo, hi)``; count non-finite.

    Returns -1 when ``2h+1`` is not in SMOOTH_WIDTHS (excluded by the configuration).
    """
    bad = -1
    for width in literal_unroll(SMOOTH_WIDTHS):
        if 2 * h + 1 == width:
            src = x[lo - h:hi + h]
            dst = vs[lo:hi]
            bad = 0
            for i in range(hi - lo):
                acc = src[i]  # in the input's precision: 8 float32 lanes per vector
                for u in range(1, width):
                    acc += src[i + u]
                v = acc * scale - base
                dst[i] = v
                bad += not (abs(v) <= 1e300)
    return bad


@_jit_fast
def _block_extrema(vs, lo, hi, bmin, bmax):
    """Min and max of ``vs`` over each BLOCK-sample block of ``[lo, hi)`` (last one partial)."""
    nb = (hi - lo) // BLOCK
    for b in range(nb + 1):
        o = lo + b * BLOCK
        if o >= hi:
            break
        m1 = vs[o]
        m2 = m1
        if b < nb:
            for j in range(1, BLOCK):  # a constant trip count: unrolled
                m1 = min(m1, vs[o + j])
                m2 = max(m2, vs[o + j])
        else:
            for j in range(o + 1, hi):
                m1 = min(m1, vs[j])
                m2 = max(m2, vs[j])
        bmin[b] = m1
        bmax[b] = m2


@_jit_sum
def _mean_rms(x, lo, hi):
    """Mean of ``x[lo:hi]`` and RMS deviation about it (NaN/inf propagate).

    One pass over the samples shifted by the first one (no cancellation for offset traces).
    """
    acc = 0.0
    sq = 0.0
    x0 = x[lo]
    for i in range(lo, hi):
        d = x[i] - x0
        acc += d
        sq += d * d
    m = acc / (hi - lo)
    return x0 + m, math.sqrt(max(sq / (hi - lo) - m * m, 0.0))


@_jit_sum
def _sum(x, lo, hi):
    acc = 0.0
    for i in range(lo, hi):
        acc += x[i]
    return acc


@_jit
def _first_equal(vs, lo, hi, value):
    for i in range(lo, hi):
        if vs[i] == value:
            return i
    return -1


@_jit
def _max_after(vs, bmax, lo, hi, k):
    """Largest ``vs[i]``, ``i`` in ``(k, hi)``, first occurrence: ``(value, index)``."""
    b = (k - lo) // BLOCK
    best = -np.inf
    kb = -1
    for i in range(k + 1, min(lo + (b + 1) * BLOCK, hi)):
        if vs[i] > best:
            best = vs[i]
            kb = i
    bb = -1
    for c in range(b + 1, (hi - lo + BLOCK - 1) // BLOCK):
        v = bmax[c]
        higher = v > best  # branch-free selects: the comparison is unpredictable
        best = v if higher else best
        bb = c if higher else bb
    if bb >= 0:
        kb = _first_equal(vs, lo + bb * BLOCK, min(lo + (bb + 1) * BLOCK, hi), best)
    return best, kb


@_jit
def _last_at_or_below(vs, bmin, lo, hi, level):
    """Last index in ``[lo, hi)`` with ``vs[i] <= level`` (-1: none)."""
    for b in range((hi - lo + BLOCK - 1) // BLOCK - 1, -1, -1):
        if bmin[b] <= level:
            for i in range(min(lo + (b + 1) * BLOCK, hi) - 1, lo + b * BLOCK - 1, -1):
                if vs[i] <= level:
                    return i
    return -1


@_jit
def _cross(y, sign, base, start, stop, step, level):
    """Follow ``sign*y - base`` from ``start`` by ``step`` (+-1) until it reaches ``level``.

    "Reaches" tolerates ``_FLAT_MV`` (a tail decaying towards the level counts). Returns the
    linearly interpolated fractional index of the crossing; NaN when ``stop`` is reached
    first or ``start`` is already at the level.
    """
    j = start
    while j != stop and sign * y[j] - base < level - _FLAT_MV:
        j += step
    if j == stop or j == start:
        return np.nan
    a = sign * y[j - step] - base
    return (j - step) + step * (level - a) / (sign * y[j] - base - a)


@_jit_sum
def _quadratic_fit(x, k, h, sign, base):
    """LS parabola ``a0 + b1 u + c u^2`` through ``sign*x[k+u] - base``, ``|u| <= h``.

    Closed form for a symmetric window (Savitzky & Golay 1964). Returns ``(a0, b1, c, rms)``,
    ``rms`` the RMS residual (mV).
    """
    s0 = 2.0 * h + 1.0
    s2 = h * (h + 1.0) * (2.0 * h + 1.0) / 3.0
    s4 = s2 * (3.0 * h * h + 3.0 * h - 1.0) / 5.0
    sy = suy = su2y = syy = 0.0
    for u in range(-h, h + 1):
        y = sign * x[k + u] - base
        sy += y
        suy += u * y
        su2y += u * u * y
        syy += y * y
    c = (s0 * su2y - s2 * sy) / (s0 * s4 - s2 * s2)
    a0 = (sy - c * s2) / s0
    b1 = suy / s2
    rss = syy - (a0 * sy + b1 * suy + c * su2y)  # normal equations: no second pass
    return a0, b1, c, math.sqrt(max(rss, 0.0) / s0)


@_jit
def _refine_min(x, lo, hi, k, h, sign, base, tol):
    """Sub-sample minimum ``(position, value)`` of ``y = sign*x - base`` near sample ``k``.

    LS parabola over ``2h+1`` samples, re-centred on its vertex up to twice (the last valid
    fit is kept). No valid fit (window leaves ``[lo, hi)``, opens downwards, vertex outside,
    RMS residual above ``tol``): 3-point parabola at the lowest sample within ``k +- h``.
    """
    kc = k
    pos = val = np.nan
    for _ in range(3):
        if kc - h < lo or kc + h >= hi or h < 1:
            break
        a0, b1, c, rms = _quadratic_fit(x, kc, h, sign, base)
        if rms > tol or not c > 0.0 or abs(b1) > 2.0 * c * h:
            break
        delta = -b1 / (2.0 * c)
        pos = kc + delta
        val = a0 - b1 * b1 / (4.0 * c)
        if int(round(delta)) == 0:
            break
        kc += int(round(delta))
    if pos == pos:
        return pos, val
    km = max(lo, k - h)
    for j in range(km + 1, min(hi, k + h + 1)):
        if sign * x[j] < sign * x[km]:
            km = j
    y0 = sign * x[km] - base
    if km - 1 < lo or km + 1 >= hi:
        return float(km), y0
    ym = sign * x[km - 1] - base
    yp = sign * x[km + 1] - base
    if not (ym > y0 and yp > y0):
        return float(km), y0  # a plateau or a corner: the sample itself
    delta = 0.5 * (ym - yp) / (ym - 2.0 * y0 + yp)
    return km + delta, y0 - 0.25 * (ym - yp) * delta


@_jit
def _refine_crossing(x, lo, hi, guess, h, sign, base, level, tol, step, raw_start, raw_stop):
    """Refine a crossing of ``level`` found near ``guess`` on the smoothed trace.

    Root of the LS parabola over ``guess +- h`` on a slope of sign ``step`` (kept if within
    ``h/2 + 1`` samples of ``guess``); if the parabola does not fit (RMS residual above
    ``tol``: a kink), the raw samples' crossing, walking from ``raw_start`` in direction
    ``step`` towards ``raw_stop``.
    """
    k = int(round(guess))
    if k - h < lo or k + h >= hi or h < 1:
        return guess
    a0, b1, c, rms = _quadratic_fit(x, k, h, sign, base)
    if rms > tol:
        raw = _cross(x, sign, base, raw_start, raw_stop, step, level)
        return raw if raw == raw else guess
    best = np.nan
    disc = b1 * b1 - 4.0 * c * (a0 - level)
    if abs(c) * h < 1e-12 * abs(b1):
        best = (level - a0) / b1
    elif disc >= 0.0:
        for u in ((-b1 - math.sqrt(disc)) / (2.0 * c), (-b1 + math.sqrt(disc)) / (2.0 * c)):
            if (b1 + 2.0 * c * u) * step > 0.0 and (best != best or
                                                     abs(u + k - guess) < abs(best + k - guess)):
                best = u
    if best == best and abs(best) <= h and abs(k + best - guess) <= 0.5 * h + 1.0:
        return k + best
    return guess


@_jit
def _interp_integral(x, sign, base, p, q):
    """Integral over fractional samples ``[p, q]`` of the linear interpolant of ``sign*x-base``."""
    ip = min(int(math.floor(p)), x.shape[0] - 2)
    iq = min(int(math.floor(q)), x.shape[0] - 2)
    vp0 = sign * x[ip] - base
    vp = vp0 + (sign * x[ip + 1] - base - vp0) * (p - ip)
    vq0 = sign * x[iq] - base
    vq = vq0 + (sign * x[iq + 1] - base - vq0) * (q - iq)
    if ip == iq:
        return 0.5 * (vp + vq) * (q - p)
    inner = _sum(x, ip + 1, iq + 1) - 0.5 * (x[ip + 1] + x[iq])  # trapezoids ip+1 .. iq
    return (0.5 * (vp + sign * x[ip + 1] - base) * (ip + 1 - p)
            + sign * inner - base * (iq - ip - 1) + 0.5 * (vq0 + vq) * (q - iq))


@_jit
def _value_at(x, sign, base, p):
    """``sign*x - base`` at fractional sample ``p`` (linear interpolation): a hand-set peak."""
    i = min(int(math.floor(p)), x.shape[0] - 2)
    v0 = sign * x[i] - base
    return v0 + (sign * x[i + 1] - base - v0) * (p - i)


@_jit
def _at(lm, r, c, s, dt_ms, n):
    """Landmark ``c`` of row ``r`` as a fractional sample in ``[0, n - 1]`` (NaN: detect)."""
    t = lm[r, c]
    if t != t:
        return np.nan
    return min(max(s + t / dt_ms, 0.0), n - 1.0)


@_jit
def _core(x, n, s, sign, cfg_i, cfg_f, vs, tmp, bmin, bmax, out, r, lm, has_lm):
    """Measure one trace ``x[:n]`` into ``out[:, r]``; returns its flags or ``_NONFINITE``.

    With ``has_lm``, row ``r`` of ``lm`` holds hand-set landmarks (ms, NaN = detect): each
    replaces the detected one, and the measures that depend on it follow from it.
    """
    flags = 0
    for f in range(N_FIELDS):
        out[f, r] = np.nan
    if n - s < cfg_i[I_MIN_POST]:
        for i in range(n):
            if not math.isfinite(x[i]):
                return _NONFINITE
        return _UNMEASURABLE
    h = cfg_i[I_SMOOTH_H]
    dt_ms = cfg_f[C_DT_MS]
    g_on = g_pk = g_end = g_pos = np.nan
    if has_lm:
        g_on = _at(lm, r, L_ONSET, s, dt_ms, n)
        g_pk = _at(lm, r, L_NEG_PEAK, s, dt_ms, n)
        g_end = _at(lm, r, L_NEG_END, s, dt_ms, n)
        g_pos = _at(lm, r, L_POS_PEAK, s, dt_ms, n)
    forced = g_on == g_on or g_pk == g_pk or g_end == g_end or g_pos == g_pos

    # -- 1. baseline and noise: pre-stimulus samples, or the trace's tail when too few.
    b0, b1 = 0, s
    if s < cfg_i[I_MIN_BASE]:
        flags |= _SHORT_BASE
        b0, b1 = n - cfg_i[I_TAIL], n
        for i in range(s):
            if not math.isfinite(x[i]):
                return _NONFINITE
    base_raw, noise = _mean_rms(x, b0, b1)
    if not (math.isfinite(base_raw) and math.isfinite(noise)):
        return _NONFINITE
    base = sign * base_raw  # physical polarity
    out[F_BASE, r] = base
    out[F_NOISE, r] = noise

    # -- 3. stimulus artifact: quiet run, searched up to the size-adaptive exponential cap.
    band = max(cfg_f[C_ART_K] * noise, cfg_f[C_ART_FLOOR_MV])
    peak_art = 0.0
    k_art = s
    for i in range(s, min(s + cfg_i[I_ART_PEAK_WIN], n)):
        if abs(sign * x[i] - base) > peak_art:
            peak_art = abs(sign * x[i] - base)
            k_art = i
    a_end = s
    if peak_art > band:
        limit = k_art + int(math.ceil(cfg_f[C_ART_TAU_SAMPLES] * math.log(peak_art / band)))
        limit = min(limit, n - cfg_i[I_MIN_POST])
        need = cfg_i[I_ART_RUN]
        quiet = 0
        a_end = -1
        for i in range(s, min(limit + need, n)):
            v = sign * x[i] - base
            if v != v:
                return _NONFINITE
            quiet = quiet + 1 if abs(v) <= band else 0
            if quiet >= need:
                a_end = i - need + 1
                break
        if a_end < 0:
            a_end = max(limit, s)
            flags |= _OVERLAP
    if n - a_end < cfg_i[I_MIN_POST]:
        return flags | _UNMEASURABLE

    # -- 4. smoothed trace over [a_end, n) (raw at the h-sample edges), block extrema.
    lo = a_end + h
    hi = n - h
    bad = _smooth(x, vs, lo, hi, h, sign / (2 * h + 1), base)
    if bad < 0:
        return flags | _UNMEASURABLE
    for i in range(a_end, lo):
        vs[i] = sign * x[i] - base
        bad += not (abs(vs[i]) <= 1e300)
    for i in range(hi, n):
        vs[i] = sign * x[i] - base
        bad += not (abs(vs[i]) <= 1e300)
    if bad != 0:
        return _NONFINITE
    _block_extrema(vs, lo, hi, bmin, bmax)
    mn = np.inf
    mx = -np.inf
    bk = 0
    for b in range((hi - lo + BLOCK - 1) // BLOCK):
        lower = bmin[b] < mn  # branch-free selects: the comparisons are unpredictable
        mn = bmin[b] if lower else mn
        bk = b if lower else bk
        mx = bmax[b] if bmax[b] > mx else mx
    k_mn = _first_equal(vs, lo + bk * BLOCK, min(lo + (bk + 1) * BLOCK, hi), mn)
    if noise < _FLAT_MV and peak_art < _FLAT_MV and mx < _FLAT_MV and mn > -_FLAT_MV:
        return flags | _UNMEASURABLE  # a flat line
    if not (mx <= _HUGE_MV and mn >= -_HUGE_MV and peak_art <= _HUGE_MV
            and abs(base) <= _HUGE_MV and noise <= _HUGE_MV):
        return flags | _UNMEASURABLE  # values the arithmetic below could overflow on
    depth = -mn
    det = max(cfg_f[C_DET_K] * noise, cfg_f[C_DET_FLOOR_MV])

    # -- 11. polarity: biggest deflection positive, first suprathreshold phase positive.
    if mx > depth and mx >= det:
        j = lo
        while j < hi and abs(vs[j]) < det:
            j += 1
        if j < hi and vs[j] > 0.0:
            flags |= _POLARITY

    # -- 5. presence: deep enough and sustained (a run at half the detection level); a
    # hand-set landmark overrides a "no response" (HAND_SET_RESPONSE).
    if depth < det:
        if not forced:
            return flags | _ABSENT
        flags |= _HAND_SET
    else:
        need = cfg_i[I_MIN_WIDTH]
        jl = jr = k_mn
        while jl > a_end and k_mn - jl + 1 < need and vs[jl - 1] <= -0.5 * det:
            jl -= 1
        while jr < n - 1 and jr - jl + 1 < need and vs[jr + 1] <= -0.5 * det:
            jr += 1
        if jr - jl + 1 < need:
            if not forced:
                return flags | _ABSENT
            flags |= _HAND_SET
    if g_pk == g_pk and flags & _HAND_SET:  # no response found: search from the hand-set peak
        k_mn = min(max(int(round(g_pk)), lo), hi - 1)
        depth = -vs[k_mn] if vs[k_mn] < 0.0 else depth

    # -- 6. onset, from the pre-stimulus or (if it differs) the local pre-take-off baseline.
    level = cfg_f[C_ONSET_MV]
    tol = cfg_f[C_FIT_TOL_K] * noise + _FLAT_MV  # a parabola must fit to within the noise
    lh = max(level, 0.1 * depth)
    c50 = _cross(vs, 1.0, 0.0, k_mn, a_end - 1, -1, -0.5 * depth)
    j50 = a_end if c50 != c50 else int(c50)
    c10 = _cross(vs, 1.0, 0.0, j50 + 1 if lh <= 0.5 * depth else k_mn, a_end - 1, -1, -lh)
    j10 = a_end if c10 != c10 else int(c10)
    we = j10 - max(2 * (j50 - j10), cfg_i[I_LOCAL_GUARD])
    ws = max(we - cfg_i[I_LOCAL_WIN], a_end)
    offset = 0.0
    if we - ws >= cfg_i[I_LOCAL_WIN] // 2:
        local = _sum(vs, ws, we) / (we - ws)
        se = noise * math.sqrt(1.0 / (we - ws) + 1.0 / (b1 - b0))  # SE of the difference
        if abs(local) > max(cfg_f[C_LOCAL_K] * se, cfg_f[C_LOCAL_MIN_MV]):
            offset = local
    thr = offset - level
    rbase = base + offset
    if g_on == g_on:
        onset = g_on
    else:
        onset = _cross(vs, 1.0, 0.0, j10 + 1 if thr >= -lh else k_mn, a_end - 1, -1, thr)
        if onset != onset:
            flags |= _OVERLAP  # the take-off is hidden by the artifact: no onset, no durations
        else:
            onset = _refine_crossing(x, a_end, n, onset, cfg_i[I_ONSET_FIT_H], sign, base, thr,
                                     tol, -1, min(int(onset) + 2 * h + 1, k_mn), a_end - 1)
    out[F_ONSET, r] = (onset - s) * dt_ms
    # the second opinion (measure._onset): departure from the baseline by k x the smoothed
    # baseline's RMS (white noise: noise / sqrt(box width))
    alt = baseline_deviation_onset(x, vs, sign, rbase, offset, a_end, k_mn,
                                   max(cfg_f[C_ALT_K] * noise / math.sqrt(2 * h + 1), level),
                                   cfg_i[I_ALT_RUN], h, lo, bmin, bmax)
    out[F_ONSET_ALT, r] = (alt - s) * dt_ms
    if g_on != g_on and abs(alt - onset) * dt_ms > cfg_f[C_DISAGREE_MS]:
        flags |= _DISAGREE

    # -- 7, 8. negative peak and the following positive peak, from the response's baseline.
    out[F_BASE, r] = rbase
    hp = cfg_i[I_FIT_H]
    if g_pk == g_pk:
        pk_pos, pk_val = g_pk, _value_at(x, sign, rbase, g_pk)
    else:
        pk_pos, pk_val = _refine_min(x, a_end, n, k_mn, hp, sign, rbase, tol)
    amp = -pk_val
    out[F_NEG_LAT, r] = (pk_pos - s) * dt_ms
    out[F_NEG_AMP, r] = amp
    if amp < cfg_f[C_LOW_SNR_K] * noise:
        flags |= _LOW_SNR
    mx_after, k_mx = _max_after(vs, bmax, lo, hi, k_mn)
    if g_pos == g_pos:
        out[F_POS_LAT, r] = (g_pos - s) * dt_ms
        out[F_P2P, r] = _value_at(x, sign, rbase, g_pos) - pk_val
    elif k_mx >= 0:
        pos_pos, pos_val = _refine_min(x, a_end, n, k_mx, hp, -sign, -rbase, tol)
        out[F_POS_LAT, r] = (pos_pos - s) * dt_ms
        out[F_P2P, r] = -pos_val - pk_val
    else:
        flags |= _TRUNCATED  # nothing after the negative peak: the sweep ends there
    if (x[k_mn - 1] == x[k_mn] == x[k_mn + 1]) or (
            mx_after >= det and x[k_mx - 1] == x[k_mx] == x[k_mx + 1]):
        flags |= _CLIPPED  # a rail: three equal samples at a peak

    # -- 9. negative-peak duration and area: onset -> return to baseline after the peak.
    hq = cfg_i[I_ONSET_FIT_H]
    found = _cross(vs, 1.0, 0.0, k_mn, n, 1, offset)  # the detected return (smoothed)
    cross = g_end if g_end == g_end else found
    if cross != cross:
        flags |= _TRUNCATED  # no return to baseline after the negative peak within the sweep
    else:
        if g_end != g_end:
            cross = _refine_crossing(x, a_end, n, cross, hq, sign, base, offset, tol, 1,
                                     max(k_mn, int(cross) - 2 * h - 1), n)
        out[F_NEG_END, r] = (cross - s) * dt_ms
        if onset == onset:
            out[F_NEG_DUR, r] = (cross - onset) * dt_ms
            out[F_AREA, r] = -_interp_integral(x, sign, rbase, onset, cross) * dt_ms

    # -- 10. CMAP duration: onset -> return to baseline after the last negative peak deeper
    # than the fraction of the amplitude (and than 5x the smoothed baseline RMS, where it can
    # matter: box smoothing does not raise the RMS).
    dthr = cfg_f[C_DUR_FRACTION] * amp
    if dthr < cfg_f[C_DUR_K] * noise:
        noise_s = noise / math.sqrt(2 * h + 1)
        if b1 - b0 >= 4 * h + 2:
            _smooth(x, tmp, b0 + h, b1 - h, h, 1.0 / (2 * h + 1), base_raw)
            noise_s = _mean_rms(tmp, b0 + h, b1 - h)[1]
        dthr = max(dthr, cfg_f[C_DUR_K] * noise_s)
    j = max(_last_at_or_below(vs, bmin, lo, hi, offset - dthr), k_mn)
    last = cross
    # a later negative peak; with a hand-set end, only one after the detected return
    if j > k_mn if g_end != g_end else (found == found and j > found):
        last = _cross(vs, 1.0, 0.0, j, n, 1, offset)
        if last != last:
            flags |= _TRUNCATED  # a later negative peak does not return within the sweep
        else:
            last = _refine_crossing(x, a_end, n, last, hq, sign, base, offset, tol, 1,
                                    max(j, int(last) - 2 * h - 1), n)
            if g_end == g_end and last < g_end:
                last = g_end
    out[F_CMAP_DUR, r] = (last - onset) * dt_ms
    for c, f in ((L_ONSET, F_ONSET), (L_NEG_PEAK, F_NEG_LAT), (L_NEG_END, F_NEG_END),
                 (L_POS_PEAK, F_POS_LAT)):
        if has_lm and lm[r, c] == lm[r, c]:
            out[f, r] = lm[r, c]  # a hand-set time as given (not through samples)
    return flags


@_jit
def _repair(x, n, s, max_gap, buf):
    """Copy ``x[:n]`` into ``buf`` with non-finite samples filled; return the usable length.

    Trailing non-finite samples shorten the trace; other gaps of at most ``max_gap`` samples
    are filled by linear interpolation (a leading gap with the first finite value); a longer
    gap, or nothing finite after the stimulus: -1.
    """
    m = n
    while m > 0 and not math.isfinite(x[m - 1]):
        m -= 1
    if m <= s:
        return -1
    i = 0
    while i < m:
        if math.isfinite(x[i]):
            buf[i] = x[i]
            i += 1
            continue
        j = i
        while not math.isfinite(x[j]):
            j += 1
        if j - i > max_gap:
            return -1
        right = float(x[j])
        left = float(buf[i - 1]) if i > 0 else right
        for k in range(i, j):
            buf[k] = left + (right - left) * (k - i + 1) / (j - i + 1)
        i = j
    return m


@_jit
def measure_rows(x2d, s, sign, cfg_i, cfg_f, out, flags_out, present_out, lm, absent, has_lm):
    """Measure every row of ``x2d`` (``(M, n)``) into ``out[:, r]``, flags and presence.

    With ``has_lm``: ``lm`` (``(M, N_LANDMARKS)``, ms, NaN = detect) holds hand-set landmarks
    and ``absent`` (``(M,)``) hand-set "no response" (measures NaN but baseline and noise;
    ABSENT, keeping only the flags that describe the recording).
    """
    m_rows, n = x2d.shape
    vs = np.empty(n)
    tmp = np.empty(n)
    buf = np.empty(n, x2d.dtype)  # the input's dtype: one compiled _core per input dtype
    bmin = np.empty(n // BLOCK + 1)
    bmax = np.empty(n // BLOCK + 1)
    for r in range(m_rows):
        fl = _core(x2d[r], n, s, sign, cfg_i, cfg_f, vs, tmp, bmin, bmax, out, r, lm, has_lm)
        if fl == _NONFINITE:
            m = _repair(x2d[r], n, s, cfg_i[I_MAX_GAP], buf)
            fl = _NONFINITE if m < 0 else _core(buf, m, s, sign, cfg_i, cfg_f, vs, tmp,
                                                 bmin, bmax, out, r, lm, has_lm)
            if fl == _NONFINITE:
                for f in range(N_FIELDS):
                    out[f, r] = np.nan
                fl = _UNMEASURABLE
            fl |= _NAN
        if has_lm and absent[r]:
            for f in range(N_FIELDS):
                if f != F_BASE and f != F_NOISE:
                    out[f, r] = np.nan
            fl = (fl & (_NAN | _SHORT_BASE | _UNMEASURABLE)) | _ABSENT
        flags_out[r] = fl
        present_out[r] = (fl & (_ABSENT | _UNMEASURABLE)) == 0
