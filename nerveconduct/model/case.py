"""One patient's work-up: the nerve studies and the inputs the scores need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .motor import NerveStudy

__all__ = ["Case"]


@dataclass
class Case:
    """One patient's work-up: nerve studies plus the inputs scores need.

    Parameters
    ----------
    studies : list of NerveStudy
        Motor nerve studies of the case.
    case_id : str, optional
        Pseudonymous case identifier.
    clinical : dict, optional
        CIDP-MAG clinical items (``length_dependent_sensory``, ``ataxia``, ``tremor``,
        ``relapsing_or_acute_onset``, ``proximal_weakness``: True/False/None).
    mmn : dict, optional
        MMN inputs (clinical criteria, sensory conduction normal per nerve, supportive items).
    paraprotein : dict, optional
        Paraprotein context (M-protein type, anti-MAG titre, IgG/IgA/IgM and their LLNs).
    study_date : str, optional
        Date of the study (ISO ``YYYY-MM-DD`` when known).
    source : str, optional
        Where the case was read from (file name, never a patient identifier).
    age_years, height_cm : float, optional
        The patient's age (years) and height (cm) at the study, as the sheet gives them
        (printed in the report's header; the sheet also gives them to every study, so that
        normal limits banded by age or height apply by them).
    sex : str, optional
        As given (e.g. ``"female"``).
    indication : str, optional
        Why the study was done (the referral question).
    referring_physician, technician, interpreting_physician : str, optional
        Names as given; printed in the report's header and signature line.
    impression : str, optional
        The interpreting physician's impression, printed above the signature line.
    notes : str, optional
        Free-text notes of the sheet, printed in the report.
    sensory : list of SensoryStudy, optional
        Sensory nerve studies of the case (SNAPs), beside the motor ``studies``.
    cidp : dict, optional
        EAN/PNS 2021 CIDP inputs that are not conduction values (the clinical picture or
        variant, supportive criteria); see ``docs/criteria.md``.
    """

    studies: list[NerveStudy]
    case_id: str | None = None
    clinical: dict[str, Any] = field(default_factory=dict)
    mmn: dict[str, Any] = field(default_factory=dict)
    paraprotein: dict[str, Any] = field(default_factory=dict)
    study_date: str | None = None
    source: str | None = None
    age_years: float | None = None
    height_cm: float | None = None
    sex: str | None = None
    indication: str | None = None
    referring_physician: str | None = None
    technician: str | None = None
    interpreting_physician: str | None = None
    impression: str | None = None
    notes: str | None = None
    sensory: list[Any] = field(default_factory=list)
    cidp: dict[str, Any] = field(default_factory=dict)
