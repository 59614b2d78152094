"""Hand-set markers: the landmarks a clinician placed (or corrected) on a trace, as data.

A markers file is JSON (``docs/formats.md``, "Markers file")::

    {"version": 1,
     "markers": [{"nerve": "median", "side": "L", "site": "Elbow", "marker": "onset",
                  "time_ms": 8.10, "by": "reviewer", "at": "2026-12-06T10:15:00Z"}]}

``marker`` is one of :data:`MARKER_KINDS`: ``onset``, ``negative_peak``, ``negative_end``
(end of the negative phase: the return to baseline after the negative peak),
``positive_peak`` (each with ``time_ms``, ms after the stimulus) or ``absent`` (no response
at that site; ``time_ms`` null or left out). ``nerve``, ``side`` and ``site`` name the trace
(matched case-insensitively by :func:`nerveconduct.analysis.analyze_nerves`; ``side``
``L``/``R`` stands for ``left``/``right``, ``null`` matches a nerve studied on one side
only); ``by`` and ``at`` (who placed it, when: free text, ISO 8601 suggested) are optional.

:func:`read_markers` / :func:`write_markers` read and write the file (atomically, through
:func:`nerveconduct.io._atomic.atomic_write`); :func:`markers_from_json` /
:func:`markers_to_json` convert the parsed JSON object. Every problem raises
:class:`MarkerError`, naming the marker (nerve, side, site, kind) and never patient data;
among them, landmarks of one trace out of order (:data:`MARKER_ORDER`: onset <
negative_peak < negative_end, negative_peak < positive_peak). A hand-set landmark that
contradicts a *detected* one is not an error: the measurement flags it
(``MeasureFlag.LANDMARKS_OUT_OF_ORDER``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

from .._checks import check_option
from ._atomic import atomic_write
from .errors import NerveConductIOError

__all__ = ["Marker", "MARKER_KINDS", "MARKER_ORDER", "MARKERS_VERSION", "MarkerError",
           "read_markers", "write_markers", "markers_from_json", "markers_to_json", "side_key",
           "marker_label"]

#: The landmarks a marker can set; ``absent`` says there is no response at that site.
MARKER_KINDS: tuple[str, ...] = ("onset", "negative_peak", "negative_end", "positive_peak", "absent")
#: Pairs of kinds whose markers on one trace must be in this order in time (strictly).
MARKER_ORDER: tuple[tuple[str, str], ...] = (
    ("onset", "negative_peak"), ("negative_peak", "negative_end"), ("onset", "negative_end"),
    ("negative_peak", "positive_peak"), ("onset", "positive_peak"))
#: Version of the markers file layout written by :func:`markers_to_json`.
MARKERS_VERSION = 1
#: Latest time a marker may give (ms after the stimulus): longer than any motor sweep.
MAX_TIME_MS = 1000.0

_FIELDS = ("nerve", "side", "site", "marker", "time_ms", "by", "at")
_REQUIRED_TEXT = ("nerve", "site")
_OPTIONAL_TEXT = ("side", "by", "at")
_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}


class MarkerError(NerveConductIOError, ValueError):
    """A markers file or marker is malformed, or a marker matches no trace.

    The message names the marker by nerve, side, site and kind (never the patient).
    """


@dataclass(frozen=True)
class Marker:
    """One hand-set landmark on one trace.

    Attributes
    ----------
    nerve : str
        Nerve name as in the study (any alias; matched case-insensitively).
    side : str or None
        ``"left"``/``"right"`` (``"L"``/``"R"`` accepted), or None for a nerve studied on one
        side only.
    site : str
        Stimulation site name (matched case-insensitively).
    marker : str
        One of :data:`MARKER_KINDS`.
    time_ms : float or None
        Time of the landmark after the stimulus (ms); None for ``"absent"``.
    by, at : str or None
        Who placed the marker and when (free text; ISO 8601 suggested for ``at``).
    """

    nerve: str
    side: str | None
    site: str
    marker: str
    time_ms: float | None
    by: str | None = None
    at: str | None = None

    def __post_init__(self) -> None:
        for key in _REQUIRED_TEXT:
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise MarkerError(f"marker {key} must be a non-empty text, got "
                                  f"{type(value).__name__ if not isinstance(value, str) else 'an empty text'}")
        for key in _OPTIONAL_TEXT:
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise MarkerError(f"{marker_label(self)}: {key} must be a text or null, got "
                                  f"{type(value).__name__}")
        try:
            check_option("marker", self.marker, MARKER_KINDS)
        except ValueError as exc:
            raise MarkerError(f"{_where(self)}: {exc}") from None
        t = self.time_ms
        if self.marker == "absent":
            if t is not None:
                raise MarkerError(f"{marker_label(self)}: an 'absent' marker has no time; "
                                  f"give time_ms null or leave it out, got {t!r}")
            return
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise MarkerError(f"{marker_label(self)}: time_ms must be a finite number of ms after "
                              f"the stimulus, got {t!r:.40}")
        if not 0.0 <= t <= MAX_TIME_MS:
            raise MarkerError(f"{marker_label(self)}: time_ms must be in [0, {MAX_TIME_MS:g}] ms "
                              f"after the stimulus, got {t!r}")
        object.__setattr__(self, "time_ms", float(t))

    @property
    def key(self) -> tuple[str, str | None, str]:
        """The trace the marker belongs to, normalized: (nerve, side, site), lower case."""
        return self.nerve.strip().lower(), side_key(self.side), self.site.strip().lower()


def side_key(side: str | None) -> str | None:
    """A side as compared: ``"L"``/``"left"`` -> ``"left"``, ``"R"`` -> ``"right"``, else lower case."""
    if side is None:
        return None
    s = str(side).strip().lower()
    return _SIDES.get(s, s) or None


def _where(m: Any) -> str:
    side = f" {m.side}" if getattr(m, "side", None) else ""
    return f"marker on {getattr(m, 'nerve', '?')}{side}, site {getattr(m, 'site', '?')}"


def marker_label(m: Marker) -> str:
    """How messages name a marker: ``"onset marker on median left, site Elbow"``."""
    return f"{m.marker} {_where(m)}"


def _check_set(markers: Sequence[Marker]) -> list[Marker]:
    """Refuse non-markers, duplicates, an ``absent`` marker beside a landmark of its trace,
    and landmarks of one trace out of order (:data:`MARKER_ORDER`)."""
    seen: dict[tuple[Any, ...], Marker] = {}
    kinds: dict[tuple[Any, ...], set[str]] = {}
    out = []
    for i, m in enumerate(markers):
        if not isinstance(m, Marker):
            raise MarkerError(f"markers[{i}] must be a Marker, got {type(m).__name__}")
        if (*m.key, m.marker) in seen:
            raise MarkerError(f"{marker_label(m)} is given twice; keep one")
        seen[(*m.key, m.marker)] = m
        kinds.setdefault(m.key, set()).add(m.marker)
        out.append(m)
    for m in out:
        if m.marker == "absent" and len(kinds[m.key]) > 1:
            others = sorted(kinds[m.key] - {"absent"})
            raise MarkerError(f"{marker_label(m)} contradicts the {', '.join(others)} marker(s) "
                              "of the same trace; remove one or the other")
    for first, then in MARKER_ORDER:
        for m in out:
            later = seen.get((*m.key, then)) if m.marker == first else None
            if later is not None and not m.time_ms < later.time_ms:
                raise MarkerError(
                    f"{_where(m)}: the {first} ({m.time_ms:g} ms) must come before the {then} "
                    f"({later.time_ms:g} ms); markers of one trace must keep the order onset < "
                    "negative_peak < negative_end, negative_peak < positive_peak")
    return out


def markers_from_json(obj: Any) -> list[Marker]:
    """The markers of a parsed markers-file object (``{"version": 1, "markers": [...]}``).

    Raises
    ------
    MarkerError
        Not an object with a ``markers`` list; an unknown version or key; a field of the
        wrong type; an unknown kind; a time not in [0, 1000] ms; a duplicate marker; an
        ``absent`` marker beside a landmark of the same trace; landmarks of one trace out of
        order (onset < negative_peak < negative_end, negative_peak < positive_peak; the
        message names the trace and the two markers).
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("markers"), list):
        raise MarkerError('a markers file must be a JSON object with a "markers" list, e.g. '
                          '{"version": 1, "markers": [{"nerve": "median", "side": "L", "site": '
                          '"Elbow", "marker": "onset", "time_ms": 8.1}]}')
    unknown = sorted(set(obj) - {"version", "markers"})
    if unknown:
        raise MarkerError(f"unknown key(s) {unknown} in the markers file; allowed: 'version', 'markers'")
    version = obj.get("version", MARKERS_VERSION)
    if version != MARKERS_VERSION or isinstance(version, bool):
        raise MarkerError(f"markers file version must be {MARKERS_VERSION}, got {version!r:.20}")
    out = []
    for i, item in enumerate(obj["markers"]):
        if not isinstance(item, dict):
            raise MarkerError(f"markers[{i}] must be an object with keys {list(_FIELDS)}, "
                              f"got {type(item).__name__}")
        extra = sorted(set(item) - set(_FIELDS))
        if extra:
            raise MarkerError(f"markers[{i}]: unknown key(s) {extra}; allowed: {list(_FIELDS)}")
        missing = [k for k in ("nerve", "site", "marker") if k not in item]
        if missing:
            raise MarkerError(f"markers[{i}]: missing key(s) {missing}")
        out.append(Marker(**{k: item.get(k) for k in _FIELDS}))
    return _check_set(out)


def markers_to_json(markers: Iterable[Marker]) -> dict[str, Any]:
    """The markers as a markers-file object: ``{"version": 1, "markers": [{...}, ...]}``."""
    return {"version": MARKERS_VERSION, "markers": [asdict(m) for m in _check_set(list(markers))]}


def read_markers(path: str | os.PathLike[str]) -> list[Marker]:
    """Read a markers file (JSON, UTF-8).

    Raises
    ------
    MarkerError
        The file is not valid JSON or not a valid markers file (the message names the file).
    OSError
        The file cannot be read.
    """
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else None
        raise MarkerError("not valid JSON; a markers file is a JSON object "
                          '{"version": 1, "markers": [...]}', path=path, location=where) from None
    try:
        return markers_from_json(obj)
    except MarkerError as exc:
        raise MarkerError(exc.detail, path=path) from None


def write_markers(path: str | os.PathLike[str], markers: Iterable[Marker], *,
                  overwrite: bool = True) -> None:
    """Write ``markers`` as a markers file (atomically: a reader sees the old or the new file).

    Parameters
    ----------
    path : path-like
        The file (``.json``).
    markers : iterable of Marker
    overwrite : bool, default True
        Replace an existing file (a review saves over its markers file).

    Raises
    ------
    MarkerError
        A duplicate or contradictory marker, or landmarks of one trace out of order.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    obj = markers_to_json(markers)
    with atomic_write(path, overwrite=overwrite) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1, allow_nan=False)
        fh.write("\n")
