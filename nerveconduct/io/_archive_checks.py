"""Validation of a nerveconduct archive on open: layout, column types, declared sizes.

Shared by the reader (:mod:`nerveconduct.io.archive`) and the writer's append path
(:mod:`nerveconduct.io._archive_write`), so neither imports the other. Everything an archive
declares (attributes, shapes, dtypes, the ``sites/n_samples`` column) is checked against the
layout of ``docs/archive-format.md`` and against the bytes the file really stores **before**
anything is allocated from it: a 73 KB file that declares ``traces`` of shape
``(n, 10**10)`` is refused, never read into a 74 GiB array.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import _archive_layout as L
from .errors import ArchiveError, boundary, quote

__all__ = ["MAX_SAMPLES_PER_TRACE", "check_layout", "open_unguarded", "exists"]

#: Longest trace an archive may declare (samples): 4 194 304, e.g. 42 s at 100 kHz, far
#: beyond any nerve-conduction sweep.
MAX_SAMPLES_PER_TRACE = 2 ** 22
#: Highest ratio of declared to stored bytes a compressed dataset can reach (deflate's
#: limit is about 1032:1; LZF's is lower), with margin.
_MAX_COMPRESSION_RATIO = 1100
#: Declared bytes allowed beyond the stored ones (HDF5 chunk and header rounding).
_SLACK_BYTES = 1 << 20
#: Chunk cache per dataset while reading (HDF5's default is 1 MiB).
READ_CACHE_BYTES = 4 * 1024 * 1024


def exists(path: str | PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise ArchiveError("no such file", path=path)
    if path.is_dir():
        raise ArchiveError("is a directory, not an archive file", path=path)
    return path


def open_unguarded(path: str | PathLike[str]) -> tuple[h5py.File, dict[str, Any]]:
    """Open ``path`` read-only and validate its layout (:func:`check_layout`), in this process.

    Only for files already checked by :func:`nerveconduct.io._guard.open_checked` (or inside
    its child process, which runs this).
    """
    path = exists(path)
    if not h5py.is_hdf5(path):
        raise ArchiveError("not an HDF5 file (no HDF5 signature); a nerveconduct archive is "
                           f"an HDF5 file with root attribute format={L.FORMAT_NAME!r}",
                           path=path)
    try:
        f = h5py.File(path, "r", rdcc_nbytes=READ_CACHE_BYTES, rdcc_nslots=4099)
    except OSError as exc:
        what = "truncated" if "truncated" in str(exc).lower() else "damaged or unreadable"
        raise ArchiveError(f"HDF5 file is {what} (cut short or corrupt; h5py says: {exc})",
                           path=path) from exc
    try:
        return f, check_layout(f, path)
    except BaseException:
        f.close()
        raise


def check_layout(f: h5py.File, path: str | PathLike[str]) -> dict[str, Any]:
    """Validate an open file as a nerveconduct archive and return its shape facts.

    The nerve table's row index and ``sites/n_samples`` are checked ``INDEX_SLICE`` rows at
    a time, so memory does not grow with the archive; their declared lengths are first
    checked against the bytes the file stores, so the scans cannot run away.

    Columns of :data:`~nerveconduct.io._archive_layout.MINOR_NERVE_COLUMNS` may be missing
    from an archive whose ``format_version`` is older than the version that added them.

    Returns
    -------
    dict
        ``n_nerves``, ``n_traces``, ``n_samples_max``, ``format_version`` (str) and
        ``nerve_columns`` (tuple of the ``NERVE_COLUMNS`` names the file holds).

    Raises
    ------
    ArchiveError
        Naming the attribute or dataset that is missing, of the wrong shape or type, or
        inconsistent, and what is allowed.
    """
    # h5py raises RuntimeError for some damaged structures ("wrong B-tree signature")
    with boundary(ArchiveError, path, location="root attributes",
                  extra=(OSError, RuntimeError)) as where:
        return _check(f, path, where)


def _check(f: h5py.File, path: Any, where: Any) -> dict[str, Any]:
    fmt = L._decode(f.attrs.get("format"))
    if fmt is None:
        found = sorted(f.attrs.keys()) or "none"
        raise ArchiveError(
            f"not a nerveconduct archive: the root attribute 'format' is missing (root "
            f"attributes found: {found}; root members: {sorted(f.keys()) or 'none'}); an "
            f"archive has format={L.FORMAT_NAME!r}", path=path)
    if fmt != L.FORMAT_NAME:
        raise ArchiveError(f"not a nerveconduct archive: root attribute format="
                           f"{quote(fmt, max_chars=24)}, expected {L.FORMAT_NAME!r}", path=path)
    version = L._decode(f.attrs.get("format_version"))
    if version is None:
        raise ArchiveError("the root attribute 'format_version' is missing", path=path)
    parsed = L.parse_version(version)
    if parsed is None or parsed[0] != L._SUPPORTED_MAJOR:
        raise ArchiveError(f"unsupported format_version {quote(version, max_chars=24)}; this "
                           f"nerveconduct reads {L._SUPPORTED_MAJOR}.x", path=path)

    missing = [] if isinstance(f.get(L.TRACES), h5py.Dataset) else [L.TRACES]
    nerve_columns = list(L.NERVE_COLUMNS)
    for group, columns in ((L.NERVES, L.NERVE_COLUMNS), (L.SITES, L.SITE_COLUMNS)):
        if not isinstance(f.get(group), h5py.Group):
            missing.append(f"group {group!r} (all its columns)")
            continue
        for c in columns:
            if isinstance(f[group].get(c), h5py.Dataset):
                continue
            if group == L.NERVES and parsed < L.MINOR_NERVE_COLUMNS.get(c, (0, 0)):
                nerve_columns.remove(c)  # added after this archive's version: optional
            else:
                missing.append(f"{group}/{c}")
    if missing:
        raise ArchiveError(f"incomplete archive, missing: {', '.join(missing)}", path=path)
    where.location = L.TRACES
    traces = f[L.TRACES]
    if traces.ndim != 2:
        raise ArchiveError(f"dataset 'traces' must be 2-D (rows = traces), has shape "
                           f"{traces.shape}", path=path, location=L.TRACES)
    if traces.dtype.kind != "f" or str(traces.dtype) not in L.TRACE_DTYPES:
        raise ArchiveError(f"dataset 'traces' must hold floats (allowed: "
                           f"{', '.join(L.TRACE_DTYPES)}), has dtype {traces.dtype}",
                           path=path, location=L.TRACES)
    for group, columns in ((L.NERVES, {c: L.NERVE_COLUMNS[c] for c in nerve_columns}),
                           (L.SITES, L.SITE_COLUMNS)):
        for name, kind in columns.items():
            where.location = f"{group}/{name}"
            _check_column(f[group][name], f"{group}/{name}", kind, path)
    n_traces, n_nerves = traces.shape[0], f[f"{L.NERVES}/row_start"].shape[0]
    bad = [f"{L.NERVES}/{c} has {f[L.NERVES][c].shape[0]} rows" for c in nerve_columns
           if f[L.NERVES][c].shape != (n_nerves,)]
    bad += [f"{L.SITES}/{c} has {f[L.SITES][c].shape[0]} rows" for c in L.SITE_COLUMNS
            if f[L.SITES][c].shape != (n_traces,)]
    if bad:
        raise ArchiveError(f"inconsistent archive ({n_nerves} nerves, {n_traces} traces): "
                           + "; ".join(bad), path=path)
    where.location = "root attributes"
    for key, actual in (("n_nerves", n_nerves), ("n_traces", n_traces)):
        stored = f.attrs.get(key)
        if stored is None:
            raise ArchiveError(f"the root attribute {key!r} is missing", path=path)
        stored = np.asarray(stored)
        if stored.shape != () or stored.dtype.kind not in "iu":
            raise ArchiveError(f"the root attribute {key!r} must be one integer, got "
                               f"{quote(L._decode(stored.tolist()))}", path=path,
                               location="root attributes")
        if int(stored) != actual:
            raise ArchiveError(f"incomplete archive: root attribute {key}={int(stored)} but "
                               f"the tables hold {actual}", path=path)
    if n_nerves > n_traces:
        raise ArchiveError(f"inconsistent archive: {n_nerves} nerves but only {n_traces} "
                           "traces (every nerve has at least one)", path=path)
    for name in (f"{L.NERVES}/row_start", f"{L.NERVES}/n_sites", f"{L.SITES}/n_samples"):
        where.location = name
        _check_stored(f[name], f[name].size * f[name].dtype.itemsize, name, path)
    where.location = f"{L.NERVES}/row_start"
    _check_row_index(f[L.NERVES]["row_start"], f[L.NERVES]["n_sites"], n_traces, path)
    where.location = f"{L.SITES}/n_samples"
    _check_widths(traces, f[L.SITES]["n_samples"], path)
    counts = _check_extras(f, path, where, parsed, n_nerves)
    return {"n_nerves": n_nerves, "n_traces": n_traces, "n_samples_max": traces.shape[1],
            "format_version": str(version), "nerve_columns": tuple(nerve_columns), **counts}


def _check_extras(f: h5py.File, path: Any, where: Any, parsed: tuple[int, int],
                  n_nerves: int) -> dict[str, int]:
    """Check the optional groups (format 1.3): members, column types and lengths, and that
    their row indexes tile their ``traces`` (read ``INDEX_SLICE`` rows at a time).

    Returns ``n_f_wave_trains`` and ``n_sensory`` (0 for an absent group). A group in a file
    older than 1.3 is ignored, as readers ignore members they do not know.
    """
    counts = {"n_f_wave_trains": 0, "n_sensory": 0}
    if parsed < L.EXTRAS_VERSION:
        return counts
    for group, tables in L.EXTRA_TABLES.items():
        if group not in f:
            continue
        where.location = group
        grp = f[group]
        if not isinstance(grp, h5py.Group):
            raise ArchiveError("must be a group (tables and traces)", path=path, location=group)
        missing = [] if isinstance(grp.get("traces"), h5py.Dataset) else [f"{group}/traces"]
        for table, columns in tables.items():
            missing += [f"{group}/{table}/{c}" for c in columns
                        if not isinstance(f.get(f"{group}/{table}/{c}"), h5py.Dataset)]
        if missing:
            raise ArchiveError(f"incomplete archive, missing: {', '.join(missing)}", path=path)
        traces = grp["traces"]
        if traces.ndim != 2 or str(traces.dtype) not in L.TRACE_DTYPES:
            raise ArchiveError(f"must be a 2-D dataset of floats ({', '.join(L.TRACE_DTYPES)}), "
                               f"has shape {traces.shape} and dtype {traces.dtype}", path=path,
                               location=f"{group}/traces")
        if traces.shape[1] > MAX_SAMPLES_PER_TRACE:
            raise ArchiveError(f"declares {traces.shape[1]} samples per trace; allowed: at most "
                               f"{MAX_SAMPLES_PER_TRACE}", path=path, location=f"{group}/traces")
        lengths = {}
        for table, columns in tables.items():
            for name, kind in columns.items():
                where.location = f"{group}/{table}/{name}"
                _check_column(grp[table][name], where.location, kind, path)
            sizes = {grp[table][c].shape[0] for c in columns}
            if len(sizes) != 1:
                raise ArchiveError(f"inconsistent archive: the columns of {group}/{table} have "
                                   f"different lengths {sorted(sizes)}", path=path)
            lengths[table] = sizes.pop()
        if group == L.F_WAVES:
            counts["n_f_wave_trains"] = lengths["trains"]
            _check_tiling(grp["trains"], "n_stimuli", None, traces, n_nerves, path,
                          f"{group}/trains")
        else:
            counts["n_sensory"] = lengths["studies"]
            _check_tiling(grp["studies"], "n_sites", "n_sweeps", traces, None, path,
                          f"{group}/studies", site_rows=lengths["sites"])
    return counts


def _check_tiling(table: h5py.Group, count: str, sweeps: str | None, traces: h5py.Dataset,
                  n_nerves: int | None, path: Any, name: str, site_rows: int = 0) -> None:
    """The rows of ``table`` (F-wave trains or sensory studies) tile ``traces`` in order, each
    row's ``n_samples`` fits the width; trains belong to distinct nerves in order; sensory
    studies' sites tile the sites table."""
    for column in ("row_start", count, "n_samples") + ((sweeps, "site_start") if sweeps else
                                                       ("nerve_index",)):
        _check_stored(table[column], table[column].size * table[column].dtype.itemsize,
                      f"{name}/{column}", path)
    next_row = next_site = 0
    previous_nerve = -1
    total = 0
    n = table["row_start"].shape[0]
    for a in range(0, n, L.INDEX_SLICE):
        b = min(n, a + L.INDEX_SLICE)
        starts = table["row_start"][a:b].astype(np.int64)
        sizes = table[count][a:b].astype(np.int64)
        widths = table["n_samples"][a:b].astype(np.int64)
        rows = sizes * (np.maximum(table[sweeps][a:b].astype(np.int64), 1) if sweeps else 1)
        ends = next_row + np.cumsum(rows)
        bad = (sizes < 1) | (starts != ends - rows) | (widths < 1) | (widths > traces.shape[1])
        if sweeps:
            bad |= table[sweeps][a:b].astype(np.int64) < 0
            site_ends = next_site + np.cumsum(sizes)
            bad |= table["site_start"][a:b].astype(np.int64) != site_ends - sizes
            next_site = int(site_ends[-1])
        else:
            nerves = table["nerve_index"][a:b].astype(np.int64)
            order = np.diff(np.concatenate([[previous_nerve], nerves]))
            bad |= (order < 1) | (nerves >= n_nerves)
            previous_nerve = int(nerves[-1])
        if bad.any():
            i = int(np.argmax(bad))
            raise ArchiveError(f"inconsistent archive: row {a + i} of {name} (row_start="
                               f"{int(starts[i])}, {count}={int(sizes[i])}, n_samples="
                               f"{int(widths[i])}) does not follow the rows before it in order, "
                               + ("or its sites do not tile the sites table" if sweeps else
                                  "or its nerve_index is not a later nerve of /nerves")
                               + f"; the traces are {traces.shape[1]} samples wide",
                               path=path, location=name)
        next_row = int(ends[-1])
        total += int((rows * widths).sum())
    if next_row != traces.shape[0] or (sweeps and next_site != site_rows):
        raise ArchiveError(f"inconsistent archive: {name} covers {next_row} rows of "
                           f"{traces.shape[0]} in its traces"
                           + (f" and {next_site} of {site_rows} sites" if sweeps else ""),
                           path=path, location=name)
    _check_stored(traces, total * traces.dtype.itemsize, name.rsplit("/", 1)[0] + "/traces",
                  path)


def _check_column(ds: h5py.Dataset, name: str, kind: Any, path: Any) -> None:
    """A column must be 1-D and hold its documented type (strings, integers or floats)."""
    if ds.ndim != 1:
        raise ArchiveError(f"must be a 1-D column (one value per row), has shape {ds.shape}",
                           path=path, location=name)
    if kind == "str":
        ok, allowed = h5py.check_string_dtype(ds.dtype) is not None, "UTF-8 strings"
    else:
        want = np.dtype(kind).kind
        ok = ds.dtype.kind in ("iu" if want in "iu" else "f")
        allowed = "integers" if want in "iu" else "floats (NaN = unknown)"
    if not ok:
        raise ArchiveError(f"must hold {allowed}, has dtype {ds.dtype}", path=path,
                           location=name)


def _check_stored(ds: h5py.Dataset, declared_bytes: int, name: str, path: Any) -> None:
    """Refuse a dataset that declares far more data than the file stores for it."""
    stored = ds.id.get_storage_size()
    filtered = ds.chunks is not None and ds.id.get_create_plist().get_nfilters() > 0
    ratio = _MAX_COMPRESSION_RATIO if filtered else 1
    if declared_bytes > stored * ratio + _SLACK_BYTES:
        raise ArchiveError(f"declares {declared_bytes} bytes of data but the file stores "
                           f"{stored} bytes for it (at most {ratio}x that, compressed, is "
                           "possible): truncated or forged archive", path=path, location=name)


def _check_row_index(row_start: h5py.Dataset, n_sites: h5py.Dataset, n_traces: int,
                     path: Any) -> None:
    """Check that the nerves tile the trace rows, reading ``INDEX_SLICE`` nerves at a time."""
    expected = 0  # row_start of the next nerve
    for a in range(0, row_start.shape[0], L.INDEX_SLICE):
        starts, sizes = L.read_row_index(row_start, n_sites, a, a + L.INDEX_SLICE, path)
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
        del starts, sizes, ends, bad  # freed before the next slice is read
    if expected != n_traces:
        raise ArchiveError("inconsistent archive: nerves/row_start and nerves/n_sites do not "
                           f"tile the {n_traces} trace rows contiguously (the nerves cover "
                           f"{expected} rows)", path=path)


def _check_widths(traces: h5py.Dataset, n_samples: h5py.Dataset, path: Any) -> None:
    """``sites/n_samples`` in [1, width], its maximum the width, its sum stored in the file."""
    width = traces.shape[1]
    name = f"{L.SITES}/n_samples"
    if width > MAX_SAMPLES_PER_TRACE:
        raise ArchiveError(f"dataset 'traces' declares {width} samples per trace; allowed: at "
                           f"most {MAX_SAMPLES_PER_TRACE}", path=path, location=L.TRACES)
    longest = total = 0
    for a in range(0, n_samples.shape[0], L.INDEX_SLICE):
        values = n_samples[a:a + L.INDEX_SLICE].astype(np.int64)
        bad = (values < 1) | (values > width)
        if bad.any():
            i = int(np.argmax(bad))
            raise ArchiveError(f"row {a + i}: n_samples={int(values[i])}; allowed: 1 to the "
                               f"width of 'traces' ({width})", path=path, location=name)
        longest = max(longest, int(values.max()))
        total += int(values.sum())
    if n_samples.shape[0] and longest != width:
        raise ArchiveError(f"dataset 'traces' is {width} samples wide but the longest trace "
                           f"(sites/n_samples) has {longest}; the width must be the longest "
                           "trace", path=path, location=L.TRACES)
    _check_stored(traces, total * traces.dtype.itemsize, L.TRACES, path)
