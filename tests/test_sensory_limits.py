"""Sensory normal limits: the default table, the comparisons at their thresholds, lab files.

Threshold tests follow the default table's items (Preston & Shapiro appendix, antidromic
sensory values): each limit is tested at the limit (normal), just beyond it (abnormal) and
just inside it (normal), on noiseless simulated SNAPs whose measured value is set exactly:
the amplitude by the simulator's ``amplitude_uv``, the CV by the distance, the peak latency
by the sampling rate declared (times scale with it).
"""

from __future__ import annotations

import math

import pytest

from nerveconduct.analysis import analyze_sensory
from nerveconduct.limits import (DEFAULT_SENSORY_LIMITS_CITATION, LimitsFileError, NormalLimits,
                                 SensoryLimitRow, SensoryLimits)
from nerveconduct.measure.snap import measure_snap
from nerveconduct.model import SensoryStudy, Site
from nerveconduct.simulate.sensory import simulate_snap

FS = 20000.0


def _snap(amplitude_uv=30.0):
    return simulate_snap(130.0, amplitude_uv=amplitude_uv, noise_uv_rms=0.0, artifact_mv=0.0, seed=1)


def _judge(traces, distance_mm=130.0, fs=FS, nerve="median", direction="antidromic",
           limits=None, **kw):
    study = SensoryStudy(nerve, "right", [Site("wrist", distance_mm)], traces[None, :], fs,
                         stimulus_sample=40, direction=direction, **kw)
    return analyze_sensory([study], limits=limits)[0]


class TestDefaultTable:
    @pytest.mark.parametrize("nerve, amp, cv, peak, dist, confidence", [
        ("median", 20.0, 50.0, 3.5, 130.0, "secondary"),
        ("ulnar", 17.0, 50.0, 3.1, 110.0, "secondary"),
        ("radial", 15.0, 50.0, 2.9, 100.0, "secondary"),
        ("sural", 6.0, 40.0, 4.4, 140.0, "recalled"),
        ("superficial peroneal", 6.0, 40.0, 4.4, 120.0, "recalled"),
    ])
    def test_preston_shapiro_antidromic_values(self, nerve, amp, cv, peak, dist, confidence):
        row = SensoryLimits.default().lookup(nerve, "antidromic")
        assert (row.amplitude_lln_uv, row.cv_lln_m_s, row.peak_latency_uln_ms, row.distance_mm,
                row.confidence) == (amp, cv, peak, dist, confidence)

    def test_citation_names_source_and_confidence(self):
        limits = SensoryLimits.default()
        assert limits.citation == DEFAULT_SENSORY_LIMITS_CITATION
        assert "Preston" in limits.citation and "recalled" in limits.citation

    @pytest.mark.parametrize("age, lln", [(None, 17.0), (59.9, 17.0), (60.0, 10.0), (75.0, 10.0)])
    def test_ulnar_amplitude_over_60_years_footnote(self, age, lln):
        assert SensoryLimits.default().lookup("ulnar", "antidromic", age_years=age).amplitude_lln_uv == lln

    def test_orthodromic_study_gets_no_antidromic_limits(self):
        r = _judge(_snap().traces, direction="orthodromic")
        assert r.abnormal is None and math.isnan(r.amplitude_lln_uv)
        assert any("no orthodromic direction row for the median nerve (only antidromic)" in f
                   for f in r.flags)

    def test_motor_table_unchanged(self):
        assert NormalLimits.default().lookup("sural") is None
        assert NormalLimits.default().lookup("median").amplitude_lln_mv == 4.0


class TestThresholds:
    @pytest.mark.parametrize("amplitude_uv, abnormal", [(20.0, False), (19.9, True), (20.1, False)])
    def test_median_amplitude_lln_20_uv_at_below_above(self, amplitude_uv, abnormal):
        r = _judge(_snap(amplitude_uv).traces)
        assert r.distal_amplitude_uv == pytest.approx(amplitude_uv, rel=1e-9)
        assert r.abnormal is abnormal
        assert ("amplitude below LLN" in r.abnormal_items) is abnormal
        assert r.amplitude_pct_of_lln == pytest.approx(100 * amplitude_uv / 20.0, rel=1e-9)

    @pytest.mark.parametrize("factor, abnormal", [(1.0, False), (0.998, True), (1.002, False)])
    def test_median_cv_lln_50_m_s_at_below_above(self, factor, abnormal):
        sim = _snap()
        onset_ms = float(measure_snap(sim.traces, FS, stimulus_sample=40).onset_latency_ms)
        r = _judge(sim.traces, distance_mm=50.0 * onset_ms * factor)
        assert r.distal_conduction_velocity_m_s == pytest.approx(50.0 * factor, rel=1e-9)
        assert ("CV below LLN" in r.abnormal_items) is abnormal
        assert r.cv_pct_of_lln == pytest.approx(100 * factor, rel=1e-9)

    @pytest.mark.parametrize("peak_ms, abnormal", [(3.5, False), (3.51, True), (3.49, False)])
    def test_median_peak_latency_uln_3_5_ms_at_above_below(self, peak_ms, abnormal):
        sim = _snap()
        peak_at_fs = float(measure_snap(sim.traces, FS, stimulus_sample=40).negative_peak_latency_ms)
        r = _judge(sim.traces, fs=FS * peak_at_fs / peak_ms)  # times scale with 1 / rate
        assert r.distal_peak_latency_ms == pytest.approx(peak_ms, rel=1e-9)
        assert ("peak latency above ULN" in r.abnormal_items) is abnormal

    @pytest.mark.parametrize("distance_mm, compared", [(140.0, True), (120.0, True),
                                                       (140.5, False), (119.0, False)])
    def test_peak_latency_only_at_the_standard_distance_within_10_mm(self, distance_mm, compared):
        r = _judge(_snap().traces, distance_mm=distance_mm)
        assert math.isfinite(r.peak_latency_pct_of_uln) is compared
        assert any("peak latency not compared" in f for f in r.flags) is not compared

    def test_all_three_items_together(self):
        sim = simulate_snap(130.0, amplitude_uv=8.0, cv_mean_m_s=35.0, noise_uv_rms=0.0,
                            artifact_mv=0.0, seed=2)
        r = _judge(sim.traces)
        assert r.abnormal_items == ("amplitude below LLN", "CV below LLN", "peak latency above ULN")


class TestLabFiles:
    def test_csv_with_direction_and_age_band(self, tmp_path):
        p = tmp_path / "sensory.csv"
        p.write_text("nerve,direction,amplitude_lln_uv,cv_lln_m_s,peak_latency_uln_ms,distance_mm,"
                     "age_min_years,confidence\n"
                     "median,orthodromic,10,48,,,,confirmed\nmedian,,15,45,,,60,\n")
        limits = SensoryLimits.from_file(p)
        assert limits.name == "sensory" and limits.citation == "lab limits file sensory.csv"
        assert limits.lookup("median", "orthodromic").amplitude_lln_uv == 10.0
        assert limits.lookup("median", "antidromic") is None  # the generic row needs age >= 60
        assert limits.lookup("median", "antidromic", age_years=70).cv_lln_m_s == 45.0
        r = _judge(_snap(12.0).traces, direction="orthodromic", limits=p)
        assert r.limits_source == "sensory" and r.limits_confidence == "confirmed"
        assert r.abnormal is False and math.isnan(r.peak_latency_pct_of_uln)

    def test_toml(self, tmp_path):
        p = tmp_path / "lab.toml"
        p.write_text('name = "our lab"\ncitation = "Lab X 2025"\n[[limits]]\nnerve = "sural"\n'
                     'amplitude_lln_uv = 4.0\ncv_lln_m_s = 38\n')
        limits = SensoryLimits.from_file(p)
        assert (limits.name, limits.citation) == ("our lab", "Lab X 2025")
        assert limits.lookup("sural", "antidromic").amplitude_lln_uv == 4.0

    @pytest.mark.parametrize("text, message", [
        ("nerve,amplitude_lln_mv\nmedian,4\n", r"line 2: unknown column\(s\) \['amplitude_lln_mv'\]; allowed: "
                                               r"\['nerve', 'direction', 'amplitude_lln_uv'"),
        ("nerve,direction\nmedian,antidromc\n", r"line 2: direction must be one of \['antidromic', "
                                                r"'orthodromic'\] \(any letter case; or empty: either\), got 'antidromc'; "
                                                r"did you mean 'antidromic'\?"),
        ("nerve,confidence\nmedian,sure\n", r"confidence must be one of \['confirmed', 'secondary', 'recalled'\]"),
        ("nerve,cv_lln_m_s\nmedian,-3\n", r"line 2: cv_lln_m_s must be None or a finite number > 0 m/s"),
        ("nerve,amplitude_lln_uv\nsaphenous-x,4\n", r"unknown or missing nerve 'saphenous-x'"),
    ])
    def test_bad_files_are_named_errors(self, tmp_path, text, message):
        p = tmp_path / "bad.csv"
        p.write_text(text)
        with pytest.raises(LimitsFileError, match=message):
            SensoryLimits.from_file(p)

    def test_row_rules(self):
        with pytest.raises(ValueError, match="amplitude_lln_uv must be None or a finite number > 0 uV"):
            SensoryLimitRow("median", amplitude_lln_uv=0.0)
        with pytest.raises(ValueError, match="age_min_years .* must be below age_max_years"):
            SensoryLimitRow("median", age_min_years=60, age_max_years=40)

    def test_wrong_limits_type(self):
        with pytest.raises(TypeError, match="limits must be a SensoryLimits, a path"):
            _judge(_snap().traces, limits=NormalLimits.default())
