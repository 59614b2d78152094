"""Accuracy of :func:`nerveconduct.measure.cmap.measure_cmap` against the simulator's noiseless truth.

Every condition measures a few hundred simulated traces (distal and elbow sites of median
nerves, stimulus artifact 3 mV, fixed seeds) whose true negative peak is 1-10 mV, and checks
the absolute errors against the truth of :mod:`nerveconduct.simulate.nerve` (same operational
definitions, :mod:`nerveconduct.constants`). Tolerances: median / 95th percentile.

===============================  =============  ===========  ===========  ==========
condition                        onset (ms)     amplitude %  area %       neg. dur. p95
===============================  =============  ===========  ===========  ==========
20, 10, 48 kHz; 10 uV RMS        0.05 / 0.15    1 / 3        1 / 3        0.3 ms
20 kHz; 30 uV RMS (looser)       0.10 / 0.30    1 / 3        1 / 3        0.3 ms
20 kHz; 10 uV + 50 Hz hum 20 uV  0.06 / 0.25    1 / 4        1.5 / 6      0.4 ms
20 kHz; 10 uV + drift 50 uV      0.06 / 0.25    1 / 4        1.5 / 6      0.4 ms
===============================  =============  ===========  ===========  ==========

The first row is the issue's specification; the figures achieved are printed by
``python -m pytest tests/test_measure_accuracy.py -s``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from nerveconduct.flags import MeasureFlag as F
from nerveconduct.measure.cmap import CMAP_MEASURE_FIELDS, measure_cmap
from nerveconduct.simulate.nerve import simulate_nerve

DISTAL_AMPLITUDES_MV = (1.1, 1.5, 2.5, 4.0, 6.0, 8.0, 10.0)
N_NERVES = 24  # x 7 amplitudes x 2 sites = 336 traces per condition


@functools.cache
def _condition(rate_hz: float, noise_uv: float, hum_uv: float = 0.0, drift_uv: float = 0.0):
    """Measures and truth of one condition, flattened; only traces with a 1-10 mV truth."""
    measured, truth = [], []
    for i, amp in enumerate(DISTAL_AMPLITUDES_MV):
        sim = simulate_nerve((70.0, 200.0), n_nerves=N_NERVES, distal_amplitude_mv=amp,
                             noise_uv_rms=noise_uv, hum_uv=hum_uv, drift_uv=drift_uv,
                             artifact_mv=3.0, sampling_rate_hz=rate_hz, seed=1000 + i)
        measured.append(measure_cmap(sim.traces, sim.sampling_rate_hz,
                                     stimulus_sample=sim.stimulus_sample))
        truth.append(sim.truth)
    cols = {}
    for f in ("present", "onset_latency_ms", "negative_peak_latency_ms",
              "negative_peak_amplitude_mv", "negative_peak_area_mv_ms",
              "negative_peak_duration_ms", "cmap_duration_ms"):
        cols[f] = (np.concatenate([getattr(m, f).ravel() for m in measured]),
                   np.concatenate([getattr(t, f).ravel() for t in truth]))
    amp_true = cols["negative_peak_amplitude_mv"][1]
    keep = (amp_true >= 1.0) & (amp_true <= 10.0)
    return {f: (m[keep], t[keep]) for f, (m, t) in cols.items()}


def _errors(cond, field, relative=False):
    measured, truth = cond[field]
    err = np.abs(measured - truth)
    return 100.0 * err / truth if relative else err


def _check(label, cond, onset, amp, area, dur_p95):
    """Assert median/p95 tolerances; print what was achieved."""
    n = cond["present"][0].size
    assert n >= 250, f"{label}: only {n} traces with a 1-10 mV truth"
    assert cond["present"][0].all(), f"{label}: {np.sum(~cond['present'][0])} responses missed"
    checks = [("onset_latency_ms", False, onset), ("negative_peak_amplitude_mv", True, amp),
              ("negative_peak_area_mv_ms", True, area)]
    report = []
    for field, rel, (tol_med, tol_p95) in checks:
        err = _errors(cond, field, rel)
        assert np.isfinite(err).all(), f"{label}: NaN {field}"
        med, p95 = np.median(err), np.percentile(err, 95)
        report.append(f"{field} {med:.3f}/{p95:.3f}{'%' if rel else ' ms'}")
        assert med <= tol_med and p95 <= tol_p95, (
            f"{label}: {field} |error| median {med:.4f} (<= {tol_med}), p95 {p95:.4f} "
            f"(<= {tol_p95})")
    for field in ("negative_peak_duration_ms", "cmap_duration_ms"):
        p95 = np.percentile(_errors(cond, field), 95)
        report.append(f"{field} p95 {p95:.3f} ms")
        assert p95 <= dur_p95, f"{label}: {field} |error| p95 {p95:.4f} ms (<= {dur_p95})"
    peak_p95 = np.percentile(_errors(cond, "negative_peak_latency_ms"), 95)
    assert peak_p95 <= 0.15, f"{label}: negative-peak latency p95 {peak_p95:.4f} ms"
    print(f"\n{label} (n={n}): " + "; ".join(report))


@pytest.mark.parametrize("rate_hz", [20000.0, 10000.0, 48000.0])
def test_10uv_noise_onset_within_0_05_ms_median_0_15_ms_p95_amplitude_area_1_3_pct(rate_hz):
    """The issue's tolerances at 10 uV RMS noise, artifact on, 10/20/48 kHz."""
    _check(f"{rate_hz / 1000:g} kHz, 10 uV", _condition(rate_hz, 10.0),
           onset=(0.05, 0.15), amp=(1.0, 3.0), area=(1.0, 3.0), dur_p95=0.3)


def test_30uv_noise_onset_within_0_1_ms_median_0_3_ms_p95():
    """Three times the noise: looser onset tolerance, the same amplitude/area tolerances."""
    _check("20 kHz, 30 uV", _condition(20000.0, 30.0),
           onset=(0.10, 0.30), amp=(1.0, 3.0), area=(1.0, 3.0), dur_p95=0.3)


@pytest.mark.parametrize(("hum_uv", "drift_uv"), [(20.0, 0.0), (0.0, 50.0)])
def test_hum_or_drift_onset_0_06_0_25_ms_amplitude_1_4_pct_area_1_5_6_pct(hum_uv, drift_uv):
    """50 Hz hum of 20 uV, or a smooth 50 uV baseline drift, on top of 10 uV noise."""
    _check(f"20 kHz, 10 uV, hum {hum_uv:g} uV, drift {drift_uv:g} uV",
           _condition(20000.0, 10.0, hum_uv, drift_uv),
           onset=(0.06, 0.25), amp=(1.0, 4.0), area=(1.5, 6.0), dur_p95=0.4)


@pytest.mark.parametrize("noise_uv", [10.0, 30.0])
def test_pure_noise_is_absent_no_false_positive(noise_uv):
    """All units blocked above the wrist: 600 pure-noise traces (artifact on), none present."""
    sim = simulate_nerve((70.0, 200.0, 150.0), n_nerves=300, block={1: 1.0},
                         noise_uv_rms=noise_uv, seed=7)
    assert not sim.truth.present[:, 1:].any()
    m = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    blocked = m[:, 1:]
    assert not blocked.present.any(), f"{blocked.present.sum()} false positives"
    assert (blocked.flags & F.ABSENT).all()
    assert np.isnan(blocked.negative_peak_amplitude_mv).all()
    assert m.present[:, 0].all()


def test_detects_0_2_mv_responses_at_30_uv_noise():
    sim = simulate_nerve((70.0,), n_nerves=300, distal_amplitude_mv=0.2, noise_uv_rms=30.0,
                         seed=8)
    m = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert m.present.all()
    err = np.abs(m.onset_latency_ms - sim.truth.onset_latency_ms)
    assert np.percentile(err, 95) <= 0.4


def test_negative_up_on_flipped_traces_gives_the_same_numbers():
    sim = simulate_nerve((70.0, 200.0), n_nerves=50, distal_amplitude_mv=3.0, seed=9)
    phys = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    flip = measure_cmap(-sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample,
                        polarity="negative-up")
    for f in CMAP_MEASURE_FIELDS:
        np.testing.assert_allclose(getattr(flip, f), getattr(phys, f), rtol=1e-12, atol=0)


def test_float32_and_float64_agree():
    sim = simulate_nerve((70.0, 200.0), n_nerves=100, distal_amplitude_mv=2.0, seed=10)
    args = (sim.sampling_rate_hz,)
    m64 = measure_cmap(sim.traces, *args, stimulus_sample=sim.stimulus_sample)
    m32 = measure_cmap(sim.traces.astype(np.float32), *args, stimulus_sample=sim.stimulus_sample)
    np.testing.assert_array_equal(m32.flags, m64.flags)
    np.testing.assert_allclose(m32.onset_latency_ms, m64.onset_latency_ms, atol=1e-3)
    np.testing.assert_allclose(m32.negative_peak_amplitude_mv, m64.negative_peak_amplitude_mv,
                               rtol=1e-5)
    np.testing.assert_allclose(m32.negative_peak_area_mv_ms, m64.negative_peak_area_mv_ms,
                               rtol=1e-5)


def test_bad_traces_are_flagged_not_raised():
    sim = simulate_nerve((70.0, 200.0), n_nerves=4, distal_amplitude_mv=8.0, clip_mv=5.0,
                         seed=11)
    x = sim.traces.copy()
    x[1, 0, 300] = np.nan  # an isolated NaN in the response
    x[2, 0, 150:250] = np.nan  # a 5 ms hole
    x[3, 0] = 0.0  # a flat line
    m = measure_cmap(x, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert m.flags[0, 0] & F.CLIPPED  # the 8 mV distal response hits the 5 mV rail
    assert m.flags[1, 0] & F.NAN_SAMPLES and m.present[1, 0]
    assert m.flags[2, 0] == F.NAN_SAMPLES | F.UNMEASURABLE and not m.present[2, 0]
    assert m.flags[3, 0] == F.UNMEASURABLE and not m.present[3, 0]
    short = measure_cmap(x[..., :130], sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert (short.flags == F.UNMEASURABLE).all() and not short.present.any()
