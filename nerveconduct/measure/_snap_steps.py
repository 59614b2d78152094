"""The SNAP kernel's own numeric steps (private): parabola fits and onset walks.

The steps of :mod:`._trace_ops` that :mod:`._snap_kernel` runs at every SNAP, restated for
it (the CMAP kernel keeps the shared versions bit for bit): the least-squares parabola with
its window's constants computed once per call, multiplications by reciprocals and the
tolerance compared squared (no square root); a peak's re-centring that does not fit the
same window twice; the backward walk of a level crossing split from its interpolation
(so that the next walk need not wait for the division). Each equals its shared version up
to float rounding (the walks and the fallbacks bit for bit), checked in
``tests/test_measure_snap.py``. Measured side by side (``time.process_time``, one thread,
100 000 float32 SNAPs of 300 samples): 0.580 -> 0.540 us per SNAP.
"""

from __future__ import annotations

import numba
import numpy as np

from ._trace_ops import _cross, _parabola_root, _three_point_min

__all__ = ["_FLAGS", "_fit_constants", "_fit_constants_jit", "_fit", "_vertex", "_crossing",
           "_walk_back", "_crossed_at"]

# Flags of every function compiled into the kernel: the CMAP kernel's sums (fused multiply-add,
# no reassociation: a sum does not depend on the alignment of its row, so a trace measures
# the same alone or in a batch) and, new here, divisions by one denominator done as one
# reciprocal ("arcp"). No "nnan"/"ninf": the NaN and infinity checks stay meaningful.
_FLAGS = dict(nogil=True, error_model="numpy", fastmath={"nsz", "contract", "arcp"})
_jit_inline = numba.njit(inline="always", **_FLAGS)


def _fit_constants(h: int) -> tuple:
    """Constants of the least-squares parabola over ``2h+1`` samples (Savitzky & Golay 1964,
    as :func:`._trace_ops._quadratic_fit`): ``(h, s0, s2, 1/s0, 1/s2, 1/(s0 s4 - s2^2))``."""
    s0 = 2.0 * h + 1.0
    s2 = h * (h + 1.0) * (2.0 * h + 1.0) / 3.0
    s4 = s2 * (3.0 * h * h + 3.0 * h - 1.0) / 5.0
    return (h, s0, s2, 1.0 / s0, 1.0 / s2, 1.0 / (s0 * s4 - s2 * s2))


_fit_constants_jit = _jit_inline(_fit_constants)


@_jit_inline
def _fit(x, k, sign, base, fc):
    """:func:`._trace_ops._quadratic_fit` with the window's constants ``fc``
    (:func:`_fit_constants`) computed once: ``(a0, b1, c, mean squared residual)`` (mV,
    mV^2). Multiplications by reciprocals instead of divisions, no square root, and the
    sums taken over symmetric pairs of samples (``x[k+u]`` with ``x[k-u]``: half as many
    dependent additions; 0.53 -> 0.50 us per SNAP, one thread, cache-resident SNAPs): the
    values differ from ``_quadratic_fit``'s by float rounding only."""
    h, s0, s2, inv_s0, inv_s2, inv_den = fc
    y = sign * x[k] - base
    sy = y
    suy = su2y = 0.0
    syy = y * y
    for u in range(1, h + 1):  # the samples at +u and -u together: half the dependent adds
        yp = sign * x[k + u] - base
        ym = sign * x[k - u] - base
        sy += yp + ym
        suy += u * (yp - ym)
        su2y += u * u * (yp + ym)
        syy += yp * yp + ym * ym
    c = (s0 * su2y - s2 * sy) * inv_den
    a0 = (sy - c * s2) * inv_s0
    b1 = suy * inv_s2
    return a0, b1, c, (syy - (a0 * sy + b1 * suy + c * su2y)) * inv_s0


@_jit_inline
def _vertex(x, lo, hi, k, sign, base, tol2, fc):
    """:func:`._trace_ops._refine_min` with :func:`_fit` (``tol2``: the squared RMS
    tolerance, mV^2): the sub-sample minimum ``(position, value)`` of ``sign*x - base`` near
    ``k``. A third fit back on the first window (re-centred there and back) is not computed
    again: the first one's vertex is the same."""
    h = fc[0]
    kc = k
    pos = val = first_pos = first_val = np.nan
    for it in range(3):
        if kc - h < lo or kc + h >= hi or h < 1:
            break
        if it == 2 and kc == k:
            pos, val = first_pos, first_val
            break
        a0, b1, c, ms = _fit(x, kc, sign, base, fc)
        if ms > tol2 or not c > 0.0 or abs(b1) > 2.0 * c * h:
            break
        delta = -b1 / (2.0 * c)
        pos = kc + delta
        val = a0 + 0.5 * b1 * delta
        if it == 0:
            first_pos, first_val = pos, val
        step = int(round(delta))
        if step == 0:
            break
        kc += step
    if pos == pos:
        return pos, val
    return _three_point_min(x, lo, hi, k, h, sign, base)


@_jit_inline
def _crossing(x, lo, hi, guess, sign, base, level, tol2, step, raw_start, raw_stop, fc):
    """:func:`._trace_ops._refine_crossing` with :func:`_fit` (``tol2``: the squared RMS
    tolerance, mV^2; the root picked by the same :func:`._trace_ops._parabola_root`): values
    equal to it up to float rounding."""
    h = fc[0]
    k = int(round(guess))
    if k - h < lo or k + h >= hi or h < 1:
        return guess
    a0, b1, c, ms = _fit(x, k, sign, base, fc)
    if ms > tol2:
        raw = _cross(x, sign, base, raw_start, raw_stop, step, level)
        return raw if raw == raw else guess
    root = _parabola_root(a0, b1, c, k, h, guess, level, step)
    return root if root == root else guess


@_jit_inline
def _walk_back(vs, start, stop, floor):
    """The walk of :func:`._trace_ops._cross` back from ``start`` (``sign`` 1, ``base`` 0,
    ``step`` -1): the first ``j`` with ``vs[j] >= floor`` (the level minus ``_FLAT_MV``),
    or ``stop``."""
    j = start
    while j != stop and vs[j] < floor:
        j -= 1
    return j


@_jit_inline
def _crossed_at(vs, j, start, stop, level):
    """The value :func:`._trace_ops._cross` returns for a backward walk that stopped at
    ``j`` (NaN: ``stop`` reached, or ``start`` already at the level)."""
    if j == stop or j == start:
        return np.nan
    a = vs[j + 1]
    return (j + 1) - (level - a) / (vs[j] - a)
