"""Argument checks of :func:`nerveconduct.simulate.nerve.simulate_nerve`: validated, normalized.

Every invalid argument is a :class:`ValueError` that names it, echoes the value and says what
is allowed (the simulator's API promise). :func:`validated` checks the call's arguments and
adds the derived ``n_samples`` and ``stimulus_sample``; :func:`rng_from_seed` turns ``seed``
into a generator and the seed that reproduces the run.
"""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np

from .._checks import check_number
from ._muap import CV_FLOOR_M_S, MUAP_WIDTHS_MS, RESIDUAL_DELAY_MS

__all__ = ["validated", "rng_from_seed"]

_DEFAULT_SITE_NAMES = {
    "median": ("wrist", "elbow", "axilla", "Erb's point"),
    "ulnar": ("wrist", "below elbow", "above elbow", "axilla", "Erb's point"),
    "fibular": ("ankle", "below fibular head", "popliteal fossa"),
    "peroneal": ("ankle", "below fibular head", "popliteal fossa"),
    "tibial": ("ankle", "popliteal fossa"),
}

#: name: (lowest allowed, lowest excluded?, highest allowed, what is allowed)
_RANGES = {
    "cv_mean_m_s": (CV_FLOOR_M_S, True, 200.0, f"in ({CV_FLOOR_M_S:g}, 200] m/s"),
    "cv_sd_m_s": (0.0, False, 50.0, "in [0, 50] m/s"),
    "distal_amplitude_mv": (0.0, True, None, "> 0 mV"),
    "distal_slowing": (1.0, False, None, "a factor >= 1"),
    "noise_uv_rms": (0.0, False, None, ">= 0 uV"),
    "hum_uv": (0.0, False, None, ">= 0 uV"),
    "drift_uv": (0.0, False, None, ">= 0 uV"),
    "artifact_mv": (0.0, False, None, ">= 0 mV"),
    "clip_mv": (0.0, True, None, "None or > 0 mV"),
    "sampling_rate_hz": (1000.0, False, None, ">= 1000 Hz"),
    "sweep_ms": (0.0, True, None, "> 0 ms"),
    "pre_stimulus_ms": (0.0, False, None, ">= 0 ms"),
}


def _unit(allowed: str) -> str:
    """The unit at the end of an ``allowed`` text (``"in (0, 200] m/s"`` -> ``"m/s"``)."""
    last = re.sub(r"\s*\([^()]*\)$", "", allowed).rsplit(" ", 1)[-1]
    return last if any(c.isalpha() for c in last) else ""


def _number(name: str, value: Any, *, low: float | None = None, low_open: bool = False,
            high: float | None = None, allowed: str) -> float:
    """A finite number in the range (``allowed`` describes it; its last word is the unit).

    Every invalid argument is a ValueError (the simulator's promise): a non-number raises
    :class:`~nerveconduct._checks.ArgumentTypeError`, which is one.
    """
    return check_number(name, value, unit=_unit(allowed), minimum=low, maximum=high,
                        inclusive=(not low_open, True))


def _integer(name: str, value: Any, *, low: int, allowed: str) -> int:
    return check_number(name, value, minimum=low, integer=True,
                        allow_none=allowed.startswith("None"))


def _segment_map(name: str, value: Any, n_sites: int, low: float, high: float | None,
                 allowed: str) -> dict[int, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(  # noqa: TRY004 - every invalid argument is a ValueError (API promise)
            f"{name} must be None or a dict {{segment index: value}}; got {value!r}")
    for key in value:
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 1 <= key < n_sites:
            raise ValueError(f"{name} has segment index {key!r}: " + (
                "there is no segment with a single site" if n_sites == 1 else
                f"segments are 1..{n_sites - 1}, segment k lying between sites k-1 and k"))
    return {int(k): _number(f"{name}[{k}]", value[k], low=low, high=high, allowed=allowed)
            for k in sorted(value)}


def _site_names(site_names: Any, nerve: str, n_sites: int) -> tuple[str, ...]:
    if site_names is None:
        names = _DEFAULT_SITE_NAMES.get(nerve.lower(), _DEFAULT_SITE_NAMES["median"])
        return (tuple(names[:n_sites]) if n_sites <= len(names)
                else tuple(f"site {i + 1}" for i in range(n_sites)))
    names = (site_names,) if isinstance(site_names, str) else tuple(site_names)
    if (len(names) != n_sites or not all(isinstance(x, str) and x for x in names)
            or len(set(names)) != n_sites):
        raise ValueError(f"site_names must be {n_sites} distinct non-empty strings (one per "
                         f"distance); got {site_names!r}")
    return names


def validated(args: dict[str, Any]) -> dict[str, Any]:
    """Check and normalize the arguments of :func:`~nerveconduct.simulate.nerve.simulate_nerve`.

    Returns
    -------
    dict
        The arguments (distances and site names as tuples, numbers as floats, segment maps
        as ``{int: float}``, ``dtype`` by name) plus ``n_samples`` and ``stimulus_sample``.

    Raises
    ------
    ValueError
        An invalid argument (named, its value echoed, what is allowed said), or a sweep too
        short for the distal CMAP.
    """
    p = dict(args)
    try:
        d = np.asarray(args["distances_mm"], dtype=float)
    except (TypeError, ValueError):
        d = np.array([np.nan])
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise ValueError("distances_mm must be a non-empty sequence of positive finite "
                         f"distances (mm); got {args['distances_mm']!r}")
    p["distances_mm"] = tuple(float(x) for x in d)
    n_sites = d.size
    for name in ("nerve", "side", "muscle"):
        if not isinstance(args[name], str) or not args[name]:
            raise ValueError(f"{name} must be a non-empty string; got {args[name]!r}")
    p["site_names"] = _site_names(args["site_names"], args["nerve"], n_sites)
    if args["n_nerves"] is not None:
        p["n_nerves"] = _integer("n_nerves", args["n_nerves"], low=1,
                                 allowed="None or an integer >= 1")
    p["n_units"] = _integer("n_units", args["n_units"], low=1, allowed="an integer >= 1")
    for name, (low, low_open, high, allowed) in _RANGES.items():
        if not (name == "clip_mv" and args[name] is None):
            p[name] = _number(name, args[name], low=low, low_open=low_open, high=high,
                              allowed=allowed)
    nyquist = p["sampling_rate_hz"] / 2.0
    p["hum_hz"] = _number("hum_hz", args["hum_hz"], low=0.0, low_open=True, high=nyquist,
                          allowed=f"in (0, {nyquist:g}] Hz (the Nyquist frequency)")
    if args["low_frequency_filter_hz"] is not None:
        p["low_frequency_filter_hz"] = _number(
            "low_frequency_filter_hz", args["low_frequency_filter_hz"], low=0.0,
            low_open=True, high=0.99 * nyquist, allowed=f"None or in (0, {0.99 * nyquist:g}] Hz")
    p["block"] = _segment_map("block", args["block"], n_sites, 0.0, 1.0,
                              "a fraction of units lost, in [0, 1]")
    p["segment_slowing"] = _segment_map("segment_slowing", args["segment_slowing"], n_sites,
                                        1.0, None, "a slowing factor >= 1")
    if args["dtype"] not in ("float64", "float32", np.float64, np.float32):
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {args['dtype']!r}")
    p["dtype"] = np.dtype(args["dtype"]).name
    fs, pre = p["sampling_rate_hz"], p["pre_stimulus_ms"]
    p["n_samples"] = round(p["sweep_ms"] * fs / 1000.0)
    p["stimulus_sample"] = round(pre * fs / 1000.0)
    cv_slow = max(p["cv_mean_m_s"] - 2.0 * p["cv_sd_m_s"], CV_FLOOR_M_S)
    need_ms = (p["distal_slowing"] * (p["distances_mm"][0] / cv_slow + RESIDUAL_DELAY_MS[0])
               + max(MUAP_WIDTHS_MS))
    if (p["n_samples"] - 1 - p["stimulus_sample"]) * 1000.0 / fs < need_ms:
        raise ValueError(
            f"sweep_ms={args['sweep_ms']!r} with pre_stimulus_ms={args['pre_stimulus_ms']!r} "
            f"is too short: the distal CMAP needs about {need_ms:.1f} ms after the stimulus; "
            f"use sweep_ms >= {pre + need_ms + 2000.0 / fs:.1f} (responses at proximal sites "
            "may run past the sweep: they are kept truncated, with NaN truth where a measure "
            "falls outside it)")
    return p


def rng_from_seed(seed: Any) -> tuple[np.random.Generator, int | None]:
    """The generator for ``seed`` and the integer seed that reproduces it (``None`` when
    ``seed`` is a Generator or a spawned SeedSequence).

    Raises
    ------
    ValueError
        ``seed`` is none of None, an integer >= 0, a SeedSequence, a Generator.
    """
    if isinstance(seed, np.random.Generator):
        return seed, None
    if seed is None or isinstance(seed, np.random.SeedSequence):
        seq = np.random.SeedSequence() if seed is None else seed
        return np.random.default_rng(seq), (None if seq.spawn_key else seq.entropy)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed)), int(seed)
    raise ValueError("seed must be None, an integer >= 0, a numpy SeedSequence or a numpy "
                     f"Generator; got {seed!r}")
