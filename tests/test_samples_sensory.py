"""The sensory and F-wave samples (issue #18, item 6): each file reads as the case it holds,
measures as the simulator's noiseless truth says, and ``demo`` shows it.

Tolerances against the noiseless truth (:func:`nerveconduct.simulate.sensory.simulate_snap`,
:func:`nerveconduct.simulate.fwave.simulate_f_waves` with the scenarios' seeds): F latency of
each stimulus 0.3 ms (the seeds were chosen so that every F-wave, and every stimulus without
one, is found as the truth says); SNAP onset and peak latency 0.2 ms and amplitude 1 uV (the
CIDP-like SNAPs are 6-8 uV over 1 uV RMS noise).
"""

import math
from pathlib import Path

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.analysis.sensory import analyze_sensory
from nerveconduct.io.read import read_case
from nerveconduct.plot.fwave import f_wave_train_measures
from nerveconduct.simulate.fwave import simulate_f_waves
from nerveconduct.simulate.samples import FAKE_PATIENT_NAME, SAMPLE_FILES
from nerveconduct.simulate.samples_sensory import (F_WAVE_SCENARIOS, SENSORY_PATIENT_IDS,
                                                   SENSORY_SAMPLE_FILES, SENSORY_SCENARIOS,
                                                   SNAP_SETUP, write_sensory_samples)
from nerveconduct.simulate.sensory import simulate_snap

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

#: file -> (motor nerves, sensory nerves, case key or None for the export's pseudonym)
CONTENTS = {
    "sensory_median.csv": ([], ["right median"], None),
    "fwave_ulnar.csv": (["right ulnar"], [], None),
    "cidp_two_nerves.csv": (["left median", "left ulnar"], ["left median", "left ulnar"], None),
    "cidp_two_nerves.h5": (["left median", "left ulnar"], ["left median", "left ulnar"],
                           "SAMPLE-CIDP-2N"),
    "cidp_two_nerves.toml": (["left median", "left ulnar"], ["left median", "left ulnar"],
                             "SAMPLE-CIDP-2N"),
}
#: The EAN/PNS 2021 inputs each file carries (``Case.cidp``).
CIDP_INPUTS = {"cidp_two_nerves.h5": {"variant": "typical", "clinical_criteria": True},
               "cidp_two_nerves.toml": {"variant": "typical", "clinical_criteria": True}}
#: The F-wave train of each motor nerve: scenario name.
TRAINS = {"right ulnar": "normal_ulnar_fwave", "left median": "cidp_median_fwave",
          "left ulnar": "cidp_ulnar_fwave"}
SNAPS = {"right median": "normal_median_sensory", "left median": "cidp_median_sensory",
         "left ulnar": "cidp_ulnar_sensory"}


@pytest.fixture(scope="module")
def cases():
    return {name: read_case(SAMPLES / name) for name in SENSORY_SAMPLE_FILES}


def test_listed_among_the_samples():
    assert set(SENSORY_SAMPLE_FILES) <= set(SAMPLE_FILES)
    assert all((SAMPLES / name).is_file() for name in SENSORY_SAMPLE_FILES)


@pytest.mark.parametrize("name", list(CONTENTS))
def test_each_file_reads_as_its_case(cases, name):
    motor, sensory, key = CONTENTS[name]
    case = cases[name]
    assert [f"{s.side} {s.nerve}" for s in case.studies] == motor
    assert [f"{s.side} {s.canonical_nerve}" for s in case.sensory] == sensory
    assert all(s.f_wave_traces is not None and s.f_wave_traces.shape[0] == 10 for s in case.studies)
    assert case.cidp == CIDP_INPUTS.get(name, {})
    if key is not None:
        assert case.case_id == key
    else:  # the fake identifier rows give a pseudonym, never come through
        assert case.case_id.startswith("P-")
        assert FAKE_PATIENT_NAME not in repr([s.metadata for s in (*case.studies, *case.sensory)])
    for s in case.sensory:
        assert s.direction == "antidromic" and s.recording_site in ("digit II", "digit V")
        assert all(site.distance_mm is not None for site in s.sites)


@pytest.mark.parametrize("name", ["fwave_ulnar.csv", "cidp_two_nerves.csv", "cidp_two_nerves.h5"])
def test_f_waves_measure_as_the_truth(cases, name):
    for r in analyze_nerves(cases[name].studies):
        _, train = F_WAVE_SCENARIOS[TRAINS[f"{r.side} {r.nerve}"]]
        truth = simulate_f_waves(**train).truth
        m = f_wave_train_measures(r.study)
        np.testing.assert_array_equal(np.isnan(m.latencies_ms), np.isnan(truth.f_latency_ms))
        np.testing.assert_allclose(m.latencies_ms, truth.f_latency_ms, atol=0.3, equal_nan=True)
        assert r.f_wave_latency_source == "traces"
        assert r.f_wave_latency_ms == pytest.approx(float(truth.minimal_latency_ms), abs=0.3)
        assert r.f_wave_persistence_pct == float(truth.persistence_pct)


@pytest.mark.parametrize("name", ["sensory_median.csv", "cidp_two_nerves.csv", "cidp_two_nerves.h5"])
def test_snaps_measure_as_the_truth(cases, name):
    for r in analyze_sensory(cases[name].sensory):
        sc = SENSORY_SCENARIOS[SNAPS[r.label]]
        total_mm = 0.0
        for site, (_, distance_mm, amplitude_uv) in zip(r.sites, sc["sites"], strict=True):
            total_mm += distance_mm
            truth = simulate_snap(total_mm, amplitude_uv=amplitude_uv, cv_mean_m_s=sc["cv_mean_m_s"],
                                  cv_sd_m_s=sc["cv_sd_m_s"], seed=sc["seed"], **SNAP_SETUP).truth
            assert site.onset_latency_ms == pytest.approx(float(truth.onset_latency_ms), abs=0.2)
            assert site.negative_peak_latency_ms == pytest.approx(
                float(truth.negative_peak_latency_ms), abs=0.2)
            assert site.amplitude_uv == pytest.approx(amplitude_uv, abs=1.0)


def test_what_the_cidp_case_shows(cases):
    case = cases["cidp_two_nerves.h5"]
    median, ulnar = analyze_nerves(case.studies)
    # EAN/PNS 2021 item c: F latency >= 120 % of ULN in the median (distal CMAP >= 80 % LLN)
    assert median.limits["f_wave_latency"].pct_of_limit >= 120.0
    assert median.distal_amplitude_mv >= 0.8 * median.limits["distal_amplitude"].limit
    assert 100.0 < ulnar.limits["f_wave_latency"].pct_of_limit < 120.0  # long, not to item c
    for r in analyze_sensory(case.sensory):  # both SNAPs small and slow
        assert r.abnormal and {"amplitude below LLN", "CV below LLN"} <= set(r.abnormal_items)
    (normal,) = analyze_sensory(cases["sensory_median.csv"].sensory)
    assert normal.abnormal is False and normal.abnormal_items == ()
    (fw,) = analyze_nerves(cases["fwave_ulnar.csv"].studies)
    assert fw.limits["f_wave_latency"].abnormal is False and fw.f_wave_persistence_pct == 80.0


def test_generator_writes_the_bundled_files(tmp_path):
    written = write_sensory_samples(tmp_path, patient_name=FAKE_PATIENT_NAME)
    assert [p.name for p in written] == list(SENSORY_SAMPLE_FILES)
    for p in written:
        if p.suffix in (".csv", ".toml"):
            assert p.read_bytes() == (SAMPLES / p.name).read_bytes(), p.name
            if p.suffix == ".csv":
                assert SENSORY_PATIENT_IDS[p.name].encode() in p.read_bytes()
    new, old = read_case(tmp_path / "cidp_two_nerves.h5"), read_case(SAMPLES / "cidp_two_nerves.h5")
    assert new.cidp == old.cidp == CIDP_INPUTS["cidp_two_nerves.h5"]
    for a, b in zip((*new.studies, *new.sensory), (*old.studies, *old.sensory), strict=True):
        np.testing.assert_array_equal(a.traces, b.traces)
    for a, b in zip(new.studies, old.studies, strict=True):
        np.testing.assert_array_equal(a.f_wave_traces, b.f_wave_traces)


def test_demo_shows_sensory_and_f_waves():
    from click.testing import CliRunner

    from nerveconduct_cli.main import main

    result = CliRunner().invoke(main, ["demo", "--no-report"])
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    head = "Case SAMPLE-CIDP-2N (cidp_two_nerves.h5): 2 nerve(s), 2 sensory"
    block = out.split(head)[1].split("\n\n")[0]
    median, ulnar = analyze_nerves(read_case(SAMPLES / "cidp_two_nerves.h5").studies)
    assert (f"F {median.f_wave_latency_ms:.2f} ms "
            f"({median.limits['f_wave_latency'].pct_of_limit:.0f}% of ULN 31 ms \u2191), "
            "persistence 50%") in block
    assert "sensory nerve  site" in block
    assert "abnormal: amplitude below LLN; CV below LLN; peak latency above ULN" in block
    assert "EAN/PNS 2021 CIDP diagnosis: CIDP (typical)" in block  # the archive's [cidp] inputs
    # the limit columns carry their units
    assert "left median    wrist   3.21 ms  3.68 ms  3.5 ms   7.9 uV    20 uV    40 m/s    50 m/s" in block
    assert "cidp_two_nerves.csv" not in out  # one form per case: the archive
    assert "cidp_two_nerves.toml" not in out
    sensory = out.split("(sensory_median.csv): 0 nerve(s), 1 sensory")[1].split("\n\n")[0]
    assert "right median" in sensory and "normal" in sensory and "elbow" in sensory
    assert "efns-pns-2010-mmn" not in sensory  # no motor nerve, no motor criteria
    key = out.split("(sensory_median.csv)")[0].rsplit("Case ", 1)[1].strip()
    table = out.split("Patient table")[1]
    assert f"{key}  " in table and "no motor nerve studied" in table  # in the patient table too
    assert math.isfinite(median.f_wave_latency_ms)
