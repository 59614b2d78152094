"""EDF, EDF+C and EDF+D motor nerve conduction files: a focused reader (and ``write_edf``).

The EDF+ specification (Kemp & Olivan, Clin Neurophysiol 2003;114:1755, section "The Motor
Nerve Conduction file") stores one stimulation site per data record of an ``EDF+D`` file: the
records are not contiguous, each record's first TAL keeps its start time, and a
``Stimulus ...`` annotation marks the stimulus (at the record's start in the example) with
notes such as "at 6.5cm from recording site".

Why a focused reader and not ``edfio``: edfio 0.4 concatenates the data records of every
signal into one contiguous array and exposes neither the per-record start times (it only uses
them for the sub-second start offset) nor an EDF+D flag (its ``reserved`` property documents
only ``"EDF+C"``), it silently "updates" a header whose record count disagrees with the file
size (a warning, not an error), and it writes only EDF+C. We need the records, their start
times, and a named error naming the header field or record that lies.

Each ordinary signal's records are read as the sites of one nerve (plain EDF and EDF+C too: a
record is one sweep). Our own files add, per record, a ``nerveconduct {json}`` annotation with
the exact metadata, so :func:`write_edf` then :func:`read_edf` round-trips. The writer lives in
:mod:`nerveconduct.io.edf_write` and is re-exported here.
"""

from __future__ import annotations

import json
import math
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from ..model import NerveStudy, Site
from ..names import canonical_nerve
from ._ranges import check_range
from ._text import amplitude_scale_to_mv
from .edf_write import _MONTHS, _NOTE, _SIGNAL_FIELDS, write_edf
from .errors import FormatError, Where, boundary, quote
from .pseudonym import file_pseudonym, pseudonymize

__all__ = ["read_edf", "write_edf"]

_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14\x00", re.S)
_SIDE = {"r": "right", "right": "right", "l": "left", "left": "left"}
_NUM = r"(\d+(?:\.\d*)?|\.\d+)"  # a plain decimal number in free text
#: Fields of our ``nerveconduct {json}`` note: name -> allowed kind.
_NOTE_TEXT = ("nerve", "side", "muscle", "site", "study_id", "study_date")
_NOTE_NUMBERS = {"distance_mm": "distance_mm", "stimulus_intensity_ma": "stimulus_intensity_ma",
                 "temperature_c": "temperature_c",
                 "low_frequency_filter_hz": "low_frequency_filter_hz",
                 "f_wave_latency_ms": "f_wave_latency_ms"}


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


def _our_note(text: str, *, path: Any, record: int) -> dict[str, Any]:
    """Our ``nerveconduct {json}`` note, checked: a JSON object with fields of the right type."""
    loc = f"record {record}"
    try:
        note = json.loads(text[len(_NOTE):])
    except json.JSONDecodeError as exc:
        raise FormatError(f"bad nerveconduct note: {exc.msg} at character {exc.pos}",
                          path=path, location=loc) from None
    if not isinstance(note, dict):
        raise FormatError(f"nerveconduct note must be a JSON object, got a "
                          f"{type(note).__name__}", path=path, location=loc)
    study = note.get("study", 0)
    if isinstance(study, bool) or not isinstance(study, int) or not 0 <= study < 1_000_000:
        raise FormatError(f"nerveconduct note field 'study' must be an integer in [0, 999999], "
                          f"got {quote(study)}", path=path, location=loc)
    for key in _NOTE_TEXT:
        if not isinstance(note.get(key), (str, type(None))):
            raise FormatError(f"nerveconduct note field {key!r} must be a string or null, got "
                              f"a {type(note[key]).__name__}", path=path, location=loc)
    for key, quantity in _NOTE_NUMBERS.items():
        value = note.get(key)
        if value is None or (key == "f_wave_latency_ms" and isinstance(value, float)
                             and math.isnan(value)):  # NaN: F-waves sought and absent
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormatError(f"nerveconduct note field {key!r} must be a number or null, got "
                              f"a {type(value).__name__}", path=path, location=loc)
        note[key] = check_range(value, quantity, path=path, location=loc,
                                what=f"nerveconduct note field {key!r}")
    return note


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


def read_edf(path: str | os.PathLike[str], *, keep_identifiers: bool = False) -> list[NerveStudy]:
    """Read an EDF/EDF+C/EDF+D motor conduction file: one data record per stimulation site.

    Parameters
    ----------
    path : path-like
        The ``.edf`` file.
    keep_identifiers : bool, default False
        Keep the patient code and name (EDF+ patient field) in ``metadata``.

    Returns
    -------
    list of NerveStudy
        One per ordinary signal (or per study noted by our writer), traces in mV;
        ``metadata["record_onsets_s"]`` holds each record's start time (s) and
        ``metadata["source_traces"]`` its record index.

    Raises
    ------
    FormatError
        Header fields that are not numbers or lie about sizes (named field or record), BDF
        files, unknown units, a missing time-keeping TAL, overlapping EDF+D records, EDF+C
        records that are not contiguous, a stimulus outside its record.
    """
    with boundary(FormatError, path, location="header") as where:
        data = Path(path).read_bytes()
        h = _header(data, path)
        plus = h["reserved"][:5] if h["reserved"][:5] in ("EDF+C", "EDF+D") else ""
        sigs, dur = h["signals"], h["duration_s"]
        ordinary = [i for i, s in enumerate(sigs) if not s["annotations"]]
        if not ordinary:
            raise FormatError("no ordinary (waveform) signal, only annotations", path=path,
                              location="header")
        if dur <= 0:
            raise FormatError(f"data record duration must be > 0 s, got {dur}", path=path,
                              location="header")
        check_range(dur, "record_duration_s", path=path, location="header",
                    what="data record duration")
        if h["n_records"] == 0:
            raise FormatError("the file holds no data records; a motor conduction file has one "
                              "per stimulation site", path=path, location="header")
        rec = np.frombuffer(data, "<i2", offset=h["header_bytes"]).reshape(h["n_records"], -1)
        offsets = np.cumsum([0] + [s["n_samples"] for s in sigs])
        onsets, notes = _record_times_and_notes(rec, offsets, h, plus, path, where)
        date = _study_date(h)
        pfields = h["patient"].split() if plus else []
        pid = pfields[0] if len(pfields) > 0 and pfields[0] != "X" else None
        pname = pfields[3].replace("_", " ") if len(pfields) > 3 and pfields[3] != "X" else None
        if not plus and h["patient"] and h["patient"] != "X":
            pname = h["patient"]
        rec_words = h["recording"].split()
        rec_side, rec_nerve, _ = _label_parts(" ".join(rec_words[5:] if plus else rec_words))
        studies = []
        for i in ordinary:
            s = sigs[i]
            sloc = f"signal {i} header ({s['label']})"
            where.location = sloc
            scale = amplitude_scale_to_mv(s["dimension"] or "(none)", path=path, location=sloc)
            for extreme in ("pmin", "pmax"):
                check_range(s[extreme] * scale, "physical_extreme_mv", path=path, location=sloc,
                            what=f"physical {extreme[1:]}imum (in mV)")
            gain = (s["pmax"] - s["pmin"]) / (s["dmax"] - s["dmin"])
            digital = rec[:, offsets[i]:offsets[i + 1]].astype(float)
            phys = (digital - s["dmin"]) * gain + s["pmin"]
            rate = check_range(s["n_samples"] / dur, "sampling_rate_hz", path=path, location=sloc,
                               what="sampling rate (samples per record / record duration)")
            lab_side, lab_nerve, lab_muscle = _label_parts(s["label"])
            hp = re.search(rf"HP:\s*{_NUM}\s*(k?Hz)", s["prefilter"], re.I)
            lff = None if not hp else check_range(
                float(hp[1]) * (1e3 if hp[2].lower() == "khz" else 1.0), "low_frequency_filter_hz",
                path=path, location=sloc, what="high-pass prefilter")
            groups: dict[Any, list[int]] = {}
            for k, (_, note) in enumerate(notes):
                groups.setdefault(note.get("study", 0), []).append(k)
            for ks in groups.values():
                where.location = f"record {ks[0]}"
                first = notes[ks[0]][1]
                ours = "nerve" in first
                names, dists, amps, missing = [], [], [], []
                prev = 0.0
                for n_site, k in enumerate(ks):
                    stim_s, note = notes[k]
                    names.append(str(note.get("site") or f"record {k + 1}"))
                    amps.append(note.get("stimulus_intensity_ma"))
                    if ours:
                        dists.append(note.get("distance_mm"))
                    elif note.get("cumulative_mm") is not None and prev is not None:
                        d = note["cumulative_mm"] - prev
                        if d <= 0:
                            raise FormatError(f"distance from the recording site must grow from "
                                              f"record to record, got {note['cumulative_mm']} mm "
                                              f"after {prev} mm", path=path, location=f"record {k}")
                        dists.append(check_range(d, "distance_mm", path=path,
                                                 location=f"record {k}", what="segment length"))
                        prev = note["cumulative_mm"]
                    else:
                        dists.append(None)
                        prev = None
                stims = {int(round(notes[k][0] * rate)) for k in ks}
                if len(stims) > 1 or not 0 <= min(stims) < s["n_samples"]:
                    raise FormatError(f"stimulus must fall inside each record at one offset, got "
                                      f"samples {sorted(stims)}", path=path,
                                      location=f"record {ks[0]}")
                if not ours and any(n.startswith("record ") for n in names):
                    missing.append("site_names")
                if all(d is None for d in dists):
                    missing.append("distances")
                nerve = first.get("nerve") or lab_nerve or rec_nerve
                side = first.get("side") or lab_side or rec_side
                muscle = first.get("muscle") or lab_muscle
                missing += [f for f, v in (("nerve", nerve), ("side", side), ("muscle", muscle))
                            if v is None]
                meta: dict[str, Any] = {
                    "source_file": Path(path).name, "format": "edf", "edf_type": plus or "EDF",
                    "record_onsets_s": [onsets[k] for k in ks], "source_traces": list(ks),
                    "missing_fields": missing, "signal_label": s["label"],
                }
                study_date = first.get("study_date") if ours else date
                if study_date:
                    meta["study_date"] = study_date
                if keep_identifiers:
                    meta.update({k: v for k, v in (("patient_name", pname),
                                                   ("patient_id", pid)) if v})
                temps = {notes[k][1].get("temperature_c") for k in ks} - {None}
                studies.append(NerveStudy(
                    nerve or "unknown", side, muscle, [Site(*x) for x in zip(names, dists, amps)],
                    phys[ks] * scale, rate, stimulus_sample=stims.pop(),
                    temperature_c=temps.pop() if len(temps) == 1 else None,
                    low_frequency_filter_hz=first.get("low_frequency_filter_hz", lff),
                    f_wave_latency_ms=first.get("f_wave_latency_ms"),
                    study_id=first.get("study_id") or pseudonymize(pname, pid)
                    or file_pseudonym(path), metadata=meta))
        return studies
