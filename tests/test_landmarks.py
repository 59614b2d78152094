"""Hand-set landmarks: the kernel takes them as inputs, the analysis core follows, outputs say so."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve, analyze_nerves, analyze_table
from nerveconduct.criteria import evaluate, evaluate_nerve
from nerveconduct.flags import MeasureFlag as F
from nerveconduct.io import Marker
from nerveconduct.measure import CMAP_MEASURE_FIELDS, measure_cmap
from nerveconduct.serialize.rows import segment_rows, site_columns, site_rows
from nerveconduct.simulate import simulate_nerve

FS = 20000.0
STIM = 100


def _lobe(onset_ms=3.0, width_ms=4.0, amp_mv=5.0, n=1000):
    """A half-sine negative lobe: onset, peak at the middle, end; exact landmarks."""
    t_ms = (np.arange(n) - STIM) / FS * 1000
    inside = (t_ms > onset_ms) & (t_ms < onset_ms + width_ms)
    return np.where(inside, -amp_mv * np.sin(np.pi * (t_ms - onset_ms) / width_ms), 0.0)


# --------------------------------------------------------------------------- the kernel
def test_no_landmarks_and_all_nan_landmarks_change_nothing():
    sim = simulate_nerve((70.0, 200.0, 100.0), n_nerves=8, seed=5)
    plain = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    nan = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample,
                       landmarks={"onset": np.nan, "negative_peak": np.nan, "absent": False})
    for f in CMAP_MEASURE_FIELDS:
        np.testing.assert_array_equal(getattr(plain, f), getattr(nan, f), err_msg=f)


def test_a_hand_set_onset_moves_duration_and_area_by_the_same_formulas():
    x = _lobe()
    det = measure_cmap(x, FS, stimulus_sample=STIM)
    hs = measure_cmap(x, FS, stimulus_sample=STIM, landmarks={"onset": 3.5})
    assert float(hs.onset_latency_ms) == 3.5
    # the end is still detected; the duration runs from the hand-set onset
    assert float(hs.negative_end_latency_ms) == float(det.negative_end_latency_ms)
    assert float(hs.negative_peak_duration_ms) == pytest.approx(float(det.negative_end_latency_ms) - 3.5, abs=1e-12)
    # area from 3.5 ms to the end: the analytic integral of the lobe, 5*4/pi*(1+cos(pi*0.5/4))
    area = 5 * 4 / math.pi * (1 + math.cos(math.pi * 0.5 / 4))
    assert float(hs.negative_peak_area_mv_ms) == pytest.approx(area, rel=2e-4)
    # the peaks are not affected
    assert float(hs.negative_peak_amplitude_mv) == float(det.negative_peak_amplitude_mv)
    assert float(hs.peak_to_peak_amplitude_mv) == float(det.peak_to_peak_amplitude_mv)


def test_a_hand_set_negative_peak_is_the_trace_at_that_time():
    x = _lobe()
    hs = measure_cmap(x, FS, stimulus_sample=STIM, landmarks={"negative_peak": 4.5})
    assert float(hs.negative_peak_latency_ms) == 4.5
    # the lobe at 4.5 ms is 5 sin(pi 1.5/4); linear interpolation between samples 0.05 ms apart
    assert float(hs.negative_peak_amplitude_mv) == pytest.approx(5 * math.sin(math.pi * 1.5 / 4), abs=2e-4)
    # no positive phase: peak-to-peak = the amplitude (the trace returns to 0)
    assert float(hs.peak_to_peak_amplitude_mv) == pytest.approx(float(hs.negative_peak_amplitude_mv), abs=1e-12)
    assert float(hs.onset_latency_ms) == pytest.approx(3.005, abs=0.01)  # still detected


def test_hand_set_end_and_positive_peak():
    x = _lobe() + _lobe(onset_ms=7.0, width_ms=4.0, amp_mv=-2.0)  # a positive lobe after
    det = measure_cmap(x, FS, stimulus_sample=STIM)
    assert float(det.positive_peak_latency_ms) == pytest.approx(9.0, abs=0.01)
    assert float(det.negative_end_latency_ms) == pytest.approx(7.0, abs=0.01)
    hs = measure_cmap(x, FS, stimulus_sample=STIM, landmarks={"negative_end": 6.5, "positive_peak": 10.0})
    assert float(hs.negative_end_latency_ms) == 6.5
    assert float(hs.negative_peak_duration_ms) == pytest.approx(6.5 - float(det.onset_latency_ms), abs=1e-12)
    assert float(hs.cmap_duration_ms) == pytest.approx(6.5 - float(det.onset_latency_ms), abs=1e-12)
    assert float(hs.positive_peak_latency_ms) == 10.0
    # 2 sin(pi 3/4) at 10 ms, plus the 5 mV negative peak
    assert float(hs.peak_to_peak_amplitude_mv) == pytest.approx(5.0 + 2 * math.sin(math.pi * 3 / 4), abs=2e-4)


def test_absent_mask_makes_the_site_absent_and_keeps_baseline_and_noise():
    x = np.stack([_lobe(), _lobe()])
    m = measure_cmap(x, FS, stimulus_sample=STIM, landmarks={"absent": [True, False]})
    assert m.present.tolist() == [False, True]
    assert m.flags[0] == int(F.ABSENT)
    assert np.isnan(m.onset_latency_ms[0]) and np.isnan(m.negative_peak_amplitude_mv[0])
    assert np.isnan(m.onset_alt_latency_ms[0])
    assert m.baseline_mv[0] == 0.0 and m.noise_mv[0] == 0.0


def test_a_landmark_on_a_trace_without_a_response_measures_it_there():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.01, 1000)
    assert not measure_cmap(x, FS, stimulus_sample=STIM).present
    m = measure_cmap(x, FS, stimulus_sample=STIM, landmarks={"onset": 3.0, "negative_peak": 5.0})
    assert bool(m.present) and int(m.flags) & int(F.HAND_SET_RESPONSE)
    assert float(m.onset_latency_ms) == 3.0 and float(m.negative_peak_latency_ms) == 5.0


@pytest.mark.parametrize("landmarks, words", [
    ({"onest": 3.0}, "did you mean 'onset'"),
    ({"onset": -1.0}, ">= 0 ms"),
    ({"onset": np.inf}, "finite"),
])
def test_bad_landmarks_are_refused(landmarks, words):
    with pytest.raises(ValueError) as err:
        measure_cmap(_lobe(), FS, stimulus_sample=STIM, landmarks=landmarks)
    assert words in str(err.value)


# --------------------------------------------------------------------------- landmarks out of order
_ORDER = int(F.LANDMARKS_OUT_OF_ORDER)


def _biphasic():
    """Negative lobe 3-7 ms (peak 5 ms), positive lobe 7-11 ms (peak 9 ms)."""
    return _lobe() + _lobe(onset_ms=7.0, width_ms=4.0, amp_mv=-2.0)


def _order_flagged(landmarks, x=None):
    m = measure_cmap(_biphasic() if x is None else x, FS, stimulus_sample=STIM, landmarks=landmarks)
    return bool(int(m.flags) & _ORDER), m


def test_the_order_flag_is_a_stable_review_bit_not_a_quality_flag():
    from nerveconduct.flags import QUALITY_FLAGS
    assert int(F.LANDMARKS_OUT_OF_ORDER) == 1 << 11
    assert not QUALITY_FLAGS & _ORDER


def test_a_hand_set_onset_at_or_after_the_detected_negative_peak_is_flagged_not_hidden():
    det = measure_cmap(_biphasic(), FS, stimulus_sample=STIM)
    peak = float(det.negative_peak_latency_ms)
    assert peak == pytest.approx(5.0, abs=1e-3) and not int(det.flags) & _ORDER
    assert not _order_flagged({"onset": peak - 0.01})[0]  # just before: a plausible correction
    flagged, m = _order_flagged({"onset": peak + 0.01})  # just after: contradicts it
    assert flagged and bool(m.present)
    # the measures are still taken at the landmarks as given (a review flag hides nothing)
    assert float(m.onset_latency_ms) == peak + 0.01
    assert float(m.negative_peak_duration_ms) == pytest.approx(float(det.negative_end_latency_ms) - peak - 0.01,
                                                               abs=1e-12)
    # both hand-set at the same time: not strictly before, flagged
    assert _order_flagged({"onset": 5.0, "negative_peak": 5.0})[0]
    assert not _order_flagged({"onset": 4.99, "negative_peak": 5.0})[0]


@pytest.mark.parametrize("landmarks, flagged", [
    ({"negative_peak": 2.9}, True),     # before the detected onset (3.0 ms)
    ({"negative_peak": 3.1}, False),    # just after it
    ({"negative_peak": 7.1}, True),     # after the detected negative end (7.0 ms)
    ({"negative_peak": 6.9}, False),    # just before it
    ({"negative_end": 4.9}, True),      # before the detected negative peak (5.0 ms)
    ({"negative_end": 5.1}, False),
    ({"positive_peak": 4.9}, True),     # before the detected negative peak
    ({"positive_peak": 5.1}, False),
    ({"negative_end": 2.9}, True),      # before the detected onset too
])
def test_a_hand_set_landmark_contradicting_a_detected_one(landmarks, flagged):
    assert _order_flagged(landmarks)[0] is flagged


def test_no_order_flag_without_landmarks_or_on_a_hand_set_absence():
    sim = simulate_nerve((70.0, 200.0), n_nerves=16, noise_uv_rms=50.0, hum_uv=50.0, seed=9)
    m = measure_cmap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert not (m.flags & _ORDER).any()
    x = np.stack([_biphasic(), _biphasic()])
    m = measure_cmap(x, FS, stimulus_sample=STIM, landmarks={"onset": [6.0, 6.0], "absent": [True, False]})
    assert m.flags.tolist() == [int(F.ABSENT), _ORDER]


# --------------------------------------------------------------------------- the analysis core
@pytest.fixture(scope="module")
def study():
    return simulate_nerve((70.0, 150.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]


def _table_values(table):
    return {(part, k): v for part in ("nerve", "site", "segment")
            for k, v in getattr(table, part).items()}


def test_no_markers_give_the_same_table_as_before(study):
    plain, empty = _table_values(analyze_table([study])), _table_values(analyze_table([study], markers=[]))
    assert plain.keys() == empty.keys()
    for key, v in plain.items():
        if v.dtype.kind == "f":
            np.testing.assert_array_equal(v, empty[key], err_msg=str(key))
        else:
            assert v.tolist() == empty[key].tolist(), key
    r = analyze_nerve(study)
    assert all(s.onset_latency_source == s.present_source == "detected" and s.hand_set_values == ()
               for s in r.sites)
    assert r.segments[0].conduction_velocity_source == "detected" and r.hand_set_values == ()


def test_hand_set_onset_gives_the_cv_of_the_arithmetic(study):
    r = analyze_nerve(study, markers=[Marker("median", "R", "elbow", "onset", 8.0)])
    d_onset = 8.0 - r.sites[0].onset_latency_ms
    assert r.segments[0].conduction_velocity_m_s == 150.0 / d_onset
    assert r.sites[1].onset_latency_ms == 8.0
    assert r.slowest_conduction_velocity_m_s == 150.0 / d_onset


def test_hand_set_distal_onset_gives_dml_and_tli(study):
    r = analyze_nerve(study, markers=[Marker("median", "R", "wrist", "onset", 4.0)])
    cv = 150.0 / (r.sites[1].onset_latency_ms - 4.0)
    assert r.distal_motor_latency_ms == 4.0
    assert r.terminal_latency_index == pytest.approx(70.0 / (cv * 4.0), rel=1e-12)
    assert r.residual_latency_ms == pytest.approx(4.0 - 70.0 / cv, rel=1e-12)
    assert set(r.hand_set_values) >= {"distal_motor_latency_ms", "terminal_latency_index", "residual_latency_ms",
                                      "slowest_conduction_velocity_m_s"}


@pytest.mark.parametrize("cv_m_s, met", [(34.2, True), (34.4, False)])  # 70 % of LLN 49 m/s = 34.3
def test_the_cv_verdict_follows_a_hand_set_onset(study, cv_m_s, met):
    distal = analyze_nerve(study).sites[0].onset_latency_ms
    assert evaluate_nerve(analyze_nerve(study), "ean-pns-2021-cidp").items["b"].met is False
    r = analyze_nerve(study, markers=[Marker("median", "R", "elbow", "onset", distal + 150.0 / cv_m_s)])
    assert r.segments[0].conduction_velocity_m_s == pytest.approx(cv_m_s, rel=1e-12)
    assert evaluate_nerve(r, "ean-pns-2021-cidp").items["b"].met is met


def test_hand_set_negative_peak_gives_amplitude_drop_and_conduction_block(study):
    detected = analyze_nerve(study)
    assert evaluate(detected, "ean-pns-2021-cidp")[0].level == "not-met"
    r = analyze_nerve(study, markers=[Marker("median", "R", "elbow", "negative_peak", 10.5)])
    a_d, a_p = r.sites[0].negative_peak_amplitude_mv, r.sites[1].negative_peak_amplitude_mv
    assert a_d == detected.sites[0].negative_peak_amplitude_mv and a_p < 0.7 * a_d
    assert r.segments[0].amplitude_drop_pct == 100.0 * (1.0 - a_p / a_d)
    assert evaluate(r, "ean-pns-2021-cidp")[0].level == "met"
    # the drop and the amplitudes say hand-set; the CV does not
    assert {"amplitude_drop_pct", "proximal_amplitude_mv"} <= set(r.segments[0].hand_set_values)
    assert "distal_amplitude_mv" not in r.segments[0].hand_set_values
    assert r.segments[0].conduction_velocity_source == "detected"


def test_absent_marker_makes_the_site_absent(study):
    r = analyze_nerve(study, markers=[Marker("median", "R", "elbow", "absent", None)])
    site = r.sites[1]
    assert not site.present and site.present_source == "hand-set" and math.isnan(site.onset_latency_ms)
    assert site.flags == int(F.ABSENT)
    assert r.segments[0].proximal_absent and math.isnan(r.segments[0].conduction_velocity_m_s)
    assert "absent proximal response" in r.segments[0].flags


def test_sources_say_hand_set_exactly_where_they_should(study):
    markers = [Marker("median", "R", "elbow", "onset", 6.0), Marker("median", "R", "wrist", "negative_end", 9.0)]
    r = analyze_nerve(study, markers=markers)
    wrist, elbow = r.sites
    assert (wrist.onset_latency_source, wrist.negative_end_latency_source) == ("detected", "hand-set")
    assert (elbow.onset_latency_source, elbow.negative_end_latency_source) == ("hand-set", "detected")
    for s in r.sites:
        assert s.negative_peak_latency_source == s.positive_peak_latency_source == s.present_source == "detected"
    assert set(wrist.hand_set_values) == {"negative_peak_duration_ms", "negative_peak_area_mv_ms",
                                          "cmap_duration_ms", "negative_end_latency_ms"}
    assert set(elbow.hand_set_values) == {"onset_latency_ms", "negative_peak_duration_ms",
                                          "negative_peak_area_mv_ms", "cmap_duration_ms"}
    seg = r.segments[0]
    assert seg.conduction_velocity_source == "hand-set"
    assert "amplitude_drop_pct" not in seg.hand_set_values and "area_drop_pct" in seg.hand_set_values
    assert "distal_motor_latency_ms" not in r.hand_set_values and "distal_area_mv_ms" in r.hand_set_values
    # the same in the output rows
    rows = site_rows(r)
    assert [row["onset_latency_source"] for row in rows] == ["detected", "hand-set"]
    assert rows[1]["hand_set_values"] == list(elbow.hand_set_values)
    assert segment_rows(r)[0]["conduction_velocity_source"] == "hand-set"
    assert {"onset_latency_source", "present_source", "hand_set_values", "onset_alt_latency_ms",
            "negative_end_latency_ms", "positive_peak_latency_ms"} <= set(site_columns())


def test_markers_apply_to_their_nerve_only(study):
    other = simulate_nerve((80.0, 200.0), site_names=("wrist", "elbow"), nerve="ulnar", seed=2).to_studies()[0]
    plain = analyze_nerves([study, other])
    marked = analyze_nerves([study, other], markers=[Marker("ulnar", "R", "elbow", "onset", 9.0)])
    assert marked[0].sites == plain[0].sites and marked[0].segments == plain[0].segments
    assert marked[1].sites[1].onset_latency_ms == 9.0


def test_the_plot_draws_hand_set_markers_hollow_with_a_legend_entry(study):
    from nerveconduct.plot import plot_nerve

    def drawn(result):
        ax = plot_nerve(result, verdicts=None)
        lines = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        values = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("values:")]
        return lines, legend, values

    lines, legend, values = drawn(analyze_nerve(study))
    assert all(ln.get_markerfacecolor() != "none" for g, ln in lines.items() if g.startswith("onset:"))
    assert not any("hand-set" in t for t in legend) and not any("*" in v for v in values)
    lines, legend, values = drawn(analyze_nerve(study, markers=[Marker("median", "R", "elbow", "onset", 6.5)]))
    onsets = {g: ln.get_markerfacecolor() for g, ln in lines.items() if g.startswith("onset:")}
    assert sorted(onsets) == ["onset:elbow", "onset:wrist"]
    assert onsets["onset:elbow"] == "none" and onsets["onset:wrist"] != "none"
    assert any("hand-set" in t for t in legend)
    assert "6.50 ms*" in values[1] and "*" not in values[0]
