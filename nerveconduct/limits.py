"""Normal limits per nerve/muscle: the default textbook table, or a lab's own file.

The default table is the widely used textbook set (Preston DC, Shapiro BE.
*Electromyography and Neuromuscular Disorders*, 3rd ed., Elsevier 2013, motor conduction
normal values), confidence [R] in CRITERIA.md: recalled and consistent with secondary
sources, not checked against the book itself. A lab should load its own limits
(:meth:`NormalLimits.from_file`, CSV or TOML) — results name the table they used.

A missing limit is ``None``: comparisons that need it are ``None`` with a reason, never a
guess.
"""

from __future__ import annotations

import csv
import math
import tomllib
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Any, Iterable

from .names import canonical_nerve

__all__ = ["LimitRow", "NormalLimits", "LimitsFileError", "DEFAULT_LIMITS_CITATION"]

DEFAULT_LIMITS_CITATION = (
    "Preston DC, Shapiro BE. Electromyography and Neuromuscular Disorders: Clinical-"
    "Electrophysiologic Correlations, 3rd ed. Elsevier; 2013 (motor conduction normal values). "
    "Confidence [R]: recalled, consistent with secondary sources (CRITERIA.md)."
)


class LimitsFileError(ValueError):
    """A normal-limits file is malformed; the message names the file, row and column."""


@dataclass(frozen=True)
class LimitRow:
    """Normal limits of one nerve/muscle (and optional age band).

    Attributes
    ----------
    nerve : str
        Canonical nerve name.
    muscle : str or None
        Recording muscle (``None`` = any).
    amplitude_lln_mv : float or None
        Lower limit of normal of the distal negative-peak amplitude (mV).
    dml_uln_ms : float or None
        Upper limit of normal of the distal motor latency (ms).
    cv_lln_m_s : float or None
        Lower limit of normal of the conduction velocity (m/s).
    f_wave_uln_ms : float or None
        Upper limit of normal of the minimal F-wave latency (ms).
    distal_distance_mm : float or None
        Standard distal distance the DML limit assumes (mm).
    age_min_years, age_max_years : float or None
        Age band the row applies to (inclusive lower, exclusive upper); ``None`` = open.

    Raises
    ------
    ValueError
        A limit or distance that is not a positive finite number (or ``None``), an age that is
        not finite.
    """

    nerve: str
    muscle: str | None = None
    amplitude_lln_mv: float | None = None
    dml_uln_ms: float | None = None
    cv_lln_m_s: float | None = None
    f_wave_uln_ms: float | None = None
    distal_distance_mm: float | None = None
    age_min_years: float | None = None
    age_max_years: float | None = None

    def __post_init__(self) -> None:
        for key in _NUMERIC:
            value = getattr(self, key)
            if value is None:
                continue
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or (value <= 0 and key in _LIMIT_VALUES):
                kind = "a finite number" if key.startswith("age") else "a positive finite number"
                raise ValueError(f"{key} must be {kind} or None, got {value!r}")

    def covers_age(self, age_years: float | None) -> bool:
        """True when the row applies to ``age_years`` (any age when the row has no band)."""
        if age_years is None:
            return self.age_min_years is None and self.age_max_years is None
        lo = -math.inf if self.age_min_years is None else self.age_min_years
        hi = math.inf if self.age_max_years is None else self.age_max_years
        return lo <= age_years < hi


_LIMIT_VALUES = ("amplitude_lln_mv", "dml_uln_ms", "cv_lln_m_s", "f_wave_uln_ms",
                 "distal_distance_mm")
_NUMERIC = _LIMIT_VALUES + ("age_min_years", "age_max_years")
_COLUMNS = tuple(f.name for f in fields(LimitRow))

_DEFAULT_ROWS = (
    LimitRow("median", "APB", 4.0, 4.4, 49.0, 31.0, 70.0),
    LimitRow("ulnar", "ADM", 6.0, 3.3, 49.0, 32.0, 70.0),
    LimitRow("fibular", "EDB", 2.0, 6.5, 44.0, 56.0, 90.0),
    LimitRow("tibial", "AH", 4.0, 5.8, 41.0, 56.0, 90.0),
)


class NormalLimits:
    """A table of normal limits with its name and citation.

    Parameters
    ----------
    rows : iterable of LimitRow
        One row per nerve (and muscle / age band).
    name : str
        Short name shown in results and reports.
    citation : str
        Where the numbers come from.

    Examples
    --------
    >>> limits = NormalLimits.default()
    >>> limits.lookup("peroneal").amplitude_lln_mv
    2.0
    >>> limits.lookup("sural") is None
    True
    """

    def __init__(self, rows: Iterable[LimitRow], *, name: str, citation: str) -> None:
        self.rows = tuple(rows)
        self.name = name
        self.citation = citation

    @classmethod
    def default(cls) -> "NormalLimits":
        """The default textbook table of CRITERIA.md (Preston & Shapiro, [R])."""
        return cls(_DEFAULT_ROWS, name="preston-shapiro", citation=DEFAULT_LIMITS_CITATION)

    def lookup(self, nerve: str | None, muscle: str | None = None,
               age_years: float | None = None) -> LimitRow | None:
        """Return the row for ``nerve`` (any alias), preferring a matching muscle and age band.

        Returns ``None`` when the table has no row for the nerve.
        """
        canon = canonical_nerve(nerve) if nerve else None
        if canon is None:
            return None
        candidates = [r for r in self.rows if r.nerve == canon and r.covers_age(age_years)]
        if not candidates and age_years is not None:
            candidates = [r for r in self.rows if r.nerve == canon and r.covers_age(None)]
        if not candidates:
            return None
        if muscle:
            same = [r for r in candidates if r.muscle and r.muscle.lower() == muscle.lower()]
            if same:
                return same[0]
        generic = [r for r in candidates if r.muscle is None]
        return (generic or candidates)[0]

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> "NormalLimits":
        """Load a lab's limits from a CSV or TOML file.

        CSV: a header row with ``nerve`` and any of ``muscle, amplitude_lln_mv, dml_uln_ms,
        cv_lln_m_s, f_wave_uln_ms, distal_distance_mm, age_min_years, age_max_years``; empty
        cells are missing limits. TOML: optional ``name`` and ``citation`` keys and a
        ``[[limits]]`` array of tables with the same keys.

        Raises
        ------
        LimitsFileError
            Unknown column/key, non-numeric value, unknown nerve, or no rows; the message names
            the file and the row.
        FileNotFoundError
            The file does not exist.
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".toml":
            try:
                doc = tomllib.loads(p.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise LimitsFileError(f"{p}: not valid TOML: {exc}") from exc
            raw_rows = doc.get("limits")
            if not isinstance(raw_rows, list):
                raise LimitsFileError(f"{p}: expected a [[limits]] array of tables")
            name = str(doc.get("name", p.stem))
            citation = str(doc.get("citation", f"lab limits file {p.name}"))
            labelled = [(f"[[limits]] #{i + 1}", r) for i, r in enumerate(raw_rows)]
        elif suffix == ".csv":
            with p.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                labelled = [(f"line {i + 2}", r) for i, r in enumerate(reader)]
            name, citation = p.stem, f"lab limits file {p.name}"
        else:
            raise LimitsFileError(f"{p}: limits files must be .csv or .toml, got {suffix or 'no suffix'!r}")
        rows = [_row_from_mapping(raw, p, where) for where, raw in labelled]
        if not rows:
            raise LimitsFileError(f"{p}: no limit rows found")
        return cls(rows, name=name, citation=citation)


def _row_from_mapping(raw: Any, path: Path, where: str) -> LimitRow:
    if not isinstance(raw, dict):
        raise LimitsFileError(f"{path}, {where}: expected a table of limits, got {raw!r}")
    unknown = sorted(set(raw) - set(_COLUMNS))
    if unknown:
        raise LimitsFileError(f"{path}, {where}: unknown column(s) {unknown}; allowed: {list(_COLUMNS)}")
    nerve = canonical_nerve(str(raw.get("nerve") or ""))
    if nerve is None:
        raise LimitsFileError(f"{path}, {where}: unknown or missing nerve {raw.get('nerve')!r}")
    values: dict[str, Any] = {"nerve": nerve, "muscle": (str(raw["muscle"]).strip() or None) if raw.get("muscle") else None}
    for key in _NUMERIC:
        cell = raw.get(key)
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            values[key] = None
            continue
        try:
            number = float(cell)
        except (TypeError, ValueError):
            raise LimitsFileError(f"{path}, {where}: {key} must be a number, got {cell!r}") from None
        values[key] = number
    try:
        return LimitRow(**values)
    except ValueError as exc:  # the row's own rule: positive finite limits
        raise LimitsFileError(f"{path}, {where}: {exc}") from None
