"""Writing the packed HDF5 archive: streamed in blocks, atomic (temporary file + rename).

The public entry point is :func:`nerveconduct.io.archive.write_archive` (re-exported from
here); the layout lives in :mod:`nerveconduct.io._archive_layout`.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .._checks import check_number, check_option
from ..constants import VERSION
from ..model import Case, InvalidStudyError, NerveStudy, SensoryStudy, study_problems
from . import _archive_layout as L
from ._archive_extra import ExtraWriter, noting_cases, write_case_inputs
from ._archive_series import write_series
from ._archive_checks import check_layout
from ._guard import open_checked
from ._atomic import atomic_path
from .errors import ArchiveError

__all__ = ["write_archive"]

#: Target size of one HDF5 chunk of the traces dataset when ``chunk_rows`` is not given.
_CHUNK_BYTES = 512 * 1024
#: Traces buffered before a block is written (bounds the writer's memory).
_BLOCK_BYTES = 8 * 1024 * 1024
#: Studies buffered before a block is written, whatever their size.
_BLOCK_STUDIES = 32768
#: Bounds of the index tables' chunk length (rows).
_INDEX_CHUNK_MIN, _INDEX_CHUNK_MAX = 256, 16384
#: Chunk cache per dataset while writing: keeps the partly filled edge chunk in memory.
_WRITE_CACHE_BYTES = 8 * 1024 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _creator() -> str:
    return f"nerveconduct {VERSION}"


def _check_options(compression: Any, chunk_rows: Any, dtype: Any, overwrite: bool,
                   append: bool) -> np.dtype:
    check_option("compression", compression, L.COMPRESSIONS)
    check_number("chunk_rows", chunk_rows, minimum=1, integer=True, allow_none=True)
    check_option("dtype", str(np.dtype(dtype) if isinstance(dtype, type) else dtype),
                 L.TRACE_DTYPES)
    if overwrite and append:
        raise ValueError("overwrite=True and append=True exclude each other: choose one")
    return np.dtype(dtype)


def _study_problems(study: NerveStudy) -> list[str]:
    """Re-check a study with the one validity rule (:func:`nerveconduct.model.study_problems`:
    a NerveStudy's attributes are mutable), plus what the archive's columns need."""
    problems = [f"{name} must be a str or None, got {getattr(study, name)!r}"
                for name in L.NULLABLE_STRINGS
                if getattr(study, name) is not None and not isinstance(getattr(study, name), str)]
    return problems + study_problems(nerve=study.nerve, sites=study.sites, traces=study.traces,
                                     sampling_rate_hz=study.sampling_rate_hz,
                                     stimulus_sample=study.stimulus_sample, polarity=study.polarity,
                                     f_wave_traces=getattr(study, "f_wave_traces", None),
                                     f_wave_sampling_rate_hz=getattr(study, "f_wave_sampling_rate_hz", None),
                                     f_wave_stimulus_sample=getattr(study, "f_wave_stimulus_sample", 0),
                                     stimulation_series=getattr(study, "stimulation_series", None))


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _f_wave_absent(latency_ms: float | None) -> int:
    """``nerves/f_wave_absent``: 1 when F-waves were sought and absent (latency NaN), else 0."""
    return int(latency_ms is not None and math.isnan(float(latency_ms)))


class _Writer:
    """Appends blocks of studies to an open archive file."""

    def __init__(self, f: h5py.File, path: Path, *, compression: str | None,
                 chunk_rows: int | None, dtype: np.dtype, keep_identifiers: bool,
                 info: dict[str, Any] | None):
        self.f, self.path = f, path
        self.keep_identifiers = keep_identifiers
        self.chunk_rows = chunk_rows
        if info is None:  # a new archive
            self.dtype, self.compression = dtype, compression
            self.n_nerves = self.n_traces = 0
            f.attrs["format"] = L.FORMAT_NAME
            f.attrs["format_version"] = L.FORMAT_VERSION
            f.attrs["creator"] = _creator()
            f.attrs["created"] = _now()
            f.attrs["trace_units"] = "mV"
        else:  # appending: the existing layout wins
            traces = f[L.TRACES]
            self.dtype, self.compression = traces.dtype, traces.compression
            self.n_nerves, self.n_traces = info["n_nerves"], info["n_traces"]
            self._upgrade(info)
        self.extra = ExtraWriter(f, self.dtype, self._filters(), keep_identifiers, path)

    def _upgrade(self, info: dict[str, Any]) -> None:
        """Bring an older 1.x archive being appended to up to :data:`L.FORMAT_VERSION`.

        Nerve columns added since its version are created with the value that keeps the
        existing rows' meaning (``f_wave_absent`` = 0: a NaN latency there meant "not
        studied"; ``age_years``/``height_cm`` NaN: not given); the fill value costs no write. A newer minor version is left as it is.
        """
        nerves = self.f[L.NERVES]
        for name in L.MINOR_NERVE_COLUMNS:
            if name in info["nerve_columns"]:
                continue
            kind = np.dtype(L.NERVE_COLUMNS[name])
            fill = kind.type(np.nan) if kind.kind == "f" else kind.type(0)  # NaN: not given
            nerves.create_dataset(name, shape=(self.n_nerves,), maxshape=(None,), dtype=kind,
                                  chunks=nerves["row_start"].chunks, fillvalue=fill,
                                  **self._filters())
        current = L.parse_version(L.FORMAT_VERSION)
        if L.parse_version(info["format_version"]) < current:
            self.f.attrs["format_version"] = L.FORMAT_VERSION

    # ------------------------------------------------------------------ datasets
    def _filters(self) -> dict[str, Any]:
        if self.compression is None:
            return {}
        opts: dict[str, Any] = {"compression": self.compression, "shuffle": True}
        if self.compression == "gzip":
            opts["compression_opts"] = 4
        return opts

    def _ensure_tables(self, block_rows: int, block_nerves: int) -> None:
        if L.NERVES in self.f:
            return
        for group, columns, n in ((L.NERVES, L.NERVE_COLUMNS, block_nerves),
                                  (L.SITES, L.SITE_COLUMNS, block_rows)):
            grp = self.f.create_group(group)
            chunk = int(min(_INDEX_CHUNK_MAX, max(_INDEX_CHUNK_MIN, n)))
            for name, kind in columns.items():
                dt = L.STRING_DTYPE if kind == "str" else np.dtype(kind)
                grp.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dt,
                                   chunks=(chunk,), **self._filters())
        self.f[L.NERVES].attrs["rows"] = "one row per nerve (NerveStudy)"
        self.f[L.SITES].attrs["rows"] = "one row per trace, aligned with the rows of 'traces'"

    def _ensure_traces(self, width: int) -> h5py.Dataset:
        ds = self.f.get(L.TRACES)
        if ds is not None and (ds.shape[0] > 0 or ds.shape[1] >= width):
            if ds.shape[1] < width:  # a wider study: widen, old rows padded by the fill value
                ds.resize((ds.shape[0], width))
            return ds
        if ds is not None:  # empty placeholder of an archive written without studies
            del self.f[L.TRACES]
        itemsize = self.dtype.itemsize
        rows = self.chunk_rows or max(1, _CHUNK_BYTES // max(1, width * itemsize))
        ds = self.f.create_dataset(
            L.TRACES, shape=(0, width), maxshape=(None, None), dtype=self.dtype,
            chunks=(int(rows), max(1, width)), fillvalue=np.nan, **self._filters())
        ds.attrs["units"] = "mV"
        ds.attrs["padding"] = "NaN beyond each row's sites/n_samples"
        return ds

    # ------------------------------------------------------------------ blocks
    def write_block(self, studies: list[tuple[str, NerveStudy]],
                    sensory: list[tuple[str, SensoryStudy]] = ()) -> None:
        """Write one block of (where in the input, study) pairs: motor studies (with their
        F-wave trains and stimulus intensity series) and sensory studies."""
        self.extra.write_sensory(list(sensory))
        if not studies:
            return
        n_rows = sum(len(s.sites) for _, s in studies)
        width = max(np.shape(s.traces)[1] for _, s in studies)
        self._ensure_tables(n_rows, len(studies))
        ds = self._ensure_traces(width)
        block = np.full((n_rows, ds.shape[1]), np.nan, dtype=self.dtype)
        nerves: dict[str, list[Any]] = {name: [] for name in L.NERVE_COLUMNS}
        sites: dict[str, list[Any]] = {name: [] for name in L.SITE_COLUMNS}
        row = 0
        for k, (position, study) in enumerate(studies):
            problems = _study_problems(study)
            if problems:
                raise InvalidStudyError([f"{position}: {p}" for p in problems],
                                        study_id=study.study_id
                                        if isinstance(study.study_id, str) else None)
            try:
                sex = getattr(study, "sex", None)  # free text: kept with the metadata
                meta = L.metadata_to_json(dict(study.metadata, **({"sex": sex} if sex else {})),
                                          keep_identifiers=self.keep_identifiers)
            except ArchiveError as exc:
                raise ArchiveError(exc.detail, path=self.path, location=f"{position} "
                                   f"(study_id={study.study_id!r})") from exc
            traces = np.asarray(study.traces)
            n_sites, n_samples = traces.shape
            block[row:row + n_sites, :n_samples] = traces
            for name, flag in L.NULLABLE_STRINGS.items():
                value = getattr(study, name)
                nerves[name].append("" if value is None else value)
                nerves[flag].append(0 if value is None else 1)
            nerves["nerve"].append(study.nerve)
            nerves["sampling_rate_hz"].append(float(study.sampling_rate_hz))
            nerves["stimulus_sample"].append(int(study.stimulus_sample))
            nerves["polarity"].append(str(study.polarity))
            nerves["temperature_c"].append(_nan(study.temperature_c))
            nerves["low_frequency_filter_hz"].append(_nan(study.low_frequency_filter_hz))
            nerves["f_wave_latency_ms"].append(_nan(study.f_wave_latency_ms))
            nerves["f_wave_absent"].append(_f_wave_absent(study.f_wave_latency_ms))
            nerves["age_years"].append(_nan(getattr(study, "age_years", None)))
            nerves["height_cm"].append(_nan(getattr(study, "height_cm", None)))
            nerves["metadata_json"].append(meta)
            nerves["row_start"].append(self.n_traces + row)
            nerves["n_sites"].append(n_sites)
            for pos, site in enumerate(study.sites):
                sites["nerve_index"].append(self.n_nerves + k)
                sites["site_position"].append(pos)
                sites["n_samples"].append(n_samples)
                sites["name"].append(str(site.name))
                sites["distance_mm"].append(_nan(site.distance_mm))
                sites["stimulus_intensity_ma"].append(_nan(site.stimulus_intensity_ma))
            row += n_sites
        r0, r1 = self.n_traces, self.n_traces + n_rows
        ds.resize((r1, ds.shape[1]))
        ds[r0:r1] = block
        self._append(L.NERVES, L.NERVE_COLUMNS, nerves, self.n_nerves)
        self._append(L.SITES, L.SITE_COLUMNS, sites, r0)
        self.extra.write_trains([(self.n_nerves + k, study) for k, (_, study) in enumerate(studies)
                                 if getattr(study, "f_wave_traces", None) is not None])
        write_series(self.extra, [(self.n_nerves + k, study) for k, (_, study) in enumerate(studies)])
        self.n_nerves += len(studies)
        self.n_traces = r1

    def _append(self, group: str, columns: dict[str, Any], values: dict[str, list[Any]],
                start: int) -> None:
        for name, kind in columns.items():
            data = np.array(values[name], dtype=object if kind == "str" else kind)
            ds = self.f[group][name]
            ds.resize((start + len(data),))
            ds[start:start + len(data)] = data

    def finish(self) -> None:
        """Create what an empty archive still lacks and record the totals."""
        self._ensure_tables(0, 0)
        if L.TRACES not in self.f:
            self.f.create_dataset(L.TRACES, shape=(0, 0), maxshape=(None, None),
                                  dtype=self.dtype, chunks=(1, 1), fillvalue=np.nan)
        self.f.attrs["n_nerves"] = np.int64(self.n_nerves)
        self.f.attrs["n_traces"] = np.int64(self.n_traces)
        self.f.attrs["modified"] = _now()


def _parts(position: int, item: Any) -> list[tuple[str, Any]]:
    """``(where in the input, study)`` of one input item: a study, or a Case's studies."""
    if isinstance(item, (NerveStudy, SensoryStudy)):
        return [(f"studies[{position}]", item)]
    if isinstance(item, Case):
        out = []
        for field, kind in (("studies", NerveStudy), ("sensory", SensoryStudy)):
            for k, study in enumerate(getattr(item, field)):
                if not isinstance(study, kind):
                    raise TypeError(f"studies[{position}].{field}[{k}] (of a Case) must be a "
                                    f"{kind.__name__}, got {type(study).__name__}")
                out.append((f"studies[{position}].{field}[{k}]", study))
        return out
    raise TypeError(f"studies[{position}] must be a NerveStudy, got {type(item).__name__} "
                    "(a SensoryStudy or a Case, with its motor and sensory studies, is taken too)")


def _blocks(studies: Iterable[Any], itemsize: int):
    """Group the input stream into blocks of motor and sensory (where, study) pairs, bounded
    in bytes and count."""
    if isinstance(studies, (NerveStudy, SensoryStudy, Case)):
        raise TypeError(f"studies must be an iterable of NerveStudy; got a single "
                        f"{type(studies).__name__} (wrap it in a list)")
    motor: list[tuple[str, NerveStudy]] = []
    sensory: list[tuple[str, SensoryStudy]] = []
    nbytes = 0
    for position, item in enumerate(studies):
        for where, study in _parts(position, item):
            (motor if isinstance(study, NerveStudy) else sensory).append((where, study))
            nbytes += int(np.size(study.traces)) * itemsize
            train = getattr(study, "f_wave_traces", None)
            nbytes += 0 if train is None else int(np.size(train)) * itemsize
            nbytes += sum(int(np.size(s.traces)) * itemsize
                          for s in (getattr(study, "stimulation_series", None) or {}).values())
        if nbytes >= _BLOCK_BYTES or len(motor) + len(sensory) >= _BLOCK_STUDIES:
            yield motor, sensory
            motor, sensory, nbytes = [], [], 0
    if motor or sensory:
        yield motor, sensory


def write_archive(path: str | PathLike[str], studies: Iterable[Any], *,
                  overwrite: bool = False, append: bool = False,
                  compression: str | None = None, chunk_rows: int | None = None,
                  dtype: str = "float32", keep_identifiers: bool = False) -> Path:
    """Write nerve studies to a packed HDF5 archive (atomically), or append to one.

    Parameters
    ----------
    path : str or path-like
        Archive file to write (conventionally ``*.h5``).
    studies : iterable of NerveStudy, SensoryStudy or Case
        Motor studies (with their F-wave trains, ``f_wave_traces``, and stimulus intensity
        series, ``stimulation_series``: the optional group ``/stimulation``), sensory studies, or
        cases (a :class:`~nerveconduct.model.Case` gives its ``studies`` and ``sensory``), in
        any mix; motor and sensory studies keep their order among their kind. May be a
        generator: it is consumed in blocks of ~8 MiB of traces, so memory stays bounded
        whatever the number of studies.
    overwrite : bool, default False
        Replace an existing file.
    append : bool, default False
        Add the studies after those of an existing archive (its format is re-validated
        first; its ``dtype``, compression and chunking are kept and the corresponding
        arguments ignored). A missing file is created. An archive of an older 1.x version
        is upgraded to :data:`nerveconduct.io.archive.FORMAT_VERSION` (columns added since
        get the value that keeps its nerves' meaning, see ``docs/archive-format.md``).
    compression : {None, "gzip", "lzf"}
        HDF5 filter of every dataset (with byte shuffling). See ``docs/archive-format.md``
        for what each costs in time and saves in size.
    chunk_rows : int, optional
        Trace rows per HDF5 chunk; default: ~512 KiB chunks.
    dtype : {"float32", "float64"}
        Storage type of the traces (mV).
    keep_identifiers : bool, default False
        Store metadata keys that look like patient identifiers (see
        :func:`nerveconduct.io._archive_layout.is_identifier_key`); dropped by default.

    Returns
    -------
    pathlib.Path
        The archive written.

    Raises
    ------
    ArchiveError
        The path exists and neither ``overwrite`` nor ``append`` was given; the file to
        append to is not a valid archive; a metadata value cannot be stored as JSON; the
        directory does not exist.
    InvalidStudyError
        A study's attributes were changed after construction into something inconsistent.
    TypeError
        An item of ``studies`` is none of :class:`NerveStudy`, :class:`SensoryStudy`,
        :class:`Case` (or a Case holds something else).
    ValueError
        An option is outside its allowed values.

    Notes
    -----
    The archive is written to a temporary file (``.<name>.<random>.tmp``) in the same
    directory, fsynced, then moved over ``path`` with :func:`os.replace`
    (:func:`nerveconduct.io._atomic.atomic_path`; a replaced file keeps its permission
    bits); on any error the temporary file is removed and ``path`` is untouched.
    Appending copies the archive to the temporary file first, so it costs a full copy of
    the file (and the disk space for it).
    """
    trace_dtype = _check_options(compression, chunk_rows, dtype, overwrite, append)
    path = Path(path)
    if not path.parent.is_dir():
        raise ArchiveError(f"directory {str(path.parent)!r} does not exist", path=path)
    if path.is_dir():
        raise ArchiveError("is a directory, not an archive file", path=path)
    exists = path.exists()
    if exists and not (overwrite or append):
        raise ArchiveError("file exists; pass overwrite=True to replace it or append=True to "
                           "add studies to it", path=path)
    appending = append and exists
    info = None
    if appending:  # validate before paying for the copy
        f, _ = open_checked(path)
        f.close()
    with atomic_path(path, overwrite=exists) as tmp:  # removed on any error
        if appending:
            shutil.copy2(path, tmp)
        with h5py.File(tmp, "r+" if appending else "w", rdcc_nbytes=_WRITE_CACHE_BYTES,
                       rdcc_nslots=4099) as f:
            if appending:
                info = check_layout(f, path)
            writer = _Writer(f, path, compression=compression, chunk_rows=chunk_rows,
                             dtype=trace_dtype, keep_identifiers=keep_identifiers, info=info)
            cases: dict[str, dict[str, Any]] = {}
            for motor, sensory in _blocks(noting_cases(studies, cases), writer.dtype.itemsize):
                writer.write_block(motor, sensory)
            writer.finish()
            write_case_inputs(f, cases, path=path)
    return path
