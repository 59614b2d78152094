"""What every normal-limits table shares: demographic bands, the row match, the file loader.

A table (:class:`LimitTable`) holds rows of one kind (motor :class:`~.motor.LimitRow`,
sensory :class:`~.sensory.SensoryLimitRow`); a row may be banded by the patient's age and
height (:class:`BandedRow`). :meth:`LimitTable.match` picks the row that applies to a nerve
of a patient; :meth:`LimitTable.from_file` reads a lab's CSV or TOML file into rows of the
table's kind, with one set of rules and errors (:class:`LimitsFileError`) for every kind.
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import fields
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar, Iterable

from .._checks import check_number
from ..io.errors import NerveConductIOError, boundary  # io never imports limits: no cycle
from ..names import canonical_nerve

__all__ = ["LimitsFileError", "BandedRow", "LimitTable"]


class LimitsFileError(NerveConductIOError, ValueError):
    """A normal-limits file is malformed or not text; the message names the file, line and column.

    ``path`` and ``location`` (``"line 3"``, ``"[[limits]] #2"``) say where, as for the file
    readers' errors (:class:`~nerveconduct.io.errors.NerveConductIOError`).
    """


#: The unit of a column, from the end of its name.
_UNITS = {"mv": "mV", "uv": "uV", "ms": "ms", "s": "m/s", "mm": "mm", "years": "years",
          "cm": "cm"}
#: Demographic bands of a row: quantity -> (lower bound column, upper bound column).
_BANDS = {"age": ("age_min_years", "age_max_years"), "height": ("height_min_cm", "height_max_cm")}
_BAND_UNITS = {"age": "years", "height": "cm"}
#: What a study sheet calls each banded quantity.
_BAND_KEYS = {"age": "age_years", "height": "height_cm"}
_BAND_COLUMNS = ("age_min_years", "age_max_years", "height_min_cm", "height_max_cm")


class BandedRow:
    """Mixin of a frozen dataclass row with limits and optional age and height bands.

    A subclass names its positive limit columns (``_LIMIT_VALUES``), every numeric column
    (``_NUMERIC``: the limits, the band bounds and any other number) and its text columns
    besides ``nerve`` (``_TEXT``), and the column it is matched by besides the nerve
    (``_KEY``: the motor rows' ``muscle``, the sensory rows' ``direction``).
    """

    _LIMIT_VALUES: ClassVar[tuple[str, ...]] = ()
    _NUMERIC: ClassVar[tuple[str, ...]] = ()
    _TEXT: ClassVar[tuple[str, ...]] = ()
    _KEY: ClassVar[str] = ""

    def _check_numbers(self) -> None:
        """Limits positive finite or None; other numbers finite or None (ValueError)."""
        for key in self._NUMERIC:
            positive = key in self._LIMIT_VALUES
            unit = "ms/cm" if key.endswith("_per_cm") else _UNITS[key.rsplit("_", 1)[-1]]
            check_number(key, getattr(self, key), unit=unit, minimum=0 if positive else None,
                         inclusive=(not positive, True), allow_none=True)

    def _check_bands(self) -> None:
        """Each band's lower bound below its upper bound (ValueError)."""
        for quantity, (lo_key, hi_key) in _BANDS.items():
            lo, hi = getattr(self, lo_key), getattr(self, hi_key)
            if lo is not None and hi is not None and not lo < hi:
                raise ValueError(f"{lo_key} ({lo:g}) must be below {hi_key} ({hi:g}): the "
                                 f"{quantity} band is lower <= {quantity} < upper")

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


class LimitTable:
    """A table of normal-limit rows (one kind: ``_ROW``) with its name and citation.

    ``_KEY_FALLBACK``: when no row of the asked key (muscle, direction) applies, whether a row
    of another key may (motor: yes, any muscle; sensory: no, an antidromic limit is not an
    orthodromic one).
    """

    _ROW: ClassVar[type] = BandedRow
    _KEY_FALLBACK: ClassVar[bool] = True

    def __init__(self, rows: Iterable[Any], *, name: str, citation: str) -> None:
        self.rows = tuple(rows)
        self.name = name
        self.citation = citation

    def _match(self, nerve: str | None, key: str | None, age_years: float | None,
               height_cm: float | None) -> tuple[Any, str | None]:
        """:meth:`NormalLimits.match`'s rule for any kind of row (``key``: the row's ``_KEY``)."""
        canon = canonical_nerve(nerve) if nerve else None
        if canon is None:
            return None, None
        rows = [r for r in self.rows if r.nerve == canon]
        if not rows:
            return None, None
        given = {"age": age_years, "height": height_cm}
        fits = [r for r in rows if all(r.covers(q, v) for q, v in given.items())]
        if fits:
            field = self._ROW._KEY
            same = [r for r in fits if key and getattr(r, field)
                    and getattr(r, field).lower() == key.lower()]
            generic = [r for r in fits if getattr(r, field) is None]
            pool = same or generic or (fits if self._KEY_FALLBACK else [])
            if not pool:
                kinds = ", ".join(dict.fromkeys(str(getattr(r, field)) for r in fits))
                if not key:
                    return None, (f"{field} not given, and the normal limits {self.name!r} have "
                                  f"only {kinds} {field} rows for the {canon} nerve (none for "
                                  f"either {field}): no normal-limit comparison")
                return None, (f"the normal limits {self.name!r} have no {key} {field} row for the "
                              f"{canon} nerve (only {kinds}): no normal-limit comparison")
            best = max(sum(r.banded_by(q) for q in _BANDS) for r in pool)
            return next(r for r in pool if sum(r.banded_by(q) for q in _BANDS) == best), None
        return None, self._band_problem(canon, rows, given)

    def _band_problem(self, canon: str, rows: list[Any], given: dict[str, float | None]) -> str:
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
    def from_file(cls, path: str | PathLike[str]) -> Any:
        """Load a lab's limits from a CSV or TOML file (the columns of the table's rows).

        CSV: a header row with ``nerve`` and any other column of the row kind; empty cells
        are missing limits (or open band ends). TOML: optional ``name`` and ``citation`` keys
        and a ``[[limits]]`` array of tables with the same keys.

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
            rows = [_row_from_mapping(cls._ROW, raw, p, label) for label, raw in labelled]
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


def _row_from_mapping(row_cls: type, raw: Any, path: Path, where: str) -> Any:
    """One row of kind ``row_cls`` from a file's mapping (CSV line or TOML table)."""
    if not isinstance(raw, dict):
        raise LimitsFileError(f"expected a table of limits, got {raw!r}", path=path, location=where)
    columns = tuple(f.name for f in fields(row_cls))
    unknown = sorted(set(raw) - set(columns))
    if unknown:
        raise LimitsFileError(f"unknown column(s) {unknown}; allowed: {list(columns)}", path=path,
                              location=where)
    nerve = canonical_nerve(str(raw.get("nerve") or ""))
    if nerve is None:
        raise LimitsFileError(f"unknown or missing nerve {raw.get('nerve')!r}", path=path,
                              location=where)
    values: dict[str, Any] = {"nerve": nerve}
    for key in row_cls._TEXT:
        values[key] = (str(raw[key]).strip() or None) if raw.get(key) else None
    for key in row_cls._NUMERIC:
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
        return row_cls(**values)
    except ValueError as exc:  # the row's own rule: positive finite limits, known options
        raise LimitsFileError(str(exc), path=path, location=where) from None
