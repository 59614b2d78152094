"""read(), read_many(), read_case(), detect_format() and pseudonyms across formats."""

import json

import numpy as np
import pytest

from nerveconduct.io.archive import write_archive
from nerveconduct.io.detect import FORMATS, detect_format
from nerveconduct.io.edf import write_edf
from nerveconduct.io.errors import FormatError, SheetError, UnknownFormatError
from nerveconduct.io.nihon_kohden import write_nihon_kohden_txt
from nerveconduct.io.pseudonym import PSEUDONYM_KEY_ENV, pseudonymize
from nerveconduct.io.read import read, read_case, read_many
from nerveconduct.io.vendor import write_trace_csv
from nerveconduct.model import NerveStudy, Site


def _study(nerve="median", side="right", muscle="APB", dists=(70.0, 230.0), **kw):
    t = np.arange(640) / 12.8
    traces = np.vstack([-6 * np.exp(-((t - 8) / 1.5) ** 2), -5 * np.exp(-((t - 12) / 2) ** 2)])
    return NerveStudy(nerve, side, muscle, [Site("Wrist", dists[0]), Site("Elbow", dists[1])],
                      traces, 12800.0, **kw)


@pytest.fixture()
def files(tmp_path):
    write_trace_csv(tmp_path / "m.csv", _study(), patient_name="Fake^Person", patient_id="FAKE-9")
    write_nihon_kohden_txt(tmp_path / "u.txt", _study("ulnar", "right", "ADM", (70.0, 210.0)))
    write_edf(tmp_path / "f.edf", _study("fibular", "left", "EDB", (90.0, 300.0)))
    write_archive(tmp_path / "a.h5", [_study(study_id="P-archived00")])
    return tmp_path


class TestDetect:
    def test_formats(self, files):
        got = {p.name: detect_format(p) for p in files.iterdir()}
        assert got == {"m.csv": "trace-csv", "u.txt": "nihon-kohden-txt", "f.edf": "edf",
                       "a.h5": "hdf5-archive"}
        (files / "renamed.dat").write_bytes((files / "m.csv").read_bytes())
        assert detect_format(files / "renamed.dat") == "trace-csv"  # content, not extension
        (files / "s.cfg").write_text('# sheet\ncase_id = "x"\n')
        assert detect_format(files / "s.cfg") == "sheet-toml"
        (files / "s.txt").write_text(' {"case_id": "x"}')
        assert detect_format(files / "s.txt") == "sheet-json"
        assert set(FORMATS) >= set(got.values())

    @pytest.mark.parametrize("content, match", [
        (b"", "empty file"), (b"\x13\x00\xff\xfe" * 50, "binary content"),
        (b"hello world\n", "matches none"), (b"  \n\n", "only white space")])
    def test_unknown(self, tmp_path, content, match):
        p = tmp_path / "x.bin"
        p.write_bytes(content)
        with pytest.raises(UnknownFormatError, match=match) as err:
            detect_format(p)
        assert err.value.path == str(p)


class TestRead:
    def test_every_format(self, files):
        by = {p: read(files / p) for p in ("m.csv", "u.txt", "f.edf", "a.h5")}
        assert [s.nerve for p in by for s in by[p]] == ["median", "ulnar", "fibular", "median"]
        assert by["m.csv"][0].sites[1].distance_mm is None  # the CSV has no distances
        assert by["u.txt"][0].sites[1].distance_mm == 210.0
        assert by["f.edf"][0].sites[1].distance_mm == 300.0
        assert by["a.h5"][0].study_id == "P-archived00"
        for p, studies in by.items():
            if p != "a.h5":
                assert studies[0].metadata["source_file"] == p

    def test_identifiers(self, files, monkeypatch):
        (s,) = read(files / "m.csv")
        assert "patient_name" not in s.metadata and s.study_id == pseudonymize("Fake^Person", "FAKE-9")
        (k,) = read(files / "m.csv", keep_identifiers=True)
        assert (k.metadata["patient_name"], k.metadata["patient_id"]) == ("Fake^Person", "FAKE-9")
        monkeypatch.setenv(PSEUDONYM_KEY_ENV, "another site's secret")
        (other,) = read(files / "m.csv")
        assert other.study_id != s.study_id and other.study_id.startswith("P-")

    def test_sheet_names_its_files(self, files):
        sheet = {"case_id": "CASE-7", "study_date": "2025-09-30", "clinical": {"ataxia": False},
                 "paraprotein": {"m_protein": "IgM-kappa"},
                 "nerves": [{"file": "m.csv", "temperature_c": 33.0, "sites": [
                     {"name": "wrist", "distance_mm": 70}, {"name": "elbow", "distance_mm": 230}]},
                     {"file": "u.txt", "temperature_c": 32.0}]}
        (files / "case.json").write_text(json.dumps(sheet))
        studies = read(files / "case.json")
        assert [(s.nerve, s.temperature_c) for s in studies] == [("median", 33.0), ("ulnar", 32.0)]
        assert [x.distance_mm for x in studies[0].sites] == [70.0, 230.0]
        case = read_case(files / "case.json")
        assert case.case_id == "CASE-7" and case.clinical == {"ataxia": False}
        assert case.paraprotein == {"m_protein": "IgM-kappa"} and case.study_date == "2025-09-30"
        assert len(case.studies) == 2 and case.source == "case.json"
        case2 = read_case([files / "m.csv", files / "case.json"])
        assert [s.nerve for s in case2.studies] == ["median"]
        assert case2.studies[0].sites[0].distance_mm == 70.0

    def test_sheet_errors(self, files):
        (files / "bad.json").write_text('{"nerves": [{"file": "missing.csv"}]}')
        with pytest.raises(SheetError, match="'missing.csv' not found") as err:
            read(files / "bad.json")
        assert err.value.location == "nerves[0].file"
        (files / "none.toml").write_text('case_id = "x"\n')
        with pytest.raises(SheetError, match="names no waveform file"):
            read(files / "none.toml")
        with pytest.raises(ValueError, match="itself a study sheet"):
            read(files / "none.toml", sheet={"case_id": "y"})

    def test_sheet_supplies_rate(self, files):
        text = (files / "m.csv").read_text(encoding="utf-8").replace(
            "Sampling Rate (Hz),12800,12800\n", "")
        (files / "norate.csv").write_text(text, encoding="utf-8")
        with pytest.raises(FormatError, match="sampling rate"):
            read(files / "norate.csv")
        (s,) = read(files / "norate.csv", sheet={"sampling_rate_hz": 12800.0})
        assert s.sampling_rate_hz == 12800.0


def test_read_many_skips_bad_files(files):
    (files / "empty.csv").write_bytes(b"")
    (files / "garbage.edf").write_bytes(b"0       " + b"\x00\x01" * 40)
    (files / "ragged.csv").write_text("Test Item,Median\nTrace Data (uV),1,2\n,3\n")
    paths = [files / n for n in ("m.csv", "empty.csv", "garbage.edf", "u.txt", "ragged.csv")]
    studies, failures = read_many(paths)
    assert [s.nerve for s in studies] == ["median", "ulnar"]
    assert [(p.split("/")[-1], type(e).__name__) for p, e in failures] == [
        ("empty.csv", "UnknownFormatError"), ("garbage.edf", "FormatError"),
        ("ragged.csv", "FormatError")]
    assert "line 3" in str(failures[2][1])


def test_pseudonym_stable():
    assert pseudonymize("A", "1", key="k") == pseudonymize(" a ", "1", key=b"k")
    assert pseudonymize("A", "1", key="k") != pseudonymize("A", "2", key="k")
    assert pseudonymize("ab", "c", key="k") != pseudonymize("a", "bc", key="k")
    assert pseudonymize(None, "") is None
