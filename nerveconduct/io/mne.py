"""Nerve studies to and from MNE-Python: :func:`to_mne_epochs`, :func:`from_mne_epochs`.

MNE users hold stimulus-locked responses as :class:`mne.EpochsArray`: here one epoch per
stimulation site, one channel ``CMAP`` of type ``emg`` in volts (MNE's unit), ``tmin`` at the
stimulus, ``event_id`` by site name and ``metadata`` a pandas DataFrame of plain str / float /
int / bool columns that carries what a round trip needs. MNE is an optional dependency
(``pip install 'nerveconduct[mne]'``), imported only when these functions run.

Do not read our EDF+D files with ``mne.io.read_raw_edf``: MNE reads EDF+D as if it were
continuous (its open issue #13429), which joins the sites' sweeps end to end. Read them with
:func:`nerveconduct.read` and convert with :func:`to_mne_epochs`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..model import NerveStudy, Site
from .errors import FormatError, boundary, quote

__all__ = ["CHANNEL_NAME", "METADATA_COLUMNS", "to_mne_epochs", "from_mne_epochs"]

#: The one channel of the epochs.
CHANNEL_NAME = "CMAP"
#: Columns of ``epochs.metadata`` (one row per epoch = site), and their kinds.
METADATA_COLUMNS: dict[str, type] = {
    "study_index": int, "study_id": str, "nerve": str, "side": str, "muscle": str,
    "site_index": int, "site": str, "distance_mm": float, "stimulus_intensity_ma": float,
    "temperature_c": float, "low_frequency_filter_hz": float, "f_wave_latency_ms": float,
    "f_waves_studied": bool,
}
_MV_PER_V = 1e3


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{module} is needed for the MNE-Python conversion; install the optional extra: "
            f"pip install 'nerveconduct[mne]'", name=module) from exc


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def to_mne_epochs(studies: NerveStudy | Sequence[NerveStudy]) -> Any:
    """Nerve studies as one :class:`mne.EpochsArray`: one epoch per stimulation site.

    Parameters
    ----------
    studies : NerveStudy or sequence of NerveStudy
        All with the same sampling rate (Hz), trace length (samples) and stimulus sample.

    Returns
    -------
    mne.EpochsArray
        Data in V (shape ``(n_sites_total, 1, n_samples)``, physical polarity), channel
        ``CMAP`` of type ``emg``; ``tmin = -stimulus_sample / sampling_rate_hz`` s, so time 0
        is the stimulus; ``event_id`` maps each site name to an event code; ``metadata`` has
        the columns of :data:`METADATA_COLUMNS` (missing text ``""``, missing numbers NaN;
        ``f_waves_studied`` tells an absent F-wave, NaN, from one not studied). No baseline
        correction is applied. The machine's low-frequency filter is in the metadata
        (``info["highpass"]`` describes filters MNE applied, and stays 0).

    Raises
    ------
    ValueError
        No studies, or studies whose sampling rate, trace length or stimulus sample differ
        (one EpochsArray has one of each: convert such groups separately).
    ModuleNotFoundError
        MNE-Python or pandas is not installed (the ``[mne]`` extra).
    """
    mne = _require("mne")
    pd = _require("pandas")
    studies = [studies] if isinstance(studies, NerveStudy) else list(studies)
    if not studies:
        raise ValueError("to_mne_epochs needs at least one NerveStudy, got none")
    setups = {(s.sampling_rate_hz, s.traces.shape[1], s.stimulus_sample) for s in studies}
    if len(setups) != 1:
        raise ValueError(f"one EpochsArray needs one (sampling_rate_hz, n_samples, "
                         f"stimulus_sample), got {sorted(setups)}; convert each group apart")
    rate_hz, n_samples, stimulus_sample = setups.pop()
    data, rows, codes = [], [], {}
    for i, s in enumerate(studies):
        sign = -1.0 if s.polarity == "negative-up" else 1.0
        fwave = s.f_wave_latency_ms
        for j, site in enumerate(s.sites):
            data.append(sign * np.asarray(s.traces[j], float) / _MV_PER_V)
            codes.setdefault(site.name, len(codes) + 1)
            rows.append({"study_index": i, "study_id": s.study_id or "", "nerve": s.nerve,
                         "side": s.side or "", "muscle": s.muscle or "", "site_index": j,
                         "site": site.name, "distance_mm": _float(site.distance_mm),
                         "stimulus_intensity_ma": _float(site.stimulus_intensity_ma),
                         "temperature_c": _float(s.temperature_c),
                         "low_frequency_filter_hz": _float(s.low_frequency_filter_hz),
                         "f_wave_latency_ms": _float(fwave),
                         "f_waves_studied": fwave is not None})
    info = mne.create_info([CHANNEL_NAME], rate_hz, ch_types="emg")
    events = np.array([[k * n_samples + stimulus_sample, 0, codes[r["site"]]]
                       for k, r in enumerate(rows)], dtype=np.int64)
    metadata = pd.DataFrame(rows, columns=list(METADATA_COLUMNS))
    return mne.EpochsArray(np.stack(data)[:, None, :], info, events=events,
                           tmin=-stimulus_sample / rate_hz, event_id=codes, baseline=None,
                           metadata=metadata, verbose="error")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value) or None


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def from_mne_epochs(epochs: Any, *, channel: str | None = None) -> list[NerveStudy]:
    """Nerve studies from an :class:`mne.Epochs` (as :func:`to_mne_epochs` makes them).

    Parameters
    ----------
    epochs : mne.Epochs or mne.EpochsArray
        One epoch per stimulation site, data in V, time 0 at the stimulus.
    channel : str, optional
        The channel to read; needed only when the epochs hold several.

    Returns
    -------
    list of NerveStudy
        Traces in mV. With our ``metadata`` columns (:data:`METADATA_COLUMNS`), the studies
        and sites are rebuilt exactly (epochs grouped by ``study_index``, sites ordered by
        ``site_index``). Without them, all epochs are the sites of one study named by their
        event names, with unknown nerve, side, muscle and distances (listed in
        ``metadata["missing_fields"]``) and ``info["highpass"]`` (Hz, when > 0) as the
        low-frequency filter.

    Raises
    ------
    FormatError
        No epochs, ``tmin`` after the first sample or before the epoch (the stimulus must lie
        inside it), several channels and no ``channel``, an unknown channel, or metadata with
        values of the wrong kind (the row is named).
    ModuleNotFoundError
        MNE-Python is not installed (the ``[mne]`` extra).
    """
    _require("mne")
    with boundary(FormatError, None, location="epochs") as where:
        names = list(epochs.ch_names)
        if channel is None and len(names) != 1:
            raise FormatError(f"the epochs hold {len(names)} channels; pass channel=",
                              location="epochs")
        name = channel if channel is not None else names[0]
        if name not in names:
            raise FormatError(f"no channel {quote(name)} in the epochs", location="epochs")
        data = np.asarray(epochs.get_data(picks=[name]), float)[:, 0, :] * _MV_PER_V
        rate_hz = float(epochs.info["sfreq"])
        stimulus_sample = int(round(-float(epochs.tmin) * rate_hz))
        if len(data) == 0 or not 0 <= stimulus_sample < data.shape[1]:
            raise FormatError(f"need epochs with the stimulus inside them (tmin <= 0 < tmax), "
                              f"got {len(data)} epochs and tmin {float(epochs.tmin)!r} s",
                              location="epochs")
        highpass = float(epochs.info["highpass"] or 0.0) or None
        meta = epochs.metadata
        if meta is None or not set(METADATA_COLUMNS) <= set(meta.columns):
            codes = {v: k for k, v in epochs.event_id.items()}
            sites = [Site(codes.get(int(c), f"epoch {k + 1}"), None)
                     for k, c in enumerate(epochs.events[:, 2])]
            return [NerveStudy("unknown", None, None, sites, data, rate_hz,
                               stimulus_sample=stimulus_sample, low_frequency_filter_hz=highpass,
                               metadata={"format": "mne-epochs", "missing_fields": [
                                   "nerve", "side", "muscle", "distances"]})]
        groups: dict[int, list[int]] = {}
        for k, index in enumerate(meta["study_index"]):
            groups.setdefault(int(index), []).append(k)
        studies = []
        for index, ks in groups.items():
            ks.sort(key=lambda k: int(meta["site_index"].iloc[k]))
            where.location = f"epochs metadata row {ks[0]}"
            first = meta.iloc[ks[0]]
            sites = [Site(str(meta["site"].iloc[k]), _number(meta["distance_mm"].iloc[k]),
                          _number(meta["stimulus_intensity_ma"].iloc[k])) for k in ks]
            fwave = _number(first["f_wave_latency_ms"])
            studies.append(NerveStudy(
                _text(first["nerve"]) or "unknown", _text(first["side"]), _text(first["muscle"]),
                sites, data[ks], rate_hz, stimulus_sample=stimulus_sample,
                temperature_c=_number(first["temperature_c"]),
                low_frequency_filter_hz=_number(first["low_frequency_filter_hz"]),
                f_wave_latency_ms=math.nan if fwave is None and bool(first["f_waves_studied"])
                else fwave, study_id=_text(first["study_id"]),
                metadata={"format": "mne-epochs", "source_traces": ks, "missing_fields": []}))
        return studies
