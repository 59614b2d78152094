"""``analyze -f table`` gives each nerve with F-wave information one line: the minimal F
latency with its ULN and verdict, persistence, chronodispersion and where the latency comes
from (traces, sheet, absent, not assessable), read from the record ``-f json`` carries."""

from __future__ import annotations

import json

import pytest

from nerveconduct.analysis import analyze_nerve
from nerveconduct.serialize.records import nerve_record
from nerveconduct.simulate import simulate_nerve
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli._render import f_wave_text, nerve_text
from _cli import run

DOT = " \u00b7 "


def _f_lines(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.strip().startswith("F-wave min")]


def _record(f_wave_latency_ms: float | None) -> dict:
    study = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]
    study.f_wave_latency_ms = f_wave_latency_ms
    return nerve_record(analyze_nerve(study))


def test_measured_train_line_matches_the_json_record():
    path = sample_path("fwave_ulnar.csv")
    (line,) = _f_lines(run("analyze", path, "-f", "table").stdout)
    (rec,) = json.loads(run("analyze", path, "-f", "json").stdout)["nerves"]
    assert rec["f_wave_latency_source"] == "traces" and rec["limits"]["f_wave_latency"]["limit"] == 32
    assert line == DOT.join([
        f"F-wave min latency {rec['f_wave_latency_ms']:.2f} ms (ULN 32: normal)",
        f"persistence {rec['f_wave_persistence_pct']:.0f} %",
        f"chronodispersion {rec['f_wave_chronodispersion_ms']:.1f} ms", "from traces"])
    assert line == DOT.join(["F-wave min latency 24.54 ms (ULN 32: normal)", "persistence 80 %",
                             "chronodispersion 5.3 ms", "from traces"])


def test_sheet_only_values_have_no_train_measures():
    lines = _f_lines(run("analyze", sample_path("normal_case.json"), "-f", "table").stdout)
    assert lines == [
        DOT.join(["F-wave min latency 26.00 ms (ULN 31: normal)", "persistence \u2014",
                  "chronodispersion \u2014", "from sheet"]),
        DOT.join(["F-wave min latency 27.00 ms (ULN 32: normal)", "persistence \u2014",
                  "chronodispersion \u2014", "from sheet"])]


@pytest.mark.parametrize("latency_ms, verdict", [(30.9, "normal"), (31.0, "normal"), (31.1, "abnormal")])
def test_sheet_value_against_the_median_uln_31_ms(latency_ms, verdict):
    """At the ULN normal (the limit is inclusive), just above abnormal, as the record says."""
    rec = _record(latency_ms)
    assert rec["limits"]["f_wave_latency"]["abnormal"] is (verdict == "abnormal")
    assert f_wave_text(rec).startswith(f"F-wave min latency {latency_ms:.2f} ms (ULN 31: {verdict})")


def test_sheet_absent_says_absent_without_a_verdict():
    rec = _record(float("nan"))  # typed as sought and absent
    assert rec["f_wave_latency_source"] == "sheet" and rec["f_wave_latency_ms"] is None
    assert f_wave_text(rec) == DOT.join(["F-wave min latency absent", "persistence \u2014",
                                         "chronodispersion \u2014", "from sheet"])


def test_absent_from_traces_shows_zero_persistence():
    rec = dict(_record(None), f_wave_latency_source="traces", f_wave_latency_ms=None,
               f_wave_persistence_pct=0.0)
    assert f_wave_text(rec) == DOT.join(["F-wave min latency absent", "persistence 0 %",
                                         "chronodispersion \u2014", "from traces"])


def test_a_train_that_is_not_assessable_is_said_so():
    flag = ("F-wave train not assessable: 4 stimuli measured, fewer than the 10 needed "
            "(FEW_STIMULI): F-waves not studied")
    rec = dict(_record(None), flags=[flag])
    assert f_wave_text(rec).endswith(f"chronodispersion \u2014{DOT}not assessable")
    assert "F-wave min latency \u2014" in nerve_text(rec) and f"! {flag}" in nerve_text(rec)
    with_sheet = dict(_record(28.0), flags=[flag.replace("F-waves not studied",
                                                         "the sheet's value is used")])
    assert f_wave_text(with_sheet).endswith("from sheet (train not assessable)")
    failed = dict(_record(None), flags=["F-wave traces could not be measured (NO_SIGNAL): "
                                        "F-waves not studied"])
    assert f_wave_text(failed).endswith("not assessable")


def test_no_line_without_f_waves():
    rec = _record(None)
    assert rec["f_wave_latency_source"] is None and f_wave_text(rec) is None
    assert "F-wave" not in nerve_text(rec)
    assert _f_lines(run("analyze", sample_path("normal_median.csv"), "-f", "table").stdout) == []
