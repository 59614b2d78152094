"""One case under review: its studies, the hand-set markers, and what the analysis reads.

A :class:`ReviewSession` holds one patient's nerve studies and the markers a clinician set on
their traces (:class:`~nerveconduct.io.markers.Marker`). Every change of a marker re-analyzes
the nerve it belongs to through the one analysis core
(:func:`~nerveconduct.analysis.analyze_nerves` with ``markers=``), applies the rule sets
(:func:`~nerveconduct.criteria.evaluate_nerves`, :func:`~nerveconduct.criteria.evaluate_patient`)
and keeps the records the command line writes (:func:`~nerveconduct.serialize.nerve_record`,
:func:`~nerveconduct.serialize.patient_record`): the review page shows those values and
computes none of its own. Changes can be undone one by one (a stack of marker sets), a marker
or all of them can go "back to detected", and :meth:`ReviewSession.save` writes the markers
file atomically (:func:`~nerveconduct.io.markers.write_markers`).

Traces are addressed by position: nerve ``i`` of the case, site ``j`` of that nerve (distal
first). A marker the session creates names its trace as the study does (nerve, side, site
name) and carries the reviewer (``by``) and the time it was placed (``at``, ISO 8601, UTC).
Thread-safe: one lock serializes the changes (the server answers requests in threads).
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .._checks import check_option
from ..analysis import analyze_nerves
from ..analysis.table import LANDMARK_SOURCES
from ..analysis.sources import landmarks_from_markers
from ..criteria import DEFAULT_CRITERIA, evaluate_nerves, evaluate_patient
from ..flags import QUALITY_FLAGS, MeasureFlag
from ..io.markers import MARKER_KINDS, Marker, write_markers
from ..limits import NormalLimits
from ..model import IDENTIFIER_KEYS, Case
from ..plot.summary import nerve_title
from ..serialize import nerve_record, patient_record

__all__ = ["ReviewSession", "ReviewError", "LANDMARK_FIELDS", "REVIEW_FLAGS", "MAX_UNDO"]

#: The landmark markers and the site field (ms after the stimulus) each one sets, derived from
#: the core's provenance columns (``onset_latency_source`` → ``onset_latency_ms``).
LANDMARK_FIELDS: dict[str, str] = {
    landmark: column.removesuffix("_source") + "_ms"
    for column, landmark in LANDMARK_SOURCES.items() if landmark != "present"}
#: Trace flags that put a trace on the page's "to review" list: the quality flags and the
#: review flags (the two onset detectors disagree; hand-set landmarks out of order; no
#: evidence of supramaximal stimulation where intensities are recorded).
REVIEW_FLAGS = int(QUALITY_FLAGS | MeasureFlag.ONSETS_DISAGREE | MeasureFlag.LANDMARKS_OUT_OF_ORDER
                   | MeasureFlag.SUBMAXIMAL_POSSIBLE)
#: Changes the undo stack remembers.
MAX_UNDO = 1000

Key = tuple[int, int, str]  # (nerve index, site index, marker kind)


class ReviewError(ValueError):
    """A change the review cannot make: an unknown nerve, site or marker kind, or a time
    outside the trace. The message says what was given and what is allowed."""


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class ReviewSession:
    """A case under review (see the module docstring).

    Parameters
    ----------
    case : Case
        One patient's studies (with the sheet's clinical items, used by the report).
    criteria : sequence of str
        Rule-set ids to apply (default: :data:`nerveconduct.criteria.DEFAULT_CRITERIA`).
    limits : NormalLimits, optional
        Normal limits (default: the textbook table).
    markers : iterable of Marker
        Hand-set markers to start from (e.g. a markers file read by
        :func:`~nerveconduct.io.markers.read_markers`).
    reviewer : str, optional
        Written as ``by`` into each marker placed in this session.
    keep_identifiers : bool, default False
        Show the patient's name/ID and keep them in the records.

    Raises
    ------
    MarkerError
        A starting marker matches no trace of the case (the message names the marker).
    TypeError
        ``case`` is not a :class:`~nerveconduct.model.Case`.
    """

    def __init__(self, case: Case, *, criteria: Sequence[str] = DEFAULT_CRITERIA,
                 limits: NormalLimits | None = None, markers: Iterable[Marker] = (),
                 reviewer: str | None = None, keep_identifiers: bool = False) -> None:
        if not isinstance(case, Case):
            raise TypeError(f"case must be a Case, got {type(case).__name__}")
        if not case.studies:
            raise ReviewError("the case has no nerve study to review")
        self.case = case
        self.criteria = tuple(criteria)
        self.limits = limits if limits is not None else NormalLimits.default()
        self.reviewer = reviewer
        self.keep_identifiers = keep_identifiers
        self._lock = threading.RLock()
        n = len(case.studies)
        self._results: list[Any] = [None] * n
        self._records: list[dict[str, Any]] = [{}] * n
        self._patient: dict[str, Any] = {}
        self._markers: dict[Key, Marker] = self._keyed(list(markers))
        self._saved: dict[Key, Marker] = dict(self._markers)
        self._undo: list[dict[Key, Marker]] = []
        self._analyze(range(n))

    # ------------------------------------------------------------------ markers <-> traces
    def _keyed(self, markers: list[Marker]) -> dict[Key, Marker]:
        """Each marker under the (nerve, site, kind) of the trace it names, by the analysis's
        own matching rule (:func:`~nerveconduct.analysis.sources.landmarks_from_markers`)."""
        studies = self.case.studies
        starts = np.cumsum([0] + [st.n_sites for st in studies])
        out: dict[Key, Marker] = {}
        for m in markers:
            if not isinstance(m, Marker):
                raise TypeError(f"markers must be Marker objects, got {type(m).__name__}")
            given = landmarks_from_markers([m], studies)  # MarkerError: matches no trace
            hit = given["absent"] if m.marker == "absent" else ~np.isnan(given[m.marker])
            row = int(np.flatnonzero(hit)[0])
            i = int(np.searchsorted(starts, row, side="right")) - 1
            out[(i, row - int(starts[i]), m.marker)] = m
        return out

    def _nerve_markers(self, i: int) -> list[Marker]:
        return [m for (ni, _, _), m in sorted(self._markers.items(), key=_order) if ni == i]

    def _analyze(self, indices: Iterable[int]) -> None:
        """Re-analyze nerves ``indices`` with their markers; refresh verdicts and records."""
        idx = sorted(set(indices))
        if idx:
            studies = [self.case.studies[i] for i in idx]
            markers = [m for i in idx for m in self._nerve_markers(i)]
            results = analyze_nerves(studies, limits=self.limits, markers=markers)
            verdicts = {rid: evaluate_nerves(results, rid) for rid in self.criteria}
            for k, (i, result) in enumerate(zip(idx, results, strict=True)):
                self._results[i] = result
                self._records[i] = nerve_record(result, {rid: v[k] for rid, v in verdicts.items()},
                                                keep_identifiers=self.keep_identifiers)
        self._patient = {rid: patient_record(evaluate_patient(self._results, rid),
                                             case_id=self.case.case_id)
                         for rid in self.criteria}

    def _commit(self, new: dict[Key, Marker], *, undoable: bool = True) -> None:
        """Make ``new`` the marker set; re-analyze the nerves whose markers changed."""
        old = self._markers
        changed = {k[0] for k in set(old) ^ set(new)} | {k[0] for k in old if k in new and old[k] != new[k]}
        if not changed:
            return
        self._markers = new
        analyzed = False
        try:
            self._analyze(changed)
            analyzed = True
        finally:
            if not analyzed:  # a refused change (e.g. a MarkerError) leaves the old state whole
                self._markers = old
                self._analyze(changed)
        if undoable:
            self._undo.append(old)
            del self._undo[:-MAX_UNDO]

    # ------------------------------------------------------------------ checks
    def _trace(self, nerve: Any, site: Any) -> tuple[int, int]:
        n = len(self.case.studies)
        if isinstance(nerve, bool) or not isinstance(nerve, int) or not 0 <= nerve < n:
            raise ReviewError(f"nerve must be a nerve index from 0 to {n - 1}, got {nerve!r:.40}")
        m = len(self.case.studies[nerve].sites)
        if isinstance(site, bool) or not isinstance(site, int) or not 0 <= site < m:
            raise ReviewError(f"site must be a site index of nerve {nerve} from 0 to {m - 1}, "
                              f"got {site!r:.40}")
        return nerve, site

    def _marker(self, i: int, j: int, kind: str, time_ms: float | None) -> Marker:
        st = self.case.studies[i]
        return Marker(nerve=st.nerve, side=st.side, site=st.sites[j].name, marker=kind,
                      time_ms=time_ms, by=self.reviewer, at=_now_iso())

    # ------------------------------------------------------------------ changes
    def set_markers(self, changes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Set hand-set markers (one undo step for all of them) and re-analyze.

        Parameters
        ----------
        changes : sequence of mapping
            Each ``{"nerve": i, "site": j, "marker": kind, "time_ms": t}``: ``kind`` one of
            :data:`~nerveconduct.io.markers.MARKER_KINDS`; ``t`` in ms after the stimulus,
            within the trace (``absent`` takes no time). Setting ``absent`` removes the
            trace's landmark markers; setting a landmark removes its ``absent`` marker.

        Returns
        -------
        dict
            :meth:`state` without the traces.

        Raises
        ------
        ReviewError
            An unknown key, nerve or site, or an unknown kind (with a "did you mean").
        MarkerError
            A time that is not a number of ms after the stimulus within the trace (the
            markers are unchanged then).
        """
        if not isinstance(changes, (list, tuple)) or not changes:
            raise ReviewError("changes must be a non-empty list of "
                              '{"nerve": i, "site": j, "marker": kind, "time_ms": t}')
        with self._lock:
            new = dict(self._markers)
            for c in changes:
                if not isinstance(c, Mapping):
                    raise ReviewError(f"a change must be an object, got {type(c).__name__}")
                extra = sorted(set(c) - {"nerve", "site", "marker", "time_ms"})
                if extra:
                    raise ReviewError(f"unknown key(s) {extra} in a change; allowed: "
                                      "'nerve', 'site', 'marker', 'time_ms'")
                i, j = self._trace(c.get("nerve"), c.get("site"))
                kind = check_option("marker", c.get("marker"), MARKER_KINDS)
                t = c.get("time_ms")
                if kind == "absent":
                    for k in LANDMARK_FIELDS:
                        new.pop((i, j, k), None)
                    new[(i, j, kind)] = self._marker(i, j, kind, None)
                    continue
                new.pop((i, j, "absent"), None)
                # the marker checks its time; the analysis, that it lies within the trace
                new[(i, j, kind)] = self._marker(i, j, kind, t)
            self._commit(new)
            return self.state(traces=False)

    def back_to_detected(self, nerve: int | None = None, site: int | None = None,
                         marker: str | None = None) -> dict[str, Any]:
        """Remove hand-set markers: all of them, or one nerve's, one trace's or one marker.

        Returns :meth:`state` without the traces; raises :class:`ReviewError` for an unknown
        nerve, site or kind (``site`` needs ``nerve``, ``marker`` needs both).
        """
        with self._lock:
            if site is not None or marker is not None:
                self._trace(nerve, 0 if site is None else site)
            elif nerve is not None:
                self._trace(nerve, 0)
            if marker is not None:
                if site is None:
                    raise ReviewError("a marker is named by its nerve and site: give both")
                check_option("marker", marker, MARKER_KINDS)
            new = {k: m for k, m in self._markers.items()
                   if not ((nerve is None or k[0] == nerve) and (site is None or k[1] == site)
                           and (marker is None or k[2] == marker))}
            self._commit(new)
            return self.state(traces=False)

    def undo(self) -> dict[str, Any]:
        """Return to the marker set before the last change (nothing happens when there is none)."""
        with self._lock:
            if self._undo:
                self._commit(self._undo.pop(), undoable=False)
            return self.state(traces=False)

    def save(self, path: str | Path) -> Path:
        """Write the hand-set markers to ``path`` (atomically, replacing the file).

        Returns the path; afterwards :attr:`dirty` is False until the next change.
        """
        with self._lock:
            write_markers(path, self.markers, overwrite=True)
            self._saved = dict(self._markers)
            return Path(path)

    # ------------------------------------------------------------------ reading
    @property
    def markers(self) -> list[Marker]:
        """The hand-set markers, by nerve, site and kind."""
        with self._lock:
            return [m for _, m in sorted(self._markers.items(), key=_order)]

    @property
    def results(self) -> list[Any]:
        """The current :class:`~nerveconduct.analysis.NerveResult` of each nerve."""
        with self._lock:
            return list(self._results)

    @property
    def dirty(self) -> bool:
        """Whether the markers differ from the last saved (or loaded) ones."""
        with self._lock:
            return self._markers != self._saved

    def state(self, *, traces: bool = True) -> dict[str, Any]:
        """Everything the review page shows, JSON-safe.

        Returns
        -------
        dict
            ``case`` (case id, study date, reviewer; patient name/ID only with
            ``keep_identifiers``), ``criteria``, ``marker_kinds``, ``nerves`` (per nerve:
            ``title``, ``record`` = :func:`~nerveconduct.serialize.nerve_record`),
            ``order`` (nerve indices, nerves with a flagged trace first), ``to_review``
            (flagged traces: nerve, site, flag names), ``patient`` (rule-set id ->
            :func:`~nerveconduct.serialize.patient_record`), ``markers`` (hand-set, with
            nerve and site indices), ``dirty``, ``can_undo``; with ``traces``: ``traces``
            (per nerve: ``t0_ms``, ``dt_ms`` and per site the samples in mV, physical
            polarity, NaN as null).
        """
        with self._lock:
            to_review = []
            for i, rec in enumerate(self._records):
                for j, site in enumerate(rec["sites"]):
                    bits = int(site["flags"]) & REVIEW_FLAGS
                    if bits:
                        to_review.append({"nerve": i, "site": j,
                                          "flags": MeasureFlag(bits).names()})
            flagged = {t["nerve"] for t in to_review}
            out: dict[str, Any] = {
                "case": self._case_header(),
                "criteria": list(self.criteria),
                "marker_kinds": list(MARKER_KINDS),
                "landmark_fields": dict(LANDMARK_FIELDS),
                "nerves": [{"index": i, "title": nerve_title(r), "record": rec}
                           for i, (r, rec) in enumerate(zip(self._results, self._records, strict=True))],
                "order": sorted(range(len(self._records)), key=lambda i: (i not in flagged, i)),
                "to_review": to_review,
                "patient": dict(self._patient),
                "markers": [{"nerve": i, "site": j, "marker": k, "time_ms": m.time_ms, "by": m.by,
                             "at": m.at} for (i, j, k), m in sorted(self._markers.items(), key=_order)],
                "dirty": self._markers != self._saved,
                "can_undo": bool(self._undo),
            }
            if traces:
                out["traces"] = [_trace_arrays(st) for st in self.case.studies]
            return out

    def _case_header(self) -> dict[str, Any]:
        case = self.case
        head: dict[str, Any] = {"case_id": case.case_id, "study_date": case.study_date,
                                "reviewer": self.reviewer}
        if self.keep_identifiers:
            meta = case.studies[0].metadata
            head.update({k: meta.get(k) for k in IDENTIFIER_KEYS if meta.get(k) is not None})
        return head


def _order(item: tuple[Key, Marker]) -> tuple[int, int, int]:
    (i, j, kind), _ = item
    return i, j, MARKER_KINDS.index(kind)


def _trace_arrays(study: Any) -> dict[str, Any]:
    """A study's traces for the page: physical polarity (mV), 5 decimals, NaN as None."""
    physical = np.asarray(study.traces, dtype=float)
    if study.polarity == "negative-up":
        physical = -physical
    rounded = np.round(physical, 5)
    sites = [[None if not math.isfinite(v) else v for v in row] for row in rounded.tolist()]
    dt_ms = 1000.0 / study.sampling_rate_hz
    return {"t0_ms": -study.stimulus_sample * dt_ms, "dt_ms": dt_ms, "mv": sites}
