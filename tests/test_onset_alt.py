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
difference from the default onset 0.12 ms.) At 30 and 50 uV RMS the second onset comes later
than the default (its band lies above 20 uV), but followed back to the 20 uV level before
the comparison it is the same take-off: ONSETS_DISAGREE on at most 1 % of traces (achieved:
none of 996 at 30 or 50 uV; 5.1 % and 18.9 % when the onsets were compared as found).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from nerveconduct.flags import MeasureFlag as F
from nerveconduct.measure import measure_cmap
from nerveconduct.measure._onset import departure_at_level
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


@pytest.mark.parametrize("noise_uv", [30.0, 50.0])
def test_noise_alone_rarely_raises_the_review_flag(noise_uv):
    alt, default, truth, flags = _condition(noise_uv)
    assert alt.size >= 250
    assert np.mean((flags & int(F.ONSETS_DISAGREE)) != 0) <= 0.01
    # the raw onsets do part by more than the margin on some traces: the walk-back matters
    assert (np.abs(alt - default) > ONSET_DISAGREE_MS).any()


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


def test_one_take_off_seen_at_two_levels_is_not_a_disagreement():
    """The band lies above the default's level: on a slow take-off the second onset comes later
    by more than the margin, but followed back to the 20 uV level it is the same take-off."""
    m = measure_cmap(_slow_lobes(np.linspace(10.0, 24.0, 400)), FS, stimulus_sample=STIM)
    diff = np.abs(m.onset_alt_latency_ms - m.onset_latency_ms)
    assert np.isfinite(diff).all() and m.present.all()
    assert (diff > ONSET_DISAGREE_MS).sum() > 100  # all of these were flagged before
    assert not (m.flags & int(F.ONSETS_DISAGREE)).any()


def test_walking_a_departure_back_to_the_level():
    # a ramp from the baseline (0) down from sample 10, 0.01 mV per sample; offset 0.005 mV
    vs = np.concatenate([np.full(10, 0.005), 0.005 - 0.01 * np.arange(1, 41)])
    at = departure_at_level(vs, 0.005, 18.0, 0.02, 0)
    assert at == pytest.approx(11.0, abs=1e-9)  # 0.02 mV below the offset: sample 11
    assert departure_at_level(vs, 0.005, 10.5, 0.02, 0) == 10.5  # within the level already
    assert departure_at_level(vs, 0.005, 18.0, 0.02, 15) == 15.0  # not walked past the start
    assert np.isnan(departure_at_level(vs, 0.005, np.nan, 0.02, 0))
    # an earlier deflection that returns to the baseline first is not walked back into
    early = vs.copy()
    early[2:6] = -0.5
    assert departure_at_level(early, 0.005, 18.0, 0.02, 0) == pytest.approx(11.0, abs=1e-9)
    # a positive departure is walked back in its own direction
    assert departure_at_level(-vs + 0.01, 0.005, 18.0, 0.02, 0) == pytest.approx(11.0, abs=1e-9)


def _shelf_pulse(shelf_ms, t_ms, pulse_ms=0.16, t0_ms=3.0):
    """A -1 mV shelf from t0, a +1 mV pulse, then a 5 mV CMAP rising from -1 mV: the default
    onset stops at the pulse (above -20 uV), the second detector finds the shelf's start (its
    run outside the band goes through the steep pulse), so the two part by shelf + pulse."""
    x = np.zeros(t_ms.size)
    x[(t_ms >= t0_ms) & (t_ms < t0_ms + shelf_ms)] = -1.0
    x[(t_ms >= t0_ms + shelf_ms) & (t_ms < t0_ms + shelf_ms + pulse_ms)] = 1.0
    m0 = t0_ms + shelf_ms + pulse_ms
    inside = (t_ms >= m0) & (t_ms < m0 + 4.0)
    x[inside] = -1.0 - 4.0 * np.sin(np.pi * (t_ms[inside] - m0) / 4.0)
    return x


def test_the_disagreement_margin_at_just_above_and_just_below():
    """flagged exactly when the default onset and the second onset followed back to the 20 uV
    level (on the 0.13 ms box-smoothed trace at 100 kHz) are more than 0.3 ms apart."""
    fs, stim, n, h = 100000.0, 500, 5000, 6
    t_ms = (np.arange(n) - stim) / fs * 1000
    x = np.stack([_shelf_pulse(d, t_ms) for d in np.linspace(0.06, 0.09, 13)])
    m = measure_cmap(x, fs, stimulus_sample=stim)
    assert m.present.all()
    walked = np.array([departure_at_level(np.convolve(row, np.ones(2 * h + 1) / (2 * h + 1), "same"),
                                          0.0, stim + alt * fs / 1000, 0.02, stim)
                       for row, alt in zip(x, m.onset_alt_latency_ms)])
    diff = np.abs(m.onset_latency_ms - (walked - stim) / fs * 1000)
    flagged = (m.flags & int(F.ONSETS_DISAGREE)) != 0
    assert np.isfinite(diff).all()
    assert (flagged == (diff > ONSET_DISAGREE_MS)).all()
    below = (diff > ONSET_DISAGREE_MS - 0.01) & (diff <= ONSET_DISAGREE_MS)
    above = (diff > ONSET_DISAGREE_MS) & (diff < ONSET_DISAGREE_MS + 0.01)
    assert below.any() and above.any(), "the sweep must cross the margin closely"
    assert not flagged[below].any() and flagged[above].all()
