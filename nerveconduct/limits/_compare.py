"""The one threshold comparison: a value at its limit (or threshold) is judged the same everywhere.

Decimal numbers do not survive binary arithmetic exactly (a SNAP scaled to exactly 20 uV
measures 19.999999999999996 uV; a step from 20 to 24 mA is 19.999999999999996 %), so every
comparison of a value with a limit or a criteria threshold allows :data:`REL_TOL` relative to
the threshold: the motor and sensory normal-limit comparisons (``nerveconduct.analysis``),
the supramaximal-stimulation thresholds and the criteria evaluators
(``nerveconduct.criteria``) all call these functions.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["REL_TOL", "at_least", "at_most", "beyond_limit"]

#: Relative tolerance of every threshold comparison (of ``max(1, |threshold|)``).
REL_TOL = 1e-9


def _tol(threshold: Any) -> Any:
    """The absolute tolerance at ``threshold`` (a number, or an array: one limit per nerve)."""
    if isinstance(threshold, numbers.Real):
        return REL_TOL * max(1.0, abs(threshold))
    tol = np.abs(np.asarray(threshold, dtype=float))  # in place from here: one temporary array
    np.maximum(tol, 1.0, out=tol)
    tol *= REL_TOL
    return tol


def at_least(values: Any, threshold: Any, inclusive: bool = True) -> Any:
    """``values >= threshold`` (``inclusive``) or ``values > threshold``, elementwise, with
    :data:`REL_TOL`. NaN compares False.

    Examples
    --------
    >>> bool(at_least(19.999999999999996, 20.0)), bool(at_least(20.0, 20.0, inclusive=False))
    (True, False)
    """
    bound = _tol(threshold)
    if isinstance(bound, np.ndarray):  # threshold - tol (or + tol), in place
        np.subtract(threshold, bound, out=bound) if inclusive else np.add(threshold, bound, out=bound)
    else:
        bound = threshold - bound if inclusive else threshold + bound
    return values >= bound if inclusive else values > bound


def at_most(values: Any, threshold: Any, inclusive: bool = True) -> Any:
    """``values <= threshold`` (``inclusive``) or ``values < threshold``: see :func:`at_least`."""
    bound = _tol(threshold)
    if isinstance(bound, np.ndarray):  # threshold + tol (or - tol), in place
        np.add(threshold, bound, out=bound) if inclusive else np.subtract(threshold, bound, out=bound)
    else:
        bound = threshold + bound if inclusive else threshold - bound
    return values <= bound if inclusive else values < bound


def beyond_limit(values: Any, limit: Any, kind: str) -> Any:
    """Whether ``values`` are beyond a normal limit: below an ``"LLN"``, above a ``"ULN"``.

    A value at the limit (within :data:`REL_TOL`) is normal. NaN values or limits give False.

    Examples
    --------
    >>> import numpy as np
    >>> beyond_limit(np.array([3.9, 4.0, 3.9999999999999996]), 4.0, "LLN").tolist()
    [True, False, False]
    >>> bool(beyond_limit(4.5, 4.4, "ULN"))
    True
    """
    if kind == "LLN":
        return at_most(values, limit, inclusive=False)
    if kind == "ULN":
        return at_least(values, limit, inclusive=False)
    raise ValueError(f"kind must be one of ['LLN', 'ULN'], got {kind!r}")
