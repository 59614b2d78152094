"""The nested nerve records (``kind="record"`` of :func:`~.rows.render`), assembled column by column.

Private. The same text as the row builder's flat rows and cells, byte for byte (the cell rule
of :class:`~.cells.Cells`), put together per column rather than per nerve:

- each float column is formatted once (``repr`` of the values, by the cell rule) and a
  column whose values equal, bit for bit, those of a column already formatted in the same
  records (a nerve's distal latency and its first site's onset, a two-site nerve's segment
  values against the distal site and against the previous site, ...) takes those cells;
- the key and value of a column that holds one text in every row of the table (a unit, a
  source, ``"present": true``) are written into the row template once, so the per-row
  formatting fills only the columns that vary.
"""

from __future__ import annotations

from typing import Any, Sequence

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cells import Cells

__all__ = ["FAST_FLOAT_RANGE", "float_texts", "MemoCells", "objects_json", "records", "record_block"]


#: Magnitudes that Arrow's float-to-text cast writes as Python's ``repr`` does, once an
#: integral value gets its ``.0``: the shortest text that reads back as the same number,
#: without an exponent (``repr`` uses one below 1e-4 and from 1e16; Arrow from 1e10, and
#: below 1e-4 it differs too: ``0.00001`` for ``1e-05``). Measured, not documented by Arrow:
#: equal to ``repr`` on 1.2 million values across this range (random mantissas in every
#: decade, integers, random bit patterns); ``tests/test_serialize_nested.py`` keeps a sample.
FAST_FLOAT_RANGE = (1e-4, 1e9)
#: Columns shorter than this are formatted by ``repr`` (an Arrow cast costs a few µs).
_ARROW_MIN_VALUES = 64


def _repr_texts(arr: np.ndarray, none: str) -> list[str]:
    """``repr`` of each number, ``none`` for NaN and ±inf (:meth:`Cells.floats`, value by value)."""
    out = list(map(repr, arr.tolist()))
    for k in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[k] = none
    return out


def float_texts(values: np.ndarray, none: str) -> list[str]:
    """``repr`` of each number of a float array (``none`` for NaN and ±inf), the cell rule of
    :meth:`Cells.floats`, formatted by Arrow's cast where that gives the same text (a few
    times cheaper than ``repr``) and by ``repr`` elsewhere (zeros, tiny and huge values)."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < _ARROW_MIN_VALUES:  # a few values (one nerve's record): Arrow's fixed cost dominates
        return _repr_texts(arr, none)
    lo, hi = FAST_FLOAT_RANGE
    with np.errstate(invalid="ignore"):
        size = np.abs(arr)
        fast = (size >= lo) & (size < hi)  # False for NaN
        integral = fast & (arr == np.trunc(arr))
    if not fast.any():
        return _repr_texts(arr, none)
    texts = pc.cast(pa.array(arr), pa.string())
    if integral.any():  # Arrow writes 70 where repr writes 70.0
        texts = pc.if_else(pa.array(integral), pc.binary_join_element_wise(texts, ".0", ""), texts)
    out = texts.to_pylist()
    if not fast.all():
        for k in np.flatnonzero(~fast).tolist():
            x = float(arr[k])
            out[k] = repr(x) if math.isfinite(x) else none
    return out


class MemoCells(Cells):
    """:class:`~.cells.Cells` that formats float columns column-wise, each distinct column and
    each constant text column once.

    Floats are written by :func:`float_texts` (the same text as :meth:`Cells.floats`); a
    float column equal bit for bit to one formatted before by this object (a two-site
    nerve's segment values against the distal site and against the previous site, ...)
    gets the same cells. A text column holding one value in every row is rendered once.
    """

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._columns: dict[bytes, list[str]] = {}

    def floats(self, values: np.ndarray) -> list[str]:
        """Numbers at full precision; NaN and ±inf as missing (see :meth:`Cells.floats`)."""
        arr = np.asarray(values, dtype=float)
        key = arr.tobytes()
        cells = self._columns.get(key)
        if cells is None:
            cells = self._columns[key] = float_texts(arr, self.none)
        return cells

    def texts(self, values: Any) -> list[str]:
        """Strings (``None`` allowed) or tuples/lists of strings (see :meth:`Cells.texts`)."""
        values = values if isinstance(values, list) else list(values)
        n = len(values)
        if n and not isinstance(values[0], list) and values.count(values[0]) == n:
            return [self.one(values[0])] * n
        return super().texts(values)


def objects_json(columns: Sequence[tuple[str, list[str]]], close: str = "}") -> list[str]:
    """JSON objects, one per row, from rendered cells (key order as given).

    The same text as ``{"k1": v1, "k2": v2, ...}`` formatted row by row; a column holding
    one value in every row is written into the row template instead of filled per row.
    ``close`` ends each object (another text leaves it open for what follows).
    """
    if not columns:
        return []
    n = len(columns[0][1])
    pieces, varying = [], []
    for key, values in columns:
        first = values[0] if n else ""
        if n and values.count(first) == n:  # one value in every row: part of the template
            pieces.append(f'"{key}": {first}'.replace("{", "{{").replace("}", "}}"))
        else:
            pieces.append(f'"{key}": {{}}')
            varying.append(values)
    template = "{{" + ", ".join(pieces) + close.replace("{", "{{").replace("}", "}}")
    if not varying:
        return [template.format()] * n
    return list(map(template.format, *varying))


def records(t: Any, ident: dict[str, list[str]], vcells: dict[str, list[str]], keep_identifiers: bool,
            joined: bool = False) -> Any:
    """The nested nerve records (JSON) of table ``t``: what :func:`~.rows.render` writes for
    ``kind="record"`` (``ident``: the identity cells; ``vcells``: the verdict cells).

    Each record is put together from its parts (its fields, each site, each segment and the
    verdicts) in one join. ``joined=True`` returns every record of the table as UTF-8 bytes
    instead, each ending in a newline (what a batch task writes): each part is encoded on its
    own and the bytes joined once, several times cheaper than making the text of the table and
    encoding it (a part with a non-ASCII character makes the whole joined text a two-byte
    string, and the copies of a text of megabytes cost more than their size suggests).
    """
    from ..analysis import LIMIT_COLUMNS, LIMIT_KEYS
    from . import _fields as r

    cells = MemoCells("json")
    n = t.n_nerves
    nerve = r._nerve_cells(t, cells)
    site = r._site_cells(t, cells)
    seg = r._segment_cells(t, cells)
    site_json = objects_json([(k, site[k]) for k in r._SITE_FIELDS])
    seg_heads = objects_json([(k, seg[k]) for k in r._SEGMENT_FIELDS], close=', "verdicts": ')
    seg_verdicts = vcells.get("segment_record", ["{}"] * len(seg_heads))
    limits = []
    for key in LIMIT_KEYS:
        measure = [cells.one(LIMIT_COLUMNS[key][3])] * n
        sub = objects_json([("measure", measure)] + [(f, nerve[f"{key}_{f}"]) for f in r._LIMIT_FIELDS[1:]])
        limits.append((key, sub))
    columns = [(c, ident[c]) for c in ("nerve_index",) if c in ident]
    columns += [("record", ['"nerve"'] * n), ("schema_version", [str(r.SCHEMA_VERSION)] * n)]
    columns += [(c, ident[c]) for c in r._with_identifiers(r.IDENTITY_COLUMNS, keep_identifiers)]
    columns += [(c, nerve[c]) for c in (*r._NERVE_FIELDS, *r._NERVE_RECORD_FIELDS)]
    columns += [("limits", objects_json(limits)), ("flags", nerve["flags"])]
    heads = objects_json(columns, close=', "sites": [')
    nerve_verdicts = vcells.get("nerve_record", ["{}"] * n)
    starts = t.nerve["first_row"].tolist()
    counts = t.nerve["n_sites"].tolist()
    parts: list[str] = []
    add = parts.extend
    lines = []
    for j, (head, a, c, verdict) in enumerate(zip(heads, starts, counts, nerve_verdicts)):
        add((head, ", ".join(site_json[a:a + c]), '], "segments": ['))
        for k in range(a - j, a - j + c - 1):
            if k > a - j:
                parts.append(", ")
            add((seg_heads[k], seg_verdicts[k], "}"))
        add(('], "verdicts": ', verdict, "}"))
        if joined:
            parts.append("\n")
        else:
            lines.append("".join(parts))
            parts.clear()
    if joined:
        return b"".join(map(str.encode, parts))
    return lines


def record_block(t: Any, *, sources: Sequence[Any], verdicts: Any = None, extra: dict | None = None,
                 keep_identifiers: bool = False) -> bytes:
    """Every nested record of ``t`` as UTF-8 bytes, each record ending in a newline: the lines
    of :func:`~.rows.render` (``kind="record"``, JSON) encoded, without making each line
    first. Arguments as for :func:`~.rows.render`."""
    from . import _fields as r

    cells = Cells("json")
    ident = r._identity(t, cells, sources, keep_identifiers)
    ident.update(extra or {})
    vcells = verdicts.cells("record", cells) if verdicts is not None else {}
    return records(t, ident, vcells, keep_identifiers, joined=True)
