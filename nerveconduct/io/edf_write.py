"""Writing EDF+D motor nerve conduction files: :func:`write_edf`, one data record per site.

The layout follows the EDF+ specification's "Motor Nerve Conduction file" (Kemp & Olivan,
Clin Neurophysiol 2003;114:1755): an ``EDF+D`` file whose records are not contiguous, each
record a stimulation site with a time-keeping TAL and a ``Stimulus ...`` annotation. Each
record also carries a ``nerveconduct {json}`` note with the exact metadata, so
:func:`nerveconduct.io.edf.read_edf` round-trips what this writes. The reader lives in
:mod:`nerveconduct.io.edf`, which re-exports :func:`write_edf` and shares the header layout
below.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..model import Case, NerveStudy, SensoryStudy
from ._text import atomic_write_bytes

__all__ = ["write_edf"]

# EDF header layout and our annotation prefix, shared with the reader (nerveconduct.io.edf).
_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("pmin", 8), ("pmax", 8),
                  ("dmin", 8), ("dmax", 8), ("prefilter", 80), ("n_samples", 8), ("reserved", 32))
_NOTE = "nerveconduct "
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def _field(text: str, width: int) -> bytes:
    raw = text.encode("ascii", "replace")
    if len(raw) > width:
        raise ValueError(f"an EDF header field of {len(raw)} characters is longer than its "
                         f"{width} characters")
    return raw.ljust(width)


def _fmt8(value: float) -> str:
    for digits in range(8, 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 8:
            return text
    raise ValueError(f"{value!r} cannot be written in an 8-character EDF field")


def _records(studies: Sequence[Any]) -> list[tuple[np.ndarray, dict[str, Any], str]]:
    """Every data record of the file: (physical trace in mV, our note, the stimulus text).

    A motor study gives one record per site, then one per step of each stimulus intensity
    series (note ``kind = "series"``, ``site_index``, ``step`` from 1 and the step's
    ``stimulus_intensity_ma``), then one per stimulus of its F-wave train (note ``kind =
    "f-wave"``); a sensory study one per site and sweep (``kind = "sensory"``). Records shorter than the file's longest note their ``n_samples``.
    """
    out = []
    for si, s in enumerate(studies):
        sensory = isinstance(s, SensoryStudy)
        sign = -1.0 if s.polarity == "negative-up" else 1.0
        traces = sign * np.asarray(s.traces, float)
        cum = s.cumulative_distances_mm
        for j, site in enumerate(s.sites):
            where = f" at {cum[j] / 10:g}cm from recording site" if cum[j] is not None else ""
            note = {"study": si, "nerve": s.nerve, "side": s.side,  # motor: the 1.x note's order
                    **({} if sensory else {"muscle": s.muscle}),
                    "site": site.name, "distance_mm": site.distance_mm,
                    "stimulus_intensity_ma": site.stimulus_intensity_ma,
                    "temperature_c": s.temperature_c,
                    "low_frequency_filter_hz": s.low_frequency_filter_hz,
                    **({} if sensory else {"f_wave_latency_ms": s.f_wave_latency_ms}),
                    "study_id": s.study_id, "study_date": s.metadata.get("study_date")}
            if sensory:
                note.update(kind="sensory", direction=s.direction,
                            recording_site=s.recording_site,
                            n_sweeps=s.n_sweeps if np.ndim(s.traces) == 3 else 0)
            for k, trace in enumerate(traces[j] if traces.ndim == 3 else traces[j][None]):
                text = f"Stimulus {s.side or ''} {site.name}{where}"
                out.append((trace, dict(note, sweep=k) if traces.ndim == 3 else note,
                            text + (" sensory" if sensory else ""), s.stimulus_sample))
        for j, series in ([] if sensory else sorted(s.stimulation_series.items())):
            note = {"study": si, "kind": "series", "site_index": j}
            for k, (ma, trace) in enumerate(zip(series.intensities_ma,
                                                sign * np.asarray(series.traces, float))):
                out.append((trace, dict(note, step=k + 1, stimulus_intensity_ma=float(ma)),
                            f"Stimulus {s.side or ''} {s.sites[j].name} {float(ma):g}mA "
                            f"series step {k + 1}", s.stimulus_sample))
        train = None if sensory else getattr(s, "f_wave_traces", None)
        if train is not None:
            note = {"study": si, "kind": "f-wave", "sampling_rate_hz": s.f_wave_sampling_rate_hz}
            for k, trace in enumerate(np.asarray(train, float)):
                out.append((trace, dict(note, stimulus=k),
                            f"Stimulus {s.side or ''} {s.sites[0].name} F-wave {k + 1}",
                            s.f_wave_stimulus_sample))
    return out


def write_edf(path: str | os.PathLike[str], studies: Any, *,
              overwrite: bool = False) -> Path:
    """Write studies as an EDF+D nerve conduction file: one data record per site.

    Parameters
    ----------
    path : path-like
        Output file, written atomically (temporary file + :func:`os.replace`).
    studies : NerveStudy, SensoryStudy, Case, or a sequence of NerveStudy/SensoryStudy
        All at one sampling rate; the motor studies with one trace length (one record
        duration per file). A motor study's F-wave train (at the same rate) follows its sites,
        one record per stimulus; a site's stimulus intensity series (``stimulation_series``),
        one record per step, the intensity in its annotation and note; a sensory study gives
        one record per site (and sweep).
        Records shorter than the longest are padded with zeros and their note says their
        length.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        No studies, or studies whose rate differs or motor studies whose length differs
        (write one file per study or per rate).
    TypeError
        An item is not a NerveStudy or SensoryStudy.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Notes
    -----
    Traces are stored physical (mV) on a symmetric 16-bit scale, so reading back returns them
    to within half a quantisation step, (physical max - min) / 65535 / 2. Each record carries a
    time-keeping TAL, a ``Stimulus <side> <site> at <x>cm from recording site`` annotation at the
    stimulus, and a ``nerveconduct {json}`` note with the exact metadata. Patient fields are
    ``X`` unless the studies carry kept identifiers.
    """
    if isinstance(studies, Case):
        studies = [*studies.studies, *studies.sensory]
    studies = [studies] if isinstance(studies, (NerveStudy, SensoryStudy)) else list(studies)
    if not studies:
        raise ValueError("write_edf needs at least one NerveStudy, got none")
    for i, s in enumerate(studies):
        if not isinstance(s, (NerveStudy, SensoryStudy)):
            raise TypeError(f"studies[{i}] must be a NerveStudy or SensoryStudy, got "
                            f"{type(s).__name__}")
    motor = [s for s in studies if isinstance(s, NerveStudy)]
    shapes = {(s.traces.shape[1], s.sampling_rate_hz) for s in motor}
    if len(shapes) > 1:
        raise ValueError(f"all studies in one EDF+D file need the same (n_samples, "
                         f"sampling_rate_hz), got {sorted(shapes)}; write one file per study")
    rates = {s.sampling_rate_hz for s in studies} | {
        s.f_wave_sampling_rate_hz for s in motor if s.f_wave_traces is not None}
    if len(rates) != 1:
        raise ValueError(f"all traces in one EDF+D file need one sampling rate, got "
                         f"{sorted(rates)} Hz (motor, F-wave and sensory traces); write one "
                         "file per rate")
    entries = _records(studies)
    n, rate = max(len(e[0]) for e in entries), rates.pop()
    duration = _fmt8(n / rate)
    if abs(n / float(duration) - rate) > 1e-6 * rate:
        raise ValueError(f"record of {n} samples at {rate} Hz has a duration that 8 characters "
                         f"cannot hold ({n / rate!r} s)")
    peak = max(float(np.max(np.abs(e[0]))) for e in entries) or 1.0
    step = 10.0 ** (math.floor(math.log10(peak)) - 2)  # round up to 3 significant digits
    pmax = float(_fmt8(math.ceil(peak / step * (1 + 1e-9)) * step))
    if pmax < peak:
        pmax = float(_fmt8(peak * 1.001))
    dmin, dmax = -32768, 32767
    gain = 2 * pmax / (dmax - dmin)
    gap = float(max(1, math.ceil(n / rate) + 1))
    notes, records = [], []
    for k, (trace, note, stim_text, stim_sample) in enumerate(entries):
        onset = f"+{k * gap:g}"
        stim = f"+{k * gap + stim_sample / rate:.9f}".rstrip("0").rstrip(".")
        if len(trace) < n:
            note = dict(note, n_samples=len(trace))
            trace = np.concatenate([trace, np.zeros(n - len(trace))])
        text = (f"{onset}\x14\x14\x00{stim}\x14{stim_text}"
                f"\x14{_NOTE}{json.dumps(note)}\x14\x00").replace("  ", " ")
        notes.append(text.encode("utf-8"))
        records.append(np.clip(np.round((trace + pmax) / gain + dmin), dmin, dmax).astype("<i2"))
    ann_n = (max(len(b) for b in notes) + 1) // 2 + 1
    first = studies[0]
    site = [getattr(s, "muscle", None) or getattr(s, "recording_site", None) for s in studies]
    same = all((s.side, m) == (first.side, site[0]) for s, m in zip(studies, site))
    kind = "CMAP" if motor else "SNAP"
    label = f"NC {(first.side or 'X')[:1].upper()}_{site[0] or kind}" if same else f"NC {kind}"
    lffs = {s.low_frequency_filter_hz for s in studies}
    prefilter = f"HP:{lffs.pop():g}Hz" if len(lffs) == 1 and None not in lffs else ""
    date = first.metadata.get("study_date")
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", str(date or ""))
    edf_date = f"{m[3]}-{_MONTHS[int(m[2]) - 1]}-{m[1]}" if m else "X"
    ids = first.metadata
    patient = " ".join(str(ids.get(key) or "X").replace(" ", "_") for key in
                       ("patient_id", "_sex", "_birthdate", "patient_name"))
    prefix = "MNC" if motor else "SNC"
    what = (f"{prefix} {first.side or ''} {first.nerve}" if len(studies) == 1 else
            f"{prefix} several nerves" + ("" if len(motor) in (0, len(studies)) else " with SNC"))
    recording = f"Startdate {edf_date} X X nerveconduct {what}".replace("  ", " ")
    header = b"".join([
        _field("0", 8), _field(patient, 80), _field(recording[:80], 80),
        _field(f"{m[3]}.{m[2]}.{m[1][2:]}" if m else "01.01.85", 8), _field("00.00.00", 8),
        _field(str(768), 8), _field("EDF+D", 44), _field(str(len(records)), 8),
        _field(duration, 8), _field("2", 4),
    ])
    cols = {"label": (label[:16], "EDF Annotations"), "transducer": ("", ""),
            "dimension": ("mV", ""), "pmin": (_fmt8(-pmax), "-1"), "pmax": (_fmt8(pmax), "1"),
            "dmin": (str(dmin), "-32768"), "dmax": (str(dmax), "32767"),
            "prefilter": (prefilter, ""), "n_samples": (str(n), str(ann_n)),
            "reserved": ("", "")}
    for name, width in _SIGNAL_FIELDS:
        header += b"".join(_field(v, width) for v in cols[name])
    body = b"".join(r.tobytes() + b.ljust(2 * ann_n, b"\x00") for r, b in zip(records, notes))
    return atomic_write_bytes(path, header + body, overwrite=overwrite)
