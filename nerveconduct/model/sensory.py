"""A sensory nerve study: sites distal -> proximal, one SNAP (or several sweeps) per site.

Distances follow the motor studies' convention (``docs/output-fields.md``): the most distal
site's ``distance_mm`` is the conduction distance between stimulating and active recording
electrode (antidromic median: wrist stimulation to the ring electrode on digit II; orthodromic:
digit to wrist); every other site's is the segment length from the next more distal site.
Sites are ordered distal -> proximal. Sensory conduction velocity is computed from the onset
latency (:mod:`nerveconduct.analysis.sensory`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .._checks import check_number, check_option, check_range_of, gather
from ..names import canonical_nerve
from ._common import DEMOGRAPHIC_RANGES, POLARITIES, InvalidStudyError, _optional_quantity, _real_array
from .motor import Site, cumulative_distances_mm, site_problems

__all__ = ["SensoryStudy", "sensory_study_problems", "DIRECTIONS", "SIDES", "SENSORY_NERVES"]

#: Allowed values of ``direction``: stimulating proximally and recording distally (antidromic,
#: e.g. ring electrodes on a digit) or the reverse (orthodromic).
DIRECTIONS = ("antidromic", "orthodromic")

#: Allowed values of ``side`` (``None`` = not known).
SIDES = ("left", "right")

#: The sensory nerves the default sensory normal limits cover (canonical names,
#: :mod:`nerveconduct.names`). Other names are accepted (a lab's own limits may cover them);
#: the analysis says when no limits apply.
SENSORY_NERVES = ("median", "ulnar", "radial", "sural", "superficial fibular")


def sensory_study_problems(*, nerve: Any, side: Any, sites: Sequence[Any], traces: Any,
                           sampling_rate_hz: Any, stimulus_sample: Any, polarity: Any,
                           direction: Any, recording_site: Any = None) -> list[str]:
    """Every problem of a sensory study's description, as sentences (empty when it is valid).

    The one sensory-study validity rule: :class:`SensoryStudy` refuses a study that has any;
    writers may re-check a study with it (a study's attributes are mutable). Temperature,
    filter and demographics are checked where they are converted (:class:`SensoryStudy`).

    Parameters
    ----------
    nerve : str
        Non-empty (any alias, :func:`nerveconduct.names.canonical_nerve`).
    side : str or None
        ``"left"``, ``"right"`` (any letter case) or None.
    sites : sequence of Site
        At least one; each distance positive and finite (mm) or None.
    traces : array_like
        Numeric (mV), shape ``(len(sites), n_samples >= 1)`` or ``(len(sites), n_sweeps >= 1,
        n_samples >= 1)``.
    sampling_rate_hz : float
        In the range of ``RANGES["sampling_rate_hz"]`` (Hz).
    stimulus_sample : int
        Inside the trace.
    polarity : str
        One of :data:`~nerveconduct.model.POLARITIES`.
    direction : str
        One of :data:`DIRECTIONS`, in any letter case.
    recording_site : str or None
        Where the response is recorded ("digit II", "ankle"); a non-empty string or None.

    Examples
    --------
    >>> sensory_study_problems(nerve="sural", side="left", sites=[Site("calf", 140.0)],
    ...                        traces=np.zeros((1, 300)), sampling_rate_hz=20000.0,
    ...                        stimulus_sample=40, polarity="physical", direction="antidromic")
    []
    >>> sensory_study_problems(nerve="sural", side="up", sites=[Site("calf", 140.0)],
    ...                        traces=np.zeros((2, 300)), sampling_rate_hz=20000.0,
    ...                        stimulus_sample=40, polarity="physical", direction="antidromc")[1:]
    ['1 sites but 2 traces: one trace (or one set of sweeps) per site is required', "direction must be one of ['antidromic', 'orthodromic'] (any letter case), got 'antidromc'; did you mean 'antidromic'?"]
    """
    problems: list[str] = []
    if not isinstance(nerve, str) or not nerve.strip():
        problems.append(f"nerve must be a non-empty string, got {nerve!r}")
    if side is not None:
        gather(problems, check_option, "side", side.strip().lower() if isinstance(side, str) else side,
               SIDES, extra=" (any letter case) or None")
    if not sites:
        problems.append("at least one site is required, got none")
    problems += site_problems(sites)
    shape_text = "(n_sites, n_samples) or (n_sites, n_sweeps, n_samples)"
    arr = _real_array("traces", traces, shape_text, problems)
    last = None
    if arr is not None:
        if arr.ndim not in (2, 3):
            problems.append(f"traces must have shape {shape_text}, got shape {arr.shape}")
        elif arr.shape[0] != len(sites):
            problems.append(f"{len(sites)} sites but {arr.shape[0]} traces: one trace (or one set "
                            "of sweeps) per site is required")
        elif 0 in arr.shape[1:]:
            problems.append(f"traces must hold at least one sweep and one sample per site, got "
                            f"shape {arr.shape}")
        else:
            last = arr.shape[-1] - 1
    gather(problems, check_range_of, "sampling_rate_hz", sampling_rate_hz)
    gather(problems, check_number, "stimulus_sample", stimulus_sample, minimum=0, maximum=last,
           integer=True)
    gather(problems, check_option, "polarity", polarity, POLARITIES)
    gather(problems, check_option, "direction",
           direction.strip().lower() if isinstance(direction, str) else direction, DIRECTIONS,
           extra=" (any letter case)")
    if recording_site is not None and not (isinstance(recording_site, str) and recording_site.strip()):
        problems.append(f"recording_site must be a non-empty string or None, got {recording_site!r}")
    return problems


class SensoryStudy:
    """A sensory nerve stimulated (or recorded) at several sites, distal first, one SNAP each.

    Parameters
    ----------
    nerve : str
        Nerve, any alias (:mod:`nerveconduct.names`): median, ulnar, radial, sural,
        superficial fibular (:data:`SENSORY_NERVES`; others are kept and reported).
    side : {"left", "right"} or None
        Any letter case; stored in lower case.
    sites : sequence of Site
        Sites distal -> proximal, the motor studies' distance convention (the first site's
        ``distance_mm`` = stimulation point -> active recording electrode, mm; later sites:
        segment length from the previous site, mm).
    traces : array_like, shape (n_sites, n_samples) or (n_sites, n_sweeps, n_samples)
        SNAP waveforms in **mV** (like motor traces), float32 or float64 (other numeric types
        are converted to float64); repeated sweeps are averaged by the analysis
        (:func:`nerveconduct.measure.snap.average_sweeps`).
    sampling_rate_hz : float
        Sampling rate (Hz).
    stimulus_sample : int, default 0
        Index of the stimulus in each trace; earlier samples are baseline.
    polarity : {"physical", "negative-up"}, default "physical"
        How the traces store voltage.
    direction : {"antidromic", "orthodromic"}, default "antidromic"
        Any letter case (stored lower-case, as ``side``).
    recording_site : str, optional
        Where the SNAP is recorded ("digit II", "ankle"), as given.
    temperature_c : float, optional
        Limb temperature (deg C), in the range of ``RANGES["temperature_c"]``.
    low_frequency_filter_hz : float, optional
        Low-frequency (high-pass) filter setting (Hz).
    study_id : str, optional
        Pseudonymous case key (:func:`~nerveconduct.model.case_key`); never a name or ID in clear.
    metadata : dict, optional
        Anything else the reader kept (never patient identifiers unless asked).
    age_years, height_cm : float, optional
        The patient's age (years) and height (cm), in
        :data:`~nerveconduct.model.DEMOGRAPHIC_RANGES`; limits banded by them apply by them.

    Raises
    ------
    InvalidStudyError
        Listing every problem (:func:`sensory_study_problems`, and a temperature, filter
        setting, age or height that is not a number in its range, metadata not a mapping).

    Examples
    --------
    >>> import numpy as np
    >>> st = SensoryStudy("Median", "Right", [Site("wrist", 140.0)], np.zeros((1, 300)), 20000.0,
    ...                   recording_site="digit II")
    >>> st.canonical_nerve, st.side, st.n_sweeps, st.cumulative_distances_mm
    ('median', 'right', 1, (140.0,))
    """

    def __init__(
        self,
        nerve: str,
        side: str | None,
        sites: Sequence[Site],
        traces: Any,
        sampling_rate_hz: float,
        *,
        stimulus_sample: int = 0,
        polarity: str = "physical",
        direction: str = "antidromic",
        recording_site: str | None = None,
        temperature_c: float | None = None,
        low_frequency_filter_hz: float | None = None,
        study_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        age_years: float | None = None,
        height_cm: float | None = None,
    ) -> None:
        self.nerve = nerve
        self.sites = tuple(sites)
        self.polarity = polarity
        self.direction = direction.strip().lower() if isinstance(direction, str) else direction
        self.study_id = study_id
        problems = sensory_study_problems(
            nerve=nerve, side=side, sites=self.sites, traces=traces,
            sampling_rate_hz=sampling_rate_hz, stimulus_sample=stimulus_sample,
            polarity=polarity, direction=self.direction, recording_site=recording_site)
        self.temperature_c = _optional_quantity(problems, "temperature_c", temperature_c)
        self.low_frequency_filter_hz = _optional_quantity(problems, "low_frequency_filter_hz",
                                                          low_frequency_filter_hz)
        for name, value in (("age_years", age_years), ("height_cm", height_cm)):
            low, high, unit = DEMOGRAPHIC_RANGES[name]
            setattr(self, name, gather(problems, check_number, name, value, unit=unit, minimum=low,
                                       maximum=high, allow_none=True))
        if metadata is not None and not isinstance(metadata, Mapping):
            problems.append(f"metadata must be a mapping (dict) or None, got {type(metadata).__name__}")
        if problems:
            raise InvalidStudyError(problems, study_id=study_id)
        self.side = side.strip().lower() if isinstance(side, str) else None
        self.recording_site = recording_site.strip() if recording_site is not None else None
        self.metadata = dict(metadata) if metadata is not None else {}
        arr = np.asarray(traces)
        self.traces = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.stimulus_sample = int(stimulus_sample)

    def problems(self) -> list[str]:
        """The study's problems now (its attributes are mutable): :func:`sensory_study_problems`."""
        return sensory_study_problems(
            nerve=self.nerve, side=self.side, sites=self.sites, traces=self.traces,
            sampling_rate_hz=self.sampling_rate_hz, stimulus_sample=self.stimulus_sample,
            polarity=self.polarity, direction=self.direction, recording_site=self.recording_site)

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.sites)

    @property
    def n_sweeps(self) -> int:
        """Sweeps per site (1 for traces of shape ``(n_sites, n_samples)``)."""
        return int(self.traces.shape[1]) if self.traces.ndim == 3 else 1

    @property
    def n_samples(self) -> int:
        """Samples per trace."""
        return int(self.traces.shape[-1])

    @property
    def canonical_nerve(self) -> str | None:
        """Canonical nerve name, or ``None`` when unknown (reported by the analysis)."""
        return canonical_nerve(self.nerve)

    @property
    def cumulative_distances_mm(self) -> tuple[float | None, ...]:
        """Conduction distance of each site (mm); ``None`` once one is unknown."""
        return cumulative_distances_mm(self.sites)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self.sites)
        return (f"SensoryStudy(nerve={self.nerve!r}, side={self.side!r}, "
                f"direction={self.direction!r}, sites=[{names}], "
                f"recording_site={self.recording_site!r}, n_sweeps={self.n_sweeps}, "
                f"n_samples={self.n_samples}, "
                f"sampling_rate_hz={self.sampling_rate_hz:g}, study_id={self.study_id!r})")
