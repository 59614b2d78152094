"""Batch output rows written from columns: the fast path of :mod:`nerveconduct.batch.task`.

For the flat tables — ``--table segment`` (CSV or JSON Lines) and ``--table nerve`` in CSV —
the rows of a chunk are rendered column by column from a :class:`~nerveconduct.analysis.chunk.ChunkTable`
and the column-wise verdicts of :mod:`nerveconduct.criteria.columns`, instead of building a
:class:`~nerveconduct.model.NerveResult`, its verdicts and its record per nerve. The bytes are
the same as the object path's (``serialize.segment_rows`` / ``serialize.nerve_row`` encoded by
the batch): ``tests/test_batch_columns.py`` compares the two on varied archives. The cell
rules are those of :func:`nerveconduct.serialize.records.csv_cell` and of :mod:`json`: NaN and ±inf
are empty / ``null``, floats at full precision (``repr``), booleans ``true`` / ``false``,
lists joined with ``"; "`` in CSV.

The nested nerve record (``--table nerve`` in JSON Lines) and the segment verdicts' reason
sentences (``reasons=True``) are not columnar: they keep the object path.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Callable, Sequence

import numpy as np

from ..analysis.chunk import LIMIT_COLUMNS, ChunkTable
from ..criteria.tables import RuleSet
from .records import LIMIT_KEYS

__all__ = ["columnar_supported", "encode_rows"]

_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_ERROR_COLUMNS = ("error_type", "error")
#: Characters that may make a string need CSV quoting or JSON escaping: strings without any are
#: copied as they are (the JSON encoder runs with ``ensure_ascii=False``); others are rendered
#: by the csv / json modules themselves.
_SPECIAL = re.compile('[\x00-\x1f",\\\\]')
_JSON_STRING = '"{}"'
_STR_ONLY = {str}


def columnar_supported(table: str, fmt: str, reasons: bool, rule_sets: Sequence[RuleSet]) -> bool:
    """Whether rows of this table and format can be written from columns.

    The nested nerve record and reason sentences need the object path; so does a rule set
    whose features the column-wise evaluator does not cover
    (:func:`nerveconduct.criteria.columns.check_supported`).
    """
    if (table, fmt) == ("nerve", "jsonl") or (table == "segment" and reasons):
        return False
    if not rule_sets:
        return True
    from ..criteria.columns import check_supported

    try:
        for rs in rule_sets:
            check_supported(rs)
    except NotImplementedError:
        return False
    return True


# ------------------------------------------------------------------------------ cells
class _Cells:
    """Renders a column's values as CSV cells or JSON values (one list of strings)."""

    def __init__(self, fmt: str) -> None:
        self.json = fmt == "jsonl"
        self.none = "null" if self.json else ""
        self._text: dict[Any, str] = {}
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def floats(self, values: np.ndarray) -> list[str]:
        arr = np.asarray(values, dtype=float)
        out = list(map(repr, arr.tolist()))
        for k in np.flatnonzero(~np.isfinite(arr)).tolist():
            out[k] = self.none
        return out

    def ints(self, values: np.ndarray) -> list[str]:
        return [str(v) for v in np.asarray(values).tolist()]

    def bools(self, values: np.ndarray) -> list[str]:
        return np.where(np.asarray(values, dtype=bool), "true", "false").tolist()

    def tristate(self, values: np.ndarray) -> list[str]:
        """-1 unknown, 0 false, 1 true."""
        return np.array([self.none, "false", "true"], dtype=object)[np.asarray(values) + 1].tolist()

    def texts(self, values: Sequence[Any]) -> list[str]:
        """Strings (``None`` allowed) or tuples of strings (lists)."""
        values = list(values)
        if set(map(type, values)) == _STR_ONLY:
            joined = "|".join(values)
            if not _SPECIAL.search(joined):  # nothing to quote or escape in any of them
                return list(map(_JSON_STRING.format, values)) if self.json else values
        cache = self._text
        out = list(map(cache.get, values))
        if None in out:  # values not seen before: rendered once each
            for k, (cell, value) in enumerate(zip(out, values)):
                if cell is None:
                    cell = cache.get(value)
                    out[k] = cell if cell is not None else cache.setdefault(value, self._render(value))
        return out

    def _render(self, value: Any) -> str:
        if value is None:
            return self.none
        if isinstance(value, tuple):
            return _JSON.encode(list(value)) if self.json else self._csv("; ".join(value))
        return _JSON.encode(str(value)) if self.json else self._csv(str(value))

    def _csv(self, text: str) -> str:
        """``text`` exactly as :class:`csv.writer` writes it as a cell (quoted when needed)."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow((text, ""))  # two cells: an empty text is not written as ""
        return self._buffer.getvalue()[:-2]


def _identity(t: ChunkTable, cells: _Cells, source: str) -> dict[str, list[str]]:
    nv, n = t.nerve, t.n_nerves
    src = cells.texts([source])[0]
    return {"nerve_index": cells.ints(nv["nerve_index"]), "source": [src] * n,
            "study_id": cells.texts([None if s is None else str(s) for s in nv["study_id"].tolist()]),
            "nerve": cells.texts(nv["nerve"].tolist()), "nerve_label": cells.texts(nv["nerve_label"].tolist()),
            "side": cells.texts(nv["side"].tolist()), "muscle": cells.texts(nv["muscle"].tolist())}


def _verdict_columns(t: ChunkTable, rule_sets: Sequence[RuleSet], kind: str,
                     cells: _Cells) -> dict[str, list[str]]:
    """``verdict_R_*`` cells per rule set, per segment (``kind="segment"``) or per nerve."""
    from ..criteria import columns as vc

    out: dict[str, list[str]] = {}
    if not rule_sets:
        return out
    seg_frame = segment_frame(t)
    nerve_frame = vc.nerve_frame_from_columns(t) if kind == "nerve" else None
    for rs in rule_sets:
        seg = vc.evaluate_segment_columns(rs, seg_frame)
        if kind == "segment":
            out[f"verdict_{rs.id}_level"] = cells.texts(seg.level.tolist())
            out[f"verdict_{rs.id}_label"] = cells.texts(seg.label.tolist())
            out[f"verdict_{rs.id}_items"] = cells.texts(seg.items.tolist())
            out[f"verdict_{rs.id}_excluded_by"] = cells.texts(seg.excluded_by.tolist())
        else:
            nerve = vc.evaluate_nerve_columns(rs, nerve_frame, seg_frame, seg)
            out[f"verdict_{rs.id}_level"] = cells.texts(nerve.level.tolist())
            out[f"verdict_{rs.id}_label"] = cells.texts(nerve.label.tolist())
            out[f"verdict_{rs.id}_items_met"] = cells.texts(nerve.items_met.tolist())
    return out


def segment_frame(t: ChunkTable) -> dict[str, np.ndarray]:
    """The per-segment inputs of :func:`nerveconduct.criteria.columns.evaluate_segment_columns`."""
    seg, nv, site = t.segment, t.nerve, t.site
    nrow = seg["nerve_row"]
    first = nv["first_row"][nrow]
    frame = {key: seg[key] for key in (
        "index", "distal_canonical", "proximal_canonical", "amplitude_drop_pct", "area_drop_pct",
        "duration_increase_pct", "cmap_duration_increase_pct", "distal_amplitude_mv",
        "distal_peak_to_peak_mv", "proximal_peak_to_peak_mv", "distal_absent", "proximal_absent",
        "entrapment_site", "from_erbs_point", "amplitude_drop_from_distal_pct",
        "area_drop_from_distal_pct", "duration_increase_from_distal_pct",
        "cmap_duration_increase_from_distal_pct")}
    frame.update(nerve_id=nrow, nerve=nv["nerve"][nrow], known_nerve=nv["known_nerve"][nrow],
                 amplitude_lln_mv=nv["distal_amplitude_limit"][nrow],
                 first_peak_to_peak_mv=site["peak_to_peak_amplitude_mv"][first],
                 first_amplitude_mv=site["negative_peak_amplitude_mv"][first],
                 first_absent=~site["present"][first], first_canonical=site["canonical"][first])
    return frame


# ------------------------------------------------------------------------------ tables
def _segment_table(t: ChunkTable, columns: Sequence[str], rule_sets: Sequence[RuleSet],
                   cells: _Cells, source: str) -> dict[str, list[str]]:
    seg = t.segment
    n_seg = len(seg["row"])
    single = np.flatnonzero(t.nerve["n_sites"] == 1)
    order = np.argsort(np.concatenate([seg["nerve_row"], single]), kind="stable")
    pick = np.concatenate([np.arange(n_seg), np.full(len(single), n_seg)])[order]  # n_seg: blank
    nerve_of_row = np.concatenate([seg["nerve_row"], single])[order]
    renderers: dict[str, Callable[[np.ndarray], list[str]]] = {}
    values: dict[str, list[str]] = {}
    for key in ("distance_mm", "cumulative_distance_mm", "conduction_velocity_m_s",
                "conduction_velocity_from_distal_m_s", "amplitude_drop_pct", "area_drop_pct",
                "duration_increase_pct", "cmap_duration_increase_pct", "amplitude_drop_from_distal_pct",
                "area_drop_from_distal_pct", "duration_increase_from_distal_pct",
                "cmap_duration_increase_from_distal_pct", "distal_amplitude_mv", "proximal_amplitude_mv"):
        renderers[key] = cells.floats
    for key in ("proximal_absent", "distal_absent", "across_entrapment_site", "from_erbs_point"):
        renderers[key] = cells.bools
    renderers["index"] = cells.ints
    for key in ("distal_site", "proximal_site", "distal_canonical", "proximal_canonical",
                "entrapment_site", "flags"):
        renderers[key] = lambda v: cells.texts(v.tolist())  # noqa: E731
    for key, render in renderers.items():
        values[key] = render(seg[key])
    values["segment"] = cells.texts([f"{d}\u2013{p}" for d, p in
                                     zip(seg["distal_site"].tolist(), seg["proximal_site"].tolist())])
    values.update(_verdict_columns(t, rule_sets, "segment", cells))
    out: dict[str, list[str]] = {}
    ident = _identity(t, cells, source)
    by_nerve = _gather(nerve_of_row, t.n_nerves)
    by_segment = _gather(pick, n_seg)
    for col in columns:
        if col in ident:
            out[col] = by_nerve(ident[col])
        elif col in values:
            out[col] = by_segment(values[col] + [cells.none])
    return out


def _gather(index: np.ndarray, n: int) -> Callable[[list[str]], list[str]]:
    """A function picking ``cells[index]`` from lists (the identity when ``index`` is 0..n-1)."""
    if len(index) == n and np.array_equal(index, np.arange(n)):
        return lambda cells: cells[:n]  # noqa: E731
    picks = index.tolist()
    return lambda cells: [cells[i] for i in picks]  # noqa: E731


def _nerve_table(t: ChunkTable, columns: Sequence[str], rule_sets: Sequence[RuleSet],
                 cells: _Cells, source: str) -> dict[str, list[str]]:
    nv = t.nerve
    out = _identity(t, cells, source)
    out["known_nerve"] = cells.bools(nv["known_nerve"])
    out["n_sites"] = cells.ints(nv["n_sites"])
    out["n_segments"] = cells.ints(nv["n_sites"] - 1)
    for key in ("distal_motor_latency_ms", "distal_amplitude_mv", "distal_area_mv_ms",
                "distal_cmap_duration_ms", "terminal_latency_index", "residual_latency_ms",
                "f_wave_latency_ms", "temperature_c", "low_frequency_filter_hz",
                "slowest_conduction_velocity_m_s", "max_amplitude_drop_pct", "max_area_drop_pct",
                "max_duration_increase_pct"):
        out[key] = cells.floats(nv[key])
    blank = [cells.none] * t.n_nerves
    for key in LIMIT_KEYS:
        if key not in LIMIT_COLUMNS:  # no comparison of that kind is made: every cell empty
            for sfx in ("limit", "limit_kind", "pct_of_limit", "abnormal"):
                out[f"{key}_{sfx}"] = blank
            continue
        out[f"{key}_limit"] = cells.floats(nv[f"{key}_limit"])
        out[f"{key}_limit_kind"] = cells.texts([LIMIT_COLUMNS[key][1]])[0:1] * t.n_nerves
        out[f"{key}_pct_of_limit"] = cells.floats(nv[f"{key}_pct_of_limit"])
        out[f"{key}_abnormal"] = cells.tristate(nv[f"{key}_abnormal"])
    out["flags"] = cells.texts(nv["flags"].tolist())
    out.update(_verdict_columns(t, rule_sets, "nerve", cells))
    return out


def encode_rows(t: ChunkTable, *, table: str, fmt: str, columns: Sequence[str],
                rule_sets: Sequence[RuleSet], source: str, text: Any) -> None:
    """Write the rows of every nerve of ``t``, in nerve order.

    Parameters
    ----------
    t : ChunkTable
        The analyzed chunk.
    table : {"nerve", "segment"}
    fmt : {"csv", "jsonl"}
    columns : sequence of str
        The output columns (``nerve_index`` first, the error columns last).
    rule_sets : sequence of RuleSet
    source : str
        The ``source`` value of every row.
    text : io.StringIO
        Where the lines go.
    """
    cells = _Cells(fmt)
    build = _segment_table if table == "segment" else _nerve_table
    body = build(t, columns, rule_sets, cells, source)
    n_rows = len(body["nerve_index"])
    missing = [col for col in columns if col not in body and col not in _ERROR_COLUMNS]
    if missing:  # a column the object path has and this one does not: a bug, not a bad record
        raise RuntimeError(f"columnar rows lack the columns {missing}")
    if fmt == "csv":  # cells are already quoted: a row is its cells joined
        empty = [""] * n_rows
        text.write("".join(",".join(row) + "\n" for row in zip(*[body.get(col, empty) for col in columns])))
        return
    keys = [col for col in columns if col in body]  # result rows carry no error keys
    parts = [list(map(f'"{key}": '.__add__, body[key])) for key in keys]
    text.write("".join("{" + ", ".join(row) + "}\n" for row in zip(*parts)))

