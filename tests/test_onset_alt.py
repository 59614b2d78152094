"""The second onset detector (baseline deviation, Hodges & Bui 1996) and the ONSETS_DISAGREE flag.

Accuracy against the simulator's noiseless truth (distal and elbow sites of median nerves,
stimulus artifact 3 mV, truth 1-10 mV, 20 kHz). Tolerances of ``onset_alt_latency_ms``:

=====================  ==================  ====================================
condition              |error| med / p95   ONSETS_DISAGREE (margin 0.3 ms)
=====================  ==================  ====================================
noiseless              0.001 / 0.001 ms    none
10 uV RMS              0.05 / 0.15 ms      none
=====================  ==================  ====================================

(achieved, 336 traces each: noiseless 0.0000 / 0.0000 ms; 10 uV 0.024 / 0.076 ms, largest
difference from the default onset 0.12 ms.)
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from nerveconduct.flags import MeasureFlag as F
from nerveconduct.measure import measure_cmap
from nerveconduct.measure.cmap import ONSET_DISAGREE_MS
from nerveconduct.simulate.nerve import simulate_nerve

AMPLITUDES_MV = (1.1, 1.5, 2.5, 4.0, 6.0, 8.0, 10.0)
FS = 20000.0
STIM = 100


@functools.cache
def _condition(noise_uv: float):
    alt, default, truth, flags = [], [], [], []
    for i, amp in enumerate(AMPLITUDES_MV):
        sim = simulate_nerve((70.0, 200.0), n_nerves=24, distal_amplitude_mv=amp, noise_uv_rms=noise_uv,
                             artifact_mv=3.0, sampling_rate_hz=FS, seed=1000 + i)
        m = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
        keep = (sim.truth.negative_peak_amplitude_mv >= 1.0) & (sim.truth.negative_peak_amplitude_mv <= 10.0)
        alt.append(m.onset_alt_latency_ms[keep])
        default.append(m.onset_latency_ms[keep])
        truth.append(sim.truth.onset_latency_ms[keep])
        flags.append(m.flags[keep])
    return tuple(np.concatenate(v) for v in (alt, default, truth, flags))


@pytest.mark.parametrize("noise_uv, tol_median, tol_p95", [(0.0, 0.001, 0.001), (10.0, 0.05, 0.15)])
def test_second_onset_accuracy_against_the_noiseless_truth(noise_uv, tol_median, tol_p95):
    alt, default, truth, flags = _condition(noise_uv)
    assert alt.size >= 250 and np.isfinite(alt).all()
    err = np.abs(alt - truth)
    assert np.median(err) <= tol_median and np.percentile(err, 95) <= tol_p95, (
        f"|error| median {np.median(err):.4f} ms, p95 {np.percentile(err, 95):.4f} ms")
    # clean simulated traces: the two detectors agree, no review flag
    assert np.abs(alt - default).max() <= ONSET_DISAGREE_MS
    assert not (flags & int(F.ONSETS_DISAGREE)).any()


def _lobe(t_ms, onset_ms, width_ms, amp_mv):
    inside = (t_ms > onset_ms) & (t_ms < onset_ms + width_ms)
    return np.where(inside, -amp_mv * np.sin(np.pi * (t_ms - onset_ms) / width_ms), 0.0)


def test_an_early_deflection_makes_the_detectors_disagree():
    """A small negative deflection 2 ms before the take-off (returning to baseline before it):
    the default walks back from the peak and stops at the take-off; the second detector finds
    the first sustained departure."""
    t_ms = (np.arange(1000) - STIM) / FS * 1000
    clean = _lobe(t_ms, 4.0, 4.0, 5.0)
    early = clean + _lobe(t_ms, 1.0, 1.2, 0.1)
    m = measure_cmap(np.stack([clean, early]), FS, stimulus_sample=STIM)
    assert m.onset_latency_ms[0] == pytest.approx(4.0, abs=0.01)
    assert m.onset_alt_latency_ms[0] == pytest.approx(m.onset_latency_ms[0], abs=0.01)
    assert m.onset_latency_ms[1] == pytest.approx(4.0, abs=0.01)  # the default is unchanged
    assert 1.0 < m.onset_alt_latency_ms[1] < 1.2
    assert m.flags.tolist() == [0, int(F.ONSETS_DISAGREE)]
    assert m.present.all()  # a review flag, not a quality verdict


def test_a_hand_set_onset_clears_the_review_flag():
    t_ms = (np.arange(1000) - STIM) / FS * 1000
    early = _lobe(t_ms, 4.0, 4.0, 5.0) + _lobe(t_ms, 1.0, 1.2, 0.1)
    m = measure_cmap(early, FS, stimulus_sample=STIM, landmarks={"onset": 1.05})
    assert float(m.onset_latency_ms) == 1.05 and int(m.flags) == 0


def _slow_lobes(widths_ms, noise_mv=0.06, seed=7):
    """Pre-stimulus noise (so the second detector's band, 3 x the smoothed baseline RMS, lies
    above the default's 20 uV) and noiseless slow 1 mV half-sine lobes: the onsets differ by
    W/pi (asin(band) - asin(0.02)), which the sweep of widths W carries across the margin."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, noise_mv, STIM)
    t_ms = (np.arange(1000) - STIM) / FS * 1000
    rows = []
    for w in widths_ms:
        v = _lobe(t_ms, 2.0, w, 1.0)
        v[:STIM] = base
        rows.append(v)
    return np.stack(rows)


def test_the_disagreement_margin_at_just_above_and_just_below():
    m = measure_cmap(_slow_lobes(np.linspace(10.0, 24.0, 400)), FS, stimulus_sample=STIM)
    diff = np.abs(m.onset_alt_latency_ms - m.onset_latency_ms)
    flagged = (m.flags & int(F.ONSETS_DISAGREE)) != 0
    assert np.isfinite(diff).all() and m.present.all()
    assert (flagged == (diff > ONSET_DISAGREE_MS)).all()
    below = (diff > ONSET_DISAGREE_MS - 0.01) & (diff <= ONSET_DISAGREE_MS)
    above = (diff > ONSET_DISAGREE_MS) & (diff < ONSET_DISAGREE_MS + 0.01)
    assert below.any() and above.any(), "the sweep must cross the margin closely"
    assert not flagged[below].any() and flagged[above].all()
