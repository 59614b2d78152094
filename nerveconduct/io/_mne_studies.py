"""The studies :func:`nerveconduct.io.mne.from_mne_epochs` rebuilds from epochs that carry our
metadata (:data:`~nerveconduct.io._mne_rows.METADATA_COLUMNS`).

Epochs are grouped by ``study_index``; in a group, the ``kind`` column says which epochs are
the motor sites, the sensory sites (or their sweeps), the stimuli of an F-wave train and the
steps of a site's stimulation series.
Epochs written before that column existed are motor sites. Nothing here imports MNE.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site, StimulationSeries
from ._kinds import StudyList, TraceKindWarning
from ._mne_rows import EPOCH_KINDS, METADATA_COLUMNS
from .errors import FormatError, Where

__all__ = ["studies_from_metadata"]

#: Values of the columns that older epochs lack (their epochs are motor sites).
_DEFAULTS: dict[str, Any] = {"kind": "motor", "stimulus_index": 0, "n_sweeps": 0,
                             "direction": "", "recording_site": "", "age_years": math.nan,
                             "height_cm": math.nan}


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA: what a missing cell reads as (epochs saved to a FIF file and
    read back by :func:`mne.read_epochs` give None for NaN)."""
    pandas = sys.modules.get("pandas")
    return (value is None or (isinstance(value, float) and math.isnan(value))
            or (pandas is not None and value is pandas.NA))


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value) or None


def _number(value: Any) -> float | None:
    if _missing(value):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _rows(meta: Any) -> list[dict[str, Any]]:
    """The metadata as plain rows, the columns older epochs lack filled with their defaults."""
    columns = {name: list(meta[name]) if name in meta.columns else [_DEFAULTS[name]] * len(meta)
               for name in METADATA_COLUMNS}
    return [{name: values[k] for name, values in columns.items()} for k in range(len(meta))]


def _unique(rows: list[dict[str, Any]], ks: list[int], fields: tuple[str, ...],
            where: str) -> None:
    """Refuse two epochs of one trace (same ``fields`` values in one study and kind)."""
    seen: dict[tuple[int, ...], int] = {}
    for k in ks:
        at = tuple(int(rows[k][name]) for name in fields)
        if at in seen:
            said = ", ".join(f"{name} {value}" for name, value in zip(fields, at))
            raise FormatError(f"epochs {seen[at]} and {k} are both {where} trace at {said}: "
                              "each trace once (were the epochs concatenated twice?)",
                              location="epochs metadata")
        seen[at] = k


def _sites(rows: list[dict[str, Any]], ks: list[int]) -> list[Site]:
    return [Site(str(rows[k]["site"]), _number(rows[k]["distance_mm"]),
                 _number(rows[k]["stimulus_intensity_ma"])) for k in ks]


def _common(first: dict[str, Any]) -> dict[str, Any]:
    return dict(temperature_c=_number(first["temperature_c"]),
                low_frequency_filter_hz=_number(first["low_frequency_filter_hz"]),
                study_id=_text(first["study_id"]), age_years=_number(first["age_years"]),
                height_cm=_number(first["height_cm"]))


def _sensory(rows: list[dict[str, Any]], ks: list[int], data: np.ndarray, rate_hz: float,
             stimulus_sample: int, index: int) -> SensoryStudy:
    ks = sorted(ks, key=lambda k: (int(rows[k]["site_index"]), int(rows[k]["stimulus_index"])))
    _unique(rows, ks, ("site_index", "stimulus_index"), f"study {index}'s sensory")
    first = rows[ks[0]]
    per_site: dict[int, list[int]] = {}
    for k in ks:
        per_site.setdefault(int(rows[k]["site_index"]), []).append(k)
    firsts = [group[0] for group in per_site.values()]
    if int(first["n_sweeps"]) > 0:
        counts = {len(group) for group in per_site.values()}
        if len(counts) != 1:
            raise FormatError(
                f"study {index}'s sensory sites have {sorted(counts)} sweeps in these epochs; "
                "a sensory study holds the same number of sweeps at every site: keep or drop "
                "sweeps site by site evenly, or average them first", location="epochs metadata")
        traces = data[ks].reshape(len(per_site), counts.pop(), data.shape[1])
    else:
        if len(firsts) != len(ks):
            raise FormatError(f"study {index}'s sensory epochs hold one trace per site "
                              "(n_sweeps 0) but a site has several", location="epochs metadata")
        traces = data[ks]
    return SensoryStudy(
        _text(first["nerve"]) or "unknown", _text(first["side"]), _sites(rows, firsts), traces,
        rate_hz, stimulus_sample=stimulus_sample,
        direction=_text(first["direction"]) or "antidromic",
        recording_site=_text(first["recording_site"]), **_common(first),
        metadata={"format": "mne-epochs", "source_traces": ks,
                  "missing_fields": [] if _text(first["direction"]) else ["direction"]})


def _series(rows: list[dict[str, Any]], ks: list[int], data: np.ndarray,
            index: int) -> dict[int, StimulationSeries]:
    """The stimulation series of a motor study's ``"series"`` epochs, by site index (in
    physical polarity, as the motor sites come back)."""
    _unique(rows, ks, ("site_index", "stimulus_index"), f"study {index}'s stimulation series")
    per_site: dict[int, list[int]] = {}
    for k in sorted(ks, key=lambda k: (int(rows[k]["site_index"]), int(rows[k]["stimulus_index"]))):
        per_site.setdefault(int(rows[k]["site_index"]), []).append(k)
    return {j: StimulationSeries(tuple(float(rows[k]["stimulus_intensity_ma"]) for k in group),
                                 data[group])
            for j, group in per_site.items()}


def _motor(rows: list[dict[str, Any]], ks: list[int], train: list[int], steps: list[int],
           data: np.ndarray, rate_hz: float, stimulus_sample: int, index: int) -> NerveStudy:
    ks = sorted(ks, key=lambda k: int(rows[k]["site_index"]))
    _unique(rows, ks, ("site_index",), f"study {index}'s motor")
    first = rows[ks[0]]
    fwave = _number(first["f_wave_latency_ms"])
    extra: dict[str, Any] = {}
    if train:
        train = sorted(train, key=lambda k: int(rows[k]["stimulus_index"]))
        _unique(rows, train, ("stimulus_index",), f"study {index}'s F-wave")
        extra = dict(f_wave_traces=data[train], f_wave_sampling_rate_hz=rate_hz,
                     f_wave_stimulus_sample=stimulus_sample)
    if steps:
        extra["stimulation_series"] = _series(rows, steps, data, index)
    return NerveStudy(
        _text(first["nerve"]) or "unknown", _text(first["side"]), _text(first["muscle"]),
        _sites(rows, ks), data[ks], rate_hz, stimulus_sample=stimulus_sample,
        f_wave_latency_ms=math.nan if fwave is None and bool(first["f_waves_studied"]) else fwave,
        **_common(first), **extra,
        metadata={"format": "mne-epochs", "source_traces": ks, "missing_fields": []})


def _set_aside(rows: list[dict[str, Any]], ks: list[int], data: np.ndarray, rate_hz: float,
               stimulus_sample: int, index: int) -> dict[str, Any]:
    """An F-wave train without its motor epochs, as a reader's unattached train (a
    :class:`TraceKindWarning` says so)."""
    ks = sorted(ks, key=lambda k: int(rows[k]["stimulus_index"]))
    _unique(rows, ks, ("stimulus_index",), f"study {index}'s F-wave")
    nerve, side = _text(rows[ks[0]]["nerve"]), _text(rows[ks[0]]["side"])
    label = f"of study {index} ({' '.join(filter(None, (side, nerve)))})"
    warnings.warn(f"MNE epochs: F-wave train {label} left out of the studies (in "
                  ".f_wave_trains): its motor epochs are not in the epochs, and a train "
                  "belongs to its motor study; select them too", TraceKindWarning, stacklevel=4)
    return {"nerve": nerve, "side": side, "traces": data[ks], "sampling_rate_hz": rate_hz,
            "stimulus_sample": stimulus_sample, "label": label,
            "why": "no motor epochs of that study"}


def studies_from_metadata(meta: Any, data: np.ndarray, rate_hz: float, stimulus_sample: int,
                          where: Where) -> StudyList:
    """The studies of epochs with our metadata (``data`` in mV, one row per epoch).

    Returns
    -------
    StudyList
        The motor studies (with their F-wave trains), in ``study_index`` order, and the
        sensory studies in its ``.sensory``. An F-wave train whose motor epochs were not
        selected is left in ``.f_wave_trains`` (with a :class:`TraceKindWarning`): the model
        holds a train on its motor study. Stimulation series without their motor epochs are
        left out with a :class:`TraceKindWarning` naming them.

    Raises
    ------
    FormatError
        A ``kind`` that is not one of :data:`EPOCH_KINDS`, one study's epochs of both motor and
        sensory kinds, one trace twice, sensory sites with unequal numbers of sweeps.
    """
    rows = _rows(meta)
    groups: dict[int, dict[str, list[int]]] = {}
    for k, row in enumerate(rows):
        where.location = f"epochs metadata row {k}"
        kind = str(row["kind"])
        if kind not in EPOCH_KINDS:
            raise FormatError(f"kind must be one of {list(EPOCH_KINDS)}, got {kind!r}",
                              location=where.location)
        groups.setdefault(int(row["study_index"]), {}).setdefault(kind, []).append(k)
    out = StudyList()
    for index in sorted(groups):
        kinds = groups[index]
        where.location = f"epochs of study_index {index}"
        if "sensory" in kinds and len(kinds) > 1:
            raise FormatError(f"study {index} has epochs of kinds {sorted(kinds)}: a study is "
                              "either sensory or motor (with its F-wave train)",
                              location=where.location)
        if "sensory" in kinds:
            out.sensory.append(_sensory(rows, kinds["sensory"], data, rate_hz, stimulus_sample,
                                        index))
        elif "motor" in kinds:
            out.append(_motor(rows, kinds["motor"], kinds.get("f-wave", []),
                              kinds.get("series", []), data, rate_hz, stimulus_sample, index))
        else:
            if "f-wave" in kinds:
                out.f_wave_trains.append(_set_aside(rows, kinds["f-wave"], data, rate_hz,
                                                    stimulus_sample, index))
            if "series" in kinds:
                warnings.warn(f"MNE epochs: the stimulation series of study {index} left out: "
                              "its motor epochs are not in the epochs, and a series belongs "
                              "to its motor study; select them too", TraceKindWarning,
                              stacklevel=3)
    return out
