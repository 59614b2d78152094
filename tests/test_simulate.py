"""Tests of the physiological CMAP simulator (``nerveconduct.simulate.nerve``), by specification item."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from nerveconduct.constants import CMAP_DURATION_PEAK_FRACTION, REFERENCE_ONSET_THRESHOLD_MV
from nerveconduct.simulate.nerve import SimulatedNerve, SimulationTruth, simulate_nerve

PER_SITE = ("present", "onset_latency_ms", "negative_peak_latency_ms",
            "negative_peak_amplitude_mv", "peak_to_peak_amplitude_mv",
            "negative_peak_duration_ms", "negative_peak_area_mv_ms", "cmap_duration_ms",
            "n_units_present", "conduction_velocity_m_s")
PER_SEGMENT = ("segment_conduction_velocity_m_s", "segment_fastest_cv_m_s")
PER_NERVE = ("fastest_cv_m_s", "terminal_latency_index")


def _ms_to_sample(sim: SimulatedNerve, t_ms):
    return sim.stimulus_sample + np.asarray(t_ms) * sim.sampling_rate_hz / 1000.0


def _brute_force_truth(v: np.ndarray, fs: float, stim: int) -> dict[str, float]:
    """Reference measures of one noiseless trace with plain Python loops."""
    thr = REFERENCE_ONSET_THRESHOLD_MV
    dt = 1000.0 / fs
    j = next(i for i in range(len(v)) if abs(v[i]) >= thr)
    onset = j - 1 + (thr - abs(v[j - 1])) / (abs(v[j]) - abs(v[j - 1]))
    k = min(range(len(v)), key=lambda i: v[i])

    def up_crossing(after):
        m = next(i for i in range(after + 1, len(v)) if v[i] >= 0.0)
        return m - 1 + (-v[m - 1]) / (v[m] - v[m - 1])

    cross = up_crossing(k)
    minima = [i for i in range(1, len(v) - 1)
              if v[i] < v[i - 1] and v[i] <= v[i + 1]
              and v[i] <= -CMAP_DURATION_PEAK_FRACTION * -v[k]]
    cross_last = up_crossing(max(minima))
    fine = np.linspace(onset, cross, 200_001)  # integral of the linear interpolant
    area = -np.trapezoid(np.interp(fine, np.arange(len(v)), v), fine) * dt
    return {"onset_latency_ms": (onset - stim) * dt, "min_sample_mv": v[k],
            "negative_peak_duration_ms": (cross - onset) * dt,
            "cmap_duration_ms": (cross_last - onset) * dt, "negative_peak_area_mv_ms": area}


class TestShapes:
    def test_single_nerve_contract(self):
        sim = simulate_nerve((70.0, 200.0), seed=3)
        assert isinstance(sim, SimulatedNerve) and isinstance(sim.truth, SimulationTruth)
        assert sim.traces.shape == sim.noiseless.shape == (2, 1000)
        assert sim.traces.dtype == sim.noiseless.dtype == np.float64
        assert sim.stimulus_sample == 100 and sim.sampling_rate_hz == 20000.0
        assert sim.site_names == ("wrist", "elbow") and sim.distances_mm == (70.0, 200.0)
        assert (sim.nerve, sim.side, sim.muscle) == ("median", "right", "APB")
        for name in PER_SITE:
            assert np.shape(getattr(sim.truth, name)) == (2,), name
        for name in PER_SEGMENT:
            assert np.shape(getattr(sim.truth, name)) == (1,), name
        for name in PER_NERVE:
            assert np.shape(getattr(sim.truth, name)) == (), name
        assert sim.truth.present.dtype == bool
        assert np.issubdtype(sim.truth.n_units_present.dtype, np.integer)
        assert sim.time_ms[sim.stimulus_sample] == 0.0
        assert sim.time_ms[0] == pytest.approx(-5.0)
        assert {f.name for f in dataclasses.fields(SimulationTruth)} == set(
            PER_SITE + PER_SEGMENT + PER_NERVE)

    def test_batch_contract_and_float32(self):
        sim = simulate_nerve((70.0, 200.0, 120.0), n_nerves=4, seed=3, dtype="float32",
                             sampling_rate_hz=10000.0, sweep_ms=40.0, pre_stimulus_ms=2.0)
        assert sim.traces.shape == sim.noiseless.shape == (4, 3, 400)
        assert sim.traces.dtype == sim.noiseless.dtype == np.float32
        assert sim.stimulus_sample == 20
        assert sim.site_names == ("wrist", "elbow", "axilla")
        for name in PER_SITE:
            assert getattr(sim.truth, name).shape == (4, 3), name
        for name in PER_SEGMENT:
            assert getattr(sim.truth, name).shape == (4, 2), name
        for name in PER_NERVE:
            assert getattr(sim.truth, name).shape == (4,), name
        assert np.isnan(sim.truth.conduction_velocity_m_s[:, 0]).all()
        np.testing.assert_array_equal(sim.truth.conduction_velocity_m_s[:, 1:],
                                      sim.truth.segment_conduction_velocity_m_s)
        # The truth is computed in float64 from the same population as a float64 run.
        sim64 = simulate_nerve((70.0, 200.0, 120.0), n_nerves=4, seed=3,
                               sampling_rate_hz=10000.0, sweep_ms=40.0, pre_stimulus_ms=2.0)
        np.testing.assert_array_equal(sim.truth.onset_latency_ms, sim64.truth.onset_latency_ms)
        np.testing.assert_allclose(sim.noiseless, sim64.noiseless, atol=1e-5)

    def test_site_names(self):
        assert simulate_nerve((70.0, 200.0, 100.0), nerve="ulnar", seed=0).site_names == (
            "wrist", "below elbow", "above elbow")
        assert simulate_nerve((90.0, 300.0), nerve="tibial", seed=0).site_names == (
            "ankle", "popliteal fossa")
        generic = simulate_nerve((70.0, 100.0, 100.0, 100.0, 100.0), seed=0, sweep_ms=60.0)
        assert generic.site_names == ("site 1", "site 2", "site 3", "site 4", "site 5")
        named = simulate_nerve((70.0, 230.0), site_names=["Wrist", "Elbow"], seed=0)
        assert named.site_names == ("Wrist", "Elbow")

    def test_single_site(self):
        sim = simulate_nerve((70.0,), seed=5)
        assert sim.traces.shape == (1, 1000)
        assert sim.truth.segment_conduction_velocity_m_s.shape == (0,)
        assert np.isnan(sim.truth.terminal_latency_index)
        assert sim.truth.present[0]

    def test_parameters_record_the_call(self):
        sim = simulate_nerve((70.0, 200.0), block={1: 0.25}, noise_uv_rms=5, seed=11)
        p = sim.parameters
        assert p["distances_mm"] == [70.0, 200.0] and p["block"] == {1: 0.25}
        assert p["noise_uv_rms"] == 5.0 and p["seed"] == 11 and p["seed_used"] == 11
        assert p["n_units"] == 150 and p["dtype"] == "float64" and p["segment_slowing"] is None


class TestReproducibility:
    def test_same_seed_same_arrays(self):
        kw = {"n_nerves": 3, "hum_uv": 50.0, "drift_uv": 100.0, "seed": 42}
        a, b = simulate_nerve(**kw), simulate_nerve(**kw)
        np.testing.assert_array_equal(a.traces, b.traces)
        np.testing.assert_array_equal(a.noiseless, b.noiseless)
        for f in dataclasses.fields(SimulationTruth):
            np.testing.assert_array_equal(getattr(a.truth, f.name), getattr(b.truth, f.name))
        c = simulate_nerve(**{**kw, "seed": 43})
        assert not np.array_equal(a.noiseless, c.noiseless)

    def test_nerves_are_independent_and_single_equals_batch_of_one(self):
        batch = simulate_nerve(n_nerves=2, seed=8)
        assert not np.array_equal(batch.noiseless[0], batch.noiseless[1])
        single, one = simulate_nerve(seed=8), simulate_nerve(n_nerves=1, seed=8)
        np.testing.assert_array_equal(single.traces, one.traces[0])
        assert single.truth.terminal_latency_index == one.truth.terminal_latency_index[0]

    def test_fresh_seed_is_recorded(self):
        a = simulate_nerve()
        assert a.parameters["seed"] is None and isinstance(a.parameters["seed_used"], int)
        b = simulate_nerve(seed=a.parameters["seed_used"])
        np.testing.assert_array_equal(a.traces, b.traces)

    def test_generator_and_seed_sequence(self):
        a = simulate_nerve(seed=np.random.default_rng(5))
        b = simulate_nerve(seed=np.random.SeedSequence(5))
        np.testing.assert_array_equal(a.traces, b.traces)


class TestTruth:
    def test_matches_brute_force_on_noiseless_traces(self):
        sim = simulate_nerve((70.0, 250.0), n_nerves=3, cv_sd_m_s=8.0, seed=21,
                             sampling_rate_hz=10000.0)
        for i in range(3):
            for k in range(2):
                v = sim.noiseless[i, k]
                ref = _brute_force_truth(v, sim.sampling_rate_hz, sim.stimulus_sample)
                t = {f: getattr(sim.truth, f)[i, k] for f in PER_SITE}
                assert t["onset_latency_ms"] == pytest.approx(ref["onset_latency_ms"], abs=1e-9)
                for name in ("negative_peak_duration_ms", "cmap_duration_ms"):
                    assert t[name] == pytest.approx(ref[name], abs=1e-9)
                assert t["negative_peak_area_mv_ms"] == pytest.approx(
                    ref["negative_peak_area_mv_ms"], rel=1e-6)
                # parabolic peak: at least as deep as the deepest sample, barely deeper
                amp = t["negative_peak_amplitude_mv"]
                assert -ref["min_sample_mv"] <= amp <= -ref["min_sample_mv"] * 1.001
                peak_sample = _ms_to_sample(sim, t["negative_peak_latency_ms"])
                assert abs(peak_sample - np.argmin(v)) <= 0.5
                after = v[np.argmin(v):]
                assert t["peak_to_peak_amplitude_mv"] >= after.max() - v.min()

    def test_noiseless_baseline_is_exactly_zero_before_the_response(self):
        sim = simulate_nerve(n_nerves=5, seed=2)
        onset_sample = _ms_to_sample(sim, sim.truth.onset_latency_ms)
        first_nonzero = (sim.noiseless != 0).argmax(axis=-1)
        # the take-off is smooth: the first unit starts shortly before the 20 uV onset ...
        lead_ms = (onset_sample - first_nonzero) * 1000.0 / sim.sampling_rate_hz
        assert np.all((lead_ms > 0) & (lead_ms < 1.0))
        # ... and every sample before it is exactly 0 (no FFT round-off), as is the sweep end
        n = np.arange(sim.noiseless.shape[-1])
        before = n[None, None, :] < first_nonzero[..., None]
        assert np.all(sim.noiseless[before] == 0.0) and before[..., 100:].any()
        assert np.all(sim.noiseless[..., -200:] == 0.0)
        support = sim.noiseless != 0  # one contiguous response per trace
        assert np.all(np.diff(support.astype(int), axis=-1).clip(min=0).sum(axis=-1) == 1)

    def test_distal_amplitude_is_met_and_reported(self):
        sim = simulate_nerve(n_nerves=4, distal_amplitude_mv=0.8, seed=4)
        np.testing.assert_allclose(sim.truth.negative_peak_amplitude_mv[:, 0], 0.8, rtol=1e-9)
        assert np.all(sim.truth.negative_peak_amplitude_mv[:, 1] < 0.8)

    def test_fractional_latencies_are_honoured(self):
        """The same population sampled at 10 and 20 kHz gives the same truth latencies."""
        fast = simulate_nerve(n_nerves=5, seed=6, sampling_rate_hz=20000.0)
        slow = simulate_nerve(n_nerves=5, seed=6, sampling_rate_hz=10000.0)
        # rounding the unit latencies to samples would err by up to 0.05 ms at 10 kHz
        np.testing.assert_allclose(slow.truth.onset_latency_ms, fast.truth.onset_latency_ms,
                                   atol=0.02)
        np.testing.assert_allclose(slow.truth.negative_peak_latency_ms,
                                   fast.truth.negative_peak_latency_ms, atol=0.02)
        np.testing.assert_allclose(slow.truth.negative_peak_amplitude_mv,
                                   fast.truth.negative_peak_amplitude_mv, rtol=0.005)

    def test_default_median_physiology(self):
        t = simulate_nerve(n_nerves=20, seed=7).truth
        assert 3.2 < np.median(t.onset_latency_ms[:, 0]) < 4.0
        assert 4.5 < np.median(t.negative_peak_duration_ms[:, 0]) < 6.5
        assert np.all(t.cmap_duration_ms >= t.negative_peak_duration_ms - 1e-12)
        ratio = t.segment_conduction_velocity_m_s[:, 0] / t.segment_fastest_cv_m_s[:, 0]
        assert 0.85 < np.median(ratio) < 1.0  # onset CV a few % below the fastest unit
        np.testing.assert_array_equal(t.segment_fastest_cv_m_s[:, 0], t.fastest_cv_m_s)
        amp_drop = 1 - t.negative_peak_amplitude_mv[:, 1] / t.negative_peak_amplitude_mv[:, 0]
        assert np.all((amp_drop > 0) & (amp_drop < 0.15))  # normal: no CB-like drop
        tli = t.terminal_latency_index
        np.testing.assert_allclose(
            tli, 70.0 / (t.segment_conduction_velocity_m_s[:, 0] * t.onset_latency_ms[:, 0]))
        assert 0.30 <= np.median(tli) <= 0.45 and np.all((tli > 0.25) & (tli < 0.45))

    def test_distal_slowing_gives_low_tli(self):
        t = simulate_nerve(n_nerves=10, distal_slowing=2.5, seed=7).truth
        assert np.all(t.terminal_latency_index < 0.25)
        assert np.all(t.onset_latency_ms[:, 0] > 6.0)

    def test_segment_slowing_halves_the_velocity(self):
        kw = {"distances_mm": (70.0, 200.0, 150.0), "n_nerves": 6, "seed": 9}
        base = simulate_nerve(**kw).truth
        slow = simulate_nerve(segment_slowing={2: 2.0}, **kw).truth
        np.testing.assert_array_equal(slow.segment_conduction_velocity_m_s[:, 0],
                                      base.segment_conduction_velocity_m_s[:, 0])
        ratio = slow.segment_conduction_velocity_m_s[:, 1] / base.segment_conduction_velocity_m_s[:, 1]
        np.testing.assert_allclose(ratio, 0.5, atol=0.08)
        np.testing.assert_allclose(slow.segment_fastest_cv_m_s[:, 1],
                                   base.segment_fastest_cv_m_s[:, 1] / 2.0)


class TestBlockAndDispersion:
    def test_half_block_halves_units_and_area(self):
        t = simulate_nerve(n_nerves=10, cv_sd_m_s=2.0, block={1: 0.5}, seed=12).truth
        np.testing.assert_array_equal(t.n_units_present, [[150, 75]] * 10)
        area_ratio = t.negative_peak_area_mv_ms[:, 1] / t.negative_peak_area_mv_ms[:, 0]
        assert np.all((area_ratio > 0.3) & (area_ratio < 0.7))
        assert abs(np.mean(area_ratio) - 0.5) < 0.1
        dur_ratio = t.negative_peak_duration_ms[:, 1] / t.negative_peak_duration_ms[:, 0]
        assert np.all(dur_ratio < 1.15)  # block, not dispersion

    def test_blocks_compound_along_the_nerve(self):
        t = simulate_nerve((70.0, 200.0, 100.0), block={1: 0.2, 2: 0.5}, seed=1).truth
        np.testing.assert_array_equal(t.n_units_present, [150, 120, 60])

    def test_dispersion_without_block(self):
        t = simulate_nerve((70.0, 300.0), n_nerves=20, cv_sd_m_s=10.0, seed=13).truth
        np.testing.assert_array_equal(t.n_units_present, [[150, 150]] * 20)
        for name in ("negative_peak_duration_ms", "cmap_duration_ms"):
            increase = getattr(t, name)[:, 1] / getattr(t, name)[:, 0] - 1.0
            assert np.median(increase) > 0.30, name
        amp_drop = 1 - t.negative_peak_amplitude_mv[:, 1] / t.negative_peak_amplitude_mv[:, 0]
        area_drop = 1 - t.negative_peak_area_mv_ms[:, 1] / t.negative_peak_area_mv_ms[:, 0]
        assert np.median(amp_drop) > 0.2  # phase cancellation ...
        assert np.all(area_drop < amp_drop)  # ... costs amplitude more than area

    def test_all_blocked_is_absent(self):
        sim = simulate_nerve((70.0, 200.0, 100.0), n_nerves=2, block={1: 1.0}, seed=14)
        t = sim.truth
        np.testing.assert_array_equal(t.present, [[True, False, False]] * 2)
        np.testing.assert_array_equal(t.n_units_present, [[150, 0, 0]] * 2)
        for name in PER_SITE[1:-2]:
            values = getattr(t, name)
            assert np.all(np.isnan(values[:, 1:])) and np.all(np.isfinite(values[:, 0])), name
        assert np.all(np.isnan(t.segment_conduction_velocity_m_s))
        assert np.all(np.isnan(t.terminal_latency_index))
        assert np.all(sim.noiseless[:, 1:] == 0.0)

    def test_response_beyond_the_sweep_is_absent_not_zero(self):
        # the proximal response starts ~60 ms after the stimulus: outside a 40 ms sweep
        t = simulate_nerve((70.0, 200.0), segment_slowing={1: 18.0}, sweep_ms=40.0,
                           seed=15).truth
        assert t.present[0] and not t.present[1]
        assert np.isnan(t.negative_peak_amplitude_mv[1]) and t.n_units_present[1] == 150


class TestRecording:
    def test_noise_rms(self):
        sim = simulate_nerve(n_nerves=20, noise_uv_rms=25.0, artifact_mv=0.0, seed=16)
        baseline = sim.traces[..., : sim.stimulus_sample]
        assert np.std(baseline) * 1000.0 == pytest.approx(25.0, rel=0.03)
        assert abs(np.mean(baseline)) < 0.002

    def test_noiseless_and_traces_differ_only_by_the_recording(self):
        sim = simulate_nerve(n_nerves=2, noise_uv_rms=0.0, artifact_mv=0.0, seed=17)
        np.testing.assert_array_equal(sim.traces, sim.noiseless)

    def test_artifact_is_only_in_traces_and_decays(self):
        sim = simulate_nerve(n_nerves=30, noise_uv_rms=0.0, artifact_mv=3.0, seed=18)
        artifact = sim.traces - sim.noiseless
        stim = sim.stimulus_sample
        assert np.all(artifact[..., :stim] == 0.0)
        np.testing.assert_allclose(np.abs(artifact[..., stim]), 3.0)
        signs = np.sign(artifact[:, 0, stim])
        assert (signs > 0).any() and (signs < 0).any()  # random polarity
        after = sim.time_ms >= 1.5
        assert np.abs(artifact[..., after]).max() < 0.010  # below a default noise level
        # biphasic: the opposite phase follows within 0.5 ms
        early = artifact[..., stim:stim + 10] * signs[:, None, None]
        assert early.min() < -0.3 * 3.0
        # at default settings the artifact is over before the fastest CMAP onset
        assert sim.truth.onset_latency_ms.min() > 1.5
        assert np.all(sim.noiseless[..., : stim + 1] == 0.0)

    def test_hum_and_drift(self):
        hum = simulate_nerve(noise_uv_rms=0.0, artifact_mv=0.0, hum_uv=200.0, hum_hz=60.0,
                             seed=19)
        x = hum.traces - hum.noiseless
        assert np.abs(x).max() == pytest.approx(0.2, rel=0.01)
        spectrum = np.abs(np.fft.rfft(x[0], n=20000))  # 1 Hz bins
        assert np.argmax(spectrum) == 60
        drift = simulate_nerve(n_nerves=3, noise_uv_rms=0.0, artifact_mv=0.0, drift_uv=150.0,
                               seed=19)
        d = drift.traces - drift.noiseless
        np.testing.assert_allclose(np.abs(d).max(axis=-1), 0.15)
        assert np.abs(np.diff(d, axis=-1)).max() < 0.15 / 50  # slow

    def test_clipping(self):
        sim = simulate_nerve(n_nerves=2, clip_mv=2.0, seed=20)
        assert sim.traces.max() <= 2.0 and sim.traces.min() >= -2.0
        assert np.sum(sim.traces == -2.0) > 10  # the 8 mV negative peak hits the rail
        assert sim.noiseless.min() < -7.9  # the truth is not clipped
        assert sim.truth.negative_peak_amplitude_mv[0, 0] == pytest.approx(8.0)

    def test_low_frequency_filter(self):
        plain = simulate_nerve(n_nerves=3, seed=22)
        filtered = simulate_nerve(n_nerves=3, seed=22, low_frequency_filter_hz=10.0)
        assert not np.array_equal(plain.noiseless, filtered.noiseless)
        assert np.all(filtered.noiseless[..., : filtered.stimulus_sample + 40] == 0.0)
        np.testing.assert_allclose(filtered.truth.negative_peak_amplitude_mv[:, 0], 8.0)
        # a high-pass shortens the negative phase and leaves a slow tail after the response,
        # opposite in sign to the response's net (negative) area
        assert np.all(filtered.truth.negative_peak_duration_ms
                      < plain.truth.negative_peak_duration_ms)
        assert np.all(plain.noiseless[..., -1] == 0.0) and np.all(plain.noiseless.sum(-1) < 0)
        assert np.all(filtered.noiseless[..., -1] > 0.0)
        np.testing.assert_allclose(filtered.truth.onset_latency_ms, plain.truth.onset_latency_ms,
                                   atol=0.02)


class TestToStudies:
    def test_to_studies(self):
        from nerveconduct.model import NerveStudy

        sim = simulate_nerve((70.0, 230.0), n_nerves=3, low_frequency_filter_hz=2.0, seed=23)
        studies = sim.to_studies()
        assert len(studies) == 3 and all(isinstance(s, NerveStudy) for s in studies)
        s = studies[1]
        assert [(x.name, x.distance_mm) for x in s.sites] == [("wrist", 70.0), ("elbow", 230.0)]
        np.testing.assert_array_equal(s.traces, sim.traces[1])
        assert s.stimulus_sample == sim.stimulus_sample and s.sampling_rate_hz == 20000.0
        assert s.low_frequency_filter_hz == 2.0 and s.polarity == "physical"
        assert (s.nerve, s.side, s.muscle) == ("median", "right", "APB")
        assert [x.study_id for x in studies] == ["sim-23-0", "sim-23-1", "sim-23-2"]
        assert len(simulate_nerve(seed=1).to_studies()) == 1


BAD_ARGUMENTS = [
    ({"distances_mm": (70.0, -5.0)}, "distances_mm"),
    ({"distances_mm": ()}, "distances_mm"),
    ({"block": {1: 1.5}}, r"block\[1\]"),
    ({"block": {2: 0.5}}, "block has segment index 2"),
    ({"block": {0: 0.5}}, "block has segment index 0"),
    ({"segment_slowing": {1: 0.5}}, r"segment_slowing\[1\]"),
    ({"distal_slowing": 0.9}, "distal_slowing"),
    ({"sampling_rate_hz": 0.0}, "sampling_rate_hz"),
    ({"sweep_ms": 10.0}, "sweep_ms=10.0 .* too short"),
    ({"n_nerves": 0}, "n_nerves"),
    ({"n_units": 0}, "n_units"),
    ({"n_units": 2.5}, "n_units"),
    ({"cv_mean_m_s": 12.0}, "cv_mean_m_s"),
    ({"cv_sd_m_s": -1.0}, "cv_sd_m_s"),
    ({"distal_amplitude_mv": 0.0}, "distal_amplitude_mv"),
    ({"noise_uv_rms": -1.0}, "noise_uv_rms"),
    ({"noise_uv_rms": float("nan")}, "noise_uv_rms"),
    ({"hum_hz": 20000.0}, "hum_hz"),
    ({"clip_mv": 0.0}, "clip_mv"),
    ({"low_frequency_filter_hz": -2.0}, "low_frequency_filter_hz"),
    ({"dtype": "int16"}, "dtype"),
    ({"site_names": ("wrist",)}, "site_names"),
    ({"nerve": ""}, "nerve"),
    ({"seed": -1}, "seed"),
    ({"seed": "abc"}, "seed"),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_ARGUMENTS)
def test_argument_errors_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_nerve(**kwargs)


def test_error_echoes_the_value_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"block\[1\] must be a finite number in \[0, 1\], got 1.5"):
        simulate_nerve(block={1: 1.5})
    with pytest.raises(ValueError, match=r"segments are 1\.\.1"):
        simulate_nerve(block={3: 0.5})


def test_hundred_thousand_traces_path_is_vectorized():
    """10^4 traces must take well under a second per 10^3 (a per-unit loop would not)."""
    start = time.perf_counter()
    sim = simulate_nerve(n_nerves=5000, seed=24)
    elapsed = time.perf_counter() - start
    assert sim.traces.shape == (5000, 2, 1000) and np.all(sim.truth.present)
    assert elapsed < 15.0
