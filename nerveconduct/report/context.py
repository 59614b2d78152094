"""What the report evaluates besides the measures: criteria verdicts and scores.

A thin adapter over :mod:`nerveconduct.criteria` and :mod:`nerveconduct.scores.cidp_mag`: when either
is not installed the report says so instead of failing; any other error propagates.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Sequence

from ..criteria.verdicts import level_rank
from ..plot.criteria import criteria_module

__all__ = [
    "CriteriaOutcome",
    "evaluate_criteria",
    "plotted_outcome",
    "scores_module",
    "clinical_items_given",
    "Computed",
    "cidp_mag",
    "cidp",
    "mmn",
    "MMN_INPUTS",
    "immunoparesis",
    "involved_heavy_chain",
    "IMMUNOGLOBULINS",
]

#: Immunoglobulins of the immunoparesis grade (``docs/criteria.md``, immunoparesis).
IMMUNOGLOBULINS = ("igg", "iga", "igm")


@dataclass
class CriteriaOutcome:
    """One rule set applied to a case.

    Attributes
    ----------
    rule_set_id : str
    info : RuleSetInfo
        Id, title, version, year, citation, confidence.
    kind : str
        ``"conduction-block"`` or ``"demyelination"``.
    segment_verdicts : list of list of SegmentVerdict
        Per nerve (same order as the results), one verdict per segment.
    patient : PatientVerdict or None
        The patient-level combination (``None`` when the evaluator has no patient level).
    has_segment_rules : bool
        The rule set grades segments (conduction block / dispersion), so its verdicts and
        thresholds can be drawn.
    """

    rule_set_id: str
    info: Any
    kind: str
    segment_verdicts: list[list[Any]] = field(default_factory=list)
    patient: Any = None
    has_segment_rules: bool = True

    def nerve_verdict(self, index: int) -> Any:
        """The patient verdict's per-nerve evaluation of nerve ``index`` (or ``None``)."""
        if self.patient is None or index >= len(self.patient.nerve_verdicts):
            return None
        return self.patient.nerve_verdicts[index]


def evaluate_criteria(results: Sequence[Any], rule_sets: Sequence[str]) -> list[CriteriaOutcome] | None:
    """Evaluate every rule set on every nerve (segments) and on the patient.

    Returns
    -------
    list of CriteriaOutcome or None
        ``None`` when the criteria evaluator is not installed.

    Raises
    ------
    KeyError
        An unknown rule-set id (the evaluator's message lists the known ones).
    """
    module = criteria_module()
    if module is None:
        return None
    outcomes = []
    for rule_set in rule_sets:
        table = module.get_rule_set(rule_set)
        patient = (module.evaluate_patient(list(results), table)
                   if hasattr(module, "evaluate_patient") else None)
        outcomes.append(CriteriaOutcome(
            rule_set_id=table.id, info=table.info(), kind=table.kind,
            segment_verdicts=[list(module.evaluate(r, table)) for r in results],
            patient=patient, has_segment_rules=bool(table.segment_rules),
        ))
    return outcomes


def _rank(level: str | None) -> int:
    """0 (not assessable) .. 4 (definite); a segment meeting an item of a CIDP rule set (item
    level "met") ranks as a definite finding, "not-met" as "none"."""
    if level == "met":
        level = "definite"
    try:
        return level_rank(level) + 1
    except (TypeError, ValueError):
        return -1


def plotted_outcome(outcomes: Sequence[CriteriaOutcome] | None, *,
                    mmn_case: bool = False) -> CriteriaOutcome | None:
    """The rule set whose verdicts the plots bracket and whose thresholds they draw.

    Among the rule sets that grade segments:

    1. on an MMN case (the case gives MMN inputs), the first MMN rule set applied (an id
       ending in ``-mmn``);
    2. otherwise the one with the strongest patient-level verdict (definite > probable >
       possible > none > not assessable); ties go to the strongest segment verdict, then to
       a conduction-block rule set (the nerve plot brackets blocked segments), then to the
       order the rule sets were requested in.

    ``None`` when no rule set grades segments.
    """
    graded = [o for o in (outcomes or ()) if o.has_segment_rules]
    if not graded:
        return None
    if mmn_case:
        found = next((o for o in graded if o.rule_set_id.endswith("-mmn")), None)
        if found is not None:
            return found

    def key(item: tuple[int, CriteriaOutcome]) -> tuple[int, int, int, int]:
        order, o = item
        patient = _rank(o.patient.level) if o.patient is not None else -1
        segment = max((_rank(v.level) for vs in o.segment_verdicts for v in vs), default=-1)
        return (patient, segment, int(o.kind == "conduction-block"), -order)

    return max(enumerate(graded), key=key)[1]


def scores_module() -> ModuleType | None:
    """``nerveconduct.scores.cidp_mag`` when installed, else ``None`` (import errors inside it raise)."""
    if importlib.util.find_spec("nerveconduct.scores.cidp_mag") is None:
        return None
    return importlib.import_module("nerveconduct.scores.cidp_mag")


def clinical_items_given(clinical: dict[str, Any] | None) -> bool:
    """True when at least one CIDP-MAG clinical item is given (True or False, not None)."""
    return any(v is not None for v in (clinical or {}).values())


@dataclass
class Computed:
    """A score computed from the case's inputs, or why it could not be (``error``)."""

    value: Any = None
    error: str | None = None


def cidp_mag(clinical: dict[str, Any], results: Sequence[Any]) -> Computed | None:
    """The CIDP-MAG score of the case; ``None`` when no clinical item is given.

    ``Computed.error`` says why there is no score: the scores module is missing, or the
    clinical items are invalid (the scorer's message, echoing the bad key or value).
    """
    if not clinical_items_given(clinical):
        return None
    module = scores_module()
    if module is None:
        return Computed(error="scores module not installed")
    try:
        return Computed(module.cidp_mag_score(clinical, list(results)))
    except (TypeError, ValueError) as exc:  # invalid clinical input from the case's sheet
        return Computed(error=f"CIDP-MAG score not computed: {exc}")


#: ``Case.mmn`` keys passed to :func:`nerveconduct.scores.cidp_mag.mmn_category`.
MMN_INPUTS = ("core_clinical", "exclusions_absent", "sensory_normal", "supportive", "one_nerve_only")


def mmn(mmn_inputs: dict[str, Any], results: Sequence[Any], sensory: Sequence[Any] = ()) -> Computed | None:
    """The EFNS/PNS 2010 MMN category from ``Case.mmn``; ``None`` when no MMN input is given.

    Missing inputs are unknown (``None``); keys other than :data:`MMN_INPUTS` are shown in
    the report but not used. ``sensory`` (``Case.sensory``) gives "normal sensory conduction
    across the CB segments" from the SNAPs where they decide (the reasons say so).
    """
    if not mmn_inputs:
        return None
    module = scores_module()
    if module is None:
        return Computed(error="scores module not installed")
    kwargs = {k: mmn_inputs.get(k) for k in ("core_clinical", "exclusions_absent", "sensory_normal")}
    kwargs.update({k: mmn_inputs[k] for k in ("supportive", "one_nerve_only") if k in mmn_inputs})
    try:
        return Computed(module.mmn_category(list(results), sensory_results=module.sensory_results_of(sensory),
                                            **kwargs))
    except (TypeError, ValueError) as exc:  # invalid MMN input from the case's sheet
        return Computed(error=f"MMN category not computed: {exc}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def involved_heavy_chain(paraprotein: dict[str, Any]) -> str | None:
    """Heavy chain of the M-protein (``"IgM"`` from ``m_protein = "IgM-kappa"``), or ``None``."""
    text = str(paraprotein.get("m_protein") or paraprotein.get("m_protein_type") or "")
    match = re.match(r"\s*ig\s*([gam])", text, flags=re.IGNORECASE)
    return f"Ig{match.group(1).upper()}" if match else None


def immunoparesis(paraprotein: dict[str, Any]) -> Computed | None:
    """The immunoparesis grade from ``Case.paraprotein``; ``None`` when it cannot be graded.

    Reads ``igg``, ``iga``, ``igm`` and ``igg_lln``, ``iga_lln``, ``igm_lln`` (the study
    sheet's flattened form; one unit for all) and the M-protein's heavy chain from
    ``m_protein`` (e.g. ``"IgM-kappa"``). Graded when every *uninvolved* immunoglobulin has a
    value and an LLN.
    """
    if not paraprotein:
        return None
    involved = involved_heavy_chain(paraprotein)
    values = {ig: _number(paraprotein.get(ig)) for ig in IMMUNOGLOBULINS}
    llns = {ig: _number(paraprotein.get(f"{ig}_lln")) for ig in IMMUNOGLOBULINS}
    needed = [ig for ig in IMMUNOGLOBULINS if f"Ig{ig[2].upper()}" != involved]
    if any(values[ig] is None or llns[ig] is None for ig in needed):
        return None
    module = scores_module()
    if module is None:
        return Computed(error="scores module not installed")
    lln = {f"Ig{ig[2].upper()}": llns[ig] for ig in needed}
    try:
        return Computed(module.immunoparesis_grade(values["igg"], values["iga"], values["igm"],
                                                   involved, lln))
    except (TypeError, ValueError) as exc:  # invalid concentrations from the case's sheet
        return Computed(error=f"immunoparesis grade not computed: {exc}")


def cidp(cidp_inputs: dict[str, Any], results: Sequence[Any], sensory: Sequence[Any] = (),
         rule_set: str = "ean-pns-2021-cidp") -> Computed | None:
    """The CIDP diagnosis (``rule_set``'s ``[diagnosis]`` table, EAN/PNS 2021 by default) from
    ``Case.cidp``, the motor results and ``Case.sensory``; ``None`` when no CIDP input is given."""
    if not cidp_inputs:
        return None
    module = scores_module()
    if module is None:
        return Computed(error="scores module not installed")
    try:
        return Computed(module.cidp_diagnosis(list(results), inputs=dict(cidp_inputs),
                                              sensory=module.sensory_results_of(sensory),
                                              rule_set=rule_set))
    except (TypeError, ValueError) as exc:  # invalid CIDP input from the case's sheet
        return Computed(error=f"CIDP diagnosis not computed: {exc}")

