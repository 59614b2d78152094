"""The one object-array helper of the analysis core (columns of strings, tuples or None).

Private to :mod:`nerveconduct.analysis`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["object_array"]


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (tuples stay single elements).

    ``np.array`` would turn a list of equal-length tuples into a 2-D array; this does not.

    Examples
    --------
    >>> object_array([(), ("a", "b")]).shape
    (2,)
    """
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
