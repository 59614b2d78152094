"""Compiled per-trace kernel of :func:`nerveconduct.measure.snap.measure_snap` (private).

The SNAP measurement is the CMAP method's steps (:mod:`nerveconduct.measure._kernels`) with
the SNAP's constants, restricted to what a SNAP reports: baseline and noise, stimulus
artifact, smoothing, presence, onset (with the local-baseline correction), negative and
positive peaks, negative-phase duration. The steps a SNAP does not report (the second onset,
area, total duration, hand-set landmarks) are not run. It reuses the numeric steps of
:mod:`._trace_ops` (the parabola fits and onset walks in the versions of :mod:`._snap_steps`),
the block extrema of :mod:`._simd` and the repair of non-finite samples of :mod:`._kernels`;
the configuration slots are those of :mod:`._kernel_layout`.

numba's cache of :func:`snap_rows` is keyed on this file only; :data:`DEPENDENCIES` lists the
modules compiled into it and :func:`_invalidate` (run on import) deletes its cache files when
any of them is newer.
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np

from ._kernel_layout import (_ABSENT, _CLIPPED, _FLAT_MV, _HUGE_MV, _LOW_SNR, _NAN, _NONFINITE,
                             _OVERLAP, _POLARITY, _SHORT_BASE, _TRUNCATED, _UNMEASURABLE, BLOCK,
                             C_ART_FLOOR_MV, C_ART_K, C_ART_TAU_SAMPLES, C_DET_FLOOR_MV, C_DET_K,
                             C_DT_MS, C_FIT_TOL_K, C_LOCAL_K, C_LOCAL_MIN_MV, C_LOW_SNR_K,
                             C_ONSET_MV, I_ART_PEAK_WIN, I_ART_RUN, I_FIT_H, I_LOCAL_GUARD,
                             I_LOCAL_WIN, I_MAX_GAP, I_MIN_BASE, I_MIN_POST, I_MIN_WIDTH,
                             I_ONSET_FIT_H, I_SMOOTH_H, I_TAIL)
from . import _trace_ops
from ._kernels import _invalidate_stale_cache, _repair
from ._simd import block_extrema
from ._snap_steps import (_FLAGS, _crossed_at, _crossing, _fit_constants_jit, _vertex,
                          _walk_back)
from ._trace_ops import _no_reference_counting, _smooth

__all__ = ["snap_rows", "S_ONSET", "S_NEG_LAT", "S_NEG_AMP", "S_P2P", "S_DUR", "S_BASE",
           "S_NOISE", "N_OUT"]

#: Output rows of :func:`snap_rows`, in the order of ``SNAP_MEASURE_FIELDS`` (times in ms
#: from the stimulus, voltages in uV).
S_ONSET, S_NEG_LAT, S_NEG_AMP, S_P2P, S_DUR, S_BASE, S_NOISE = range(7)
N_OUT = 7
_UV = 1000.0  # uV per mV: the traces are in mV, SNAP voltages are reported in uV

_jit = numba.njit(cache=True, **_FLAGS)


# The per-SNAP loop (:func:`_measure_rows`) is compiled without numba's reference counting
# (``_nrt=False``: an option numba's ``jit`` accepts but does not document; checked with numba
# 0.68.1, and every call of ``measure_snap`` in the tests runs through it). Each array view
# (the row ``x2d[r]``, the slices and arguments of the inlined steps) otherwise costs an
# atomic increment and decrement through a call, ~20 per SNAP. The loop allocates nothing:
# its scratch arrays come from :func:`snap_rows`; ``_repair``, which counts references, sees
# arrays without a count, which numba's counting skips. Measured side by side
# (``time.process_time``, one thread, 100 000 float32 SNAPs of 300 samples): 0.725 -> 0.635
# us per SNAP, results bit-identical. A numba without the option compiles the loop with
# reference counting (same results, the speed before).
_jit_no_nrt = numba.njit(cache=True, **_FLAGS, **_no_reference_counting())
_jit_inline = numba.njit(inline="always", **_FLAGS)


def _inlined(names: tuple[str, ...]) -> tuple:
    """The numeric steps ``names`` of :mod:`._trace_ops`, compiled inline into this kernel.

    The same Python functions (one definition), with their calls to one another resolved
    to the inline versions too: numba inlines them into :func:`snap_rows`, which saves a
    call and the reference counting of its array arguments per step (a SNAP takes ~5
    parabola fits and ~6 crossings; measured on cache-resident SNAPs, one thread: 1.02 ->
    0.77 us per SNAP). The block extrema are :func:`._simd.block_extrema` (vector
    instructions; 0.635 -> 0.585 us per SNAP).
    """
    namespace = dict(vars(_trace_ops))
    out = []
    for name in names:
        py = getattr(_trace_ops, name).py_func
        copy = types.FunctionType(py.__code__, namespace, py.__name__, py.__defaults__,
                                  py.__closure__)
        namespace[name] = _jit_inline(copy)
        out.append(namespace[name])
    return tuple(out)


(_mean_rms, _sum, _first_equal, _cross, _max_after) = _inlined(
    ("_mean_rms", "_sum", "_first_equal", "_cross", "_max_after"))


@_jit_inline
def _snap_core(x, n, s, sign, cfg_i, cfg_f, vs, bmin, bmax, out, r, fc_peak, fc_onset):
    """Measure one SNAP ``x[:n]`` into ``out[:, r]``; returns its flags or ``_NONFINITE``."""
    flags = 0
    for f in range(N_OUT):
        out[f, r] = np.nan
    if n - s < cfg_i[I_MIN_POST]:
        for i in range(n):
            if not math.isfinite(x[i]):
                return _NONFINITE
        return _UNMEASURABLE
    h = cfg_i[I_SMOOTH_H]
    dt_ms = cfg_f[C_DT_MS]

    # -- baseline and noise: pre-stimulus samples, or the trace's tail when too few.
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
    out[S_BASE, r] = base * _UV
    out[S_NOISE, r] = noise * _UV

    # -- stimulus artifact: quiet run, searched up to the size-adaptive exponential cap.
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

    # -- smoothed trace over [a_end, n) (raw at the h-sample edges), block extrema.
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
    block_extrema(vs, lo, hi, bmin, bmax)
    mn = np.inf
    mx = -np.inf
    bk = 0
    for b in range((hi - lo + BLOCK - 1) // BLOCK):
        lower = bmin[b] < mn
        mn = bmin[b] if lower else mn
        bk = b if lower else bk
        mx = bmax[b] if bmax[b] > mx else mx
    k_mn = _first_equal(vs, lo + bk * BLOCK, min(lo + (bk + 1) * BLOCK, hi), mn)
    if noise < _FLAT_MV and peak_art < _FLAT_MV and mx < _FLAT_MV and mn > -_FLAT_MV:
        return flags | _UNMEASURABLE  # a flat line
    if not (mx <= _HUGE_MV and mn >= -_HUGE_MV and peak_art <= _HUGE_MV
            and abs(base) <= _HUGE_MV and noise <= _HUGE_MV):
        return flags | _UNMEASURABLE
    depth = -mn
    det = max(cfg_f[C_DET_K] * noise, cfg_f[C_DET_FLOOR_MV])

    # -- polarity: biggest deflection positive, first suprathreshold phase positive.
    if mx > depth and mx >= det:
        j = lo
        while j < hi and abs(vs[j]) < det:
            j += 1
        if j < hi and vs[j] > 0.0:
            flags |= _POLARITY

    # -- presence: deep enough and sustained (a run at half the detection level).
    if depth < det:
        return flags | _ABSENT
    need = cfg_i[I_MIN_WIDTH]
    jl = jr = k_mn
    while jl > a_end and k_mn - jl + 1 < need and vs[jl - 1] <= -0.5 * det:
        jl -= 1
    while jr < n - 1 and jr - jl + 1 < need and vs[jr + 1] <= -0.5 * det:
        jr += 1
    if jr - jl + 1 < need:
        return flags | _ABSENT

    # -- onset, from the pre-stimulus or (if it differs) the local pre-take-off baseline.
    level = cfg_f[C_ONSET_MV]
    tol = cfg_f[C_FIT_TOL_K] * noise + _FLAT_MV
    tol2 = tol * tol  # the parabolas' mean squared residual is compared with it
    lh = max(level, 0.1 * depth)
    # Three walks back from the negative peak (50 %, 10 % and the onset level), each from
    # where the previous one stopped. Each next walk starts from the previous walk's stop
    # index (the crossing's sample in all but rare cases), not from its interpolated
    # crossing, and the onset walk assumes the local baseline is not used: the walks do not
    # wait for the divisions and the local baseline's sums. A start that turns out different
    # is walked again, so the results are those of walks from the interpolated crossings.
    stop = a_end - 1
    lev = -0.5 * depth
    g = _walk_back(vs, k_mn, stop, lev - _FLAT_MV)
    c50 = _crossed_at(vs, g, k_mn, stop, lev)
    j50 = a_end if c50 != c50 else int(c50)
    guess = g + 1 if lh <= 0.5 * depth else k_mn
    g = _walk_back(vs, guess, stop, -lh - _FLAT_MV)
    start = j50 + 1 if lh <= 0.5 * depth else k_mn
    if start != guess:
        g = _walk_back(vs, start, stop, -lh - _FLAT_MV)
    c10 = _crossed_at(vs, g, start, stop, -lh)
    j10 = a_end if c10 != c10 else int(c10)
    guess = g + 1  # the onset walk's start when there is no local-baseline offset
    g = _walk_back(vs, guess, stop, -level - _FLAT_MV)
    we = j10 - max(2 * (j50 - j10), cfg_i[I_LOCAL_GUARD])
    ws = max(we - cfg_i[I_LOCAL_WIN], a_end)
    offset = 0.0
    if we - ws >= cfg_i[I_LOCAL_WIN] // 2:
        local = _sum(vs, ws, we) / (we - ws)
        se = noise * math.sqrt(1.0 / (we - ws) + 1.0 / (b1 - b0))
        if abs(local) > max(cfg_f[C_LOCAL_K] * se, cfg_f[C_LOCAL_MIN_MV]):
            offset = local
    thr = offset - level
    rbase = base + offset
    start = j10 + 1 if thr >= -lh else k_mn
    if start != guess or offset != 0.0:
        g = _walk_back(vs, start, stop, thr - _FLAT_MV)
    onset = _crossed_at(vs, g, start, stop, thr)
    if onset != onset:
        flags |= _OVERLAP  # the take-off is hidden by the artifact: no onset, no duration
    else:
        onset = _crossing(x, a_end, n, onset, sign, base, thr, tol2, -1,
                          min(int(onset) + 2 * h + 1, k_mn), a_end - 1, fc_onset)
    out[S_ONSET, r] = (onset - s) * dt_ms

    # -- negative peak and the following positive peak, from the response's baseline.
    out[S_BASE, r] = rbase * _UV
    pk_pos, pk_val = _vertex(x, a_end, n, k_mn, sign, rbase, tol2, fc_peak)
    amp = -pk_val
    out[S_NEG_LAT, r] = (pk_pos - s) * dt_ms
    out[S_NEG_AMP, r] = amp * _UV
    if amp < cfg_f[C_LOW_SNR_K] * noise:
        flags |= _LOW_SNR
    mx_after, k_mx = _max_after(vs, bmax, lo, hi, k_mn)
    if k_mx >= 0:
        pos_val = _vertex(x, a_end, n, k_mx, -sign, -rbase, tol2, fc_peak)[1]
        out[S_P2P, r] = (-pos_val - pk_val) * _UV
    else:
        flags |= _TRUNCATED  # nothing after the negative peak: the sweep ends there
    if (x[k_mn - 1] == x[k_mn] == x[k_mn + 1]) or (
            mx_after >= det and x[k_mx - 1] == x[k_mx] == x[k_mx + 1]):
        flags |= _CLIPPED  # a rail: three equal samples at a peak

    # -- duration: onset -> return to baseline after the negative peak.
    cross = _cross(vs, 1.0, 0.0, k_mn, n, 1, offset)
    if cross != cross:
        flags |= _TRUNCATED  # no return to baseline after the negative peak within the sweep
    elif onset == onset:
        cross = _crossing(x, a_end, n, cross, sign, base, offset, tol2, 1,
                          max(k_mn, int(cross) - 2 * h - 1), n, fc_onset)
        out[S_DUR, r] = (cross - onset) * dt_ms
    return flags


@_jit_no_nrt
def _measure_rows(x2d, s, sign, cfg_i, cfg_f, out, flags_out, present_out, vs, buf, bmin,
                  bmax):
    """:func:`snap_rows` with its scratch arrays, compiled without reference counting."""
    m_rows, n = x2d.shape
    fc_peak = _fit_constants_jit(cfg_i[I_FIT_H])
    fc_onset = _fit_constants_jit(cfg_i[I_ONSET_FIT_H])
    for r in range(m_rows):
        fl = _snap_core(x2d[r], n, s, sign, cfg_i, cfg_f, vs, bmin, bmax, out, r, fc_peak,
                        fc_onset)
        if fl == _NONFINITE:
            m = _repair(x2d[r], n, s, cfg_i[I_MAX_GAP], buf)
            fl = _NONFINITE if m < 0 else _snap_core(buf, m, s, sign, cfg_i, cfg_f, vs, bmin,
                                                     bmax, out, r, fc_peak, fc_onset)
            if fl == _NONFINITE:
                for f in range(N_OUT):
                    out[f, r] = np.nan
                fl = _UNMEASURABLE
            fl |= _NAN
        flags_out[r] = fl
        present_out[r] = (fl & (_ABSENT | _UNMEASURABLE)) == 0


@_jit
def snap_rows(x2d, s, sign, cfg_i, cfg_f, out, flags_out, present_out):
    """Measure every row of ``x2d`` (``(M, n)``, mV) into ``out[:, r]`` (``S_*`` rows),
    ``flags_out`` and ``present_out``."""
    n = x2d.shape[1]
    _measure_rows(x2d, s, sign, cfg_i, cfg_f, out, flags_out, present_out, np.empty(n),
                  np.empty(n, x2d.dtype), np.empty(n // BLOCK + 1), np.empty(n // BLOCK + 1))


#: The modules compiled into :func:`snap_rows` (besides ``nerveconduct/flags.py``).
DEPENDENCIES = ("_snap_kernel", "_snap_steps", "_kernels", "_trace_ops", "_kernel_layout",
                "_simd")



def _invalidate() -> None:
    """Delete this module's numba cache files older than any of :data:`DEPENDENCIES`."""
    _invalidate_stale_cache(snap_rows, DEPENDENCIES, owners=("_snap_kernel",))


_invalidate()
