"""Sensory studies across files, cases and criteria (issue #18): each a case that went wrong once.

One test (or a few) per case: sensory studies of
another patient merged without a word, sensory nerves renamed to the digit nerves, common
sensory labels read as motor, F-wave trains claimed but dropped by ``export-bids``, the
sample's CIDP inputs lost by the archive, non-applicable nerves counted as unknown, a plot
of a sensory-only file that wrote nothing, sweeps of one site with different distances, and
the MMN whole-nerve sensory proxy not called a proxy.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from _cli import run

import nerveconduct as nc
from nerveconduct.criteria._diagnosis_facts import count_fact, sensory_nerves
from nerveconduct.criteria import get_rule_set
from nerveconduct.io import TraceKindWarning, trace_kind
from nerveconduct.io._kinds import parse_sensory_item, sensory_nerve_words
from nerveconduct.io.archive import write_archive
from nerveconduct.io.errors import FormatError
from nerveconduct.io.read import read_case
from nerveconduct.model import Case, NerveStudy
from nerveconduct.names import canonical_nerve, canonical_sensory_nerve, parse_nerve_label
from nerveconduct.scores.categories import mmn_category
from nerveconduct.simulate.fwave import simulate_f_waves

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
SENSORY_CSV = SAMPLES / "sensory_median.csv"
TWO_NERVES = SAMPLES / "cidp_two_nerves.h5"


# --- 1. another patient's sensory file is not merged into the case ---------------------------

@pytest.mark.parametrize("command", [["score", "cidp", "--variant", "typical", "--item",
                                      "clinical_criteria=yes"], ["score", "mmn"]])
def test_score_refuses_a_sensory_file_of_another_patient(command):
    out = run(*command, TWO_NERVES, SENSORY_CSV, code=1)
    assert "2 different patients" in out.stderr and "--one-case" in out.stderr


def test_report_refuses_a_sensory_file_of_another_patient(tmp_path):
    out = run("report", TWO_NERVES, SENSORY_CSV, "-o", tmp_path / "r.html", code=1)
    assert "2 different patients" in out.stderr
    assert not (tmp_path / "r.html").exists()


# --- 2. sensory nerve names: whole-name matches only ------------------------------------------

@pytest.mark.parametrize("words,nerve", [
    ("Dorsal Ulnar Cutaneous", "dorsal ulnar cutaneous"),
    ("median palmar cutaneous", "median palmar cutaneous"),
    ("Lateral Antebrachial Cutaneous", "lateral antebrachial cutaneous"),
    ("saphenous", "saphenous"),
    ("Superficial Peroneal", "superficial fibular"),
    ("superficial radial", "radial"),
    ("Median", "median"),
    ("sural", "sural"),
])
def test_sensory_nerve_words_keep_other_nerves_as_given(words, nerve):
    assert sensory_nerve_words(words) == nerve


def test_dorsal_ulnar_cutaneous_is_not_the_ulnar_nerve():
    item = parse_sensory_item("Left Dorsal Ulnar Cutaneous Sensory Antidromic (dorsum)")
    assert item["nerve"] == "dorsal ulnar cutaneous" and item["side"] == "left"
    assert canonical_sensory_nerve("dorsal ulnar cutaneous") is None
    assert canonical_nerve("Right Median Motor (APB)") == "median"  # motor matching as before


def test_one_label_parser_for_every_caller():
    assert parse_nerve_label("right median") == ("median", "right")
    assert parse_nerve_label("left superficial_peroneal") == ("superficial fibular", "left")
    assert parse_nerve_label("left dorsal ulnar cutaneous") == (None, "left")
    assert parse_nerve_label("R median") == ("median", "right")
    table = get_rule_set("ean-pns-2021-cidp").diagnosis
    nerves = sensory_nerves(table, [], {"Lt ulnar": False})
    assert [(n.label, n.nerve) for n in nerves] == [("left ulnar", "ulnar")]
    # the diagnosis sheet refuses a nerve it does not know rather than count it as a new nerve
    with pytest.raises(ValueError, match="sensory 'left dorsal ulnar cutaneous': nerve must be one of"):
        sensory_nerves(table, [], {"left ulnar": False, "left dorsal ulnar cutaneous": True})


# --- 4. common sensory labels; a "motor" study that looks like a SNAP ------------------------

@pytest.mark.parametrize("text,kind", [
    ("Right Median SCV (digit II)", "sensory"), ("L Sural SCS", "sensory"),
    ("Right Ulnar Sens (digit V)", "sensory"), ("Left Median MCV (APB)", "motor"),
    ("Right Ulnar F (ADM)", "f-wave"), ("Right Ulnar F-Wave (ADM)", "f-wave"),
    ("Right Median Motor (APB)", "motor"), ("Right Median (APB)", None),
])
def test_trace_kind_knows_the_common_abbreviations(text, kind):
    assert trace_kind(text) == kind


def _relabelled(tmp_path: Path, item: str) -> Path:
    text = SENSORY_CSV.read_text(encoding="utf-8")
    target = tmp_path / "relabelled.csv"
    target.write_text(text.replace("Right Median Sensory Antidromic (digit II)", item), encoding="utf-8")
    return target


def test_scv_label_reads_as_a_sensory_study(tmp_path):
    case = read_case(_relabelled(tmp_path, "Right Median SCV (digit II)"))
    assert case.studies == [] and [(s.side, s.nerve) for s in case.sensory] == [("right", "median")]
    out = run("validate", _relabelled(tmp_path, "Right Median SCV (digit II)"), "-f", "table")
    assert "1 sensory study" in out.stdout and "stud(ies)" not in out.stdout


def test_unlabelled_snap_read_as_motor_is_warned_about(tmp_path):
    with pytest.warns(TraceKindWarning, match="like a SNAP"):
        case = read_case(_relabelled(tmp_path, "Right Median (digit II)"))
    assert len(case.studies) == 1  # read as motor, as always, but said


@pytest.mark.parametrize("name", ["normal_median.csv", "cidp_median.edf", "absent_proximal.h5",
                                  "noisy_median.txt"])
def test_motor_samples_raise_no_snap_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TraceKindWarning)
        read_case(SAMPLES / name)


def test_absent_motor_response_is_not_taken_for_a_snap():
    noise = np.random.default_rng(0).normal(0.0, 0.005, (2, 2000))  # 5 uV RMS, no response
    study = NerveStudy("median", "right", "APB", [nc.Site("wrist", 70.0), nc.Site("elbow", 230.0)],
                       noise, 20_000.0)
    from nerveconduct.io._kinds import warn_sensory_sized
    with warnings.catch_warnings():
        warnings.simplefilter("error", TraceKindWarning)
        warn_sensory_sized([study], "F-x")


# --- 5. export-bids counts only the trains it wrote --------------------------------------------

def test_export_bids_says_which_train_it_left_out(tmp_path):
    st = nc.simulate_nerve((70.0, 230.0), site_names=("Wrist", "Elbow"), nerve="ulnar", side="left",
                           muscle="ADM", sampling_rate_hz=10_000.0, seed=3).to_studies()[0]
    fw = simulate_f_waves(n_stimuli=4, sampling_rate_hz=20_000.0, seed=3)
    study = NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                       stimulus_sample=st.stimulus_sample, study_id="CASE-BIDS",
                       f_wave_traces=fw.traces, f_wave_sampling_rate_hz=20_000.0,
                       f_wave_stimulus_sample=fw.stimulus_sample)
    write_archive(tmp_path / "in.h5", [study])
    out = run("export-bids", tmp_path / "in.h5", "-o", tmp_path / "bids")
    text = out.output
    assert "F-wave train in their runs" not in text and "F-wave trains in their runs" not in text
    assert "1 F-wave train left out" in text
    assert "warning: the F-wave train of left ulnar is left out" in text
    assert "TraceKindWarning" not in text


# --- 6. the case's CIDP inputs are kept by the archive, and the samples show the diagnosis ----

def test_archive_keeps_the_cidp_inputs(tmp_path):
    case = read_case(TWO_NERVES)
    inputs = {"variant": "typical", "clinical_criteria": True,
              "supportive": {"csf_protein": None, "mri": False}}
    write_archive(tmp_path / "a.h5", [Case(case.studies, sensory=case.sensory, case_id="K-1",
                                           cidp=inputs)])
    back = read_case(tmp_path / "a.h5")  # read back under its studies' key
    assert back.case_id == "SAMPLE-CIDP-2N" and back.cidp == inputs
    other = Case(case.studies[:1], case_id="K-2", cidp={"variant": "distal"})
    write_archive(tmp_path / "a.h5", [other], append=True)
    import h5py
    from nerveconduct.io._archive_extra import read_case_inputs
    with h5py.File(tmp_path / "a.h5", "r") as f:  # appending keeps the first case's inputs
        stored = read_case_inputs(f)
    assert stored["K-1"] == {"cidp": inputs}
    # the appended case has the same studies' key: written again, its inputs replace the first
    assert stored["K-2"] == stored["SAMPLE-CIDP-2N"] == {"cidp": {"variant": "distal"}}
    write_archive(tmp_path / "b.h5", case.studies)  # studies, not a Case: no inputs
    assert read_case(tmp_path / "b.h5").cidp == {}


def test_sample_archive_and_sheet_carry_the_cidp_inputs():
    for name in ("cidp_two_nerves.h5", "cidp_two_nerves.toml"):
        case = read_case(SAMPLES / name)
        assert case.case_id == "SAMPLE-CIDP-2N"
        assert case.cidp == {"variant": "typical", "clinical_criteria": True}
        assert len(case.studies) == 2 and len(case.sensory) == 2


@pytest.mark.parametrize("name", ["cidp_two_nerves.h5", "cidp_two_nerves.toml"])
def test_score_cidp_of_the_sample_gives_the_diagnosis(name):
    out = run("score", "cidp", SAMPLES / name).stdout
    assert "EAN/PNS 2021 CIDP diagnosis: CIDP (typical)" in out


def test_report_of_the_sample_gives_the_diagnosis():
    from nerveconduct.report.build import render_html
    html = render_html(read_case(TWO_NERVES), plots=False)
    assert 'class="cidp-category" data-category="CIDP"' in html
    assert "Diagnosis: CIDP (typical)" in html


# --- 7. a nerve an item does not apply to is not counted as unknown -------------------------

def _snap(nerve: str, abnormal: bool | None, cv_pct: float | None):
    site = SimpleNamespace(site="ankle", present=True, conduction_velocity_m_s=40.0)
    return SimpleNamespace(nerve=nerve, side="left", label=f"left {nerve}", sites=(site,),
                           abnormal=abnormal, abnormal_items=(), amplitude_pct_of_lln=120.0,
                           cv_pct_of_lln=cv_pct)


def test_non_applicable_nerve_is_left_out_of_the_count():
    table = get_rule_set("ean-pns-2021-cidp").diagnosis
    cv_item = next(i for i in table.sensory_items if i.nerves)
    assert "superficial fibular" not in cv_item.nerves
    nerves = sensory_nerves(table, [_snap("median", True, 60.0),
                                    _snap("superficial fibular", None, None)], None)
    fact = count_fact(nerves, cv_item.item, True, cv_item.label)
    assert fact.unknown == () and (fact.lo, fact.hi) == (1, 1)
    assert not any("superficial fibular" in n for n in fact.met)
    normal = count_fact(nerves, cv_item.item, False, cv_item.normal_label)
    assert (normal.lo, normal.hi) == (0, 0)
    # the item that applies to every nerve still counts the superficial fibular as unknown
    anyone = count_fact(nerves, "abnormal", True, "abnormal")
    assert anyone.unknown == ("left superficial fibular",)


# --- 8. plot of a sensory-only file with a motor kind ---------------------------------------

@pytest.mark.parametrize("kind", [None, "segments", "tli", "fwave"])
def test_plot_of_a_sensory_only_file_points_to_kind_sensory(tmp_path, kind):
    target = tmp_path / "y.png"
    args = ["plot", SENSORY_CSV, "-o", target] + (["--kind", kind] if kind else [])
    out = run(*args, code=1)
    assert "nothing to draw" in out.stderr and "--kind sensory" in out.stderr
    assert not target.exists()


# --- 11. sweeps of one site must share its distance --------------------------------------------

def _sweeps(tmp_path: Path, distances: str) -> Path:
    text = SENSORY_CSV.read_text(encoding="utf-8")
    text = text.replace("Trace Label,wrist : ,elbow : ", "Trace Label,wrist : ,wrist : \nSweep,1,2")
    text = text.replace("Distance (mm),130,230", f"Distance (mm),{distances}")
    target = tmp_path / "sweeps.csv"
    target.write_text(text, encoding="utf-8")
    return target


def test_sweeps_with_different_distances_are_refused(tmp_path):
    with pytest.raises(FormatError, match="different distances"):
        read_case(_sweeps(tmp_path, "130,230"))


def test_sweeps_with_one_distance_are_averaged(tmp_path):
    (study,) = read_case(_sweeps(tmp_path, "130,130")).sensory
    assert np.asarray(study.traces).shape[:2] == (1, 2)
    assert study.sites[0].distance_mm == 130.0


# --- the MMN whole-nerve sensory verdict is a proxy, and says so -----------------------------

def test_mmn_whole_nerve_sensory_verdict_is_called_a_proxy():
    cb = nc.analyze_values(
        "median", [nc.Site("wrist", 70.0), nc.Site("elbow", 230.0)],
        [3.5, 7.5], [8.0, 2.0], negative_peak_area_mv_ms=[24.0, 6.0],
        negative_peak_duration_ms=[5.0, 5.2], side="right", muscle="APB")
    site = SimpleNamespace(site="wrist", present=True, conduction_velocity_m_s=55.0)
    snap = SimpleNamespace(nerve="median", side="right", label="right median", sites=(site,),
                           cv_lln_m_s=50.0, abnormal=False, abnormal_items=())
    m = mmn_category([cb], core_clinical=True, exclusions_absent=True, sensory_normal=None,
                     sensory_results=[snap])
    assert any("the sensory nerve as a whole is normal (a proxy" in r for r in m.reasons)
    assert math.isfinite(cb.distal_amplitude_mv)
