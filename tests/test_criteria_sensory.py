"""Criteria read on sensory conduction: the EFNS/PNS 2010 CIDP supportive criterion "abnormal
sensory electrophysiology in >= 1 nerve" and EFNS/PNS 2010 MMN's "normal sensory nerve
conduction across the segments with CB", from sensory results (stand-ins with the sensory
analysis's attributes) and from the sheet.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nerveconduct.analysis import analyze_values
from nerveconduct.analysis.sensory import analyze_sensory
from nerveconduct.criteria.patient import evaluate_diagnosis
from nerveconduct.flags import MeasureFlag
from nerveconduct.model import SensoryStudy, Site
from nerveconduct.scores.categories import mmn_category

CIDP_2010 = "efns-pns-2010-cidp"


def _motor(nerve: str, side: str, cv_m_s: float):
    return analyze_values(nerve, [Site("wrist", 70), Site("elbow", 200)], [3.0, 3.0 + 200 / cv_m_s], [6.0, 5.8],
                          side=side, negative_peak_area_mv_ms=[20.0, 19.5], negative_peak_duration_ms=[5.0, 5.2],
                          cmap_duration_ms=[5.0, 5.2], f_wave_latency_ms=25.0, low_frequency_filter_hz=2.0)


ONE_SLOW = [_motor("median", "right", 20.0)]  # EFNS/PNS 2010 possible (electrodiagnostic)


def snap(nerve, side="right", *, amp_pct=100.0, cv_pct=95.0, present=True, abnormal=False):
    return SimpleNamespace(nerve=nerve, side=side, label=f"{side} {nerve}", abnormal=abnormal, abnormal_items=(),
                           amplitude_pct_of_lln=amp_pct, cv_pct_of_lln=cv_pct,
                           sites=(SimpleNamespace(present=present),))


def supportive_sensory(traces, given=None):
    inputs = {"clinical_criteria": True}
    if given is not None:
        inputs["supportive"] = {"sensory_conduction": given}
    d = evaluate_diagnosis(ONE_SLOW, CIDP_2010, sensory=traces, inputs=inputs)
    return d.supportive["sensory_conduction"], d


# --- EFNS/PNS 2010 CIDP supportive criterion 3: abnormal sensory electrophysiology in >= 1 nerve
@pytest.mark.parametrize("amp_pct,met", [(99.9, True), (100.0, False), (100.1, False)])
def test_efns2010_supportive_3a_normal_sural_with_abnormal_median_snap_amplitude(amp_pct, met):
    state, d = supportive_sensory([snap("median", amp_pct=amp_pct), snap("sural")])
    assert state is met
    assert d.category == ("probable CIDP" if met else "possible CIDP")  # possible + 1 supportive -> probable


def test_efns2010_supportive_3a_needs_a_normal_sural():
    assert supportive_sensory([snap("median", amp_pct=50.0), snap("sural", amp_pct=50.0)])[0] is False


@pytest.mark.parametrize("cv_pct,amp_pct,met", [
    (80.0, 100.0, False), (79.9, 100.0, True), (80.1, 100.0, False),   # 3b: CV < 80 % LLN
    (70.0, 79.9, False), (69.9, 79.9, True), (70.1, 79.9, False),      # 3c: < 70 % if SNAP < 80 % LLN
])
def test_efns2010_supportive_3b_3c_sensory_cv_in_one_nerve(cv_pct, amp_pct, met):
    # one nerve is enough ("in >= 1 nerve"); the ulnar keeps sural sparing out of the way
    state, _ = supportive_sensory([snap("ulnar", cv_pct=cv_pct, amp_pct=amp_pct)])
    assert state is met


def test_efns2010_supportive_sensory_unknown_without_sensory_studies_and_the_sheet_fills_it():
    state, d = supportive_sensory([])
    assert state is None and d.max_category == "definite CIDP"
    state, d = supportive_sensory([], given=True)
    assert state is True
    assert any("abnormal sensory electrophysiology: met as given in the sheet" in r for r in d.reasons)


def test_efns2010_supportive_sensory_traces_win_over_the_sheet():
    state, d = supportive_sensory([snap("ulnar", cv_pct=95.0), snap("sural")], given=True)
    assert state is False
    assert any("not met from the sensory conduction, the sheet says met; the conduction is used" in r
               for r in d.reasons)


# --- EFNS/PNS 2010 MMN: normal sensory conduction across the CB segment -------------------------------
CB_MEDIAN = analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], [6.1, 2.9], side="right",
                           negative_peak_area_mv_ms=[20.0, 7.6], negative_peak_duration_ms=[5.0, 5.4])  # definite CB


def sensory_study(sites=("wrist", "elbow"), cv_m_s=60.0, lln_m_s=50.0, present=(True, True), abnormal=False):
    ss = tuple(SimpleNamespace(site=n, present=p, conduction_velocity_m_s=55.0 if i == 0 else cv_m_s)
               for i, (n, p) in enumerate(zip(sites, present)))
    return SimpleNamespace(nerve="median", side="right", label="right median", sites=ss, cv_lln_m_s=lln_m_s,
                           abnormal=abnormal, abnormal_items=("CV below LLN",) if abnormal else ())


def mmn(sensory_results, sensory_normal=None):
    return mmn_category([CB_MEDIAN], core_clinical=True, exclusions_absent=True, sensory_normal=sensory_normal,
                        sensory_results=sensory_results)


@pytest.mark.parametrize("cv_m_s,category", [(50.0, "definite"), (50.1, "definite"), (49.9, "none")])
def test_mmn_sensory_segment_covering_the_cb_segment_cv_at_lln(cv_m_s, category):
    m = mmn([sensory_study(cv_m_s=cv_m_s)])
    assert m.category == category
    assert any("sensory segment covering the CB segment wrist–elbow" in r for r in m.reasons)


def test_mmn_sensory_proximal_snap_absent_across_the_cb_segment_is_abnormal():
    m = mmn([sensory_study(present=(True, False))])
    assert m.category == "none" and any("SNAP absent" in r for r in m.reasons)


def test_mmn_sensory_distal_snap_sought_and_absent_is_abnormal_even_against_the_sheet():
    # Noise only at both sites of a real sensory study: analyze_sensory finds no SNAP (flag ABSENT).
    # Absent SNAPs are abnormal sensory conduction: no definite MMN, whatever the sheet says.
    rng = np.random.default_rng(0)
    study = SensoryStudy("median", "right", [Site("wrist", 130), Site("elbow", 230)],
                         rng.normal(0.0, 1e-3, size=(2, 500)), 20000.0, stimulus_sample=40)
    results = analyze_sensory([study])
    assert [s.present for s in results[0].sites] == [False, False]
    for sheet in (None, True, {"right median": True}):
        m = mmn(results, sensory_normal=sheet)
        assert m.category == "none" and m.max_category == "none"
        assert any("SNAP absent at wrist (sensory conduction abnormal)" in r for r in m.reasons)


def test_mmn_sensory_distal_snap_not_measurable_decides_nothing():
    # A flat (unmeasurable) distal trace is no evidence either way: the sheet's value is used.
    study = sensory_study(present=(False, True))
    study.sites[0].flags = int(MeasureFlag.UNMEASURABLE)
    m = mmn([study], sensory_normal=True)
    assert m.category == "definite"
    assert any("not measurable (flags: UNMEASURABLE)" in r and "as given in the sheet" in r for r in m.reasons)
    assert mmn([study]).category == "none" and mmn([study]).max_category == "definite"


def test_mmn_sensory_without_a_covering_segment_uses_the_nerve_as_a_whole():
    m = mmn([sensory_study(sites=("wrist", "palm"), abnormal=True)])
    assert m.category == "none"
    assert any("no sensory segment covers the CB segment wrist–elbow: the sensory nerve as a whole is abnormal"
               in r for r in m.reasons)


def test_mmn_sheet_value_still_works_and_says_so():
    m = mmn([sensory_study(lln_m_s=None)], sensory_normal={"right median": True})
    assert m.category == "definite"
    assert any("normal as given in the sheet (the sensory traces do not decide" in r for r in m.reasons)


def test_mmn_traces_win_over_a_disagreeing_sheet():
    m = mmn([sensory_study(cv_m_s=40.0)], sensory_normal=True)
    assert m.category == "none"
    assert any("the sheet says normal, the sensory traces disagree; the traces are used" in r for r in m.reasons)


def test_mmn_without_sensory_results_is_unchanged():
    a = mmn_category([CB_MEDIAN], core_clinical=True, exclusions_absent=True, sensory_normal=True)
    b = mmn([], sensory_normal=True)
    assert a == b and a.category == "definite"


# --- end to end: simulated SNAPs (noiseless truth) -> analyze_sensory -> the diagnosis ----------
def _simulated(nerve, cv_m_s, site="wrist", distance_mm=130.0):
    from nerveconduct.model import SensoryStudy
    from nerveconduct.simulate.sensory import simulate_snap
    sim = simulate_snap(distance_mm, cv_mean_m_s=cv_m_s, cv_sd_m_s=0.0, amplitude_uv=30.0, noise_uv_rms=0.0,
                        artifact_mv=0.0, seed=1)
    return sim, SensoryStudy(nerve, "right", [Site(site, distance_mm)], sim.traces[None, :], 20000.0,
                             stimulus_sample=40)


def test_simulated_slow_snaps_make_possible_sensory_cidp():
    from nerveconduct.analysis.sensory import analyze_sensory
    sims = [_simulated("median", 30.0), _simulated("ulnar", 30.0), _simulated("sural", 50.0, site="calf")]
    results = analyze_sensory([s for _, s in sims])
    for (sim, _), r in zip(sims, results):  # the measured CV is the noiseless truth's (tolerance 1e-9 relative)
        truth_cv = 130.0 / float(sim.truth.onset_latency_ms)
        assert r.distal_conduction_velocity_m_s == pytest.approx(truth_cv, rel=1e-9)
    motor = [_motor("median", "right", 55.0), _motor("ulnar", "left", 55.0)]
    d = evaluate_diagnosis(motor, "ean-pns-2021-cidp", sensory=results,
                           inputs={"variant": "sensory", "clinical_criteria": True})
    assert d.label == "possible CIDP (sensory)"
    assert d.sensory["right median"] == {"abnormal": True, "demyelinating": True}
    assert d.sensory["right sural"] == {"abnormal": False, "demyelinating": False}
    assert "sensory CV <80% LLN (<70% if SNAP <80% LLN) in 2 nerves (right median, right ulnar)" in d.reasons[0]
