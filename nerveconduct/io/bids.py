"""BIDS-EMG datasets of motor nerve conduction studies: :func:`write_bids`, :func:`read_bids`.

BIDS >= 1.11 has the ``emg`` datatype. One nerve study is one run of the task ``ncs``:
``sub-<label>/[ses-<label>/]emg/sub-<label>[_ses-<label>]_task-ncs_run-<n>_emg.edf`` is an
EDF+D file with one data record per stimulation site (written by
:func:`~nerveconduct.io.edf_write.write_edf`), beside its ``_emg.json`` sidecar,
``_channels.tsv``, ``_events.tsv`` (one stimulus per site) and ``_events.json``. Because every
record is a stimulus-locked sweep of one length with gaps between sweeps, the sidecar says
``RecordingType: "epoched"`` (the specification's definition) with ``EpochLength``. Our
measures go to ``derivatives/nerveconduct/``. Subject labels are pseudonyms; no patient field
is written. ``docs/formats.md`` ("BIDS-EMG") lists every file and field.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..model import IDENTIFIER_KEYS, Case, NerveStudy, Site
from ._atomic import atomic_write
from ._ranges import check_range
from .edf import read_edf, write_edf
from .errors import FormatError, boundary, quote

__all__ = ["BIDS_VERSION", "TASK_LABEL", "write_bids", "read_bids"]

#: The BIDS release whose EMG rules the files follow (EMG arrived in 1.11.0).
BIDS_VERSION = "1.11.1"
#: Task label of every run (``TaskName`` in the sidecar).
TASK_LABEL = "ncs"
#: Our object in ``_emg.json``: what BIDS has no field for (BIDS invites such extra metadata).
STUDY_KEY = "NerveConductionStudy"
_LABEL = re.compile(r"[0-9a-zA-Z+]+")
_ENTITY = re.compile(r"([a-z]+)-([0-9a-zA-Z+]+)")
_EVENT_COLUMNS = ("onset", "duration", "trial_type", "site", "distance_mm",
                  "stimulus_intensity_ma")
_EVENTS_JSON = {k: {"Description": d, **({"Units": u} if u else {})} for k, d, u in (
    ("onset", "Stimulus time from the file start (record start + stimulus offset).", "s"),
    ("duration", "Zero: the electrical stimulus is modelled as an impulse.", "s"),
    ("trial_type", "Stimulation site name (the same as 'site').", None),
    ("site", "Stimulation site name as recorded, distal first; one EDF+D record each.", None),
    ("distance_mm", "Machine convention: most distal site, stimulation point to active "
                    "recording electrode; any other, segment length from the next more distal "
                    "site.", "mm"),
    ("stimulus_intensity_ma", "Stimulus intensity.", "mA"))}
_PLACEMENT = ("Belly-tendon montage of motor nerve conduction studies: active electrode over "
              "the motor point (belly) of the target muscle, reference electrode over its tendon.")


def _label(text: Any, what: str) -> str:
    label = "".join(_LABEL.findall(str(text or "")))
    if not label:
        raise ValueError(f"{what} label must hold letters or digits (BIDS labels are "
                         f"[0-9a-zA-Z+]), got {quote(str(text or ''))}")
    return label


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else repr(value)
    return re.sub(r"[\t\r\n]+", " ", str(value))


def _tsv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(row.get(c)) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str, overwrite: bool) -> Path:
    with atomic_write(path, overwrite=overwrite, newline="") as fh:
        fh.write(text)
    return path


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _deidentified(study: NerveStudy) -> NerveStudy:
    """A copy without patient fields (the EDF writer writes those it finds in metadata)."""
    clean = copy.copy(study)
    clean.metadata = {k: v for k, v in study.metadata.items()
                      if k not in IDENTIFIER_KEYS and not k.startswith("_")}
    return clean


def _subjects(studies_or_case: Any, subject: str | None) -> list[tuple[str, list[NerveStudy]]]:
    """(label, studies) per subject: ``subject`` for all, else one per pseudonymous study_id."""
    default = None
    if isinstance(studies_or_case, Case):
        studies, default = list(studies_or_case.studies), studies_or_case.case_id
    elif isinstance(studies_or_case, NerveStudy):
        studies = [studies_or_case]
    else:
        studies = list(studies_or_case)
    if not studies or not all(isinstance(s, NerveStudy) for s in studies):
        raise ValueError("write_bids needs NerveStudy objects (or a Case), got "
                         + ("none" if not studies else "other objects"))
    if subject is not None or default is not None:
        return [(_label(subject if subject is not None else default, "subject"), studies)]
    groups: dict[str, list[NerveStudy]] = {}
    for s in studies:
        if not s.study_id:
            raise ValueError("a study without study_id: pass subject= (a pseudonym)")
        groups.setdefault(_label(s.study_id, "subject"), []).append(s)
    return list(groups.items())


def _emg_sidecar(study: NerveStudy, n_records: int, duration_s: float,
                 power_line_frequency_hz: float | None) -> dict[str, Any]:
    lff = study.low_frequency_filter_hz
    fwave = study.f_wave_latency_ms
    return {
        "TaskName": TASK_LABEL,
        "TaskDescription": "Motor nerve conduction study: supramaximal electrical stimulation "
                           "of a nerve at several sites, compound muscle action potential "
                           "(CMAP) recorded over a muscle; one EDF+D data record per site.",
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": _PLACEMENT,
        "EMGReference": "Tendon electrode of the belly-tendon montage (see "
                        "EMGPlacementSchemeDescription).",
        "SamplingFrequency": study.sampling_rate_hz,
        "PowerLineFrequency": "n/a" if power_line_frequency_hz is None else power_line_frequency_hz,
        "RecordingType": "epoched",
        "EpochLength": duration_s,
        "SoftwareFilters": "n/a",
        "HardwareFilters": ("n/a" if lff is None else
                            {"High-pass filter": {"Half amplitude cutoff (Hz)": lff}}),
        "EMGChannelCount": 1,
        "RecordingDuration": n_records * duration_s,
        STUDY_KEY: {
            "nerve": study.nerve, "side": study.side, "muscle": study.muscle,
            "temperature_c": study.temperature_c, "low_frequency_filter_hz": lff,
            "f_wave_latency_ms": "absent" if fwave is not None and math.isnan(fwave) else fwave,
            "stimulus_sample": study.stimulus_sample, "study_id": study.study_id,
            "n_sites": study.n_sites,
        },
    }


def _channel_row(study: NerveStudy, label: str) -> dict[str, Any]:
    where = " ".join(x for x in (study.side, study.nerve) if x)
    return {"name": label, "type": "EMG", "units": "mV",
            "description": f"CMAP, {where} nerve stimulated".strip(),
            "sampling_frequency": study.sampling_rate_hz,
            "low_cutoff": study.low_frequency_filter_hz, "high_cutoff": None,
            "reference": "tendon electrode (belly-tendon montage)",
            "target_muscle": study.muscle, "status": "good"}


_CHANNEL_COLUMNS = ("name", "type", "units", "description", "sampling_frequency", "low_cutoff",
                    "high_cutoff", "reference", "target_muscle", "status")


def _participants(root: Path, labels: Sequence[str]) -> str:
    """participants.tsv text: the rows already there (any columns) plus the new pseudonyms."""
    path = root / "participants.tsv"
    header, rows = ["participant_id"], []
    if path.is_file():
        lines = [ln.split("\t") for ln in path.read_text(encoding="utf-8").splitlines() if ln]
        if not lines or lines[0][0] != "participant_id":
            raise ValueError(f"{path} exists but its first column is not participant_id")
        header, rows = lines[0], [dict(zip(lines[0], ln)) for ln in lines[1:]]
    known = {r.get("participant_id") for r in rows}
    rows += [{"participant_id": f"sub-{x}"} for x in labels if f"sub-{x}" not in known]
    return _tsv(header, rows)


def write_bids(studies_or_case: NerveStudy | Sequence[NerveStudy] | Case,
               root: str | os.PathLike[str], *, subject: str | None = None,
               session: str | None = None, overwrite: bool = False, derivatives: bool = True,
               power_line_frequency_hz: float | None = None) -> list[Path]:
    """Write nerve studies as a BIDS-EMG dataset (one EDF+D run per nerve study).

    Parameters
    ----------
    studies_or_case : NerveStudy, sequence of NerveStudy or Case
        The studies (traces in mV). A Case's ``case_id`` is the default subject label.
    root : path-like
        Dataset folder (created if missing). An existing ``dataset_description.json`` is kept
        and ``participants.tsv`` gains the new subjects, so patients can be added one by one.
    subject : str, optional
        Subject label, a pseudonym (only ``[0-9a-zA-Z+]`` are kept). Default: the Case's
        ``case_id``, else one subject per pseudonymous ``study_id``.
    session : str, optional
        Session label (adds ``ses-<label>``).
    overwrite : bool, default False
        Replace the subject's files that exist; otherwise nothing is written if one exists.
    derivatives : bool, default True
        Also analyze the studies and write per-site and per-segment measures under
        ``derivatives/nerveconduct/`` (columns as in ``docs/output-fields.md``).
    power_line_frequency_hz : float, optional
        Mains frequency (Hz) where the studies were recorded; ``"n/a"`` when not given.

    Returns
    -------
    list of Path
        Every file written.

    Raises
    ------
    FileExistsError
        A file of these runs exists and ``overwrite`` is False (nothing is written).
    ValueError
        No studies, a label without letters or digits, a study without ``study_id`` and no
        ``subject``, a power-line frequency <= 0 Hz, or a study EDF cannot hold.
    """
    root = Path(root)
    if power_line_frequency_hz is not None and not power_line_frequency_hz > 0:
        raise ValueError(f"power_line_frequency_hz must be > 0 Hz, got {power_line_frequency_hz!r}")
    groups = _subjects(studies_or_case, subject)
    ses = None if session is None else _label(session, "session")
    plan = []  # (folder, stem, study)
    for label, studies in groups:
        folder = root / f"sub-{label}" / (f"ses-{ses}" if ses else "") / "emg"
        prefix = f"sub-{label}" + (f"_ses-{ses}" if ses else "")
        plan += [(folder, f"{prefix}_task-{TASK_LABEL}_run-{n}", s)
                 for n, s in enumerate(studies, 1)]
    suffixes = ("_emg.edf", "_emg.json", "_channels.tsv", "_events.tsv", "_events.json")
    if not overwrite:
        taken = [f / (stem + x) for f, stem, _ in plan for x in suffixes
                 if (f / (stem + x)).exists()]
        if taken:
            raise FileExistsError(f"{taken[0]} exists ({len(taken)} file(s) of these runs do); "
                                  "overwrite replaces them")
    participants = _participants(root, [label for label, _ in groups])
    written: list[Path] = []
    for folder, stem, study in plan:
        folder.mkdir(parents=True, exist_ok=True)
        edf = write_edf(folder / f"{stem}_emg.edf", _deidentified(study), overwrite=overwrite)
        (back,) = read_edf(edf)  # the record start times and channel label as written
        rate = study.sampling_rate_hz
        duration_s = study.traces.shape[1] / rate
        onsets = back.metadata["record_onsets_s"]
        events = [{"onset": round(t + study.stimulus_sample / rate, 9), "duration": 0.0,
                   "trial_type": site.name, "site": site.name, "distance_mm": site.distance_mm,
                   "stimulus_intensity_ma": site.stimulus_intensity_ma}
                  for t, site in zip(onsets, study.sites)]
        texts = {"_emg.json": _json(_emg_sidecar(study, len(onsets), duration_s,
                                                 power_line_frequency_hz)),
                 "_channels.tsv": _tsv(_CHANNEL_COLUMNS,
                                       [_channel_row(study, back.metadata["signal_label"])]),
                 "_events.tsv": _tsv(_EVENT_COLUMNS, events),
                 "_events.json": _json(_EVENTS_JSON)}
        written.append(edf)
        written += [_write_text(folder / (stem + x), t, overwrite) for x, t in texts.items()]
    if derivatives:
        written += _write_derivatives(root, plan, overwrite)
    if not (root / "dataset_description.json").exists():
        written.append(_write_text(root / "dataset_description.json", _description(
            "Motor nerve conduction studies", "raw"), False))
    written.append(_write_text(root / "participants.tsv", participants, True))
    return written


def _description(name: str, kind: str) -> str:
    from .. import __version__

    return _json({"Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": kind,
                  "GeneratedBy": [{"Name": "nerveconduct", "Version": __version__}]})


def _write_derivatives(root: Path, plan: list[tuple[Path, str, NerveStudy]],
                       overwrite: bool) -> list[Path]:
    """Per-site and per-segment measures of every run (read-only use of the analysis)."""
    from ..analysis import analyze_nerves
    from ..serialize.rows import segment_columns, segment_rows, site_columns, site_rows

    base = root / "derivatives" / "nerveconduct"
    results = analyze_nerves([study for _, _, study in plan])
    written = []
    for (folder, stem, _), result in zip(plan, results, strict=True):
        out = base / folder.relative_to(root)
        out.mkdir(parents=True, exist_ok=True)
        source = (folder / f"{stem}_emg.edf").relative_to(root).as_posix()
        for desc, columns, rows in (
                ("sites", site_columns(), site_rows(result, source=source)),
                ("segments", segment_columns(), segment_rows(result, source=source))):
            written.append(_write_text(out / f"{stem}_desc-{desc}_measures.tsv",
                                       _tsv(columns, rows), overwrite))
    if not (base / "dataset_description.json").exists():
        written.append(_write_text(base / "dataset_description.json", _description(
            "nerveconduct measures", "derivative"), False))
    return written


# ------------------------------------------------------------------------------ reading
def _read_tsv(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    """(location, row) per data line; ``n/a`` and empty cells read as None."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t") if lines else []
    rows = []
    for i, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if line.strip() and len(cells) != len(header):
            raise FormatError(f"{len(cells)} cells but the header has {len(header)}",
                              path=path, location=f"line {i}")
        if line.strip():
            rows.append((f"line {i}", {k: v if v not in ("n/a", "") else None
                                       for k, v in zip(header, cells)}))
    return rows


def _entities(path: Path) -> dict[str, str]:
    parts = path.name.split("_")[:-1]
    found = dict(m.groups() for m in map(_ENTITY.fullmatch, parts) if m)
    if len(found) != len(parts) or "sub" not in found or "task" not in found:
        raise FormatError("file name is not sub-<label>[_ses-<label>]_task-<label>[_...]_emg.edf",
                          path=path, location="file name")
    return found


def _sidecar_values(path: Path, rate_hz: float) -> dict[str, Any]:
    """Our ``NerveConductionStudy`` fields of ``_emg.json`` (after checking its rate)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    ours = data.get(STUDY_KEY) or {} if isinstance(data, dict) else None
    if not isinstance(ours, dict):
        raise FormatError("must be a JSON object", path=path, location=STUDY_KEY if
                          isinstance(data, dict) else "top level")
    rate = data.get("SamplingFrequency")
    if rate is not None and not math.isclose(float(rate), rate_hz, rel_tol=1e-6):
        raise FormatError(f"SamplingFrequency {quote(rate)} Hz differs from the EDF's "
                          f"{rate_hz:g} Hz", path=path, location="SamplingFrequency")
    out: dict[str, Any] = {}
    for key, value in ours.items():
        where = f"{STUDY_KEY}.{key}"
        if key in ("nerve", "side", "muscle", "study_id"):
            if not isinstance(value, (str, type(None))):
                raise FormatError("must be a string or null", path=path, location=where)
            out[key] = value
        elif key == "f_wave_latency_ms" and value == "absent":
            out[key] = math.nan  # F-waves sought and absent
        elif key in ("temperature_c", "low_frequency_filter_hz", "f_wave_latency_ms") \
                and value is not None:
            out[key] = check_range(value, key, path=path, location=where)
    return out


def _event_sites(path: Path, study: NerveStudy) -> list[Site]:
    """The sites with the name, distance and intensity of the event in each record."""
    sites, events = list(study.sites), []
    for loc, e in _read_tsv(path):
        try:
            onset = None if e.get("onset") is None else float(e["onset"])
        except ValueError:
            onset = math.nan
        if onset is not None and not math.isfinite(onset):
            raise FormatError(f"onset must be a finite number of seconds, got "
                              f"{quote(e['onset'])}", path=path, location=loc)
        events.append((loc, onset, e))
    record_s = study.traces.shape[1] / study.sampling_rate_hz
    for k, start in enumerate(study.metadata["record_onsets_s"]):
        hits = [(loc, e) for loc, t, e in events
                if t is not None and start - 1e-9 <= t < start + record_s]
        if len(hits) > 1:
            raise FormatError(f"{len(hits)} events fall in data record {k}; one stimulus per "
                              "record (site) is expected", path=path, location=hits[1][0])
        if hits:
            loc, e = hits[0]
            dist, amp = (None if e.get(q) is None else check_range(e[q], q, path=path,
                                                                   location=loc)
                         for q in ("distance_mm", "stimulus_intensity_ma"))
            sites[k] = Site(e.get("site") or e.get("trial_type") or sites[k].name,
                            sites[k].distance_mm if dist is None else dist,
                            sites[k].stimulus_intensity_ma if amp is None else amp)
    return sites


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b) or (math.isnan(a) and math.isnan(b))
    return a == b


def _merge_run(study: NerveStudy, edf: Path, root: Path) -> NerveStudy:
    """The study read from the EDF, completed (and overridden) by the BIDS sidecars."""
    stem = edf.with_name(edf.name[: -len("_emg.edf")])
    meta = dict(study.metadata)
    values = {"nerve": study.nerve, "side": study.side, "muscle": study.muscle,
              "temperature_c": study.temperature_c, "study_id": study.study_id,
              "low_frequency_filter_hz": study.low_frequency_filter_hz,
              "f_wave_latency_ms": study.f_wave_latency_ms}
    found: dict[str, Any] = {}
    side_json, channels, events = (Path(f"{stem}_{x}") for x in
                                   ("emg.json", "channels.tsv", "events.tsv"))
    if side_json.is_file():
        with boundary(FormatError, side_json, location="top level"):
            found.update(_sidecar_values(side_json, study.sampling_rate_hz))
    if channels.is_file():
        with boundary(FormatError, channels, location="line 1"):
            for loc, row in _read_tsv(channels):
                if row.get("name") == meta.get("signal_label"):
                    found["muscle"] = row.get("target_muscle") or found.get("muscle")
                    if row.get("low_cutoff") is not None:
                        found["low_frequency_filter_hz"] = check_range(
                            row["low_cutoff"], "low_frequency_filter_hz", path=channels,
                            location=loc)
    sites = list(study.sites)
    if events.is_file():
        with boundary(FormatError, events, location="line 1"):
            sites = _event_sites(events, study)
    conflicts = [k for k, v in found.items() if v is not None and values[k] is not None
                 and not _same(values[k], v)]
    conflicts += [f"sites[{k}].distance_mm" for k, (a, b) in enumerate(zip(study.sites, sites))
                  if None not in (a.distance_mm, b.distance_mm)
                  and not _same(a.distance_mm, b.distance_mm)]
    values.update({k: v for k, v in found.items() if v is not None})
    missing = [f for f in meta.get("missing_fields", []) if not (
        values.get(f) is not None or (f == "site_names" and events.is_file())
        or (f == "distances" and any(s.distance_mm is not None for s in sites)))]
    meta.update({"format": "bids-emg", "source_file": edf.name, "missing_fields": missing,
                 "bids_path": edf.relative_to(root).as_posix(), "bids_entities": _entities(edf)})
    if conflicts:
        meta["bids_conflicts"] = conflicts
    return NerveStudy(values["nerve"] or "unknown", values["side"], values["muscle"], sites,
                      study.traces, study.sampling_rate_hz,
                      stimulus_sample=study.stimulus_sample, polarity=study.polarity,
                      temperature_c=values["temperature_c"],
                      low_frequency_filter_hz=values["low_frequency_filter_hz"],
                      f_wave_latency_ms=values["f_wave_latency_ms"],
                      study_id=values["study_id"], metadata=meta)


def _run_key(path: Path) -> tuple[Any, ...]:
    ents = _entities(path)
    return ents["sub"], ents.get("ses", ""), ents["task"], int(ents.get("run", 0)), path.name


def read_bids(root: str | os.PathLike[str]) -> list[NerveStudy]:
    """Read the nerve studies of a BIDS-EMG dataset (as :func:`write_bids` writes them).

    Parameters
    ----------
    root : path-like
        The dataset folder (holding ``dataset_description.json``).

    Returns
    -------
    list of NerveStudy
        One per ``*_emg.edf`` run (ordered by subject, session, task, run), traces in mV,
        read by our EDF+D reader; ``_emg.json``, ``_channels.tsv`` and ``_events.tsv``
        complete and take precedence over what the EDF says (a difference is listed in
        ``metadata["bids_conflicts"]``). ``metadata["format"]`` is ``"bids-emg"``,
        ``metadata["bids_path"]`` the run's path in the dataset and
        ``metadata["bids_entities"]`` its entities (``sub``, ``ses``, ``task``, ``run``).

    Raises
    ------
    FormatError
        No ``dataset_description.json`` or no ``*_emg.edf`` run, a BDF run, a malformed
        sidecar, TSV or EDF file (named, with the line, field or record).
    """
    root = Path(root)
    description = root / "dataset_description.json"
    if not description.is_file():
        raise FormatError("not a BIDS dataset: dataset_description.json is missing",
                          path=root, location="dataset_description.json")
    with boundary(FormatError, description, location="top level"):
        if not isinstance(json.loads(description.read_text(encoding="utf-8")), dict):
            raise FormatError("must be a JSON object", path=description, location="top level")
    pattern = ("sub-*/emg/*_emg.{}", "sub-*/ses-*/emg/*_emg.{}")
    bdf = [p for g in pattern for p in root.glob(g.format("bdf"))]
    if bdf:
        raise FormatError("BDF (24-bit) runs are not supported; only 16-bit EDF/EDF+",
                          path=bdf[0], location="header")
    runs = sorted({p for g in pattern for p in root.glob(g.format("edf"))}, key=_run_key)
    if not runs:
        raise FormatError("no sub-*/[ses-*/]emg/*_emg.edf run in the dataset", path=root,
                          location="sub-*/emg")
    studies = []
    for edf in runs:
        studies += [_merge_run(s, edf, root) for s in read_edf(edf)]
    return studies
