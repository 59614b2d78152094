"""Human-readable text (``-f table``) from the same records the JSON output carries."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from nerveconduct.model import IDENTIFIER_KEYS

__all__ = ["nerve_text", "failure_text", "patient_text", "num"]

_DASH = "\u2014"
_GRADED = ("definite", "probable", "possible")


def num(value: Any, spec: str = ".2f", unit: str = "") -> str:
    """``value`` formatted, or an em dash when it does not exist."""
    if value is None or value != value:  # None or NaN: the measure does not exist
        return _DASH
    return f"{value:{spec}}{(' ' + unit) if unit else ''}"


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


def nerve_text(record: Mapping[str, Any], *, reasons: bool = True) -> str:
    """A nerve (:func:`nerveconduct.serialize.records.nerve_record`) as a few readable lines.

    Per nerve: DML, distal amplitude, TLI, residual latency, slowest CV with their limits;
    a site table; a segment table (CV, drops, duration increase, notes); each rule set's
    verdicts (with the reasons of graded levels when ``reasons``); the flags.
    """
    ind = "   "
    lines = [f"\u2500\u2500 {_title(record)}"]
    lines.append(
        f"{ind}DML {num(record['distal_motor_latency_ms'], '.2f', 'ms')}"
        f"{_limit(record, 'distal_motor_latency')} \u00b7 distal amplitude "
        f"{num(record['distal_amplitude_mv'], '.2f', 'mV')}{_limit(record, 'distal_amplitude')}")
    lines.append(
        f"{ind}TLI {num(record['terminal_latency_index'], '.3f')} \u00b7 residual latency "
        f"{num(record['residual_latency_ms'], '.2f', 'ms')} \u00b7 slowest CV "
        f"{num(record['slowest_conduction_velocity_m_s'], '.1f', 'm/s')}"
        f"{_limit(record, 'conduction_velocity')}")
    site_rows = [
        [s["name"], num(s["distance_mm"], ".0f"), num(s["onset_latency_ms"]),
         num(s["negative_peak_amplitude_mv"]), num(s["negative_peak_area_mv_ms"], ".1f"),
         num(s["negative_peak_duration_ms"]), ", ".join(s["flag_names"])]
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
            seg_rows.append([seg["segment"], num(seg["conduction_velocity_m_s"], ".1f"),
                             num(seg["amplitude_drop_pct"], ".1f"), num(seg["area_drop_pct"], ".1f"),
                             num(seg["duration_increase_pct"], ".1f"), "; ".join(notes)])
        lines += _table(["segment", "CV m/s", "amp drop %", "area drop %", "dur incr %", "notes"],
                        seg_rows, ind)
    for rid, verdict in record["verdicts"].items():
        met = ", ".join(verdict["items_met"]) or _DASH
        # the nerve's level is its strongest SEGMENT verdict; nerve-level items (DML, CV, F,
        # distal duration) only count through the rule set's combination over nerves
        lines.append(f"{ind}{rid}: segments: {verdict.get('label') or verdict['level']}; "
                     f"items met on this nerve: {met}")
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
    return "\n".join(lines)


def failure_text(record: Mapping[str, Any]) -> str:
    """A failure record as one line."""
    kind = f"{record['error_type']}: " if record.get("error_type") else ""
    return f"FAILED {record.get('source') or '?'}: {kind}{' '.join(str(record['error']).split())}"


def patient_text(rule_set_id: str, verdict: Mapping[str, Any]) -> str:
    """A patient-level verdict (JSON-safe PatientVerdict) as lines."""
    lines = [f"{rule_set_id}: {verdict['label']} ({verdict['level']})"]
    lines += [f"   {r}" for r in verdict.get("reasons", [])]
    return "\n".join(lines)
