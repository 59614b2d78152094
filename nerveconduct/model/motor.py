"""A motor nerve study: stimulation sites distal -> proximal, one CMAP per site, an F-wave train.

Distances follow the machines' convention (``docs/output-fields.md``): the most distal site's
``distance_mm`` is stimulation point -> active recording electrode; every other site's is the
segment length from the next more distal site. Sites are ordered distal -> proximal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .._checks import check_number, check_option, check_range_of, gather
from ..names import canonical_nerve, canonical_site
from ._common import DEMOGRAPHIC_RANGES, POLARITIES, InvalidStudyError, _optional_quantity, _real_array
from ._series import StimulationSeries, _float_series, _series_problems, _series_site, warn_series_lost

__all__ = ["Site", "NerveStudy", "StimulationSeries", "study_problems", "site_problems",
           "warn_series_lost", "cumulative_distances_mm"]


@dataclass(frozen=True)
class Site:
    """One stimulation site of a motor nerve study.

    Parameters
    ----------
    name : str
        Site name as recorded ("wrist", "Below Elbow", ...); see :attr:`canonical_name`.
    distance_mm : float or None
        Machine convention: for the most distal site, stimulation point -> active recording
        electrode (mm); for every other site, the segment length from the next more distal site
        (mm). ``None`` when unknown (analysis flags what depends on it).
    stimulus_intensity_ma : float, optional
        Stimulus intensity (mA) of the recorded response, in the range of
        ``RANGES["stimulus_intensity_ma"]`` (0 mA is no stimulus); ``None`` when not recorded.
        The analysis uses it as evidence of supramaximal stimulation (a proximal site with one
        intensity, or one below the distal site's, is flagged; ``docs/criteria.md``,
        supramaximal stimulation).
    """

    name: str
    distance_mm: float | None
    stimulus_intensity_ma: float | None = None

    @property
    def canonical_name(self) -> str | None:
        """Canonical site name, or ``None`` when the name is not one we know."""
        return canonical_site(self.name)


def cumulative_distances_mm(sites: Sequence[Site]) -> tuple[float | None, ...]:
    """Distance of each site from the active recording electrode (mm), motor or sensory.

    ``sites`` follow the machine convention of :class:`Site` (distal first, later distances
    are segment lengths); the running sum is ``None`` from the first unknown distance on.
    """
    out: list[float | None] = []
    total: float | None = 0.0
    for site in sites:
        known = total is not None and site.distance_mm is not None
        total = total + float(site.distance_mm) if known else None
        out.append(total)
    return tuple(out)


def site_problems(sites: Sequence[Any]) -> list[str]:
    """Every problem of a study's sites, as sentences (the one site rule of motor and sensory
    studies and of the values path).

    Each site must be a :class:`Site` with a positive finite ``distance_mm`` (mm) or None and
    a ``stimulus_intensity_ma`` in the range of ``RANGES["stimulus_intensity_ma"]`` (mA) or None.

    Examples
    --------
    >>> site_problems([Site("wrist", 70.0, 25.0)])
    []
    >>> site_problems([Site("wrist", 70.0, 0.0)])
    ["site 0 ('wrist') stimulus_intensity_ma must be None or a finite number in (0, 1000] mA, got 0.0"]
    """
    problems: list[str] = []
    for i, site in enumerate(sites):
        if not isinstance(site, Site):
            problems.append(f"sites[{i}] must be a Site, got {type(site).__name__}")
            continue
        where = f"site {i} ({site.name!r})"
        gather(problems, check_number, f"{where} distance_mm",
               site.distance_mm, unit="mm", minimum=0, inclusive=(False, True), allow_none=True)
        gather(problems, check_range_of, "stimulus_intensity_ma", site.stimulus_intensity_ma,
               name=f"{where} stimulus_intensity_ma", allow_none=True)
    return problems


def study_problems(*, nerve: Any, sites: Sequence[Any], traces: Any, sampling_rate_hz: Any,
                   stimulus_sample: Any, polarity: Any, f_wave_traces: Any = None,
                   f_wave_sampling_rate_hz: Any = None, f_wave_stimulus_sample: Any = 0,
                   stimulation_series: Any = None) -> list[str]:
    """Every problem of a nerve study's description, as sentences (empty when it is valid).

    The one study-validity rule: :class:`NerveStudy` refuses a study that has any; the
    archive writer re-checks a study with it before writing (a study's attributes are
    mutable); the archive reader applies the same rules to whole columns
    (:meth:`nerveconduct.io.archive.TraceChunk.valid_nerves`, with the bounds of
    :data:`nerveconduct._checks.RANGES`; a test checks that the two agree). Temperature,
    filter and F-wave latency are checked where they are converted
    (:class:`NerveStudy`), against the same ranges.

    Parameters
    ----------
    nerve : str
        Non-empty.
    sites : sequence of Site
        At least one; each as :func:`site_problems` checks it (distance positive and finite
        (mm) or None, stimulus intensity in ``RANGES["stimulus_intensity_ma"]`` (mA) or None).
    traces : array_like
        Numeric, shape (len(sites), n_samples ≥ 1).
    sampling_rate_hz : float
        In the range of ``RANGES["sampling_rate_hz"]`` (Hz).
    stimulus_sample : int
        Inside the trace.
    polarity : str
        One of :data:`POLARITIES`.
    f_wave_traces : array_like, optional
        An F-wave train: numeric, shape (n_stimuli ≥ 1, n_samples ≥ 1) (mV); ``None``: none.
    f_wave_sampling_rate_hz : float, optional
        The train's sampling rate (Hz), in the range of ``RANGES["sampling_rate_hz"]``;
        required with a train, refused without one.
    f_wave_stimulus_sample : int, default 0
        Index of the stimulus in each trace of the train: inside the trace.
    stimulation_series : mapping, optional
        ``{site index or site name: StimulationSeries}``: each key names one site (an index
        in ``range(len(sites))``, or a name matching one site, ignoring case); each series has
        strictly increasing intensities in ``RANGES["stimulus_intensity_ma"]`` (mA) and one
        trace per intensity, the study's stimulus sample inside them.
    """
    problems: list[str] = []
    if not isinstance(nerve, str) or not nerve.strip():
        problems.append(f"nerve must be a non-empty string, got {nerve!r}")
    if not sites:
        problems.append("at least one site is required, got none")
    problems += site_problems(sites)
    arr = _real_array("traces", traces, "(n_sites, n_samples)", problems)
    if arr is not None:
        if arr.ndim != 2:
            problems.append(f"traces must have shape (n_sites, n_samples), got shape {arr.shape}")
        elif arr.shape[0] != len(sites):
            problems.append(f"{len(sites)} sites but {arr.shape[0]} traces: one trace per site is required")
        elif arr.shape[1] == 0:
            problems.append("traces have no samples")
    gather(problems, check_range_of, "sampling_rate_hz", sampling_rate_hz)
    last = arr.shape[1] - 1 if arr is not None and arr.ndim == 2 else None
    gather(problems, check_number, "stimulus_sample", stimulus_sample, minimum=0, maximum=last, integer=True)
    gather(problems, check_option, "polarity", polarity, POLARITIES)
    problems += _f_wave_problems(f_wave_traces, f_wave_sampling_rate_hz, f_wave_stimulus_sample)
    problems += _series_problems(stimulation_series, sites)
    if not problems and stimulation_series:
        stim = int(stimulus_sample)
        for key, value in stimulation_series.items():
            n = np.shape(value.traces)[1]
            if stim >= n:
                problems.append(f"stimulation_series[{key!r}]: stimulus_sample {stim} is outside its "
                                f"traces (0-{n - 1}); a series shares the study's sampling set-up")
    return problems

def _f_wave_problems(traces: Any, sampling_rate_hz: Any, stimulus_sample: Any) -> list[str]:
    """Every problem of an F-wave train's description (none when there is no train)."""
    problems: list[str] = []
    if traces is None:
        if sampling_rate_hz is not None:
            problems.append("f_wave_sampling_rate_hz was given without f_wave_traces; give the "
                            "train (n_stimuli, n_samples) or neither")
        return problems
    arr = _real_array("f_wave_traces", traces, "(n_stimuli, n_samples)", problems)
    last = None
    if arr is not None:
        if arr.ndim != 2:
            problems.append(f"f_wave_traces must have shape (n_stimuli, n_samples), got shape {arr.shape}")
        elif arr.shape[0] == 0 or arr.shape[1] == 0:
            problems.append(f"f_wave_traces must hold at least one stimulus and one sample, got "
                            f"shape {arr.shape}")
        else:
            last = arr.shape[1] - 1
    if sampling_rate_hz is None:
        problems.append("f_wave_sampling_rate_hz is required with f_wave_traces (Hz)")
    else:
        gather(problems, check_range_of, "sampling_rate_hz", sampling_rate_hz,
               name="f_wave_sampling_rate_hz")
    gather(problems, check_number, "f_wave_stimulus_sample", stimulus_sample, minimum=0,
           maximum=last, integer=True)
    return problems

class NerveStudy:
    """A motor nerve stimulated at several sites, distal first, with one CMAP per site.

    Parameters
    ----------
    nerve, side, muscle : str
        Nerve (any alias, see :mod:`nerveconduct.names`), side ("left"/"right"), recording muscle.
    sites : sequence of Site
        Stimulation sites, distal -> proximal.
    traces : array_like, shape (n_sites, n_samples)
        CMAP waveforms in mV, in site order.
    sampling_rate_hz : float
        Sampling rate (Hz), finite and > 0.
    stimulus_sample : int, default 0
        Index of the stimulus in each trace; earlier samples are baseline.
    polarity : {"physical", "negative-up"}
        How the traces store voltage.
    temperature_c : float, optional
        Limb temperature (deg C), finite, in [0, 50].
    low_frequency_filter_hz : float, optional
        Low-frequency (high-pass) filter setting (Hz), finite, in [0, 1e5]; duration cut-offs
        depend on it.
    study_id : str, optional
        Pseudonymous case key: which patient the study belongs to (:func:`case_key`). The
        sheet's ``case_id``, else the pseudonym of the export's patient fields, else one
        pseudonym per file; never a name or ID in clear.
    f_wave_latency_ms : float, optional
        Minimal F-wave latency (ms) as typed in a sheet, in (0, 1000]. ``None`` = F-waves not
        studied; NaN = sought and absent (the criteria's "absent F-waves" items use that
        distinction). With ``f_wave_traces`` the traces' value is used and this one is
        compared with it (a nerve flag).
    f_wave_traces : array_like, shape (n_stimuli, n_samples), optional
        An F-wave train: the responses to repeated supramaximal distal stimuli (mV, single
        sweeps), measured by :func:`~nerveconduct.measure.fwave.measure_f_waves`. Polarity
        does not matter (F-waves are detected by their peak-to-peak and departure from
        baseline in either direction).
    f_wave_sampling_rate_hz : float, optional
        The train's sampling rate (Hz); required with ``f_wave_traces``.
    f_wave_stimulus_sample : int, default 0
        Index of the stimulus in each trace of the train.
    stimulation_series : mapping, optional
        ``{site index or site name: StimulationSeries}``: the CMAPs of a site at increasing
        stimulus intensities (mA), with the study's sampling rate, stimulus sample and
        polarity. Stored as :attr:`stimulation_series` ``{site index: StimulationSeries}``
        (intensities a float tuple, traces a float array); the analysis checks each for a
        plateau (evidence of supramaximal stimulation).
    metadata : dict, optional
        Anything else the reader kept (never patient identifiers unless asked).
    age_years, height_cm : float, optional
        The patient's age (years) and height (cm) at the study (a study sheet gives them),
        in :data:`DEMOGRAPHIC_RANGES`; normal limits banded by age or height apply by them.
    sex : str, optional
        As given (e.g. ``"female"``); stored, not used by any limit yet.

    Raises
    ------
    InvalidStudyError
        Listing every problem: site count vs trace count, non-positive distances, a sampling
        rate outside [1, 1e7] Hz, stimulus sample outside the trace, unknown polarity, wrong
        trace shape, a site's stimulus intensity outside (0, 1000] mA, a temperature, filter
        setting or F-wave latency that is not a number in
        its range, an F-wave train of the wrong shape, without its sampling rate or with its
        stimulus sample outside it, a stimulation series naming no site (or one twice), with
        intensities not strictly increasing in (0, 1000] mA or not one trace per intensity.
    """

    def __init__(
        self,
        nerve: str,
        side: str | None,
        muscle: str | None,
        sites: Sequence[Site],
        traces: Any,
        sampling_rate_hz: float,
        *,
        stimulus_sample: int = 0,
        polarity: str = "physical",
        temperature_c: float | None = None,
        low_frequency_filter_hz: float | None = None,
        study_id: str | None = None,
        f_wave_latency_ms: float | None = None,
        f_wave_traces: Any = None,
        f_wave_sampling_rate_hz: float | None = None,
        f_wave_stimulus_sample: int = 0,
        stimulation_series: Mapping[int | str, StimulationSeries] | None = None,
        metadata: dict[str, Any] | None = None,
        age_years: float | None = None,
        height_cm: float | None = None,
        sex: str | None = None,
    ) -> None:
        self.nerve = nerve
        self.side = side
        self.muscle = muscle
        self.sites = tuple(sites)
        self.sampling_rate_hz = sampling_rate_hz
        self.stimulus_sample = stimulus_sample
        self.polarity = polarity
        self.f_wave_sampling_rate_hz = f_wave_sampling_rate_hz
        self.f_wave_stimulus_sample = f_wave_stimulus_sample
        problems: list[str] = []
        self.temperature_c = _optional_quantity(problems, "temperature_c", temperature_c)
        self.low_frequency_filter_hz = _optional_quantity(problems, "low_frequency_filter_hz",
                                                          low_frequency_filter_hz)
        self.study_id = study_id
        self.f_wave_latency_ms = _optional_quantity(problems, "f_wave_latency_ms",
                                                    f_wave_latency_ms, nan_allowed=True)
        self.metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
        for name, value in (("age_years", age_years), ("height_cm", height_cm)):
            low, high, unit = DEMOGRAPHIC_RANGES[name]
            setattr(self, name, gather(problems, check_number, name, value, unit=unit, minimum=low,
                                       maximum=high, allow_none=True))
        if sex is not None and not isinstance(sex, str):
            problems.append(f"sex must be a string or None, got {type(sex).__name__}")
        self.sex = (sex.strip() or None) if isinstance(sex, str) else None
        problems = self._problems(traces, f_wave_traces, stimulation_series) + problems
        if metadata is not None and not isinstance(metadata, Mapping):
            problems.append(f"metadata must be a mapping (dict) or None, got {type(metadata).__name__}")
        if problems:
            raise InvalidStudyError(problems, study_id=study_id)
        arr = np.asarray(traces)
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        self.traces = arr
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.stimulus_sample = int(stimulus_sample)
        self.f_wave_traces: np.ndarray | None = None
        if f_wave_traces is not None:
            f_arr = np.asarray(f_wave_traces)
            self.f_wave_traces = f_arr if f_arr.dtype in (np.float32, np.float64) else f_arr.astype(np.float64)
            self.f_wave_sampling_rate_hz = float(f_wave_sampling_rate_hz)
        self.f_wave_stimulus_sample = int(f_wave_stimulus_sample)
        self.stimulation_series: dict[int, StimulationSeries] = {
            _series_site(key, self.sites, []): _float_series(value)
            for key, value in (stimulation_series or {}).items()}

    def _problems(self, traces: Any, f_wave_traces: Any = None, stimulation_series: Any = None) -> list[str]:
        return study_problems(nerve=self.nerve, sites=self.sites, traces=traces,
                              sampling_rate_hz=self.sampling_rate_hz,
                              stimulus_sample=self.stimulus_sample, polarity=self.polarity,
                              f_wave_traces=f_wave_traces,
                              f_wave_sampling_rate_hz=self.f_wave_sampling_rate_hz,
                              f_wave_stimulus_sample=self.f_wave_stimulus_sample,
                              stimulation_series=stimulation_series)

    @property
    def n_sites(self) -> int:
        """Number of stimulation sites."""
        return len(self.sites)

    @property
    def canonical_nerve(self) -> str | None:
        """Canonical nerve name, or ``None`` when unknown (reported by analysis)."""
        return canonical_nerve(self.nerve)

    @property
    def cumulative_distances_mm(self) -> tuple[float | None, ...]:
        """Distance of each site from the active electrode (mm); ``None`` once one is unknown."""
        return cumulative_distances_mm(self.sites)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.sites)
        return (
            f"NerveStudy(nerve={self.nerve!r}, side={self.side!r}, muscle={self.muscle!r}, "
            f"sites=[{names}], n_samples={self.traces.shape[1]}, "
            f"sampling_rate_hz={self.sampling_rate_hz:g}, study_id={self.study_id!r})"
        )
