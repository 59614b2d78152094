"""Allowed ranges of the numbers the readers take from file headers, checked in one place.

A header value outside its range cannot be right (a 1e308 ms stimulus delay, a NaN record
duration, a sampling rate that overflows to infinity): the reader refuses it with a named
error that gives the allowed range, instead of passing on inf/NaN or overflowing later.
The bounds are generous physical limits of nerve-conduction recordings, not normal values.
"""

from __future__ import annotations

from typing import Any

from .._checks import RANGES, check_number
from .errors import FormatError, NerveConductIOError, quote

__all__ = ["RANGES", "check_range"]


def check_range(value: Any, quantity: str, *, path: Any, location: str | None,
                what: str | None = None, high: float | None = None,
                error: type[NerveConductIOError] = FormatError) -> float:
    """Return ``value`` as a float if it is finite and within the range of ``quantity``.

    Parameters
    ----------
    value : float
        The value, already in the unit of ``quantity`` (e.g. mm for ``"distance_mm"``).
    quantity : str
        A key of :data:`RANGES` (defined in :mod:`nerveconduct._checks`, which the API's
        argument checks use too).
    path, location : str or None
        Where the value was read (for the error).
    what : str, optional
        How the message names the value (default: ``quantity``).
    high : float, optional
        A tighter upper bound (exclusive) from the file itself, e.g. the sweep length for a
        stimulus delay.
    error : type
        The reader's named error.

    Raises
    ------
    FormatError (or ``error``)
        The value is NaN, infinite, or outside the range; the message gives the range.

    Examples
    --------
    >>> check_range(70, "distance_mm", path=None, location=None)
    70.0
    >>> check_range(float("inf"), "distance_mm", path="x.csv", location="line 9")
    Traceback (most recent call last):
    ...
    nerveconduct.io.errors.FormatError: x.csv, line 9: distance_mm must be a finite number in (0, 2000] mm, got inf
    """
    low, top, low_inclusive, unit = RANGES[quantity]
    name = what or quantity
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{name} must be a number in {unit}, got {quote(value)}", path=path,
                    location=location) from None
    maximum, high_inclusive = (high, False) if high is not None and high <= top else (top, True)
    try:
        return check_number(name, number, unit=unit, minimum=low, maximum=maximum,
                            inclusive=(low_inclusive, high_inclusive))
    except ValueError as exc:  # the number is a float here: the message quotes no text
        raise error(str(exc), path=path, location=location) from None
