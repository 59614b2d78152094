"""The one batch path: every nerve of a varied archive once, failures isolated, cells as csv/json write them.

The archive is varied on purpose (``tests/_golden.py``): unknown nerve and site names, unknown
distances, absent responses, F-waves not studied / absent / with a latency, single-site
nerves, two sampling set-ups, low temperatures, an off-standard distal distance, palm,
compression-site and Erb's-point segments, conduction blocks. The golden tests
(``tests/test_golden.py``) freeze its outputs; these tests check what must hold whatever the
values: isolation of bad nerves, the validity rule, the cell rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _golden import varied_studies
from nerveconduct.batch.task import TaskOptions, process_chunk_range
from nerveconduct.criteria.registry import get_rule_set
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.limits import NormalLimits
from nerveconduct.model import NerveStudy
from nerveconduct.simulate.nerve import simulate_nerve


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("columns") / "varied.h5"
    return write_archive(path, varied_studies())


def _bytes(archive: Path, **kwargs) -> bytes:
    opts = TaskOptions(limits=NormalLimits.default(), source="varied.h5", **kwargs)
    with open_archive(archive) as arc:
        out = process_chunk_range(arc, 0, len(arc.nerve_row_ranges()), opts)
    return b"".join(out.chunks())


CASES = [("segment", "csv"), ("segment", "jsonl"), ("nerve", "csv"), ("nerve", "jsonl")]


def test_every_table_has_every_nerve_once(archive):
    n = len(varied_studies())
    for table, fmt in CASES:
        lines = _bytes(archive, table=table, fmt=fmt, rule_sets=()).decode().splitlines()
        if fmt == "csv":
            indices = {int(line.split(",", 1)[0]) for line in lines}
        else:
            indices = {json.loads(line)["nerve_index"] for line in lines}
        assert indices == set(range(n)), (table, fmt)


def test_the_chunk_table_carries_the_varied_flags(archive):
    from nerveconduct.analysis import table_from_chunk

    with open_archive(archive) as arc:
        n = len(arc.nerve_row_ranges())
        table = table_from_chunk(arc.read_chunk(0, n), NormalLimits.default())
    assert table.n_nerves == n
    assert sum(1 for f in table.nerve["flags"] if f) >= 20
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
def test_a_nerve_with_invalid_stored_values_is_one_failure_row(archive, invalid_archive, table, fmt):
    path, bad = invalid_archive
    with open_archive(path) as arc:
        valid = arc.read_chunk(0, bad + 1).valid_nerves()
    assert not valid[bad] and valid[:bad].all()
    got = _bytes(path, table=table, fmt=fmt, rule_sets=()).decode().splitlines()
    clean = _bytes(archive, table=table, fmt=fmt, rule_sets=()).decode().splitlines()
    failed = [k for k, line in enumerate(got) if "ArchiveError" in line]
    assert len(failed) == 1 and "distance_mm" in got[failed[0]]
    assert [g for k, g in enumerate(got) if k != failed[0]] == \
        [c for c in clean if not c.startswith((f"{bad},", f'{{"nerve_index": {bad},'))]


TRICKY = ["plain", "with, comma", 'a "quote"', "new\nline", "cr\rhere", "tab\there", " lead space",
          "semi; colon", "wrist\u2013elbow", "back\\slash", "ctrl\x01char", "", "\u2028sep", "é"]


def test_text_cells_are_what_csv_and_json_write():
    import csv
    import io
    import json

    from nerveconduct.serialize.cells import Cells as _Cells

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["x", *TRICKY])
    expected_csv = buffer.getvalue()
    for values in (TRICKY, [t for t in TRICKY if t.isalnum()]):  # slow path and fast path
        cells = _Cells("csv").texts(values)
        if values is TRICKY:
            assert ",".join(["x", *cells]) + "\n" == expected_csv
        else:
            assert cells == values
        json_cells = _Cells("json").texts(values)
        assert json_cells == [json.dumps(v, ensure_ascii=False) for v in values]
    assert _Cells("json").texts([None, ("a", "b")]) == ["null", '["a", "b"]']
    assert _Cells("csv").texts([None, ("a", "b, c")]) == ["", '"a; b, c"']


def _two_nerve_archive(path: Path, muscles=(None, "None")) -> Path:
    s = simulate_nerve((70.0, 200.0), site_names=("wrist", "elbow"), seed=1,
                       sweep_ms=30.0).to_studies()[0]
    studies = [NerveStudy("median", "left", m, s.sites, s.traces, s.sampling_rate_hz,
                          stimulus_sample=s.stimulus_sample, study_id=f"n{k}")
               for k, m in enumerate(muscles)]
    return write_archive(path, studies)


def _lab_bytes(path: Path, limits: NormalLimits) -> bytes:
    opts = TaskOptions(limits=limits, source="x.h5", table="nerve", fmt="csv", rule_sets=())
    with open_archive(path) as arc:
        return b"".join(process_chunk_range(arc, 0, 2, opts).chunks())


def test_a_missing_muscle_and_a_muscle_named_none_get_their_own_limit_rows(tmp_path):
    from nerveconduct.limits import LimitRow

    limits = NormalLimits([LimitRow("median", None, 4.0, 4.4, 49.0, 31.0, 70.0),
                           LimitRow("median", "None", 9.0, 3.0, 60.0, 25.0, 60.0)],
                          name="lab", citation="test")
    path = _two_nerve_archive(tmp_path / "muscles.h5")
    rows = _lab_bytes(path, limits).decode().splitlines()
    assert ",4.0,LLN," in rows[0] and ",9.0,LLN," in rows[1]


def test_limit_rows_refuse_zero_and_nan_limits():
    # so that no path meets a limit it would read differently (0 or NaN)
    from nerveconduct.limits import LimitRow

    for bad in (0.0, float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="amplitude_lln_mv must be None or a finite number > 0 mV"):
            LimitRow("median", None, bad)
    assert LimitRow("median", None, 4.0, age_min_years=0.0).age_min_years == 0.0


def test_metadata_that_is_not_a_json_object_is_a_failure_row(tmp_path):
    import h5py

    path = _two_nerve_archive(tmp_path / "meta.h5", muscles=("APB", "APB"))
    with h5py.File(path, "r+") as f:
        f["nerves/metadata_json"][1] = "[1, 2]"
    rows = _lab_bytes(path, NormalLimits.default()).decode().splitlines()
    assert "ArchiveError" not in rows[0] and "ArchiveError" in rows[1] and "metadata" in rows[1]


def test_a_criteria_error_fails_only_its_nerve(archive, monkeypatch):
    from nerveconduct.batch import task as batch_worker

    rule_sets = (get_rule_set("efns-pns-2010-mmn"),)
    clean = _bytes(archive, table="nerve", fmt="jsonl", rule_sets=rule_sets).decode().splitlines()
    real = batch_worker.verdict_cells
    victim = json.loads(clean[7])["study_id"]

    def fails_for_victim(table, *args, **kwargs):
        if victim in table.nerve["study_id"].tolist():
            raise ValueError(f"cannot evaluate {victim}")
        return real(table, *args, **kwargs)

    monkeypatch.setattr(batch_worker, "verdict_cells", fails_for_victim)
    got = _bytes(archive, table="nerve", fmt="jsonl", rule_sets=rule_sets).decode().splitlines()
    assert len(got) == len(clean)
    failed = [k for k, line in enumerate(got) if '"error_type"' in line]
    assert failed == [7] and f"cannot evaluate {victim}" in got[7]
    assert [g for k, g in enumerate(got) if k != 7] == [c for k, c in enumerate(clean) if k != 7]


def _corruptions():
    """One stored value made wrong at a time (name, where, value)."""
    return [("nerves", "sampling_rate_hz", v) for v in (0.0, -5.0, 0.5, 2e7, np.nan, np.inf)] + \
        [("nerves", "temperature_c", v) for v in (-1.0, 60.0, np.inf)] + \
        [("nerves", "low_frequency_filter_hz", v) for v in (-2.0, 1e6)] + \
        [("nerves", "f_wave_latency_ms", v) for v in (0.0, -3.0, 2000.0)] + \
        [("nerves", "stimulus_sample", v) for v in (-1, 10 ** 6)] + \
        [("nerves", "polarity", v) for v in ("sideways", "")] + \
        [("nerves", "nerve", v) for v in ("", "   ")] + \
        [("nerves", "metadata_json", v) for v in ("{", "[1, 2]", "5", '"x"')] + \
        [("sites", "distance_mm", v) for v in (0.0, -40.0, np.inf)] + \
        [("n_samples", None, v) for v in (0, 3)]


@pytest.mark.parametrize("part,key,value", _corruptions())
def test_valid_nerves_guarantees_that_studies_succeed(archive, part, key, value):
    import dataclasses

    from nerveconduct.io.errors import ArchiveError

    with open_archive(archive) as arc:
        chunk = arc.read_chunk(0, 12)
    assert chunk.valid_nerves().all() and len(chunk.studies()) == 12
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
        if key == "f_wave_latency_ms":  # a stored latency counts unless F-waves are "absent"
            absent = table["f_wave_absent"].copy()
            absent[j] = False
            table["f_wave_absent"] = absent
        bad = dataclasses.replace(chunk, **{part: table})
    valid = bad.valid_nerves()
    assert not valid[j] and valid[np.arange(12) != j].all()
    with pytest.raises(ArchiveError, match="nerve"):
        bad.studies()


def test_null_metadata_is_valid_on_both_sides(archive):
    import dataclasses

    with open_archive(archive) as arc:
        chunk = arc.read_chunk(0, 4)
    nerves = dict(chunk.nerves, metadata_json=np.array(["null"] * 4, dtype=object))
    ok = dataclasses.replace(chunk, nerves=nerves)
    assert ok.valid_nerves().all() and [s.metadata for s in ok.studies()] == [{}] * 4
