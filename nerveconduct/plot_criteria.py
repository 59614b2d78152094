"""Adapter between the plots/report and the criteria evaluator (``nerveconduct.criteria``).

The plots and the report show verdicts when the evaluator is installed and still work when it
is not: every function here returns ``None`` (or an empty result) when
``nerveconduct.criteria`` has no evaluator, and lets every other error through. An unknown
rule-set id is a :class:`ValueError` that lists the ids allowed.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

__all__ = [
    "DEFAULT_CB_RULE_SET",
    "HIGHLIGHT_LEVELS",
    "ThresholdLine",
    "criteria_module",
    "evaluate_segments",
    "verdicts_by_segment",
    "rule_set_infos",
    "rule_set_thresholds",
]

#: Rule set whose conduction-block verdicts the nerve plot highlights by default.
DEFAULT_CB_RULE_SET = "efns-pns-2010-mmn"

#: Verdict levels a plot highlights (strongest first).
HIGHLIGHT_LEVELS = ("definite", "probable", "possible")


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
        What crossing it means (e.g. ``"definite CB: area drop ≥ 50%"``).
    """

    measure: str
    value_pct: float
    label: str


def criteria_module() -> ModuleType | None:
    """Return ``nerveconduct.criteria`` when its evaluator is installed, else ``None``.

    An evaluator that is present but fails to import raises (a broken install must not look
    like a missing feature).
    """
    module = importlib.import_module("nerveconduct.criteria")
    if hasattr(module, "evaluate"):
        return module
    if importlib.util.find_spec("nerveconduct.criteria.engine") is None:
        return None
    importlib.import_module("nerveconduct.criteria.engine")  # surfaces its import error
    module = importlib.reload(module)
    return module if hasattr(module, "evaluate") else None


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


def rule_set_infos() -> dict[str, Any]:
    """Rule-set id -> ``RuleSetInfo`` (id, title, version, year, citation), or ``{}``."""
    module = criteria_module()
    if module is None or not hasattr(module, "list_rule_sets"):
        return {}
    return {info.id: info for info in module.list_rule_sets()}


# Segment measures a threshold can apply to, as the rule tables may name them.
_MEASURE_ALIASES = {
    "amplitude_drop_pct": "amplitude_drop_pct",
    "amplitude_drop_from_distal_pct": "amplitude_drop_pct",
    "area_drop_pct": "area_drop_pct",
    "area_drop_from_distal_pct": "area_drop_pct",
    "duration_increase_pct": "duration_increase_pct",
    "duration_increase_from_distal_pct": "duration_increase_pct",
    "cmap_duration_increase_pct": "duration_increase_pct",
}


def rule_set_thresholds(rule_set: str) -> list[ThresholdLine] | None:
    """Drop / duration-increase thresholds of a rule set, read from its table.

    Returns
    -------
    list of ThresholdLine or None
        ``None`` when the evaluator (or its table reader) is not installed.
    """
    module = criteria_module()
    if module is None:
        return None
    loader = getattr(module, "load_rule_set", None) or getattr(module, "get_rule_set", None)
    if loader is None:
        return None
    table = loader(rule_set)
    return _thresholds_from_table(table)


def _thresholds_from_table(table: Any) -> list[ThresholdLine]:
    """Collect ``(measure, threshold)`` conditions from a rule table's segment rules."""
    lines: list[ThresholdLine] = []
    seen: set[tuple[str, float]] = set()
    for rule in getattr(table, "segment_rules", None) or getattr(table, "rules", ()) or ():
        label = str(getattr(rule, "label", None) or getattr(rule, "level", "") or "")
        for cond in getattr(rule, "conditions", ()) or ():
            measure = _MEASURE_ALIASES.get(str(getattr(cond, "measure", "")))
            value = getattr(cond, "value", None)
            if measure is None or not isinstance(value, (int, float)):
                continue
            key = (measure, float(value))
            if key in seen:
                continue
            seen.add(key)
            op = str(getattr(cond, "op", "") or getattr(cond, "operator", ""))
            lines.append(ThresholdLine(measure, float(value),
                                       f"{label}: {measure.removesuffix('_pct').replace('_', ' ')} "
                                       f"{op} {float(value):g}%".replace("  ", " ")))
    return lines
