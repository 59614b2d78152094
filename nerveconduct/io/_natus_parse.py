"""Natus text export: decoding, sniffing and parsing into nerves of ``key=value`` entries.

The layout (``docs/formats.md``, "Natus text export") is described in
:mod:`nerveconduct.io.natus`, which turns the parsed nerves into studies.
"""

from __future__ import annotations

import codecs
import math
import re
from typing import Any, Mapping

import numpy as np

from .errors import FormatError

__all__ = ["FORMAT_ID", "looks_like_natus_text"]

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
