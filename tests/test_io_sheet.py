"""Study sheets: JSON/TOML loading, validation errors, filling studies from a sheet."""

import numpy as np
import pytest

from nerveconduct.io.errors import SheetError
from nerveconduct.io.sheet import load_sheet, parse_sheet
from nerveconduct.io.sheet_apply import apply_sheet
from nerveconduct.model import NerveStudy, Site

TOML = """
case_id = "CASE-1"
study_date = "2025-09-30"
[clinical]
ataxia = true
tremor = "unknown"
[paraprotein]
m_protein = "IgM-kappa"
igg = { value = 5.0, unit = "g/L", lln = 7.0 }
[[nerves]]
file = "m.csv"
nerve = "median"
side = "right"
temperature_c = 32.0
sites = [{ name = "wrist", distance_mm = 70 }, { name = "elbow", distance_mm = 230 }]
"""


def _study(n_sites=2, nerve="median", side="right", names=None, dists=None, **meta):
    names = names or [f"site {i + 1}" for i in range(n_sites)]
    dists = dists or [None] * n_sites
    return NerveStudy(nerve, side, None, [Site(n, d) for n, d in zip(names, dists)],
                      np.arange(n_sites * 10.0).reshape(n_sites, 10), 1000.0,
                      metadata={"source_file": "m.csv", "source_traces": list(range(n_sites)),
                                "missing_fields": ["site_names", "distances", "muscle"], **meta})


class TestLoad:
    def test_toml_and_json_agree(self, tmp_path):
        t = tmp_path / "s.toml"
        t.write_text(TOML)
        sheet = load_sheet(t)
        assert sheet.case_id == "CASE-1" and sheet.study_date == "2025-09-30"
        assert sheet.clinical == {"ataxia": True, "tremor": None}
        assert sheet.paraprotein == {"m_protein": "IgM-kappa", "igg": 5.0, "igg_unit": "g/L",
                                     "igg_lln": 7.0}
        (e,) = sheet.nerves
        assert (e.file, e.nerve, e.side, e.temperature_c) == ("m.csv", "median", "right", 32.0)
        assert [(s.name, s.distance_mm) for s in e.sites] == [("wrist", 70.0), ("elbow", 230.0)]
        j = tmp_path / "s.json"
        j.write_text('{"case_id": "CASE-1", "nerves": [{"nerve": "ulnar", "record": [3, 4]}]}')
        assert load_sheet(j).nerves[0].selector == (3, 4)

    @pytest.mark.parametrize("text, match, location", [
        ('{"case_id": 1,\n "nerves": [}', r"invalid JSON", "line 2"),
        ('case_id = \n', r"invalid TOML", "line 1"),
        ('{"nerves": [{"distance": 70}]}', r"unknown key\(s\) \['distance'\]; allowed", "nerves[0]"),
        ('{"nerves": [{"sites": [{"name": "w", "distance_mm": -5}]}]}',
         r"positive number, got -5", "nerves[0].sites[0].distance_mm"),
        ('{"nerves": [{"side": "up"}]}', r"side must be 'left' or 'right', got 'up'", "nerves[0].side"),
        ('{"clinical": {"ataxia": "yes"}}', r"true, false or \"unknown\"", "clinical.ataxia"),
        ('{"study_date": "30/09/2025"}', r"ISO date", "study_date"),
        ('{"nerves": [{"trace": -1}]}', r"index >= 0", "nerves[0]"),
        ('', r"empty sheet", "line 1"),
        ('{"paraprotein": {"igm": {"value": "high"}}}', r"must be a number, got 'high'",
         "paraprotein.igm.value"),
    ])
    def test_raises(self, tmp_path, text, match, location):
        p = tmp_path / ("s.json" if text.startswith("{") else "s.toml")
        p.write_text(text)
        with pytest.raises(SheetError, match=match) as err:
            load_sheet(p)
        assert err.value.location == location and err.value.path == str(p)


class TestApply:
    def test_fills_missing(self, tmp_path):
        sheet = parse_sheet({"case_id": "C", "study_date": "2025-01-01", "nerves": [
            {"file": "m.csv", "muscle": "APB", "temperature_c": 31.0, "sites": [
                {"name": "wrist", "distance_mm": 70}, {"name": "elbow", "distance_mm": 230}]}]})
        (s,) = apply_sheet([_study()], sheet, source_file="m.csv")
        assert [(x.name, x.distance_mm) for x in s.sites] == [("wrist", 70.0), ("elbow", 230.0)]
        assert (s.muscle, s.temperature_c) == ("APB", 31.0)
        assert s.metadata["missing_fields"] == [] and s.metadata["study_date"] == "2025-01-01"
        assert s.metadata["sheet_entry"] == 0

    def test_file_values_win_and_conflicts_are_listed(self):
        sheet = parse_sheet({"nerves": [{"nerve": "median", "sites": [
            {"name": "wrist", "distance_mm": 70}, {"name": "elbow", "distance_mm": 240}]}]})
        study = _study(names=["Wrist", "Elbow"], dists=[70.0, 230.0], missing_fields=["muscle"])
        (s,) = apply_sheet([study], sheet, source_file="other.csv")
        assert [x.distance_mm for x in s.sites] == [70.0, 230.0]
        assert s.metadata["sheet_conflicts"] == ["site 1 distance_mm: file 230.0, sheet 240.0"]
        assert [x.name for x in s.sites] == ["Wrist", "Elbow"]

    def test_site_count_mismatch(self):
        sheet = parse_sheet({"nerves": [{"nerve": "median", "sites": [
            {"name": "wrist", "distance_mm": 70}]}]})
        with pytest.raises(SheetError, match="sheet lists 1 sites but the file 'm.csv' holds 2"):
            apply_sheet([_study()], sheet, source_file="m.csv")

    def test_nerve_conflict(self):
        sheet = parse_sheet({"nerves": [{"file": "m.csv", "nerve": "ulnar"}]})
        with pytest.raises(SheetError, match="sheet says nerve 'ulnar' but the file"):
            apply_sheet([_study()], sheet, source_file="m.csv")

    def test_matching_by_nerve_and_side(self):
        sheet = parse_sheet({"nerves": [
            {"nerve": "ulnar", "side": "left", "temperature_c": 30.0},
            {"nerve": "median", "side": "left", "temperature_c": 31.0},
            {"nerve": "median", "side": "right", "temperature_c": 32.0}]})
        got = apply_sheet([_study(), _study(nerve="ulnar", side="left"),
                           _study(nerve="fibular")], sheet, source_file="x.csv")
        assert [s.temperature_c for s in got] == [32.0, 30.0, None]

    def test_ambiguous_match(self):
        sheet = parse_sheet({"nerves": [{"nerve": "median"}, {"nerve": "median"}]})
        with pytest.raises(SheetError, match="2 entries .* match"):
            apply_sheet([_study()], sheet, source_file="x.csv")

    def test_selector_splits_one_file_into_nerves(self):
        sheet = parse_sheet({"nerves": [
            {"file": "m.csv", "nerve": "median", "trace": [0, 1]},
            {"file": "m.csv", "nerve": "ulnar", "trace": [2, 3, 4]}]})
        study = _study(n_sites=5, nerve="unknown", side=None)
        a, b = apply_sheet([study], sheet, source_file="m.csv")
        assert (a.nerve, a.n_sites, b.nerve, b.n_sites) == ("median", 2, "ulnar", 3)
        np.testing.assert_array_equal(b.traces, study.traces[2:])
        assert b.metadata["source_traces"] == [2, 3, 4]
        bad = parse_sheet({"nerves": [{"file": "m.csv", "trace": [4, 9]}]})
        with pytest.raises(SheetError, match=r"indices \[4, 9\]"):
            apply_sheet([study], bad, source_file="m.csv")


class TestCaseDetails:
    def test_keys_reach_the_case_details(self):
        sheet = parse_sheet({"age_years": 61, "height_cm": 170.5, "sex": "female",
                             "indication": "tingling", "referring_physician": "Dr R",
                             "technician": "T", "interpreting_physician": "Dr I",
                             "impression": "normal study", "notes": ["warm", "calm"],
                             "nerves": [{"nerve": "median", "side": "left", "notes": "cold"}]})
        assert sheet.case_details() == {
            "age_years": 61.0, "height_cm": 170.5, "sex": "female", "indication": "tingling",
            "referring_physician": "Dr R", "technician": "T", "interpreting_physician": "Dr I",
            "impression": "normal study", "notes": "warm\ncalm\nleft median: cold"}
        assert parse_sheet({}).case_details() == {}

    @pytest.mark.parametrize("data, location", [
        ({"age_years": -1}, "age_years"), ({"age_years": 200}, "age_years"),
        ({"height_cm": "tall"}, "height_cm"), ({"sex": 1}, "sex"),
        ({"notes": [1]}, "notes[0]"), ({"impression": {"a": 1}}, "impression")])
    def test_bad_values(self, data, location):
        with pytest.raises(SheetError) as info:
            parse_sheet(data)
        assert location in str(info.value)

    def test_read_case_fills_the_case(self, tmp_path):
        from nerveconduct.io.read import read_case
        import nerveconduct

        src = nerveconduct.sample_path("mmn_case.toml")
        text = open(src, encoding="utf-8").read().replace(
            'study_date = "2025-09-30"', 'study_date = "2025-09-30"\nage_years = 40\ntechnician = "T"')
        (tmp_path / "case.toml").write_text(text)
        (tmp_path / "mmn_ulnar.edf").write_bytes(open(nerveconduct.sample_path("mmn_ulnar.edf"), "rb").read())
        case = read_case(tmp_path / "case.toml")
        assert case.age_years == 40.0 and case.technician == "T" and case.impression is None
