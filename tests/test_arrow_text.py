"""Text columns of the typed results tables built without a Python string per row
(``serialize/_arrow_text.py``): the arrays of pyarrow's row-by-row conversion, and Parquet
files byte for byte the same as with the strings re-encoded."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.serialize import arrow as arrow_module
from nerveconduct.serialize import parquet as parquet_module
from nerveconduct.serialize import verdict_cells
from nerveconduct.serialize._arrow_text import constant, first_appearance, repeated
from nerveconduct.serialize.arrow import CATEGORY, TEXT, TEXTS

CRITERIA = ("efns-pns-2010-mmn", "ean-pns-2021-cidp")


def _objects(values):
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@pytest.mark.parametrize("typ", [CATEGORY, TEXTS, TEXT])
def test_constant_columns_are_the_converted_arrays(typ):
    shared = "wrist"
    cases = [[None] * 7, _objects([None] * 3), [()] * 5, _objects([()] * 4), (None, None),
             [shared] * 6, _objects(["".join(["wr", "ist"]) for _ in range(5)])]
    for values in cases:
        try:
            expected = pa.array(list(values), type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            continue  # e.g. tuples in a string column: not a case of this type
        got = repeated(values, typ) if pa.types.is_dictionary(typ) else None
        got = got if got is not None else constant(values, typ)
        if got is None:  # only strings in a dictionary column, None and () are shortcuts
            assert not pa.types.is_dictionary(typ) and values[0] is not None
            continue
        assert got.type == expected.type and got.equals(expected), (typ, values)


def test_constant_gives_up_unless_one_missing_or_empty_value_fills_the_column():
    for values in ([None, "a", None], [(), ("x",), ()], [None, ()], [], [(), None],
                   _objects([None, 1.0, None]), [("a",)] * 3):
        assert constant(values, TEXTS) is None, values
    assert constant([()] * 3, CATEGORY) is None  # an empty tuple is no string


def _chunks(rng, n_chunks, words, p_null):
    out = []
    for _ in range(n_chunks):
        n = int(rng.integers(0, 300))
        values = [None if rng.random() < p_null else str(rng.choice(words)) for _ in range(n)]
        out.append(pa.array(values, type=CATEGORY))  # its own dictionary per chunk
    return pa.chunked_array(out, type=CATEGORY)


def _reencoded(column):
    out = column.cast(pa.string()).combine_chunks().dictionary_encode()
    return out.cast(CATEGORY) if out.type != CATEGORY else out


@pytest.mark.parametrize("seed", range(6))
def test_first_appearance_is_the_dictionary_of_the_strings(seed):
    rng = np.random.default_rng(seed)
    words = ["normal", "abnormal", "not assessable", "é", ""][: 1 + seed % 5]
    column = _chunks(rng, 1 + seed, words, p_null=(0.0, 0.3, 1.0)[seed % 3])
    got = first_appearance(column, CATEGORY)
    if len(column) == 0:
        assert got is None
        return
    expected = _reencoded(column)
    if len(expected.dictionary) == 0:  # every row null: no dictionary to re-order
        assert got is None
        return
    assert got.type == CATEGORY and got.equals(expected)
    assert got.dictionary.to_pylist() == expected.dictionary.to_pylist()


def test_first_appearance_leaves_repeated_or_null_dictionary_values_to_the_strings():
    indices = pa.array([0, 1, 2], type=pa.int32())
    repeated_values = pa.DictionaryArray.from_arrays(indices, pa.array(["a", "b", "a"]))
    with_null = pa.DictionaryArray.from_arrays(indices, pa.array(["a", None, "b"]))
    for array in (repeated_values, with_null):
        assert first_appearance(pa.chunked_array([array]), CATEGORY) is None
    many = pa.array([f"w{i}" for i in range(40)], type=CATEGORY)  # over the few-values pass
    assert first_appearance(pa.chunked_array([many]), CATEGORY) is None


def _file_bytes(tmp_path, name, table, kind, pieces):
    path = tmp_path / f"{name}.parquet"
    writer = parquet_module.ParquetRowGroups(path, table.schema, kind)
    edges = np.linspace(0, table.num_rows, pieces + 1).astype(int)
    for a, b in zip(edges[:-1], edges[1:]):
        writer.write(table.slice(a, b - a), np.zeros(b - a, dtype=np.int64))
    writer.close()
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["segment", "nerve", "site"])
def test_tables_and_files_equal_the_row_by_row_conversion(kind, tmp_path, monkeypatch):
    """Shortcuts on (arrays from one value, row groups from codes) against every shortcut
    off (pyarrow converting each row, the strings re-encoded per row group)."""
    from _golden import varied_studies

    studies = varied_studies()
    for name, group in (("varied", studies), ("same", [studies[0]] * 40)):
        table = analyze_nerves(group)[0].table
        verdicts = verdict_cells(table, CRITERIA, reasons=False) if kind != "site" else None
        kwargs = dict(sources=["a.h5"] * table.n_nerves, verdicts=verdicts,
                      blank_single_site=kind == "segment")
        fast = arrow_module.arrow_table(table, kind, **kwargs)
        fast_bytes = _file_bytes(tmp_path, f"{kind}-{name}-fast", fast, kind, pieces=3)
        with monkeypatch.context() as m:
            m.setattr(arrow_module, "_repeated", lambda values, typ: None)
            m.setattr(arrow_module, "constant", lambda values, typ: None)
            m.setattr(parquet_module, "first_appearance", lambda column, typ: None)
            slow = arrow_module.arrow_table(table, kind, **kwargs)
            slow_bytes = _file_bytes(tmp_path, f"{kind}-{name}-slow", slow, kind, pieces=3)
        assert fast.schema == slow.schema and fast.equals(slow), (kind, name)
        assert fast_bytes == slow_bytes, (kind, name)
