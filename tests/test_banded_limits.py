"""Normal limits banded by age and height apply by the patient's demographics; a patient
outside every band (or without the value a banded table needs) is said once per nerve."""

import json

import pytest
from click.testing import CliRunner

import nerveconduct as nc
from nerveconduct.limits import LimitRow, NormalLimits
from nerveconduct.model import NerveStudy, Site
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli.main import main

AGED = NormalLimits([
    LimitRow("ulnar", "ADM", 6.0, 3.3, 50.0, 31.0, 70.0, age_min_years=18, age_max_years=60),
    LimitRow("ulnar", "ADM", 5.5, 3.5, 47.0, 33.0, 70.0, age_min_years=60, age_max_years=80),
], name="aged", citation="test")
TALL = NormalLimits([
    LimitRow("ulnar", None, 6.0, 3.3, 50.0, 31.0, 70.0, height_max_cm=170),
    LimitRow("ulnar", None, 6.0, 3.3, 48.0, 33.0, 70.0, height_min_cm=170),
], name="tall", citation="test")


@pytest.mark.parametrize("age, cv", [(17.99, None), (18.0, 50.0), (18.01, 50.0), (59.99, 50.0),
                                     (60.0, 47.0), (60.01, 47.0), (79.99, 47.0), (80.0, None)])
def test_age_band_edges(age, cv):
    row, problem = AGED.match("ulnar", "ADM", age_years=age)
    assert (row.cv_lln_m_s if row else None) == cv
    assert (problem is None) == (cv is not None)
    if cv is None:
        assert f"age {age:g} years is outside every age band" in problem
        assert "18-60 years, 60-80 years" in problem


def test_missing_age_with_banded_table_is_a_problem():
    row, problem = AGED.match("ulnar", "ADM")
    assert row is None
    assert problem.startswith("age not given but the normal limits 'aged' for the ulnar nerve")
    assert "age_years" in problem


@pytest.mark.parametrize("height, cv", [(169.9, 50.0), (170.0, 48.0), (170.1, 48.0)])
def test_height_band_edges(height, cv):
    assert TALL.match("ulnar", height_cm=height)[0].cv_lln_m_s == cv


def test_unbanded_row_applies_to_everyone_and_banded_row_wins():
    t = NormalLimits([LimitRow("ulnar", None, 6.0), LimitRow("ulnar", None, 7.0, age_min_years=60)],
                     name="t", citation="x")
    assert t.match("ulnar", age_years=30)[0].amplitude_lln_mv == 6.0
    assert t.match("ulnar", age_years=65)[0].amplitude_lln_mv == 7.0
    assert t.match("ulnar")[0].amplitude_lln_mv == 6.0
    assert t.match("sural") == (None, None)


def test_band_must_be_ordered():
    with pytest.raises(ValueError, match="age_min_years .* must be below age_max_years"):
        LimitRow("ulnar", age_min_years=60, age_max_years=18)


def test_limits_file_height_columns(tmp_path):
    p = tmp_path / "lab.csv"
    p.write_text("nerve,amplitude_lln_mv,height_min_cm,height_max_cm\nulnar,6,150,190\n")
    (row,) = NormalLimits.from_file(p).rows
    assert (row.height_min_cm, row.height_max_cm) == (150.0, 190.0)


def test_study_demographics_checked():
    with pytest.raises(nc.InvalidStudyError, match="age_years"):
        NerveStudy("ulnar", "left", "ADM", [Site("wrist", 70)], [[0.0, 1.0]], 1000.0, age_years=-1)


def _ulnar(age):
    sim = nc.simulate_nerve((70.0, 200.0), site_names=("wrist", "below elbow"), seed=3)
    st = sim.to_studies()[0]
    return NerveStudy("ulnar", "left", "ADM", st.sites, st.traces, st.sampling_rate_hz,
                      stimulus_sample=st.stimulus_sample, age_years=age)


@pytest.mark.parametrize("age, expect_limit", [(59.9, 50.0), (60.0, 47.0), (85.0, None), (None, None)])
def test_analysis_applies_bands_and_flags_once(age, expect_limit):
    (result,) = nc.analyze_nerves([_ulnar(age)], limits=AGED)
    cv = result.limits["conduction_velocity"]
    band_flags = [f for f in result.flags if "band" in f or "not given" in f]
    if expect_limit is None:
        assert cv.limit is None
        assert len(band_flags) == 1  # once per nerve, not once per comparison
        assert ("outside every age band" if age else "age not given") in band_flags[0]
        assert cv.reason == "no normal limit for this patient's age/height (see the nerve's flags)"
    else:
        assert cv.limit == expect_limit
        assert band_flags == []


def test_cli_sheet_age_reaches_limits(tmp_path):
    limits = tmp_path / "aged_limits.csv"
    limits.write_text("nerve,muscle,amplitude_lln_mv,dml_uln_ms,cv_lln_m_s,f_wave_uln_ms,"
                      "distal_distance_mm,age_min_years,age_max_years\n"
                      "median,APB,4.5,4.2,50,30,70,18,60\nmedian,APB,4.0,4.5,47,32,70,60,\n")
    sheet = json.loads(sample_path("normal_case.json").read_text())
    sheet["nerves"] = sheet["nerves"][:1]
    sheet["nerves"][0]["file"] = str(sample_path("normal_median.csv"))
    runner = CliRunner()
    for age, expect in ((59, 50.0), (60, 47.0), (None, None)):
        if age is None:
            sheet.pop("age_years", None)
        else:
            sheet["age_years"] = age
        path = tmp_path / "case.json"
        path.write_text(json.dumps(sheet))
        res = runner.invoke(main, ["analyze", str(path), "--limits", str(limits), "-f", "json"])
        assert res.exit_code == 0, res.output
        nerve = json.loads(res.stdout)["nerves"][0]
        assert nerve["limits"]["conduction_velocity"]["limit"] == expect
        shown = [f for f in nerve["flags"] if "age" in f]
        assert len(shown) == (1 if expect is None else 0)
        table = runner.invoke(main, ["analyze", str(path), "--limits", str(limits), "-f", "table"])
        assert ("! age not given" in table.stdout) == (expect is None)
