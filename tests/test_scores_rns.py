"""Repetitive nerve stimulation decrement and post-exercise facilitation (docs/criteria.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nerveconduct.scores.cidp_mag import facilitation_pct, rns_decrement, rns_decrement_from_values


@pytest.mark.parametrize("a4, abnormal", [(4.51, False), (4.5, True), (4.49, True)])
def test_rns_decrement_10pct_threshold_at_response_4(a4, abnormal):
    # 100·(1 − A4/A1) with A1 = 5.0 mV: 9.8% / 10.0% / 10.2%; response 5 is larger than 4
    r = rns_decrement_from_values([5.0, 4.8, 4.6, a4, 4.7])
    assert r.abnormal is abnormal
    assert r.decrement_4_pct == pytest.approx(100 * (1 - a4 / 5.0))
    assert r.max_decrement_4_5_pct == pytest.approx(r.decrement_4_pct)


def test_rns_decrement_uses_larger_of_responses_4_and_5():
    r = rns_decrement_from_values([5.0, 4.8, 4.7, 4.6, 4.4])  # 8% at 4, 12% at 5
    assert r.decrement_4_pct == pytest.approx(8.0) and r.decrement_5_pct == pytest.approx(12.0)
    assert r.max_decrement_4_5_pct == pytest.approx(12.0)
    assert r.abnormal is True
    assert r.reasons[0] == "largest amplitude decrement of responses 4-5 vs 1: 12.0% ≥ 10% (abnormal)"


def test_rns_decrement_configurable_threshold_for_facial_muscles():
    r = rns_decrement_from_values([5.0, 4.8, 4.7, 4.6, 4.62], abnormal_pct=7.0)  # 8%
    assert r.abnormal is True and r.abnormal_pct == 7.0
    assert rns_decrement_from_values([5.0, 4.8, 4.7, 4.6, 4.62]).abnormal is False


def test_rns_area_decrement_and_area_basis():
    r = rns_decrement_from_values([5.0, 5.0, 5.0, 5.0, 5.0], [10.0, 9.5, 9.0, 8.8, 8.9], basis="area")
    assert r.decrement_4_pct == 0.0
    assert r.area_decrement_4_pct == pytest.approx(12.0)
    assert r.area_max_decrement_4_5_pct == pytest.approx(12.0)
    assert r.abnormal is True


def test_rns_absent_first_response_not_assessable():
    r = rns_decrement_from_values([math.nan, 4.0, 4.0, 4.0, 4.0])
    assert r.abnormal is None and math.isnan(r.decrement_4_pct)
    assert "not computable" in r.reasons[0]


def test_rns_input_errors():
    with pytest.raises(ValueError, match="at least 4 responses .* got 3"):
        rns_decrement_from_values([5.0, 4.0, 3.0])
    with pytest.raises(ValueError, match="basis must be 'amplitude' or 'area', got 'peak'"):
        rns_decrement_from_values([5.0, 4.0, 3.0, 3.0], basis="peak")
    with pytest.raises(ValueError, match="must have shape \\(n_responses, n_samples\\)"):
        rns_decrement(np.zeros(100), 20000.0)


def test_rns_decrement_from_waveforms():
    fs, stim = 20000.0, 100
    t_ms = (np.arange(1000) - stim) / fs * 1000.0
    shape = -np.exp(-0.5 * ((t_ms - 8.0) / 1.2) ** 2) + 0.5 * np.exp(-0.5 * ((t_ms - 12.0) / 1.8) ** 2)
    scales = np.array([5.0, 4.6, 4.3, 4.0, 4.1, 4.2, 4.3, 4.3, 4.4, 4.4])  # 20% at response 4
    r = rns_decrement(scales[:, None] * shape[None, :], fs, stimulus_sample=stim)
    assert r.decrement_4_pct == pytest.approx(20.0, abs=0.1)
    assert r.decrement_5_pct == pytest.approx(18.0, abs=0.1)
    assert r.area_decrement_4_pct == pytest.approx(20.0, abs=0.2)
    assert r.abnormal is True
    assert not r.amplitudes_mv.flags.writeable


@pytest.mark.parametrize("post, presynaptic, classic", [(1.59, False, False), (1.6, True, False),
                                                        (1.61, True, False), (1.99, True, False),
                                                        (2.0, True, True), (2.01, True, True)])
def test_facilitation_60_and_100pct(post, presynaptic, classic):
    f = facilitation_pct(1.0, post)
    assert f.pct == pytest.approx(100 * (post - 1.0))
    assert (f.suggests_presynaptic, f.classic) == (presynaptic, classic)
    assert float(f) == f.pct


def test_facilitation_errors():
    with pytest.raises(ValueError, match=r"pre \(amplitude\) must be a finite number > 0 mV, got 0.0"):
        facilitation_pct(0.0, 1.0)
    with pytest.raises(ValueError, match=r"post \(amplitude\) must be a finite number >= 0 mV, got nan"):
        facilitation_pct(1.0, math.nan)
