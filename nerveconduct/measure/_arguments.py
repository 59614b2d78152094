"""Checks of ``measure_cmap``'s arguments (shared with ``measure_snap`` and ``measure_f_waves``).

Each returns the value as the kernel takes it or raises a ``ValueError`` (an
:class:`~nerveconduct._checks.ArgumentTypeError` for a non-number) that says what was wrong
and what is allowed.
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping

import numpy as np

from .._checks import check_number, check_option, check_range_of
from ..model import POLARITIES  # allowed values of ``polarity`` (the model's ground floor)

__all__ = ["LANDMARKS"]

#: Landmarks ``measure_cmap`` accepts hand-set (times, ms) and the "absent" mask, in the
#: order of the kernel's landmark columns (the same names as the markers file's kinds).
LANDMARKS = ("onset", "negative_peak", "negative_end", "positive_peak", "absent")


def _check_traces(traces: Any) -> np.ndarray:
    arr = np.asarray(traces)
    if arr.dtype.kind == "f" and arr.dtype.itemsize in (4, 8) and not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # e.g. big-endian data from a file
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"traces must be a float32 or float64 array (mV); got dtype "
                         f"{arr.dtype} (convert to float first, scaling counts to mV)")
    if arr.ndim == 0:
        raise ValueError("traces must have shape (..., n_samples), at least one dimension; "
                         "got a scalar")
    return arr


def _check_rate(sampling_rate_hz: Any) -> float:
    return check_range_of("sampling_rate_hz", sampling_rate_hz)


def _check_stimulus(stimulus_sample: Any, n_samples: int) -> int:
    return check_number("stimulus_sample", stimulus_sample,
                        minimum=0, maximum=max(n_samples - 1, 0), integer=True)


def _check_polarity(polarity: Any) -> float:
    return 1.0 if check_option("polarity", polarity, POLARITIES) == "physical" else -1.0


def _check_onset(onset_threshold_mv: Any) -> float:
    return check_number("onset_threshold_mv", onset_threshold_mv, unit="mV", minimum=0,
                        inclusive=(False, True))


def _check_threads(n_threads: Any) -> int:
    if n_threads is None:
        return os.cpu_count() or 1
    return check_number("n_threads", n_threads, minimum=1, integer=True,
                        allow_none=True)



def _check_landmarks(landmarks: Mapping[str, Any] | None,
                     shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks as the kernel's ``(M, 4)`` times (ms, NaN = detect) and ``(M,)`` absent mask."""
    m = math.prod(shape)
    if landmarks is None:
        return np.empty((m, 4)), np.empty(m, dtype=bool)  # never read by the kernel
    if not isinstance(landmarks, Mapping):
        raise TypeError(f"landmarks must be a mapping of {LANDMARKS} to arrays, got "
                        f"{type(landmarks).__name__}")
    for key in landmarks:
        check_option("landmark", key, LANDMARKS)
    lm = np.full((m, 4), np.nan)
    for c, key in enumerate(LANDMARKS[:4]):
        if landmarks.get(key) is not None:
            t = np.broadcast_to(np.asarray(landmarks[key], dtype=float), shape).reshape(m)
            if np.isinf(t).any() or (t < 0).any():
                raise ValueError(f"landmark {key!r} times must be finite and >= 0 ms after "
                                 "the stimulus (NaN: detect)")
            lm[:, c] = t
    absent = landmarks.get("absent")
    absent = (np.zeros(m, dtype=bool) if absent is None
              else np.broadcast_to(np.asarray(absent, dtype=bool), shape).reshape(m).copy())
    return lm, absent

