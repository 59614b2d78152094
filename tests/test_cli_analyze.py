"""``nerveconduct analyze`` through click's CliRunner: formats, figures, failures, exit codes."""

import csv
import io
import json

import pytest

from nerveconduct.io import source_key

from nerveconduct.criteria import evaluate_nerve, list_rule_sets
from nerveconduct.io.read import read
from nerveconduct.simulate.samples import FAKE_PATIENT_NAME, sample_path
from nerveconduct.analysis import analyze_nerves
from nerveconduct.serialize import nerve_record, segment_columns
from _cli import run

DEFAULT = ["efns-pns-2010-mmn", "ean-pns-2021-cidp"]


def jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def one_error_line(result, *needles):
    """The error is one line (the last on stderr), naming what failed; no traceback."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def bad_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Test Name,NCV\nTest Item,Right Median Motor\nTrace Data (uV),abc\n")
    return path


class TestFormats:
    def test_default_is_jsonl_when_stdout_is_not_a_terminal(self):
        out = run("analyze", sample_path("mmn_case.toml")).stdout
        (rec,) = jsonl(out)  # stdout carries nothing but results
        assert rec["record"] == "nerve" and rec["nerve"] == "ulnar" and rec["side"] == "left"
        assert set(rec["verdicts"]) == set(DEFAULT)

    def test_cli_record_is_the_library_record(self):
        path = sample_path("mmn_case.toml")
        (cli_rec,) = jsonl(run("analyze", path, "-f", "jsonl").stdout)
        (result,) = analyze_nerves(read(path))
        lib = nerve_record(result, {rid: evaluate_nerve(result, rid) for rid in DEFAULT},
                           source=source_key(path))  # outputs name files by their key
        assert cli_rec == json.loads(json.dumps(lib))

    def test_mmn_sample_figures(self):
        (rec,) = jsonl(run("analyze", sample_path("mmn_case.toml")).stdout)
        first, second = rec["segments"]
        assert first["segment"] == "Wrist\u2013Below Elbow"
        assert first["area_drop_pct"] == pytest.approx(62.8, abs=3)
        assert first["amplitude_drop_pct"] == pytest.approx(63.0, abs=3)
        assert first["duration_increase_pct"] == pytest.approx(3.4, abs=3)
        assert first["conduction_velocity_m_s"] == pytest.approx(59, abs=2)
        assert first["verdicts"]["efns-pns-2010-mmn"]["level"] == "definite"
        assert second["verdicts"]["efns-pns-2010-mmn"]["excluded_by"] == "entrapment"
        assert rec["distal_motor_latency_ms"] == pytest.approx(3.47, abs=0.15)
        assert rec["terminal_latency_index"] == pytest.approx(0.34, abs=0.02)

    def test_json_document(self):
        doc = json.loads(run("analyze", sample_path("normal_case.json"), sample_path("cidp_median.edf"),
                             "-f", "json").stdout)
        assert doc["criteria"] == DEFAULT and doc["limits"] == "preston-shapiro"
        assert [n["nerve"] for n in doc["nerves"]] == ["median", "ulnar", "median"]
        assert doc["failures"] == [] and doc["schema_version"] == 1

    def test_csv_segments(self):
        out = run("analyze", sample_path("normal_case.json"), "-f", "csv").stdout
        reader = csv.DictReader(io.StringIO(out))
        assert reader.fieldnames == segment_columns(DEFAULT) + ["error_type", "error"]
        rows = list(reader)
        assert [r["segment"] for r in rows] == ["Wrist\u2013Elbow", "Wrist\u2013Below Elbow",
                                                "Below Elbow\u2013Above Elbow"]
        assert float(rows[0]["conduction_velocity_m_s"]) == pytest.approx(63, abs=2)
        assert rows[2]["across_entrapment_site"] == "true"
        assert rows[2]["verdict_efns-pns-2010-mmn_excluded_by"] == "entrapment"

    def test_csv_nerves_and_sites(self):
        nerves = list(csv.DictReader(io.StringIO(run(
            "analyze", sample_path("antimag_case.toml"), "-f", "csv", "--table", "nerve").stdout)))
        assert [r["nerve"] for r in nerves] == ["median", "ulnar"]
        assert all(float(r["terminal_latency_index"]) < 0.2 for r in nerves)
        assert nerves[0]["distal_motor_latency_abnormal"] == "true"
        sites = list(csv.DictReader(io.StringIO(run(
            "analyze", sample_path("absent_proximal.h5"), "-f", "csv", "--table", "site").stdout)))
        assert [(r["name"], r["present"], r["flag_names"]) for r in sites] == [
            ("Ankle", "true", ""), ("Popliteal Fossa", "false", "ABSENT")]
        assert sites[1]["onset_latency_ms"] == ""

    def test_table_for_people(self):
        out = run("analyze", sample_path("mmn_case.toml"), "-f", "table").stdout
        assert "left ulnar (ADM)" in out and "DML 3.4" in out
        assert "Wrist\u2013Below Elbow: definite CB" in out
        assert "area drop 62." in out  # the reason with the measured value

    def test_criteria_all_and_none(self):
        (rec,) = jsonl(run("analyze", sample_path("mmn_case.toml"), "--criteria", "all").stdout)
        assert set(rec["verdicts"]) == {r.id for r in list_rule_sets()}
        (rec,) = jsonl(run("analyze", sample_path("mmn_case.toml"), "--criteria", "none").stdout)
        assert rec["verdicts"] == {} and rec["segments"][0]["verdicts"] == {}

    def test_lab_limits_file(self, tmp_path):
        limits = tmp_path / "lab.csv"
        limits.write_text("nerve,amplitude_lln_mv,dml_uln_ms,cv_lln_m_s\nulnar,8.0,3.0,60\n")
        doc = json.loads(run("analyze", sample_path("mmn_case.toml"), "--limits", limits,
                             "-f", "json").stdout)
        assert doc["limits"] == "lab"
        amp = doc["nerves"][0]["limits"]["distal_amplitude"]
        assert (amp["limit"], amp["abnormal"]) == (8.0, True)  # 7.0 mV < 8 mV

    def test_identifiers_only_with_keep_identifiers(self):
        path = sample_path("normal_median.csv")
        out = run("analyze", path).stdout
        assert "FAKE" not in out and jsonl(out)[0]["study_id"].startswith("P-")
        (rec,) = jsonl(run("analyze", path, "--keep-identifiers").stdout)
        assert rec["patient_name"] == FAKE_PATIENT_NAME


class TestOutputFiles:
    def test_atomic_write_and_no_overwrite(self, tmp_path):
        out = tmp_path / "results.json"
        run("analyze", sample_path("mmn_case.toml"), "-o", out)
        doc = json.loads(out.read_text())  # format from the suffix
        assert len(doc["nerves"]) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temporary left
        out.write_text("keep me")
        result = run("analyze", sample_path("mmn_case.toml"), "-o", out, code=1)
        one_error_line(result, str(out), "--overwrite")
        assert out.read_text() == "keep me"
        run("analyze", sample_path("mmn_case.toml"), "-o", out, "--overwrite")
        assert json.loads(out.read_text())["nerves"][0]["nerve"] == "ulnar"

    def test_unwritable_output_path(self, tmp_path):
        blocker = tmp_path / "afile"
        blocker.write_text("")
        result = run("analyze", sample_path("mmn_case.toml"), "-o", blocker / "out.json", code=1)
        one_error_line(result, str(blocker / "out.json"), "not a directory")
        result = run("analyze", sample_path("mmn_case.toml"), "-o", tmp_path / "no" / "out.json", code=1)
        one_error_line(result, str(tmp_path / "no"), "does not exist")


class TestFailures:
    def test_malformed_file(self, bad_csv):
        result = run("analyze", bad_csv, code=1)
        one_error_line(result, str(bad_csv), "line 3", "abc")
        assert "Traceback" not in result.stderr

    def test_debug_shows_the_traceback(self, bad_csv):
        result = run("--debug", "analyze", bad_csv, code=1)
        assert "Traceback" in result.stderr and "FormatError" in result.stderr

    def test_unknown_format(self, tmp_path):
        junk = tmp_path / "junk.bin"
        junk.write_bytes(bytes(range(256)) * 4)
        one_error_line(run("analyze", junk, code=1), str(junk))

    def test_missing_file(self, tmp_path):
        one_error_line(run("analyze", tmp_path / "nope.csv", code=1), "nope.csv", "No such file")

    def test_partial_failure_is_listed_and_exits_3(self, bad_csv):
        result = run("analyze", sample_path("mmn_case.toml"), bad_csv, code=3)
        nerve, failure = jsonl(result.stdout)
        assert nerve["record"] == "nerve"
        assert failure["record"] == "failure" and failure["source"] == source_key(bad_csv)
        assert failure["error_type"] == "FormatError" and "line 3" in failure["error"]
        assert "1 of 2 files failed" in result.stderr

    def test_partial_failure_in_csv_and_table(self, bad_csv):
        out = run("analyze", sample_path("mmn_case.toml"), bad_csv, "-f", "csv", code=3).stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[-1]["source"] == source_key(bad_csv) and rows[-1]["error_type"] == "FormatError"
        assert rows[0]["error"] == ""
        out = run("analyze", sample_path("mmn_case.toml"), bad_csv, "-f", "table", code=3).stdout
        assert f"FAILED {source_key(bad_csv)}: FormatError" in out

    def test_every_file_failing_exits_1(self, bad_csv, tmp_path):
        other = tmp_path / "bad2.csv"
        other.write_bytes(bad_csv.read_bytes())
        result = run("analyze", bad_csv, other, code=1)
        assert len(jsonl(result.stdout)) == 2  # both failures are still listed
        one_error_line(result, "none of the 2 files")

    def test_sheet_missing_field(self, tmp_path):
        sheet = tmp_path / "case.toml"
        sheet.write_text('case_id = "X"\n[[nerves]]\nnerve = "median"\n')
        one_error_line(run("analyze", sheet, code=1), str(sheet), "nerves", "names no waveform file")

    def test_sheet_bad_value(self, tmp_path):
        sheet = tmp_path / "sheet.toml"
        sheet.write_text("case_id = 3\n")
        one_error_line(run("analyze", sample_path("normal_median.csv"), "--sheet", sheet, code=1),
                       str(sheet), "case_id", "must be a string")

    def test_bad_limits_file(self, tmp_path):
        limits = tmp_path / "lab.csv"
        limits.write_text("nerve,amplitude_lln_mv\nmedian,lots\n")
        one_error_line(run("analyze", sample_path("mmn_case.toml"), "--limits", limits, code=1),
                       str(limits), "amplitude_lln_mv", "lots")

    def test_unknown_criteria_id_is_a_usage_error(self):
        result = run("analyze", sample_path("mmn_case.toml"), "--criteria", "nope-2099", code=2)
        assert "unknown rule set id(s) 'nope-2099'" in result.stderr
        assert "efns-pns-2010-mmn" in result.stderr  # lists the known ones
        assert result.stdout == ""
