"""Archive format 1.3: sensory studies and F-wave trains round-trip bit-identically; files of
1.0-1.2 still read; a motor-only archive is laid out as before; damaged groups are named."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.io import _archive_layout as L
from nerveconduct.io.archive import FORMAT_VERSION, open_archive, write_archive
from nerveconduct.io.errors import ArchiveError
from nerveconduct.model import Case, InvalidStudyError, NerveStudy, SensoryStudy, Site
from nerveconduct.simulate.fwave import simulate_f_waves
from nerveconduct.simulate.sensory import simulate_snap


def motor(seed: int, *, train: bool = True, dtype: str = "float64", n_stimuli: int = 20,
          study_id: str = "CASE-1") -> NerveStudy:
    st = nc.simulate_nerve((70.0, 230.0), site_names=("Wrist", "Elbow"), nerve="ulnar",
                           side="left", muscle="ADM", sampling_rate_hz=10_000.0,
                           seed=seed).to_studies()[0]
    fw = simulate_f_waves(n_stimuli=n_stimuli, seed=seed, dtype=dtype) if train else None
    return NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces.astype(dtype),
                      st.sampling_rate_hz, stimulus_sample=st.stimulus_sample, study_id=study_id,
                      f_wave_latency_ms=27.0 if seed % 2 else None,
                      f_wave_traces=None if fw is None else fw.traces,
                      f_wave_sampling_rate_hz=None if fw is None else fw.sampling_rate_hz,
                      f_wave_stimulus_sample=0 if fw is None else fw.stimulus_sample)


def sensory(seed: int, *, sweeps: int | None = None, n_sites: int = 2,
            dtype: str = "float64", **kw) -> SensoryStudy:
    snap = simulate_snap(140.0, n_snaps=n_sites * (sweeps or 1), seed=seed, dtype=dtype)
    traces = (snap.traces.reshape(n_sites, sweeps, -1) if sweeps else
              snap.traces.reshape(n_sites, -1))
    args = dict(stimulus_sample=snap.stimulus_sample, recording_site="digit II",
                direction="orthodromic" if sweeps else "antidromic", study_id="CASE-1",
                temperature_c=32.5, metadata={"study_date": "2025-09-30"}, age_years=61.0)
    args.update(kw)
    side = args.pop("side", "right")
    return SensoryStudy("median", side, [Site("wrist", 140.0, 12.5), Site("elbow", 230.0)][:n_sites],
                        traces, snap.sampling_rate_hz, **args)


def assert_same_sensory(a: SensoryStudy, b: SensoryStudy) -> None:
    assert b.traces.shape == a.traces.shape and b.traces.dtype == a.traces.dtype
    assert np.array_equal(a.traces, b.traces)  # bit-identical (same dtype as the archive)
    for name in ("nerve", "side", "direction", "recording_site", "sampling_rate_hz",
                 "stimulus_sample", "polarity", "temperature_c", "low_frequency_filter_hz",
                 "study_id", "age_years", "height_cm", "metadata"):
        assert getattr(b, name) == getattr(a, name), name
    assert b.sites == a.sites


def assert_same_train(a: NerveStudy, b: NerveStudy) -> None:
    if a.f_wave_traces is None:
        assert b.f_wave_traces is None
        return
    assert np.array_equal(a.f_wave_traces, b.f_wave_traces)
    assert b.f_wave_traces.dtype == a.f_wave_traces.dtype
    assert (b.f_wave_sampling_rate_hz, b.f_wave_stimulus_sample) == (
        a.f_wave_sampling_rate_hz, a.f_wave_stimulus_sample)


def test_version_and_layout():
    assert FORMAT_VERSION == "1.3" and L.EXTRAS_VERSION == (1, 3)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_is_bit_identical(tmp_path, dtype):
    motors = [motor(1, dtype=dtype), motor(2, train=False, dtype=dtype),
              motor(3, dtype=dtype, n_stimuli=7)]
    senses = [sensory(4, dtype=dtype), sensory(5, sweeps=3, n_sites=1, dtype=dtype,
                                               recording_site=None, study_id=None, side=None)]
    path = write_archive(tmp_path / "a.h5", [Case(motors[:2], sensory=senses[:1]),
                                             motors[2], senses[1]], dtype=dtype)
    with open_archive(path) as archive:
        assert (archive.n_nerves, archive.n_sensory, archive.n_f_wave_trains) == (3, 2, 2)
        back = list(archive)
        back_sensory = list(archive.sensory_studies())
        assert archive.sensory_study(-1).traces.shape == (1, 3, senses[1].traces.shape[-1])
        chunk = archive.read_chunk(1, 3)
    for a, b in zip(motors, back, strict=True):
        assert np.array_equal(a.traces, b.traces)
        assert_same_train(a, b)
    for a, b in zip(senses, back_sensory, strict=True):
        assert_same_sensory(a, b)
    assert chunk.f_waves["nerve_index"].tolist() == [2]  # nerve 1 has no train
    assert [s.f_wave_traces is None for s in chunk.studies()] == [True, False]
    assert chunk.valid_nerves().tolist() == [True, True]


def test_plain_h5py_reads_the_groups(tmp_path):
    m, s = motor(1), sensory(2, sweeps=2)
    path = write_archive(tmp_path / "a.h5", [m, s], dtype="float64")
    with h5py.File(path, "r") as f:
        t = f["f_waves/trains"]
        r0, n, width = int(t["row_start"][0]), int(t["n_stimuli"][0]), int(t["n_samples"][0])
        assert int(t["nerve_index"][0]) == 0
        assert np.array_equal(f["f_waves/traces"][r0:r0 + n, :width], m.f_wave_traces)
        st = f["sensory/studies"]
        assert st["direction"].asstr()[0] == "orthodromic" and int(st["n_sweeps"][0]) == 2
        rows = int(st["n_sites"][0]) * int(st["n_sweeps"][0])
        flat = f["sensory/traces"][:rows, :int(st["n_samples"][0])]
        assert np.array_equal(flat.reshape(s.traces.shape), s.traces)
        assert f["sensory/sites/distance_mm"][:].tolist() == [140.0, 230.0]


def test_motor_only_archive_has_no_new_groups(tmp_path):
    path = write_archive(tmp_path / "a.h5", [motor(1, train=False)])
    with h5py.File(path, "r") as f:
        assert sorted(f.keys()) == ["nerves", "sites", "traces"]
        assert f.attrs["format_version"] == "1.3"
    with open_archive(path) as archive:
        assert (archive.n_sensory, archive.n_f_wave_trains) == (0, 0)
        assert list(archive.sensory_studies()) == []
        assert archive.read_chunk(0, 1).f_waves is None


@pytest.mark.parametrize("old", ["1.0", "1.2"])
def test_older_archives_still_read(tmp_path, old):
    path = write_archive(tmp_path / "a.h5", [motor(1, train=False), motor(2, train=False)])
    with h5py.File(path, "r+") as f:
        if old == "1.0":
            for name in ("f_wave_absent", "age_years", "height_cm"):
                del f[f"nerves/{name}"]
        f.attrs["format_version"] = old
    with open_archive(path) as archive:
        assert archive.format_version == old and archive.n_sensory == 0
        assert [s.f_wave_traces for s in archive] == [None, None]


def test_a_group_in_an_older_version_is_ignored(tmp_path):
    path = write_archive(tmp_path / "a.h5", [motor(1), sensory(2)])
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = "1.2"  # a 1.2 reader does not know the groups
    with open_archive(path) as archive:
        assert (archive.n_sensory, archive.n_f_wave_trains) == (0, 0)
        assert archive.study(0).f_wave_traces is None


def test_append_adds_trains_and_sensory_after_the_existing(tmp_path):
    path = write_archive(tmp_path / "a.h5", [motor(1, train=False), sensory(2)])
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = "1.2"
        del f["sensory"]  # what a 1.2 writer made
    write_archive(path, [motor(3), sensory(4, sweeps=2)], append=True)
    with open_archive(path) as archive:
        assert archive.format_version == FORMAT_VERSION
        assert [s.f_wave_traces is not None for s in archive] == [False, True]
        assert archive.read_chunk(1, 2).f_waves["nerve_index"].tolist() == [1]
        assert [s.n_sweeps for s in archive.sensory_studies()] == [2]


def test_identifiers_dropped_from_sensory_metadata(tmp_path):
    s = sensory(1, metadata={"patient_name": "FAKE^NOT-A-PATIENT", "sweep_ms": 15.0})
    path = write_archive(tmp_path / "a.h5", [s])
    with open_archive(path) as archive:
        assert archive.sensory_study(0).metadata == {"sweep_ms": 15.0}
    assert b"FAKE^NOT" not in path.read_bytes()


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"studies\[1\] must be a NerveStudy, got dict"):
        write_archive(tmp_path / "a.h5", [sensory(1), {}])
    with pytest.raises(TypeError, match=r"studies\[0\]\.sensory\[0\] \(of a Case\) must be a "
                                        r"SensoryStudy, got NerveStudy"):
        write_archive(tmp_path / "a.h5", [Case([], sensory=[motor(1)])])
    broken = sensory(2)
    broken.direction = "sideways"  # attributes are mutable: re-checked on write
    with pytest.raises(InvalidStudyError, match=r"studies\[0\]: direction must be one of"):
        write_archive(tmp_path / "a.h5", [broken])
    assert not (tmp_path / "a.h5").exists()


def _damaged(tmp_path, edit, name: str = "a.h5") -> object:
    path = write_archive(tmp_path / name, [motor(1), motor(2), sensory(3)])
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda f: f["f_waves/trains/nerve_index"].__setitem__(1, 0),
     r"f_waves/trains: .*row 1 of f_waves/trains .*not a later nerve"),
    (lambda f: f["f_waves/trains/n_stimuli"].__setitem__(0, 3),
     r"does not follow the rows before it|covers .* rows"),
    (lambda f: f.__delitem__("sensory/sites/name"),
     r"incomplete archive, missing: sensory/sites/name"),
    (lambda f: f["sensory/studies/n_samples"].__setitem__(0, 10 ** 6),
     r"sensory/studies"),
])
def test_damaged_groups_are_refused_on_open(tmp_path, edit, message):
    with pytest.raises(ArchiveError, match=message):
        open_archive(_damaged(tmp_path, edit))


def test_bad_stored_values_are_named_when_read(tmp_path):
    path = _damaged(tmp_path, lambda f: f["sensory/studies/direction"].__setitem__(0, "up"))
    with open_archive(path) as archive, pytest.raises(ArchiveError,
                                                      match=r"sensory study 0: .*direction"):
        archive.sensory_study(0)
    path = _damaged(tmp_path, lambda f: f["f_waves/trains/stimulus_sample"].__setitem__(0, 10 ** 6),
                    "b.h5")
    with open_archive(path) as archive:
        chunk = archive.read_chunk(0, 2)
        assert chunk.valid_nerves().tolist() == [False, True]
        with pytest.raises(ArchiveError, match=r"nerve 0: stored F-wave train"):
            chunk.studies()


def test_infinite_values_in_the_groups_are_refused(tmp_path):
    path = _damaged(tmp_path, lambda f: f["f_waves/traces"].__setitem__((0, 3), np.inf))
    with open_archive(path) as archive, pytest.raises(ArchiveError, match=r"f_waves/traces.*inf"):
        archive.read_chunk(0, 1)
    path = _damaged(tmp_path, lambda f: f["sensory/traces"].__setitem__((1, 3), -np.inf), "b.h5")
    with open_archive(path) as archive, pytest.raises(ArchiveError, match=r"sensory/traces.*inf"):
        archive.sensory_study(0)
