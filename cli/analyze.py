"""``nerveconduct analyze``: per-site, per-segment and per-nerve results with verdicts."""

from __future__ import annotations

import json
from typing import IO, Sequence

import click

import nerveconduct
from nerveconduct.serialize import (
    SCHEMA_VERSION, failure_record, nerve_columns, nerve_record, nerve_row, segment_columns,
    segment_rows, site_columns, site_rows, write_csv, write_parquet,
)

from ._options import TABLES, common_options, jobs_option, table_option
from ._output import (
    check_new_output, format_option, message, output_option, overwrite_option, resolve_format, result_stream,
)
from ._pipeline import (
    error_text, source_label,
    Analyzed, analyze_inputs, criteria_option, keep_identifiers_option, limits_option,
    load_limits_option, load_sheet_option, read_inputs, resolve_criteria, sheet_option,
)
from ._render import failure_text, nerve_text
from .errors import EXIT_PARTIAL, CommandError

__all__ = ["analyze", "emit_results", "finish"]

#: ``--table`` of ``-f csv``: one row per site, per segment or per nerve (the old plural
#: spellings are deprecated aliases).
CSV_TABLES = TABLES


def emit_results(stream: IO[str], fmt: str, analyzed: Sequence[Analyzed],
                 failures: Sequence[tuple[str, Exception]], *, criteria: Sequence[str],
                 table: str = "segment", keep_identifiers: bool = False,
                 limits_name: str | None = None) -> None:
    """Write analyzed nerves and failures to ``stream`` in ``fmt`` (table/json/jsonl/csv)."""
    fails = [dict(failure_record(source_label(src, keep_identifiers), exc), error=error_text(exc, keep_identifiers))
             for src, exc in failures]
    if fmt in ("json", "jsonl", "table"):
        records = [nerve_record(a.result, a.verdicts, source=a.source,
                                keep_identifiers=keep_identifiers) for a in analyzed]
    if fmt == "jsonl":
        for rec in [*records, *fails]:
            stream.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")
    elif fmt == "json":
        doc = {"nerveconduct_version": nerveconduct.__version__, "schema_version": SCHEMA_VERSION,
               "criteria": list(criteria), "limits": limits_name, "nerves": records,
               "failures": fails}
        stream.write(json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2) + "\n")
    elif fmt == "table":
        blocks = [nerve_text(rec) for rec in records] + [failure_text(f) for f in fails]
        stream.write("\n\n".join(blocks) + ("\n" if blocks else ""))
    else:  # csv
        table = {"segments": "segment", "nerves": "nerve", "sites": "site"}.get(table, table)
        if table == "segment":
            cols = segment_columns(criteria, keep_identifiers=keep_identifiers)
            rows = [r for a in analyzed for r in segment_rows(
                a.result, a.verdicts, source=a.source, keep_identifiers=keep_identifiers)]
        elif table == "nerve":
            cols = nerve_columns(criteria, keep_identifiers=keep_identifiers)
            rows = [nerve_row(a.result, a.verdicts, source=a.source, keep_identifiers=keep_identifiers)
                    for a in analyzed]
        else:
            cols = site_columns(keep_identifiers=keep_identifiers)
            rows = [r for a in analyzed for r in site_rows(a.result, source=a.source,
                                                           keep_identifiers=keep_identifiers)]
        write_csv(stream, [*rows, *fails], [*cols, "error_type", "error"])


def finish(n_inputs: int, failures: Sequence[tuple[str, Exception]], what: str = "file", *,
           hint: bool = True, listed: str = "in the output") -> None:
    """Exit 0 when nothing failed, 3 when some inputs failed, 1 when all did.

    With one input, its error is the one-line message (with the usual hint when ``hint``).
    """
    if not failures:
        return
    if len(failures) == n_inputs:
        if n_inputs == 1:
            if not hint:
                raise CommandError(" ".join(str(failures[0][1]).split()))
            raise failures[0][1]  # the group maps it to one line, exit 1
        raise CommandError(f"none of the {n_inputs} {what}s could be read; each failure is "
                           f"listed {listed}")
    message(f"{len(failures)} of {n_inputs} {what}s failed (listed {listed})", always=True)
    raise click.exceptions.Exit(EXIT_PARTIAL)


@click.command("analyze")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@sheet_option()
@criteria_option()
@limits_option()
@format_option()
@table_option(default="segment",
              help_text="With -f csv or parquet: one row per site, per segment, or per nerve.")
@output_option("Write the results to this file (atomically) instead of stdout; its suffix "
               "sets the format: .json, .jsonl/.ndjson, .csv, .parquet, .txt (table).")
@overwrite_option()
@keep_identifiers_option()
@jobs_option("Threads measuring the waveforms (default: every core).")
@common_options
def analyze(files: tuple[str, ...], sheet: str | None, criteria_ids: tuple[str, ...],
            limits_path: str | None, fmt: str | None, table: str, out: str | None,
            overwrite: bool, keep_identifiers: bool, jobs: int | None) -> None:
    """Measure every CMAP of FILES, read each nerve, and apply the criteria.

    FILES are trace CSV exports, Nihon Kohden TXT exports, EDF+D files, nerveconduct HDF5
    archives, or study sheets naming their waveform files. Every output field and its unit
    is documented in docs/output-fields.md. A file that cannot be read is listed in the
    output with its error (exit code 3).

    \b
    Examples:
      nerveconduct analyze median.csv --sheet case.toml -f table
      nerveconduct analyze case.json --criteria efns-pns-2010-mmn -o segments.csv
      nerveconduct analyze case.json --table nerve -o nerves.csv
      nerveconduct analyze archive.h5 --criteria all -f jsonl > results.jsonl
    """
    criteria = resolve_criteria(criteria_ids)
    fmt = resolve_format(fmt, out)
    limits = load_limits_option(limits_path)
    sheet_obj = load_sheet_option(sheet)
    if fmt == "parquet" and (out is None or out == "-"):
        raise click.UsageError("-f parquet writes a file, not a stream: give -o OUT.parquet")
    if out is not None and out != "-":
        check_new_output(out, overwrite=overwrite)  # refuse before the work, not after
    inputs = read_inputs(files, sheet=sheet_obj, keep_identifiers=keep_identifiers)
    if len(files) == 1 and inputs.failures:
        raise inputs.failures[0][1]  # one file, one error: one line, exit 1
    analyzed = analyze_inputs(inputs, limits=limits, criteria=criteria, jobs=jobs)
    if fmt == "parquet":  # the CSV table's columns, typed (docs/output-fields.md, "Parquet")
        kind = {"segments": "segment", "nerves": "nerve", "sites": "site"}.get(table, table)
        write_parquet([a.result for a in analyzed], out, kind,
                      verdicts=None if kind == "site" else [a.verdicts for a in analyzed],
                      rule_set_ids=criteria, sources=[a.source for a in analyzed],
                      failures=[dict(failure_record(source_label(src, keep_identifiers), exc),
                                     error=error_text(exc, keep_identifiers))
                                for src, exc in inputs.failures],
                      keep_identifiers=keep_identifiers, overwrite=overwrite)
    else:
        with result_stream(out, overwrite=overwrite) as stream:
            emit_results(stream, fmt, analyzed, inputs.failures, criteria=criteria, table=table,
                         keep_identifiers=keep_identifiers, limits_name=limits.name)
    if out is not None and out != "-":
        message(f"wrote {len(analyzed)} nerve(s) to {out}")
    finish(len(files), inputs.failures)
