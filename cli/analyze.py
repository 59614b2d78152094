"""``nerveconduct analyze``: per-site, per-segment and per-nerve results with verdicts."""

from __future__ import annotations

import json
from typing import IO, Any, Sequence

import click

import nerveconduct
from nerveconduct.serialize import (
    SCHEMA_VERSION, failure_record, nerve_columns, nerve_record, nerve_row, patient_record,
    segment_columns, segment_rows, site_columns, site_rows, write_csv, write_parquet,
)

from ._markers import load_markers_option, markers_option
from ._options import TABLES, common_options, jobs_option, table_option
from ._output import (
    check_new_output, format_option, message, output_option, overwrite_option, resolve_format, result_stream,
)
from ._pipeline import (
    error_text, source_label,
    Analyzed, analyze_inputs, analyze_values_files, criteria_option, group_by_case,
    keep_identifiers_option, limits_option, load_limits_option, load_sheet_option,
    one_case_option, patient_verdicts, read_inputs, resolve_criteria, sheet_option,
    sheets_among, split_values_files, values_option,
)
from ._render import failure_text, nerve_text, patient_text
from .errors import EXIT_PARTIAL, CommandError

__all__ = ["analyze", "case_groups", "emit_results", "finish"]

#: ``--table`` of ``-f csv``: one row per site, per segment or per nerve (the old plural
#: spellings are deprecated aliases).
CSV_TABLES = TABLES


def case_groups(analyzed: Sequence[Analyzed], criteria: Sequence[str], *,
                one_case: bool = False) -> list[dict[str, Any]]:
    """The nerves grouped by case (patient), in order of each case's first nerve, with the
    patient-level verdict of every rule set over that case's nerves: ``case`` (the case
    key), ``nerve_positions`` (positions in ``analyzed``), ``patient``
    (``{rule_set_id: patient record}``)."""
    out = []
    for key, positions in group_by_case([a.case for a in analyzed], one_case=one_case):
        verdicts = patient_verdicts([analyzed[i] for i in positions], criteria)
        out.append({"case": key, "nerve_positions": positions,
                    "patient": {rid: patient_record(v, case_id=key) for rid, v in verdicts.items()}})
    return out


def _case_text(case: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    n = len(case["nerve_positions"])
    lines = [f"=== case {case['case'] or '(no key)'}: {n} nerve{'s' if n != 1 else ''} ==="]
    lines += [nerve_text(records[i]) for i in case["nerve_positions"]]
    if case["patient"]:
        lines.append("patient level (this case's nerves together):\n" + "\n".join(
            "  " + patient_text(rid, rec).replace("\n", "\n  ") for rid, rec in case["patient"].items()))
    return "\n\n".join(lines)


def emit_results(stream: IO[str], fmt: str, analyzed: Sequence[Analyzed],
                 failures: Sequence[tuple[str, Exception]], *, criteria: Sequence[str],
                 table: str = "segment", keep_identifiers: bool = False,
                 limits_name: str | None = None, one_case: bool = False) -> None:
    """Write analyzed nerves and failures to ``stream`` in ``fmt`` (table/json/jsonl/csv).

    ``table`` and ``json`` group the nerves by case (:func:`case_groups`) and add each case's
    patient-level verdicts; ``jsonl`` and ``csv`` keep one record/row per nerve (or per
    site/segment), whose ``study_id`` is the case key.
    """
    fails = [dict(failure_record(source_label(src, keep_identifiers), exc), error=error_text(exc, keep_identifiers))
             for src, exc in failures]
    if fmt in ("json", "jsonl", "table"):
        records = [nerve_record(a.result, a.verdicts, source=a.source,
                                keep_identifiers=keep_identifiers) for a in analyzed]
    if fmt in ("json", "table"):
        cases = case_groups(analyzed, criteria, one_case=one_case)
    if fmt == "jsonl":
        for rec in [*records, *fails]:
            stream.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")
    elif fmt == "json":
        doc = {"nerveconduct_version": nerveconduct.__version__, "schema_version": SCHEMA_VERSION,
               "criteria": list(criteria), "limits": limits_name, "nerves": records,
               "cases": cases, "failures": fails}
        stream.write(json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2) + "\n")
    elif fmt == "table":
        blocks = [_case_text(c, records) for c in cases] + [failure_text(f) for f in fails]
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
@click.argument("files", nargs=-1, required=False, type=click.Path(dir_okay=False))
@values_option()
@sheet_option()
@markers_option()
@criteria_option()
@limits_option()
@format_option()
@table_option(default="segment",
              help_text="With -f csv or parquet: one row per site, per segment, or per nerve.")
@output_option("Write the results to this file (atomically) instead of stdout; its suffix "
               "sets the format: .json, .jsonl/.ndjson, .csv, .parquet, .txt (table).")
@overwrite_option()
@keep_identifiers_option()
@one_case_option()
@jobs_option("Threads measuring the waveforms (default: every core).")
@common_options
def analyze(files: tuple[str, ...], values_paths: tuple[str, ...], sheet: str | None,
            markers_path: str | None, criteria_ids: tuple[str, ...],
            limits_path: str | None, fmt: str | None, table: str, out: str | None,
            overwrite: bool, keep_identifiers: bool, one_case: bool, jobs: int | None) -> None:
    """Measure every CMAP of FILES, read each nerve, and apply the criteria.

    FILES are trace CSV exports, Nihon Kohden TXT exports, EDF+D files, nerveconduct HDF5
    archives, or study sheets naming their waveform files; --values tables give the
    machine's numbers instead (one row per site, no waveforms). Every output field and its unit
    is documented in docs/output-fields.md. A file that cannot be read is listed in the
    output with its error (exit code 3). The table and JSON outputs group the nerves by
    case (patient: the sheet's case_id, else the pseudonym of the export's patient fields,
    else one per file) with each case's patient-level verdicts; --one-case takes all the
    nerves as one patient's.

    \b
    Examples:
      nerveconduct analyze median.csv --sheet case.toml -f table
      nerveconduct analyze case.json --criteria efns-pns-2010-mmn -o segments.csv
      nerveconduct analyze case.json --table nerve -o nerves.csv
      nerveconduct analyze archive.h5 --criteria all -f jsonl > results.jsonl
      nerveconduct analyze --values values_case.csv -f table
    """
    if not files and not values_paths:
        raise click.UsageError("give FILES (waveform exports, archives or sheets) or --values "
                               "TABLE.csv (the machine's numbers), or both")
    files, value_files = split_values_files(files)
    values_paths = (*value_files, *values_paths)
    criteria = resolve_criteria(criteria_ids)
    fmt = resolve_format(fmt, out)
    limits = load_limits_option(limits_path)
    sheet_obj = load_sheet_option(sheet)
    markers = load_markers_option(markers_path, sheets=sheets_among(files, sheet_obj))
    if fmt == "parquet" and (out is None or out == "-"):
        raise click.UsageError("-f parquet writes a file, not a stream: give -o OUT.parquet")
    if out is not None and out != "-":
        check_new_output(out, overwrite=overwrite)  # refuse before the work, not after
    inputs = read_inputs(files, sheet=sheet_obj, keep_identifiers=keep_identifiers)
    from_values, value_failures = analyze_values_files(
        values_paths, limits=limits, criteria=criteria, keep_identifiers=keep_identifiers,
        sheet=sheet_obj, sheets=sheets_among(files, sheet_obj))
    inputs.failures += value_failures
    n_inputs = len(files) + len(values_paths)
    if n_inputs == 1 and inputs.failures:
        raise inputs.failures[0][1]  # one file, one error: one line, exit 1
    analyzed = analyze_inputs(inputs, limits=limits, criteria=criteria, jobs=jobs,
                              markers=markers) + from_values
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
                         keep_identifiers=keep_identifiers, limits_name=limits.name,
                         one_case=one_case)
    if out is not None and out != "-":
        message(f"wrote {len(analyzed)} nerve(s) to {out}")
    finish(n_inputs, inputs.failures)
