"""Normal limits per nerve/muscle: the default textbook table, or a lab's own file.

The default table is the widely used textbook set (Preston DC, Shapiro BE.
*Electromyography and Neuromuscular Disorders*, 3rd ed., Elsevier 2013, motor conduction
normal values: median–APB amplitude ≥ 4.0 mV, DML ≤ 4.4 ms, CV ≥ 49 m/s, F ≤ 31 ms at 7 cm;
ulnar–ADM ≥ 6.0 mV, ≤ 3.3 ms, ≥ 49 m/s, F ≤ 32 ms; fibular–EDB ≥ 2.0 mV, ≤ 6.5 ms, ≥ 44 m/s,
F ≤ 56 ms at 9 cm; tibial–AH ≥ 4.0 mV, ≤ 5.8 ms, ≥ 41 m/s, F ≤ 56 ms). Confidence: recalled,
not checked against the book itself (4.4 is the median DML limit, not its amplitude limit;
the fibular DML is the least certain value). A lab should load its own limits
(:meth:`NormalLimits.from_file`, CSV or TOML) — results name the table they used.

The minimal F-wave latency grows with height (limb length): a normative study of 100 healthy
subjects recommends a height nomogram for ulnar and tibial F latencies (Nobrega JA, Pinheiro
DS, Manzano GM, Kimura J. Various aspects of F-wave values in a healthy population. Clin
Neurophysiol 2004;115:2336-2342, PMID 15351376; confidence: secondary, the abstract was read,
its coefficients were not). A row may carry a height-adjusted F-wave ULN
(``f_wave_uln_intercept_ms`` + ``f_wave_uln_slope_ms_per_cm`` x height,
:meth:`LimitRow.f_wave_uln`), used when the patient's height is known. The default table
carries none: no published regression's coefficients could be verified from a primary source,
so its fixed F-wave ULNs apply and each comparison's reason says so. A lab loads its own
formula with its limits file.

A missing limit is ``None``: comparisons that need it are ``None`` with a reason, never a
guess. Rows may be banded by the patient's age and height (:meth:`NormalLimits.match`); a
patient outside every band of a nerve, or whose age/height a banded nerve needs but is not
given, gets no comparison and a sentence saying why.
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Any, Iterable

from ._checks import check_number
from .io.errors import NerveConductIOError, boundary  # io never imports limits: no cycle
from .names import canonical_nerve

__all__ = ["LimitRow", "NormalLimits", "LimitsFileError", "DEFAULT_LIMITS_CITATION"]

DEFAULT_LIMITS_CITATION = (
    "Preston DC, Shapiro BE. Electromyography and Neuromuscular Disorders: Clinical-"
    "Electrophysiologic Correlations, 3rd ed. Elsevier; 2013 (motor conduction normal values). "
    "Confidence: recalled, not checked against the book (docs/criteria.md)."
)


class LimitsFileError(NerveConductIOError, ValueError):
    """A normal-limits file is malformed or not text; the message names the file, line and column.

    ``path`` and ``location`` (``"line 3"``, ``"[[limits]] #2"``) say where, as for the file
    readers' errors (:class:`~nerveconduct.io.errors.NerveConductIOError`).
    """


@dataclass(frozen=True)
class LimitRow:
    """Normal limits of one nerve/muscle (and optional age and height bands).

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
        Age band the row applies to (years; inclusive lower, exclusive upper); ``None`` =
        open on that side.
    height_min_cm, height_max_cm : float or None
        Height band the row applies to (cm; inclusive lower, exclusive upper); ``None`` =
        open on that side.
    f_wave_uln_intercept_ms, f_wave_uln_slope_ms_per_cm : float or None
        A height-adjusted upper limit of the minimal F-wave latency:
        ``intercept (ms) + slope (ms/cm) x height (cm)``, used instead of ``f_wave_uln_ms``
        when the patient's height is known (:meth:`f_wave_uln`). Both or neither; the slope
        positive. A lab gives them from its own (or a published) normative regression.

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
    height_min_cm: float | None = None
    height_max_cm: float | None = None
    f_wave_uln_intercept_ms: float | None = None
    f_wave_uln_slope_ms_per_cm: float | None = None

    def __post_init__(self) -> None:
        for key in _NUMERIC:
            positive = key in _LIMIT_VALUES
            unit = "ms/cm" if key.endswith("_per_cm") else _UNITS[key.rsplit("_", 1)[-1]]
            check_number(key, getattr(self, key), unit=unit, minimum=0 if positive else None,
                         inclusive=(not positive, True), allow_none=True)
        if (self.f_wave_uln_intercept_ms is None) != (self.f_wave_uln_slope_ms_per_cm is None):
            raise ValueError("f_wave_uln_intercept_ms and f_wave_uln_slope_ms_per_cm go together: "
                             "give both (the height-adjusted F-wave ULN) or neither")
        for quantity, (lo_key, hi_key) in _BANDS.items():
            lo, hi = getattr(self, lo_key), getattr(self, hi_key)
            if lo is not None and hi is not None and not lo < hi:
                raise ValueError(f"{lo_key} ({lo:g}) must be below {hi_key} ({hi:g}): the "
                                 f"{quantity} band is lower <= {quantity} < upper")

    def f_wave_uln(self, height_cm: float | None) -> tuple[float | None, str | None]:
        """The upper limit of the minimal F-wave latency for a patient of ``height_cm`` (cm).

        Returns
        -------
        limit_ms : float or None
            Height-adjusted when the row has the formula and the height is known, else the
            fixed ``f_wave_uln_ms`` (``None``: no limit).
        basis : str or None
            Which limit was used, in words (``None`` when there is no limit).

        Examples
        --------
        >>> row = LimitRow("ulnar", f_wave_uln_ms=32.0, f_wave_uln_intercept_ms=-2.0,
        ...                f_wave_uln_slope_ms_per_cm=0.2)
        >>> row.f_wave_uln(170.0)
        (32.0, 'height-adjusted ULN: -2 ms + 0.2 ms/cm x 170 cm = 32 ms')
        >>> row.f_wave_uln(None)[1]
        'fixed ULN 32 ms: height not given (the height-adjusted ULN needs it)'
        """
        a, b = self.f_wave_uln_intercept_ms, self.f_wave_uln_slope_ms_per_cm
        known = height_cm is not None and height_cm == height_cm
        if a is not None and b is not None and known:
            limit = a + b * float(height_cm)
            return limit, (f"height-adjusted ULN: {a:g} ms + {b:g} ms/cm x {float(height_cm):g} cm "
                           f"= {limit:.4g} ms")
        fixed = self.f_wave_uln_ms
        if fixed is None:
            return None, None
        why = ("height not given (the height-adjusted ULN needs it)" if a is not None
               else "no height-adjusted ULN in the normal limits used")
        return fixed, f"fixed ULN {fixed:g} ms: {why}"

    def banded_by(self, quantity: str) -> bool:
        """Whether the row has a band of ``quantity`` (``"age"`` or ``"height"``)."""
        lo, hi = _BANDS[quantity]
        return getattr(self, lo) is not None or getattr(self, hi) is not None

    def covers(self, quantity: str, value: float | None) -> bool:
        """True when the row applies to a patient whose ``quantity`` (``"age"``: years,
        ``"height"``: cm) is ``value``: always when the row has no band of it; never when it
        has one and ``value`` is unknown (``None``/NaN); else lower <= value < upper."""
        if not self.banded_by(quantity):
            return True
        if value is None or value != value:
            return False
        lo_key, hi_key = _BANDS[quantity]
        lo = -math.inf if getattr(self, lo_key) is None else getattr(self, lo_key)
        hi = math.inf if getattr(self, hi_key) is None else getattr(self, hi_key)
        return lo <= value < hi

    def covers_age(self, age_years: float | None) -> bool:
        """True when the row applies to ``age_years`` (:meth:`covers` of ``"age"``)."""
        return self.covers("age", age_years)

    def band_text(self, quantity: str) -> str:
        """The row's band of ``quantity`` in words (``"18-60 years"``, ``"from 160 cm"``)."""
        lo_key, hi_key = _BANDS[quantity]
        lo, hi, unit = getattr(self, lo_key), getattr(self, hi_key), _BAND_UNITS[quantity]
        if lo is not None and hi is not None:
            return f"{lo:g}-{hi:g} {unit}"
        return f"from {lo:g} {unit}" if lo is not None else f"below {hi:g} {unit}"


_LIMIT_VALUES = ("amplitude_lln_mv", "dml_uln_ms", "cv_lln_m_s", "f_wave_uln_ms",
                 "distal_distance_mm")
_NUMERIC = _LIMIT_VALUES + ("age_min_years", "age_max_years", "height_min_cm", "height_max_cm",
                            "f_wave_uln_intercept_ms", "f_wave_uln_slope_ms_per_cm")
#: The unit of a column, from the end of its name.
_UNITS = {"mv": "mV", "ms": "ms", "s": "m/s", "mm": "mm", "years": "years", "cm": "cm"}
#: Demographic bands of a row: quantity -> (lower bound column, upper bound column).
_BANDS = {"age": ("age_min_years", "age_max_years"), "height": ("height_min_cm", "height_max_cm")}
_BAND_UNITS = {"age": "years", "height": "cm"}
#: What a study sheet calls each banded quantity.
_BAND_KEYS = {"age": "age_years", "height": "height_cm"}
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
        """The default textbook table (Preston & Shapiro, 3rd ed. 2013; recalled)."""
        return cls(_DEFAULT_ROWS, name="preston-shapiro", citation=DEFAULT_LIMITS_CITATION)

    def lookup(self, nerve: str | None, muscle: str | None = None,
               age_years: float | None = None, height_cm: float | None = None) -> LimitRow | None:
        """Return the row for ``nerve`` (any alias), preferring a matching muscle and band.

        Returns ``None`` when no row applies (:meth:`match` says why).
        """
        return self.match(nerve, muscle, age_years=age_years, height_cm=height_cm)[0]

    def match(self, nerve: str | None, muscle: str | None = None, *,
              age_years: float | None = None, height_cm: float | None = None,
              ) -> tuple[LimitRow | None, str | None]:
        """The row that applies to a nerve of a patient of this age (years) and height (cm).

        A row applies when each of its bands (age, height) holds the patient's value; a row
        with a band never applies to a patient whose value is unknown. Among the rows that
        apply, one of the same muscle comes first, then one banded by more quantities (the
        more specific), then the table's order.

        Returns
        -------
        row : LimitRow or None
        problem : str or None
            Why no row applies although the table has rows for the nerve: the patient's age
            or height is missing while the rows need it, or outside every band (the bands
            are listed). ``None`` when a row applies, or when the table has no row for the
            nerve at all (that is said by the caller: "no normal limits for nerve ...").

        Examples
        --------
        >>> t = NormalLimits([LimitRow("ulnar", None, 6.0, age_min_years=18, age_max_years=60)],
        ...                  name="lab", citation="x")
        >>> t.match("ulnar", age_years=30)[0].amplitude_lln_mv
        6.0
        >>> t.match("ulnar", age_years=60)[1]
        "age 60 years is outside every age band of the normal limits 'lab' for the ulnar nerve (18-60 years): no normal-limit comparison"
        """
        canon = canonical_nerve(nerve) if nerve else None
        if canon is None:
            return None, None
        rows = [r for r in self.rows if r.nerve == canon]
        if not rows:
            return None, None
        given = {"age": age_years, "height": height_cm}
        fits = [r for r in rows if all(r.covers(q, v) for q, v in given.items())]
        if fits:
            same = [r for r in fits if muscle and r.muscle and r.muscle.lower() == muscle.lower()]
            generic = [r for r in fits if r.muscle is None]
            pool = same or generic or fits
            best = max(sum(r.banded_by(q) for q in _BANDS) for r in pool)
            return next(r for r in pool if sum(r.banded_by(q) for q in _BANDS) == best), None
        return None, self._band_problem(canon, rows, given)

    def _band_problem(self, canon: str, rows: list[LimitRow], given: dict[str, float | None]) -> str:
        """Why none of ``rows`` (the nerve's) applies: a needed value missing, or outside."""
        for quantity, value in given.items():
            banded = [r for r in rows if r.banded_by(quantity)]
            if not banded:
                continue
            if value is None or value != value:
                if len(banded) == len(rows):
                    return (f"{quantity} not given but the normal limits {self.name!r} for the "
                            f"{canon} nerve are banded by {quantity} (give "
                            f"{_BAND_KEYS[quantity]} in the study sheet): no normal-limit comparison")
                continue
            if not any(r.covers(quantity, value) for r in rows):
                bands = ", ".join(dict.fromkeys(r.band_text(quantity) for r in banded))
                return (f"{quantity} {value:g} {_BAND_UNITS[quantity]} is outside every "
                        f"{quantity} band of the normal limits {self.name!r} for the {canon} "
                        f"nerve ({bands}): no normal-limit comparison")
        return (f"no row of the normal limits {self.name!r} for the {canon} nerve fits both the "
                f"age and the height given: no normal-limit comparison")

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> "NormalLimits":
        """Load a lab's limits from a CSV or TOML file.

        CSV: a header row with ``nerve`` and any of ``muscle, amplitude_lln_mv, dml_uln_ms,
        cv_lln_m_s, f_wave_uln_ms, distal_distance_mm, age_min_years, age_max_years,
        height_min_cm, height_max_cm, f_wave_uln_intercept_ms, f_wave_uln_slope_ms_per_cm``;
        empty cells are missing limits (or open band ends). TOML: optional ``name`` and ``citation`` keys and a
        ``[[limits]]`` array of tables with the same keys.

        Raises
        ------
        LimitsFileError
            Text that is not UTF-8 (e.g. UTF-16 or binary bytes), malformed CSV or TOML,
            unknown column/key, non-numeric value, unknown nerve, or no rows; the message
            names the file and the line (or row).
        FileNotFoundError
            The file does not exist.
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".csv", ".toml"):
            raise LimitsFileError(f"limits files must be .csv or .toml, got "
                                  f"{suffix or 'no suffix'!r}", path=p)
        text = _read_text(p)
        with boundary(LimitsFileError, p, location="line 1") as where:
            if suffix == ".toml":
                try:
                    doc = tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    raise LimitsFileError(f"not valid TOML: {exc}", path=p) from exc
                raw_rows = doc.get("limits")
                if not isinstance(raw_rows, list):
                    raise LimitsFileError("expected a [[limits]] array of tables", path=p)
                name = str(doc.get("name", p.stem))
                citation = str(doc.get("citation", f"lab limits file {p.name}"))
                labelled = [(f"[[limits]] #{i + 1}", r) for i, r in enumerate(raw_rows)]
            else:
                labelled = []
                reader = csv.DictReader(io.StringIO(text, newline=""))
                for row in reader:  # where: the line being parsed, should the csv module fail
                    labelled.append((f"line {reader.line_num}", row))
                    where.location = f"line {reader.line_num + 1}"
                name, citation = p.stem, f"lab limits file {p.name}"
            rows = [_row_from_mapping(raw, p, label) for label, raw in labelled]
        if not rows:
            raise LimitsFileError("no limit rows found", path=p)
        return cls(rows, name=name, citation=citation)


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a UTF-8 byte-order mark is dropped), or LimitsFileError."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise LimitsFileError(f"text is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                              "allowed: UTF-8 text (save the file as UTF-8)", path=path,
                              location=f"line {line}") from None


def _row_from_mapping(raw: Any, path: Path, where: str) -> LimitRow:
    if not isinstance(raw, dict):
        raise LimitsFileError(f"expected a table of limits, got {raw!r}", path=path, location=where)
    unknown = sorted(set(raw) - set(_COLUMNS))
    if unknown:
        raise LimitsFileError(f"unknown column(s) {unknown}; allowed: {list(_COLUMNS)}", path=path,
                              location=where)
    nerve = canonical_nerve(str(raw.get("nerve") or ""))
    if nerve is None:
        raise LimitsFileError(f"unknown or missing nerve {raw.get('nerve')!r}", path=path,
                              location=where)
    values: dict[str, Any] = {"nerve": nerve, "muscle": (str(raw["muscle"]).strip() or None) if raw.get("muscle") else None}
    for key in _NUMERIC:
        cell = raw.get(key)
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            values[key] = None
            continue
        try:
            number = float(cell)
        except (TypeError, ValueError):
            raise LimitsFileError(f"{key} must be a number, got {cell!r}", path=path,
                                  location=where) from None
        values[key] = number
    try:
        return LimitRow(**values)
    except ValueError as exc:  # the row's own rule: positive finite limits
        raise LimitsFileError(str(exc), path=path, location=where) from None
