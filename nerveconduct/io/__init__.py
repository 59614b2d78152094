"""Files in and out: the readers of what labs export, the HDF5 archive, the writers.

The public face of the package (imported lazily, so ``import nerveconduct.io`` pulls in
neither h5py nor mne until a name is used): :func:`read_many`, :func:`read_case`,
:func:`detect_format`, :func:`load_sheet`, the archive
(:func:`write_archive`, :func:`open_archive`), EDF+D, BIDS-EMG and MNE conversion, the
vendor-format writers used for samples, the markers files of hand-set landmarks
(:func:`read_markers`, :func:`write_markers`, :class:`Marker`), :func:`atomic_write` (every output goes through it)
and the named errors of :mod:`nerveconduct.io.errors`. ``docs/formats.md`` describes every
format and the error contract. (:func:`nerveconduct.read` reads one file: ``nerveconduct.io.read``
is the module that defines it.)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "read_many": "read", "read_case": "read", "detect_format": "detect",
    "FORMATS": "detect", "FORMAT_NAMES": "detect", "load_sheet": "sheet", "StudySheet": "sheet",
    "write_archive": "archive", "open_archive": "archive", "Archive": "archive",
    "TraceChunk": "archive", "read_edf": "edf", "write_edf": "edf", "write_bids": "bids",
    "read_bids": "bids_read", "to_mne_epochs": "mne", "from_mne_epochs": "mne",
    "EpochsSetupError": "mne",
    "write_trace_csv": "vendor", "write_nihon_kohden_txt": "nihon_kohden",
    "write_natus_text": "natus_write", "pseudonymize": "pseudonym", "source_key": "pseudonym", "atomic_write": "_atomic",
    "NerveConductIOError": "errors", "FormatError": "errors", "UnknownFormatError": "errors",
    "ArchiveError": "errors", "SheetError": "errors",
    "Marker": "markers", "MARKER_KINDS": "markers", "MarkerError": "markers",
    "read_markers": "markers", "write_markers": "markers", "markers_from_json": "markers",
    "markers_to_json": "markers",
    "read_values": "values", "ValuesNerve": "values",
    "StudyList": "_kinds", "TraceKindWarning": "_kinds", "trace_kind": "_kinds",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nerveconduct.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
