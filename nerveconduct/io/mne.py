"""Nerve studies to and from MNE-Python: :func:`to_mne_epochs`, :func:`from_mne_epochs`.

MNE users hold stimulus-locked responses as :class:`mne.EpochsArray`: here one epoch per trace
(a motor site's CMAP, a sensory site's SNAP or each of its sweeps, each stimulus of an F-wave
train), one channel ``CMAP`` of type ``emg`` in volts (MNE's unit), ``tmin`` at the stimulus,
``event_id`` by site name (``"sensory/<site>"`` for SNAPs, ``"f-wave"`` for F-wave stimuli) and
``metadata`` a pandas DataFrame of plain str / float / int / bool columns that carries what a
round trip needs, its ``kind`` column saying which trace is which. MNE is an optional
dependency (``pip install 'nerveconduct[mne]'``), imported only when these functions run.

Do not read our EDF+D files with ``mne.io.read_raw_edf``: MNE reads EDF+D as if it were
continuous (its open issue #13429), which joins the sites' sweeps end to end. Read them with
:func:`nerveconduct.read` and convert with :func:`to_mne_epochs`.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from ..model import NerveStudy, Site
from ._kinds import StudyList
from ._mne_rows import (FIRST_COLUMNS, METADATA_COLUMNS, MV_PER_V, WORDS, EpochsSetupError,
                        chosen_kinds, epoch_blocks, kinds_of_one_set_up, one_set_up,
                        study_items)
from ._mne_studies import studies_from_metadata
from .errors import FormatError, boundary, quote

__all__ = ["CHANNEL_NAME", "METADATA_COLUMNS", "EpochsSetupError", "to_mne_epochs",
           "from_mne_epochs"]

_LOG = logging.getLogger("nerveconduct")

#: The one channel of the epochs.
CHANNEL_NAME = "CMAP"


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{module} is needed for the MNE-Python conversion; install the optional extra: "
            f"pip install 'nerveconduct[mne]'", name=module) from exc


def to_mne_epochs(studies: Any, *, kinds: str | Sequence[str] | None = None) -> Any:
    """Nerve studies as one :class:`mne.EpochsArray`: one epoch per trace.

    Parameters
    ----------
    studies : NerveStudy, SensoryStudy, Case, or a sequence of NerveStudy / SensoryStudy
        A :class:`~nerveconduct.model.Case` gives its motor then its sensory studies; what
        :func:`nerveconduct.read` returns gives its studies and their ``.sensory``.
    kinds : str or sequence of str, optional
        Which traces to convert: ``"motor"`` (each site's CMAP), ``"sensory"`` (each site's
        SNAP, or each of its sweeps), ``"f-wave"`` (each stimulus of a motor study's F-wave
        train), ``"series"`` (each step of a motor site's stimulation series). The traces converted must share one sampling rate (Hz), one length (samples)
        and one stimulus sample. Default: every kind that shares the set-up of the first kind
        present (motor, then sensory, F-wave, series); a kind whose set-up differs (F-wave trains
        are often longer than the CMAPs) is left out whole with a warning on the
        ``"nerveconduct"`` logger naming it -- convert it apart with ``kinds=``.

    Returns
    -------
    mne.EpochsArray
        Data in V (shape ``(n_epochs, 1, n_samples)``), channel ``CMAP`` of type ``emg``:
        motor and sensory traces in physical polarity, F-wave trains as stored (the model
        gives a train no polarity). ``tmin = -stimulus_sample / sampling_rate_hz`` s, so time
        0 is the stimulus. Epochs in input order: a motor study's sites, then its F-wave
        stimuli; a sensory study's sites, each site's sweeps together. ``event_id`` maps
        each event name to a code: the site name for a motor site, ``"sensory/<site>"`` for
        a sensory one (so ``epochs["sensory"]`` selects the SNAPs, MNE's tags), ``"f-wave"``
        for an F-wave stimulus. ``metadata`` has the columns of :data:`METADATA_COLUMNS`
        (missing text ``""``, missing numbers NaN; ``f_waves_studied`` tells an absent
        F-wave, NaN, from one not studied; ``kind`` is ``"motor"``, ``"sensory"`` or
        ``"f-wave"``; ``stimulus_index`` numbers an F-wave train's stimuli and a sensory
        site's sweeps, 0 otherwise; ``n_sweeps`` is a sensory study's sweeps per site, 0 when
        it holds one trace per site; an F-wave stimulus has the study's distal site, where
        the train is stimulated, and no stimulus intensity). No baseline correction is
        applied. The machine's low-frequency filter is in the metadata (``info["highpass"]``
        describes filters MNE applied, and stays 0).

    Raises
    ------
    EpochsSetupError
        The traces of the kinds asked for (or, by default, of the first kind present) differ
        in sampling rate, length or stimulus sample (one EpochsArray has one of each); the
        message names each set-up and its studies: convert them apart (``kinds=``, or the
        studies of one set-up). A :class:`ValueError`.
    ValueError
        No studies, no traces of the kinds asked for, or an unknown kind.
    TypeError
        ``studies`` holds something other than nerve studies.
    ModuleNotFoundError
        MNE-Python or pandas is not installed (the ``[mne]`` extra).

    Notes
    -----
    A site's stimulation series (its CMAPs at increasing intensities) are epochs of kind
    ``"series"``, event ``"series/<site>"``, one per step, ``stimulus_index`` the step and
    ``stimulus_intensity_ma`` its intensity, in physical polarity like the motor sites.
    """
    mne = _require("mne")
    pd = _require("pandas")
    items = study_items(studies)
    if not items:
        raise ValueError("to_mne_epochs needs at least one NerveStudy or SensoryStudy, got none")
    chosen = chosen_kinds(kinds)
    blocks = epoch_blocks(items, chosen)
    if not blocks:
        raise ValueError(f"the studies hold no traces of the kinds {list(chosen)}")
    if kinds is None:
        blocks, left_out = kinds_of_one_set_up(blocks)
        if left_out:
            _LOG.warning("to_mne_epochs: %s traces left out: their sampling rate, length or "
                         "stimulus sample differs from the %s traces' (one EpochsArray has one "
                         "of each); convert them apart with kinds=%r",
                         " and ".join(WORDS[k] for k in left_out), WORDS[blocks[0].kind],
                         left_out[0] if len(left_out) == 1 else left_out)
    rate_hz, n_samples, stimulus_sample = one_set_up(blocks)
    names = [name for b in blocks for name in b.events]
    codes: dict[str, int] = {}
    for name in names:
        codes.setdefault(name, len(codes) + 1)
    events = np.array([[k * n_samples + stimulus_sample, 0, codes[name]]
                       for k, name in enumerate(names)], dtype=np.int64)
    info = mne.create_info([CHANNEL_NAME], rate_hz, ch_types="emg")
    metadata = pd.DataFrame([row for b in blocks for row in b.rows],
                            columns=list(METADATA_COLUMNS))
    data = np.concatenate([b.data_v for b in blocks])
    return mne.EpochsArray(data[:, None, :], info, events=events,
                           tmin=-stimulus_sample / rate_hz, event_id=codes, baseline=None,
                           metadata=metadata, verbose="error")


def from_mne_epochs(epochs: Any, *, channel: str | None = None) -> StudyList:
    """Nerve studies from an :class:`mne.Epochs` (as :func:`to_mne_epochs` makes them).

    Parameters
    ----------
    epochs : mne.Epochs or mne.EpochsArray
        One epoch per trace, data in V, time 0 at the stimulus.
    channel : str, optional
        The channel to read; needed only when the epochs hold several.

    Returns
    -------
    StudyList
        A list of the motor studies (:class:`~nerveconduct.model.NerveStudy`, with their
        F-wave trains) and the sensory studies (:class:`~nerveconduct.model.SensoryStudy`) in
        its ``.sensory``, as :func:`nerveconduct.read` returns them; traces in mV. With our
        ``metadata`` columns (:data:`METADATA_COLUMNS`), the studies are rebuilt as converted
        (epochs grouped by ``study_index``, in its order; sites ordered by ``site_index``,
        sweeps and F-wave stimuli by ``stimulus_index``; also after selecting or reordering
        epochs). Epochs with the columns of earlier versions and no ``kind`` are motor sites.
        An F-wave train whose motor epochs were not selected goes to ``.f_wave_trains``, with
        a :class:`~nerveconduct.io.TraceKindWarning`. Without our columns, all epochs are the
        sites of one motor study named by their event names, with unknown nerve, side, muscle
        and distances (listed in ``metadata["missing_fields"]``) and ``info["highpass"]``
        (Hz, when > 0) as the low-frequency filter.

    Raises
    ------
    FormatError
        No epochs, ``tmin`` after the first sample or before the epoch (the stimulus must lie
        inside it), several channels and no ``channel``, an unknown channel, metadata with
        values of the wrong kind (the row is named), an unknown ``kind``, one study with
        motor and sensory epochs, one trace twice, or sensory sites left with unequal numbers
        of sweeps.
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
        data = np.asarray(epochs.get_data(picks=[name]), float)[:, 0, :] * MV_PER_V
        rate_hz = float(epochs.info["sfreq"])
        stimulus_sample = int(round(-float(epochs.tmin) * rate_hz))
        if len(data) == 0 or not 0 <= stimulus_sample < data.shape[1]:
            raise FormatError(f"need epochs with the stimulus inside them (tmin <= 0 < tmax), "
                              f"got {len(data)} epochs and tmin {float(epochs.tmin)!r} s",
                              location="epochs")
        highpass = float(epochs.info["highpass"] or 0.0) or None
        meta = epochs.metadata
        if meta is None or not set(FIRST_COLUMNS) <= set(meta.columns):
            codes = {v: k for k, v in epochs.event_id.items()}
            sites = [Site(codes.get(int(c), f"epoch {k + 1}"), None)
                     for k, c in enumerate(epochs.events[:, 2])]
            return StudyList([NerveStudy(
                "unknown", None, None, sites, data, rate_hz, stimulus_sample=stimulus_sample,
                low_frequency_filter_hz=highpass, metadata={
                    "format": "mne-epochs", "missing_fields": ["nerve", "side", "muscle",
                                                               "distances"]})])
        return studies_from_metadata(meta, data, rate_hz, stimulus_sample, where)
