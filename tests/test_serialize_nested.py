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
from nerveconduct.serialize._nested import ArrowCells, FAST_FLOAT_RANGE, float_array, float_texts, objects_json
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


def _as_list(column, n):
    """An :class:`ArrowCells` column as a list of ``n`` cells."""
    return [column] * n if isinstance(column, str) else column.to_pylist()


def test_arrow_cells_give_the_cells_of_the_cell_rule():
    arrow, plain = ArrowCells("json"), Cells("json")
    for a in (np.array([3.25, float("nan"), 0.0, 12.000000000000002]), np.array([1e-5, -0.0, 70.0]),
              _awkward_floats()[:5000], np.full(100, 2.5), np.full(80, np.nan), np.array([])):
        assert _as_list(arrow.floats(a), len(a)) == plain.floats(a)
    a = _awkward_floats()[:3000]
    assert arrow.floats(a.copy()) is arrow.floats(a)  # one column, formatted once
    assert _as_list(arrow.floats(np.array([-0.0, 0.0])), 2) == ["-0.0", "0.0"]  # not taken for one another
    assert arrow.floats(np.array([-0.0, -0.0])) == "-0.0" and arrow.floats(np.zeros(3)) == "0.0"
    for column in (["wrist"] * 3, [None] * 2, [(), (), ()], [("a", 'b"c')] * 2, ["x", "y", "x"], []):
        assert _as_list(arrow.texts(column), len(column)) == plain.texts(column)
    for ints in (np.array([1, 2, 3]), np.array([7, 7]), np.arange(-5, 200)):
        assert _as_list(arrow.ints(ints), len(ints)) == plain.ints(ints)
    for bools in (np.array([True, False, True]), np.array([False, False])):
        assert _as_list(arrow.bools(bools), len(bools)) == plain.bools(bools)
    for tri in (np.array([-1, 0, 1, 1]), np.array([0, 0])):
        assert _as_list(arrow.tristate(tri), len(tri)) == plain.tristate(tri)


def test_float_array_equals_float_texts_on_long_and_short_columns():
    values = _awkward_floats()
    assert float_array(values, "null").to_pylist() == float_texts(values, "null")
    assert float_array(values[:10], "").to_pylist() == float_texts(values[:10], "")


def test_objects_json_equal_json_dumps_whatever_columns_are_constant():
    rows = [{"a": 1, "b": "x{}", "c": None}, {"a": 2, "b": "x{}", "c": None}]
    cols = [(k, [json.dumps(r[k]) for r in rows]) for k in ("a", "b", "c")]
    assert objects_json(cols) == [json.dumps(r, ensure_ascii=False) for r in rows]
    assert objects_json([(k, v) for k, v in cols if k != "a"]) == [json.dumps({"b": "x{}", "c": None})] * 2
    assert objects_json(cols, close=", ")[0] == '{"a": 1, "b": "x{}", "c": null, '


def test_quoted_sentences_equal_json_strings():
    from nerveconduct.serialize._nested_verdicts import _quoted

    for column in (["a", 'b"c', None], ["x\\y", "z"], ["tab\there", "ok"], ["\u2265 50%", "\u2013", None],
                   ["a\x7f\u2028", "b"], ["same"] * 3, [None, None]):
        got = _quoted(column)
        got = [got] * len(column) if isinstance(got, str) else got.to_pylist()
        assert got == [None if t is None else json.dumps(t, ensure_ascii=False) for t in column]


def test_records_are_the_same_text_whole_in_blocks_and_as_one_buffer(monkeypatch):
    """The nested records of one table read the same as lines, as UTF-8 bytes, as an Arrow
    buffer, and when the table is assembled in blocks of a few nerves."""
    import nerveconduct.serialize._nested as nested
    from nerveconduct.serialize import render

    table = analyze_table(simulate_nerve((70.0, 200.0, 110.0), n_nerves=7, seed=8, sweep_ms=25.0,
                                         site_names=("wrist", "elbow", "axilla")).to_studies()
                          + simulate_nerve((90.0,), nerve="tibial", muscle="AH", n_nerves=2, seed=9,
                                           sweep_ms=25.0).to_studies())
    rule_sets = [get_rule_set("efns-pns-2010-mmn"), get_rule_set("ean-pns-2021-cidp")]
    sources = ["s"] * table.n_nerves
    lines = render(table, "record", "jsonl", sources=sources, verdicts=verdict_cells(table, rule_sets, worded=True))
    assert [json.loads(line)["n_sites"] for line in lines] == [3] * 7 + [1] * 2
    whole = nested.record_block(table, sources=sources, verdicts=verdict_cells(table, rule_sets, worded=True))
    assert whole == "".join(line + "\n" for line in lines).encode("utf-8")
    buffer = nested.record_block(table, sources=sources, verdicts=verdict_cells(table, rule_sets, worded=True),
                                 as_buffer=True)
    assert buffer.to_pybytes() == whole
    monkeypatch.setattr(nested, "_BLOCK_NERVES", 2)
    assert nested.record_block(table, sources=sources, verdicts=verdict_cells(table, rule_sets, worded=True)) == whole
    assert render(table, "record", "jsonl", sources=sources,
                  verdicts=verdict_cells(table, rule_sets, worded=True)) == lines


def test_arrow_cells_take_a_column_at_rows_of_one_formatted_before():
    """A nerve's distal values are its first site's: taken from the site column's cells."""
    sites = np.random.default_rng(2).normal(5.0, 1.0, 200)
    first = np.arange(0, 200, 2)
    cells = ArrowCells("json", picks=(first,))
    site_cells = cells.floats(sites)
    distal = cells.floats(sites[first].copy())
    assert distal.to_pylist() == [repr(x) for x in sites[first].tolist()]
    assert distal.to_pylist() == [site_cells.to_pylist()[i] for i in first.tolist()]


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
    nerve = _as_list(cells.nerve, table.n_nerves)
    segment = _as_list(cells.segment, len(table.segment["index"]))
    worded_nerves = [i for i, c in enumerate(nerve) if c is not None and not slow[i]]  # the rest: per nerve
    if rule_set_id in COLUMN_WORDED:  # the column path, not only its fallback
        assert len(worded_nerves) >= table.n_nerves // 2
    for i in worded_nerves:
        assert "{" + nerve[i] + "}" == want["nerve_record"][i]
    nrow = table.segment["nerve_row"].tolist()
    for k, cell in enumerate(segment):
        if not slow[nrow[k]]:
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
    assert got["nerve_record"].to_pylist() == ["{}"] * table.n_nerves
    assert got["segment_record"].to_pylist() == ["{}"] * len(table.segment["index"])


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
