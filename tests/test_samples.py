"""The bundled samples: each file reads and shows exactly what data/samples/README.md says."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from nerveconduct.criteria.engine import evaluate
from nerveconduct.io.detect import detect_format
from nerveconduct.io.read import read, read_case
from nerveconduct.simulate.samples import (FAKE_PATIENT_ID, FAKE_PATIENT_NAME, SAMPLE_FILES,
                                  generate_samples, sample_path)
from nerveconduct.scores.cidp_mag import cidp_mag_score
from nerveconduct.scores.categories import mmn_category
from nerveconduct.analysis import analyze_nerve

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
README = (SAMPLES / "README.md").read_text(encoding="utf-8")

from sample_expectations import EXPECTED, TOLERANCE  # noqa: E402  (tests/ is on sys.path)


def _results(name):
    return {s.nerve: analyze_nerve(s) for s in read(SAMPLES / name)}


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_numbers_and_verdicts(key):
    dml, amp, tli, segments, levels = EXPECTED[key]
    r = _results(key[0])[key[1]]
    assert r.side == key[2]
    assert r.distal_motor_latency_ms == pytest.approx(dml, abs=TOLERANCE["ms"])
    assert r.distal_amplitude_mv == pytest.approx(amp, abs=TOLERANCE["mv"])
    if tli is None:
        assert math.isnan(r.terminal_latency_index)
    else:
        assert r.terminal_latency_index == pytest.approx(tli, abs=TOLERANCE["tli"])
    assert len(r.segments) == len(segments)
    for seg, (cv, drop, area, dur) in zip(r.segments, segments):
        if cv is None:  # absent proximal response: "absent", never a number
            assert seg.proximal_absent and math.isnan(seg.amplitude_drop_pct)
            continue
        assert not seg.proximal_absent
        assert seg.conduction_velocity_m_s == pytest.approx(cv, abs=TOLERANCE["cv"])
        assert seg.amplitude_drop_pct == pytest.approx(drop, abs=TOLERANCE["pct"])
        assert seg.area_drop_pct == pytest.approx(area, abs=TOLERANCE["pct"])
        assert seg.duration_increase_pct == pytest.approx(dur, abs=TOLERANCE["pct"])
    assert [v.level for v in evaluate(r, "efns-pns-2010-mmn")] == levels
    # the README's table states these numbers (bold allowed)
    assert re.search(rf"\|\s*\**{dml:.2f}\**\s*\|\s*\**{amp:.2f}\**\s*\|", README)


def test_mmn_case_is_definite():
    case = read_case(SAMPLES / "mmn_case.toml")
    (r,) = [analyze_nerve(s) for s in case.studies]
    seg = r.segments[0]
    assert seg.area_drop_pct >= 50 and seg.duration_increase_pct <= 30  # definite CB, forearm
    m = case.mmn
    cat = mmn_category([r], core_clinical=m["core_clinical"],
                       exclusions_absent=m["exclusions_absent"],
                       sensory_normal=m["sensory_normal"], supportive=m["supportive"],
                       one_nerve_only=m["one_nerve_only"])
    assert cat.category == "definite" and "definite MMN" in README


def test_cidp_is_dispersion_not_block():
    (r,) = [analyze_nerve(s) for s in read(SAMPLES / "cidp_median.edf")]
    assert r.segments[0].duration_increase_pct > 30
    first = evaluate(r, "efns-pns-2010-cidp")[0]
    assert first.level == "met" and "I-F" in first.items  # a segment meets items; only a patient is "definite"


def test_antimag_low_tli_in_two_nerves_and_score():
    case = read_case(SAMPLES / "antimag_case.toml")
    results = [analyze_nerve(s) for s in case.studies]
    assert sorted(r.nerve for r in results) == ["median", "ulnar"]
    assert all(r.terminal_latency_index <= 0.25 for r in results)
    score = cidp_mag_score(case.clinical, results)
    assert score.points == 5 and "+5: anti-MAG pattern" in README
    assert case.paraprotein["m_protein"] == "IgM-kappa" and case.paraprotein["igg_lln"] == 7.0


def test_absent_proximal():
    (study,) = read(SAMPLES / "absent_proximal.h5")
    r = analyze_nerve(study)
    assert (r.nerve, r.distal_motor_latency_ms) == ("tibial", pytest.approx(3.81, abs=0.15))
    assert r.distal_amplitude_mv == pytest.approx(5.0, abs=0.15)
    assert r.segments[0].proximal_absent and not r.sites[1].present
    assert [v.level for v in evaluate(r, "efns-pns-2010-mmn")] == ["not-assessable"]
    assert "| 3.81 | 5.00 |" in README


@pytest.mark.parametrize("name", ["normal_median.csv", "antimag.csv"])
def test_without_sheet_distances_are_none_and_flagged(name):
    for study in read(SAMPLES / name):
        assert all(s.distance_mm is None for s in study.sites)
        r = analyze_nerve(study)
        assert math.isnan(r.terminal_latency_index) and math.isnan(r.segments[0].conduction_velocity_m_s)
        assert r.flags and r.distal_motor_latency_ms > 0


def test_fake_identifiers_do_not_come_through():
    text = (SAMPLES / "antimag.csv").read_text(encoding="utf-8")
    assert FAKE_PATIENT_NAME in text and FAKE_PATIENT_ID in text
    for name in ("normal_median.csv", "antimag.csv", "antimag_case.toml"):
        for s in read(SAMPLES / name):
            assert FAKE_PATIENT_NAME not in repr(s.metadata) + str(s.study_id)
            # the export's patient fields give the case key, unless a sheet names the case
            own = s.metadata.get("patient_key", s.study_id)
            assert own.startswith("P-")
            assert s.study_id == ("SAMPLE-ANTIMAG" if name.endswith(".toml") else own)
    kept = read(SAMPLES / "normal_median.csv", keep_identifiers=True)[0]
    assert kept.metadata["patient_name"] == FAKE_PATIENT_NAME


def test_every_file_listed_read_and_small():
    present = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*")
               if p.is_file() and p.name not in ("README.md", "__init__.py")
               and "__pycache__" not in p.parts}
    assert present == set(SAMPLE_FILES)
    assert all(f"`{name}`" in README for name in SAMPLE_FILES)
    # ~190 kB of motor samples, ~360 kB of sensory/F-wave samples (the archive ~220 kB of it),
    # ~445 kB of the two-nerve case in NK text, Natus text (UTF-16, 260 kB) and EDF+D
    assert sum((SAMPLES / n).stat().st_size for n in present) < 1_050_000
    formats = {detect_format(SAMPLES / n) for n in present}
    assert formats == {"trace-csv", "nihon-kohden-txt", "edf", "hdf5-archive", "sheet-json",
                       "sheet-toml", "values-csv", "natus-txt"}
    assert sample_path("mmn_ulnar.edf").name == "mmn_ulnar.edf"
    with pytest.raises(FileNotFoundError, match="no bundled sample"):
        sample_path("nope.csv")


def test_generator_is_deterministic_and_matches_bundled(tmp_path):
    a, b = generate_samples(tmp_path / "a"), generate_samples(tmp_path / "b")
    for pa, pb in zip(a, b):
        if pa.suffix != ".h5":
            assert pa.read_bytes() == pb.read_bytes(), pa.name
    for name in ("normal_median.csv", "mmn_ulnar.edf", "noisy_median.txt", "absent_proximal.h5"):
        (new,), (old,) = read(tmp_path / "a" / name), read(SAMPLES / name)
        np.testing.assert_allclose(new.traces, old.traces, atol=2e-5)
    for name in ("normal_case.json", "mmn_case.toml", "antimag_case.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (SAMPLES / name).read_bytes()
