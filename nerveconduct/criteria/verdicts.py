"""What the criteria engine returns: verdicts per segment, per nerve and per patient.

Every verdict carries its ``reasons``: readable sentences naming the rule item, the threshold
and the measured value, or why the segment / nerve could not be assessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "level_words",
    "LEVELS",
    "GRADED_LEVELS",
    "ITEM_LEVELS",
    "FINDING_LEVELS",
    "level_rank",
    "item_level",
    "SegmentVerdict",
    "ItemResult",
    "NerveVerdict",
    "PatientVerdict",
    "RuleSetInfo",
    "DiagnosisVerdict",
]

#: Every level a verdict can take, strongest first.
LEVELS: tuple[str, ...] = ("definite", "probable", "possible", "none", "not-assessable")
#: The levels a rule can grant (a rule never grants "none" or "not-assessable").
GRADED_LEVELS: tuple[str, ...] = ("definite", "probable", "possible")

#: The levels of a segment or nerve of a rule set whose level words describe a patient only
#: (``level_scope = "patient"``, the CIDP rule sets): an item is met, no item is met, or
#: nothing could be decided. Strongest first.
ITEM_LEVELS: tuple[str, ...] = ("met", "not-met", "not-assessable")
#: Segment or nerve levels that report a finding (a graded block, or an item met).
FINDING_LEVELS: tuple[str, ...] = (*GRADED_LEVELS, "met")

_RANK = {"definite": 3, "probable": 2, "possible": 1, "none": 0, "not-assessable": -1}
_ITEM_RANK = {"met": 1, "not-met": 0, "not-assessable": -1}


def level_words(level: str) -> str:
    """A level code as words, for a label that has no wording of its own
    (``"not-assessable"`` → ``"not assessable"``): outputs never show a code as a label."""
    return level.replace("-", " ")


def level_rank(level: str) -> int:
    """Order of ``level``: definite 3 > probable 2 > possible 1 > none 0 > not-assessable -1.

    The item levels of :data:`ITEM_LEVELS` rank among themselves: met 1 > not-met 0 >
    not-assessable -1 (compare levels of one rule set only).

    Raises
    ------
    ValueError
        ``level`` is not one of :data:`LEVELS` or :data:`ITEM_LEVELS`.
    """
    try:
        return _RANK[level] if level in _RANK else _ITEM_RANK[level]
    except KeyError:
        raise ValueError(f"unknown level {level!r}; allowed: {list(LEVELS)} (a patient, or a segment "
                         f"or nerve of a conduction-block rule set), {list(ITEM_LEVELS)} (a segment "
                         "or nerve of a rule set whose level words describe a patient)") from None


def item_level(rank: int, any_item_met: bool) -> str:
    """The :data:`ITEM_LEVELS` code of a segment or nerve: ``"met"`` when an item is met,
    else ``"not-met"`` when ``rank`` (:func:`level_rank` of its graded level) is 0 or more,
    else ``"not-assessable"``."""
    if any_item_met:
        return "met"
    return "not-met" if rank >= 0 else "not-assessable"


@dataclass(frozen=True)
class SegmentVerdict:
    """The verdict of one rule set on one segment of one nerve.

    Attributes
    ----------
    rule_set_id : str
        Id of the rule set applied.
    nerve : str
        Nerve as labelled in reasons, e.g. ``"right median"``.
    segment_index : int
        :attr:`SegmentResult.index` (1 = the segment above the most distal site).
    segment : str
        ``"distal–proximal"`` site names of the comparison made.
    level : str
        One of :data:`LEVELS` (``"definite"`` ... ``"not-assessable"``) for rule sets whose
        level words describe a segment (conduction block); one of :data:`ITEM_LEVELS`
        (``"met"``, ``"not-met"``, ``"not-assessable"``) for rule sets whose level words
        describe a patient only (``level_scope = "patient"``, the CIDP rule sets).
    label : str
        How the segment reads: the rule set's own name for the level where it describes a
        segment (e.g. ``"definite CB"``); for rule sets whose level words describe only a
        patient (``level_scope = "patient"``, e.g. EAN/PNS 2021 "strongly supportive"), the
        items met, named by their meaning ("met: CB: amplitude drop ≥30 % (e)", "no item met",
        "not assessable").
    items : tuple of str
        Rule items met by this segment (e.g. ``("I-E", "I-F")``).
    reasons : list of str
        Each rule item with its threshold and the measured value; exclusions with their reason.
    excluded_by : str or None
        ``"entrapment"``, ``"erbs-point"``, ``"nerve"`` when the rule set excludes the segment
        by design, ``"not-applicable"`` when none of its rules applies to the segment (e.g. a
        rule restricted to other nerves or segments); ``None`` otherwise (also when it is not
        assessable for lack of data).
    item_results : dict of str to bool or None
        Every item of the rule set on this segment: met, not met, or not assessable (None).
    """

    rule_set_id: str
    nerve: str
    segment_index: int
    segment: str
    level: str
    label: str
    items: tuple[str, ...]
    reasons: list[str] = field(default_factory=list)
    excluded_by: str | None = None
    item_results: dict[str, bool | None] = field(default_factory=dict, repr=False, compare=False)

    @property
    def assessable(self) -> bool:
        """False when the segment is ``"not-assessable"``."""
        return self.level != "not-assessable"


@dataclass(frozen=True)
class ItemResult:
    """One rule item on one nerve: met (True), not met (False) or not assessable (None)."""

    item: str
    label: str
    met: bool | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class NerveVerdict:
    """Every item of a rule set evaluated on one nerve.

    Attributes
    ----------
    nerve : str
        Label used in reasons (``"right median"``).
    key : tuple of (str, str)
        (nerve, side) identity used when counting nerves ("in 2 nerves").
    items : dict of str to ItemResult
        Per item id; segment items are met when any assessable segment meets them.
    segments : tuple of SegmentVerdict
        The segment verdicts, in segment order.
    level : str
        Strongest segment level (conduction-block rule sets, :data:`LEVELS`); for rule sets
        whose level words describe a patient only, an :data:`ITEM_LEVELS` code: ``"met"``
        when any item (segment or nerve item) is met, else ``"not-met"`` when a segment
        could be graded, else ``"not-assessable"`` (as ``label`` words it).
    label : str
        How this nerve reads: the rule set's level words where they describe a nerve (e.g.
        "definite CB"), else the items met, named by their meaning ("met: CB: amplitude drop
        ≥30 % (e)", "no item met", "not assessable"); empty when made without a rule set.
    """

    rule_set_id: str
    nerve: str
    key: tuple[str, str]
    items: dict[str, ItemResult]
    segments: tuple[SegmentVerdict, ...]
    level: str
    label: str = ""

    def met_items(self) -> tuple[str, ...]:
        """Ids of the items met on this nerve."""
        return tuple(k for k, v in self.items.items() if v.met)


@dataclass(frozen=True)
class PatientVerdict:
    """A rule set's patient-level result (the table's combination rules over nerves).

    Attributes
    ----------
    level : str
        One of :data:`LEVELS`.
    label : str
        The rule set's own wording of the level (e.g. ``"strongly supportive"``).
    reasons : list of str
        The combination rules met (with the nerves that carry them), or why none is.
    nerves : tuple of str
        Nerves carrying the strongest combination met.
    combinations_met : tuple of str
        Labels of every combination rule met.
    nerve_verdicts : tuple of NerveVerdict
        The per-nerve evaluation.
    """

    rule_set_id: str
    level: str
    label: str
    reasons: list[str]
    nerves: tuple[str, ...]
    combinations_met: tuple[str, ...]
    nerve_verdicts: tuple[NerveVerdict, ...]


@dataclass(frozen=True)
class DiagnosisVerdict:
    """A rule set's diagnosis (its ``[diagnosis]`` table): clinical, electrodiagnostic and
    supportive criteria combined into a category.

    Attributes
    ----------
    category : str
        The strongest category met taking every unknown input as unmet (e.g. ``"CIDP"``,
        ``"possible CIDP"``), or the table's ``none_label`` when no row is met.
    max_category : str
        The category if every unknown input were met (equal to ``category`` when nothing
        unknown could change it).
    variant : str or None
        The clinical variant given (``"typical"``, ``"distal"``, ...); None when not given.
    label : str
        ``"CIDP (typical)"``-style wording of ``category`` and ``variant``.
    reasons : tuple of str
        The row met with each of its conditions and the nerves carrying them; what is unmet;
        "could be … if …" with the unknowns; where sensory values came from; supportive
        criteria; what is not evaluated.
    rows_met : tuple of str
        Labels of every row met (unknowns unmet).
    sensory : dict of str to dict of str to bool or None
        Each sensory nerve (``"right median"``) -> sensory item id -> met / not met / unknown.
    supportive : dict of str to bool or None
        Each supportive criterion -> met / not met / unknown (computed ones from conduction).
    motor : PatientVerdict
        The rule set's motor conduction verdict the rows used.
    """

    rule_set_id: str
    category: str
    max_category: str
    variant: str | None
    label: str
    reasons: tuple[str, ...]
    rows_met: tuple[str, ...]
    sensory: dict[str, dict[str, bool | None]]
    supportive: dict[str, bool | None]
    motor: PatientVerdict


@dataclass(frozen=True)
class RuleSetInfo:
    """What :func:`list_rule_sets` tells about one rule set."""

    id: str
    title: str
    version: str
    year: int | None
    citation: str
    confidence: str
    source: str

    def __str__(self) -> str:
        return f"{self.id}: {self.title} — {self.citation}"
