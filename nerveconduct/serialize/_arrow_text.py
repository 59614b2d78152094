"""Text columns of the typed results tables as Arrow arrays, without converting every row.

Used by :mod:`.arrow` (a task's pieces) and :mod:`.parquet` (each row group's dictionaries).
A batch slice holds ~2 000 rows whose text columns often hold one value throughout (a site
or nerve name, a side, a source, no flags, no entrapment site); pyarrow's converter takes
each row's Python object on its own (~40-80 ns per string, ~15-40 ns per ``None`` or empty
tuple, measured with pyarrow 26 on the benchmark machine). :func:`repeated` and
:func:`constant` recognise such a column with one ``list.count`` (pointer comparison first:
~1 ns per row when the rows share one object, ~20 ns per equal string otherwise) and build
it from one value. Columns with several values are left to pyarrow: finding codes in Python
(``dict.fromkeys`` and a lookup per row) was measured slower than its converter.

:func:`first_appearance` rebuilds a row group's dictionary columns from their integer codes
instead of a string per row hashed again: a row group of the benchmark's tables was made
contiguous in 0.23-0.25 µs per nerve instead of 0.51-0.64 µs (``_canonical`` of
:mod:`.parquet`, one process, best of 9).

Every function returns what the row-by-row conversion gives (``pa.array(values,
type=typ)``; for :func:`first_appearance`, ``dictionary_encode`` of the strings), or
``None`` when its shortcut does not apply: ``tests/test_arrow_text.py`` checks the arrays and
the Parquet bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["repeated", "constant", "first_appearance"]

#: Dictionaries of at most this many values are re-ordered with one comparison pass per
#: value; larger ones are encoded from their strings.
_FEW_VALUES = 16

_INT32 = pa.int32()


def _items(values: Any) -> list[Any] | tuple[Any, ...] | None:
    """``values`` as a Python sequence of its rows (lists and tuples as they are), or None."""
    if isinstance(values, np.ndarray):
        return values.tolist() if values.ndim == 1 else None
    return values if isinstance(values, (list, tuple)) else None


def repeated(values: Any, typ: pa.DataType) -> pa.Array | None:
    """One string in every row, as a dictionary column of type ``typ`` (that string and zero
    indices), or ``None`` when the values differ (or are not all strings).

    Differing first, middle and last values give up before any pass over the rows; the pass
    is ``list.count`` (pointer comparison first, so rows sharing one string object cost ~1 ns).
    """
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
        return None
    n = len(values)
    first, middle, last = values[0], values[n // 2], values[n - 1]
    if not all(type(v) is str for v in (first, middle, last)) or not first == middle == last:
        return None
    items = _items(values)
    if items is None or items.count(first) != n:
        return None
    indices = pa.array(np.zeros(n, dtype=np.int32), type=typ.index_type)
    return pa.DictionaryArray.from_arrays(indices, pa.array([first], type=typ.value_type))


def constant(values: Any, typ: pa.DataType) -> pa.Array | None:
    """Rows that are all ``None`` (null) or, for a ``list<string>`` type, all empty tuples
    (empty lists), as an array of type ``typ`` made without a pass of pyarrow's converter;
    ``None`` otherwise. ``None`` and ``()`` are single objects in Python, so the check is one
    ``list.count`` of pointer comparisons."""
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
        return None
    n = len(values)
    first, last = values[0], values[n - 1]
    if first is None and last is None:
        items = _items(values)
        if items is not None and items.count(None) == n:
            return pa.nulls(n, type=typ)
    elif (pa.types.is_list(typ) and type(first) is tuple and not first
          and type(last) is tuple and not last):
        items = _items(values)
        if items is not None and items.count(()) == n:
            offsets = pa.array(np.zeros(n + 1, dtype=np.int32), type=_INT32)
            return pa.ListArray.from_arrays(offsets, pa.array([], type=typ.value_type),
                                            type=typ)
    return None


def first_appearance(column: pa.ChunkedArray, typ: pa.DataType) -> pa.Array | None:
    """A dictionary column's chunks as one array of type ``typ`` whose dictionary holds the
    values that occur, in order of first appearance: what
    ``column.cast(string).combine_chunks().dictionary_encode()`` gives, from the codes
    (no string per row). ``None`` when the chunks' dictionaries hold nulls or repeated
    values, or many values (the caller then encodes the strings).
    """
    if column.num_chunks == 0 or len(column) == 0 or column.type != typ:
        return None
    unified = column.unify_dictionaries()
    dictionary = unified.chunk(0).dictionary
    n_values = len(dictionary)
    if dictionary.null_count or not 0 < n_values <= _FEW_VALUES:
        return None
    if n_values > 1 and len(dictionary.unique()) != n_values:
        return None
    indices = pa.concat_arrays([c.indices for c in unified.chunks])
    if n_values == 1 and not indices.null_count:  # one value in every row: codes all 0
        return pa.DictionaryArray.from_arrays(indices.cast(typ.index_type), dictionary)
    codes = indices.fill_null(-1).to_numpy() if indices.null_count else indices.to_numpy()
    n = len(codes)
    first = np.full(n_values, n, dtype=np.int64)  # each value's first row (n: none)
    for k in range(n_values):  # a few passes of comparisons: no sort
        at = int(np.argmax(codes == k))
        if codes[at] == k:
            first[k] = at
    order = np.argsort(first, kind="stable")[:int(np.count_nonzero(first < n))]
    if len(order) == 0:  # every row null: left to the strings' encoding
        return None
    remap = np.zeros(n_values, dtype=codes.dtype)
    remap[order] = np.arange(len(order), dtype=codes.dtype)
    missing = codes < 0
    new = remap[np.where(missing, 0, codes)]
    index = (pa.array(new, type=typ.index_type, mask=missing) if indices.null_count
             else pa.array(new, type=typ.index_type))
    return pa.DictionaryArray.from_arrays(index, dictionary.take(pa.array(order)))
