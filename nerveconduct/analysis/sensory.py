"""The sensory core: every SNAP of many sensory studies measured and judged as columns.

Data flow, as for the motor core: :class:`~nerveconduct.model.SensoryStudy` list ->
:func:`build_sensory_table` (one :func:`~nerveconduct.measure.snap.measure_snap` call over
every site's trace, sweeps averaged with :func:`~nerveconduct.measure.snap.average_sweeps`;
per-site and per-study columns, :mod:`._sensory_columns`) -> views
(:class:`SensoryResult`, :class:`SensorySiteResult`: copies of one row each, no arithmetic
of their own; ``tests/test_sensory_core.py`` checks that every view field is a column).

Definitions (Preston & Shapiro, chapter "Basic nerve conduction studies"; Kimura, sensory
nerve conduction; :func:`~nerveconduct.measure.snap.measure_snap`'s Notes): the sensory
conduction velocity is computed from the **onset** latency, the fastest fibres' arrival
(distal site: its distance / its onset latency; a later site: its segment length / the
onset difference from the previous site); the amplitude is baseline to negative peak (uV);
the distal SNAP is compared with the normal limits (:class:`~nerveconduct.limits.SensoryLimits`):
amplitude and CV below their LLN, peak latency above its ULN (only at the standard distance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..limits import SensoryLimits
from ..model import InvalidStudyError, SensoryStudy
from ._sensory_columns import (ABSENT_ITEM, SENSORY_LIMITS, SENSORY_SITE_MEASURES, site_columns,
                               study_columns)
from .results import _column, _objects

__all__ = ["SensoryTable", "SensoryResult", "SensorySiteResult", "build_sensory_table",
           "analyze_sensory", "sensory_views", "resolve_sensory_limits", "SENSORY_SITE_MEASURES",
           "SENSORY_LIMITS", "SENSORY_SITE_FIELDS", "SENSORY_STUDY_FIELDS", "ABSENT_ITEM"]


@dataclass(frozen=True)
class SensorySiteResult:
    """One site's SNAP (values from :func:`~nerveconduct.measure.snap.measure_snap`).

    Attributes
    ----------
    site, canonical_site : str, str or None
        The site's name as given and its canonical name (:mod:`nerveconduct.names`).
    distance_mm, cumulative_distance_mm : float or None
        As recorded (the distal site: stimulation to recording electrode; later sites: the
        segment from the previous site) and the conduction distance from the recording
        electrode (mm); ``None`` when unknown.
    onset_latency_ms, negative_peak_latency_ms : float
        Stimulus to the SNAP's take-off and to its negative peak (ms).
    amplitude_uv, peak_to_peak_amplitude_uv : float
        Baseline to negative peak, negative to the following positive peak (uV).
    duration_ms : float
        Onset to the return to baseline after the negative peak (ms).
    baseline_uv, noise_uv : float
        The baseline the measures refer to and the RMS noise about it (uV).
    conduction_velocity_m_s : float
        Onset-based: the distal site's distance / onset latency; a later site's segment
        length / onset difference from the previous site (m/s). NaN when it cannot be
        computed (the study's ``flags`` say why).
    present : bool
        A SNAP was found; False: the measures are NaN (``flags`` has ABSENT or says why not).
    flags : int
        :class:`~nerveconduct.flags.MeasureFlag` bits.
    n_sweeps : int
        Sweeps averaged into the trace measured (1: a single trace).
    """

    site: str
    canonical_site: str | None
    distance_mm: float | None
    cumulative_distance_mm: float | None
    onset_latency_ms: float
    negative_peak_latency_ms: float
    amplitude_uv: float
    peak_to_peak_amplitude_uv: float
    duration_ms: float
    baseline_uv: float
    noise_uv: float
    conduction_velocity_m_s: float
    present: bool
    flags: int
    n_sweeps: int


@dataclass(frozen=True)
class SensoryResult:
    """Everything measured and judged along one sensory study.

    Attributes
    ----------
    nerve, nerve_label, known_nerve : str, str, bool
        Canonical nerve name (the name as given when unknown), the name as given, and
        whether it is known.
    side, label : str or None, str
        ``"left"``/``"right"``/None and ``"right median"`` (the criteria's nerve label).
    direction, recording_site, study_id : str, str or None, str or None
    sites : tuple of SensorySiteResult
        Distal first.
    distal_onset_latency_ms, distal_peak_latency_ms, distal_amplitude_uv,
    distal_peak_to_peak_amplitude_uv, distal_duration_ms, distal_conduction_velocity_m_s :
    float
        The distal site's values (ms, uV, m/s), NaN when absent or not computable.
    distal_distance_mm : float
        The distal site's distance (mm), NaN when not given.
    distal_present : bool
    amplitude_lln_uv, cv_lln_m_s, peak_latency_uln_ms, limits_distance_mm : float
        The limits used (uV, m/s, ms) and the standard distance of the peak-latency limit
        (mm); NaN when the limits give none (or none apply: ``flags`` says why).
    limits_source, limits_confidence : str, str or None
        The limits table's name and its row's confidence.
    amplitude_pct_of_lln, cv_pct_of_lln, peak_latency_pct_of_uln : float
        100 x distal value / limit (%), NaN when not compared.
    abnormal : bool or None
        True: the distal SNAP is absent or beyond a limit; False: compared and within every
        limit compared; None: not assessable (no limits, unmeasurable).
    abnormal_items : tuple of str
        ``"absent"``, ``"amplitude below LLN"``, ``"CV below LLN"``, ``"peak latency above ULN"``.
    flags : tuple of str
        What could not be computed or compared, and why.
    temperature_c, low_frequency_filter_hz : float or None
    study : SensoryStudy or None
        The waveforms this result came from.
    table, index : SensoryTable, int
        The table this view copies and the study's row there.
    """

    nerve: str
    nerve_label: str
    known_nerve: bool
    side: str | None
    label: str
    direction: str
    recording_site: str | None
    study_id: str | None
    sites: tuple[SensorySiteResult, ...]
    distal_onset_latency_ms: float
    distal_peak_latency_ms: float
    distal_amplitude_uv: float
    distal_peak_to_peak_amplitude_uv: float
    distal_duration_ms: float
    distal_conduction_velocity_m_s: float
    distal_distance_mm: float
    distal_present: bool
    amplitude_lln_uv: float
    cv_lln_m_s: float
    peak_latency_uln_ms: float
    limits_distance_mm: float
    limits_source: str
    limits_confidence: str | None
    amplitude_pct_of_lln: float
    cv_pct_of_lln: float
    peak_latency_pct_of_uln: float
    abnormal: bool | None
    abnormal_items: tuple[str, ...]
    flags: tuple[str, ...]
    temperature_c: float | None
    low_frequency_filter_hz: float | None
    study: SensoryStudy | None = field(default=None, repr=False, compare=False)
    table: "SensoryTable | None" = field(default=None, repr=False, compare=False)
    index: int = field(default=0, repr=False, compare=False)


#: Fields of the views copied from a column of the same name (the others: ``sites``,
#: ``study``, ``table``, ``index``; ``abnormal`` is the column's 1/0/-1 as True/False/None).
SENSORY_SITE_FIELDS = tuple(f for f in SensorySiteResult.__dataclass_fields__)
SENSORY_STUDY_FIELDS = tuple(f for f in SensoryResult.__dataclass_fields__
                             if f not in ("sites", "study", "table", "index"))
_SITE_OPTIONAL = ("distance_mm", "cumulative_distance_mm")
_STUDY_OPTIONAL = ("temperature_c", "low_frequency_filter_hz")


@dataclass(frozen=True, eq=False)
class SensoryTable:
    """Every site and study value of many sensory studies, as columns.

    Attributes
    ----------
    site : dict of str to ndarray, shape (n_sites,)
        Rows study after study, distal first: ``study_index``, ``site_index``, ``site``,
        ``canonical_site``, ``distance_mm``, ``cumulative_distance_mm`` (NaN = unknown), the
        SNAP measures (:data:`SENSORY_SITE_MEASURES`), ``conduction_velocity_m_s``,
        ``present``, ``flags`` (MeasureFlag bits), ``n_sweeps``.
    study : dict of str to ndarray, shape (n_studies,)
        :data:`SENSORY_STUDY_FIELDS` (``abnormal`` as int8: 1, 0, -1 = not assessable) and
        ``n_sites``, ``first_row`` (the study's first row of ``site``), ``distal_flags``.
    studies : tuple of SensoryStudy
    limits : SensoryLimits
        The table the comparisons used (name and citation).
    """

    site: dict[str, np.ndarray]
    study: dict[str, np.ndarray]
    studies: tuple[SensoryStudy, ...]
    limits: SensoryLimits

    @property
    def n_studies(self) -> int:
        """Number of studies."""
        return len(self.studies)


def resolve_sensory_limits(limits: SensoryLimits | str | Any | None) -> SensoryLimits:
    """``limits`` as a :class:`SensoryLimits`: the default table for ``None``, a file read.

    Raises
    ------
    TypeError
        Not a SensoryLimits, a path or None.
    """
    if limits is None:
        return SensoryLimits.default()
    if isinstance(limits, SensoryLimits):
        return limits
    if isinstance(limits, str) or hasattr(limits, "__fspath__"):
        return SensoryLimits.from_file(limits)
    raise TypeError(f"limits must be a SensoryLimits, a path to a CSV/TOML file or None, "
                    f"got {type(limits).__name__}")


def build_sensory_table(studies: Sequence[SensoryStudy], *,
                        limits: SensoryLimits | str | Any | None = None) -> SensoryTable:
    """Measure every SNAP of ``studies`` at once and compute every sensory value as columns.

    Parameters
    ----------
    studies : sequence of SensoryStudy
    limits : SensoryLimits, path or None
        Sensory normal limits (None: :meth:`SensoryLimits.default`; a path: a lab's CSV/TOML).

    Returns
    -------
    SensoryTable

    Raises
    ------
    TypeError
        An item of ``studies`` that is not a SensoryStudy, or ``limits`` of the wrong type.
    InvalidStudyError
        A study changed after it was made so that it is no longer valid (every problem).
    LimitsFileError
        A limits file that cannot be read.
    """
    studies = tuple(studies)
    for i, st in enumerate(studies):
        if not isinstance(st, SensoryStudy):
            raise TypeError(f"studies[{i}] must be a SensoryStudy, got {type(st).__name__}")
        problems = st.problems()
        if problems:
            raise InvalidStudyError(problems, study_id=st.study_id)
    table = resolve_sensory_limits(limits)
    site = site_columns(studies)
    return SensoryTable(site=site, study=study_columns(studies, site, table), studies=studies,
                        limits=table)


def sensory_views(table: SensoryTable) -> list[SensoryResult]:
    """One :class:`SensoryResult` per study of ``table``, its fields copied from the columns."""
    st, si = table.study, table.site
    site_cols = {k: _column(si[k], optional=k in _SITE_OPTIONAL) for k in SENSORY_SITE_FIELDS}
    sites = _objects(SensorySiteResult, site_cols)
    cols: dict[str, list[Any]] = {
        k: _column(st[k], optional=k in _STUDY_OPTIONAL) for k in SENSORY_STUDY_FIELDS}
    cols["abnormal"] = np.where(st["abnormal"] < 0, None, st["abnormal"] == 1).tolist()
    starts, counts = st["first_row"].tolist(), st["n_sites"].tolist()
    n = table.n_studies
    cols.update(sites=[tuple(sites[a:a + c]) for a, c in zip(starts, counts)],
                study=list(table.studies), table=[table] * n, index=list(range(n)))
    return _objects(SensoryResult, cols)


def _as_sensory_studies(studies: Any) -> Sequence[Any]:
    """``studies`` as a sequence: a single :class:`SensoryStudy` becomes a sequence of one;
    what is neither a study nor an iterable (a string counts as neither) is a TypeError
    naming what is allowed (the items are checked by :func:`build_sensory_table`)."""
    if isinstance(studies, SensoryStudy):
        return (studies,)
    if isinstance(studies, (str, bytes)) or not isinstance(studies, Iterable):
        raise TypeError("studies must be a SensoryStudy or a sequence of SensoryStudy (e.g. "
                        f"read(...).sensory or Case.sensory), got {type(studies).__name__}")
    return tuple(studies)


def analyze_sensory(studies: SensoryStudy | Sequence[SensoryStudy], *,
                    limits: SensoryLimits | str | Any | None = None) -> list[SensoryResult]:
    """Measure and judge sensory studies: one :class:`SensoryResult` per study, in order.

    Parameters
    ----------
    studies : SensoryStudy or sequence of SensoryStudy
        One study is analyzed as a sequence of one (the result is still a list).
    limits : SensoryLimits, path or None
        Sensory normal limits (None: the default table; a path: a lab's CSV/TOML file).

    Returns
    -------
    list of SensoryResult
        Views of :func:`build_sensory_table`'s columns (``result.table``).

    Raises
    ------
    TypeError
        ``studies`` is neither a SensoryStudy nor a sequence of them, or as
        :func:`build_sensory_table`.
    InvalidStudyError, LimitsFileError
        As :func:`build_sensory_table`.

    Examples
    --------
    >>> from nerveconduct.model import SensoryStudy, Site
    >>> from nerveconduct.simulate.sensory import simulate_snap
    >>> sim = simulate_snap(130.0, amplitude_uv=30.0, seed=3)
    >>> study = SensoryStudy("median", "right", [Site("wrist", 130.0)], sim.traces[None, :],
    ...                      sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    >>> r = analyze_sensory([study])[0]
    >>> r.label, r.abnormal, r.abnormal_items, r.amplitude_lln_uv
    ('right median', False, (), 20.0)
    >>> abs(r.sites[0].amplitude_uv - 30.0) < 3.0
    True
    """
    return sensory_views(build_sensory_table(_as_sensory_studies(studies), limits=limits))
