"""Argument checks shared by every module: one wording for a bad option, number or type.

A bad argument is refused where it enters nerveconduct, with a message that teaches: it
names the argument, echoes the bad value and says what is allowed (every allowed option,
with a "did you mean" for a near miss; a number's range and unit).

- :func:`check_option` -- a value from a fixed set (``ValueError``).
- :func:`check_number` -- a real number or integer, finite, within a range (``TypeError``
  for a non-number, ``ValueError`` for NaN, infinity or a value out of range).
- :func:`check_type` -- an instance of given types (``TypeError``).
- :data:`RANGES` -- the physical ranges of the recording quantities (sampling rate,
  distances, temperature, ...), used by the file readers and by the API alike.

This module is on the ground floor of the package: it imports nothing of nerveconduct.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ArgumentTypeError", "RANGES", "check_option", "check_number", "check_range_of", "in_range",
           "check_type", "gather"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a string or a bool where a number belongs).

    A ``TypeError``; also a ``ValueError``, because the functions that adopted these checks
    documented a ``ValueError`` for every bad argument before, and callers catch that.
    """


#: Physical ranges of recording quantities: quantity -> (low, high, low_inclusive, unit).
#: The high bound is inclusive. Generous limits of nerve-conduction recordings (a value
#: outside cannot be right), not normal values.
RANGES: dict[str, tuple[float, float, bool, str]] = {
    "sampling_rate_hz": (1.0, 1e7, True, "Hz"),
    "record_duration_s": (0.0, 3600.0, False, "s"),
    "distance_mm": (0.0, 2000.0, False, "mm"),
    "temperature_c": (0.0, 50.0, True, "°C"),
    "low_frequency_filter_hz": (0.0, 1e5, True, "Hz"),
    "stimulus_intensity_ma": (0.0, 1000.0, False, "mA"),  # 0 mA is no stimulus
    "stimulus_delay_ms": (0.0, 1e6, True, "ms"),
    "physical_extreme_mv": (-1e6, 1e6, True, "mV"),
    "f_wave_latency_ms": (0.0, 1e3, False, "ms"),
}


def _suggestion(value: Any, allowed: Sequence[Any]) -> str:
    """``"; did you mean 'x'?"`` for a string close to an allowed string, else ``""``."""
    if not isinstance(value, str):
        return ""
    texts = [a for a in allowed if isinstance(a, str)]
    lowered = {a.lower(): a for a in reversed(texts)}  # first spelling wins
    close = difflib.get_close_matches(value.strip().lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


def check_option(name: str, value: Any, allowed: Sequence[Any], *, extra: str = "") -> Any:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ValueError that teaches.

    Parameters
    ----------
    name : str
        How the message names the argument (``"polarity"``, ``"figure format"``).
    value : object
        The value given.
    allowed : sequence
        Every allowed value, in the order the message lists them.
    extra : str, optional
        Text placed after the list of allowed values (where they come from, a hint).

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    ValueError
        ``value`` is not in ``allowed``. The message echoes it, lists every allowed value
        and, for a string close to an allowed one (a typo, another letter case), suggests it.

    Examples
    --------
    >>> check_option("polarity", "physical", ("physical", "negative-up"))
    'physical'
    >>> check_option("polarity", "negativ-up", ("physical", "negative-up"))
    Traceback (most recent call last):
    ...
    ValueError: polarity must be one of ['physical', 'negative-up'], got 'negativ-up'; did you mean 'negative-up'?
    >>> check_option("table", "NERVE", ("nerve", "segment"))
    Traceback (most recent call last):
    ...
    ValueError: table must be one of ['nerve', 'segment'], got 'NERVE'; did you mean 'nerve'?
    """
    choices = list(allowed)
    try:
        found = any(value is a or (isinstance(value, bool) is isinstance(a, bool) and bool(value == a))
                    for a in choices)
    except (TypeError, ValueError):  # e.g. an array: its == is not a truth value
        found = False
    if found:
        return value
    raise ValueError(f"{name} must be one of {choices!r}{extra}, got {value!r}"
                     f"{_suggestion(value, choices)}")


def _bound(x: float, integer: bool) -> str:
    return str(int(x)) if integer and float(x).is_integer() else f"{x:g}"


def _allowed(*, unit: str, minimum: float | None, maximum: float | None,
             inclusive: tuple[bool, bool], integer: bool, allow_none: bool) -> str:
    """What a number must be, e.g. ``"a finite number in (0, 2000] mm"``."""
    kind = "an integer" if integer else "a finite number"
    if minimum is not None and maximum is not None:
        span = (f" in {'[' if inclusive[0] else '('}{_bound(minimum, integer)}, "
                f"{_bound(maximum, integer)}{']' if inclusive[1] else ')'}")
    elif minimum is not None:
        span = f" {'>=' if inclusive[0] else '>'} {_bound(minimum, integer)}"
    elif maximum is not None:
        span = f" {'<=' if inclusive[1] else '<'} {_bound(maximum, integer)}"
    else:
        span = ""
    if unit:
        span = f"{span} {unit}" if span else f" ({unit})"
    return ("None or " if allow_none else "") + kind + span


def check_number(name: str, value: Any, *, unit: str = "", minimum: float | None = None,
                 maximum: float | None = None, inclusive: tuple[bool, bool] = (True, True),
                 integer: bool = False, allow_none: bool = False) -> Any:
    """Return ``value`` as a float (or int) if it is a finite number within the range.

    Parameters
    ----------
    name : str
        How the message names the argument (``"sampling_rate_hz"``).
    value : object
        The value given.
    unit : str, optional
        The unit of ``value``, named in the message (``"Hz"``, ``"mm"``).
    minimum, maximum : float, optional
        Bounds of the allowed range (``None``: unbounded on that side).
    inclusive : (bool, bool), default (True, True)
        Whether ``minimum`` and ``maximum`` themselves are allowed.
    integer : bool, default False
        Require an integer (``int`` or a NumPy integer; ``2.0`` is refused) and return an
        ``int``; otherwise any real number, returned as a ``float``.
    allow_none : bool, default False
        Accept ``None`` (returned as is).

    Returns
    -------
    float or int or None

    Raises
    ------
    TypeError
        ``value`` is not a number: a string, a bool, ``None`` (unless allowed), or a
        non-integer where an integer is required. (Raised as :class:`ArgumentTypeError`,
        which is also a ``ValueError``.)
    ValueError
        ``value`` is NaN, infinite or outside the range.

    Notes
    -----
    Every message names the argument, the allowed range with its unit and the value given,
    e.g. ``sampling_rate_hz must be a finite number in [1, 1e+07] Hz, got inf``.

    Examples
    --------
    >>> check_number("distance_mm", 70, unit="mm", minimum=0, inclusive=(False, True))
    70.0
    >>> check_number("jobs", 2, minimum=1, integer=True)
    2
    >>> check_number("distance_mm", 0, unit="mm", minimum=0, maximum=2000,
    ...              inclusive=(False, True))
    Traceback (most recent call last):
    ...
    ValueError: distance_mm must be a finite number in (0, 2000] mm, got 0
    >>> check_number("jobs", 2.5, minimum=1, integer=True)
    Traceback (most recent call last):
    ...
    nerveconduct._checks.ArgumentTypeError: jobs must be an integer >= 1, got 2.5
    >>> check_number("temperature_c", "warm", unit="°C")
    Traceback (most recent call last):
    ...
    nerveconduct._checks.ArgumentTypeError: temperature_c must be a finite number (°C), got 'warm'
    """
    if value is None and allow_none:
        return None
    allowed = _allowed(unit=unit, minimum=minimum, maximum=maximum, inclusive=inclusive,
                       integer=integer, allow_none=allow_none)
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ArgumentTypeError(f"{name} must be {allowed}, got {value!r}")
    if not integer and not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    low_ok = minimum is None or (value >= minimum if inclusive[0] else value > minimum)
    high_ok = maximum is None or (value <= maximum if inclusive[1] else value < maximum)
    if not (low_ok and high_ok):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value) if integer else float(value)


def check_range_of(quantity: str, value: Any, *, name: str | None = None,
                   allow_none: bool = False) -> float | None:
    """:func:`check_number` with the physical range of ``quantity`` from :data:`RANGES`.

    Examples
    --------
    >>> check_range_of("sampling_rate_hz", 20000)
    20000.0
    >>> check_range_of("sampling_rate_hz", 1e300)
    Traceback (most recent call last):
    ...
    ValueError: sampling_rate_hz must be a finite number in [1, 1e+07] Hz, got 1e+300
    """
    low, high, low_inclusive, unit = RANGES[quantity]
    return check_number(name or quantity, value, unit=unit, minimum=low, maximum=high,
                        inclusive=(low_inclusive, True), allow_none=allow_none)


def in_range(quantity: str, values: Any, *, missing_ok: bool = False) -> Any:
    """Element-wise :func:`check_range_of` over an array: True where a value passes.

    The same bounds as :data:`RANGES` (``missing_ok``: NaN stands for ``None`` and passes),
    for callers that check whole columns at once (the archive reader).

    Examples
    --------
    >>> in_range("sampling_rate_hz", [0.5, 20000.0, float("nan")]).tolist()
    [False, True, False]
    >>> in_range("temperature_c", [float("nan"), 33.0, 60.0], missing_ok=True).tolist()
    [True, True, False]
    """
    import numpy as np  # the only check that needs numpy

    low, high, low_inclusive, _ = RANGES[quantity]
    arr = np.asarray(values, dtype=float)
    above = arr >= low if low_inclusive else arr > low
    ok = np.isfinite(arr) & above & (arr <= high)
    return ok | np.isnan(arr) if missing_ok else ok


def check_type(name: str, value: Any, types: type | tuple[type, ...]) -> Any:
    """Return ``value`` if it is an instance of ``types``; otherwise raise a TypeError.

    Examples
    --------
    >>> check_type("metadata", {}, dict)
    {}
    >>> check_type("metadata", [], (dict, type(None)))
    Traceback (most recent call last):
    ...
    TypeError: metadata must be dict or None, got list
    """
    kinds = types if isinstance(types, tuple) else (types,)
    if isinstance(value, kinds):
        return value
    names = ["None" if k is type(None) else k.__name__ for k in kinds]
    wanted = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    raise TypeError(f"{name} must be {wanted}, got {type(value).__name__}")


def gather(problems: list[str], check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``check(*args, **kwargs)``; on a TypeError/ValueError add its message to ``problems``.

    For validators that report every problem at once (:class:`~nerveconduct.model.NerveStudy`).
    Returns what the check returns, or ``None`` when it failed.

    Examples
    --------
    >>> problems = []
    >>> gather(problems, check_number, "rate", "fast", unit="Hz")
    >>> problems
    ["rate must be a finite number (Hz), got 'fast'"]
    """
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        problems.append(str(exc))
        return None
