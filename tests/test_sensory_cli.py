"""``nerveconduct analyze`` with sensory studies: the table, ``-f json``'s ``sensory`` per case,
the sensory limits option, and motor-only output left as it was."""

from __future__ import annotations

import json

import pytest

from _cli import run
from nerveconduct.io._kinds import StudyList
from nerveconduct.model import SensoryStudy, Site
from nerveconduct.simulate import simulate_nerve
from nerveconduct.simulate.sensory import simulate_snap
from nerveconduct_cli import _pipeline


def _sensory(nerve, side, amplitude_uv, study_id="CASE-A", seed=1, distance_mm=130.0):
    sim = simulate_snap(distance_mm, amplitude_uv=amplitude_uv, noise_uv_rms=0.5, seed=seed)
    return SensoryStudy(nerve, side, [Site("wrist", distance_mm)], sim.traces[None], 20000.0,
                        stimulus_sample=sim.stimulus_sample, study_id=study_id,
                        recording_site="digit II")


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Two input files: a motor median with a normal and an absent-looking sensory study
    (case A), and a sensory-only file of another case (B)."""
    motor = simulate_nerve(seed=3).to_studies()[0]
    motor.study_id = "CASE-A"
    by_path = {}
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        p.write_text("x\n")
    found_a = StudyList([motor], sensory=[
        _sensory("median", "right", 30.0), _sensory("sural", "left", 0.0, seed=2, distance_mm=140.0)])
    found_b = StudyList([], sensory=[_sensory("ulnar", "left", 12.0, study_id="CASE-B", seed=4,
                                              distance_mm=110.0)])
    by_path[str(a)], by_path[str(b)] = found_a, found_b

    def fake_read_many(paths, **kw):
        out, fails = StudyList(), []
        for p in paths:
            out.extend_with(by_path[str(p)])
        return out, fails

    monkeypatch.setattr(_pipeline, "read_many", fake_read_many)
    return a, b, motor


def test_json_has_sensory_records_per_case(files):
    a, b, motor = files
    doc = json.loads(run("analyze", a, b, "-f", "json", "--criteria", "none").stdout)
    assert doc["sensory_limits"] == "preston-shapiro-sensory"
    cases = {c["case"]: c for c in doc["cases"]}
    labels = {k: [r["label"] for r in c["sensory"]] for k, c in cases.items()}
    assert labels["CASE-A"] == ["right median", "left sural"] and labels["CASE-B"] == ["left ulnar"]
    median, sural = cases["CASE-A"]["sensory"]
    assert median["abnormal"] is False and median["amplitude_lln_uv"] == 20.0
    assert median["sites"][0]["amplitude_uv"] == pytest.approx(30.0, rel=0.1)
    assert sural["abnormal"] is True and sural["abnormal_items"] == ["absent"]
    ulnar = cases["CASE-B"]["sensory"][0]
    assert ulnar["abnormal_items"] == ["amplitude below LLN"]  # 12 uV < 17 uV
    assert cases["CASE-B"]["nerve_positions"] == [] and cases["CASE-B"]["patient"] == {}
    assert "sensory_positions" not in cases["CASE-A"] and len(cases["CASE-A"]["nerve_positions"]) == 1


def test_table_prints_a_sensory_table(files):
    a, b, _ = files
    out = run("analyze", a, b, "-f", "table", "--criteria", "none").stdout
    assert "── sensory studies" in out
    assert "right median (antidromic · " in out and "→ normal" in out
    assert "left sural" in out and "→ abnormal: absent" in out
    assert "=== case CASE-B: 0 nerves, 1 sensory study ===" in out


def test_sensory_limits_option(files, tmp_path):
    a, b, _ = files
    lab = tmp_path / "sens.csv"
    lab.write_text("nerve,direction,amplitude_lln_uv\nulnar,antidromic,10\n")
    doc = json.loads(run("analyze", b, "-f", "json", "--criteria", "none",
                         "--sensory-limits", lab).stdout)
    assert doc["sensory_limits"] == "sens"
    assert doc["cases"][0]["sensory"][0]["abnormal"] is False  # 12 uV >= 10 uV
    bad = tmp_path / "bad.csv"
    bad.write_text("nerve,direction\nulnar,sideways\n")
    res = run("analyze", b, "--sensory-limits", bad, code=1)
    assert "direction must be one of ['antidromic', 'orthodromic']" in res.stderr


def test_csv_says_sensory_studies_are_left_out(files):
    a, b, _ = files
    res = run("analyze", b, a, "-f", "csv", "--criteria", "none")
    assert "3 sensory studies are not in -f csv output: use --table sensory (or -f json, -f table)" in res.stderr


def test_motor_only_json_has_no_sensory_keys(files, monkeypatch):
    from nerveconduct.simulate.samples import sample_path

    monkeypatch.undo()
    doc = json.loads(run("analyze", sample_path("normal_case.json"), "-f", "json").stdout)
    assert "sensory_limits" not in doc
    assert all("sensory" not in c and "sensory_positions" not in c for c in doc["cases"])


def test_every_sensory_field_is_documented(files):
    """Every key of a sensory record and of its sites is in docs/output-fields.md."""
    import re
    from pathlib import Path

    a, b, _ = files
    doc = json.loads(run("analyze", a, "-f", "json", "--criteria", "none").stdout)
    rec = doc["cases"][0]["sensory"][0]
    names = set(rec) | set(rec["sites"][0]) | {"sensory_limits"}
    text = (Path(__file__).resolve().parent.parent / "docs" / "output-fields.md").read_text(encoding="utf-8")
    missing = sorted(names - set(re.findall(r"`([a-z_]+)`", text)))
    assert not missing, f"undocumented sensory output fields: {missing}"
