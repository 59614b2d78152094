"""Segment analysis against the simulator's noiseless truth (20 kHz, 10 µV RMS noise).

Truth for CV is the segment distance over the difference of the reference onsets (the 20 µV
departure of the noiseless CMAP), as the issue defines it; TLI truth uses the same onsets.
Tolerances (issue "Nerve model and segment analysis"):

- CV |error|: median <= 1.5 %, p95 <= 4 % for segments >= 200 mm;
  median <= 3 %, p95 <= 8 % for 100 mm segments;
- TLI |error|: median <= 0.01, p95 <= 0.02;
- area drop within 3 percentage points of truth for block 0-80 % and CV SD 3-10 m/s;
- an absent proximal response is "absent", never a 100 % drop with a number attached.
"""

import math

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve, analyze_nerves
from nerveconduct.simulate.nerve import simulate_nerve

N_NERVES = 300


def _run(distances, names, **kw):
    sim = simulate_nerve(distances, site_names=names, n_nerves=kw.pop("n_nerves", N_NERVES),
                         noise_uv_rms=10.0, sampling_rate_hz=20000.0, **kw)
    return sim, analyze_nerves(sim.to_studies())


@pytest.fixture(scope="module")
def forearm_and_short():
    # wrist -> elbow 230 mm (long) then elbow -> above 100 mm (short); amplitudes 1-10 mV
    sims, results = [], []
    for amp, seed in ((1.5, 11), (5.0, 12), (10.0, 13)):
        sim, res = _run((70.0, 230.0, 100.0), ("wrist", "elbow", "axilla"),
                        distal_amplitude_mv=amp, seed=seed, n_nerves=N_NERVES // 3)
        sims.append(sim)
        results.extend(res)
    truth_cv = np.concatenate([s.truth.segment_conduction_velocity_m_s for s in sims])
    truth_tli = np.concatenate([s.truth.terminal_latency_index for s in sims])
    return results, truth_cv, truth_tli


def _pct_err(measured, truth):
    return np.abs(measured / truth - 1.0) * 100.0


class TestConductionVelocityAccuracy:
    def test_cv_long_segment_median_1p5_p95_4pct(self, forearm_and_short):
        results, truth_cv, _ = forearm_and_short
        cv = np.array([r.segments[0].conduction_velocity_m_s for r in results])
        err = _pct_err(cv, truth_cv[:, 0])
        assert np.median(err) <= 1.5, np.median(err)
        assert np.percentile(err, 95) <= 4.0, np.percentile(err, 95)

    def test_cv_100mm_segment_median_3_p95_8pct(self, forearm_and_short):
        results, truth_cv, _ = forearm_and_short
        cv = np.array([r.segments[1].conduction_velocity_m_s for r in results])
        err = _pct_err(cv, truth_cv[:, 1])
        assert np.median(err) <= 3.0, np.median(err)
        assert np.percentile(err, 95) <= 8.0, np.percentile(err, 95)

    def test_onset_cv_runs_below_fastest_unit(self):
        sim, results = _run((70.0, 250.0), ("wrist", "elbow"), seed=5, n_nerves=60)
        cv = np.array([r.segments[0].conduction_velocity_m_s for r in results])
        fastest = np.asarray(sim.truth.fastest_cv_m_s)
        truth_cv = sim.truth.segment_conduction_velocity_m_s[:, 0]
        # documented: onset-based CV runs a few % below the single fastest unit's CV (the
        # truth never exceeds it; a measured value may, by its measurement error)
        assert np.all(truth_cv <= fastest * (1 + 1e-9))
        assert 0.01 < np.median(1 - truth_cv / fastest) < 0.15
        assert 0.01 < np.median(1 - cv / fastest) < 0.15


class TestTerminalLatencyIndexAccuracy:
    def test_tli_median_0p01_p95_0p02(self, forearm_and_short):
        results, _, truth_tli = forearm_and_short
        tli = np.array([r.terminal_latency_index for r in results])
        err = np.abs(tli - truth_tli)
        assert np.median(err) <= 0.01, np.median(err)
        assert np.percentile(err, 95) <= 0.02, np.percentile(err, 95)

    def test_anti_mag_distal_slowing_gives_low_tli(self):
        sim, results = _run((70.0, 230.0), ("wrist", "elbow"), distal_slowing=2.5, seed=7, n_nerves=30)
        tli = np.array([r.terminal_latency_index for r in results])
        assert np.all(tli < 0.25)
        np.testing.assert_allclose(tli, sim.truth.terminal_latency_index, atol=0.02)


class TestAreaDropAccuracy:
    @pytest.mark.parametrize("block", [0.0, 0.2, 0.5, 0.8])
    @pytest.mark.parametrize("cv_sd", [3.0, 10.0])
    def test_area_drop_within_3_points(self, block, cv_sd):
        sim, results = _run((70.0, 250.0), ("wrist", "elbow"), block={1: block} if block else None,
                            cv_sd_m_s=cv_sd, seed=int(100 * block + cv_sd), n_nerves=30)
        area = sim.truth.negative_peak_area_mv_ms
        truth_drop = 100.0 * (1.0 - area[:, 1] / area[:, 0])
        drop = np.array([r.segments[0].area_drop_pct for r in results])
        assert np.max(np.abs(drop - truth_drop)) <= 3.0, np.abs(drop - truth_drop).max()


class TestAbsentAndConsistency:
    def test_absent_proximal_is_absent(self):
        sim, results = _run((70.0, 230.0), ("wrist", "elbow"), block={1: 1.0}, seed=3, n_nerves=10)
        for r in results:
            seg = r.segments[0]
            assert seg.proximal_absent
            assert math.isnan(seg.amplitude_drop_pct) and math.isnan(seg.area_drop_pct)
            assert "absent proximal response" in seg.flags
            assert not r.sites[1].present and math.isnan(r.sites[1].negative_peak_amplitude_mv)

    def test_many_nerves_equal_one_by_one(self):
        sim = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), n_nerves=4, seed=9)
        studies = sim.to_studies()
        together = analyze_nerves(studies)
        for st, r in zip(studies, together):
            alone = analyze_nerve(st)
            assert alone.segments[0].conduction_velocity_m_s == r.segments[0].conduction_velocity_m_s
            assert alone.terminal_latency_index == r.terminal_latency_index
