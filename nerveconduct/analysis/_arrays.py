"""The object-array helpers of the analysis core (columns of strings, tuples or None).

Private to :mod:`nerveconduct.analysis`. A batch slice holds thousands of rows whose text
columns take a few distinct values (site and nerve names, sides), and the archive reader
gives the rows of one value one shared ``str`` object (``nerveconduct.io._archive_strings``).
:func:`distinct` finds the distinct values by comparing the rows' object pointers (one
integer comparison per row and distinct object) before comparing any string, so that names
are canonicalised, worded and compared once per distinct value, and the columns built here
keep one shared object per value (later steps compare them by pointer, e.g.
``nerveconduct.serialize._arrow_text``).
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["object_array", "filled", "distinct", "mapped", "group_rows", "is_none",
           "value_codes"]

#: Distinct objects found with one pointer comparison pass each, at most, before the rest of
#: the rows are grouped by value (a dict lookup per row).
_FEW = 8


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (tuples stay single elements).

    ``np.array`` would turn a list of equal-length tuples into a 2-D array; this does not.
    A 1-D object array is copied (same objects, no pass in Python).

    Examples
    --------
    >>> object_array([(), ("a", "b")]).shape
    (2,)
    """
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values.copy()
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def filled(n: int, value: Any) -> np.ndarray:
    """A 1-D object array of ``n`` rows, each the one object ``value`` (a str, a tuple, None).

    Examples
    --------
    >>> filled(2, ()).tolist()
    [(), ()]
    """
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _pointers(values: np.ndarray) -> np.ndarray:
    """The object pointers of a 1-D contiguous object array (uintp; valid while it lives)."""
    return np.ctypeslib.as_array((ctypes.c_size_t * len(values)).from_address(values.ctypes.data))


def distinct(values: Any) -> tuple[list[Any], np.ndarray]:
    """The distinct values of a 1-D column of hashable objects and each row's code.

    Returns ``(uniques, codes)`` with ``values[i]`` equal to ``uniques[codes[i]]`` (the
    very object of a row of that value). Rows holding one object are grouped by pointer
    comparison; rows left when no object covers an eighth of them are grouped by value
    (``==`` and hash). Equal values held by different objects may get different codes:
    a function of the value gives the same result for each of them.

    Examples
    --------
    >>> uniques, codes = distinct(object_array(["wrist", "elbow", "wrist"]))
    >>> [uniques[c] for c in codes.tolist()]
    ['wrist', 'elbow', 'wrist']
    """
    values = np.ascontiguousarray(np.asarray(values, dtype=object))
    n = len(values)
    codes = np.zeros(n, dtype=np.int64)
    uniques: list[Any] = []
    if n == 0:
        return uniques, codes
    pointers = _pointers(values)
    todo = np.ones(n, dtype=bool)
    at = 0
    for k in range(_FEW):  # whole-array arithmetic: a boolean-mask assignment costs more
        same = pointers == pointers[at]
        count = int(np.count_nonzero(same))
        if k:
            codes += k * same
        uniques.append(values[at])
        if count == n:
            return uniques, codes
        todo &= ~same
        at = int(np.argmax(todo))  # the first row left
        if not todo[at]:
            return uniques, codes
        if 8 * count < n:
            break
    left = np.flatnonzero(todo)
    index: dict[Any, int] = {}
    rest = values[left].tolist()
    base = len(uniques)
    found = [index.setdefault(v, len(index)) for v in rest]
    codes[left] = np.asarray(found, dtype=np.int64) + base
    uniques.extend(rest[i] for i in np.unique(found, return_index=True)[1].tolist())
    return uniques, codes


def mapped(values: Any, fn: Callable[[Any], Any]) -> np.ndarray:
    """``fn`` of each row (object array), called once per distinct value (:func:`distinct`).

    Examples
    --------
    >>> mapped(object_array(["a", "b", "a"]), str.upper).tolist()
    ['A', 'B', 'A']
    """
    uniques, codes = distinct(values)
    if not uniques:
        return np.empty(0, dtype=object)
    return object_array([fn(u) for u in uniques])[codes]


def is_none(values: np.ndarray) -> np.ndarray:
    """Whether each row of a 1-D object array is ``None`` (bool; pointer comparison).

    Examples
    --------
    >>> is_none(object_array(["a", None])).tolist()
    [False, True]
    """
    values = np.ascontiguousarray(values, dtype=object)
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return _pointers(values) == id(None)


def group_rows(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct tuples of per-row codes: ``(first, inverse)``, the first row of each
    distinct tuple and each row's tuple number (ints ≥ 0, all arrays of one length ≥ 1)."""
    n = len(codes[0])
    radices = [int(c.max()) + 1 for c in codes]
    size = float(np.prod(radices, dtype=float))
    if size >= 2.0 ** 62:
        _, first, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_index=True,
                                      return_inverse=True)
        return first, inverse.reshape(-1)
    key = np.zeros(n, dtype=np.int64)
    for c, r in zip(codes, radices):  # one integer per tuple (mixed radix)
        key = key * r + c
    if size <= 4 * n + 64:  # few possible keys: counted, not sorted
        used = np.bincount(key, minlength=int(size)) > 0
        keys = np.flatnonzero(used)
        if len(keys) <= _FEW:
            lookup = np.cumsum(used) - 1
            first = np.array([int(np.argmax(key == u)) for u in keys.tolist()], dtype=np.int64)
            return first, lookup[key]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def value_codes(values: np.ndarray) -> np.ndarray:
    """Each row's number among the distinct values of a numeric column (sorted; NaNs one
    value), 0 throughout without a sort when every row holds the first row's value."""
    if len(values) and (values == values[0]).all():
        return np.zeros(len(values), dtype=np.int64)
    return np.unique(values, return_inverse=True)[1].reshape(-1)
