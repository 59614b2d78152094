"""EDF, EDF+C and EDF+D motor nerve conduction files: a focused reader (and ``write_edf``).

The EDF+ specification (Kemp & Olivan, Clin Neurophysiol 2003;114:1755, section "The Motor
Nerve Conduction file") stores one stimulation site per data record of an ``EDF+D`` file: the
records are not contiguous, each record's first TAL keeps its start time, and a
``Stimulus ...`` annotation marks the stimulus (at the record's start in the example) with
notes such as "at 6.5cm from recording site".

Why a focused reader and not ``edfio``: edfio 0.4 concatenates the data records of every
signal into one contiguous array and exposes neither the per-record start times (it only uses
them for the sub-second start offset) nor an EDF+D flag (its ``reserved`` property documents
only ``"EDF+C"``), it silently "updates" a header whose record count disagrees with the file
size (a warning, not an error), and it writes only EDF+C. We need the records, their start
times, and a named error naming the header field or record that lies.

Each ordinary signal's records are read as the sites of one nerve (plain EDF and EDF+C too: a
record is one sweep). Our own files add, per record, a ``nerveconduct {json}`` annotation with
the exact metadata, so :func:`write_edf` then :func:`read_edf` round-trips. The writer lives in
:mod:`nerveconduct.io.edf_write` and is re-exported here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site, StimulationSeries
from ._kinds import StudyList, trace_kind, with_train
from ._ranges import check_range
from ._text import amplitude_scale_to_mv
from ._edf_notes import sensory_from_records as _sensory
from ._series_io import with_series
from ._edf_parse import _NUM, _header, _label_parts, _record_times_and_notes, _study_date
from .edf_write import write_edf
from .errors import FormatError, boundary
from .pseudonym import file_pseudonym, pseudonymize

__all__ = ["read_edf", "write_edf"]


def read_edf(path: str | os.PathLike[str], *, keep_identifiers: bool = False) -> StudyList:
    """Read an EDF/EDF+C/EDF+D nerve conduction file: one data record per stimulation site.

    Our own files note each record's kind (motor site, F-wave stimulus, sensory site and
    sweep). In other files a signal label or recording field naming a sensory study
    (``SNAP``, ``Sensory``, ``SNC``) or an F-wave (``F-Wave``) marks its records so
    (:func:`~nerveconduct.io._kinds.trace_kind`); one naming neither is read as motor with
    ``trace_kind`` in ``metadata["missing_fields"]``.

    Parameters
    ----------
    path : path-like
        The ``.edf`` file.
    keep_identifiers : bool, default False
        Keep the patient code and name (EDF+ patient field) in ``metadata``.

    Returns
    -------
    StudyList
        Motor studies (F-wave trains attached) and ``.sensory``: one per ordinary signal (or
        per study noted by our writer), traces in mV;
        ``metadata["record_onsets_s"]`` holds each record's start time (s) and
        ``metadata["source_traces"]`` its record index.

    Raises
    ------
    FormatError
        Header fields that are not numbers or lie about sizes (named field or record), BDF
        files, unknown units, a missing time-keeping TAL, overlapping EDF+D records, EDF+C
        records that are not contiguous, a stimulus outside its record.
    """
    with boundary(FormatError, path, location="header") as where:
        data = Path(path).read_bytes()
        h = _header(data, path)
        plus = h["reserved"][:5] if h["reserved"][:5] in ("EDF+C", "EDF+D") else ""
        sigs, dur = h["signals"], h["duration_s"]
        ordinary = [i for i, s in enumerate(sigs) if not s["annotations"]]
        if not ordinary:
            raise FormatError("no ordinary (waveform) signal, only annotations", path=path,
                              location="header")
        if dur <= 0:
            raise FormatError(f"data record duration must be > 0 s, got {dur}", path=path,
                              location="header")
        check_range(dur, "record_duration_s", path=path, location="header",
                    what="data record duration")
        if h["n_records"] == 0:
            raise FormatError("the file holds no data records; a motor conduction file has one "
                              "per stimulation site", path=path, location="header")
        rec = np.frombuffer(data, "<i2", offset=h["header_bytes"]).reshape(h["n_records"], -1)
        offsets = np.cumsum([0] + [s["n_samples"] for s in sigs])
        onsets, notes = _record_times_and_notes(rec, offsets, h, plus, path, where)
        date = _study_date(h)
        pfields = h["patient"].split() if plus else []
        pid = pfields[0] if len(pfields) > 0 and pfields[0] != "X" else None
        pname = pfields[3].replace("_", " ") if len(pfields) > 3 and pfields[3] != "X" else None
        if not plus and h["patient"] and h["patient"] != "X":
            pname = h["patient"]
        rec_words = h["recording"].split()
        rec_side, rec_nerve, _ = _label_parts(" ".join(rec_words[5:] if plus else rec_words))
        studies = []
        sensory: list[SensoryStudy] = []
        trains: list[dict[str, Any]] = []
        steps: list[tuple[int, int, int, list[int], list[Any], np.ndarray, list[float]]] = []
        by_note: dict[int, int] = {}  # our note's study number -> position in studies
        for i in ordinary:
            s = sigs[i]
            sloc = f"signal {i} header ({s['label']})"
            where.location = sloc
            scale = amplitude_scale_to_mv(s["dimension"] or "(none)", path=path, location=sloc)
            for extreme in ("pmin", "pmax"):
                check_range(s[extreme] * scale, "physical_extreme_mv", path=path, location=sloc,
                            what=f"physical {extreme[1:]}imum (in mV)")
            gain = (s["pmax"] - s["pmin"]) / (s["dmax"] - s["dmin"])
            digital = rec[:, offsets[i]:offsets[i + 1]].astype(float)
            phys = (digital - s["dmin"]) * gain + s["pmin"]
            rate = check_range(s["n_samples"] / dur, "sampling_rate_hz", path=path, location=sloc,
                               what="sampling rate (samples per record / record duration)")
            lab_side, lab_nerve, lab_muscle = _label_parts(s["label"])
            hp = re.search(rf"HP:\s*{_NUM}\s*(k?Hz)", s["prefilter"], re.I)
            lff = None if not hp else check_range(
                float(hp[1]) * (1e3 if hp[2].lower() == "khz" else 1.0), "low_frequency_filter_hz",
                path=path, location=sloc, what="high-pass prefilter")
            groups: dict[Any, list[int]] = {}
            for k, (_, note) in enumerate(notes):  # a series: one group per site
                groups.setdefault((note.get("study", 0), note.get("kind"),
                                   note.get("site_index") if note.get("kind") == "series" else None),
                                  []).append(k)
            label_kind = trace_kind(s["label"], " ".join(rec_words))
            for (number, noted_kind, _), ks in groups.items():
                where.location = f"record {ks[0]}"
                first = notes[ks[0]][1]
                ours = "nerve" in first or noted_kind is not None
                kind = noted_kind or ("motor" if ours else label_kind)
                width = first.get("n_samples") or s["n_samples"]
                if any((notes[k][1].get("n_samples") or s["n_samples"]) != width for k in ks) \
                        or width > s["n_samples"]:
                    raise FormatError("the records of one study must note one length, at most "
                                      f"the record's {s['n_samples']} samples", path=path,
                                      location=f"record {ks[0]}")
                names, dists, amps, missing = [], [], [], []
                prev = 0.0
                for n_site, k in enumerate(ks):
                    stim_s, note = notes[k]
                    names.append(str(note.get("site") or f"record {k + 1}"))
                    amps.append(note.get("stimulus_intensity_ma"))
                    if ours:
                        dists.append(note.get("distance_mm"))
                    elif note.get("cumulative_mm") is not None and prev is not None:
                        d = note["cumulative_mm"] - prev
                        if d <= 0:
                            raise FormatError(f"distance from the recording site must grow from "
                                              f"record to record, got {note['cumulative_mm']} mm "
                                              f"after {prev} mm", path=path, location=f"record {k}")
                        dists.append(check_range(d, "distance_mm", path=path,
                                                 location=f"record {k}", what="segment length"))
                        prev = note["cumulative_mm"]
                    else:
                        dists.append(None)
                        prev = None
                stims = {int(round(notes[k][0] * rate)) for k in ks}
                if len(stims) > 1 or not 0 <= min(stims) < width:
                    raise FormatError(f"stimulus must fall inside each record at one offset, got "
                                      f"samples {sorted(stims)}", path=path,
                                      location=f"record {ks[0]}")
                if not ours and any(n.startswith("record ") for n in names):
                    missing.append("site_names")
                if all(d is None for d in dists):
                    missing.append("distances")
                if kind == "series":
                    steps.append((number, int(first["site_index"]), stims.pop(),
                                  [notes[k][1]["step"] for k in ks], amps, phys[ks, :width] * scale,
                                  [onsets[k] for k in ks]))
                    continue
                if kind == "f-wave":
                    trains.append({"study": number if ours else None, "nerve": lab_nerve or rec_nerve,
                                   "side": lab_side or rec_side, "traces": phys[ks, :width] * scale,
                                   "sampling_rate_hz": rate, "stimulus_sample": stims.pop(),
                                   "label": f"(records {ks[0]}-{ks[-1]})",
                                   "record_onsets_s": [onsets[k] for k in ks]})
                    continue
                nerve = first.get("nerve") or lab_nerve or rec_nerve
                side = first.get("side") or lab_side or rec_side
                if kind == "sensory":  # ours: the note's; else the label's, if not a kind word
                    muscle = first.get("recording_site") if ours else (
                        None if trace_kind(lab_muscle) else lab_muscle)
                else:
                    muscle = first.get("muscle") or lab_muscle
                missing += [f for f, v in (("nerve", nerve), ("side", side),
                                           ("recording_site" if kind == "sensory" else "muscle",
                                            muscle)) if v is None]
                if kind is None:
                    missing.append("trace_kind")
                meta: dict[str, Any] = {
                    "source_file": Path(path).name, "format": "edf", "edf_type": plus or "EDF",
                    "record_onsets_s": [onsets[k] for k in ks], "source_traces": list(ks),
                    "missing_fields": missing, "signal_label": s["label"],
                }
                study_date = first.get("study_date") if ours else date
                if study_date:
                    meta["study_date"] = study_date
                if keep_identifiers:
                    meta.update({k: v for k, v in (("patient_name", pname),
                                                   ("patient_id", pid)) if v})
                temps = {notes[k][1].get("temperature_c") for k in ks} - {None}
                if kind == "sensory":
                    sensory.append(_sensory(phys[ks, :width] * scale, first, names, dists, amps,
                                            nerve=nerve, side=side, recording_site=muscle,
                                            rate=rate, stimulus_sample=stims.pop(),
                                            temperature_c=temps.pop() if len(temps) == 1 else None,
                                            lff=first.get("low_frequency_filter_hz", lff),
                                            study_id=first.get("study_id") or pseudonymize(pname, pid)
                                            or file_pseudonym(path), metadata=meta, path=path,
                                            location=f"record {ks[0]}"))
                    continue
                if ours:
                    by_note[number] = len(studies)
                studies.append(NerveStudy(
                    nerve or "unknown", side, muscle, [Site(*x) for x in zip(names, dists, amps)],
                    phys[ks, :width] * scale, rate, stimulus_sample=stims.pop(),
                    temperature_c=temps.pop() if len(temps) == 1 else None,
                    low_frequency_filter_hz=first.get("low_frequency_filter_hz", lff),
                    f_wave_latency_ms=first.get("f_wave_latency_ms"),
                    study_id=first.get("study_id") or pseudonymize(pname, pid)
                    or file_pseudonym(path), metadata=meta))
        left = []
        for train in trains:  # ours: the motor study it was written with; else left aside
            if train["study"] in by_note:
                i = by_note[train["study"]]
                meta = dict(studies[i].metadata, f_wave_record_onsets_s=train["record_onsets_s"])
                studies[i] = with_train(studies[i], train["traces"], train["sampling_rate_hz"],
                                        train["stimulus_sample"], metadata=meta)
            else:
                left.append(train)
        _attach_series(studies, by_note, steps, path)
        return StudyList(studies, sensory, left)


def _attach_series(studies: list[NerveStudy], by_note: dict[int, int],
                   steps: list[tuple[int, int, int, list[int], list[Any], np.ndarray, list[float]]],
                   path: Any) -> None:
    """Give our motor studies the intensity series of their ``kind = "series"`` records:
    ``(study number, site index, stimulus sample, step numbers, intensities, traces, record
    start times)``; ``metadata["series_record_onsets_s"]`` keeps the records' start times (s),
    in file order."""
    for number, site, stim, numbers, intensities, traces, starts in steps:
        where = f"series records of study {number}, site {site}"
        if number not in by_note:
            raise FormatError("series records belong to no motor study of the file", path=path,
                              location=where)
        i = by_note[number]
        if stim != studies[i].stimulus_sample:
            raise FormatError(f"the stimulus of a series step (sample {stim}) must be the study's "
                              f"(sample {studies[i].stimulus_sample}): a series shares its set-up",
                              path=path, location=where)
        if len(set(numbers)) != len(numbers):
            raise FormatError(f"series step numbers {numbers} repeat; one record per step",
                              path=path, location=where)
        order = np.argsort(numbers, kind="stable")
        series = StimulationSeries(tuple(float(intensities[k]) for k in order), traces[order])
        study = studies[i]
        study.metadata["series_record_onsets_s"] = [*study.metadata.get("series_record_onsets_s", []),
                                                    *starts]
        studies[i] = with_series(study, {site: series})  # the site checked by the model
