"""``nerveconduct review``: correct one case's markers in the browser (a local page).

Thin over :mod:`nerveconduct.review`: reads the case as ``report`` does, starts a
:class:`~nerveconduct.review.ReviewServer` on 127.0.0.1, prints the page's URL (token
included) as the first line of stdout, opens the browser unless ``--no-browser``, and serves
until Ctrl-C. Unsaved changes are then saved (``--save-on-exit``) or the user is told they
were not (exit code 130).
"""

from __future__ import annotations

import os
import sys
import webbrowser
from pathlib import Path

import click

from nerveconduct import read_case
from nerveconduct.review import ReviewError, ReviewServer, ReviewSession

from ._markers import load_markers_option, markers_option
from ._options import common_options, file_format_option
from ._output import check_new_output, file_format, message, overwrite_option
from ._pipeline import (
    DEFAULT_CRITERIA, check_one_case, criteria_option, keep_identifiers_option, limits_option,
    load_limits_option, load_sheet_option, one_case_option, resolve_criteria, sheet_option,
    sheets_among,
)
from .errors import EXIT_INTERRUPTED, CommandError, named_errors

__all__ = ["review"]

#: Where "save" writes when neither -o nor --markers is given (in the current folder).
DEFAULT_MARKERS_FILE = "markers.json"


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str] | None) -> bool:
    return b is not None and Path(a).resolve() == Path(b).resolve()


@click.command("review")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@sheet_option()
@markers_option()
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="Markers file that Save writes (.json; default: the --markers file, else "
                   f"{DEFAULT_MARKERS_FILE} in the current folder; give the sheet's markers file "
                   "here to update it).")
@file_format_option(("json",), help_text="Markers file format: json (the only one; the -o suffix "
                                         "must be .json).")
@click.option("--reviewer", default=None, metavar="NAME",
              help="Your name or initials, written as 'by' into each marker you set (default: none).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not open a browser.")
@click.option("--save-on-exit", is_flag=True,
              help="On Ctrl-C, save unsaved changes (default: say they were not saved).")
@criteria_option()
@limits_option()
@keep_identifiers_option()
@one_case_option()
@overwrite_option()
@common_options
def review(files: tuple[str, ...], sheet: str | None, markers_path: str | None, out: str | None,
           fmt: str | None, reviewer: str | None, port: int, no_browser: bool, save_on_exit: bool,
           criteria_ids: tuple[str, ...], limits_path: str | None, keep_identifiers: bool,
           one_case: bool, overwrite: bool) -> None:
    """Review and correct the markers of one case in the browser: FILES are one patient's.

    Starts a local page (127.0.0.1 only; its URL, with a random token, is the first line of
    stdout) showing each nerve's traces with their markers, the site and segment values and
    the verdicts. Drag a marker, click it and then its new place on the trace, or nudge it
    with the arrow keys; the values and verdicts update at once. Save writes the markers
    file (atomically); 'nerveconduct analyze/report --markers FILE' then use it. Ctrl-C
    stops the server. Identifiers appear only with --keep-identifiers.

    \b
    Examples:
      nerveconduct review data/samples/normal_case.json --reviewer AB
      nerveconduct review median.csv --sheet case.toml --markers case.markers.json --no-browser
    """
    criteria = resolve_criteria(criteria_ids, default=DEFAULT_CRITERIA)
    target = out or markers_path or DEFAULT_MARKERS_FILE
    file_format(target, fmt, {".json": "json"})
    if not _same_file(target, markers_path):
        check_new_output(target, overwrite=overwrite)  # refuse before the work, not after
    limits = load_limits_option(limits_path)
    sheet_obj = load_sheet_option(sheet)
    try:
        case = read_case(list(files), sheet=sheet_obj, keep_identifiers=keep_identifiers)
    except named_errors():  # FormatError, SheetError, missing file...: one line, exit 1
        raise
    except ValueError as exc:  # read_case's usage errors, e.g. two sheets for one case
        raise click.UsageError(str(exc)) from None
    check_one_case([*case.studies, *case.sensory], one_case=one_case, what="a review")
    markers = load_markers_option(markers_path, sheets=sheets_among(files, sheet_obj)) or []
    try:
        session = ReviewSession(case, criteria=criteria, limits=limits, markers=markers,
                                reviewer=reviewer, keep_identifiers=keep_identifiers)
    except ReviewError as exc:  # e.g. a case without a nerve study: one line, exit 1
        raise CommandError(str(exc)) from None
    try:
        server = ReviewServer(session, target, port=port)
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.1 port {port}: {exc.strerror or exc}; "
                           "give another --port, or 0 for a free one") from None
    click.echo(server.url)
    sys.stdout.flush()
    message(f"reviewing {len(case.studies)} nerve(s) with {len(markers)} hand-set marker(s); "
            f"Save writes {target}; Ctrl-C stops the server", always=True)
    if not no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    if not session.dirty:
        message("review stopped; nothing unsaved", always=True)
        return
    if save_on_exit:
        session.save(target)
        message(f"review stopped; saved {len(session.markers)} hand-set marker(s) to {target}",
                always=True)
        return
    message(f"review stopped: the marker changes were NOT saved to {target} (press Save in the "
            "page before stopping, or use --save-on-exit)", always=True)
    raise click.exceptions.Exit(EXIT_INTERRUPTED)
