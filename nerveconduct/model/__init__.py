"""The nerve model: sites, motor and sensory nerve studies, a case (the analysis's inputs).

Ground floor of the package: imports nothing of ours but names and the argument checks. What is
read along a nerve (:class:`~nerveconduct.analysis.NerveResult` and its parts) lives in
:mod:`nerveconduct.analysis`.

- :mod:`._common` -- allowed values, identifier keys, the case key, :class:`InvalidStudyError`;
- :mod:`.motor` -- :class:`Site`, :class:`NerveStudy` and the one study-validity rule;
- :mod:`.sensory` -- :class:`SensoryStudy` and the one sensory-study validity rule;
- :mod:`.case` -- :class:`Case`, one patient's work-up.

Distances follow the machines' convention (``docs/output-fields.md``): the most distal site's
``distance_mm`` is stimulation point -> active recording electrode; every other site's is the
segment length from the next more distal site. Sites are ordered distal -> proximal.
"""

from ._common import DEMOGRAPHIC_RANGES, IDENTIFIER_KEYS, POLARITIES, InvalidStudyError, case_key
from .case import Case
from .motor import NerveStudy, Site, StimulationSeries, study_problems
from .sensory import DIRECTIONS, SENSORY_NERVES, SIDES, SensoryStudy, sensory_study_problems

__all__ = [
    "InvalidStudyError",
    "Site",
    "NerveStudy",
    "StimulationSeries",
    "Case",
    "study_problems",
    "SensoryStudy",
    "sensory_study_problems",
    "DIRECTIONS",
    "SIDES",
    "SENSORY_NERVES",
    "case_key",
    "DEMOGRAPHIC_RANGES",
    "POLARITIES",
    "IDENTIFIER_KEYS",
]
