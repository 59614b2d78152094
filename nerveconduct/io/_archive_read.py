"""Reading an archive's columns fast: its strings, and the checks of a slice just read.

Used by :class:`nerveconduct.io.archive.Archive`. Every stored string (names, sides,
metadata) is a variable-length UTF-8 HDF5 string; reading one as a Python ``str`` through
``h5py``'s ``asstr()`` costs ~0.7 µs (the HDF5 conversion, then a ``bytes`` object and
its decoding per value), which made string columns most of the time of reading a chunk.
:class:`TextColumn` reads them as NumPy variable-width strings instead (``h5py`` ≥ 3.14 on
NumPy ≥ 2: ~0.25 µs per value, no Python object) and makes one Python string per run of
equal values, so the repeated ones (nerve and site names, sides, polarities) cost one
vectorised comparison per distinct value.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from . import _archive_layout as L
from .errors import ArchiveError

__all__ = ["TextColumn", "read_problem", "refuse_infinite"]

#: NumPy's variable-width string dtype, or None (NumPy 1.x, or h5py older than 3.14,
#: which cannot read into it): then strings are read through ``asstr()``.
_NPY_STRINGS = (np.dtypes.StringDType()
                if hasattr(np.dtypes, "StringDType") and h5py.version.version_tuple >= (3, 14)
                else None)

#: Distinct values given one shared Python string each, at most, before the rest of a
#: slice is converted value by value (e.g. study ids, one per nerve).
_FEW = 8


class TextColumn:
    """A variable-length UTF-8 string dataset whose slices are object arrays of ``str``.

    ``column[a:b]`` equals ``dataset.asstr()[a:b]`` (same values, same ``UnicodeDecodeError``
    on bytes that are not UTF-8), read faster.

    Parameters
    ----------
    dataset : h5py.Dataset
        A 1-D dataset of ``h5py.string_dtype("utf-8")`` (checked when the archive opens).
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self._slow = dataset.asstr()
        self._fast = None if _NPY_STRINGS is None else dataset.astype(_NPY_STRINGS)

    def __getitem__(self, index: Any) -> np.ndarray:
        if self._fast is None:
            return self._slow[index]
        return _as_objects(self._fast[index])


def _as_objects(values: np.ndarray) -> np.ndarray:
    """NumPy strings (1-D) as an object array of ``str``, one ``str`` per frequent value.

    Each of the first few distinct values takes one comparison over the slice; once a
    value covers less than an eighth of the slice (many distinct values), the rest is
    converted value by value.
    """
    n = len(values)
    out = np.empty(n, dtype=object)
    todo = np.ones(n, dtype=bool)
    for _ in range(_FEW):
        left = np.flatnonzero(todo)
        if len(left) == 0:
            return out
        value = values[left[0]]
        same = values == value
        if 8 * int(np.count_nonzero(same)) < n:
            break
        out[same] = str(value)
        todo &= ~same
    if todo.all():  # no frequent value (e.g. study ids): convert all, without a gather
        return values.astype(object)
    left = np.flatnonzero(todo)
    out[left] = values[left].astype(object)
    return out


def read_problem(exc: BaseException) -> str:
    """What went wrong reading a slice, for :class:`~.errors.ArchiveError` (never file content)."""
    if isinstance(exc, UnicodeDecodeError):
        return (f"strings must be UTF-8 ({exc.reason} at byte {exc.start} of a value); "
                "the column holds undecodable bytes")
    if isinstance(exc, (OSError, RuntimeError)):  # h5py: HDF5's message, never file content
        return f"cannot read (damaged file?): {exc}"
    return f"cannot read as the layout says ({type(exc).__name__})"


def refuse_infinite(traces: np.ndarray, rows: dict[str, np.ndarray],
                    nerves: dict[str, np.ndarray], r0: int, a: int, path: Any) -> None:
    """Refuse infinite values: the archive's "unknown" is NaN, never inf.

    The traces are scanned with ``fmax``/``fmin`` reductions (no temporary array).

    Raises
    ------
    ArchiveError
        A trace (location: its global row) or a numeric column (location: the column and
        row) holds ``inf`` or ``-inf``.
    """
    extremes = ((float(np.fmax.reduce(traces, axis=None)),
                 float(np.fmin.reduce(traces, axis=None))) if traces.size else ())
    if any(np.isinf(x) for x in extremes):
        r = int(np.argmax(np.isinf(traces).any(axis=1)))
        raise ArchiveError("traces must be finite (NaN only as padding), got inf",
                           path=path, location=f"{L.TRACES}, row {r0 + r}")
    for group, table, first in ((L.SITES, rows, r0), (L.NERVES, nerves, a)):
        for name, values in table.items():
            if values.dtype.kind == "f" and np.isinf(values).any():
                i = int(np.argmax(np.isinf(values)))
                raise ArchiveError("must be finite or NaN (unknown), got inf", path=path,
                                   location=f"{group}/{name}, row {first + i}")
