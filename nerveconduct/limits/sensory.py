"""Sensory normal limits per nerve and direction: the default textbook table, or a lab's own.

The default table holds the antidromic sensory normal adult values of the textbook appendix
"Nerve conduction studies: normal adult values" (Preston DC, Shapiro BE. *Electromyography
and Neuromuscular Disorders: Clinical-Electrophysiologic Correlations*, 3rd ed., Elsevier
2013), the same source as the motor table (:mod:`.motor`). Per row, ``confidence`` says how
far each value was checked:

- ``"secondary"``: median (digit II, 13 cm) amplitude >= 20 uV, CV >= 50 m/s, peak latency
  <= 3.5 ms; ulnar (digit V, 11 cm) >= 17 uV, >= 50 m/s, <= 3.1 ms, and the footnote "in adults
  older than 60 years, many consider ulnar antidromic sensory amplitudes > 10 uV as normal"
  (a row banded from age 60: the band's lower end is inclusive, so a patient of exactly 60
  gets it too); radial (snuffbox, 10 cm) >= 15 uV, >= 50 m/s, <= 2.9 ms. Read in a public
  copy of that appendix, not in the book itself (its edition not verified).
- ``"recalled"``: sural (posterior ankle, 14 cm) and superficial fibular (lateral ankle,
  12 cm) amplitude >= 6 uV, CV >= 40 m/s, peak latency <= 4.4 ms. The standard distances
  (14 and 12 cm) were seen in the appendix's footnotes; the values were not.

The appendix notes that lower-limb SNAPs may be small or absent in healthy people over 40,
and that the peak-latency limit holds only at the standard distance (at another distance,
judge by the onset-based CV): the analysis compares the peak latency only when the distal
distance is within :data:`PEAK_LATENCY_DISTANCE_TOLERANCE_MM` of the row's ``distance_mm``.

The textbook gives no orthodromic values: the default table has antidromic rows only, and an
orthodromic study gets no comparison and a sentence saying so (never antidromic limits). A
lab loads its own table (:meth:`SensoryLimits.from_file`, CSV or TOML; the motor loader's
rules and errors, :class:`~._table.LimitsFileError`), with ``direction`` per row (empty =
either direction) and optional age and height bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Iterable

from .._checks import check_option
from ..model.sensory import DIRECTIONS
from ._table import _BAND_COLUMNS, BandedRow, LimitTable

__all__ = ["SensoryLimitRow", "SensoryLimits", "DEFAULT_SENSORY_LIMITS_CITATION",
           "CONFIDENCES", "PEAK_LATENCY_DISTANCE_TOLERANCE_MM"]

DEFAULT_SENSORY_LIMITS_CITATION = (
    "Preston DC, Shapiro BE. Electromyography and Neuromuscular Disorders: Clinical-"
    "Electrophysiologic Correlations, 3rd ed. Elsevier; 2013 (appendix: antidromic sensory "
    "normal adult values). Confidence per row: median, ulnar, radial secondary (read in a copy "
    "of the appendix); sural, superficial fibular recalled (docs/cli.md, 'Normal limits')."
)

#: Allowed values of a row's ``confidence``: checked in the source itself, read in a copy or
#: secondary source, recalled (not checked).
CONFIDENCES = ("confirmed", "secondary", "recalled")

#: The peak-latency ULN assumes the row's standard distance: a study whose distal distance
#: differs from it by more than this (mm) is not compared (its onset-based CV is).
PEAK_LATENCY_DISTANCE_TOLERANCE_MM: float = 10.0


@dataclass(frozen=True)
class SensoryLimitRow(BandedRow):
    """Sensory normal limits of one nerve (and direction, optional age and height bands).

    Attributes
    ----------
    nerve : str
        Canonical nerve name (:mod:`nerveconduct.names`).
    direction : {"antidromic", "orthodromic"} or None
        The recording direction the limits are for (``None`` = either).
    amplitude_lln_uv : float or None
        Lower limit of normal of the distal SNAP amplitude, baseline to negative peak (uV).
    cv_lln_m_s : float or None
        Lower limit of normal of the distal onset-based conduction velocity (m/s).
    peak_latency_uln_ms : float or None
        Upper limit of normal of the distal negative-peak latency (ms), at ``distance_mm``.
    distance_mm : float or None
        Standard distal distance the peak-latency limit assumes (mm).
    recording_site : str or None
        Where the standard study records (``"digit II"``), informative.
    age_min_years, age_max_years, height_min_cm, height_max_cm : float or None
        Bands the row applies to (inclusive lower, exclusive upper; ``None`` = open).
    confidence : {"confirmed", "secondary", "recalled"} or None
        How far the row's values were checked against their source.

    Raises
    ------
    ValueError
        A limit or distance that is not a positive finite number (or ``None``), a band that
        is not lower < upper, an unknown direction or confidence.
    """

    nerve: str
    direction: str | None = None
    amplitude_lln_uv: float | None = None
    cv_lln_m_s: float | None = None
    peak_latency_uln_ms: float | None = None
    distance_mm: float | None = None
    recording_site: str | None = None
    age_min_years: float | None = None
    age_max_years: float | None = None
    height_min_cm: float | None = None
    height_max_cm: float | None = None
    confidence: str | None = None

    _LIMIT_VALUES = ("amplitude_lln_uv", "cv_lln_m_s", "peak_latency_uln_ms", "distance_mm")
    _NUMERIC = _LIMIT_VALUES + _BAND_COLUMNS
    _TEXT = ("direction", "recording_site", "confidence")
    _KEY = "direction"

    def __post_init__(self) -> None:
        self._check_numbers()
        self._check_bands()
        if isinstance(self.direction, str):  # any letter case, as a study's direction
            object.__setattr__(self, "direction", self.direction.strip().lower())
        if self.direction is not None:
            check_option("direction", self.direction, DIRECTIONS,
                         extra=" (any letter case; or empty: either)")
        if self.confidence is not None:
            check_option("confidence", self.confidence, CONFIDENCES, extra=" (or empty)")



_SECONDARY, _RECALLED = "secondary", "recalled"
_DEFAULT_ROWS = (
    SensoryLimitRow("median", "antidromic", 20.0, 50.0, 3.5, 130.0, "digit II",
                    confidence=_SECONDARY),
    SensoryLimitRow("ulnar", "antidromic", 17.0, 50.0, 3.1, 110.0, "digit V",
                    confidence=_SECONDARY),
    SensoryLimitRow("ulnar", "antidromic", 10.0, 50.0, 3.1, 110.0, "digit V", age_min_years=60.0,
                    confidence=_SECONDARY),
    SensoryLimitRow("radial", "antidromic", 15.0, 50.0, 2.9, 100.0, "snuffbox",
                    confidence=_SECONDARY),
    SensoryLimitRow("sural", "antidromic", 6.0, 40.0, 4.4, 140.0, "posterior ankle",
                    confidence=_RECALLED),
    SensoryLimitRow("superficial fibular", "antidromic", 6.0, 40.0, 4.4, 120.0, "lateral ankle",
                    confidence=_RECALLED),
)


class SensoryLimits(LimitTable):
    """A table of sensory normal limits with its name and citation.

    Parameters
    ----------
    rows : iterable of SensoryLimitRow
        One row per nerve (and direction, age/height band).
    name : str
        Short name shown in results and reports.
    citation : str
        Where the numbers come from.

    Examples
    --------
    >>> limits = SensoryLimits.default()
    >>> row = limits.lookup("median", "antidromic")
    >>> row.amplitude_lln_uv, row.cv_lln_m_s, row.peak_latency_uln_ms, row.distance_mm
    (20.0, 50.0, 3.5, 130.0)
    >>> limits.lookup("ulnar", "antidromic", age_years=70).amplitude_lln_uv
    10.0
    >>> limits.match("median", "orthodromic")[1]
    "the normal limits 'preston-shapiro-sensory' have no orthodromic direction row for the median nerve (only antidromic): no normal-limit comparison"
    """

    _ROW = SensoryLimitRow
    _KEY_FALLBACK = False

    def __init__(self, rows: Iterable[SensoryLimitRow], *, name: str, citation: str) -> None:
        super().__init__(rows, name=name, citation=citation)

    @classmethod
    def default(cls) -> "SensoryLimits":
        """The default textbook table (Preston & Shapiro, antidromic; see the module)."""
        return cls(_DEFAULT_ROWS, name="preston-shapiro-sensory",
                   citation=DEFAULT_SENSORY_LIMITS_CITATION)

    def lookup(self, nerve: str | None, direction: str | None = None,
               age_years: float | None = None,
               height_cm: float | None = None) -> SensoryLimitRow | None:
        """The row for ``nerve`` (any alias) recorded in ``direction``, or ``None`` (:meth:`match`)."""
        return self.match(nerve, direction, age_years=age_years, height_cm=height_cm)[0]

    def match(self, nerve: str | None, direction: str | None = None, *,
              age_years: float | None = None, height_cm: float | None = None,
              ) -> tuple[SensoryLimitRow | None, str | None]:
        """The row that applies to a sensory study of a patient of this age and height.

        As :meth:`nerveconduct.limits.NormalLimits.match`, with the direction in place of
        the muscle, and no fallback: a row of the study's direction, else one for either
        direction (``direction`` empty), else none, with a sentence saying so.

        Returns
        -------
        row : SensoryLimitRow or None
        problem : str or None
            Why no row applies although the table has rows for the nerve (direction, age or
            height); ``None`` when a row applies or the table has no row for the nerve.
        """
        return self._match(nerve, direction, age_years, height_cm)

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> "SensoryLimits":
        """Load a lab's sensory limits from a CSV or TOML file.

        CSV: a header row with ``nerve`` and any of ``direction, amplitude_lln_uv,
        cv_lln_m_s, peak_latency_uln_ms, distance_mm, recording_site, age_min_years,
        age_max_years, height_min_cm, height_max_cm, confidence``; empty cells are missing
        limits (or open band ends, or "either direction"). TOML: optional ``name`` and
        ``citation`` keys and a ``[[limits]]`` array of tables with the same keys. The rules
        and errors are the motor limits' (:meth:`nerveconduct.limits.NormalLimits.from_file`).

        Raises
        ------
        LimitsFileError
            Not UTF-8, malformed CSV or TOML, unknown column, non-numeric value, unknown
            nerve, direction or confidence, or no rows; the message names file and line.
        FileNotFoundError
            The file does not exist.
        """
        return super().from_file(path)
