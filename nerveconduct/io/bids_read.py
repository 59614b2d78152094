"""Read a BIDS-EMG dataset of motor nerve conduction studies back: :func:`read_bids`.

The layout is what :func:`nerveconduct.io.bids.write_bids` writes (``docs/formats.md``,
"BIDS-EMG"): each run's EDF+D file read by our EDF+D reader, its sidecars filling in and
overriding what the EDF says (differences listed in ``metadata["bids_conflicts"]``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..model import NerveStudy, SensoryStudy, Site
from ._kinds import StudyList
from ._ranges import check_range
from .bids import _ENTITY, STUDY_KEY
from .bids_sensory import sensory_sites_from_events
from .edf import read_edf
from .errors import FormatError, boundary, quote

__all__ = ["read_bids"]


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
        if key in ("nerve", "side", "muscle", "study_id", "direction", "recording_site"):
            if not isinstance(value, (str, type(None))):
                raise FormatError("must be a string or null", path=path, location=where)
            out[key] = value
        elif key == "f_wave_latency_ms" and value == "absent":
            out[key] = math.nan  # F-waves sought and absent
        elif key in ("temperature_c", "low_frequency_filter_hz", "f_wave_latency_ms") \
                and value is not None:
            out[key] = check_range(value, key, path=path, location=where)
    return out


def _events(path: Path) -> list[tuple[str, float | None, dict[str, Any]]]:
    """(location, onset in s or None, row) of each event."""
    events = []
    for loc, e in _read_tsv(path):
        try:
            onset = None if e.get("onset") is None else float(e["onset"])
        except ValueError:
            onset = math.nan
        if onset is not None and not math.isfinite(onset):
            raise FormatError(f"onset must be a finite number of seconds, got "
                              f"{quote(e['onset'])}", path=path, location=loc)
        events.append((loc, onset, e))
    return events


def _event_sites(path: Path, study: NerveStudy) -> list[Site]:
    """The sites with the name, distance and intensity of the event in each record."""
    sites, events = list(study.sites), _events(path)
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
                      study_id=values["study_id"], metadata=meta,
                      f_wave_traces=study.f_wave_traces,
                      f_wave_sampling_rate_hz=study.f_wave_sampling_rate_hz,
                      f_wave_stimulus_sample=study.f_wave_stimulus_sample,
                      stimulation_series=study.stimulation_series)


def _merge_sensory_run(study: SensoryStudy, edf: Path, root: Path) -> SensoryStudy:
    """A sensory study read from a run's EDF, completed (and overridden) by its sidecars."""
    stem = edf.with_name(edf.name[: -len("_emg.edf")])
    meta = dict(study.metadata)
    values: dict[str, Any] = {k: getattr(study, k) for k in (
        "nerve", "side", "direction", "recording_site", "temperature_c",
        "low_frequency_filter_hz", "study_id")}
    found: dict[str, Any] = {}
    side_json, events = Path(f"{stem}_emg.json"), Path(f"{stem}_events.tsv")
    if side_json.is_file():
        with boundary(FormatError, side_json, location="top level"):
            found = {k: v for k, v in _sidecar_values(side_json, study.sampling_rate_hz).items()
                     if k in values}
    sites = list(study.sites)
    if events.is_file():
        with boundary(FormatError, events, location="line 1"):
            sites = sensory_sites_from_events(study, _events(events), events)
    conflicts = [k for k, v in found.items() if v is not None and values[k] is not None
                 and not _same(values[k], v)]
    values.update({k: v for k, v in found.items() if v is not None})
    missing = [f for f in meta.get("missing_fields", []) if not (
        values.get(f) is not None or (f == "distances" and any(s.distance_mm is not None
                                                               for s in sites)))]
    meta.update({"format": "bids-emg", "source_file": edf.name, "missing_fields": missing,
                 "bids_path": edf.relative_to(root).as_posix(), "bids_entities": _entities(edf)})
    if conflicts:
        meta["bids_conflicts"] = conflicts
    return SensoryStudy(values.pop("nerve") or "unknown", values.pop("side"), sites,
                        study.traces, study.sampling_rate_hz,
                        stimulus_sample=study.stimulus_sample, polarity=study.polarity,
                        metadata=meta, **values)


def _run_key(path: Path) -> tuple[Any, ...]:
    ents = _entities(path)
    return ents["sub"], ents.get("ses", ""), ents["task"], int(ents.get("run", 0)), path.name


def read_bids(root: str | os.PathLike[str]) -> StudyList:
    """Read the nerve studies of a BIDS-EMG dataset (as :func:`write_bids` writes them).

    Parameters
    ----------
    root : path-like
        The dataset folder (holding ``dataset_description.json``).

    Returns
    -------
    StudyList
        The motor studies (runs of the task ``ncs``, F-wave trains attached) and, in
        ``.sensory``, the sensory studies (runs of ``sncs``): one per ``*_emg.edf`` run (ordered by subject, session, task, run), traces in mV,
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
    studies = StudyList()
    for edf in runs:
        found = read_edf(edf)
        studies += [_merge_run(s, edf, root) for s in found]
        studies.sensory += [_merge_sensory_run(s, edf, root) for s in found.sensory]
    return studies
