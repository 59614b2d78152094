"""The archive keeps the three F-wave states (format 1.1, ``nerves/f_wave_absent``):
not studied (None), sought and absent (NaN), measured (a latency); 1.0 files still read."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from nerveconduct.io.archive import FORMAT_VERSION, open_archive, write_archive
from nerveconduct.io.errors import ArchiveError
from nerveconduct.model import NerveStudy, Site

#: f_wave_latency_ms of the studies, cycled: not studied, absent, measured.
STATES = (None, math.nan, 27.5)


def make_study(i: int, f_wave_latency_ms: float | None) -> NerveStudy:
    rng = np.random.default_rng(i)
    return NerveStudy("ulnar", "left", "ADM", [Site("wrist", 70.0), Site("below elbow", 230.0)],
                      rng.standard_normal((2, 60)), 10_000.0, study_id=f"S{i}",
                      f_wave_latency_ms=f_wave_latency_ms)


def studies(n: int, offset: int = 0) -> list[NerveStudy]:
    return [make_study(offset + i, STATES[(offset + i) % 3]) for i in range(n)]


def state(value: float | None) -> str:
    """The F-wave state of a latency, so None, NaN and numbers compare plainly."""
    if value is None:
        return "not studied"
    return "absent" if math.isnan(value) else f"{value:.3f} ms"


def expected_states(n: int, offset: int = 0) -> list[str]:
    return [state(STATES[(offset + i) % 3]) for i in range(n)]


def make_old(path) -> None:
    """Turn a fresh archive into what a format-1.0 writer made (no f_wave_absent, nor the
    columns of later versions)."""
    with h5py.File(path, "r+") as f:
        for name in ("f_wave_absent", "age_years", "height_cm"):
            del f[f"nerves/{name}"]
        f.attrs["format_version"] = "1.0"


def test_version_is_1_3():
    # 1.1 added f_wave_absent, 1.2 age_years and height_cm, 1.3 the f_waves and sensory groups
    assert FORMAT_VERSION == "1.3"


def test_three_states_round_trip(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(6))
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == FORMAT_VERSION
        assert f["nerves/f_wave_absent"].dtype == np.uint8
        assert f["nerves/f_wave_absent"][:].tolist() == [0, 1, 0, 0, 1, 0]
        assert np.isnan(f["nerves/f_wave_latency_ms"][:2]).all()
    with open_archive(path) as archive:
        assert archive.format_version == FORMAT_VERSION
        assert [state(s.f_wave_latency_ms) for s in archive] == expected_states(6)
        assert state(archive.study(4).f_wave_latency_ms) == "absent"
        assert archive.study(3).f_wave_latency_ms is None
        chunk = archive.read_chunk(0, 6)
    absent = chunk.nerves["f_wave_absent"]
    assert absent.dtype == np.bool_ and absent.tolist() == [False, True, False] * 2
    lat = chunk.nerves["f_wave_latency_ms"]
    assert np.isnan(lat[[0, 1, 3, 4]]).all() and lat[[2, 5]].tolist() == [27.5, 27.5]
    assert [state(s.f_wave_latency_ms) for s in chunk.studies()] == expected_states(6)


def test_small_chunks_slice_the_column(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(7))
    with open_archive(path) as archive:
        got = [state(s.f_wave_latency_ms) for c in archive.iter_chunks(2) for s in c.studies()]
        assert archive.read_chunk(4, 6).nerves["f_wave_absent"].tolist() == [True, False]
    assert got == expected_states(7)


def test_append_keeps_states(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(4))
    write_archive(path, studies(5, offset=4), append=True)
    with open_archive(path) as archive:
        assert archive.n_nerves == 9 and archive.format_version == FORMAT_VERSION
        assert [state(s.f_wave_latency_ms) for s in archive] == expected_states(9)


def test_old_archive_reads_nan_as_not_studied(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(6))
    make_old(path)
    with open_archive(path) as archive:
        assert archive.format_version == "1.0"
        assert [s.f_wave_latency_ms for s in archive] == [None, None, 27.5] * 2
        assert archive.read_chunk(0, 6).nerves["f_wave_absent"].tolist() == [False] * 6


def test_append_upgrades_old_archive(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(3), compression="gzip")
    make_old(path)
    write_archive(path, studies(3, offset=3), append=True)
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == FORMAT_VERSION
        assert np.isnan(f["nerves/age_years"][:]).all()  # not given, old and new alike
        column = f["nerves/f_wave_absent"]
        assert column.compression == "gzip" and column.maxshape == (None,)
        assert column[:].tolist() == [0, 0, 0, 0, 1, 0]
    with open_archive(path) as archive:  # old nerves keep their 1.0 meaning, new ones all 3
        got = [state(s.f_wave_latency_ms) for s in archive]
    assert got == ["not studied", "not studied", "27.500 ms"] + expected_states(3, offset=3)


def test_newer_minor_without_column_is_missing(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(3))
    with h5py.File(path, "r+") as f:
        del f["nerves/f_wave_absent"]
    with pytest.raises(ArchiveError, match=r"incomplete archive, missing: nerves/f_wave_absent$"):
        open_archive(path)


def test_wrong_length_column_is_reported(tmp_path):
    path = write_archive(tmp_path / "a.h5", studies(3))
    with h5py.File(path, "r+") as f:
        f["nerves/f_wave_absent"].resize((2,))
    with pytest.raises(ArchiveError, match=r"nerves/f_wave_absent has 2 rows"):
        open_archive(path)


@pytest.mark.parametrize("nerve, value, match", [
    (1, 2, r"nerve 1.*f_wave_absent=2 \(allowed: 0 = measured or not studied, 1 = sought"),
    (2, 1, (r"nerve 2.*f_wave_absent=1 \(F-waves absent\) but f_wave_latency_ms=27.5 "
            r"\(must be NaN")),
])
def test_invalid_value_is_named_error(tmp_path, nerve, value, match):
    path = write_archive(tmp_path / "a.h5", studies(3))
    with h5py.File(path, "r+") as f:
        f["nerves/f_wave_absent"][nerve] = value
    with open_archive(path) as archive:
        assert archive.study(0).f_wave_latency_ms is None  # other chunks still read
        with pytest.raises(ArchiveError, match=match):
            list(archive)
        with pytest.raises(ArchiveError, match=match):
            archive.read_chunk(0, 3)


@pytest.mark.parametrize("version", ["1.x", "1.", "one"])
def test_unparsable_version_is_refused(tmp_path, version):
    path = write_archive(tmp_path / "a.h5", studies(1))
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = version
    with pytest.raises(ArchiveError, match=f"unsupported format_version '{version}'"):
        open_archive(path)
