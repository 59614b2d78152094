"""Sensory studies and F-wave trains in the readers and writers of every text/EDF/BIDS format,
the study sheet's ``[[sensory]]`` entries and ``f_wave_file``, and the kind rule
(``docs/formats.md``, "Sensory studies and F-wave trains")."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.io import TraceKindWarning, trace_kind
from nerveconduct.io.bids import write_bids
from nerveconduct.io.bids_read import read_bids
from nerveconduct.io.edf import read_edf, write_edf
from nerveconduct.io.errors import FormatError, SheetError
from nerveconduct.io.natus import read_natus_text
from nerveconduct.io.natus_write import write_natus_text
from nerveconduct.io.nihon_kohden import read_nihon_kohden_txt, write_nihon_kohden_txt
from nerveconduct.io.read import read, read_case
from nerveconduct.io.vendor import read_trace_csv, write_trace_csv
from nerveconduct.model import Case, NerveStudy, SensoryStudy, Site
from nerveconduct.simulate.fwave import simulate_f_waves
from nerveconduct.simulate.sensory import simulate_snap

RATE_HZ = 20_000.0  # one rate for CMAPs, trains and SNAPs, so one EDF+D file holds them all


def motor(seed: int, nerve: str = "ulnar", muscle: str = "ADM", train: bool = True) -> NerveStudy:
    st = nc.simulate_nerve((70.0, 230.0), site_names=("Wrist", "Elbow"), nerve=nerve,
                           side="left", muscle=muscle, sampling_rate_hz=RATE_HZ,
                           seed=seed).to_studies()[0]
    fw = simulate_f_waves(n_stimuli=10, sampling_rate_hz=RATE_HZ, seed=seed)
    return NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, RATE_HZ,
                      stimulus_sample=st.stimulus_sample, study_id="CASE-1",
                      f_wave_traces=fw.traces if train else None,
                      f_wave_sampling_rate_hz=RATE_HZ if train else None,
                      f_wave_stimulus_sample=fw.stimulus_sample if train else 0)


def sensory(seed: int, *, sweeps: int | None = None, nerve: str = "median",
            recording_site: str | None = "digit II", n_sites: int = 2) -> SensoryStudy:
    snap = simulate_snap(140.0, n_snaps=n_sites * (sweeps or 1), sampling_rate_hz=RATE_HZ,
                         seed=seed)
    traces = (snap.traces.reshape(n_sites, sweeps, -1) if sweeps else
              snap.traces.reshape(n_sites, -1))
    return SensoryStudy(nerve, "left", [Site("wrist", 140.0), Site("elbow", 90.0)][:n_sites],
                        traces, RATE_HZ, stimulus_sample=snap.stimulus_sample,
                        direction="orthodromic" if sweeps else "antidromic",
                        recording_site=recording_site, study_id="CASE-1")


@pytest.fixture(scope="module")
def case() -> Case:
    return Case([motor(1), motor(2, nerve="median", muscle="APB", train=False)],
                sensory=[sensory(3), sensory(4, sweeps=3, nerve="sural", recording_site="ankle",
                                             n_sites=1)])


def _edf_step(case: Case) -> float:
    """Half the EDF quantisation step of the case's file (mV): the round-trip tolerance."""
    peak = max(float(np.abs(t).max()) for t in (*[s.traces for s in case.studies],
                                                *[s.f_wave_traces for s in case.studies
                                                  if s.f_wave_traces is not None],
                                                *[s.traces for s in case.sensory]))
    return 2 * peak * 1.01 / 65535 / 2 + 1e-12


#: format -> (writer, reader, tolerance in mV: the writer's rounding of µV values, or None
#: for EDF's 16-bit quantisation, computed per file)
FORMATS = {
    "trace-csv": (lambda p, c: write_trace_csv(p, c, distances=True), read_trace_csv, 0.005e-3),
    "nihon-kohden-txt": (write_nihon_kohden_txt, read_nihon_kohden_txt, 0.005e-3),
    "natus-txt": (lambda p, c: write_natus_text(c, p), read_natus_text, 0.00005e-3),
    "edf": (write_edf, read_edf, None),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip_per_format(tmp_path, case, fmt):
    writer, reader, tol = FORMATS[fmt]
    tol = _edf_step(case) if tol is None else tol * 1.0001
    path = writer(tmp_path / f"case.{fmt}", case)
    got = reader(path)
    assert len(got) == 2 and len(got.sensory) == 2 and got.f_wave_trains == []
    for a, b in zip(case.studies, got, strict=True):
        assert np.abs(a.traces - b.traces).max() <= tol
        if a.f_wave_traces is None:
            assert b.f_wave_traces is None
        else:
            assert b.f_wave_traces.shape == a.f_wave_traces.shape
            assert np.abs(a.f_wave_traces - b.f_wave_traces).max() <= tol
            assert (b.f_wave_sampling_rate_hz, b.f_wave_stimulus_sample) == (
                a.f_wave_sampling_rate_hz, a.f_wave_stimulus_sample)
    for a, b in zip(case.sensory, got.sensory, strict=True):
        assert b.traces.shape == a.traces.shape
        assert np.abs(a.traces - b.traces).max() <= tol
        assert (b.nerve, b.side, b.direction, b.recording_site, b.stimulus_sample) == (
            a.nerve, a.side, a.direction, a.recording_site, a.stimulus_sample)
        assert [x.name for x in b.sites] == [x.name for x in a.sites]
        assert b.metadata["missing_fields"] == []
    assert [x.distance_mm for x in got.sensory[0].sites] == [140.0, 90.0]


@pytest.mark.parametrize("fmt", ["trace-csv", "nihon-kohden-txt", "natus-txt", "edf"])
def test_read_and_read_case_carry_sensory(tmp_path, case, fmt):
    path = FORMATS[fmt][0](tmp_path / f"case.{fmt}", case)
    found = read(path)
    assert [s.nerve for s in found.sensory] == ["median", "sural"]
    whole = read_case(path)
    assert len(whole.studies) == 2 and [s.nerve for s in whole.sensory] == ["median", "sural"]
    assert whole.studies[0].f_wave_traces is not None


@pytest.mark.parametrize("text, kind", [
    ("Right Median Motor (APB)", "motor"), ("L Sural Sensory", "sensory"),
    ("Right Median SNAP (Digit II)", "sensory"), ("Median Antidromic", "sensory"),
    ("Right Ulnar F-Wave (ADM)", "f-wave"), ("Ulnar Motor F wave", "f-wave"),
    ("Tibial F-Response", "f-wave"), ("Right Median", None), ("anti-MAG median motor", "motor"),
])
def test_kind_rule(text, kind):
    assert trace_kind(text) == kind


def test_unmarked_item_reads_as_motor_and_says_so(tmp_path):
    path = write_trace_csv(tmp_path / "m.csv", motor(1, train=False))
    path.write_text(path.read_text(encoding="utf-8").replace(" Motor", ""), encoding="utf-8")
    (study,) = read_trace_csv(path)
    assert "trace_kind" in study.metadata["missing_fields"]


def test_train_without_its_motor_study_is_warned_not_dropped_silently(tmp_path):
    text = write_trace_csv(tmp_path / "m.csv", motor(1)).read_text(encoding="utf-8")
    train_only = text[text.index("Test Name,NCV", 10):]
    (tmp_path / "f.csv").write_text(train_only, encoding="utf-8")
    with pytest.warns(TraceKindWarning, match=r"F-wave train .* left out: no motor study"):
        found = read(tmp_path / "f.csv")
    assert list(found) == [] and found.sensory == []


def test_bad_sweep_row_is_a_format_error(tmp_path):
    path = write_trace_csv(tmp_path / "s.csv", sensory(1, sweeps=2))
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [("Sweep,1,2,1,3" if ln.startswith("Sweep,") else ln) for ln in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"Sweep row must number each site's columns 1\.\.k"):
        read_trace_csv(path)


def _sheet_case(tmp_path, **sensory_entry):
    """A motor file, its F-wave train file and an unmarked SNAP file named by a sheet."""
    tmp_path.mkdir(exist_ok=True)
    m, s = motor(1), sensory(2, n_sites=1)
    bare = NerveStudy(m.nerve, m.side, m.muscle, m.sites, m.traces, RATE_HZ,
                      stimulus_sample=m.stimulus_sample)
    write_trace_csv(tmp_path / "motor.csv", bare)
    train = NerveStudy(m.nerve, m.side, m.muscle,
                       [Site(f"stim {i}", None) for i in range(len(m.f_wave_traces))],
                       m.f_wave_traces, RATE_HZ, stimulus_sample=m.f_wave_stimulus_sample)
    write_trace_csv(tmp_path / "train.csv", train)
    snap = NerveStudy("median", "left", None, s.sites, s.traces, RATE_HZ,
                      stimulus_sample=s.stimulus_sample)
    path = write_trace_csv(tmp_path / "snap.csv", snap)
    path.write_text(path.read_text(encoding="utf-8").replace(" Motor", ""), encoding="utf-8")
    entry = {"file": "snap.csv", "direction": "orthodromic", "recording_site": "digit II",
             "sites": [{"distance_mm": 140}], **sensory_entry}
    sheet = {"case_id": "SHEET-CASE", "age_years": 60,
             "nerves": [{"file": "motor.csv", "f_wave_file": "train.csv",
                         "sites": [{"distance_mm": 70}, {"distance_mm": 230}]}],
             "sensory": [entry]}
    (tmp_path / "case.json").write_text(json.dumps(sheet), encoding="utf-8")
    return tmp_path / "case.json", m, s


def test_sheet_declares_sensory_files_and_names_f_wave_files(tmp_path):
    sheet, m, s = _sheet_case(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TraceKindWarning)  # nothing is left out
        got = read_case(sheet)
    (study,) = got.studies
    assert np.abs(study.f_wave_traces - m.f_wave_traces).max() <= 0.005e-3 * 1.0001
    assert study.f_wave_stimulus_sample == m.f_wave_stimulus_sample
    assert study.metadata["f_wave_file"].startswith("F-")  # pseudonymous, not the file name
    (snap,) = got.sensory
    assert (snap.direction, snap.recording_site, snap.sites[0].distance_mm) == (
        "orthodromic", "digit II", 140.0)
    assert snap.study_id == "SHEET-CASE" and snap.age_years == 60.0
    assert snap.metadata["trace_kind_source"] == "sheet"
    assert snap.metadata["missing_fields"] == []


def test_sheet_errors_are_named(tmp_path):
    sheet, _, _ = _sheet_case(tmp_path / "a", direction="sideways")
    with pytest.raises(SheetError, match=r"sensory\[0\]\.direction: direction must be one of"):
        read_case(sheet)
    sheet, _, _ = _sheet_case(tmp_path / "b", file="motor.csv")
    with pytest.raises(SheetError, match=r"sensory\[0\]\.file: .*marks its traces as motor"):
        read_case(sheet)


def test_bids_runs_carry_f_wave_trains_and_sensory_studies(tmp_path, case):
    from test_io_bids import check_dataset  # the BIDS-EMG schema rules, checked there

    write_bids(case, tmp_path, subject="P1", derivatives=None)
    runs = check_dataset(tmp_path)
    assert sorted(p.name for p in runs) == [
        "sub-P1_task-ncs_run-1_emg.edf", "sub-P1_task-ncs_run-2_emg.edf",
        "sub-P1_task-sncs_run-1_emg.edf", "sub-P1_task-sncs_run-2_emg.edf"]
    back = read_bids(tmp_path)
    assert back[0].f_wave_traces.shape == case.studies[0].f_wave_traces.shape
    assert back[1].f_wave_traces is None
    events = (tmp_path / "sub-P1/emg/sub-P1_task-ncs_run-1_events.tsv").read_text().splitlines()
    assert sum(line.split("\t")[2] == "F-wave" for line in events[1:]) == 10
    assert [s.name for s in back[0].sites] == ["Wrist", "Elbow"]
    tol = _edf_step(case)
    for a, b in zip(case.sensory, back.sensory, strict=True):
        assert b.traces.shape == a.traces.shape and np.abs(a.traces - b.traces).max() <= tol
        assert (b.nerve, b.direction, b.recording_site, b.sites) == (
            a.nerve, a.direction, a.recording_site, a.sites)
        assert b.metadata["bids_entities"]["task"] == "sncs"
    assert [s.nerve for s in read(tmp_path).sensory] == ["median", "sural"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nerveconduct_cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_validate_and_convert_report_sensory_and_trains(tmp_path, case):
    path = write_trace_csv(tmp_path / "case.csv", case)
    run = _cli("validate", str(path), "-f", "jsonl")
    (record,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 0 and record["n_nerves"] == 2
    assert (record["n_sensory"], record["n_f_wave_trains"]) == (2, 1)
    assert "left median (sensory): the file lacks distances (a --sheet can give them)" in \
        record["warnings"]
    run = _cli("convert", str(path), str(tmp_path / "case.h5"))
    assert run.returncode == 0, run.stderr
    assert "(with 1 F-wave train(s) and 2 sensory studies)" in run.stderr
    from nerveconduct.io.archive import open_archive

    with open_archive(tmp_path / "case.h5") as archive:
        assert (archive.n_nerves, archive.n_sensory, archive.n_f_wave_trains) == (2, 2, 1)


def test_validate_names_a_train_left_out(tmp_path):
    text = write_trace_csv(tmp_path / "m.csv", motor(1)).read_text(encoding="utf-8")
    (tmp_path / "f.csv").write_text(text[text.index("Test Name,NCV", 10):], encoding="utf-8")
    run = _cli("validate", str(tmp_path / "f.csv"), "-f", "jsonl")
    (record,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert record["valid"] and record["n_nerves"] == 0
    assert any("F-wave train" in w and "left out" in w for w in record["warnings"])
    assert "f.csv" not in run.stdout  # the file is named by its pseudonymous key
