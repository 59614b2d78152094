"""``nerveconduct export-bids``: any readable file(s) -> a BIDS-EMG dataset folder."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from nerveconduct.io import write_bids
from nerveconduct.io._kinds import TraceKindWarning
from nerveconduct.serialize import bids_measures

from ._options import common_options
from ._output import message, overwrite_option
from ._pipeline import load_sheet_option, read_inputs, sheet_option
from .analyze import finish
from .errors import CommandError

__all__ = ["export_bids"]


@click.command("export-bids")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "root", required=True, type=click.Path(file_okay=False),
              help="The BIDS dataset folder (created if missing; an existing dataset gains "
                   "the new subjects).")
@sheet_option()
@click.option("--subject", default=None, metavar="LABEL",
              help="Subject label, a pseudonym (letters and digits). Default: the --sheet's "
                   "case_id, else one subject per study pseudonym.")
@click.option("--session", default=None, metavar="LABEL", help="Session label (ses-LABEL).")
@click.option("--power-line-frequency", "power_line_frequency_hz", type=float, default=None,
              metavar="HZ", help="Mains frequency where the studies were recorded (50 or 60 "
                                 "Hz); 'n/a' in the sidecars when not given.")
@click.option("--derivatives/--no-derivatives", default=True, show_default=True,
              help="Also write our measures under derivatives/nerveconduct/.")
@overwrite_option()
@common_options
def export_bids(inputs: tuple[str, ...], root: str, sheet: str | None, subject: str | None,
                session: str | None, power_line_frequency_hz: float | None, derivatives: bool,
                overwrite: bool) -> None:
    """Export INPUTS (any readable format) as a BIDS-EMG dataset in ROOT.

    Each nerve study becomes one run, sub-<label>/[ses-<label>/]emg/
    sub-<label>_task-ncs_run-<n>_emg.edf (EDF+D, one record per stimulation site, then one
    per stimulus of its F-wave train when recorded at the CMAPs' rate; a sensory study is a
    run of the task sncs), with its
    _emg.json, _channels.tsv, _events.tsv and _events.json; our measures go to
    derivatives/nerveconduct/. Subject labels are pseudonyms: patient names and IDs are
    never written. Existing files of the runs are refused unless --overwrite is given. An
    input that cannot be read is reported and skipped (exit code 3).

    \b
    Examples:
      nerveconduct export-bids median.csv ulnar.csv --sheet case.toml -o bids/
      nerveconduct export-bids exports/*.edf -o bids/ --session 01 --power-line-frequency 50
    """
    if power_line_frequency_hz is not None and not power_line_frequency_hz > 0:
        raise click.BadParameter("must be a frequency > 0 Hz",
                                 param_hint="'--power-line-frequency'")
    sheet_obj = load_sheet_option(sheet)
    inputs_read = read_inputs(inputs, sheet=sheet_obj, keep_identifiers=False)
    if len(inputs_read.failures) == len(inputs):
        finish(len(inputs), inputs_read.failures, listed="above")
    for path, exc in inputs_read.failures:
        message(f"skipped {path}: {' '.join(str(exc).split())}", always=True)
    target = Path(root)
    if target.exists() and not target.is_dir():
        raise CommandError(f"{root} is a file; give a folder for the BIDS dataset")
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
        if subject is None and sheet_obj is not None and sheet_obj.case_id:
            subject = sheet_obj.case_id  # one case, one subject
        sensory = list(getattr(inputs_read, "sensory", ()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TraceKindWarning)
            written = write_bids([*inputs_read.studies, *sensory], target, subject=subject,
                                 session=session,
                                 overwrite=overwrite, derivatives=bids_measures if derivatives else None,
                                 power_line_frequency_hz=power_line_frequency_hz)
    except ValueError as exc:  # a label without letters or digits, a study EDF cannot hold
        if created and target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # nothing lost: the folder this command made, still empty
        raise CommandError(f"cannot export to {root}: {' '.join(str(exc).split())}") from None
    dropped = 0
    for w in caught:
        if issubclass(w.category, TraceKindWarning):
            dropped += str(w.message).startswith("the F-wave train of")
            message(f"warning: {' '.join(str(w.message).split())}", always=True)
        else:  # any other warning: passed on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    n, n_sensory = len(inputs_read.studies), len(sensory)
    trains = sum(st.f_wave_traces is not None for st in inputs_read.studies) - dropped
    message(f"wrote {n} nerve stud{'y' if n == 1 else 'ies'} ({len(written)} files) to {root}"
            + (f"; their {trains} F-wave train{'' if trains == 1 else 's'} in their runs" if trains else "")
            + (f"; {dropped} F-wave train{'' if dropped == 1 else 's'} left out (see the warning"
               f"{'' if dropped == 1 else 's'} above)" if dropped else "")
            + (f"; {n_sensory} sensory stud{'y' if n_sensory == 1 else 'ies'} as task-sncs runs"
               if sensory else ""))
    finish(len(inputs), inputs_read.failures, listed="above")
