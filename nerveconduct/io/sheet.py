"""Study sheets (JSON or TOML): what a waveform file lacks, and the case's clinical context.

A sheet names the case (``case_id``, ``study_date``), may give what a report's header prints
(:data:`CASE_DETAILS`: ``age_years``, ``height_cm``, ``sex``, ``indication``,
``referring_physician``, ``technician``, ``interpreting_physician``, ``impression``,
``notes``), gives the clinical items scores need (``clinical``, ``mmn``, ``paraprotein``),
and lists ``nerves``; each entry may name its
waveform ``file`` (relative to the sheet) so ``read("case.json")`` loads a whole case. The
schema is documented in ``docs/formats.md``.

Merging rule: the sheet *fills* what the file lacks (``None`` fields, generic site names,
unknown distances); a value both give and that differs stays as the file has it and is listed
in ``metadata["sheet_conflicts"]``. A different number of sites is a :class:`SheetError`.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..model import NerveStudy, Site
from ..names import canonical_nerve
from .errors import SheetError, boundary, quote
from .pseudonym import pseudonymize

__all__ = ["SheetSite", "SheetNerve", "StudySheet", "load_sheet", "parse_sheet", "apply_sheet",
           "CLINICAL_ITEMS", "CASE_DETAILS"]

#: CIDP-MAG clinical items a sheet may give (True/False, or null/"unknown" when not known).
CLINICAL_ITEMS = ("length_dependent_sensory", "ataxia", "tremor", "relapsing_or_acute_onset",
                  "proximal_weakness")
#: Top-level keys describing the patient and the study, copied to the
#: :class:`~nerveconduct.model.Case` field of the same name (numbers: age, height; the rest
#: free text, printed as given).
CASE_DETAILS = ("age_years", "height_cm", "sex", "indication", "referring_physician",
                "technician", "interpreting_physician", "impression", "notes")
_DETAIL_NUMBERS = {"age_years": (0.0, 130.0), "height_cm": (20.0, 280.0)}
_TOP_KEYS = {"case_id", "study_date", "clinical", "mmn", "paraprotein", "nerves",
             "sampling_rate_hz", *CASE_DETAILS}
_NERVE_KEYS = {"file", "nerve", "side", "muscle", "temperature_c", "low_frequency_filter_hz",
               "f_wave_latency_ms", "sampling_rate_hz", "sites", "trace", "record", "notes"}
_SITE_KEYS = {"name", "distance_mm", "stimulus_intensity_ma"}


@dataclass(frozen=True)
class SheetSite:
    """A site of a sheet entry: name and distance (mm, machine convention), intensity (mA)."""

    name: str | None
    distance_mm: float | None
    stimulus_intensity_ma: float | None = None


@dataclass(frozen=True)
class SheetNerve:
    """One ``nerves`` entry; ``selector`` holds the ``trace``/``record`` indices if given."""

    index: int
    file: str | None = None
    nerve: str | None = None
    side: str | None = None
    muscle: str | None = None
    temperature_c: float | None = None
    low_frequency_filter_hz: float | None = None
    f_wave_latency_ms: float | None = None
    sampling_rate_hz: float | None = None
    sites: tuple[SheetSite, ...] | None = None
    selector: tuple[int, ...] | None = None
    notes: str | None = None


@dataclass(frozen=True)
class StudySheet:
    """A parsed study sheet; ``path`` is where it was read from (``None`` for a mapping)."""

    path: Path | None
    case_id: str | None = None
    study_date: str | None = None
    clinical: dict[str, Any] = field(default_factory=dict)
    mmn: dict[str, Any] = field(default_factory=dict)
    paraprotein: dict[str, Any] = field(default_factory=dict)
    sampling_rate_hz: float | None = None
    nerves: tuple[SheetNerve, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def case_details(self) -> dict[str, Any]:
        """The :data:`CASE_DETAILS` the sheet gives, as keyword arguments of
        :class:`~nerveconduct.model.Case` (keys not given are left out).

        ``notes`` joins the top-level notes and each ``nerves`` entry's, the latter as
        ``"<side> <nerve>: <notes>"`` lines (never stored in the studies' metadata).
        """
        out = {k: v for k, v in self.details.items() if k in CASE_DETAILS and v is not None}
        lines = [out["notes"]] if out.get("notes") else []
        for e in self.nerves:
            if e.notes:
                label = " ".join(p for p in (e.side, e.nerve) if p) or f"nerves[{e.index}]"
                lines.append(f"{label}: {e.notes}")
        if lines:
            out["notes"] = "\n".join(lines)
        return out

    def sampling_rate_for(self, file_name: str) -> float | None:
        """Sampling rate (Hz) the sheet gives for ``file_name`` (entry, else top level)."""
        for e in self.nerves:
            if e.file and Path(e.file).name == file_name and e.sampling_rate_hz:
                return e.sampling_rate_hz
        return self.sampling_rate_hz


def load_sheet(path: str | Path) -> StudySheet:
    """Read a JSON or TOML study sheet (by content: a JSON sheet starts with ``{``).

    Raises
    ------
    SheetError
        Syntax errors (with their line), unknown keys (listing the allowed ones), values of
        the wrong type, bad dates.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetError(f"a sheet must be UTF-8 text ({exc.reason} at byte {exc.start})",
                         path=path, location=f"byte {exc.start}") from None
    if not text.strip():
        raise SheetError("empty sheet", path=path, location="line 1")
    with boundary(SheetError, path, location="line 1") as where:
        try:
            if text.lstrip().startswith("{"):
                data = json.loads(text)
            else:
                data = tomllib.loads(text)
        except json.JSONDecodeError as exc:
            raise SheetError(f"invalid JSON: {exc.msg}", path=path,
                             location=f"line {exc.lineno}") from None
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise SheetError(f"invalid TOML: {exc}", path=path,
                             location=f"line {m[1]}" if m else None) from None
        except RecursionError:
            raise SheetError(f"nested more than {_MAX_DEPTH} levels deep (a sheet needs 4)",
                             path=path, location=_deep_line(text)) from None
        where.location = "top level"
        return parse_sheet(data, path=path)


#: Nesting a sheet may not exceed (its own schema needs 4 levels).
_MAX_DEPTH = 64


def _deep_line(text: str) -> str:
    """The line where bracket nesting first exceeds :data:`_MAX_DEPTH` (brackets in strings
    count too: this only locates the problem for the message)."""
    depth = 0
    for n, line in enumerate(text.splitlines(), start=1):
        for ch in line:
            depth += 1 if ch in "[{" else -1 if ch in "]}" else 0
            if depth > _MAX_DEPTH:
                return f"line {n}"
    return "line 1"


def _number(value: Any, where: str, path: Any, *, positive: bool = True) -> float | None:
    if value is None:
        return None
    kind = f"a {'positive ' if positive else ''}number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            positive and not value > 0):
        raise SheetError(f"must be {kind}, got {quote(value)}", path=path, location=where)
    kind = "a finite number"
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        got = "an integer too large for a float" if isinstance(value, int) else quote(value)
        raise SheetError(f"must be {kind}, got {got}", path=path, location=where)
    return number


def _text(value: Any, where: str, path: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SheetError(f"must be a string, got {quote(value)}", path=path, location=where)
    return value.strip() or None


def _keys(mapping: Any, allowed: set[str], where: str, path: Any) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise SheetError(f"must be a table/object, got {type(mapping).__name__}", path=path,
                         location=where)
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise SheetError(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}", path=path,
                         location=where)
    return mapping


def parse_sheet(data: Mapping[str, Any], *, path: str | Path | None = None) -> StudySheet:
    """Validate a sheet given as a mapping (as :func:`load_sheet` does after parsing).

    Raises
    ------
    SheetError
        Unknown keys, values of the wrong type, non-finite or non-positive numbers, bad
        dates (naming the key path, e.g. ``nerves[0].sites[1].distance_mm``).
    """
    with boundary(SheetError, path, location="top level"):
        return _parse_sheet(data, path)


def _parse_sheet(data: Mapping[str, Any], path: str | Path | None) -> StudySheet:
    top = _keys(data, _TOP_KEYS, "top level", path)
    date = _text(top.get("study_date"), "study_date", path)
    if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise SheetError(f"must be an ISO date YYYY-MM-DD, got {quote(date)}", path=path,
                         location="study_date")
    clinical = dict(_keys(top.get("clinical", {}), set(CLINICAL_ITEMS), "clinical", path))
    for k, v in clinical.items():
        if v == "unknown":
            clinical[k] = None
        elif v is not None and not isinstance(v, bool):
            raise SheetError(f"must be true, false or \"unknown\", got {quote(v)}", path=path,
                             location=f"clinical.{k}")
    for name in ("mmn", "paraprotein"):
        if not isinstance(top.get(name, {}), Mapping):
            raise SheetError(f"must be a table/object, got {quote(top[name])}", path=path,
                             location=name)
    paraprotein = _flat_immunoglobulins(dict(top.get("paraprotein", {})), path)
    details: dict[str, Any] = {}
    for key in CASE_DETAILS:
        if key in _DETAIL_NUMBERS:
            value = _number(top.get(key), key, path)
            lo, hi = _DETAIL_NUMBERS[key]
            if value is not None and not lo <= value <= hi:
                raise SheetError(f"must be between {lo:g} and {hi:g}, got {quote(top[key])}",
                                 path=path, location=key)
        else:
            value = _notes(top.get(key), key, path)
        if value is not None:
            details[key] = value
    nerves = top.get("nerves", [])
    if not isinstance(nerves, list):
        raise SheetError(f"must be a list of tables, got {type(nerves).__name__}", path=path,
                         location="nerves")
    entries = []
    for i, raw in enumerate(nerves):
        w = f"nerves[{i}]"
        e = _keys(raw, _NERVE_KEYS, w, path)
        sites = None
        if "sites" in e:
            if not isinstance(e["sites"], list) or not e["sites"]:
                raise SheetError(f"must be a non-empty list, got {quote(e['sites'])}", path=path,
                                 location=f"{w}.sites")
            sites = tuple(SheetSite(
                _text(s.get("name"), f"{w}.sites[{j}].name", path),
                _number(s.get("distance_mm"), f"{w}.sites[{j}].distance_mm", path),
                _number(s.get("stimulus_intensity_ma"), f"{w}.sites[{j}].stimulus_intensity_ma",
                        path))
                for j, s in enumerate(_keys(x, _SITE_KEYS, f"{w}.sites[{j}]", path)
                                      for j, x in enumerate(e["sites"])))
        sel = e.get("trace", e.get("record"))
        if sel is not None:
            sel = [sel] if isinstance(sel, int) and not isinstance(sel, bool) else sel
            if not isinstance(sel, list) or not sel or not all(
                    isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in sel):
                raise SheetError(f"trace/record must be an index >= 0 or a list of them, got "
                                 f"{quote(e.get('trace', e.get('record')))}", path=path,
                                 location=w)
            sel = tuple(sel)
        side = _text(e.get("side"), f"{w}.side", path)
        if side is not None and side.lower() not in ("left", "right"):
            raise SheetError(f"side must be 'left' or 'right', got {quote(side)}", path=path,
                             location=f"{w}.side")
        entries.append(SheetNerve(
            i, _text(e.get("file"), f"{w}.file", path), _text(e.get("nerve"), f"{w}.nerve", path),
            side.lower() if side else None, _text(e.get("muscle"), f"{w}.muscle", path),
            _number(e.get("temperature_c"), f"{w}.temperature_c", path, positive=False),
            _number(e.get("low_frequency_filter_hz"), f"{w}.low_frequency_filter_hz", path),
            _number(e.get("f_wave_latency_ms"), f"{w}.f_wave_latency_ms", path),
            _number(e.get("sampling_rate_hz"), f"{w}.sampling_rate_hz", path), sites, sel,
            _notes(e.get("notes"), f"{w}.notes", path)))
    return StudySheet(
        Path(path) if path is not None else None, _text(top.get("case_id"), "case_id", path),
        date, clinical, dict(top.get("mmn", {})), paraprotein,
        _number(top.get("sampling_rate_hz"), "sampling_rate_hz", path), tuple(entries), details)


def _notes(value: Any, where: str, path: Any) -> str | None:
    """Free text: a string, or a list of strings (one line each)."""
    if isinstance(value, list):
        lines = [_text(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
        return "\n".join(line for line in lines if line) or None
    return _text(value, where, path)


def _flat_immunoglobulins(para: dict[str, Any], path: Any) -> dict[str, Any]:
    """``igg = {value, unit, lln}`` -> ``igg``, ``igg_unit``, ``igg_lln`` (flat keys stay)."""
    for ig in ("igg", "iga", "igm"):
        entry = para.get(ig)
        if not isinstance(entry, Mapping):
            continue
        where = f"paraprotein.{ig}"
        _keys(entry, {"value", "unit", "lln"}, where, path)
        para[ig] = _number(entry.get("value"), f"{where}.value", path, positive=False)
        for key, convert in (("lln", _number), ("unit", _text)):
            if entry.get(key) is not None:
                para[f"{ig}_{key}"] = convert(entry[key], f"{where}.{key}", path)
    return para


def _rebuild(study: NerveStudy, **changes: Any) -> NerveStudy:
    args = dict(nerve=study.nerve, side=study.side, muscle=study.muscle, sites=study.sites,
                traces=study.traces, sampling_rate_hz=study.sampling_rate_hz,
                stimulus_sample=study.stimulus_sample, polarity=study.polarity,
                temperature_c=study.temperature_c,
                low_frequency_filter_hz=study.low_frequency_filter_hz, study_id=study.study_id,
                f_wave_latency_ms=study.f_wave_latency_ms, metadata=dict(study.metadata))
    args.update(changes)
    return NerveStudy(args.pop("nerve"), args.pop("side"), args.pop("muscle"), args.pop("sites"),
                      args.pop("traces"), args.pop("sampling_rate_hz"), **args)


def _select(studies: Sequence[NerveStudy], entry: SheetNerve, sheet: StudySheet) -> NerveStudy:
    where = f"nerves[{entry.index}].trace/record"
    for study in studies:
        have = list(study.metadata.get("source_traces", range(study.n_sites)))
        if all(i in have for i in entry.selector):
            rows = [have.index(i) for i in entry.selector]
            meta = dict(study.metadata, source_traces=list(entry.selector))
            if "record_onsets_s" in meta:
                meta["record_onsets_s"] = [meta["record_onsets_s"][r] for r in rows]
            return _rebuild(study, sites=[study.sites[r] for r in rows],
                            traces=np.asarray(study.traces)[rows], metadata=meta)
    avail = [list(s.metadata.get("source_traces", [])) for s in studies]
    raise SheetError(f"indices {list(entry.selector)} are not all traces/records of one nerve "
                     f"in the file (it holds {avail})", path=sheet.path, location=where)


def _merge(study: NerveStudy, entry: SheetNerve, sheet: StudySheet) -> NerveStudy:
    where = f"nerves[{entry.index}]"
    meta = dict(study.metadata)
    missing = set(meta.get("missing_fields", []))
    conflicts: list[str] = list(meta.get("sheet_conflicts", []))
    changes: dict[str, Any] = {}
    if entry.nerve:
        if study.nerve == "unknown" or "nerve" in missing:
            changes["nerve"] = entry.nerve
        elif (canonical_nerve(entry.nerve) or entry.nerve.lower()) != (
                canonical_nerve(study.nerve) or study.nerve.lower()):
            raise SheetError(f"sheet says nerve {quote(entry.nerve)} but the file "
                             f"{meta.get('source_file')!r} holds {quote(study.nerve)}",
                             path=sheet.path, location=f"{where}.nerve")
    for name in ("side", "muscle", "temperature_c", "low_frequency_filter_hz",
                 "f_wave_latency_ms"):
        mine, theirs = getattr(study, name), getattr(entry, name)
        if theirs is None:
            continue
        if mine is None:
            changes[name] = theirs
        elif str(mine).lower() != str(theirs).lower():
            conflicts.append(f"{name}: file {mine!r}, sheet {theirs!r}")
    if entry.sites is not None:
        if len(entry.sites) != study.n_sites:
            raise SheetError(f"sheet lists {len(entry.sites)} sites but the file "
                             f"{meta.get('source_file')!r} holds {study.n_sites} traces for "
                             f"{quote(study.nerve)}", path=sheet.path, location=f"{where}.sites")
        sites = []
        for j, (mine, theirs) in enumerate(zip(study.sites, entry.sites)):
            name = theirs.name if (theirs.name and "site_names" in missing) else mine.name
            dist = mine.distance_mm if mine.distance_mm is not None else theirs.distance_mm
            if None not in (mine.distance_mm, theirs.distance_mm) and \
                    abs(mine.distance_mm - theirs.distance_mm) > 1e-9:
                conflicts.append(f"site {j} distance_mm: file {mine.distance_mm}, sheet "
                                 f"{theirs.distance_mm}")
            amp = mine.stimulus_intensity_ma
            sites.append(Site(name, dist, amp if amp is not None else theirs.stimulus_intensity_ma))
        changes["sites"] = sites
        missing.discard("site_names")
        if all(s.distance_mm is not None for s in sites):
            missing.discard("distances")
    meta["missing_fields"] = sorted(m for m in missing if m not in changes)
    meta["sheet_entry"] = entry.index
    if sheet.path is not None:
        meta["sheet"] = sheet.path.name
    if conflicts:
        meta["sheet_conflicts"] = conflicts
    if sheet.study_date and not meta.get("study_date"):
        meta["study_date"] = sheet.study_date
    source = meta.get("source_file")
    if sheet.case_id and source and study.study_id == pseudonymize("file:" + source):
        changes["study_id"] = sheet.case_id  # the file had no identifiers: use the case's id
    return _rebuild(study, metadata=meta, **changes)


def _key(nerve: str | None, side: str | None) -> tuple[str | None, str | None]:
    return (canonical_nerve(nerve) or (nerve or "").lower() or None), side


def apply_sheet(studies: Sequence[NerveStudy], sheet: StudySheet, *,
                source_file: str | None = None) -> list[NerveStudy]:
    """Fill the studies read from one file with what the sheet's matching entries give.

    Entries naming ``source_file`` are used when there are any, else entries naming no file.
    Entries with a ``trace``/``record`` selector build their nerve from those traces/records
    of the file (traces no entry selects are left out). Otherwise an entry matches a study by
    nerve and side (a single entry and a single study match directly).

    Raises
    ------
    SheetError
        Site-count mismatch (naming both counts), conflicting nerve, ambiguous matches,
        selectors naming traces the file does not hold.
    """
    named = [e for e in sheet.nerves if e.file and Path(e.file).name == source_file]
    entries = named or [e for e in sheet.nerves if not e.file]
    if not entries:
        return list(studies)
    selecting = [e for e in entries if e.selector is not None]
    if selecting:
        return [_merge(_select(studies, e, sheet), e, sheet) for e in selecting]
    if len(entries) == 1 and len(studies) == 1:
        return [_merge(studies[0], entries[0], sheet)]
    unknown = [s for s in studies if s.nerve == "unknown"]
    if unknown and len(studies) == len(entries) and named:
        return [_merge(s, e, sheet) for s, e in zip(studies, entries)]
    out = []
    for study in studies:
        nerve, side = _key(study.nerve, study.side)
        hits = [e for e in entries if _key(e.nerve, e.side)[0] == nerve
                and (e.side is None or side is None or e.side == side)]
        if len(hits) > 1:
            raise SheetError(f"{len(hits)} entries (nerves{[e.index for e in hits]}) match "
                             f"{study.side or ''} {quote(study.nerve)} from {source_file!r}; add "
                             "'side' or a 'trace'/'record' selector", path=sheet.path,
                             location="nerves")
        out.append(_merge(study, hits[0], sheet) if hits else study)
    return out
