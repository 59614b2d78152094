"""Nihon Kohden MEB/Neuropack text export: reader, writer round trip, malformed input."""

import numpy as np
import pytest

from nerveconduct.io.errors import FormatError
from nerveconduct.io.nihon_kohden import read_nihon_kohden_txt, write_nihon_kohden_txt
from nerveconduct.model import NerveStudy, Site

HEAD = ('"Test Item","Right Ulnar Motor (ADM)"\n'
        '"Patient Name","Fake^Person"\n'
        '"Sampling Interval","0.05ms"\n'
        '"Sensitivity","5mV/D","5mV/D"\n'
        '"Stim Site","Wrist","Below Elbow"\n'
        '"Distance","7cm","210mm"\n')


def _write(tmp_path, text):
    p = tmp_path / "nk.txt"
    p.write_text(text, encoding="utf-8")
    return p


class TestReadNihonKohden:
    def test_basic(self, tmp_path):
        p = _write(tmp_path, HEAD + '"1","-100","50"\n"2","-2000","-1500.5"\n"3","0","0"\n"*Wave End"\n')
        (s,) = read_nihon_kohden_txt(p)
        assert (s.nerve, s.side, s.muscle) == ("ulnar", "right", "ADM")
        assert s.sampling_rate_hz == pytest.approx(20000.0)
        assert [(x.name, x.distance_mm) for x in s.sites] == [("Wrist", 70.0), ("Below Elbow", 210.0)]
        np.testing.assert_allclose(s.traces, [[-0.1, -2.0, 0.0], [0.05, -1.5005, 0.0]])
        assert s.metadata["amplitude_unit_assumed"] is True  # no "Unit" line: µV
        assert s.metadata["format"] == "nihon-kohden-txt"
        assert "Fake" not in repr(s.metadata) and s.study_id.startswith("P-")

    def test_blocks_add_sites_and_new_nerve_starts_study(self, tmp_path):
        text = ('"Test Item","Left Median Motor (APB)"\n"Sampling Rate","20kHz"\n"Unit","mV"\n'
                '"Polarity","Negative Up"\n"Stim Site","Wrist","Elbow"\n'
                '"1-1","1"\n"1-2","2"\n"*Wave End"\n"1-1","3"\n"1-2","4"\n"*Wave End"\n'
                '"Test Item","Left Ulnar Motor (ADM)"\n"1","5"\n"2","6"\n"*Wave End"\n')
        a, b = read_nihon_kohden_txt(_write(tmp_path, text))
        np.testing.assert_allclose(a.traces, [[-1, -2], [-3, -4]])  # flipped negative-up
        assert a.metadata["polarity_flipped"] is True and a.side == "left"
        assert b.nerve == "ulnar" and b.n_sites == 1 and b.sites[0].name == "site 1"
        assert "site_names" in b.metadata["missing_fields"]
        assert b.metadata["source_traces"] == [2]

    @pytest.mark.parametrize("body, match, location", [
        ('"1","1","2"\n"2","3"\n"*Wave End"\n', r"ragged.*1 values.*2 columns", "line 8"),
        ('"1","1","2"\n"2","3","x"\n"*Wave End"\n', r"non-numeric sample 'x'", "line 8"),
        ('"1","1","2"\n"2","3","4"\n', r"no '\*Wave End'", "line 7"),
        ('"1","1","2"\n"Oops","3","4"\n"*Wave End"\n', r"sample index or '\*Wave End'", "line 8"),
        ('"Unit","furlong"\n"1","1","2"\n"*Wave End"\n', r"unknown amplitude unit", "line 7"),
        ('"1","1","2","3"\n"*Wave End"\n', r"stim site line has 2 values for 3 traces", "line 5"),
        ('', r"no wave block", "line 1"),
    ])
    def test_raises(self, tmp_path, body, match, location):
        p = _write(tmp_path, HEAD + body)
        with pytest.raises(FormatError, match=match) as err:
            read_nihon_kohden_txt(p)
        assert err.value.location == location and err.value.path == str(p)

    def test_rate_missing(self, tmp_path):
        p = _write(tmp_path, '"Test Item","Median"\n"1","1"\n"*Wave End"\n')
        with pytest.raises(FormatError, match="sampling rate"):
            read_nihon_kohden_txt(p)
        assert read_nihon_kohden_txt(p, sampling_rate_hz=5000.0)[0].sampling_rate_hz == 5000.0

    def test_empty(self, tmp_path):
        with pytest.raises(FormatError, match="empty file"):
            read_nihon_kohden_txt(_write(tmp_path, "  \n"))


def test_write_round_trip(tmp_path):
    traces = np.vstack([np.sin(np.arange(300) / 9.0) * 3, np.cos(np.arange(300) / 7.0)])
    study = NerveStudy("median", "right", "APB", [Site("Wrist", 70.0, 12.5), Site("Elbow", 230.0)],
                       traces, 25000.0, stimulus_sample=25, temperature_c=33.5,
                       low_frequency_filter_hz=10.0, metadata={"study_date": "2025-01-02"})
    p = write_nihon_kohden_txt(tmp_path / "w.txt", study)
    assert '"Polarity","Negative Up"' in p.read_text()
    (back,) = read_nihon_kohden_txt(p)
    np.testing.assert_allclose(back.traces, traces, atol=5e-6)
    assert back.metadata["polarity_flipped"] is True
    assert [(s.name, s.distance_mm, s.stimulus_intensity_ma) for s in back.sites] == [
        ("Wrist", 70.0, 12.5), ("Elbow", 230.0, None)]
    assert (back.sampling_rate_hz, back.stimulus_sample) == (pytest.approx(25000.0), 25)
    assert (back.temperature_c, back.low_frequency_filter_hz) == (33.5, 10.0)
    assert back.metadata["study_date"] == "2025-01-02"
