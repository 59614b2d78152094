"""EAN/PNS 2021 CIDP diagnosis (the rule table's [diagnosis] section): clinical criteria, motor
criteria, sensory conduction criteria and supportive criteria into "CIDP" / "possible CIDP" per
variant, with the upgrade by >= 2 supportive criteria, unknown inputs, and the EFNS/PNS 2010
diagnostic categories by the same evaluator.

Sensory results are small stand-ins with the attributes of the sensory analysis's results
(``nerve``, ``side``, ``label``, ``abnormal``, ``amplitude_pct_of_lln``, ``cv_pct_of_lln``,
``sites``): the criteria read those only.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from nerveconduct.analysis import analyze_values
from nerveconduct.criteria.patient import evaluate_diagnosis
from nerveconduct.criteria.registry import get_rule_set
from nerveconduct.criteria.tables import RuleSetError, loads_rule_set
from nerveconduct.model import Site
from nerveconduct.scores import cidp_diagnosis

RS = "ean-pns-2021-cidp"


def _motor(nerve: str, side: str, cv_m_s: float):
    """A two-site motor nerve with forearm CV ``cv_m_s`` (20 m/s meets item (b), 55 m/s does not);
    F-wave, CMAP duration and filter given and normal, so every other item is decided (not met)."""
    return analyze_values(nerve, [Site("wrist", 70), Site("elbow", 200)], [3.0, 3.0 + 200 / cv_m_s], [6.0, 5.8],
                          side=side, negative_peak_area_mv_ms=[20.0, 19.5], negative_peak_duration_ms=[5.0, 5.2],
                          cmap_duration_ms=[5.0, 5.2], f_wave_latency_ms=25.0, low_frequency_filter_hz=2.0)


STRONG = [_motor("median", "right", 20.0), _motor("ulnar", "left", 20.0)]   # (b) in 2 nerves
WEAK = [_motor("median", "right", 20.0), _motor("ulnar", "left", 55.0)]     # (b) in 1 nerve
NORMAL = [_motor("median", "right", 55.0), _motor("ulnar", "left", 55.0)]
# median CV 45 m/s: below its LLN (49 m/s) but not >= 30 % below it: abnormal, no motor item met
MILD = [_motor("median", "right", 45.0), _motor("ulnar", "left", 55.0)]


def snap(nerve: str, side: str, abnormal: bool | None, *, cv_pct: float | None = 95.0,
         amp_pct: float | None = 100.0, present: bool = True) -> SimpleNamespace:
    return SimpleNamespace(nerve=nerve, side=side, label=f"{side} {nerve}", abnormal=abnormal,
                           abnormal_items=("amplitude below LLN",) if abnormal else (),
                           amplitude_pct_of_lln=amp_pct, cv_pct_of_lln=cv_pct,
                           sites=(SimpleNamespace(present=present),))


TWO_ABNORMAL = [snap("median", "right", True), snap("sural", "left", True)]
TYPICAL = {"variant": "typical", "clinical_criteria": True}
NO_SUPPORT = {k: False for k in ("csf_protein", "mri", "ultrasound", "treatment_response", "biopsy")}


def diagnose(motor, traces=(), **inputs):
    return evaluate_diagnosis(motor, RS, sensory=traces, inputs=inputs)


def test_motor_fixtures_grade_as_intended():
    from nerveconduct.criteria import evaluate_patient
    assert [evaluate_patient(m, RS).level for m in (STRONG, WEAK, NORMAL)] == ["definite", "possible", "none"]


# --- typical CIDP ----------------------------------------------------------------------------
def test_typical_cidp_motor_strongly_supportive_and_sensory_abnormal_in_2_nerves():
    d = diagnose(STRONG, TWO_ABNORMAL, **TYPICAL)
    assert (d.category, d.max_category, d.label) == ("CIDP", "CIDP", "CIDP (typical)")
    head = d.reasons[0]
    assert head.startswith("EAN/PNS 2021 CIDP: CIDP (typical) [EAN/PNS 2021 CIDP diagnostic categories (Table 6")
    assert "]: clinical criteria: met" in head
    assert ("motor conduction criteria (a)–(g): strongly supportive of demyelination (right median, left ulnar)"
            in head)
    assert "sensory conduction abnormal in 2 nerves (right median, left sural)" in head


@pytest.mark.parametrize("n_abnormal,category", [(1, "CIDP criteria not met"), (2, "CIDP"), (3, "CIDP")])
def test_typical_sensory_abnormalities_in_two_nerves_at_below_above(n_abnormal, category):
    nerves = [("median", "right"), ("sural", "left"), ("ulnar", "right")]
    sensory = [snap(n, s, i < n_abnormal) for i, (n, s) in enumerate(nerves)]
    d = diagnose(STRONG, sensory, **TYPICAL, supportive=NO_SUPPORT)
    assert d.category == category and d.max_category == category
    if n_abnormal == 1:
        assert any("sensory conduction abnormal in 1 nerve (right median) (>= 2 needed)" in r for r in d.reasons)


def test_typical_motor_criteria_in_one_nerve_only_is_possible_cidp():
    d = diagnose(WEAK, TWO_ABNORMAL, **TYPICAL)
    assert d.label == "possible CIDP (typical)"
    assert "weakly supportive of demyelination (right median)" in d.reasons[0]


def test_typical_motor_criteria_not_met_is_not_cidp():
    d = diagnose(NORMAL, TWO_ABNORMAL, **TYPICAL, supportive=NO_SUPPORT)
    assert d.category == d.max_category == "CIDP criteria not met"


# --- the upgrade by supportive criteria ------------------------------------------------------
def test_upgrade_possible_cidp_to_cidp_with_two_supportive_criteria():
    d = diagnose(WEAK, TWO_ABNORMAL, **TYPICAL, supportive={"csf_protein": True, "mri": True})
    assert d.label == "CIDP (typical)"
    assert ("by clinical and electrodiagnostic criteria: possible CIDP (clinical criteria: met; motor conduction "
            "criteria (a)–(g): weakly supportive of demyelination (right median); sensory conduction abnormal in 2 "
            "nerves (right median, left sural))") in d.reasons[0]
    assert "supportive criteria met: 2 (CSF protein elevated, MRI of roots or plexuses)" in d.reasons[0]


def test_no_upgrade_with_one_supportive_criterion():
    d = diagnose(WEAK, TWO_ABNORMAL, **TYPICAL,
                 supportive={**NO_SUPPORT, "csf_protein": True})
    assert d.category == d.max_category == "possible CIDP"


def test_upgrade_unknown_supportive_says_could_be_cidp():
    d = diagnose(WEAK, TWO_ABNORMAL, **TYPICAL, supportive={"csf_protein": True})
    assert (d.category, d.max_category) == ("possible CIDP", "CIDP")
    could = next(r for r in d.reasons if r.startswith("could be"))
    assert could.startswith("could be CIDP (typical) if the unknown inputs were met: supportive criteria met: 1")
    assert "unknown MRI of roots or plexuses" in could


@pytest.mark.parametrize("variant", ["sensory", "focal"])
def test_sensory_and_focal_cidp_are_not_upgraded(variant):
    sensory = [snap("median", "right", True, cv_pct=60.0), snap("ulnar", "right", True, cv_pct=60.0)]
    motor = NORMAL if variant == "sensory" else WEAK
    d = diagnose(motor, sensory, variant=variant, clinical_criteria=True,
                 supportive={k: True for k in ("csf_protein", "mri", "ultrasound", "treatment_response", "biopsy")})
    assert d.category == d.max_category == "possible CIDP"


def test_treatment_response_route_does_not_count_its_supportive_criteria_twice():
    d = diagnose(MILD, TWO_ABNORMAL, **TYPICAL,
                 supportive={**NO_SUPPORT, "treatment_response": True, "csf_protein": True})
    assert d.category == d.max_category == "possible CIDP"
    assert "objective treatment response: met" in d.reasons[0]
    assert "motor conduction outside normal limits in 1 nerve (right median)" in d.reasons[0]


# Table 6 (possible typical CIDP): clinical criteria + motor abnormalities not meeting the criteria
# in one nerve + sensory abnormalities in two nerves + objective treatment response + one other
# supportive criterion. Each conduction condition at / below its count.
@pytest.mark.parametrize("motor,n_sensory,category", [
    (MILD, 2, "possible CIDP"),                  # motor abnormal in 1 nerve, sensory in 2: at both
    (NORMAL, 2, "CIDP criteria not met"),        # motor abnormal in 0 nerves: below
    (MILD, 1, "CIDP criteria not met"),          # sensory abnormal in 1 nerve: below
    (MILD, 3, "possible CIDP"),                  # above
])
def test_ean2021_table6_treatment_response_route_needs_motor_and_sensory_abnormalities(motor, n_sensory, category):
    nerves = [("median", "right"), ("sural", "left"), ("ulnar", "right")]
    sensory = [snap(n, s, i < n_sensory) for i, (n, s) in enumerate(nerves)]
    supportive = {**NO_SUPPORT, "treatment_response": True, "csf_protein": True}
    d = diagnose(motor, sensory, **TYPICAL, supportive=supportive)
    assert d.category == d.max_category == category
    without_response = diagnose(motor, sensory, **TYPICAL, supportive={**supportive, "treatment_response": False})
    assert without_response.category == "CIDP criteria not met"


def test_motor_abnormality_unknown_is_a_range():
    unknown = [analyze_values("median", [Site("wrist", 70), Site("elbow", 200)], [3.0, 3.0 + 200 / 55.0],
                              [6.0, 5.8], side="right")]                    # F-wave etc. not given
    d = diagnose(unknown, TWO_ABNORMAL, **TYPICAL,
                 supportive={**NO_SUPPORT, "treatment_response": True, "csf_protein": True})
    limits = {k: c.abnormal for k, c in unknown[0].limits.items()}
    assert True not in limits.values() and None in limits.values()
    assert d.category == "CIDP criteria not met" and d.max_category != d.category
    assert any("motor conduction outside normal limits in 0 nerves; unknown in right median (>= 1 needed)" in r
               for r in d.reasons)


# --- variants ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n_normal,category", [(3, "CIDP criteria not met"), (4, "CIDP"), (5, "CIDP")])
def test_motor_cidp_normal_sensory_conduction_in_four_nerves(n_normal, category):
    names = [("median", "right"), ("ulnar", "right"), ("radial", "right"), ("sural", "right"), ("sural", "left")]
    sensory = [snap(n, s, False) for n, s in names[:n_normal]]
    d = diagnose(STRONG, sensory, variant="motor", clinical_criteria=True)
    assert d.category == category


def test_distal_cidp_needs_two_upper_limb_nerves():
    lower = [_motor("median", "right", 20.0), _motor("tibial", "left", 15.0)]
    d = diagnose(lower, TWO_ABNORMAL, variant="distal", clinical_criteria=True)
    assert d.category == "possible CIDP"
    assert diagnose(STRONG, TWO_ABNORMAL, variant="distal", clinical_criteria=True).category == "CIDP"


# sensory CIDP: CV <80 % LLN for SNAP amplitude >= 80 % LLN, <70 % LLN for SNAP < 80 % LLN
@pytest.mark.parametrize("cv_pct,amp_pct,met", [
    (80.0, 100.0, False), (79.9, 100.0, True), (80.1, 100.0, False),    # CV at / below / above 80 %
    (70.0, 79.9, False), (69.9, 79.9, True), (75.0, 79.9, False),        # low SNAP: CV cut 70 %
    (75.0, 80.0, True), (75.0, 80.1, True),                              # SNAP at / above 80 %: cut 80 %
])
def test_sensory_cidp_cv_below_80_or_70_pct_lln(cv_pct, amp_pct, met):
    sensory = [snap("median", "right", True, cv_pct=cv_pct, amp_pct=amp_pct),
               snap("ulnar", "right", True, cv_pct=cv_pct, amp_pct=amp_pct), snap("median", "left", False)]
    d = diagnose(NORMAL, sensory, variant="sensory", clinical_criteria=True)
    assert d.sensory["right median"]["demyelinating"] is met
    assert d.category == ("possible CIDP" if met else "CIDP criteria not met")


def test_sensory_cidp_sural_sparing_pattern():
    sensory = [snap("median", "right", True), snap("radial", "right", True), snap("sural", "right", False)]
    d = diagnose(NORMAL, sensory, variant="sensory", clinical_criteria=True)
    assert d.label == "possible CIDP (sensory)"
    assert "abnormal right median, right radial; normal right sural" in d.reasons[0]
    no_sparing = [snap("median", "right", True), snap("radial", "right", True), snap("sural", "right", True)]
    assert diagnose(NORMAL, no_sparing, variant="sensory", clinical_criteria=True).category == "CIDP criteria not met"


def test_ean2021_table3_sensory_cidp_needs_sensory_abnormalities_in_two_nerves():
    """Table 3: possible CIDP = sensory abnormalities in two nerves and, for sensory CIDP, the
    demyelinating CV or sural sparing: sural sparing with one abnormal nerve is below."""
    one = [snap("median", "right", True), snap("sural", "right", False)]
    d = diagnose(NORMAL, one, variant="sensory", clinical_criteria=True)
    assert d.category == d.max_category == "CIDP criteria not met"
    assert any("sensory conduction abnormal in 1 nerve (right median) (>= 2 needed)" in r for r in d.reasons)
    two = [snap("median", "right", True), snap("median", "left", True), snap("sural", "right", False)]
    assert diagnose(NORMAL, two, variant="sensory", clinical_criteria=True).category == "possible CIDP"


def test_sensory_cidp_absent_snap_is_not_a_slow_cv():
    sensory = [snap("median", "right", True, cv_pct=None, present=False)] * 2
    d = diagnose(NORMAL, sensory, variant="sensory", clinical_criteria=True)
    assert d.sensory["right median"]["demyelinating"] is False


# --- unknown inputs and the sheet ------------------------------------------------------------
def test_unknown_clinical_criteria_taken_as_unmet_could_be_cidp():
    d = diagnose(STRONG, TWO_ABNORMAL, variant="typical")
    assert (d.category, d.max_category) == ("CIDP criteria not met", "CIDP")
    assert any(r.startswith("could be CIDP (typical) if the unknown inputs were met: clinical criteria: unknown")
               for r in d.reasons)


def test_unknown_variant_names_the_rows_variants():
    d = diagnose(STRONG, TWO_ABNORMAL, clinical_criteria=True)
    assert (d.category, d.max_category, d.variant) == ("CIDP criteria not met", "CIDP", None)
    assert any("clinical variant unknown (this row: typical, motor-predominant" in r for r in d.reasons)


def test_unknown_sensory_nerve_is_a_range():
    sensory = [snap("median", "right", True), snap("sural", "left", None)]
    d = diagnose(STRONG, sensory, **TYPICAL)
    assert (d.category, d.max_category) == ("CIDP criteria not met", "CIDP")
    assert any("unknown in left sural" in r for r in d.reasons)


def test_sheet_sensory_input_without_traces():
    d = diagnose(STRONG, (), **TYPICAL, sensory={"right median": True, "left sural": {"abnormal": True}})
    assert d.label == "CIDP (typical)"
    assert d.sensory == {"right median": {"abnormal": True}, "left sural": {"abnormal": True}}


def test_traces_win_over_the_sheet_with_a_reason():
    d = diagnose(STRONG, [snap("median", "right", False), snap("sural", "left", True)], **TYPICAL,
                 sensory={"right median": True})
    assert d.category == "CIDP criteria not met"
    line = next(r for r in d.reasons if r.startswith("sensory right median: "))
    assert "sensory conduction abnormal: not met, from the traces: within normal limits" in line
    assert "the sheet says met, the traces are used" in line


def test_bad_inputs_are_named_errors():
    with pytest.raises(ValueError, match="variant must be one of .*did you mean 'typical'"):
        diagnose(STRONG, variant="typcal")
    with pytest.raises(ValueError, match="supportive criterion must be one of"):
        diagnose(STRONG, supportive={"csf": True})
    with pytest.raises(TypeError, match="clinical_criteria must be true, false or null"):
        diagnose(STRONG, clinical_criteria="yes")
    with pytest.raises(ValueError, match="unknown diagnosis input 'clinical'"):
        diagnose(STRONG, clinical=True)
    with pytest.raises(ValueError, match="unknown sensory item 'slow'"):
        diagnose(STRONG, sensory={"right median": {"slow": True}})
    with pytest.raises(ValueError, match="has no \\[diagnosis\\] table"):
        evaluate_diagnosis(STRONG, "efns-pns-2010-mmn")


def test_scores_face_is_the_same_evaluation():
    assert cidp_diagnosis(STRONG, inputs=TYPICAL, sensory=TWO_ABNORMAL) == diagnose(STRONG, TWO_ABNORMAL, **TYPICAL)


# --- the table as data -------------------------------------------------------------------------
def _table(diagnosis: str) -> str:
    return ('id = "x"\ntitle = "x"\nshort_name = "X"\nversion = "1"\ncitation = "x"\nconfidence = "recalled"\n'
            'verification = "x"\nkind = "demyelination"\n[[nerve_items]]\nitem = "b"\nlabel = "CV"\n'
            'measure = "conduction_velocity"\ncompare = "<="\npct_of_limit = 70.0\nconfidence = "recalled"\n'
            'verification = "x"\n'
            '[[combinations]]\nlevel = "definite"\nlabel = "b in 2"\nitems = ["b"]\nmin_nerves = 2\n'
            'confidence = "recalled"\nverification = "x"\n' + diagnosis)


_DIAG = ('[diagnosis]\ntitle = "d"\ncategories = ["A", "B"]\nnone_label = "none"\nvariants = ["v"]\n'
         '[[diagnosis.rows]]\ncategory = "A"\nlabel = "a"\nwhen = [WHEN]\nconfidence = "recalled"\n'
         'verification = "x"\n')


@pytest.mark.parametrize("when,message", [
    ('"motr >= definite"', "unknown fact 'motr'"),
    ('"motor >= great"', "value of 'motor' must be one of"),
    ('"sensory:abnormal >= 2"', "unknown id 'abnormal' of 'sensory'"),
    ('"base >= A"', "fact 'base' only in rows with upgrade = true"),
    ('"supportive >= two"', "a number of nerves must be a whole number"),
])
def test_bad_diagnosis_tables_name_the_key(when, message):
    with pytest.raises(RuleSetError, match=message) as exc:
        loads_rule_set(_table(_DIAG.replace("WHEN", when)), "lab.toml")
    assert exc.value.key.startswith("diagnosis.rows[0].when")


def test_a_lab_table_with_its_own_rows_is_evaluated_by_the_same_evaluator():
    rs = loads_rule_set(_table(_DIAG.replace("WHEN", '"clinical_criteria", "motor >= definite"')), "lab.toml")
    d = evaluate_diagnosis(STRONG, rs, inputs={"variant": "v", "clinical_criteria": True})
    assert d.category == "A" and d.reasons[0] == ("X: A (v) [d]: clinical criteria: met; motor conduction "
                                                  "criteria (b): definite (right median, left ulnar)")


def test_every_diagnosis_row_carries_a_confidence_mark():
    for rs_id in (RS, "efns-pns-2010-cidp"):
        marks = [m for m in get_rule_set(rs_id).confidence_table() if m.scope == "diagnosis"]
        assert marks and {m.mark for m in marks} <= {"secondary", "recalled"}


# --- EFNS/PNS 2010 CIDP diagnostic categories (same evaluator) -------------------------------------
@pytest.mark.parametrize("motor,supportive,category", [
    (STRONG, {}, "definite CIDP"),
    (WEAK, {}, "possible CIDP"),
    (WEAK, {"csf_protein": True}, "probable CIDP"),                   # possible + 1 supportive
    (WEAK, {"csf_protein": True, "mri": True}, "definite CIDP"),      # possible + 2 supportive
])
def test_efns_pns_2010_categories_with_supportive_criteria(motor, supportive, category):
    closed = {k: False for k in ("csf_protein", "mri", "treatment_response", "biopsy")}
    d = evaluate_diagnosis(motor, "efns-pns-2010-cidp", sensory=[snap("sural", "left", False, cv_pct=95.0)],
                           inputs={"clinical_criteria": True, "supportive": {**closed, **supportive}})
    assert d.category == d.max_category == category


# --- the command line ------------------------------------------------------------------------------
def test_score_cidp_prints_the_diagnosis_only_with_diagnosis_inputs():
    from _cli import run
    from nerveconduct.simulate.samples import sample_path
    edf = sample_path("cidp_median.edf")
    plain = run("score", "cidp", edf).stdout
    assert "diagnosis" not in plain  # the motor output is unchanged without diagnosis inputs
    out = run("score", "cidp", edf, "--variant", "typical", "--item", "clinical_criteria=yes").stdout
    assert out.startswith(plain.rstrip("\n"))
    assert "EAN/PNS 2021 CIDP diagnosis: CIDP criteria not met (up to CIDP with the unknown inputs)" in out
    assert "sensory conduction abnormal in 0 nerves; no sensory nerve studied" in out
    record = json.loads(run("score", "cidp", edf, "--item", "clinical_criteria=no", "-f", "json").stdout)
    assert record["diagnosis"]["category"] == record["diagnosis"]["max_category"] == "CIDP criteria not met"
    assert "diagnosis" not in json.loads(run("score", "cidp", edf, "-f", "json").stdout)
    bad = run("score", "cidp", edf, "--variant", "typcal", code=1)
    assert "variant must be one of" in bad.stderr and "did you mean 'typical'" in bad.stderr


# --- the sheet's sensory labels (review finding 2) ------------------------------------------------
@pytest.mark.parametrize("median,sural", [("R median", "R sural"), ("Rt Median", "rt sural"),
                                          ("RIGHT median", "right Sural"), ("r. median", "Rt. sural")])
def test_sheet_labels_with_short_sides_meet_the_traced_nerves(median, sural):
    """"R median" is the traced right median: the traces win (both normal), no phantom nerve."""
    traces = [snap("median", "right", False), snap("sural", "right", False)]
    d = diagnose(STRONG, traces, variant="typical", clinical_criteria=True, sensory={median: True, sural: True})
    assert d.category == d.max_category == "CIDP criteria not met"
    assert set(d.sensory) == {"right median", "right sural"}
    for nerve in ("median", "sural"):
        line = next(r for r in d.reasons if r.startswith(f"sensory right {nerve}: "))
        assert "not met, from the traces" in line and "the sheet says met, the traces are used" in line


@pytest.mark.parametrize("label,message", [
    ("right medain", r"sensory 'right medain': nerve must be one of \[.*'median'.*\].*got 'medain'; "
                     r"did you mean 'median'\?"),
    ("lft sural", r"sensory 'lft sural': side must be one of \['right', 'left', 'R', 'L', 'Rt', 'Lt'\], "
                  r"got 'lft'; did you mean 'left'\?"),
    ("sural", r"sensory 'sural': give the side first, e.g. 'right sural'"),
    ("left dorsal ulnar cutaneous", r"sensory 'left dorsal ulnar cutaneous': nerve must be one of"),
])
def test_sheet_labels_with_an_unknown_side_or_nerve_are_refused(label, message):
    with pytest.raises(ValueError, match=message):
        diagnose(STRONG, [snap("median", "right", False)], **TYPICAL, sensory={label: True})


# --- each sensory nerve's items and where they came from (finding 4) --------------------------------
def test_each_sensory_nerve_has_a_reason_line_with_its_source():
    d = diagnose(STRONG, [snap("median", "right", True)], **TYPICAL,
                 sensory={"L sural": True, "right median": {"abnormal": True}})
    traced = next(r for r in d.reasons if r.startswith("sensory right median: "))
    assert "sensory conduction abnormal: met, from the traces: abnormal (amplitude below LLN)" in traced
    assert "; the sheet agrees" in traced
    assert ("sensory CV <80% LLN (<70% if SNAP <80% LLN): not met, from the traces: sensory CV 95% of LLN ≥ 80%"
            in traced)
    sheet = next(r for r in d.reasons if r.startswith("sensory left sural: "))
    assert "sensory conduction abnormal: met, as given in the sheet" in sheet
    assert "sensory CV <80% LLN (<70% if SNAP <80% LLN): not given" in sheet
    assert sum(r.startswith("sensory ") for r in d.reasons) == 2  # one line per nerve


def test_sheet_value_used_where_the_traces_do_not_decide_says_so():
    d = diagnose(STRONG, [snap("median", "right", None), snap("sural", "left", True)], **TYPICAL,
                 sensory={"right median": True})
    assert d.category == "CIDP"
    line = next(r for r in d.reasons if r.startswith("sensory right median: "))
    assert "sensory conduction abnormal: met, as given in the sheet (the traces do not decide: not assessable)" in line


def test_sensory_reason_shows_measured_values_against_limits_from_simulated_snaps():
    """SNAPs from the simulator (noiseless) through analyze_sensory: the reason shows the
    measured distal values against the limits the analysis compared them with."""
    from nerveconduct.analysis.sensory import analyze_sensory
    from nerveconduct.model import SensoryStudy
    from nerveconduct.simulate.sensory import simulate_snap

    sim = simulate_snap(130.0, cv_mean_m_s=30.0, cv_sd_m_s=0.0, amplitude_uv=30.0, noise_uv_rms=0.0,
                        artifact_mv=0.0, seed=1)
    (r,) = analyze_sensory([SensoryStudy("ulnar", "right", [Site("wrist", 130.0)], sim.traces[None, :], 20000.0,
                                         stimulus_sample=40)])
    d = diagnose(NORMAL, [r], variant="sensory", clinical_criteria=True)
    line = next(x for x in d.reasons if x.startswith("sensory right ulnar: "))
    cv, lln = r.distal_conduction_velocity_m_s, r.cv_lln_m_s
    assert cv < lln  # 30 m/s is slow
    assert f"sensory CV {cv:.1f} m/s < LLN {lln:g} m/s" in line
    assert f"SNAP amplitude {r.distal_amplitude_uv:.1f} µV ≥ LLN {r.amplitude_lln_uv:g} µV" in line
    assert f"sensory CV {cv:.1f} m/s (LLN {lln:g} m/s) = {100 * cv / lln:.0f}% of LLN < 80%" in line


# --- no empty "not met:", and alternatives say which is met (finding 5) -----------------------------
def test_variant_not_given_is_said_not_left_empty():
    d = diagnose(STRONG, TWO_ABNORMAL, clinical_criteria=True, supportive=NO_SUPPORT)
    assert not any(r.rstrip().endswith("not met:") for r in d.reasons)
    typical = next(r for r in d.reasons if r.startswith("CIDP (typical CIDP"))
    assert typical.endswith("not met: clinical variant not given (this row: typical, motor-predominant, "
                            "sensory-predominant)")


def test_sensory_cidp_alternatives_say_which_one_is_met():
    sensory = [snap("median", "right", True, cv_pct=60.0), snap("ulnar", "right", True, cv_pct=60.0)]
    d = diagnose(NORMAL, sensory, variant="sensory", clinical_criteria=True)
    assert d.label == "possible CIDP (sensory)"
    assert ("either sensory CV <80% LLN (<70% if SNAP <80% LLN) in 2 nerves (right median, right ulnar): met, "
            "or sural sparing") in d.reasons[0]
    assert "(abnormal right median; no normal sural): not met" in d.reasons[0]


# --- the other modality's contrary evidence is named, the verdict unchanged (finding 3) --------------
def test_motor_cidp_names_abnormal_sensory_nerves():
    normal = [snap(n, s, False) for n, s in [("median", "right"), ("ulnar", "right"), ("radial", "right"),
                                             ("sural", "right")]]
    d = diagnose(STRONG, normal + [snap("sural", "left", True), snap("ulnar", "left", True)],
                 variant="motor", clinical_criteria=True, supportive=NO_SUPPORT)
    assert d.label == "CIDP (motor)"  # unchanged: the rows do not test it
    assert "but sensory conduction abnormal in 2 nerves (left sural, left ulnar)" in d.reasons[0]
    assert "variant motor-predominant rather than motor?" in d.reasons[0]
    clean = diagnose(STRONG, normal, variant="motor", clinical_criteria=True, supportive=NO_SUPPORT)
    assert clean.label == "CIDP (motor)" and "; but " not in clean.reasons[0]


def test_sensory_cidp_names_abnormal_motor_nerves():
    motor = [_motor("median", "right", 20.0), _motor("ulnar", "right", 20.0), _motor("median", "left", 55.0),
             _motor("ulnar", "left", 55.0)]
    sensory = [snap("median", "right", True, cv_pct=60.0), snap("ulnar", "right", True, cv_pct=60.0)]
    d = diagnose(motor, sensory, variant="sensory", clinical_criteria=True, supportive=NO_SUPPORT)
    assert d.label == "possible CIDP (sensory)"  # unchanged
    head = d.reasons[0]
    assert "but motor conduction outside normal limits in 2 nerves (right median, right ulnar)" in head
    assert "motor conduction criteria (a)–(g): strongly supportive of demyelination (right median, right ulnar)" \
        in head.split("; but ")[1]
    assert "variant sensory-predominant rather than sensory?" in head


# --- the head names the guideline's items and tables (finding 6) -----------------------------------
def test_head_names_the_motor_items_and_the_tables():
    met = diagnose(WEAK, TWO_ABNORMAL, **TYPICAL).reasons[0]
    assert "motor conduction criteria (a)–(g): weakly supportive of demyelination (right median)" in met
    not_met = diagnose(NORMAL, TWO_ABNORMAL, **TYPICAL, supportive=NO_SUPPORT).reasons[0]
    assert not_met == ("EAN/PNS 2021 CIDP: CIDP criteria not met [EAN/PNS 2021 CIDP diagnostic categories "
                       "(Table 6; motor conduction criteria: Table 2; sensory conduction criteria: Table 3)]")
    efns = evaluate_diagnosis(STRONG, "efns-pns-2010-cidp", inputs={"clinical_criteria": True})
    assert "motor conduction criteria I-A–I-G, II: " in efns.reasons[0]
