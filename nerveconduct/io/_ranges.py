"""Allowed ranges of the numbers the readers take from file headers, checked in one place.

A header value outside its range cannot be right (a 1e308 ms stimulus delay, a NaN record
duration, a sampling rate that overflows to infinity): the reader refuses it with a named
error that gives the allowed range, instead of passing on inf/NaN or overflowing later.
The bounds are generous physical limits of nerve-conduction recordings, not normal values.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import FormatError, NerveConductIOError, quote

__all__ = ["RANGES", "check_range"]

#: quantity -> (low, high, low_inclusive, unit). Inclusive high bound.
RANGES: dict[str, tuple[float, float, bool, str]] = {
    "sampling_rate_hz": (1.0, 1e7, True, "Hz"),
    "record_duration_s": (0.0, 3600.0, False, "s"),
    "distance_mm": (0.0, 2000.0, False, "mm"),
    "temperature_c": (0.0, 50.0, True, "°C"),
    "low_frequency_filter_hz": (0.0, 1e5, True, "Hz"),
    "stimulus_intensity_ma": (0.0, 1000.0, True, "mA"),
    "stimulus_delay_ms": (0.0, 1e6, True, "ms"),
    "physical_extreme_mv": (-1e6, 1e6, True, "mV"),
    "f_wave_latency_ms": (0.0, 1e3, False, "ms"),
}


def check_range(value: Any, quantity: str, *, path: Any, location: str | None,
                what: str | None = None, high: float | None = None,
                error: type[NerveConductIOError] = FormatError) -> float:
    """Return ``value`` as a float if it is finite and within the range of ``quantity``.

    Parameters
    ----------
    value : float
        The value, already in the unit of ``quantity`` (e.g. mm for ``"distance_mm"``).
    quantity : str
        A key of :data:`RANGES`.
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
    nerveconduct.io.errors.FormatError: x.csv, line 9: distance_mm must be finite, in (0, 2000] mm, got inf
    """
    low, top, low_inclusive, unit = RANGES[quantity]
    name = what or quantity
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{name} must be a number in {unit}, got {quote(value)}", path=path,
                    location=location) from None
    below = number < low if low_inclusive else number <= low
    above = number > top or (high is not None and number >= high)
    if math.isfinite(number) and not below and not above:
        return number
    span = f"{'[' if low_inclusive else '('}{low:g}, {top:g}] {unit}"
    if high is not None and high <= top:
        span = f"{'[' if low_inclusive else '('}{low:g}, {high:g}) {unit}"
    raise error(f"{name} must be finite, in {span}, got {number!r}", path=path,
                location=location)
