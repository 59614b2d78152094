"""Diagnostic categories that combine conduction-block verdicts with clinical inputs.

- :func:`mmn_category` — EFNS/PNS 2010 multifocal motor neuropathy (J Peripher Nerv Syst
  2010;15:295-301, doi:10.1111/j.1529-8027.2010.00290.x), definite / probable / possible. The
  guideline's Table 4 could not be read in a public copy: the categories are recalled (its
  Table 1 note "If symptoms and signs are present only in the distribution of one nerve only a
  possible diagnosis can be made" is confirmed in Ther Adv Neurol Disord 2015;8:109-122,
  Table 1). Definite = clinical criteria 1, 2 and 8–11 (``core_clinical``,
  ``exclusions_absent``) and definite CB and normal sensory conduction in 1 nerve; probable =
  probable CB and normal sensory conduction in 2 nerves, or in 1 nerve + ≥2 supportive
  criteria (anti-GM1 IgM, CSF protein <1 g/L, brachial-plexus MRI T2 hyperintensity, IVIg
  response); possible = clinical criteria + normal sensory conduction + ≥2 supportive criteria
  (``possible_supportive="two"``; ``"ivig"``: an IVIg response, the alternative reading), or
  clinical criteria in one nerve only + exclusions absent + definite or probable CB **with
  normal sensory conduction** in that nerve (``one_nerve_needs_sensory=True``; False: CB
  alone, the alternative reading).
- :func:`cidp_electrodiagnostic_support` — EAN/PNS 2021 motor criteria: strongly / weakly
  supportive of demyelination, with the nerves that carry it.
- :func:`cidp_diagnosis` — EAN/PNS 2021 "CIDP" / "possible CIDP" per variant (or EFNS/PNS
  2010 definite / probable / possible CIDP): the rule table's ``[diagnosis]`` over clinical,
  motor, sensory and supportive criteria (:func:`nerveconduct.criteria.patient.evaluate_diagnosis`).

Unknown inputs (``None``) are honoured: the category is computed with every unknown taken as
unmet (``category``) and as met (``max_category``), and the reasons name the unknowns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from ..criteria.engine import evaluate
from ..criteria.patient import evaluate_diagnosis, evaluate_patient
from ..criteria.verdicts import DiagnosisVerdict, PatientVerdict, SegmentVerdict, level_rank
from ..analysis import NerveResult
from ._mmn_sensory import sensory_normal_from_traces

__all__ = ["SUPPORTIVE_MMN", "MmnCategory", "mmn_category", "CidpSupport", "cidp_electrodiagnostic_support",
           "cidp_diagnosis", "sensory_results_of"]

#: EFNS/PNS 2010 MMN supportive criteria (keys of ``supportive``).
SUPPORTIVE_MMN: dict[str, str] = {
    "anti_gm1": "elevated IgM anti-ganglioside GM1 antibodies",
    "csf_protein_below_1g_l": "CSF protein < 1 g/L",
    "mri_brachial_plexus": "increased T2 signal / swelling of the brachial plexus on MRI",
    "ivig_response": "objective clinical improvement after IVIg",
}


@dataclass(frozen=True)
class MmnCategory:
    """EFNS/PNS 2010 MMN category.

    Attributes
    ----------
    category : str
        ``"definite"``, ``"probable"``, ``"possible"`` or ``"none"``, taking unknown inputs as unmet.
    max_category : str
        The category if every unknown input were met (equal to ``category`` when nothing is unknown).
    reasons : tuple of str
    definite_cb_nerves, probable_cb_nerves : tuple of str
        Nerves with definite CB, and with probable-or-definite CB.
    supportive_met : int
        Supportive criteria met (of :data:`SUPPORTIVE_MMN`).
    """

    category: str
    max_category: str
    reasons: tuple[str, ...]
    definite_cb_nerves: tuple[str, ...]
    probable_cb_nerves: tuple[str, ...]
    supportive_met: int


def _flag(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True, False or None (unknown), got {value!r}")
    return None if value is None else bool(value)


def _cb_nerves(nerve_results: Iterable[NerveResult] | None, cb_verdicts: Iterable[SegmentVerdict] | None,
               rule_set: str) -> list[SegmentVerdict]:
    if (nerve_results is None) == (cb_verdicts is None):
        raise ValueError("give exactly one of nerve_results (evaluated with rule_set) or cb_verdicts")
    if cb_verdicts is not None:
        verdicts = list(cb_verdicts)
        for i, v in enumerate(verdicts):
            if not isinstance(v, SegmentVerdict):
                raise TypeError(f"cb_verdicts[{i}] must be a SegmentVerdict, got {type(v).__name__}")
        return verdicts
    return [v for nr in nerve_results for v in evaluate(nr, rule_set)]


def _decide(clinical: bool, exclusions: bool, one_nerve: bool, definite: list[str], probable: list[str],
            sensory, supportive: dict[str, bool], possible_supportive: str = "two",
            one_nerve_needs_sensory: bool = True) -> tuple[str, str]:
    ok = clinical and exclusions
    def_s = [n for n in definite if sensory(n)]
    prob_s = [n for n in probable if sensory(n)]
    n_supp = sum(supportive.values())
    if ok and def_s:
        return "definite", f"definite CB with normal sensory conduction in {def_s[0]}"
    if ok and len(prob_s) >= 2:
        return "probable", f"probable CB with normal sensory conduction in 2 nerves ({', '.join(prob_s[:2])})"
    if ok and prob_s and n_supp >= 2:
        return "probable", (f"probable CB with normal sensory conduction in {prob_s[0]} and {n_supp} "
                            "supportive criteria")
    if possible_supportive == "two" and ok and sensory(None) and n_supp >= 2:
        return "possible", f"clinical criteria, normal sensory conduction and {n_supp} supportive criteria"
    if possible_supportive == "ivig" and ok and sensory(None) and supportive["ivig_response"]:
        return "possible", "clinical criteria, normal sensory conduction and an IVIg response"
    one = prob_s if one_nerve_needs_sensory else probable
    if one_nerve and exclusions and one:
        return "possible", (f"clinical criteria in one nerve only with CB"
                            + (" and normal sensory conduction" if one_nerve_needs_sensory else "") + f" in {one[0]}")
    return "none", "no category's requirements met"


def mmn_category(nerve_results: Iterable[NerveResult] | None = None, *,
                 core_clinical: bool | None, exclusions_absent: bool | None,
                 sensory_normal: bool | None | Mapping[str, bool | None],
                 supportive: Mapping[str, bool | None] | None = None,
                 one_nerve_only: bool | None = False,
                 cb_verdicts: Iterable[SegmentVerdict] | None = None,
                 rule_set: str = "efns-pns-2010-mmn", possible_supportive: str = "two",
                 one_nerve_needs_sensory: bool = True,
                 sensory_results: Iterable[Any] | None = None) -> MmnCategory:
    """EFNS/PNS 2010 multifocal motor neuropathy category (see the module notes; [R]).

    Parameters
    ----------
    nerve_results : iterable of NerveResult, optional
        Motor nerves, evaluated with ``rule_set`` (give this or ``cb_verdicts``).
    core_clinical : bool or None
        Core clinical criteria 1 and 2: slowly progressive focal asymmetric weakness in ≥2
        nerves for >1 month, and no objective sensory abnormality (bar minor vibration loss).
    exclusions_absent : bool or None
        None of exclusion criteria 8–11 (upper motor neuron signs, marked bulbar involvement,
        sensory impairment beyond minor vibration loss, diffuse symmetric early weakness).
    sensory_normal : bool, None or mapping of nerve label -> bool or None
        Normal sensory nerve conduction across the segments with CB; a mapping per nerve label
        (``"right median"``), a label missing from it is unknown.
    supportive : mapping, optional
        Keys of :data:`SUPPORTIVE_MMN` -> True / False / None; missing keys are unknown.
    one_nerve_only : bool or None, default False
        Criteria 1 and 2 are met except that weakness is in one nerve's distribution only.
    cb_verdicts : iterable of SegmentVerdict, optional
        Precomputed conduction-block verdicts instead of ``nerve_results``.
    rule_set : str, default "efns-pns-2010-mmn"
    possible_supportive : {"two", "ivig"}, default "two"
        "Possible" without a one-nerve restriction: clinical criteria + normal sensory
        conduction + at least two supportive criteria (recalled Table 4), or ``"ivig"``: an
        IVIg response (the alternative reading).
    one_nerve_needs_sensory : bool, default True
        "Possible" with clinical signs in one nerve only needs definite or probable CB *and*
        normal sensory conduction in that nerve (recalled Table 4: electrophysiological
        criteria 1 or 2, and 3); False: CB alone.
    sensory_results : iterable of sensory results, optional
        From :func:`nerveconduct.analysis.sensory.analyze_sensory`. For each nerve with
        probable or definite CB, the sensory study of the same nerve and side decides its
        ``sensory_normal``: across the sensory segment(s) covering the CB segment, else the
        nerve as a whole (``nerveconduct.scores._mmn_sensory``); where it decides and the sheet
        disagrees, the traces win. The reasons say where each value came from.

    Returns
    -------
    MmnCategory

    Raises
    ------
    ValueError
        Both or neither of ``nerve_results`` / ``cb_verdicts``; unknown supportive key.
    TypeError
        A flag is not True / False / None.
    """
    if possible_supportive not in ("two", "ivig"):
        raise ValueError(f"possible_supportive must be 'two' or 'ivig', got {possible_supportive!r}")
    verdicts = _cb_nerves(nerve_results, cb_verdicts, rule_set)
    definite = list(dict.fromkeys(v.nerve for v in verdicts if v.level == "definite"))
    probable = list(dict.fromkeys(v.nerve for v in verdicts if level_rank(v.level) >= level_rank("probable")))
    flags = {"core_clinical": _flag("core_clinical", core_clinical),
             "exclusions_absent": _flag("exclusions_absent", exclusions_absent),
             "one_nerve_only": _flag("one_nerve_only", one_nerve_only)}
    supportive = dict(supportive or {})
    bad = sorted(set(supportive) - set(SUPPORTIVE_MMN))
    if bad:
        raise ValueError(f"unknown supportive criterion {bad}; allowed: {list(SUPPORTIVE_MMN)}")
    supp = {k: _flag(f"supportive[{k!r}]", supportive.get(k)) for k in SUPPORTIVE_MMN}
    sensory_reasons: list[str] = []
    cb = [(v.nerve, v.segment) for v in verdicts if level_rank(v.level) >= level_rank("probable")]
    results = list(sensory_results or ())
    if results and cb:
        from_traces, sensory_reasons = sensory_normal_from_traces(cb, results, sensory_normal)
        sensory_normal = {**(sensory_normal if isinstance(sensory_normal, Mapping) else {}), **from_traces}
    if isinstance(sensory_normal, Mapping):
        per_nerve = {str(k): _flag(f"sensory_normal[{k!r}]", v) for k, v in sensory_normal.items()}
        general = None if not per_nerve or None in per_nerve.values() else all(per_nerve.values())
    else:
        per_nerve, general = {}, _flag("sensory_normal", sensory_normal)

    def run(assume: bool) -> tuple[str, str]:
        pick = (lambda x: assume if x is None else x)  # noqa: E731

        def sensory(nerve: str | None) -> bool:
            return pick(general if nerve is None or not per_nerve else per_nerve.get(nerve))

        return _decide(pick(flags["core_clinical"]), pick(flags["exclusions_absent"]),
                       pick(flags["one_nerve_only"]), definite, probable, sensory,
                       {k: pick(v) for k, v in supp.items()}, possible_supportive,
                       bool(one_nerve_needs_sensory))

    low, high = run(False), run(True)
    reasons = [f"EFNS/PNS 2010 MMN category {low[0]}: {low[1]}"]
    unknown = [k for k, v in flags.items() if v is None] + [f"supportive {k}" for k, v in supp.items() if v is None]
    if general is None and not per_nerve:
        unknown.append("sensory_normal")
    unknown += [f"sensory_normal[{n}]" for n in probable if per_nerve and per_nerve.get(n) is None]
    if high[0] != low[0]:
        reasons.append(f"could be {high[0]} ({high[1]}) if the unknown inputs were met: {', '.join(unknown)}")
    reasons.append(f"CB ({rule_set}): definite in {', '.join(definite) or 'no nerve'}; probable or "
                   f"definite in {', '.join(probable) or 'no nerve'}")
    reasons.extend(sensory_reasons)
    return MmnCategory(low[0], high[0], tuple(reasons), tuple(definite), tuple(probable),
                       sum(1 for v in supp.values() if v))


@dataclass(frozen=True)
class CidpSupport:
    """EAN/PNS 2021 motor conduction support for demyelination.

    Attributes
    ----------
    support : str
        ``"strong"``, ``"weak"``, ``"none"`` or ``"not-assessable"`` (the EAN/PNS 2021 reading
        of the level: definite -> strong, probable or possible -> weak); for the patient's
        result in the rule set's own words, read ``label``.
    nerves : tuple of str
        Nerves carrying the strongest combination met.
    items : dict of str to tuple of str
        Each item (a)…(g) -> the nerves meeting it.
    reasons : tuple of str
    verdict : PatientVerdict
        The full rule-set evaluation.
    label : str
        The patient-level result in the rule set's own words (EAN/PNS 2021: "strongly
        supportive of demyelination", ...; EFNS/PNS 2010: "probable (electrodiagnostic)", ...).
    """

    support: str
    nerves: tuple[str, ...]
    items: dict[str, tuple[str, ...]]
    reasons: tuple[str, ...]
    verdict: PatientVerdict
    label: str = ""


def cidp_electrodiagnostic_support(nerve_results: Iterable[NerveResult], *,
                                   rule_set: str = "ean-pns-2021-cidp",
                                   **overrides: bool | None) -> CidpSupport:
    """EAN/PNS 2021 motor criteria: strongly / weakly supportive of demyelination, or neither.

    Parameters
    ----------
    nerve_results : iterable of NerveResult
        Every motor nerve studied (left and right count as different nerves).
    rule_set : str, default "ean-pns-2021-cidp"
        A rule set whose "definite" level means strong and "possible" weak support.
    **overrides
        ``exclude_entrapment`` / ``include_erbs_point`` for the segment evaluation.

    Returns
    -------
    CidpSupport
    """
    verdict = evaluate_patient(nerve_results, rule_set, **overrides)
    support = {"definite": "strong", "probable": "weak", "possible": "weak"}.get(verdict.level, verdict.level)
    items: dict[str, list[str]] = {}
    for nv in verdict.nerve_verdicts:
        for item in nv.met_items():
            items.setdefault(item, [])
            if nv.nerve not in items[item]:
                items[item].append(nv.nerve)
    return CidpSupport(support, verdict.nerves, {k: tuple(v) for k, v in items.items()},
                       tuple(verdict.reasons), verdict, verdict.label)


def sensory_results_of(studies: Iterable[Any]) -> list[Any]:
    """Sensory results of a case's sensory studies (``Case.sensory``); empty when there are none.

    Raises
    ------
    ImportError
        Sensory studies given but the sensory analysis (``nerveconduct.analysis.sensory``) is
        not installed.
    """
    studies = list(studies or ())
    if not studies:
        return []
    from ..analysis.sensory import analyze_sensory  # the sensory core; absent before issue #18 lands

    return list(analyze_sensory(studies))


def cidp_diagnosis(nerve_results: Iterable[NerveResult], *, inputs: Mapping[str, Any] | None = None,
                   sensory: Iterable[Any] = (), rule_set: str = "ean-pns-2021-cidp",
                   **overrides: bool | None) -> DiagnosisVerdict:
    """CIDP diagnostic category: clinical, motor, sensory and supportive criteria combined.

    Parameters
    ----------
    nerve_results : iterable of NerveResult
        Every motor nerve studied.
    inputs : mapping, optional
        ``Case.cidp``: ``variant``, ``clinical_criteria``, ``supportive`` and per-nerve
        ``sensory`` (see :func:`nerveconduct.criteria.patient.evaluate_diagnosis`).
    sensory : iterable of sensory results, optional
        From :func:`nerveconduct.analysis.sensory.analyze_sensory` (they win over the sheet).
    rule_set : str, default "ean-pns-2021-cidp"
        A rule set with a ``[diagnosis]`` table (also ``"efns-pns-2010-cidp"``).

    Returns
    -------
    DiagnosisVerdict
        ``category`` (unknowns unmet), ``max_category`` (unknowns met), ``label`` (e.g.
        ``"CIDP (typical)"``) and the reasons.
    """
    return evaluate_diagnosis(nerve_results, rule_set, sensory=sensory, inputs=inputs, **overrides)
