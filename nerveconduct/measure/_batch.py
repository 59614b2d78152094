"""The container every per-trace measurement returns: read-only arrays of one batch shape.

:class:`BatchMeasures` is the base of :class:`~nerveconduct.measure.CmapMeasures` and
:class:`~nerveconduct.measure.SnapMeasures` (frozen dataclasses of float arrays plus
``present`` and ``flags``): it checks that every field has the batch shape, makes the arrays
read-only, and gives ``shape``, ``len``, sub-batches (``m[key]``), ``repr`` and
:meth:`to_records`.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from ..flags import MeasureFlag

__all__ = ["BatchMeasures", "run_in_chunks"]


class BatchMeasures:
    """Read-only arrays of one batch shape, one per dataclass field (a base class)."""

    def __post_init__(self) -> None:
        shape = None
        for f in fields(self):
            arr = np.asarray(getattr(self, f.name)).view()
            if shape is None:
                shape = arr.shape
            elif arr.shape != shape:
                raise ValueError(f"{type(self).__name__} field {f.name!r} has shape {arr.shape}; "
                                 f"every field must have the batch shape {shape}")
            arr.flags.writeable = False
            object.__setattr__(self, f.name, arr)

    @property
    def shape(self) -> tuple[int, ...]:
        """Batch shape (the traces' shape without the time axis)."""
        return self.present.shape  # type: ignore[attr-defined]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError(f"len() of {type(self).__name__} of a single trace (batch shape ())")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        """Measures of a sub-batch (``key`` indexes the batch axes, as for a numpy array)."""
        return type(self)(**{f.name: np.asarray(getattr(self, f.name)[key]) for f in fields(self)})

    def __repr__(self) -> str:
        n = int(np.prod(self.shape))
        return f"{type(self).__name__}(shape={self.shape}, present={int(self.present.sum())}/{n})"  # type: ignore[attr-defined]

    def to_records(self) -> list[dict[str, Any]]:
        """One dict of Python scalars per trace (batch flattened in C order).

        Returns
        -------
        list of dict
            One key per field: floats (NaN when missing), ``present`` a bool, ``flags`` the
            list of :class:`~nerveconduct.flags.MeasureFlag` names (``[]`` when none).
        """
        names = [f.name for f in fields(self) if f.name not in ("present", "flags")]
        cols = {name: np.ravel(getattr(self, name)).tolist() for name in names}
        present = np.ravel(self.present).tolist()  # type: ignore[attr-defined]
        flags = np.ravel(self.flags).tolist()  # type: ignore[attr-defined]
        texts = {v: MeasureFlag(v).names() for v in set(flags)}
        return [{**{name: cols[name][i] for name in names}, "present": present[i], "flags": list(texts[flags[i]])}
                for i in range(len(present))]


def run_in_chunks(n_items: int, rows: int, threads: int, work: Any) -> None:
    """Call ``work(lo, hi)`` on ``[0, n_items)`` in chunks of ``rows``, on ``threads`` threads.

    The compiled kernels release the GIL, so chunks run in parallel; a chunk's result never
    depends on the chunking (sums keep their order), so neither does the batch's.
    """
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, n_items, rows)
    bounds = [(lo, min(lo + rows, n_items)) for lo in starts]
    if threads == 1 or len(bounds) <= 1:
        for lo, hi in bounds:
            work(lo, hi)
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(bounds))) as pool:
        for _ in pool.map(lambda b: work(*b), bounds):
            pass
