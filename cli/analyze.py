"""``nerveconduct analyze``: per-site, per-segment and per-nerve results with verdicts."""

from __future__ import annotations

import json
from typing import IO, Any, Sequence

import click

import nerveconduct
from nerveconduct.serialize import (
    SCHEMA_VERSION, failure_record, nerve_columns, nerve_record, nerve_row, patient_record,
    render_sensory, segment_columns, segment_rows, sensory_columns, sensory_records, site_columns,
    site_rows, write_csv, write_parquet, write_sensory_parquet,
)

from ._markers import load_markers_option, markers_option
from ._options import ANALYZE_TABLES, SENSORY_TABLE, common_options, jobs_option, table_option
from ._output import (
    check_new_output, format_option, message, output_option, overwrite_option, resolve_format, result_stream,
)
from ._pipeline import (
    error_text, source_label,
    Analyzed, AnalyzedSensory, analyze_inputs, analyze_sensory_inputs, analyze_values_files,
    criteria_option, group_by_case, keep_identifiers_option, limits_option, load_limits_option,
    load_sensory_limits_option, load_sheet_option, one_case_option, patient_verdicts,
    read_inputs, resolve_criteria, sensory_limits_option, sheet_option, sheets_among,
    split_values_files, values_option,
)
from ._render import failure_text, nerve_text, patient_text, sensory_text
from .errors import EXIT_PARTIAL, CommandError

__all__ = ["analyze", "case_groups", "emit_results", "finish"]

#: ``--table`` of ``-f csv``/``parquet``: one row per site, per segment or per nerve (the old
#: plural spellings are deprecated aliases), or per sensory study (also ``-f jsonl``).
CSV_TABLES = ANALYZE_TABLES


def case_groups(analyzed: Sequence[Analyzed], criteria: Sequence[str], *,
                one_case: bool = False,
                sensory: Sequence[AnalyzedSensory] = ()) -> list[dict[str, Any]]:
    """The nerves grouped by case (patient), in order of each case's first nerve, with the
    patient-level verdict of every rule set over that case's nerves: ``case`` (the case
    key), ``nerve_positions`` (positions in ``analyzed``), ``patient``
    (``{rule_set_id: patient record}``); with ``sensory`` studies also
    ``sensory_positions`` (positions in ``sensory``; a case of sensory studies only comes
    after the motor ones and has no patient-level verdict)."""
    out = []
    n = len(analyzed)
    keys = [a.case for a in analyzed] + [s.case for s in sensory]
    for key, positions in group_by_case(keys, one_case=one_case):
        nerves = [i for i in positions if i < n]
        verdicts = patient_verdicts([analyzed[i] for i in nerves], criteria) if nerves else {}
        case = {"case": key, "nerve_positions": nerves,
                "patient": {rid: patient_record(v, case_id=key) for rid, v in verdicts.items()}}
        if sensory:
            case["sensory_positions"] = [i - n for i in positions if i >= n]
        out.append(case)
    return out


def _case_text(case: dict[str, Any], records: Sequence[dict[str, Any]],
               sensory: Sequence[dict[str, Any]] = ()) -> str:
    n = len(case["nerve_positions"])
    n_sensory = len(case.get("sensory_positions", ()))
    more = f", {n_sensory} sensory stud{'y' if n_sensory == 1 else 'ies'}" if n_sensory else ""
    lines = [f"=== case {case['case'] or '(no key)'}: {n} nerve{'s' if n != 1 else ''}{more} ==="]
    lines += [nerve_text(records[i]) for i in case["nerve_positions"]]
    if n_sensory:
        lines.append(sensory_text([sensory[i] for i in case["sensory_positions"]]))
    if case["patient"]:
        lines.append("patient level (this case's nerves together):\n" + "\n".join(
            "  " + patient_text(rid, rec).replace("\n", "\n  ") for rid, rec in case["patient"].items()))
    return "\n\n".join(lines)


def emit_results(stream: IO[str], fmt: str, analyzed: Sequence[Analyzed],
                 failures: Sequence[tuple[str, Exception]], *, criteria: Sequence[str],
                 table: str = "segment", keep_identifiers: bool = False,
                 limits_name: str | None = None, one_case: bool = False,
                 sensory: Sequence[AnalyzedSensory] = (),
                 sensory_limits_name: str | None = None) -> None:
    """Write analyzed nerves and failures to ``stream`` in ``fmt`` (table/json/jsonl/csv).

    ``table`` and ``json`` group the nerves by case (:func:`case_groups`) and add each case's
    patient-level verdicts; ``jsonl`` and ``csv`` keep one record/row per nerve (or per
    site/segment), whose ``study_id`` is the case key. ``sensory`` studies are written by
    ``table`` (a sensory table per case) and ``json`` (each case's ``sensory`` records, and
    ``sensory_limits``; both keys only when there are sensory studies, so that the output of
    motor studies alone is unchanged); ``jsonl`` and ``csv`` leave them out and say so.
    """
    fails = [dict(failure_record(source_label(src, keep_identifiers), exc), error=error_text(exc, keep_identifiers))
             for src, exc in failures]
    if fmt in ("json", "jsonl", "table"):
        records = [nerve_record(a.result, a.verdicts, source=a.source,
                                keep_identifiers=keep_identifiers) for a in analyzed]
    if fmt in ("json", "table"):
        cases = case_groups(analyzed, criteria, one_case=one_case, sensory=sensory)
        sensory_recs = _sensory_records(sensory, keep_identifiers)
    elif table == SENSORY_TABLE:
        _emit_sensory(stream, fmt, sensory, fails, keep_identifiers)
        return
    elif sensory:
        message(f"{len(sensory)} sensory stud{'y is' if len(sensory) == 1 else 'ies are'} not "
                f"in -f {fmt} output: use --table {SENSORY_TABLE} (or -f json, -f table) for them",
                always=True)
    if fmt == "jsonl":
        for rec in [*records, *fails]:
            stream.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")
    elif fmt == "json":
        for case in cases:
            if "sensory_positions" in case:
                case["sensory"] = [sensory_recs[i] for i in case.pop("sensory_positions")]
        doc = {"nerveconduct_version": nerveconduct.__version__, "schema_version": SCHEMA_VERSION,
               "criteria": list(criteria), "limits": limits_name, "nerves": records,
               "cases": cases, "failures": fails}
        if sensory:
            doc["sensory_limits"] = sensory_limits_name
        stream.write(json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2) + "\n")
    elif fmt == "table":
        blocks = [_case_text(c, records, sensory_recs) for c in cases] + [failure_text(f) for f in fails]
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


def _emit_sensory(stream: IO[str], fmt: str, sensory: Sequence[AnalyzedSensory],
                  fails: Sequence[dict[str, Any]], keep_identifiers: bool) -> None:
    """``--table sensory``: one CSV row (``-f csv``) or one nested JSON record (``-f jsonl``,
    failures after them as in the motor records) per sensory study, by
    :func:`~nerveconduct.serialize.render_sensory` (the one cell rule); failures of ``-f csv``
    go to stderr (the sensory columns have no error columns)."""
    lines: list[str] = []
    if sensory:
        lines = render_sensory(sensory[0].result.table, "record" if fmt == "jsonl" else "study", fmt,
                               sources=[s.source for s in sensory], keep_identifiers=keep_identifiers)
    if fmt == "jsonl":
        lines += [json.dumps(rec, ensure_ascii=False, allow_nan=False) for rec in fails]
    else:
        lines.insert(0, ",".join(sensory_columns("study", keep_identifiers=keep_identifiers)))
        for rec in fails:
            message(f"{rec.get('source')}: {rec.get('error')}", always=True)
    stream.write("".join(line + "\n" for line in lines))


def _check_table(table: str, fmt: str, n_motor: int, n_sensory: int) -> None:
    """Refuse a flat table (``-f csv``, ``jsonl``, ``parquet``) that would be empty although
    the input has studies of the other kind: say which ``--table`` writes them."""
    if fmt not in ("csv", "jsonl", "parquet"):
        return
    sensory = f"{n_sensory} sensory stud{'y' if n_sensory == 1 else 'ies'}"
    if table == SENSORY_TABLE and n_motor:
        if not n_sensory:
            raise CommandError(f"no sensory studies in the input (only {n_motor} motor "
                               f"nerve(s)): use --table site, segment or nerve")
        message(f"{n_motor} motor nerve(s) are not in --table {SENSORY_TABLE} output: use "
                "--table site, segment or nerve (or -f json, -f table) for them", always=True)
    elif table != SENSORY_TABLE and n_sensory and not n_motor:
        raise CommandError(f"no motor studies in the input, only {sensory}: use --table "
                           f"{SENSORY_TABLE} for them (or -f json, -f table)")


def _sensory_records(sensory: Sequence[AnalyzedSensory], keep_identifiers: bool) -> list[dict[str, Any]]:
    """The sensory records, in order (one table: the results of one analysis)."""
    if not sensory:
        return []
    return sensory_records([s.result for s in sensory], sources=[s.source for s in sensory],
                           keep_identifiers=keep_identifiers)


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
@sensory_limits_option()
@format_option()
@table_option(ANALYZE_TABLES, default="segment",
              help_text="With -f csv or parquet: one row per site, per segment, or per nerve; "
                        f"'{SENSORY_TABLE}': one row per sensory study (with -f jsonl: one "
                        "record per sensory study).")
@output_option("Write the results to this file (atomically) instead of stdout; its suffix "
               "sets the format: .json, .jsonl/.ndjson, .csv, .parquet, .txt (table).")
@overwrite_option()
@keep_identifiers_option()
@one_case_option()
@jobs_option("Threads measuring the waveforms (default: every core).")
@common_options
def analyze(files: tuple[str, ...], values_paths: tuple[str, ...], sheet: str | None,
            markers_path: str | None, criteria_ids: tuple[str, ...],
            limits_path: str | None, sensory_limits_path: str | None, fmt: str | None,
            table: str, out: str | None,
            overwrite: bool, keep_identifiers: bool, one_case: bool, jobs: int | None) -> None:
    """Measure every CMAP and SNAP of FILES, read each nerve, and apply the criteria.

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
    sensory_limits = load_sensory_limits_option(sensory_limits_path)
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
    sensory = analyze_sensory_inputs(inputs, limits=sensory_limits)
    _check_table(table, fmt, len(analyzed), len(sensory))
    if fmt == "parquet" and sensory and table != SENSORY_TABLE:
        message(f"{len(sensory)} sensory stud{'y is' if len(sensory) == 1 else 'ies are'} not in "
                f"-f parquet output: use --table {SENSORY_TABLE} (or -f json, -f table) for them",
                always=True)
    if fmt == "parquet" and table == SENSORY_TABLE:  # the sensory CSV table's columns, typed
        write_sensory_parquet(sensory[0].result.table, out, "study",
                              sources=[s.source for s in sensory],
                              keep_identifiers=keep_identifiers, overwrite=overwrite)
        for src, exc in inputs.failures:
            message(f"{source_label(src, keep_identifiers)}: {error_text(exc, keep_identifiers)}",
                    always=True)
    elif fmt == "parquet":  # the CSV table's columns, typed (docs/output-fields.md, "Parquet")
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
                         one_case=one_case, sensory=sensory,
                         sensory_limits_name=sensory_limits.name)
    if out is not None and out != "-":
        studies = f"{len(sensory)} sensory stud{'y' if len(sensory) == 1 else 'ies'}"
        more = f" and {studies}" if sensory and fmt in ("json", "table") else ""
        if table == SENSORY_TABLE and fmt not in ("json", "table"):
            message(f"wrote {studies} to {out}")
        else:
            message(f"wrote {len(analyzed)} nerve(s){more} to {out}")
    finish(n_inputs, inputs.failures)
