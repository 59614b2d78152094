"""Immunoparesis grade of the uninvolved immunoglobulins (docs/criteria.md, immunoparesis)."""

from __future__ import annotations

import pytest

from nerveconduct.scores.cidp_mag import immunoparesis_grade

LLN = {"IgG": 7.0, "IgA": 0.7, "IgM": 0.4}


@pytest.mark.parametrize("igg, iga, grade", [(7.0, 0.7, "none"), (6.99, 0.7, "mild"), (6.99, 0.69, "moderate")])
def test_immunoparesis_igm_m_protein_counts_igg_and_iga(igg, iga, grade):
    # IgM-κ M-protein (anti-MAG context): only IgG and IgA are uninvolved; at the LLN is not low
    g = immunoparesis_grade(igg, iga, 15.0, "IgM", LLN)
    assert g.grade == grade
    assert g.uninvolved == ("IgG", "IgA")


def test_immunoparesis_no_heavy_chain_three_low():
    severe = immunoparesis_grade(3.49, 0.6, 0.3, None, LLN)  # IgG < 50% of 7.0
    assert severe.grade == "severe" and severe.below_half_lln == ("IgG",)
    not_half = immunoparesis_grade(3.5, 0.6, 0.3, None, LLN)  # exactly 50%: not below
    assert not_half.grade == "moderate"
    assert any("none < 50% of LLN" in r for r in not_half.reasons)
    very = immunoparesis_grade(3.0, 0.6, 0.05, None, LLN, detection_limit={"IgM": 0.05})
    assert very.grade == "very severe" and very.at_detection_limit == ("IgM",)


def test_immunoparesis_reasons_name_each_value():
    g = immunoparesis_grade(5.1, 0.5, 12.0, "igm", LLN)
    assert g.reasons[0] == "M-protein IgM: uninvolved IgG, IgA; 2 below LLN: moderate"
    assert "IgG 5.1 < LLN 7 (73% of LLN)" in g.reasons


def test_immunoparesis_errors():
    with pytest.raises(ValueError, match=r"involved must be one of \['IgG', 'IgA', 'IgM'\], got 'IgD'"):
        immunoparesis_grade(5.0, 0.5, 1.0, "IgD", LLN)
    with pytest.raises(ValueError, match="lln has no lower limit of normal for IgA"):
        immunoparesis_grade(5.0, 0.5, 1.0, "IgM", {"IgG": 7.0})
    with pytest.raises(ValueError, match=r"IgG \(uninvolved, a concentration\) must be a finite "
                                         r"number >= 0, got None"):
        immunoparesis_grade(None, 0.5, 1.0, "IgM", LLN)
    with pytest.raises(ValueError, match=r"got 'igd'; did you mean 'IgD'\?|got 'igx'"):
        immunoparesis_grade(5.0, 0.5, 1.0, "igx", LLN)
