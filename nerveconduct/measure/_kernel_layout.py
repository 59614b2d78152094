"""Layout of the CMAP kernel's arrays and its internal constants (private; no numba).

The kernels (:mod:`nerveconduct.measure._kernels`, :mod:`nerveconduct.measure._snap_kernel`)
work in samples: ``cfg_i``/``cfg_f`` hold a method's constants converted for the batch's
sampling rate (``_cmap_config._kernel_config``, with the CMAP's or the SNAP's constants) in
the ``I_*``/``C_*`` slots; ``out`` rows are the ``F_*`` (the CMAP kernel's); hand-set
landmarks arrive in the ``L_*`` columns of ``lm``. Plain integers, so that the argument
checks can size the arrays without importing numba.
"""

from __future__ import annotations

from ..flags import MeasureFlag

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
_LANDMARKS_ORDER = int(MeasureFlag.LANDMARKS_OUT_OF_ORDER)

BLOCK = 16  # samples per min/max summary of the smoothed trace
SMOOTH_WIDTHS = (3, 5, 7, 9, 11, 13)  # box widths compiled as constants (vectorized loops)
MAX_SMOOTH_H = 6
