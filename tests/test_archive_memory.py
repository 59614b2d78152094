"""The archive's per-nerve index is read in bounded slices, never held whole.

Opening an archive (with its layout check), planning chunks and reading a chunk must use
memory that does not grow with the number of nerves: before, every process held the row index
(16 bytes per nerve, 32 at its peak on open). The planner and the checker read the index
``INDEX_SLICE`` nerves at a time; the tests with a tiny slice make sure the windowing across
slice boundaries gives exactly the chunks and errors of a whole-index computation.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from nerveconduct.batch.engine import run
from nerveconduct.io import _archive_layout as L
from nerveconduct.io.archive import Archive, open_archive, write_archive
from nerveconduct.io.errors import ArchiveError
from nerveconduct.model import NerveStudy, Site

N_SMALL, N_LARGE = 20_000, 200_000


def _write_tiny_nerves(path: Path, n_nerves: int) -> Path:
    """``n_nerves`` one-site nerves of 8 samples (~0.4 KB per nerve on disk, ~15 µs each)."""
    study = NerveStudy("median", "right", "APB", [Site("wrist", 70.0)], np.zeros((1, 8)),
                       10_000.0, study_id="s")
    return write_archive(path, (study for _ in range(n_nerves)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("archive-memory")
    return {n: _write_tiny_nerves(folder / f"tiny-{n}.h5", n) for n in (N_SMALL, N_LARGE)}


def _traced_batch_path(path: Path) -> tuple[int, int, int]:
    """(bytes held after open, peak bytes over open + plan + read, n_nerves)."""
    gc.collect()
    tracemalloc.start()
    try:
        with open_archive(path) as archive:
            held, _ = tracemalloc.get_traced_memory()
            assert len(archive.plan_chunks(65536)) == -(-archive.n_nerves // 65536)
            mid = archive.n_nerves // 2
            plan = archive.plan_chunks(2048, start_nerve=mid, stop_nerve=mid + 10_000)
            chunk = archive.read_chunk(*plan[1])
            assert chunk.nerve_index[0] == mid + 2048 and chunk.n_rows == 2048
            assert archive.row_range(mid, mid + 5) == (mid, mid + 5)
            _, peak = tracemalloc.get_traced_memory()
            return held, peak, archive.n_nerves
    finally:
        tracemalloc.stop()


def test_open_plan_and_read_do_not_grow_with_the_archive(tiny):
    held_small, peak_small, _ = _traced_batch_path(tiny[N_SMALL])
    held, peak, n_nerves = _traced_batch_path(tiny[N_LARGE])
    assert n_nerves == N_LARGE
    index_bytes = 16 * N_LARGE  # row_start + n_sites as int64: what used to be held
    # measured: ~0.04 MB held, ~1.2 MB peak (the 2048-row chunk itself is ~0.5 MB of it),
    # the same for both sizes; before: 3.2 MB held and 6.4 MB peak at 200 000 nerves
    assert held < index_bytes / 50
    assert peak < index_bytes / 2
    # ten times the nerves, (almost) the same memory: < 0.1 byte per extra nerve
    assert peak - peak_small < 0.1 * (N_LARGE - N_SMALL)
    assert held - held_small < 0.1 * (N_LARGE - N_SMALL)


# --------------------------------------------------- windowing across index slices
def _varied(path: Path) -> Path:
    rng = np.random.default_rng(3)
    sizes = [1 + int(k) for k in rng.integers(0, 5, size=41)]
    names = ("wrist", "elbow", "axilla", "erb", "root")
    studies = [NerveStudy("ulnar", "left", "ADM", [Site(names[k], 70.0 + k) for k in range(n)],
                          np.zeros((n, 8)), 10_000.0, study_id=f"s{i}")
               for i, n in enumerate(sizes)]
    return write_archive(path, studies)


def _reference_plan(ranges: np.ndarray, chunk_rows: int, a: int, stop: int) -> list:
    """The greedy rule on the whole index (as the reader computed it before)."""
    plan = []
    while a < stop:
        b = int(np.searchsorted(ranges[:, 1], ranges[a, 0] + chunk_rows, side="right"))
        b = min(max(b, a + 1), stop)
        plan.append((a, b))
        a = b
    return plan


@pytest.mark.parametrize("index_slice", [1, 2, 3, 7, 64])
def test_plan_across_slice_boundaries_matches_whole_index(tmp_path, monkeypatch, index_slice):
    path = _varied(tmp_path / "varied.h5")
    monkeypatch.setattr(L, "INDEX_SLICE", index_slice)
    with open_archive(path) as archive:
        ranges = archive.nerve_row_ranges()
        assert ranges[-1, 1] == archive.n_traces
        for chunk_rows in (1, 2, 3, 5, 7, 11, 29, 1000):
            for a, stop in ((0, 41), (4, 29), (5, 6), (10, 10), (40, 41), (17, 41)):
                got = archive.plan_chunks(chunk_rows, start_nerve=a, stop_nerve=stop)
                assert got == _reference_plan(ranges, chunk_rows, a, stop), (chunk_rows, a, stop)
        chunks = list(archive.iter_chunks(9, start_nerve=3))
        assert [(c.nerve_index[0], c.nerve_index[-1] + 1) for c in chunks] == \
            archive.plan_chunks(9, start_nerve=3)
        for a, b in ((0, 41), (3, 3), (41, 41), (12, 30)):
            expected = (ranges[a, 0], ranges[b - 1, 1]) if b > a else \
                (archive.n_traces,) * 2 if a == 41 else (ranges[a, 0],) * 2
            assert archive.row_range(a, b) == expected


@pytest.mark.parametrize("column, nerve, value, match", [
    ("n_sites", 30, 0, r"nerve 30: n_sites=0 \(must be >= 1\)"),
    ("row_start", 17, 3, r"nerve 17: row_start=3 but the nerves before it end at row"),
    ("n_sites", 11, 9, r"nerve 12: row_start=\d+ but the nerves before it end at row"),
    ("n_sites", 40, 9, r"do not tile the \d+ trace rows contiguously \(the nerves cover"),
])
def test_layout_check_in_slices_finds_a_late_inconsistency(tmp_path, monkeypatch, column,
                                                           nerve, value, match):
    path = _varied(tmp_path / "varied.h5")
    with h5py.File(path, "r+") as f:
        f[f"nerves/{column}"][nerve] = value
    monkeypatch.setattr(L, "INDEX_SLICE", 4)
    with pytest.raises(ArchiveError, match=match):
        open_archive(path)


def test_closed_archive_refuses_to_plan(tmp_path):
    archive = open_archive(_varied(tmp_path / "varied.h5"))
    archive.close()
    with pytest.raises(ArchiveError, match="closed"):
        archive.plan_chunks(10)


def test_batch_run_never_loads_the_whole_index(tmp_path, monkeypatch):
    path = _varied(tmp_path / "varied.h5")

    def whole_index(self):
        raise AssertionError("the batch path loaded the whole per-nerve index")

    monkeypatch.setattr(Archive, "nerve_row_ranges", whole_index)
    monkeypatch.setattr(L, "INDEX_SLICE", 5)
    summary = run(path, tmp_path / "out.jsonl", chunk_rows=13, criteria=())
    assert summary.n_nerves == 41 and summary.n_ok + summary.n_failed == 41
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 41
