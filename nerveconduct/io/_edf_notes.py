"""Our ``nerveconduct {json}`` note of an EDF+D record, and the sensory study its records make.

Shared by :mod:`nerveconduct.io.edf` (the reader). The writer (:mod:`.edf_write`) puts one
note in each record: the study it belongs to, its site, and for the records of sensory
studies, F-wave trains and stimulus intensity series their ``kind`` (``docs/formats.md``, "EDF" and "Sensory studies and
F-wave trains").
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ..model import SensoryStudy, Site
from ._ranges import check_range
from .edf_write import _NOTE
from .errors import FormatError, quote

__all__ = ["our_note", "sensory_from_records"]

#: Fields of our ``nerveconduct {json}`` note: name -> allowed kind.
_NOTE_TEXT = ("nerve", "side", "muscle", "site", "study_id", "study_date", "direction",
              "recording_site")
#: Integer fields of our note (records of sensory studies and F-wave trains), and the largest
#: value each may take.
_NOTE_INTEGERS = {"sweep": 99_999, "n_sweeps": 99_999, "stimulus": 99_999,
                  "n_samples": 10_000_000, "site_index": 99_999, "step": 99_999}
#: ``kind`` of our note: absent = a motor study's site.
_NOTE_KINDS = ("sensory", "f-wave", "series")
_NOTE_NUMBERS = {"distance_mm": "distance_mm", "stimulus_intensity_ma": "stimulus_intensity_ma",
                 "temperature_c": "temperature_c",
                 "low_frequency_filter_hz": "low_frequency_filter_hz",
                 "f_wave_latency_ms": "f_wave_latency_ms"}



def our_note(text: str, *, path: Any, record: int) -> dict[str, Any]:
    """Our ``nerveconduct {json}`` note, checked: a JSON object with fields of the right type."""
    loc = f"record {record}"
    try:
        note = json.loads(text[len(_NOTE):])
    except json.JSONDecodeError as exc:
        raise FormatError(f"bad nerveconduct note: {exc.msg} at character {exc.pos}",
                          path=path, location=loc) from None
    if not isinstance(note, dict):
        raise FormatError(f"nerveconduct note must be a JSON object, got a "
                          f"{type(note).__name__}", path=path, location=loc)
    study = note.get("study", 0)
    if isinstance(study, bool) or not isinstance(study, int) or not 0 <= study < 1_000_000:
        raise FormatError(f"nerveconduct note field 'study' must be an integer in [0, 999999], "
                          f"got {quote(study)}", path=path, location=loc)
    for key in _NOTE_TEXT:
        if not isinstance(note.get(key), (str, type(None))):
            raise FormatError(f"nerveconduct note field {key!r} must be a string or null, got "
                              f"a {type(note[key]).__name__}", path=path, location=loc)
    if note.get("kind") is not None and note["kind"] not in _NOTE_KINDS:
        raise FormatError(f"nerveconduct note field 'kind' must be one of {list(_NOTE_KINDS)} or "
                          f"absent, got {quote(note['kind'])}", path=path, location=loc)
    for key, top in _NOTE_INTEGERS.items():
        value = note.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= top):
            raise FormatError(f"nerveconduct note field {key!r} must be an integer in [0, "
                              f"{top}], got {quote(value)}", path=path, location=loc)
    if note.get("kind") == "f-wave" and note.get("sampling_rate_hz") is not None:
        note["sampling_rate_hz"] = check_range(note["sampling_rate_hz"], "sampling_rate_hz",
                                               path=path, location=loc,
                                               what="nerveconduct note field 'sampling_rate_hz'")
    if note.get("kind") == "series" and any(note.get(k) is None for k in
                                            ("site_index", "step", "stimulus_intensity_ma")):
        raise FormatError("nerveconduct note of a series step must give 'site_index', 'step' and "
                          "'stimulus_intensity_ma'", path=path, location=loc)
    for key, quantity in _NOTE_NUMBERS.items():
        value = note.get(key)
        if value is None or (key == "f_wave_latency_ms" and isinstance(value, float)
                             and math.isnan(value)):  # NaN: F-waves sought and absent
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormatError(f"nerveconduct note field {key!r} must be a number or null, got "
                              f"a {type(value).__name__}", path=path, location=loc)
        note[key] = check_range(value, quantity, path=path, location=loc,
                                what=f"nerveconduct note field {key!r}")
    return note


def sensory_from_records(traces: np.ndarray, first: dict[str, Any], names: list[str], dists: list[Any],
             amps: list[Any], *, nerve: str | None, side: str | None,
             recording_site: str | None, rate: float, stimulus_sample: int,
             temperature_c: float | None, lff: float | None, study_id: str | None,
             metadata: dict[str, Any], path: Any, location: str) -> SensoryStudy:
    """A sensory study from its records (site-major, ``n_sweeps`` records per site when our
    note says so)."""
    k = first.get("n_sweeps") or 0
    n = traces.shape[0]
    if k and n % k:
        raise FormatError(f"{n} records do not split into sites of n_sweeps={k}", path=path,
                          location=location)
    data = traces.reshape(n // k, k, traces.shape[1]) if k else traces
    step = k or 1
    sites = [Site(*x) for x in zip(names[::step], dists[::step], amps[::step])]
    if first.get("direction") is None:
        metadata["missing_fields"].append("direction")
    return SensoryStudy(nerve or "unknown", side, sites, data, rate,
                        stimulus_sample=stimulus_sample,
                        direction=first.get("direction") or "antidromic",
                        recording_site=recording_site, temperature_c=temperature_c,
                        low_frequency_filter_hz=lff, study_id=study_id, metadata=metadata)
