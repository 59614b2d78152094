"""nerveconduct.serialize.records: nested records and flat rows from hand-computed nerve results."""

import csv
import dataclasses
import enum
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from nerveconduct.criteria import evaluate, evaluate_nerve, evaluate_patient, list_rule_sets
from nerveconduct.model import NerveStudy, Site
from nerveconduct.scores.cidp_mag import cidp_mag_score
from nerveconduct.analysis import analyze_nerve, analyze_values
from nerveconduct.serialize import (
    IDENTIFIER_COLUMNS, IDENTITY_COLUMNS, LIMIT_KEYS, NERVE_COLUMNS, SCHEMA_VERSION, SEGMENT_COLUMNS,
    SITE_COLUMNS, csv_cell, failure_record, nerve_columns, nerve_record, nerve_row, patient_record,
    score_record, segment_columns, segment_rows, site_columns, site_rows, to_jsonable, verdict_map,
    write_csv,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "output-fields.md"
MMN = "efns-pns-2010-mmn"


def _median(**kw):
    """The worked example (Cocito 2001): TLI = 70 / (44 x 4.1) = 0.388; area drop exactly 50%."""
    return analyze_values(
        "median", [Site("wrist", 70.0), Site("elbow", 220.0)], [4.1, 9.1], [6.0, 5.4],
        negative_peak_area_mv_ms=[20.0, 10.0], negative_peak_duration_ms=[5.0, 6.5],
        cmap_duration_ms=[6.0, 9.0], side="right", muscle="APB", study_id="S-1", **kw)


def _ulnar_absent():
    """Proximal response absent (onset None): segment values cannot exist."""
    return analyze_values("ulnar", [Site("wrist", 70.0), Site("below elbow", 200.0)],
                          [3.0, None], [8.0, 0.0], side="left")


class TestNerveRecord:
    def test_basic_values_hand_computed(self):
        rec = nerve_record(_median(), source="a.csv")
        assert rec["record"] == "nerve" and rec["schema_version"] == SCHEMA_VERSION
        assert (rec["source"], rec["study_id"], rec["nerve"], rec["side"], rec["muscle"]) == \
            ("a.csv", "S-1", "median", "right", "APB")
        assert rec["n_sites"] == 2 and rec["n_segments"] == 1
        assert rec["distal_motor_latency_ms"] == 4.1
        assert rec["distal_amplitude_mv"] == 6.0
        assert rec["distal_area_mv_ms"] == 20.0
        assert rec["terminal_latency_index"] == pytest.approx(70.0 / (44.0 * 4.1))
        assert rec["residual_latency_ms"] == pytest.approx(4.1 - 70.0 / 44.0)
        seg = rec["segments"][0]
        assert seg["segment"] == "wrist\u2013elbow" and seg["index"] == 1
        assert seg["conduction_velocity_m_s"] == pytest.approx(44.0)
        assert seg["amplitude_drop_pct"] == pytest.approx(10.0)
        assert seg["area_drop_pct"] == pytest.approx(50.0)
        assert seg["duration_increase_pct"] == pytest.approx(30.0)
        assert seg["cmap_duration_increase_pct"] == pytest.approx(50.0)
        assert rec["slowest_conduction_velocity_m_s"] == pytest.approx(44.0)
        assert rec["max_area_drop_pct"] == pytest.approx(50.0)
        assert rec["max_amplitude_drop_pct"] == pytest.approx(10.0)
        assert rec["max_duration_increase_pct"] == pytest.approx(30.0)

    def test_limits_against_default_table(self):
        limits = nerve_record(_median())["limits"]
        dml = limits["distal_motor_latency"]
        assert (dml["value"], dml["limit"], dml["limit_kind"], dml["abnormal"]) == (4.1, 4.4, "ULN", False)
        assert dml["pct_of_limit"] == pytest.approx(100 * 4.1 / 4.4)
        cv = limits["conduction_velocity"]
        assert (cv["limit"], cv["abnormal"]) == (49.0, True)

    def test_missing_measures_are_none_and_json_is_strict(self):
        rec = nerve_record(_median())
        assert rec["sites"][0]["peak_to_peak_amplitude_mv"] is None  # not given: NaN -> None
        text = json.dumps(rec, allow_nan=False)  # would raise on a NaN left behind
        assert "NaN" not in text

    def test_absent_proximal_response(self):
        rec = nerve_record(_ulnar_absent())
        prox = rec["sites"][1]
        assert prox["present"] is False and prox["flag_names"] == ["ABSENT"]
        assert prox["onset_latency_ms"] is None and prox["negative_peak_amplitude_mv"] is None
        seg = rec["segments"][0]
        assert seg["proximal_absent"] is True
        assert seg["conduction_velocity_m_s"] is None and seg["amplitude_drop_pct"] is None
        assert "absent proximal response" in seg["flags"]
        assert rec["terminal_latency_index"] is None
        assert rec["slowest_conduction_velocity_m_s"] is None

    def test_rejects_other_objects(self):
        with pytest.raises(TypeError, match="NerveResult"):
            nerve_record({"nerve": "median"})


class TestVerdicts:
    def test_segment_verdict_matches_engine(self):
        result = _median()
        verdict = evaluate_nerve(result, MMN)
        rec = nerve_record(result, {MMN: verdict})
        seg_v = rec["segments"][0]["verdicts"][MMN]
        engine = verdict.segments[0]
        assert seg_v == {"level": engine.level, "label": engine.label, "items": list(engine.items),
                         "reasons": list(engine.reasons), "excluded_by": engine.excluded_by}
        # area drop exactly 50% (>= 50%), duration increase exactly 30% (<= 30%): definite CB
        assert seg_v["level"] == "definite"
        nerve_v = rec["verdicts"][MMN]
        assert nerve_v["level"] == "definite" and nerve_v["label"] == engine.label
        assert nerve_v["items_met"] == list(verdict.met_items())
        assert set(nerve_v["items"]) == set(verdict.items)

    def test_every_accepted_form_gives_the_same_segment_verdicts(self):
        result = _median()
        as_nerve = nerve_record(result, {MMN: evaluate_nerve(result, MMN)})
        as_segments = nerve_record(result, {MMN: evaluate(result, MMN)})
        as_flat = nerve_record(result, evaluate(result, MMN))
        as_list = nerve_record(result, [evaluate_nerve(result, MMN)])
        expected = as_nerve["segments"]
        assert as_segments["segments"] == expected == as_flat["segments"] == as_list["segments"]
        assert as_segments["verdicts"][MMN]["level"] == "definite"
        assert as_segments["verdicts"][MMN]["items"] == {}  # segment verdicts carry no nerve items

    def test_verdict_map_rejects_junk(self):
        with pytest.raises(TypeError, match=r"verdicts\[0\]"):
            verdict_map(["definite"])
        assert verdict_map(None) == {}


class TestFlatRows:
    def test_segment_rows_have_exactly_the_documented_columns(self):
        ids = [MMN, "ean-pns-2021-cidp"]
        result = _median()
        verdicts = {rid: evaluate_nerve(result, rid) for rid in ids}
        rows = segment_rows(result, verdicts, source="a.csv")
        assert len(rows) == 1
        assert list(rows[0]) == segment_columns(ids)
        assert rows[0][f"verdict_{MMN}_level"] == "definite"
        assert rows[0]["conduction_velocity_m_s"] == pytest.approx(44.0)
        assert segment_columns() == list(SEGMENT_COLUMNS)

    def test_nerve_row_columns_and_limits(self):
        result = _median()
        row = nerve_row(result, {MMN: evaluate_nerve(result, MMN)})
        assert list(row) == nerve_columns([MMN])
        assert row["distal_motor_latency_limit"] == 4.4
        assert row["distal_motor_latency_limit_kind"] == "ULN"
        assert row["conduction_velocity_abnormal"] is True
        assert "distal_cmap_duration_limit" not in row  # cut-offs are criteria, not normal limits
        assert row[f"verdict_{MMN}_level"] == "definite"

    def test_site_rows(self):
        rows = site_rows(_ulnar_absent(), source="u.csv")
        assert [r["position"] for r in rows] == [0, 1]
        assert [r["name"] for r in rows] == ["wrist", "below elbow"]
        assert list(rows[0]) == site_columns() == list(SITE_COLUMNS)
        assert rows[1]["flag_names"] == ["ABSENT"]

    def test_identifiers_only_when_asked(self):
        study = NerveStudy("median", "right", "APB", [Site("wrist", 70.0), Site("elbow", 220.0)],
                           np.zeros((2, 10)), 10000.0,
                           metadata={"patient_name": "FAKE^NAME", "patient_id": "FAKE-1"})
        result = analyze_nerve(study)
        assert "patient_name" not in nerve_record(result)
        rec = nerve_record(result, keep_identifiers=True)
        assert (rec["patient_name"], rec["patient_id"]) == ("FAKE^NAME", "FAKE-1")
        row = segment_rows(result, keep_identifiers=True)[0]
        assert list(row) == segment_columns(keep_identifiers=True)
        n = len(IDENTITY_COLUMNS)
        assert segment_columns(keep_identifiers=True)[n:n + 2] == list(IDENTIFIER_COLUMNS)


class TestOtherRecords:
    def test_failure_record(self):
        rec = failure_record(Path("bad.csv"), ValueError("line 3: bad value"))
        assert rec == {"record": "failure", "schema_version": SCHEMA_VERSION, "source": "bad.csv",
                       "error_type": "ValueError", "error": "line 3: bad value"}
        assert failure_record(None, "boom")["error_type"] is None

    def test_score_and_patient_records(self):
        result = _median()
        score = cidp_mag_score({"ataxia": True, "tremor": False}, [result])
        rec = score_record("cidp-mag", score, case_id="C-1")
        assert rec["record"] == "score" and rec["score"] == "cidp-mag" and rec["case_id"] == "C-1"
        assert (rec["min_points"], rec["max_points"]) == (score.min_points, score.max_points)
        assert [it["key"] for it in rec["items"]] == [it.key for it in score.items]
        json.dumps(rec, allow_nan=False)
        pv = evaluate_patient([result], MMN)
        prec = patient_record(pv, case_id="C-1")
        assert (prec["rule_set_id"], prec["level"], prec["label"]) == (MMN, pv.level, pv.label)
        assert prec["reasons"] == list(pv.reasons)


class Colour(enum.Enum):
    RED = 1


class TestToJsonable:
    def test_conversions(self):
        value = {"nan": float("nan"), "inf": np.float64(np.inf), "f32": np.float32(1.5),
                 "i": np.int64(3), "b": np.bool_(True), "t": (1, 2), "e": Colour.RED,
                 "a": np.array([1.0, np.nan]), "s": {"b", "a"}, "p": Path("x/y")}
        assert to_jsonable(value) == {"nan": None, "inf": None, "f32": 1.5, "i": 3, "b": True,
                                      "t": [1, 2], "e": "RED", "a": [1.0, None], "s": ["a", "b"],
                                      "p": "x/y"}

    def test_raises_on_unknown_type(self):
        with pytest.raises(TypeError, match="cannot serialize a object"):
            to_jsonable(object())


class TestCsv:
    def test_cells(self):
        assert [csv_cell(v) for v in (None, True, False, 0.1, float("nan"), ["a", "b"], 3, "x")] == \
            ["", "true", "false", "0.1", "", "a; b", "3", "x"]

    def test_round_trip_keeps_full_precision(self):
        rows = segment_rows(_median())
        buf = io.StringIO()
        assert write_csv(buf, rows, segment_columns()) == 1
        back = list(csv.DictReader(io.StringIO(buf.getvalue())))
        assert float(back[0]["conduction_velocity_m_s"]) == rows[0]["conduction_velocity_m_s"]
        assert back[0]["across_entrapment_site"] == "false"
        assert back[0]["entrapment_site"] == ""


class TestDocumentation:
    """Every field written is documented in docs/output-fields.md (with its unit)."""

    def _documented(self) -> set[str]:
        return set(re.findall(r"`([a-z_]+)`", DOCS.read_text(encoding="utf-8")))

    def test_every_record_field_is_documented(self):
        result = _median()
        verdict = evaluate_nerve(result, MMN)
        rec = nerve_record(result, {MMN: verdict}, keep_identifiers=True)
        names = set(rec) | set(rec["sites"][0]) | set(rec["segments"][0])
        names |= set(rec["limits"]["distal_amplitude"]) | set(rec["segments"][0]["verdicts"][MMN])
        names |= set(rec["verdicts"][MMN]) | set(failure_record("x", "y"))
        names |= set(score_record("cidp-mag", cidp_mag_score({}, [result])))
        names |= set(patient_record(evaluate_patient([result], MMN)))
        missing = sorted(names - self._documented())
        assert not missing, f"undocumented output fields: {missing}"

    def test_every_csv_column_is_documented(self):
        documented = self._documented()
        suffixes = ("limit", "limit_kind", "pct_of_limit", "abnormal")
        limit_columns = {f"{k}_{s}" for k in LIMIT_KEYS for s in suffixes}
        columns = set(SITE_COLUMNS) | set(SEGMENT_COLUMNS) | (set(NERVE_COLUMNS) - limit_columns)
        assert not sorted(columns - documented)
        text = DOCS.read_text(encoding="utf-8")
        for pattern in ("K_limit", "K_limit_kind", "K_pct_of_limit", "K_abnormal", "verdict_R_level",
                        "verdict_R_reasons", "verdict_R_items_met", *LIMIT_KEYS):
            assert f"`{pattern}`" in text

    def test_rule_sets_used_here_exist(self):
        assert {MMN, "ean-pns-2021-cidp"} <= {r.id for r in list_rule_sets()}
