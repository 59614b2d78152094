"""``read``: any supported file -> nerve studies; ``read_case`` and ``read_many`` on top.

Readers return a :class:`~nerveconduct.io._kinds.StudyList`: the motor studies (with their
F-wave trains) as a list, the sensory studies in ``.sensory``; ``read_case`` puts them in
``Case.studies`` and ``Case.sensory``.

The format is detected from content (:func:`~nerveconduct.io.detect.detect_format`), the
file is read by its format's reader, and a study sheet, when given (or when the file *is* a
sheet naming its waveform files), fills what the file lacks.

Patient names and IDs never reach a study unless ``keep_identifiers=True``: readers replace
them with a stable pseudonym (:mod:`nerveconduct.io.pseudonym`) as ``study_id``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..model import IDENTIFIER_KEYS, Case, InvalidStudyError, NerveStudy
from ._kinds import StudyList, warn_sensory_sized, warn_unattached, with_train
from .pseudonym import source_key
from .detect import detect_format
from .edf import read_edf
from .errors import ArchiveError, FormatError, NerveConductIOError, SheetError, boundary
from .natus import read_natus_text
from .nihon_kohden import read_nihon_kohden_txt
from .sheet import SheetNerve, StudySheet, load_sheet, parse_sheet
from .sheet_apply import apply_sheet, apply_sheet_sensory
from .vendor import read_trace_csv

__all__ = ["read", "read_case", "read_many"]

PathLike = str | os.PathLike[str]
SheetLike = PathLike | StudySheet | Mapping[str, Any] | None
_SHEETS = ("sheet-json", "sheet-toml")
#: The named error of each waveform format: what escapes its reader is turned into it.
_FORMAT_ERRORS = {"trace-csv": FormatError, "nihon-kohden-txt": FormatError, "edf": FormatError,
                  "natus-txt": FormatError, "hdf5-archive": ArchiveError,
                  "bids-emg": FormatError}


def _as_sheet(sheet: SheetLike) -> StudySheet | None:
    if sheet is None or isinstance(sheet, StudySheet):
        return sheet
    if isinstance(sheet, Mapping):
        return parse_sheet(sheet)
    return load_sheet(sheet)


def _read_waveforms(path: Path, fmt: str, sheet: StudySheet | None, *, keep_identifiers: bool,
                    sampling_rate_hz: float | None, warn: bool = True) -> StudyList:
    """One waveform file's studies, the sheet applied; F-wave trains the file holds without
    their motor study are warned about (:class:`~._kinds.TraceKindWarning`) unless ``warn``
    is False (then kept in ``f_wave_trains``: a sheet's ``f_wave_file``)."""
    with boundary(_FORMAT_ERRORS.get(fmt, FormatError), path):  # the readers' last net
        found = _read_format(path, fmt, sheet, keep_identifiers=keep_identifiers,
                             sampling_rate_hz=sampling_rate_hz)
    studies, sensory = list(found), list(getattr(found, "sensory", ()))
    if sheet is not None:
        with boundary(SheetError, sheet.path):
            studies, sensory = apply_sheet_sensory(studies, sensory, sheet, source_file=path.name)
            studies = apply_sheet(studies, sheet, source_file=path.name)
    if not keep_identifiers:
        for study in (*studies, *sensory):
            for key in IDENTIFIER_KEYS:
                study.metadata.pop(key, None)
    warn_sensory_sized(studies, path.name if keep_identifiers else source_key(path))
    trains = list(getattr(found, "f_wave_trains", ()))
    if trains and warn:
        warn_unattached(trains, path.name if keep_identifiers else source_key(path))
    out = StudyList(studies, sensory, trains if not warn else ())
    out.case_inputs = dict(getattr(found, "case_inputs", {}))
    return out


def _read_format(path: Path, fmt: str, sheet: StudySheet | None, *, keep_identifiers: bool,
                 sampling_rate_hz: float | None) -> list[NerveStudy]:
    rate = sampling_rate_hz
    if rate is None and sheet is not None:
        rate = sheet.sampling_rate_for(path.name)
    if fmt == "trace-csv":
        studies = read_trace_csv(path, keep_identifiers=keep_identifiers, sampling_rate_hz=rate)
    elif fmt == "nihon-kohden-txt":
        studies = read_nihon_kohden_txt(path, keep_identifiers=keep_identifiers,
                                        sampling_rate_hz=rate)
    elif fmt == "natus-txt":
        studies = read_natus_text(path, keep_identifiers=keep_identifiers, sampling_rate_hz=rate)
    elif fmt == "edf":
        studies = read_edf(path, keep_identifiers=keep_identifiers)
    elif fmt == "bids-emg":
        from .bids_read import read_bids  # lazy: only when a BIDS dataset folder is read

        studies = read_bids(path)
    elif fmt == "values-csv":
        raise FormatError("a values table (the machine's numbers per site, no waveforms) holds "
                          "no nerve study to read: analyze it with nerveconduct.analysis."
                          "analyze_values (nerveconduct.io.read_values gives its arguments) or "
                          "'nerveconduct analyze --values FILE'", path=path, location="line 1")
    elif fmt == "hdf5-archive":
        from .archive import open_archive  # lazy: h5py only when an archive is read

        import h5py

        from ._archive_extra import read_case_inputs

        with open_archive(path) as archive:
            studies = StudyList(archive, archive.sensory_studies())
        with h5py.File(path, "r") as f:
            studies.case_inputs = read_case_inputs(f, path)
    else:  # pragma: no cover - detect_format returns only the formats above
        raise ValueError(f"unsupported format {fmt!r}")
    return studies


def read(path: PathLike, *, sheet: SheetLike = None, keep_identifiers: bool = False,
         sampling_rate_hz: float | None = None) -> StudyList:
    """Read every nerve study in a file of any supported format.

    Parameters
    ----------
    path : path-like
        A trace CSV export, Nihon Kohden or Natus text export, EDF/EDF+C/EDF+D file,
        nerveconduct HDF5 archive, a BIDS-EMG dataset folder (holding
        ``dataset_description.json``), or a JSON/TOML study sheet naming its waveform files
        (``nerves[].file``, relative to the sheet).
    sheet : path-like, StudySheet or mapping, optional
        A study sheet supplying what the file lacks (distances, nerve, temperature, ...).
    keep_identifiers : bool, default False
        Keep patient names/IDs in ``metadata`` (``patient_name``, ``patient_id``); by default
        they are dropped and ``study_id`` is a stable pseudonym.
    sampling_rate_hz : float, optional
        Sampling rate (Hz) for text exports that state none (a sheet's
        ``sampling_rate_hz`` serves too).

    Returns
    -------
    StudyList
        The motor studies (a list of NerveStudy, with their F-wave trains), and the sensory
        studies (:class:`~nerveconduct.model.SensoryStudy`) in its ``.sensory``
        (:func:`read_case` puts them in ``Case.sensory``). Traces in mV, physical polarity;
        what the file lacks is ``None`` (distances) and listed in
        ``metadata["missing_fields"]``; ``metadata["source_file"]`` (base name) and
        ``metadata["format"]`` say where each came from.

    Raises
    ------
    UnknownFormatError
        Content matches no supported format (empty, binary garbage, ...).
    FormatError, SheetError, ArchiveError
        Malformed content, naming the file and line/record.
    InvalidStudyError
        The file reads but describes an impossible study.

    Examples
    --------
    >>> from nerveconduct.simulate.samples import sample_path
    >>> [(s.nerve, s.sites[0].distance_mm) for s in read(sample_path("normal_case.json"))]
    [('median', 70.0), ('ulnar', 70.0)]
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt in _SHEETS:
        if sheet is not None:
            raise ValueError(f"{path} is itself a study sheet; do not pass sheet= as well")
        return _read_sheet_files(load_sheet(path), keep_identifiers=keep_identifiers,
                                 sampling_rate_hz=sampling_rate_hz)
    return _read_waveforms(path, fmt, _as_sheet(sheet), keep_identifiers=keep_identifiers,
                           sampling_rate_hz=sampling_rate_hz)


def _read_sheet_files(sheet: StudySheet, *, keep_identifiers: bool,
                      sampling_rate_hz: float | None) -> StudyList:
    files: list[str] = []
    for entry in (*sheet.nerves, *sheet.sensory):
        if entry.file and entry.file not in files:
            files.append(entry.file)
    if not files and sheet.values:
        return StudyList()  # the machine's numbers only ([[values]]): no waveform to read
    if not files:
        raise SheetError("the sheet names no waveform file (nerves[].file); pass it as "
                         "read(waveform_file, sheet=...) instead", path=sheet.path,
                         location="nerves")
    base = sheet.path.parent if sheet.path is not None else Path.cwd()
    studies = StudyList()
    for name in files:
        target = base / name
        entry = next(e for e in (*sheet.nerves, *sheet.sensory) if e.file == name)
        index = f"{'nerves' if isinstance(entry, SheetNerve) else 'sensory'}[{entry.index}]"
        try:
            found = target.is_file()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise SheetError(f"waveform file name of {len(name)} characters cannot be looked "
                             f"up ({exc.strerror})", path=sheet.path,
                             location=f"{index}.file") from None
        if not found:
            raise SheetError(f"waveform file {name!r} not found (looked for {target})",
                             path=sheet.path, location=f"{index}.file")
        fmt = detect_format(target)
        if fmt in _SHEETS:
            raise SheetError(f"{name!r} is a sheet, not a waveform file", path=sheet.path)
        studies.extend_with(_read_waveforms(target, fmt, sheet, keep_identifiers=keep_identifiers,
                                            sampling_rate_hz=sampling_rate_hz))
    for entry in sheet.nerves:
        if entry.f_wave_file:
            _attach_f_wave_file(studies, entry, sheet, base, keep_identifiers=keep_identifiers,
                                sampling_rate_hz=sampling_rate_hz)
    return studies


def _attach_f_wave_file(studies: StudyList, entry: Any, sheet: StudySheet, base: Path, *,
                        keep_identifiers: bool, sampling_rate_hz: float | None) -> None:
    """Read ``entry.f_wave_file`` and give its train to the study of ``entry``.

    The train is the file's F-wave train when it marks one, else every trace of its single
    nerve (one trace per stimulus).

    Raises
    ------
    SheetError
        The file is missing, holds no train or several nerves, or no study came from the entry.
    """
    where = f"nerves[{entry.index}].f_wave_file"
    target = base / entry.f_wave_file
    if not target.is_file():
        raise SheetError(f"F-wave file {entry.f_wave_file!r} not found (looked for {target})",
                         path=sheet.path, location=where)
    found = _read_waveforms(target, detect_format(target), None, keep_identifiers=keep_identifiers,
                            sampling_rate_hz=sampling_rate_hz, warn=False)
    if len(found.f_wave_trains) == 1 and not found:
        train = found.f_wave_trains[0]
        traces, rate, stim = train["traces"], train["sampling_rate_hz"], train["stimulus_sample"]
    elif len(found) == 1 and not found.f_wave_trains:
        traces, rate, stim = found[0].traces, found[0].sampling_rate_hz, found[0].stimulus_sample
    else:
        raise SheetError(f"the F-wave file must hold one train (or the traces of one nerve), "
                         f"got {len(found)} nerve(s) and {len(found.f_wave_trains)} train(s)",
                         path=sheet.path, location=where)
    hits = [i for i, st in enumerate(studies) if st.metadata.get("sheet_entry") == entry.index]
    if len(hits) != 1:
        raise SheetError(f"no single study comes from this entry to give its F-wave train to "
                         f"(found {len(hits)}); name its waveform file in 'file'", path=sheet.path,
                         location=where)
    st = studies[hits[0]]
    meta = dict(st.metadata, f_wave_file=entry.f_wave_file if keep_identifiers
                else source_key(entry.f_wave_file))
    studies[hits[0]] = with_train(st, traces, rate, stim, metadata=meta)


def read_many(paths: Iterable[PathLike], *, sheet: SheetLike = None,
              keep_identifiers: bool = False, sampling_rate_hz: float | None = None,
              ) -> tuple[StudyList, list[tuple[str, Exception]]]:
    """Read many files; a bad file is reported and skipped, the others are read.

    Returns
    -------
    studies : StudyList
        Every motor study of every file that could be read, in file order; their sensory
        studies in ``studies.sensory``.
    failures : list of (str, Exception)
        The path and the named error (:class:`NerveConductIOError`,
        :class:`InvalidStudyError` or :class:`OSError`) of each file that could not.
    """
    sheet_obj = _as_sheet(sheet)
    studies = StudyList()
    failures: list[tuple[str, Exception]] = []
    for p in paths:
        try:
            if sheet_obj is not None and detect_format(p) not in _SHEETS:
                found = _read_waveforms(Path(p), detect_format(p), sheet_obj,
                                        keep_identifiers=keep_identifiers,
                                        sampling_rate_hz=sampling_rate_hz)
            else:
                found = read(p, keep_identifiers=keep_identifiers,
                             sampling_rate_hz=sampling_rate_hz)
            studies.extend_with(found)
        except (NerveConductIOError, InvalidStudyError, OSError) as exc:
            failures.append((str(p), exc))
    return studies, failures


def read_case(path_or_paths: PathLike | Sequence[PathLike], *, sheet: SheetLike = None,
              keep_identifiers: bool = False, sampling_rate_hz: float | None = None) -> Case:
    """Read one patient's work-up: studies plus the sheet's clinical and paraprotein context.

    Parameters
    ----------
    path_or_paths : path-like or sequence of path-likes
        A sheet naming its waveform files, or waveform files (a sheet among them, or given as
        ``sheet``, fills what they lack).
    sheet, keep_identifiers, sampling_rate_hz
        As for :func:`read`.

    Returns
    -------
    Case
        The motor ``studies`` and the ``sensory`` studies of every file; ``case_id`` from the sheet (else the first study's pseudonymous ``study_id``),
        ``clinical``, ``mmn``, ``paraprotein``, ``study_date`` and the patient/study details
        (``StudySheet.case_details()``: age, height, sex, indication, physicians, technician,
        impression, notes) from the sheet, ``source`` = the files' base names.

    Raises
    ------
    ValueError
        More than one sheet given.
    NerveConductIOError, InvalidStudyError
        As for :func:`read`; the first bad file stops the case.
    """
    if isinstance(path_or_paths, (str, os.PathLike)):
        paths = [Path(path_or_paths)]
    else:
        paths = [Path(p) for p in path_or_paths]
    sheets = [p for p in paths if detect_format(p) in _SHEETS]
    waveforms = [p for p in paths if p not in sheets]
    if len(sheets) + (sheet is not None) > 1:
        raise ValueError(f"one study sheet per case, got {len(sheets) + (sheet is not None)}")
    sheet_obj = load_sheet(sheets[0]) if sheets else _as_sheet(sheet)
    if waveforms:
        studies = StudyList()
        for p in waveforms:
            studies.extend_with(_read_waveforms(p, detect_format(p), sheet_obj,
                                                keep_identifiers=keep_identifiers,
                                                sampling_rate_hz=sampling_rate_hz))
    elif sheet_obj is not None:
        studies = _read_sheet_files(sheet_obj, keep_identifiers=keep_identifiers,
                                    sampling_rate_hz=sampling_rate_hz)
    else:
        raise ValueError("read_case needs at least one file")
    first = studies[0] if studies else (studies.sensory[0] if studies.sensory else None)
    case_id = (sheet_obj.case_id if sheet_obj and sheet_obj.case_id else
               (first.study_id if first else None))
    stored = studies.case_inputs.get(str(case_id), {}) if case_id is not None else {}
    date = sheet_obj.study_date if sheet_obj and sheet_obj.study_date else (
        first.metadata.get("study_date") if first else None)
    return Case(
        studies=list(studies),
        sensory=list(studies.sensory),
        case_id=case_id,
        clinical=dict(sheet_obj.clinical) if sheet_obj else {},
        mmn=dict(sheet_obj.mmn) if sheet_obj else {},
        cidp=dict(sheet_obj.cidp) if sheet_obj and sheet_obj.cidp else dict(stored.get("cidp", {})),
        paraprotein=dict(sheet_obj.paraprotein) if sheet_obj else {},
        study_date=date,
        source=", ".join(p.name for p in paths),
        **(sheet_obj.case_details() if sheet_obj else {}),
    )
