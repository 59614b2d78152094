"""Motor normal limits per nerve/muscle: the default textbook table, or a lab's own file.

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
:meth:`LimitRow.f_wave_uln`), used when the patient's height is known, or height-banded rows
(``height_min_cm``/``height_max_cm``, whose ``f_wave_uln_ms`` is then reported as a
height-banded ULN); a lab loads either with its limits file.

The default table carries neither, so its fixed F-wave ULNs apply whatever the height and each
comparison's reason says so: no readable published source has been found. A default row needs the
source's own numbers -- an intercept and slope with the residual SD (or percentile) that makes
them an upper limit, or a ULN per height band -- for the median, ulnar, fibular and tibial
nerves, read in the paper's table. The public copies found give only these:

- Buschbacher RM, the 1999 Am J Phys Med Rehabil normative series (F-wave latencies by height
  band), and Puksa L, Stalberg E, Falck B (reference values of F wave parameters, Clin
  Neurophysiol 2003): no public copy; a third party's transcription of Buschbacher's tables is
  not the paper and was not used.
- Nobrega et al. 2004 (above): abstract only -- means and SDs (ulnar minimal F 26.5 +/- 2.1 ms,
  tibial 47.0 +/- 4.1 ms), no coefficients.
- Beijing normative study, Clin Neurophysiol 2013;124:183-189 (PMID 22795632; 127 subjects,
  21-78 years, median, ulnar, tibial and fibular): abstract only -- "linear correlation to
  height", no coefficients.
- Gupta S, Singh R. Study of F-wave components in a control population of young adults. Cureus
  2025 (doi:10.7759/cureus.81059, PMC12015991; 100 subjects, 18-40 years, the four nerves):
  open access, but only the abstract could be read here -- R^2 of minimal F latency on height
  (0.755, 0.761, 0.739, 0.650), no coefficients; the likeliest source once its full text
  can be read.
- Tartu reference values, Clin Neurophysiol 2011;122:199-204 (PMID 20650680): 3-20 years
  only; slopes (0.12 and 0.28 ms/cm) of minimal F latency minus the distal motor latency, no
  intercepts or SDs.
- Iranmanesh F et al. (Hormozgan Med J 2007;12(2), 60 subjects) and Subedi P et al. (Kathmandu
  Univ Med J 2018;16(63), 90 subjects): abstracts give means by sex and a correlation with
  height only.
- Poster P8-20, 50th annual meeting of the Japanese Society of Clinical Neurophysiology (2020;
  1 070 patients whose studies were normal): regressions of the mean minimal F latency on
  height and age (median, ulnar, tibial), no residual SD or percentile -- no upper limit.

None is recalled with enough confidence to ship.

A missing limit is ``None``: comparisons that need it are ``None`` with a reason, never a
guess. Rows may be banded by the patient's age and height (:meth:`NormalLimits.match`); a
patient outside every band of a nerve, or whose age/height a banded nerve needs but is not
given, gets no comparison and a sentence saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Iterable

from ._table import _BAND_COLUMNS, BandedRow, LimitTable

__all__ = ["LimitRow", "NormalLimits", "DEFAULT_LIMITS_CITATION"]

DEFAULT_LIMITS_CITATION = (
    "Preston DC, Shapiro BE. Electromyography and Neuromuscular Disorders: Clinical-"
    "Electrophysiologic Correlations, 3rd ed. Elsevier; 2013 (motor conduction normal values). "
    "Confidence: recalled, not checked against the book (docs/criteria.md)."
)


@dataclass(frozen=True)
class LimitRow(BandedRow):
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

    _LIMIT_VALUES = ("amplitude_lln_mv", "dml_uln_ms", "cv_lln_m_s", "f_wave_uln_ms",
                     "distal_distance_mm")
    _NUMERIC = _LIMIT_VALUES + _BAND_COLUMNS + ("f_wave_uln_intercept_ms",
                                                "f_wave_uln_slope_ms_per_cm")
    _TEXT = ("muscle",)
    _KEY = "muscle"

    def __post_init__(self) -> None:
        self._check_numbers()
        if (self.f_wave_uln_intercept_ms is None) != (self.f_wave_uln_slope_ms_per_cm is None):
            raise ValueError("f_wave_uln_intercept_ms and f_wave_uln_slope_ms_per_cm go together: "
                             "give both (the height-adjusted F-wave ULN) or neither")
        self._check_bands()

    def f_wave_uln(self, height_cm: float | None) -> tuple[float | None, str | None]:
        """The upper limit of the minimal F-wave latency for a patient of ``height_cm`` (cm).

        Returns
        -------
        limit_ms : float or None
            Height-adjusted when the row has the formula and the height is known, else the
            row's ``f_wave_uln_ms`` (``None``: no limit) -- the ULN of its height band when
            the row is banded by height (and holds ``height_cm``), else the fixed ULN.
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
        >>> LimitRow("ulnar", f_wave_uln_ms=33.0, height_min_cm=170.0).f_wave_uln(175.0)[1]
        'height-banded ULN 33 ms: the band from 170 cm holds 175 cm'
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
        if known and self.banded_by("height") and self.covers("height", height_cm):
            return fixed, (f"height-banded ULN {fixed:g} ms: the band {self.band_text('height')} "
                           f"holds {float(height_cm):g} cm")
        why = ("height not given (the height-adjusted ULN needs it)" if a is not None
               else "no height-adjusted ULN in the normal limits used")
        return fixed, f"fixed ULN {fixed:g} ms: {why}"


_LIMIT_VALUES = LimitRow._LIMIT_VALUES
_NUMERIC = LimitRow._NUMERIC

_DEFAULT_ROWS = (
    LimitRow("median", "APB", 4.0, 4.4, 49.0, 31.0, 70.0),
    LimitRow("ulnar", "ADM", 6.0, 3.3, 49.0, 32.0, 70.0),
    LimitRow("fibular", "EDB", 2.0, 6.5, 44.0, 56.0, 90.0),
    LimitRow("tibial", "AH", 4.0, 5.8, 41.0, 56.0, 90.0),
)


class NormalLimits(LimitTable):
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

    _ROW = LimitRow

    def __init__(self, rows: Iterable[LimitRow], *, name: str, citation: str) -> None:
        super().__init__(rows, name=name, citation=citation)

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
        return self._match(nerve, muscle, age_years, height_cm)

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
        return super().from_file(path)
