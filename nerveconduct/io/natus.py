"""Natus (Elite / Keypoint family) text export: reader and content sniffer (writer: ``natus_write``).

UTF-16 text of ``key=value`` lines; ``docs/formats.md`` ("Natus text export") says which
keys are known from a public parser and which are inferred::

    Nerve=Right Median Motor (APB)       <- inferred (ours): starts a nerve
    Site=Wrist                           <- inferred (ours): one per trace
    Subsampled(kHz)=20.000000            <- sampling rate; Trace Duration(ms)= x rate = N
    LongTrace Data(µV)<1000>=12.5,-3.25,.../
    7.5,0.25,...                         <- the N values continue on the following lines
    Low(Hz)=2.000000                     <- then Sweep Duration(ms|s)=, High(Hz|kHz)=, Notch

A key given once applies to every trace of its nerve; a key given once per trace belongs to
the traces in order (the k-th ``Low(Hz)`` to the k-th trace). Keys before the first
``Nerve=`` line are defaults for every nerve. Traces are returned in mV, physical polarity.
"""

from __future__ import annotations

import codecs
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..model import NerveStudy, Site
from ._text import amplitude_scale_to_mv, parse_date, parse_test_item
from .errors import FormatError
from .pseudonym import file_pseudonym, pseudonymize

__all__ = ["read_natus_text", "looks_like_natus_text", "FORMAT_ID"]

#: The format id ``nerveconduct.io.detect`` reports for this export.
FORMAT_ID = "natus-txt"
_RATE_RANGE_HZ = (100.0, 1e6)  # sampling rates outside are refused as absurd
_MAX_SAMPLES = 10_000_000  # per trace
_DATA_KEY = re.compile(r"(?P<kind>[A-Za-z][A-Za-z ]*?)\s*Data\s*\((?P<unit>[^()]*)\)\s*"
                       r"<(?P<n>[^<>]*)>")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SAMPLE_LINE = re.compile(r"[0-9eE+\-.,\s]*/?")
_SNIFF = re.compile(r"^\s*(?:LongTrace Data\s*\(|Subsampled\s*\(kHz\)\s*=|(?:Trace|Sweep) Duration"
                    r"\s*\((?:ms|s)\)\s*=)", re.M | re.I)
_KNOWN_KINDS = ("longtrace", "liveplay", "sweep", "averaged")
_TIME_MS = {"ms": 1.0, "s": 1e3}
_RATE_HZ = {"khz": 1e3, "hz": 1.0}
_Entry = tuple[int, "str | None", str]  # (line, unit in brackets, value)
# allowed ranges (bracket, low, high) after unit conversion: generous physical limits
_POSITIVE, _DURATION_MS = ("(", 0.0, math.inf), ("(", 0.0, 3.6e6)
_FILTER_HZ, _DELAY_MS = ("[", 0.0, 1e7), ("[", 0.0, 1e6)


# ----------------------------------------------------------------------------- decoding
def _utf16_codec(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = data[0::2], data[1::2]  # no byte-order mark: ASCII text has every other byte 0
    if odd and odd.count(0) > len(odd) // 2 and even.count(0) < len(even) // 4:
        return "utf-16-le"
    return "utf-16-be" if even and even.count(0) > len(even) // 2 > odd.count(0) * 2 else None


def _decode(data: bytes, *, path: Any) -> str:
    codec = _utf16_codec(data)
    if codec is None and b"\x00" in data:
        raise FormatError("binary content (NUL bytes) that is not UTF-16 text; a Natus text "
                          "export is UTF-16 (or UTF-8) text", path=path,
                          location=f"byte {data.find(0)}")
    try:
        text = data.decode(codec or "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not valid {codec or 'UTF-8'} text ({exc.reason}); a Natus text "
                          "export is UTF-16 text", path=path,
                          location=f"byte {exc.start}") from None
    if "\x00" in text:
        raise FormatError("NUL character in the text: binary content", path=path,
                          location=f"line {text[:text.index(chr(0))].count(chr(10)) + 1}")
    return text


def looks_like_natus_text(head: bytes) -> bool:
    """Whether a file's first bytes (e.g. 64 KiB, may end inside a character) look like a
    Natus text export: UTF-16 (byte-order mark or not) or UTF-8 text with a line starting
    ``LongTrace Data(``, ``Subsampled(kHz)=`` or ``Trace``/``Sweep Duration(ms|s)=``.

    Examples
    --------
    >>> looks_like_natus_text("Subsampled(kHz)=20.0\\r\\n".encode("utf-16"))
    True
    >>> looks_like_natus_text(b"Test Item,Right Median Motor")
    False
    """
    codec = _utf16_codec(head)
    if codec is None and b"\x00" in head:
        return False
    text = head[: len(head) // 2 * 2 if codec else None].decode(codec or "utf-8-sig", "replace")
    return _SNIFF.search(text) is not None


# ----------------------------------------------------------------------------- parsing
def _number(value: str, *, what: str, path: Any, line: int) -> float:
    v = value.strip()
    if re.fullmatch(r"[+-]?\d+,\d+", v):
        v = v.replace(",", ".")  # decimal comma of a localised export
    if not _NUMBER.fullmatch(v) or not math.isfinite(float(v)):
        raise FormatError(f"the value of {what} is not a finite number (allowed: a decimal "
                          "number such as 20.000000)", path=path, location=f"line {line}")
    return float(v)


def _samples(text: str, *, path: Any, line: int) -> list[str]:
    s = text.strip()
    s = s[:-1].rstrip() if s.endswith("/") else s  # "/" ends a line that continues
    tokens = [t.strip() for t in s.split(",")] if s else []
    if tokens and tokens[-1] == "":
        tokens.pop()  # trailing comma before the line break
    for i, t in enumerate(tokens):
        if not _NUMBER.fullmatch(t):
            raise FormatError(f"value {i + 1} of this trace data line is not a number (allowed: "
                              "decimal numbers separated by commas)", path=path,
                              location=f"line {line}")
    return tokens


class _Group:
    """One nerve's lines: keys by lower-case base name (unit split off) and its traces."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.keys: dict[str, list[_Entry]] = {}
        self.traces: list[tuple[int, str, np.ndarray]] = []  # (line, unit, values)
        self.skipped: dict[str, int] = {}


def _parse(text: str, *, path: Any) -> list[_Group]:
    groups = [_Group(1)]
    pending: list[Any] | None = None  # [line, kind, unit, n, tokens] of an open data key

    def close() -> None:
        line, kind, unit, n, tokens = pending
        kind = kind if kind.casefold() in _KNOWN_KINDS else "other"  # never echo free text
        if len(tokens) != n:
            raise FormatError(f"{kind} data key declares {n} samples but {len(tokens)} values "
                              "follow", path=path, location=f"line {line}")
        if kind.casefold() != "longtrace":  # e.g. LivePlay Data: not a stimulus-locked trace
            groups[-1].skipped[kind] = groups[-1].skipped.get(kind, 0) + 1
            return
        values = np.asarray(tokens, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise FormatError("a sample value is out of range (not finite)", path=path,
                              location=f"line {line}")
        groups[-1].traces.append((line, unit, values))

    for no, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        s = raw.strip()
        if pending is not None and s and "=" not in s and _SAMPLE_LINE.fullmatch(s):
            pending[4] += _samples(s, path=path, line=no)
            if len(pending[4]) > pending[3]:
                raise FormatError(f"more values than the {pending[3]} samples declared on line "
                                  f"{pending[0]}", path=path, location=f"line {no}")
            continue
        if pending is not None:
            close()
            pending = None
        if not s or s.startswith(";") or (s.startswith("[") and s.endswith("]")):
            continue  # blank, comment, [section] heading
        if "=" not in s:
            raise FormatError("line is neither 'key=value' nor a continuation of trace data",
                              path=path, location=f"line {no}")
        key, value = (p.strip() for p in s.split("=", 1))
        m = _DATA_KEY.fullmatch(key)
        if m:
            n_text = m["n"].strip()
            if not n_text.isdigit() or not 0 < int(n_text) <= _MAX_SAMPLES:
                raise FormatError(f"the sample count in <...> must be an integer from 1 to "
                                  f"{_MAX_SAMPLES}", path=path, location=f"line {no}")
            pending = [no, m["kind"].strip(), m["unit"].strip(), int(n_text),
                       _samples(value, path=path, line=no)]
            continue
        if re.search(r"\bData\s*\(", key):
            raise FormatError("trace data key without a sample count; expected e.g. "
                              "'LongTrace Data(µV)<N>='", path=path, location=f"line {no}")
        km = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", key)
        base, unit = (km[1], km[2].strip()) if km else (key, None)
        base = re.sub(r"\s+", " ", base).casefold()
        if base == "nerve" and (groups[-1].traces or "nerve" in groups[-1].keys):
            groups.append(_Group(no))
        groups[-1].keys.setdefault(base, []).append((no, unit, value))
    if pending is not None:
        close()
    return groups


# ----------------------------------------------------------------------------- one nerve
class _Nerve:
    """Key look-ups for one group of ``n`` traces, the header group's keys as defaults."""

    def __init__(self, group: _Group, header: _Group | None, *, path: Any) -> None:
        self.group, self.header, self.path, self.n = group, header, path, len(group.traces)

    def per_trace(self, base: str, label: str) -> list[_Entry] | None:
        found = self.group.keys.get(base) or (self.header.keys.get(base) if self.header else None)
        if not found or len(found) == self.n:
            return found or None
        if len(found) == 1:
            return found * self.n
        raise FormatError(f"{label} appears {len(found)} times for {self.n} traces; give it "
                          "once per nerve or once per trace", path=self.path,
                          location=f"line {found[0][0]}")

    def values(self, base: str, label: str, units: Mapping[str, float],
               span: tuple[str, float, float]) -> list[tuple[float | None, int]]:
        """Per-trace ``(number x units[unit], line)``, None for an empty value (unknown);
        ``span`` = (bracket, low, high): the allowed range, "(" excluding ``low``."""
        out: list[tuple[float | None, int]] = []
        for line, unit, value in self.per_trace(base, label) or [(0, None, "")] * self.n:
            scale = units.get((unit or "").casefold().replace("°", ""))
            if not value.strip():
                out.append((None, line))
                continue
            if scale is None:
                raise FormatError(f"unknown unit for {label}; allowed: "
                                  f"{', '.join(u or '(none)' for u in units)}", path=self.path,
                                  location=f"line {line}")
            v = _number(value, what=label, path=self.path, line=line) * scale
            bracket, low, high = span
            if not (low < v if bracket == "(" else low <= v) or v > high:
                raise FormatError(f"{label} must be in {bracket}{low:g}, {high:g}] (after unit "
                                  "conversion)", path=self.path, location=f"line {line}")
            out.append((v, line))
        return out

    def common(self, base: str, label: str, units: Mapping[str, float],
               span: tuple[str, float, float]) -> tuple[float | None, int | None]:
        """The nerve's one value (every trace's must agree) and its line, or (None, None)."""
        known = [(v, line) for v, line in self.values(base, label, units, span) if v is not None]
        if not known:
            return None, None
        first, line = known[0]
        if any(not math.isclose(v, first, rel_tol=1e-9) for v, _ in known):
            raise FormatError(f"{label} differs between the traces of one nerve; one value per "
                              "nerve is required", path=self.path, location=f"line {line}")
        return first, line

    def text(self, *bases: str) -> str | None:
        for base in bases:
            found = self.per_trace(base, base)
            if found and found[0][2].strip():
                return found[0][2].strip()
        return None


def _rate_hz(nv: _Nerve, n_samples: int, option_hz: float | None) -> tuple[float, str]:
    rate, line = nv.common("subsampled", "Subsampled(kHz)", _RATE_HZ, _POSITIVE)
    source = "Subsampled(kHz)"
    dur_ms, dur_line = nv.common("trace duration", "Trace Duration(ms)", _TIME_MS, _DURATION_MS)
    if rate is not None and dur_ms is not None and abs(rate * dur_ms / 1e3 - n_samples) > 1.0:
        raise FormatError(f"LongTrace Data holds {n_samples} samples but Subsampled(kHz) x Trace "
                          f"Duration(ms) gives {rate * dur_ms / 1e3:.1f}", path=nv.path,
                          location=f"line {dur_line}")
    if rate is None and dur_ms is not None:
        rate, line, source = n_samples * 1e3 / dur_ms, dur_line, "Trace Duration"
    sweep_ms, sweep_line = nv.common("sweep duration", "Sweep Duration(ms)", _TIME_MS,
                                     _DURATION_MS)
    if rate is None and sweep_ms is not None:
        rate, line, source = n_samples * 1e3 / sweep_ms, sweep_line, "Sweep Duration"
    if rate is None and option_hz is not None:
        rate, line, source = float(option_hz), None, "option"
    if rate is None:
        raise FormatError("cannot determine the sampling rate: no Subsampled(kHz), Trace Duration "
                          "or Sweep Duration line; give it with a study sheet (sampling_rate_hz) "
                          "or read(..., sampling_rate_hz=...)", path=nv.path,
                          location=f"line {nv.group.line}")
    low, high = _RATE_RANGE_HZ
    if not (math.isfinite(rate) and low <= rate <= high):
        raise FormatError(f"sampling rate {rate:.6g} Hz (from {source}) is outside the allowed "
                          f"{low:g} Hz to {high:g} Hz", path=nv.path,
                          location=f"line {line}" if line else None)
    return rate, source


def _study(nv: _Nerve, *, first_trace: int, option_hz: float | None, name: str | None,
           pid: str | None, keep_identifiers: bool, study_date: str | None) -> NerveStudy:
    path, traces = nv.path, nv.group.traces
    if not traces:
        raise FormatError("no 'LongTrace Data(µV)<N>=' line for this nerve", path=path,
                          location=f"line {nv.group.line}")
    for what, found in (("length", {len(v) for _, _, v in traces}),
                        ("amplitude unit", {u.casefold() for _, u, _ in traces})):
        if len(found) > 1:
            raise FormatError(f"the traces of one nerve differ in {what}; one {what} per nerve "
                              "is required", path=path, location=f"line {traces[-1][0]}")
    unit = traces[0][1]
    try:
        data = np.stack([v for _, _, v in traces]) * amplitude_scale_to_mv(unit)
    except FormatError:  # re-raised without quoting the unit text
        raise FormatError("unknown amplitude unit in LongTrace Data(<unit>); allowed: nV, "
                          "µV (uV), mV, V", path=path, location=f"line {traces[0][0]}") from None
    n_traces, n_samples = data.shape
    rate, rate_source = _rate_hz(nv, n_samples, option_hz)
    sweep_ms = nv.common("sweep duration", "Sweep Duration(ms)", _TIME_MS, _DURATION_MS)[0]
    missing: list[str] = []
    names = [e[2].strip() for e in nv.per_trace("site", "Site") or [(0, None, "")] * n_traces]
    if not any(names):
        missing.append("site_names")
    names = [s or f"site {i + 1}" for i, s in enumerate(names)]
    distances = [v for v, _ in nv.values("distance", "Distance(mm)", {"mm": 1.0, "cm": 10.0,
                                                                      "": 1.0}, ("(", 0, 2000))]
    if all(d is None for d in distances):
        missing.append("distances")
    intensities = [v for v, _ in nv.values("stim intensity", "Stim Intensity(mA)",
                                           {"ma": 1.0, "": 1.0}, ("[", 0, 1000))]
    sites = [Site(n, d, a) for n, d, a in zip(names, distances, intensities)]
    side, nerve, muscle = parse_test_item(nv.text("nerve"))
    side = {"r": "right", "right": "right", "l": "left", "left": "left"}.get(
        (nv.text("side") or "").casefold(), side)
    muscle = nv.text("muscle", "master anatomy") or muscle
    missing += [k for k, v in (("nerve", nerve), ("side", side), ("muscle", muscle)) if v is None]
    delay_ms, delay_line = nv.common("stimulus delay", "Stimulus Delay(ms)", _TIME_MS, _DELAY_MS)
    stimulus_sample = 0 if delay_ms is None else int(round(delay_ms * rate / 1e3))
    if not 0 <= stimulus_sample < n_samples:
        raise FormatError(f"Stimulus Delay puts the stimulus at sample {stimulus_sample}, "
                          f"outside the trace (0 to {n_samples - 1})", path=path,
                          location=f"line {delay_line}")
    metadata: dict[str, Any] = {
        "source_file": Path(path).name, "format": FORMAT_ID,
        "source_traces": list(range(first_trace, first_trace + n_traces)),
        "missing_fields": missing, "sampling_rate_source": rate_source, "amplitude_unit": unit}
    hff = nv.common("high", "High(Hz)", _RATE_HZ, _FILTER_HZ)[0]
    for key, value in (("high_frequency_filter_hz", hff),
                       ("sweep_duration_ms", sweep_ms), ("study_date", study_date),
                       ("skipped_data", nv.group.skipped or None)):
        if value is not None:
            metadata[key] = value
    notch = nv.per_trace("notch filter", "Notch Filter(Hz)")
    word = notch[0][2].strip().casefold() if notch else ""
    if word in ("on", "off"):
        metadata["notch_filter_on"] = word == "on"
    elif word:
        metadata["notch_filter_hz"] = _number(word, what="Notch Filter(Hz)", path=path,
                                              line=notch[0][0])
        metadata["notch_filter_on"] = metadata["notch_filter_hz"] > 0
    if re.sub(r"[^a-z]", "", (nv.text("polarity") or "").casefold()) == "negativeup":
        data, metadata["polarity_flipped"] = -data, True
    if keep_identifiers:
        metadata.update({k: v for k, v in (("patient_name", name), ("patient_id", pid)) if v})
    return NerveStudy(
        nerve or "unknown", side, muscle, sites, data, rate, stimulus_sample=stimulus_sample,
        temperature_c=nv.common("temperature", "Temperature(C)", {"c": 1.0, "": 1.0},
                                ("[", 0.0, 50.0))[0],
        low_frequency_filter_hz=nv.common("low", "Low(Hz)", _RATE_HZ, _FILTER_HZ)[0],
        study_id=pseudonymize(name, pid) or file_pseudonym(path),
        metadata=metadata)


def read_natus_text(path: str | os.PathLike[str], *, sheet: Any = None,
                    keep_identifiers: bool = False,
                    sampling_rate_hz: float | None = None) -> list[NerveStudy]:
    """Read a Natus (Elite / Keypoint family) text export: one :class:`NerveStudy` per nerve.

    Parameters
    ----------
    path : path-like
        The export (UTF-16 text; UTF-8 is accepted too).
    sheet : path-like, StudySheet or mapping, optional
        A study sheet filling what the file lacks, as in ``nerveconduct.read``.
    keep_identifiers : bool, default False
        Copy the patient name (``Patient Name``, ``Full Name`` or ``Last Name`` + ``First
        Name``) and ``Patient ID`` into ``metadata``; otherwise only the pseudonym ``study_id``.
    sampling_rate_hz : float, optional
        Rate (Hz) when no ``Subsampled``/``Trace Duration``/``Sweep Duration`` line gives it.

    Returns
    -------
    list of NerveStudy
        Traces in mV, physical polarity; ``Low(Hz)`` is ``low_frequency_filter_hz``;
        ``metadata`` adds ``high_frequency_filter_hz``, ``notch_filter_on``,
        ``sweep_duration_ms`` and ``missing_fields`` (what the file lacked).

    Raises
    ------
    FormatError
        Not UTF-16/UTF-8 text, a line that is not ``key=value``, a value count other than
        ``<N>``, a non-numeric or non-finite value, an unknown unit, a sampling rate missing or
        outside 100 Hz to 1 MHz, a key given neither once nor once per trace. The message
        names the file and line and never quotes the line (it may hold identifiers).
    """
    p = Path(path)
    text = _decode(p.read_bytes(), path=p)
    if not text.strip():
        raise FormatError("empty file: no key=value lines and no trace", path=p, location="line 1")
    sheet_obj = None
    if sheet is not None:
        from .sheet import StudySheet, load_sheet, parse_sheet  # lazy: only with a sheet

        sheet_obj = sheet if isinstance(sheet, StudySheet) else (
            parse_sheet(sheet) if isinstance(sheet, Mapping) else load_sheet(sheet))
        if sampling_rate_hz is None:
            sampling_rate_hz = sheet_obj.sampling_rate_for(p.name)
    groups = _parse(text, path=p)
    if not any(g.traces for g in groups):
        raise FormatError("no 'LongTrace Data(µV)<N>=' line: no trace to read", path=p,
                          location="line 1")
    g0 = groups[0]  # lines before the first Nerve= (no traces): defaults for every nerve
    header = g0 if len(groups) > 1 and not g0.traces and "nerve" not in g0.keys else None

    def first(*bases: str) -> str | None:
        values = [e[2].strip() for g in groups for b in bases for e in g.keys.get(b, [])]
        return next((v for v in values if v), None)

    name = first("patient name", "full name") or " ".join(
        x for x in (first("last name"), first("first name")) if x) or None
    date_text = first("visit date", "test date", "date")
    studies: list[NerveStudy] = []
    for g in groups:
        if g is not header:
            studies.append(_study(
                _Nerve(g, header, path=p), first_trace=sum(s.n_sites for s in studies),
                option_hz=sampling_rate_hz, name=name, pid=first("patient id"),
                keep_identifiers=keep_identifiers,
                study_date=parse_date(date_text.split()[0]) if date_text else None))
    if sheet_obj is not None:
        from .sheet_apply import apply_sheet

        studies = apply_sheet(studies, sheet_obj, source_file=p.name)
    return studies


# ----------------------------------------------------------------------------- writer
