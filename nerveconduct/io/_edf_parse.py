"""EDF+D reading, the parts below the studies: the header, the time-stamped annotation lists
(TALs), the free text of labels and recording fields, and each record's time and notes.
:mod:`nerveconduct.io.edf` builds the studies from them (``docs/formats.md``, "EDF+D")."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from ..names import canonical_nerve
from ._edf_notes import our_note as _our_note
from ._ranges import check_range
from .edf_write import _MONTHS, _NOTE, _SIGNAL_FIELDS
from .errors import FormatError, Where, quote

__all__: list[str] = []

_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14\x00", re.S)
_SIDE = {"r": "right", "right": "right", "l": "left", "left": "left"}
_NUM = r"(\d+(?:\.\d*)?|\.\d+)"  # a plain decimal number in free text
def _num(text: str, kind: type, *, path: Any, what: str, location: str) -> Any:
    try:
        return kind(text.strip())
    except ValueError:
        raise FormatError(f"{what} must be {'an integer' if kind is int else 'a number'}, got "
                          f"{quote(text)}", path=path, location=location) from None


def _header(data: bytes, path: Any) -> dict[str, Any]:
    if len(data) < 256:
        raise FormatError(f"file holds {len(data)} bytes, fewer than the 256-byte EDF header",
                          path=path, location="header")
    if data[:1] == b"\xff":
        raise FormatError("BDF (24-bit) files are not supported; only 16-bit EDF/EDF+",
                          path=path, location="header")
    txt = data[:256].decode("latin-1")
    loc = "header"
    if txt[:8].strip() != "0":
        raise FormatError(f"version field must be '0', got {quote(txt[:8])}", path=path,
                          location=loc)
    h: dict[str, Any] = {"patient": txt[8:88].strip(), "recording": txt[88:168].strip(),
                         "startdate": txt[168:176].strip(), "reserved": txt[192:236].strip()}
    h["header_bytes"] = _num(txt[184:192], int, path=path, what="header byte count", location=loc)
    h["n_records"] = _num(txt[236:244], int, path=path, what="number of data records",
                          location=loc)
    h["duration_s"] = _num(txt[244:252], float, path=path, what="data record duration",
                           location=loc)
    ns = h["ns"] = _num(txt[252:256], int, path=path, what="number of signals", location=loc)
    if ns < 1:
        raise FormatError(f"number of signals must be >= 1, got {ns}", path=path, location=loc)
    if h["header_bytes"] != 256 * (ns + 1):
        raise FormatError(f"header byte count says {h['header_bytes']} but {ns} signals need "
                          f"{256 * (ns + 1)}", path=path, location=loc)
    if len(data) < h["header_bytes"]:
        raise FormatError(f"file ends inside the header ({len(data)} of {h['header_bytes']} "
                          "bytes)", path=path, location=loc)
    sig_txt = data[256:h["header_bytes"]].decode("latin-1")
    pos, signals = 0, [dict() for _ in range(ns)]
    for name, width in _SIGNAL_FIELDS:
        for s in signals:
            s[name] = sig_txt[pos:pos + width].strip()
            pos += width
    for i, s in enumerate(signals):
        sloc = f"signal {i} header ({s['label'] or 'no label'})"
        for f, kind in (("pmin", float), ("pmax", float), ("dmin", int), ("dmax", int),
                        ("n_samples", int)):
            s[f] = _num(s[f], kind, path=path, what=f"{f} of signal {i}", location=sloc)
        if not (math.isfinite(s["pmin"]) and math.isfinite(s["pmax"])):
            raise FormatError(f"physical minimum and maximum must be finite numbers, got "
                              f"{s['pmin']!r} and {s['pmax']!r}", path=path, location=sloc)
        s["annotations"] = s["label"] == "EDF Annotations"
        if s["n_samples"] < 1:
            raise FormatError(f"samples per record must be >= 1, got {s['n_samples']}",
                              path=path, location=sloc)
        if not -32768 <= s["dmin"] < s["dmax"] <= 32767 or s["pmin"] == s["pmax"]:
            raise FormatError(f"need -32768 <= digital min < max <= 32767 and physical min != "
                              f"max, got digital {s['dmin']}..{s['dmax']}, physical "
                              f"{s['pmin']}..{s['pmax']}", path=path, location=sloc)
    h["signals"] = signals
    h["record_bytes"] = 2 * sum(s["n_samples"] for s in signals)
    body = len(data) - h["header_bytes"]
    if h["n_records"] == -1 and body % h["record_bytes"] == 0:
        h["n_records"] = body // h["record_bytes"]
    expected = h["n_records"] * h["record_bytes"]
    if h["n_records"] < 0 or expected != body:
        whole = body // h["record_bytes"]
        raise FormatError(
            f"header says {h['n_records']} data records of {h['record_bytes']} bytes "
            f"({h['header_bytes'] + max(expected, 0)} bytes in all) but the file holds "
            f"{len(data)} bytes ({whole} whole records)", path=path,
            location=f"record {min(whole, max(h['n_records'], 0))}")
    return h


def _tals(raw: bytes, *, path: Any, record: int) -> list[tuple[Decimal, list[str]]]:
    out = []
    for m in _TAL.finditer(raw.rstrip(b"\x00") + b"\x00" if raw.strip(b"\x00") else b""):
        try:
            onset = Decimal(m.group(1).decode("ascii"))
        except InvalidOperation:
            onset = Decimal("NaN")
        if not math.isfinite(float(onset)):
            raise FormatError("TAL onset must be a finite number of seconds", path=path,
                              location=f"record {record}")
        out.append((onset, m.group(3).decode("utf-8", "replace").split("\x14")))
    return out


def _free_text(texts: list[str], *, path: Any, record: int) -> dict[str, Any]:
    """Site, side, cumulative distance, intensity and temperature from spec-style notes."""
    info: dict[str, Any] = {}
    loc = f"record {record}"
    for text in texts:
        low = text.lower()
        t = re.search(rf"<temperature[^>]*>\s*{_NUM}|temp\w*\D{{0,12}}?{_NUM}\s*°?\s*c\b", low)
        if t:
            info["temperature_c"] = check_range(float(t.group(1) or t.group(2)), "temperature_c",
                                                path=path, location=loc,
                                                what="temperature in an annotation")
        d = re.search(rf"at\s+{_NUM}\s*(cm|mm)\s+from\s+(?:the\s+)?recording", low) or re.search(
            rf"<distance[^>]*unit=\"(?P<u>cm|mm)\"[^>]*>\s*(?P<v>{_NUM[1:-1]})", low)
        if d:
            value, unit = (d.group(1), d.group(2)) if d.re.groups == 2 else (d["v"], d["u"])
            info["cumulative_mm"] = check_range(
                float(value) * (10.0 if unit == "cm" else 1.0), "distance_mm", path=path,
                location=loc, what="distance from the recording site in an annotation")
        if re.match(r"stim", low):
            a = re.search(rf"{_NUM}\s*ma\b", low)
            if a:
                info["stimulus_intensity_ma"] = check_range(
                    float(a.group(1)), "stimulus_intensity_ma", path=path, location=loc,
                    what="stimulus intensity in an annotation")
            words = []
            for w in re.split(r"[\s_]+", re.sub(r"^stim\w*", "", text, flags=re.I).strip()):
                if not w or w.lower() in ("at", "x") or re.search(r"\d", w):
                    break
                if w.lower() in _SIDE:
                    info["side"] = _SIDE[w.lower()]
                else:
                    words.append(w)
            if words:
                info["site"] = " ".join(words)
    return info


def _label_parts(text: str) -> tuple[str | None, str | None, str | None]:
    side = nerve = None
    rest = []
    for w in re.split(r"[\s_.]+", text):
        if not w or w.upper() in ("NC", "MNC", "NERVE", "MOTOR"):
            continue
        if side is None and w.lower() in _SIDE:
            side = _SIDE[w.lower()]
        elif nerve is None and canonical_nerve(w):
            nerve = canonical_nerve(w)
        else:
            rest.append(w)
    return side, nerve, " ".join(rest) or None


def _study_date(h: dict[str, Any]) -> str | None:
    m = re.match(r"Startdate (\d{2})-([A-Z]{3})-(\d{4})", h["recording"])
    if m and m[2] in _MONTHS:
        return f"{m[3]}-{_MONTHS.index(m[2]) + 1:02d}-{m[1]}"
    m = re.fullmatch(r"(\d{2})\.(\d{2})\.(\d{2})", h["startdate"])
    if m and not (m[1] == "01" and m[2] == "01" and m[3] == "85"):
        return f"{1900 + int(m[3]) if int(m[3]) >= 85 else 2000 + int(m[3])}-{m[2]}-{m[1]}"
    return None


def _record_times_and_notes(rec: np.ndarray, offsets: np.ndarray, h: dict[str, Any], plus: str,
                            path: Any, where: Where,
                            ) -> tuple[list[float], list[tuple[float, dict[str, Any]]]]:
    """Each record's start (s), and its stimulus offset (s) with its notes (ours or free text)."""
    sigs, dur = h["signals"], h["duration_s"]
    onsets: list[float] = []
    notes: list[tuple[float, dict[str, Any]]] = []
    for k in range(h["n_records"]):
        where.location = f"record {k}"
        tals = []
        for i, s in enumerate(sigs):
            if s["annotations"]:
                tals += _tals(rec[k, offsets[i]:offsets[i + 1]].tobytes(), path=path, record=k)
        if plus and (not tals or tals[0][1][0] != ""):
            raise FormatError("EDF+ data record lacks its time-keeping TAL ('+onset\\x14\\x14')",
                              path=path, location=f"record {k}")
        start = tals[0][0] if plus else Decimal(str(dur)) * k
        texts = [t for _, ann in tals for t in ann if t]
        stim = next((o for o, ann in tals for t in ann if t.lower().startswith("stim")), start)
        note: dict[str, Any] = {}
        for t in texts:
            if t.startswith(_NOTE):
                note = _our_note(t, path=path, record=k)
        onsets.append(float(start))
        notes.append((float(stim - start), note or _free_text(texts, path=path, record=k)))
        if k and plus == "EDF+D" and onsets[k] < onsets[k - 1] + dur - 1e-9:
            raise FormatError(f"EDF+D record starts at {onsets[k]} s, before the previous one "
                              f"(at {onsets[k - 1]} s, {dur} s long) ends", path=path,
                              location=f"record {k}")
        if plus == "EDF+C" and abs(onsets[k] - (onsets[0] + k * dur)) > 1e-6:
            raise FormatError(f"EDF+C record starts at {onsets[k]} s, expected "
                              f"{onsets[0] + k * dur:g} s (contiguous)", path=path,
                              location=f"record {k}")
    return onsets, notes
