"""BIDS-EMG export/import: file naming and sidecars against the BIDS schema's rules, round trip."""

import json
import math
import re

import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.io.bids import write_bids
from nerveconduct.serialize import bids_measures
from nerveconduct.io.bids_read import read_bids
from nerveconduct.io.errors import FormatError
from nerveconduct.model import Case, NerveStudy, Site

# ----------------------------------------------------------------------------------------------
# The rules checked, as data. Source: the BIDS specification's schema (BIDS 1.11.x), repository
# bids-standard/bids-specification, folder src/schema:
#   rules/files/raw/emg.yaml         _emg: datatype emg; extensions .edf .bdf .json; entities
#                                    subject, task required; session, acquisition, run,
#                                    recording optional
#   rules/files/raw/channels.yaml    channels__emg (.tsv/.json), same entities
#   rules/files/raw/events.yaml      events__emg (.tsv/.json), same entities
#   rules/entities.yaml              entity order in a file name
#   objects/entities.yaml, objects/formats.yaml   sub/ses/task/acq/recording are labels
#                                    [0-9a-zA-Z+]+, run an index [0-9]+
#   rules/sidecars/emg.yaml          EMGRequired (+ TaskName in EMGTaskInformation); with
#                                    EMGPlacementScheme "Other", EMGPlacementSchemeDescription
#   rules/sidecars/electrophys.yaml  EpochLengthRequired: emg with RecordingType "epoched"
#   objects/metadata.yaml            types and enums of those fields
#   rules/checks/emg.yaml            EMGChannelCount == channels of type EMG
#   rules/tabular_data/emg.yaml      EMGChannels: name, type, units first and required;
#                                    additional columns only if defined (the list below)
#   objects/columns.yaml             channel type enum (upper case), participant_id pattern,
#                                    duration >= 0
#   rules/tabular_data/events.yaml   onset, duration first and required; extra columns allowed
#   rules/checks/events.yaml         SortedOnsets
#   rules/json/dataset.yaml          dataset_description: Name, BIDSVersion; derivative:
#                                    GeneratedBy
#   rules/tabular_data/modality_agnostic.yaml, rules/checks/dataset.yaml   participants.tsv:
#                                    participant_id first; one row per sub-* folder
# ----------------------------------------------------------------------------------------------
ENTITY_ORDER = ("sub", "ses", "task", "acq", "run", "recording")
REQUIRED_ENTITIES = ("sub", "task")
ENTITY_FORMAT = {"sub": "[0-9a-zA-Z+]+", "ses": "[0-9a-zA-Z+]+", "task": "[0-9a-zA-Z+]+",
                 "acq": "[0-9a-zA-Z+]+", "run": "[0-9]+", "recording": "[0-9a-zA-Z+]+"}
SUFFIX_EXTENSIONS = {"emg": (".edf", ".bdf", ".json"), "channels": (".tsv", ".json"),
                     "events": (".tsv", ".json")}
EMG_REQUIRED = ("EMGPlacementScheme", "EMGReference", "SamplingFrequency", "PowerLineFrequency",
                "RecordingType", "SoftwareFilters", "TaskName")
PLACEMENT_SCHEMES = ("ChannelSpecific", "Measured", "Other")
RECORDING_TYPES = ("continuous", "epoched", "discontinuous")
CHANNEL_REQUIRED = ("name", "type", "units")
CHANNEL_DEFINED = {"name", "type", "units", "description", "sampling_frequency",
                   "signal_electrode", "reference", "group", "target_muscle", "placement_scheme",
                   "placement_description", "interelectrode_distance", "low_cutoff",
                   "high_cutoff", "notch", "status", "status_description"}
CHANNEL_TYPES = {"ACCEL", "ADC", "ANGACCEL", "AUDIO", "DAC", "DBS", "ECG", "ECOG", "EEG", "EMG",
                 "EOG", "EYEGAZE", "FITERR", "GSR", "GYRO", "HEOG", "HLU", "JNTANG", "LATENCY",
                 "MAGN", "MISC", "ORNT", "OTHER", "PD", "POS", "PPG", "PUPIL", "REF", "RESP",
                 "SEEG", "SYSCLOCK", "TEMP", "TRIG", "VEL", "VEOG"}
EVENTS_REQUIRED = ("onset", "duration")
DESCRIPTION_REQUIRED = ("Name", "BIDSVersion")
PARTICIPANT_ID = re.compile(r"^sub-[0-9a-zA-Z+]+$")


def _name_pattern():
    entities = "".join(
        f"(?:{'' if i == 0 else '_'}{e}-(?P<{e}>{ENTITY_FORMAT[e]}))"
        f"{'' if e in REQUIRED_ENTITIES else '?'}" for i, e in enumerate(ENTITY_ORDER))
    suffixes = "|".join(SUFFIX_EXTENSIONS)
    return re.compile(rf"^{entities}_(?P<suffix>{suffixes})(?P<ext>\.[a-z]+)$")


NAME = _name_pattern()


def check_file_name(path, root):
    """The BIDS rules above for one raw data file: name, folder, extension."""
    m = NAME.match(path.name)
    assert m, path.name
    assert m["ext"] in SUFFIX_EXTENSIONS[m["suffix"]], path.name
    folder = [f"sub-{m['sub']}"] + ([f"ses-{m['ses']}"] if m["ses"] else []) + ["emg"]
    assert path.parent.relative_to(root).parts == tuple(folder), path


def _tsv(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return head, [dict(zip(head, ln.split("\t"))) for ln in lines[1:]]


def check_dataset(root):
    """Every rule above, on a written dataset."""
    description = json.loads((root / "dataset_description.json").read_text())
    assert all(k in description for k in DESCRIPTION_REQUIRED)
    head, rows = _tsv(root / "participants.tsv")
    assert head[0] == "participant_id"
    ids = [r["participant_id"] for r in rows]
    assert all(PARTICIPANT_ID.match(i) for i in ids) and len(set(ids)) == len(ids)
    assert set(ids) == {p.name for p in root.glob("sub-*") if p.is_dir()}
    runs = sorted(root.glob("sub-*/**/emg/*_emg.edf"))
    assert runs
    for p in root.glob("sub-*/**/*.*"):
        check_file_name(p, root)
    for edf in runs:
        stem = edf.name[: -len("_emg.edf")]
        sidecar = json.loads(edf.with_name(f"{stem}_emg.json").read_text())
        assert all(k in sidecar for k in EMG_REQUIRED), set(EMG_REQUIRED) - set(sidecar)
        assert sidecar["EMGPlacementScheme"] in PLACEMENT_SCHEMES
        if sidecar["EMGPlacementScheme"] == "Other":
            assert isinstance(sidecar["EMGPlacementSchemeDescription"], str)
        assert sidecar["RecordingType"] in RECORDING_TYPES
        if sidecar["RecordingType"] == "epoched":
            assert isinstance(sidecar["EpochLength"], float) and sidecar["EpochLength"] >= 0
        assert isinstance(sidecar["SamplingFrequency"], (int, float))
        plf = sidecar["PowerLineFrequency"]
        assert plf == "n/a" or (isinstance(plf, (int, float)) and plf > 0)
        for key in ("SoftwareFilters", "HardwareFilters"):
            value = sidecar.get(key, "n/a")
            assert value == "n/a" or all(isinstance(v, dict) for v in value.values())
        assert isinstance(sidecar["EMGReference"], str) and isinstance(sidecar["TaskName"], str)
        head, channels = _tsv(edf.with_name(f"{stem}_channels.tsv"))
        assert tuple(head[:3]) == CHANNEL_REQUIRED and set(head) <= CHANNEL_DEFINED
        assert all(c["type"] in CHANNEL_TYPES for c in channels)
        assert sidecar["EMGChannelCount"] == sum(c["type"] == "EMG" for c in channels)
        head, events = _tsv(edf.with_name(f"{stem}_events.tsv"))
        assert tuple(head[:2]) == EVENTS_REQUIRED
        onsets = [float(e["onset"]) for e in events]
        assert onsets == sorted(onsets)
        assert all(float(e["duration"]) >= 0 for e in events)
        described = json.loads(edf.with_name(f"{stem}_events.json").read_text())
        assert set(head) - {"onset", "duration"} <= set(described)
    return runs


# ----------------------------------------------------------------------------------------------
def study(seed=1, *, study_id="P-0a1b2c3d4e", side="right", **kw):
    sim = nc.simulate_nerve((70.0, 230.0, 110.0), site_names=("wrist", "elbow", "axilla"),
                            seed=seed).to_studies()[0]
    options = dict(stimulus_sample=sim.stimulus_sample, temperature_c=32.5,
                   low_frequency_filter_hz=2.0, f_wave_latency_ms=28.5, study_id=study_id,
                   metadata={"patient_name": "Testpatient Quentin", "patient_id": "MRN-998877",
                             "study_date": "2025-09-30"})
    options.update(kw)
    sites = [Site("Wrist", 70.0, 12.5), Site("Below Elbow", 230.0, 20.0), Site("Axilla", 110.0)]
    return NerveStudy("median", side, "APB", sites, sim.traces, sim.sampling_rate_hz, **options)


def assert_same(back, original):
    assert (back.nerve, back.side, back.muscle) == (original.nerve, original.side, original.muscle)
    assert back.sites == original.sites
    assert back.sampling_rate_hz == original.sampling_rate_hz
    assert back.stimulus_sample == original.stimulus_sample
    step = 2 * np.abs(original.traces).max() * 1.01 / 65535  # EDF quantisation (16 bits)
    assert np.abs(back.traces - original.traces).max() <= step / 2 + 1e-12
    for field in ("temperature_c", "low_frequency_filter_hz", "f_wave_latency_ms"):
        a, b = getattr(back, field), getattr(original, field)
        assert a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))
    assert back.study_id == original.study_id


class TestWrite:
    def test_layout_follows_the_schema_rules_and_reads_back(self, tmp_path):
        studies = [study(1), study(2, side="left", f_wave_latency_ms=math.nan)]
        written = write_bids(studies, tmp_path, subject="P0a1b", derivatives=None)
        assert all(p.is_file() for p in written)
        runs = check_dataset(tmp_path)
        assert [p.name for p in runs] == [f"sub-P0a1b_task-ncs_run-{n}_emg.edf" for n in (1, 2)]
        back = read_bids(tmp_path)
        for b, s in zip(back, studies, strict=True):
            assert_same(b, s)
            assert b.metadata["format"] == "bids-emg" and b.metadata["missing_fields"] == []
            assert b.metadata["bids_entities"]["sub"] == "P0a1b"
            assert "bids_conflicts" not in b.metadata

    def test_sidecar_values(self, tmp_path):
        write_bids(study(), tmp_path, subject="x", derivatives=None, power_line_frequency_hz=50)
        (emg,) = tmp_path.glob("sub-x/emg/*_emg.json")
        sidecar = json.loads(emg.read_text())
        assert sidecar["PowerLineFrequency"] == 50 and sidecar["RecordingType"] == "epoched"
        assert sidecar["EpochLength"] == pytest.approx(study().traces.shape[1] / 20000)
        assert sidecar["HardwareFilters"]["High-pass filter"]["Half amplitude cutoff (Hz)"] == 2.0
        _, events = _tsv(emg.with_name(emg.name.replace("_emg.json", "_events.tsv")))
        assert [e["trial_type"] for e in events] == ["Wrist", "Below Elbow", "Axilla"]
        assert [e["distance_mm"] for e in events] == ["70.0", "230.0", "110.0"]
        assert [e["stimulus_intensity_ma"] for e in events] == ["12.5", "20.0", "n/a"]

    def test_session_and_subjects_from_pseudonyms(self, tmp_path):
        studies = [study(1, study_id="P-aaaa"), study(2, study_id="P-bbbb"),
                   study(3, study_id="P-aaaa")]
        write_bids(studies, tmp_path, session="01", derivatives=None)
        runs = check_dataset(tmp_path)
        assert [p.relative_to(tmp_path).as_posix() for p in runs] == [
            "sub-Paaaa/ses-01/emg/sub-Paaaa_ses-01_task-ncs_run-1_emg.edf",
            "sub-Paaaa/ses-01/emg/sub-Paaaa_ses-01_task-ncs_run-2_emg.edf",
            "sub-Pbbbb/ses-01/emg/sub-Pbbbb_ses-01_task-ncs_run-1_emg.edf"]
        assert [b.study_id for b in read_bids(tmp_path)] == ["P-aaaa", "P-aaaa", "P-bbbb"]

    def test_case_id_is_the_subject(self, tmp_path):
        write_bids(Case([study()], case_id="CASE-7"), tmp_path, derivatives=None)
        assert (tmp_path / "sub-CASE7" / "emg").is_dir()

    def test_no_patient_identifier_in_any_file(self, tmp_path):
        write_bids([study()], tmp_path, derivatives=bids_measures)
        for p in tmp_path.rglob("*"):
            if p.is_file():
                data = p.read_bytes()
                assert b"Testpatient" not in data and b"MRN-998877" not in data, p

    def test_existing_runs_are_refused_unless_overwrite(self, tmp_path):
        write_bids([study()], tmp_path, subject="a", derivatives=None)
        before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        with pytest.raises(FileExistsError, match="overwrite"):
            write_bids([study(5)], tmp_path, subject="a", derivatives=None)
        assert before == {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        write_bids([study(5)], tmp_path, subject="a", derivatives=None, overwrite=True)
        assert not np.allclose(read_bids(tmp_path)[0].traces, study(1).traces)

    def test_second_patient_joins_the_dataset(self, tmp_path):
        write_bids([study()], tmp_path, subject="a", derivatives=None)
        write_bids([study(2)], tmp_path, subject="b", derivatives=None)
        check_dataset(tmp_path)
        assert _tsv(tmp_path / "participants.tsv")[1] == [{"participant_id": "sub-a"},
                                                          {"participant_id": "sub-b"}]

    def test_bad_labels_and_inputs(self, tmp_path):
        with pytest.raises(ValueError, match="subject label"):
            write_bids([study()], tmp_path, subject="--")
        with pytest.raises(ValueError, match="NerveStudy"):
            write_bids([], tmp_path)
        with pytest.raises(ValueError, match="power_line"):
            write_bids([study()], tmp_path, power_line_frequency_hz=0)
        assert not list(tmp_path.iterdir())

    def test_derivatives_hold_the_measures(self, tmp_path):
        from nerveconduct.serialize.rows import segment_columns, site_columns

        write_bids([study()], tmp_path, subject="a", derivatives=bids_measures)
        base = tmp_path / "derivatives" / "nerveconduct"
        description = json.loads((base / "dataset_description.json").read_text())
        assert description["DatasetType"] == "derivative" and description["GeneratedBy"]
        head, rows = _tsv(base / "sub-a/emg/sub-a_task-ncs_run-1_desc-sites_measures.tsv")
        assert head == site_columns() and [r["name"] for r in rows] == ["Wrist", "Below Elbow",
                                                                       "Axilla"]
        assert rows[0]["source"] == "sub-a/emg/sub-a_task-ncs_run-1_emg.edf"
        assert float(rows[0]["onset_latency_ms"]) > 0
        head, rows = _tsv(base / "sub-a/emg/sub-a_task-ncs_run-1_desc-segments_measures.tsv")
        assert head == segment_columns() and len(rows) == 2


class TestRead:
    @pytest.fixture()
    def dataset(self, tmp_path):
        write_bids([study()], tmp_path, subject="a", derivatives=None)
        return tmp_path, tmp_path / "sub-a" / "emg" / "sub-a_task-ncs_run-1"

    def test_sidecars_take_precedence_and_conflicts_are_listed(self, dataset):
        root, stem = dataset
        events = stem.with_name(stem.name + "_events.tsv")
        events.write_text(events.read_text().replace("\t230.0\t", "\t231.5\t"))
        channels = stem.with_name(stem.name + "_channels.tsv")
        channels.write_text(channels.read_text().replace("\tAPB\t", "\tADM\t"))
        (back,) = read_bids(root)
        assert back.sites[1].distance_mm == 231.5 and back.muscle == "ADM"
        assert back.metadata["bids_conflicts"] == ["muscle", "sites[1].distance_mm"]

    def test_not_a_dataset(self, tmp_path):
        with pytest.raises(FormatError, match="dataset_description.json"):
            read_bids(tmp_path)
        (tmp_path / "dataset_description.json").write_text("{")
        with pytest.raises(FormatError, match="dataset_description.json"):
            read_bids(tmp_path)
        (tmp_path / "dataset_description.json").write_text("{}")
        with pytest.raises(FormatError, match="no sub-"):
            read_bids(tmp_path)

    @pytest.mark.parametrize("suffix, old, new, where", [
        ("_events.tsv", "\t230.0\t", "\t230.0\t\t", "line 3"),
        ("_events.tsv", "\t230.0\t", "\t-4\t", "line 3"),
        ("_events.tsv", "2.005", "abc", "line 3"),
        ("_events.tsv", "2.005", "0.006", "line 3"),
        ("_channels.tsv", "\t2.0\t", "\tlow\t", "line 2"),
        ("_emg.json", '"SamplingFrequency": 20000.0', '"SamplingFrequency": 1000', "Sampling"),
        ("_emg.json", '"temperature_c": 32.5', '"temperature_c": "warm"', "temperature_c"),
        ("_emg.json", '"nerve": "median"', '"nerve": 7', "nerve"),
        ("_emg.json", "{", "[", "top level"),
    ])
    def test_malformed_sidecars_are_named_errors(self, dataset, suffix, old, new, where):
        root, stem = dataset
        path = stem.with_name(stem.name + suffix)
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        with pytest.raises(FormatError) as err:
            read_bids(root)
        assert err.value.path == str(path) and where in err.value.location

    def test_bdf_runs_are_refused(self, dataset):
        root, stem = dataset
        stem.with_name(stem.name + "_emg.bdf").write_bytes(b"\xffBIOSEMI")
        with pytest.raises(FormatError, match="BDF"):
            read_bids(root)
