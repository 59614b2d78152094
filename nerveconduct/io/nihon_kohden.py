"""Nihon Kohden MEB/Neuropack text export: reader, and a writer for fixtures and samples.

Layout as we read it (public parsers of the MEB-9600 export; see ``docs/formats.md``)::

    "Test Item","Right Median Motor (APB)"
    "Patient Name","..."              <- identifier (pseudonymised unless asked)
    "Sampling Interval","0.05ms"
    "Sensitivity","5mV/D","5mV/D"
    "Unit","uV"
    "Polarity","Negative Up"
    "Stim Site","Wrist","Elbow"
    "Distance","70mm","230mm"
    "1","-12.50","-3.25"              <- a wave block starts at sample index "1" (or "1-1")
    "2",...
    "*Wave End"

Comma-separated, quoted fields. A wave block's first field is the sample index; the other
columns are traces (one per stimulation site). Several blocks in a row add sites to the same
nerve; a ``Nerve``/``Test Item`` line after a block starts a new nerve. The writer lives in
:mod:`nerveconduct.io.nihon_kohden_write` (re-exported here).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site
from ._kinds import StudyList, group_sweeps, parse_sensory_item, trace_kind
from ._series_io import attach_trains_keeping_series, step_numbers, take_series
from ._ranges import check_range
from ._text import (amplitude_scale_to_mv, csv_rows, decode_text, parse_date, parse_samples,
                    parse_test_item)
from .errors import FormatError, boundary, quote
from .nihon_kohden_write import write_nihon_kohden_txt
from .pseudonym import file_pseudonym, pseudonymize

__all__ = ["read_nihon_kohden_txt", "write_nihon_kohden_txt"]

_WAVE_END = "*wave end"
_PER_SITE = ("stim site", "site", "distance", "stim intensity", "sweep", "series step")
_N_DIVISIONS = 10
_TIME_MS = {"ms": 1.0, "s": 1e3, "us": 1e-3, "µs": 1e-3, "μs": 1e-3}


def _value_unit(text: str, *, path: Any, line: int, what: str) -> tuple[float, str]:
    m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s]*)\s*", text)
    if not m:
        raise FormatError(f"{what} must be a number with an optional unit, got {quote(text)}",
                          path=path, location=f"line {line}")
    return float(m[1]), m[2].lower()


def _rate_hz(header: dict[str, tuple[int, list[str]]], n_samples: int, *, path: Any,
             option_hz: float | None) -> float | None:
    """The sampling rate (Hz) from the header (else ``option_hz``), checked for its range."""
    rate, line = _stated_rate_hz(header, n_samples, path=path), None
    if rate is not None:
        rate, line = rate
    elif option_hz is None:
        return None
    return check_range(option_hz if rate is None else rate, "sampling_rate_hz", path=path,
                       location=None if line is None else f"line {line}",
                       what="sampling rate" if rate is not None else
                       "sampling_rate_hz given by the caller or sheet")


def _stated_rate_hz(header: dict[str, tuple[int, list[str]]], n_samples: int, *,
                    path: Any) -> tuple[float, int] | None:
    for key, (line, values) in header.items():
        if not values:
            continue
        if re.match(r"sampl\w*\s*(interval|period)|dwell", key):
            value, unit = _value_unit(values[0], path=path, line=line, what=key)
            scale = _TIME_MS.get(unit or "ms")
            if scale is None or value <= 0:
                raise FormatError(f"sampling interval must be > 0 in s, ms or µs, got "
                                  f"{quote(values[0])}", path=path, location=f"line {line}")
            return 1e3 / (value * scale), line
        if re.match(r"sampl\w*\s*(rate|frequency)", key):
            value, unit = _value_unit(values[0], path=path, line=line, what=key)
            scale = {"hz": 1.0, "khz": 1e3}.get(unit or "hz")
            if scale is None or value <= 0:
                raise FormatError(f"sampling rate must be > 0 in Hz or kHz, got "
                                  f"{quote(values[0])}", path=path, location=f"line {line}")
            return value * scale, line
        if re.match(r"(sweep|time\s*base)", key):
            value, unit = _value_unit(values[0], path=path, line=line, what=key)
            per_div = unit.endswith(("/d", "/div"))
            scale = _TIME_MS.get(unit.split("/")[0] or "ms")
            if scale is None or value <= 0:
                raise FormatError(f"sweep must be > 0 in ms or ms/D, got {quote(values[0])}",
                                  path=path, location=f"line {line}")
            total_ms = value * scale * (_N_DIVISIONS if per_div else 1)
            return n_samples * 1e3 / total_ms, line
    return None


def _study(header: dict[str, tuple[int, list[str]]], blocks: list[tuple[int, np.ndarray]], *,
           path: Any, keep_identifiers: bool, option_hz: float | None,
           first_trace: int) -> Any:
    """The nerve of a header and its wave blocks: a NerveStudy, a SensoryStudy or an F-wave
    train (a dict), by :func:`~._kinds.trace_kind` of its test name and item."""
    start = min([line for line, _ in header.values()] + [blocks[0][0]])
    lengths = {b.shape[0] for _, b in blocks}
    if len(lengths) > 1:
        raise FormatError(f"wave blocks of one nerve differ in length ({sorted(lengths)} "
                          "samples)", path=path, location=f"line {blocks[-1][0]}")
    values = np.concatenate([b for _, b in blocks], axis=1).T  # (n_traces, n_samples)
    n_traces, n_samples = values.shape

    def get(*keys: str) -> tuple[int, list[str]] | None:
        for k in keys:
            if k in header and header[k][1]:
                return header[k]
        return None

    missing: list[str] = []
    unit_row = get("unit", "data unit", "amplitude unit")
    unit = unit_row[1][0] if unit_row else "uV"
    scale = amplitude_scale_to_mv(unit, path=path,
                                  location=f"line {unit_row[0]}" if unit_row else None)
    traces = values * scale
    pol = get("polarity")
    flipped = bool(pol and re.sub(r"[^a-z]", "", pol[1][0].lower()) == "negativeup")
    if flipped:
        traces = -traces
    rate = _rate_hz(header, n_samples, path=path, option_hz=option_hz)
    if rate is None:
        raise FormatError("cannot determine the sampling rate: no 'Sampling Interval', "
                          "'Sampling Rate' or 'Sweep' line; give it with a study sheet "
                          "(sampling_rate_hz) or read(..., sampling_rate_hz=...)", path=path,
                          location=f"line {start}")

    def per_site(keys: tuple[str, ...], what: str) -> list[str] | None:
        found = get(*keys)
        if found is None:
            return None
        values = list(found[1])
        if what != "stim site":  # trailing blank values (unknown) may have been trimmed
            values += [""] * (n_traces - len(values))
        if len(values) != n_traces:
            raise FormatError(f"{what} line has {len(values)} values for {n_traces} traces",
                              path=path, location=f"line {found[0]}")
        return values

    names = per_site(("stim site", "site"), "stim site")
    if names is None:
        names = [f"site {i + 1}" for i in range(n_traces)]
        missing.append("site_names")
    dist_line = get("distance")
    distances: list[float | None] = [None] * n_traces
    for i, text in enumerate(per_site(("distance",), "distance") or []):
        if text.strip():
            v, u = _value_unit(text, path=path, line=dist_line[0], what="distance")
            if u not in ("", "mm", "cm"):
                raise FormatError(f"unknown distance unit {quote(u)}; allowed: mm, cm",
                                  path=path, location=f"line {dist_line[0]}")
            distances[i] = check_range(v * (10.0 if u == "cm" else 1.0), "distance_mm",
                                       path=path, location=f"line {dist_line[0]}",
                                       what="distance")
    if all(d is None for d in distances):
        missing.append("distances")
    intensity_line = get("stim intensity")
    intensities: list[float | None] = [None] * n_traces
    for i, text in enumerate(per_site(("stim intensity",), "stim intensity") or []):
        if text.strip():
            intensities[i] = check_range(
                _value_unit(text, path=path, line=intensity_line[0], what="stim intensity")[0],
                "stimulus_intensity_ma", path=path, location=f"line {intensity_line[0]}",
                what="stim intensity")
    sites = [Site(n.strip(), d, a) for n, d, a in zip(names, distances, intensities)]

    item = get("test item", "nerve")
    test = get("test name", "test", "test type")
    kind = trace_kind(test[1][0] if test else None, item[1][0] if item else None)
    side, nerve, muscle = parse_test_item(item[1][0] if item else None)
    sensory = parse_sensory_item(item[1][0] if item else None) if kind == "sensory" else None
    if sensory is not None:
        side, nerve, muscle = sensory["side"], sensory["nerve"], sensory["recording_site"]
    side_row = get("side")
    if side_row:
        side = {"r": "right", "right": "right", "l": "left", "left": "left"}.get(
            side_row[1][0].strip().lower(), side)
    if get("muscle", "recording site"):
        muscle = get("muscle", "recording site")[1][0].strip() or muscle
    missing += [k for k, v in (("nerve", nerve), ("side", side),
                               ("recording_site" if sensory else "muscle", muscle)) if v is None]
    if kind is None and item is not None:
        missing.append("trace_kind")  # read as motor, as always: said, not guessed silently

    def scalar(quantity: str, *keys: str, high: float | None = None) -> float | None:
        found = get(*keys)
        if found is None or not found[1][0].strip():
            return None
        value = _value_unit(found[1][0].replace("°", ""), path=path, line=found[0],
                            what=keys[0])[0]
        return check_range(value, quantity, path=path, location=f"line {found[0]}",
                           what=keys[0], high=high)

    pname, pid = get("patient name", "name"), get("patient id", "id")
    pname_s, pid_s = (pname[1][0] if pname else None), (pid[1][0] if pid else None)
    metadata: dict[str, Any] = {
        "source_file": Path(path).name, "format": "nihon-kohden-txt",
        "source_traces": list(range(first_trace, first_trace + n_traces)),
        "missing_fields": missing, "amplitude_unit": unit,
    }
    if unit_row is None:
        metadata["amplitude_unit_assumed"] = True
    if flipped:
        metadata["polarity_flipped"] = True
    date = get("date", "test date", "exam date")
    if date and parse_date(date[1][0]):
        metadata["study_date"] = parse_date(date[1][0])
    if keep_identifiers:
        metadata.update({k: v for k, v in (("patient_name", pname_s), ("patient_id", pid_s)) if v})
    delay = scalar("stimulus_delay_ms", "stimulus delay", "pre trigger", "delay",
                   high=n_samples * 1e3 / rate)
    stimulus_sample = 0 if delay is None else min(int(round(delay * rate / 1e3)), n_samples - 1)
    common = dict(stimulus_sample=stimulus_sample,
                  temperature_c=scalar("temperature_c", "temperature", "temp"),
                  low_frequency_filter_hz=scalar("low_frequency_filter_hz", "low cut",
                                                 "low filter", "lff", "high pass"),
                  study_id=pseudonymize(pname_s, pid_s) or file_pseudonym(path),
                  metadata=metadata)
    if kind == "f-wave":
        return {"nerve": nerve, "side": side, "traces": traces, "sampling_rate_hz": rate,
                "stimulus_sample": stimulus_sample, "label": f"(at line {start})"}
    if sensory is not None:
        sweeps = per_site(("sweep",), "sweep")
        data = traces
        if sweeps is not None:
            line = get("sweep")[0]
            numbers = [_value_unit(v, path=path, line=line, what="sweep")[0] for v in sweeps]
            data, sites = group_sweeps(traces, sites, numbers, path=path, location=f"line {line}")
        if sensory["direction"] is None:
            missing.append("direction")
        return SensoryStudy(nerve or "unknown", side, sites, data, rate,
                            direction=sensory["direction"] or "antidromic",
                            recording_site=muscle, **common)
    steps = per_site(("series step",), "series step")  # a site's intensity series: more traces
    where = f"line {get('series step')[0]}" if steps is not None else ""
    traces, sites, series = take_series(traces, sites, steps and step_numbers(
        steps, path=path, location=where), path=path, location=where, metadata=metadata)
    return NerveStudy(nerve or "unknown", side, muscle, sites, traces, rate,
                      stimulation_series=series, **common)


def read_nihon_kohden_txt(path: str | os.PathLike[str], *, keep_identifiers: bool = False,
                          sampling_rate_hz: float | None = None) -> StudyList:
    """Read a Nihon Kohden MEB/Neuropack text export; one study per nerve.

    A test item (or test name) naming a sensory study gives a
    :class:`~nerveconduct.model.SensoryStudy` (``.sensory`` of the result; a ``"Sweep"`` line
    groups repeated sweeps), one naming an F-wave the train of the motor study of the same
    nerve and side (``docs/formats.md``, "Sensory studies and F-wave trains"). In a motor
    item, the traces numbered in a ``"Series Step"`` line are the steps of a site's stimulus
    intensity series (``stimulation_series``; ``docs/formats.md``, "Stimulus intensity series").

    Parameters
    ----------
    path : path-like
        The ``.txt`` export.
    keep_identifiers : bool, default False
        Keep "Patient Name"/"Patient ID" in ``metadata``.
    sampling_rate_hz : float, optional
        Rate (Hz) to use when the file gives no sampling interval, rate or sweep.

    Returns
    -------
    StudyList
        Motor studies (F-wave trains attached) and ``.sensory``. Traces in mV, physical polarity (files that say ``"Polarity","Negative Up"`` are
        flipped and ``metadata["polarity_flipped"]`` is True). Values are µV unless a
        ``"Unit"`` line says otherwise (``metadata["amplitude_unit_assumed"]``).

    Raises
    ------
    FormatError
        No wave block, a block without ``"*Wave End"``, ragged or non-numeric sample lines,
        unknown units, per-site line counts that do not match the traces (file and line).
    """
    with boundary(FormatError, path, location="line 1") as where:
        text = decode_text(Path(path).read_bytes(), path=path)
        if not text.strip():
            raise FormatError("empty file: no header and no wave block", path=path,
                              location="line 1")
        studies: list[NerveStudy] = []
        sensory: list[SensoryStudy] = []
        trains: list[dict[str, Any]] = []
        header: dict[str, tuple[int, list[str]]] = {}
        blocks: list[tuple[int, np.ndarray]] = []
        rows: list[list[float]] | None = None
        block_line = 0
        first_trace = 0

        def flush() -> None:
            nonlocal first_trace
            where.location = f"line {blocks[0][0]}"
            study = _study(header, blocks, path=path, keep_identifiers=keep_identifiers,
                           option_hz=sampling_rate_hz, first_trace=first_trace)
            if isinstance(study, dict):
                first_trace += study["traces"].shape[0]
                trains.append(study)
                return
            first_trace += study.n_sites * (study.n_sweeps if isinstance(study, SensoryStudy) else 1)
            (studies if isinstance(study, NerveStudy) else sensory).append(study)

        for line, fields in csv_rows(text, path=path):
            where.location = f"line {line}"
            first = fields[0].strip()
            if rows is not None:
                if first.lower() == _WAVE_END:
                    blocks.append((block_line, np.asarray(rows, dtype=float)))
                    rows = None
                    continue
                if not re.fullmatch(r"\d+(-\d+)?", first):
                    raise FormatError(f"expected a sample index or '*Wave End', got {quote(first)}",
                                      path=path, location=f"line {line}")
                if len(fields) - 1 != len(rows[0]):
                    raise FormatError(f"ragged wave block: {len(fields) - 1} values where the "
                                      f"block has {len(rows[0])} columns", path=path,
                                      location=f"line {line}")
                rows.append(parse_samples(fields[1:], path=path, line=line))
                continue
            if first in ("1", "1-1"):
                if len(fields) < 2:
                    raise FormatError("wave block line has no sample values", path=path,
                                      location=f"line {line}")
                rows, block_line = [parse_samples(fields[1:], path=path, line=line)], line
                continue
            key = first.lower()
            if blocks and key in ("nerve", "test item", "test name"):
                flush()
                blocks = []
                header = {k: v for k, v in header.items() if k not in _PER_SITE}
            header[key] = (line, [v.strip() for v in fields[1:]])
        if rows is not None:
            raise FormatError(f"wave block starting at line {block_line} has no '*Wave End' "
                              "(truncated file?)", path=path, location=f"line {block_line}")
        if not blocks:
            raise FormatError('no wave block (a line starting with "1" or "1-1") found', path=path,
                              location="line 1")
        flush()
        studies, left = attach_trains_keeping_series(studies, trains)
        return StudyList(studies, sensory, left)
