"""Parquet results: typed columns from the columnar core, the CSV table's columns and values,
the same bytes whatever jobs / chunk_rows / resume history, and the short resume message."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.batch.engine import BatchResumeError, run
from nerveconduct.batch.output import partial_paths
from nerveconduct.criteria import evaluate_nerve
from nerveconduct.io.archive import open_archive
from nerveconduct.serialize import csv_cell, failure_record, segment_columns, segment_rows, write_csv
from nerveconduct.serialize import parquet as parquet_module
from nerveconduct.serialize.arrow import column_type
from nerveconduct.serialize.parquet import write_parquet

CRITERIA = ("efns-pns-2010-mmn", "ean-pns-2021-cidp")
CASES = [("segment", False), ("nerve", False), ("segment", True)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("parquet")


@pytest.fixture(scope="module")
def mixed(archive, folder) -> Path:
    """The batch archive with one nerve whose stored distance is negative (a failure row)."""
    import h5py

    path = folder / "mixed.h5"
    shutil.copy(archive, path)
    with h5py.File(path, "r+") as f:
        row_start, n_sites = f["nerves/row_start"][()], f["nerves/n_sites"][()]
        bad = int(np.flatnonzero(n_sites >= 2)[7])
        f["sites/distance_mm"][row_start[bad] + 1] = -40.0
    return path


@pytest.fixture(scope="module")
def outputs(mixed, folder) -> dict[tuple[str, bool], tuple[Path, Path]]:
    """Per (table, reasons): the Parquet output and the CSV output of the same run options."""
    outs = {}
    for table, reasons in CASES:
        pair = []
        for fmt in ("parquet", "csv"):
            out = folder / f"{table}{'-reasons' if reasons else ''}.{fmt}"
            run(mixed, out, table=table, criteria=CRITERIA, reasons=reasons)
            pair.append(out)
        outs[table, reasons] = tuple(pair)
    return outs


def _csv_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.mark.parametrize("table, reasons", CASES)
def test_the_csv_tables_columns_and_values(outputs, table, reasons):
    parquet, csv_path = outputs[table, reasons]
    header, rows = _csv_cells(csv_path)
    t = pq.read_table(parquet)
    assert t.column_names == header
    assert t.num_rows == len(rows)
    columns = {name: t.column(name).to_pylist() for name in header}
    for i, row in enumerate(rows):  # each value, by the one cell rule, is the CSV cell
        assert [csv_cell(columns[name][i]) for name in header] == row, i
    assert sum(1 for r in rows if r[header.index("error_type")]) == 1  # the failure row
    assert t.column("nerve_index").to_pylist() == sorted(t.column("nerve_index").to_pylist())


@pytest.mark.parametrize("table, reasons", CASES)
def test_types_and_nulls_through_pandas(outputs, table, reasons):
    parquet, _ = outputs[table, reasons]
    t = pq.read_table(parquet)
    kind = pq.ParquetFile(parquet).schema_arrow.metadata[b"nerveconduct.table"].decode()
    assert kind == table
    for fld, col in zip(t.schema, t.columns):
        assert fld.type == column_type(table, fld.name) or (  # lists come back as list<element>
            pa.types.is_list(fld.type) and pa.types.is_list(column_type(table, fld.name)))
        if pa.types.is_floating(fld.type):  # missing values are nulls, never NaN or inf
            assert pc.sum(pc.is_nan(col)).as_py() in (0, None), fld.name
            assert pc.sum(pc.is_inf(col)).as_py() in (0, None), fld.name
    df = pd.read_parquet(parquet)
    assert list(df.columns) == t.column_names
    assert df["nerve_index"].dtype == np.int64
    assert df["distal_amplitude_mv" if table == "nerve" else "conduction_velocity_m_s"].dtype == np.float64
    for name in ("nerve", "side", "muscle", "source", "error_type", f"verdict_{CRITERIA[0]}_level"):
        assert isinstance(df[name].dtype, pd.CategoricalDtype), name
    assert df["error_type"].notna().sum() == 1 and df["error"].notna().sum() == 1
    flags = df["flags"].dropna()
    assert all(isinstance(v, np.ndarray) for v in flags)  # list<string>
    if table == "nerve":
        nullable = pd.read_parquet(parquet, dtype_backend="numpy_nullable")  # the failure row: NA
        assert nullable["known_nerve"].dtype == "boolean" and nullable["n_sites"].dtype == "Int64"
        assert nullable["n_sites"].isna().sum() == 1
        assert df["distal_amplitude_abnormal"].isna().any()  # unknown: null, not false
    else:
        blank = df[df["segment"].isna() & df["error"].isna()]  # single-site nerves: identity only
        assert len(blank) > 0 and blank["conduction_velocity_m_s"].isna().all()
        assert df["conduction_velocity_m_s"].notna().sum() > 0
        items = df[f"verdict_{CRITERIA[0]}_items"].dropna()
        assert all(isinstance(v, np.ndarray) for v in items)
        if reasons:
            assert df[f"verdict_{CRITERIA[0]}_reasons"].dropna().map(len).sum() > 0


def test_identical_bytes_for_any_jobs_and_chunks(mixed, folder, outputs, monkeypatch):
    monkeypatch.setattr(parquet_module, "ROW_GROUP_NERVES", 16)  # several row groups
    reference = None
    for i, kwargs in enumerate([dict(chunk_rows=16384), dict(chunk_rows=7), dict(jobs=2, chunk_rows=41)]):
        out = folder / f"same-{i}.parquet"
        run(mixed, out, table="segment", criteria=CRITERIA, **kwargs)
        data = out.read_bytes()
        assert reference is None or data == reference, kwargs
        reference = data
    meta = pq.ParquetFile(out).metadata
    with open_archive(mixed) as arc:
        assert meta.num_row_groups == -(-arc.n_nerves // 16)
    first = pq.ParquetFile(out).read_row_group(0)
    assert set(first.column("nerve_index").to_pylist()) == set(range(16))
    assert pq.read_table(out).to_pydict() == pq.read_table(outputs["segment", False][0]).to_pydict()


def test_resume_after_an_interruption_gives_the_same_bytes(mixed, folder, outputs, monkeypatch,
                                                            stop_batch_after):
    clean = outputs["segment", False][0].read_bytes()
    out = folder / "cut.parquet"
    stop_batch_after(3)
    with pytest.raises(KeyboardInterrupt):
        run(mixed, out, table="segment", criteria=CRITERIA, chunk_rows=30)
    monkeypatch.undo()
    data_path, log_path = partial_paths(out)
    assert not out.exists() and data_path.stat().st_size > 0
    assert not list(folder.glob(".cut.parquet.*"))  # the Parquet being written: removed
    with open(data_path, "ab") as fh:  # a killed writer got part of the next piece out
        fh.write(data_path.read_bytes()[:500] + b"\x00garbage")
    with open(log_path, "ab") as fh:  # ... and half a checkpoint line
        fh.write(b'{"next_nerve": 9')
    summary = run(mixed, out, table="segment", criteria=CRITERIA, chunk_rows=53, resume=True)
    assert summary.n_resumed > 0 and summary.n_failed == 1
    assert out.read_bytes() == clean
    assert not data_path.exists() and not log_path.exists()


def test_resume_with_other_options_says_what_differs_briefly(mixed, folder, monkeypatch):
    from test_batch import interrupt

    out = folder / "other.parquet"
    monkeypatch.setattr("nerveconduct.batch.engine.process_chunk_range", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(mixed, out, table="segment", criteria=CRITERIA)
    monkeypatch.undo()
    with pytest.raises(BatchResumeError) as info:
        run(mixed, out, table="nerve", criteria=CRITERIA[:1], resume=True)
    message = str(info.value)
    assert "table: was 'segment', now 'nerve'" in message
    assert "criteria: was ['efns-pns-2010-mmn', 'ean-pns-2021-cidp'], now ['efns-pns-2010-mmn']" in message
    assert "columns" not in message and len(message) < 400, message
    with pytest.raises(BatchResumeError) as info:
        run(mixed, out, table="segment", criteria=CRITERIA, reasons=True, resume=True)
    message = str(info.value)
    assert "columns: now also verdict_efns-pns-2010-mmn_reasons" in message and len(message) < 400


def test_an_unwritable_suffix_is_refused(mixed, folder):
    for name in ("results.xlsx", "results.parquet.txt", "results"):
        with pytest.raises(ValueError, match=r"\.parquet"):
            run(mixed, folder / name)
        assert not (folder / name).exists()
    with pytest.raises(ValueError, match="kind"):
        write_parquet([], folder / "x.parquet", "record")


def test_write_parquet_is_the_analyze_csv_table_typed(folder):
    """The library path of ``analyze -o x.parquet``: the CSV table of segment_rows, typed."""
    from _golden import varied_studies

    results = analyze_nerves(varied_studies())
    verdicts = [{rid: evaluate_nerve(r, rid) for rid in CRITERIA} for r in results]
    sources = [f"file{i % 3}.csv" for i in range(len(results))]
    fails = [failure_record("bad.csv", ValueError("cannot read line 3"))]
    out = write_parquet(results, folder / "analyze.parquet", "segment", verdicts=verdicts,
                        rule_set_ids=CRITERIA, sources=sources, failures=fails)
    columns = [*segment_columns(CRITERIA), "error_type", "error"]
    with open(folder / "analyze.csv", "w", newline="", encoding="utf-8") as fh:
        rows = [row for r, v, s in zip(results, verdicts, sources)
                for row in segment_rows(r, v, source=s)]
        write_csv(fh, [*rows, *fails], columns)
    header, cells = _csv_cells(folder / "analyze.csv")
    t = pq.read_table(out)
    assert t.column_names == header and t.num_rows == len(cells)
    values = {name: t.column(name).to_pylist() for name in header}
    for i, row in enumerate(cells):
        assert [csv_cell(values[name][i]) for name in header] == row, i
    with pytest.raises(FileExistsError):
        write_parquet(results, out, "segment")
    only_failures = write_parquet([], folder / "failures.parquet", "nerve", failures=fails)
    assert pq.read_table(only_failures).column("error_type").to_pylist() == ["ValueError"]


@pytest.mark.parametrize("source", ["one.csv", Path("dir/one.csv"), None])
def test_one_source_for_every_nerve_gives_the_same_column(source, folder, monkeypatch):
    """A batch's rows all have one ``source``: built as one dictionary value, not per row; the
    values and the file's bytes are those of the row-by-row path (a tuple of sources)."""
    from _golden import varied_studies

    from nerveconduct.serialize import arrow as arrow_module

    results = analyze_nerves(varied_studies())
    table = results[0].table
    sources = [source] * table.n_nerves
    assert arrow_module._one_source(sources)
    one = arrow_module.arrow_table(table, "segment", sources=sources, blank_single_site=True)
    monkeypatch.setattr(arrow_module, "_one_source", lambda sources: False)
    per_row = arrow_module.arrow_table(table, "segment", sources=sources, blank_single_site=True)
    expected = [None if source is None else str(source)] * one.num_rows
    assert one.column("source").to_pylist() == expected == per_row.column("source").to_pylist()
    assert one.schema == per_row.schema
    files = []
    for name, t in (("one", one), ("per_row", per_row)):
        writer = parquet_module.ParquetRowGroups(folder / f"{name}.parquet", t.schema, "segment")
        writer.write(t, np.zeros(t.num_rows, dtype=np.int64))
        writer.close()
        files.append((folder / f"{name}.parquet").read_bytes())
    assert files[0] == files[1]


@pytest.mark.parametrize("kind", ["segment", "nerve"])
def test_repeated_text_columns_are_the_row_by_row_arrays(kind, folder, monkeypatch):
    """Text columns holding one value in every row are built as one dictionary value and zero
    indices: the same arrays and file bytes as converting each row's string."""
    from _golden import varied_studies

    from nerveconduct.serialize import arrow as arrow_module
    from nerveconduct.serialize import verdict_cells

    studies = varied_studies()
    for name, group in (("varied", studies), ("same", [studies[0]] * 40)):
        table = analyze_nerves(group)[0].table
        verdicts = verdict_cells(table, CRITERIA, reasons=False)  # levels and labels: categories
        kwargs = dict(sources=["a.h5"] * table.n_nerves, verdicts=verdicts, blank_single_site=True)
        real, built = arrow_module._repeated, []

        def spy(values, typ):
            out = real(values, typ)
            built.append(out is not None)
            return out

        with monkeypatch.context() as m:
            m.setattr(arrow_module, "_repeated", spy)
            fast = arrow_module.arrow_table(table, kind, **kwargs)
        assert any(built) and (name == "same" or not all(built)), name  # both paths taken
        with monkeypatch.context() as m:
            m.setattr(arrow_module, "_repeated", lambda values, typ: None)
            slow = arrow_module.arrow_table(table, kind, **kwargs)
        assert fast.schema == slow.schema and fast.equals(slow), (name, kind)
        files = []
        for label, t in (("fast", fast), ("slow", slow)):
            path = folder / f"repeated-{kind}-{name}-{label}.parquet"
            writer = parquet_module.ParquetRowGroups(path, t.schema, kind)
            writer.write(t, np.zeros(t.num_rows, dtype=np.int64))
            writer.close()
            files.append(path.read_bytes())
        assert files[0] == files[1], (name, kind)


def test_repeated_gives_up_unless_one_string_fills_the_column():
    from nerveconduct.serialize.arrow import CATEGORY, _repeated

    for values in (["a", "b", "a"], ["a", "b", "a", "a", "a"], ["a", None, "a"], [None, None],
                   [1.0, 1.0], np.array(["a", "a", "a", "b", "a"], dtype=object), [], ("a", 3, "a")):
        assert _repeated(values, CATEGORY) is None, values
    for values in (["wrist"] * 5, np.array(["é"] * 3, dtype=object), ("x",)):
        got = _repeated(values, CATEGORY)
        assert got.type == CATEGORY and got.to_pylist() == list(values)
        assert got.dictionary.to_pylist() == [values[0]]
        assert got.equals(pa.array(list(values), type=CATEGORY))
