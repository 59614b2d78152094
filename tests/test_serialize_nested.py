"""The nested nerve records written column by column (serialize._nested, serialize._nested_verdicts)
give the same text as the per-nerve verdict objects and the cell rule's ``repr`` of floats."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nerveconduct.analysis import analyze_table, views
from nerveconduct.criteria import list_rule_sets
from nerveconduct.criteria.registry import get_rule_set
from nerveconduct.serialize._nested import FAST_FLOAT_RANGE, MemoCells, float_texts, objects_json
from nerveconduct.serialize._nested_verdicts import _RuleSetCells, record_verdict_cells
from nerveconduct.serialize.cells import Cells
from nerveconduct.serialize.verdicts import VerdictCells, _evaluated, verdict_cells
from nerveconduct.criteria.columns import nerve_frame, segment_frame
from nerveconduct.simulate.nerve import simulate_nerve


# ------------------------------------------------------------------------------ floats
def _awkward_floats() -> np.ndarray:
    rng = np.random.default_rng(5)
    lo, hi = FAST_FLOAT_RANGE
    values = [0.0, -0.0, 1.0, -1.0, 70.0, 232.5, 0.1, 0.30000000000000004, 5e-324, 1.7976931348623157e308,
              float("nan"), float("inf"), -float("inf"), lo, hi, np.nextafter(lo, 0.0), np.nextafter(lo, 1.0),
              np.nextafter(hi, 0.0), np.nextafter(hi, 2 * hi), 1e-5, 1.5e-7, 1e15, 1e16, 1e22, 123456789.0]
    for e in range(-8, 21):  # every decade, integral and not, both signs
        x = rng.random(300) * 10.0 ** e
        values += x.tolist() + (-x).tolist() + np.round(x).tolist()
    bits = rng.integers(0, 2 ** 63, 20000, dtype=np.uint64).view(np.float64)  # any bit pattern
    values += bits.tolist()
    return np.array(values, dtype=float)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_float_texts_equal_the_cell_rule_repr(fmt):
    values = _awkward_floats()
    cells = Cells(fmt)
    want = [repr(x) if math.isfinite(x) else cells.none for x in values.tolist()]
    assert float_texts(values, cells.none) == want
    assert float_texts(values[:0], cells.none) == []


def test_float_texts_of_float32_columns_equal_repr_of_their_float64_values():
    values = np.random.default_rng(1).normal(5.0, 3.0, 500).astype(np.float32)
    assert float_texts(values, "null") == [repr(float(x)) for x in values.tolist()]


def test_memo_cells_give_the_cells_of_the_cell_rule():
    memo, plain = MemoCells("json"), Cells("json")
    a = np.array([3.25, float("nan"), 0.0, 12.000000000000002])
    assert memo.floats(a) == plain.floats(a)
    assert memo.floats(a.copy()) is memo.floats(a)  # one column, formatted once
    assert memo.floats(np.array([-0.0, 0.0])) == ["-0.0", "0.0"]  # not taken for one another
    for column in (["wrist"] * 3, [None] * 2, [(), (), ()], [("a", 'b"c')] * 2, ["x", "y", "x"], []):
        assert memo.texts(column) == plain.texts(column)


def test_objects_json_equal_json_dumps_whatever_columns_are_constant():
    rows = [{"a": 1, "b": "x{}", "c": None}, {"a": 2, "b": "x{}", "c": None}]
    cols = [(k, [json.dumps(r[k]) for r in rows]) for k in ("a", "b", "c")]
    assert objects_json(cols) == [json.dumps(r, ensure_ascii=False) for r in rows]
    assert objects_json([(k, v) for k, v in cols if k != "a"]) == [json.dumps({"b": "x{}", "c": None})] * 2
    assert objects_json(cols, close=", ")[0] == '{"a": 1, "b": "x{}", "c": null, '


# ------------------------------------------------------------------------------ verdicts
def _varied_table():
    """Nerves on which both paths word verdicts: blocks, adjacent and from-distal comparisons,
    several nerves and site counts (the golden archive adds every rare branch)."""
    groups = [
        simulate_nerve((70.0, 200.0), n_nerves=12, seed=21, block={1: 0.55}, sweep_ms=25.0),
        simulate_nerve((70.0, 200.0), n_nerves=12, seed=22, sweep_ms=25.0),
        simulate_nerve((70.0, 80.0, 100.0), nerve="ulnar", muscle="ADM", n_nerves=8, seed=23,
                       site_names=("wrist", "below elbow", "above elbow"), sweep_ms=30.0),
        simulate_nerve((80.0, 250.0, 150.0), nerve="fibular", muscle="EDB", n_nerves=8, seed=24,
                       site_names=("ankle", "below fibular head", "popliteal fossa"), block={2: 0.6}),
        simulate_nerve((70.0, 230.0, 120.0), n_nerves=8, seed=25, site_names=("wrist", "elbow", "axilla"),
                       block={2: 0.4}, sweep_ms=25.0),
        simulate_nerve((90.0,), nerve="tibial", muscle="AH", n_nerves=3, seed=26, sweep_ms=25.0),
    ]
    studies = [s for g in groups for s in g.to_studies()]
    return analyze_table(studies)


RULE_SET_IDS = [info.id for info in list_rule_sets()]
#: Rule sets whose every sentence the column-wise wording covers on plain nerves (the others:
#: ratio bands, and EFNS/PNS 2010 CIDP's DML caveat and duration cut-offs, are worded per nerve).
COLUMN_WORDED = ("aan-1991", "ean-pns-2021-cidp", "efns-pns-2010-mmn", "textbook-20pct")


@pytest.mark.parametrize("rule_set_id", RULE_SET_IDS)
def test_record_verdicts_from_columns_equal_the_verdict_objects(rule_set_id):
    """Every nerve and segment the column path words reads as the objects' cells, byte for byte."""
    table = _varied_table()
    rs = get_rule_set(rule_set_id)
    want = VerdictCells(table, [rs.id], worded=_evaluated(table, [rs])).cells("record", Cells("json"))
    slow = np.zeros(table.n_nerves, dtype=bool)
    cells = _RuleSetCells(rs, table, segment_frame(table), nerve_frame(table), slow)
    worded_nerves = [i for i, c in enumerate(cells.nerve) if c is not None]
    if rule_set_id in COLUMN_WORDED:  # the column path, not only its fallback
        assert len(worded_nerves) >= table.n_nerves // 2
    for i in worded_nerves:
        assert "{" + cells.nerve[i] + "}" == want["nerve_record"][i]
    nrow = table.segment["nerve_row"].tolist()
    for k, cell in enumerate(cells.segment):
        if cell is not None and not slow[nrow[k]]:
            assert "{" + cell + "}" == want["segment_record"][k]


def test_record_verdict_cells_with_fallback_equal_the_objects_for_every_rule_set():
    table = _varied_table()
    rule_sets = [get_rule_set(i) for i in RULE_SET_IDS]
    want = VerdictCells(table, RULE_SET_IDS, worded=_evaluated(table, rule_sets)).cells("record", Cells("json"))
    got = verdict_cells(table, rule_sets, worded=True).cells("record", Cells("json"))
    assert got == want


def test_record_verdict_cells_without_rule_sets_are_empty_objects():
    table = _varied_table()
    got = record_verdict_cells(table, [], lambda sub: pytest.fail("no fallback expected"))
    assert got["nerve_record"] == ["{}"] * table.n_nerves
    assert got["segment_record"] == ["{}"] * len(table.segment["index"])


def test_views_are_made_only_for_the_nerves_worded_per_nerve(monkeypatch):
    """A table of plain two-site nerves is worded from the columns alone: no verdict objects."""
    table = analyze_table(simulate_nerve((70.0, 200.0), n_nerves=6, seed=3, sweep_ms=25.0).to_studies())
    import nerveconduct.serialize.verdicts as sv

    monkeypatch.setattr(sv, "_evaluated", lambda *a, **k: pytest.fail("verdict objects made"))
    cells = verdict_cells(table, [get_rule_set("efns-pns-2010-mmn")], worded=True).cells("record", Cells("json"))
    assert len(cells["nerve_record"]) == 6 and all(json.loads(c) for c in cells["nerve_record"])
    assert views(table)  # the table itself is fine for the object path too


def test_task_output_in_zstandard_pieces_streams_in_bounded_pieces():
    """A task's nested records come back compressed and read back whole, piece by piece."""
    import dataclasses

    from nerveconduct.batch.encoding import ChunkOutput, Encoder

    if "sizes" not in {f.name for f in dataclasses.fields(ChunkOutput)}:
        pytest.skip("this encoder keeps the output as one zlib stream")
    enc = Encoder("jsonl", (), compress=True, kind="record")
    first = b"".join(b'{"nerve_index": %d, "text": "\xe2\x89\xa5 50%%"}\n' % i for i in range(20000))
    enc.add([{"nerve_index": -1}])  # a failure row first: the order is kept
    enc.add_rendered(first)
    enc.add_lines(['{"nerve_index": 20000}'])
    data = enc.finish()
    out = ChunkOutput(0, 20002, 40004, 1, data, compressed=True, sizes=tuple(enc.sizes))
    assert sum(map(len, data)) < len(first) // 4
    pieces = list(out.chunks(size=4096))
    assert max(map(len, pieces)) <= 4096
    assert b"".join(pieces) == b'{"nerve_index": -1}\n' + first + b'{"nerve_index": 20000}\n'


def test_record_verdicts_of_single_site_nerves_only_equal_the_objects():
    table = analyze_table(simulate_nerve((90.0,), nerve="tibial", muscle="AH", n_nerves=3, seed=4,
                                         sweep_ms=25.0).to_studies())
    rule_sets = [get_rule_set(i) for i in RULE_SET_IDS]
    want = VerdictCells(table, RULE_SET_IDS, worded=_evaluated(table, rule_sets)).cells("record", Cells("json"))
    assert verdict_cells(table, rule_sets, worded=True).cells("record", Cells("json")) == want
    assert want["segment_record"] == []
