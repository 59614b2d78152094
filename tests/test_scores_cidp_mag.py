"""CIDP-MAG score (Doneddu et al.; docs/criteria.md): the source patient, every item's weight, unknown ranges."""

from __future__ import annotations

import math

import pytest

from nerveconduct.model import Site
from nerveconduct.scores.cidp_mag import CLINICAL_ITEMS, cidp_mag_score, interpret_cidp_mag
from nerveconduct.analysis import analyze_values


def nerve(name="median", *, dml=6.0, side="right", prox_amp=None, single=False):
    """TLI = 70 / (CV × DML) with a 250 mm segment conducted in 5 ms (CV 50 m/s)."""
    distal, proximal = ("ankle", "below fibular head") if name in ("fibular",) else ("wrist", "elbow")
    if name == "ulnar":
        proximal = "below elbow"
    if single:
        return analyze_values(name, [Site(distal, 70.0)], [dml], [6.0], side=side)
    amps = [6.0, 6.0 if prox_amp is None else prox_amp]
    return analyze_values(name, [Site(distal, 70.0), Site(proximal, 250.0)], [dml, dml + 5.0], amps,
                          negative_peak_area_mv_ms=[3 * a for a in amps], negative_peak_duration_ms=[5.0, 5.0],
                          side=side)


# The case-report patient of the CIDP-MAG secondary source: length-dependent sensory-predominant, no ataxia or tremor
# reported, no proximal weakness, chronic progressive course, no CB, low TLI in median and ulnar.
SOURCE_CLINICAL = {"length_dependent_sensory": True, "ataxia": False, "tremor": False,
                   "relapsing_or_acute_onset": False, "proximal_weakness": False}


def source_nerves():
    return [nerve("median", dml=6.0), nerve("ulnar", dml=6.2), nerve("fibular", dml=8.0)]


def test_cidp_mag_source_patient_scores_as_the_table_says():
    # TLI: median 70/(50×6.0) = 0.233, ulnar 70/(50×6.2) = 0.226 -> +1; length-dependent +2
    score = cidp_mag_score(SOURCE_CLINICAL, source_nerves())
    assert score.points == 3 and score.min_points == score.max_points == 3
    assert score.interpretation == "anti-MAG pattern"
    by_key = {it.key: it for it in score.items}
    assert by_key["tli_low_in_2_nerves"].present is True
    assert "right median 0.23" in by_key["tli_low_in_2_nerves"].evidence
    assert by_key["motor_cb"].present is False
    assert "EFNS/PNS 2010 MMN definite or probable CB outside compression sites" in by_key["motor_cb"].evidence
    assert score.cb_rule_set == "efns-pns-2010-mmn"
    assert str(score) == "CIDP-MAG score +3: anti-MAG pattern"


@pytest.mark.parametrize("key", list(CLINICAL_ITEMS))
def test_cidp_mag_each_clinical_item_toggles_by_its_weight(key):
    base = cidp_mag_score({**SOURCE_CLINICAL, key: False}, source_nerves()).points
    toggled = cidp_mag_score({**SOURCE_CLINICAL, key: True}, source_nerves()).points
    assert toggled - base == CLINICAL_ITEMS[key][1]


def test_cidp_mag_tli_item_toggles_plus_one():
    with_low = cidp_mag_score(SOURCE_CLINICAL, source_nerves()).points
    ulnar_normal = [nerve("median", dml=6.0), nerve("ulnar", dml=4.0), nerve("fibular", dml=5.0)]
    assert cidp_mag_score(SOURCE_CLINICAL, ulnar_normal).points == with_low - 1


def test_cidp_mag_cb_item_toggles_minus_three():
    with_cb = [nerve("median", dml=6.0, prox_amp=2.4), nerve("ulnar", dml=6.2), nerve("fibular", dml=8.0)]
    score = cidp_mag_score(SOURCE_CLINICAL, with_cb)
    assert score.points == 3 - 3
    assert score.interpretation == "indeterminate"
    cb = {it.key: it for it in score.items}["motor_cb"]
    assert cb.present is True and cb.points == -3 and "right median wrist–elbow (definite CB)" in cb.evidence


@pytest.mark.parametrize("dml, low", [(5.59, False), (5.6, True), (5.61, True)])
def test_cidp_mag_tli_at_0_25_inclusive(dml, low):
    # 70 / (50 × 5.6) = 0.25 exactly; 5.59 ms gives 0.2504 (> 0.25)
    nerves = [nerve("median", dml=dml), nerve("ulnar", dml=6.2)]
    item = {it.key: it for it in cidp_mag_score(SOURCE_CLINICAL, nerves).items}["tli_low_in_2_nerves"]
    assert item.present is low


def test_cidp_mag_tli_left_and_right_are_different_nerves():
    # round 2: "2 different motor nerves" counts (nerve, side), as every rule set does
    both_medians = [nerve("median", dml=6.0, side="left"), nerve("median", dml=6.0, side="right")]
    item = {it.key: it for it in cidp_mag_score(SOURCE_CLINICAL, both_medians).items}["tli_low_in_2_nerves"]
    assert item.present is True
    assert "in 2 different nerve(s)" in item.evidence
    same_side = [nerve("median", dml=6.0, side="right"), nerve("median", dml=6.0, side="right")]
    item = {it.key: it for it in cidp_mag_score(SOURCE_CLINICAL, same_side).items}["tli_low_in_2_nerves"]
    assert item.present is False and "in 1 different nerve(s)" in item.evidence


def test_cidp_mag_tli_unknown_when_missing_tli_could_complete_the_count():
    nerves = [nerve("median", dml=6.0), nerve("ulnar", dml=6.0, single=True)]  # ulnar TLI not computable
    score = cidp_mag_score(SOURCE_CLINICAL, nerves)
    item = {it.key: it for it in score.items}["tli_low_in_2_nerves"]
    assert item.present is None and item.points is None
    assert "TLI not computed for: right ulnar" in item.evidence  # round 2: nerves are (nerve, side)
    assert (score.points, score.min_points, score.max_points) == (None, 2, 3)


def test_cidp_mag_unknown_items_give_a_range_and_band_only_if_whole_range_fits():
    clinical = {**SOURCE_CLINICAL, "ataxia": None, "tremor": None}
    score = cidp_mag_score(clinical, source_nerves())
    assert (score.points, score.min_points, score.max_points) == (None, 3, 5)
    assert score.interpretation == "anti-MAG pattern"
    spanning = cidp_mag_score({"length_dependent_sensory": True}, source_nerves())  # 4 unknown items
    assert (spanning.min_points, spanning.max_points) == (3 - 1 - 3, 3 + 1 + 1)
    assert spanning.interpretation == "indeterminate"
    assert str(spanning) == "CIDP-MAG score -1…+5: indeterminate"


def test_cidp_mag_cb_unknown_when_proximal_absent():
    nerves = [nerve("median", dml=6.0, prox_amp=0.0), nerve("ulnar", dml=6.2)]
    cb = {it.key: it for it in cidp_mag_score(SOURCE_CLINICAL, nerves).items}["motor_cb"]
    assert cb.present is None and "not assessable in: right median wrist–elbow" in cb.evidence


def test_cidp_mag_cb_rule_set_is_selectable():
    nerves = [nerve("median", dml=6.0, prox_amp=4.5), nerve("ulnar", dml=6.2)]  # 25% amplitude and area drop
    mmn = {it.key: it for it in cidp_mag_score(SOURCE_CLINICAL, nerves).items}["motor_cb"]
    textbook = cidp_mag_score(SOURCE_CLINICAL, nerves, cb_rule_set="textbook-20pct", cb_levels=("probable",))
    assert mmn.present is False
    assert {it.key: it for it in textbook.items}["motor_cb"].present is True
    assert textbook.cb_rule_set == "textbook-20pct" and textbook.points == 0


def test_cidp_mag_cidp_pattern():
    clinical = {"length_dependent_sensory": False, "ataxia": False, "tremor": False,
                "relapsing_or_acute_onset": True, "proximal_weakness": True}
    score = cidp_mag_score(clinical, [nerve("median", dml=3.5, prox_amp=2.0), nerve("ulnar", dml=3.0)])
    assert score.points == -1 - 3 - 3
    assert score.interpretation == "CIDP pattern"


@pytest.mark.parametrize("lo, hi, band", [(1, 1, "anti-MAG pattern"), (5, 5, "anti-MAG pattern"),
                                          (0, 0, "indeterminate"), (-1, -1, "CIDP pattern"),
                                          (-7, -1, "CIDP pattern"), (0, 2, "indeterminate")])
def test_interpret_cidp_mag_bands(lo, hi, band):
    assert interpret_cidp_mag(lo, hi) == band


def test_cidp_mag_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"unknown clinical item\(s\) \['ataxic'\]; allowed: "):
        cidp_mag_score({"ataxic": True}, [])
    with pytest.raises(TypeError, match="must be True, False or None"):
        cidp_mag_score({"ataxia": "yes"}, [])
    with pytest.raises(TypeError, match="nerve_results\\[0\\] must be a NerveResult"):
        cidp_mag_score({}, [math.pi])


def test_cidp_mag_no_nerves_leaves_electrophysiology_unknown():
    score = cidp_mag_score(SOURCE_CLINICAL, [])
    assert (score.min_points, score.max_points) == (2 - 3, 2 + 1)


def _median(elbow_amp_mv, elbow_dur_ms=5.0):
    from nerveconduct.analysis import analyze_values
    from nerveconduct.model import Site

    return analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], [6.0, elbow_amp_mv],
                          negative_peak_area_mv_ms=[20.0, 20.0 * elbow_amp_mv / 6.0],
                          negative_peak_duration_ms=[5.0, elbow_dur_ms])


@pytest.mark.parametrize("elbow_mv, present", [(4.2, True), (4.19, True), (4.21, False)])
def test_cidp_mag_cb_item_with_a_cidp_rule_set_reads_its_cb_item(elbow_mv, present):
    # EAN/PNS 2021 (e): amplitude drop >=30 % (inclusive); 4.2 of 6.0 mV is exactly 30 %.
    # Its segments say "met" / "not-met" (item levels): the CB item decides, at cb_levels.
    item = {i.key: i for i in cidp_mag_score({}, [_median(elbow_mv)], cb_rule_set="ean-pns-2021-cidp").items}
    assert item["motor_cb"].present is present


def test_cidp_mag_cb_item_ignores_temporal_dispersion_of_a_cidp_rule_set():
    # 10 % drop, 60 % duration increase: EAN/PNS 2021 (f) is met on the segment, (e) is not
    nerve = _median(5.4, elbow_dur_ms=8.0)
    from nerveconduct.criteria import evaluate

    (seg,) = evaluate(nerve, "ean-pns-2021-cidp")
    assert seg.level == "met" and seg.items == ("f",)
    item = {i.key: i for i in cidp_mag_score({}, [nerve], cb_rule_set="ean-pns-2021-cidp").items}
    assert item["motor_cb"].present is False
    # a level the table grades no CB rule at: nothing counts
    item = {i.key: i for i in cidp_mag_score({}, [_median(3.0)], cb_rule_set="ean-pns-2021-cidp",
                                             cb_levels=("possible",)).items}
    assert item["motor_cb"].present is False
