"""A case is one patient: case keys, the refusal to mix patients, analyze grouped by case."""

import json
import re

import pytest
from click.testing import CliRunner

import nerveconduct as nc
from nerveconduct.io.pseudonym import file_pseudonym, pseudonymize
from nerveconduct.model import case_key
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli.main import main

MEDIAN_KEY = "P-8756f876d3"   # antimag.csv / normal_median.csv: the fake patient's pseudonym
NOISY_KEY = "P-c65e7d5007"    # noisy_median.txt: another fake patient


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def test_sample_keys_are_two_patients():
    assert {s.study_id for s in nc.read(sample_path("antimag.csv"))} == {MEDIAN_KEY}
    assert {s.study_id for s in nc.read(sample_path("noisy_median.txt"))} == {NOISY_KEY}


def test_sheet_case_id_is_every_study_case_key():
    studies = nc.read(sample_path("normal_case.json"))
    assert [s.study_id for s in studies] == ["SAMPLE-NORMAL", "SAMPLE-NORMAL"]
    # the export's own patient pseudonym is kept apart, never the name in clear
    assert studies[0].metadata["patient_key"] == MEDIAN_KEY
    assert "patient_key" not in studies[1].metadata  # the ulnar export names no patient
    assert all("patient_name" not in s.metadata for s in studies)


def test_file_without_patient_fields_is_one_case_per_file():
    (study,) = nc.read(sample_path("normal_ulnar.txt"))
    assert study.study_id == file_pseudonym("normal_ulnar.txt") == pseudonymize("file:normal_ulnar.txt")


def test_case_key_rule():
    assert case_key("SAMPLE-NORMAL", "F-0000000000") == "SAMPLE-NORMAL"
    assert case_key(None, "F-0000000000") == "F-0000000000"
    assert case_key("", "F-1") == "F-1"
    assert case_key(None) is None


def one_line_refusal(result):
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_report_refuses_two_patients(tmp_path):
    out = tmp_path / "mixed.html"
    result = run("report", sample_path("antimag.csv"), sample_path("noisy_median.txt"), "-o", out,
                 code=1)
    line = one_line_refusal(result)
    assert MEDIAN_KEY in line and NOISY_KEY in line and "--one-case" in line
    assert not out.exists()


def test_report_one_case_groups_deliberately(tmp_path):
    out = tmp_path / "mixed.html"
    run("report", sample_path("antimag.csv"), sample_path("noisy_median.txt"), "--one-case",
        "-o", out)
    assert out.exists()


def test_report_of_one_sheet_case_is_not_refused(tmp_path):
    run("report", sample_path("normal_case.json"), "-o", tmp_path / "n.html")


def test_two_patients_under_one_sheet_are_refused(tmp_path):
    """A sheet's case_id groups its files, but not two exports naming two patients."""
    other = tmp_path / "other.csv"
    other.write_text(sample_path("antimag.csv").read_text().replace("FAKE-000-0000", "FAKE-999-9999"))
    sheet = tmp_path / "case.json"
    entry = {"nerve": "median", "side": "left", "trace": [0, 1],
             "sites": [{"name": "Wrist", "distance_mm": 70}, {"name": "Elbow", "distance_mm": 230}]}
    sheet.write_text(json.dumps({"case_id": "ONE", "nerves": [
        dict(entry, file=str(sample_path("antimag.csv"))), dict(entry, file=str(other))]}))
    other_key = pseudonymize("FAKE^NOT-A-PATIENT", "FAKE-999-9999")
    assert [s.metadata["patient_key"] for s in nc.read(sheet)] == [MEDIAN_KEY, other_key]
    result = run("report", sheet, "-o", tmp_path / "r.html", code=1)
    line = one_line_refusal(result)
    assert MEDIAN_KEY in line and other_key in line
    # an export naming no patient joins the sheet's case
    sheet.write_text(json.dumps({"case_id": "ONE", "nerves": [
        dict(entry, file=str(sample_path("antimag.csv"))),
        {"file": str(sample_path("noisy_median.txt")), "nerve": "median", "side": "left"}]}))
    run("report", sheet, "-o", tmp_path / "r.html")


def test_analyze_table_groups_by_case():
    out = run("analyze", sample_path("antimag.csv"), sample_path("noisy_median.txt"),
              sample_path("normal_case.json"), "-f", "table").stdout
    heads = [ln for ln in out.splitlines() if ln.startswith("=== case")]
    assert heads == [f"=== case {MEDIAN_KEY}: 2 nerves ===", f"=== case {NOISY_KEY}: 1 nerve ===",
                     "=== case SAMPLE-NORMAL: 2 nerves ==="]
    assert out.count("patient level (this case's nerves together):") == 3
    # the patient-level verdicts of each case follow its own nerves
    first, second = out.split("=== case")[1:3]
    patient_part = first.split("patient level (this case's nerves together):")[1]
    assert "strongly supportive of demyelination" in patient_part  # antimag: definite
    assert "strongly supportive" not in second.split("patient level")[1]  # noisy: none


def test_analyze_json_cases():
    doc = json.loads(run("analyze", sample_path("antimag.csv"), sample_path("noisy_median.txt"),
                         "-f", "json").stdout)
    cases = doc["cases"]
    assert [c["case"] for c in cases] == [MEDIAN_KEY, NOISY_KEY]
    assert [c["nerve_positions"] for c in cases] == [[0, 1], [2]]
    assert [doc["nerves"][i]["study_id"] for i in cases[1]["nerve_positions"]] == [NOISY_KEY]
    rec = cases[0]["patient"]["ean-pns-2021-cidp"]
    assert rec["record"] == "patient" and rec["case_id"] == MEDIAN_KEY
    assert rec["level"] == "definite"
    assert cases[1]["patient"]["ean-pns-2021-cidp"]["level"] == "none"


def test_analyze_one_case_makes_one_group():
    doc = json.loads(run("analyze", sample_path("antimag.csv"), sample_path("noisy_median.txt"),
                         "--one-case", "-f", "json").stdout)
    assert [c["nerve_positions"] for c in doc["cases"]] == [[0, 1, 2]]


@pytest.mark.parametrize("command", [("score", "cidp-mag"), ("score", "mmn"), ("score", "cidp")])
def test_score_refuses_two_patients(command):
    result = run(*command, sample_path("antimag.csv"), sample_path("noisy_median.txt"), code=1)
    line = one_line_refusal(result)
    assert MEDIAN_KEY in line and NOISY_KEY in line and "--one-case" in line


def test_convert_keeps_case_key_and_demographics(tmp_path):
    sheet = json.loads(sample_path("normal_case.json").read_text())
    for entry in sheet["nerves"]:
        entry["file"] = str(sample_path(entry["file"]))
    sheet.update(age_years=61, height_cm=172, sex="female")
    (tmp_path / "case.json").write_text(json.dumps(sheet))
    out = tmp_path / "case.h5"
    run("convert", tmp_path / "case.json", out)
    with nc.open_archive(out) as archive:
        studies = list(archive)
        chunk = archive.read_chunk(0, 2)
    assert [s.study_id for s in studies] == ["SAMPLE-NORMAL", "SAMPLE-NORMAL"]
    assert [(s.age_years, s.height_cm, s.sex) for s in studies] == [(61.0, 172.0, "female")] * 2
    assert chunk.nerves["age_years"].tolist() == [61.0, 61.0]
    assert all("FAKE" not in repr(s.metadata) for s in studies)


def test_two_patients_sample_folder(tmp_path):
    a, b = sample_path("two_patients/patient_a_median.csv"), sample_path("two_patients/patient_b_median.csv")
    keys = [s.study_id for p in (a, b) for s in nc.read(p)]
    assert keys == [pseudonymize("FAKE^NOT-A-PATIENT", "FAKE-000-0001"),
                    pseudonymize("FAKE^NOT-A-PATIENT", "FAKE-000-0002")]
    line = one_line_refusal(run("report", a, b, "-o", tmp_path / "r.html", code=1))
    assert keys[0] in line and keys[1] in line
    out = run("analyze", a, b, "-f", "table").stdout
    assert [ln for ln in out.splitlines() if ln.startswith("=== case")] == [
        f"=== case {keys[0]}: 1 nerve ===", f"=== case {keys[1]}: 1 nerve ==="]


def test_demo_shows_the_patient_table():
    out = run("demo", "--no-report").stdout
    table = out.split("Patient table (nerveconduct batch ARCHIVE --table patient, one row per case):")[1]
    rows = {line.split()[0]: line for line in table.strip().splitlines()[1:]}
    # each rule set's own words for the patient (EAN/PNS 2021, EFNS/PNS 2010 CIDP, EFNS/PNS 2010 MMN)
    assert rows["SAMPLE-ANTIMAG"].split()[1] == "2"
    assert re.search(r"\s2\s+strongly supportive of demyelination\s+definite \(electrodiagnostic\)\s+no CB\s",
                     rows["SAMPLE-ANTIMAG"])
    assert re.search(r"\(electrodiagnostic\)\s+definite CB\s", rows["SAMPLE-MMN"])  # EFNS/PNS 2010 MMN
    assert rows["SAMPLE-NORMAL"].split()[1] == "2"   # one case, two nerves
    assert "values_case" not in out                  # a values table is no waveform case
