"""EFNS/PNS 2010 MMN conduction-block rules, on hand-computed nerves (analyze_values).

Median LLN 4.0 mV, ulnar LLN 6.0 mV (default Preston & Shapiro table). Every threshold is
tested just below, at and just above, with the guideline's wording (≥ vs >).
"""

from __future__ import annotations

import pytest

from nerveconduct.criteria import evaluate, evaluate_patient
from nerveconduct.limits import LimitRow, NormalLimits
from nerveconduct.model import Site
from nerveconduct.analysis import analyze_values

MMN = "efns-pns-2010-mmn"


def nerve(area=(20.0, 10.0), dur=(5.0, 5.0), amp=(6.0, 3.0), *, name="median",
          sites=(("wrist", 70.0), ("elbow", 230.0)), side="right", limits=None):
    """A nerve with one value per site; latencies follow a 55 m/s conduction."""
    lat, t = [], 3.5
    for i, (_, d) in enumerate(sites):
        t = t if i == 0 else t + d / 55.0
        lat.append(t)
    return analyze_values(name, [Site(n, d) for n, d in sites], lat, list(amp),
                          negative_peak_area_mv_ms=list(area), negative_peak_duration_ms=list(dur),
                          side=side, limits=limits)


def verdict(nr, **kw):
    return evaluate(nr, MMN, **kw)


@pytest.mark.parametrize("prox_area, level", [(10.02, "probable"), (10.0, "definite"), (9.98, "definite")])
def test_efns2010_mmn_definite_area_50pct(prox_area, level):
    # 100·(1 − 10.02/20) = 49.9% (below: the long-segment probable rule still holds),
    # 50.0% (at: ≥ 50% is definite), 50.1% (above)
    v = verdict(nerve(area=(20.0, prox_area)))[0]
    assert v.level == level
    assert ("definite CB" in v.items) == (level == "definite")


@pytest.mark.parametrize("prox_dur, level", [(6.49, "definite"), (6.5, "definite"), (6.51, "probable")])
def test_efns2010_mmn_definite_duration_increase_30pct(prox_dur, level):
    # duration 5.0 -> 6.49 / 6.5 / 6.51 ms = 29.8% / 30.0% / 30.2%: definite needs ≤ 30%;
    # above it the ">=50% area with duration >30%" probable item takes over
    v = verdict(nerve(area=(20.0, 8.0), dur=(5.0, prox_dur)))[0]
    assert v.level == level
    if level == "probable":
        assert "probable CB (dispersed)" in v.items
        assert any("duration increase 30.2% not ≤ 30%" in r for r in v.reasons)


@pytest.mark.parametrize("distal_mv, definite", [(0.99, False), (1.0, False), (1.01, True)])
def test_efns2010_mmn_definite_distal_amplitude_above_1mv(distal_mv, definite):
    # median LLN 4.0 mV: 20% LLN = 0.8 mV, so the > 1 mV condition is the binding one
    v = verdict(nerve(area=(20.0, 8.0), amp=(distal_mv, 0.5)))[0]
    assert ("definite CB" in v.items) is definite
    if not definite:
        assert any(f"distal amplitude {distal_mv:.2f} mV not > 1 mV" in r for r in v.reasons)


@pytest.mark.parametrize("distal_mv, definite", [(1.19, False), (1.2, False), (1.21, True)])
def test_efns2010_mmn_definite_distal_amplitude_above_20pct_lln(distal_mv, definite):
    # ulnar LLN 6.0 mV: 20% = 1.2 mV (> 1 mV, so the % LLN condition binds); ">" excludes 1.2
    nr = nerve(area=(20.0, 8.0), amp=(distal_mv, 0.6), name="ulnar",
               sites=(("wrist", 70.0), ("below elbow", 200.0)))
    v = verdict(nr)[0]
    assert ("definite CB" in v.items) is definite
    assert any("of LLN 6 mV" in r for r in v.reasons)


@pytest.mark.parametrize("prox_area, level", [(14.02, "none"), (14.0, "probable"), (13.98, "probable")])
def test_efns2010_mmn_probable_area_30pct_long_segment(prox_area, level):
    # 29.9% / 30.0% / 30.1% area drop over wrist–elbow with duration +0%
    v = verdict(nerve(area=(20.0, prox_area)))[0]
    assert v.level == level
    assert ("probable CB (long segment)" in v.items) == (level == "probable")


def test_efns2010_mmn_probable_long_segment_elbow_axilla_counts():
    nr = nerve(area=(20.0, 20.0, 12.0), amp=(6.0, 6.0, 4.0),
               sites=(("wrist", 70.0), ("elbow", 230.0), ("axilla", 120.0)), dur=(5.0, 5.0, 5.0))
    v = verdict(nr)
    assert [x.level for x in v] == ["none", "probable"]  # 40% over elbow–axilla


def test_efns2010_mmn_probable_long_segment_not_in_lower_limb():
    # a 40% area drop in a fibular segment is not a long upper-limb segment: no level
    nr = nerve(area=(20.0, 12.0), amp=(4.0, 3.0), name="fibular",
               sites=(("ankle", 90.0), ("below fibular head", 300.0)))
    v = verdict(nr)[0]
    assert v.level == "none"
    assert any("not applicable (applies to the median, ulnar, radial nerve(s) only)" in r for r in v.reasons)


@pytest.mark.parametrize("prox_dur, probable", [(6.5, False), (6.51, True)])
def test_efns2010_mmn_probable_area_50pct_duration_over_30pct(prox_dur, probable):
    # 60% area drop: duration +30.0% is still definite (≤ 30%); +30.2% makes it probable
    v = verdict(nerve(area=(20.0, 8.0), dur=(5.0, prox_dur)))[0]
    assert ("probable CB (dispersed)" in v.items) is probable
    assert v.level == ("probable" if probable else "definite")


def test_efns2010_mmn_reason_reads_rule_threshold_and_value():
    v = verdict(nerve(area=(20.0, 7.6), dur=(5.0, 5.4), amp=(6.1, 2.9)))[0]
    assert v.level == "definite"
    assert v.label == "definite CB"
    assert v.reasons[0] == ("EFNS/PNS 2010 MMN definite CB: area drop 62.0% ≥ 50%; duration increase "
                            "8.0% ≤ 30%; distal amplitude 6.10 mV > 1 mV and > 20% of LLN 4 mV (152.5%)")


def test_efns2010_mmn_entrapment_ulnar_elbow_excluded_then_graded_on_request():
    nr = nerve(area=(20.0, 19.8, 8.0), amp=(8.0, 7.9, 3.0), dur=(5.0, 5.0, 5.2), name="ulnar",
               sites=(("wrist", 70.0), ("below elbow", 200.0), ("above elbow", 100.0)))
    v = verdict(nr)[1]
    assert v.level == "not-assessable" and v.excluded_by == "entrapment"
    assert "across a compression site: ulnar across the elbow" in v.reasons[0]
    graded = verdict(nr, exclude_entrapment=False)[1]
    assert graded.level == "definite"
    assert any("across a compression site: ulnar across the elbow" in r for r in graded.reasons)


def test_efns2010_mmn_erbs_point_excluded_by_default():
    nr = nerve(area=(20.0, 19.5, 19.0, 7.0), amp=(6.0, 5.9, 5.8, 2.5), dur=(5.0, 5.0, 5.1, 5.3),
               sites=(("wrist", 70.0), ("elbow", 230.0), ("axilla", 120.0), ("Erb's point", 150.0)))
    v = verdict(nr)[2]
    assert v.level == "not-assessable" and v.excluded_by == "erbs-point"
    assert v.reasons[0].endswith("from Erb's point: submaximal stimulation likely; excluded by default "
                                 "(included on request)")  # no Python keyword in a user's text
    assert verdict(nr, include_erbs_point=True)[2].level == "definite"


def test_efns2010_mmn_absent_proximal_is_not_quantified():
    nr = nerve(area=(20.0, None), amp=(6.0, 0.0))
    v = verdict(nr)[0]
    assert v.level == "not-assessable"
    assert v.excluded_by is None
    assert "cannot be quantified beyond 'absent'" in v.reasons[0]
    assert "%" not in " ".join(v.reasons)  # never a made-up percentage


def test_efns2010_mmn_absent_distal_not_assessable():
    v = verdict(nerve(area=(None, 10.0), amp=(0.0, 3.0)))[0]
    assert v.level == "not-assessable"
    assert "distal response absent" in v.reasons[0]


def test_efns2010_mmn_missing_area_not_assessable_with_reason():
    v = verdict(nerve(area=(20.0, None)))[0]
    assert v.level == "not-assessable"
    assert any("area drop not available" in r for r in v.reasons)
    assert v.reasons[-1] == "measurement notes: area not available"  # the segment's own flags


def test_efns2010_mmn_missing_lln_blocks_only_the_definite_item():
    limits = NormalLimits([LimitRow("median", "APB", None, 4.4, 49.0, 31.0, 70.0)], name="no-amp", citation="test")
    v = verdict(nerve(area=(20.0, 8.0), limits=limits))[0]
    assert v.level == "probable"  # long-segment probable needs no LLN
    assert any("definite CB not assessable" in r and "% of LLN unknown" in r for r in v.reasons)


def test_efns2010_mmn_patient_level_strongest_nerve_wins():
    definite = nerve(area=(20.0, 8.0), side="left")
    none = nerve(area=(20.0, 19.0), side="right")
    p = evaluate_patient([none, definite], MMN)
    assert p.level == "definite" and p.label == "definite CB"
    assert p.nerves == ("left median",)
    assert any("sensory nerve conduction must be normal" in r for r in p.reasons)
    assert evaluate_patient([none], MMN).level == "none"
    assert evaluate_patient([], MMN).level == "not-assessable"
