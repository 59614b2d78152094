"""Immunoparesis grade: the paraprotein context of a case (unsourced: the myeloma review this
grading follows could not be identified in a public copy; see docs/criteria.md).

Method: count the *uninvolved* immunoglobulins (of IgG,
IgA, IgM, those not of the M-protein's heavy-chain type) below the lab's lower limit of
normal: mild = 1 low; moderate = 2 low; severe = 3 low with at least one < 50% of the LLN;
very severe = 3 low with one near the assay's detection limit.

Our reading (stated in docs/criteria.md): with a heavy-chain M-protein (e.g. the
IgM-κ of anti-MAG neuropathy) only two immunoglobulins are uninvolved, so the grade is at most
"moderate"; all three count when there is no heavy-chain M-protein (``involved=None``, e.g.
light-chain only). Three low with none < 50% LLN is graded "moderate" (the grading gives no
grade for it). "Near the detection limit" is read as at or below ``detection_limit``.
Concentrations may be in any unit (g/L usually), the same for values, limits and detection limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .._checks import check_number, check_option

__all__ = ["Immunoparesis", "immunoparesis_grade", "IMMUNOGLOBULINS"]

IMMUNOGLOBULINS = ("IgG", "IgA", "IgM")


@dataclass(frozen=True)
class Immunoparesis:
    """Grade (``"none"``, ``"mild"``, ``"moderate"``, ``"severe"``, ``"very severe"``) with its basis."""

    grade: str
    uninvolved: tuple[str, ...]
    low: tuple[str, ...]
    below_half_lln: tuple[str, ...]
    at_detection_limit: tuple[str, ...]
    reasons: tuple[str, ...]


def _canon(name: Any, what: str) -> str:
    for ig in IMMUNOGLOBULINS:
        if isinstance(name, str) and name.strip().lower() == ig.lower():
            return ig
    return check_option(what, name, IMMUNOGLOBULINS)  # not one of them: raises


def _per_ig(mapping: Any, what: str) -> dict[str, float]:
    if mapping is None:
        return {}
    if isinstance(mapping, (int, float)) and not isinstance(mapping, bool):
        return {ig: float(mapping) for ig in IMMUNOGLOBULINS}
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{what} must be a mapping IgG/IgA/IgM -> value, got {type(mapping).__name__}")
    out = {}
    for k, v in mapping.items():
        ig = _canon(k, f"{what} key")
        out[ig] = check_number(f"{what}[{k!r}] (a concentration)", v, minimum=0,
                               inclusive=(False, True))
    return out


def immunoparesis_grade(igg: float | None, iga: float | None, igm: float | None, involved: str | None,
                        lln: Mapping[str, float], *,
                        detection_limit: Mapping[str, float] | float | None = None) -> Immunoparesis:
    """Grade the suppression of the uninvolved immunoglobulins (unsourced grading; see the module notes).

    Parameters
    ----------
    igg, iga, igm : float or None
        Serum concentrations (one unit for all, g/L usually); the involved one may be None.
    involved : {"IgG", "IgA", "IgM"} or None
        Heavy-chain type of the M-protein (case-insensitive); None when there is none.
    lln : mapping
        Lab lower limit of normal per immunoglobulin (same unit).
    detection_limit : mapping or float, optional
        Assay detection limit (per immunoglobulin, or one value for all).

    Returns
    -------
    Immunoparesis

    Raises
    ------
    ValueError
        Unknown immunoglobulin name, a missing/non-positive LLN for an uninvolved one, or a
        missing/negative concentration of an uninvolved one.

    Examples
    --------
    >>> immunoparesis_grade(5.1, 0.5, 12.0, "IgM", {"IgG": 7.0, "IgA": 0.7, "IgM": 0.4}).grade
    'moderate'
    """
    involved_ig = None if involved is None else _canon(involved, "involved")
    limits = _per_ig(lln, "lln")
    floor = _per_ig(detection_limit, "detection_limit")
    values = {"IgG": igg, "IgA": iga, "IgM": igm}
    uninvolved = tuple(ig for ig in IMMUNOGLOBULINS if ig != involved_ig)
    low, half, at_floor, reasons = [], [], [], []
    for ig in uninvolved:
        v = values[ig]
        check_number(f"{ig} (uninvolved, a concentration)", v, minimum=0)
        if ig not in limits:
            raise ValueError(f"lln has no lower limit of normal for {ig}; give {list(uninvolved)}")
        if v < limits[ig]:
            low.append(ig)
            reasons.append(f"{ig} {v:g} < LLN {limits[ig]:g} ({100.0 * v / limits[ig]:.0f}% of LLN)")
            if v < 0.5 * limits[ig]:
                half.append(ig)
            if ig in floor and v <= floor[ig]:
                at_floor.append(ig)
                reasons.append(f"{ig} at or below the detection limit {floor[ig]:g}")
        else:
            reasons.append(f"{ig} {v:g} \u2265 LLN {limits[ig]:g}")
    n = len(low)
    grade = {0: "none", 1: "mild", 2: "moderate"}.get(n)
    if grade is None:
        grade = "very severe" if at_floor else "severe" if half else "moderate"
        if grade == "moderate":
            reasons.append("3 low but none < 50% of LLN: not severe by the grading")
    head = (f"M-protein {involved_ig}: uninvolved {', '.join(uninvolved)}" if involved_ig
            else "no heavy-chain M-protein: IgG, IgA and IgM all uninvolved")
    return Immunoparesis(grade, uninvolved, tuple(low), tuple(half), tuple(at_floor),
                         (f"{head}; {n} below LLN: {grade}",) + tuple(reasons))
