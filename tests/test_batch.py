"""Batch engine (nerveconduct.batch.engine.run): output rows, determinism, failures, options.

The archive of this module mixes nerves with 1, 2 and 3 sites, two sampling rates and two
trace lengths (NaN-padded rows), and conduction blocks, so verdicts differ between nerves.
Helpers used by the other ``test_batch_*`` modules live here too.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from nerveconduct.batch import DEFAULT_CRITERIA
from nerveconduct.io import source_key

from nerveconduct.batch import task as batch_worker
from nerveconduct.batch.engine import BatchResumeError, run
from nerveconduct.batch.executors import ordered_results
from nerveconduct.batch.task import ChunkOutput, output_columns
from nerveconduct.criteria import evaluate_nerve
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.analysis import analyze_nerves
from nerveconduct.serialize.records import nerve_record
from nerveconduct.simulate.nerve import simulate_nerve

RULE_SET = "efns-pns-2010-mmn"


def make_studies() -> list:
    """About 120 simulated nerves of varied shape (fast: well under a second)."""
    common = dict(sweep_ms=25.0, dtype="float32")
    groups = [
        simulate_nerve((70.0, 200.0), n_nerves=50, seed=1, block={1: 0.6}, **common),
        simulate_nerve((70.0, 200.0), n_nerves=20, seed=2, **common),
        simulate_nerve((70.0, 80.0, 100.0), nerve="ulnar", muscle="ADM", n_nerves=30, seed=3,
                       sampling_rate_hz=10000.0, sweep_ms=30.0, dtype="float32"),
        simulate_nerve((90.0,), nerve="tibial", muscle="AH", n_nerves=6, seed=4, **common),
        simulate_nerve((70.0, 230.0), n_nerves=14, seed=5, block={1: 0.3}, **common),
    ]
    studies = [s for g in groups for s in g.to_studies()]
    order = np.random.default_rng(0).permutation(len(studies))  # interleave the shapes
    return [studies[i] for i in order]


def make_archive(path: Path, **kwargs) -> Path:
    return write_archive(path, make_studies(), **kwargs)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("batch")


@pytest.fixture(scope="module")
def reference(archive, folder) -> Path:
    """The in-process, single-chunk run every other run must reproduce byte for byte."""
    out = folder / "reference.jsonl"
    run(archive, out)
    return out


class TestRows:
    def test_basic_one_record_per_nerve_from_serialize(self, archive, reference):
        """Each line is exactly what nerve_record (the `analyze -f jsonl` code) writes."""
        with open_archive(archive) as arc:
            studies = list(arc.studies())
        results = analyze_nerves(studies)
        expected = [
            json.dumps({"nerve_index": i, **nerve_record(r, {rid: evaluate_nerve(r, rid) for rid in DEFAULT_CRITERIA},
                                                           source=source_key(archive))},
                       ensure_ascii=False, allow_nan=False)
            for i, r in enumerate(results)]
        assert reference.read_text(encoding="utf-8").splitlines() == expected
        assert len(expected) == len(studies) > 100

    def test_verdicts_differ_between_nerves(self, reference):
        levels = {rec["verdicts"][RULE_SET]["level"] for rec in lines(reference)}
        assert {"definite", "none"} <= levels  # blocked and unblocked nerves graded

    def test_csv_nerve_table(self, archive, folder, reference):
        out = folder / "nerves.csv"
        summary = run(archive, out, chunk_rows=40)
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        recs = lines(reference)
        assert list(rows[0]) == output_columns("nerve", list(DEFAULT_CRITERIA))
        assert [int(r["nerve_index"]) for r in rows] == list(range(summary.n_nerves))
        for row, rec in zip(rows, recs):
            assert row["study_id"] == rec["study_id"]
            assert row["verdict_efns-pns-2010-mmn_level"] == rec["verdicts"][RULE_SET]["level"]
            dml = rec["distal_motor_latency_ms"]
            assert (row["distal_motor_latency_ms"] == "") == (dml is None)
            if dml is not None:
                assert float(row["distal_motor_latency_ms"]) == dml  # full precision
            assert row["error"] == ""

    def test_segment_table(self, archive, folder, reference):
        out = folder / "segments.jsonl"
        run(archive, out, table="segment")
        rows = lines(out)
        per_nerve = {}
        for row in rows:
            per_nerve.setdefault(row["nerve_index"], []).append(row)
        assert [r["nerve_index"] for r in rows] == sorted(r["nerve_index"] for r in rows)
        for rec in lines(reference):
            got = per_nerve[rec["nerve_index"]]
            assert len(got) == max(1, rec["n_segments"])  # single-site nerves appear once
            if rec["n_segments"] == 0:
                assert got[0]["segment"] is None and got[0]["study_id"] == rec["study_id"]
            else:
                assert [g["conduction_velocity_m_s"] for g in got] == \
                    [s["conduction_velocity_m_s"] for s in rec["segments"]]
                assert [g[f"verdict_{RULE_SET}_level"] for g in got] == \
                    [s["verdicts"][RULE_SET]["level"] for s in rec["segments"]]

    def test_no_criteria_no_verdicts(self, archive, folder):
        out = folder / "plain.jsonl"
        run(archive, out, criteria=())
        assert all(rec["verdicts"] == {} for rec in lines(out))


class TestDeterminism:
    @pytest.mark.parametrize("jobs, chunk_rows", [(1, 7), (1, 333), (2, 50)])
    def test_same_bytes_whatever_jobs_and_chunk_rows(self, archive, folder, reference, jobs,
                                                     chunk_rows):
        out = folder / f"det-{jobs}-{chunk_rows}.jsonl"
        summary = run(archive, out, jobs=jobs, chunk_rows=chunk_rows)
        assert out.read_bytes() == reference.read_bytes()
        assert (summary.n_failed, summary.n_resumed) == (0, 0)

    def test_csv_segments_same_bytes(self, archive, folder):
        a, b = folder / "seg-a.csv", folder / "seg-b.csv"
        run(archive, a, table="segment", chunk_rows=65536)
        run(archive, b, table="segment", chunk_rows=11, jobs=2)
        assert a.read_bytes() == b.read_bytes()

    def test_summary_and_progress(self, archive, folder):
        calls = []
        summary = run(archive, folder / "progress.jsonl", chunk_rows=50,
                      progress=lambda done, total: calls.append((done, total)))
        with open_archive(archive) as arc:
            n_nerves, n_traces = arc.n_nerves, arc.n_traces
        assert (summary.n_nerves, summary.n_ok, summary.n_traces) == (n_nerves, n_nerves, n_traces)
        assert summary.traces_per_s == pytest.approx(n_traces / summary.seconds)
        done = [d for d, _ in calls]
        assert done == sorted(done) and done[-1] == n_traces and len(done) > 3
        assert {t for _, t in calls} == {n_traces}


def interrupt(*args, **kwargs):
    """Stands in for a step of the run to stop it there, as Ctrl-C would."""
    raise KeyboardInterrupt


# ------------------------------------------------------------------------------ failures
def _chunk_bytes_offsets(path: Path, dataset: str) -> list[tuple[int, int, int]]:
    """(first row, byte offset, size) of every stored chunk of a 1-D or 2-D dataset."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        return [(info.chunk_offset[0], info.byte_offset, info.size)
                for info in (ds.id.get_chunk_info(k) for k in range(ds.id.get_num_chunks()))]


@pytest.fixture(scope="module")
def damaged(folder) -> tuple[Path, int, tuple[int, int]]:
    """An archive with one invalid nerve (negative distance) and one unreadable trace chunk.

    Returns the path, the invalid nerve's index and the unreadable rows [r0, r1).
    """
    path = make_archive(folder / "damaged.h5", compression="gzip", chunk_rows=16)
    with h5py.File(path, "r+") as f:
        row_start = f["nerves/row_start"][()]
        n_sites = f["nerves/n_sites"][()]
        bad_nerve = int(np.flatnonzero(n_sites == 2)[3])
        f["sites/distance_mm"][row_start[bad_nerve] + 1] = -40.0
    first_row, offset, size = _chunk_bytes_offsets(path, "traces")[5]
    with open(path, "r+b") as fh:  # garbage in the middle of a gzip-compressed chunk
        fh.seek(offset + size // 4)
        fh.write(bytes(range(256)) * max(1, size // 512))
    return path, bad_nerve, (first_row, first_row + 16)


class TestFailures:
    def test_every_nerve_exactly_once_with_result_or_error(self, damaged, folder, reference):
        path, bad_nerve, (r0, r1) = damaged
        out = folder / "damaged.jsonl"
        summary = run(path, out, chunk_rows=64)
        recs = lines(out)
        with open_archive(path) as arc:
            ranges = arc.nerve_row_ranges()
        assert [r["nerve_index"] for r in recs] == list(range(len(ranges)))
        unreadable = {i for i, (a, b) in enumerate(ranges) if a < r1 and b > r0}
        failed = {r["nerve_index"] for r in recs if r.get("record") == "failure"}
        assert failed == unreadable | {bad_nerve}
        assert summary.n_failed == len(failed) and summary.n_ok == len(recs) - len(failed)
        assert summary.n_traces == int(ranges[-1, 1])  # unreadable nerves' traces counted too
        invalid = recs[bad_nerve]
        assert invalid["error_type"] == "ArchiveError" and "distance_mm" in invalid["error"]
        assert invalid["study_id"] == lines(reference)[bad_nerve]["study_id"]
        for i in unreadable:
            assert recs[i]["error_type"] == "ArchiveError" and "cannot read" in recs[i]["error"]
        assert str(path.parent) not in out.read_text()  # messages name no local directory
        # every nerve the damage did not touch has exactly its clean result
        clean = reference.read_text(encoding="utf-8").splitlines()
        got = out.read_text(encoding="utf-8").splitlines()
        for i in set(range(len(ranges))) - failed:
            assert got[i] == clean[i].replace(f'"source": "{source_key("population.h5")}"',
                                              f'"source": "{source_key("damaged.h5")}"')

    def test_damaged_same_bytes_in_worker_processes(self, damaged, folder):
        path = damaged[0]
        a, b = folder / "damaged-a.csv", folder / "damaged-b.csv"
        run(path, a, chunk_rows=64)
        run(path, b, chunk_rows=30, jobs=2)
        assert a.read_bytes() == b.read_bytes()
        rows = list(csv.DictReader(io.StringIO(a.read_text(encoding="utf-8"))))
        assert sum(r["error"] != "" for r in rows) > 2

    def test_analysis_error_isolated_to_its_nerve(self, archive, folder, reference, monkeypatch):
        real = batch_worker.table_from_chunk
        victim = lines(reference)[17]["study_id"]

        def flaky(chunk, limits, **kwargs):
            if victim in chunk.nerves["study_id"].tolist():
                raise ZeroDivisionError(f"cannot analyze {victim}")
            return real(chunk, limits, **kwargs)

        monkeypatch.setattr(batch_worker, "table_from_chunk", flaky)
        out = folder / "flaky.jsonl"
        summary = run(archive, out)
        got = out.read_text(encoding="utf-8").splitlines()
        clean = reference.read_text(encoding="utf-8").splitlines()
        assert summary.n_failed == 1
        failure = json.loads(got[17])
        assert (failure["nerve_index"], failure["study_id"], failure["error_type"]) == \
            (17, victim, "ZeroDivisionError")
        assert got[:17] == clean[:17] and got[18:] == clean[18:]

    def test_unexpected_error_stops_run_and_keeps_partial(self, archive, folder, reference,
                                                          monkeypatch):
        real = batch_worker.table_from_chunk
        calls = []

        def broken(chunk, limits, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("a bug, not a bad record")
            return real(chunk, limits, **kwargs)

        monkeypatch.setattr(batch_worker, "table_from_chunk", broken)
        out = folder / "stopped.jsonl"
        with pytest.raises(RuntimeError, match="a bug"):
            run(archive, out, chunk_rows=40)
        assert not out.exists() and Path(f"{out}.partial").exists()
        monkeypatch.setattr(batch_worker, "table_from_chunk", real)
        summary = run(archive, out, resume=True, chunk_rows=40)
        assert summary.n_resumed > 0
        assert out.read_bytes() == reference.read_bytes()
        assert not Path(f"{out}.partial").exists() and not Path(f"{out}.partial.log").exists()


class TestOptions:
    def test_raises_existing_output(self, archive, folder, reference):
        with pytest.raises(FileExistsError, match="output file exists"):
            run(archive, reference)
        before = reference.read_bytes()
        run(archive, reference, overwrite=True)
        assert reference.read_bytes() == before

    def test_raises_partial_without_resume(self, archive, folder):
        out = folder / "leftover.jsonl"
        Path(f"{out}.partial").write_bytes(b"")
        with pytest.raises(FileExistsError, match="resume=True"):
            run(archive, out)
        run(archive, out, overwrite=True)
        assert out.exists() and not Path(f"{out}.partial").exists()

    def test_raises_resume_with_other_options(self, archive, folder, monkeypatch):
        out = folder / "other-options.jsonl"
        monkeypatch.setattr(batch_worker, "table_from_chunk", interrupt)
        with pytest.raises(KeyboardInterrupt):
            run(archive, out)
        monkeypatch.undo()
        with pytest.raises(BatchResumeError, match="criteria"):
            run(archive, out, resume=True, criteria=())

    @pytest.mark.parametrize("kwargs, match", [
        ({"table": "site"}, r"table must be one of \['nerve', 'segment', 'patient'\], got 'site'"),
        ({"table": "Segment"}, r"got 'Segment'; did you mean 'segment'\?"),
        ({"jobs": 0}, r"jobs must be None or an integer >= 1 processes, got 0"),
        ({"chunk_rows": 2.5}, r"chunk_rows must be an integer >= 1 rows, got 2.5"),
        ({"scheduler": ""}, "scheduler must be"),
    ])
    def test_raises_bad_option(self, archive, folder, kwargs, match):
        with pytest.raises(ValueError, match=match):
            run(archive, folder / "x.jsonl", **kwargs)

    def test_raises_bad_suffix(self, archive, folder):
        with pytest.raises(ValueError, match=r"\.jsonl.*got '\.json'"):
            run(archive, folder / "x.json")

    def test_raises_unknown_rule_set(self, archive, folder):
        with pytest.raises(KeyError, match="no-such-rules"):
            run(archive, folder / "x.jsonl", criteria=("no-such-rules",))

    def test_empty_archive(self, folder):
        path = write_archive(folder / "empty.h5", [])
        summary = run(path, folder / "empty.csv")
        assert (summary.n_nerves, summary.n_traces) == (0, 0)
        assert (folder / "empty.csv").read_text().splitlines() == \
            [",".join(output_columns("nerve", list(DEFAULT_CRITERIA)))]


class TestMachinery:
    def test_reorder_window_is_bounded(self):
        """Results come in submission order with never more than max_in_flight pending."""
        state = {"submitted": 0, "yielded": 0, "peak": 0}

        class Done:
            def __init__(self, value):
                self.value = value

            def result(self):
                return self.value

        def submit(start, stop):
            state["submitted"] += 1
            state["peak"] = max(state["peak"], state["submitted"] - state["yielded"])
            return Done((start, stop))

        plan = [(i, i + 1) for i in range(20)]
        out = []
        for item in ordered_results(submit, plan, 3):
            state["yielded"] += 1
            out.append(item)
        assert out == plan and state["peak"] == 3

    def test_chunk_output_streams_in_bounded_pieces(self):
        data = b"".join(b'{"nerve_index": %d}\n' % i for i in range(50000))
        packed = zlib.compress(data, 1)
        out = ChunkOutput(0, 50000, 100000, 0, (packed[:1000], packed[1000:5000], packed[5000:]))
        pieces = list(out.chunks(size=4096))
        assert b"".join(pieces) == data and max(map(len, pieces)) <= 4096
