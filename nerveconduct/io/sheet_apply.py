"""Apply a study sheet to the studies read from files: :func:`apply_sheet`.

Each sheet entry (:class:`~.sheet.SheetNerve`) selects the study it describes (by file,
trace selector, nerve and side) and fills in or corrects its nerve, side, muscle, sites,
distances, temperature, filter and F-wave latency; a conflict between the file and the sheet
is recorded in ``metadata["sheet_conflicts"]`` (``docs/formats.md``, "Study sheet"). The
sheet's ``case_id`` becomes every study's case key (``study_id``); the pseudonym the export's
patient fields gave is kept as ``metadata["patient_key"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site
from ..names import canonical_nerve
from .errors import SheetError, quote
from .pseudonym import file_pseudonym
from .sheet import SheetNerve, SheetSensory, StudySheet

__all__ = ["apply_sheet", "apply_sheet_sensory"]


def _rebuild(study: NerveStudy, **changes: Any) -> NerveStudy:
    args = dict(nerve=study.nerve, side=study.side, muscle=study.muscle, sites=study.sites,
                traces=study.traces, sampling_rate_hz=study.sampling_rate_hz,
                stimulus_sample=study.stimulus_sample, polarity=study.polarity,
                temperature_c=study.temperature_c,
                low_frequency_filter_hz=study.low_frequency_filter_hz, study_id=study.study_id,
                f_wave_latency_ms=study.f_wave_latency_ms, metadata=dict(study.metadata),
                age_years=study.age_years, height_cm=study.height_cm, sex=study.sex,
                f_wave_traces=study.f_wave_traces,
                f_wave_sampling_rate_hz=study.f_wave_sampling_rate_hz,
                f_wave_stimulus_sample=study.f_wave_stimulus_sample,
                stimulation_series=study.stimulation_series)
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
            series = {rows.index(k): s for k, s in study.stimulation_series.items() if k in rows}
            return _rebuild(study, sites=[study.sites[r] for r in rows],
                            traces=np.asarray(study.traces)[rows], metadata=meta,
                            stimulation_series=series)
    avail = [list(s.metadata.get("source_traces", [])) for s in studies]
    raise SheetError(f"indices {list(entry.selector)} are not all traces/records of one nerve "
                     f"in the file (it holds {avail})", path=sheet.path, location=where)


def _merge_sites(mine_sites: Sequence[Site], sheet_sites: Sequence[Site], missing: set[str],
                 conflicts: list[str]) -> list[Site]:
    """The file's sites completed from the sheet's (motor and sensory studies alike).

    A site name comes from the sheet only when the file lacked names (``"site_names"`` in
    ``missing``); a distance (mm) or stimulus intensity (mA) only when the file lacked it. A
    distance given by both that differs is appended to ``conflicts``. ``"site_names"`` (and
    ``"distances"`` once every site has one) leave ``missing``.
    """
    sites = []
    for j, (mine, theirs) in enumerate(zip(mine_sites, sheet_sites)):
        name = theirs.name if (theirs.name and "site_names" in missing) else mine.name
        dist = mine.distance_mm if mine.distance_mm is not None else theirs.distance_mm
        if None not in (mine.distance_mm, theirs.distance_mm) and \
                abs(mine.distance_mm - theirs.distance_mm) > 1e-9:
            conflicts.append(f"site {j} distance_mm: file {mine.distance_mm}, sheet "
                             f"{theirs.distance_mm}")
        amp = mine.stimulus_intensity_ma
        sites.append(Site(name, dist, amp if amp is not None else theirs.stimulus_intensity_ma))
    missing.discard("site_names")
    if all(s.distance_mm is not None for s in sites):
        missing.discard("distances")
    return sites


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
        changes["sites"] = _merge_sites(study.sites, entry.sites, missing, conflicts)
    meta["missing_fields"] = sorted(m for m in missing if m not in changes)
    meta["sheet_entry"] = entry.index
    if sheet.path is not None:  # a file name, like source_file: outputs store its pseudonym
        meta["sheet"] = sheet.path.name  # (_archive_layout.FILE_NAME_KEYS) unless asked
    if conflicts:
        meta["sheet_conflicts"] = conflicts
    if sheet.study_date and not meta.get("study_date"):
        meta["study_date"] = sheet.study_date
    return _rebuild(study, metadata=meta, **changes)


def _case_fields(study: NerveStudy, sheet: StudySheet) -> NerveStudy:
    """The sheet's case key and the patient's demographics, on a study read with it.

    The sheet names the case: every study read with it belongs to it (``study_id``). The
    pseudonym the export's own patient fields gave is kept as ``metadata["patient_key"]``,
    so files of two patients under one sheet can still be told apart. Age, height and sex
    fill what the study lacks.
    """
    changes: dict[str, Any] = {}
    meta = dict(study.metadata)
    if sheet.case_id and study.study_id != sheet.case_id:
        source = meta.get("source_file")
        if study.study_id and not (source and study.study_id == file_pseudonym(source)):
            meta["patient_key"] = study.study_id
        changes["study_id"] = sheet.case_id
    for name in ("age_years", "height_cm", "sex"):
        if getattr(study, name) is None and sheet.details.get(name) is not None:
            changes[name] = sheet.details[name]
    return _rebuild(study, metadata=meta, **changes) if changes else study


def _key(nerve: str | None, side: str | None) -> tuple[str | None, str | None]:
    return (canonical_nerve(nerve) or (nerve or "").lower() or None), side


def apply_sheet(studies: Sequence[NerveStudy], sheet: StudySheet, *,
                source_file: str | None = None) -> list[NerveStudy]:
    """Fill the studies read from one file with what the sheet gives (:func:`_apply_entries`),
    then give each the sheet's case key and demographics (:func:`_case_fields`)."""
    return [_case_fields(s, sheet) for s in _apply_entries(studies, sheet, source_file=source_file)]


def _apply_entries(studies: Sequence[NerveStudy], sheet: StudySheet, *,
                   source_file: str | None = None) -> list[NerveStudy]:
    """The studies read from one file, filled with what the sheet's matching entries give.

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


# ------------------------------------------------------------------ sensory studies
def _as_sensory(study: NerveStudy, entry: SheetSensory, sheet: StudySheet) -> SensoryStudy:
    """A study the file did not mark (``trace_kind`` missing) that the sheet's entry naming
    its file declares sensory."""
    meta = dict(study.metadata)
    meta["missing_fields"] = [m for m in meta.get("missing_fields", [])
                              if m not in ("trace_kind", "muscle")]
    meta["trace_kind_source"] = "sheet"
    return SensoryStudy(study.nerve, study.side, study.sites, study.traces,
                        study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
                        polarity=study.polarity, direction=entry.direction or "antidromic",
                        recording_site=entry.recording_site or study.muscle,
                        temperature_c=study.temperature_c,
                        low_frequency_filter_hz=study.low_frequency_filter_hz,
                        study_id=study.study_id, metadata=meta)


def _merge_sensory(study: SensoryStudy, entry: SheetSensory, sheet: StudySheet) -> SensoryStudy:
    """``study`` filled with what ``entry`` gives (the rule of :func:`_merge`): the file wins,
    a differing value is listed in ``metadata["sheet_conflicts"]``."""
    where = f"sensory[{entry.index}]"
    meta = dict(study.metadata)
    missing = set(meta.get("missing_fields", []))
    conflicts: list[str] = list(meta.get("sheet_conflicts", []))
    args: dict[str, Any] = dict(
        nerve=study.nerve, side=study.side, sites=list(study.sites),
        direction=study.direction, recording_site=study.recording_site,
        temperature_c=study.temperature_c, low_frequency_filter_hz=study.low_frequency_filter_hz)
    if entry.nerve and (study.nerve == "unknown" or "nerve" in missing):
        args["nerve"] = entry.nerve
        missing.discard("nerve")
    for name in ("side", "direction", "recording_site", "temperature_c",
                 "low_frequency_filter_hz"):
        mine, theirs = args[name], getattr(entry, name)
        if theirs is None:
            continue
        if mine is None or name in missing:
            args[name] = theirs
            missing.discard(name)
        elif str(mine).lower() != str(theirs).lower():
            conflicts.append(f"{name}: file {mine!r}, sheet {theirs!r}")
    if entry.sites is not None:
        if len(entry.sites) != study.n_sites:
            raise SheetError(f"sheet lists {len(entry.sites)} sites but the file "
                             f"{meta.get('source_file')!r} holds {study.n_sites} for the "
                             f"sensory study of {quote(study.nerve)}", path=sheet.path,
                             location=f"{where}.sites")
        args["sites"] = _merge_sites(study.sites, entry.sites, missing, conflicts)
    meta["missing_fields"] = sorted(missing)
    meta["sheet_entry"] = f"sensory[{entry.index}]"
    if conflicts:
        meta["sheet_conflicts"] = conflicts
    if sheet.study_date and not meta.get("study_date"):
        meta["study_date"] = sheet.study_date
    return SensoryStudy(args.pop("nerve"), args.pop("side"), args.pop("sites"), study.traces,
                        study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
                        polarity=study.polarity, study_id=study.study_id, metadata=meta,
                        age_years=study.age_years, height_cm=study.height_cm, **args)


def _sensory_case_fields(study: SensoryStudy, sheet: StudySheet) -> SensoryStudy:
    """The sheet's case key and the patient's age and height on a sensory study."""
    if not (sheet.case_id or any(sheet.details.get(k) is not None
                                 for k in ("age_years", "height_cm"))):
        return study
    meta = dict(study.metadata)
    source = meta.get("source_file")
    if sheet.case_id and study.study_id and study.study_id != sheet.case_id and not (
            source and study.study_id == file_pseudonym(source)):
        meta["patient_key"] = study.study_id
    return SensoryStudy(
        study.nerve, study.side, study.sites, study.traces, study.sampling_rate_hz,
        stimulus_sample=study.stimulus_sample, polarity=study.polarity,
        direction=study.direction, recording_site=study.recording_site,
        temperature_c=study.temperature_c, low_frequency_filter_hz=study.low_frequency_filter_hz,
        study_id=sheet.case_id or study.study_id, metadata=meta,
        age_years=study.age_years if study.age_years is not None else sheet.details.get("age_years"),
        height_cm=study.height_cm if study.height_cm is not None else sheet.details.get("height_cm"))


def apply_sheet_sensory(studies: Sequence[NerveStudy], sensory: Sequence[SensoryStudy],
                        sheet: StudySheet, *, source_file: str | None = None
                        ) -> tuple[list[NerveStudy], list[SensoryStudy]]:
    """The sheet's ``[[sensory]]`` entries applied to what one file gave.

    An entry naming ``source_file`` declares the file's unmarked traces sensory: a motor
    study whose kind the file did not say (``trace_kind`` in its missing fields) becomes a
    sensory study (its ``trace``/``record`` selector picks which). Then each entry fills the
    sensory study it matches (by nerve and side; a single entry and a single study match
    directly) as :func:`apply_sheet` fills motor studies; last, every sensory study gets the
    sheet's case key and the patient's age and height.

    Raises
    ------
    SheetError
        An entry naming the file whose traces the file marks as motor; site-count mismatch;
        ambiguous matches.
    """
    named = [e for e in sheet.sensory if e.file and Path(e.file).name == source_file]
    entries = named or [e for e in sheet.sensory if not e.file]
    motor, found = list(studies), list(sensory)
    for entry in named:
        picked = [st for st in motor if entry.selector is None
                  or set(entry.selector) <= set(st.metadata.get("source_traces", ()))]
        if not picked and not found:
            raise SheetError(f"the file {source_file!r} holds no traces for this sensory entry",
                             path=sheet.path, location=f"sensory[{entry.index}].file")
        for st in picked:
            if "trace_kind" not in st.metadata.get("missing_fields", ()):
                raise SheetError(f"the entry names {source_file!r} as a sensory study but the "
                                 "file marks its traces as motor", path=sheet.path,
                                 location=f"sensory[{entry.index}].file")
            motor.remove(st)
            found.append(_as_sensory(st, entry, sheet))
    out = []
    for study in found:
        nerve, side = _key(study.nerve, study.side)
        hits = ([entries[0]] if len(entries) == 1 and len(found) == 1 else
                [e for e in entries if _key(e.nerve, e.side)[0] == nerve
                 and (e.side is None or side is None or e.side == side)])
        if len(hits) > 1:
            raise SheetError(f"{len(hits)} entries (sensory{[e.index for e in hits]}) match the "
                             f"sensory study of {study.side or ''} {quote(study.nerve)}; add "
                             "'side' or a 'trace' selector", path=sheet.path, location="sensory")
        merged = _merge_sensory(study, hits[0], sheet) if hits else study
        out.append(_sensory_case_fields(merged, sheet))
    return motor, out
