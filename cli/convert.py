"""``nerveconduct convert``: any readable file(s) -> one HDF5 archive or one EDF+D file."""

from __future__ import annotations

from pathlib import Path

import click

from nerveconduct.io import write_archive
from nerveconduct.io import write_edf

from ._output import check_new_output, message, overwrite_option
from ._pipeline import keep_identifiers_option, load_sheet_option, read_inputs, sheet_option
from .analyze import finish
from .errors import CommandError

__all__ = ["convert", "TARGETS"]

#: Output kinds and the suffixes that select them.
TARGETS = {"archive": (".h5", ".hdf5"), "edf": (".edf",)}


def _target(out: str, to: str | None) -> str:
    if to:
        return to
    suffix = Path(out).suffix.lower()
    for kind, suffixes in TARGETS.items():
        if suffix in suffixes:
            return kind
    raise click.BadParameter(
        f"cannot tell the output format from {suffix or 'no suffix'!r}; use .h5/.hdf5 (HDF5 "
        "archive) or .edf (EDF+D), or pass --to archive|edf", param_hint="'OUTPUT'")


@click.command("convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--to", type=click.Choice(sorted(TARGETS)), default=None,
              help="Output format (default: from OUTPUT's suffix: .h5/.hdf5 archive, .edf EDF+D).")
@sheet_option()
@click.option("--compression", type=click.Choice(["none", "gzip", "lzf"]), default="none",
              show_default=True, help="HDF5 compression (archives only).")
@keep_identifiers_option()
@overwrite_option()
def convert(inputs: tuple[str, ...], output: str, to: str | None, sheet: str | None,
            compression: str, keep_identifiers: bool, overwrite: bool) -> None:
    """Convert INPUTS (any readable format) into one HDF5 archive or one EDF+D file.

    Every nerve study of every input goes into OUTPUT, written atomically. An EDF+D file
    holds studies of one sampling rate and trace length; an archive holds anything. Patient
    identifiers are dropped unless --keep-identifiers is given. An input that cannot be read
    is reported and skipped (exit code 3).

    \b
    Examples:
      nerveconduct convert median.csv --sheet case.toml median.h5
      nerveconduct convert exports/*.csv --sheet case.toml case.h5 --compression gzip
      nerveconduct convert case.h5 case.edf
    """
    kind = _target(output, to)
    check_new_output(output, overwrite=overwrite)
    inputs_read = read_inputs(inputs, sheet=load_sheet_option(sheet), keep_identifiers=keep_identifiers)
    if len(inputs_read.failures) == len(inputs):
        finish(len(inputs), inputs_read.failures, listed="above")
    for path, exc in inputs_read.failures:
        message(f"skipped {path}: {' '.join(str(exc).split())}")
    studies = inputs_read.studies
    if kind == "archive":
        write_archive(output, studies, overwrite=overwrite, keep_identifiers=keep_identifiers,
                      compression=None if compression == "none" else compression)
    else:
        try:
            write_edf(output, studies, overwrite=overwrite)
        except ValueError as exc:  # studies that one EDF+D file cannot hold together
            raise CommandError(f"cannot write {output} as EDF+D: {exc}; convert to an HDF5 "
                               "archive (.h5) instead, or one input per EDF file") from None
    message(f"wrote {len(studies)} nerve stud{'y' if len(studies) == 1 else 'ies'} to {output}")
    finish(len(inputs), inputs_read.failures, listed="above")
