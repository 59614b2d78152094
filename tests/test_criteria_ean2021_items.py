"""EAN/PNS 2021 CIDP motor conduction items (a)-(f) and two diagnosis counts, each threshold at,
just above and just below (docs/criteria.md, rule table ``ean-pns-2021-cidp``).

Thresholds and edges as the table and docs/criteria.md give them: (a) DML >= 150 % ULN;
(b) CV <= 70 % LLN; (c) F-wave latency >= 120 % ULN, >= 150 % when the distal CMAP is < 80 %
LLN (exclusive: at 80 % the ordinary cut-off holds); (d) absent F-waves with distal CMAP
>= 20 % LLN; (e) amplitude drop >= 30 % with distal CMAP >= 20 % LLN, tibial excluded;
(f) duration increase > 30 % (exclusive), tibial >= 100 %; diagnosis: sensory CIDP needs motor
conduction normal in >= 2 nerves, distal CIDP >= 2 upper-limb nerves meeting a motor item.

"Just above / just below" is a step of 0.1 % of the threshold value (:data:`STEP`: e.g. DML
6.6 ms +- 0.0066 ms, a 30 % drop +- 0.03 percentage points), far beyond the evaluator's 1e-9
relative tolerance, so the input is on the other side only; counts step by one nerve. Every
"at" input is checked to give the evaluator's percentage within 1e-9 of the threshold, so it
tests the edge (inclusive: met; exclusive: not met) and not a rounding accident.

Normal limits are the default table (:meth:`nerveconduct.limits.NormalLimits.default`): median
amplitude LLN 4.0 mV, DML ULN 4.4 ms, CV LLN 49 m/s, F-wave ULN 31 ms.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from nerveconduct.analysis import analyze_values
from nerveconduct.criteria import evaluate, evaluate_nerve
from nerveconduct.criteria.patient import evaluate_diagnosis
from nerveconduct.limits import LimitRow, NormalLimits
from nerveconduct.model import Site

EAN = "ean-pns-2021-cidp"
STEP = 1e-3  # "just above / below": 0.1 % of the threshold value
MEDIAN = NormalLimits.default().lookup("median")
TIBIAL = NormalLimits.default().lookup("tibial")


def nerve(*, name="median", side="right", dml_ms=3.5, seg_mm=275.0, seg_ms=5.0, amp_mv=(6.0, 6.0),
          dur_ms=(5.0, 5.0), f_ms=None, limits=None):
    """Two-site nerve (wrist -> elbow, ankle -> popliteal fossa for the tibial):
    CV = ``seg_mm`` / ``seg_ms`` (default 55 m/s), drop and duration increase from the two sites."""
    distal, proximal = ("ankle", "popliteal fossa") if name == "tibial" else ("wrist", "elbow")
    return analyze_values(name, [Site(distal, 70.0), Site(proximal, seg_mm)], [dml_ms, dml_ms + seg_ms],
                          list(amp_mv), negative_peak_area_mv_ms=[a * 3 for a in amp_mv],
                          negative_peak_duration_ms=list(dur_ms), side=side, f_wave_latency_ms=f_ms,
                          limits=limits)


def item(nr, key):
    """The nerve item ``key`` of the EAN/PNS 2021 table on one nerve."""
    return evaluate_nerve(nr, EAN).items[key]


def rule_reason(nr, start):
    """The first segment's reason of the rule whose wording starts with ``start``."""
    return next(r for r in evaluate(nr, EAN)[0].reasons if r.startswith(start))


def assert_at(value, threshold):
    """The evaluator sees ``value`` at ``threshold`` (within its 1e-9 relative tolerance)."""
    assert math.isclose(value, threshold, rel_tol=1e-9), (value, threshold)


def test_default_limits_these_tests_are_computed_from():
    median = (MEDIAN.amplitude_lln_mv, MEDIAN.dml_uln_ms, MEDIAN.cv_lln_m_s, MEDIAN.f_wave_uln_ms)
    assert median == (4.0, 4.4, 49.0, 31.0)
    assert TIBIAL.amplitude_lln_mv == 4.0


# --- (a) distal motor latency >= 150 % ULN (inclusive) --------------------------------------------
DML_AT_MS = 1.5 * MEDIAN.dml_uln_ms  # 6.6 ms


def test_ean2021_item_a_distal_latency_at_150_percent_uln_is_met():
    nr = nerve(dml_ms=DML_AT_MS)
    assert_at(nr.limits["distal_motor_latency"].pct_of_limit, 150.0)
    r = item(nr, "a")
    assert r.met is True and "DML 6.60 ms = 150.0% of ULN 4.4 ms ≥ 150%" in r.reasons[0]


def test_ean2021_item_a_distal_latency_just_above_150_percent_uln_is_met():
    r = item(nerve(dml_ms=DML_AT_MS * (1 + STEP)), "a")  # 6.6066 ms = 150.15 %
    assert r.met is True and "≥ 150%" in r.reasons[0] and "not ≥" not in r.reasons[0]


def test_ean2021_item_a_distal_latency_just_below_150_percent_uln_is_not_met():
    r = item(nerve(dml_ms=DML_AT_MS * (1 - STEP)), "a")  # 6.5934 ms = 149.85 %
    assert r.met is False and "149.8% of ULN 4.4 ms not ≥ 150%" in r.reasons[0]


# --- (b) conduction velocity <= 70 % LLN (inclusive) ---------------------------------------------
CV_AT_M_S = 0.7 * MEDIAN.cv_lln_m_s  # 34.3 m/s, over 10 ms


def test_ean2021_item_b_cv_at_70_percent_lln_is_met():
    nr = nerve(seg_mm=CV_AT_M_S * 10.0, seg_ms=10.0)
    assert_at(nr.limits["conduction_velocity"].pct_of_limit, 70.0)
    r = item(nr, "b")
    assert r.met is True and "CV 34.30 m/s = 70.0% of LLN 49 m/s ≤ 70%" in r.reasons[0]


def test_ean2021_item_b_cv_just_below_70_percent_lln_is_met():
    r = item(nerve(seg_mm=CV_AT_M_S * (1 - STEP) * 10.0, seg_ms=10.0), "b")  # 34.2657 m/s = 69.93 %
    assert r.met is True and "≤ 70%" in r.reasons[0] and "not ≤" not in r.reasons[0]


def test_ean2021_item_b_cv_just_above_70_percent_lln_is_not_met():
    r = item(nerve(seg_mm=CV_AT_M_S * (1 + STEP) * 10.0, seg_ms=10.0), "b")  # 34.3343 m/s = 70.07 %
    assert r.met is False and "70.1% of LLN 49 m/s not ≤ 70%" in r.reasons[0]


# --- (c) F-wave >= 150 % ULN when the distal CMAP is < 80 % LLN (exclusive switch) -----------------
SWITCH_AMP_MV = 0.8 * MEDIAN.amplitude_lln_mv  # 3.2 mV
F_BETWEEN_MS = 40.0  # 129.0 % of ULN 31 ms: meets the 120 % cut-off, not the 150 % one


def test_ean2021_item_c_distal_cmap_at_80_percent_lln_keeps_the_120_percent_cutoff():
    nr = nerve(amp_mv=(SWITCH_AMP_MV, SWITCH_AMP_MV), f_ms=F_BETWEEN_MS)
    assert_at(nr.limits["distal_amplitude"].pct_of_limit, 80.0)
    r = item(nr, "c")  # "< 80 %" is not met at 80 %: the ordinary cut-off
    assert r.met is True and "129.0% of ULN 31 ms ≥ 120%" in r.reasons[0] and "< 80%" not in r.reasons[0]


def test_ean2021_item_c_distal_cmap_just_above_80_percent_lln_keeps_the_120_percent_cutoff():
    amp = SWITCH_AMP_MV * (1 + STEP)  # 3.2032 mV = 80.08 % LLN
    r = item(nerve(amp_mv=(amp, amp), f_ms=F_BETWEEN_MS), "c")
    assert r.met is True and "≥ 120%" in r.reasons[0]


def test_ean2021_item_c_distal_cmap_just_below_80_percent_lln_switches_to_150_percent():
    amp = SWITCH_AMP_MV * (1 - STEP)  # 3.1968 mV = 79.92 % LLN
    r = item(nerve(amp_mv=(amp, amp), f_ms=F_BETWEEN_MS), "c")
    assert r.met is False and "not ≥ 150%" in r.reasons[0] and "< 80%" in r.reasons[0]


def test_ean2021_item_c_distal_cmap_at_80_percent_of_a_lab_lln_keeps_the_120_percent_cutoff():
    lab = NormalLimits([LimitRow("median", "APB", 5.7, 4.4, 49.0, 31.0, 70.0)], name="lab", citation="test")
    nr = nerve(amp_mv=(4.56, 4.56), f_ms=F_BETWEEN_MS, limits=lab)  # 4.56 / 5.7 = 80 % exactly in decimal
    assert_at(nr.limits["distal_amplitude"].pct_of_limit, 80.0)
    r = item(nr, "c")
    assert r.met is True and "≥ 120%" in r.reasons[0] and "< 80%" not in r.reasons[0]


LOW_AMP_MV = 3.0  # 75 % LLN: clearly in the low-amplitude branch
F_LOW_AT_MS = 1.5 * MEDIAN.f_wave_uln_ms  # 46.5 ms


def test_ean2021_item_c_low_cmap_f_wave_at_150_percent_uln_is_met():
    nr = nerve(amp_mv=(LOW_AMP_MV, LOW_AMP_MV), f_ms=F_LOW_AT_MS)
    assert_at(nr.limits["f_wave_latency"].pct_of_limit, 150.0)
    r = item(nr, "c")
    assert r.met is True and "150.0% of ULN 31 ms ≥ 150%" in r.reasons[0] and "< 80%" in r.reasons[0]


def test_ean2021_item_c_low_cmap_f_wave_just_above_150_percent_uln_is_met():
    r = item(nerve(amp_mv=(LOW_AMP_MV, LOW_AMP_MV), f_ms=F_LOW_AT_MS * (1 + STEP)), "c")  # 46.5465 ms
    assert r.met is True and "≥ 150%" in r.reasons[0] and "not ≥" not in r.reasons[0]


def test_ean2021_item_c_low_cmap_f_wave_just_below_150_percent_uln_is_not_met():
    r = item(nerve(amp_mv=(LOW_AMP_MV, LOW_AMP_MV), f_ms=F_LOW_AT_MS * (1 - STEP)), "c")  # 46.4535 ms
    assert r.met is False and "149.8% of ULN 31 ms not ≥ 150%" in r.reasons[0]


# --- (d) absent F-waves with distal CMAP >= 20 % LLN (inclusive) ----------------------------------
FLOOR_AMP_MV = 0.2 * MEDIAN.amplitude_lln_mv  # 0.8 mV


def test_ean2021_item_d_absent_f_waves_distal_cmap_at_20_percent_lln_is_met():
    nr = nerve(amp_mv=(FLOOR_AMP_MV, FLOOR_AMP_MV), f_ms=math.nan)
    assert_at(nr.limits["distal_amplitude"].pct_of_limit, 20.0)
    r = item(nr, "d")
    assert r.met is True and "F-waves absent; distal amplitude 0.80 mV = 20.0% of LLN 4 mV ≥ 20%" in r.reasons[0]


def test_ean2021_item_d_absent_f_waves_distal_cmap_just_above_20_percent_lln_is_met():
    amp = FLOOR_AMP_MV * (1 + STEP)  # 0.8008 mV
    r = item(nerve(amp_mv=(amp, amp), f_ms=math.nan), "d")
    assert r.met is True and "F-waves absent" in r.reasons[0] and "not ≥" not in r.reasons[0]


def test_ean2021_item_d_absent_f_waves_distal_cmap_just_below_20_percent_lln_is_not_met():
    amp = FLOOR_AMP_MV * (1 - STEP)  # 0.7992 mV
    r = item(nerve(amp_mv=(amp, amp), f_ms=math.nan), "d")
    assert r.met is False and "F-waves absent" in r.reasons[0] and "not ≥ 20%" in r.reasons[0]


# --- (e) amplitude drop >= 30 % (inclusive), distal CMAP >= 20 % LLN (inclusive) ----------------------
CB = "EAN/PNS 2021 CIDP motor CB"
DISTAL_MV = 6.0


def _drop(drop_pct, distal_mv=DISTAL_MV):
    return nerve(amp_mv=(distal_mv, distal_mv * (1 - drop_pct / 100.0)))


def test_ean2021_item_e_amplitude_drop_at_30_percent_is_met():
    nr = _drop(30.0)  # 6.0 -> 4.2 mV
    assert_at(nr.segments[0].amplitude_drop_pct, 30.0)
    assert item(nr, "e").met is True
    assert "amplitude drop 30.0% ≥ 30%" in rule_reason(nr, CB)


def test_ean2021_item_e_amplitude_drop_just_above_30_percent_is_met():
    nr = _drop(30.0 * (1 + STEP))  # 30.03 %: 6.0 -> 4.1982 mV
    assert item(nr, "e").met is True
    assert "amplitude drop 30.0% ≥ 30%" in rule_reason(nr, CB)


def test_ean2021_item_e_amplitude_drop_just_below_30_percent_is_not_met():
    nr = _drop(30.0 * (1 - STEP))  # 29.97 %: 6.0 -> 4.2018 mV
    assert item(nr, "e").met is False
    assert "amplitude drop 30.0% not ≥ 30%" in rule_reason(nr, CB)


def test_ean2021_item_e_distal_cmap_at_20_percent_lln_is_met():
    nr = _drop(50.0, FLOOR_AMP_MV)  # 0.8 -> 0.4 mV
    assert_at(nr.limits["distal_amplitude"].pct_of_limit, 20.0)
    assert item(nr, "e").met is True
    assert "distal amplitude 0.80 mV ≥ 20% of LLN 4 mV (20.0%)" in rule_reason(nr, CB)


def test_ean2021_item_e_distal_cmap_just_above_20_percent_lln_is_met():
    nr = _drop(50.0, FLOOR_AMP_MV * (1 + STEP))  # 0.8008 mV
    assert item(nr, "e").met is True
    assert "≥ 20% of LLN" in rule_reason(nr, CB) and "not ≥ 20%" not in rule_reason(nr, CB)


def test_ean2021_item_e_distal_cmap_just_below_20_percent_lln_is_not_met():
    nr = _drop(50.0, FLOOR_AMP_MV * (1 - STEP))  # 0.7992 mV, drop 50 %
    assert item(nr, "e").met is False
    reason = rule_reason(nr, CB)
    assert "amplitude drop 50.0% ≥ 30%" in reason and "not ≥ 20% of LLN" in reason


# --- (f) duration increase > 30 % (exclusive), tibial >= 100 % (inclusive) ------------------------
TD = "EAN/PNS 2021 CIDP abnormal temporal dispersion: duration increase >30%"
TD_TIBIAL = "EAN/PNS 2021 CIDP abnormal temporal dispersion: tibial"
DUR_MS = 5.0


def _dispersed(increase_pct, name="median"):
    return nerve(name=name, dur_ms=(DUR_MS, DUR_MS * (1 + increase_pct / 100.0)))


def test_ean2021_item_f_duration_increase_at_30_percent_is_not_met():
    nr = _dispersed(30.0)  # 5.0 -> 6.5 ms
    assert_at(nr.segments[0].duration_increase_pct, 30.0)
    assert item(nr, "f").met is False  # "> 30 %": 30 % itself is not enough
    assert "duration increase 30.0% not > 30%" in rule_reason(nr, TD)


def test_ean2021_item_f_duration_increase_just_above_30_percent_is_met():
    nr = _dispersed(30.0 * (1 + STEP))  # 30.03 %: 5.0 -> 6.5015 ms
    assert item(nr, "f").met is True
    assert "duration increase 30.0% > 30%" in rule_reason(nr, TD)


def test_ean2021_item_f_duration_increase_just_below_30_percent_is_not_met():
    nr = _dispersed(30.0 * (1 - STEP))  # 29.97 %: 5.0 -> 6.4985 ms
    assert item(nr, "f").met is False
    assert "duration increase 30.0% not > 30%" in rule_reason(nr, TD)


def test_ean2021_item_f_tibial_duration_increase_at_100_percent_is_met():
    nr = _dispersed(100.0, "tibial")  # 5.0 -> 10.0 ms
    assert_at(nr.segments[0].duration_increase_pct, 100.0)
    assert item(nr, "f").met is True
    assert "duration increase 100.0% ≥ 100%" in rule_reason(nr, TD_TIBIAL)


def test_ean2021_item_f_tibial_duration_increase_just_above_100_percent_is_met():
    nr = _dispersed(100.0 * (1 + STEP), "tibial")  # 100.1 %: 5.0 -> 10.005 ms
    assert item(nr, "f").met is True
    assert "≥ 100%" in rule_reason(nr, TD_TIBIAL) and "not ≥" not in rule_reason(nr, TD_TIBIAL)


def test_ean2021_item_f_tibial_duration_increase_just_below_100_percent_is_not_met():
    nr = _dispersed(100.0 * (1 - STEP), "tibial")  # 99.9 %: 5.0 -> 9.995 ms
    assert item(nr, "f").met is False
    assert "duration increase 99.9% not ≥ 100%" in rule_reason(nr, TD_TIBIAL)


def test_ean2021_item_f_tibial_is_not_graded_by_the_30_percent_cutoff():
    nr = _dispersed(50.0, "tibial")  # > 30 % but < 100 %
    assert item(nr, "f").met is False
    assert "not applied to the tibial nerve" in rule_reason(nr, TD)


# --- diagnosis counts -------------------------------------------------------------------------------
def _motor(nerve_name, side, cv_m_s):
    """Two-site motor nerve, every other item decided and normal: 20 m/s meets (b), 55 m/s is
    within normal limits, 45 m/s is below the LLN (49 m/s) without meeting an item."""
    return analyze_values(nerve_name, [Site("wrist", 70), Site("elbow", 200)], [3.0, 3.0 + 200 / cv_m_s],
                          [6.0, 5.8], side=side, negative_peak_area_mv_ms=[20.0, 19.5],
                          negative_peak_duration_ms=[5.0, 5.2], cmap_duration_ms=[5.0, 5.2],
                          f_wave_latency_ms=25.0, low_frequency_filter_hz=2.0)


def snap(nerve_name, side, abnormal, cv_pct=95.0):
    """Stand-in sensory result with the attributes the diagnosis reads."""
    return SimpleNamespace(nerve=nerve_name, side=side, label=f"{side} {nerve_name}", abnormal=abnormal,
                           abnormal_items=("amplitude below LLN",) if abnormal else (),
                           amplitude_pct_of_lln=100.0, cv_pct_of_lln=cv_pct, sites=(SimpleNamespace(present=True),))


NO_SUPPORT = {k: False for k in ("csf_protein", "mri", "ultrasound", "treatment_response", "biopsy")}
# sensory CIDP's sensory conditions met: abnormal and CV 60 % LLN (< 80 %) in 2 nerves
SENSORY_DEMYELINATING = [snap("median", "right", True, 60.0), snap("ulnar", "right", True, 60.0)]
NORMAL_MOTOR = [_motor("median", "right", 55.0), _motor("ulnar", "left", 55.0), _motor("median", "left", 55.0)]


def _sensory_cidp(motor):
    return evaluate_diagnosis(motor, EAN, sensory=SENSORY_DEMYELINATING,
                              inputs={"variant": "sensory", "clinical_criteria": True, "supportive": NO_SUPPORT})


def test_ean2021_sensory_cidp_motor_normal_in_2_nerves_at_is_possible_cidp():
    d = _sensory_cidp(NORMAL_MOTOR[:2])
    assert d.category == d.max_category == "possible CIDP"
    assert "motor nerves within normal limits in 2 nerves (right median, left ulnar)" in d.reasons[0]


def test_ean2021_sensory_cidp_motor_normal_in_3_nerves_above_is_possible_cidp():
    d = _sensory_cidp(NORMAL_MOTOR)
    assert d.category == d.max_category == "possible CIDP"
    assert "motor nerves within normal limits in 3 nerves" in d.reasons[0]


def test_ean2021_sensory_cidp_motor_normal_in_1_nerve_below_is_not_met():
    # two motor nerves studied, one of them below its CV LLN: one normal nerve
    d = _sensory_cidp([NORMAL_MOTOR[0], _motor("ulnar", "left", 45.0)])
    assert d.category == d.max_category == "CIDP criteria not met"
    assert any("motor nerves within normal limits in 1 nerve (right median) (>= 2 needed)" in r for r in d.reasons)


def _distal_cidp(motor):
    return evaluate_diagnosis(motor, EAN, sensory=[snap("median", "right", True), snap("sural", "left", True)],
                              inputs={"variant": "distal", "clinical_criteria": True, "supportive": NO_SUPPORT})


DISTAL_ROW = ("CIDP: distal CIDP: motor criteria strongly supportive with >=2 upper-limb nerves meeting a motor item, "
              "sensory conduction abnormal in >=2 nerves")


def test_ean2021_distal_cidp_upper_limb_nerves_at_2_is_cidp():
    d = _distal_cidp([_motor("median", "right", 20.0), _motor("ulnar", "left", 20.0)])
    assert d.category == d.max_category == "CIDP" and DISTAL_ROW in d.rows_met
    assert "upper-limb nerves meeting a motor item in 2 nerves (right median, left ulnar)" in d.reasons[0]


def test_ean2021_distal_cidp_upper_limb_nerves_above_3_is_cidp():
    d = _distal_cidp([_motor("median", "right", 20.0), _motor("ulnar", "left", 20.0),
                      _motor("median", "left", 20.0)])
    assert d.category == d.max_category == "CIDP" and DISTAL_ROW in d.rows_met
    assert "upper-limb nerves meeting a motor item in 3 nerves (right median, left ulnar, left median)" in d.reasons[0]


def test_ean2021_distal_cidp_upper_limb_nerves_below_1_is_possible_cidp():
    # motor criteria strongly supportive (2 nerves) but one of them is a lower-limb nerve
    d = _distal_cidp([_motor("median", "right", 20.0), _motor("tibial", "left", 15.0)])
    assert d.motor.level == "definite"
    assert d.category == d.max_category == "possible CIDP" and DISTAL_ROW not in d.rows_met
    assert "strongly supportive of demyelination (right median, left tibial)" in d.reasons[0]
