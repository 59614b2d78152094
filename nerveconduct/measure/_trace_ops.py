"""Compiled numeric steps on one trace, shared by the CMAP/SNAP kernel (private).

Smoothing, block extrema, sums, level crossings and least-squares parabola fits: the
building blocks :mod:`nerveconduct.measure._kernels` searches the landmarks with (numba,
``cache=True``, GIL released). Also the ``_jit*`` decorators every kernel module compiles
with. Indices are samples; ``sign`` (+1/-1) turns the recorded trace into physical polarity
and ``base`` is subtracted (mV).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import literal_unroll

from ._kernel_layout import _FLAT_MV, BLOCK, SMOOTH_WIDTHS

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_jit_inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
# Sums keep NaN/inf and their order: no "reassoc", so a sum does not depend on where its
# scratch buffer happens to be aligned (vectorized reductions peel to alignment), and results
# are bit-identical whatever the chunking or thread count.
_jit_sum = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"nsz", "contract"})
_jit_fast = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=True)


def _no_reference_counting() -> dict:
    """``{"_nrt": False}`` when this numba's CPU target has the option, else ``{}``: the
    keyword arguments that compile a loop which allocates nothing without reference
    counting (the SNAP and F-wave kernels' per-row loops)."""
    try:
        from numba.core.cpu import CPUTargetOptions
    except ImportError:  # pragma: no cover - a numba that moved its target options
        return {}
    return {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}


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
    return _three_point_min(x, lo, hi, k, h, sign, base)


@_jit
def _three_point_min(x, lo, hi, k, h, sign, base):
    """:func:`_refine_min` without a fit: the 3-point parabola at the lowest sample of
    ``y = sign*x - base`` within ``k +- h`` (the sample itself at a plateau, a corner or
    the edge of ``[lo, hi)``)."""
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
    root = _parabola_root(a0, b1, c, k, h, guess, level, step)
    return root if root == root else guess


@_jit_inline
def _parabola_root(a0, b1, c, k, h, guess, level, step):
    """Where the parabola ``a0 + b1 u + c u^2`` (centred on sample ``k``) reaches ``level``
    on a slope of sign ``step``: ``k + u`` for the root nearest ``guess``, or NaN when there
    is none, it lies more than ``h`` samples from ``k`` or more than ``h/2 + 1`` from
    ``guess`` (a straight line when the curvature is negligible). Shared by the CMAP and
    SNAP kernels' crossings."""
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
    return np.nan


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
