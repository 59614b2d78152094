"""EDF/EDF+C/EDF+D reader and write_edf: spec example, round trips, lying headers."""

import warnings

import edfio
import numpy as np
import pytest

from nerveconduct.io.edf import read_edf, write_edf
from nerveconduct.io.errors import FormatError
from nerveconduct.model import NerveStudy, Site


def _field(text, width):
    return text.encode("ascii").ljust(width)


def build_edf(*, reserved="EDF+D", records=None, tals=None, n_records=None, ns_field=None,
              label="R APB", dim="mV", patient="MCH-0234567 F 02-MAY-1951 Haagse_Harry",
              recording="Startdate 02-MAR-2002 EMG561 BK/JOP Sony. MNC R Median Nerve.",
              with_annotations=True, n=1000, duration="0.050", ann_n=60):
    """Write, byte by byte, an EDF+ file shaped like the specification's MNC example."""
    records = records if records is not None else [np.arange(n) % 2048 - 1024,
                                                   (np.arange(n) * 3) % 4096 - 2048]
    tals = tals if tals is not None else [
        b"+0\x14\x14Stimulus right wrist 0.2ms x 8.2mA at 6.5cm from recording site\x14"
        b"Response 7.2mV at 3.8ms\x14\x00",
        b"+10\x14\x14Stimulus right elbow 0.2ms x 15.3mA at 28.5cm from recording site\x14"
        b"Response 7.2mV at 7.8ms (55.0m/s)\x14\x00"]
    ns = 2 if with_annotations else 1
    sig = [("label", 16, [label, "EDF Annotations"]), ("transducer", 80, ["AgAgCl electrodes", ""]),
           ("dim", 8, [dim, ""]), ("pmin", 8, ["-100", "-1"]), ("pmax", 8, ["100", "1"]),
           ("dmin", 8, ["-2048", "-32768"]), ("dmax", 8, ["2047", "32767"]),
           ("prefilter", 80, ["HP:3Hz LP:20kHz", ""]), ("n", 8, [str(n), str(ann_n)]),
           ("reserved", 32, ["", ""])]
    head = b"".join([_field("0", 8), _field(patient, 80), _field(recording, 80),
                     _field("17.04.01", 8), _field("11.25.00", 8), _field(str(256 * (ns + 1)), 8),
                     _field(reserved, 44),
                     _field(str(len(records) if n_records is None else n_records), 8),
                     _field(duration, 8), _field(str(ns) if ns_field is None else ns_field, 4)])
    for _, width, values in sig:
        head += b"".join(_field(v, width) for v in values[:ns])
    body = b""
    for rec, tal in zip(records, tals):
        body += np.asarray(rec, "<i2").tobytes()
        if with_annotations:
            body += tal.ljust(2 * ann_n, b"\x00")
    return head + body


class TestSpecExample:
    def test_mnc_example(self, tmp_path):
        p = tmp_path / "MNC.edf"
        p.write_bytes(build_edf())
        (s,) = read_edf(p)
        assert (s.nerve, s.side, s.muscle) == ("median", "right", "APB")
        assert [x.name for x in s.sites] == ["wrist", "elbow"]
        assert [x.distance_mm for x in s.sites] == pytest.approx([65.0, 220.0])
        assert [x.stimulus_intensity_ma for x in s.sites] == [8.2, 15.3]
        assert s.sampling_rate_hz == pytest.approx(20000.0)
        assert s.stimulus_sample == 0 and s.low_frequency_filter_hz == 3.0
        assert s.metadata["record_onsets_s"] == [0.0, 10.0]
        assert s.metadata["edf_type"] == "EDF+D" and s.metadata["study_date"] == "2002-03-02"
        # physical = (digital + 2048) * 200 / 4095 - 100 (mV)
        dig = np.arange(1000) % 2048 - 1024
        np.testing.assert_allclose(s.traces[0], (dig + 2048) * 200 / 4095 - 100)
        assert "Haagse" not in repr(s.metadata) and "MCH" not in repr(s.metadata)
        (kept,) = read_edf(p, keep_identifiers=True)
        assert kept.metadata["patient_id"] == "MCH-0234567"
        assert kept.metadata["patient_name"] == "Haagse Harry"

    def test_stimulus_offset_from_tal(self, tmp_path):
        tals = [b"+0\x14\x14\x00+0.005\x14Stimulus left wrist\x14\x00",
                b"+3\x14\x14\x00+3.005\x14Stimulus left elbow\x14\x00"]
        p = tmp_path / "s.edf"
        p.write_bytes(build_edf(tals=tals))
        (s,) = read_edf(p)
        assert s.stimulus_sample == 100 and s.side == "left"
        assert [x.distance_mm for x in s.sites] == [None, None]
        assert "distances" in s.metadata["missing_fields"]

    def test_plain_edf_records_are_sweeps(self, tmp_path):
        p = tmp_path / "plain.edf"
        p.write_bytes(build_edf(reserved="", with_annotations=False, patient="Someone Real",
                                label="NC L_ADM", recording="ulnar study"))
        (s,) = read_edf(p)
        assert s.metadata["record_onsets_s"] == [0.0, 0.05]
        assert (s.nerve, s.side, s.muscle) == ("ulnar", "left", "ADM")
        assert [x.name for x in s.sites] == ["record 1", "record 2"]
        assert "Someone" not in repr(s.metadata)


class TestMalformed:
    @pytest.mark.parametrize("kwargs, cut, match, location", [
        ({"n_records": 3}, 0, r"header says 3 data records .*\(2 whole records", "record 2"),
        ({}, 7, r"header says 2 data records .*\(1 whole records", "record 1"),
        ({"ns_field": "3"}, 0, r"header byte count says 768 but 3 signals need 1024", "header"),
        ({"ns_field": "ab"}, 0, r"number of signals must be an integer, got 'ab  '", "header"),
        ({"dim": "furlong"}, 0, r"unknown amplitude unit 'furlong'", "signal 0 header (R APB)"),
        ({"duration": "0"}, 0, r"duration must be > 0", "header"),
        ({"tals": [b"+0\x14\x14\x00", b"+0.01\x14\x14\x00"]}, 0, r"before the previous one",
         "record 1"),
        ({"tals": [b"+0\x14\x14\x00", b"+5\x14Stim\x14\x00"]}, 0, r"time-keeping TAL", "record 1"),
        ({"reserved": "EDF+C", "tals": [b"+0\x14\x14\x00", b"+5\x14\x14\x00"]}, 0,
         r"EDF\+C record starts at 5.0 s, expected 0.05 s", "record 1"),
    ])
    def test_raises(self, tmp_path, kwargs, cut, match, location):
        data = build_edf(**kwargs)
        p = tmp_path / "bad.edf"
        p.write_bytes(data[:len(data) - cut])
        with pytest.raises(FormatError, match=match) as err:
            read_edf(p)
        assert err.value.location == location and err.value.path == str(p)

    def test_short_and_bdf(self, tmp_path):
        p = tmp_path / "short.edf"
        p.write_bytes(b"0       " + b" " * 50)
        with pytest.raises(FormatError, match="58 bytes, fewer than the 256-byte"):
            read_edf(p)
        p.write_bytes(b"\xffBIOSEMI" + b" " * 300)
        with pytest.raises(FormatError, match="BDF"):
            read_edf(p)


def _study(nerve="median", side="right", muscle="APB", scale=1.0, **kw):
    t = np.arange(1000) / 20.0  # ms at 20 kHz
    bump = lambda at, w, a: -a * np.exp(-((t - at) / w) ** 2)  # noqa: E731
    traces = scale * np.vstack([bump(9, 1.5, 8) + bump(13, 2, -3), bump(13, 1.8, 7.5),
                                bump(18, 2.3, 6.9)])
    return NerveStudy(nerve, side, muscle, [Site("Wrist", 70.0, 21.0), Site("Elbow", 230.0),
                                            Site("Axilla", 100.0)], traces, 20000.0,
                      stimulus_sample=100, **kw)


class TestWriteEdf:
    def test_round_trip(self, tmp_path):
        a = _study(temperature_c=32.5, low_frequency_filter_hz=2.0, f_wave_latency_ms=27.5,
                   study_id="P-0123456789", metadata={"study_date": "2025-09-30"})
        b = _study("ulnar", "left", "ADM", scale=0.5)
        p = write_edf(tmp_path / "two.edf", [a, b])
        back = read_edf(p)
        assert len(back) == 2
        for orig, got in zip((a, b), back):
            step = float(np.max(np.abs(np.vstack([a.traces, b.traces])))) * 2 * 1.01 / 65535
            assert np.max(np.abs(got.traces - orig.traces)) <= step / 2 + 1e-12
            for attr in ("nerve", "side", "muscle", "sites", "sampling_rate_hz",
                         "stimulus_sample", "temperature_c", "low_frequency_filter_hz",
                         "f_wave_latency_ms", "study_id"):
                if attr == "study_id" and orig.study_id is None:  # pseudonym of the file
                    assert got.study_id.startswith("P-") and len(got.study_id) == 12
                    continue
                assert getattr(got, attr) == getattr(orig, attr), attr
        assert back[0].metadata["study_date"] == "2025-09-30"
        assert "study_date" not in back[1].metadata
        assert back[1].metadata["source_traces"] == [3, 4, 5]
        onsets = back[0].metadata["record_onsets_s"] + back[1].metadata["record_onsets_s"]
        assert onsets == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]

    def test_header_follows_spec(self, tmp_path):
        p = write_edf(tmp_path / "one.edf", _study(low_frequency_filter_hz=2.0))
        raw = p.read_bytes()
        assert raw[192:197] == b"EDF+D" and raw[236:244].strip() == b"3"
        assert raw[244:252].strip() == b"0.05" and raw[256:272].strip() == b"NC R_APB"
        assert raw[8:88].strip() == b"X X X X"
        assert b"HP:2Hz" in raw[:768]

    def test_edfio_reads_our_annotations(self, tmp_path):
        """An independent reader sees the stimuli at record start + 5 ms, 2 s apart."""
        p = write_edf(tmp_path / "x.edf", _study())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            edf = edfio.read_edf(p)
        stims = [a.onset for a in edf.annotations if a.text.startswith("Stimulus")]
        assert stims == pytest.approx([0.005, 2.005, 4.005])
        assert edf.signals[0].sampling_frequency == 20000

    def test_raises(self, tmp_path):
        with pytest.raises(ValueError, match="at least one"):
            write_edf(tmp_path / "e.edf", [])
        short = NerveStudy("median", "right", "APB", [Site("Wrist", 70.0)], np.zeros((1, 500)),
                           20000.0)
        with pytest.raises(ValueError, match=r"same \(n_samples, sampling_rate_hz\)"):
            write_edf(tmp_path / "e.edf", [_study(), short])
        p = write_edf(tmp_path / "e.edf", short)
        with pytest.raises(FileExistsError):
            write_edf(p, short)
        assert write_edf(p, short, overwrite=True) == p
