"""``nerveconduct plot``: figures of nerves (CMAP stacks), segments, TLI, F-wave trains or
SNAPs, to PNG/SVG/PDF."""

from __future__ import annotations

import re
from pathlib import Path

import click

from nerveconduct.criteria import DEFAULT_CRITERIA
from nerveconduct.plot import FIGURE_FORMATS, plot_nerve, plot_segments, plot_tli, save_figure
from nerveconduct.plot.fwave import has_f_wave_train, plot_f_waves
from nerveconduct.plot.sensory import plot_sensory
from nerveconduct.plot.summary import patient_words
from nerveconduct.analysis import analyze_nerves, analyze_sensory

from ._markers import load_markers_option, markers_option
from ._options import alias_value, common_options, deprecated_alias, file_format_option
from ._output import check_new_output, file_format, message, overwrite_option
from ._pipeline import (
    keep_identifiers_option, limits_option, load_limits_option, load_sensory_limits_option,
    load_sheet_option, read_inputs, sensory_limits_option, sheet_option, sheets_among,
)
from .analyze import finish
from .criteria_cmd import check_rule_set_ids
from .errors import CommandError

__all__ = ["plot", "KINDS"]

#: ``nerve``: one CMAP stack per nerve; ``segments``: drops and duration increases of every
#: segment against a rule set's thresholds; ``tli``: terminal latency index per nerve;
#: ``fwave``: the F-wave raster of each nerve with a train; ``sensory``: the SNAPs of each
#: sensory study.
KINDS = ("nerve", "segments", "tli", "fwave", "sensory")
#: The kinds drawn one file per nerve (or sensory study).
PER_NERVE = ("nerve", "fwave", "sensory")
#: The rule set drawn by default: the conduction-block (MMN) member of the one default.
PLOT_CRITERIA = next(i for i in DEFAULT_CRITERIA if i.endswith("-mmn"))
#: Figure suffixes and the format each selects.
SUFFIX_FORMATS = {f".{fmt}": fmt for fmt in FIGURE_FORMATS}


def _nerve_paths(out: Path, results: list) -> list[Path]:
    if len(results) == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i + 1}-" + re.sub(r"[^a-z0-9]+", "-", " ".join(
        p for p in (r.side, r.nerve) if p).lower()).strip("-") + out.suffix)
        for i, r in enumerate(results)]


@click.command("plot")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Figure file; the suffix sets the format (.png, .svg, .pdf). With --kind "
                   "nerve, fwave or sensory and several nerves, one file per nerve: "
                   "OUT-1-right-median.png, ...")
@click.option("--kind", type=click.Choice(KINDS), default="nerve", show_default=True,
              help="nerve: CMAPs of each nerve; segments: drops and duration increases against "
                   "the rule set's thresholds; tli: terminal latency index per nerve; fwave: "
                   "F-wave raster of each nerve with an F-wave train; sensory: SNAPs of each "
                   "sensory study.")
@file_format_option(tuple(FIGURE_FORMATS),
                    help_text=f"Figure format: {', '.join(FIGURE_FORMATS)}. Default: from the "
                              "-o suffix, which must agree with it.")
@click.option("--criteria", "criteria_id", default=None, metavar="ID",
              help="Rule set whose verdicts (nerve) or thresholds (segments) are drawn. "
                   f"Default: {PLOT_CRITERIA}. See 'nerveconduct criteria list'.")
@deprecated_alias("--rule-set", "--criteria", "criteria")
@sheet_option()
@markers_option()
@limits_option()
@sensory_limits_option()
@click.option("--physical", is_flag=True, help="Traces negative down (default: negative up).")
@keep_identifiers_option()
@overwrite_option()
@common_options
def plot(files: tuple[str, ...], out: str, kind: str, fmt: str | None, criteria_id: str | None,
         sheet: str | None, markers_path: str | None, limits_path: str | None,
         sensory_limits_path: str | None, physical: bool, keep_identifiers: bool,
         overwrite: bool) -> None:
    """Draw FILES' nerves: CMAP stacks, segment drops, terminal latency indices, F-wave
    trains or SNAPs.

    The files written are printed on stdout, one per line.

    \b
    Examples:
      nerveconduct plot mmn_case.toml -o mmn.png
      nerveconduct plot antimag_case.toml --kind tli -o tli.svg
      nerveconduct plot cidp_median.edf --kind segments --criteria efns-pns-2010-cidp -o seg.pdf
      nerveconduct plot median.csv --markers reviewed.json -o median.png   (hand-set hollow)
      nerveconduct plot cidp_two_nerves.h5 --kind fwave -o fwave.svg
      nerveconduct plot cidp_two_nerves.h5 --kind sensory -o snap.png
    """
    target = Path(out)
    file_format(out, fmt, SUFFIX_FORMATS)
    (rule_set,) = check_rule_set_ids([alias_value("criteria", criteria_id) or PLOT_CRITERIA])
    limits = load_limits_option(limits_path)
    sheet_obj = load_sheet_option(sheet)
    markers = load_markers_option(markers_path, sheets=sheets_among(files, sheet_obj))
    inputs = read_inputs(files, sheet=sheet_obj, keep_identifiers=keep_identifiers)
    if len(files) == 1 and inputs.failures:
        raise inputs.failures[0][1]  # one file, one error: one line, exit 1
    if kind == "sensory":
        results = (analyze_sensory(inputs.sensory, limits=load_sensory_limits_option(sensory_limits_path))
                   if inputs.sensory else [])
    else:
        results = analyze_nerves(inputs.studies, limits=limits, markers=markers) if inputs.studies else []
    if kind == "fwave":
        results = [r for r in results if has_f_wave_train(r)]
    if not results:
        finish(len(files), inputs.failures, listed="above")
        what = {"fwave": "an F-wave train (F-wave test items)",
                "sensory": "a sensory study"}.get(kind, "a motor study")
        hint = (" (the input holds sensory studies only: use --kind sensory)"
                if kind != "sensory" and inputs.sensory else "")
        raise CommandError(f"--kind {kind}: no nerve in the input has {what}; nothing to draw{hint}")
    paths = _nerve_paths(target, results) if kind in PER_NERVE else [target]
    for path in paths:  # refuse before drawing anything
        check_new_output(path, overwrite=overwrite)
    for path, exc in inputs.failures:
        message(f"skipped {path}: {' '.join(str(exc).split())}", always=True)
    if kind == "nerve":
        patient = patient_words(results, rule_set)  # as the segments plot: every nerve given
        figures = [plot_nerve(r, negative_up=not physical, rule_set=rule_set, patient=patient).figure
                   for r in results]
    elif kind == "fwave":
        figures = [plot_f_waves(r, negative_up=not physical).figure for r in results]
    elif kind == "sensory":
        figures = [plot_sensory(r, negative_up=not physical).figure for r in results]
    elif kind == "segments":
        figures = [plot_segments(results, rule_set=rule_set).figure]
    else:
        figures = [plot_tli(results).figure]
    for path, fig in zip(paths, figures, strict=True):
        click.echo(str(save_figure(fig, path)))
    finish(len(files), inputs.failures, listed="above")
