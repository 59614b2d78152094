"""Natus (Elite / Keypoint family) text export: reader and content sniffer (writer: ``natus_write``).

UTF-16 text of ``key=value`` lines; ``docs/formats.md`` ("Natus text export") says which
keys are known from a public parser and which are inferred::

    Nerve=Right Median Motor (APB)       <- inferred (ours): starts a nerve
    Site=Wrist                           <- inferred (ours): one per trace
    Subsampled(kHz)=20.000000            <- sampling rate; Trace Duration(ms)= x rate = N
    LongTrace Data(µV)<1000>=12.5,-3.25,.../
    7.5,0.25,...                         <- the N values continue on the following lines
    Low(Hz)=2.000000                     <- then Sweep Duration(ms|s)=, High(Hz|kHz)=, Notch

A key given once applies to every trace of its nerve; a key given once per trace belongs to
the traces in order (the k-th ``Low(Hz)`` to the k-th trace). Keys before the first
``Nerve=`` line are defaults for every nerve. Traces are returned in mV, physical polarity.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site
from ._kinds import StudyList, group_sweeps, parse_sensory_item, trace_kind
from ._series_io import attach_trains_keeping_series, step_numbers, take_series
from ._text import amplitude_scale_to_mv, parse_date, parse_test_item
from ._natus_parse import (_DELAY_MS, _DURATION_MS, _FILTER_HZ, _POSITIVE, _RATE_HZ, _RATE_RANGE_HZ,
                           _TIME_MS, FORMAT_ID, _decode, _Nerve,
                           _number, _parse, looks_like_natus_text)
from .errors import FormatError
from .pseudonym import file_pseudonym, pseudonymize

__all__ = ["read_natus_text", "looks_like_natus_text", "FORMAT_ID"]


def _rate_hz(nv: _Nerve, n_samples: int, option_hz: float | None) -> tuple[float, str]:
    rate, line = nv.common("subsampled", "Subsampled(kHz)", _RATE_HZ, _POSITIVE)
    source = "Subsampled(kHz)"
    dur_ms, dur_line = nv.common("trace duration", "Trace Duration(ms)", _TIME_MS, _DURATION_MS)
    if rate is not None and dur_ms is not None and abs(rate * dur_ms / 1e3 - n_samples) > 1.0:
        raise FormatError(f"LongTrace Data holds {n_samples} samples but Subsampled(kHz) x Trace "
                          f"Duration(ms) gives {rate * dur_ms / 1e3:.1f}", path=nv.path,
                          location=f"line {dur_line}")
    if rate is None and dur_ms is not None:
        rate, line, source = n_samples * 1e3 / dur_ms, dur_line, "Trace Duration"
    sweep_ms, sweep_line = nv.common("sweep duration", "Sweep Duration(ms)", _TIME_MS,
                                     _DURATION_MS)
    if rate is None and sweep_ms is not None:
        rate, line, source = n_samples * 1e3 / sweep_ms, sweep_line, "Sweep Duration"
    if rate is None and option_hz is not None:
        rate, line, source = float(option_hz), None, "option"
    if rate is None:
        raise FormatError("cannot determine the sampling rate: no Subsampled(kHz), Trace Duration "
                          "or Sweep Duration line; give it with a study sheet (sampling_rate_hz) "
                          "or read(..., sampling_rate_hz=...)", path=nv.path,
                          location=f"line {nv.group.line}")
    low, high = _RATE_RANGE_HZ
    if not (math.isfinite(rate) and low <= rate <= high):
        raise FormatError(f"sampling rate {rate:.6g} Hz (from {source}) is outside the allowed "
                          f"{low:g} Hz to {high:g} Hz", path=nv.path,
                          location=f"line {line}" if line else None)
    return rate, source


def _study(nv: _Nerve, *, first_trace: int, option_hz: float | None, name: str | None,
           pid: str | None, keep_identifiers: bool, study_date: str | None) -> Any:
    """One ``Nerve=`` block: a NerveStudy, a SensoryStudy or an F-wave train (a dict), by
    :func:`~._kinds.trace_kind` of its ``Nerve=`` (and ``Test Name=``) text."""
    path, traces = nv.path, nv.group.traces
    if not traces:
        raise FormatError("no 'LongTrace Data(µV)<N>=' line for this nerve", path=path,
                          location=f"line {nv.group.line}")
    for what, found in (("length", {len(v) for _, _, v in traces}),
                        ("amplitude unit", {u.casefold() for _, u, _ in traces})):
        if len(found) > 1:
            raise FormatError(f"the traces of one nerve differ in {what}; one {what} per nerve "
                              "is required", path=path, location=f"line {traces[-1][0]}")
    unit = traces[0][1]
    try:
        data = np.stack([v for _, _, v in traces]) * amplitude_scale_to_mv(unit)
    except FormatError:  # re-raised without quoting the unit text
        raise FormatError("unknown amplitude unit in LongTrace Data(<unit>); allowed: nV, "
                          "µV (uV), mV, V", path=path, location=f"line {traces[0][0]}") from None
    n_traces, n_samples = data.shape
    rate, rate_source = _rate_hz(nv, n_samples, option_hz)
    sweep_ms = nv.common("sweep duration", "Sweep Duration(ms)", _TIME_MS, _DURATION_MS)[0]
    missing: list[str] = []
    names = [e[2].strip() for e in nv.per_trace("site", "Site") or [(0, None, "")] * n_traces]
    if not any(names):
        missing.append("site_names")
    names = [s or f"site {i + 1}" for i, s in enumerate(names)]
    distances = [v for v, _ in nv.values("distance", "Distance(mm)", {"mm": 1.0, "cm": 10.0,
                                                                      "": 1.0}, ("(", 0, 2000))]
    if all(d is None for d in distances):
        missing.append("distances")
    intensities = [v for v, _ in nv.values("stim intensity", "Stim Intensity(mA)",
                                           {"ma": 1.0, "": 1.0}, ("[", 0, 1000))]
    sites = [Site(n, d, a) for n, d, a in zip(names, distances, intensities)]
    kind = trace_kind(nv.text("test name", "test type"), nv.text("nerve"))
    side, nerve, muscle = parse_test_item(nv.text("nerve"))
    sensory = parse_sensory_item(nv.text("nerve")) if kind == "sensory" else None
    if sensory is not None:
        side, nerve, muscle = sensory["side"], sensory["nerve"], sensory["recording_site"]
    side = {"r": "right", "right": "right", "l": "left", "left": "left"}.get(
        (nv.text("side") or "").casefold(), side)
    muscle = nv.text("recording site" if sensory else "muscle", "master anatomy") or muscle
    missing += [k for k, v in (("nerve", nerve), ("side", side),
                               ("recording_site" if sensory else "muscle", muscle)) if v is None]
    if kind is None and nv.text("nerve"):
        missing.append("trace_kind")  # read as motor, as always: said, not guessed silently
    delay_ms, delay_line = nv.common("stimulus delay", "Stimulus Delay(ms)", _TIME_MS, _DELAY_MS)
    stimulus_sample = 0 if delay_ms is None else int(round(delay_ms * rate / 1e3))
    if not 0 <= stimulus_sample < n_samples:
        raise FormatError(f"Stimulus Delay puts the stimulus at sample {stimulus_sample}, "
                          f"outside the trace (0 to {n_samples - 1})", path=path,
                          location=f"line {delay_line}")
    metadata: dict[str, Any] = {
        "source_file": Path(path).name, "format": FORMAT_ID,
        "source_traces": list(range(first_trace, first_trace + n_traces)),
        "missing_fields": missing, "sampling_rate_source": rate_source, "amplitude_unit": unit}
    hff = nv.common("high", "High(Hz)", _RATE_HZ, _FILTER_HZ)[0]
    for key, value in (("high_frequency_filter_hz", hff),
                       ("sweep_duration_ms", sweep_ms), ("study_date", study_date),
                       ("skipped_data", nv.group.skipped or None)):
        if value is not None:
            metadata[key] = value
    notch = nv.per_trace("notch filter", "Notch Filter(Hz)")
    word = notch[0][2].strip().casefold() if notch else ""
    if word in ("on", "off"):
        metadata["notch_filter_on"] = word == "on"
    elif word:
        metadata["notch_filter_hz"] = _number(word, what="Notch Filter(Hz)", path=path,
                                              line=notch[0][0])
        metadata["notch_filter_on"] = metadata["notch_filter_hz"] > 0
    if re.sub(r"[^a-z]", "", (nv.text("polarity") or "").casefold()) == "negativeup":
        data, metadata["polarity_flipped"] = -data, True
    if keep_identifiers:
        metadata.update({k: v for k, v in (("patient_name", name), ("patient_id", pid)) if v})
    common = dict(
        stimulus_sample=stimulus_sample,
        temperature_c=nv.common("temperature", "Temperature(C)", {"c": 1.0, "": 1.0},
                                ("[", 0.0, 50.0))[0],
        low_frequency_filter_hz=nv.common("low", "Low(Hz)", _RATE_HZ, _FILTER_HZ)[0],
        study_id=pseudonymize(name, pid) or file_pseudonym(path),
        metadata=metadata)
    if kind == "f-wave":
        return {"nerve": nerve, "side": side, "traces": data, "sampling_rate_hz": rate,
                "stimulus_sample": stimulus_sample, "label": f"(at line {nv.group.line})"}
    if sensory is None:  # a site's intensity series: more traces, with a Series Step= each
        steps = nv.per_trace("series step", "Series Step")
        where = f"line {steps[0][0]}" if steps else ""
        data, sites, series = take_series(data, sites, steps and step_numbers(
            [e[2] for e in steps], path=path, location=where), path=path, location=where,
            metadata=metadata)
        return NerveStudy(nerve or "unknown", side, muscle, sites, data, rate,
                          stimulation_series=series, **common)
    sweeps = nv.per_trace("sweep", "Sweep")
    if sweeps is not None:
        numbers = [_number(e[2], what="Sweep", path=path, line=e[0]) for e in sweeps]
        data, sites = group_sweeps(data, sites, numbers, path=path,
                                   location=f"line {sweeps[0][0]}")
    if sensory["direction"] is None:
        missing.append("direction")
    return SensoryStudy(nerve or "unknown", side, sites, data, rate,
                        direction=sensory["direction"] or "antidromic", recording_site=muscle,
                        **common)


def read_natus_text(path: str | os.PathLike[str], *, sheet: Any = None,
                    keep_identifiers: bool = False,
                    sampling_rate_hz: float | None = None) -> StudyList:
    """Read a Natus (Elite / Keypoint family) text export: one study per ``Nerve=`` block.

    A ``Nerve=`` text naming a sensory study gives a :class:`~nerveconduct.model.SensoryStudy`
    (``.sensory``; per-trace ``Sweep=`` keys group repeated sweeps), one naming an F-wave
    the train of the motor study of the same nerve and side (``docs/formats.md``). In a motor
    block, the traces with a ``Series Step=`` number are the steps of a site's stimulus
    intensity series (``stimulation_series``).

    Parameters
    ----------
    path : path-like
        The export (UTF-16 text; UTF-8 is accepted too).
    sheet : path-like, StudySheet or mapping, optional
        A study sheet filling what the file lacks, as in ``nerveconduct.read``.
    keep_identifiers : bool, default False
        Copy the patient name (``Patient Name``, ``Full Name`` or ``Last Name`` + ``First
        Name``) and ``Patient ID`` into ``metadata``; otherwise only the pseudonym ``study_id``.
    sampling_rate_hz : float, optional
        Rate (Hz) when no ``Subsampled``/``Trace Duration``/``Sweep Duration`` line gives it.

    Returns
    -------
    StudyList
        Motor studies (F-wave trains attached) and ``.sensory``. Traces in mV, physical polarity; ``Low(Hz)`` is ``low_frequency_filter_hz``;
        ``metadata`` adds ``high_frequency_filter_hz``, ``notch_filter_on``,
        ``sweep_duration_ms`` and ``missing_fields`` (what the file lacked).

    Raises
    ------
    FormatError
        Not UTF-16/UTF-8 text, a line that is not ``key=value``, a value count other than
        ``<N>``, a non-numeric or non-finite value, an unknown unit, a sampling rate missing or
        outside 100 Hz to 1 MHz, a key given neither once nor once per trace. The message
        names the file and line and never quotes the line (it may hold identifiers).
    """
    p = Path(path)
    text = _decode(p.read_bytes(), path=p)
    if not text.strip():
        raise FormatError("empty file: no key=value lines and no trace", path=p, location="line 1")
    sheet_obj = None
    if sheet is not None:
        from .sheet import StudySheet, load_sheet, parse_sheet  # lazy: only with a sheet

        sheet_obj = sheet if isinstance(sheet, StudySheet) else (
            parse_sheet(sheet) if isinstance(sheet, Mapping) else load_sheet(sheet))
        if sampling_rate_hz is None:
            sampling_rate_hz = sheet_obj.sampling_rate_for(p.name)
    groups = _parse(text, path=p)
    if not any(g.traces for g in groups):
        raise FormatError("no 'LongTrace Data(µV)<N>=' line: no trace to read", path=p,
                          location="line 1")
    g0 = groups[0]  # lines before the first Nerve= (no traces): defaults for every nerve
    header = g0 if len(groups) > 1 and not g0.traces and "nerve" not in g0.keys else None

    def first(*bases: str) -> str | None:
        values = [e[2].strip() for g in groups for b in bases for e in g.keys.get(b, [])]
        return next((v for v in values if v), None)

    name = first("patient name", "full name") or " ".join(
        x for x in (first("last name"), first("first name")) if x) or None
    date_text = first("visit date", "test date", "date")
    studies: list[NerveStudy] = []
    sensory: list[SensoryStudy] = []
    trains: list[dict[str, Any]] = []
    first_trace = 0
    for g in groups:
        if g is not header:
            found = _study(
                _Nerve(g, header, path=p), first_trace=first_trace,
                option_hz=sampling_rate_hz, name=name, pid=first("patient id"),
                keep_identifiers=keep_identifiers,
                study_date=parse_date(date_text.split()[0]) if date_text else None)
            first_trace += len(g.traces)
            (trains if isinstance(found, dict) else studies if isinstance(found, NerveStudy)
             else sensory).append(found)
    studies, left = attach_trains_keeping_series(studies, trains)
    if sheet_obj is not None:
        from .sheet_apply import apply_sheet, apply_sheet_sensory

        studies, sensory = apply_sheet_sensory(studies, sensory, sheet_obj, source_file=p.name)
        studies = apply_sheet(studies, sheet_obj, source_file=p.name)
    return StudyList(studies, sensory, left)


# ----------------------------------------------------------------------------- writer
