"""The archive's optional groups (format 1.3): F-wave trains of motor nerves, sensory studies.

``/f_waves`` holds at most one F-wave train per motor nerve (ragged: one row per stimulus of
one 2-D dataset, ``trains/row_start`` and ``trains/n_stimuli`` say whose rows), ``/sensory``
the sensory studies (one row per site and sweep). Either group is written only when there is
something to put in it, so an archive of motor studies alone is laid out as a 1.2 one. The
layout (column names, types) lives in :mod:`._archive_layout`, the checks on open in
:mod:`._archive_checks`, the documentation in ``docs/archive-format.md``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

import h5py
import numpy as np

from ..model import Case, InvalidStudyError, NerveStudy, SensoryStudy, Site, study_problems
from . import _archive_layout as L
from .errors import ArchiveError

__all__ = ["ExtraWriter", "read_trains", "attach_trains", "iter_sensory", "n_sensory",
           "sensory_columns"]

_TRAINS = f"{L.F_WAVES}/trains"
#: Sensory studies read at a time when iterating.
_SENSORY_BLOCK = 1024


def _nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


# ---------------------------------------------------------------------------- writing
class ExtraWriter:
    """Appends F-wave trains and sensory studies to an open archive, a block at a time.

    Parameters
    ----------
    f : h5py.File
        The archive open for writing.
    dtype : numpy.dtype
        The archive's trace dtype (every ``traces`` dataset uses it).
    filters : dict
        HDF5 filter keywords of the archive's datasets.
    keep_identifiers : bool
        Passed to :func:`~._archive_layout.metadata_to_json`.
    path : path-like
        The archive's path, named in errors.
    """

    def __init__(self, f: h5py.File, dtype: np.dtype, filters: dict[str, Any],
                 keep_identifiers: bool, path: Any) -> None:
        self.f, self.dtype, self.filters, self.path = f, dtype, filters, path
        self.keep_identifiers = keep_identifiers

    def _tables(self, group: str, block_rows: int) -> h5py.Group:
        grp = self.f.get(group)
        if grp is not None:
            return grp
        grp = self.f.create_group(group)
        for table, columns in L.EXTRA_TABLES[group].items():
            sub = grp.create_group(table)
            for name, kind in columns.items():
                dt = L.STRING_DTYPE if kind == "str" else np.dtype(kind)
                sub.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dt,
                                   chunks=(int(min(16384, max(256, block_rows))),), **self.filters)
        grp.attrs["rows"] = ("one row of 'traces' per stimulus of a train" if group == L.F_WAVES
                             else "one row of 'traces' per site and sweep")
        return grp

    def _traces(self, group: str, block: np.ndarray) -> int:
        """Append ``block`` (rows, width) to ``group/traces``; return its first row."""
        grp = self.f[group]
        width = block.shape[1]
        ds = grp.get("traces")
        if ds is None:
            rows = max(1, (512 * 1024) // max(1, width * self.dtype.itemsize))
            ds = grp.create_dataset("traces", shape=(0, width), maxshape=(None, None),
                                    dtype=self.dtype, chunks=(int(rows), max(1, width)),
                                    fillvalue=np.nan, **self.filters)
            ds.attrs["units"] = "mV"
            ds.attrs["padding"] = "NaN beyond each row's n_samples"
        if ds.shape[1] < width:
            ds.resize((ds.shape[0], width))
        r0 = ds.shape[0]
        padded = np.full((block.shape[0], ds.shape[1]), np.nan, dtype=self.dtype)
        padded[:, :width] = block
        ds.resize((r0 + block.shape[0], ds.shape[1]))
        ds[r0:] = padded
        return r0

    @staticmethod
    def _append(grp: h5py.Group, columns: dict[str, Any], values: dict[str, list[Any]]) -> None:
        for name, kind in columns.items():
            data = np.array(values[name], dtype=object if kind == "str" else kind)
            ds = grp[name]
            start = ds.shape[0]
            ds.resize((start + len(data),))
            ds[start:] = data

    def write_trains(self, trains: list[tuple[int, NerveStudy]]) -> None:
        """Append the F-wave trains of ``(global nerve index, study)`` pairs (nerve order)."""
        if not trains:
            return
        grp = self._tables(L.F_WAVES, len(trains))
        arrays = [np.asarray(st.f_wave_traces) for _, st in trains]
        width = max(a.shape[1] for a in arrays)
        block = np.full((sum(a.shape[0] for a in arrays), width), np.nan, dtype=self.dtype)
        cols: dict[str, list[Any]] = {name: [] for name in L.F_WAVE_TRAIN_COLUMNS}
        row = 0
        for (index, st), arr in zip(trains, arrays):
            block[row:row + arr.shape[0], :arr.shape[1]] = arr
            cols["nerve_index"].append(index)
            cols["sampling_rate_hz"].append(float(st.f_wave_sampling_rate_hz))
            cols["stimulus_sample"].append(int(st.f_wave_stimulus_sample))
            cols["row_start"].append(row)
            cols["n_stimuli"].append(arr.shape[0])
            cols["n_samples"].append(arr.shape[1])
            row += arr.shape[0]
        r0 = self._traces(L.F_WAVES, block)
        cols["row_start"] = [r0 + r for r in cols["row_start"]]
        self._append(grp["trains"], L.F_WAVE_TRAIN_COLUMNS, cols)

    def write_sensory(self, studies: list[tuple[str, SensoryStudy]]) -> None:
        """Append sensory studies: ``(where in the input, study)`` pairs (``where`` names the
        study in errors, e.g. ``"studies[3]"``)."""
        if not studies:
            return
        grp = self._tables(L.SENSORY, len(studies))
        n_studies = grp["studies/nerve"].shape[0]
        site_row = grp["sites/name"].shape[0]
        arrays = []
        for position, st in studies:
            problems = st.problems()
            if problems:
                raise InvalidStudyError([f"{position}: {p}" for p in problems],
                                        study_id=st.study_id if isinstance(st.study_id, str) else None)
            arr = np.asarray(st.traces)
            arrays.append(arr.reshape(-1, arr.shape[-1]))
        width = max(a.shape[1] for a in arrays)
        block = np.full((sum(a.shape[0] for a in arrays), width), np.nan, dtype=self.dtype)
        cols: dict[str, list[Any]] = {name: [] for name in L.SENSORY_STUDY_COLUMNS}
        sites: dict[str, list[Any]] = {name: [] for name in L.SENSORY_SITE_COLUMNS}
        row = 0
        for k, ((position, st), flat) in enumerate(zip(studies, arrays)):
            block[row:row + flat.shape[0], :flat.shape[1]] = flat
            try:
                meta = L.metadata_to_json(st.metadata, keep_identifiers=self.keep_identifiers)
            except ArchiveError as exc:
                raise ArchiveError(exc.detail, path=self.path, location=position) from exc
            for name, flag in L.SENSORY_NULLABLE_STRINGS.items():
                value = getattr(st, name)
                cols[name].append("" if value is None else str(value))
                cols[flag].append(0 if value is None else 1)
            cols["nerve"].append(str(st.nerve))
            cols["direction"].append(str(st.direction))
            cols["polarity"].append(str(st.polarity))
            cols["sampling_rate_hz"].append(float(st.sampling_rate_hz))
            cols["stimulus_sample"].append(int(st.stimulus_sample))
            for name in ("temperature_c", "low_frequency_filter_hz", "age_years", "height_cm"):
                cols[name].append(_nan(getattr(st, name, None)))
            cols["metadata_json"].append(meta)
            cols["site_start"].append(site_row)
            cols["n_sites"].append(len(st.sites))
            cols["row_start"].append(row)
            cols["n_sweeps"].append(int(np.ndim(st.traces) == 3 and np.shape(st.traces)[1]))
            cols["n_samples"].append(flat.shape[1])
            for pos, site in enumerate(st.sites):
                sites["study_index"].append(n_studies + k)
                sites["site_position"].append(pos)
                sites["name"].append(str(site.name))
                sites["distance_mm"].append(_nan(site.distance_mm))
                sites["stimulus_intensity_ma"].append(_nan(site.stimulus_intensity_ma))
            site_row += len(st.sites)
            row += flat.shape[0]
        r0 = self._traces(L.SENSORY, block)
        cols["row_start"] = [r0 + r for r in cols["row_start"]]
        self._append(grp["studies"], L.SENSORY_STUDY_COLUMNS, cols)
        self._append(grp["sites"], L.SENSORY_SITE_COLUMNS, sites)


# ---------------------------------------------------------------------------- reading
def _first_at_least(column: h5py.Dataset, value: int) -> int:
    """First position of a sorted column holding ``value`` or more (binary search in the file:
    about log2(n) one-element reads, nothing held)."""
    lo, hi = 0, column.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if int(column[mid]) < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def read_trains(f: h5py.File, a: int, b: int, path: Any = None) -> dict[str, np.ndarray] | None:
    """The F-wave trains of motor nerves ``[a, b)``, or ``None`` when the archive has none.

    Returns
    -------
    dict or None
        ``nerve_index``, ``sampling_rate_hz``, ``stimulus_sample``, ``n_stimuli``,
        ``n_samples`` (one entry per train, nerve order), ``row_start`` (first row of each train
        in ``traces``) and ``traces`` (rows of the trains, mV, NaN padded to the group's width).
    """
    grp = f.get(L.F_WAVES)
    if grp is None:
        return None
    trains = grp["trains"]
    t0 = _first_at_least(trains["nerve_index"], a)
    t1 = _first_at_least(trains["nerve_index"], b)
    out = {name: trains[name][t0:t1] for name in L.F_WAVE_TRAIN_COLUMNS}
    if t1 == t0:
        out["traces"] = np.empty((0, grp["traces"].shape[1]), dtype=grp["traces"].dtype)
        return out
    r0 = int(out["row_start"][0])
    r1 = int(out["row_start"][-1]) + int(out["n_stimuli"][-1])
    out["traces"] = _finite(grp["traces"][r0:r1], f"{L.F_WAVES}/traces, rows {r0}:{r1}", path)
    out["row_start"] = out["row_start"] - r0
    return out


def _finite(traces: np.ndarray, location: str, path: Any) -> np.ndarray:
    """``traces``, refused when they hold an infinite value (the archive's "unknown" and
    padding are NaN, never inf)."""
    if traces.size and np.isinf(np.fmax.reduce(np.abs(traces), axis=None)):
        raise ArchiveError("traces must be finite (NaN only as padding), got inf", path=path,
                           location=location)
    return traces


def attach_trains(studies: list[NerveStudy], nerve_index: np.ndarray,
                  trains: dict[str, np.ndarray] | None) -> None:
    """Give each study its F-wave train (traces copied, unpadded), validated as the model does.

    Raises
    ------
    ArchiveError
        A train's stored values make no valid train (location ``nerve <i>``).
    """
    if not trains or len(trains["nerve_index"]) == 0:
        return
    first = int(nerve_index[0])
    for t in range(len(trains["nerve_index"])):
        index = int(trains["nerve_index"][t])
        study = studies[index - first]
        r0, n = int(trains["row_start"][t]), int(trains["n_stimuli"][t])
        train = trains["traces"][r0:r0 + n, :int(trains["n_samples"][t])].copy()
        rate, stim = float(trains["sampling_rate_hz"][t]), int(trains["stimulus_sample"][t])
        problems = study_problems(  # the model's one study rule, train included
            nerve=study.nerve, sites=study.sites, traces=study.traces,
            sampling_rate_hz=study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
            polarity=study.polarity, f_wave_traces=train, f_wave_sampling_rate_hz=rate,
            f_wave_stimulus_sample=stim)
        if problems:
            raise ArchiveError("stored F-wave train makes no valid train: " + "; ".join(problems),
                               location=f"nerve {index}")
        study.f_wave_traces, study.f_wave_sampling_rate_hz = train, rate
        study.f_wave_stimulus_sample = stim


def n_sensory(f: h5py.File) -> int:
    """Number of sensory studies stored (0 without a ``sensory`` group)."""
    grp = f.get(L.SENSORY)
    return 0 if grp is None else int(grp["studies/nerve"].shape[0])


def sensory_columns(f: h5py.File, a: int, b: int, path: Any = None) -> tuple[dict[str, np.ndarray],
                                                           dict[str, np.ndarray], np.ndarray]:
    """Columns of sensory studies ``[a, b)``, of their sites, and their trace rows."""
    grp = f[L.SENSORY]
    cols = {name: (grp["studies"][name].asstr()[a:b] if kind == "str" else grp["studies"][name][a:b])
            for name, kind in L.SENSORY_STUDY_COLUMNS.items()}
    s0 = int(cols["site_start"][0])
    s1 = int(cols["site_start"][-1]) + int(cols["n_sites"][-1])
    sites = {name: (grp["sites"][name].asstr()[s0:s1] if kind == "str" else grp["sites"][name][s0:s1])
             for name, kind in L.SENSORY_SITE_COLUMNS.items()}
    rows_per = cols["n_sites"].astype(np.int64) * np.maximum(cols["n_sweeps"].astype(np.int64), 1)
    r0 = int(cols["row_start"][0])
    r1 = int(cols["row_start"][-1] + rows_per[-1])
    cols["site_start"] = cols["site_start"] - s0
    cols["row_start"] = cols["row_start"] - r0
    return cols, sites, _finite(grp["traces"][r0:r1], f"{L.SENSORY}/traces, rows {r0}:{r1}",
                                path)


def _sensory_study(cols: dict[str, np.ndarray], sites: dict[str, np.ndarray],
                   traces: np.ndarray, j: int, index: int, path: Any) -> SensoryStudy:
    s0, n_sites = int(cols["site_start"][j]), int(cols["n_sites"][j])
    n_sweeps, n = int(cols["n_sweeps"][j]), int(cols["n_samples"][j])
    r0 = int(cols["row_start"][j])
    if not (np.array_equal(sites["study_index"][s0:s0 + n_sites], np.full(n_sites, index))
            and np.array_equal(sites["site_position"][s0:s0 + n_sites], np.arange(n_sites))):
        raise ArchiveError("sensory/sites/study_index or site_position disagrees with the "
                           "study table", path=path, location=f"sensory study {index}")
    if n_sweeps < 0 or not 1 <= n <= traces.shape[1]:
        raise ArchiveError(f"n_sweeps={n_sweeps} (allowed: 0 or more), n_samples={n} (allowed: "
                           f"1 to {traces.shape[1]})", path=path, location=f"sensory study {index}")
    flat = traces[r0:r0 + n_sites * max(n_sweeps, 1), :n].copy()
    data = flat.reshape(n_sites, n_sweeps, n) if n_sweeps else flat
    site_list = [Site(str(sites["name"][k]), L.none_if_nan(sites["distance_mm"][k]),
                      L.none_if_nan(sites["stimulus_intensity_ma"][k]))
                 for k in range(s0, s0 + n_sites)]

    def text(name: str) -> str | None:
        flag = L.SENSORY_NULLABLE_STRINGS[name]
        return str(cols[name][j]) if cols[flag][j] else None

    try:
        metadata = json.loads(cols["metadata_json"][j])
        return SensoryStudy(
            str(cols["nerve"][j]), text("side"), site_list, data,
            float(cols["sampling_rate_hz"][j]), stimulus_sample=int(cols["stimulus_sample"][j]),
            polarity=str(cols["polarity"][j]), direction=str(cols["direction"][j]),
            recording_site=text("recording_site"),
            temperature_c=L.none_if_nan(cols["temperature_c"][j]),
            low_frequency_filter_hz=L.none_if_nan(cols["low_frequency_filter_hz"][j]),
            study_id=text("study_id"), metadata=metadata,
            age_years=L.none_if_nan(cols["age_years"][j]),
            height_cm=L.none_if_nan(cols["height_cm"][j]))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ArchiveError(f"metadata_json is not valid JSON: {exc}",
                           path=path, location=f"sensory study {index}") from exc
    except InvalidStudyError as exc:
        raise ArchiveError(f"stored values make no valid sensory study: {exc}",
                           path=path, location=f"sensory study {index}") from exc


def iter_sensory(f: h5py.File, start: int = 0, stop: int | None = None, *,
                 path: Any = None) -> Iterator[SensoryStudy]:
    """Yield sensory studies ``[start, stop)`` in order, :data:`_SENSORY_BLOCK` at a time."""
    stop = n_sensory(f) if stop is None else stop
    for a in range(start, stop, _SENSORY_BLOCK):
        b = min(stop, a + _SENSORY_BLOCK)
        cols, sites, traces = sensory_columns(f, a, b, path)
        for j in range(b - a):
            yield _sensory_study(cols, sites, traces, j, a + j, path)


#: Root attribute (format 1.3, optional): JSON object case key -> the case's clinical inputs
#: (``{"cidp": {...}}``, :attr:`nerveconduct.model.Case.cidp`).
CASE_INPUTS_ATTR = "case_inputs_json"


def write_case_inputs(f: h5py.File, cases: dict[str, dict[str, Any]], *, path: Any = None) -> None:
    """Merge ``cases`` (case key -> ``{"cidp": {...}}``) into the archive's
    :data:`CASE_INPUTS_ATTR` (a case written again replaces its entry)."""
    if not cases:
        return
    merged = read_case_inputs(f, path)
    for key, inputs in cases.items():
        merged[key] = json.loads(L.metadata_to_json(inputs, keep_identifiers=True))
    f.attrs[CASE_INPUTS_ATTR] = json.dumps(merged, separators=(",", ":"), sort_keys=True)


def read_case_inputs(f: h5py.File, path: Any = None) -> dict[str, dict[str, Any]]:
    """The archive's case inputs (case key -> ``{"cidp": {...}}``); ``{}`` when it has none.

    Raises
    ------
    ArchiveError
        The attribute is not a JSON object of objects.
    """
    raw = f.attrs.get(CASE_INPUTS_ATTR)
    if raw is None:
        return {}
    try:
        out = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError as exc:
        raise ArchiveError(f"root attribute {CASE_INPUTS_ATTR} is not valid JSON: {exc}", path=path) from None
    if not isinstance(out, dict) or not all(isinstance(v, dict) for v in out.values()):
        raise ArchiveError(f"root attribute {CASE_INPUTS_ATTR} must be a JSON object of objects "
                           "(case key -> {\"cidp\": {...}})", path=path)
    return out


def noting_cases(studies: Iterable[Any], cases: dict[str, dict[str, Any]]) -> Iterable[Any]:
    """``studies`` passed on as they come; each :class:`Case` with clinical inputs to keep
    (``cidp``) noted in ``cases`` under its case keys: its ``case_id`` and its studies'
    ``study_id`` (the key the case gets when the archive is read); a case without either
    keeps no inputs."""
    if isinstance(studies, (NerveStudy, SensoryStudy, Case)):
        return studies  # a single study, not an iterable: refused by the writer with its message

    def noted() -> Iterable[Any]:
        for item in studies:
            if isinstance(item, Case) and item.cidp:
                keys = [item.case_id, *(s.study_id for s in (*item.studies, *item.sensory))]
                for key in dict.fromkeys(k for k in keys if k):
                    cases[str(key)] = {"cidp": dict(item.cidp)}
            yield item

    return noted()
