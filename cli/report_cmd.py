"""``nerveconduct report``: one patient's printable HTML report (images embedded)."""

from __future__ import annotations

import click

from nerveconduct import read_case
from nerveconduct.io import StudySheet
from nerveconduct.model import Case
from nerveconduct.report import write_html

from ._options import common_options, file_format_option
from ._output import check_new_output, file_format, message, overwrite_option
from ._pipeline import (
    DEFAULT_CRITERIA, criteria_option, keep_identifiers_option, limits_option, load_limits_option,
    analyze_values_files, check_one_case, load_sensory_limits_option, load_sheet_option,
    one_case_option, resolve_criteria, sensory_limits_option, sheet_option, sheets_among,
    split_values_files, values_option,
)
from ._markers import load_markers_option, markers_option
from .errors import named_errors

__all__ = ["report"]

#: Report suffixes: the report is one self-contained HTML file.
SUFFIX_FORMATS = {".html": "html", ".htm": "html"}


@click.command("report")
@click.argument("files", nargs=-1, required=False, type=click.Path(dir_okay=False))
@values_option()
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="HTML file to write (.html; self-contained: open it in a browser, print on A4 "
                   "or Letter).")
@file_format_option(("html",), help_text="Report format: html (the only one; the -o suffix "
                                         "must be .html or .htm).")
@sheet_option()
@markers_option()
@criteria_option()
@limits_option()
@sensory_limits_option()
@click.option("--image-format", type=click.Choice(["png", "svg"]), default="png", show_default=True,
              help="How the plots are embedded.")
@click.option("--physical", is_flag=True,
              help="Draw traces negative down (default: the display convention, negative up).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True,
              help="Page size of the print layout: A4 or US Letter.")
@keep_identifiers_option()
@one_case_option()
@overwrite_option()
@common_options
def report(files: tuple[str, ...], values_paths: tuple[str, ...], out: str, fmt: str | None,
           sheet: str | None, markers_path: str | None, criteria_ids: tuple[str, ...],
           limits_path: str | None, sensory_limits_path: str | None,
           image_format: str, physical: bool, paper: str, keep_identifiers: bool,
           one_case: bool, overwrite: bool) -> None:
    """Write the HTML report of one patient: FILES (or a sheet naming them) are one case.

    The report shows every nerve's CMAPs, measures against the normal limits, segment
    values with each rule set's verdicts and reasons, the CIDP-MAG score and MMN category
    when the sheet gives clinical inputs, and summary plots; a nerve with an F-wave train gets
    its raster and F-wave table, sensory studies a SNAP table and pictures against the sensory
    limits (--sensory-limits). Patient identifiers and file
    names appear only with --keep-identifiers. Studies of two patients (two case keys) are
    refused unless --one-case groups them deliberately. --values tables (the machine's
    numbers, no waveforms) are reported as "values entered, no waveforms".

    \b
    Examples:
      nerveconduct report antimag_case.toml -o antimag.html
      nerveconduct report median.csv ulnar.csv --sheet case.toml -o case.html --criteria all
      nerveconduct report --values values_case.csv -o values.html
    """
    file_format(out, fmt, SUFFIX_FORMATS)
    criteria = resolve_criteria(criteria_ids, default=DEFAULT_CRITERIA)
    check_new_output(out, overwrite=overwrite)
    limits = load_limits_option(limits_path)
    sensory_limits = load_sensory_limits_option(sensory_limits_path)
    sheet_obj = load_sheet_option(sheet)
    if not files and not values_paths:
        raise click.UsageError("give FILES (one patient's waveform files or sheet) or --values "
                               "TABLE.csv (the machine's numbers), or both")
    files, value_files = split_values_files(files)
    values_paths = (*value_files, *values_paths)
    markers = load_markers_option(markers_path, sheets=sheets_among(files, sheet_obj))
    try:
        case = (read_case(list(files), sheet=sheet_obj, keep_identifiers=keep_identifiers)
                if files else _values_case(sheet_obj))
    except named_errors():  # FormatError, SheetError, missing file...: one line, exit 1
        raise
    except ValueError as exc:  # read_case's usage errors, e.g. two sheets for one case
        raise click.UsageError(str(exc)) from None
    from_values, failures = analyze_values_files(values_paths, limits=limits, criteria=(),
                                                 keep_identifiers=keep_identifiers, sheet=sheet_obj,
                                                 sheets=sheets_among(files, sheet_obj))
    if failures:
        raise failures[0][1]  # a report is one case: a table that cannot be read stops it
    check_one_case([*case.studies, *case.sensory], one_case=one_case, what="a report",
                   extra_keys=[a.case for a in from_values])
    if case.case_id is None and from_values:
        case.case_id = from_values[0].case
    n_sensory = len(case.sensory)
    message(f"writing the report of {len(case.studies) + len(from_values)} nerve(s)"
            + (f" and {n_sensory} sensory stud{'y' if n_sensory == 1 else 'ies'}" if n_sensory else ""))
    path = write_html(case, out, criteria=criteria, limits=limits, keep_identifiers=keep_identifiers,
                      overwrite=overwrite, image_format=image_format, negative_up=not physical,
                      paper=paper, values_results=[a.result for a in from_values], markers=markers,
                      sensory_limits=sensory_limits)
    click.echo(str(path))


def _values_case(sheet: StudySheet | None) -> Case:
    """The case of a report made from values only: the sheet's context, no studies."""
    if sheet is None:
        return Case(studies=[])
    return Case(studies=[], case_id=sheet.case_id, clinical=dict(sheet.clinical),
                mmn=dict(sheet.mmn), paraprotein=dict(sheet.paraprotein),
                study_date=sheet.study_date, **sheet.case_details())
