"""EFNS/PNS 2010 MMN categories (recalled Table 4) from CB verdicts and clinical inputs."""

from __future__ import annotations

import pytest

from nerveconduct.criteria import evaluate
from nerveconduct.model import Site
from nerveconduct.scores.cidp_mag import mmn_category
from nerveconduct.analysis import analyze_values


def median(prox_area, side="right", prox_dur=5.0):
    return analyze_values("median", [Site("wrist", 70.0), Site("elbow", 230.0)], [3.5, 7.5],
                          [6.0, 6.0 * prox_area / 20], negative_peak_area_mv_ms=[20.0, prox_area],
                          negative_peak_duration_ms=[5.0, prox_dur],
                          side=side)


DEFINITE, PROBABLE, NONE = 8.0, 13.0, 19.0  # area drops 60%, 35% (long segment), 5%
CLIN = {"core_clinical": True, "exclusions_absent": True, "sensory_normal": True}


def test_mmn_definite_needs_definite_cb_and_normal_sensory():
    cat = mmn_category([median(DEFINITE)], **CLIN)
    assert (cat.category, cat.max_category) == ("definite", "definite")
    assert cat.definite_cb_nerves == ("right median",)
    assert cat.reasons[0] == ("EFNS/PNS 2010 MMN category definite: definite CB with normal sensory conduction "
                              "in right median")
    abnormal_sensory = mmn_category([median(DEFINITE)], **{**CLIN, "sensory_normal": {"right median": False}})
    assert abnormal_sensory.category == "none"


def test_mmn_probable_in_two_nerves_or_one_with_two_supportive():
    two = mmn_category([median(PROBABLE, "left"), median(PROBABLE, "right")], **CLIN)
    assert two.category == "probable"
    one = [median(PROBABLE)]
    two_supportive = {"anti_gm1": True, "csf_protein_below_1g_l": True}
    assert mmn_category(one, **CLIN, supportive=two_supportive).category == "probable"
    only_one_supportive = mmn_category(one, **CLIN, supportive={"anti_gm1": True, "csf_protein_below_1g_l": False,
                                                                "mri_brachial_plexus": False, "ivig_response": False})
    assert only_one_supportive.category == "none"
    assert only_one_supportive.supportive_met == 1


def test_mmn_possible_clinical_sensory_and_ivig_response_without_cb():
    # round 2: the default reading needs two supportive criteria; "ivig" is the alternative
    cat = mmn_category([median(NONE)], **CLIN, supportive={"ivig_response": True}, possible_supportive="ivig")
    assert cat.category == "possible"
    assert "IVIg response" in cat.reasons[0]


def test_mmn_possible_one_nerve_only_with_cb():
    # round 2: the one-nerve branch also needs normal sensory conduction in that nerve
    cat = mmn_category([median(PROBABLE)], core_clinical=False, exclusions_absent=True, sensory_normal=None,
                       one_nerve_only=True)
    assert (cat.category, cat.max_category) == ("none", "possible")
    cat = mmn_category([median(PROBABLE)], core_clinical=False, exclusions_absent=True, sensory_normal=True,
                       one_nerve_only=True)
    assert cat.category == "possible"


def test_mmn_unknown_inputs_give_lower_and_upper_category():
    cat = mmn_category([median(DEFINITE)], core_clinical=None, exclusions_absent=True, sensory_normal=True)
    assert (cat.category, cat.max_category) == ("none", "definite")
    assert any("core_clinical" in r and "could be definite" in r for r in cat.reasons)


def test_mmn_accepts_precomputed_verdicts():
    verdicts = evaluate(median(DEFINITE), "efns-pns-2010-mmn")
    assert mmn_category(cb_verdicts=verdicts, **CLIN).category == "definite"


def test_mmn_category_input_errors():
    with pytest.raises(ValueError, match="exactly one of nerve_results"):
        mmn_category(**CLIN)
    with pytest.raises(ValueError, match=r"unknown supportive criterion \['gm1'\]"):
        mmn_category([median(NONE)], **CLIN, supportive={"gm1": True})
    with pytest.raises(TypeError, match="core_clinical must be True, False or None"):
        mmn_category([median(NONE)], **{**CLIN, "core_clinical": "yes"})
