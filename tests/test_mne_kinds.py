"""MNE-Python epochs of sensory studies and F-wave trains, alone and mixed with motor studies:
to_mne_epochs / from_mne_epochs round trips, the metadata's kinds, and the one-set-up rule."""

import logging

import numpy as np
import pytest

from nerveconduct.io import StudyList, TraceKindWarning
from nerveconduct.io.errors import FormatError
from nerveconduct.io.mne import (METADATA_COLUMNS, EpochsSetupError, from_mne_epochs,
                                 to_mne_epochs)
from nerveconduct.model import Case, NerveStudy, SensoryStudy, Site, StimulationSeries
from nerveconduct.simulate import simulate_snap
from nerveconduct.simulate.samples_sensory import f_wave_study, sensory_study

pytest.importorskip("mne", reason="MNE-Python is not installed (pip install '.[mne]')")
pytest.importorskip("pandas", reason="pandas is not installed (pip install '.[mne]')")

#: The F-wave samples' set-up (10 kHz, 50 ms sweeps, stimulus 5 ms in): SNAPs made with it
#: share one EpochsArray with the motor study and its train.
MOTOR_SET_UP = dict(sampling_rate_hz=10000.0, sweep_ms=50.0, pre_stimulus_ms=5.0)


def snap_study(*, sweeps=0, direction="antidromic", polarity="physical", set_up=None, seed=3):
    """A two-site sensory study from the simulator (mV); ``sweeps`` > 0 keeps that many
    sweeps per site (traces (2, sweeps, n_samples))."""
    set_up = set_up or dict(sampling_rate_hz=20000.0, sweep_ms=15.0, pre_stimulus_ms=2.0)
    sites = [Site("wrist", 130.0, 12.0), Site("elbow", 230.0, None)]
    traces = []
    for total_mm, amplitude_uv in ((130.0, 30.0), (360.0, 20.0)):
        sim = simulate_snap(total_mm, amplitude_uv=amplitude_uv, n_snaps=sweeps or None,
                            seed=seed, **set_up)
        traces.append(sim.traces)
    traces = np.stack(traces)
    return SensoryStudy("median", "right", sites, -traces if polarity == "negative-up" else traces,
                        sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample,
                        polarity=polarity, direction=direction, recording_site="digit II",
                        temperature_c=32.0, low_frequency_filter_hz=20.0, study_id="P-0123456789",
                        age_years=54.0, height_cm=171.0)


def physical(study):
    return -study.traces if study.polarity == "negative-up" else study.traces


def assert_same_sensory(back, original):
    assert isinstance(back, SensoryStudy)
    assert (back.nerve, back.side, back.direction, back.recording_site, back.study_id) == (
        original.nerve, original.side, original.direction, original.recording_site,
        original.study_id)
    assert back.sites == original.sites  # names, distances (mm), intensities (mA)
    assert back.traces.shape == original.traces.shape
    np.testing.assert_allclose(back.traces, physical(original), rtol=1e-12, atol=1e-15)
    assert (back.sampling_rate_hz, back.stimulus_sample) == (original.sampling_rate_hz,
                                                             original.stimulus_sample)
    assert (back.temperature_c, back.low_frequency_filter_hz, back.age_years, back.height_cm) == (
        original.temperature_c, original.low_frequency_filter_hz, original.age_years,
        original.height_cm)


def assert_metadata_plain(epochs):
    meta = epochs.metadata
    assert list(meta.columns) == list(METADATA_COLUMNS)
    for column, kind in METADATA_COLUMNS.items():
        values = [v.item() if hasattr(v, "item") else v for v in meta[column]]
        assert all(type(v) is kind for v in values), column


class TestSensory:
    def test_one_epoch_per_site_in_volts(self):
        st = snap_study()
        epochs = to_mne_epochs(st)
        assert epochs.ch_names == ["CMAP"] and epochs.get_channel_types() == ["emg"]
        assert epochs.event_id == {"sensory/wrist": 1, "sensory/elbow": 2}
        assert len(epochs["sensory"]) == 2 and len(epochs["elbow"]) == 1  # MNE's tags
        assert epochs.tmin == pytest.approx(-st.stimulus_sample / st.sampling_rate_hz)
        np.testing.assert_array_equal(epochs.get_data(copy=True)[:, 0], st.traces / 1e3)
        meta = epochs.metadata
        assert list(meta["kind"]) == ["sensory"] * 2
        assert list(meta["direction"]) == ["antidromic"] * 2
        assert list(meta["recording_site"]) == ["digit II"] * 2
        assert list(meta["site"]) == ["wrist", "elbow"]
        assert list(meta["distance_mm"]) == [130.0, 230.0]
        assert list(meta["n_sweeps"]) == [0, 0] and list(meta["muscle"]) == ["", ""]
        assert_metadata_plain(epochs)

    def test_snap_amplitude_in_volts_matches_the_noiseless_truth(self):
        # 30 uV baseline-to-negative-peak (noiseless truth) is 30e-6 V in the epochs, to
        # float64 rounding (1e-15 V): the mV -> V conversion is exact to the last bits.
        sim = simulate_snap(140.0, amplitude_uv=30.0, noise_uv_rms=0.0, artifact_mv=0.0, seed=5)
        st = SensoryStudy("sural", "left", [Site("calf", 140.0)], sim.noiseless[None],
                          sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
        data_v = to_mne_epochs(st).get_data(copy=True)[0, 0]
        truth_uv = float(sim.truth.negative_peak_amplitude_uv)
        assert truth_uv == pytest.approx(30.0, abs=1e-9)
        assert -data_v.min() == pytest.approx(-sim.noiseless.min() / 1e3, rel=1e-15)
        # the largest sample vs the truth's interpolated peak: within 2 %
        assert -data_v.min() * 1e6 == pytest.approx(truth_uv, rel=0.02)

    @pytest.mark.parametrize("direction, polarity", [("antidromic", "physical"),
                                                     ("orthodromic", "negative-up")])
    def test_round_trip(self, direction, polarity):
        st = snap_study(direction=direction, polarity=polarity)
        back = from_mne_epochs(to_mne_epochs(st))
        assert isinstance(back, StudyList) and list(back) == [] and back.f_wave_trains == []
        (x,) = back.sensory
        assert_same_sensory(x, st)
        assert x.polarity == "physical" and x.metadata["missing_fields"] == []

    def test_the_samples_float32_traces_round_trip(self):
        st = sensory_study("normal_median_sensory")
        (x,) = from_mne_epochs(to_mne_epochs(st)).sensory
        assert_same_sensory(x, st)
        assert np.array_equal(x.traces.astype(np.float32), st.traces)  # float32 bits back

    def test_sweeps_are_kept_one_epoch_each(self):
        st = snap_study(sweeps=4)
        epochs = to_mne_epochs(st)
        assert len(epochs) == 8
        meta = epochs.metadata
        assert list(meta["stimulus_index"]) == [0, 1, 2, 3] * 2
        assert list(meta["site_index"]) == [0] * 4 + [1] * 4 and set(meta["n_sweeps"]) == {4}
        np.testing.assert_array_equal(epochs.get_data(copy=True)[5, 0], st.traces[1, 1] / 1e3)
        (x,) = from_mne_epochs(epochs[::-1]).sensory  # reordered: sweeps back in order
        assert_same_sensory(x, st)

    def test_one_sweep_stays_a_sweep_axis(self):
        st = snap_study(sweeps=1)
        (x,) = from_mne_epochs(to_mne_epochs(st)).sensory
        assert x.traces.shape == st.traces.shape == (2, 1, st.n_samples)

    def test_dropping_sweeps_evenly_keeps_the_study(self):
        st = snap_study(sweeps=4)
        epochs = to_mne_epochs(st)
        (x,) = from_mne_epochs(epochs[[0, 1, 2, 4, 5, 6]]).sensory
        np.testing.assert_allclose(x.traces, st.traces[:, :3], rtol=1e-12)

    def test_unequal_sweeps_per_site_are_refused(self):
        epochs = to_mne_epochs(snap_study(sweeps=4))
        with pytest.raises(FormatError, match=r"same number of sweeps at every site"):
            from_mne_epochs(epochs[[0, 1, 2, 4, 5, 6, 7]])


class TestFWaveTrains:
    def test_one_epoch_per_stimulus(self):
        st = f_wave_study("normal_ulnar_fwave")
        epochs = to_mne_epochs(st)
        n_stimuli = len(st.f_wave_traces)
        assert len(epochs) == st.n_sites + n_stimuli
        assert epochs.event_id == {"Wrist": 1, "Below Elbow": 2, "f-wave": 3}
        assert len(epochs["f-wave"]) == n_stimuli
        meta = epochs.metadata
        assert list(meta["kind"]) == ["motor"] * st.n_sites + ["f-wave"] * n_stimuli
        fw = meta[meta["kind"] == "f-wave"]
        assert list(fw["stimulus_index"]) == list(range(n_stimuli))
        assert set(fw["nerve"]) == {"ulnar"} and set(fw["side"]) == {"right"}
        assert set(fw["site"]) == {"Wrist"} and fw["stimulus_intensity_ma"].isna().all()
        np.testing.assert_array_equal(epochs.get_data(copy=True)[st.n_sites:, 0],
                                      st.f_wave_traces.astype(float) / 1e3)
        assert_metadata_plain(epochs)

    def test_round_trip(self):
        st = f_wave_study("normal_ulnar_fwave")
        (x,) = from_mne_epochs(to_mne_epochs(st))
        assert (x.nerve, x.side, x.muscle, x.sites) == (st.nerve, st.side, st.muscle, st.sites)
        np.testing.assert_allclose(x.traces, st.traces, rtol=1e-12)
        np.testing.assert_allclose(x.f_wave_traces, st.f_wave_traces, rtol=1e-12)
        assert (x.f_wave_sampling_rate_hz, x.f_wave_stimulus_sample) == (
            st.f_wave_sampling_rate_hz, st.f_wave_stimulus_sample)
        assert x.f_wave_latency_ms is None  # not typed in a sheet: still not

    def test_a_train_stays_as_recorded_when_the_cmaps_are_negative_up(self):
        st = f_wave_study("normal_ulnar_fwave")
        flipped = NerveStudy(st.nerve, st.side, st.muscle, st.sites, -st.traces,
                             st.sampling_rate_hz, stimulus_sample=st.stimulus_sample,
                             polarity="negative-up", f_wave_traces=st.f_wave_traces,
                             f_wave_sampling_rate_hz=st.f_wave_sampling_rate_hz,
                             f_wave_stimulus_sample=st.f_wave_stimulus_sample)
        (x,) = from_mne_epochs(to_mne_epochs(flipped))
        np.testing.assert_allclose(x.traces, st.traces, rtol=1e-12)
        np.testing.assert_allclose(x.f_wave_traces, st.f_wave_traces, rtol=1e-12)

    def test_train_without_its_motor_epochs_is_set_aside(self):
        st = f_wave_study("normal_ulnar_fwave")
        epochs = to_mne_epochs(st)
        with pytest.warns(TraceKindWarning, match="F-wave train of study 0 .right ulnar."):
            back = from_mne_epochs(epochs["f-wave"])
        assert list(back) == [] and back.sensory == []
        (train,) = back.f_wave_trains
        assert (train["nerve"], train["side"], train["stimulus_sample"]) == ("ulnar", "right", 50)
        np.testing.assert_allclose(train["traces"], st.f_wave_traces, rtol=1e-12)

    def test_kinds_motor_leaves_the_train_out(self):
        st = f_wave_study("normal_ulnar_fwave")
        epochs = to_mne_epochs(st, kinds="motor")
        assert len(epochs) == st.n_sites and set(epochs.metadata["kind"]) == {"motor"}
        assert from_mne_epochs(epochs)[0].f_wave_traces is None


class TestMixed:
    def case(self):
        motor = f_wave_study("normal_ulnar_fwave")  # 10 kHz, 500 samples, stimulus at 50
        return Case([motor], sensory=[snap_study(sweeps=3, set_up=MOTOR_SET_UP)])

    def test_round_trip_of_a_case(self):
        case = self.case()
        (motor,), (snap,) = case.studies, case.sensory
        epochs = to_mne_epochs(case)
        assert len(epochs) == 2 + 10 + 6
        assert epochs.event_id == {"Wrist": 1, "Below Elbow": 2, "f-wave": 3,
                                   "sensory/wrist": 4, "sensory/elbow": 5}
        assert list(epochs.metadata["study_index"]) == [0] * 12 + [1] * 6
        assert len(epochs['kind == "sensory" and site == "wrist"']) == 3
        assert_metadata_plain(epochs)
        back = from_mne_epochs(epochs)
        (m,) = back
        np.testing.assert_allclose(m.f_wave_traces, motor.f_wave_traces, rtol=1e-12)
        assert m.sites == motor.sites
        assert_same_sensory(back.sensory[0], snap)

    def test_a_readers_study_list_gives_its_sensory_studies_too(self):
        case = self.case()
        epochs = to_mne_epochs(StudyList(case.studies, sensory=case.sensory))
        assert set(epochs.metadata["kind"]) == {"motor", "f-wave", "sensory"}

    def test_a_list_of_cases_and_studies(self):
        case, snap = self.case(), snap_study(set_up=MOTOR_SET_UP, seed=9)
        epochs = to_mne_epochs([case, snap])
        assert sorted(set(epochs.metadata["study_index"])) == [0, 1, 2]
        back = from_mne_epochs(epochs)
        assert len(back) == 1 and len(back.sensory) == 2
        assert_same_sensory(back.sensory[1], snap)

    def test_shuffled_epochs_come_back_in_study_order(self):
        epochs = to_mne_epochs(self.case())
        order = np.random.default_rng(0).permutation(len(epochs))
        back = from_mne_epochs(epochs[order])
        assert [s.name for s in back[0].sites] == ["Wrist", "Below Elbow"]
        assert_same_sensory(back.sensory[0], self.case().sensory[0])

    def test_set_ups_that_differ_are_named(self):
        motor = f_wave_study("normal_ulnar_fwave")  # 10 kHz, 500 samples
        snap = snap_study()  # 20 kHz, 300 samples, stimulus at 40
        with pytest.raises(EpochsSetupError) as info:
            to_mne_epochs([motor, snap], kinds=["motor", "f-wave", "sensory"])
        text = str(info.value)
        assert "10000 Hz, 500 samples, stimulus at sample 50: study 0 (motor, right ulnar), " \
               "study 0 (F-wave train, right ulnar)" in text
        assert ("20000 Hz, 300 samples, stimulus at sample 40: study 1 (sensory, right median)"
                in text)
        assert "kinds=" in text and snap.study_id not in text and motor.study_id not in text
        assert set(info.value.set_ups) == {(10000.0, 500, 50), (20000.0, 300, 40)}
        assert isinstance(info.value, ValueError)
        assert len(to_mne_epochs([motor, snap], kinds=["sensory"])) == 2

    def test_a_train_longer_than_its_cmaps_is_named(self):
        st = f_wave_study("cidp_median_fwave")  # 62 ms train, 50 ms CMAPs
        with pytest.raises(EpochsSetupError, match=r"620 samples, stimulus at sample 50: "
                                                   r"study 0 \(F-wave train, left median\)"):
            to_mne_epochs(st, kinds=["motor", "f-wave"])
        assert len(to_mne_epochs(st, kinds="f-wave")) == len(st.f_wave_traces)

    def test_by_default_a_kind_of_another_set_up_is_left_out_with_a_warning(self, caplog):
        st = f_wave_study("cidp_median_fwave")  # 62 ms train, 50 ms CMAPs
        with caplog.at_level("WARNING", logger="nerveconduct"):
            epochs = to_mne_epochs(st)
        assert set(epochs.metadata["kind"]) == {"motor"} and len(epochs) == st.n_sites
        assert "F-wave train traces left out" in caplog.text and "kinds='f-wave'" in caplog.text
        motor = f_wave_study("normal_ulnar_fwave")  # 10 kHz, 500 samples, trains of 500 too
        caplog.clear()
        with caplog.at_level("WARNING", logger="nerveconduct"):
            epochs = to_mne_epochs([motor, snap_study()])  # the SNAPs: 20 kHz, 300 samples
        assert set(epochs.metadata["kind"]) == {"motor", "f-wave"}
        assert "sensory traces left out" in caplog.text and "kinds='sensory'" in caplog.text
        only_snaps = to_mne_epochs(snap_study())  # no motor kind: the first kind present sets it
        assert set(only_snaps.metadata["kind"]) == {"sensory"}

    def test_unknown_kind_suggests_the_spelling(self):
        with pytest.raises(ValueError, match=r"did you mean 'f-wave'"):
            to_mne_epochs(snap_study(), kinds="f_wave")
        with pytest.raises(ValueError, match="no traces of the kinds"):
            to_mne_epochs(snap_study(), kinds="motor")
        with pytest.raises(TypeError, match=r"studies\[1\] must be a NerveStudy or SensoryStudy"):
            to_mne_epochs([snap_study(), "median"])


class TestReadingBack:
    def test_epochs_without_kind_read_as_motor(self):
        st = f_wave_study("normal_ulnar_fwave")
        epochs = to_mne_epochs(st, kinds="motor")
        first = ["study_index", "study_id", "nerve", "side", "muscle", "site_index", "site",
                 "distance_mm", "stimulus_intensity_ma", "temperature_c",
                 "low_frequency_filter_hz", "f_wave_latency_ms", "f_waves_studied"]
        epochs.metadata = epochs.metadata[first]  # the columns epochs had before the kinds
        (x,) = from_mne_epochs(epochs)
        assert (x.nerve, x.sites, x.age_years) == (st.nerve, st.sites, None)
        np.testing.assert_allclose(x.traces, st.traces, rtol=1e-12)

    def test_saved_and_read_by_mne(self, tmp_path):
        import mne

        case = TestMixed().case()
        path = tmp_path / "case-epo.fif"
        to_mne_epochs(case).save(path)
        back = from_mne_epochs(mne.read_epochs(path, verbose="error"))
        # FIF stores single precision by default (fmt="single"): float32 of the volts
        np.testing.assert_allclose(back.sensory[0].traces, case.sensory[0].traces, rtol=1e-6,
                                   atol=1e-9)
        np.testing.assert_allclose(back[0].f_wave_traces, case.studies[0].f_wave_traces,
                                   rtol=1e-6, atol=1e-9)
        assert back.sensory[0].sites == case.sensory[0].sites
        assert back[0].temperature_c == case.studies[0].temperature_c  # NaN -> None -> kept

    def test_unknown_kind_is_a_format_error(self):
        epochs = to_mne_epochs(snap_study())
        meta = epochs.metadata.copy()
        meta.loc[1, "kind"] = "emg"
        epochs.metadata = meta
        with pytest.raises(FormatError, match=r"row 1: kind must be one of"):
            from_mne_epochs(epochs)

    def test_motor_and_sensory_epochs_of_one_study_are_refused(self):
        epochs = to_mne_epochs(Case([f_wave_study("normal_ulnar_fwave")],
                                    sensory=[snap_study(set_up=MOTOR_SET_UP)]))
        meta = epochs.metadata.copy()
        meta["study_index"] = 0
        epochs.metadata = meta
        with pytest.raises(FormatError, match="either sensory or motor"):
            from_mne_epochs(epochs)

    def test_one_trace_twice_is_refused(self):
        import mne

        epochs = to_mne_epochs(snap_study())
        twice = mne.concatenate_epochs([epochs, epochs], verbose="error")
        with pytest.raises(FormatError, match="each trace once"):
            from_mne_epochs(twice)

    @pytest.mark.parametrize("polarity", ["physical", "negative-up"])
    def test_stimulation_series_round_trip_with_the_same_plateau_evidence(self, polarity):
        from nerveconduct.analysis import analyze_nerve

        st = f_wave_study("normal_ulnar_fwave")
        sign = -1.0 if polarity == "negative-up" else 1.0
        plateau = StimulationSeries((10.0, 15.0, 20.0),  # +33 % last step, amplitude +2 %
                                    np.stack([st.traces[0] * 0.6, st.traces[0] / 1.02, st.traces[0]]))
        rising = StimulationSeries((20.0, 30.0), np.stack([st.traces[1] * 0.7, st.traces[1]]))
        study = NerveStudy(st.nerve, st.side, st.muscle, st.sites, sign * st.traces,
                           st.sampling_rate_hz, stimulus_sample=st.stimulus_sample,
                           polarity=polarity, stimulation_series={
                               0: StimulationSeries(plateau.intensities_ma, sign * plateau.traces),
                               1: StimulationSeries(rising.intensities_ma, sign * rising.traces)})
        epochs = to_mne_epochs(study, kinds=["motor", "series"])
        meta = epochs.metadata
        steps = meta[meta["kind"] == "series"]
        assert list(steps["stimulus_intensity_ma"]) == [10.0, 15.0, 20.0, 20.0, 30.0]
        assert list(steps["stimulus_index"]) == [0, 1, 2, 0, 1]
        assert set(epochs.event_id) >= {"series/Wrist", "series/Below Elbow"}
        (back,) = from_mne_epochs(epochs)
        assert sorted(back.stimulation_series) == [0, 1]
        for j, want in ((0, plateau), (1, rising)):  # physical polarity, as the sites come back
            assert tuple(back.stimulation_series[j].intensities_ma) == tuple(want.intensities_ma)
            np.testing.assert_allclose(back.stimulation_series[j].traces, want.traces, rtol=1e-12)
        evidence = [s.supramaximal for s in analyze_nerve(study).sites]
        assert evidence[1] == "no plateau"
        assert [s.supramaximal for s in analyze_nerve(back).sites] == evidence

    def test_series_without_their_motor_epochs_are_left_out_with_a_warning(self):
        st = f_wave_study("normal_ulnar_fwave")
        study = NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                           stimulus_sample=st.stimulus_sample, stimulation_series={
                               0: StimulationSeries((10.0, 20.0), np.stack([st.traces[0] / 2,
                                                                            st.traces[0]]))})
        with pytest.warns(TraceKindWarning, match="stimulation series of study 0 left out"):
            back = from_mne_epochs(to_mne_epochs(study, kinds="series"))
        assert len(back) == 0 and not back.sensory
