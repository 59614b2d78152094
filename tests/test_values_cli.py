"""The machine's numbers on the command line: ``analyze --values`` and ``report --values``."""

import json

import pytest
from click.testing import CliRunner

import nerveconduct as nc
from nerveconduct.io.errors import FormatError
from nerveconduct.io.values import read_values
from nerveconduct.model import Site
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli.main import main

HEADER = "nerve,side,site,distance_mm,onset_latency_ms,negative_peak_amplitude_mv"


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def test_sample_table_reads_two_nerves():
    median, ulnar = read_values(sample_path("values_case.csv"))
    assert (median.nerve, median.side, median.case_id) == ("median", "left", "SAMPLE-VALUES")
    assert [s.distance_mm for s in ulnar.sites] == [70.0, 210.0, 100.0]
    assert median.per_nerve == {"f_wave_latency_ms": 27.5, "muscle": "APB"}
    assert ulnar.measures["negative_peak_area_mv_ms"] == [26.0, 10.2, 9.9]


def test_values_go_through_the_same_core():
    """The CLI's result equals analyze_values given the same numbers by hand."""
    doc = json.loads(run("analyze", "--values", sample_path("values_case.csv"), "-f", "json").stdout)
    median = doc["nerves"][0]
    ref = nc.analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.6, 7.8], [7.2, 6.6],
                            negative_peak_area_mv_ms=[24.1, 22.0], negative_peak_duration_ms=[4.9, 5.3],
                            f_wave_latency_ms=27.5, side="left", muscle="APB")
    cv = median["segments"][0]["conduction_velocity_m_s"]
    assert cv == pytest.approx(ref.segments[0].conduction_velocity_m_s, rel=1e-12)
    assert cv == pytest.approx(230 / 4.2, rel=1e-12)      # segment 230 mm / (7.8 - 3.6) ms
    assert median["terminal_latency_index"] == pytest.approx(70 / (cv * 3.6), rel=1e-12)
    assert median["study_id"] == "SAMPLE-VALUES"
    assert [c["case"] for c in doc["cases"]] == ["SAMPLE-VALUES"]
    # the ulnar forearm drop (8.4 -> 3.1 mV, 26.0 -> 10.2 mV·ms) is graded by the criteria
    seg = doc["nerves"][1]["segments"][0]
    assert seg["area_drop_pct"] == pytest.approx(100 * (1 - 10.2 / 26.0), rel=1e-12)
    assert seg["verdicts"]["efns-pns-2010-mmn"]["level"] == "definite"


@pytest.mark.parametrize("row, needle", [
    ("median,left,wrist,70,3.6,x", "negative_peak_amplitude_mv must be a number (mV), got 'x'"),
    ("median,left,wrist,0,3.6,6", "distance_mm must be a finite number above 0 to 2000 mm"),
    ("median,up,wrist,70,3.6,6", "side must be one of ['left', 'right'], got 'up'"),
    ("saphenous,left,wrist,70,3.6,6", "unknown nerve 'saphenous'"),
    ("median,left,wrist,70,3.6,", "negative_peak_amplitude_mv is empty"),
    ("median,left,wrist,70,3.6,500", "negative_peak_amplitude_mv must be a finite number from 0 to 100 mV"),
])
def test_bad_rows_are_named_errors_with_line(tmp_path, row, needle):
    p = tmp_path / "v.csv"
    p.write_text(f"{HEADER}\nmedian,left,elbow,230,7.8,6.0\n{row}\n")
    with pytest.raises(FormatError) as err:
        read_values(p)
    assert err.value.location == "line 3" and needle in str(err.value)
    result = run("analyze", "--values", p, code=1)
    assert needle in result.output and "line 3" in result.output


def test_bad_columns_and_split_nerves(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text("nerve,side,site,distance_mm,onset_ms\n")
    with pytest.raises(FormatError, match=r"missing column\(s\) \['onset_latency_ms'"):
        read_values(p)
    p.write_text(f"{HEADER},colour\n")
    with pytest.raises(FormatError, match=r"unknown column\(s\) \['colour'\]; allowed:"):
        read_values(p)
    p.write_text(f"{HEADER}\nmedian,left,wrist,70,3.6,6\nulnar,left,wrist,70,3,8\n"
                 "median,left,elbow,230,7.8,6\n")
    with pytest.raises(FormatError, match="split by another nerve's") as err:
        read_values(p)
    assert err.value.location == "line 4"


def test_absent_response_is_empty_onset_and_zero_amplitude(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text(f"{HEADER}\nulnar,right,wrist,70,3.1,8\nulnar,right,below elbow,200,,0\n")
    doc = json.loads(run("analyze", "--values", p, "-f", "json").stdout)
    assert [s["present"] for s in doc["nerves"][0]["sites"]] == [True, False]


def test_values_and_waveforms_of_two_patients_are_refused_in_report(tmp_path):
    result = run("report", sample_path("antimag.csv"), "--values", sample_path("values_case.csv"),
                 "-o", tmp_path / "r.html", code=1)
    assert "SAMPLE-VALUES" in result.output and "--one-case" in result.output


def test_values_only_report(tmp_path):
    out = tmp_path / "values.html"
    run("report", "--values", sample_path("values_case.csv"), "-o", out)
    html = out.read_text()
    assert html.count("Values entered, no waveforms") == 2
    assert "SAMPLE-VALUES" in html
    assert 'id="plot-nerve-' not in html  # no trace panels without traces


def test_values_table_given_as_file_is_recognised(tmp_path):
    doc = json.loads(run("analyze", sample_path("values_case.csv"), "-f", "json").stdout)
    assert [n["nerve"] for n in doc["nerves"]] == ["median", "ulnar"]
    assert nc.io.detect_format(sample_path("values_case.csv")) == "values-csv"
    with pytest.raises(FormatError, match="analyze --values"):
        nc.read(sample_path("values_case.csv"))


def test_analyze_needs_files_or_values():
    result = run("analyze", code=2)
    assert "--values" in result.output


SHEET_VALUES = '''case_id = "SHEET-VALUES"
age_years = 44

[[values]]
nerve = "ulnar"
side = "right"
site = "wrist"
distance_mm = 70
onset_latency_ms = 3.0
negative_peak_amplitude_mv = 8.0

[[values]]
nerve = "ulnar"
side = "right"
site = "below elbow"
distance_mm = 200
onset_latency_ms = 7.0
negative_peak_amplitude_mv = 7.6
'''


def test_sheet_values_section(tmp_path):
    sheet = tmp_path / "case.toml"
    sheet.write_text(SHEET_VALUES)
    (nerve,) = nc.io.load_sheet(sheet).values
    assert [s.distance_mm for s in nerve.sites] == [70.0, 200.0]
    doc = json.loads(run("analyze", sheet, "-f", "json").stdout)
    (rec,) = doc["nerves"]
    assert rec["study_id"] == "SHEET-VALUES"
    assert rec["segments"][0]["conduction_velocity_m_s"] == pytest.approx(200 / 4.0, rel=1e-12)
    out = tmp_path / "r.html"
    run("report", sheet, "-o", out)
    assert "Values entered, no waveforms" in out.read_text()


def test_sheet_values_bad_row_names_it(tmp_path):
    sheet = tmp_path / "case.toml"
    sheet.write_text(SHEET_VALUES.replace("onset_latency_ms = 7.0", 'onset_latency_ms = "late"'))
    with pytest.raises(nc.io.SheetError) as err:
        nc.io.load_sheet(sheet)
    assert err.value.location == "values[1]"
    assert "onset_latency_ms must be a number (ms), got 'late'" in str(err.value)
