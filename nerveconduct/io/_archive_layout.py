"""Layout of the nerveconduct HDF5 archive (format 1.x): names, columns and checks.

Shared by the writer (:mod:`nerveconduct.io._archive_write`) and the reader
(:mod:`nerveconduct.io.archive`). The layout is documented for plain-h5py users in
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

from .errors import ArchiveError

__all__ = [
    "COMPRESSIONS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INDEX_SLICE",
    "MINOR_NERVE_COLUMNS",
    "NERVES",
    "NERVE_COLUMNS",
    "NULLABLE_STRINGS",
    "SITES",
    "SITE_COLUMNS",
    "STRING_DTYPE",
    "TRACES",
    "TRACE_DTYPES",
    "check_layout",
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
#: 1.1 added ``nerves/f_wave_absent``.
FORMAT_VERSION = "1.1"
_SUPPORTED_MAJOR = 1

#: Nerves (rows of the index tables) read at a time when the index is scanned (checks on
#: open, chunk planning): bounds that memory to a few hundred KiB whatever the archive size.
INDEX_SLICE = 16384

#: Dataset / group names.
TRACES = "traces"
NERVES = "nerves"
SITES = "sites"

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
    "metadata_json": "str",
    "row_start": np.int64,
    "n_sites": np.int32,
}

#: Nerve columns added by a minor version: column -> (major, minor) that added it. An
#: archive of an earlier version may lack them; readers then use the documented default
#: (``f_wave_absent``: all 0, i.e. a NaN ``f_wave_latency_ms`` means "not studied").
MINOR_NERVE_COLUMNS: dict[str, tuple[int, int]] = {"f_wave_absent": (1, 1)}

#: One row per trace (stimulation site): column -> numpy dtype.
SITE_COLUMNS: dict[str, Any] = {
    "nerve_index": np.int64,
    "site_position": np.int32,
    "n_samples": np.int32,
    "name": "str",
    "distance_mm": np.float64,
    "stimulus_intensity_ma": np.float64,
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
                    f"metadata key {key!r} at {where} is a {type(key).__name__}; JSON keys "
                    "must be str")
            if not keep_identifiers and is_identifier_key(key):
                continue
            out[key] = _json_safe(item, f"{where}[{key!r}]", keep_identifiers)
        return out
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, f"{where}[{i}]", keep_identifiers)
                for i, item in enumerate(value)]
    raise ArchiveError(
        f"metadata value at {where} is a {type(value).__name__} ({value!r:.60}), which the "
        "archive cannot store; allowed: str, int, float, bool, None, date/time (stored as "
        "ISO text), list/tuple, dict with str keys")


def metadata_to_json(metadata: dict[str, Any], *, keep_identifiers: bool = False) -> str:
    """Serialise a study's metadata to a JSON string, dropping identifier keys.

    Parameters
    ----------
    metadata : dict
        ``NerveStudy.metadata``.
    keep_identifiers : bool, default False
        Keep keys that :func:`is_identifier_key` flags (at every nesting level).

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
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"), allow_nan=True)


# ----------------------------------------------------------------------- layout checks
def _decode(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def check_layout(f: h5py.File, path: str | PathLike[str]) -> dict[str, Any]:
    """Validate an open file as a nerveconduct archive and return its shape facts.

    The nerve table's row index is checked ``INDEX_SLICE`` nerves at a time, so memory does
    not grow with the archive.

    Columns of :data:`MINOR_NERVE_COLUMNS` may be missing from an archive whose
    ``format_version`` is older than the version that added them.

    Returns
    -------
    dict
        ``n_nerves``, ``n_traces``, ``n_samples_max``, ``format_version`` (str) and
        ``nerve_columns`` (tuple of the :data:`NERVE_COLUMNS` names the file holds).

    Raises
    ------
    ArchiveError
        Naming what is missing or inconsistent (attribute, dataset, column length).
    """
    fmt = _decode(f.attrs.get("format"))
    if fmt is None:
        found = sorted(f.attrs.keys()) or "none"
        raise ArchiveError(
            f"not a nerveconduct archive: the root attribute 'format' is missing (root "
            f"attributes found: {found}; root members: {sorted(f.keys()) or 'none'}); an "
            f"archive has format={FORMAT_NAME!r}", path=path)
    if fmt != FORMAT_NAME:
        raise ArchiveError(f"not a nerveconduct archive: root attribute format={fmt!r}, "
                           f"expected {FORMAT_NAME!r}", path=path)
    version = _decode(f.attrs.get("format_version"))
    if version is None:
        raise ArchiveError("the root attribute 'format_version' is missing", path=path)
    parsed = parse_version(version)
    if parsed is None or parsed[0] != _SUPPORTED_MAJOR:
        raise ArchiveError(f"unsupported format_version {version!r}; this nerveconduct reads "
                           f"{_SUPPORTED_MAJOR}.x", path=path)

    missing = [] if isinstance(f.get(TRACES), h5py.Dataset) else [TRACES]
    nerve_columns = list(NERVE_COLUMNS)
    for group, columns in ((NERVES, NERVE_COLUMNS), (SITES, SITE_COLUMNS)):
        if not isinstance(f.get(group), h5py.Group):
            missing.append(f"group {group!r} (all its columns)")
            continue
        for c in columns:
            if isinstance(f[group].get(c), h5py.Dataset):
                continue
            if group == NERVES and parsed < MINOR_NERVE_COLUMNS.get(c, (0, 0)):
                nerve_columns.remove(c)  # added after this archive's version: optional
            else:
                missing.append(f"{group}/{c}")
    if missing:
        raise ArchiveError(f"incomplete archive, missing: {', '.join(missing)}", path=path)
    traces = f[TRACES]
    if traces.ndim != 2:
        raise ArchiveError(f"dataset 'traces' must be 2-D (rows = traces), has shape "
                           f"{traces.shape}", path=path)
    if traces.dtype.kind != "f":
        raise ArchiveError(f"dataset 'traces' must hold floats, has dtype {traces.dtype}",
                           path=path)
    n_traces, n_nerves = traces.shape[0], f[f"{NERVES}/row_start"].shape[0]
    bad = [f"{NERVES}/{c} has {f[NERVES][c].shape[0]} rows" for c in nerve_columns
           if f[NERVES][c].shape != (n_nerves,)]
    bad += [f"{SITES}/{c} has {f[SITES][c].shape[0]} rows" for c in SITE_COLUMNS
            if f[SITES][c].shape != (n_traces,)]
    if bad:
        raise ArchiveError(f"inconsistent archive ({n_nerves} nerves, {n_traces} traces): "
                           + "; ".join(bad), path=path)
    for key, actual in (("n_nerves", n_nerves), ("n_traces", n_traces)):
        stored = f.attrs.get(key)
        if stored is None:
            raise ArchiveError(f"the root attribute {key!r} is missing", path=path)
        if int(stored) != actual:
            raise ArchiveError(f"incomplete archive: root attribute {key}={int(stored)} but "
                               f"the tables hold {actual}", path=path)
    _check_row_index(f[NERVES]["row_start"], f[NERVES]["n_sites"], n_traces, path)
    return {"n_nerves": n_nerves, "n_traces": n_traces, "n_samples_max": traces.shape[1],
            "format_version": str(version), "nerve_columns": tuple(nerve_columns)}


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


def _check_row_index(row_start: h5py.Dataset, n_sites: h5py.Dataset, n_traces: int,
                     path: str | PathLike[str]) -> None:
    """Check that the nerves tile the trace rows, reading ``INDEX_SLICE`` nerves at a time."""
    expected = 0  # row_start of the next nerve
    for a in range(0, row_start.shape[0], INDEX_SLICE):
        starts, sizes = read_row_index(row_start, n_sites, a, a + INDEX_SLICE, path)
        ends = expected + np.cumsum(sizes)
        bad = (sizes < 1) | (starts != ends - sizes)
        if bad.any():
            i = int(np.argmax(bad))
            what = (f"n_sites={int(sizes[i])} (must be >= 1)" if sizes[i] < 1 else
                    f"row_start={int(starts[i])} but the nerves before it end at row "
                    f"{int(ends[i] - sizes[i])}")
            raise ArchiveError("inconsistent archive: nerves/row_start and nerves/n_sites do "
                               f"not tile the {n_traces} trace rows contiguously (nerve "
                               f"{a + i}: {what})", path=path)
        expected = int(ends[-1])
    if expected != n_traces:
        raise ArchiveError("inconsistent archive: nerves/row_start and nerves/n_sites do not "
                           f"tile the {n_traces} trace rows contiguously (the nerves cover "
                           f"{expected} rows)", path=path)


def iter_row_plan(row_start: h5py.Dataset, n_sites: h5py.Dataset, chunk_rows: int, a: int,
                  stop: int, path: str | PathLike[str]) -> Iterator[tuple[int, int]]:
    """Split nerves ``[a, stop)`` into runs of at most ``chunk_rows`` rows (at least one nerve).

    Yields ``(start_nerve, stop_nerve)`` in order. The index is read ``INDEX_SLICE`` nerves
    at a time, starting at ``a``: memory and reads depend on the range, not on the archive.
    """
    w0 = w1 = a  # the index window: nerves [w0, w1), their first rows and row ends
    starts = ends = np.empty(0, dtype=np.int64)

    def window(i: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        j = min(i + INDEX_SLICE, stop)
        first, sizes = read_row_index(row_start, n_sites, i, j, path)
        return i, j, first, first + sizes

    while a < stop:
        if a >= w1:
            w0, w1, starts, ends = window(a)
        limit = int(starts[a - w0]) + chunk_rows
        b = a + 1
        while b < stop:  # add the following nerves that end within the limit
            if b >= w1:
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
