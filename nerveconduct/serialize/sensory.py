"""Sensory results as rows and records, by the one cell rule (:mod:`.cells`).

The sensory twin of :func:`.rows.render`: :func:`render_sensory` writes the columns of a
:class:`~nerveconduct.analysis.SensoryTable` as CSV lines or JSON objects -- flat rows per
site or per study, or one nested record per study (its ``sites`` inside) -- column by column
with :class:`~.cells.Cells`; :func:`sensory_records` reads the JSON back as dicts (what
``nerveconduct analyze -f json`` puts in each case's ``sensory``). Column names are the view
fields of :class:`~nerveconduct.analysis.SensoryResult` and
:class:`~nerveconduct.analysis.SensorySiteResult`; every one and its unit is documented in
``docs/output-fields.md`` ("Sensory studies").
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np

from ..analysis.sensory import SENSORY_SITE_FIELDS, SENSORY_STUDY_FIELDS, SensoryResult, SensoryTable
from ..flags import MeasureFlag
from ..model import IDENTIFIER_KEYS
from .cells import Cells

__all__ = ["SENSORY_IDENTITY_COLUMNS", "SENSORY_SITE_COLUMNS", "SENSORY_STUDY_COLUMNS",
           "SENSORY_KINDS", "render_sensory", "sensory_records", "sensory_columns",
           "write_sensory_parquet"]

#: Row kinds of :func:`render_sensory`.
SENSORY_KINDS = ("site", "study", "record")
#: Columns naming the study a flat row belongs to (first in every flat sensory table).
SENSORY_IDENTITY_COLUMNS: tuple[str, ...] = ("source", "study_id", "nerve", "nerve_label", "side",
                                             "direction", "recording_site")
_IDENTITY_SET = set(SENSORY_IDENTITY_COLUMNS)
#: Study columns after the identity ones (the view fields, in their order).
_STUDY_BODY = tuple(f for f in SENSORY_STUDY_FIELDS if f not in _IDENTITY_SET)
#: Site columns: the view fields, ``position`` (0 = distal) and the flags' names.
_SITE_BODY = ("position", *SENSORY_SITE_FIELDS, "flag_names")
SENSORY_STUDY_COLUMNS: tuple[str, ...] = SENSORY_IDENTITY_COLUMNS + ("n_sites",) + _STUDY_BODY
SENSORY_SITE_COLUMNS: tuple[str, ...] = SENSORY_IDENTITY_COLUMNS + _SITE_BODY

#: How a column is rendered (floats unless listed).
_KINDS: dict[str, str] = {
    "nerve_label": "texts", "known_nerve": "bools", "label": "texts", "n_sites": "ints",
    "distal_present": "bools", "limits_source": "texts", "limits_confidence": "texts",
    "abnormal": "tristate", "abnormal_items": "texts", "flags_study": "texts",
    "site": "texts", "canonical_site": "texts", "present": "bools", "flags_site": "ints",
    "flag_names": "texts", "n_sweeps": "ints", "position": "ints",
}


def sensory_columns(kind: str, *, keep_identifiers: bool = False) -> list[str]:
    """The flat columns of ``kind`` (``"site"`` or ``"study"``), with the patient identifiers
    after the identity columns when ``keep_identifiers``."""
    cols = list(SENSORY_SITE_COLUMNS if kind == "site" else SENSORY_STUDY_COLUMNS)
    if keep_identifiers:
        cols[len(SENSORY_IDENTITY_COLUMNS):len(SENSORY_IDENTITY_COLUMNS)] = IDENTIFIER_KEYS
    return cols


def _cells(cells: Cells, kind: str, values: Any) -> list[str]:
    if kind == "texts":
        return cells.texts(np.asarray(values, dtype=object).tolist())
    return getattr(cells, kind)(values)


def _identity(t: SensoryTable, cells: Cells, sources: Sequence[Any],
              keep_identifiers: bool) -> dict[str, list[str]]:
    st = t.study
    out = {"source": cells.texts([None if s is None else os.fspath(s) for s in sources]),
           "study_id": cells.texts([None if s is None else str(s) for s in st["study_id"].tolist()])}
    for key in SENSORY_IDENTITY_COLUMNS[2:]:
        out[key] = cells.texts(st[key].tolist())
    if keep_identifiers:
        for key in IDENTIFIER_KEYS:
            out[key] = cells.texts([None if s.metadata.get(key) is None else str(s.metadata[key])
                                    for s in t.studies])
    return out


def _study_cells(t: SensoryTable, cells: Cells) -> dict[str, list[str]]:
    st = t.study
    out = {"n_sites": cells.ints(st["n_sites"])}
    for key in _STUDY_BODY:
        kind = _KINDS.get("flags_study" if key == "flags" else key, "floats")
        out[key] = _cells(cells, kind, st[key])
    return out


def _site_cells(t: SensoryTable, cells: Cells) -> dict[str, list[str]]:
    si = t.site
    out = {"position": cells.ints(si["site_index"])}
    for key in SENSORY_SITE_FIELDS:
        out[key] = _cells(cells, _KINDS.get("flags_site" if key == "flags" else key, "floats"), si[key])
    out["flag_names"] = cells.texts([tuple(MeasureFlag(int(f)).names()) for f in si["flags"].tolist()])
    return out


def _lines(columns: Sequence[str], body: dict[str, list[str]], n: int, json_rows: bool) -> list[str]:
    if json_rows:
        keys = [json.dumps(c) + ": " for c in columns]
        return ["{" + ", ".join(k + body[c][i] for k, c in zip(keys, columns)) + "}" for i in range(n)]
    return [",".join(body[c][i] for c in columns) for i in range(n)]


def render_sensory(t: SensoryTable, kind: str, fmt: str, *, sources: Sequence[Any] | None = None,
                   keep_identifiers: bool = False) -> list[str]:
    """The rows of ``t`` as text: one line per row (without newline), study after study.

    Parameters
    ----------
    t : SensoryTable
    kind : {"site", "study", "record"}
        Flat rows per site (distal first) or per study, or one nested record per study
        (the study's columns and ``"sites"``: its site rows without the identity columns).
    fmt : {"csv", "jsonl"}
        CSV lines (cells in :func:`sensory_columns` order; records are JSON only) or JSON
        objects.
    sources : sequence, optional
        Each study's ``source`` (what outputs call its file; never a name with identifiers
        unless asked).
    keep_identifiers : bool, default False
        Add the patient identifier columns (:data:`~nerveconduct.model.IDENTIFIER_KEYS`)
        from the studies' metadata.

    Raises
    ------
    ValueError
        An unknown ``kind`` or ``fmt``, or records asked as CSV.
    """
    if kind not in SENSORY_KINDS:
        raise ValueError(f"kind must be one of {SENSORY_KINDS}, got {kind!r}")
    if fmt not in ("csv", "jsonl") or (kind == "record" and fmt != "jsonl"):
        raise ValueError(f"fmt must be 'jsonl' for records, 'csv' or 'jsonl' for rows; got {fmt!r}")
    cells = Cells("json" if fmt == "jsonl" else "csv")
    n = t.n_studies
    ident = _identity(t, cells, sources if sources is not None else [None] * n, keep_identifiers)
    ident_cols = sensory_columns("study", keep_identifiers=keep_identifiers)[
        :len(SENSORY_IDENTITY_COLUMNS) + (len(IDENTIFIER_KEYS) if keep_identifiers else 0)]
    if kind == "study":
        body = {**ident, **_study_cells(t, cells)}
        return _lines(sensory_columns("study", keep_identifiers=keep_identifiers), body, n,
                      fmt == "jsonl")
    site = _site_cells(t, cells)
    if kind == "site":
        rows = t.site["study_index"]
        body = {**{k: [v[j] for j in rows.tolist()] for k, v in ident.items()}, **site}
        return _lines(sensory_columns("site", keep_identifiers=keep_identifiers), body, len(rows),
                      fmt == "jsonl")
    site_lines = _lines(list(_SITE_BODY), site, len(t.site["site_index"]), True)
    body = {**ident, **_study_cells(t, cells)}
    study_lines = _lines([*ident_cols, "n_sites", *_STUDY_BODY], body, n, True)
    starts, counts = t.study["first_row"].tolist(), t.study["n_sites"].tolist()
    return [line[:-1] + ', "sites": [' + ", ".join(site_lines[a:a + c]) + "]}"
            for line, a, c in zip(study_lines, starts, counts)]


def sensory_records(results: Sequence[SensoryResult] | SensoryTable, *,
                    sources: Sequence[Any] | None = None,
                    keep_identifiers: bool = False) -> list[dict[str, Any]]:
    """One nested JSON-safe record per sensory study (:func:`render_sensory` ``"record"``,
    read back), in order.

    ``results``: the :class:`SensoryResult` views of one table (their ``table``) or the
    table itself.

    Examples
    --------
    >>> import numpy as np
    >>> from nerveconduct.model import SensoryStudy, Site
    >>> from nerveconduct.analysis import analyze_sensory
    >>> st = SensoryStudy("sural", "left", [Site("calf", 140.0)], np.full((1, 300), np.nan), 20000.0)
    >>> rec = sensory_records(analyze_sensory([st]))[0]
    >>> rec["label"], rec["abnormal"], rec["sites"][0]["flag_names"]
    ('left sural', None, ['NAN_SAMPLES', 'UNMEASURABLE'])
    """
    if isinstance(results, SensoryTable):
        table, index = results, list(range(results.n_studies))
    else:
        if not results:
            return []
        tables = {id(r.table) for r in results}
        if len(tables) != 1 or results[0].table is None:
            raise ValueError("sensory_records takes the results of one analyze_sensory call "
                             "(one table); give the table or analyze the studies together")
        table, index = results[0].table, [r.index for r in results]
    lines = render_sensory(table, "record", "jsonl", sources=_by_index(sources, index, table),
                           keep_identifiers=keep_identifiers)
    return [json.loads(lines[i]) for i in index]


def _by_index(sources: Sequence[Any] | None, index: list[int], table: SensoryTable) -> list[Any]:
    """``sources`` given per result, placed at the results' rows of the table."""
    out: list[Any] = [None] * table.n_studies
    if sources is not None:
        for i, s in zip(index, sources, strict=True):
            out[i] = s
    return out


#: Columns of a flat sensory row that hold a list of texts (JSON arrays, Parquet lists).
_LIST_COLUMNS = {("study", "abnormal_items"), ("study", "flags"), ("site", "flag_names")}
#: Parquet type of each cell kind of :data:`_KINDS` (a tristate is a nullable bool).
_ARROW_KINDS = {"texts": "string", "bools": "bool", "ints": "int64", "tristate": "bool",
                "floats": "float64"}


def write_sensory_parquet(t: SensoryTable, path: str | os.PathLike[str], kind: str = "study", *,
                          sources: Sequence[Any] | None = None, keep_identifiers: bool = False,
                          overwrite: bool = False) -> str:
    """Write the flat sensory rows of ``t`` (per ``kind``: ``"study"`` or ``"site"``) as a
    Parquet file, atomically (:mod:`nerveconduct.io._atomic`).

    The values are :func:`render_sensory`'s JSON cells (the one cell rule), typed per column:
    texts as strings (a list of texts as a list), flags and counts as int64, measures as
    float64 (null where the JSON cell is null), ``abnormal`` as a nullable bool.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ValueError
        An unknown ``kind``.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    import pyarrow as pa  # optional dependency group of the Parquet outputs
    import pyarrow.parquet as pq

    from ..io._atomic import atomic_path

    if kind not in ("study", "site"):
        raise ValueError(f"kind must be one of ['study', 'site'] for a flat Parquet table, got {kind!r}")
    columns = sensory_columns(kind, keep_identifiers=keep_identifiers)
    rows = [json.loads(line) for line in render_sensory(t, kind, "jsonl", sources=sources,
                                                        keep_identifiers=keep_identifiers)]
    fields = []
    for col in columns:
        cell = _KINDS.get(f"flags_{kind}" if col == "flags" else col,
                          "texts" if col in _IDENTITY_SET or col in IDENTIFIER_KEYS else "floats")
        typ = pa.type_for_alias(_ARROW_KINDS[cell])
        fields.append(pa.field(col, pa.list_(pa.string()) if (kind, col) in _LIST_COLUMNS else typ))
    table = pa.Table.from_pylist(rows, schema=pa.schema(fields))
    with atomic_path(path, overwrite=overwrite) as tmp:
        pq.write_table(table, tmp)
    return os.fspath(path)
