"""Sensory studies in a BIDS-EMG dataset: the sidecar, channel and event rows of their runs.

A sensory study is one run of the task ``sncs`` (``..._task-sncs_run-<n>_emg.edf``, EDF+D,
one data record per site, or per site and sweep, written by
:func:`~nerveconduct.io.edf_write.write_edf`), beside the motor studies' ``ncs`` runs. Used
by :func:`nerveconduct.io.bids.write_bids` and :func:`nerveconduct.io.bids_read.read_bids`;
``docs/formats.md`` ("BIDS-EMG") describes the files.
"""

from __future__ import annotations

from typing import Any

from ..model import SensoryStudy, Site
from ._ranges import check_range

__all__ = ["SENSORY_TASK_LABEL", "recording_fields", "sensory_sidecar", "sensory_channel_row",
           "sensory_events", "sensory_sites_from_events"]

#: Task label of the runs of sensory studies (``TaskName`` in their sidecar).
SENSORY_TASK_LABEL = "sncs"
_PLACEMENT = ("Sensory nerve conduction montage: active and reference electrodes (ring or bar) "
              "over the nerve at the recording site, the reference farther from the "
              "stimulation site; antidromic (stimulating proximally, recording distally) or "
              "orthodromic (the reverse).")


def recording_fields(study: Any, n_records: int, duration_s: float,
                     power_line_frequency_hz: float | None) -> dict[str, Any]:
    """The recording fields of a run's ``_emg.json``, motor or sensory study alike.

    Parameters
    ----------
    study : NerveStudy or SensoryStudy
        Gives the sampling rate (Hz) and the low-frequency (high-pass) filter (Hz).
    n_records : int
        EDF+D data records of the run (epochs).
    duration_s : float
        Length of one record (s).
    power_line_frequency_hz : float or None
        Mains frequency (Hz); ``None`` is written ``"n/a"``.
    """
    lff = study.low_frequency_filter_hz
    return {
        "SamplingFrequency": study.sampling_rate_hz,
        "PowerLineFrequency": "n/a" if power_line_frequency_hz is None else power_line_frequency_hz,
        "RecordingType": "epoched",
        "EpochLength": duration_s,
        "SoftwareFilters": "n/a",
        "HardwareFilters": ("n/a" if lff is None else
                            {"High-pass filter": {"Half amplitude cutoff (Hz)": lff}}),
        "EMGChannelCount": 1,
        "RecordingDuration": n_records * duration_s,
    }


def sensory_sidecar(study: SensoryStudy, n_records: int, duration_s: float,
                    power_line_frequency_hz: float | None, study_key: str) -> dict[str, Any]:
    """The ``_emg.json`` of a sensory study's run (REQUIRED fields, and ours under
    ``study_key``)."""
    lff = study.low_frequency_filter_hz
    return {
        "TaskName": SENSORY_TASK_LABEL,
        "TaskDescription": "Sensory nerve conduction study: electrical stimulation of a nerve, "
                           "sensory nerve action potential (SNAP) recorded along it; one EDF+D "
                           "data record per site (and sweep).",
        "EMGPlacementScheme": "Other",
        "EMGPlacementSchemeDescription": _PLACEMENT,
        "EMGReference": "Reference electrode of the sensory montage (see "
                        "EMGPlacementSchemeDescription).",
        **recording_fields(study, n_records, duration_s, power_line_frequency_hz),
        study_key: {
            "kind": "sensory", "nerve": study.nerve, "side": study.side,
            "direction": study.direction, "recording_site": study.recording_site,
            "temperature_c": study.temperature_c, "low_frequency_filter_hz": lff,
            "stimulus_sample": study.stimulus_sample, "study_id": study.study_id,
            "n_sites": study.n_sites, "n_sweeps": study.n_sweeps if study.traces.ndim == 3 else 0,
        },
    }


def sensory_channel_row(study: SensoryStudy, label: str) -> dict[str, Any]:
    """The ``_channels.tsv`` row of a sensory study's channel."""
    where = " ".join(x for x in (study.side, study.nerve) if x)
    at = f", recorded at {study.recording_site}" if study.recording_site else ""
    return {"name": label, "type": "EMG", "units": "mV",
            "description": f"SNAP, {where} nerve, {study.direction}{at}".strip(),
            "sampling_frequency": study.sampling_rate_hz,
            "low_cutoff": study.low_frequency_filter_hz, "high_cutoff": None,
            "reference": "reference electrode of the sensory montage", "target_muscle": None,
            "status": "good"}


def sensory_events(study: SensoryStudy, onsets: list[float]) -> list[dict[str, Any]]:
    """One ``_events.tsv`` row per record (site, or site and sweep, site-major)."""
    k = study.n_sweeps if study.traces.ndim == 3 else 1
    rate = study.sampling_rate_hz
    return [{"onset": round(t + study.stimulus_sample / rate, 9), "duration": 0.0,
             "trial_type": study.sites[r // k].name, "site": study.sites[r // k].name,
             "distance_mm": study.sites[r // k].distance_mm,
             "stimulus_intensity_ma": study.sites[r // k].stimulus_intensity_ma}
            for r, t in enumerate(onsets)]


def sensory_sites_from_events(study: SensoryStudy, events: list[tuple[str, float | None, dict]],
                              path: Any) -> list[Site]:
    """The sites with the name, distance and intensity of the first event of each site's
    records (the events are matched to records by onset, as for motor runs)."""
    k = study.n_sweeps if study.traces.ndim == 3 else 1
    record_s = study.traces.shape[-1] / study.sampling_rate_hz
    sites = list(study.sites)
    onsets = study.metadata.get("record_onsets_s", [])
    for j in range(study.n_sites):
        if j * k >= len(onsets):
            break
        start = onsets[j * k]
        hits = [(loc, e) for loc, t, e in events
                if t is not None and start - 1e-9 <= t < start + record_s]
        if not hits:
            continue
        loc, e = hits[0]
        dist, amp = (None if e.get(q) is None else check_range(e[q], q, path=path, location=loc)
                     for q in ("distance_mm", "stimulus_intensity_ma"))
        sites[j] = Site(e.get("site") or e.get("trial_type") or sites[j].name,
                        sites[j].distance_mm if dist is None else dist,
                        sites[j].stimulus_intensity_ma if amp is None else amp)
    return sites
