"""The sensory core (:func:`nerveconduct.analysis.analyze_sensory`) against the simulator's truth.

Tolerances (absolute errors against :func:`nerveconduct.simulate.sensory.simulate_snap`'s
noiseless truth, same definitions as ``tests/test_measure_snap.py``):

==========================================  ==============  ============  ================
condition                                   onset (ms)      amplitude     distal CV
==========================================  ==============  ============  ================
noiseless, no artifact (20 kHz)             1e-9            1e-9 rel      1e-9 rel
1 uV RMS + 0.5 mV artifact, 20 kHz (300)    med 0.03/p95 0.10  med 2.5/p95 6 %  p95 5 %
4 sweeps of 2 uV RMS averaged (= 1 uV)      as 1 uV RMS
==========================================  ==============  ============  ================

The CV of a segment is checked at a known conduction velocity: every fibre at 55 m/s
(``cv_sd_m_s=0``), the same fibre population at two distances, so the SNAP is the same shape
shifted by segment / CV: the segment CV must be 55 m/s within 0.5 %.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from nerveconduct.analysis import SensoryResult, analyze_sensory, build_sensory_table
from nerveconduct.analysis.sensory import (SENSORY_SITE_FIELDS, SENSORY_STUDY_FIELDS,
                                           SensorySiteResult, sensory_views)
from nerveconduct.flags import MeasureFlag
from nerveconduct.measure.snap import average_sweeps, measure_snap
from nerveconduct.model import InvalidStudyError, SensoryStudy, Site, sensory_study_problems
from nerveconduct.simulate.sensory import simulate_snap

FS = 20000.0


def _study(traces, sites, nerve="median", side="right", **kw):
    return SensoryStudy(nerve, side, sites, traces, FS, stimulus_sample=kw.pop("stim", 40), **kw)


def _one(distance_mm=130.0, **sim_kw):
    sim = simulate_snap(distance_mm, **{"noise_uv_rms": 0.0, "artifact_mv": 0.0, "seed": 1, **sim_kw})
    return sim, _study(sim.traces[None, :], [Site("wrist", distance_mm)])


class TestAccuracy:
    def test_noiseless_values_are_the_truth(self):
        sim, study = _one(130.0, amplitude_uv=30.0)
        r = analyze_sensory([study])[0]
        s, t = r.sites[0], sim.truth
        assert s.present and r.distal_present
        for view, truth in (("onset_latency_ms", t.onset_latency_ms),
                            ("negative_peak_latency_ms", t.negative_peak_latency_ms),
                            ("amplitude_uv", t.negative_peak_amplitude_uv),
                            ("peak_to_peak_amplitude_uv", t.peak_to_peak_amplitude_uv)):
            assert getattr(s, view) == pytest.approx(float(truth), rel=1e-9, abs=1e-9), view
        # duration: the truth's return to baseline is sampled, the measure interpolated
        assert s.duration_ms == pytest.approx(float(t.duration_ms), abs=0.06)
        assert s.conduction_velocity_m_s == pytest.approx(130.0 / float(t.onset_latency_ms), rel=1e-9)
        assert r.distal_conduction_velocity_m_s == s.conduction_velocity_m_s

    def test_noisy_batch_within_stated_tolerances(self):
        # the condition of tests/test_measure_snap.py (140 mm, 30 uV, 1 uV RMS, 300 SNAPs)
        sim = simulate_snap(140.0, n_snaps=300, amplitude_uv=30.0, noise_uv_rms=1.0, seed=20010)
        studies = [_study(tr[None, :], [Site("wrist", 140.0)], stim=sim.stimulus_sample)
                   for tr in sim.traces]
        results = analyze_sensory(studies)
        onset = np.array([r.distal_onset_latency_ms for r in results])
        amp = np.array([r.distal_amplitude_uv for r in results])
        cv = np.array([r.distal_conduction_velocity_m_s for r in results])
        e_on = np.abs(onset - sim.truth.onset_latency_ms)
        e_amp = 100 * np.abs(amp - sim.truth.negative_peak_amplitude_uv) / sim.truth.negative_peak_amplitude_uv
        truth_cv = 140.0 / sim.truth.onset_latency_ms
        e_cv = 100 * np.abs(cv - truth_cv) / truth_cv
        print(f"\nonset |error| {np.median(e_on):.3f}/{np.percentile(e_on, 95):.3f} ms; amplitude "
              f"{np.median(e_amp):.2f}/{np.percentile(e_amp, 95):.2f} %; distal CV p95 "
              f"{np.percentile(e_cv, 95):.2f} %")
        assert np.median(e_on) <= 0.03 and np.percentile(e_on, 95) <= 0.10
        assert np.median(e_amp) <= 2.5 and np.percentile(e_amp, 95) <= 6.0
        assert np.percentile(e_cv, 95) <= 5.0

    def test_core_measures_are_measure_snap_values(self):
        sim = simulate_snap(130.0, n_snaps=3, noise_uv_rms=1.0, seed=2)
        r = analyze_sensory([_study(sim.traces, [Site("wrist", 130.0), Site("elbow", 90.0),
                                                 Site("axilla", 80.0)], stim=sim.stimulus_sample)])[0]
        m = measure_snap(sim.traces, FS, stimulus_sample=sim.stimulus_sample)
        np.testing.assert_array_equal([s.onset_latency_ms for s in r.sites], m.onset_latency_ms)
        np.testing.assert_array_equal([s.amplitude_uv for s in r.sites], m.negative_peak_amplitude_uv)
        np.testing.assert_array_equal([s.flags for s in r.sites], m.flags)

    def test_segment_cv_at_known_velocity_within_half_percent(self):
        kw = dict(cv_mean_m_s=55.0, cv_sd_m_s=0.0, noise_uv_rms=0.0, artifact_mv=0.0, seed=11)
        near, far = simulate_snap(130.0, **kw), simulate_snap(230.0, **kw)
        study = _study(np.stack([near.traces, far.traces]), [Site("wrist", 130.0), Site("elbow", 100.0)],
                       stim=near.stimulus_sample)
        r = analyze_sensory([study])[0]
        assert r.sites[1].conduction_velocity_m_s == pytest.approx(55.0, rel=0.005)
        assert r.sites[1].cumulative_distance_mm == 230.0
        # the distal CV (distance / onset) runs a little below the fibres' 55 m/s: the onset is
        # the 2 uV take-off, after the potentials start
        assert 45.0 < r.sites[0].conduction_velocity_m_s < 55.0

    def test_sweeps_are_averaged(self):
        sim = simulate_snap(130.0, n_snaps=4, noise_uv_rms=2.0, cv_sd_m_s=0.0, seed=5)
        # the same SNAP in four sweeps, each with its own noise: replace each population's
        # SNAP by the first's
        sweeps = sim.traces - sim.noiseless + sim.noiseless[0]
        study = _study(sweeps[None, :, :], [Site("wrist", 130.0)], stim=sim.stimulus_sample)
        r = analyze_sensory([study])[0]
        avg = average_sweeps(sweeps, axis=0)
        m = measure_snap(avg, FS, stimulus_sample=sim.stimulus_sample)
        assert r.sites[0].n_sweeps == 4
        assert r.sites[0].amplitude_uv == float(m.negative_peak_amplitude_uv)
        assert r.sites[0].noise_uv == pytest.approx(1.0, rel=0.3)  # 2 uV / sqrt(4)

    def test_negative_up_polarity_gives_the_same_values(self):
        sim, study = _one(130.0)
        flipped = _study(-sim.traces[None, :], [Site("wrist", 130.0)], polarity="negative-up")
        a, b = analyze_sensory([study, flipped])
        assert a.sites[0].amplitude_uv == pytest.approx(b.sites[0].amplitude_uv, rel=1e-12)
        assert a.distal_onset_latency_ms == pytest.approx(b.distal_onset_latency_ms, rel=1e-12)

    def test_studies_of_different_rates_measured_in_one_call(self):
        a = simulate_snap(130.0, seed=1, sampling_rate_hz=20000.0)
        b = simulate_snap(130.0, seed=1, sampling_rate_hz=48000.0)
        sa = _study(a.traces[None], [Site("wrist", 130.0)], stim=a.stimulus_sample)
        sb = SensoryStudy("median", "left", [Site("wrist", 130.0)], b.traces[None], 48000.0,
                          stimulus_sample=b.stimulus_sample)
        ra, rb = analyze_sensory([sa, sb])
        assert ra.distal_onset_latency_ms == pytest.approx(float(a.truth.onset_latency_ms), abs=0.1)
        assert rb.distal_onset_latency_ms == pytest.approx(float(b.truth.onset_latency_ms), abs=0.1)


class TestMissingAndAbsent:
    def test_absent_snap_is_nan_and_abnormal_absent(self):
        sim = simulate_snap(140.0, amplitude_uv=0.0, noise_uv_rms=1.0, seed=4)
        r = analyze_sensory([_study(sim.traces[None], [Site("calf", 140.0)], nerve="sural",
                                    stim=sim.stimulus_sample)])[0]
        s = r.sites[0]
        assert not s.present and s.flags & MeasureFlag.ABSENT
        assert math.isnan(s.amplitude_uv) and math.isnan(s.conduction_velocity_m_s)
        assert r.abnormal is True and r.abnormal_items == ("absent",)
        assert math.isnan(r.amplitude_pct_of_lln)

    def test_missing_distance_gives_nan_cv_and_a_flag(self):
        sim, _ = _one(130.0)
        r = analyze_sensory([_study(np.stack([sim.traces, sim.traces]),
                                    [Site("wrist", None), Site("elbow", 100.0)])])[0]
        assert math.isnan(r.sites[0].conduction_velocity_m_s)
        assert r.sites[0].distance_mm is None and r.sites[1].cumulative_distance_mm is None
        assert any("distance of site 'wrist' not given" in f for f in r.flags)
        # amplitude still compared; the peak latency needs the standard distance
        assert r.abnormal is False and r.amplitude_pct_of_lln > 100
        assert math.isnan(r.peak_latency_pct_of_uln)
        assert any("peak latency not compared" in f for f in r.flags)

    def test_onset_not_later_proximally_gives_no_segment_cv(self):
        sim, _ = _one(130.0)
        r = analyze_sensory([_study(np.stack([sim.traces, sim.traces]),
                                    [Site("wrist", 130.0), Site("elbow", 100.0)])])[0]
        assert math.isnan(r.sites[1].conduction_velocity_m_s)
        assert any("onset at 'elbow' not later than at 'wrist'" in f for f in r.flags)

    def test_unmeasurable_trace_is_not_assessable(self):
        traces = np.full((1, 300), np.nan)
        r = analyze_sensory([_study(traces, [Site("wrist", 130.0)])])[0]
        assert r.abnormal is None and r.abnormal_items == ()
        assert any("not measurable" in f and "UNMEASURABLE" in f for f in r.flags)

    def test_unknown_nerve_is_flagged_not_judged(self):
        sim, _ = _one(130.0)
        r = analyze_sensory([_study(sim.traces[None], [Site("wrist", 130.0)], nerve="saphenous-x")])[0]
        assert r.nerve == "saphenous-x" and not r.known_nerve and r.abnormal is None
        assert r.flags[0] == "unknown nerve name 'saphenous-x': no normal limits"

    def test_low_temperature_flagged(self):
        sim, _ = _one(130.0)
        r = analyze_sensory([_study(sim.traces[None], [Site("wrist", 130.0)], temperature_c=28.0)])[0]
        assert any("limb temperature 28 °C is below 32 °C (arm)" in f for f in r.flags)

    def test_no_studies_no_results(self):
        assert analyze_sensory([]) == []


class TestViewsAreColumns:
    def test_every_view_field_is_a_column_of_the_same_value(self):
        sim = simulate_snap(130.0, n_snaps=2, seed=3)
        absent = simulate_snap(140.0, amplitude_uv=0.0, seed=4)
        table = build_sensory_table([
            _study(sim.traces, [Site("wrist", 130.0), Site("elbow", None)], stim=sim.stimulus_sample,
                   temperature_c=33.0),
            _study(absent.traces[None], [Site("calf", 140.0)], nerve="sural", side=None,
                   stim=absent.stimulus_sample)])
        views = sensory_views(table)
        assert {f.name for f in dataclasses.fields(SensorySiteResult)} == set(SENSORY_SITE_FIELDS)
        assert set(SENSORY_STUDY_FIELDS) | {"sites", "study", "table", "index"} == \
            {f.name for f in dataclasses.fields(SensoryResult)}
        for j, v in enumerate(views):
            for name in SENSORY_STUDY_FIELDS:
                col = table.study[name][j]
                got = getattr(v, name)
                if name == "abnormal":
                    assert got == (None if col < 0 else bool(col == 1))
                elif isinstance(got, float) and math.isnan(got):
                    assert math.isnan(col), name
                elif got is None:
                    assert col is None or math.isnan(col), name
                else:
                    assert got == col, name
            for k, s in enumerate(v.sites):
                row = table.study["first_row"][j] + k
                for name in SENSORY_SITE_FIELDS:
                    col, got = table.site[name][row], getattr(s, name)
                    if got is None:
                        assert col is None or math.isnan(col), name
                    elif isinstance(got, float) and math.isnan(got):
                        assert math.isnan(col), name
                    else:
                        assert got == col, name
            assert v.table is table and v.index == j and v.study is table.studies[j]

    def test_label_is_the_criteria_wording(self):
        sim, _ = _one(130.0)
        a, b = analyze_sensory([_study(sim.traces[None], [Site("wrist", 130.0)], side="Left"),
                                _study(sim.traces[None], [Site("wrist", 130.0)], side=None)])
        assert (a.label, b.label) == ("left median", "median")


class TestValidation:
    def test_every_problem_listed(self):
        with pytest.raises(InvalidStudyError) as err:
            SensoryStudy("", "up", [Site("wrist", -5.0)], np.zeros((2, 100)), 0.0,
                         stimulus_sample=500, direction="sideways", recording_site="  ")
        text = str(err.value)
        for needle in ("nerve must be a non-empty string", "side must be one of ['left', 'right']",
                       "distance_mm must be None or a finite number > 0 mm",
                       "1 sites but 2 traces", "sampling_rate_hz must be",
                       "direction must be one of ['antidromic', 'orthodromic'] (any letter case), got 'sideways'",
                       "recording_site must be a non-empty string or None"):
            assert needle in text, needle

    @pytest.mark.parametrize("traces, needle", [
        (np.zeros(100), "traces must have shape (n_sites, n_samples) or (n_sites, n_sweeps, n_samples)"),
        (np.zeros((1, 0, 100)), "at least one sweep and one sample per site"),
        (np.array([["a"]]), "traces must be a real numeric array"),
    ])
    def test_bad_traces(self, traces, needle):
        problems = sensory_study_problems(nerve="median", side=None, sites=[Site("wrist", 130.0)],
                                          traces=traces, sampling_rate_hz=FS, stimulus_sample=0,
                                          polarity="physical", direction="antidromic")
        assert any(needle in p for p in problems), problems

    def test_study_changed_after_creation_is_refused_by_the_core(self):
        sim, study = _one(130.0)
        study.direction = "antidrome"
        with pytest.raises(InvalidStudyError, match="did you mean 'antidromic'"):
            analyze_sensory([study])

    def test_not_a_sensory_study(self):
        with pytest.raises(TypeError, match=r"studies\[0\] must be a SensoryStudy, got str"):
            analyze_sensory(["median"])

    def test_aliases_and_sweeps_shape(self):
        st = SensoryStudy("superficial_peroneal", "LEFT", [Site("leg", 120.0)],
                          np.zeros((1, 3, 200), dtype=np.float32), FS)
        assert st.canonical_nerve == "superficial fibular" and st.side == "left"
        assert st.n_sweeps == 3 and st.traces.dtype == np.float32


class TestRecords:
    def test_identifiers_only_when_asked(self):
        from nerveconduct.serialize.sensory import render_sensory, sensory_records

        sim, _ = _one(130.0)
        st = _study(sim.traces[None], [Site("wrist", 130.0)],
                    metadata={"patient_name": "Doe^Jane", "patient_id": "123456"})
        table = build_sensory_table([st])
        for kind, fmt in (("record", "jsonl"), ("study", "csv"), ("site", "csv"), ("site", "jsonl")):
            text = "\n".join(render_sensory(table, kind, fmt))
            assert "Doe" not in text and "123456" not in text, (kind, fmt)
        rec = sensory_records(table, keep_identifiers=True)[0]
        assert (rec["patient_name"], rec["patient_id"]) == ("Doe^Jane", "123456")

    def test_csv_rows_have_one_cell_per_column(self):
        import csv
        import io

        from nerveconduct.serialize.sensory import render_sensory, sensory_columns

        sim = simulate_snap(130.0, n_snaps=2, seed=3)
        st = _study(sim.traces, [Site("wrist, digit II", 130.0), Site("elbow", 100.0)],
                    stim=sim.stimulus_sample)
        table = build_sensory_table([st])
        for kind in ("site", "study"):
            rows = list(csv.reader(io.StringIO("\n".join(render_sensory(table, kind, "csv")))))
            assert all(len(r) == len(sensory_columns(kind)) for r in rows), kind
        site_rows = list(csv.DictReader(io.StringIO("\n".join(
            [",".join(sensory_columns("site"))] + render_sensory(table, "site", "csv")))))
        assert site_rows[0]["site"] == "wrist, digit II" and site_rows[1]["position"] == "1"
