"""The two-nerve CIDP-like sample in Nihon Kohden text, Natus text and EDF+D (issue #18, item 6:
samples "in every format that can carry them").

Each form reads as the same case as ``cidp_two_nerves.csv`` (two motor nerves with their
10-stimulus F-wave trains, two SNAPs) and measures the same within the format's precision:
the NK text stores µV with 2 decimals, the Natus text µV with 4, the CSV µV; EDF+D 16-bit
samples on the file's physical range (half a step: 0.08 µV for the motor file's ±5 mV, far
less for the SNAP file). Tolerances: latencies 0.02 ms (below one 10 kHz sample, 0.1 ms:
the same sample is found), amplitudes 0.02 mV / 0.05 µV, CV 0.2 m/s; F-wave persistence and
the abnormal items exactly.
"""

from pathlib import Path

import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.analysis.sensory import analyze_sensory
from nerveconduct.io.detect import detect_format
from nerveconduct.io.read import read_case
from nerveconduct.simulate.samples import FAKE_PATIENT_NAME, SAMPLE_FILES
from nerveconduct.simulate.samples_formats import (FORMAT_SAMPLE_CASES, FORMAT_SAMPLE_FILES,
                                                   write_format_samples)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
README = (SAMPLES / "README.md").read_text(encoding="utf-8")


def _measures(case):
    motor = [(r.side, r.nerve, r.sites[0].onset_latency_ms, r.sites[0].negative_peak_amplitude_mv,
              r.segments[0].conduction_velocity_m_s, r.f_wave_latency_ms, r.f_wave_persistence_pct,
              r.f_wave_latency_source) for r in analyze_nerves(case.studies)]
    sensory = [(r.label, [(s.onset_latency_ms, s.negative_peak_latency_ms, s.amplitude_uv,
                           s.conduction_velocity_m_s) for s in r.sites], r.abnormal_items)
               for r in analyze_sensory(case.sensory)]
    return motor, sensory


@pytest.fixture(scope="module")
def reference():
    return _measures(read_case(SAMPLES / "cidp_two_nerves.csv"))


def test_listed_bundled_small_and_in_the_readme():
    assert set(FORMAT_SAMPLE_FILES) <= set(SAMPLE_FILES)
    assert {f for files in FORMAT_SAMPLE_CASES.values() for f in files} == set(FORMAT_SAMPLE_FILES)
    for name in FORMAT_SAMPLE_FILES:
        assert (SAMPLES / name).stat().st_size < 300_000, name
        assert f"`{name}`" in README
    assert {fmt: [detect_format(SAMPLES / f) for f in files] for fmt, files in FORMAT_SAMPLE_CASES.items()} \
        == {fmt: [fmt] * len(files) for fmt, files in FORMAT_SAMPLE_CASES.items()}


@pytest.mark.parametrize("fmt", list(FORMAT_SAMPLE_CASES))
def test_each_form_measures_as_the_trace_csv(reference, fmt):
    case = read_case([SAMPLES / f for f in FORMAT_SAMPLE_CASES[fmt]])
    assert [s.f_wave_traces.shape[0] for s in case.studies] == [10, 10]
    assert all(s.direction == "antidromic" and s.sites[0].distance_mm is not None for s in case.sensory)
    motor, sensory = _measures(case)
    want_motor, want_sensory = reference
    assert len(motor) == len(want_motor) == 2 and len(sensory) == len(want_sensory) == 2
    for got, want in zip(motor, want_motor):
        assert got[:2] == want[:2] and got[6:] == want[6:]  # nerve, persistence, "traces"
        assert got[2] == pytest.approx(want[2], abs=0.02)  # DML (ms)
        assert got[3] == pytest.approx(want[3], abs=0.02)  # distal amplitude (mV)
        assert got[4] == pytest.approx(want[4], abs=0.2)   # CV (m/s)
        assert got[5] == pytest.approx(want[5], abs=0.02)  # minimal F latency (ms)
    for (label, sites, items), (want_label, want_sites, want_items) in zip(sensory, want_sensory):
        assert label == want_label and items == want_items
        for (onset, peak, amp, cv), (w_onset, w_peak, w_amp, w_cv) in zip(sites, want_sites, strict=True):
            assert onset == pytest.approx(w_onset, abs=0.02) and peak == pytest.approx(w_peak, abs=0.02)
            assert amp == pytest.approx(w_amp, abs=0.05)
            assert cv == pytest.approx(w_cv, abs=0.6)  # 0.02 ms of a 3 ms onset: 0.6 m/s at 40 m/s


def test_the_edf_pair_is_one_case_and_identifiers_stay_out():
    case = read_case([SAMPLES / f for f in FORMAT_SAMPLE_CASES["edf"]])
    assert case.case_id == "SAMPLE-CIDP-2N"
    natus = read_case(SAMPLES / FORMAT_SAMPLE_CASES["natus-txt"][0])
    assert natus.case_id.startswith("P-")
    assert FAKE_PATIENT_NAME not in repr([s.metadata for s in (*natus.studies, *natus.sensory)])
    assert "FAKE-000-0103" not in repr([s.metadata for s in (*natus.studies, *natus.sensory)])


def test_generator_writes_the_bundled_bytes(tmp_path):
    written = write_format_samples(tmp_path, patient_name=FAKE_PATIENT_NAME)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == list(FORMAT_SAMPLE_FILES)
    for p, name in zip(written, FORMAT_SAMPLE_FILES):
        assert p.read_bytes() == (SAMPLES / name).read_bytes(), name
