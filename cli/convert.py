"""``nerveconduct convert``: any readable file(s) -> one HDF5 archive or one EDF+D file."""

from __future__ import annotations


import click

from nerveconduct.io import source_key, write_archive
from nerveconduct.io import write_edf
from nerveconduct.model import case_key

from ._options import (
    Vocabulary, alias_value, common_options, deprecated_alias, file_format_option,
)
from ._output import check_new_output, file_format, message, overwrite_option
from ._pipeline import keep_identifiers_option, load_sheet_option, read_inputs, sheet_option
from .analyze import finish
from .errors import CommandError

__all__ = ["convert", "TARGETS"]

#: Output formats and the suffixes that select them.
TARGETS = {"hdf5": (".h5", ".hdf5"), "edf": (".edf",)}
#: Output suffixes and the format each selects.
SUFFIX_FORMATS = {suffix: kind for kind, suffixes in TARGETS.items() for suffix in suffixes}
#: The old name of the hdf5 format (``--to archive``): accepted, with a note.
FORMAT_ALIASES = {"archive": "hdf5"}


def _extras(studies: list, sensory: list) -> str:
    """What else went in beside the motor studies: F-wave trains and sensory studies."""
    trains = sum(getattr(s, "f_wave_traces", None) is not None for s in studies)
    n = len(sensory)
    parts = ([f"{trains} F-wave train(s)"] * bool(trains)
             + [f"{n} sensory stud{'y' if n == 1 else 'ies'}"] * bool(sensory))
    return f" (with {' and '.join(parts)})" if parts else ""


def _target(out: str, fmt: str | None) -> str:
    """The output format: OUTPUT's suffix (.h5/.hdf5 or .edf) sets it; -f must agree."""
    old = alias_value("format", None)
    if fmt is None and old is not None:
        fmt = FORMAT_ALIASES.get(old, old)  # (--to said it is deprecated)
        Vocabulary(sorted(TARGETS)).convert(fmt, None, None)
    return file_format(out, fmt, SUFFIX_FORMATS, param_hint="'OUTPUT'")


@click.command("convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@file_format_option(sorted(TARGETS), aliases=FORMAT_ALIASES,
                    help_text="Output format: hdf5 (a nerveconduct archive) or edf (EDF+D). "
                              "Default: from OUTPUT's suffix (.h5/.hdf5, .edf), which must agree.")
@deprecated_alias("--to", "-f/--format", "format")
@sheet_option()
@click.option("--compression", type=click.Choice(["none", "gzip", "lzf"]), default="none",
              show_default=True, help="HDF5 compression (archives only).")
@keep_identifiers_option()
@overwrite_option()
@common_options
def convert(inputs: tuple[str, ...], output: str, fmt: str | None, sheet: str | None,
            compression: str, keep_identifiers: bool, overwrite: bool) -> None:
    """Convert INPUTS (any readable format) into one HDF5 archive or one EDF+D file.

    Every nerve study of every input goes into OUTPUT, written atomically: motor studies
    with their F-wave trains, and sensory studies. An EDF+D file holds traces of one
    sampling rate (motor studies of one trace length); an archive holds anything. Each
    study keeps its case key (study_id: the sheet's case_id, else the pseudonym of the
    export's patient fields, else one per file) and the sheet's age_years/height_cm/sex, so
    'batch --table patient' groups the archive by patient. Patient identifiers are dropped
    unless --keep-identifiers is given. An input that cannot be read
    is reported and skipped (exit code 3).

    \b
    Examples:
      nerveconduct convert median.csv --sheet case.toml median.h5
      nerveconduct convert exports/*.csv --sheet case.toml case.h5 --compression gzip
      nerveconduct convert case.h5 case.edf
    """
    kind = _target(output, fmt)
    check_new_output(output, overwrite=overwrite)
    inputs_read = read_inputs(inputs, sheet=load_sheet_option(sheet), keep_identifiers=keep_identifiers)
    if len(inputs_read.failures) == len(inputs):
        finish(len(inputs), inputs_read.failures, listed="above")
    for path, exc in inputs_read.failures:
        message(f"skipped {path}: {' '.join(str(exc).split())}", always=True)
    studies = inputs_read.studies
    sensory = list(getattr(inputs_read, "sensory", ()))
    sensory_sources = list(getattr(inputs_read, "sensory_sources", ()))
    for study, src in (*zip(studies, inputs_read.sources), *zip(sensory, sensory_sources)):
        if not study.study_id:  # every study keeps its case key
            study.study_id = case_key(None, source_key(src) if keep_identifiers else src)
    if kind == "hdf5":
        write_archive(output, [*studies, *sensory], overwrite=overwrite,
                      keep_identifiers=keep_identifiers,
                      compression=None if compression == "none" else compression)
    else:
        try:
            write_edf(output, [*studies, *sensory], overwrite=overwrite)
        except ValueError as exc:  # studies that one EDF+D file cannot hold together
            raise CommandError(f"cannot write {output} as EDF+D: {exc}; convert to an HDF5 "
                               "archive (.h5) instead, or one input per EDF file") from None
    message(f"wrote {len(studies)} nerve stud{'y' if len(studies) == 1 else 'ies'} to {output}"
            + _extras(studies, sensory))
    finish(len(inputs), inputs_read.failures, listed="above")
