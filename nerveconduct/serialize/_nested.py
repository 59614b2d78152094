"""The nested nerve records (``kind="record"`` of :func:`~.rows.render`), assembled column by column.

Private. The same text as the row builder's flat rows and cells, byte for byte (the cell rule
of :class:`~.cells.Cells`), put together in Arrow rather than per nerve in Python:

- every field becomes an Arrow string column of JSON values (:class:`ArrowCells`): floats by
  Arrow's float-to-text cast where that writes what ``repr`` writes (:func:`float_array`), each
  column equal bit for bit to one already formatted (a nerve's distal latency and its first
  site's onset, a two-site nerve's segment values against the distal site and against the
  previous site, ...) formatted once; a column holding one text in every row is one Python
  string, written into the literal text between the columns;
- the objects (a site, a segment, the limits, the nerve's fields) are joined element-wise
  (``binary_join_element_wise``) and the sites and segments of a nerve joined by its list
  offsets (``binary_join``), so no Python string is made per value or per record; the
  records of a batch slice are the value buffer of the last join (:func:`record_block`).
"""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cells import Cells

__all__ = ["FAST_FLOAT_RANGE", "Column", "float_texts", "float_array", "ArrowCells", "as_column", "as_array",
           "join_columns", "objects_json", "records", "record_block"]


#: Magnitudes that Arrow's float-to-text cast writes as Python's ``repr`` does, once an
#: integral value gets its ``.0``: the shortest text that reads back as the same number,
#: without an exponent (``repr`` uses one below 1e-4 and from 1e16; Arrow from 1e10, and
#: below 1e-4 it differs too: ``0.00001`` for ``1e-05``). Measured, not documented by Arrow:
#: equal to ``repr`` on 1.2 million values across this range (random mantissas in every
#: decade, integers, random bit patterns); ``tests/test_serialize_nested.py`` keeps a sample.
FAST_FLOAT_RANGE = (1e-4, 1e9)
#: Columns shorter than this are formatted by ``repr`` (an Arrow cast costs a few µs).
_ARROW_MIN_VALUES = 64


#: A record block's nerves: the text of a block stays far below Arrow's 2 GiB per string column.
_BLOCK_NERVES = 16384

#: A column of JSON values: an Arrow string array, or one text standing for every row.
Column = Union[pa.Array, str]


def _repr_texts(arr: np.ndarray, none: str) -> list[str]:
    """``repr`` of each number, ``none`` for NaN and ±inf (:meth:`Cells.floats`, value by value)."""
    out = list(map(repr, arr.tolist()))
    for k in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[k] = none
    return out


def float_array(values: np.ndarray, none: str) -> pa.Array:
    """``repr`` of each number of a float array (``none`` for NaN and ±inf) as an Arrow string
    array: the cell rule of :meth:`Cells.floats`, written by Arrow's float-to-text cast where
    that gives the same text (within :data:`FAST_FLOAT_RANGE`, ``.0`` added to integral values)
    and by ``repr`` elsewhere (zeros, tiny and huge values, and columns too short for a cast)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < _ARROW_MIN_VALUES:  # a few values (one nerve's record): Arrow's fixed cost dominates
        return pa.array(_repr_texts(arr, none), pa.string())
    lo, hi = FAST_FLOAT_RANGE
    with np.errstate(invalid="ignore"):
        size = np.abs(arr)
        fast = (size >= lo) & (size < hi)  # False for NaN
        integral = fast & (arr == np.trunc(arr))
    if not fast.any():
        return pa.array(_repr_texts(arr, none), pa.string())
    texts = pc.cast(pa.array(arr), pa.string())
    if integral.any():  # Arrow writes 70 where repr writes 70.0
        texts = pc.if_else(pa.array(integral), pc.binary_join_element_wise(texts, ".0", ""), texts)
    if not fast.all():
        slow = ~fast
        texts = pc.replace_with_mask(texts, pa.array(slow),
                                     pa.array(_repr_texts(arr[slow], none), pa.string()))
    return texts


def float_texts(values: np.ndarray, none: str) -> list[str]:
    """:func:`float_array` as a list of Python strings (``repr`` of each number, ``none`` for
    NaN and ±inf: :meth:`Cells.floats`)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < _ARROW_MIN_VALUES:
        return _repr_texts(arr, none)
    return float_array(arr, none).to_pylist()


class ArrowCells(Cells):
    """:class:`~.cells.Cells` whose columns are Arrow string arrays of the same cells, or one
    Python string when every row holds the same cell (:data:`Column`).

    A float column equal bit for bit to one formatted before by this object (a two-site
    nerve's segment values against the distal site and against the previous site, ...)
    gets the same array; so does one equal to such a column taken at the rows of one of
    ``picks`` (a nerve's distal values are its first site's; a segment's amplitudes and
    distances, its sites'), whose cells are then taken, not formatted again.
    """

    def __init__(self, fmt: str, picks: Sequence[np.ndarray] = ()) -> None:
        super().__init__(fmt)
        self._columns: dict[bytes, Any] = {}
        self._picks = [(len(p) and int(np.max(p)), np.asarray(p, dtype=np.int64)) for p in picks]

    def floats(self, values: np.ndarray) -> Column:  # type: ignore[override]
        """Numbers at full precision; NaN and ±inf as missing (see :meth:`Cells.floats`)."""
        arr = np.asarray(values, dtype=float)
        key = arr.tobytes()
        col = self._columns.get(key)
        if isinstance(col, tuple):  # a column formatted before, at some of its rows
            texts, rows = col
            col = self._columns[key] = pc.take(texts, pa.array(rows))
        if col is None:
            bits = arr.view(np.int64)
            if len(arr) and (bits == bits[0]).all():  # one number (or NaN) in every row
                col = self.one(float(arr[0]))
            elif len(arr) and not np.isfinite(arr).any():
                col = self.none
            else:
                col = float_array(arr, self.none)
                for top, rows in self._picks:
                    if len(rows) and top < len(arr):
                        self._columns.setdefault(arr[rows].tobytes(), (col, rows))
            self._columns[key] = col
        return col

    def ints(self, values: np.ndarray) -> Column:  # type: ignore[override]
        """Integers."""
        arr = np.asarray(values).astype(np.int64)
        if len(arr) and (arr == arr[0]).all():
            return str(int(arr[0]))
        return pc.cast(pa.array(arr), pa.string())

    def bools(self, values: np.ndarray) -> Column:  # type: ignore[override]
        """``true`` / ``false``."""
        arr = np.asarray(values, dtype=bool)
        if len(arr) and (arr == arr[0]).all():
            return "true" if arr[0] else "false"
        return pc.if_else(pa.array(arr), "true", "false")

    def tristate(self, values: np.ndarray) -> Column:  # type: ignore[override]
        """-1 unknown (missing), 0 ``false``, 1 ``true``."""
        return as_column(super().tristate(values))

    def texts(self, values: Any) -> Column:  # type: ignore[override]
        """Strings (``None`` allowed) or tuples/lists of strings (see :meth:`Cells.texts`)."""
        values = values if isinstance(values, list) else list(values)
        n = len(values)
        if n and not isinstance(values[0], list) and values.count(values[0]) == n:
            return self.one(values[0])
        return as_column(super().texts(values))


def as_column(values: Any) -> Column:
    """A column of cells (a list of texts, an Arrow string array, or one text): one text when
    a list holds the same text in every row."""
    if isinstance(values, (str, pa.Array)):
        return values
    values = values if isinstance(values, list) else list(values)
    if values and values.count(values[0]) == len(values) and values[0] is not None:
        return values[0]
    return pa.array(values, pa.string())


def as_array(values: Any, n: int | None = None) -> pa.Array:
    """A column of cells as an Arrow string array (``n`` rows of one text)."""
    if isinstance(values, str):
        return pa.array([values] * (n or 0), pa.string())
    if isinstance(values, pa.Array):
        return values
    return pa.array(list(values), pa.string())


def join_columns(pieces: Sequence[Column]) -> Column:
    """Element-wise concatenation of columns and texts (one text when there is no array; a
    missing value where any array has one)."""
    merged: list[Column] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif not (isinstance(piece, str) and not piece):
            merged.append(piece)
    if not any(isinstance(p, pa.Array) for p in merged):
        return "".join(merged)  # type: ignore[arg-type]
    return pc.binary_join_element_wise(*merged, "")


def _objects(columns: Sequence[tuple[str, Column]], close: str = "}") -> Column:
    """JSON objects, one per row, from columns of JSON values (key order as given), each ended
    by ``close`` (another text leaves it open for what follows)."""
    pieces: list[Column] = []
    for i, (key, values) in enumerate(columns):
        pieces += [('{"' if i == 0 else ', "') + key + '": ', values]
    return join_columns(pieces + [close] if pieces else ["{" + close])


def objects_json(columns: Sequence[tuple[str, list[str]]], close: str = "}") -> list[str]:
    """JSON objects, one per row, from rendered cells (key order as given): the text of
    ``{"k1": v1, "k2": v2, ...}`` formatted row by row. ``close`` ends each object."""
    if not columns:
        return []
    n = len(columns[0][1])
    joined = _objects([(key, as_column(values)) for key, values in columns], close)
    return [joined] * n if isinstance(joined, str) else joined.to_pylist()


def _per_nerve(items: Column, offsets: np.ndarray, n_items: int) -> pa.Array:
    """The items of each nerve (rows ``offsets[j]:offsets[j + 1]``) joined by ``", "``."""
    if isinstance(items, str):
        items = pa.array([items] * n_items, pa.string())
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), items)
    return pc.binary_join(lists, ", ")


def _record_column(t: Any, ident: dict[str, list[str]], vcells: dict[str, Any], keep_identifiers: bool,
                   end: str) -> Column:
    """Every nested record of ``t`` (arguments as for :func:`records`), each ended by ``end``."""
    from ..analysis import LIMIT_COLUMNS, LIMIT_KEYS
    from . import _fields as r

    n = t.n_nerves
    n_sites = t.nerve["n_sites"].astype(np.int64)
    first = t.nerve["first_row"].astype(np.int64)
    seg_rows = np.asarray(t.segment["row"], dtype=np.int64)  # the site row of each segment's proximal site
    cells = ArrowCells("json", picks=(first, seg_rows, seg_rows - 1))
    if n and not (np.array_equal(first[1:], first[:-1] + n_sites[:-1]) and first[0] == 0):
        raise ValueError("the table's sites are not stored nerve by nerve")
    site_offsets = np.concatenate([first, [first[-1] + n_sites[-1]]]) if n else np.zeros(1, np.int64)
    seg_offsets = site_offsets - np.arange(n + 1)
    nerve = r._nerve_cells(t, cells)
    site = r._site_cells(t, cells)
    seg = r._segment_cells(t, cells)
    site_json = _objects([(k, site[k]) for k in r._SITE_FIELDS])
    seg_verdicts = vcells.get("segment_record")
    seg_json = _objects([(k, seg[k]) for k in r._SEGMENT_FIELDS], close=', "verdicts": ')
    seg_json = join_columns([seg_json, "{}" if seg_verdicts is None else as_column(seg_verdicts), "}"])
    limits = []
    for key in LIMIT_KEYS:
        sub = _objects([("measure", cells.one(LIMIT_COLUMNS[key][3]))]
                       + [(f, nerve[f"{key}_{f}"]) for f in r._LIMIT_FIELDS[1:]])
        limits.append((key, sub))
    columns: list[tuple[str, Column]] = [(c, as_column(ident[c])) for c in ("nerve_index",) if c in ident]
    columns += [("record", '"nerve"'), ("schema_version", str(r.SCHEMA_VERSION))]
    columns += [(c, as_column(ident[c])) for c in r._with_identifiers(r.IDENTITY_COLUMNS, keep_identifiers)]
    columns += [(c, nerve[c]) for c in (*r._NERVE_FIELDS, *r._NERVE_RECORD_FIELDS)]
    columns += [("limits", _objects(limits)), ("flags", nerve["flags"])]
    nerve_verdicts = vcells.get("nerve_record")
    return join_columns([_objects(columns, close=', "sites": ['),
                  _per_nerve(site_json, site_offsets, int(site_offsets[-1])), '], "segments": [',
                  _per_nerve(seg_json, seg_offsets, int(seg_offsets[-1])), '], "verdicts": ',
                  "{}" if nerve_verdicts is None else as_column(nerve_verdicts), end])


def _blocks(t: Any, ident: dict[str, list[str]], vcells: dict[str, list[str]]) -> Any:
    """``(table, ident, vcells)`` of at most :data:`_BLOCK_NERVES` nerves each, in nerve order."""
    n = t.n_nerves
    if n <= _BLOCK_NERVES:
        yield t, ident, vcells
        return
    seg_start = (t.nerve["first_row"] - np.arange(n)).tolist() + [len(t.segment["index"])]
    for a in range(0, n, _BLOCK_NERVES):
        b = min(a + _BLOCK_NERVES, n)
        cut = {k: v[a:b] for k, v in ident.items()}
        sub = {k: (v[a:b] if k == "nerve_record" else v[seg_start[a]:seg_start[b]]) for k, v in vcells.items()}
        yield t.take(np.arange(a, b)), cut, sub


def _record_pieces(t: Any, ident: dict[str, list[str]], vcells: dict[str, Any], keep_identifiers: bool,
                   end: str) -> Any:
    """Per block of nerves: the records of :func:`records` as an Arrow string array, or one
    text standing for each of the block's ``n`` records, as ``(column, n)``."""
    for block, block_ident, block_vcells in _blocks(t, ident, vcells):
        if block.n_nerves:
            yield _record_column(block, block_ident, block_vcells, keep_identifiers, end), block.n_nerves


def _utf8(col: Column, n: int) -> Any:
    """The UTF-8 text of every value of a column, one after the other, as a buffer (the
    array's own values: no copy)."""
    if isinstance(col, str):
        return pa.py_buffer(col.encode() * n)
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32, count=len(col) + 1, offset=4 * col.offset)
    return col.buffers()[2][int(offsets[0]):int(offsets[-1])]


def records(t: Any, ident: dict[str, list[str]], vcells: dict[str, Any], keep_identifiers: bool,
            joined: bool = False) -> Any:
    """The nested nerve records (JSON) of table ``t``: what :func:`~.rows.render` writes for
    ``kind="record"`` (``ident``: the identity cells; ``vcells``: the verdict cells, lists of
    texts or Arrow string arrays).

    ``joined=True`` returns every record of the table as UTF-8 bytes instead, each ending in
    a newline (what a batch task writes): the value buffer of the records' Arrow column.
    """
    if joined:
        return b"".join(_utf8(col, n).to_pybytes() for col, n in _record_pieces(t, ident, vcells, keep_identifiers,
                                                                                 "}\n"))
    out: list[str] = []
    for col, n in _record_pieces(t, ident, vcells, keep_identifiers, "}"):
        out += [col] * n if isinstance(col, str) else col.to_pylist()
    return out


def record_block(t: Any, *, sources: Sequence[Any], verdicts: Any = None, extra: dict | None = None,
                 keep_identifiers: bool = False, as_buffer: bool = False) -> Any:
    """Every nested record of ``t`` as UTF-8 bytes, each record ending in a newline: the lines
    of :func:`~.rows.render` (``kind="record"``, JSON) encoded, without making each line
    first. Arguments as for :func:`~.rows.render`; ``as_buffer=True`` returns a
    :class:`pyarrow.Buffer` of the same bytes (the records' own Arrow memory, not copied into
    a ``bytes`` object: ~0.7 µs per kB)."""
    from . import _fields as r

    cells = Cells("json")
    ident = r._identity(t, cells, sources, keep_identifiers)
    ident.update(extra or {})
    vcells = verdicts.record_cells(cells) if verdicts is not None else {}
    if not as_buffer:
        return records(t, ident, vcells, keep_identifiers, joined=True)
    pieces = [_utf8(col, n) for col, n in _record_pieces(t, ident, vcells, keep_identifiers, "}\n")]
    if len(pieces) == 1:
        return pieces[0]
    return pa.py_buffer(b"".join(p.to_pybytes() for p in pieces))
