"""MNE-Python conversion: to_mne_epochs / from_mne_epochs round trip (needs the [mne] extra)."""

import math
import sys

import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.io.errors import FormatError
from nerveconduct.io.mne import METADATA_COLUMNS, EpochsSetupError, from_mne_epochs, to_mne_epochs
from nerveconduct.model import NerveStudy, Site

REASON = "MNE-Python is not installed (the optional extra: pip install '.[mne]')"


def studies():
    sims = [nc.simulate_nerve((70.0, 230.0, 110.0), site_names=("wrist", "elbow", "axilla"),
                              seed=seed).to_studies()[0] for seed in (1, 2)]
    a, b = sims
    a = NerveStudy("median", "left", "APB", [Site("Wrist", 70.0, 10.0), Site("Elbow", 230.0),
                                            Site("Axilla", None)],
                   a.traces, a.sampling_rate_hz, stimulus_sample=a.stimulus_sample,
                   temperature_c=31.0, low_frequency_filter_hz=2.0, f_wave_latency_ms=math.nan,
                   study_id="P-0a1b2c3d4e")
    b = NerveStudy("ulnar", None, None, [Site("Wrist", 80.0), Site("Elbow", 200.0, 30.0),
                                         Site("Axilla", 120.0)],
                   -b.traces, b.sampling_rate_hz, stimulus_sample=b.stimulus_sample,
                   polarity="negative-up", f_wave_latency_ms=29.0, study_id="P-ffff")
    return [a, b]


def test_missing_mne_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mne", None)  # import mne -> ImportError
    with pytest.raises(ModuleNotFoundError, match=r"nerveconduct\[mne\]"):
        to_mne_epochs(studies())
    with pytest.raises(ModuleNotFoundError, match=r"nerveconduct\[mne\]"):
        from_mne_epochs(object())


class TestWithMne:
    @pytest.fixture(autouse=True)
    def _mne(self):
        pytest.importorskip("mne", reason=REASON)
        pytest.importorskip("pandas", reason=REASON)

    def test_epochs_layout(self):
        a, b = studies()
        epochs = to_mne_epochs([a, b])
        assert epochs.ch_names == ["CMAP"] and epochs.get_channel_types() == ["emg"]
        assert len(epochs) == 6 and epochs.info["sfreq"] == a.sampling_rate_hz
        assert epochs.tmin == pytest.approx(-a.stimulus_sample / a.sampling_rate_hz)
        assert epochs.event_id == {"Wrist": 1, "Elbow": 2, "Axilla": 3}
        data = epochs.get_data(copy=True)
        assert np.allclose(data[0, 0], a.traces[0] / 1e3)  # volts
        assert np.allclose(data[3, 0], -b.traces[0] / 1e3)  # physical polarity
        assert len(epochs["Elbow"]) == 2
        meta = epochs.metadata
        assert list(meta.columns) == list(METADATA_COLUMNS)
        for column, kind in METADATA_COLUMNS.items():
            assert all(type(v.item() if hasattr(v, "item") else v) is kind for v in meta[column])
        assert list(meta["site"]) == ["Wrist", "Elbow", "Axilla"] * 2
        assert list(meta["side"]) == ["left"] * 3 + [""] * 3
        assert math.isnan(meta["distance_mm"][2]) and meta["distance_mm"][4] == 200.0

    def test_round_trip(self):
        originals = studies()
        back = from_mne_epochs(to_mne_epochs(originals))
        for x, s in zip(back, originals, strict=True):
            assert (x.nerve, x.side, x.muscle, x.study_id) == (s.nerve, s.side, s.muscle,
                                                             s.study_id)
            assert x.sites == s.sites
            sign = -1.0 if s.polarity == "negative-up" else 1.0
            assert np.allclose(x.traces, sign * s.traces, rtol=1e-12, atol=1e-12)
            assert (x.sampling_rate_hz, x.stimulus_sample) == (s.sampling_rate_hz,
                                                               s.stimulus_sample)
            assert x.temperature_c == s.temperature_c
            assert x.low_frequency_filter_hz == s.low_frequency_filter_hz
        assert math.isnan(back[0].f_wave_latency_ms) and back[1].f_wave_latency_ms == 29.0

    def test_selected_and_reordered_epochs(self):
        epochs = to_mne_epochs(studies())
        back = from_mne_epochs(epochs[[2, 0, 1]])  # one study, sites back in order
        assert [s.name for s in back[0].sites] == ["Wrist", "Elbow", "Axilla"]
        assert len(from_mne_epochs(epochs["Wrist"])) == 2

    def test_epochs_of_other_origin(self):
        import mne

        info = mne.create_info(["EMG1", "EMG2"], 10000.0, ch_types="emg")
        data = np.zeros((2, 2, 300))
        data[1, 1, 50:60] = 5e-3
        epochs = mne.EpochsArray(data, info, tmin=-0.005, event_id={"wrist": 1}, verbose="error")
        with pytest.raises(FormatError, match="channel"):
            from_mne_epochs(epochs)
        (s,) = from_mne_epochs(epochs, channel="EMG2")
        assert (s.nerve, s.stimulus_sample, [x.name for x in s.sites]) == ("unknown", 50,
                                                                          ["wrist", "wrist"])
        assert s.traces[1].max() == pytest.approx(5.0)  # mV
        assert s.metadata["missing_fields"] == ["nerve", "side", "muscle", "distances"]
        late = mne.EpochsArray(data, info, tmin=0.01, verbose="error")
        with pytest.raises(FormatError, match="stimulus inside"):
            from_mne_epochs(late, channel="EMG1")

    def test_differing_set_ups_are_refused(self):
        a, _ = studies()
        short = NerveStudy("radial", "left", "EIP", a.sites, a.traces[:, :500],
                           a.sampling_rate_hz, stimulus_sample=a.stimulus_sample)
        with pytest.raises(EpochsSetupError, match=r"1000 samples, stimulus at sample 100: "
                                                   r"study 0 \(motor, left median\); 20000 Hz, "
                                                   r"500 samples.*Convert each set-up apart"):
            to_mne_epochs([a, short])
        with pytest.raises(ValueError, match="at least one"):
            to_mne_epochs([])
