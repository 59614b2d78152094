"""Round 2: AAN 1991 as published (at least 3 of 4), the confidence marks of every table, the
CIDP-MAG TLI item counting sides, the EFNS/PNS 2010 MMN categories, the default limits."""

from __future__ import annotations

import math

import pytest

from nerveconduct.analysis import analyze_values
from nerveconduct.criteria import evaluate_nerve, evaluate_patient, get_rule_set, list_rule_sets
from nerveconduct.criteria.tables import CONFIDENCE_LEGEND, RuleSetError, loads_rule_set, render_confidence_table
from nerveconduct.limits import NormalLimits
from nerveconduct.model import Site
from nerveconduct.scores.cidp_mag import cidp_mag_score, mmn_category

AAN = "aan-1991"


def median(dml=3.5, cv_ms=3.2, amp=6.0, f=None, side="right", prox=None):
    # wrist 70 mm, elbow 160 mm: CV = 160 / cv_ms; LLN: amp 4.0 mV, CV 49 m/s, DML 4.4, F 31
    return analyze_values("median", [Site("wrist", 70), Site("elbow", 160)], [dml, dml + cv_ms],
                          [amp, amp if prox is None else prox], negative_peak_duration_ms=[5.0, 5.0],
                          negative_peak_area_mv_ms=[20.0, 20.0 * (1.0 if prox is None else prox / amp)],
                          f_wave_latency_ms=f, side=side)


def item(nr, key):
    return evaluate_nerve(nr, AAN).items[key].met


# CV 1: <80 % of 49 = 39.2 m/s; with CMAP <80 % of LLN (<3.2 mV): <70 % = 34.3 m/s
@pytest.mark.parametrize("cv, met", [(39.2, False), (39.19, True), (39.21, False)])
def test_AAN_1991_criterion_1_CV_below_80pct_LLN(cv, met):
    assert item(median(cv_ms=160 / cv), "1 CV") is met


@pytest.mark.parametrize("cv, met", [(34.3, False), (34.29, True), (34.31, False)])
def test_AAN_1991_criterion_1_CV_below_70pct_LLN_when_CMAP_low(cv, met):
    assert item(median(cv_ms=160 / cv, amp=3.0), "1 CV") is met


# DML 3: >125 % of 4.4 = 5.5 ms; low CMAP: >150 % = 6.6 ms
@pytest.mark.parametrize("dml, met", [(5.5, False), (5.51, True), (5.49, False)])
def test_AAN_1991_criterion_3_DML_over_125pct_ULN(dml, met):
    assert item(median(dml=dml), "3 DML") is met


@pytest.mark.parametrize("dml, met", [(6.6, False), (6.61, True), (6.59, False)])
def test_AAN_1991_criterion_3_DML_over_150pct_ULN_when_CMAP_low(dml, met):
    assert item(median(dml=dml, amp=3.0), "3 DML") is met


def test_AAN_1991_CMAP_exactly_80pct_LLN_uses_the_ordinary_cutoff():
    assert item(median(dml=5.6, amp=3.2), "3 DML") is True  # 127 % > 125 %


# F 4: >120 % of 31 = 37.2 ms; low CMAP >150 % = 46.5 ms; absence counts
@pytest.mark.parametrize("f, met", [(37.2, False), (37.21, True), (37.19, False)])
def test_AAN_1991_criterion_4_F_wave_over_120pct_ULN(f, met):
    assert item(median(f=f), "4 F-wave") is met


@pytest.mark.parametrize("f, met", [(46.5, False), (46.51, True), (46.49, False)])
def test_AAN_1991_criterion_4_F_wave_over_150pct_ULN_when_CMAP_low(f, met):
    assert item(median(f=f, amp=3.0), "4 F-wave") is met


def test_AAN_1991_criterion_4_absent_F_waves_count_whatever_the_amplitude():
    assert item(median(f=math.nan, amp=0.5), "4 F absent") is True
    assert item(median(f=30.0), "4 F absent") is False
    assert item(median(), "4 F absent") is None  # not studied


def test_AAN_1991_three_of_four_needed():
    slow_long = [median(dml=5.6, cv_ms=160 / 39.0, side=s) for s in ("left", "right")]  # 1 and 3
    two = evaluate_patient(slow_long, AAN)
    assert two.level == "none"
    assert any("2 of 4 criteria met, 3 needed" in r for r in two.reasons)
    with_f = [median(dml=5.6, cv_ms=160 / 39.0, f=40.0, side=s) for s in ("left", "right")]  # 1, 3 and 4
    three = evaluate_patient(with_f, AAN)
    assert three.level == "definite" and three.label.startswith("electrodiagnostic criterion met")


def test_AAN_1991_CB_item_alone_is_not_enough():
    cb = median(prox=4.0)  # 33 % drop wrist-elbow, duration unchanged: partial CB
    assert item(cb, "partial CB") is True
    assert evaluate_patient([cb], AAN).level == "none"


def test_AAN_1991_one_nerve_criteria_need_two_nerves():
    one = [median(dml=5.6, cv_ms=160 / 39.0, f=40.0, prox=4.0)]  # 1, 3, 4 in one nerve + CB
    assert evaluate_patient(one, AAN).level == "none"  # only criterion 2 reaches its count


# --- confidence marks ---------------------------------------------------------------------------
def test_every_shipped_threshold_has_a_mark_and_a_legend():
    for info in list_rule_sets():
        rs = get_rule_set(info.id)
        rows = rs.confidence_table()
        assert rows and all(r.mark in ("primary", "secondary", "recalled", "unsourced") for r in rows), info.id
        text = render_confidence_table(rs)
        assert text.splitlines()[-1] == CONFIDENCE_LEGEND
        for forbidden in ("CRITERIA", "source document", "/tmp", "shared"):
            assert forbidden not in " ".join([rs.citation, rs.verification, rs.notes or ""]), (info.id, forbidden)


def test_marks_of_the_recalled_and_unsourced_thresholds():
    g = {r.threshold: r.mark for r in get_rule_set("ean-pns-2021-cidp").confidence_table() if r.item == "g"}
    assert g["thresholds_ms_by_filter.2.median"] == "secondary" and len(g) == 16
    tb = {r.threshold: r.mark for r in get_rule_set("textbook-20pct").confidence_table()}
    assert tb["drop_min_pct"] == "unsourced" and tb["duration_increase_max_pct"] == "secondary"
    ig = [r for r in get_rule_set("efns-pns-2010-cidp").confidence_table() if r.item == "I-G"]
    assert {r.mark for r in ig} == {"secondary"} and not any("Hz" in r.value for r in ig)


def test_marks_table_rejects_unknown_threshold_and_mark():
    base = '''id = "x"\ntitle = "x"\nshort_name = "x"\nversion = "1"\ncitation = "x"\nconfidence = "primary"
verification = "x"\nkind = "conduction-block"\n[[segment_rules]]\nitem = "CB"\nlabel = "CB"\nlevel = "probable"
drop_min_pct = 40.0\nconfidence = "primary"\nverification = "x"\nMARKS\n[[combinations]]\nlevel = "probable"
label = "x"\nitems = ["CB"]\nmin_nerves = 1\nconfidence = "primary"\nverification = "x"\n'''
    assert loads_rule_set(base.replace("MARKS", 'marks = { drop_min_pct = "recalled" }')).confidence_table()[0].mark \
        == "recalled"
    with pytest.raises(RuleSetError, match="not a threshold of this rule"):
        loads_rule_set(base.replace("MARKS", 'marks = { duration_increase_max_pct = "recalled" }'))
    with pytest.raises(RuleSetError, match="must be one of"):
        loads_rule_set(base.replace("MARKS", 'marks = { drop_min_pct = "guessed" }'))


# --- CIDP-MAG --------------------------------------------------------------------------------
def tli_nerve(side, dml):
    return analyze_values("median", [Site("wrist", 70), Site("elbow", 250)], [dml, dml + 5.0], [6.0, 5.9],
                          side=side)  # CV 50 m/s: TLI = 70 / (50 x DML)


@pytest.mark.parametrize("dml, present", [(5.6, True), (5.61, True), (5.59, False)])
def test_CIDP_MAG_TLI_025_in_2_nerves_left_and_right_count_as_two(dml, present):
    score = cidp_mag_score({}, [tli_nerve("left", dml), tli_nerve("right", dml)])
    assert {i.key: i for i in score.items}["tli_low_in_2_nerves"].present is present


def test_CIDP_MAG_motor_CB_rule_set_is_an_option():
    blocked = analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], [6.0, 4.0],
                             negative_peak_area_mv_ms=[20.0, 13.4], negative_peak_duration_ms=[5.0, 5.0])
    mmn = {i.key: i for i in cidp_mag_score({}, [blocked]).items}["motor_cb"]
    ean = {i.key: i for i in cidp_mag_score({}, [blocked], cb_rule_set="ean-pns-2021-cidp",
                                            cb_levels=("definite",)).items}["motor_cb"]
    assert mmn.present is True and ean.present is True  # 33 % area (long segment) / 33 % amplitude


# --- EFNS/PNS 2010 MMN categories ------------------------------------------------------------
def mmn_median(prox_area):
    return analyze_values("median", [Site("wrist", 70.0), Site("elbow", 230.0)], [3.5, 7.5],
                          [6.0, 6.0 * prox_area / 20], negative_peak_area_mv_ms=[20.0, prox_area],
                          negative_peak_duration_ms=[5.0, 5.0])


def test_EFNS_2010_MMN_possible_one_nerve_needs_CB_and_normal_sensory():
    args = dict(core_clinical=False, exclusions_absent=True, one_nerve_only=True)
    assert mmn_category([mmn_median(13.0)], sensory_normal=True, **args).category == "possible"
    assert mmn_category([mmn_median(13.0)], sensory_normal=False, **args).category == "none"
    alt = mmn_category([mmn_median(13.0)], sensory_normal=False, one_nerve_needs_sensory=False, **args)
    assert alt.category == "possible"


@pytest.mark.parametrize("n_supportive, category", [(1, "none"), (2, "possible"), (3, "possible")])
def test_EFNS_2010_MMN_possible_needs_two_supportive_criteria(n_supportive, category):
    keys = ["anti_gm1", "csf_protein_below_1g_l", "mri_brachial_plexus", "ivig_response"]
    supportive = {k: i < n_supportive for i, k in enumerate(keys)}
    cat = mmn_category([mmn_median(19.0)], core_clinical=True, exclusions_absent=True, sensory_normal=True,
                       supportive=supportive)
    assert cat.category == category


def test_default_limits_median_APB_amplitude_is_4_0_mV_and_DML_4_4_ms():
    row = NormalLimits.default().lookup("median", "APB") if hasattr(NormalLimits.default(), "lookup") else None
    if row is None:
        from nerveconduct.limits.motor import _DEFAULT_ROWS
        row = next(r for r in _DEFAULT_ROWS if r.nerve == "median")
    assert (row.amplitude_lln_mv, row.dml_uln_ms) == (4.0, 4.4)
    assert "3rd ed" in NormalLimits.default().citation
