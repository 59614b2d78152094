"""Repetitive nerve stimulation (myasthenia gravis work-up) and post-exercise facilitation.

Method (docs/criteria.md): a train of 10 stimuli at 2–3 Hz; decrement % = 100·(1 − A4/A1) of
the negative-peak amplitude of response 4 against response 1 (also response 5, the larger of
the two, and the same on negative-peak area); a decrement ≥ 10% is abnormal (7–8% is used for
facial muscles: pass ``abnormal_pct``). Post-exercise facilitation % = 100·(A_post/A_pre − 1)
after 10 s of maximal exercise; ≥ 60% suggests a presynaptic disorder (Lambert–Eaton), ≥ 100%
is the classic finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._checks import check_number
from ..criteria.engine import meets_min

__all__ = ["RnsDecrement", "rns_decrement", "rns_decrement_from_values", "Facilitation", "facilitation_pct"]


@dataclass(frozen=True)
class RnsDecrement:
    """Decrement of a repetitive-stimulation train.

    Attributes
    ----------
    amplitudes_mv, areas_mv_ms : ndarray
        Negative-peak amplitude (mV) and area (mV·ms) of every response (read-only; NaN absent).
    decrement_4_pct, decrement_5_pct, max_decrement_4_5_pct : float
        Amplitude decrement of response 4, 5 and the larger of the two against response 1 (%).
    area_decrement_4_pct, area_decrement_5_pct, area_max_decrement_4_5_pct : float
        The same on the negative-peak area (%).
    abnormal : bool or None
        ``max decrement (of basis) ≥ abnormal_pct``; None when not computable.
    abnormal_pct : float
        The threshold used (%).
    basis : str
        ``"amplitude"`` or ``"area"``: the decrement the flag is read on.
    reasons : tuple of str
    """

    amplitudes_mv: np.ndarray
    areas_mv_ms: np.ndarray
    decrement_4_pct: float
    decrement_5_pct: float
    max_decrement_4_5_pct: float
    area_decrement_4_pct: float
    area_decrement_5_pct: float
    area_max_decrement_4_5_pct: float
    abnormal: bool | None
    abnormal_pct: float
    basis: str
    reasons: tuple[str, ...]


def _decrements(values: np.ndarray) -> tuple[float, float, float]:
    first = float(values[0])
    out = []
    for k in (3, 4):
        v = float(values[k]) if values.shape[0] > k else math.nan
        ok = math.isfinite(first) and first > 0 and math.isfinite(v)
        out.append(100.0 * (1.0 - v / first) if ok else math.nan)
    finite = [d for d in out if math.isfinite(d)]
    return out[0], out[1], max(finite) if finite else math.nan


def _readonly(values: Any, name: str, n: int | None = None) -> np.ndarray:
    arr = np.array(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one value per response (1-D), got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} values (one per response), got {arr.shape[0]}")
    arr.setflags(write=False)
    return arr


def rns_decrement_from_values(amplitudes_mv: Sequence[float], areas_mv_ms: Sequence[float] | None = None, *,
                              abnormal_pct: float = 10.0, basis: str = "amplitude") -> RnsDecrement:
    """Decrement of a train from its measured responses (see :func:`rns_decrement`).

    Parameters
    ----------
    amplitudes_mv : sequence of float
        Negative-peak amplitude of each response, in train order (mV); NaN for absent.
    areas_mv_ms : sequence of float, optional
        Negative-peak areas (mV·ms), same order.
    abnormal_pct : float, default 10.0
        Decrement (%) at or above which the train is abnormal.
    basis : {"amplitude", "area"}, default "amplitude"

    Raises
    ------
    ValueError
        Fewer than 4 responses; ``basis`` unknown; ``abnormal_pct`` not in (0, 100).

    Examples
    --------
    >>> r = rns_decrement_from_values([5.0, 4.6, 4.4, 4.5, 4.6])
    >>> round(r.decrement_4_pct, 6), round(r.max_decrement_4_5_pct, 6), r.abnormal
    (10.0, 10.0, True)
    """
    amps = _readonly(amplitudes_mv, "amplitudes_mv")
    if amps.shape[0] < 4:
        raise ValueError(f"a train needs at least 4 responses (the decrement compares response 4 with "
                         f"response 1), got {amps.shape[0]}")
    areas = _readonly(np.full(amps.shape[0], np.nan) if areas_mv_ms is None else areas_mv_ms,
                      "areas_mv_ms", amps.shape[0])
    if basis not in ("amplitude", "area"):
        raise ValueError(f"basis must be 'amplitude' or 'area', got {basis!r}")
    check_number("abnormal_pct", abnormal_pct, unit="%", minimum=0, maximum=100,
                 inclusive=(False, False))
    d4, d5, dmax = _decrements(amps)
    a4, a5, amax = _decrements(areas)
    flag_value = dmax if basis == "amplitude" else amax
    reasons = []
    if math.isfinite(flag_value):
        abnormal = meets_min(flag_value, float(abnormal_pct), True)
        reasons.append(f"largest {basis} decrement of responses 4-5 vs 1: {flag_value:.1f}% "
                       f"{'≥' if abnormal else '<'} {abnormal_pct:g}% ({'abnormal' if abnormal else 'normal'})")
    else:
        abnormal = None
        reasons.append(f"{basis} decrement not computable: response 1 or responses 4-5 absent or not measured")
    return RnsDecrement(amps, areas, d4, d5, dmax, a4, a5, amax, abnormal, float(abnormal_pct), basis,
                        tuple(reasons))


def rns_decrement(train: Any, sampling_rate_hz: float, *, stimulus_sample: int = 0,
                  polarity: str = "physical", abnormal_pct: float = 10.0,
                  basis: str = "amplitude") -> RnsDecrement:
    """Decrement % of a repetitive-nerve-stimulation train, measured from its waveforms.

    Parameters
    ----------
    train : array_like, shape (n_responses, n_samples)
        The responses in train order (mV), each with the stimulus at ``stimulus_sample``.
    sampling_rate_hz : float
        Sampling rate (Hz).
    stimulus_sample : int, default 0
        Index of the stimulus in each response.
    polarity : {"physical", "negative-up"}, default "physical"
    abnormal_pct : float, default 10.0
        Abnormal at a decrement ≥ this (%); 7–8% is used for facial muscles.
    basis : {"amplitude", "area"}, default "amplitude"

    Returns
    -------
    RnsDecrement
        Responses are measured with :func:`nerveconduct.measure.cmap.measure_cmap`.

    Raises
    ------
    ValueError
        ``train`` is not 2-D or has fewer than 4 responses, or a measurement argument is invalid.
    """
    arr = np.asarray(train, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"train must have shape (n_responses, n_samples), got shape {arr.shape}")
    from ..measure.cmap import measure_cmap  # numeric core, imported on use

    m = measure_cmap(arr, sampling_rate_hz, stimulus_sample=stimulus_sample, polarity=polarity)
    return rns_decrement_from_values(m.negative_peak_amplitude_mv, m.negative_peak_area_mv_ms,
                                     abnormal_pct=abnormal_pct, basis=basis)


@dataclass(frozen=True)
class Facilitation:
    """Post-exercise facilitation: ``pct`` = 100·(post/pre − 1), with the LEMS thresholds."""

    pct: float
    suggests_presynaptic: bool
    classic: bool
    reasons: tuple[str, ...]

    def __float__(self) -> float:
        return self.pct


def facilitation_pct(pre: float, post: float, *, presynaptic_pct: float = 60.0,
                     classic_pct: float = 100.0) -> Facilitation:
    """Facilitation after 10 s of exercise, from the CMAP amplitudes before and after (mV).

    Parameters
    ----------
    pre, post : float
        Negative-peak CMAP amplitude at rest and right after exercise (mV).
    presynaptic_pct, classic_pct : float
        Facilitation (%) at or above which a presynaptic disorder is suggested (60) and the
        classic Lambert–Eaton increment is reached (100).

    Raises
    ------
    ValueError
        ``pre`` not a positive finite amplitude, or ``post`` negative / not finite.

    Examples
    --------
    >>> f = facilitation_pct(1.0, 2.0)
    >>> f.pct, f.suggests_presynaptic, f.classic
    (100.0, True, True)
    """
    check_number("pre (amplitude)", pre, unit="mV", minimum=0, inclusive=(False, True))
    check_number("post (amplitude)", post, unit="mV", minimum=0)
    pct = 100.0 * (float(post) / float(pre) - 1.0)
    pre_ok, classic = meets_min(pct, presynaptic_pct, True), meets_min(pct, classic_pct, True)
    reasons = (f"facilitation {pct:.1f}% ({pre:g} -> {post:g} mV): "
               + ("≥ {0:g}%: classic presynaptic (Lambert–Eaton) increment".format(classic_pct) if classic else
                  "≥ {0:g}%: suggests a presynaptic disorder".format(presynaptic_pct) if pre_ok else
                  "< {0:g}%: no presynaptic facilitation".format(presynaptic_pct)),)
    return Facilitation(pct, pre_ok, classic, reasons)
