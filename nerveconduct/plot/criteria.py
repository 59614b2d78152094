"""Adapter between the plots/report and the criteria evaluator (``nerveconduct.criteria``).

The plots and the report show verdicts when the evaluator is installed and still work when it
is not: the functions that need it return ``None`` when ``nerveconduct.criteria.engine`` is
absent, and let every other error through. An unknown rule-set id is the evaluator's
:class:`KeyError`, which lists the ids known. Thresholds are read from the rule tables
(criteria are data), never restated here.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

from ..criteria.verdicts import FINDING_LEVELS

__all__ = [
    "DEFAULT_CB_RULE_SET",
    "HIGHLIGHT_LEVELS",
    "ThresholdLine",
    "criteria_module",
    "evaluate_segments",
    "verdicts_by_segment",
    "rule_set_table",
    "rule_set_thresholds",
    "rule_set_duration",
]

#: Rule set whose conduction-block verdicts the nerve plot highlights by default.
DEFAULT_CB_RULE_SET = "efns-pns-2010-mmn"

#: Verdict levels a plot highlights (strongest first): a graded block, or an item met on a
#: segment of a rule set whose level words describe a patient only.
HIGHLIGHT_LEVELS = FINDING_LEVELS


@dataclass(frozen=True)
class ThresholdLine:
    """One threshold of a rule set drawn on a segment plot.

    Attributes
    ----------
    measure : str
        ``"amplitude_drop_pct"``, ``"area_drop_pct"`` or ``"duration_increase_pct"``.
    value_pct : float
        Threshold (%).
    label : str
        The threshold and the rule items using it (e.g. ``"area drop 50% (definite CB)"``).
    """

    measure: str
    value_pct: float
    label: str


def criteria_module() -> ModuleType | None:
    """Return ``nerveconduct.criteria`` when its evaluator is installed, else ``None``.

    An evaluator that is present but fails to import raises (a broken install must not look
    like a missing feature).
    """
    if importlib.util.find_spec("nerveconduct.criteria.engine") is None:
        return None
    return importlib.import_module("nerveconduct.criteria")


def evaluate_segments(result: Any, rule_set: str) -> list[Any] | None:
    """Segment verdicts of ``rule_set`` on one :class:`~nerveconduct.model.NerveResult`.

    Returns
    -------
    list of SegmentVerdict or None
        ``None`` when the criteria evaluator is not installed.
    """
    module = criteria_module()
    if module is None:
        return None
    return list(module.evaluate(result, rule_set))


def verdicts_by_segment(verdicts: Sequence[Any] | None) -> dict[int, Any]:
    """Map ``SegmentVerdict.segment_index`` -> verdict (empty for ``None``)."""
    if verdicts is None:
        return {}
    return {int(v.segment_index): v for v in verdicts}


def rule_set_table(rule_set: Any) -> Any | None:
    """The rule-set table (``RuleSet``) for an id (a table passes through), or ``None``
    without the criteria evaluator.

    Raises
    ------
    KeyError
        Unknown rule-set id (the message lists the known ids).
    """
    module = criteria_module()
    return None if module is None else module.get_rule_set(rule_set)


#: Drop measure of a segment rule -> the segment drops it reads.
_DROP_MEASURES = {
    "amplitude": ("amplitude_drop",),
    "peak_to_peak": (),  # peak-to-peak drops are not plotted: no line
    "area": ("area_drop",),
    "amplitude_or_area": ("amplitude_drop", "area_drop"),
    "amplitude_and_area": ("amplitude_drop", "area_drop"),
    "peak_to_peak_or_area": ("area_drop",),
}


def rule_set_thresholds(table: Any) -> list[ThresholdLine]:
    """Drop and duration-increase thresholds of a rule-set table, one line per distinct value.

    Parameters
    ----------
    table : RuleSet
        A table from :func:`rule_set_table` (``segment_rules`` with ``measure``,
        ``drop_min_pct``, ``duration_increase_max_pct``, ``duration_increase_min_pct``).

    Returns
    -------
    list of ThresholdLine
        ``measure`` is ``"amplitude_drop_pct"``, ``"area_drop_pct"`` or
        ``"duration_increase_pct"``. Amplitude-ratio bands (amplitude-dependent limits) have
        no single threshold, and peak-to-peak drops are not plotted: neither gives a line.
    """
    items: dict[tuple[str, float], list[str]] = {}
    for rule in table.segment_rules:
        if rule.drop_min_pct is not None:
            for base in _DROP_MEASURES.get(rule.measure, ()):
                items.setdefault((f"{base}_pct", float(rule.drop_min_pct)), []).append(rule.item)
        for attr in ("duration_increase_max_pct", "duration_increase_min_pct"):
            value = getattr(rule, attr)
            if value is not None:
                items.setdefault(("duration_increase_pct", float(value)), []).append(rule.item)
    lines = []
    for (measure, value), names in sorted(items.items()):
        what = measure.removesuffix("_pct").replace("_", " ")
        unique = ", ".join(dict.fromkeys(names))
        lines.append(ThresholdLine(measure, value, f"{what} {value:g}% ({unique})"))
    return lines


def rule_set_duration(table: Any) -> str:
    """``"cmap"`` when every duration condition of the table reads the CMAP duration, else
    ``"negative_peak"``."""
    kinds = {rule.duration for rule in table.segment_rules
             if rule.duration_increase_max_pct is not None or rule.duration_increase_min_pct is not None}
    return "cmap" if kinds == {"cmap"} else "negative_peak"
