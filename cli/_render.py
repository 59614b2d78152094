"""Human-readable text (``-f table``) from the same records the JSON output carries."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from nerveconduct.analysis.sources import f_wave_unassessable
from nerveconduct.criteria import FINDING_LEVELS, ITEM_WORDS, get_rule_set
from nerveconduct.model import IDENTIFIER_KEYS

__all__ = ["nerve_text", "f_wave_text", "nerve_verdict_text", "failure_text", "patient_text",
           "num", "sensory_text"]

_DASH = "\u2014"
_GRADED = FINDING_LEVELS
_ITEM_WORDS = tuple(ITEM_WORDS)


def num(value: Any, spec: str = ".2f", unit: str = "") -> str:
    """``value`` formatted, or an em dash when it does not exist."""
    if value is None or value != value:  # None or NaN: the measure does not exist
        return _DASH
    return f"{value:{spec}}{(' ' + unit) if unit else ''}"


#: Suffix of a value derived from a hand-set marker; explained by a footnote under the nerve.
HAND_SET_MARK = "*"


def _hs(obj: Mapping[str, Any], field: str, text: str) -> str:
    """``text`` with :data:`HAND_SET_MARK` when ``field`` of ``obj`` derives from a hand-set marker."""
    hand = field in (obj.get("hand_set_values") or ()) and text != _DASH  # not on a missing value
    return text + HAND_SET_MARK if hand else text


def _limit(record: Mapping[str, Any], key: str) -> str:
    cmp = record["limits"].get(key)
    if not cmp or cmp.get("limit") is None:
        return ""
    verdict = {True: "abnormal", False: "normal", None: "n/a"}[cmp.get("abnormal")]
    return f" ({cmp['limit_kind']} {cmp['limit']:g}: {verdict})"


def _title(record: Mapping[str, Any]) -> str:
    who = " ".join(p for p in (record.get("side"), record.get("nerve")) if p)
    muscle = f" ({record['muscle']})" if record.get("muscle") else ""
    parts = [f"{who}{muscle}"]
    if record.get("source"):
        parts.append(str(record["source"]))
    if record.get("study_id"):
        parts.append(f"study {record['study_id']}")
    for key in IDENTIFIER_KEYS:
        if record.get(key):
            parts.append(f"{key.replace('_', ' ')} {record[key]}")
    return " \u00b7 ".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(row)]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _f_wave_not_assessable(record: Mapping[str, Any]) -> bool:
    """Whether a nerve flag says the nerve's F-wave train (or its absence) is not assessable."""
    return bool(f_wave_unassessable(record["flags"]))


def f_wave_text(record: Mapping[str, Any]) -> str | None:
    """The nerve's F-wave line, or None when F-waves were neither studied nor sought.

    ``F-wave min latency 24.54 ms (ULN 32: normal) · persistence 80 % · chronodispersion
    5.3 ms · from traces``: the minimal latency (``absent`` when sought and absent) with its
    limit comparison, the train's persistence and chronodispersion (a dash without a train)
    and where the latency comes from (``traces``, ``sheet``, or ``not assessable`` when a
    train could not show F-waves; the nerve flag says why).
    """
    source = record.get("f_wave_latency_source")
    unassessable = _f_wave_not_assessable(record)
    if source is None and not unassessable:
        return None
    latency = record.get("f_wave_latency_ms")
    if source is None:
        shown, limit = _DASH, ""
    elif latency is None:  # sought and absent (traces: no F-wave in the train; sheet: typed so)
        shown, limit = "absent", ""
    else:
        shown = _hs(record, "f_wave_latency_ms", num(latency, ".2f", "ms"))
        limit = _limit(record, "f_wave_latency")
    origin = "not assessable" if source is None else f"from {source}"
    if source == "sheet" and unassessable:
        origin += " (train not assessable)"
    return (f"F-wave min latency {shown}{limit} \u00b7 persistence "
            f"{num(record.get('f_wave_persistence_pct'), '.0f', '%')} \u00b7 chronodispersion "
            f"{num(record.get('f_wave_chronodispersion_ms'), '.1f', 'ms')} \u00b7 {origin}")


def nerve_text(record: Mapping[str, Any], *, reasons: bool = True) -> str:
    """A nerve (:func:`nerveconduct.serialize.records.nerve_record`) as a few readable lines.

    Per nerve: DML, distal amplitude, TLI, residual latency, slowest CV with their limits;
    the F-wave line (:func:`f_wave_text`) when F-waves were studied or sought; a site table;
    a segment table (CV, drops, duration increase, notes); each rule set's verdicts (with
    the reasons of graded levels when ``reasons``); the flags.
    """
    ind = "   "
    lines = [f"\u2500\u2500 {_title(record)}"]
    r = record
    lines.append(
        f"{ind}DML {_hs(r, 'distal_motor_latency_ms', num(r['distal_motor_latency_ms'], '.2f', 'ms'))}"
        f"{_limit(record, 'distal_motor_latency')} \u00b7 distal amplitude "
        f"{_hs(r, 'distal_amplitude_mv', num(r['distal_amplitude_mv'], '.2f', 'mV'))}"
        f"{_limit(record, 'distal_amplitude')}")
    lines.append(
        f"{ind}TLI {_hs(r, 'terminal_latency_index', num(r['terminal_latency_index'], '.3f'))} "
        f"\u00b7 residual latency {_hs(r, 'residual_latency_ms', num(r['residual_latency_ms'], '.2f', 'ms'))}"
        f" \u00b7 slowest CV "
        f"{_hs(r, 'slowest_conduction_velocity_m_s', num(r['slowest_conduction_velocity_m_s'], '.1f', 'm/s'))}"
        f"{_limit(record, 'conduction_velocity')}")
    f_line = f_wave_text(record)
    if f_line is not None:
        lines.append(ind + f_line)
    site_rows = [
        [s["name"], num(s["distance_mm"], ".0f"), _hs(s, "onset_latency_ms", num(s["onset_latency_ms"])),
         _hs(s, "negative_peak_amplitude_mv", num(s["negative_peak_amplitude_mv"])),
         _hs(s, "negative_peak_area_mv_ms", num(s["negative_peak_area_mv_ms"], ".1f")),
         _hs(s, "negative_peak_duration_ms", num(s["negative_peak_duration_ms"])), ", ".join(s["flag_names"])]
        for s in record["sites"]]
    lines += _table(["site", "dist mm", "onset ms", "amp mV", "area mV\u00b7ms", "dur ms", "flags"],
                    site_rows, ind)
    if record["segments"]:
        seg_rows = []
        for seg in record["segments"]:
            notes = []
            if seg["entrapment_site"]:
                notes.append(f"across {seg['entrapment_site']}")
            if seg["from_erbs_point"]:
                notes.append("Erb's point: submaximal stimulation likely")
            notes += list(seg["flags"])
            seg_rows.append([seg["segment"]] + [
                _hs(seg, key, num(seg[key], ".1f")) for key in (
                    "conduction_velocity_m_s", "amplitude_drop_pct", "area_drop_pct",
                    "duration_increase_pct")] + ["; ".join(notes)])
        lines += _table(["segment", "CV m/s", "amp drop %", "area drop %", "dur incr %", "notes"],
                        seg_rows, ind)
    for rid, verdict in record["verdicts"].items():
        # a nerve reads as the items it meets (or, for conduction-block rule sets, its strongest
        # segment's CB level); the patient-level words are the case's (patient_text)
        lines.append(f"{ind}{rid} on this nerve: {nerve_verdict_text(verdict)}")
        for seg in record["segments"]:
            sv = seg["verdicts"].get(rid)
            if sv is None:
                continue
            excluded = f", excluded: {sv['excluded_by']}" if sv["excluded_by"] else ""
            lines.append(f"{ind}  {seg['segment']}: {sv['label']}{excluded}")
            if reasons and (sv["level"] in _GRADED or sv["excluded_by"]):
                lines += [f"{ind}    {r}" for r in sv["reasons"]]
    for flag in record["flags"]:
        lines.append(f"{ind}! {flag}")
    if any(o.get("hand_set_values") for o in (record, *record["sites"], *record["segments"])):
        lines.append(f"{ind}{HAND_SET_MARK} hand-set: derived from a marker placed by hand "
                     "(--markers); the *_source fields of -f json say which")
    return "\n".join(lines)


def _sensory_limit(record: Mapping[str, Any], limit: str, pct: str, kind: str, spec: str,
                   unit: str) -> str:
    """`` (LLN 20 uV, 150 %)`` after a distal value, empty without a limit."""
    if record.get(limit) is None:
        return ""
    share = f", {num(record.get(pct), '.0f', '%')}" if record.get(pct) is not None else ""
    return f" ({kind} {record[limit]:{spec}} {unit}{share})"


def sensory_text(records: Sequence[Mapping[str, Any]]) -> str:
    """Sensory studies (:func:`nerveconduct.serialize.sensory.sensory_records`) as a table.

    One row per site (the study's label on its distal site): onset and peak latency (ms),
    amplitude baseline to negative peak and peak to peak (uV), duration (ms), onset-based CV
    (m/s), flags; under each study its distal values against the limits, ``abnormal`` and
    its items, and the study's flags.
    """
    ind = "   "
    lines = ["\u2500\u2500 sensory studies"]
    rows = []
    for rec in records:
        for s in rec["sites"]:
            who = rec["label"] if s["position"] == 0 else ""
            rows.append([who, s["site"], num(s["distance_mm"], ".0f"), num(s["onset_latency_ms"]),
                         num(s["negative_peak_latency_ms"]), num(s["amplitude_uv"], ".1f"),
                         num(s["peak_to_peak_amplitude_uv"], ".1f"), num(s["duration_ms"]),
                         num(s["conduction_velocity_m_s"], ".1f"), ", ".join(s["flag_names"])])
    lines += _table(["nerve", "site", "dist mm", "onset ms", "peak ms", "amp uV", "p-p uV",
                     "dur ms", "CV m/s", "flags"], rows, ind)
    for rec in records:
        verdict = {True: "abnormal", False: "normal", None: "not assessable"}[rec["abnormal"]]
        items = f": {', '.join(rec['abnormal_items'])}" if rec["abnormal_items"] else ""
        where = f" \u00b7 {rec['source']}" if rec.get("source") else ""
        lines.append(
            f"{ind}{rec['label']} ({rec['direction']}{where}): amplitude "
            f"{num(rec['distal_amplitude_uv'], '.1f', 'uV')}"
            f"{_sensory_limit(rec, 'amplitude_lln_uv', 'amplitude_pct_of_lln', 'LLN', 'g', 'uV')}"
            f" \u00b7 CV {num(rec['distal_conduction_velocity_m_s'], '.1f', 'm/s')}"
            f"{_sensory_limit(rec, 'cv_lln_m_s', 'cv_pct_of_lln', 'LLN', 'g', 'm/s')}"
            f" \u00b7 peak latency {num(rec['distal_peak_latency_ms'], '.2f', 'ms')}"
            f"{_sensory_limit(rec, 'peak_latency_uln_ms', 'peak_latency_pct_of_uln', 'ULN', 'g', 'ms')}"
            f" \u2192 {verdict}{items}")
        lines += [f"{ind}  ! {flag}" for flag in rec["flags"]]
    if records:
        lines.append(f"{ind}limits: {records[0]['limits_source']}")
    return "\n".join(lines)


def failure_text(record: Mapping[str, Any]) -> str:
    """A failure record as one line."""
    kind = f"{record['error_type']}: " if record.get("error_type") else ""
    return f"FAILED {record.get('source') or '?'}: {kind}{' '.join(str(record['error']).split())}"


def nerve_verdict_text(verdict: Mapping[str, Any]) -> str:
    """A nerve's verdict of one rule set (``verdicts`` of a nerve record) in words: its label
    (the items met, named by their meaning, or a conduction-block level), and for a label
    that does not list them, the items met by their labels."""
    label = verdict.get("label") or verdict["level"]
    met = list(verdict.get("items_met") or ())
    if not met or label.startswith(_ITEM_WORDS):
        return label
    items = verdict.get("items") or {}
    return f"{label}; items met: " + "; ".join((items.get(it) or {}).get("label") or it for it in met)


def patient_text(rule_set_id: str, verdict: Mapping[str, Any]) -> str:
    """A patient-level verdict (JSON-safe PatientVerdict, :func:`nerveconduct.serialize.patient_record`)
    as lines: the rule set's own words for the patient, the nerves carrying it, the reasons."""
    try:
        name = f"{get_rule_set(rule_set_id).short_name} ({rule_set_id})"
    except (KeyError, ValueError):  # a rule set this process does not know: its id
        name = rule_set_id
    nerves = list(verdict.get("nerves") or ())
    lines = [f"{name}, patient: {verdict['label']}" + (f" ({', '.join(nerves)})" if nerves else "")]
    lines += [f"   {r}" for r in verdict.get("reasons", [])]
    return "\n".join(lines)
