"""Vectorized SNAP measurement: sensory nerve action potentials of a batch of traces.

:func:`measure_snap` takes traces of any batch shape ``(..., n_samples)`` in mV (like the rest
of the package) and returns a :class:`SnapMeasures` of read-only arrays with the batch shape:
onset and negative-peak latencies (ms from the stimulus), baseline-to-negative-peak and
peak-to-peak amplitudes and noise in uV (the unit SNAPs are read in), the negative-phase
duration (ms), presence and quality flags (:class:`nerveconduct.flags.MeasureFlag`).
:func:`average_sweeps` averages repeated sweeps (files that hold every sweep) first.

The measurement runs the compiled kernel :mod:`nerveconduct.measure._snap_kernel`: the steps of
:func:`~nerveconduct.measure.cmap.measure_cmap`'s kernel that a SNAP reports, with the method's
constants scaled for a response a hundred times smaller and ten times shorter than a CMAP
(see :func:`measure_snap`'s Notes).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_number
from ..flags import MeasureFlag
from ._batch import BatchMeasures, run_in_chunks
from ._cmap_config import _kernel_config
from .cmap import (CHUNK_BYTES, POLARITIES, _check_polarity, _check_rate, _check_stimulus,
                   _check_threads, _check_traces)

__all__ = ["SnapMeasures", "measure_snap", "average_sweeps", "SNAP_MEASURE_FIELDS",
           "REFERENCE_SNAP_ONSET_THRESHOLD_UV", "POLARITIES"]

#: Reference SNAP onset: first departure of the (noiseless) response from baseline by this
#: much (uV): where a reader at 10-20 uV/div sees the take-off. The simulator's truth uses it.
REFERENCE_SNAP_ONSET_THRESHOLD_UV: float = 2.0

# Method constants (times in ms, voltages in mV as the kernel sees the traces).
BASELINE_MIN_SAMPLES = 20      #: fewer pre-stimulus samples -> SHORT_BASELINE
BASELINE_MIN_MS = 1.0          #: ... or a shorter pre-stimulus time
TAIL_FRACTION = 0.10           #: tail used as baseline when the pre-stimulus part is short
MIN_POST_MS = 2.0              #: shortest measurable post-stimulus part (also >= 20 samples)
SMOOTH_HALF_MS = 0.05          #: half-width of the box smoother (0.1 ms box, >= 3 samples)
PEAK_FIT_HALF_MS = 0.15        #: half-width of the least-squares parabola at the peaks
ONSET_FIT_HALF_MS = 0.1        #: ... and at the onset crossing
FIT_TOLERANCE_NOISE = 2.0      #: a parabola whose RMS residual exceeds this x noise is not used
ARTIFACT_BAND_NOISE = 4.0      #: artifact has ended within this many x noise ...
ARTIFACT_BAND_FLOOR_MV = 0.002  #: ... (or this floor, mV: 2 uV)
ARTIFACT_RUN_MS = 0.1          #: ... for this long (at least 3 samples)
ARTIFACT_PEAK_WINDOW_MS = 0.5  #: the artifact's peak is looked for this soon after the stimulus
ARTIFACT_MAX_TAU_MS = 0.3      #: slowest credible exponential decay of the artifact tail
DETECT_NOISE = 5.0             #: negative peak must be this many x noise deep ...
DETECT_FLOOR_MV = 0.001        #: ... and at least this deep (mV: 1 uV)
MIN_WIDTH_MS = 0.15            #: ... for at least this long at half that depth
LOW_SNR_NOISE = 10.0           #: amplitude under this many x noise -> LOW_SNR
LOCAL_BASELINE_MS = 0.5        #: window of the local (pre-take-off) baseline ...
LOCAL_GUARD_MS = 0.2           #: ... ending at least this long before the 10 % crossing
LOCAL_BASELINE_K = 4.0         #: ... used when it differs from baseline by this many SE
LOCAL_BASELINE_MIN_MV = 0.001  #: ... and by at least this much (mV: 1 uV)
MAX_GAP_MS = 0.1               #: longest run of NaN samples filled by interpolation

_UV_PER_MV = 1000.0
#: Every field of :class:`SnapMeasures`, in order.
SNAP_MEASURE_FIELDS = ("onset_latency_ms", "negative_peak_latency_ms",
                       "negative_peak_amplitude_uv", "peak_to_peak_amplitude_uv", "duration_ms",
                       "baseline_uv", "noise_uv", "present", "flags")
_FLOATS = SNAP_MEASURE_FIELDS[:-2]
#: This module holds the SNAP method's constants under the CMAP method's names: the
#: namespace :func:`._cmap_config._kernel_config` converts to samples.
_METHOD = sys.modules[__name__]


@dataclass(frozen=True, eq=False, repr=False)
class SnapMeasures(BatchMeasures):
    """Per-trace SNAP measures of a batch; every field is a read-only array of the batch shape.

    Attributes
    ----------
    onset_latency_ms : ndarray of float
        Stimulus to the departure of the negative phase from baseline (ms): the latency
        sensory conduction velocity is computed from (distance / onset latency).
    negative_peak_latency_ms : ndarray of float
        Stimulus to the negative peak (ms): the "peak latency" most laboratories report.
    negative_peak_amplitude_uv : ndarray of float
        Baseline to negative peak (uV, positive).
    peak_to_peak_amplitude_uv : ndarray of float
        Negative peak to the following positive peak (uV).
    duration_ms : ndarray of float
        Onset to the first baseline crossing after the negative peak (ms).
    baseline_uv, noise_uv : ndarray of float
        Baseline the measures refer to and RMS noise about it (uV).
    present : ndarray of bool
        A response distinguishable from noise was found and measured; False: the measures
        above (but baseline and noise) are NaN.
    flags : ndarray of int
        Bitmask of :class:`nerveconduct.flags.MeasureFlag`.
    """

    onset_latency_ms: np.ndarray
    negative_peak_latency_ms: np.ndarray
    negative_peak_amplitude_uv: np.ndarray
    peak_to_peak_amplitude_uv: np.ndarray
    duration_ms: np.ndarray
    baseline_uv: np.ndarray
    noise_uv: np.ndarray
    present: np.ndarray
    flags: np.ndarray



def _check_threshold(name: str, value: Any) -> float:
    return check_number(name, value, unit="uV", minimum=0, inclusive=(False, True))


def measure_snap(traces: Any, sampling_rate_hz: float, *, stimulus_sample: int = 0,
                 polarity: str = "physical",
                 onset_threshold_uv: float = REFERENCE_SNAP_ONSET_THRESHOLD_UV,
                 n_threads: int | None = None) -> SnapMeasures:
    """Measure every sensory nerve action potential (SNAP) of a batch of traces.

    Parameters
    ----------
    traces : array_like, shape (..., n_samples), float32 or float64
        Recorded traces in **mV** (as every trace in this package; amplitudes are reported
        in uV); the last axis is time. Average repeated sweeps first (:func:`average_sweeps`).
    sampling_rate_hz : float
        Sampling rate (Hz), > 0 (SNAPs need >= 10 kHz to be measured well).
    stimulus_sample : int, default 0
        Index of the stimulus; earlier samples are the baseline (SHORT_BASELINE under 20
        samples or 1 ms).
    polarity : {"physical", "negative-up"}, default "physical"
        As for :func:`~nerveconduct.measure.cmap.measure_cmap`; results are in physical
        polarity (the SNAP's main phase negative, amplitudes positive).
    onset_threshold_uv : float, default ``REFERENCE_SNAP_ONSET_THRESHOLD_UV`` (2 uV)
        Departure from baseline that defines the onset (uV).
    n_threads : int or None, default None
        Threads measuring chunks of the batch (None: one per core).

    Returns
    -------
    SnapMeasures
        Read-only arrays of the batch shape: times in ms from the stimulus, voltages in uV.
        No deflection distinguishable from noise: ``present`` False, ABSENT, NaN measures.

    Raises
    ------
    ValueError
        ``traces`` not a float32/float64 array with a time axis; ``sampling_rate_hz`` not a
        positive finite number; ``stimulus_sample`` not an index inside the trace;
        ``polarity`` not one of :data:`POLARITIES`; ``onset_threshold_uv`` not > 0;
        ``n_threads`` not None or >= 1. Bad data (NaN samples, flat, clipped) is flagged.

    Notes
    -----
    Definitions follow Preston & Shapiro [1] (chapter "Basic nerve conduction studies") and
    Kimura [2]: the **onset latency** (stimulus to the initial departure of the negative
    phase from baseline) is the one sensory conduction velocity is computed from, since it
    reflects the fastest fibres; the **peak latency** is taken at the negative peak, as
    commonly reported; the **amplitude** is measured baseline to negative peak and negative
    peak to the following positive peak (uV); the **duration** is onset to the first
    baseline crossing (the negative phase). For a triphasic (orthodromic) SNAP whose first
    phase is a small positivity, the onset reported is the take-off of the negative phase.

    The algorithm is :func:`~nerveconduct.measure.cmap.measure_cmap`'s, step by step (the same
    numeric steps, compiled into a SNAP kernel: baseline and noise, stimulus artifact of
    adaptive length, box smoothing, presence, onset with the local-baseline correction,
    least-squares parabolas at the peaks and crossings, the same flags), with constants for
    SNAPs: a 0.1 ms box, peak parabolas over +-0.15 ms and onset parabolas over +-0.1 ms, an
    artifact band of ``max(4 noise, 2 uV)`` held for 0.1 ms with a 0.3 ms decay cap, presence
    when the negative peak is ``max(5 noise, 1 uV)`` deep and stays below half of it for
    0.15 ms, a 0.5 ms local baseline ending 0.2 ms before the take-off. The CMAP's steps a
    SNAP does not report are not run: the second onset (ONSETS_DISAGREE), area and total
    duration; TRUNCATED therefore means that the sweep ends before the SNAP's own landmarks
    (the positive peak, the return to baseline after the negative peak). Accuracy against
    the simulator's noiseless truth (:func:`nerveconduct.simulate.sensory.simulate_snap`) is
    checked in ``tests/test_measure_snap.py``.

    References
    ----------
    .. [1] Preston DC, Shapiro BE. Electromyography and Neuromuscular Disorders:
       Clinical-Electrophysiologic-Ultrasound Correlations, 4th ed. Elsevier, 2020;
       chapter 3, "Basic nerve conduction studies" (sensory nerve action potentials).
    .. [2] Kimura J. Electrodiagnosis in Diseases of Nerve and Muscle: Principles and
       Practice, 4th ed. Oxford University Press, 2013 (sensory nerve conduction).

    Examples
    --------
    >>> import numpy as np
    >>> fs = 20000.0
    >>> t_ms = (np.arange(400) - 40) / fs * 1000  # stimulus at sample 40
    >>> snap = np.where((t_ms > 2) & (t_ms < 3), -0.02 * np.sin(np.pi * (t_ms - 2)), 0.0)
    >>> m = measure_snap(snap, fs, stimulus_sample=40)
    >>> bool(m.present), round(float(m.negative_peak_amplitude_uv), 1)
    (True, 20.0)
    >>> round(float(m.negative_peak_latency_ms), 2), round(float(m.duration_ms), 2)  # onset: 2 uV
    (2.5, 0.97)
    """
    arr = _check_traces(traces)
    fs_hz = _check_rate(sampling_rate_hz)
    n_samples = arr.shape[-1]
    stim = _check_stimulus(stimulus_sample, n_samples)
    sign = _check_polarity(polarity)
    onset_mv = _check_threshold("onset_threshold_uv", onset_threshold_uv) / _UV_PER_MV
    threads = _check_threads(n_threads)

    batch_shape = arr.shape[:-1]
    m_traces = math.prod(batch_shape)
    x2d = np.ascontiguousarray(arr.reshape(m_traces, n_samples))
    from . import _snap_kernel as k

    out = np.empty((k.N_OUT, m_traces))  # the kernel writes every row: ms and uV
    flags = np.zeros(m_traces, dtype=np.int64)
    present = np.zeros(m_traces, dtype=bool)
    if m_traces and n_samples:
        cfg_i, cfg_f = _kernel_config(fs_hz, onset_mv, n_samples, stim, _METHOD)
        rows = max(1, CHUNK_BYTES // max(1, n_samples * x2d.itemsize))

        def work(lo: int, hi: int) -> None:
            k.snap_rows(x2d[lo:hi], stim, sign, cfg_i, cfg_f, out[:, lo:hi], flags[lo:hi],
                        present[lo:hi])

        run_in_chunks(m_traces, rows, threads, work)
    else:
        out.fill(np.nan)
        flags[:] = int(MeasureFlag.UNMEASURABLE) if m_traces else 0
    return SnapMeasures(*(row.reshape(batch_shape) for row in out),
                        present=present.reshape(batch_shape), flags=flags.reshape(batch_shape))


def average_sweeps(traces: Any, axis: int = -2) -> np.ndarray:
    """Average repeated sweeps of the same stimulus (the usual way SNAPs are recorded).

    Parameters
    ----------
    traces : array_like, float32 or float64, shape (..., n_samples)
        Sweeps (mV); ``axis`` indexes the repetitions. Rejected sweeps may be all-NaN: a
        sample is averaged over the sweeps where it is finite.
    axis : int, default -2
        The repetition axis; not the time (last) axis.

    Returns
    -------
    ndarray
        The mean over ``axis`` (computed in float64, returned in the input's dtype); NaN
        where no sweep has a finite sample. Averaging ``n`` sweeps divides uncorrelated
        noise by ``sqrt(n)``.

    Raises
    ------
    ValueError
        ``traces`` not a float array with at least two dimensions; ``axis`` not naming a
        non-time axis, i.e. not in ``[-ndim, ndim - 2]`` or ``-1``.
    TypeError
        ``axis`` not an integer (an ``ArgumentTypeError``, also a ValueError).

    Examples
    --------
    >>> import numpy as np
    >>> average_sweeps(np.array([[0.0, 2.0], [2.0, np.nan]]), axis=0).tolist()
    [1.0, 2.0]
    """
    arr = _check_traces(traces)
    if arr.ndim < 2:
        raise ValueError(f"traces must have shape (..., n_sweeps, ..., n_samples), at least 2 "
                         f"dimensions; got shape {arr.shape}")
    axis = check_number("axis", axis, minimum=-arr.ndim, maximum=arr.ndim - 2, integer=True)
    if axis == -1:
        raise ValueError(f"axis must be an integer in [{-arr.ndim}, {arr.ndim - 2}] other than "
                         f"-1 (the sweeps' axis, not time) for traces of shape {arr.shape}, "
                         f"got {axis!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        mean = np.nanmean(arr, axis=int(axis), dtype=np.float64)
    return mean.astype(arr.dtype, copy=False)
