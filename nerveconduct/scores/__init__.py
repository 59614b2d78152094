"""Patient-level clinical scores: CIDP-MAG, MMN/CIDP categories, CIDP diagnosis, RNS decrement, immunoparesis."""

from __future__ import annotations

from .categories import SUPPORTIVE_MMN, cidp_diagnosis, sensory_results_of
from .cidp_mag import (
    CLINICAL_ITEMS,
    ScoreItem,
    CidpMagScore,
    cidp_mag_score,
    interpret_cidp_mag,
    MmnCategory,
    mmn_category,
    CidpSupport,
    cidp_electrodiagnostic_support,
    RnsDecrement,
    rns_decrement,
    rns_decrement_from_values,
    Facilitation,
    facilitation_pct,
    Immunoparesis,
    immunoparesis_grade,
)

__all__ = [
    "SUPPORTIVE_MMN",
    "CLINICAL_ITEMS",
    "ScoreItem",
    "CidpMagScore",
    "cidp_mag_score",
    "interpret_cidp_mag",
    "MmnCategory",
    "mmn_category",
    "CidpSupport",
    "cidp_electrodiagnostic_support",
    "cidp_diagnosis",
    "sensory_results_of",
    "RnsDecrement",
    "rns_decrement",
    "rns_decrement_from_values",
    "Facilitation",
    "facilitation_pct",
    "Immunoparesis",
    "immunoparesis_grade",
]
