"""Segment analysis on hand-computed values (analyze_values): CV, drops, dispersion, TLI."""

import math

import numpy as np
import pytest

from nerveconduct.limits import LimitRow, NormalLimits
from nerveconduct.model import Site
from nerveconduct.analysis.segments import segment_table
from nerveconduct.analysis import analyze_values


def _median():
    return analyze_values(
        "median", [Site("wrist", 70.0), Site("elbow", 220.0)], [4.1, 9.1], [6.0, 5.4],
        negative_peak_area_mv_ms=[20.0, 10.0], negative_peak_duration_ms=[5.0, 6.5],
        cmap_duration_ms=[6.0, 9.0], side="right", muscle="APB")


def _ulnar(**kw):
    onsets = kw.pop("onsets", [3.0, 7.0, 9.0])
    amps = kw.pop("amps", [8.0, 6.0, 3.0])
    return analyze_values(
        "ulnar", [Site("wrist", 70.0), Site("below elbow", 200.0), Site("above elbow", 100.0)],
        onsets, amps, negative_peak_area_mv_ms=[24.0, 18.0, 6.0], **kw)


class TestAnalyzeValues:
    def test_cocito_example_cv_tli_residual(self):
        # docs/criteria.md: TLI = 70 / (44 x 4.1) = 0.388 (Cocito 2001)
        r = _median()
        seg = r.segments[0]
        assert seg.conduction_velocity_m_s == pytest.approx(220.0 / 5.0)
        assert r.terminal_latency_index == pytest.approx(70.0 / (44.0 * 4.1))
        assert round(r.terminal_latency_index, 3) == 0.388
        assert r.residual_latency_ms == pytest.approx(4.1 - 70.0 / 44.0)
        assert r.distal_motor_latency_ms == 4.1

    def test_drops_and_duration_increase(self):
        seg = _median().segments[0]
        assert seg.amplitude_drop_pct == pytest.approx(10.0)
        assert seg.area_drop_pct == pytest.approx(50.0)
        assert seg.duration_increase_pct == pytest.approx(30.0)
        assert seg.cmap_duration_increase_pct == pytest.approx(50.0)
        assert seg.flags == ()

    def test_segment_and_from_distal_values(self):
        r = _ulnar()
        s1, s2 = r.segments
        assert s1.conduction_velocity_m_s == pytest.approx(50.0)
        assert s2.conduction_velocity_m_s == pytest.approx(50.0)
        assert s2.conduction_velocity_from_distal_m_s == pytest.approx(300.0 / 6.0)
        assert s1.amplitude_drop_pct == pytest.approx(25.0)
        assert s2.amplitude_drop_pct == pytest.approx(50.0)
        assert s2.amplitude_drop_from_distal_pct == pytest.approx(62.5)
        assert s2.area_drop_pct == pytest.approx(100 * (1 - 6 / 18))
        assert s2.area_drop_from_distal_pct == pytest.approx(75.0)
        assert r.sites[2].cumulative_distance_mm == 370.0
        assert s2.name == "below elbow\u2013above elbow"

    def test_entrapment_and_erbs_point(self):
        r = _ulnar()
        assert not r.segments[0].across_entrapment_site
        assert r.segments[1].across_entrapment_site
        assert r.segments[1].entrapment_site == "ulnar across the elbow"
        erb = analyze_values("median", [Site("wrist", 70), Site("elbow", 220), Site("Erb", 300)],
                             [3.5, 7.5, 13.5], [8, 7.8, 4])
        assert erb.segments[1].from_erbs_point and not erb.segments[0].from_erbs_point
        # slowest CV for the limits comparison skips the Erb's point segment (300/6 = 50 vs 55)
        assert erb.limits["conduction_velocity"].value == pytest.approx(55.0)

    def test_absent_proximal_is_absent_not_a_number(self):
        r = _ulnar(onsets=[3.0, 7.0, None], amps=[8.0, 6.0, 0.0])
        seg = r.segments[1]
        assert seg.proximal_absent and not seg.distal_absent
        assert math.isnan(seg.amplitude_drop_pct) and math.isnan(seg.area_drop_pct)
        assert math.isnan(seg.conduction_velocity_m_s)
        assert "absent proximal response" in seg.flags
        assert not r.sites[2].present

    def test_proximal_latency_not_after_distal(self):
        r = _ulnar(onsets=[3.0, 7.0, 6.5])
        assert math.isnan(r.segments[1].conduction_velocity_m_s)
        assert "proximal latency not after distal" in r.segments[1].flags

    def test_unknown_distance_flags_not_guesses(self):
        r = analyze_values("median", [Site("wrist", None), Site("elbow", None)], [4.0, 8.0], [6, 6])
        assert math.isnan(r.segments[0].conduction_velocity_m_s)
        assert math.isnan(r.terminal_latency_index)
        assert any("distance(s) unknown" in f for f in r.flags)
        assert any("segment distance unknown" in f for f in r.segments[0].flags)
        assert r.sites[0].cumulative_distance_mm is None

    def test_implausible_cv_flagged(self):
        r = analyze_values("median", [Site("wrist", 70), Site("elbow", 2200)], [4.0, 9.0], [6, 6])
        assert r.segments[0].conduction_velocity_m_s == pytest.approx(440.0)
        assert any("outside 10-120 m/s" in f for f in r.segments[0].flags)

    def test_limits_comparisons(self):
        r = _median()
        dml = r.limits["distal_motor_latency"]
        assert dml.limit == 4.4 and dml.pct_of_limit == pytest.approx(100 * 4.1 / 4.4)
        assert dml.abnormal is False
        amp = r.limits["distal_amplitude"]
        assert amp.pct_of_limit == pytest.approx(150.0) and amp.abnormal is False
        cv = r.limits["conduction_velocity"]
        assert cv.value == pytest.approx(44.0) and cv.abnormal is True
        f = r.limits["f_wave_latency"]
        assert f.pct_of_limit is None and "not available" in f.reason

    def test_missing_limits_give_none_with_reason(self):
        r = analyze_values("radial", [Site("forearm", 60), Site("elbow", 120)], [2.4, 5.0], [5, 5])
        assert all(c.pct_of_limit is None for c in r.limits.values())
        assert "no normal limits for nerve 'radial'" in r.limits["distal_amplitude"].reason
        lab = NormalLimits([LimitRow("median", amplitude_lln_mv=5.0)], name="lab", citation="x")
        r2 = analyze_values("median", [Site("wrist", 70)], [4.0], [6.0], limits=lab)
        assert r2.limits["distal_amplitude"].pct_of_limit == pytest.approx(120.0)
        assert "no ULN for distal motor latency" in r2.limits["distal_motor_latency"].reason

    def test_unknown_names_reported(self):
        r = analyze_values("saphenous-ish", [Site("somewhere", 70), Site("elbow", 200)], [3, 7], [5, 5])
        assert r.nerve == "saphenous-ish" and not r.known_nerve
        assert any("unknown nerve name" in f for f in r.flags)
        assert any("unknown site name(s) ['somewhere']" in f for f in r.flags)

    def test_cool_limb_and_distal_distance_flags(self):
        r = analyze_values("median", [Site("wrist", 90), Site("elbow", 200)], [4.0, 8.0], [6, 6],
                           temperature_c=29.0)
        assert any("temperature 29 °C is low" in f for f in r.flags)
        assert any("distal distance 90 mm differs from the 70 mm" in f for f in r.flags)

    def test_raises_value_count(self):
        with pytest.raises(ValueError, match=r"onset_latency_ms must give one value per site \(2 sites\), got 3"):
            analyze_values("median", [Site("wrist", 70), Site("elbow", 200)], [1, 2, 3], [5, 5])
        with pytest.raises(ValueError, match="sites must be a non-empty sequence of Site"):
            analyze_values("median", [], [], [])


class TestSegmentTable:
    def test_many_nerves_in_one_array_pass(self):
        # two nerves, 3 + 2 sites, flat rows: values computed without a per-nerve loop
        site = {
            "onset_latency_ms": np.array([3.0, 7.0, 9.0, 4.0, 8.0]),
            "negative_peak_amplitude_mv": np.array([8.0, 6.0, 3.0, 5.0, 2.5]),
            "present": np.ones(5, bool), "flags": np.zeros(5, int),
        }
        out = segment_table(site, np.array([0, 1, 2, 0, 1]), np.array([70, 200, 100, 80, 240.0]))
        np.testing.assert_allclose(out["conduction_velocity_m_s"], [np.nan, 50, 50, np.nan, 60])
        np.testing.assert_allclose(out["amplitude_drop_pct"], [np.nan, 25, 50, np.nan, 50])
        np.testing.assert_allclose(out["cumulative_distance_mm"], [70, 270, 370, 80, 320])
        np.testing.assert_allclose(out["terminal_latency_index"],
                                   [70 / (50 * 3), np.nan, np.nan, 80 / (60 * 4), np.nan])
