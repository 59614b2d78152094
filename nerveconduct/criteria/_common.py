"""The threshold comparisons and option resolution shared by every criteria evaluator.

Private; :mod:`nerveconduct.criteria.engine` re-exports :func:`at_least`, :func:`at_most`
and :func:`resolve_options`. Kept apart so that the column evaluator (which makes every
decision) and the engine (which words them) import it without importing each other.
"""

from __future__ import annotations

from ..limits import at_least, at_most  # the one comparison (a value at a threshold: as at a limit)
from .tables import BEYOND_COMPRESSION, RuleSet

__all__ = ["at_least", "at_most", "resolve_options"]


def resolve_options(rs: RuleSet, exclude_entrapment: bool | None, include_erbs_point: bool | None,
                    comparison: str | None, beyond_compression: str | None = None) -> tuple[str, bool, bool, str]:
    """The table's comparison mode, entrapment exclusion, Erb's point inclusion and reading
    beyond a compression site (``beyond_compression``), overridden where an argument is given;
    ``ValueError`` for an unknown ``comparison`` or ``beyond_compression``."""
    mode = rs.comparison if comparison is None else comparison
    if mode not in ("adjacent", "from_distal"):
        raise ValueError(f"comparison must be 'adjacent' or 'from_distal', got {comparison!r}")
    beyond = rs.beyond_compression if beyond_compression is None else beyond_compression
    if beyond not in BEYOND_COMPRESSION:
        raise ValueError(f"beyond_compression must be one of {list(BEYOND_COMPRESSION)}, got {beyond_compression!r}")
    excl = rs.exclude_entrapment if exclude_entrapment is None else bool(exclude_entrapment)
    erbs = rs.include_erbs_point if include_erbs_point is None else bool(include_erbs_point)
    return mode, excl, erbs, beyond
