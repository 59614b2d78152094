"""AAN 1991, the textbook 20% rule and the amplitude-dependent limits of 2000, hand-computed."""

from __future__ import annotations


import pytest

from nerveconduct.criteria import evaluate, evaluate_patient
from nerveconduct.model import Site
from nerveconduct.analysis import analyze_values


def nerve(amp=(6.0, 6.0), area=(20.0, 20.0), dur=(5.0, 5.0), *, name="median",
          sites=(("wrist", 70.0), ("elbow", 230.0)), pp=None):
    lat = [3.5 + i * 4.0 for i in range(len(sites))]
    return analyze_values(name, [Site(n, d) for n, d in sites], lat, list(amp),
                          negative_peak_area_mv_ms=list(area), negative_peak_duration_ms=list(dur),
                          peak_to_peak_amplitude_mv=None if pp is None else list(pp))


# --- AAN 1991 ----------------------------------------------------------------------------------
@pytest.mark.parametrize("prox_area, level", [(16.0, "none"), (15.98, "possible")])
def test_aan1991_partial_cb_area_drop_over_20pct(prox_area, level):
    # area 20 -> 16.0 is exactly 20% (">20%" not met); 15.98 is 20.1%; p-p drop 0%
    v = evaluate(nerve(area=(20.0, prox_area), pp=(10.0, 10.0)), "aan-1991")[0]
    assert v.level == level
    assert ("partial CB" in v.items) == (level == "possible")


@pytest.mark.parametrize("prox_pp, met", [(8.0, False), (7.99, True)])
def test_aan1991_partial_cb_peak_to_peak_drop_over_20pct(prox_pp, met):
    v = evaluate(nerve(pp=(10.0, prox_pp)), "aan-1991")[0]
    assert ("partial CB" in v.items) is met


@pytest.mark.parametrize("prox_dur, items", [(5.74, ("partial CB",)), (5.75, ()), (5.76, ("abnormal TD",))])
def test_aan1991_duration_change_15pct_splits_cb_from_dispersion(prox_dur, items):
    # 5.0 -> 5.74 / 5.75 / 5.76 ms = 14.8% / 15.0% / 15.2%; at exactly 15% neither wording holds
    v = evaluate(nerve(area=(20.0, 14.0), dur=(5.0, prox_dur), pp=(10.0, 10.0)), "aan-1991")[0]
    assert v.items == items
    assert v.level == ("possible" if items else "none")


def test_aan1991_only_named_segments():
    nr = nerve(area=(20.0, 20.0, 10.0), amp=(6.0, 6.0, 3.0), dur=(5.0, 5.0, 5.0), pp=(10.0, 10.0, 5.0),
               sites=(("wrist", 70.0), ("elbow", 230.0), ("axilla", 120.0)))
    v = evaluate(nr, "aan-1991")[1]
    assert v.level == "not-assessable" and v.excluded_by == "not-applicable"
    assert "applies to segments wrist–elbow only" in v.reasons[0]


def test_aan1991_missing_peak_to_peak_and_small_area_drop_is_not_assessable():
    v = evaluate(nerve(area=(20.0, 19.0)), "aan-1991")[0]  # p-p unknown, area 5%: could still be >20%
    assert v.level == "not-assessable"
    assert "peak-to-peak amplitude drop not available" in v.reasons[0]


# --- textbook 20% rule ---------------------------------------------------------------------------
@pytest.mark.parametrize("prox, level", [(4.8, "none"), (4.79, "probable")])
def test_textbook_20pct_amplitude_and_area_over_20pct(prox, level):
    # amplitude 6 -> 4.8 and area 20 -> 16 are exactly 20%; 4.79 / 15.97 are 20.2% / 20.2%
    area = 16.0 if prox == 4.8 else 15.97
    v = evaluate(nerve(amp=(6.0, prox), area=(20.0, area)), "textbook-20pct")[0]
    assert v.level == level
    assert v.label == ("CB (textbook 20% rule)" if level == "probable" else "no CB (textbook 20% rule)")


def test_textbook_20pct_needs_both_amplitude_and_area():
    v = evaluate(nerve(amp=(6.0, 4.0), area=(20.0, 18.0)), "textbook-20pct")[0]  # 33% and 10%
    assert v.level == "none"
    assert "amplitude drop 33.3% > 20% and area drop 10.0% not > 20%" in v.reasons[0]


@pytest.mark.parametrize("prox_dur, level", [(5.74, "probable"), (5.75, "none")])
def test_textbook_20pct_without_temporal_dispersion(prox_dur, level):
    v = evaluate(nerve(amp=(6.0, 3.0), area=(20.0, 10.0), dur=(5.0, prox_dur)), "textbook-20pct")[0]
    assert v.level == level


# --- amplitude-dependent limits (Clin Neurophysiol 2000) ---------------------------------------
@pytest.mark.parametrize("distal, prox, level", [
    (0.9, 0.325, "none"),        # ratio 0.361: above 0.36
    (0.9, 0.324, "none"),        # ratio 0.360: at the minimum normal ratio is normal
    (0.9, 0.323, "probable"),    # ratio 0.359 < 0.36: criterion D (and B)
    (1.0, 0.5, "possible"),      # 1.0 mV: D's band is <=1 mV (0.36), B's is 1-2 mV (0.56)
    (1.5, 0.8, "possible"),      # ratio 0.533: B (<0.56) but not D (<0.5)
    (1.5, 0.74, "probable"),     # ratio 0.493 < 0.5
    (5.0, 3.5, "none"),          # ratio 0.70: not below 0.70
    (5.0, 3.45, "possible"),     # ratio 0.69 < 0.70
])
def test_amplitude_dependent_2000_ratio_bands(distal, prox, level):
    v = evaluate(nerve(amp=(distal, prox)), "amplitude-dependent-2000")[0]
    assert v.level == level


def test_amplitude_dependent_2000_reason_states_band():
    v = evaluate(nerve(amp=(5.0, 2.4)), "amplitude-dependent-2000")[0]
    assert v.reasons[0].endswith("proximal/distal amplitude ratio 0.48 < 0.5 (minimum normal for a distal "
                                 "amplitude of 5.00 mV)")
    assert evaluate_patient([nerve(amp=(5.0, 2.4))], "amplitude-dependent-2000").label == "CB (criterion D)"


def test_comparison_from_distal_override():
    # 25% then a further 33%: adjacent segments stay below 50%, from the wrist the drop is 50%
    nr = nerve(amp=(8.0, 6.0, 4.0), area=(24.0, 18.0, 12.0), dur=(5.0, 5.0, 5.0),
               sites=(("wrist", 70.0), ("elbow", 230.0), ("axilla", 120.0)))
    adjacent = evaluate(nr, "efns-pns-2010-mmn")
    assert [v.level for v in adjacent] == ["none", "probable"]
    from_distal = evaluate(nr, "efns-pns-2010-mmn", comparison="from_distal")
    assert from_distal[1].segment == "wrist–axilla" and from_distal[1].level == "definite"
    with pytest.raises(ValueError, match="comparison must be"):
        evaluate(nr, "efns-pns-2010-mmn", comparison="sideways")
