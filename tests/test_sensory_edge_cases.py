"""Edge cases of the sensory core (issue #18 item 1): quality of the distal SNAP, the absent
lower-limb SNAP of older people, limits without a direction, a segment CV after an
unmeasurable site, letter case, one limit comparison with the motor core, and
``nerveconduct analyze --table sensory`` on a real file.

The age caveat: an absent sural or superficial fibular SNAP above 60 years (or with the age
not given) carries a caveat flag; the cut-off is a project choice (recalled; see
``nerveconduct.analysis._sensory_columns.AGE_CAVEAT_MIN_YEARS``), tested at, just above and
just below.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from _cli import run
from nerveconduct.analysis import analyze_sensory, analyze_values
from nerveconduct.analysis._sensory_columns import AGE_CAVEAT_MIN_YEARS
from nerveconduct.limits import NormalLimits, SensoryLimitRow, SensoryLimits, beyond_limit
from nerveconduct.model import SensoryStudy, Site
from nerveconduct.simulate.sensory import simulate_snap

FS = 20000.0


def _absent(nerve, age_years, distance_mm=140.0):
    sim = simulate_snap(distance_mm, amplitude_uv=0.0, noise_uv_rms=1.0, seed=3)
    st = SensoryStudy(nerve, "left", [Site("calf", distance_mm)], sim.traces[None], FS,
                      stimulus_sample=sim.stimulus_sample, age_years=age_years)
    return analyze_sensory([st])[0]


class TestAbsentLowerLimbSnapAgeCaveat:
    """Preston & Shapiro's appendix note (lower-limb SNAPs may be absent in healthy older
    people); cut-off 60 years (project choice)."""

    def _caveat(self, r):
        return [f for f in r.flags if f.startswith(f"absent {r.nerve} SNAP")]

    def test_cut_off_is_60_years(self):
        assert AGE_CAVEAT_MIN_YEARS == 60.0

    def test_sural_absent_just_above_60_has_the_caveat(self):
        r = _absent("sural", 60.1)
        assert r.abnormal is True and r.abnormal_items == ("absent",)
        assert self._caveat(r) == ["absent sural SNAP at age 60.1: lower-limb SNAPs may be absent in "
                                   "healthy people over 60; interpret with the clinical picture"]

    def test_sural_absent_at_60_and_just_below_has_none(self):
        for age in (60.0, 59.9):
            r = _absent("sural", age)
            assert r.abnormal is True and self._caveat(r) == []

    def test_superficial_fibular_absent_without_age_has_the_caveat(self):
        r = _absent("superficial peroneal", None)
        assert r.nerve == "superficial fibular"
        assert self._caveat(r) and "(age not given)" in self._caveat(r)[0]

    def test_upper_limb_absent_snap_has_no_caveat(self):
        r = _absent("median", 80.0, distance_mm=130.0)
        assert r.abnormal is True and not any("healthy people" in f for f in r.flags)


def test_quality_flag_of_the_distal_snap_is_a_study_flag():
    """A distal SNAP measured on a too-short baseline (stimulus at sample 0): the study says so."""
    sim = simulate_snap(130.0, amplitude_uv=30.0, noise_uv_rms=0.5, seed=3)
    st = SensoryStudy("median", "left", [Site("wrist", 130.0)], sim.traces[None], FS, stimulus_sample=0)
    r = analyze_sensory([st])[0]
    assert r.sites[0].present and r.sites[0].flags & 16  # SHORT_BASELINE
    assert r.flags == ("distal SNAP at 'wrist' flagged (SHORT_BASELINE): its values and their "
                       "comparison with the normal limits may be unreliable",)
    clean = SensoryStudy("median", "left", [Site("wrist", 130.0)], sim.traces[None], FS,
                         stimulus_sample=sim.stimulus_sample)
    assert analyze_sensory([clean])[0].flags == ()


def test_segment_cv_after_an_unmeasurable_site_is_explained():
    sims = [simulate_snap(d, amplitude_uv=30.0, noise_uv_rms=0.0, artifact_mv=0.0, seed=1) for d in (130, 230, 330)]
    traces = np.stack([s.traces for s in sims])
    traces[1] = np.nan
    st = SensoryStudy("median", "right", [Site("wrist", 130.0), Site("forearm", 100.0), Site("elbow", 100.0)],
                      traces, FS, stimulus_sample=sims[0].stimulus_sample)
    r = analyze_sensory([st])[0]
    assert np.isnan(r.sites[2].conduction_velocity_m_s)
    assert "no segment conduction velocity for 'elbow': the SNAP at 'forearm' is not measurable" in r.flags


def test_limits_without_a_direction_say_so():
    row, problem = SensoryLimits.default().match("median")
    assert row is None
    assert problem.startswith("direction not given, and the normal limits 'preston-shapiro-sensory' have "
                              "only antidromic direction rows for the median nerve")
    assert "None" not in problem


def test_direction_in_any_letter_case():
    sim = simulate_snap(130.0, amplitude_uv=30.0, noise_uv_rms=0.0, artifact_mv=0.0, seed=1)
    st = SensoryStudy("median", "right", [Site("wrist", 130.0)], sim.traces[None], FS,
                      stimulus_sample=sim.stimulus_sample, direction=" Antidromic ")
    assert st.direction == "antidromic" and st.problems() == []
    assert analyze_sensory([st])[0].amplitude_lln_uv == 20.0
    assert SensoryLimitRow("median", "ORTHODROMIC", 10.0).direction == "orthodromic"


class TestOneLimitComparison:
    """A value at its limit is normal in the motor and the sensory core alike (one comparison,
    ``nerveconduct.limits.beyond_limit``, relative tolerance 1e-9)."""

    def test_at_just_below_and_just_above_the_lln(self):
        assert beyond_limit(np.array([4.0, 4.0 * (1 - 1e-12), 4.0 * (1 - 1e-6), 4.0 * (1 + 1e-6)]), 4.0,
                            "LLN").tolist() == [False, False, True, False]
        assert beyond_limit(np.array([4.4, 4.4 * (1 + 1e-12), 4.4 * (1 + 1e-6)]), 4.4, "ULN").tolist() == [
            False, False, True]

    @pytest.mark.parametrize("factor,abnormal", [(1.0, False), (1 - 1e-12, False), (1 - 1e-6, True)])
    def test_motor_and_sensory_judge_a_value_at_the_lln_alike(self, factor, abnormal):
        lln_mv = NormalLimits.default().lookup("median", "APB").amplitude_lln_mv
        motor = analyze_values("median", [Site("wrist", 70.0)], [3.5], [lln_mv * factor])
        assert motor.limits["distal_amplitude"].abnormal is abnormal
        sim = simulate_snap(130.0, amplitude_uv=20.0 * factor, noise_uv_rms=0.0, artifact_mv=0.0, seed=1)
        st = SensoryStudy("median", "right", [Site("wrist", 130.0)], sim.traces[None], FS,
                          stimulus_sample=sim.stimulus_sample)
        sensory = analyze_sensory([st])[0]
        assert ("amplitude below LLN" in sensory.abnormal_items) is abnormal


class TestAnalyzeSensoryTable:
    """``nerveconduct analyze --table sensory`` on a trace CSV written by the vendor writer."""

    @pytest.fixture
    def sural_file(self, tmp_path):
        from nerveconduct.io.vendor_write import write_trace_csv

        sim = simulate_snap(140.0, amplitude_uv=0.0, noise_uv_rms=1.0, seed=3)
        st = SensoryStudy("sural", "left", [Site("calf", 140.0)], sim.traces[None], FS,
                          stimulus_sample=sim.stimulus_sample, recording_site="ankle")
        path = tmp_path / "sural.csv"
        write_trace_csv(path, [st], distances=True)
        return path

    def test_csv(self, sural_file):
        res = run("analyze", str(sural_file), "--table", "sensory", "-f", "csv")
        assert res.exit_code == 0, res.stderr
        header, row, *rest = res.stdout.splitlines()
        assert rest == [] and header.startswith("source,study_id,nerve,")
        cells = dict(zip(header.split(","), row.split(",")))
        assert cells["nerve"] == "sural" and cells["abnormal"] == "true" and cells["abnormal_items"] == "absent"

    def test_jsonl(self, sural_file):
        res = run("analyze", str(sural_file), "--table", "sensory", "-f", "jsonl")
        assert res.exit_code == 0, res.stderr
        (rec,) = [json.loads(line) for line in res.stdout.splitlines()]
        assert rec["label"] == "left sural" and rec["abnormal"] is True and len(rec["sites"]) == 1

    def test_parquet(self, sural_file, tmp_path):
        pq = pytest.importorskip("pyarrow.parquet")
        out = tmp_path / "s.parquet"
        res = run("analyze", str(sural_file), "--table", "sensory", "-o", str(out))
        assert res.exit_code == 0, res.stderr
        (row,) = pq.read_table(out).to_pylist()
        assert row["nerve"] == "sural" and row["abnormal"] is True and row["abnormal_items"] == ["absent"]
        assert row["distal_amplitude_uv"] is None and row["amplitude_lln_uv"] == 6.0

    def test_a_motor_table_of_a_sensory_only_file_is_refused_with_the_hint(self, sural_file):
        res = run("analyze", str(sural_file), "-f", "csv", code=1)
        assert res.exit_code == 1
        assert "no motor studies in the input, only 1 sensory study: use --table sensory" in res.stderr
        assert res.stdout == ""
