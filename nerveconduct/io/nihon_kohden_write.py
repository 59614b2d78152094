"""Writing the Nihon Kohden text layout that :mod:`nerveconduct.io.nihon_kohden` reads.

For fixtures and samples: one test item per motor study, its F-wave train and each sensory
study (``docs/formats.md``); µV, negative-up as the machines display it; identifiers are never
written. Re-exported by :mod:`nerveconduct.io.nihon_kohden`.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Case, NerveStudy, SensoryStudy
from ..model.motor import warn_series_lost
from ._text import atomic_write_bytes
from ._series_io import carries_series, ma_text, series_columns
from .vendor_write import flat_traces, item_text

__all__ = ["write_nihon_kohden_txt"]


def _write_item(w: Any, study: Any, kind: str) -> None:
    """One nerve's lines and wave block: a motor study, its F-wave train or a sensory study."""
    sign = 1.0 if study.polarity == "negative-up" else -1.0  # stored negative-up
    values, rate, stim, names, sweeps = flat_traces(study, kind)
    intensities: list[Any] = ([s.stimulus_intensity_ma for s in study.sites] if kind == "motor"
                              else [None] * len(names))
    steps: list[int | None] | None = None
    if kind == "motor" and carries_series(study):  # each step one more trace of its site
        values, names, intensities, steps = series_columns(study)
    if kind == "f-wave":
        sign = -1.0
    values_uv = values * 1e3 * sign
    n = values_uv.shape[0]
    w.writerow(["Test Item", item_text(study, kind)])
    if study.metadata.get("study_date"):
        w.writerow(["Date", str(study.metadata["study_date"])])
    if study.temperature_c is not None:
        w.writerow(["Temperature", f"{study.temperature_c:.1f}C"])
    if study.low_frequency_filter_hz is not None:
        w.writerow(["Low Cut", f"{study.low_frequency_filter_hz:g}Hz"])
    w.writerow(["Sampling Interval", f"{1e3 / rate:.9g}ms"])
    if stim:
        w.writerow(["Stimulus Delay", f"{stim * 1e3 / rate:.9g}ms"])
    peak_mv = float(np.max(np.abs(values_uv))) / 1e3 if values_uv.size else 1.0
    w.writerow(["Sensitivity"] + [f"{max(peak_mv / 4, 0.01):.3g}mV/D"] * n)
    w.writerow(["Unit", "uV"])
    w.writerow(["Polarity", "Negative Up"])
    w.writerow(["Stim Site"] + names)
    if sweeps is not None:
        w.writerow(["Sweep"] + [str(x) for x in sweeps])
    if kind == "sensory" or (kind == "motor" and steps is None):
        k = n // study.n_sites
        w.writerow(["Distance"] + ["" if s.distance_mm is None else f"{s.distance_mm:g}mm"
                                   for s in study.sites for _ in range(k)])
        if any(s.stimulus_intensity_ma is not None for s in study.sites):
            w.writerow(["Stim Intensity"] + ["" if s.stimulus_intensity_ma is None else
                                             f"{s.stimulus_intensity_ma:g}mA"
                                             for s in study.sites for _ in range(k)])
    elif steps is not None:  # a series step: its site's distance, its own intensity
        by_name = {s.name: s.distance_mm for s in study.sites}
        w.writerow(["Distance"] + ["" if by_name[x] is None else f"{by_name[x]:g}mm" for x in names])
        w.writerow(["Stim Intensity"] + ["" if v is None else f"{ma_text(v)}mA" for v in intensities])
        w.writerow(["Series Step"] + ["" if k is None else str(k) for k in steps])
    for k in range(values_uv.shape[1]):
        w.writerow([str(k + 1)] + [f"{v:.2f}" for v in values_uv[:, k]])
    w.writerow(["*Wave End"])


def write_nihon_kohden_txt(path: str | os.PathLike[str], study: Any, *,
                           overwrite: bool = False) -> Path:
    """Write studies in the NK text layout (µV, negative-up, as the machines display it).

    Distances are written in mm in the machine convention; identifiers are never written.

    Parameters
    ----------
    path : path-like
        Output file (written atomically).
    study : NerveStudy, SensoryStudy, Case, or a sequence of NerveStudy/SensoryStudy
        One test item each, in order; a motor study's F-wave train follows it as its own
        item (``"... F-Wave (<muscle>)"``, one column per stimulus); a sensory study's item
        is ``"<Side> <Nerve> Sensory <Direction> (<recording site>)"``, with a ``"Sweep"``
        line when it holds repeated sweeps. A Case gives its motor, then sensory studies. A
        motor study's stimulus intensity series are more traces of its item, one per step,
        with ``"Stim Intensity"`` and ``"Series Step"`` lines (``docs/formats.md``); a series
        whose traces are not as long as the study's is not written (a named warning).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The written file (written atomically).

    Raises
    ------
    TypeError
        Something other than the studies above.
    """
    if isinstance(study, Case):
        items: list[Any] = [*study.studies, *study.sensory]
    elif isinstance(study, (NerveStudy, SensoryStudy)):
        items = [study]
    else:
        items = list(study)
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    lost = [(f"studies[{i}]", s) for i, s in enumerate(items)
            if isinstance(s, NerveStudy) and not carries_series(s)]
    warn_series_lost([s for _, s in lost], "a Nihon Kohden text file (a series needs traces "
                     "as long as its study's)", [w for w, _ in lost])
    for i, item in enumerate(items):
        if isinstance(item, SensoryStudy):
            _write_item(w, item, "sensory")
        elif isinstance(item, NerveStudy):
            _write_item(w, item, "motor")
            if item.f_wave_traces is not None:
                _write_item(w, item, "f-wave")
        else:
            raise TypeError(f"study[{i}] must be a NerveStudy or SensoryStudy, got "
                            f"{type(item).__name__}")
    return atomic_write_bytes(path, out.getvalue().encode("utf-8"), overwrite=overwrite)
