"""Writing the trace CSV export layout that :mod:`nerveconduct.io.vendor` reads (fixtures, samples).

One test item per motor study, its F-wave train and each sensory study (``docs/formats.md``,
"Trace CSV export" and "Sensory studies and F-wave trains"); values in µV, physical polarity.
Re-exported by :mod:`nerveconduct.io.vendor`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Case, NerveStudy, SensoryStudy
from ..model.motor import warn_series_lost
from ._series_io import carries_series, ma_text, series_columns
from ._text import atomic_write_bytes

__all__ = ["write_trace_csv"]


def item_text(study: Any, kind: str) -> str:
    """The test item a machine would print: side, nerve, kind, (muscle / recording site)."""
    side = (study.side or "").capitalize()
    words = {"motor": ["Motor"], "f-wave": ["F-Wave"],
             "sensory": ["Sensory", str(getattr(study, "direction", "")).capitalize()]}[kind]
    item = " ".join(p for p in (side, (study.nerve or "").capitalize(), *words) if p)
    extra = study.recording_site if kind == "sensory" else study.muscle
    return item + (f" ({extra})" if extra else "")


def flat_traces(study: Any, kind: str) -> tuple[np.ndarray, float, int, list[str], list[int] | None]:
    """One item's traces as rows, as the machine exports write them.

    Parameters
    ----------
    study : NerveStudy or SensoryStudy
    kind : {"motor", "f-wave", "sensory"}
        ``"f-wave"`` takes the study's F-wave train (one row per stimulus).

    Returns
    -------
    traces_mv : ndarray, shape (n_rows, n_samples)
        Stored traces (mV), repeated sweeps of a site one row each.
    rate_hz : float
        Sampling rate (Hz).
    stimulus_sample : int
        Sample of the stimulus.
    labels : list of str
        Row labels: ``"Stim i"`` for an F-wave train, else the site name of each row.
    sweeps : list of int or None
        Sweep number (from 1) of each row when the traces hold repeated sweeps.
    """
    if kind == "f-wave":
        traces = np.asarray(study.f_wave_traces, dtype=float)
        labels = [f"Stim {i + 1}" for i in range(traces.shape[0])]
        return (traces, study.f_wave_sampling_rate_hz, study.f_wave_stimulus_sample, labels,
                None)
    traces = np.asarray(study.traces, dtype=float)
    k = traces.shape[1] if traces.ndim == 3 else 1
    labels = [s.name for s in study.sites for _ in range(k)]
    sweeps = list(range(1, k + 1)) * study.n_sites if traces.ndim == 3 else None
    return (traces.reshape(-1, traces.shape[-1]), study.sampling_rate_hz, study.stimulus_sample,
            labels, sweeps)


def _write_block(w: Any, study: Any, kind: str, *, patient_name: str | None,
                 patient_id: str | None, distances: bool) -> None:
    """The rows of one test item: the motor study, its F-wave train, or a sensory study."""
    traces, rate, stim, labels, sweeps = flat_traces(study, kind)
    intensities: list[Any] = ([s.stimulus_intensity_ma for s in study.sites] if kind == "motor"
                              else [None] * len(labels))
    steps: list[int | None] | None = None
    if kind == "motor" and carries_series(study):  # each step one more column of its site
        traces, labels, intensities, steps = series_columns(study)
    traces_uv = traces * 1e3
    if kind != "f-wave" and study.polarity == "negative-up":
        traces_uv = -traces_uv
    n = traces_uv.shape[0]
    w.writerow(["Test Name", "NCV"])
    w.writerow(["Test Item", item_text(study, kind)])
    w.writerow(["Patient Name", patient_name or ""])
    w.writerow(["Patient ID", patient_id or ""])
    date = study.metadata.get("study_date")
    if date and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(date)):
        y, m, d = str(date).split("-")
        w.writerow(["Test Date", f"{d}/{m}/{y}"])
    if study.temperature_c is not None:
        w.writerow(["Temperature (C)", f"{study.temperature_c:.1f}"])
    if study.low_frequency_filter_hz is not None:
        w.writerow(["Low Cut (Hz)", f"{study.low_frequency_filter_hz:g}"])
    w.writerow(["Trace Label"] + [f"{name} : " for name in labels])
    if sweeps is not None:
        w.writerow(["Sweep"] + [str(k) for k in sweeps])
    if distances and kind != "f-wave" and any(s.distance_mm is not None for s in study.sites):
        k = n // study.n_sites if steps is None else 1
        per_site = [s.distance_mm for s in study.sites for _ in range(k)]
        if steps is not None:  # a series step: its site's distance
            by_name = {s.name: s.distance_mm for s in study.sites}
            per_site += [by_name[name] for name in labels[len(per_site):]]
        w.writerow(["Distance (mm)"] + ["" if d is None else f"{d:g}" for d in per_site])
    if any(v is not None for v in intensities):
        w.writerow(["Stim Intensity (mA)"] + ["" if v is None else ma_text(v) for v in intensities])
    if steps is not None:
        w.writerow(["Series Step"] + ["" if k is None else str(k) for k in steps])
    peak = float(np.max(np.abs(traces_uv))) if traces_uv.size else 0.0
    w.writerow(["Sensitivity (μV/Div)"] + [f"{max(peak / 4, 1.0):.2f}"] * n)
    w.writerow(["Sampling Rate (Hz)"] + [f"{rate:g}"] * n)
    if stim:
        delay_ms = stim * 1e3 / rate
        w.writerow(["Stimulus Delay (ms)"] + [f"{delay_ms:.6g}"] * n)
    for k in range(traces_uv.shape[1]):
        w.writerow(["Trace Data (μV)" if k == 0 else ""] + [f"{v:.2f}" for v in traces_uv[:, k]])


def write_trace_csv(path: str | os.PathLike[str], study: Any, *,
                    patient_name: str | None = None, patient_id: str | None = None,
                    overwrite: bool = False, distances: bool = False) -> Path:
    """Write studies as a trace CSV export (µV values, physical polarity); for fixtures.

    Parameters
    ----------
    path : path-like
        Output file; written atomically.
    study : NerveStudy, SensoryStudy, Case, or a sequence of NerveStudy/SensoryStudy
        What to write, one test item each, in order: a motor study (test item
        ``"<Side> <Nerve> Motor (<muscle>)"``), then its F-wave train when it has one
        (``"... F-Wave (<muscle>)"``, one column per stimulus); a sensory study
        (``"<Side> <Nerve> Sensory <Direction> (<recording site>)"``, with a ``Sweep`` row
        when it holds repeated sweeps). A Case gives its motor, then its sensory studies. A
        motor study's stimulus intensity series (``stimulation_series``) are more columns of
        its item, one per step, with ``Stim Intensity (mA)`` and ``Series Step`` rows
        (``docs/formats.md``); a series whose traces are not as long as the study's is not
        written (a named warning).
    patient_name, patient_id : str, optional
        Identifier rows to write (use obviously fake values in fixtures).
    overwrite : bool, default False
        Replace an existing file.
    distances : bool, default False
        Write a ``Distance (mm)`` row (the machine's export lacks distances, so by default
        they are not written: a sheet gives them).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    TypeError
        ``study`` holds something other than the studies above.
    """
    if isinstance(study, Case):
        items: list[Any] = [*study.studies, *study.sensory]
    elif isinstance(study, (NerveStudy, SensoryStudy)):
        items = [study]
    else:
        items = list(study)
    for i, item in enumerate(items):
        if not isinstance(item, (NerveStudy, SensoryStudy)):
            raise TypeError(f"study[{i}] must be a NerveStudy or SensoryStudy, got "
                            f"{type(item).__name__}")
    lost = [(f"studies[{i}]", s) for i, s in enumerate(items) if not carries_series(s)]
    warn_series_lost([s for _, s in lost], "a trace CSV export (a series needs traces as long "
                     "as its study's)", [w for w, _ in lost])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    ids = dict(patient_name=patient_name, patient_id=patient_id, distances=distances)
    for item in items:
        if isinstance(item, SensoryStudy):
            _write_block(w, item, "sensory", **ids)
            continue
        _write_block(w, item, "motor", **ids)
        if getattr(item, "f_wave_traces", None) is not None:
            _write_block(w, item, "f-wave", **ids)
    return atomic_write_bytes(path, out.getvalue().encode("utf-8"), overwrite=overwrite)
