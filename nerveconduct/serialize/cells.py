"""The one cell rule: how a value is written in a CSV cell or as a JSON value.

- ``None``, NaN and ±inf: an empty CSV cell, JSON ``null``;
- booleans: ``true`` / ``false``; integers: their digits; floats: full precision (``repr``);
- strings: as they are (CSV quoted by :mod:`csv` where needed; JSON escaped by :mod:`json`,
  non-ASCII kept);
- lists and tuples: a JSON array; in CSV the cells joined with ``"; "``.

:class:`Cells` renders whole columns at once (the rows, records and batch tables all use
it); :func:`csv_cell` and :func:`json_value` apply the same rule to one value.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any, Sequence

import numpy as np

__all__ = ["Cells", "csv_cell", "json_value", "LIST_SEPARATOR", "FORMATS"]

#: Cell formats: CSV cells, JSON values.
FORMATS = ("csv", "json")
#: What joins the items of a list in one CSV cell.
LIST_SEPARATOR = "; "

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
#: Characters that may make a string need CSV quoting or JSON escaping: strings without any
#: are copied as they are (JSON with ``ensure_ascii=False``); others go through csv / json.
_SPECIAL = re.compile('[\x00-\x1f",\\\\]')
_STR_ONLY = {str}


class Cells:
    """Renders a column of values as CSV cells or JSON values (lists of strings).

    Parameters
    ----------
    fmt : {"csv", "json"}
    """

    def __init__(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"cell format must be one of {FORMATS}, got {fmt!r}")
        self.json = fmt == "json"
        self.none = "null" if self.json else ""
        self._text: dict[Any, str] = {}
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def floats(self, values: np.ndarray) -> list[str]:
        """Numbers at full precision; NaN and ±inf as missing."""
        arr = np.asarray(values, dtype=float)
        out = list(map(repr, arr.tolist()))
        for k in np.flatnonzero(~np.isfinite(arr)).tolist():
            out[k] = self.none
        return out

    def ints(self, values: np.ndarray) -> list[str]:
        """Integers."""
        return [str(v) for v in np.asarray(values).tolist()]

    def bools(self, values: np.ndarray) -> list[str]:
        """``true`` / ``false``."""
        return np.where(np.asarray(values, dtype=bool), "true", "false").tolist()

    def tristate(self, values: np.ndarray) -> list[str]:
        """-1 unknown (missing), 0 ``false``, 1 ``true``."""
        return np.array([self.none, "false", "true"], dtype=object)[np.asarray(values) + 1].tolist()

    def texts(self, values: Sequence[Any]) -> list[str]:
        """Strings (``None`` allowed) or tuples/lists of strings."""
        values = list(values)
        if set(map(type, values)) == _STR_ONLY:
            if not _SPECIAL.search("|".join(values)):  # nothing to quote or escape in any of them
                return list(map('"{}"'.format, values)) if self.json else values
        cache = self._text
        out = []
        for value in values:
            key = tuple(value) if isinstance(value, list) else value
            cell = cache.get(key)
            if cell is None:
                cell = cache.setdefault(key, self.one(value))
            out.append(cell)
        return out

    def one(self, value: Any) -> str:
        """One value of any kind, by the rule above."""
        if value is None:
            return self.none
        if isinstance(value, (bool, np.bool_)):
            return "true" if value else "false"
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)):
            return repr(float(value)) if math.isfinite(value) else self.none
        if self.json and isinstance(value, (list, tuple, dict)):
            try:  # plain str/int/float/bool/None content: json's own encoder writes the same text
                return _JSON.encode(value)
            except (TypeError, ValueError):  # numpy scalars, NaN: element by element below
                pass
        if isinstance(value, (list, tuple)):
            if self.json:
                return "[" + ", ".join(self.one(v) for v in value) + "]"
            return self._csv(LIST_SEPARATOR.join(csv_cell(v) for v in value))
        if isinstance(value, dict):
            if self.json:
                return "{" + ", ".join(f"{_JSON.encode(str(k))}: {self.one(v)}" for k, v in value.items()) + "}"
            return self._csv(LIST_SEPARATOR.join(f"{k}={csv_cell(v)}" for k, v in value.items()))
        return _JSON.encode(str(value)) if self.json else self._csv(str(value))

    def _csv(self, text: str) -> str:
        """``text`` exactly as :class:`csv.writer` writes it as a cell (quoted when needed)."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow((text, ""))  # two cells: an empty text is not written as ""
        return self._buffer.getvalue()[:-2]


_CSV_PLAIN = Cells("csv")


def csv_cell(value: Any) -> str:
    """One value as the *text* of a CSV cell (before quoting): the cell rule above.

    Examples
    --------
    >>> [csv_cell(v) for v in (None, True, 0.1, ["a", "b"], float("nan"))]
    ['', 'true', '0.1', 'a; b', '']
    """
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(csv_cell(v) for v in value)
    if isinstance(value, dict):
        return LIST_SEPARATOR.join(f"{k}={csv_cell(v)}" for k, v in value.items())
    if isinstance(value, str):
        return value
    return _CSV_PLAIN.one(value)


_JSON_CELLS = Cells("json")


def json_value(value: Any) -> str:
    """One value as JSON text, by the cell rule (NaN -> ``null``)."""
    return _JSON_CELLS.one(value)
