"""The steps result commands share: read files (with a sheet), analyze, apply criteria.

Thin glue over :func:`nerveconduct.io.read.read_many`,
:func:`nerveconduct.analysis.analyze_nerves` and
:func:`nerveconduct.criteria.evaluate_nerve`, with progress on stderr.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import click

from nerveconduct.criteria import DEFAULT_CRITERIA, evaluate_nerve, evaluate_patient
from nerveconduct import read_many
from nerveconduct.io import NerveConductIOError, StudySheet, load_sheet, source_key
from nerveconduct.limits import NormalLimits
from nerveconduct.model import NerveStudy
from nerveconduct.analysis import NerveResult
from nerveconduct.analysis import analyze_nerves

from ._output import message, progress

__all__ = [
    "DEFAULT_CRITERIA", "Analyzed", "Inputs", "load_sheet_option", "load_limits_option",
    "read_inputs", "analyze_inputs", "patient_verdicts", "sheet_option", "limits_option",
    "keep_identifiers_option", "criteria_option", "resolve_criteria",
]

# DEFAULT_CRITERIA (re-exported): the rule sets applied when no --criteria is given, in every
# command; defined once, in nerveconduct.criteria (EFNS/PNS 2010 MMN, EAN/PNS 2021 CIDP).
log = logging.getLogger("nerveconduct.cli")


@dataclass
class Inputs:
    """Studies read from the command line's files, with the file each came from."""

    studies: list[NerveStudy] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    failures: list[tuple[str, Exception]] = field(default_factory=list)
    n_files: int = 0


@dataclass
class Analyzed:
    """One analyzed nerve: where it came from, its result and the verdicts per rule set."""

    source: str
    result: NerveResult
    verdicts: dict[str, Any]


def load_sheet_option(path: str | None) -> StudySheet | None:
    """The ``--sheet`` file, parsed once (a bad sheet is a :class:`SheetError`: exit 1)."""
    return None if path is None else load_sheet(path)


def load_limits_option(path: str | None) -> NormalLimits:
    """The ``--limits`` file (a lab's normal limits), or the default table."""
    return NormalLimits.default() if path is None else NormalLimits.from_file(path)


def source_label(path: str | os.PathLike[str], keep_identifiers: bool) -> str:
    """What outputs call an input file: its path with ``--keep-identifiers``, else its
    pseudonymous key (file names often carry a patient's name or ID)."""
    return os.fspath(path) if keep_identifiers else source_key(path)


def error_text(exc: BaseException, keep_identifiers: bool) -> str:
    """An error's message for an output: without the file's path unless identifiers are kept
    (the location in the file and the problem stay)."""
    if keep_identifiers or not isinstance(exc, NerveConductIOError):
        return str(exc)
    return f"{exc.location}: {exc.detail}" if exc.location else exc.detail


def read_inputs(paths: Sequence[str], *, sheet: StudySheet | None, keep_identifiers: bool) -> Inputs:
    """Read every file; a file that fails is recorded in ``failures`` and skipped."""
    inputs = Inputs(n_files=len(paths))
    log.info("reading %d file(s)%s", len(paths), " with the study sheet" if sheet else "")
    with progress(paths, label=f"reading {len(paths)} file(s)", show_name=os.path.basename) as bar:
        for path in bar:
            studies, failures = read_many([path], sheet=sheet, keep_identifiers=keep_identifiers)
            inputs.studies += studies
            inputs.sources += [source_label(path, keep_identifiers)] * len(studies)
            inputs.failures += failures  # by path: messages name the file; outputs use its key
            log.debug("%s: %d nerve stud(ies), %d failure(s)", path, len(studies), len(failures))
    return inputs


def analyze_inputs(inputs: Inputs, *, limits: NormalLimits, criteria: Sequence[str],
                   jobs: int | None = None) -> list[Analyzed]:
    """Analyze every study (one vectorized pass; ``jobs``: measuring threads) and apply each
    rule set to each nerve."""
    if not inputs.studies:
        return []
    message(f"analyzing {len(inputs.studies)} nerve(s)"
            + (f" with {', '.join(criteria)}" if criteria else ""))
    log.info("normal limits: %s", limits.name)
    results = analyze_nerves(inputs.studies, limits=limits, n_threads=jobs)
    return [Analyzed(src, r, {rid: evaluate_nerve(r, rid) for rid in criteria})
            for src, r in zip(inputs.sources, results, strict=True)]


def patient_verdicts(analyzed: Sequence[Analyzed], criteria: Sequence[str]) -> dict[str, Any]:
    """Each rule set's patient-level verdict over all the nerves given (one patient)."""
    results = [a.result for a in analyzed]
    return {rid: evaluate_patient(results, rid) for rid in criteria}


def resolve_criteria(ids: Sequence[str], *, default: Sequence[str] = DEFAULT_CRITERIA) -> list[str]:
    """``--criteria`` values checked against the registry (``all``: every rule set; ``none``:
    none; an id in another letter case is the same id; a near miss gets a "did you mean")."""
    from .criteria_cmd import check_rule_set_ids, rule_set_ids

    words = [str(i).strip().lower() for i in ids]
    if not ids:
        chosen = [i for i in default if i in rule_set_ids()]
    elif "all" in words:
        chosen = rule_set_ids()
    elif "none" in words:
        chosen = []
    else:
        chosen = check_rule_set_ids(list(ids))
    log.info("criteria: %s", ", ".join(chosen) or "none")
    return chosen


def sheet_option():
    """``--sheet FILE``."""
    return click.option("--sheet", type=click.Path(dir_okay=False), default=None,
                        help="Study sheet (JSON/TOML) giving what the files lack: nerve, side, "
                             "sites, distances (mm), temperature, clinical items.")


def limits_option():
    """``--limits FILE``."""
    return click.option("--limits", "limits_path", type=click.Path(dir_okay=False), default=None,
                        help="The lab's normal limits (CSV or TOML); default: the textbook table.")


def keep_identifiers_option():
    """``--keep-identifiers``."""
    return click.option("--keep-identifiers", is_flag=True,
                        help="Keep patient names/IDs from the files (default: pseudonyms only).")


def criteria_option():
    """``--criteria ID`` (repeatable)."""
    return click.option(
        "--criteria", "criteria_ids", multiple=True, metavar="ID",
        help="Rule set to apply (repeatable; 'all' for every one, 'none' for no verdicts). "
             f"Default: {', '.join(DEFAULT_CRITERIA)}. See 'nerveconduct criteria list'.")
