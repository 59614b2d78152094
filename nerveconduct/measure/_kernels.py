"""Compiled per-trace kernel of :func:`nerveconduct.measure.cmap.measure_cmap` (private).

The one implementation of the CMAP measurement algorithm (numba, ``cache=True``, GIL
released): :mod:`nerveconduct.measure.cmap` checks the arguments, cuts the batch into chunks and
runs :func:`measure_rows` on them from a thread pool. The method is documented step by step
in ``measure_cmap``'s Notes; comments here say how, not why. Along the data flow:

- :mod:`._kernel_layout` -- the array layout (``F_*`` output rows, ``L_*`` landmark columns,
  ``I_*``/``C_*`` configuration slots in samples) and the flag bits, without numba;
- :mod:`._trace_ops` -- numeric steps on one trace (smoothing, crossings, parabola fits);
- :mod:`._onset` -- the second onset detector;
- :mod:`._handset` -- hand-set landmarks: reading, order check, writing back;
- this module -- the per-trace measure (:func:`_core`) and the batch loop.

Importing this module imports numba (~0.3 s), hence :mod:`nerveconduct.measure.cmap` imports it
lazily.

numba's on-disk cache of a function is keyed on its own source file only: editing one of the
modules above does not invalidate the cached :func:`measure_rows`, which compiles them in.
:data:`DEPENDENCIES` lists them; :func:`_invalidate_stale_cache` (run on import) deletes this
module's cache files when any of them is newer than this module's cache index.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ._handset import (_hand_set_absent, _order_flag, _read_landmarks, _value_at,
                       _write_hand_set_times)
from ._kernel_layout import (
    _ABSENT, _CLIPPED, _DISAGREE, _FLAT_MV, _HAND_SET, _HUGE_MV, _LOW_SNR, _NAN, _NONFINITE,
    _OVERLAP, _POLARITY, _SHORT_BASE, _TRUNCATED, _UNMEASURABLE, BLOCK, C_ALT_K, C_ART_FLOOR_MV,
    C_ART_K, C_ART_TAU_SAMPLES, C_DET_FLOOR_MV, C_DET_K, C_DISAGREE_MS, C_DT_MS, C_DUR_FRACTION,
    C_DUR_K, C_FIT_TOL_K, C_LOCAL_K, C_LOCAL_MIN_MV, C_LOW_SNR_K, C_ONSET_MV, F_AREA, F_BASE,
    F_CMAP_DUR, F_NEG_AMP, F_NEG_DUR, F_NEG_END, F_NEG_LAT, F_NOISE, F_ONSET, F_ONSET_ALT,
    F_P2P, F_POS_LAT, I_ALT_RUN, I_ART_PEAK_WIN, I_ART_RUN, I_FIT_H, I_LOCAL_GUARD,
    I_LOCAL_WIN, I_MAX_GAP, I_MIN_BASE, I_MIN_POST, I_MIN_WIDTH, I_ONSET_FIT_H, I_SMOOTH_H,
    I_TAIL, N_FIELDS)
from ._onset import baseline_deviation_onset, departure_at_level
from ._trace_ops import (_block_extrema, _cross, _first_equal, _interp_integral, _jit,
                         _last_at_or_below, _max_after, _mean_rms, _refine_crossing, _refine_min,
                         _smooth, _sum)

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
    g_on, g_pk, g_end, g_pos = _read_landmarks(lm, r, s, dt_ms, n, has_lm)
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
    if g_on != g_on and (abs(departure_at_level(vs, offset, alt, level, a_end) - onset) * dt_ms
                         > cfg_f[C_DISAGREE_MS]):
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
    pos_pos = g_pos
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
    if forced:
        flags |= _order_flag(g_on, g_pk, g_end, g_pos, onset, pk_pos, cross, pos_pos)
        _write_hand_set_times(lm, r, out)
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
            fl = _hand_set_absent(out, r, fl)
        flags_out[r] = fl
        present_out[r] = (fl & (_ABSENT | _UNMEASURABLE)) == 0


#: The modules compiled into :func:`measure_rows` (besides ``nerveconduct/flags.py``, whose
#: bits :mod:`._kernel_layout` reads).
DEPENDENCIES = ("_kernels", "_trace_ops", "_handset", "_onset", "_kernel_layout")


def _invalidate_stale_cache(dispatcher=None, dependencies=DEPENDENCIES,
                            owners=None) -> None:
    """Delete numba cache files of kernel modules older than any of their sources.

    numba checks a cached function against its own source file only; a kernel inlines and
    calls functions (and reads constants) of other modules, so a cache file older than the
    newest of them may hold a kernel compiled from an older version. Deleting it makes the
    next call compile afresh (and cache again). Best effort: a file that cannot be read or
    deleted is left alone.

    Parameters
    ----------
    dispatcher : numba dispatcher, optional
        A compiled function whose cache directory holds the files (default
        :func:`measure_rows`).
    dependencies : tuple of str, default :data:`DEPENDENCIES`
        Modules of this package compiled into the kernel (``nerveconduct/flags.py`` always).
    owners : tuple of str, optional
        Modules whose cache files are checked (default: ``dependencies``).
    """
    here = Path(__file__).resolve().parent
    try:
        newest = max(os.stat(p).st_mtime for p in
                     [here / f"{m}.py" for m in dependencies] + [here.parent / "flags.py"])
        cache_dir = Path((dispatcher or measure_rows)._cache._cache_path)
        indexes = [p for m in (owners or dependencies) for p in cache_dir.glob(f"{m}.*.nbi")]
    except (OSError, AttributeError):
        return
    for index in indexes:
        try:
            if index.stat().st_mtime >= newest:
                continue
            for data in cache_dir.glob(f"{index.name[:-len('.nbi')]}.*.nbc"):
                data.unlink(missing_ok=True)
            index.unlink(missing_ok=True)
        except OSError:
            pass


_invalidate_stale_cache()
