"""EFNS/PNS 2010 MMN's "normal sensory nerve conduction across the segments with CB", from SNAPs.

For each nerve with a conduction block, the sensory study of the same nerve and side decides:
the sensory segments that cover the CB segment (the block's distal and proximal sites are both
stimulation sites of the sensory study, the segments between them) when there are such
segments, else the sensory nerve as a whole (its ``abnormal`` verdict); the reason says which.
A sensory segment is normal when both its SNAPs are present and its CV is at or above the
sensory CV LLN (``cv_lln_m_s``), abnormal when a SNAP was sought and found absent (at the
distal or the proximal site) or the CV is below the LLN, unknown otherwise (a SNAP not
measurable: flat, clipped, too short a sweep); a drop in SNAP amplitude along the segment is not tested (SNAPs
fall with distance through temporal dispersion and phase cancellation, so no simple cut-off
applies), and the reason says so. The whole-nerve verdict is only a proxy (a distal SNAP
within normal limits says nothing of the forearm segment a block lies in), and the reason
says that too.

A value given in the sheet (``sensory_normal``, one flag or one per nerve) still works where
no sensory traces decide, and the reason says it came from the sheet; where both give a value
and they disagree, the traces win and the reason says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..flags import MeasureFlag
from ..names import canonical_sensory_nerve, canonical_site, parse_nerve_label

__all__ = ["sensory_normal_from_traces"]


def _key(nerve: Any, side: Any) -> tuple[str, str]:
    return canonical_sensory_nerve(str(nerve)) or str(nerve).strip().lower(), (side or "").lower()


def _label_key(label: str) -> tuple[str, str]:
    nerve, side = parse_nerve_label(label)
    words = str(label).split(maxsplit=1)
    return nerve or (words[1] if side and len(words) > 1 else str(label)).strip().lower(), side


def _sought_and_absent(site: Any) -> bool:
    """Whether a site's SNAP was measured and found absent (flag ``ABSENT``), rather than not
    measurable at all (flat, clipped, too short: ``UNMEASURABLE``, which decides nothing)."""
    value = getattr(site, "flags", None)
    if value is None:  # a result without measurement flags: "absent" is all it says
        return True
    flags = MeasureFlag(int(value))
    return bool(flags & MeasureFlag.ABSENT) and not flags & MeasureFlag.UNMEASURABLE


def _flag_names(site: Any) -> str:
    return ", ".join(MeasureFlag(int(getattr(site, "flags", 0) or 0)).names()) or "none"


def _segment_state(result: Any, lo: int, hi: int) -> tuple[bool | None, str]:
    """Sensory conduction across sites ``lo``..``hi`` (indices, distal first) of one result."""
    sites = result.sites
    lln = getattr(result, "cv_lln_m_s", None)
    parts, states = [], []
    for k in range(lo + 1, hi + 1):
        a, b = sites[k - 1], sites[k]
        name = f"{a.site}–{b.site}"
        cv = getattr(b, "conduction_velocity_m_s", math.nan)
        if not getattr(a, "present", True):
            sought = _sought_and_absent(a)  # the distal SNAP: none, or no measurement at all
            states.append(False if sought else None)
            parts.append(f"{name}: SNAP absent at {a.site} (sensory conduction abnormal)" if sought
                         else f"{name}: SNAP at {a.site} not measurable (flags: {_flag_names(a)})")
        elif not getattr(b, "present", True):
            sought = _sought_and_absent(b)
            states.append(False if sought else None)
            parts.append(f"{name}: SNAP absent at {b.site}" if sought
                         else f"{name}: SNAP at {b.site} not measurable (flags: {_flag_names(b)})")
        elif cv is None or not math.isfinite(cv) or lln is None or not math.isfinite(lln):
            states.append(None)
            parts.append(f"{name}: sensory CV or its LLN unknown")
        else:
            states.append(cv >= lln)
            parts.append(f"{name}: sensory CV {cv:.1f} m/s {'≥' if cv >= lln else '<'} LLN {lln:g} m/s")
    state = False if False in states else None if None in states else True
    return state, "; ".join(parts)


def _from_result(result: Any, segment: str) -> tuple[bool | None, str]:
    """Normal sensory conduction of ``result`` across the motor CB ``segment`` ("wrist–elbow")."""
    ends = [canonical_site(p.strip()) for p in segment.split("–")]
    names = [canonical_site(str(getattr(s, "site", ""))) for s in result.sites]
    if len(ends) == 2 and None not in ends and ends[0] in names and ends[1] in names:
        lo, hi = names.index(ends[0]), names.index(ends[1])
        if lo < hi:
            state, why = _segment_state(result, lo, hi)
            return state, (f"sensory segment covering the CB segment {segment}: {why} (sensory CV "
                           "only: a drop in SNAP amplitude across the segment is not tested)")
    abnormal = getattr(result, "abnormal", None)
    items = ", ".join(getattr(result, "abnormal_items", ()) or ())
    state = None if abnormal is None else not abnormal
    words = {True: "normal", False: "abnormal" + (f" ({items})" if items else ""), None: "not assessable"}[state]
    return state, (f"no sensory segment covers the CB segment {segment}: the sensory nerve as a whole is {words}"
                   " (a proxy: the SNAP does not test conduction across the CB segment itself)")


def sensory_normal_from_traces(cb: Sequence[tuple[str, str]], results: Iterable[Any],
                               given: bool | None | Mapping[str, bool | None],
                               ) -> tuple[dict[str, bool | None], list[str]]:
    """Per CB nerve label, normal sensory conduction across its CB segments, and the reasons.

    Parameters
    ----------
    cb : sequence of (nerve label, segment)
        Each graded CB segment (``("right median", "wrist–elbow")``), nerves in order.
    results : iterable of sensory results
        From :func:`nerveconduct.analysis.sensory.analyze_sensory`.
    given : bool, None or mapping of nerve label -> bool or None
        The sheet's ``sensory_normal``.

    Returns
    -------
    dict, list of str
        Nerve label -> True / False / None, and one reason per nerve saying where it came from.
    """
    by_key: dict[tuple[str, str], list[Any]] = {}
    for r in results:
        by_key.setdefault(_key(r.nerve, getattr(r, "side", None)), []).append(r)
    sheet = ({k: v for k, v in given.items()} if isinstance(given, Mapping) else None)
    out: dict[str, bool | None] = {}
    reasons: list[str] = []
    for label in dict.fromkeys(n for n, _ in cb):
        segments = [s for n, s in cb if n == label]
        states, whys = [], []
        for r in by_key.get(_label_key(label), []):
            for seg in segments:
                state, why = _from_result(r, seg)
                states.append(state)
                whys.append(why)
        traces = False if False in states else None if (None in states or not states) else True
        sheet_value = sheet.get(label) if sheet is not None else given
        if whys and traces is not None:
            out[label] = traces
            reasons.append(f"sensory conduction {label}: {'normal' if traces else 'abnormal'} from the sensory "
                           f"traces ({'; '.join(whys)})")
            if sheet_value is not None and sheet_value != traces:
                reasons.append(f"sensory conduction {label}: the sheet says {'normal' if sheet_value else 'abnormal'}, "
                               "the sensory traces disagree; the traces are used")
        elif sheet_value is not None:
            out[label] = sheet_value
            reasons.append(f"sensory conduction {label}: {'normal' if sheet_value else 'abnormal'} as given in the "
                           "sheet" + (f" (the sensory traces do not decide: {'; '.join(whys)})" if whys else ""))
        else:
            out[label] = None
            reasons.append(f"sensory conduction {label}: unknown" + (f" ({'; '.join(whys)})" if whys else
                                                                     " (no sensory study of this nerve and side)"))
    return out, reasons
