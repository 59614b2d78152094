"""Layout of the nerveconduct HDF5 archive (format 1.x): names, columns and checks.

Shared by the writer (:mod:`nerveconduct.io._archive_write`) and the reader
(:mod:`nerveconduct.io.archive`); the checks of an archive on open live in
:mod:`nerveconduct.io._archive_checks`. The layout is documented for plain-h5py users in
``docs/archive-format.md``; keep the two in step.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Iterator
from numbers import Integral, Real
from os import PathLike
from typing import Any

import h5py
import numpy as np

from .errors import ArchiveError, quote
from .pseudonym import is_source_key, source_key

__all__ = [
    "COMPRESSIONS",
    "EXTRAS_VERSION",
    "EXTRA_TABLES",
    "F_WAVES",
    "F_WAVE_TRAIN_COLUMNS",
    "FILE_NAME_KEYS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INDEX_SLICE",
    "MINOR_NERVE_COLUMNS",
    "NERVES",
    "NERVE_COLUMNS",
    "NULLABLE_STRINGS",
    "SENSORY",
    "SENSORY_NULLABLE_STRINGS",
    "SENSORY_SITE_COLUMNS",
    "SENSORY_STUDY_COLUMNS",
    "STIMULATION",
    "STIMULATION_STEP_COLUMNS",
    "SITES",
    "SITE_COLUMNS",
    "STRING_DTYPE",
    "TRACES",
    "TRACE_DTYPES",
    "is_identifier_key",
    "iter_row_plan",
    "metadata_to_json",
    "none_if_nan",
    "parse_version",
    "read_row_index",
]

#: Value of the root attribute ``format``.
FORMAT_NAME = "nerveconduct-archive"
#: Version written by this code; readers accept any ``1.x`` (unknown extra columns ignored).
#: 1.1 added ``nerves/f_wave_absent``, 1.2 ``nerves/age_years`` and ``nerves/height_cm``, 1.3
#: the optional groups :data:`F_WAVES` and :data:`SENSORY`.
FORMAT_VERSION = "1.3"
_SUPPORTED_MAJOR = 1

#: Nerves (rows of the index tables) read at a time when the index is scanned (checks on
#: open, chunk planning): bounds that memory to a few hundred KiB whatever the archive size.
INDEX_SLICE = 16384

#: Dataset / group names.
TRACES = "traces"
NERVES = "nerves"
SITES = "sites"

#: Optional groups (format 1.3; absent = none stored): F-wave trains of motor nerves, and
#: sensory studies. Each holds its own 2-D ``traces`` dataset (mV, NaN padded, the archive's
#: trace dtype) and index tables; an archive without them is laid out exactly as a 1.2 one.
F_WAVES = "f_waves"
SENSORY = "sensory"
#: Version that added the optional groups.
EXTRAS_VERSION = (1, 3)
#: Optional group (format 1.3, added later and read only by the readers that know it: an
#: older 1.3 reader ignores it, as readers ignore members they do not know): the stimulus
#: intensity series of motor sites (``NerveStudy.stimulation_series``), one row of its
#: ``traces`` per step, aligned with the rows of its ``steps`` table.
STIMULATION = "stimulation"

#: HDF5 variable-length UTF-8 string type.
STRING_DTYPE = h5py.string_dtype("utf-8")

#: One row per nerve: column -> numpy dtype (``"str"`` = variable-length UTF-8).
NERVE_COLUMNS: dict[str, Any] = {
    "nerve": "str",
    "side": "str",
    "muscle": "str",
    "study_id": "str",
    "has_side": np.uint8,
    "has_muscle": np.uint8,
    "has_study_id": np.uint8,
    "sampling_rate_hz": np.float64,
    "stimulus_sample": np.int64,
    "polarity": "str",
    "temperature_c": np.float64,
    "low_frequency_filter_hz": np.float64,
    "f_wave_latency_ms": np.float64,
    "f_wave_absent": np.uint8,
    "age_years": np.float64,
    "height_cm": np.float64,
    "metadata_json": "str",
    "row_start": np.int64,
    "n_sites": np.int32,
}

#: Nerve columns added by a minor version: column -> (major, minor) that added it. An
#: archive of an earlier version may lack them; readers then use the documented default
#: (``f_wave_absent``: all 0, i.e. a NaN ``f_wave_latency_ms`` means "not studied";
#: ``age_years``, ``height_cm``: NaN, not given).
MINOR_NERVE_COLUMNS: dict[str, tuple[int, int]] = {"f_wave_absent": (1, 1), "age_years": (1, 2),
                                                   "height_cm": (1, 2)}

#: One row per trace (stimulation site): column -> numpy dtype.
SITE_COLUMNS: dict[str, Any] = {
    "nerve_index": np.int64,
    "site_position": np.int32,
    "n_samples": np.int32,
    "name": "str",
    "distance_mm": np.float64,
    "stimulus_intensity_ma": np.float64,
}

#: ``f_waves/trains``: one row per F-wave train (at most one per motor nerve, in nerve order).
F_WAVE_TRAIN_COLUMNS: dict[str, Any] = {
    "nerve_index": np.int64,       # row of the motor nerve in /nerves (strictly increasing)
    "sampling_rate_hz": np.float64,
    "stimulus_sample": np.int64,
    "row_start": np.int64,         # first row in f_waves/traces
    "n_stimuli": np.int32,         # rows of the train (one per stimulus)
    "n_samples": np.int32,         # valid samples of each row
}

#: ``stimulation/steps``: one row per step of an intensity series (aligned with the rows of
#: ``stimulation/traces``); a series = the consecutive rows of one (nerve, site), in step
#: order; nerves in order. The series shares its nerve's sampling set-up (rate, stimulus
#: sample, polarity).
STIMULATION_STEP_COLUMNS: dict[str, Any] = {
    "nerve_index": np.int64,       # row of the motor nerve in /nerves (non-decreasing)
    "site_position": np.int32,     # the site of the nerve (0 = most distal)
    "intensity_ma": np.float64,    # stimulus intensity of the step (mA)
    "n_samples": np.int32,         # valid samples of the row
}

#: ``sensory/studies``: one row per sensory study (``SensoryStudy``).
SENSORY_STUDY_COLUMNS: dict[str, Any] = {
    "nerve": "str",
    "side": "str",
    "has_side": np.uint8,
    "direction": "str",
    "recording_site": "str",
    "has_recording_site": np.uint8,
    "study_id": "str",
    "has_study_id": np.uint8,
    "sampling_rate_hz": np.float64,
    "stimulus_sample": np.int64,
    "polarity": "str",
    "temperature_c": np.float64,
    "low_frequency_filter_hz": np.float64,
    "age_years": np.float64,
    "height_cm": np.float64,
    "metadata_json": "str",
    "site_start": np.int64,        # first row in sensory/sites
    "n_sites": np.int32,
    "row_start": np.int64,         # first row in sensory/traces
    "n_sweeps": np.int32,          # 0: traces (n_sites, n_samples); k: (n_sites, k, n_samples)
    "n_samples": np.int32,
}

#: ``sensory/sites``: one row per stimulation site of a sensory study.
SENSORY_SITE_COLUMNS: dict[str, Any] = {
    "study_index": np.int64,
    "site_position": np.int32,
    "name": "str",
    "distance_mm": np.float64,
    "stimulus_intensity_ma": np.float64,
}

#: Nullable string columns of ``sensory/studies`` -> their ``has_*`` flag column.
SENSORY_NULLABLE_STRINGS = {"side": "has_side", "recording_site": "has_recording_site",
                            "study_id": "has_study_id"}

#: The tables of each optional group: group -> {table: columns}.
EXTRA_TABLES: dict[str, dict[str, dict[str, Any]]] = {
    F_WAVES: {"trains": F_WAVE_TRAIN_COLUMNS},
    SENSORY: {"studies": SENSORY_STUDY_COLUMNS, "sites": SENSORY_SITE_COLUMNS},
}

#: String columns that may be ``None``: column -> its ``has_*`` flag column (1 = present).
NULLABLE_STRINGS = {"side": "has_side", "muscle": "has_muscle", "study_id": "has_study_id"}

#: Allowed ``compression`` values of :func:`write_archive`.
COMPRESSIONS = (None, "gzip", "lzf")
#: Allowed ``dtype`` values of the traces dataset.
TRACE_DTYPES = ("float32", "float64")

# ---------------------------------------------------------------- patient identifiers
# Metadata keys are normalised (camelCase split, punctuation -> space, lower case) and
# dropped when they contain one of these words or fragments. Conservative on purpose: a
# dropped harmless key ("test name") costs little, a kept patient name costs a lot.
_ID_FRAGMENTS = ("patient", "birth", "surname", "firstname", "lastname", "forename",
                 "address", "phone", "email", "insurance", "medical record", "passport",
                 "social security", "national id", "personnummer", "hospital number")
_ID_WORDS = re.compile(r"\b(name|names|id|ids|dob|mrn|ssn|nhs|zip|postcode|born|"
                       r"initials)\b")


def is_identifier_key(key: str) -> bool:
    """Whether a metadata key looks like a patient identifier (then it is not archived).

    Examples
    --------
    >>> [is_identifier_key(k) for k in ("Patient Name", "patientID", "dob", "sweep_ms")]
    [True, True, True, False]
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(key))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
    squashed = text.replace(" ", "")
    if any(frag.replace(" ", "") in squashed for frag in _ID_FRAGMENTS):
        return True
    return _ID_WORDS.search(text) is not None


def _json_safe(value: Any, where: str, keep_identifiers: bool) -> Any:
    """Return ``value`` as plain JSON types, identifiers removed; raise on other types."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (_dt.date, _dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ArchiveError(
                    f"metadata key {quote(key)} at {where} is a {type(key).__name__}; JSON keys "
                    "must be str")
            if not keep_identifiers and is_identifier_key(key):
                continue
            out[key] = _json_safe(item, f"{where}[{key!r}]", keep_identifiers)
        return out
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, f"{where}[{i}]", keep_identifiers)
                for i, item in enumerate(value)]
    raise ArchiveError(
        f"metadata value at {where} is a {type(value).__name__}, which the "
        "archive cannot store; allowed: str, int, float, bool, None, date/time (stored as "
        "ISO text), list/tuple, dict with str keys")


#: Metadata keys that hold an input file's name: the export (``source_file``), the study
#: sheet read with it (``sheet``) and the file of a nerve's F-wave train the sheet named
#: (``f_wave_file``). Such names often carry a patient's name or ID
#: (``Doe_Jane_12345678.toml``), so :func:`metadata_to_json` stores their pseudonymous
#: :func:`~nerveconduct.io.pseudonym.source_key` unless asked to keep identifiers.
FILE_NAME_KEYS: tuple[str, ...] = ("source_file", "sheet", "f_wave_file")


def metadata_to_json(metadata: dict[str, Any], *, keep_identifiers: bool = False) -> str:
    """Serialise a study's metadata to a JSON string, dropping identifier keys.

    Parameters
    ----------
    metadata : dict
        ``NerveStudy.metadata``.
    keep_identifiers : bool, default False
        Keep keys that :func:`is_identifier_key` flags (at every nesting level) and the input
        files' names (:data:`FILE_NAME_KEYS`; by default their pseudonymous
        :func:`~nerveconduct.io.pseudonym.source_key`, a value that already is one kept).

    Returns
    -------
    str
        Compact JSON (NaN/Infinity written as Python's ``json`` writes them). Tuples come
        back as lists, numpy scalars as Python numbers, dates and times as ISO 8601 text.

    Raises
    ------
    ArchiveError
        A value is not JSON-safe; the message gives its key path and type.
    """
    clean = _json_safe(dict(metadata), "metadata", keep_identifiers)
    if not keep_identifiers:  # file names carry identifiers
        for key in FILE_NAME_KEYS:
            if isinstance(clean.get(key), str) and not is_source_key(clean[key]):
                clean[key] = source_key(clean[key])
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"), allow_nan=True)


# ----------------------------------------------------------------------- layout checks
def _decode(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def parse_version(version: Any) -> tuple[int, int] | None:
    """``(major, minor)`` of a ``format_version`` value, or ``None`` when it is not one.

    The parts must be decimal integers; a version without a minor part counts as minor 0,
    parts after the minor are ignored.

    Examples
    --------
    >>> parse_version("1.1"), parse_version("1"), parse_version("1.x"), parse_version(None)
    ((1, 1), (1, 0), None, None)
    """
    if version is None:
        return None
    parts = str(_decode(version)).split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


# ------------------------------------------------------- the row index, read in slices
def read_row_index(row_start: h5py.Dataset, n_sites: h5py.Dataset, a: int, b: int,
                   path: str | PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """``nerves/row_start`` and ``nerves/n_sites`` of nerves ``[a, b)`` as int64 arrays.

    Raises
    ------
    ArchiveError
        The slice cannot be read (damaged file).
    """
    try:
        return (row_start[a:b].astype(np.int64, copy=False),
                n_sites[a:b].astype(np.int64, copy=False))
    except OSError as exc:
        raise ArchiveError(f"cannot read the nerve table (damaged file?): {exc}", path=path,
                           location=f"nerves {a}:{b}") from exc


_NO_ROWS = np.empty(0, dtype=np.int64)


def iter_row_plan(row_start: h5py.Dataset, n_sites: h5py.Dataset, chunk_rows: int, a: int,
                  stop: int, path: str | PathLike[str]) -> Iterator[tuple[int, int]]:
    """Split nerves ``[a, stop)`` into runs of at most ``chunk_rows`` rows (at least one nerve).

    Yields ``(start_nerve, stop_nerve)`` in order. The index is read ``INDEX_SLICE`` nerves
    at a time, starting at ``a``: memory and reads depend on the range, not on the archive.
    """
    w0 = w1 = a  # the index window: nerves [w0, w1), their first rows and row ends
    starts = ends = _NO_ROWS

    def window(i: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        j = min(i + INDEX_SLICE, stop)
        first, sizes = read_row_index(row_start, n_sites, i, j, path)
        return i, j, first, first + sizes

    while a < stop:
        if a >= w1:
            starts = ends = _NO_ROWS  # the old window freed before the next one is read
            w0, w1, starts, ends = window(a)
        limit = int(starts[a - w0]) + chunk_rows
        b = a + 1
        while b < stop:  # add the following nerves that end within the limit
            if b >= w1:
                starts = ends = _NO_ROWS
                w0, w1, starts, ends = window(b)
            b += int(np.searchsorted(ends[b - w0:], limit, side="right"))
            if b < w1:
                break
        yield a, b
        a = b


def none_if_nan(value: float) -> float | None:
    """``None`` for NaN (the archive's "unknown"), else the value as a Python float."""
    value = float(value)
    return None if math.isnan(value) else value
