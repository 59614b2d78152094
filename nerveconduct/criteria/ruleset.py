"""Rule sets as data: the classes a rule table loads into, and their confidence marks.

A :class:`RuleSet` holds one TOML table (``nerveconduct.criteria.tables`` loads and checks
it): its segment rules, nerve items, combinations and, per threshold, how sure the number
is (:data:`CONFIDENCE_MARKS`; ``docs/criteria.md`` explains the marks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .verdicts import RuleSetInfo, item_level, level_rank, level_words

__all__ = [
    "RuleSetError", "RuleSet", "SegmentRule", "NerveItem", "Combination", "SegmentPair",
    "RatioBand", "Criterion", "ThresholdMark", "MEASURES", "NERVE_MEASURES", "CONFIDENCE_MARKS",
    "CONFIDENCE_LEGEND", "BEYOND_COMPRESSION", "LEVEL_SCOPES", "ITEM_WORDS", "render_confidence_table",
]

#: What a segment rule's drop is measured on.
MEASURES = ("amplitude", "area", "amplitude_or_area", "amplitude_and_area",
            "peak_to_peak", "peak_to_peak_or_area")
#: What a nerve-level item reads (keys of ``NerveResult.limits`` plus two special items).
NERVE_MEASURES = ("distal_motor_latency", "conduction_velocity", "f_wave_latency",
                  "f_wave_absent", "distal_cmap_duration")
#: Confidence marks of a threshold (docs/criteria.md, "Confidence marks"): confirmed from the
#: primary publication; confirmed in a secondary source quoting it; recalled, not confirmed;
#: no published source found. The letters C / R / S of earlier tables are still accepted.
CONFIDENCE_MARKS = ("primary", "secondary", "recalled", "unsourced")
_LEGACY_MARKS = ("C", "R", "S")
_CONFIDENCE = (*CONFIDENCE_MARKS, *_LEGACY_MARKS)
#: One-line legend of the marks (printed under :func:`render_confidence_table`).
CONFIDENCE_LEGEND = ("marks: primary = confirmed from the primary publication; secondary = confirmed in "
                     "a secondary source quoting it; recalled = recalled, not confirmed; unsourced = no "
                     "published source found (C/R/S: marks of older tables)")
#: ``beyond_compression`` values (``comparison = "from_distal"``): compare a site beyond a
#: compression site with the nearest site proximal to it, or leave it unassessed.
BEYOND_COMPRESSION = ("nearest-site", "excluded")
#: ``level_scope`` values: whom the table's level words (``level_labels``) describe. "segment":
#: a segment and a nerve too (a conduction-block finding, e.g. "definite CB"); "patient": the
#: patient only (e.g. "strongly supportive of demyelination"), so a segment or a nerve is
#: worded by the items it meets, and its ``level`` is an item level (met / not-met /
#: not-assessable, :data:`~nerveconduct.criteria.verdicts.ITEM_LEVELS`).
LEVEL_SCOPES = ("segment", "patient")
#: Item-based wording of a segment or nerve (``level_scope = "patient"``).
NO_ITEM_MET, NOT_ASSESSABLE, MET_PREFIX = "no item met", "not assessable", "met: "
#: How an item-worded label starts (one of these three).
ITEM_WORDS = (MET_PREFIX, NO_ITEM_MET, NOT_ASSESSABLE)
_COMPARE = (">=", ">", "<=", "<")


class RuleSetError(ValueError):
    """A rule-set table is invalid; ``path`` and ``key`` say where."""

    def __init__(self, path: str, key: str, message: str) -> None:
        self.path, self.key = path, key
        super().__init__(f"{path}: {key}: {message}")


@dataclass(frozen=True)
class SegmentPair:
    """A segment a rule applies to, by canonical site names (and optionally nerve)."""

    distal: str
    proximal: str
    nerve: str | None = None


@dataclass(frozen=True)
class RatioBand:
    """Minimum normal proximal/distal amplitude ratio for a band of distal amplitudes (mV)."""

    distal_min_mv: float
    distal_max_mv: float
    min_ratio: float
    distal_min_inclusive: bool = True
    distal_max_inclusive: bool = False


@dataclass(frozen=True)
class SegmentRule:
    """One segment-level rule item (conduction block / temporal dispersion); see docs/criteria.md."""

    item: str
    label: str
    level: str
    confidence: str
    verification: str
    measure: str = "amplitude"
    drop_min_pct: float | None = None
    drop_min_pct_inclusive: bool = True
    ratio_bands: tuple[RatioBand, ...] = ()
    duration: str = "negative_peak"
    duration_increase_max_pct: float | None = None
    duration_increase_max_pct_inclusive: bool = True
    duration_increase_min_pct: float | None = None
    duration_increase_min_pct_inclusive: bool = False
    distal_amplitude_min_pct_lln: float | None = None
    distal_amplitude_min_pct_lln_inclusive: bool = False
    distal_amplitude_min_mv: float | None = None
    distal_amplitude_min_mv_inclusive: bool = False
    nerves: tuple[str, ...] = ()
    exclude_nerves: tuple[str, ...] = ()
    segments: tuple[SegmentPair, ...] = ()
    marks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NerveItem:
    """One nerve-level item (DML, CV, F-wave, distal CMAP duration); see docs/criteria.md."""

    item: str
    label: str
    measure: str
    confidence: str
    verification: str
    compare: str = ">="
    pct_of_limit: float | None = None
    low_amplitude_below_pct_lln: float | None = None
    low_amplitude_pct_of_limit: float | None = None
    distal_amplitude_min_pct_lln: float | None = None
    distal_amplitude_min_pct_lln_inclusive: bool = True
    thresholds_ms: tuple[tuple[str, float], ...] = ()
    filter_hz: float | None = None
    thresholds_ms_by_filter: tuple[tuple[float, tuple[tuple[str, float], ...]], ...] = ()
    nerves: tuple[str, ...] = ()
    exclude_nerves: tuple[str, ...] = ()
    caveat: str | None = None
    caveat_nerves: tuple[str, ...] = ()
    marks: tuple[tuple[str, str], ...] = ()

    def cutoff_nerves(self) -> tuple[str, ...]:
        """The nerves a distal-CMAP-duration cut-off is given for (any filter row)."""
        names = [n for n, _ in self.thresholds_ms]
        for _, row in self.thresholds_ms_by_filter:
            names.extend(n for n, _ in row)
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Criterion:
    """One criterion of a counted combination: any of ``items`` met in ``min_nerves`` nerves."""

    items: tuple[str, ...]
    min_nerves: int
    label: str = ""


@dataclass(frozen=True)
class Combination:
    """A patient-level rule: ``items`` met in ``min_nerves`` nerves (+ ``other_items`` in another)."""

    level: str
    label: str
    items: tuple[str, ...]
    min_nerves: int
    confidence: str
    verification: str
    other_items: tuple[str, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    min_criteria: int | None = None
    marks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ThresholdMark:
    """One threshold of a rule set with its confidence mark (:meth:`RuleSet.confidence_table`)."""

    scope: str
    item: str
    threshold: str
    value: str
    mark: str


def _mark_of(rule, key: str) -> str:
    return dict(rule.marks).get(key, rule.confidence)


def _num(v: float) -> str:
    return f"{v:g}"


def _incl(v: float, inclusive: bool, minimum: bool) -> str:
    op = (">=" if inclusive else ">") if minimum else ("<=" if inclusive else "<")
    return f"{op} {_num(v)}"


def _segment_marks(rule: "SegmentRule") -> list[ThresholdMark]:
    out = []

    def add(key: str, text: str) -> None:
        out.append(ThresholdMark("segment rule", rule.item, key, text, _mark_of(rule, key)))

    if rule.drop_min_pct is not None:
        add("drop_min_pct", f"{rule.measure} drop {_incl(rule.drop_min_pct, rule.drop_min_pct_inclusive, True)}%")
    for k, b in enumerate(rule.ratio_bands):
        add(f"ratio_bands[{k}]", f"ratio < {_num(b.min_ratio)} for distal {_num(b.distal_min_mv)}-"
            f"{_num(b.distal_max_mv)} mV")
    if rule.duration_increase_max_pct is not None:
        add("duration_increase_max_pct", "duration increase " + _incl(
            rule.duration_increase_max_pct, rule.duration_increase_max_pct_inclusive, False) + "%")
    if rule.duration_increase_min_pct is not None:
        add("duration_increase_min_pct", "duration increase " + _incl(
            rule.duration_increase_min_pct, rule.duration_increase_min_pct_inclusive, True) + "%")
    if rule.distal_amplitude_min_pct_lln is not None:
        add("distal_amplitude_min_pct_lln", "distal amplitude " + _incl(
            rule.distal_amplitude_min_pct_lln, rule.distal_amplitude_min_pct_lln_inclusive, True) + "% of LLN")
    if rule.distal_amplitude_min_mv is not None:
        add("distal_amplitude_min_mv", "distal amplitude " + _incl(
            rule.distal_amplitude_min_mv, rule.distal_amplitude_min_mv_inclusive, True) + " mV")
    if rule.segments:
        add("segments", ", ".join(f"{p.nerve + ' ' if p.nerve else ''}{p.distal}-{p.proximal}"
                                  for p in rule.segments))
    return out


def _item_marks(item: "NerveItem") -> list[ThresholdMark]:
    out = []

    def add(key: str, text: str) -> None:
        out.append(ThresholdMark("nerve item", item.item, key, text, _mark_of(item, key)))

    if item.pct_of_limit is not None:
        add("pct_of_limit", f"{item.measure} {item.compare} {_num(item.pct_of_limit)}% of the limit")
    if item.low_amplitude_pct_of_limit is not None and item.low_amplitude_below_pct_lln is not None:
        add("low_amplitude_pct_of_limit", f"{item.compare} {_num(item.low_amplitude_pct_of_limit)}% of the limit "
            f"if distal CMAP < {_num(item.low_amplitude_below_pct_lln)}% of LLN")
    if item.distal_amplitude_min_pct_lln is not None:
        add("distal_amplitude_min_pct_lln", "distal amplitude " + _incl(
            item.distal_amplitude_min_pct_lln, item.distal_amplitude_min_pct_lln_inclusive, True) + "% of LLN")
    for nerve, ms in item.thresholds_ms:
        add(f"thresholds_ms.{nerve}", f"{nerve} {item.compare} {_num(ms)} ms"
            + (f" (at {_num(item.filter_hz)} Hz)" if item.filter_hz is not None else ""))
    for hz, row in item.thresholds_ms_by_filter:
        for nerve, ms in row:
            add(f"thresholds_ms_by_filter.{_num(hz)}.{nerve}", f"{nerve} {item.compare} {_num(ms)} ms at "
                f"{_num(hz)} Hz")
    return out


def _combination_marks(c: "Combination") -> list[ThresholdMark]:
    if c.criteria:
        text = f"{c.label} (at least {c.min_criteria} of: " + "; ".join(
            f"{'/'.join(k.items)} in >= {k.min_nerves} nerve(s)" for k in c.criteria) + ")"
        key = "criteria"
    else:
        text, key = c.label, "min_nerves"
    return [ThresholdMark("combination", c.level, key, text, _mark_of(c, key))]


def _diagnosis_marks(d: Any) -> list[ThresholdMark]:
    """The ``[diagnosis]`` section's thresholds and rows with their marks."""
    out = []
    for item in d.sensory_items:
        low = "" if item.low_amplitude_pct_of_lln is None else (
            f" (< {_num(item.low_amplitude_pct_of_lln)}% if SNAP amplitude < "
            f"{_num(item.low_amplitude_below_pct_lln)}% of LLN)")
        value = item.label if item.pct_of_lln is None else f"{item.measure} < {_num(item.pct_of_lln)}% of LLN{low}"
        out.append(ThresholdMark("sensory item", item.item, "pct_of_lln", value, item.confidence))
    out += [ThresholdMark("sensory pattern", p.id, "pattern", p.label, p.confidence) for p in d.patterns]
    out += [ThresholdMark("supportive", s.key, "when" if s.when else "input", s.label, s.confidence)
            for s in d.supportive]
    out += [ThresholdMark("diagnosis", r.category, "when", f"{r.label}: " + "; ".join(
        " or ".join(c.text for c in g) for g in r.when), r.confidence) for r in d.rows]
    return out


@dataclass(frozen=True)
class RuleSet:
    """A validated rule-set table (see :func:`load_rule_set`)."""

    id: str
    title: str
    short_name: str
    version: str
    citation: str
    confidence: str
    verification: str
    kind: str
    source: str
    year: int | None = None
    url: str | None = None
    notes: str | None = None
    comparison: str = "adjacent"
    beyond_compression: str = "nearest-site"
    exclude_entrapment: bool = True
    include_erbs_point: bool = False
    excluded_nerves: tuple[str, ...] = ()
    absent_proximal: str = "not-assessable"
    not_evaluated: tuple[str, ...] = ()
    level_labels: tuple[tuple[str, str], ...] = ()
    segment_rules: tuple[SegmentRule, ...] = ()
    nerve_items: tuple[NerveItem, ...] = ()
    combinations: tuple[Combination, ...] = ()
    level_scope: str = "segment"
    item_titles: tuple[tuple[str, str], ...] = ()
    #: The ``[diagnosis]`` section (:class:`nerveconduct.criteria._diagnosis.Diagnosis`), or None.
    diagnosis: Any = None

    def label_for(self, level: str) -> str:
        """The table's wording of ``level``; a code the table does not word reads as words
        (``"not-assessable"`` → ``"not assessable"``), never as a code."""
        return dict(self.level_labels).get(level, level_words(level))

    def item_label(self, item: str) -> str:
        """Human label of an item id."""
        for rule in (*self.segment_rules, *self.nerve_items):
            if rule.item == item:
                return rule.label
        return item

    def item_title(self, item: str) -> str:
        """An item named by its meaning (``item_titles``, e.g. "CB: amplitude drop ≥30 %"),
        else its label."""
        return dict(self.item_titles).get(item) or self.item_label(item)

    def _titled(self, item: str) -> str:
        title = self.item_title(item)
        return title if title == item else f"{title} ({item})"

    def items_text(self, level: str, items: Sequence[str]) -> str:
        """A segment or nerve worded by the items it meets (``level_scope = "patient"``):
        "met: <item title>; <item title>", "no item met" or "not assessable"."""
        if items:
            return MET_PREFIX + "; ".join(self._titled(it) for it in items)
        return NOT_ASSESSABLE if level == "not-assessable" else NO_ITEM_MET

    def level_code(self, level: str, items: Sequence[str]) -> str:
        """The ``level`` field of a segment or nerve graded ``level`` (one of ``LEVELS``)
        meeting ``items``: ``level`` itself where the table's level words describe a segment
        (``level_scope = "segment"``), else an item level (``"met"``, ``"not-met"``,
        ``"not-assessable"``; :data:`~nerveconduct.criteria.verdicts.ITEM_LEVELS`)."""
        return level if self.level_scope == "segment" else item_level(level_rank(level), bool(items))

    def segment_label(self, level: str, items: Sequence[str]) -> str:
        """The ``label`` of a segment verdict at ``level`` meeting ``items``: the table's level
        words where they describe a segment (``level_scope = "segment"``), else the items."""
        return self.label_for(level) if self.level_scope == "segment" else self.items_text(level, items)

    def confidence_table(self) -> list[ThresholdMark]:
        """Every threshold of the table with its confidence mark (see :data:`CONFIDENCE_LEGEND`).

        A threshold without a mark of its own (``marks`` key of its rule) carries its rule's
        ``confidence``.
        """
        out: list[ThresholdMark] = []
        for rule in self.segment_rules:
            out.extend(_segment_marks(rule))
        for item in self.nerve_items:
            out.extend(_item_marks(item))
        for combo in self.combinations:
            out.extend(_combination_marks(combo))
        if self.diagnosis is not None:
            out.extend(_diagnosis_marks(self.diagnosis))
        return out

    def info(self) -> RuleSetInfo:
        """Id, title, version, year, citation, confidence and source of this rule set."""
        return RuleSetInfo(self.id, self.title, self.version, self.year, self.citation,
                           self.confidence, self.source)


def render_confidence_table(rule_set: RuleSet) -> str:
    """The thresholds of ``rule_set`` with their confidence marks, as text, legend last.

    One line per threshold (``mark  item  value``); what ``nerveconduct criteria show``
    prints.

    Examples
    --------
    >>> from nerveconduct.criteria import get_rule_set
    >>> print(render_confidence_table(get_rule_set("efns-pns-2010-mmn")).splitlines()[0])
    EFNS/PNS 2010 MMN (efns-pns-2010-mmn): thresholds and confidence marks
    """
    rows = rule_set.confidence_table()
    width = max([len(r.mark) for r in rows] + [9])
    iw = max([len(r.item) for r in rows] + [4])
    lines = [f"{rule_set.short_name} ({rule_set.id}): thresholds and confidence marks"]
    lines += [f"  {r.mark:<{width}}  {r.item:<{iw}}  {r.value}" for r in rows]
    lines.append(CONFIDENCE_LEGEND)
    return "\n".join(lines)
