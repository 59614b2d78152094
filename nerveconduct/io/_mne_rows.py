"""The epochs :func:`nerveconduct.io.mne.to_mne_epochs` makes: which traces, in which order, with
which metadata row, and the one-set-up rule of an :class:`mne.EpochsArray`.

Every trace becomes one epoch: a motor study's site (its CMAP), a sensory study's site (its
SNAP) or each of its sweeps when the study keeps repeated sweeps, and each stimulus of a motor
study's F-wave train, and each step of a site's stimulation series (its CMAPs at increasing
intensities). The kinds are :data:`EPOCH_KINDS`: the trace kinds of
:data:`nerveconduct.io._kinds.KINDS` (``"motor"``, ``"sensory"``, ``"f-wave"``) and
``"series"``. Nothing here imports MNE or pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._checks import check_option
from ..model import Case, NerveStudy, SensoryStudy
from ._kinds import KINDS, StudyList

__all__ = ["EPOCH_KINDS", "METADATA_COLUMNS", "FIRST_COLUMNS", "MV_PER_V", "WORDS", "EpochsSetupError", "Block",
           "study_items", "chosen_kinds", "epoch_blocks", "one_set_up", "kinds_of_one_set_up",
           "event_name"]

#: Columns of ``epochs.metadata`` (one row per epoch), and their kinds.
METADATA_COLUMNS: dict[str, type] = {
    "study_index": int, "study_id": str, "nerve": str, "side": str, "muscle": str,
    "site_index": int, "site": str, "distance_mm": float, "stimulus_intensity_ma": float,
    "temperature_c": float, "low_frequency_filter_hz": float, "f_wave_latency_ms": float,
    "f_waves_studied": bool,
    "kind": str, "stimulus_index": int, "n_sweeps": int, "direction": str,
    "recording_site": str, "age_years": float, "height_cm": float,
}
#: The columns of epochs written before sensory studies and F-wave trains were converted:
#: epochs with these and no ``kind`` are motor studies.
FIRST_COLUMNS: tuple[str, ...] = tuple(METADATA_COLUMNS)[:13]

#: mV per V: the model's traces are in mV, MNE's ``emg`` channels in V.
MV_PER_V = 1e3
#: The kinds of epochs, in the order :func:`kinds_of_one_set_up` takes them: the trace kinds a
#: reader tells apart, and the steps of stimulation series (a motor study's).
EPOCH_KINDS = (*KINDS, "series")
#: The kinds as messages name them.
WORDS = {"motor": "motor", "sensory": "sensory", "f-wave": "F-wave train",
         "series": "stimulation series"}
#: Traces named per set-up in an :class:`EpochsSetupError` before "and N more".
_SHOWN = 3


class EpochsSetupError(ValueError):
    """Traces that cannot share one :class:`mne.EpochsArray`: it has one sampling rate, one
    epoch length and one ``tmin``, and these traces differ in sampling rate (Hz), length
    (samples) or stimulus sample.

    ``set_ups`` maps each ``(sampling_rate_hz, n_samples, stimulus_sample)`` to the traces
    that have it (``"study 0 (motor, right median)"``; nerve and side only, no identifier).
    """

    def __init__(self, set_ups: dict[tuple[float, int, int], list[str]]) -> None:
        self.set_ups = set_ups
        parts = []
        for (rate_hz, n_samples, stimulus_sample), labels in set_ups.items():
            shown = ", ".join(labels[:_SHOWN])
            more = f" and {len(labels) - _SHOWN} more" if len(labels) > _SHOWN else ""
            parts.append(f"{rate_hz:g} Hz, {n_samples} samples, stimulus at sample "
                         f"{stimulus_sample}: {shown}{more}")
        super().__init__(
            "one MNE EpochsArray holds traces of one sampling rate, length and stimulus sample; "
            f"these differ ({len(set_ups)} set-ups): " + "; ".join(parts) + ". Convert each "
            "set-up apart: kinds= picks the motor, sensory or f-wave traces, or pass only the "
            "studies of one set-up")


@dataclass
class Block:
    """The epochs of one study's traces of one kind (V, physical polarity for motor and
    sensory traces, as stored for an F-wave train) and their metadata rows."""

    kind: str
    label: str
    data_v: np.ndarray
    sampling_rate_hz: float
    stimulus_sample: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def set_up(self) -> tuple[float, int, int]:
        """``(sampling_rate_hz, n_samples, stimulus_sample)``."""
        return (self.sampling_rate_hz, int(self.data_v.shape[-1]), self.stimulus_sample)


def study_items(studies: Any) -> list[NerveStudy | SensoryStudy]:
    """The studies of ``to_mne_epochs``'s input, in order: a :class:`Case` gives its motor then
    its sensory studies, as does a reader's :class:`~nerveconduct.io._kinds.StudyList` (its
    ``.sensory``); a sequence may hold studies and cases."""
    if isinstance(studies, (NerveStudy, SensoryStudy, Case)):
        studies = [studies]
    items: list[Any] = []
    for item in studies:
        items += [*item.studies, *item.sensory] if isinstance(item, Case) else [item]
    items += list(studies.sensory) if isinstance(studies, StudyList) else []
    for i, item in enumerate(items):
        if not isinstance(item, (NerveStudy, SensoryStudy)):
            raise TypeError(f"studies[{i}] must be a NerveStudy or SensoryStudy, got "
                            f"{type(item).__name__} (a Case, or a list of studies and cases, "
                            "is taken too)")
    return items


def chosen_kinds(kinds: str | Sequence[str] | None) -> tuple[str, ...]:
    """The kinds to convert: every kind of :data:`EPOCH_KINDS` for None, else each one checked."""
    if kinds is None:
        return EPOCH_KINDS
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not chosen:
        raise ValueError(f"kinds must name at least one of {list(EPOCH_KINDS)} (or be None: all), "
                         "got none")
    return tuple(check_option("kinds", k, EPOCH_KINDS) for k in chosen)


def kinds_of_one_set_up(blocks: Sequence[Block]) -> tuple[list[Block], list[str]]:
    """The blocks of the kinds that share the first kind's set-up, and the kinds left out.

    The rule of ``to_mne_epochs`` when no ``kinds`` are asked for: the kinds are taken in the
    order of :data:`EPOCH_KINDS` (motor, sensory, F-wave, series); the first kind present sets the set-up,
    and a later kind is kept whole when every one of its traces has that set-up, else left out
    (whole: never some of its studies). Blocks of the first kind that differ among themselves
    are kept, so that :func:`one_set_up` names them.
    """
    present = [k for k in EPOCH_KINDS if any(b.kind == k for b in blocks)]
    if not present:
        return [], []
    first = {b.set_up for b in blocks if b.kind == present[0]}
    kept_kinds = [present[0]]
    left_out = []
    for kind in present[1:]:
        if {b.set_up for b in blocks if b.kind == kind} <= first and len(first) == 1:
            kept_kinds.append(kind)
        else:
            left_out.append(kind)
    return [b for b in blocks if b.kind in kept_kinds], left_out


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def event_name(kind: str, site: str) -> str:
    """The event name of an epoch: the site name for a motor site (as before sensory studies
    were converted), ``"sensory/<site>"`` for a SNAP (MNE's tags: ``epochs["sensory"]``),
    ``"f-wave"`` for a stimulus of an F-wave train, ``"series/<site>"`` for a step of a
    site's stimulation series."""
    return {"motor": site, "sensory": f"sensory/{site}", "series": f"series/{site}"}.get(
        kind, "f-wave")


def _study_row(index: int, study: Any, kind: str) -> dict[str, Any]:
    sensory = isinstance(study, SensoryStudy)
    fwave = None if sensory else study.f_wave_latency_ms
    return {"study_index": index, "study_id": study.study_id or "", "nerve": study.nerve,
            "side": study.side or "", "muscle": "" if sensory else study.muscle or "",
            "temperature_c": _float(study.temperature_c),
            "low_frequency_filter_hz": _float(study.low_frequency_filter_hz),
            "f_wave_latency_ms": _float(fwave), "f_waves_studied": fwave is not None,
            "kind": kind, "direction": study.direction if sensory else "",
            "recording_site": (study.recording_site or "") if sensory else "",
            "age_years": _float(study.age_years), "height_cm": _float(study.height_cm)}


def _site_row(index: int, site: Any, *, intensity: bool = True) -> dict[str, Any]:
    return {"site_index": index, "site": site.name, "distance_mm": _float(site.distance_mm),
            "stimulus_intensity_ma": _float(site.stimulus_intensity_ma) if intensity else math.nan}


def _block(kind: str, index: int, study: Any) -> Block:
    label = f"study {index} ({WORDS[kind]}, {' '.join(filter(None, (study.side, study.nerve)))})"
    common = _study_row(index, study, kind)
    if kind == "f-wave":  # stored as recorded: the model gives a train no polarity
        train = np.asarray(study.f_wave_traces, float)
        block = Block(kind, label, train / MV_PER_V, float(study.f_wave_sampling_rate_hz),
                      int(study.f_wave_stimulus_sample))
        site = _site_row(0, study.sites[0], intensity=False)  # a train stimulates distally
        for k in range(len(train)):
            block.rows.append({**common, **site, "stimulus_index": k, "n_sweeps": 0})
            block.events.append(event_name(kind, study.sites[0].name))
        return block
    sign = -1.0 if study.polarity == "negative-up" else 1.0
    if kind == "series":  # recorded with the study's set-up, polarity included
        steps = sorted(study.stimulation_series.items())
        block = Block(kind, label, np.concatenate(
            [sign * np.asarray(series.traces, float) for _, series in steps]) / MV_PER_V,
            study.sampling_rate_hz, study.stimulus_sample)
        for j, series in steps:
            site = study.sites[j]
            for k, intensity_ma in enumerate(series.intensities_ma):
                block.rows.append({**common, **_site_row(j, site), "stimulus_index": k,
                                   "n_sweeps": 0, "stimulus_intensity_ma": float(intensity_ma)})
                block.events.append(event_name(kind, site.name))
        return block
    traces = np.asarray(study.traces, float)
    n_sweeps = traces.shape[1] if traces.ndim == 3 else 0
    block = Block(kind, label, (sign * traces / MV_PER_V).reshape(-1, traces.shape[-1]),
                  study.sampling_rate_hz, study.stimulus_sample)
    for j, site in enumerate(study.sites):
        for k in range(max(n_sweeps, 1)):
            block.rows.append({**common, **_site_row(j, site), "stimulus_index": k,
                               "n_sweeps": n_sweeps})
            block.events.append(event_name(kind, site.name))
    return block


def epoch_blocks(items: Sequence[NerveStudy | SensoryStudy], kinds: tuple[str, ...]) -> list[Block]:
    """One :class:`Block` per study and kind of trace in ``kinds``, in input order (a motor
    study's sites, then its F-wave train, then its stimulation series)."""
    blocks = []
    for i, study in enumerate(items):
        sensory = isinstance(study, SensoryStudy)
        if sensory and "sensory" in kinds:
            blocks.append(_block("sensory", i, study))
        if not sensory and "motor" in kinds:
            blocks.append(_block("motor", i, study))
        if not sensory and "f-wave" in kinds and study.f_wave_traces is not None:
            blocks.append(_block("f-wave", i, study))
        if not sensory and "series" in kinds and study.stimulation_series:
            blocks.append(_block("series", i, study))
    return blocks


def one_set_up(blocks: Sequence[Block]) -> tuple[float, int, int]:
    """The one ``(sampling_rate_hz, n_samples, stimulus_sample)`` of the blocks.

    Raises
    ------
    EpochsSetupError
        The blocks have several (each named with the traces that have it).
    """
    set_ups: dict[tuple[float, int, int], list[str]] = {}
    for block in blocks:
        set_ups.setdefault(block.set_up, []).append(block.label)
    if len(set_ups) != 1:
        raise EpochsSetupError(set_ups)
    return next(iter(set_ups))
