"""Hand-set landmarks inside the compiled kernel: reading them, checking them, writing them.

:func:`~nerveconduct.measure.cmap.measure_cmap` takes hand-set landmarks (``lm``, ms after
the stimulus, NaN = detect, in the ``L_*`` columns of :mod:`._kernel_layout`) and a hand-set
"no response" mask; the kernel :mod:`nerveconduct.measure._kernels` measures from them by
the same steps as from detected landmarks. This module holds the parts that concern only the
hand-set values: their conversion to fractional samples, the value of the trace at a
hand-set peak, the order check against the landmarks detected (LANDMARKS_OUT_OF_ORDER), and
the times and "absent" written back as given (numba, inlined into the kernel).
"""

from __future__ import annotations

import math

import numpy as np

from ._kernel_layout import (_ABSENT, _LANDMARKS_ORDER, _NAN, _SHORT_BASE, _UNMEASURABLE,
                             F_BASE, F_NEG_END, F_NEG_LAT, F_NOISE, F_ONSET, F_POS_LAT,
                             L_NEG_END, L_NEG_PEAK, L_ONSET, L_POS_PEAK, N_FIELDS)
from ._trace_ops import _jit

__all__: list[str] = []


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
def _read_landmarks(lm, r, s, dt_ms, n, has_lm):
    """Row ``r``'s hand-set onset, negative peak, negative end, positive peak (fractional
    samples; NaN: detect, all NaN without ``has_lm``)."""
    if not has_lm:
        return np.nan, np.nan, np.nan, np.nan
    return (_at(lm, r, L_ONSET, s, dt_ms, n), _at(lm, r, L_NEG_PEAK, s, dt_ms, n),
            _at(lm, r, L_NEG_END, s, dt_ms, n), _at(lm, r, L_POS_PEAK, s, dt_ms, n))


@_jit
def _before(a, b, hand_set):
    """False when ``a`` is not strictly before ``b``, both known and one of them hand-set."""
    return not hand_set or a != a or b != b or a < b


@_jit
def _order_flag(g_on, g_pk, g_end, g_pos, onset, peak, end, positive):
    """LANDMARKS_OUT_OF_ORDER when a hand-set landmark contradicts the landmarks used.

    ``g_*`` are the hand-set positions (NaN: detected), ``onset`` .. ``positive`` the ones
    the measures were taken at (fractional samples). Required: onset < negative peak <
    negative end, negative peak < positive peak, for every pair with a hand-set member; a
    pair of detected landmarks is never flagged.
    """
    on_set = g_on == g_on
    pk_set = g_pk == g_pk
    ordered = (_before(onset, peak, on_set or pk_set)
               and _before(peak, end, pk_set or g_end == g_end)
               and _before(onset, end, on_set or g_end == g_end)
               and _before(peak, positive, pk_set or g_pos == g_pos))
    return 0 if ordered else _LANDMARKS_ORDER


@_jit
def _write_hand_set_times(lm, r, out):
    """The hand-set times of row ``r`` into ``out[:, r]`` as given (not through samples)."""
    for c, f in ((L_ONSET, F_ONSET), (L_NEG_PEAK, F_NEG_LAT), (L_NEG_END, F_NEG_END),
                 (L_POS_PEAK, F_POS_LAT)):
        if lm[r, c] == lm[r, c]:
            out[f, r] = lm[r, c]


@_jit
def _hand_set_absent(out, r, fl):
    """A hand-set "no response": measures NaN but baseline and noise; the flags ABSENT plus
    those that describe the recording (NAN_SAMPLES, SHORT_BASELINE, UNMEASURABLE)."""
    for f in range(N_FIELDS):
        if f != F_BASE and f != F_NOISE:
            out[f, r] = np.nan
    return (fl & (_NAN | _SHORT_BASE | _UNMEASURABLE)) | _ABSENT
