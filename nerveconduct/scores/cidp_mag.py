"""Clinical scores built on the nerve results and the criteria verdicts.

- :func:`cidp_mag_score` — the CIDP-MAG score (Doneddu PE et al.; the derivation paper could
  not be checked in a public copy, so the items and weights rest on a secondary
  reproduction of its table; see ``docs/criteria.md``): anti-MAG neuropathy versus CIDP;
- :func:`mmn_category` — EFNS/PNS 2010 MMN diagnostic categories
  (:mod:`nerveconduct.scores.categories`);
- :func:`cidp_electrodiagnostic_support` — EAN/PNS 2021 strong / weak support;
- :func:`rns_decrement`, :func:`facilitation_pct` — repetitive nerve stimulation
  (:mod:`nerveconduct.scores.rns`);
- :func:`immunoparesis_grade` — the paraprotein context (:mod:`nerveconduct.scores.immuno`).

CIDP-MAG score, as the reproduced table gives it:

=====================================================================  ======
item                                                                   points
=====================================================================  ======
length-dependent, symmetric, sensory-predominant neuropathy             +2
ataxia                                                                  +1
tremor                                                                  +1
TLI ≤ 0.25 in at least 2 different motor nerves                         +1
relapsing-remitting course or acute/subacute onset                      −1
proximal weakness                                                       −3
motor conduction block on EMG                                           −3
=====================================================================  ======

Range −7…+5; +1…+5 is the anti-MAG pattern, −7…−1 the CIDP pattern, 0 indeterminate. The
two electrophysiological items are computed from the nerve results; an unknown item makes the
score a range. "Different motor nerves" counts nerves as every rule set does: (nerve, side), so
the left and right median are two nerves. Which definition of "motor conduction block" the
score's authors used could not be found: it is an option (``cb_rule_set``, ``cb_levels``;
default EFNS/PNS 2010 MMN definite or probable CB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from ..criteria.engine import evaluate, meets_max
from ..criteria.registry import get_rule_set
from ..analysis import NerveResult
from .categories import (CidpSupport, MmnCategory, cidp_diagnosis, cidp_electrodiagnostic_support, mmn_category,
                         sensory_results_of)
from .immuno import Immunoparesis, immunoparesis_grade
from .rns import Facilitation, RnsDecrement, facilitation_pct, rns_decrement, rns_decrement_from_values

__all__ = [
    "CLINICAL_ITEMS", "ScoreItem", "CidpMagScore", "cidp_mag_score", "interpret_cidp_mag",
    "MmnCategory", "mmn_category", "CidpSupport", "cidp_electrodiagnostic_support", "cidp_diagnosis",
    "sensory_results_of",
    "RnsDecrement", "rns_decrement", "rns_decrement_from_values", "Facilitation",
    "facilitation_pct", "Immunoparesis", "immunoparesis_grade",
]

#: Clinical items of the CIDP-MAG score: key -> (label, points).
CLINICAL_ITEMS: dict[str, tuple[str, int]] = {
    "length_dependent_sensory": ("length-dependent, symmetric, sensory-predominant neuropathy "
                                 "(distal onset, no proximal limb/trunk/face)", 2),
    "ataxia": ("ataxia", 1),
    "tremor": ("tremor", 1),
    "relapsing_or_acute_onset": ("relapsing-remitting course or acute/subacute onset", -1),
    "proximal_weakness": ("proximal weakness", -3),
}
_TLI = ("tli_low_in_2_nerves", "TLI \u2264 0.25 in at least 2 different motor nerves", 1)
_CB = ("motor_cb", "motor conduction block on EMG", -3)
_ORDER = ("length_dependent_sensory", "ataxia", "tremor", "tli_low_in_2_nerves",
          "relapsing_or_acute_onset", "proximal_weakness", "motor_cb")


@dataclass(frozen=True)
class ScoreItem:
    """One CIDP-MAG item: present (True), absent (False) or unknown (None), with its evidence."""

    key: str
    label: str
    weight: int
    present: bool | None
    points: int | None
    evidence: str


@dataclass(frozen=True)
class CidpMagScore:
    """The CIDP-MAG score.

    Attributes
    ----------
    points : int or None
        The score when every item is known, else ``None`` (see the range).
    min_points, max_points : int
        The range over the unknown items (equal to ``points`` when all are known).
    interpretation : str
        ``"anti-MAG pattern"`` (+1…+5), ``"CIDP pattern"`` (−7…−1) or ``"indeterminate"``
        (0, or a range spanning bands).
    items : tuple of ScoreItem
        Per item, in the table's order, with its evidence.
    cb_rule_set : str
        The rule set that defines "motor conduction block".
    """

    points: int | None
    min_points: int
    max_points: int
    interpretation: str
    items: tuple[ScoreItem, ...]
    cb_rule_set: str

    def __str__(self) -> str:
        score = f"{self.points:+d}" if self.points is not None else \
            f"{self.min_points:+d}\u2026{self.max_points:+d}"
        return f"CIDP-MAG score {score}: {self.interpretation}"


def interpret_cidp_mag(min_points: int, max_points: int | None = None) -> str:
    """Band of a CIDP-MAG score or range: anti-MAG (+1…+5), CIDP (−7…−1), else indeterminate.

    Examples
    --------
    >>> interpret_cidp_mag(2), interpret_cidp_mag(-3), interpret_cidp_mag(0), interpret_cidp_mag(-1, 2)
    ('anti-MAG pattern', 'CIDP pattern', 'indeterminate', 'indeterminate')
    """
    hi = min_points if max_points is None else max_points
    if min_points >= 1:
        return "anti-MAG pattern"
    if hi <= -1:
        return "CIDP pattern"
    return "indeterminate"


def _check_clinical(clinical: Mapping[str, Any] | None) -> dict[str, bool | None]:
    if clinical is None:
        clinical = {}
    if not isinstance(clinical, Mapping):
        raise TypeError(f"clinical must be a mapping of item -> True/False/None, got {type(clinical).__name__}")
    unknown = sorted(set(clinical) - set(CLINICAL_ITEMS))
    if unknown:
        raise ValueError(f"unknown clinical item(s) {unknown}; allowed: {list(CLINICAL_ITEMS)}")
    out: dict[str, bool | None] = {}
    for key in CLINICAL_ITEMS:
        value = clinical.get(key)
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"clinical[{key!r}] must be True, False or None (unknown), got {value!r}")
        out[key] = None if value is None else bool(value)
    return out


def _tli_item(results: list[NerveResult], threshold: float, min_nerves: int) -> tuple[bool | None, str]:
    if not results:
        return None, "no motor nerve results given"
    low: dict[tuple[str, str], list[str]] = {}
    unknown: dict[tuple[str, str], str] = {}
    seen = []
    for nr in results:  # a nerve is (nerve, side): left and right are different nerves
        tli, label = nr.terminal_latency_index, f"{nr.side + ' ' if nr.side else ''}{nr.nerve}"
        key = (nr.nerve, (nr.side or "").lower())
        if tli is not None and math.isfinite(tli):
            seen.append(f"{label} {tli:.2f}")
            if meets_max(tli, threshold, True):
                low.setdefault(key, []).append(f"{label} {tli:.2f}")
        else:
            unknown.setdefault(key, label)
    could = len(set(unknown) - set(low))
    listing = "; ".join(seen) if seen else "none computed"
    detail = (f"TLI \u2264 {threshold:g} in {len(low)} different nerve(s)"
              + (f" ({'; '.join(v for vs in low.values() for v in vs)})" if low else "")
              + f"; TLI values: {listing}")
    if unknown:
        detail += f"; TLI not computed for: {', '.join(sorted(unknown.values()))}"
    if len(low) >= min_nerves:
        return True, detail
    if len(low) + could >= min_nerves:
        return None, detail + f" (could reach {min_nerves} different nerves)"
    return False, detail


def _cb_items(rs: Any, levels: tuple[str, ...]) -> tuple[str, ...]:
    """The conduction-block items of a rule set graded at one of ``levels``: segment rules with
    a drop (or amplitude-ratio) check and no minimum duration increase (temporal dispersion)."""
    return tuple(dict.fromkeys(r.item for r in rs.segment_rules if r.level in levels and (
        r.drop_min_pct is not None or r.ratio_bands) and r.duration_increase_min_pct is None))


def _cb_item(results: list[NerveResult], rule_set: str, levels: tuple[str, ...]) -> tuple[bool | None, str]:
    if not results:
        return None, "no motor nerve results given"
    rs = get_rule_set(rule_set)
    # a rule set whose level words describe a patient only words a segment by the items it
    # meets (met / not-met / not-assessable): its conduction-block items at ``levels`` decide
    by_item = _cb_items(rs, levels) if rs.level_scope == "patient" else None
    found, unknown, graded = [], [], 0
    for nr in results:
        for v in evaluate(nr, rs):
            if (v.level in levels) if by_item is None else any(it in by_item for it in v.items):
                found.append(f"{v.nerve} {v.segment} ({v.label})")
            elif v.level == "not-assessable" and v.excluded_by is None:
                unknown.append(f"{v.nerve} {v.segment}")
            elif v.level != "not-assessable":
                graded += 1
    which = (f"{rs.short_name} {' or '.join(levels)} CB outside compression sites" if by_item is None else
             f"{rs.short_name} CB item {' or '.join(by_item) or '(none graded ' + ' or '.join(levels) + ')'} "
             "met outside compression sites")
    if found:
        return True, f"{which} in: {'; '.join(found)}"
    if unknown:
        return None, f"no {which} where graded; not assessable in: {'; '.join(unknown)}"
    if graded:
        return False, f"no {which} in {graded} graded segment(s)"
    return None, f"no segment could be graded by {rs.short_name}"


def cidp_mag_score(clinical: Mapping[str, bool | None] | None, nerve_results: Iterable[NerveResult], *,
                   cb_rule_set: str = "efns-pns-2010-mmn",
                   cb_levels: tuple[str, ...] = ("definite", "probable"),
                   tli_threshold: float = 0.25, tli_min_nerves: int = 2) -> CidpMagScore:
    """The CIDP-MAG score of a patient (Doneddu et al.; items from a secondary reproduction).

    Parameters
    ----------
    clinical : mapping
        ``length_dependent_sensory``, ``ataxia``, ``tremor``, ``relapsing_or_acute_onset``,
        ``proximal_weakness``: True / False / None (unknown); a missing key is unknown.
    nerve_results : iterable of NerveResult
        The motor nerves studied; the TLI and conduction-block items are computed from them.
    cb_rule_set : str, default "efns-pns-2010-mmn"
        The rule set defining "motor conduction block" (segments across compression sites and
        from Erb's point excluded as that table says). The definition used by the score's
        authors could not be found, hence the option; the default is this project's choice.
    cb_levels : tuple of str, default ("definite", "probable")
        Segment levels that count as conduction block, for a rule set whose levels grade a
        block per segment. With a CIDP rule set (segments graded met / not-met /
        not-assessable by item) a segment counts when it meets a conduction-block item whose
        rule the table grades at one of these levels (a drop threshold without a minimum
        duration increase: EAN/PNS 2021 (e); EFNS/PNS 2010 I-E "definite", II "probable");
        temporal-dispersion items never count.
    tli_threshold : float, default 0.25
        TLI cut-off (dimensionless), inclusive (TLI ≤ 0.25).
    tli_min_nerves : int, default 2
        Different motor nerves needed: distinct (nerve, side) pairs, as every rule set counts
        nerves (left and right median are two nerves; two studies of one nerve and side, one).

    Returns
    -------
    CidpMagScore

    Raises
    ------
    ValueError
        Unknown clinical key (the message lists the allowed ones).
    TypeError
        A clinical value is not True/False/None, or a nerve result is not a NerveResult.

    Notes
    -----
    The TLI item is unknown when fewer than ``tli_min_nerves`` nerves have a low TLI but the
    nerves whose TLI could not be computed could make up the count. The CB item is unknown
    when no segment meets the rule set but some segment (not excluded by design) could not be
    graded, e.g. an absent proximal response.
    """
    items_in = _check_clinical(clinical)
    results = list(nerve_results)
    for i, nr in enumerate(results):
        if not isinstance(nr, NerveResult):
            raise TypeError(f"nerve_results[{i}] must be a NerveResult, got {type(nr).__name__}")
    found: dict[str, tuple[str, int, bool | None, str]] = {
        k: (label, w, items_in[k], "clinical input" if items_in[k] is not None else "unknown (not given)")
        for k, (label, w) in CLINICAL_ITEMS.items()}
    tli_present, tli_evidence = _tli_item(results, tli_threshold, tli_min_nerves)
    tli_label = f"TLI \u2264 {tli_threshold:g} in at least {tli_min_nerves} different motor nerves"
    found[_TLI[0]] = (tli_label, _TLI[2], tli_present, tli_evidence)
    cb_present, cb_evidence = _cb_item(results, cb_rule_set, tuple(cb_levels))
    found[_CB[0]] = (_CB[1], _CB[2], cb_present, cb_evidence)
    items = tuple(ScoreItem(k, found[k][0], found[k][1], found[k][2],
                            None if found[k][2] is None else (found[k][1] if found[k][2] else 0), found[k][3])
                  for k in _ORDER)
    known = sum(it.points for it in items if it.points is not None)
    lo = known + sum(min(it.weight, 0) for it in items if it.present is None)
    hi = known + sum(max(it.weight, 0) for it in items if it.present is None)
    points = known if lo == hi else None
    return CidpMagScore(points, lo, hi, interpret_cidp_mag(lo, hi), items, get_rule_set(cb_rule_set).id)
