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
from typing import Sequence

import numpy as np

from ..model import NerveStudy
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


def write_edf(path: str | os.PathLike[str], studies: NerveStudy | Sequence[NerveStudy], *,
              overwrite: bool = False) -> Path:
    """Write studies as an EDF+D motor nerve conduction file: one data record per site.

    Parameters
    ----------
    path : path-like
        Output file, written atomically (temporary file + :func:`os.replace`).
    studies : NerveStudy or sequence of NerveStudy
        All with the same sampling rate and trace length (one record duration per file).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        No studies, or studies whose rate/length differ (write one file per study).
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
    studies = [studies] if isinstance(studies, NerveStudy) else list(studies)
    if not studies:
        raise ValueError("write_edf needs at least one NerveStudy, got none")
    shapes = {(s.traces.shape[1], s.sampling_rate_hz) for s in studies}
    if len(shapes) != 1:
        raise ValueError(f"all studies in one EDF+D file need the same (n_samples, "
                         f"sampling_rate_hz), got {sorted(shapes)}; write one file per study")
    n, rate = shapes.pop()
    duration = _fmt8(n / rate)
    if abs(n / float(duration) - rate) > 1e-6 * rate:
        raise ValueError(f"record of {n} samples at {rate} Hz has a duration that 8 characters "
                         f"cannot hold ({n / rate!r} s)")
    phys = [np.where(s.polarity == "negative-up", -1.0, 1.0) * np.asarray(s.traces, float)
            for s in studies]
    peak = max(float(np.max(np.abs(p))) for p in phys) or 1.0
    step = 10.0 ** (math.floor(math.log10(peak)) - 2)  # round up to 3 significant digits
    pmax = float(_fmt8(math.ceil(peak / step * (1 + 1e-9)) * step))
    if pmax < peak:
        pmax = float(_fmt8(peak * 1.001))
    dmin, dmax = -32768, 32767
    gain = 2 * pmax / (dmax - dmin)
    gap = float(max(1, math.ceil(n / rate) + 1))
    notes, records, k = [], [], 0
    for si, (s, p) in enumerate(zip(studies, phys)):
        cum = s.cumulative_distances_mm
        for j, site in enumerate(s.sites):
            onset = f"+{k * gap:g}"
            stim = f"+{k * gap + s.stimulus_sample / rate:.9f}".rstrip("0").rstrip(".")
            where = f" at {cum[j] / 10:g}cm from recording site" if cum[j] is not None else ""
            note = {"study": si, "nerve": s.nerve, "side": s.side, "muscle": s.muscle,
                    "site": site.name, "distance_mm": site.distance_mm,
                    "stimulus_intensity_ma": site.stimulus_intensity_ma,
                    "temperature_c": s.temperature_c,
                    "low_frequency_filter_hz": s.low_frequency_filter_hz,
                    "f_wave_latency_ms": s.f_wave_latency_ms, "study_id": s.study_id,
                    "study_date": s.metadata.get("study_date")}
            text = (f"{onset}\x14\x14\x00{stim}\x14Stimulus {s.side or ''} {site.name}{where}"
                    f"\x14{_NOTE}{json.dumps(note)}\x14\x00").replace("  ", " ")
            notes.append(text.encode("utf-8"))
            dig = np.clip(np.round((p[j] + pmax) / gain + dmin), dmin, dmax).astype("<i2")
            records.append(dig)
            k += 1
    ann_n = (max(len(b) for b in notes) + 1) // 2 + 1
    first = studies[0]
    same = all((s.side, s.muscle) == (first.side, first.muscle) for s in studies)
    label = f"NC {(first.side or 'X')[:1].upper()}_{first.muscle or 'CMAP'}" if same else "NC CMAP"
    lffs = {s.low_frequency_filter_hz for s in studies}
    prefilter = f"HP:{lffs.pop():g}Hz" if len(lffs) == 1 and None not in lffs else ""
    date = first.metadata.get("study_date")
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", str(date or ""))
    edf_date = f"{m[3]}-{_MONTHS[int(m[2]) - 1]}-{m[1]}" if m else "X"
    ids = first.metadata
    patient = " ".join(str(ids.get(key) or "X").replace(" ", "_") for key in
                       ("patient_id", "_sex", "_birthdate", "patient_name"))
    what = f"MNC {first.side or ''} {first.nerve}" if len(studies) == 1 else "MNC several nerves"
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
