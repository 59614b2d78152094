"""Trace CSV export: reader on hand-written files, writer round trip, malformed input."""

import numpy as np
import pytest

from nerveconduct.io.errors import FormatError
from nerveconduct.io.pseudonym import pseudonymize
from nerveconduct.io.vendor import (amplitude_scale_to_mv, parse_date, parse_test_item,
                                    read_trace_csv, write_trace_csv)
from nerveconduct.model import NerveStudy, Site

HEADER = (
    "Test Name,NCV\n"
    "Test Item,Right Median Motor (APB)\n"
    'Patient Name,"Fake^Person"\n'
    "Patient ID,FAKE-0001\n"
    "Test Date,30/09/2025\n"
    'Trace Label,"Wrist : ","Elbow : "\n'
    "Sensitivity (μV/Div),5000.00,5000.00\n"
)


def _write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8"))
    return p


def _basic(tmp_path, rate_row="Sampling Rate (Hz),12800,12800\n"):
    body = "Trace Data (μV),-2104.97,-49.34\n,-26415.81,-114.15\n,1000,2000\n,0,-500\n"
    return _write(tmp_path, HEADER + rate_row + body)


class TestReadTraceCsv:
    def test_basic(self, tmp_path):
        (s,) = read_trace_csv(_basic(tmp_path))
        assert (s.nerve, s.side, s.muscle) == ("median", "right", "APB")
        assert [x.name for x in s.sites] == ["Wrist", "Elbow"]
        assert [x.distance_mm for x in s.sites] == [None, None]
        assert s.sampling_rate_hz == 12800.0 and s.stimulus_sample == 0
        np.testing.assert_allclose(s.traces[0], [-2.10497, -26.41581, 1.0, 0.0])
        np.testing.assert_allclose(s.traces[1], [-0.04934, -0.11415, 2.0, -0.5])
        assert s.metadata["source_file"] == "t.csv" and s.metadata["format"] == "trace-csv"
        assert s.metadata["study_date"] == "2025-09-30"
        assert "distances" in s.metadata["missing_fields"]

    def test_identifiers_dropped_by_default(self, tmp_path):
        p = _basic(tmp_path)
        (s,) = read_trace_csv(p)
        assert s.study_id == pseudonymize("Fake^Person", "FAKE-0001")
        assert s.study_id.startswith("P-") and len(s.study_id) == 12
        flat = repr(s.metadata) + repr(s)
        assert "Fake" not in flat and "FAKE-0001" not in flat
        (kept,) = read_trace_csv(p, keep_identifiers=True)
        assert kept.metadata["patient_name"] == "Fake^Person"
        assert kept.metadata["patient_id"] == "FAKE-0001"

    @pytest.mark.parametrize("row, rate", [
        ("Sampling Frequency (kHz),12.8,12.8\n", 12800.0),
        ("Sampling Interval (ms),0.078125,0.078125\n", 12800.0),
        ("Sampling Interval (µs),50,50\n", 20000.0),
        ("Sweep Duration (ms),0.3125,0.3125\n", 12800.0),   # 4 samples in 0.3125 ms
        ("Sweep (ms/Div),0.03125,0.03125\n", 12800.0),      # 10 divisions
    ])
    def test_rate_variants(self, tmp_path, row, rate):
        (s,) = read_trace_csv(_basic(tmp_path, row))
        assert s.sampling_rate_hz == pytest.approx(rate)

    def test_rate_missing_raises_and_option_supplies_it(self, tmp_path):
        p = _basic(tmp_path, "")
        with pytest.raises(FormatError, match=r"sampling rate.*sampling_rate_hz") as err:
            read_trace_csv(p)
        assert err.value.path == str(p)
        (s,) = read_trace_csv(p, sampling_rate_hz=10000.0)
        assert s.sampling_rate_hz == 10000.0

    def test_two_items_and_polarity_and_delay(self, tmp_path):
        second = ("Test Name,NCV\nTest Item,Left Ulnar Motor (ADM)\nTrace Label,Wrist,B Elbow\n"
                  "Sampling Rate (Hz),20000,20000\nStimulus Delay (ms),0.1,0.1\n"
                  "Polarity,Negative Up\nTemperature (C),31.5\nLow Cut (Hz),2\n"
                  "Trace Data (mV),1,2\n,3,4\n,5,6\n")
        p = _write(tmp_path, HEADER + "Sampling Rate (Hz),12800,12800\n"
                   "Trace Data (μV),1,2\n,3,4\n" + second)
        a, b = read_trace_csv(p)
        assert a.traces.shape == (2, 2) and b.traces.shape == (2, 3)
        assert (b.nerve, b.side, b.muscle) == ("ulnar", "left", "ADM")
        assert b.stimulus_sample == 2 and b.temperature_c == 31.5
        assert b.low_frequency_filter_hz == 2.0
        np.testing.assert_allclose(b.traces, [[-1, -3, -5], [-2, -4, -6]])
        assert b.metadata["polarity_flipped"] is True
        assert b.metadata["source_traces"] == [2, 3]

    @pytest.mark.parametrize("body, match, line", [
        ("", r"trace block missing", "line 1"),
        ("Trace Data (μV),1,2\n,3\n", r"ragged.*1 values.*2 columns", "line 10"),
        ("Trace Data (μV),1,2\n,3,abc\n", r"non-numeric sample 'abc'", "line 10"),
        ("Trace Data (furlongs),1,2\n", r"unknown amplitude unit 'furlongs'", "line 9"),
        ("Trace Data,1,2\n", r"no unit", "line 9"),
        ("Trace Data (μV),1,2,3\n", r"2 trace labels but 3 trace columns", "line 6"),
    ])
    def test_raises(self, tmp_path, body, match, line):
        p = _write(tmp_path, HEADER + "Sampling Rate (Hz),12800,12800\n" + body)
        with pytest.raises(FormatError, match=match) as err:
            read_trace_csv(p)
        assert err.value.location == line and str(p) in str(err.value)

    def test_empty_and_binary(self, tmp_path):
        with pytest.raises(FormatError, match="empty file"):
            read_trace_csv(_write(tmp_path, ""))
        p = tmp_path / "bin.csv"
        p.write_bytes(b"Test Name,NCV\n\x00\x01\x02")
        with pytest.raises(FormatError, match="binary content.*offset 14"):
            read_trace_csv(p)


class TestWriteTraceCsv:
    def test_round_trip(self, tmp_path):
        t = np.linspace(0, 1, 200)
        traces = np.vstack([-5 * np.exp(-((t - 0.3) / 0.05) ** 2), -4 * np.exp(-((t - 0.5) / 0.07) ** 2)])
        study = NerveStudy("ulnar", "left", "ADM", [Site("Wrist", 70.0), Site("Below Elbow", 200.0)],
                           traces, 20000.0, stimulus_sample=20, temperature_c=32.0,
                           low_frequency_filter_hz=2.0, metadata={"study_date": "2024-02-29"})
        p = write_trace_csv(tmp_path / "w.csv", study, patient_name="Fake^Person", patient_id="X-1")
        (back,) = read_trace_csv(p)
        np.testing.assert_allclose(back.traces, traces, atol=5e-6)  # 0.01 µV written
        assert back.stimulus_sample == 20 and back.sampling_rate_hz == 20000.0
        assert [s.name for s in back.sites] == ["Wrist", "Below Elbow"]
        assert (back.nerve, back.side, back.muscle) == ("ulnar", "left", "ADM")
        assert (back.temperature_c, back.low_frequency_filter_hz) == (32.0, 2.0)
        assert back.metadata["study_date"] == "2024-02-29"
        with pytest.raises(FileExistsError, match="overwrite=True"):
            write_trace_csv(p, study)


def test_helpers():
    assert amplitude_scale_to_mv("µV") == amplitude_scale_to_mv("uV") == 1e-3
    assert amplitude_scale_to_mv("V") == 1000.0
    with pytest.raises(FormatError, match="'mA'.*allowed"):
        amplitude_scale_to_mv("mA")
    assert parse_test_item("Left Common Peroneal Motor (EDB)") == ("left", "fibular", "EDB")
    assert parse_test_item(None) == (None, None, None)
    assert parse_date("30/09/2025") == "2025-09-30"
    assert parse_date("09/30/2025") == "2025-09-30"
    assert parse_date("2025/09/30") == "2025-09-30"
    assert parse_date("yesterday") is None


def test_crlf_latin1_export(tmp_path):
    """Windows machines write CRLF and cp1252/latin-1 (µ = 0xB5), with trailing commas."""
    text = (HEADER.replace("μ", "µ") + "Sampling Rate (Hz),12800,12800,\n"
            "Trace Data (µV),1000,2000,\n,3000,4000,\n").replace("\n", "\r\n")
    p = tmp_path / "win.csv"
    p.write_bytes(text.encode("latin-1"))
    (s,) = read_trace_csv(p)
    np.testing.assert_allclose(s.traces, [[1.0, 3.0], [2.0, 4.0]])
    assert s.metadata["amplitude_unit"] == "µV"
