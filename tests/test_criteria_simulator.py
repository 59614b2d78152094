"""Acceptance on the project's simulator: block versus pure temporal dispersion."""

from __future__ import annotations

import collections

import pytest

from nerveconduct.criteria import evaluate, evaluate_patient
from nerveconduct.scores.cidp_mag import cidp_mag_score
from nerveconduct.analysis import analyze_nerves
from nerveconduct.simulate.nerve import simulate_nerve

MMN = "efns-pns-2010-mmn"


def levels(sim, rule_set=MMN, segment=0, **kw):
    results = analyze_nerves(sim.to_studies())
    return [evaluate(r, rule_set, **kw)[segment] for r in results]


def test_simulated_60pct_block_cv_sd_4_is_definite_cb():
    sim = simulate_nerve((70.0, 250.0), site_names=("wrist", "elbow"), nerve="median", n_nerves=40,
                         cv_sd_m_s=4.0, block={1: 0.6}, noise_uv_rms=10.0, seed=11)
    verdicts = levels(sim)
    assert collections.Counter(v.level for v in verdicts) == {"definite": 40}
    assert all(v.reasons[0].startswith("EFNS/PNS 2010 MMN definite CB: area drop ") for v in verdicts)


@pytest.mark.parametrize("cv_sd, segment_mm", [(8.0, 250.0), (12.0, 400.0), (25.0, 700.0)])
def test_simulated_pure_dispersion_is_never_definite(cv_sd, segment_mm):
    sim = simulate_nerve((70.0, segment_mm), site_names=("wrist", "elbow"), nerve="median", n_nerves=60,
                         cv_sd_m_s=cv_sd, noise_uv_rms=10.0, seed=3)
    verdicts = levels(sim)
    assert not [v for v in verdicts if v.level == "definite"]
    if cv_sd == 25.0:
        # extreme dispersion loses >= 50% of the area, but with the duration increase > 30%
        # it is graded "probable (dispersed)", never definite
        dispersed = [v for v in verdicts if v.level == "probable"]
        assert dispersed and all("probable CB (dispersed)" in v.items for v in dispersed)


def test_simulated_block_from_erbs_point_is_excluded_unless_asked():
    sim = simulate_nerve((70.0, 230.0, 120.0, 150.0), nerve="median", n_nerves=5, cv_sd_m_s=4.0,
                         block={3: 0.6}, noise_uv_rms=10.0, seed=2)  # wrist, elbow, axilla, Erb's point
    assert {v.level for v in levels(sim, segment=2)} == {"not-assessable"}
    assert {v.level for v in levels(sim, segment=2, include_erbs_point=True)} == {"definite"}
    results = analyze_nerves(sim.to_studies())
    assert evaluate_patient(results, MMN).level == "none"


def test_simulated_anti_mag_pattern_has_low_tli_in_two_nerves():
    nerves = []
    for name, seed in (("median", 4), ("ulnar", 5)):
        sim = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow") if name == "median" else
                             ("wrist", "below elbow"), nerve=name, distal_slowing=2.5, noise_uv_rms=10.0, seed=seed)
        nerves.extend(analyze_nerves(sim.to_studies()))
    assert all(r.terminal_latency_index <= 0.25 for r in nerves)
    clinical = {"length_dependent_sensory": True, "ataxia": False, "tremor": False,
                "relapsing_or_acute_onset": False, "proximal_weakness": False}
    score = cidp_mag_score(clinical, nerves)
    assert score.points == 3 and score.interpretation == "anti-MAG pattern"
