"""Write the Natus text export layout that :mod:`nerveconduct.io.natus` reads (for samples and tests).

UTF-16 with a byte-order mark, CRLF line ends, values in µV; the layout is described in
``docs/formats.md`` ("Natus text export") and :mod:`nerveconduct.io.natus`.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from .._checks import check_number
from ..model import NerveStudy
from ._text import atomic_write_bytes
from .natus import _RATE_HZ, _TIME_MS

__all__ = ["write_natus_text"]


def write_natus_text(studies: NerveStudy | Iterable[NerveStudy], path: str | os.PathLike[str], *,
                     patient_name: str | None = None, patient_id: str | None = None,
                     high_frequency_filter_hz: float | None = None, notch_filter_on: bool = False,
                     values_per_line: int = 16, sweep_unit: str = "ms", high_unit: str = "Hz",
                     overwrite: bool = False) -> Path:
    """Write studies in the layout :func:`read_natus_text` reads (UTF-16 with BOM, CRLF).

    Parameters
    ----------
    studies : NerveStudy or iterable of NerveStudy
        One ``Nerve=`` block each, then per site the lines of the module docstring (µV,
        physical polarity, ``values_per_line`` values a line, continued lines end with ``/``).
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
    items = [studies] if isinstance(studies, NerveStudy) else list(studies)
    if not items or not all(isinstance(s, NerveStudy) for s in items):
        raise ValueError("studies must be a NerveStudy or a non-empty iterable of NerveStudy")
    if sweep_unit not in _TIME_MS or high_unit not in ("Hz", "kHz"):
        raise ValueError(f"sweep_unit must be 'ms' or 's', high_unit 'Hz' or 'kHz'; got "
                         f"{sweep_unit!r}, {high_unit!r}")
    check_number("values_per_line", values_per_line, minimum=1, integer=True)
    lines = [f"Patient Name={patient_name}"] if patient_name else []
    lines += [f"Patient ID={patient_id}"] if patient_id else []
    if items[0].metadata.get("study_date"):
        lines.append(f"Visit Date={items[0].metadata['study_date']}")
    for study in items:
        rate, sign = study.sampling_rate_hz, -1.0 if study.polarity == "negative-up" else 1.0
        traces_uv = np.asarray(study.traces, dtype=np.float64) * (1e3 * sign)
        n = traces_uv.shape[1]
        item = " ".join(x for x in ((study.side or "").capitalize(), study.nerve.capitalize(),
                                    "Motor") if x)
        lines.append(f"Nerve={item}" + (f" ({study.muscle})" if study.muscle else ""))
        if study.temperature_c is not None:
            lines.append(f"Temperature(C)={study.temperature_c:.1f}")
        if study.stimulus_sample:
            lines.append(f"Stimulus Delay(ms)={study.stimulus_sample * 1e3 / rate:.9f}")
        hff = study.metadata.get("high_frequency_filter_hz") if high_frequency_filter_hz is None \
            else high_frequency_filter_hz
        with_intensity = any(s.stimulus_intensity_ma is not None for s in study.sites)
        for site, trace in zip(study.sites, traces_uv):
            lines += [f"Site={site.name}", "Distance(mm)=" + (
                "" if site.distance_mm is None else f"{site.distance_mm:.6f}")]
            if with_intensity:
                lines.append("Stim Intensity(mA)=" + ("" if site.stimulus_intensity_ma is None
                                                      else f"{site.stimulus_intensity_ma:.6f}"))
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
