"""Reading an archive's text columns fast, one slice at a time.

Used by :class:`nerveconduct.io.archive.Archive`. Every stored string (site and nerve names,
sides, muscles, polarities, study ids, metadata) is a variable-length UTF-8 HDF5 string;
``h5py``'s ``asstr()`` makes one ``bytes`` object and one decoded ``str`` per value
(~0.4-0.7 µs each, measured on the benchmark machine), which made the text columns most of
the time of reading a chunk. :class:`TextColumn` reads a slice as NumPy variable-width
strings instead (``h5py`` ≥ 3.14 on NumPy ≥ 2: no Python object per value) and makes one
Python string per distinct frequent value, shared by its rows, so that names, sides and
polarities cost one vectorised comparison per distinct value — and the rows of a column
share one object, which later steps compare by pointer (the typed results tables,
``nerveconduct.serialize._arrow_text``). Measured on the benchmark archive (h5py 3.16,
NumPy 2.4; ``benchmarks/README.md``): the seven text columns of a two-site nerve read in
2.65 µs instead of 3.47 µs; most of what is left is HDF5's conversion of each stored
variable-length string.

Memory: nothing is kept between reads (the NumPy-string view of the dataset is made per
read, and the slice's strings are freed with it), so reading uses memory in proportion to
the slice, never to the archive (``tests/test_archive_memory.py``).
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

__all__ = ["TextColumn", "NUMPY_STRINGS"]

#: NumPy's variable-width string dtype, or None (NumPy 1.x, or h5py older than 3.14, which
#: cannot read into it): then strings are read through ``asstr()``.
NUMPY_STRINGS = (np.dtypes.StringDType()
                 if hasattr(np.dtypes, "StringDType") and h5py.version.version_tuple >= (3, 14)
                 else None)

#: Distinct values given one shared Python string each, at most, before the rest of a slice
#: is converted value by value (e.g. study ids, one per nerve).
_FEW = 8


class TextColumn:
    """A 1-D variable-length UTF-8 string dataset whose slices are object arrays of ``str``.

    ``column[a:b]`` equals ``dataset.asstr()[a:b]`` (same values, same ``UnicodeDecodeError``
    on bytes that are not UTF-8), read faster; equal frequent values are one shared ``str``.

    Parameters
    ----------
    dataset : h5py.Dataset
        A 1-D dataset of ``h5py.string_dtype("utf-8")`` (checked when the archive opens).
    """

    def __init__(self, dataset: h5py.Dataset) -> None:
        self._dataset = dataset

    def __getitem__(self, index: Any) -> np.ndarray:
        if NUMPY_STRINGS is None:
            return self._dataset.asstr()[index]
        values = self._dataset.astype(NUMPY_STRINGS)[index]
        if not isinstance(values, np.ndarray) or values.ndim != 1:
            return self._dataset.asstr()[index]
        return shared_strings(values)


def shared_strings(values: np.ndarray) -> np.ndarray:
    """NumPy strings (1-D) as an object array of ``str``, one ``str`` per frequent value.

    Each of the first few distinct values takes one comparison over the slice; once a value
    covers less than an eighth of the slice (many distinct values), the rest is converted
    value by value.
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
        count = int(np.count_nonzero(same))
        if count == n:  # one value throughout: no masked assignment (~3x its cost)
            out.fill(str(value))
            return out
        if 8 * count < n:
            break
        out[same] = str(value)
        todo &= ~same
    if todo.all():  # no frequent value (e.g. study ids): convert all, without a gather
        return values.astype(object)
    left = np.flatnonzero(todo)
    out[left] = values[left].astype(object)
    return out
