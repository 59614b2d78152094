"""The machine's numbers without waveforms: a values table, one row per stimulation site.

Labs whose EMG system exports only its measurement table (latencies, amplitudes, distances
per site) give it as a CSV file (or a study sheet's ``[[values]]`` rows)::

    nerve,side,site,distance_mm,onset_latency_ms,negative_peak_amplitude_mv,negative_peak_area_mv_ms
    median,left,wrist,70,4.1,6.0,20.1
    median,left,elbow,230,9.1,5.4,18.3

Required columns: :data:`REQUIRED`. Optional: :data:`OPTIONAL` (per site: area, durations,
peak-to-peak amplitude; per nerve: ``f_wave_latency_ms``, ``muscle``, ``temperature_c``,
``low_frequency_filter_hz``; ``case_id``). Units are in the names (ms, mV, mV·ms, mm, °C,
Hz). Rows of one nerve (same ``case_id``, nerve and side) are consecutive, distal site first;
``distance_mm`` follows the machines' convention (the most distal site's is stimulation point
-> active electrode, every other site's the segment length from the next more distal site).
An empty cell is a value not measured; an empty onset latency or a zero amplitude marks an
absent response. A per-nerve value (F-wave latency, muscle, ...) may be given on any row of
the nerve, and must agree where given on several.

:func:`read_values` returns one :class:`ValuesNerve` per nerve; its :meth:`ValuesNerve.kwargs`
are the arguments of :func:`nerveconduct.analysis.analyze_values`, so the numbers go through
the same analysis core, criteria, scores and report as measured waveforms. A bad row is a
:class:`~nerveconduct.io.errors.FormatError` naming its line and what is allowed.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..model import Site
from ..names import canonical_nerve
from .errors import FormatError, boundary

__all__ = ["REQUIRED", "OPTIONAL", "SITE_VALUES", "ValuesNerve", "read_values", "parse_values"]

#: Columns every values table has.
REQUIRED = ("nerve", "side", "site", "distance_mm", "onset_latency_ms",
            "negative_peak_amplitude_mv")
#: Per-site measures a table may add (one value per site; empty = not measured).
SITE_VALUES = ("negative_peak_area_mv_ms", "negative_peak_duration_ms", "cmap_duration_ms",
               "peak_to_peak_amplitude_mv")
#: Per-nerve values a table may add (given on any row of the nerve).
NERVE_VALUES = ("f_wave_latency_ms", "temperature_c", "low_frequency_filter_hz")
#: Every optional column.
OPTIONAL = (*SITE_VALUES, *NERVE_VALUES, "muscle", "case_id", "stimulus_intensity_ma")
_SIDES = ("left", "right")
#: Plausible ranges of the numbers (inclusive): a value outside is a unit or typing error.
_RANGES = {"distance_mm": (0.0, 2000.0), "onset_latency_ms": (0.0, 1000.0),
           "negative_peak_amplitude_mv": (0.0, 100.0), "negative_peak_area_mv_ms": (0.0, 10000.0),
           "negative_peak_duration_ms": (0.0, 1000.0), "cmap_duration_ms": (0.0, 1000.0),
           "peak_to_peak_amplitude_mv": (0.0, 200.0), "f_wave_latency_ms": (0.0, 1000.0),
           "temperature_c": (0.0, 50.0), "low_frequency_filter_hz": (0.0, 1e5),
           "stimulus_intensity_ma": (0.0, 1000.0)}


@dataclass
class ValuesNerve:
    """One nerve of a values table: its sites and per-site numbers.

    Attributes
    ----------
    nerve, side : str
        As written (side lower-cased: ``"left"``/``"right"``).
    sites : list of Site
        Distal first; ``distance_mm`` in the machine convention (mm).
    measures : dict of str to list of float or None
        ``onset_latency_ms`` (ms), ``negative_peak_amplitude_mv`` (mV) and any of
        :data:`SITE_VALUES`, one value per site (``None`` = not measured).
    per_nerve : dict
        ``muscle``, ``f_wave_latency_ms`` (ms), ``temperature_c`` (°C),
        ``low_frequency_filter_hz`` (Hz) where given.
    case_id : str or None
        The row's ``case_id`` (the case key), when the table gives one.
    first_line : int
        Line of the nerve's first row (for messages).
    """

    nerve: str
    side: str
    sites: list[Site] = field(default_factory=list)
    measures: dict[str, list[float | None]] = field(default_factory=dict)
    per_nerve: dict[str, Any] = field(default_factory=dict)
    case_id: str | None = None
    first_line: int = 0

    def kwargs(self) -> dict[str, Any]:
        """The arguments of :func:`nerveconduct.analysis.analyze_values` for this nerve
        (``study_id``: the case key when the table gives one)."""
        out: dict[str, Any] = {"nerve": self.nerve, "sites": list(self.sites), "side": self.side,
                               "study_id": self.case_id, **self.per_nerve}
        for key, values in self.measures.items():
            if key in ("onset_latency_ms", "negative_peak_amplitude_mv"):
                out[key] = [math.nan if v is None else v for v in values]
            elif any(v is not None for v in values):
                out[key] = values
        return out


def read_values(path: str | PathLike[str]) -> list[ValuesNerve]:
    """Read a values table (CSV, UTF-8): one row per stimulation site.

    Returns
    -------
    list of ValuesNerve
        One per nerve, in the order of the table.

    Raises
    ------
    FormatError
        Not UTF-8 text, no header, a missing required column or an unknown one (the allowed
        ones listed), a value that is not a number or outside its plausible range, an unknown
        nerve or side, a nerve's rows split by another nerve's, or a per-nerve value that
        differs between rows of the nerve -- naming the file and the line.
    FileNotFoundError
        The file does not exist.
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FormatError(f"a values table must be UTF-8 text ({exc.reason} at byte "
                          f"{exc.start}); save it as UTF-8 CSV", path=p, location=f"line {line}") from None
    with boundary(FormatError, p, location="line 1") as where:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames:
            raise FormatError(f"empty values table: a header row with {', '.join(REQUIRED)} is "
                              "required", path=p, location="line 1")
        _check_columns([c.strip() for c in reader.fieldnames], p)
        rows = []
        for row in reader:
            where.location = f"line {reader.line_num}"
            rows.append((reader.line_num, {(k or "").strip(): v for k, v in row.items()}))
        return parse_values(rows, path=p)


def _check_columns(columns: Sequence[str], path: Any, where: str = "line 1") -> None:
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED and c not in OPTIONAL]
    if missing:
        raise FormatError(f"missing column(s) {missing}; a values table needs {list(REQUIRED)}",
                          path=path, location=where)
    if unknown:
        raise FormatError(f"unknown column(s) {unknown}; allowed: {list(REQUIRED + OPTIONAL)}",
                          path=path, location=where)


def parse_values(rows: Iterable[tuple[int | str, Mapping[str, Any]]], *,
                 path: str | PathLike[str] | None = None) -> list[ValuesNerve]:
    """Group checked rows into nerves: ``rows`` are (where, mapping) pairs, ``where`` a line
    number or a label (``"values[3]"``) used in messages. See :func:`read_values`."""
    nerves: list[ValuesNerve] = []
    done: set[tuple[Any, ...]] = set()
    for where, raw in rows:
        loc = f"line {where}" if isinstance(where, int) else str(where)
        if "" in raw:  # csv.DictReader's key for cells beyond the header
            raise FormatError("the row has more cells than the header has columns", path=path,
                              location=loc)
        unknown = [k for k in raw if k not in REQUIRED and k not in OPTIONAL]
        missing = [k for k in REQUIRED if k not in raw]
        if unknown or missing:
            _check_columns(list(raw), path, loc)
        if all(_blank(v) for v in raw.values()):
            continue
        nerve = _text(raw, "nerve", path, loc, required=True)
        if canonical_nerve(nerve) is None:
            raise FormatError(f"unknown nerve {nerve!r}; allowed: a motor nerve name such as "
                              "median, ulnar, fibular (peroneal), tibial", path=path, location=loc)
        side = _text(raw, "side", path, loc, required=True).lower()
        if side not in _SIDES:
            raise FormatError(f"side must be one of {list(_SIDES)}, got {raw['side']!r}",
                              path=path, location=loc)
        case = _text(raw, "case_id", path, loc)
        key = (case, canonical_nerve(nerve), side)
        if not nerves or (nerves[-1].case_id, canonical_nerve(nerves[-1].nerve), nerves[-1].side) != key:
            if key in done:
                raise FormatError(f"the rows of {side} {nerve} (case {case or 'not given'}) are "
                                  "split by another nerve's: give each nerve's sites on "
                                  "consecutive rows, distal first", path=path, location=loc)
            done.add(key)
            nerves.append(ValuesNerve(nerve, side, measures={k: [] for k in REQUIRED[4:] + SITE_VALUES},
                                      case_id=case, first_line=where if isinstance(where, int) else 0))
        current = nerves[-1]
        site = _text(raw, "site", path, loc, required=True)
        current.sites.append(Site(site, _number(raw, "distance_mm", path, loc, required=True,
                                                positive=True),
                                  _number(raw, "stimulus_intensity_ma", path, loc,
                                          positive=True)))  # (0, 1000] mA: 0 mA is no stimulus
        current.measures["onset_latency_ms"].append(_number(raw, "onset_latency_ms", path, loc))
        current.measures["negative_peak_amplitude_mv"].append(
            _number(raw, "negative_peak_amplitude_mv", path, loc, required=True))
        for key in SITE_VALUES:
            current.measures[key].append(_number(raw, key, path, loc))
        for key in (*NERVE_VALUES, "muscle"):
            value = _text(raw, key, path, loc) if key == "muscle" else _number(raw, key, path, loc)
            if value is None:
                continue
            if key in current.per_nerve and current.per_nerve[key] != value:
                raise FormatError(f"{key} {value!r} differs from {current.per_nerve[key]!r} on an "
                                  f"earlier row of {side} {nerve}: a per-nerve value must agree "
                                  "on every row that gives it", path=path, location=loc)
            current.per_nerve[key] = value
    if not nerves:
        raise FormatError("no value rows: one row per stimulation site is required", path=path,
                          location="line 2")
    return nerves


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(raw: Mapping[str, Any], key: str, path: Any, loc: str, *,
          required: bool = False) -> str | None:
    value = raw.get(key)
    if _blank(value):
        if required:
            raise FormatError(f"{key} is empty; every row needs {', '.join(REQUIRED)}",
                              path=path, location=loc)
        return None
    if not isinstance(value, str):
        raise FormatError(f"{key} must be text, got {value!r}", path=path, location=loc)
    return value.strip()


def _number(raw: Mapping[str, Any], key: str, path: Any, loc: str, *, required: bool = False,
            positive: bool = False) -> float | None:
    value = raw.get(key)
    if _blank(value):
        if required:
            raise FormatError(f"{key} is empty; every row needs {', '.join(REQUIRED)} (an absent "
                              "response: amplitude 0 and an empty onset latency)", path=path,
                              location=loc)
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise FormatError(f"{key} must be a number ({_unit(key)}), got {value!r}", path=path,
                          location=loc) from None
    lo, hi = _RANGES[key]
    if not math.isfinite(number) or not lo <= number <= hi or (positive and number == 0):
        low = f"above {lo:g}" if positive else f"from {lo:g}"
        raise FormatError(f"{key} must be a finite number {low} to {hi:g} {_unit(key)}, got "
                          f"{value!r}", path=path, location=loc)
    return number


def _unit(key: str) -> str:
    if key.endswith("_mv_ms"):
        return "mV·ms"
    return {"mm": "mm", "ms": "ms", "mv": "mV", "c": "°C", "hz": "Hz", "ma": "mA"}.get(
        key.rsplit("_", 1)[-1], "")
