"""The clinic machines' trace CSV export: reader, and a writer for fixtures and samples.

Layout as we read it (see ``docs/formats.md``)::

    Test Name,NCV
    Test Item,Right Median Motor (APB)
    Patient Name,"..."            <- identifier: pseudonymised unless keep_identifiers
    Patient ID,...                <- identifier
    Test Date,30/09/2025
    Trace Label,"Wrist : ","Elbow : "
    Sampling Rate (Hz),12800,12800
    Trace Data (μV),-2104.97,-49.34
    ,-26415.81,-114.15
    ...

Key/value rows, then a ``Trace Data (<unit>)`` row whose values are the first sample of each
trace (one column per stimulation site); the following rows with an empty first field are the
next samples. A new ``Test Name``/``Test Item`` row after a trace block starts another nerve.
Values are in the unit of the ``Trace Data`` row (µV in the machine's files) and are returned
in mV. The stimulus is at sample 0 (the artifact sits in the first samples) unless a
``Stimulus Delay (ms)`` row says otherwise.

The writer lives in :mod:`nerveconduct.io.vendor_write` (re-exported here). The text helpers
the readers share (:func:`amplitude_scale_to_mv`, :func:`parse_test_item`,
:func:`decode_text`, :func:`atomic_write_bytes`, ...) live in :mod:`nerveconduct.io._text`
and are re-exported here.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site
from ._kinds import StudyList, group_sweeps, parse_sensory_item, trace_kind
from ._series_io import attach_trains_keeping_series, step_numbers, take_series
from .vendor_write import write_trace_csv
from ._ranges import check_range
from ._text import (amplitude_scale_to_mv, atomic_write_bytes, csv_rows, decode_text,
                    parse_date, parse_samples, parse_test_item, to_float)
from .errors import FormatError, boundary, quote
from .pseudonym import file_pseudonym, pseudonymize

__all__ = [
    "read_trace_csv",
    "write_trace_csv",
    "amplitude_scale_to_mv",
    "parse_test_item",
    "decode_text",
    "atomic_write_bytes",
]


# ----------------------------------------------------------------------------- reader
_RATE_KEYS = (  # (regex on the lower-cased key, kind)
    (r"^sampl(e|ing)\s*(rate|frequency)", "rate"),
    (r"^sampl(e|ing)\s*interval", "interval"),
    (r"^(sweep|time\s*base|timebase)\s*(speed)?\s*\(.*/\s*div", "per_div"),
    (r"^(sweep|analysis)\s*(duration|time|length)?\s*\(", "duration"),
)
_N_DIVISIONS = 10  # horizontal divisions of a sweep screen


def _unit_of(key: str) -> str | None:
    m = re.search(r"\(([^)]*)\)", key)
    return m.group(1).strip() if m else None


def _time_scale_ms(unit: str | None, *, path: Any, location: str) -> float:
    u = (unit or "ms").split("/")[0].strip().lower()
    scale = {"ms": 1.0, "s": 1e3, "us": 1e-3, "µs": 1e-3, "μs": 1e-3}.get(u)
    if scale is None:
        raise FormatError(f"unknown time unit {quote(unit)}; allowed: s, ms, µs", path=path,
                          location=location)
    return scale


def _one_value(values: list[str], *, path: Any, location: str, what: str) -> float:
    numbers = {to_float(v, path=path, location=location, what=what) for v in values if v.strip()}
    if not numbers:
        raise FormatError(f"{what} row has no value", path=path, location=location)
    if len(numbers) > 1:
        raise FormatError(f"{what} differs between traces ({sorted(numbers)}); one value is "
                          "required", path=path, location=location)
    return numbers.pop()


def _sampling_rate_hz(rows: dict[str, tuple[int, list[str]]], n_samples: int, *, path: Any,
                      option_hz: float | None) -> tuple[float | None, str | None]:
    for pattern, kind in _RATE_KEYS:  # most direct statement of the rate first
        for key, (line, values) in rows.items():
            if not re.search(pattern, key):
                continue
            loc = f"line {line}"
            value = _one_value(values, path=path, location=loc, what=key)
            unit = _unit_of(key)
            if value <= 0 or not math.isfinite(value):
                raise FormatError(f"{key} must be > 0, got {value!r}", path=path, location=loc)
            if kind == "rate":
                scale = {"hz": 1.0, "khz": 1e3}.get((unit or "hz").lower())
                if scale is None:
                    raise FormatError(f"unknown rate unit {quote(unit)}; allowed: Hz, kHz",
                                      path=path, location=loc)
                rate = value * scale
            else:
                ms = value * _time_scale_ms(unit, path=path, location=loc)
                if kind == "interval":
                    rate = 1e3 / ms
                else:
                    total_ms = ms * _N_DIVISIONS if kind == "per_div" else ms
                    rate = n_samples * 1e3 / total_ms
            return check_range(rate, "sampling_rate_hz", path=path, location=loc,
                               what=f"sampling rate from the {key!r} row"), key
    if option_hz is not None:
        option_hz = check_range(option_hz, "sampling_rate_hz", path=path, location=None,
                                what="sampling_rate_hz given by the caller or sheet")
    return option_hz, None


def _finish_block(block: dict[str, Any], *, path: Any, keep_identifiers: bool,
                  sampling_rate_hz: float | None, first_trace: int) -> Any:
    """The block's study: a NerveStudy, a SensoryStudy, or an F-wave train (a dict for
    :func:`~._kinds.attach_f_wave_trains`), by :func:`~._kinds.trace_kind` of its test name
    and item."""
    rows = block["rows"]
    data = block["data"]
    if data is None:
        raise FormatError("trace block missing: no 'Trace Data (<unit>)' row after the header "
                          f"that starts at line {block['start']}", path=path,
                          location=f"line {block['start']}")
    unit_line, unit, samples = data
    n_traces = samples.shape[1]
    scale = amplitude_scale_to_mv(unit or "", path=path, location=f"line {unit_line}")
    traces = np.ascontiguousarray(samples.T * scale)

    def row(pattern: str) -> tuple[str, int, list[str]] | None:
        for key, (line, values) in rows.items():
            if re.search(pattern, key):
                return key, line, values
        return None

    rate, rate_key = _sampling_rate_hz(rows, traces.shape[1], path=path, option_hz=sampling_rate_hz)
    if rate is None:
        raise FormatError(
            "cannot determine the sampling rate: no 'Sampling Rate (Hz)', 'Sampling Interval "
            "(ms)', 'Sweep (ms/Div)' or 'Sweep Duration (ms)' row; give it with a study sheet "
            "(sampling_rate_hz) or read(..., sampling_rate_hz=...)", path=path,
            location=f"line {block['start']}")
    labels = row(r"^trace\s*label")
    missing: list[str] = []
    if labels is None:
        names = [f"trace {i + 1}" for i in range(n_traces)]
        missing.append("site_names")
    else:
        names = [re.sub(r"\s*:\s*$", "", v.strip()) or f"trace {i + 1}"
                 for i, v in enumerate(labels[2])]
        if len(names) != n_traces:
            raise FormatError(f"{len(names)} trace labels but {n_traces} trace columns",
                              path=path, location=f"line {labels[1]}")

    def per_site(pattern: str, what: str, quantity: str,
                 convert: float = 1.0) -> list[float | None]:
        found = row(pattern)
        if found is None:
            return [None] * n_traces
        key, line, values = found
        values = values + [""] * (n_traces - len(values))  # trailing blanks were trimmed
        if len(values) != n_traces:
            raise FormatError(f"{what} row has {len(values)} values for {n_traces} traces",
                              path=path, location=f"line {line}")
        return [None if not v.strip() else check_range(
            to_float(v, path=path, location=f"line {line}", what=what) * convert, quantity,
            path=path, location=f"line {line}", what=what) for v in values]

    dist_row = row(r"^distance")
    dist_scale = {"mm": 1.0, "cm": 10.0}.get((_unit_of(dist_row[0]) or "mm").lower(), None) \
        if dist_row else 1.0
    if dist_scale is None:
        raise FormatError("unknown distance unit in the distance row; allowed: mm, cm",
                          path=path, location=f"line {dist_row[1]}")
    distances = per_site(r"^distance", "distance", "distance_mm", dist_scale)
    if all(d is None for d in distances):
        missing.append("distances")
    intensities = per_site(r"^stim\w*\s*(intensity)?\s*\(ma\)", "stimulus intensity",
                           "stimulus_intensity_ma")
    sites = [Site(n, d, i) for n, d, i in zip(names, distances, intensities)]

    item = row(r"^test\s*item")
    test = row(r"^test\s*name")
    item_text = item[2][0] if item and item[2] else None
    kind = trace_kind(test[2][0] if test and test[2] else None, item_text)
    side, nerve, muscle = parse_test_item(item_text)
    sensory = parse_sensory_item(item_text) if kind == "sensory" else None
    if sensory is not None:
        side, nerve, muscle = sensory["side"], sensory["nerve"], sensory["recording_site"]
    for field, value in (("nerve", nerve), ("side", side),
                         ("recording_site" if sensory else "muscle", muscle)):
        if value is None:
            missing.append(field)
    if kind is None and item_text:
        missing.append("trace_kind")  # read as motor, as always: said, not guessed silently

    def scalar(pattern: str, what: str, quantity: str,
               high: float | None = None) -> float | None:
        found = row(pattern)
        if found is None or not any(v.strip() for v in found[2]):
            return None
        loc = f"line {found[1]}"
        text = re.sub(r"[^0-9eE+\-.]", "", found[2][0]) or found[2][0].strip()
        value = to_float(text, path=path, location=loc, what=what)
        return check_range(value, quantity, path=path, location=loc, what=what, high=high)

    temperature = scalar(r"^temp", "temperature", "temperature_c")
    lff = scalar(r"^(low\s*(cut|freq\w*\s*filter|filter)|lff|high\s*pass|filter\s*low)",
                 "low cut", "low_frequency_filter_hz")
    sweep_ms = traces.shape[1] * 1e3 / rate
    delay = scalar(r"^(stimulus\s*delay|pre[\s-]*stim|pre[\s-]*trigger)",
                   "stimulus delay (within the sweep)", "stimulus_delay_ms", high=sweep_ms)
    stimulus_sample = 0 if delay is None else min(int(round(delay * rate / 1e3)),
                                                  traces.shape[1] - 1)
    pol = row(r"^polarity")
    flipped = bool(pol and pol[2] and re.sub(r"[^a-z]", "", pol[2][0].lower()) == "negativeup")
    if flipped:
        traces = -traces
    name_row, id_row = row(r"^patient\s*name"), row(r"^patient\s*id")
    pname = name_row[2][0] if name_row and name_row[2] else None
    pid = id_row[2][0] if id_row and id_row[2] else None
    metadata: dict[str, Any] = {
        "source_file": Path(path).name, "format": "trace-csv",
        "source_traces": list(range(first_trace, first_trace + n_traces)),
        "missing_fields": missing, "sampling_rate_source": rate_key or "option",
        "amplitude_unit": unit,
    }
    if flipped:
        metadata["polarity_flipped"] = True
    date = row(r"^test\s*date")
    if date and date[2] and parse_date(date[2][0]):
        metadata["study_date"] = parse_date(date[2][0])
    if item and item[2]:
        metadata["test_item"] = item[2][0]
    if keep_identifiers:
        metadata.update({k: v for k, v in (("patient_name", pname), ("patient_id", pid)) if v})
    study_id = pseudonymize(pname, pid) or file_pseudonym(path)
    if kind == "f-wave":
        return {"nerve": nerve, "side": side, "traces": traces, "sampling_rate_hz": rate,
                "stimulus_sample": stimulus_sample, "label": f"(test item at line {block['start']})"}
    if sensory is not None:
        if sensory["direction"] is None:
            missing.append("direction")
        sweeps = row(r"^sweep\s*$")
        data = traces
        if sweeps is not None:
            numbers = [to_float(v, path=path, location=f"line {sweeps[1]}", what="sweep number")
                       for v in sweeps[2]]
            data, sites = group_sweeps(traces, sites, numbers, path=path,
                                       location=f"line {sweeps[1]}")
        return SensoryStudy(
            nerve or "unknown", side, sites, data, rate, stimulus_sample=stimulus_sample,
            direction=sensory["direction"] or "antidromic", recording_site=muscle,
            temperature_c=temperature, low_frequency_filter_hz=lff, study_id=study_id,
            metadata=metadata)
    series_row = row(r"^series\s*step")  # a site's stimulus intensity series: more columns
    steps = None if series_row is None else step_numbers(
        series_row[2] + [""] * (n_traces - len(series_row[2])), path=path,
        location=f"line {series_row[1]}")
    traces, sites, series = take_series(traces, sites, steps, path=path, location=(
        f"line {series_row[1]}" if series_row else ""), metadata=metadata)
    return NerveStudy(
        nerve or "unknown", side, muscle, sites, traces, rate, stimulus_sample=stimulus_sample,
        temperature_c=temperature, low_frequency_filter_hz=lff,
        study_id=study_id,
        metadata=metadata, stimulation_series=series,
    )


def read_trace_csv(path: str | os.PathLike[str], *, keep_identifiers: bool = False,
                   sampling_rate_hz: float | None = None) -> StudyList:
    """Read a trace CSV export: one study per test item (nerve) in the file.

    A test item (or test name) naming a sensory study (``Sensory``, ``SNAP``, ...) gives a
    :class:`~nerveconduct.model.SensoryStudy` (in ``.sensory`` of the result; the text in
    parentheses is the recording site, ``Antidromic``/``Orthodromic`` the direction, a
    ``Sweep`` row groups repeated sweeps per site); one naming an F-wave (``F-Wave``) gives
    the F-wave train of the motor study of the same nerve and side in the file (one column
    per stimulus); others give a :class:`NerveStudy` (``docs/formats.md``), whose columns
    numbered in a ``Series Step`` row are the steps of a site's stimulus intensity series
    (``stimulation_series``, intensities from the ``Stim Intensity (mA)`` row).

    Parameters
    ----------
    path : path-like
        The CSV file.
    keep_identifiers : bool, default False
        Copy "Patient Name"/"Patient ID" into ``metadata`` (otherwise only the pseudonym
        ``study_id`` derived from them is kept).
    sampling_rate_hz : float, optional
        Sampling rate (Hz) to use when the file states none.

    Returns
    -------
    StudyList
        The motor studies (a list of NerveStudy, F-wave trains attached) and ``.sensory``.
        Traces in mV (physical polarity), sites with ``distance_mm=None`` unless the file has a
        ``Distance`` row; ``metadata["missing_fields"]`` lists what the file lacked
        (``trace_kind`` when a test item names neither motor, sensory nor F-wave: read as motor).

    Raises
    ------
    FormatError
        Missing trace block, ragged or non-numeric sample rows, unknown units, label/column
        count mismatch, undeterminable sampling rate, empty or binary file (file and line).
    """
    with boundary(FormatError, path, location="line 1") as where:
        text = decode_text(Path(path).read_bytes(), path=path)
        if not text.strip():
            raise FormatError("empty file: no header rows and no trace block", path=path,
                              location="line 1")
        blocks: list[dict[str, Any]] = []
        block: dict[str, Any] | None = None
        data_rows: list[list[float]] | None = None
        for line, fields in csv_rows(text, path=path):
            where.location = f"line {line}"
            key = fields[0].strip()
            if data_rows is not None and key == "":
                values = fields[1:]
                if len(values) != len(data_rows[0]):
                    raise FormatError(f"ragged trace rows: {len(values)} values where the trace "
                                      f"block has {len(data_rows[0])} columns", path=path,
                                      location=f"line {line}")
                data_rows.append(parse_samples(values, path=path, line=line))
                continue
            if data_rows is not None:  # a key row ends the trace block
                block["data"] = (block["data_line"], block["data_unit"], np.asarray(data_rows))
                data_rows = None
            lower = key.lower()
            new_item = re.match(r"test\s*(name|item)", lower)
            if block is None or (block["data"] is not None and new_item):
                block = {"rows": {}, "data": None, "start": line}
                blocks.append(block)
            if lower.startswith("trace data"):
                if block["data"] is not None:
                    raise FormatError("second 'Trace Data' row in one test item", path=path,
                                      location=f"line {line}")
                if len(fields) < 2:
                    raise FormatError("'Trace Data' row has no sample values", path=path,
                                      location=f"line {line}")
                block["data_line"], block["data_unit"] = line, _unit_of(key)
                if block["data_unit"] is None:
                    raise FormatError("no unit in the 'Trace Data' row; expected e.g. "
                                      "'Trace Data (μV)'",
                                      path=path, location=f"line {line}")
                data_rows = [parse_samples(fields[1:], path=path, line=line)]
            elif block["data"] is None and key:
                block["rows"].setdefault(lower, (line, [v.strip() for v in fields[1:]]))
        if data_rows is not None:
            block["data"] = (block["data_line"], block["data_unit"], np.asarray(data_rows))
        if not blocks:
            raise FormatError("no header rows and no trace block", path=path, location="line 1")
        studies: list[NerveStudy] = []
        sensory: list[SensoryStudy] = []
        trains: list[dict[str, Any]] = []
        first = 0
        for blk in blocks:
            where.location = f"line {blk['start']}"
            study = _finish_block(blk, path=path, keep_identifiers=keep_identifiers,
                                  sampling_rate_hz=sampling_rate_hz, first_trace=first)
            if isinstance(study, dict):
                first += study["traces"].shape[0]
                trains.append(study)
                continue
            first += study.n_sites if isinstance(study, NerveStudy) else np.shape(study.traces)[0] * study.n_sweeps
            (studies if isinstance(study, NerveStudy) else sensory).append(study)
        studies, left = attach_trains_keeping_series(studies, trains)
        return StudyList(studies, sensory, left)
