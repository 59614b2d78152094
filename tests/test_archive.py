"""The packed HDF5 archive (issue 5): round trips, chunked streaming, appends, atomic writes,
named errors for foreign/damaged files, and bounded memory on 10^5 traces."""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import subprocess
import sys
import tracemalloc
from concurrent.futures import ProcessPoolExecutor

import h5py
import numpy as np
import pytest

from nerveconduct.io import _archive_write
from nerveconduct.io.archive import FORMAT_VERSION, Archive, TraceChunk, open_archive, write_archive
from nerveconduct.io.errors import ArchiveError
from nerveconduct.model import InvalidStudyError, NerveStudy, Site
from nerveconduct.simulate.nerve import simulate_nerve

SITE_NAMES = ("wrist", "below elbow", "above elbow", "axilla", "Erb's point")


def make_study(i: int, *, n_sites: int = 2, n_samples: int = 100, **kw) -> NerveStudy:
    """Deterministic synthetic study; every field differs between studies."""
    rng = np.random.default_rng(i)
    sites = [Site(SITE_NAMES[k], 70.0 + 10 * k + i, 20.0 + k) for k in range(n_sites)]
    fields = {"stimulus_sample": min(5, n_samples - 1), "polarity": "physical",
              "temperature_c": 32.0 + i / 10, "low_frequency_filter_hz": 10.0,
              "study_id": f"S{i:04d}", "f_wave_latency_ms": 28.5,
              "metadata": {"index": i, "sweep_ms": 50.0}}
    fields.update(kw)
    return NerveStudy("ulnar", "left", "ADM", sites, rng.standard_normal((n_sites, n_samples)),
                      10_000.0 + i, **fields)


def assert_same_study(got: NerveStudy, want: NerveStudy, *, dtype=np.float32) -> None:
    for name in ("nerve", "side", "muscle", "sites", "sampling_rate_hz", "stimulus_sample",
                 "polarity", "temperature_c", "low_frequency_filter_hz", "study_id",
                 "f_wave_latency_ms", "metadata"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.traces.dtype == dtype
    np.testing.assert_array_equal(got.traces, np.asarray(want.traces).astype(dtype))


@pytest.fixture(scope="module")
def simulated() -> list[NerveStudy]:
    return simulate_nerve(distances_mm=(70, 200), n_nerves=12, seed=0).to_studies()


@pytest.fixture
def varied() -> list[NerveStudy]:
    """Nerves with 1-5 sites and 40-130 samples."""
    return [make_study(i, n_sites=1 + i % 5, n_samples=40 + 13 * (i % 7)) for i in range(23)]


class TestRoundTrip:
    def test_simulated_float32(self, tmp_path, simulated):
        path = write_archive(tmp_path / "a.h5", simulated)
        assert path == tmp_path / "a.h5"
        with open_archive(path) as archive:
            assert isinstance(archive, Archive) and not archive.closed
            assert (archive.n_nerves, archive.n_traces, len(archive)) == (12, 24, 12)
            assert archive.format_version == FORMAT_VERSION
            got = list(archive)
        assert len(got) == len(simulated)
        for g, w in zip(got, simulated):
            assert_same_study(g, w)

    def test_float64_is_exact(self, tmp_path, simulated):
        path = write_archive(tmp_path / "a.h5", simulated, dtype="float64")
        with open_archive(path) as archive:
            assert archive.dtype == np.float64
            for i, want in enumerate(simulated):
                assert_same_study(archive.study(i), want, dtype=np.float64)

    def test_none_stays_none_and_values_stay_values(self, tmp_path):
        bare = NerveStudy("sural-ish", None, None, [Site("a", None), Site("b", 12.5, None)],
                          np.ones((2, 10)), 5000.0)
        full = make_study(3, polarity="negative-up")
        path = write_archive(tmp_path / "a.h5", [bare, full])
        with open_archive(path) as archive:
            got_bare, got_full = archive.studies()
        assert got_bare.side is None and got_bare.muscle is None and got_bare.study_id is None
        assert got_bare.temperature_c is None and got_bare.low_frequency_filter_hz is None
        assert got_bare.f_wave_latency_ms is None and got_bare.metadata == {}
        assert got_bare.sites == (Site("a", None), Site("b", 12.5, None))
        assert_same_study(got_bare, bare)
        assert_same_study(got_full, full)
        assert got_full.polarity == "negative-up"

    def test_empty_strings_are_not_none(self, tmp_path):
        study = make_study(0, study_id="")
        study.side = ""
        with open_archive(write_archive(tmp_path / "a.h5", [study])) as archive:
            got = archive.study(0)
        assert got.side == "" and got.study_id == ""

    def test_unicode_names(self, tmp_path):
        study = NerveStudy("médian", "droite", "APB – court", [Site("poignet ✓", 65.0)],
                           np.zeros((1, 8)), 20_000.0)
        with open_archive(write_archive(tmp_path / "a.h5", [study])) as archive:
            assert_same_study(archive.study(0), study)

    def test_mixed_lengths_are_nan_padded(self, tmp_path, varied):
        path = write_archive(tmp_path / "a.h5", varied)
        with h5py.File(path, "r") as f:
            traces = f["traces"][()]
            n_samples = f["sites/n_samples"][()]
        rows = np.concatenate([np.pad(s.traces, ((0, 0), (0, 118 - s.traces.shape[1])),
                                      constant_values=np.nan) for s in varied])
        assert traces.shape == (sum(s.n_sites for s in varied), 118)
        assert n_samples.tolist() == [s.traces.shape[1] for s in varied for _ in s.sites]
        np.testing.assert_array_equal(traces, rows.astype(np.float32))  # NaN == NaN here
        with open_archive(path) as archive:
            for g, w in zip(archive, varied):
                assert_same_study(g, w)

    def test_widening_between_blocks_pads_earlier_rows(self, tmp_path, monkeypatch):
        monkeypatch.setattr(_archive_write, "_BLOCK_STUDIES", 2)  # one block per 2 studies
        studies = [make_study(i, n_samples=n) for i, n in enumerate((30, 30, 50, 50, 90))]
        path = write_archive(tmp_path / "a.h5", studies, chunk_rows=3)
        with h5py.File(path, "r") as f:
            traces = f["traces"][()]
        assert traces.shape == (10, 90)
        assert np.isnan(traces[:4, 30:]).all() and np.isnan(traces[4:8, 50:]).all()
        assert not np.isnan(traces[8:]).any()
        with open_archive(path) as archive:
            for g, w in zip(archive, studies):
                assert_same_study(g, w)

    def test_metadata_json_values(self, tmp_path):
        meta = {"nested": {"list": [1, 2.5, None, "x"], "flag": True}, "np": np.float32(1.5),
                "npint": np.int64(7), "tuple": (1, 2), "when": datetime.date(2025, 9, 30),
                "nan": float("nan")}
        study = make_study(0, metadata=meta)
        with open_archive(write_archive(tmp_path / "a.h5", [study])) as archive:
            got = archive.study(0).metadata
        assert got["nested"] == meta["nested"] and got["np"] == 1.5 and got["npint"] == 7
        assert got["tuple"] == [1, 2] and got["when"] == "2025-09-30"
        assert np.isnan(got["nan"])

    def test_identifiers_dropped_by_default(self, tmp_path):
        meta = {"patient_name": "Fake^Patient", "PatientID": "FAKE-1", "dob": "1970-01-01",
                "notes": {"Name": "x", "sweep_ms": 50}, "source_traces": [0, 1]}
        study = make_study(0, metadata=meta)
        path = write_archive(tmp_path / "a.h5", [study])
        with open_archive(path) as archive:
            assert archive.study(0).metadata == {"notes": {"sweep_ms": 50},
                                                 "source_traces": [0, 1]}
        assert b"Fake^Patient" not in path.read_bytes() and b"FAKE-1" not in path.read_bytes()
        kept = write_archive(tmp_path / "b.h5", [study], keep_identifiers=True)
        with open_archive(kept) as archive:
            assert archive.study(0).metadata["patient_name"] == "Fake^Patient"

    def test_unstorable_metadata_is_refused(self, tmp_path):
        study = make_study(0, metadata={"ok": 1, "bad": {"x": {1, 2}}})
        with pytest.raises(ArchiveError, match=r"metadata\['bad'\]\['x'\].*set"):
            write_archive(tmp_path / "a.h5", [study])
        assert os.listdir(tmp_path) == []

    @pytest.mark.parametrize("compression", ["gzip", "lzf"])
    def test_compressed(self, tmp_path, simulated, compression):
        path = write_archive(tmp_path / "a.h5", simulated, compression=compression)
        with open_archive(path) as archive:
            assert archive.compression == compression
            for g, w in zip(archive, simulated):
                assert_same_study(g, w)
        with h5py.File(path, "r") as f:
            assert f["sites/distance_mm"].compression == compression

    def test_generator_is_streamed(self, tmp_path, monkeypatch):
        monkeypatch.setattr(_archive_write, "_BLOCK_STUDIES", 4)
        consumed = []

        def gen():
            for i in range(10):
                consumed.append(i)
                yield make_study(i)

        path = write_archive(tmp_path / "a.h5", gen())
        assert consumed == list(range(10))
        with open_archive(path) as archive:
            assert [s.study_id for s in archive] == [f"S{i:04d}" for i in range(10)]

    def test_empty_archive_then_append(self, tmp_path):
        path = write_archive(tmp_path / "a.h5", [])
        with open_archive(path) as archive:
            assert (archive.n_nerves, archive.n_traces, list(archive)) == (0, 0, [])
            assert archive.plan_chunks(10) == []
        write_archive(path, [make_study(0), make_study(1, n_samples=70)], append=True)
        with open_archive(path) as archive:
            assert archive.n_traces == 4 and archive.n_samples_max == 100
            assert_same_study(archive.study(1), make_study(1, n_samples=70))

    def test_plain_h5py_layout(self, tmp_path, varied):
        path = write_archive(tmp_path / "a.h5", varied, chunk_rows=7)
        with h5py.File(path, "r") as f:
            assert f.attrs["format"] == "nerveconduct-archive"
            assert f.attrs["format_version"] == FORMAT_VERSION
            assert f.attrs["creator"].startswith("nerveconduct ")
            datetime.datetime.fromisoformat(f.attrs["created"])
            assert (f.attrs["n_nerves"], f.attrs["n_traces"]) == (23, 66)
            assert f["traces"].chunks[0] == 7 and f["traces"].dtype == np.float32
            i = 9  # nerve 9: rows [row_start, row_start + n_sites) of every per-row dataset
            r0, n = int(f["nerves/row_start"][i]), int(f["nerves/n_sites"][i])
            assert n == varied[i].n_sites
            assert f["sites/nerve_index"][r0:r0 + n].tolist() == [i] * n
            assert f["sites/site_position"][r0:r0 + n].tolist() == list(range(n))
            assert [s.decode() for s in f["sites/name"][r0:r0 + n]] == \
                [s.name for s in varied[i].sites]
            np.testing.assert_array_equal(f["sites/distance_mm"][r0:r0 + n],
                                          [s.distance_mm for s in varied[i].sites])
            ns = int(f["sites/n_samples"][r0])
            np.testing.assert_array_equal(f["traces"][r0:r0 + n, :ns],
                                          varied[i].traces.astype(np.float32))
            assert f["nerves/study_id"][i].decode() == "S0009"
            assert json.loads(f["nerves/metadata_json"][i]) == {"index": 9, "sweep_ms": 50.0}
            assert f["nerves/has_side"][i] == 1


class TestChunks:
    def test_chunks_align_to_whole_nerves(self, tmp_path, varied):
        path = write_archive(tmp_path / "a.h5", varied)
        with open_archive(path) as archive:
            ranges = archive.nerve_row_ranges()
            chunks = list(archive.iter_chunks(7))
            studies = [archive.study(i) for i in range(len(varied))]
        assert ranges.shape == (23, 2) and ranges[0, 0] == 0 and ranges[-1, 1] == 66
        assert (ranges[:, 1] - ranges[:, 0]).tolist() == [s.n_sites for s in varied]
        row, nerve = 0, 0
        for chunk in chunks:
            assert isinstance(chunk, TraceChunk)
            assert chunk.row_start == row and chunk.n_rows == chunk.traces.shape[0]
            assert chunk.n_rows <= 7 or chunk.n_nerves == 1
            idx = chunk.nerves["nerve_index"]
            assert idx.tolist() == list(range(nerve, nerve + len(idx)))
            assert chunk.nerves["row_start"][0] == row
            assert int(chunk.nerves["n_sites"].sum()) == chunk.n_rows
            assert chunk.nerve_index.tolist() == np.repeat(idx, chunk.nerves["n_sites"]).tolist()
            assert chunk.site_position.tolist() == \
                [p for n in chunk.nerves["n_sites"] for p in range(n)]
            assert chunk.sites["name"].tolist() == \
                [s.name for i in idx for s in varied[i].sites]
            for got, want in zip(chunk.studies(), varied[nerve:nerve + len(idx)]):
                assert_same_study(got, want)
            row, nerve = chunk.row_stop, nerve + len(idx)
        assert (row, nerve) == (66, 23)
        # a nerve's traces in a chunk are the rows given by nerve_row_ranges
        chunk = chunks[1]
        j = int(chunk.nerves["nerve_index"][0])
        a, b = ranges[j] - chunk.row_start
        np.testing.assert_array_equal(chunk.traces[a:b, :chunk.n_samples[a]], studies[j].traces)

    def test_chunk_nerve_columns(self, tmp_path):
        studies = [make_study(0), make_study(1, temperature_c=None)]
        studies[1].side = None
        with open_archive(write_archive(tmp_path / "a.h5", studies)) as archive:
            (chunk,) = archive.iter_chunks()
        nv = chunk.nerves
        assert nv["side"].tolist() == ["left", None] and nv["study_id"].tolist() == ["S0000", "S0001"]
        assert nv["sampling_rate_hz"].tolist() == [10_000.0, 10_001.0]
        assert nv["temperature_c"][0] == 32.0 and np.isnan(nv["temperature_c"][1])
        assert nv["stimulus_sample"].tolist() == [5, 5] and nv["polarity"].tolist() == ["physical"] * 2
        assert nv["low_frequency_filter_hz"].tolist() == [10.0, 10.0]
        assert nv["row_start"].tolist() == [0, 2] and nv["n_sites"].tolist() == [2, 2]
        assert chunk.sites["distance_mm"].tolist() == [70.0, 80.0, 71.0, 81.0]
        assert chunk.sites["stimulus_intensity_ma"].tolist() == [20.0, 21.0, 20.0, 21.0]
        assert chunk.n_samples.tolist() == [100] * 4
        assert np.isnan(chunk.traces).sum() == 0

    def test_nerve_larger_than_chunk_rows_is_one_chunk(self, tmp_path, varied):
        with open_archive(write_archive(tmp_path / "a.h5", varied)) as archive:
            plan = archive.plan_chunks(1)
        assert plan == [(i, i + 1) for i in range(23)]

    def test_plan_chunks_tiles_a_range(self, tmp_path, varied):
        with open_archive(write_archive(tmp_path / "a.h5", varied)) as archive:
            plan = archive.plan_chunks(10, start_nerve=3, stop_nerve=17)
            sizes = archive.nerve_row_ranges() @ [-1, 1]
            chunks = list(archive.iter_chunks(10, start_nerve=3, stop_nerve=17))
        assert plan[0][0] == 3 and plan[-1][1] == 17
        assert all(a < b and b == c for (a, b), (c, _) in zip(plan, plan[1:] + [(17, 0)]))
        for a, b in plan:
            assert sizes[a:b].sum() <= 10
            assert b == 17 or sizes[a:b + 1].sum() > 10  # greedy: the next nerve would not fit
        assert [(int(c.nerves["nerve_index"][0]), int(c.nerves["nerve_index"][-1]) + 1)
                for c in chunks] == plan

    def test_workers_read_their_own_part(self, tmp_path, varied):
        path = write_archive(tmp_path / "a.h5", varied)
        with open_archive(path) as archive:
            plan = archive.plan_chunks(12)
        # fork is fast (no re-import); spawn where fork does not exist
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            parts = list(pool.map(_worker_study_ids, [(str(path), a, b) for a, b in plan]))
        assert [sid for part in parts for sid in part] == [s.study_id for s in varied]

    def test_bad_arguments(self, tmp_path, varied):
        with open_archive(write_archive(tmp_path / "a.h5", varied)) as archive:
            with pytest.raises(ValueError, match=r"chunk_rows must be an integer >= 1 rows, got 0"):
                archive.plan_chunks(0)
            with pytest.raises(ValueError, match="start_nerve=5, stop_nerve=2"):
                list(archive.iter_chunks(10, start_nerve=5, stop_nerve=2))
            with pytest.raises(ValueError, match="n_nerves \\(23\\).*stop_nerve=24"):
                archive.read_chunk(0, 24)
            with pytest.raises(ValueError, match="empty nerve range"):
                archive.read_chunk(4, 4)
            with pytest.raises(IndexError, match="study index 23 out of range for 23"):
                archive.study(23)
            with pytest.raises(TypeError, match="integer"):
                archive.study(1.0)
            assert archive.study(-1).study_id == "S0022"
        assert archive.closed
        with pytest.raises(ArchiveError, match="closed"):
            archive.study(0)


def _worker_study_ids(job):
    path, a, b = job
    with open_archive(path) as archive:
        return [s.study_id for s in archive.read_chunk(a, b).studies()]


class TestWriteSafety:
    def test_refuses_to_overwrite(self, tmp_path):
        path = write_archive(tmp_path / "a.h5", [make_study(0)])
        before = path.read_bytes()
        with pytest.raises(ArchiveError, match="file exists; pass overwrite=True") as err:
            write_archive(path, [make_study(1)])
        assert err.value.path == str(path)
        assert path.read_bytes() == before
        write_archive(path, [make_study(1), make_study(2)], overwrite=True)
        with open_archive(path) as archive:
            assert [s.study_id for s in archive] == ["S0001", "S0002"]

    def test_failure_mid_stream_leaves_original_untouched(self, tmp_path, monkeypatch):
        monkeypatch.setattr(_archive_write, "_BLOCK_STUDIES", 2)
        path = write_archive(tmp_path / "a.h5", [make_study(0)])
        before = path.read_bytes()

        def gen():
            for i in range(5):
                yield make_study(i)
            raise RuntimeError("source went away")

        for kwargs in ({"overwrite": True}, {"append": True}):
            with pytest.raises(RuntimeError, match="source went away"):
                write_archive(path, gen(), **kwargs)
            assert path.read_bytes() == before
            assert os.listdir(tmp_path) == ["a.h5"]  # the temporary file is gone

    def test_append(self, tmp_path):
        path = write_archive(tmp_path / "a.h5", [make_study(i) for i in range(3)],
                             compression="lzf", chunk_rows=4)
        with h5py.File(path, "r") as f:
            created = f.attrs["created"]
        write_archive(path, (make_study(i, n_sites=3, n_samples=150) for i in range(3, 5)),
                      append=True)
        with open_archive(path) as archive:
            assert (archive.n_nerves, archive.n_traces, archive.n_samples_max) == (5, 12, 150)
            assert archive.compression == "lzf"  # the existing layout is kept
            assert archive.created == created
            assert archive.nerve_row_ranges().tolist() == [[0, 2], [2, 4], [4, 6], [6, 9], [9, 12]]
            got = list(archive)
        for i in range(3):
            assert_same_study(got[i], make_study(i))
        for i in range(3, 5):
            assert_same_study(got[i], make_study(i, n_sites=3, n_samples=150))
        with h5py.File(path, "r") as f:
            assert np.isnan(f["traces"][:6, 100:]).all()
            assert f["sites/nerve_index"][()].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4]

    def test_append_creates_missing_file(self, tmp_path):
        path = write_archive(tmp_path / "new.h5", [make_study(0)], append=True)
        with open_archive(path) as archive:
            assert archive.n_nerves == 1

    def test_append_to_foreign_file_is_refused(self, tmp_path):
        path = tmp_path / "foreign.h5"
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(3)
        before = path.read_bytes()
        with pytest.raises(ArchiveError, match="root attribute 'format' is missing"):
            write_archive(path, [make_study(0)], append=True)
        assert path.read_bytes() == before and os.listdir(tmp_path) == ["foreign.h5"]

    @pytest.mark.parametrize("kwargs, match", [
        ({"compression": "zstd"}, r"compression must be one of \[None, 'gzip', 'lzf'\], got 'zstd'"),
        ({"dtype": "int16"}, r"dtype must be one of \['float32', 'float64'\], got 'int16'"),
        ({"chunk_rows": 0}, r"chunk_rows must be None or an integer >= 1, got 0"),
        ({"chunk_rows": 2.5}, r"chunk_rows must be None or an integer >= 1, got 2.5"),
        ({"chunk_rows": True}, r"chunk_rows must be None or an integer >= 1, got True"),
        ({"overwrite": True, "append": True}, "exclude each other"),
    ])
    def test_bad_options(self, tmp_path, kwargs, match):
        with pytest.raises(ValueError, match=match):
            write_archive(tmp_path / "a.h5", [make_study(0)], **kwargs)
        assert os.listdir(tmp_path) == []

    def test_not_studies(self, tmp_path):
        with pytest.raises(TypeError, match=r"studies\[1\] must be a NerveStudy, got dict"):
            write_archive(tmp_path / "a.h5", [make_study(0), {"nerve": "x"}])
        with pytest.raises(TypeError, match="single NerveStudy"):
            write_archive(tmp_path / "a.h5", make_study(0))
        assert os.listdir(tmp_path) == []

    def test_mutated_study_is_refused(self, tmp_path):
        study = make_study(0)
        study.traces = np.zeros((3, 10))  # 2 sites, 3 traces
        with pytest.raises(InvalidStudyError, match=r"studies\[0\]: 2 sites but 3 traces"):  # the one rule
            write_archive(tmp_path / "a.h5", [study])
        study = make_study(0)
        study.polarity, study.side = "up", 3
        with pytest.raises(InvalidStudyError, match=r"side must be a str or None, got 3.*"
                           r"polarity must be one of .* got 'up'"):
            write_archive(tmp_path / "a.h5", [make_study(1), study])
        assert os.listdir(tmp_path) == []

    def test_missing_directory(self, tmp_path):
        with pytest.raises(ArchiveError, match="does not exist"):
            write_archive(tmp_path / "nope" / "a.h5", [make_study(0)])


class TestOpenErrors:
    @pytest.fixture
    def archive_path(self, tmp_path):
        return write_archive(tmp_path / "a.h5", [make_study(i) for i in range(20)])

    def test_missing_file(self, tmp_path):
        with pytest.raises(ArchiveError, match="no such file"):
            open_archive(tmp_path / "none.h5")

    @pytest.mark.parametrize("content", [b"", b"nerve,site\nmedian,wrist\n", b"\x89HDF\r\n"])
    def test_not_hdf5(self, tmp_path, content):
        path = tmp_path / "x.h5"
        path.write_bytes(content)
        with pytest.raises(ArchiveError, match="not an HDF5 file"):
            open_archive(path)

    @pytest.mark.parametrize("keep", [0.5, -10, 600])
    def test_truncated(self, archive_path, keep):
        data = archive_path.read_bytes()
        archive_path.write_bytes(data[:int(len(data) * keep)] if keep == 0.5 else data[:keep])
        with pytest.raises(ArchiveError, match="truncated") as err:
            open_archive(archive_path)
        assert err.value.path == str(archive_path)

    def test_foreign_hdf5(self, tmp_path):
        path = tmp_path / "foreign.h5"
        with h5py.File(path, "w") as f:
            f.attrs["title"] = "someone else's"
            f["traces"] = np.zeros((2, 3))
        with pytest.raises(ArchiveError, match=r"'format' is missing.*\['title'\].*\['traces'\]"):
            open_archive(path)

    @pytest.mark.parametrize("attr, value, match", [
        ("format", "other-archive", "format='other-archive', expected 'nerveconduct-archive'"),
        ("format_version", "2.0", "unsupported format_version '2.0'; .* reads 1.x"),
        ("n_traces", 41, "n_traces=41 but the tables hold 40"),
    ])
    def test_bad_attributes(self, archive_path, attr, value, match):
        with h5py.File(archive_path, "r+") as f:
            f.attrs[attr] = value
        with pytest.raises(ArchiveError, match=match):
            open_archive(archive_path)

    def test_newer_minor_version_is_read(self, archive_path):
        with h5py.File(archive_path, "r+") as f:
            f.attrs["format_version"] = "1.7"
            f["extra_table"] = np.arange(3)
        with open_archive(archive_path) as archive:
            assert archive.format_version == "1.7" and archive.n_nerves == 20

    @pytest.mark.parametrize("name", ["traces", "sites/distance_mm", "nerves/polarity"])
    def test_missing_dataset(self, archive_path, name):
        with h5py.File(archive_path, "r+") as f:
            del f[name]
        with pytest.raises(ArchiveError, match=f"incomplete archive, missing: {name}$"):
            open_archive(archive_path)

    def test_missing_group(self, archive_path):
        with h5py.File(archive_path, "r+") as f:
            del f["sites"]
        with pytest.raises(ArchiveError, match="missing: group 'sites' \\(all its columns\\)$"):
            open_archive(archive_path)

    def test_inconsistent_lengths(self, archive_path):
        with h5py.File(archive_path, "r+") as f:
            f["sites/name"].resize((39,))
        with pytest.raises(ArchiveError, match="sites/name has 39 rows"):
            open_archive(archive_path)
        with h5py.File(archive_path, "r+") as f:
            f["sites/name"].resize((40,))
            f["nerves/n_sites"][3] = 3
        with pytest.raises(ArchiveError, match="do not tile"):
            open_archive(archive_path)

    def test_bad_stored_values_name_the_nerve(self, archive_path):
        with h5py.File(archive_path, "r+") as f:
            f["nerves/polarity"][4] = "sideways"
        with open_archive(archive_path) as archive:
            assert archive.study(3).polarity == "physical"
            with pytest.raises(ArchiveError, match="nerve 4.*polarity must be one of"):
                archive.study(4)


_RSS_SCRIPT = """
import sys
import psutil
from nerveconduct.io.archive import open_archive
process = psutil.Process()
base = peak = process.memory_info().rss
rows = 0
with open_archive(sys.argv[1]) as archive:
    for chunk in archive.iter_chunks(4096):
        rows += chunk.n_rows
        peak = max(peak, process.memory_info().rss)
print(peak - base, rows)
"""


def test_100k_traces_read_in_chunks_with_bounded_memory(tmp_path):
    """>= 10^5 traces written from a generator and read back chunk by chunk: peak traced
    memory stays a small fraction of the archive (both directions), every row arrives once.
    Measured on the dev machine: archive 215 MB, traced peak 18 MB writing and 18 MB
    reading, resident-set growth ~45 MB reading (fresh process)."""
    n_nerves, n_sites, n_samples = 25_000, 4, 500
    base = np.sin(np.linspace(0, 20, n_samples, dtype=np.float32))
    sites = [Site(name, 50.0 + k) for k, name in enumerate(SITE_NAMES[:n_sites])]

    def gen():
        for i in range(n_nerves):
            traces = np.repeat(base[None], n_sites, axis=0)
            traces[:, 0] = np.arange(i * n_sites, (i + 1) * n_sites)  # global row number
            yield NerveStudy("median", "right", "APB", sites, traces, 20_000.0, study_id=str(i))

    path = tmp_path / "big.h5"
    tracemalloc.start()
    try:
        write_archive(path, gen())
        write_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        rows = nerves = 0
        with open_archive(path) as archive:
            assert archive.n_traces == n_nerves * n_sites == 100_000
            for chunk in archive.iter_chunks(4096):
                assert chunk.n_rows <= 4096
                # cheap checks (no big temporaries): row numbers, then the shared waveform
                assert np.array_equal(chunk.traces[:, 0],
                                      np.arange(chunk.row_start, chunk.row_stop))
                assert (chunk.traces[:, 1:] == base[1:]).all()
                rows += chunk.n_rows
                nerves += chunk.n_nerves
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the same read in a fresh process, untraced: growth of its resident set over the
    # resident set after imports, sampled at every chunk (HDF5's own buffers included)
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path)], check=True,
                         capture_output=True, text=True, cwd=os.getcwd()).stdout
    rss_growth, rss_rows = (int(v) for v in out.split())
    size = path.stat().st_size
    assert rss_rows == 100_000
    assert rss_growth < 0.4 * size, (rss_growth, size)
    assert (rows, nerves) == (100_000, n_nerves)
    assert size > 100_000 * n_samples * 4  # uncompressed float32
    # two 8 MB chunks (the one in hand and the next) + index columns, for a ~215 MB file
    assert read_peak < 0.15 * size, (read_peak, size)
    # one ~8 MB block of buffered studies + its packed copy
    assert write_peak < 0.2 * size, (write_peak, size)
