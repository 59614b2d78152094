"""BIDS-EMG datasets of motor nerve conduction studies: :func:`write_bids` (reading: :mod:`.bids_read`).

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
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..model import IDENTIFIER_KEYS, Case, NerveStudy, SensoryStudy
from ._atomic import atomic_write
from ._kinds import TraceKindWarning
from .bids_sensory import (SENSORY_TASK_LABEL, recording_fields, sensory_channel_row,
                           sensory_events, sensory_sidecar)
from .edf import read_edf, write_edf
from .errors import quote

__all__ = ["BIDS_VERSION", "TASK_LABEL", "STUDY_KEY", "write_bids"]

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
    """A copy without patient fields (the EDF writer writes those it finds in metadata), and
    without an F-wave train recorded at another rate than the CMAPs (one EDF+D file holds
    one rate: the train is left out, with a :class:`~._kinds.TraceKindWarning`)."""
    clean = copy.copy(study)
    clean.metadata = {k: v for k, v in study.metadata.items()
                      if k not in IDENTIFIER_KEYS and not k.startswith("_")}
    if getattr(study, "f_wave_traces", None) is not None and \
            study.f_wave_sampling_rate_hz != study.sampling_rate_hz:
        warnings.warn(f"the F-wave train of {' '.join(filter(None, (study.side, study.nerve)))} is left out of its "
                      f"BIDS run: recorded at {study.f_wave_sampling_rate_hz:g} Hz, its CMAPs at "
                      f"{study.sampling_rate_hz:g} Hz (one EDF+D file holds one rate)",
                      TraceKindWarning, stacklevel=3)
        clean.f_wave_traces, clean.f_wave_sampling_rate_hz = None, None
    return clean


def _subjects(studies_or_case: Any, subject: str | None) -> list[tuple[str, list[NerveStudy]]]:
    """(label, studies) per subject: ``subject`` for all, else one per pseudonymous study_id."""
    default = None
    if isinstance(studies_or_case, Case):
        studies = [*studies_or_case.studies, *studies_or_case.sensory]
        default = studies_or_case.case_id
    elif isinstance(studies_or_case, (NerveStudy, SensoryStudy)):
        studies = [studies_or_case]
    else:
        studies = list(studies_or_case)
    if not studies or not all(isinstance(s, (NerveStudy, SensoryStudy)) for s in studies):
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
        **recording_fields(study, n_records, duration_s, power_line_frequency_hz),
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


def write_bids(studies_or_case: Any,
               root: str | os.PathLike[str], *, subject: str | None = None,
               session: str | None = None, overwrite: bool = False,
               derivatives: Callable[[list[NerveStudy], list[str]], list[dict[str, Any]]] | None = None,
               power_line_frequency_hz: float | None = None) -> list[Path]:
    """Write nerve studies as a BIDS-EMG dataset (one EDF+D run per nerve study).

    Parameters
    ----------
    studies_or_case : NerveStudy, SensoryStudy, a sequence of them, or Case
        The studies (traces in mV). A Case's ``case_id`` is the default subject label. Motor
        studies are runs of the task ``ncs`` (their F-wave trains, at the CMAPs' rate, in the
        same file after the sites), sensory studies runs of the task ``sncs``.
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
    derivatives : callable, optional
        Measures to write under ``derivatives/nerveconduct/``: called with the studies and
        each one's EDF path (relative to ``root``), it returns per study
        ``{desc: (columns, rows)}`` tables, written as ``…_desc-<desc>_measures.tsv``.
        :func:`nerveconduct.serialize.bids_measures` gives the per-site and per-segment
        measures (what ``nerveconduct export-bids`` writes). None: raw data only.
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
        motor = [s for s in studies if isinstance(s, NerveStudy)]
        sensory = [s for s in studies if isinstance(s, SensoryStudy)]
        plan += [(folder, f"{prefix}_task-{TASK_LABEL}_run-{n}", s)
                 for n, s in enumerate(motor, 1)]
        plan += [(folder, f"{prefix}_task-{SENSORY_TASK_LABEL}_run-{n}", s)
                 for n, s in enumerate(sensory, 1)]
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
        if isinstance(study, SensoryStudy):
            written += _write_sensory_run(folder, stem, study, overwrite, power_line_frequency_hz)
            continue
        clean = _deidentified(study)
        edf = write_edf(folder / f"{stem}_emg.edf", clean, overwrite=overwrite)
        (back,) = read_edf(edf)  # the record start times and channel label as written
        rate = study.sampling_rate_hz
        duration_s = study.traces.shape[1] / rate
        onsets = back.metadata["record_onsets_s"]
        events = [{"onset": round(t + study.stimulus_sample / rate, 9), "duration": 0.0,
                   "trial_type": site.name, "site": site.name, "distance_mm": site.distance_mm,
                   "stimulus_intensity_ma": site.stimulus_intensity_ma}
                  for t, site in zip(onsets, study.sites)]
        s_onsets = back.metadata.get("series_record_onsets_s", [])
        steps = [(study.sites[j].name, ma, k + 1, ser.traces.shape[1])  # the records' order
                 for j, ser in sorted(clean.stimulation_series.items())
                 for k, ma in enumerate(ser.intensities_ma)]
        events += [{"onset": round(t + study.stimulus_sample / rate, 9), "duration": 0.0,
                    "trial_type": f"intensity series step {k}", "site": name,
                    "distance_mm": None, "stimulus_intensity_ma": ma}
                   for t, (name, ma, k, _) in zip(s_onsets, steps)]
        duration_s = max([duration_s] + [n / rate for *_, n in steps])
        f_onsets = back.metadata.get("f_wave_record_onsets_s", [])
        if f_onsets:  # the F-wave train's records follow the sites (one stimulus each)
            duration_s = max(duration_s, clean.f_wave_traces.shape[1] / rate)
            events += [{"onset": round(t + clean.f_wave_stimulus_sample / rate, 9),
                        "duration": 0.0, "trial_type": "F-wave", "site": study.sites[0].name,
                        "distance_mm": None, "stimulus_intensity_ma": None} for t in f_onsets]
        texts = {"_emg.json": _json(_emg_sidecar(study, len(onsets) + len(s_onsets) + len(f_onsets),
                                                 duration_s,
                                                 power_line_frequency_hz)),
                 "_channels.tsv": _tsv(_CHANNEL_COLUMNS,
                                       [_channel_row(study, back.metadata["signal_label"])]),
                 "_events.tsv": _tsv(_EVENT_COLUMNS, events),
                 "_events.json": _json(_EVENTS_JSON)}
        written.append(edf)
        written += [_write_text(folder / (stem + x), t, overwrite) for x, t in texts.items()]
    motor_plan = [p for p in plan if isinstance(p[2], NerveStudy)]
    if derivatives is not None and motor_plan:  # our measures: of the motor studies
        written += _write_derivatives(root, motor_plan, derivatives, overwrite)
    if not (root / "dataset_description.json").exists():
        written.append(_write_text(root / "dataset_description.json", _description(
            "Motor nerve conduction studies", "raw"), False))
    written.append(_write_text(root / "participants.tsv", participants, True))
    return written


def _write_sensory_run(folder: Path, stem: str, study: SensoryStudy, overwrite: bool,
                       power_line_frequency_hz: float | None) -> list[Path]:
    """The EDF+D file and sidecars of a sensory study's run (``task-sncs``)."""
    edf = write_edf(folder / f"{stem}_emg.edf", _deidentified(study), overwrite=overwrite)
    back = read_edf(edf).sensory[0]  # the record start times and channel label as written
    onsets = back.metadata["record_onsets_s"]
    duration_s = study.traces.shape[-1] / study.sampling_rate_hz
    texts = {"_emg.json": _json(sensory_sidecar(study, len(onsets), duration_s,
                                                power_line_frequency_hz, STUDY_KEY)),
             "_channels.tsv": _tsv(_CHANNEL_COLUMNS,
                                   [sensory_channel_row(study, back.metadata["signal_label"])]),
             "_events.tsv": _tsv(_EVENT_COLUMNS, sensory_events(study, onsets)),
             "_events.json": _json(_EVENTS_JSON)}
    return [edf] + [_write_text(folder / (stem + x), t, overwrite) for x, t in texts.items()]


def _description(name: str, kind: str) -> str:
    from ..constants import VERSION as __version__

    return _json({"Name": name, "BIDSVersion": BIDS_VERSION, "DatasetType": kind,
                  "GeneratedBy": [{"Name": "nerveconduct", "Version": __version__}]})


def _write_derivatives(root: Path, plan: list[tuple[Path, str, NerveStudy]], measures: Callable[..., Any],
                       overwrite: bool) -> list[Path]:
    """The tables ``measures`` gives for every run, under ``derivatives/nerveconduct/``."""
    base = root / "derivatives" / "nerveconduct"
    sources = [(folder / f"{stem}_emg.edf").relative_to(root).as_posix() for folder, stem, _ in plan]
    tables = measures([study for _, _, study in plan], sources)
    written = []
    for (folder, stem, _), per_study in zip(plan, tables, strict=True):
        out = base / folder.relative_to(root)
        out.mkdir(parents=True, exist_ok=True)
        for desc, (columns, rows) in per_study.items():
            written.append(_write_text(out / f"{stem}_desc-{desc}_measures.tsv",
                                       _tsv(columns, rows), overwrite))
    if not (base / "dataset_description.json").exists():
        written.append(_write_text(base / "dataset_description.json", _description(
            "nerveconduct measures", "derivative"), False))
    return written
