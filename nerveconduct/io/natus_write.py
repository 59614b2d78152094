"""Write the Natus text export layout that :mod:`nerveconduct.io.natus` reads (for samples and tests).

UTF-16 with a byte-order mark, CRLF line ends, values in µV; the layout is described in
``docs/formats.md`` ("Natus text export") and :mod:`nerveconduct.io.natus`.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import check_number
from ..model import Case, NerveStudy, SensoryStudy
from ..model.motor import warn_series_lost
from ._series_io import carries_series, series_columns
from ._text import atomic_write_bytes
from .natus import _RATE_HZ, _TIME_MS

__all__ = ["write_natus_text"]


def write_natus_text(studies: Any, path: str | os.PathLike[str], *,
                     patient_name: str | None = None, patient_id: str | None = None,
                     high_frequency_filter_hz: float | None = None, notch_filter_on: bool = False,
                     values_per_line: int = 16, sweep_unit: str = "ms", high_unit: str = "Hz",
                     overwrite: bool = False) -> Path:
    """Write studies in the layout :func:`read_natus_text` reads (UTF-16 with BOM, CRLF).

    Parameters
    ----------
    studies : NerveStudy, SensoryStudy, Case, or an iterable of NerveStudy/SensoryStudy
        One ``Nerve=`` block each, then per site the lines of the module docstring (µV,
        physical polarity, ``values_per_line`` values a line, continued lines end with ``/``).
        A motor study's F-wave train follows as its own block (``Nerve=... F-Wave (<muscle>)``,
        one trace per stimulus); a sensory study's block is ``Nerve=<Side> <Nerve> Sensory
        <Direction> (<recording site>)``, with a ``Sweep=`` per trace when it holds sweeps.
        A motor study's stimulus intensity series are more traces of its block, one per step,
        with ``Stim Intensity(mA)=`` and ``Series Step=`` (``docs/formats.md``); a series
        whose traces are not as long as the study's is not written (a named warning).
    path : path-like
        Output file, written atomically (``overwrite`` to replace one).
    patient_name, patient_id : str, optional
        Identifier lines (use obviously fake values in fixtures and samples).
    high_frequency_filter_hz : float, optional
        ``High`` filter (Hz); default ``metadata["high_frequency_filter_hz"]``, else no line.
    notch_filter_on : bool
        ``Notch Filter(Hz)=On`` or ``Off``.
    sweep_unit : {"ms", "s"}; high_unit : {"Hz", "kHz"}
        Units of the ``Sweep Duration`` and ``High`` keys.

    Returns
    -------
    Path
        The written file.
    """
    if isinstance(studies, Case):
        studies = [*studies.studies, *studies.sensory]
    items = [studies] if isinstance(studies, (NerveStudy, SensoryStudy)) else list(studies)
    if not items or not all(isinstance(s, (NerveStudy, SensoryStudy)) for s in items):
        raise ValueError("studies must be a NerveStudy or a non-empty iterable of NerveStudy "
                         "(or SensoryStudy)")
    lost = [(f"studies[{i}]", s) for i, s in enumerate(items)
            if isinstance(s, NerveStudy) and not carries_series(s)]
    warn_series_lost([s for _, s in lost], "a Natus text file (a series needs traces as long as "
                     "its study's)", [w for w, _ in lost])
    blocks = []
    for study in items:
        blocks.append((study, "sensory" if isinstance(study, SensoryStudy) else "motor"))
        if isinstance(study, NerveStudy) and study.f_wave_traces is not None:
            blocks.append((study, "f-wave"))
    if sweep_unit not in _TIME_MS or high_unit not in ("Hz", "kHz"):
        raise ValueError(f"sweep_unit must be 'ms' or 's', high_unit 'Hz' or 'kHz'; got "
                         f"{sweep_unit!r}, {high_unit!r}")
    check_number("values_per_line", values_per_line, minimum=1, integer=True)
    lines = [f"Patient Name={patient_name}"] if patient_name else []
    lines += [f"Patient ID={patient_id}"] if patient_id else []
    if items[0].metadata.get("study_date"):
        lines.append(f"Visit Date={items[0].metadata['study_date']}")
    for study, kind in blocks:
        steps: list[int | None] | None = None  # a motor item's series steps
        if kind == "f-wave":
            rate, stim, sign = study.f_wave_sampling_rate_hz, study.f_wave_stimulus_sample, 1.0
            raw = np.asarray(study.f_wave_traces, dtype=np.float64)
            sites: list[Any] = [(f"Stim {i + 1}", None, None, None) for i in range(len(raw))]
        else:
            rate, stim = study.sampling_rate_hz, study.stimulus_sample
            sign = -1.0 if study.polarity == "negative-up" else 1.0
            raw = np.asarray(study.traces, dtype=np.float64)
            k = raw.shape[1] if raw.ndim == 3 else 1
            sites = [(s.name, s.distance_mm, s.stimulus_intensity_ma,
                      j + 1 if raw.ndim == 3 else None) for s in study.sites for j in range(k)]
            raw = raw.reshape(-1, raw.shape[-1])
            if kind == "motor" and carries_series(study):  # each step one more trace of its site
                raw, names, intensities, steps = series_columns(study)
                by_name = {s.name: s.distance_mm for s in study.sites}
                sites = [(x, by_name[x], ma, None) for x, ma in zip(names, intensities)]
        traces_uv = raw * (1e3 * sign)
        n = traces_uv.shape[1]
        words = {"motor": "Motor", "f-wave": "F-Wave",
                 "sensory": f"Sensory {str(getattr(study, 'direction', '')).capitalize()}"}[kind]
        item = " ".join(x for x in ((study.side or "").capitalize(), study.nerve.capitalize(),
                                    words) if x)
        extra = study.recording_site if kind == "sensory" else study.muscle
        lines.append(f"Nerve={item}" + (f" ({extra})" if extra else ""))
        if study.temperature_c is not None:
            lines.append(f"Temperature(C)={study.temperature_c:.1f}")
        if stim:
            lines.append(f"Stimulus Delay(ms)={stim * 1e3 / rate:.9f}")
        hff = study.metadata.get("high_frequency_filter_hz") if high_frequency_filter_hz is None \
            else high_frequency_filter_hz
        with_intensity = any(s[2] is not None for s in sites)
        for t, ((name, distance_mm, intensity_ma, sweep), trace) in enumerate(zip(sites, traces_uv)):
            lines += [f"Site={name}"]
            if kind != "f-wave":
                lines.append("Distance(mm)=" + ("" if distance_mm is None else
                                                f"{distance_mm:.6f}"))
            if sweep is not None:
                lines.append(f"Sweep={sweep}")
            if with_intensity:
                lines.append("Stim Intensity(mA)=" + ("" if intensity_ma is None
                                                      else f"{intensity_ma:.6f}"
                                                      if float(f"{intensity_ma:.6f}") == intensity_ma
                                                      else repr(float(intensity_ma))))
            if steps is not None:
                lines.append("Series Step=" + ("" if steps[t] is None else str(steps[t])))
            lines += [f"Subsampled(kHz)={rate / 1e3:.9f}",
                      f"Trace Duration(ms)={n * 1e3 / rate:.6f}",
                      f"Sweep Duration({sweep_unit})={n * 1e3 / rate / _TIME_MS[sweep_unit]:.6f}"]
            values = [f"{v:.4f}" for v in trace]
            lines.append(f"LongTrace Data(µV)<{n}>=" + "/\r\n".join(
                ",".join(values[k:k + values_per_line]) for k in range(0, n, values_per_line)))
            if study.low_frequency_filter_hz is not None:
                lines.append(f"Low(Hz)={study.low_frequency_filter_hz:.6f}")
            if hff is not None:
                lines.append(f"High({high_unit})={hff / _RATE_HZ[high_unit.casefold()]:.6f}")
            lines.append(f"Notch Filter(Hz)={'On' if notch_filter_on else 'Off'}")
    data = codecs.BOM_UTF16_LE + ("\r\n".join(lines) + "\r\n").encode("utf-16-le")
    return atomic_write_bytes(path, data, overwrite=overwrite)
