"""Hard boundaries of the readers: every malformed input gives a named error with a location.

One test (or parameter set) per class of problem the readers once let escape as a library
exception, allocated from, or quoted into a message: oversized and unbalanced CSV fields,
non-finite and overflowing header numbers, bad EDF notes and annotations, deep or undecodable
sheets, archives of the wrong shape or type or with huge declared sizes, identifiers in
messages; plus ``read_many`` going on, the atomic writer, and the archive import order.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tracemalloc

import h5py
import numpy as np
import pytest

import nerveconduct
from nerveconduct.io._atomic import atomic_write
from nerveconduct.io._text import csv_rows
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.io.detect import detect_format
from nerveconduct.io.edf import read_edf, write_edf
from nerveconduct.io.errors import (ArchiveError, FormatError, NerveConductIOError, SheetError,
                                    UnknownFormatError, quote)
from nerveconduct.io.nihon_kohden import read_nihon_kohden_txt
from nerveconduct.io.read import read_many
from nerveconduct.io.sheet import load_sheet
from nerveconduct.io.vendor import read_trace_csv
from nerveconduct.model import NerveStudy, Site

NAME, PID = "Testpatient_Quentin", "99887766"
CSV_HEAD = ("Test Name,NCV\nTest Item,Right Median Motor (APB)\n"
            f"Patient Name,{NAME}\nPatient ID,{PID}\nTrace Label,Wrist : ,Elbow : \n"
            "Sampling Rate (Hz),10000,10000\n")
CSV_DATA = "Trace Data (μV),1,2\n,3,4\n,5,6\n,7,8\n"
NK_HEAD = (f'"Test Item","Right Ulnar Motor (ADM)"\n"Patient Name","{NAME}"\n'
           f'"Patient ID","{PID}"\n"Unit","uV"\n"Stim Site","Wrist","Elbow"\n')
NK_DATA = '"1","1","2"\n"2","3","4"\n"3","5","6"\n"*Wave End"\n'


def _write(tmp_path, text, name):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def _no_identifier(err):
    text = str(err)
    assert NAME not in text and PID not in text, text


def _study(n_sites=2, n=200, rate=20000.0):
    t = np.linspace(0, 1, n)
    traces = np.vstack([-(k + 2) * np.exp(-((t - 0.3) / 0.05) ** 2) for k in range(n_sites)])
    names = ("Wrist", "Elbow", "Axilla")[:n_sites]
    return NerveStudy("median", "left", "APB", [Site(x, 70.0 + 10 * k) for k, x in
                                                enumerate(names)], traces, rate,
                      stimulus_sample=10, temperature_c=32.0, study_id="s1")


# ------------------------------------------------------------------ text exports
class TestTextFields:
    def test_field_over_the_csv_limit(self, tmp_path):
        p = _write(tmp_path, CSV_HEAD + "Comment," + "x" * 200_000 + "\n" + CSV_DATA, "big.csv")
        with pytest.raises(FormatError, match="malformed comma-separated.*at most") as err:
            read_trace_csv(p)
        assert err.value.location == "line 7" and err.value.path == str(p)

    @pytest.mark.parametrize("reader, text, name, line", [
        (read_trace_csv, CSV_HEAD + 'Test Date,"30/09/2025\n' + CSV_DATA * 50, "q.csv", 7),
        (read_nihon_kohden_txt, NK_HEAD + '"Temperature","32C\n' + NK_DATA, "q.txt", 6),
    ])
    def test_stray_quote_names_the_line_where_it_opens(self, tmp_path, reader, text, name,
                                                       line):
        p = _write(tmp_path, text, name)
        with pytest.raises(FormatError, match="unbalanced") as err:
            reader(p)
        assert err.value.location == f"line {line}"
        _no_identifier(err.value)

    def test_csv_rows_names_line(self):
        with pytest.raises(FormatError) as err:
            list(csv_rows('a,1\nb,"2\nc,3\n', path="x.csv"))
        assert err.value.location == "line 2"

    @pytest.mark.parametrize("row, match", [
        ("Stimulus Delay (ms),1e308,1e308\n", r"stimulus delay.*finite number in \[0, 0.4\) ms"),
        ("Stimulus Delay (ms),nan,nan\n", r"stimulus delay.*got nan"),
        ("Distance (cm),1e308,20\n", r"distance must be a finite number in \(0, 2000\] mm, got inf"),
        ("Temperature (C),inf\n", r"temperature must be a finite number in \[0, 50\]"),
    ])
    def test_csv_non_finite_header_numbers(self, tmp_path, row, match):
        p = _write(tmp_path, CSV_HEAD + row + CSV_DATA, "n.csv")
        with pytest.raises(FormatError, match=match) as err:
            read_trace_csv(p)
        assert err.value.location == "line 7"

    @pytest.mark.parametrize("row, match", [
        ('"Sweep","1e-320ms"\n', r"sampling rate must be a finite number in \[1, 1e\+07\] Hz, got inf"),
        ('"Sampling Interval","1e-300ms"\n', r"sampling rate must be a finite number"),
        ('"Stimulus Delay","1e308ms"\n"Sampling Rate","20kHz"\n', r"stimulus delay.*finite"),
        ('"Distance","1e999mm","7cm"\n"Sampling Rate","20kHz"\n', r"distance must be a finite number"),
    ])
    def test_nk_overflowing_header_numbers(self, tmp_path, row, match):
        p = _write(tmp_path, NK_HEAD + row + NK_DATA, "n.txt")
        with pytest.raises(FormatError, match=match) as err:
            read_nihon_kohden_txt(p)
        assert err.value.location == "line 6"

    @pytest.mark.parametrize("sample", ["inf", "nan", "1e999", "-Infinity"])
    def test_non_finite_samples(self, tmp_path, sample):
        p = _write(tmp_path, CSV_HEAD + f"Trace Data (μV),1,2\n,3,{sample}\n", "s.csv")
        with pytest.raises(FormatError, match="column 3 must be a finite number") as err:
            read_trace_csv(p)
        assert err.value.location == "line 8"


class TestIdentifiersStayOut:
    def test_unknown_format_does_not_quote_the_first_line(self, tmp_path):
        p = _write(tmp_path, f"Patient Name,{NAME}\nPatient ID,{PID}\n", "x.dat")
        with pytest.raises(UnknownFormatError, match="first line") as err:
            detect_format(p)
        assert err.value.location == "line 1"
        _no_identifier(err.value)

    def test_text_cells_are_described_not_quoted(self, tmp_path):
        p = _write(tmp_path, CSV_HEAD + f"Trace Data (μV),1,2\n,3,{NAME}\n", "s.csv")
        with pytest.raises(FormatError, match="non-numeric sample a text of 19 characters"):
            read_trace_csv(p)
        p = _write(tmp_path, NK_HEAD + f'"1","1","2"\n"{NAME} {PID}","3","4"\n"*Wave End"\n',
                   "s.txt")
        with pytest.raises(FormatError, match="sample index") as err:
            read_nihon_kohden_txt(p)
        _no_identifier(err.value)

    def test_quote(self):
        assert quote("1e-320ms") == "'1e-320ms'" and quote("abc") == "'abc'"
        assert quote(NAME) == "a text of 19 characters" and quote([1]) == "a value of type list"


# ------------------------------------------------------------------ EDF
def _edf(tmp_path, name="a.edf"):
    return write_edf(tmp_path / name, _study())


def _patch(path, offset, text):
    data = bytearray(path.read_bytes())
    data[offset:offset + len(text)] = text.encode("ascii")
    path.write_bytes(bytes(data))
    return path


def _replace_notes(path, new: bytes):
    data = path.read_bytes()
    out, pos = b"", 0
    while (start := data.find(b"nerveconduct {", pos)) >= 0:
        end = data.index(b"\x14\x00", start)
        assert len(new) <= end - start
        out += data[pos:start] + new + b"\x14\x00" + b"\x00" * (end - start - len(new))
        pos = end + 2
    path.write_bytes(out + data[pos:])
    return path


class TestEdf:
    @pytest.mark.parametrize("note, match", [
        (b"nerveconduct [1, 2]", "must be a JSON object, got a list"),
        (b'nerveconduct "text"', "must be a JSON object, got a str"),
        (b'nerveconduct {"study": [1]}', "field 'study' must be an integer"),
        (b'nerveconduct {"site": 3}', "field 'site' must be a string or null"),
        (b'nerveconduct {"distance_mm": "far"}', "field 'distance_mm' must be a number"),
        (b'nerveconduct {"distance_mm": 1e999}', r"'distance_mm' must be a finite number in \(0, 2000"),
        (b'nerveconduct {"temperature_c": NaN}', r"'temperature_c' must be a finite number"),
    ])
    def test_bad_note(self, tmp_path, note, match):
        p = _replace_notes(_edf(tmp_path), note)
        with pytest.raises(FormatError, match=match) as err:
            read_edf(p)
        assert err.value.location == "record 0"

    def test_foreign_annotation_with_a_malformed_number_reads(self, tmp_path):
        p = _replace_notes(_edf(tmp_path), b"Stim left elbow at 5.5.5 cm from recording site")
        (s,) = read_edf(p)  # the malformed number is not a distance: the other note's is
        assert s.n_sites == 2 and [x.distance_mm for x in s.sites] == [70.0, 80.0]

    @pytest.mark.parametrize("offset, text, match, location", [
        (244, "nan     ", r"data record duration must be a finite number", "header"),
        (244, "1e-300  ", r"sampling rate .* must be a finite number", "signal 0 header (NC L_APB)"),
        (244, "inf     ", r"data record duration must be a finite number", "header"),
        (256 + 32 + 160 + 16 + 16, "1e308   ", r"physical maximum \(in mV\) must be a finite number in "
         r"\[-1e\+06, 1e\+06\] mV", "signal 0 header (NC L_APB)"),
        (256 + 32 + 160 + 16, "-inf    ", r"physical minimum and maximum must be finite",
         "signal 0 header (NC_L_APB)"),
    ])
    def test_header_numbers(self, tmp_path, offset, text, match, location):
        p = _patch(_edf(tmp_path), offset, text)
        with pytest.raises(FormatError, match=match) as err:
            read_edf(p)
        assert err.value.location.replace("_", " ") == location.replace("_", " ")


# ------------------------------------------------------------------ sheets
class TestSheet:
    @pytest.mark.parametrize("text, name", [
        ('{"notes": ' + "[" * 100_000 + "]" * 100_000 + "}", "deep.json"),
        ("notes = " + "[" * 100_000 + "]" * 100_000 + "\n", "deep.toml"),
    ])
    def test_nested_too_deep(self, tmp_path, text, name):
        p = _write(tmp_path, text, name)
        with pytest.raises(SheetError, match="nested more than 64 levels") as err:
            load_sheet(p)
        assert err.value.location == "line 1"

    def test_undecodable_bytes(self, tmp_path):
        p = _write(tmp_path, b'{"case_id": "\xff\xfe"}', "u.json")
        with pytest.raises(SheetError, match="must be UTF-8") as err:
            load_sheet(p)
        assert err.value.location == "byte 13"

    @pytest.mark.parametrize("value, match", [
        ("1e400", "must be a finite number, got inf"), ("NaN", "positive number, got nan"),
        ("1" * 400, "integer too large"), ("\"Testpatient_Quentin\"", "a text of 19")])
    def test_non_finite_numbers(self, tmp_path, value, match):
        p = _write(tmp_path, '{"nerves": [{"sites": [{"name": "w", "distance_mm": %s}]}]}'
                   % value, "n.json")
        with pytest.raises(SheetError, match=match) as err:
            load_sheet(p)
        assert err.value.location == "nerves[0].sites[0].distance_mm"
        _no_identifier(err.value)


# ------------------------------------------------------------------ archives
@pytest.fixture
def archive(tmp_path):
    return write_archive(tmp_path / "a.h5", [_study(2), _study(3), _study(1)])


def _replace(path, name, data, **kw):
    with h5py.File(path, "r+") as f:
        del f[name]
        f.create_dataset(name, data=data, **kw)


class TestArchiveShapes:
    @pytest.mark.parametrize("name, data, match", [
        ("nerves/n_sites", np.int32(3), r"must be a 1-D column.*shape \(\)"),
        ("sites/name", np.arange(6, dtype=float), "must hold UTF-8 strings, has dtype float64"),
        ("nerves/row_start", np.array([0.0, 2.0, 5.0]), "must hold integers, has dtype float64"),
        ("sites/distance_mm", np.array(["a"] * 6, dtype=object), "must hold floats"),
    ])
    def test_wrong_shape_or_type(self, archive, name, data, match):
        kw = {"dtype": h5py.string_dtype()} if data.dtype == object else {}
        _replace(archive, name, data, **kw)
        with pytest.raises(ArchiveError, match=match) as err:
            open_archive(archive)
        assert err.value.location == name

    @pytest.mark.parametrize("value", ["abc", 2.5, np.array([3, 3])])
    def test_count_attribute_not_an_integer(self, archive, value):
        with h5py.File(archive, "r+") as f:
            f.attrs["n_nerves"] = value
        with pytest.raises(ArchiveError, match="'n_nerves' must be one integer") as err:
            open_archive(archive)
        assert err.value.location == "root attributes"

    def test_undecodable_site_name(self, archive):
        with h5py.File(archive, "r+") as f:
            f["sites/name"][0] = b"\xff\xfe"  # raw bytes in a UTF-8 string column
        with open_archive(archive) as a:
            with pytest.raises(ArchiveError, match="must be UTF-8") as err:
                a.read_chunk(0, 1)
        assert err.value.location.startswith("sites/name")
        with pytest.raises(ArchiveError):
            nerveconduct.read(archive)

    def test_infinite_values(self, archive):
        with h5py.File(archive, "r+") as f:
            f["traces"][3, 5] = np.inf
            f["nerves/temperature_c"][2] = -np.inf
        with open_archive(archive) as a:
            with pytest.raises(ArchiveError, match="traces must be finite") as err:
                a.read_chunk(0, 3)
            assert err.value.location == "traces, row 3"
            with pytest.raises(ArchiveError, match="finite or NaN") as err:
                a.read_chunk(2, 3)
            assert err.value.location == "nerves/temperature_c, row 2"


class TestArchiveDeclaredSizes:
    def _declare(self, path, width, n_samples=None):
        with h5py.File(path, "r+") as f:
            n = f["traces"].shape[0]
            del f["traces"]
            f.create_dataset("traces", shape=(n, width), maxshape=(None, None),
                             chunks=(1, 1024), dtype="float32", fillvalue=np.nan)
            if n_samples is not None:
                f["sites/n_samples"][:] = n_samples

    @pytest.mark.parametrize("width, n_samples, match", [
        (10 ** 10, None, r"declares 10000000000 samples per trace; allowed: at most 4194304"),
        (10 ** 6, None, r"1000000 samples wide but the longest trace .* has 200"),
        (10 ** 6, 10 ** 6, r"declares 24000000 bytes of data but the file stores"),
    ])
    def test_refused_before_allocating(self, archive, width, n_samples, match):
        self._declare(archive, width, n_samples)
        tracemalloc.start()
        try:
            with pytest.raises(ArchiveError, match=match):
                open_archive(archive)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 * 2 ** 20

    def test_huge_index_declared(self, archive):
        with h5py.File(archive, "r+") as f:
            for group in ("nerves", "sites"):
                for name in list(f[group]):
                    f[group][name].resize((10 ** 9,))
            f.attrs["n_nerves"] = f.attrs["n_traces"] = 10 ** 9
            f["traces"].resize((10 ** 9, f["traces"].shape[1]))
        with pytest.raises(ArchiveError, match="declares .* bytes of data but the file stores"):
            open_archive(archive)


# ------------------------------------------------------------------ read_many, writers
def test_read_many_goes_on_after_every_named_error(tmp_path, archive):
    good = _write(tmp_path, CSV_HEAD + CSV_DATA, "good.csv")
    bad = [_write(tmp_path, CSV_HEAD + "Comment," + "x" * 200_000 + "\n" + CSV_DATA, "a.csv"),
           _write(tmp_path, b"", "empty.csv"),
           _write(tmp_path, '{"notes": ' + "[" * 50_000 + "]" * 50_000 + "}", "deep.json"),
           _replace_notes(_edf(tmp_path), b"nerveconduct [1, 2]")]
    with h5py.File(archive, "r+") as f:
        f.attrs["n_nerves"] = "abc"
    studies, failures = read_many(bad[:2] + [good] + bad[2:] + [archive])
    assert len(studies) == 1 and studies[0].metadata["source_file"] == "good.csv"
    assert [type(e) for _, e in failures] == [FormatError, UnknownFormatError, SheetError,
                                              FormatError, ArchiveError]
    assert all(isinstance(e, NerveConductIOError) and e.location for _, e in failures)


class TestAtomicWrite:
    def test_refuses_existing_and_keeps_mode(self, tmp_path):
        p = tmp_path / "out.txt"
        p.write_text("old")
        os.chmod(p, 0o600)
        with pytest.raises(FileExistsError, match="overwrite=True"):
            with atomic_write(p) as fh:
                fh.write("new")
        assert p.read_text() == "old"
        with atomic_write(p, overwrite=True) as fh:
            fh.write("new")
        assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o600
        assert [x.name for x in tmp_path.iterdir()] == ["out.txt"]

    def test_error_removes_the_temporary_file(self, tmp_path):
        p = tmp_path / "out.bin"
        with pytest.raises(RuntimeError):
            with atomic_write(p, mode="wb") as fh:
                fh.write(b"part")
                raise RuntimeError("stop")
        assert list(tmp_path.iterdir()) == []

    def test_io_writers_refuse_to_overwrite(self, tmp_path):
        p = _edf(tmp_path)
        with pytest.raises(FileExistsError):
            write_edf(p, _study())
        json.dumps(str(write_edf(p, _study(), overwrite=True)))


def test_archive_modules_import_without_a_cycle():
    code = ("import sys; import nerveconduct.io._archive_write as w; "
            "assert 'nerveconduct.io.archive' not in sys.modules; "
            "import nerveconduct.io.archive as a; assert a.write_archive is w.write_archive; "
            "assert callable(a.open_archive)")
    subprocess.run([sys.executable, "-c", code], check=True)
