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
from nerveconduct.io import NerveConductIOError, StudySheet, detect_format, load_sheet, source_key
from nerveconduct.limits import NormalLimits, SensoryLimits
from nerveconduct.model import NerveStudy, SensoryStudy, case_key
from nerveconduct.analysis import NerveResult, SensoryResult
from nerveconduct.analysis import analyze_nerves, analyze_sensory

from ._output import message, progress

__all__ = [
    "DEFAULT_CRITERIA", "Analyzed", "Inputs", "load_sheet_option", "load_limits_option",
    "read_inputs", "analyze_inputs", "patient_verdicts", "sheet_option", "limits_option",
    "keep_identifiers_option", "criteria_option", "resolve_criteria", "one_case_option",
    "check_one_case", "study_case_keys", "group_by_case", "ONE_CASE_OPTION",
    "analyze_values_files", "values_option", "split_values_files", "sheets_among",
    "AnalyzedSensory", "analyze_sensory_inputs", "load_sensory_limits_option",
    "sensory_limits_option",
]

#: The option that lets a command take studies of several case keys as one patient (the same
#: name in every command that refuses to mix patients).
ONE_CASE_OPTION = "--one-case"

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
    #: Sensory studies of the files (the readers' ``.sensory``) and the file each came from.
    sensory: list[SensoryStudy] = field(default_factory=list)
    sensory_sources: list[str] = field(default_factory=list)


@dataclass
class Analyzed:
    """One analyzed nerve: where it came from, its result, the verdicts per rule set and its
    case key (:func:`nerveconduct.model.case_key`)."""

    source: str
    result: NerveResult
    verdicts: dict[str, Any]
    case: str | None = None


@dataclass
class AnalyzedSensory:
    """One analyzed sensory study: where it came from, its result and its case key."""

    source: str
    result: SensoryResult
    case: str | None = None


def load_sheet_option(path: str | None) -> StudySheet | None:
    """The ``--sheet`` file, parsed once (a bad sheet is a :class:`SheetError`: exit 1)."""
    return None if path is None else load_sheet(path)


def load_limits_option(path: str | None) -> NormalLimits:
    """The ``--limits`` file (a lab's normal limits), or the default table."""
    return NormalLimits.default() if path is None else NormalLimits.from_file(path)


def load_sensory_limits_option(path: str | None) -> SensoryLimits:
    """The ``--sensory-limits`` file (a lab's sensory normal limits), or the default table."""
    return SensoryLimits.default() if path is None else SensoryLimits.from_file(path)


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
            sensory = list(getattr(studies, "sensory", None) or ())
            inputs.sensory += sensory
            inputs.sensory_sources += [source_label(path, keep_identifiers)] * len(sensory)
            inputs.failures += failures  # by path: messages name the file; outputs use its key
            log.debug("%s: %d nerve stud(ies), %d failure(s)", path, len(studies), len(failures))
    return inputs


def analyze_inputs(inputs: Inputs, *, limits: NormalLimits, criteria: Sequence[str],
                   jobs: int | None = None, markers: Sequence[Any] | None = None) -> list[Analyzed]:
    """Analyze every study (one vectorized pass; ``jobs``: measuring threads; ``markers``:
    hand-set markers, see ``cli/_markers.py``) and apply each rule set to each nerve."""
    if not inputs.studies:
        return []
    message(f"analyzing {len(inputs.studies)} nerve(s)"
            + (f" with {', '.join(criteria)}" if criteria else ""))
    log.info("normal limits: %s", limits.name)
    results = analyze_nerves(inputs.studies, limits=limits, n_threads=jobs, markers=markers)
    keys = study_case_keys(inputs.studies, inputs.sources)
    return [Analyzed(src, r, {rid: evaluate_nerve(r, rid) for rid in criteria}, key)
            for src, r, key in zip(inputs.sources, results, keys, strict=True)]


def analyze_sensory_inputs(inputs: Inputs, *, limits: SensoryLimits) -> list[AnalyzedSensory]:
    """Measure and judge every sensory study of ``inputs`` (one columnar pass)."""
    if not inputs.sensory:
        return []
    message(f"analyzing {len(inputs.sensory)} sensory stud{'y' if len(inputs.sensory) == 1 else 'ies'}")
    log.info("sensory normal limits: %s", limits.name)
    results = analyze_sensory(inputs.sensory, limits=limits)
    keys = [case_key(st.study_id, src) for st, src in zip(inputs.sensory, inputs.sensory_sources,
                                                          strict=True)]
    return [AnalyzedSensory(src, r, key)
            for src, r, key in zip(inputs.sensory_sources, results, keys, strict=True)]


def patient_verdicts(analyzed: Sequence[Analyzed], criteria: Sequence[str]) -> dict[str, Any]:
    """Each rule set's patient-level verdict over the nerves given (one patient's: group
    them with :func:`group_by_case` first)."""
    results = [a.result for a in analyzed]
    return {rid: evaluate_patient(results, rid) for rid in criteria}


def study_case_keys(studies: Sequence[NerveStudy], sources: Sequence[str | None] | None = None,
                    ) -> list[str | None]:
    """Each study's case key (:func:`nerveconduct.model.case_key`): its ``study_id``, else the
    key of the file it came from (``sources``: what outputs call that file)."""
    fallback = list(sources) if sources is not None else [None] * len(studies)
    return [case_key(s.study_id, src) for s, src in zip(studies, fallback, strict=True)]


def _patients(studies: Sequence[NerveStudy], keys: Sequence[str | None]) -> list[str]:
    """The distinct patients among ``studies``, in order: their case keys, then -- within
    one case key (a sheet's ``case_id``) -- the pseudonyms of the exports' patient fields."""
    cases = list(dict.fromkeys(k for k in keys if k is not None))
    if len(cases) > 1:
        return cases
    own = list(dict.fromkeys(s.metadata.get("patient_key") for s in studies))
    own = [k for k in own if k]
    return own if len(own) > 1 else cases


def check_one_case(studies: Sequence[NerveStudy], *, one_case: bool, what: str,
                   sources: Sequence[str | None] | None = None,
                   extra_keys: Sequence[str | None] = ()) -> None:
    """Refuse to take the studies of two patients as one case (exit 1, one line).

    ``what`` names the result that is one patient's ("a report", "a CIDP-MAG score");
    ``extra_keys``: the case keys of nerves given as values (``--values``). With
    ``one_case`` (``--one-case``) the studies are grouped deliberately and nothing is checked.
    """
    if one_case:
        return
    patients = _patients(studies, [*study_case_keys(studies, sources), *extra_keys])
    if len(patients) > 1:
        from .errors import CommandError

        more = f" (and {len(patients) - 2} more)" if len(patients) > 2 else ""
        raise CommandError(
            f"the files hold studies of {len(patients)} different patients, {patients[0]} and "
            f"{patients[1]}{more}; {what} is one patient's: give one patient's files, or pass "
            f"{ONE_CASE_OPTION} to group them as one case deliberately")


def group_by_case(keys: Sequence[str | None], *, one_case: bool = False) -> list[tuple[str | None, list[int]]]:
    """Positions of the nerves grouped by case key, in order of each case's first nerve
    (``one_case``: all in one case, the first nerve's key)."""
    if one_case and keys:
        return [(keys[0], list(range(len(keys))))]
    groups: dict[str | None, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.items())


def analyze_values_files(paths: Sequence[str], *, limits: NormalLimits, criteria: Sequence[str],
                         keep_identifiers: bool, sheet: StudySheet | None = None,
                         sheets: Sequence[StudySheet] = (),
                         ) -> tuple[list[Analyzed], list[tuple[str, Exception]]]:
    """Analyze the values tables of ``--values`` (one row per site; no waveforms) and the
    ``[[values]]`` rows of ``sheets`` through the same core and criteria as waveforms. A
    nerve's case key: the row's ``case_id``, else the sheet's, else one per file. A file that
    fails is recorded and skipped."""
    analyzed: list[Analyzed] = []
    failures: list[tuple[str, Exception]] = []
    work: list[tuple[str, Any, StudySheet | None]] = [(p, None, sheet) for p in paths]
    work += [(str(sh.path), sh.values, sh) for sh in sheets if sh.values]
    if not work:
        return analyzed, failures
    from nerveconduct.analysis import analyze_values
    from nerveconduct.io import read_values

    for path, given, context in work:
        src = source_label(path, keep_identifiers)
        try:
            nerves = read_values(path) if given is None else given
            results = []
            for nerve in nerves:
                kwargs = nerve.kwargs()
                if kwargs["study_id"] is None and context is not None and context.case_id:
                    kwargs["study_id"] = context.case_id
                if context is not None:  # the patient's demographics choose banded limits
                    kwargs.update({k: context.details[k] for k in ("age_years", "height_cm")
                                   if context.details.get(k) is not None})
                results.append(analyze_values(limits=limits, **kwargs))
        except (NerveConductIOError, OSError, ValueError) as exc:
            failures.append((path, exc))
            continue
        message(f"{len(results)} nerve(s) from values (no waveforms)")
        analyzed += [Analyzed(src, r, {rid: evaluate_nerve(r, rid) for rid in criteria},
                              case_key(r.study_id, src)) for r in results]
    return analyzed, failures


def sheets_among(files: Sequence[str], sheet: StudySheet | None) -> list[StudySheet]:
    """The study sheets whose ``[[values]]`` rows a command analyzes: ``--sheet`` and every
    sheet among FILES (a sheet that cannot be read is left to the file reader's message)."""
    found = [sheet] if sheet is not None else []
    for path in files:
        try:
            if detect_format(path) in ("sheet-json", "sheet-toml"):
                found.append(load_sheet(path))
        except (NerveConductIOError, OSError):
            continue
    return found


def split_values_files(files: Sequence[str]) -> tuple[list[str], list[str]]:
    """(waveform files, values tables): a FILES argument that is a values table (its header
    names the values columns) is analyzed as if given with ``--values``."""
    waveforms, values = [], []
    for path in files:
        try:
            is_values = detect_format(path) == "values-csv"
        except (NerveConductIOError, OSError):
            is_values = False  # the reader says what is wrong with it
        (values if is_values else waveforms).append(path)
    return waveforms, values


def values_option():
    """``--values FILE`` (repeatable)."""
    return click.option(
        "--values", "values_paths", multiple=True, type=click.Path(dir_okay=False),
        metavar="FILE",
        help="A values table (CSV, one row per site: nerve, side, site, distance_mm, "
             "onset_latency_ms, negative_peak_amplitude_mv, optional area/durations/"
             "peak_to_peak_amplitude_mv/f_wave_latency_ms/case_id): the machine's numbers, "
             "no waveforms. Repeatable.")


def one_case_option():
    """``--one-case``."""
    return click.option(
        ONE_CASE_OPTION, "one_case", is_flag=True,
        help="Take the studies of every file as one patient's case even when their case keys "
             "(sheet case_id, pseudonym of the export's patient fields, else one per file) "
             "differ. Without it, studies of two patients are refused.")


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


def sensory_limits_option():
    """``--sensory-limits FILE``."""
    return click.option("--sensory-limits", "sensory_limits_path", type=click.Path(dir_okay=False),
                        default=None,
                        help="The lab's sensory normal limits (CSV or TOML: nerve, direction, "
                             "amplitude_lln_uv, cv_lln_m_s, peak_latency_uln_ms, distance_mm, ...); "
                             "default: the textbook antidromic table.")


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
