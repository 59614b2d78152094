"""Published criteria as data, applied by one evaluator with the reasons shown.

- :func:`list_rule_sets` — every rule set with its citation;
- :func:`evaluate` — one verdict per segment of a nerve (``.level``, ``.reasons``);
- :func:`evaluate_nerve` / :func:`evaluate_patient` — nerve items and the patient-level
  combination of a rule set;
- :func:`evaluate_diagnosis` — a rule set's diagnosis (``[diagnosis]`` table): clinical,
  motor, sensory and supportive criteria combined (EAN/PNS 2021: CIDP / possible CIDP);
- :func:`evaluate_many` / :func:`evaluate_nerves` — :func:`evaluate` / :func:`evaluate_nerve`
  of many nerves at once (the decisions made once for all of them: much faster per nerve);
- :func:`load_rule_set` / :func:`register_rule_set` — a lab's own tables (or the
  ``NERVECONDUCT_RULE_DIRS`` environment variable). See ``docs/criteria.md``.
"""

from .engine import evaluate, evaluate_many
from .patient import evaluate_diagnosis, evaluate_nerve, evaluate_nerves, evaluate_patient
from .registry import RULE_DIRS_ENV, UnknownRuleSetError, get_rule_set, list_rule_sets, register_rule_set, unregister_rule_set
from .ruleset import ITEM_WORDS
from .tables import RuleSet, RuleSetError, load_rule_set, render_confidence_table
from .verdicts import (FINDING_LEVELS, ITEM_LEVELS, LEVELS, DiagnosisVerdict, ItemResult, NerveVerdict, PatientVerdict,
                       RuleSetInfo, SegmentVerdict)

__all__ = [
    "evaluate", "evaluate_many", "evaluate_nerve", "evaluate_nerves", "evaluate_patient", "list_rule_sets", "load_rule_set",
    "register_rule_set", "unregister_rule_set", "get_rule_set", "RuleSet", "RuleSetError",
    "RuleSetInfo", "SegmentVerdict", "NerveVerdict", "PatientVerdict", "ItemResult", "LEVELS",
    "RULE_DIRS_ENV", "UnknownRuleSetError",
]

#: The rule sets applied when none are named (``nerveconduct analyze``, ``batch``, ``report``,
#: ``demo``; the Python functions that take ``criteria``): conduction block of the EFNS/PNS
#: 2010 multifocal motor neuropathy guideline and the EAN/PNS 2021 CIDP motor criteria. The
#: first is also the default rule set defining conduction block (CIDP-MAG score, plots), the
#: second the default CIDP rule set (``nerveconduct score cidp``).
DEFAULT_CRITERIA: tuple[str, ...] = ("efns-pns-2010-mmn", "ean-pns-2021-cidp")
__all__ += ["evaluate_diagnosis", "DiagnosisVerdict", "DEFAULT_CRITERIA", "render_confidence_table", "ITEM_WORDS", "ITEM_LEVELS", "FINDING_LEVELS"]
