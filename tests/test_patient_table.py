"""``batch --table patient``: one row per case, streamed, the same bytes for any jobs/chunking."""

import csv
import json

import h5py
import pytest
from click.testing import CliRunner

import nerveconduct as nc
from nerveconduct.batch import run
from nerveconduct.criteria import evaluate_patient
from nerveconduct.io import source_key
from nerveconduct.io.archive import write_archive
from nerveconduct.model import NerveStudy
from nerveconduct.scores import cidp_mag_score
from nerveconduct.serialize.patient import PATIENT_RULE_SETS, patient_columns
from nerveconduct_cli.main import main


def _studies():
    """Three cases, interleaved (case A's nerves first and last), and one nerve without a case
    key; case B has a forearm block in one nerve."""
    def sim(seed, block=None, nerve="median", side="left"):
        (st,) = nc.simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=seed,
                                  sweep_ms=30.0, block=block or {}).to_studies()
        return st, nerve, side

    plan = [("A", 1, None, "median", "left"), ("B", 2, {1: 0.7}, "ulnar", "left"),
            ("C", 3, None, "median", "right"), ("B", 4, None, "median", "left"),
            (None, 5, None, "median", "left"), ("A", 6, None, "ulnar", "right")]
    out = []
    for case, seed, block, nerve, side in plan:
        st, _, _ = sim(seed, block)
        out.append(NerveStudy(nerve, side, None, st.sites, st.traces, st.sampling_rate_hz,
                              stimulus_sample=st.stimulus_sample, study_id=case))
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("patients") / "cases.h5"
    write_archive(path, _studies())
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_one_row_per_case_in_order_of_last_nerve(archive, tmp_path):
    run(archive, tmp_path / "p.csv", table="patient", chunk_rows=2)  # one nerve per task
    rows = read_csv(tmp_path / "p.csv")
    file_case = source_key(archive)
    assert [r["case"] for r in rows] == ["C", "B", file_case, "A"]
    assert [int(r["n_nerves"]) for r in rows] == [1, 2, 1, 2]
    assert all(r["n_nerves_failed"] == "0" for r in rows)
    assert list(rows[0]) == patient_columns()


def test_levels_are_the_patient_verdicts_of_the_case_nerves(archive, tmp_path):
    run(archive, tmp_path / "p.csv", table="patient")
    rows = {r["case"]: r for r in read_csv(tmp_path / "p.csv")}
    studies = _studies()
    for case in ("A", "B", "C"):
        results = nc.analyze_nerves([s for s in studies if s.study_id == case])
        for rid in PATIENT_RULE_SETS:
            verdict = evaluate_patient(results, rid)
            assert rows[case][f"patient_{rid}_level"] == verdict.level, (case, rid)
            assert rows[case][f"patient_{rid}_label"] == verdict.label
        score = cidp_mag_score({}, results)
        assert (int(rows[case]["cidp_mag_min"]), int(rows[case]["cidp_mag_max"])) == (
            score.min_points, score.max_points)
        assert rows[case]["cidp_mag_points"] == ""  # clinical items unknown: a range
    assert rows["B"]["patient_efns-pns-2010-mmn_level"] in ("definite", "probable")
    assert rows["B"]["patient_efns-pns-2010-mmn_nerves"] == "left ulnar"
    assert rows["A"]["patient_efns-pns-2010-mmn_level"] == "none"


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_same_bytes_for_any_jobs_and_chunking(archive, tmp_path, suffix):
    outputs = []
    for jobs, chunk_rows in ((1, 16384), (1, 2), (2, 3)):
        out = tmp_path / f"p-{jobs}-{chunk_rows}.{suffix}"
        run(archive, out, table="patient", jobs=jobs, chunk_rows=chunk_rows)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    if suffix == "jsonl":
        first = json.loads(outputs[0].decode().splitlines()[0])
        assert first["record"] == "patient-row" and first["case"] == "C"


def test_failed_nerve_counted_in_its_case(archive, tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(archive.read_bytes())
    with h5py.File(broken, "r+") as f:
        f["nerves/polarity"][1] = "sideways"  # nerve 1 (case B) makes no valid study
    summary = run(broken, tmp_path / "p.csv", table="patient")
    assert summary.n_failed == 1
    rows = {r["case"]: r for r in read_csv(tmp_path / "p.csv")}
    assert (rows["B"]["n_nerves"], rows["B"]["n_nerves_analyzed"], rows["B"]["n_nerves_failed"]) == ("2", "1", "1")
    assert rows["B"]["patient_efns-pns-2010-mmn_level"] == "none"  # the blocked nerve is gone


def test_resume_is_refused(archive, tmp_path):
    with pytest.raises(ValueError, match="cannot be resumed"):
        run(archive, tmp_path / "p.csv", table="patient", resume=True)


def test_cli_patient_table(archive, tmp_path):
    out = tmp_path / "patients.csv"
    result = CliRunner().invoke(main, ["batch", str(archive), "-o", str(out), "--table", "patient"])
    assert result.exit_code == 0, result.output
    assert [r["case"] for r in read_csv(out)][-1] == "A"
