"""The batch's columnar rows (nerveconduct.serialize.columns) equal the object path's, byte for byte.

The archive is varied on purpose: unknown nerve and site names, unknown distances, absent
responses (flat traces), F-waves not studied / absent / with a latency, single-site nerves, two sampling set-ups, low temperatures, a
nerve with a distal distance far from the limit's, compression-site and Erb's-point
segments, conduction blocks. Each table/format is written twice over the same nerves: with
``columnar=False`` (NerveResult -> verdicts -> serialize) and with the columnar path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nerveconduct.batch.task import TaskOptions, process_chunk_range
from nerveconduct.criteria.registry import get_rule_set
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.limits import NormalLimits
from nerveconduct.model import NerveStudy, Site
from nerveconduct.simulate.nerve import simulate_nerve


def _varied_studies() -> list[NerveStudy]:
    common = dict(sweep_ms=25.0, dtype="float32")
    groups = [
        simulate_nerve((70.0, 200.0), n_nerves=30, seed=11, block={1: 0.6}, **common),
        simulate_nerve((70.0, 80.0, 100.0), nerve="ulnar", muscle="ADM", n_nerves=20, seed=12,
                       site_names=("wrist", "below elbow", "above elbow"),
                       sampling_rate_hz=10000.0, sweep_ms=30.0, dtype="float32"),
        simulate_nerve((90.0,), nerve="tibial", muscle="AH", n_nerves=5, seed=13, **common),
        simulate_nerve((80.0, 250.0, 150.0), nerve="fibular", muscle="EDB", n_nerves=10, seed=14,
                       site_names=("ankle", "below fibular head", "popliteal fossa"), **common),
        simulate_nerve((70.0, 230.0, 120.0, 200.0), n_nerves=10, seed=15,
                       site_names=("wrist", "elbow", "axilla", "erb"), block={2: 0.7}, **common),
    ]
    studies = [s for g in groups for s in g.to_studies()]
    rng = np.random.default_rng(7)
    out = []
    for k, s in enumerate(studies):
        sites, traces = list(s.sites), s.traces.copy()
        nerve, temp = s.nerve, s.temperature_c
        if k % 9 == 1:
            nerve = "mystery"  # unknown nerve name
        if k % 11 == 2 and len(sites) > 1:
            sites[1] = Site("somewhere", sites[1].distance_mm)  # unknown site name
        if k % 7 == 3:
            sites[-1] = Site(sites[-1].name, None)  # unknown distance
        if k % 13 == 4:
            traces[-1] = rng.normal(0, 0.005, traces.shape[1])  # absent proximal
        if k % 17 == 5:
            traces[0] = rng.normal(0, 0.005, traces.shape[1])  # absent distal
        if k % 5 == 0:
            temp = 29.5
        if k % 19 == 6:
            sites[0] = Site(sites[0].name, 130.0)  # distal distance far from the limit's
        out.append(NerveStudy(nerve, s.side, s.muscle, sites, traces, s.sampling_rate_hz,
                              stimulus_sample=s.stimulus_sample, polarity=s.polarity,
                              temperature_c=temp, low_frequency_filter_hz=s.low_frequency_filter_hz,
                              study_id=f"S{k:04d}",
                              f_wave_latency_ms={0: 28.0, 1: float("nan")}.get(k % 4)))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("columns") / "varied.h5"
    return write_archive(path, _varied_studies())


def _bytes(archive: Path, **kwargs) -> bytes:
    opts = TaskOptions(limits=NormalLimits.default(), source="varied.h5", **kwargs)
    with open_archive(archive) as arc:
        out = process_chunk_range(arc, 0, len(arc.nerve_row_ranges()), opts)
    return b"".join(out.chunks())


CASES = [("segment", "csv"), ("segment", "jsonl"), ("nerve", "csv")]


@pytest.mark.parametrize("table,fmt", CASES)
def test_columnar_rows_equal_object_rows_without_criteria(archive, table, fmt):
    fast = _bytes(archive, table=table, fmt=fmt, rule_sets=(), columnar=True)
    slow = _bytes(archive, table=table, fmt=fmt, rule_sets=(), columnar=False)
    assert fast.count(b"\n") >= 75  # every nerve (and segment) has its row
    fast_lines, slow_lines = fast.decode().splitlines(), slow.decode().splitlines()
    assert len(fast_lines) == len(slow_lines)
    for a, b in zip(fast_lines, slow_lines):
        assert a == b


def test_nested_nerve_jsonl_and_reasons_stay_on_the_object_path():
    rs = (get_rule_set("efns-pns-2010-mmn"),)
    common = dict(limits=NormalLimits.default(), source="x.h5", rule_sets=rs)
    assert TaskOptions(table="nerve", fmt="jsonl", **common).columnar is False
    assert TaskOptions(table="segment", fmt="csv", reasons=True, **common).columnar is False
    with pytest.raises(ValueError, match="cannot be written from columns"):
        TaskOptions(table="nerve", fmt="jsonl", columnar=True, **common)


def test_the_columnar_path_is_taken_for_valid_chunks(archive):
    from nerveconduct.analysis.chunk import analyze_chunk

    with open_archive(archive) as arc:
        n = len(arc.nerve_row_ranges())
        table = analyze_chunk(arc.read_chunk(0, n), NormalLimits.default())
    assert table is not None and table.n_nerves == n
    assert sum(1 for f in table.nerve["flags"] if f) >= 20  # the varied nerves carry flags
    assert sum(1 for f in table.segment["flags"] if f) >= 10


@pytest.fixture(scope="module")
def invalid_archive(tmp_path_factory, archive) -> tuple[Path, int]:
    """A copy of the archive with one nerve whose stored distance is negative."""
    import shutil

    import h5py

    path = tmp_path_factory.mktemp("columns_bad") / "invalid.h5"
    shutil.copy(archive, path)
    with h5py.File(path, "r+") as f:
        row_start, n_sites = f["nerves/row_start"][()], f["nerves/n_sites"][()]
        bad = int(np.flatnonzero(n_sites >= 2)[5])
        f["sites/distance_mm"][row_start[bad] + 1] = -40.0
    return path, bad


@pytest.mark.parametrize("table,fmt", CASES)
def test_a_chunk_with_an_invalid_nerve_takes_the_object_path(invalid_archive, table, fmt):
    from nerveconduct.analysis.chunk import analyze_chunk

    path, bad = invalid_archive
    with open_archive(path) as arc:
        assert analyze_chunk(arc.read_chunk(0, bad + 1), NormalLimits.default()) is None
    fast = _bytes(path, table=table, fmt=fmt, rule_sets=(), columnar=True)
    slow = _bytes(path, table=table, fmt=fmt, rule_sets=(), columnar=False)
    assert fast == slow
    assert fast.count(b"ArchiveError") == 1


ALL_RULE_SETS = ("efns-pns-2010-mmn", "efns-pns-2010-cidp", "ean-pns-2021-cidp", "aan-1991",
                 "amplitude-dependent-2000", "textbook-20pct")


@pytest.mark.parametrize("table,fmt", CASES)
def test_columnar_rows_equal_object_rows_with_every_rule_set(archive, table, fmt):
    rule_sets = tuple(get_rule_set(r) for r in ALL_RULE_SETS)
    fast = _bytes(archive, table=table, fmt=fmt, rule_sets=rule_sets, columnar=True)
    slow = _bytes(archive, table=table, fmt=fmt, rule_sets=rule_sets, columnar=False)
    fast_lines, slow_lines = fast.decode().splitlines(), slow.decode().splitlines()
    assert len(fast_lines) == len(slow_lines) >= 75
    for a, b in zip(fast_lines, slow_lines):
        assert a == b
    levels = {"definite", "not-assessable", "none"}
    assert all(level.encode() in fast for level in levels)  # varied verdicts were compared


def test_columnar_task_output_is_plain_text_in_bounded_pieces(archive):
    opts = TaskOptions(limits=NormalLimits.default(), source="varied.h5", table="segment",
                       fmt="csv", rule_sets=())
    with open_archive(archive) as arc:
        out = process_chunk_range(arc, 0, len(arc.nerve_row_ranges()), opts)
    assert opts.columnar and out.compressed is False
    whole = b"".join(out.data)
    pieces = list(out.chunks(size=1000))
    assert b"".join(pieces) == whole and max(map(len, pieces)) <= 1000
    assert whole.startswith(b"0,varied.h5,")  # plain rows, no zlib header


TRICKY = ["plain", "with, comma", 'a "quote"', "new\nline", "cr\rhere", "tab\there", " lead space",
          "semi; colon", "wrist\u2013elbow", "back\\slash", "ctrl\x01char", "", "\u2028sep", "é"]


def test_text_cells_are_what_csv_and_json_write():
    import csv
    import io
    import json

    from nerveconduct.serialize.columns import _Cells

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["x", *TRICKY])
    expected_csv = buffer.getvalue()
    for values in (TRICKY, [t for t in TRICKY if t.isalnum()]):  # slow path and fast path
        cells = _Cells("csv").texts(values)
        if values is TRICKY:
            assert ",".join(["x", *cells]) + "\n" == expected_csv
        else:
            assert cells == values
        json_cells = _Cells("jsonl").texts(values)
        assert json_cells == [json.dumps(v, ensure_ascii=False) for v in values]
    assert _Cells("jsonl").texts([None, ("a", "b")]) == ["null", '["a", "b"]']
    assert _Cells("csv").texts([None, ("a", "b, c")]) == ["", '"a; b, c"']


@pytest.mark.parametrize("where", ["analyze_chunk", "encode_rows"])
def test_an_error_in_the_columnar_path_falls_back_to_the_object_path(archive, monkeypatch, where):
    from nerveconduct.batch import encoding as batch_encoding, task as batch_worker

    calls = []

    def broken(*args, **kwargs):
        calls.append(where)
        raise ValueError("columnar step failed")

    module = batch_worker if where == "analyze_chunk" else batch_encoding
    slow = _bytes(archive, table="segment", fmt="csv", rule_sets=(), columnar=False)
    monkeypatch.setattr(module, where, broken)
    fast = _bytes(archive, table="segment", fmt="csv", rule_sets=(), columnar=True)
    assert calls and fast == slow  # every slice was written by the object path, nothing lost


def _two_nerve_archive(path: Path, muscles=(None, "None")) -> Path:
    s = simulate_nerve((70.0, 200.0), site_names=("wrist", "elbow"), seed=1,
                       sweep_ms=30.0).to_studies()[0]
    studies = [NerveStudy("median", "left", m, s.sites, s.traces, s.sampling_rate_hz,
                          stimulus_sample=s.stimulus_sample, study_id=f"n{k}")
               for k, m in enumerate(muscles)]
    return write_archive(path, studies)


def _lab_bytes(path: Path, limits: NormalLimits, columnar: bool) -> bytes:
    opts = TaskOptions(limits=limits, source="x.h5", table="nerve", fmt="csv", rule_sets=(),
                       columnar=columnar)
    with open_archive(path) as arc:
        return b"".join(process_chunk_range(arc, 0, 2, opts).chunks())


def test_a_missing_muscle_and_a_muscle_named_none_get_their_own_limit_rows(tmp_path):
    from nerveconduct.limits import LimitRow

    limits = NormalLimits([LimitRow("median", None, 4.0, 4.4, 49.0, 31.0, 70.0),
                           LimitRow("median", "None", 9.0, 3.0, 60.0, 25.0, 60.0)],
                          name="lab", citation="test")
    path = _two_nerve_archive(tmp_path / "muscles.h5")
    fast = _lab_bytes(path, limits, True)
    assert fast == _lab_bytes(path, limits, False)
    rows = fast.decode().splitlines()
    assert ",4.0,LLN," in rows[0] and ",9.0,LLN," in rows[1]


def test_limit_rows_refuse_zero_and_nan_limits():
    # so that no path meets a limit it would read differently (0 or NaN)
    from nerveconduct.limits import LimitRow

    for bad in (0.0, float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="amplitude_lln_mv must be a positive finite number"):
            LimitRow("median", None, bad)
    assert LimitRow("median", None, 4.0, age_min_years=0.0).age_min_years == 0.0


def test_metadata_that_is_not_a_json_object_is_a_failure_row_on_both_paths(tmp_path):
    import h5py

    path = _two_nerve_archive(tmp_path / "meta.h5", muscles=("APB", "APB"))
    with h5py.File(path, "r+") as f:
        f["nerves/metadata_json"][1] = "[1, 2]"
    fast = _lab_bytes(path, NormalLimits.default(), True)
    assert fast == _lab_bytes(path, NormalLimits.default(), False)
    rows = fast.decode().splitlines()
    assert "ArchiveError" not in rows[0] and "ArchiveError" in rows[1] and "metadata" in rows[1]


def test_a_criteria_error_on_the_object_path_fails_only_its_nerve(archive, monkeypatch):
    from nerveconduct.batch import task as batch_worker

    rule_sets = (get_rule_set("efns-pns-2010-mmn"),)
    clean = _bytes(archive, table="nerve", fmt="jsonl", rule_sets=rule_sets).decode().splitlines()
    real = batch_worker.evaluate_nerve
    victim = json.loads(clean[7])["study_id"]

    def bulk_fails(results, rule_set, **kwargs):
        raise ValueError("bulk evaluation failed")

    def one_fails(result, rule_set, **kwargs):
        if result.study_id == victim:
            raise ValueError(f"cannot evaluate {victim}")
        return real(result, rule_set, **kwargs)

    monkeypatch.setattr(batch_worker, "evaluate_nerves", bulk_fails)
    monkeypatch.setattr(batch_worker, "evaluate_nerve", one_fails)
    got = _bytes(archive, table="nerve", fmt="jsonl", rule_sets=rule_sets).decode().splitlines()
    assert len(got) == len(clean)
    failed = [k for k, line in enumerate(got) if '"error_type"' in line]
    assert failed == [7] and f"cannot evaluate {victim}" in got[7]
    assert [g for k, g in enumerate(got) if k != 7] == [c for k, c in enumerate(clean) if k != 7]


def _corruptions():
    """One stored value made wrong at a time (name, where, value)."""
    return [("nerves", "sampling_rate_hz", v) for v in (0.0, -5.0, np.nan, np.inf)] + \
        [("nerves", "stimulus_sample", v) for v in (-1, 10 ** 6)] + \
        [("nerves", "polarity", v) for v in ("sideways", "")] + \
        [("nerves", "nerve", v) for v in ("", "   ")] + \
        [("nerves", "metadata_json", v) for v in ("{", "[1, 2]", "5", '"x"')] + \
        [("sites", "distance_mm", v) for v in (0.0, -40.0, np.inf)] + \
        [("n_samples", None, v) for v in (0, 3)]


@pytest.mark.parametrize("part,key,value", _corruptions())
def test_studies_are_valid_guarantees_that_studies_succeed(archive, part, key, value):
    import dataclasses

    from nerveconduct.io.errors import ArchiveError

    with open_archive(archive) as arc:
        chunk = arc.read_chunk(0, 12)
    assert chunk.studies_are_valid() and len(chunk.studies()) == 12
    j = 5  # a nerve in the middle; its first row
    row = int(chunk.nerves["row_start"][j]) - chunk.row_start
    if part == "n_samples":
        n_samples = chunk.n_samples.copy()
        n_samples[row] = value
        bad = dataclasses.replace(chunk, n_samples=n_samples)
    else:
        table = dict(getattr(chunk, part))
        column = table[key].copy() if table[key].dtype != object else table[key].astype(object)
        column[j if part == "nerves" else row] = value
        table[key] = column
        bad = dataclasses.replace(chunk, **{part: table})
    assert not bad.studies_are_valid()
    with pytest.raises(ArchiveError, match="nerve"):
        bad.studies()


def test_null_metadata_is_valid_on_both_sides(archive):
    import dataclasses

    with open_archive(archive) as arc:
        chunk = arc.read_chunk(0, 4)
    nerves = dict(chunk.nerves, metadata_json=np.array(["null"] * 4, dtype=object))
    ok = dataclasses.replace(chunk, nerves=nerves)
    assert ok.studies_are_valid() and [s.metadata for s in ok.studies()] == [{}] * 4
