"""Normal limits: motor (per nerve/muscle) and sensory (per nerve/direction) tables.

- :mod:`._table` -- what every table shares: age/height bands, the row match, the file
  loader and :class:`LimitsFileError`;
- :mod:`.motor` -- :class:`LimitRow`, :class:`NormalLimits` and the default motor table;
- :mod:`.sensory` -- :class:`SensoryLimitRow`, :class:`SensoryLimits` and the default
  sensory table;
- :mod:`._compare` -- the one comparison with a limit or threshold (:func:`beyond_limit`,
  :func:`at_least`, :func:`at_most`): a value at its limit is judged the same everywhere.

Each default table names its source and how far its values were checked; a lab loads its
own (CSV or TOML, ``from_file``). A missing limit is ``None``: comparisons that need it are
``None`` with a reason, never a guess.
"""

from ._compare import REL_TOL, at_least, at_most, beyond_limit
from ._table import LimitsFileError
from .motor import DEFAULT_LIMITS_CITATION, LimitRow, NormalLimits
from .sensory import (CONFIDENCES, DEFAULT_SENSORY_LIMITS_CITATION,
                      PEAK_LATENCY_DISTANCE_TOLERANCE_MM, SensoryLimitRow, SensoryLimits)

__all__ = ["LimitRow", "NormalLimits", "LimitsFileError", "DEFAULT_LIMITS_CITATION",
           "SensoryLimitRow", "SensoryLimits", "DEFAULT_SENSORY_LIMITS_CITATION", "CONFIDENCES",
           "PEAK_LATENCY_DISTANCE_TOLERANCE_MM", "REL_TOL", "at_least", "at_most", "beyond_limit"]
