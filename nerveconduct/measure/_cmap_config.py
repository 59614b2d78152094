"""The CMAP method's constants, and their conversion to the kernel's slots (private).

Every number the CMAP measurement uses (documented in
:func:`nerveconduct.measure.cmap.measure_cmap`'s Notes; times in ms, voltages in mV) and
:func:`_kernel_config`, which converts them (or another method's, the SNAP's) to samples at a
batch's sampling rate in the ``I_*``/``C_*`` slots of :mod:`nerveconduct.measure._kernel_layout`
(no numba import).
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

import numpy as np

from ..constants import CMAP_DURATION_PEAK_FRACTION

__all__ = ["BASELINE_MIN_SAMPLES", "BASELINE_MIN_MS", "TAIL_FRACTION", "MIN_POST_MS",
           "SMOOTH_HALF_MS", "PEAK_FIT_HALF_MS", "ONSET_FIT_HALF_MS", "FIT_TOLERANCE_NOISE",
           "ARTIFACT_BAND_NOISE", "ARTIFACT_BAND_FLOOR_MV", "ARTIFACT_RUN_MS",
           "ARTIFACT_PEAK_WINDOW_MS", "ARTIFACT_MAX_TAU_MS", "DETECT_NOISE", "DETECT_FLOOR_MV",
           "MIN_WIDTH_MS", "LOW_SNR_NOISE", "DURATION_NOISE", "LOCAL_BASELINE_MS",
           "LOCAL_GUARD_MS", "LOCAL_BASELINE_K", "LOCAL_BASELINE_MIN_MV", "MAX_GAP_MS",
           "ALT_ONSET_NOISE", "ALT_ONSET_RUN_MS", "ONSET_DISAGREE_MS", "CHUNK_BYTES",
           "_kernel_config"]

# Method constants (documented in measure_cmap's Notes; times in ms).
BASELINE_MIN_SAMPLES = 20      #: fewer pre-stimulus samples -> SHORT_BASELINE
BASELINE_MIN_MS = 1.0          #: ... or a shorter pre-stimulus time
TAIL_FRACTION = 0.10           #: tail used as baseline when the pre-stimulus part is short
MIN_POST_MS = 2.0              #: shortest measurable post-stimulus part (also >= 20 samples)
SMOOTH_HALF_MS = 0.1           #: half-width of the box smoother (0.2 ms box)
PEAK_FIT_HALF_MS = 0.4         #: half-width of the least-squares parabola at the peaks
ONSET_FIT_HALF_MS = 0.3        #: ... and at the onset crossing
FIT_TOLERANCE_NOISE = 2.0      #: a parabola whose RMS residual exceeds this x noise is not used
ARTIFACT_BAND_NOISE = 4.0      #: artifact has ended within this many x noise ...
ARTIFACT_BAND_FLOOR_MV = 0.02  #: ... (or this floor, mV)
ARTIFACT_RUN_MS = 0.2          #: ... for this long (at least 3 samples)
ARTIFACT_PEAK_WINDOW_MS = 0.5  #: the artifact's peak is looked for this soon after the stimulus
ARTIFACT_MAX_TAU_MS = 0.5      #: slowest credible exponential decay of the artifact tail
DETECT_NOISE = 5.0             #: negative peak must be this many x noise deep ...
DETECT_FLOOR_MV = 0.05         #: ... and at least this deep (mV)
MIN_WIDTH_MS = 0.5             #: ... for at least this long at half that depth
LOW_SNR_NOISE = 10.0           #: amplitude under this many x noise -> LOW_SNR
DURATION_NOISE = 5.0           #: a late negative peak counts if this many x smoothed noise deep
LOCAL_BASELINE_MS = 1.0        #: window of the local (pre-take-off) baseline ...
LOCAL_GUARD_MS = 0.5           #: ... ending at least this long before the 10 % crossing
LOCAL_BASELINE_K = 4.0         #: ... used when it differs from baseline by this many SE
LOCAL_BASELINE_MIN_MV = 0.005  #: ... and by at least this much (mV)
MAX_GAP_MS = 0.25              #: longest run of NaN samples filled by interpolation
ALT_ONSET_NOISE = 3.0          #: second onset: band of this many x smoothed noise ...
ALT_ONSET_RUN_MS = 0.5         #: ... left for at least this long (>= 3 samples)
ONSET_DISAGREE_MS = 0.3        #: the two onsets further apart than this: ONSETS_DISAGREE
CHUNK_BYTES = 1 << 21          #: input bytes per chunk given to one thread (2 MiB)


@functools.lru_cache(maxsize=64)
def _kernel_config(fs_hz: float, onset_mv: float, n_samples: int, stimulus_sample: int,
                   method: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A method's constants converted to samples at ``fs_hz``, in the kernel's slots.

    Parameters
    ----------
    fs_hz : float
        Sampling rate (Hz).
    onset_mv : float
        Onset level (mV).
    n_samples, stimulus_sample : int
        Samples per trace and the stimulus' index.
    method : module or namespace, optional
        Holds the method's constants under the names of this module (times in ms, voltages
        in mV); default this module, the CMAP's. The constants of steps a kernel does not
        run may be missing (the SNAP kernel has no second onset and no total duration:
        ``DURATION_NOISE``, ``ALT_ONSET_NOISE``, ``ALT_ONSET_RUN_MS``,
        ``ONSET_DISAGREE_MS``); their slots are then 0.

    Returns
    -------
    cfg_i, cfg_f : ndarray of int64, ndarray of float64
        The ``I_*`` and ``C_*`` slots of :mod:`nerveconduct.measure._kernel_layout`. Built
        once per set of arguments (cached): the kernels only read them.
    """
    from . import _kernel_layout as k

    c = sys.modules[__name__] if method is None else method
    per_ms = fs_hz / 1000.0

    def samples(ms: float, minimum: int) -> int:
        return max(minimum, int(round(ms * per_ms)))

    min_base = max(c.BASELINE_MIN_SAMPLES, int(math.ceil(c.BASELINE_MIN_MS * per_ms)))
    tail = max(min_base, int((n_samples - stimulus_sample) * c.TAIL_FRACTION))
    min_post = max(c.BASELINE_MIN_SAMPLES, int(math.ceil(c.MIN_POST_MS * per_ms)))
    if stimulus_sample < min_base:
        min_post = max(min_post, 4 * tail)  # the tail baseline must lie past the response
    cfg_i = np.zeros(k.N_CFG_I, dtype=np.int64)
    cfg_i[k.I_MIN_BASE] = min_base
    cfg_i[k.I_TAIL] = tail
    cfg_i[k.I_MIN_POST] = min_post
    cfg_i[k.I_SMOOTH_H] = min(samples(c.SMOOTH_HALF_MS, 1), k.MAX_SMOOTH_H)
    cfg_i[k.I_FIT_H] = samples(c.PEAK_FIT_HALF_MS, 1)
    cfg_i[k.I_ONSET_FIT_H] = samples(c.ONSET_FIT_HALF_MS, 1)
    cfg_i[k.I_ART_RUN] = samples(c.ARTIFACT_RUN_MS, 3)
    cfg_i[k.I_ART_PEAK_WIN] = samples(c.ARTIFACT_PEAK_WINDOW_MS, 2)
    cfg_i[k.I_MIN_WIDTH] = samples(c.MIN_WIDTH_MS, 3)
    cfg_i[k.I_MAX_GAP] = samples(c.MAX_GAP_MS, 1)
    cfg_i[k.I_LOCAL_WIN] = samples(c.LOCAL_BASELINE_MS, 8)
    cfg_i[k.I_LOCAL_GUARD] = samples(c.LOCAL_GUARD_MS, 2)
    cfg_f = np.zeros(k.N_CFG_F, dtype=np.float64)
    cfg_f[k.C_DT_MS] = 1.0 / per_ms
    cfg_f[k.C_ONSET_MV] = onset_mv
    cfg_f[k.C_ART_K] = c.ARTIFACT_BAND_NOISE
    cfg_f[k.C_ART_FLOOR_MV] = c.ARTIFACT_BAND_FLOOR_MV
    cfg_f[k.C_ART_TAU_SAMPLES] = c.ARTIFACT_MAX_TAU_MS * per_ms
    cfg_f[k.C_DET_K] = c.DETECT_NOISE
    cfg_f[k.C_DET_FLOOR_MV] = c.DETECT_FLOOR_MV
    cfg_f[k.C_LOW_SNR_K] = c.LOW_SNR_NOISE
    cfg_f[k.C_LOCAL_K] = c.LOCAL_BASELINE_K
    cfg_f[k.C_FIT_TOL_K] = c.FIT_TOLERANCE_NOISE
    cfg_f[k.C_LOCAL_MIN_MV] = c.LOCAL_BASELINE_MIN_MV
    if hasattr(c, "DURATION_NOISE"):  # total duration
        cfg_f[k.C_DUR_FRACTION] = CMAP_DURATION_PEAK_FRACTION
        cfg_f[k.C_DUR_K] = c.DURATION_NOISE
    if hasattr(c, "ALT_ONSET_NOISE"):  # the second onset
        cfg_i[k.I_ALT_RUN] = samples(c.ALT_ONSET_RUN_MS, 3)
        cfg_f[k.C_ALT_K] = c.ALT_ONSET_NOISE
        cfg_f[k.C_DISAGREE_MS] = c.ONSET_DISAGREE_MS
    return cfg_i, cfg_f
