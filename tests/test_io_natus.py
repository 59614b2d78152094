"""Natus (Elite / Keypoint family) text export: writer -> reader round trip, layout variants,
identifiers, malformed input, content sniffing."""

import codecs

import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.io.errors import FormatError
from nerveconduct.io.natus import looks_like_natus_text, read_natus_text
from nerveconduct.io.natus_write import write_natus_text
from nerveconduct.io.pseudonym import pseudonymize
from nerveconduct.model import NerveStudy, Site

PLANTED_NAME, PLANTED_ID = "DOE^JANE-PLANTED", "ID-PLANTED-4711"


def _studies(n_nerves=1, **kw):
    args = dict(distances_mm=(70.0, 230.0, 110.0), site_names=("Wrist", "Elbow", "Axilla"),
                seed=7, low_frequency_filter_hz=2.0, sampling_rate_hz=20000.0, sweep_ms=40.0,
                pre_stimulus_ms=2.0)
    args.update(kw)
    out = []
    for i in range(n_nerves):
        out += nc.simulate_nerve(**{**args, "seed": args["seed"] + i}).to_studies()
    return out


def _write_text(tmp_path, text, name="natus.txt", encoding="utf-16"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _minimal(data_lines, head="Subsampled(kHz)=10.000000\n", tail="Low(Hz)=20.000000\n"):
    return head + data_lines + tail


class TestRoundTrip:
    def test_traces_rate_sites_filters(self, tmp_path):
        (study,) = _studies()
        p = write_natus_text(study, tmp_path / "a.txt", high_frequency_filter_hz=10000.0)
        assert p.read_bytes().startswith(codecs.BOM_UTF16_LE)
        (got,) = read_natus_text(p)
        np.testing.assert_allclose(got.traces, study.traces, atol=1e-6)
        assert got.sampling_rate_hz == pytest.approx(study.sampling_rate_hz, rel=1e-12)
        assert got.stimulus_sample == study.stimulus_sample
        assert [(s.name, s.distance_mm) for s in got.sites] == \
            [(s.name, s.distance_mm) for s in study.sites]
        assert (got.nerve, got.side, got.muscle) == (study.nerve, study.side, study.muscle)
        assert got.low_frequency_filter_hz == pytest.approx(2.0)
        assert got.metadata["high_frequency_filter_hz"] == pytest.approx(10000.0)
        assert got.metadata["notch_filter_on"] is False
        assert got.metadata["sweep_duration_ms"] == pytest.approx(40.0)
        assert got.metadata["missing_fields"] == []
        assert got.metadata["format"] == "natus-txt"
        assert got.metadata["source_traces"] == [0, 1, 2]
        assert got.metadata["sampling_rate_source"] == "Subsampled(kHz)"

    def test_several_nerves_and_intensities(self, tmp_path):
        a, b = _studies(2)
        b = NerveStudy("ulnar", "left", "ADM", [Site(s.name, s.distance_mm, 20.0 + i)
                                                 for i, s in enumerate(b.sites)],
                       b.traces, b.sampling_rate_hz, stimulus_sample=b.stimulus_sample,
                       temperature_c=31.5, metadata={"study_date": "2025-09-30"})
        p = write_natus_text([b, a], tmp_path / "two.txt", notch_filter_on=True)
        got_b, got_a = read_natus_text(p)
        assert (got_b.nerve, got_b.side, got_b.muscle, got_b.temperature_c) == \
            ("ulnar", "left", "ADM", 31.5)
        assert [s.stimulus_intensity_ma for s in got_b.sites] == [20.0, 21.0, 22.0]
        assert got_b.metadata["study_date"] == got_a.metadata["study_date"] == "2025-09-30"
        assert got_a.metadata["source_traces"] == [3, 4, 5]
        assert got_b.metadata["notch_filter_on"] is True
        np.testing.assert_allclose(got_a.traces, a.traces, atol=1e-6)
        assert got_a.study_id == got_b.study_id == pseudonymize("file:two.txt")

    @pytest.mark.parametrize("per_line", [1, 7, 5000])
    def test_continuation_lines(self, tmp_path, per_line):
        (study,) = _studies()
        p = write_natus_text(study, tmp_path / "c.txt", values_per_line=per_line)
        (got,) = read_natus_text(p)
        np.testing.assert_allclose(got.traces, study.traces, atol=1e-6)

    def test_sweep_in_seconds_and_high_in_khz(self, tmp_path):
        (study,) = _studies()
        p = write_natus_text(study, tmp_path / "s.txt", sweep_unit="s", high_unit="kHz",
                             high_frequency_filter_hz=3000.0)
        text = p.read_bytes().decode("utf-16")
        assert "Sweep Duration(s)=0.040000" in text and "High(kHz)=3.000000" in text
        (got,) = read_natus_text(p)
        assert got.metadata["sweep_duration_ms"] == pytest.approx(40.0)
        assert got.metadata["high_frequency_filter_hz"] == pytest.approx(3000.0)

    def test_negative_up_study_is_written_physical(self, tmp_path):
        (study,) = _studies()
        flipped = NerveStudy(study.nerve, study.side, study.muscle, study.sites, -study.traces,
                             study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
                             polarity="negative-up")
        (got,) = read_natus_text(write_natus_text(flipped, tmp_path / "n.txt"))
        np.testing.assert_allclose(got.traces, study.traces, atol=1e-6)
        assert got.polarity == "physical"

    def test_writer_refuses_bad_arguments(self, tmp_path):
        (study,) = _studies()
        for kw in ({"sweep_unit": "min"}, {"high_unit": "MHz"}, {"values_per_line": 0}):
            with pytest.raises(ValueError):
                write_natus_text(study, tmp_path / "x.txt", **kw)
        with pytest.raises(ValueError):
            write_natus_text([], tmp_path / "x.txt")
        write_natus_text(study, tmp_path / "x.txt")
        with pytest.raises(FileExistsError):
            write_natus_text(study, tmp_path / "x.txt")


class TestLayoutVariants:
    def test_hand_written_continuations(self, tmp_path):
        data = "LongTrace Data(µV)<6>=1000,-2000/\n3000,\n4000/\n5000,6000\n"
        (s,) = read_natus_text(_write_text(tmp_path, _minimal(data)))
        np.testing.assert_allclose(s.traces, [[1, -2, 3, 4, 5, 6]])
        assert s.sampling_rate_hz == 10000.0 and s.low_frequency_filter_hz == 20.0

    def test_rate_from_sweep_in_seconds(self, tmp_path):
        text = "Sweep Duration(s)=0.0005\nLongTrace Data(uV)<5>=1,2,3,4,5\n"
        (s,) = read_natus_text(_write_text(tmp_path, text))
        assert s.sampling_rate_hz == pytest.approx(10000.0)
        assert s.metadata["sampling_rate_source"] == "Sweep Duration"
        assert s.metadata["sweep_duration_ms"] == pytest.approx(0.5)

    def test_rate_from_trace_duration_and_option(self, tmp_path):
        text = "Trace Duration(ms)=0.4\nLongTrace Data(µV)<4>=1,2,3,4\n"
        (s,) = read_natus_text(_write_text(tmp_path, text))
        assert s.sampling_rate_hz == pytest.approx(10000.0)
        p = _write_text(tmp_path, "LongTrace Data(µV)<3>=1,2,3\n", "o.txt")
        assert read_natus_text(p, sampling_rate_hz=12800.0)[0].sampling_rate_hz == 12800.0
        assert read_natus_text(p, sheet={"sampling_rate_hz": 5000.0})[0].sampling_rate_hz == 5000.0

    def test_high_khz_notch_hz_polarity_units_decimal_comma(self, tmp_path):
        text = ("; a comment\n[1 - Test Info]\nNerve=Left Ulnar Motor (ADM)\nPolarity=Negative Up\n"
                "Subsampled(kHz)=19,2\nLongTrace Data(mV)<2>=1.5,-2\n"
                "High(kHz)=10\nNotch Filter(Hz)=50\nTemperature(°C)=32,5\n")
        (s,) = read_natus_text(_write_text(tmp_path, text))
        assert s.sampling_rate_hz == pytest.approx(19200.0)
        np.testing.assert_allclose(s.traces, [[-1.5, 2.0]])  # mV, flipped negative-up
        assert s.metadata["polarity_flipped"] is True
        assert s.metadata["high_frequency_filter_hz"] == 10000.0
        assert s.metadata["notch_filter_hz"] == 50.0 and s.metadata["notch_filter_on"] is True
        assert s.temperature_c == 32.5 and (s.nerve, s.side, s.muscle) == ("ulnar", "left", "ADM")

    def test_missing_fields_reported(self, tmp_path):
        (s,) = read_natus_text(_write_text(tmp_path, _minimal("LongTrace Data(µV)<2>=1,2\n")))
        assert set(s.metadata["missing_fields"]) == {"nerve", "side", "muscle", "site_names",
                                                     "distances"}
        assert s.nerve == "unknown" and s.sites[0].name == "site 1"
        assert s.sites[0].distance_mm is None and "high_frequency_filter_hz" not in s.metadata

    def test_per_trace_keys_in_order_and_liveplay_skipped(self, tmp_path):
        text = ("Nerve=Right Median Motor (APB)\nSubsampled(kHz)=10\n"
                "LivePlay Data(µV)<3>=9,9,\n9\nJane Doe PLANTED Data(µV)<1>=9\n"
                "Site=Wrist\nDistance(cm)=7\nLongTrace Data(µV)<2>=1,2\nLow(Hz)=2\n"
                "Site=Elbow\nDistance(cm)=\nLongTrace Data(µV)<2>=3,4\nLow(Hz)=2\n")
        (s,) = read_natus_text(_write_text(tmp_path, text))
        assert [(x.name, x.distance_mm) for x in s.sites] == [("Wrist", 70.0), ("Elbow", None)]
        assert s.metadata["skipped_data"] == {"LivePlay": 1, "other": 1}
        assert "PLANTED" not in repr(s.metadata)
        assert "distances" not in s.metadata["missing_fields"]

    def test_sheet_fills_distances(self, tmp_path):
        (study,) = _studies(distances_mm=(70.0, 230.0), site_names=("Wrist", "Elbow"))
        bare = NerveStudy(study.nerve, study.side, study.muscle,
                          [Site(s.name, None) for s in study.sites], study.traces,
                          study.sampling_rate_hz)
        p = write_natus_text(bare, tmp_path / "b.txt")
        sites = [{"name": "Wrist", "distance_mm": 70.0}, {"name": "Elbow", "distance_mm": 230.0}]
        sheet = {"nerves": [{"nerve": "median", "sites": sites}]}
        (got,) = read_natus_text(p, sheet=sheet)
        assert [x.distance_mm for x in got.sites] == [70.0, 230.0]

    @pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-8"])
    def test_bom_less_utf16_and_utf8(self, tmp_path, encoding):
        p = _write_text(tmp_path, _minimal("LongTrace Data(µV)<2>=1,2\n"), encoding=encoding)
        assert looks_like_natus_text(p.read_bytes())
        np.testing.assert_allclose(read_natus_text(p)[0].traces, [[0.001, 0.002]])


class TestIdentifiers:
    HEAD = (f"Patient Name={PLANTED_NAME}\nPatient ID={PLANTED_ID}\nVisit Date=30/09/2025 10:00\n"
            "Gender=Female\n")

    def test_never_copied_by_default(self, tmp_path):
        p = _write_text(tmp_path, self.HEAD + _minimal("LongTrace Data(µV)<2>=1,2\n"))
        (s,) = read_natus_text(p)
        dump = repr(vars(s)) + repr(s.metadata)
        for planted in ("PLANTED", "Female"):
            assert planted not in dump
        assert s.study_id == pseudonymize(PLANTED_NAME, PLANTED_ID)
        assert s.metadata["study_date"] == "2025-09-30"

    def test_kept_when_asked(self, tmp_path):
        p = _write_text(tmp_path, self.HEAD + _minimal("LongTrace Data(µV)<2>=1,2\n"))
        (s,) = read_natus_text(p, keep_identifiers=True)
        assert (s.metadata["patient_name"], s.metadata["patient_id"]) == (PLANTED_NAME, PLANTED_ID)
        assert "Female" not in repr(s.metadata)

    def test_first_and_last_name_and_writer(self, tmp_path):
        (study,) = _studies()
        p = write_natus_text(study, tmp_path / "w.txt", patient_name=PLANTED_NAME,
                             patient_id=PLANTED_ID)
        (s,) = read_natus_text(p)
        assert "PLANTED" not in repr(s.metadata)
        assert s.study_id == pseudonymize(PLANTED_NAME, PLANTED_ID)
        q = _write_text(tmp_path, "First Name=Jane\nLast Name=Doe\n" +
                        _minimal("LongTrace Data(µV)<2>=1,2\n"), "fl.txt")
        assert read_natus_text(q)[0].study_id == pseudonymize("Doe Jane", None)


GOOD = "LongTrace Data(µV)<2>=1,2\n"


class TestMalformed:
    @pytest.mark.parametrize("text, match, line", [
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<3>=1,2\nLow(Hz)=2\n", r"LongTrace data key", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<2>=1,2,3\n", r"declares 2 samples but 3", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<2>=1,2\n3\n", r"more values than the 2", 3),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<2>=1,DOE^JANE-PLANTED\n", r"value 2 of this", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<2>=1,,2\n", r"value 2 of this", 2),
        ("Subsampled(kHz)=10\nDOE^JANE-PLANTED\n" + GOOD, r"neither 'key=value'", 2),
        ("Subsampled(kHz)=10\n" + GOOD + "DOE^JANE-PLANTED\n", r"neither 'key=value'", 3),
        ("Subsampled(kHz)=DOE^JANE-PLANTED\n" + GOOD, r"Subsampled\(kHz\) is not a finite", 1),
        ("Subsampled(kHz)=1e999\n" + GOOD, r"not a finite number", 1),
        ("Subsampled(kHz)=nan\n" + GOOD, r"not a finite number", 1),
        ("Subsampled(kHz)=0\n" + GOOD, r"Subsampled\(kHz\) must be in \(0, inf\]", 1),
        ("Subsampled(kHz)=0.05\n" + GOOD, r"outside the allowed 100 Hz to 1e\+06 Hz", 1),
        ("Subsampled(kHz)=1e9\n" + GOOD, r"outside the allowed", 1),
        ("Subsampled(MHz)=1\n" + GOOD, r"unknown unit for Subsampled\(kHz\); allowed: khz, hz", 1),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<2>=1,1e999\n", r"not finite", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(furlong)<2>=1,2\n", r"unknown amplitude unit", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(DOE^JANE-PLANTED)<2>=1,2\n", r"unknown amplitude", 2),
        ("Subsampled(kHz)=10\nDOE JANE PLANTED Data(µV)<3>=1,2\n", r"other data key declares", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<0>=\n", r"integer from 1 to", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<99999999999999999999>=1\n", r"integer from 1", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)<x>=1\n", r"integer from 1 to", 2),
        ("Subsampled(kHz)=10\nLongTrace Data(µV)=1,2\n", r"without a sample count", 2),
        ("Subsampled(kHz)=10\nTrace Duration(ms)=5\n" + GOOD, r"holds 2 samples .* gives 50.0", 2),
        ("Trace Duration(ms)=0\n" + GOOD, r"Trace Duration\(ms\) must be in \(0, 3.6e\+06", 1),
        ("Sweep Duration(s)=-1\n" + GOOD, r"Sweep Duration\(ms\) must be in \(0,", 1),
        ("Sweep Duration(s)=1e300\n" + GOOD, r"Sweep Duration\(ms\) must be in \(0,", 1),
        ("Subsampled(kHz)=10\nTemperature(C)=300\n" + GOOD, r"Temperature\(C\) must be in", 2),
        ("Subsampled(kHz)=10\nStim Intensity(mA)=-3\n" + GOOD, r"Stim Intensity\(mA\) must", 2),
        ("Subsampled(kHz)=10\nDistance(cm)=1e5\n" + GOOD, r"Distance\(mm\) must be in \(0, 20", 2),
        ("Subsampled(kHz)=10\nLow(Hz)=-1\n" + GOOD, r"Low\(Hz\) must be in \[0, 1e\+07\]", 2),
        (GOOD, r"cannot determine the sampling rate", 1),
        ("Subsampled(kHz)=10\nLow(Hz)=1\nLow(Hz)=2\nLow(Hz)=3\n" + GOOD + GOOD,
         r"Low\(Hz\) appears 3 times for 2 traces", 2),
        ("Subsampled(kHz)=10\n" + GOOD + "Low(Hz)=1\n" + GOOD + "Low(Hz)=2\n",
         r"Low\(Hz\) differs between the traces", 3),
        ("Subsampled(kHz)=10\n" + GOOD + "LongTrace Data(µV)<3>=1,2,3\n", r"differ in length", 3),
        ("Subsampled(kHz)=10\n" + GOOD + "LongTrace Data(mV)<2>=1,2\n", r"differ in amplitude", 3),
        ("Subsampled(kHz)=10\nDistance(mm)=-70\n" + GOOD, r"Distance\(mm\) must be in", 2),
        ("Subsampled(kHz)=10\nStimulus Delay(ms)=5\n" + GOOD, r"outside the trace", 2),
        ("Nerve=Right Median Motor\nNerve=Left Ulnar Motor\nSubsampled(kHz)=10\n" + GOOD,
         r"no 'LongTrace Data", 1),
        ("Subsampled(kHz)=10\nLow(Hz)=2\n", r"no trace to read", 1),
        ("", r"empty file", 1),
    ])
    def test_named_error_with_line_never_quoting(self, tmp_path, text, match, line):
        p = _write_text(tmp_path, text)
        with pytest.raises(FormatError, match=match) as err:
            read_natus_text(p)
        assert err.value.location == f"line {line}"
        assert str(err.value).startswith(str(p))
        assert "PLANTED" not in str(err.value)

    def test_absurd_option_rate(self, tmp_path):
        p = _write_text(tmp_path, GOOD)
        for rate in (float("nan"), float("inf"), 1.0, 1e12):
            with pytest.raises(FormatError, match="outside the allowed"):
                read_natus_text(p, sampling_rate_hz=rate)

    @pytest.mark.parametrize("data, match", [
        (b"\xff\xfe" + "Subsampled(kHz)=10\n".encode("utf-16-le") + b"\x00\xd8\x41\x00",
         r"not valid utf-16 text"),
        (b"\xff\xfe" + "Subsampled(kHz)=10\n".encode("utf-16-le") + b"\x41", r"not valid utf-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x01\x02\x03", r"binary content"),
        (b"Subsampled(kHz)=10\n\xff\xfe\xfa", r"not valid UTF-8 text"),
        ("Subsampled(kHz)=10\n\x00\n".encode("utf-16"), r"NUL character"),
    ])
    def test_undecodable_bytes(self, tmp_path, data, match):
        p = tmp_path / "bad.txt"
        p.write_bytes(data)
        with pytest.raises(FormatError, match=match):
            read_natus_text(p)


class TestSniffer:
    def test_written_file_and_truncated_head(self, tmp_path):
        (study,) = _studies()
        data = write_natus_text(study, tmp_path / "s.txt").read_bytes()
        assert looks_like_natus_text(data[:65536]) and looks_like_natus_text(data[:301])

    @pytest.mark.parametrize("head", [
        b"Test Name,NCV\nTest Item,Right Median Motor (APB)\nTrace Data (uV),1,2\n",
        b'"Test Item","Right Median Motor"\n"1","1"\n"*Wave End"\n',
        b"0       " + b" " * 248, b"\x89HDF\r\n\x1a\n", b'{"nerves": []}',
        b"case_id = \"X\"\n", b"\x00\x01\x02\x03" * 100, b"",
        "Patient Name=X\nTest=EMG\n".encode("utf-16"),
    ])
    def test_other_content_is_not_natus(self, head):
        assert not looks_like_natus_text(head)
