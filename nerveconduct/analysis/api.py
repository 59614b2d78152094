"""The analysis API: :func:`analyze_nerve`, :func:`analyze_nerves`, :func:`analyze_values`.

Each builds a :class:`~.table.NerveTable` with the one analysis core and returns its
per-nerve views (:class:`~.results.NerveResult`); :func:`analyze_table` returns the table
itself, for callers that read columns (the batch, the records).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..limits import NormalLimits
from ..model import NerveStudy, Site
from .results import NerveResult, views
from .sources import resolve_limits, table_from_studies, table_from_values
from .table import NerveTable

__all__ = ["analyze_nerve", "analyze_nerves", "analyze_values", "analyze_table"]


def analyze_table(studies: Sequence[NerveStudy], *, limits: NormalLimits | str | None = None,
                  n_threads: int | None = None, markers: Sequence[Any] | None = None) -> NerveTable:
    """Measure and analyze nerve studies into one :class:`~.table.NerveTable`.

    Parameters and errors as :func:`analyze_nerves`.
    """
    studies = list(studies)
    for i, st in enumerate(studies):
        if not isinstance(st, NerveStudy):
            raise TypeError(f"studies[{i}] must be a NerveStudy, got {type(st).__name__}")
    return table_from_studies(studies, resolve_limits(limits), n_threads=n_threads, markers=markers)


def analyze_nerves(studies: Sequence[NerveStudy], *, limits: NormalLimits | str | None = None,
                   n_threads: int | None = None,
                   markers: Sequence[Any] | None = None) -> list[NerveResult]:
    """Analyze many nerve studies with one vectorized measurement per sampling set-up.

    All traces of all studies that share (sampling rate, stimulus sample, polarity, trace
    length) are stacked and measured in a single :func:`~nerveconduct.measure.measure_cmap`
    call; every site, segment and nerve value is then computed for all nerves at once by
    :func:`~.table.build_table`.

    Parameters
    ----------
    studies : sequence of NerveStudy
        The nerves to analyze.
    limits : NormalLimits, path or None
        Normal limits (default: :meth:`NormalLimits.default`), or a CSV/TOML file of a lab's own.
    n_threads : int, optional
        Threads of the measurement (default: all cores; the results do not depend on it).
    markers : sequence of Marker, optional
        Hand-set markers (:class:`nerveconduct.io.markers.Marker`, e.g. from
        :func:`~nerveconduct.io.markers.read_markers`), matched to the sites by nerve, side
        and site name, ignoring case. Each replaces the detected landmark; every value that
        depends on it (durations, area, CV, drops, TLI, residual latency, verdicts) follows,
        and the ``*_source`` fields and ``hand_set_values`` say which values are hand-set.

    Returns
    -------
    list of NerveResult
        One per study, in order (views of one table).

    Raises
    ------
    TypeError
        An element is not a NerveStudy, or ``limits`` is of the wrong type.
    MarkerError
        A marker matches no site (or several), or its time lies outside its trace.
    """
    return views(analyze_table(studies, limits=limits, n_threads=n_threads, markers=markers))


def analyze_nerve(study: NerveStudy, *, limits: NormalLimits | str | None = None,
                  markers: Sequence[Any] | None = None) -> NerveResult:
    """Measure every site of one nerve study and read the nerve: see :func:`analyze_nerves`.

    Examples
    --------
    >>> from nerveconduct.simulate import simulate_nerve
    >>> study = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]
    >>> result = analyze_nerve(study)
    >>> 45 < result.segments[0].conduction_velocity_m_s < 65
    True
    """
    return analyze_nerves([study], limits=limits, markers=markers)[0]


def analyze_values(
    nerve: str,
    sites: Sequence[Site],
    onset_latency_ms: Sequence[float | None],
    negative_peak_amplitude_mv: Sequence[float | None],
    *,
    negative_peak_area_mv_ms: Sequence[float | None] | None = None,
    negative_peak_duration_ms: Sequence[float | None] | None = None,
    cmap_duration_ms: Sequence[float | None] | None = None,
    peak_to_peak_amplitude_mv: Sequence[float | None] | None = None,
    side: str | None = None,
    muscle: str | None = None,
    limits: NormalLimits | str | None = None,
    f_wave_latency_ms: float | None = None,
    low_frequency_filter_hz: float | None = None,
    temperature_c: float | None = None,
    study_id: str | None = None,
    age_years: float | None = None,
    height_cm: float | None = None,
) -> NerveResult:
    """Read a nerve from the machine's numbers (no waveforms), as labs often must.

    Parameters
    ----------
    nerve : str
        Nerve name (any alias).
    sites : sequence of Site
        Sites distal -> proximal, distances in the machine convention (mm).
    onset_latency_ms, negative_peak_amplitude_mv : sequence of float or None
        Per site; ``None``/NaN onset or a zero amplitude marks an absent response.
    negative_peak_area_mv_ms, negative_peak_duration_ms, cmap_duration_ms : sequence, optional
        Per site (mV·ms, ms, ms); omitted values make dependent results NaN with a flag.
    peak_to_peak_amplitude_mv : sequence, optional
        Per site (mV); rule sets that grade peak-to-peak drops (AAN 1991) need it.
    f_wave_latency_ms : float, optional
        Minimal F-wave latency (ms): ``None`` = not studied, NaN = sought and absent.

    Returns
    -------
    NerveResult
        Same as :func:`analyze_nerve` (``study`` is ``None``; per-site measures not given are NaN).

    Raises
    ------
    ValueError
        A sequence does not have one value per site, or a site is not a :class:`Site`.

    Examples
    --------
    >>> r = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
    >>> round(r.segments[0].conduction_velocity_m_s, 1), round(r.terminal_latency_index, 3)
    (44.0, 0.388)
    """
    measures = {"onset_latency_ms": onset_latency_ms,
                "negative_peak_amplitude_mv": negative_peak_amplitude_mv,
                "negative_peak_area_mv_ms": negative_peak_area_mv_ms,
                "negative_peak_duration_ms": negative_peak_duration_ms,
                "cmap_duration_ms": cmap_duration_ms,
                "peak_to_peak_amplitude_mv": peak_to_peak_amplitude_mv}
    table = table_from_values(nerve, sites, measures, resolve_limits(limits), side=side, muscle=muscle,
                              f_wave_latency_ms=f_wave_latency_ms,
                              low_frequency_filter_hz=low_frequency_filter_hz,
                              temperature_c=temperature_c, study_id=study_id,
                              age_years=age_years, height_cm=height_cm)
    return views(table)[0]
