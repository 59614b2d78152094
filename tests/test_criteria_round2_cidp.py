"""Round 2, CIDP rule sets: comparisons beyond a compression site, distal CMAP duration per
filter (EFNS/PNS 2010 I-G, EAN/PNS 2021 g), each at, just above and just below its threshold."""

from __future__ import annotations

import pytest

from nerveconduct.analysis import analyze_values
from nerveconduct.criteria import evaluate, evaluate_nerve, evaluate_patient
from nerveconduct.model import Site

EFNS, EAN = "efns-pns-2010-cidp", "ean-pns-2021-cidp"


def ulnar4(axilla_mv, above_mv=7.6, below_mv=7.8):
    return analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100),
                                    Site("axilla", 250)], [3.0, 7.0, 9.0, 13.0], [8.0, below_mv, above_mv, axilla_mv],
                          negative_peak_duration_ms=[5.0, 5.0, 5.0, 5.0])


def median_palm(elbow_mv):
    return analyze_values("median", [Site("palm", 40), Site("wrist", 70), Site("elbow", 230)], [2.5, 3.5, 7.5],
                          [6.5, 6.0, elbow_mv], negative_peak_duration_ms=[5.0, 5.0, 5.0])


# --- I-E / (e) beyond a compression site ----------------------------------------------------
def test_EFNS_2010_CIDP_I_E_compression_site_proximal_block():
    nv = evaluate_nerve(ulnar4(3.0), EFNS)  # 7.6 -> 3.0 above elbow -> axilla: 60.5 %
    assert nv.items["I-E"].met is True
    assert "above elbow\u2013axilla" in nv.items["I-E"].reasons[0]
    segs = evaluate(ulnar4(3.0), EFNS)
    assert segs[1].excluded_by == "entrapment" and segs[2].level == "met" and "I-E" in segs[2].items
    assert any("nearest site proximal to the compression site" in r for r in segs[2].reasons)


@pytest.mark.parametrize("axilla, met", [(3.8, True), (3.79, True), (3.81, False)])
def test_EFNS_2010_CIDP_I_E_beyond_compression_at_50pct(axilla, met):
    # 50 % of the above-elbow 7.6 mV is 3.8 mV (inclusive)
    assert evaluate_nerve(ulnar4(axilla), EFNS).items["I-E"].met is met


@pytest.mark.parametrize("axilla, met", [(5.32, True), (5.31, True), (5.33, False)])
def test_EAN_2021_CIDP_e_beyond_compression_at_30pct(axilla, met):
    assert evaluate_nerve(ulnar4(axilla), EAN).items["e"].met is met


def test_EFNS_2010_CIDP_I_E_palm_site_wrist_elbow_block_graded():
    segs = evaluate(median_palm(2.4), EFNS)
    assert segs[0].excluded_by == "entrapment"
    assert segs[1].segment == "wrist\u2013elbow" and "I-E" in segs[1].items  # 60 % drop from the wrist


@pytest.mark.parametrize("elbow, met", [(3.0, True), (2.99, True), (3.01, False)])
def test_EFNS_2010_CIDP_I_E_palm_site_at_50pct(elbow, met):
    assert evaluate_nerve(median_palm(elbow), EFNS).items["I-E"].met is met


@pytest.mark.parametrize("elbow, met", [(4.2, True), (4.19, True), (4.21, False)])
def test_EAN_2021_CIDP_e_palm_site_at_30pct(elbow, met):
    assert evaluate_nerve(median_palm(elbow), EAN).items["e"].met is met


def test_EFNS_2010_CIDP_I_E_excluded_option_leaves_beyond_unassessed():
    nv = evaluate_nerve(ulnar4(3.0), EFNS, beyond_compression="excluded")
    assert nv.items["I-E"].met is None  # never "not met": the excluded comparisons could carry it
    segs = evaluate(ulnar4(3.0), EFNS, beyond_compression="excluded")
    assert [s.excluded_by for s in segs] == [None, "entrapment", "entrapment"]
    with pytest.raises(ValueError, match="beyond_compression"):
        evaluate(ulnar4(3.0), EFNS, beyond_compression="sideways")


def test_EFNS_2010_CIDP_I_E_not_assessable_when_excluded_comparison_could_carry_it():
    nr = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100)],
                        [3.0, 7.0, 9.0], [8.0, 7.8, 3.0], negative_peak_duration_ms=[5.0, 5.0, 5.0])
    item = evaluate_nerve(nr, EFNS).items["I-E"]
    assert item.met is None and "could carry it" in item.reasons[0]
    no_drop = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100)],
                             [3.0, 7.0, 9.0], [8.0, 7.8, 7.7], negative_peak_duration_ms=[5.0, 5.0, 5.0])
    assert evaluate_nerve(no_drop, EFNS).items["I-E"].met is False  # nothing there could carry it


def test_EAN_2021_CIDP_e_not_assessable_when_excluded_comparison_could_carry_it():
    nr = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100)],
                        [3.0, 7.0, 9.0], [8.0, 7.8, 5.0], negative_peak_duration_ms=[5.0, 5.0, 5.0])
    assert evaluate_nerve(nr, EAN).items["e"].met is None


def test_EFNS_2010_CIDP_definite_from_two_blocks_beyond_compression_sites():
    left, right = ulnar4(3.0), ulnar4(3.0)
    left = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100),
                                    Site("axilla", 250)], [3.0, 7.0, 9.0, 13.0], [8.0, 7.8, 7.6, 3.0],
                          negative_peak_duration_ms=[5.0] * 4, side="left")
    right = analyze_values("ulnar", [Site("wrist", 70), Site("below elbow", 200), Site("above elbow", 100),
                                     Site("axilla", 250)], [3.0, 7.0, 9.0, 13.0], [8.0, 7.8, 7.6, 3.0],
                           negative_peak_duration_ms=[5.0] * 4, side="right")
    assert evaluate_patient([left, right], EFNS).level == "definite"


# --- I-G (2010): no filter condition --------------------------------------------------------
def nerve_cmap(name, cmap, lff):
    return analyze_values(name, [Site("wrist" if name in ("median", "ulnar") else "ankle", 70),
                                 Site("elbow" if name == "median" else "below elbow" if name == "ulnar"
                                      else "below fibular head" if name == "fibular" else "knee", 230)],
                          [3.5, 7.5], [6.0, 5.8], cmap_duration_ms=[cmap, cmap], low_frequency_filter_hz=lff)


@pytest.mark.parametrize("name, cutoff", [("median", 6.6), ("ulnar", 6.7), ("fibular", 7.6), ("tibial", 8.8)])
@pytest.mark.parametrize("lff", [None, 2.0, 20.0, 3.0])
def test_EFNS_2010_CIDP_I_G_distal_cmap_duration_any_filter(name, cutoff, lff):
    item = lambda ms: evaluate_nerve(nerve_cmap(name, ms, lff), EFNS).items["I-G"].met  # noqa: E731
    assert item(cutoff) is True and item(cutoff + 0.01) is True and item(cutoff - 0.01) is False


# --- (g) (2021): one row per low-frequency filter -------------------------------------------
ROWS = {2.0: {"median": 8.4, "ulnar": 9.6, "fibular": 8.8, "tibial": 9.2},
        5.0: {"median": 8.0, "ulnar": 8.6, "fibular": 8.5, "tibial": 8.3},
        10.0: {"median": 7.8, "ulnar": 8.5, "fibular": 8.3, "tibial": 8.2},
        20.0: {"median": 7.4, "ulnar": 7.8, "fibular": 8.1, "tibial": 8.0}}


@pytest.mark.parametrize("lff", sorted(ROWS))
@pytest.mark.parametrize("name", ["median", "ulnar", "fibular", "tibial"])
def test_EAN_2021_CIDP_g_distal_cmap_duration_per_filter(lff, name):
    cutoff = ROWS[lff][name]
    item = lambda ms: evaluate_nerve(nerve_cmap(name, ms, lff), EAN).items["g"]  # noqa: E731
    assert item(cutoff).met is False  # "> cut-off": the cut-off itself is not enough
    assert item(cutoff + 0.01).met is True and item(cutoff - 0.01).met is False
    assert f"{lff:g} Hz" in item(cutoff + 0.01).reasons[0]


def test_EAN_2021_CIDP_g_filter_without_a_row_not_assessable():
    item = evaluate_nerve(nerve_cmap("median", 12.0, 3.0), EAN).items["g"]
    assert item.met is None and "no cut-off for a 3 Hz" in item.reasons[0]


def test_EAN_2021_CIDP_g_filter_not_recorded():
    assert evaluate_nerve(nerve_cmap("median", 8.41, None), EAN).items["g"].met is True  # > every row
    assert evaluate_nerve(nerve_cmap("median", 7.4, None), EAN).items["g"].met is False  # > no row
    mid = evaluate_nerve(nerve_cmap("median", 8.0, None), EAN).items["g"]
    assert mid.met is None and "depends on it" in mid.reasons[0]
