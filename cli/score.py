"""``nerveconduct score cidp-mag|mmn|cidp``: clinical scores of one patient's nerves."""

from __future__ import annotations

import json
from typing import Any, Callable

import click

from nerveconduct import read_case
from nerveconduct.criteria import DEFAULT_CRITERIA, get_rule_set
from nerveconduct.model import Case
from nerveconduct.scores import (
    CLINICAL_ITEMS, cidp_diagnosis, cidp_electrodiagnostic_support, cidp_mag_score, mmn_category,
    sensory_results_of,
)
from nerveconduct.scores import SUPPORTIVE_MMN
from nerveconduct.analysis import analyze_nerves
from nerveconduct.serialize import score_record

from ._options import (
    SuggestingGroup, alias_value, common_options, deprecated_alias, file_format_option,
)
from ._output import (
    check_new_output, message, output_option, overwrite_option, resolve_format, result_stream,
)
from ._markers import load_markers_option, markers_option
from ._pipeline import (
    check_one_case, limits_option, load_limits_option, load_sheet_option, one_case_option, sheet_option, sheets_among,
)
from .criteria_cmd import check_rule_set_ids
from .errors import CommandError, named_errors

__all__ = ["score", "parse_items", "CB_CRITERIA", "CIDP_CRITERIA"]

#: The rule set defining "motor conduction block" for the CIDP-MAG score and the CIDP rule
#: set of ``score cidp``: the MMN and the CIDP members of the one default,
#: :data:`nerveconduct.criteria.DEFAULT_CRITERIA`.
CB_CRITERIA = next(i for i in DEFAULT_CRITERIA if i.endswith("-mmn"))
CIDP_CRITERIA = next(i for i in DEFAULT_CRITERIA if i.endswith("-cidp"))
#: Output suffixes of ``score -o`` and the format each selects.
SUFFIX_FORMATS = {".json": "json", ".txt": "table"}

_YES, _NO, _UNKNOWN = ("yes", "true", "1", "y"), ("no", "false", "0", "n"), ("unknown", "?", "null")
MMN_FLAGS = ("core_clinical", "exclusions_absent", "one_nerve_only", "sensory_normal")


def parse_items(values: tuple[str, ...], allowed: tuple[str, ...] | list[str]) -> dict[str, bool | None]:
    """``("ataxia=yes", "tremor=unknown")`` -> ``{"ataxia": True, "tremor": None}``.

    A bad name or value is a usage error (exit 2) listing what is allowed.
    """
    out: dict[str, bool | None] = {}
    for text in values:
        name, sep, value = text.partition("=")
        name, value = name.strip(), value.strip().lower()
        if not sep or name not in allowed:
            raise click.BadParameter(f"expected NAME=yes|no|unknown with NAME one of "
                                     f"{', '.join(allowed)}; got {text!r}", param_hint="'--item'")
        if value in _YES:
            out[name] = True
        elif value in _NO:
            out[name] = False
        elif value in _UNKNOWN:
            out[name] = None
        else:
            raise click.BadParameter(f"{name}: value must be yes, no or unknown, got {value!r}",
                                     param_hint="'--item'")
    return out


def _case(files: tuple[str, ...], sheet: str | None, limits_path: str | None, out: str | None,
          overwrite: bool, markers_path: str | None = None,
          one_case: bool = False, what: str = "a score") -> tuple[Case, list[Any]]:
    if out is not None and out != "-":
        check_new_output(out, overwrite=overwrite)  # refuse before the work
    sheet_obj = load_sheet_option(sheet)
    markers = load_markers_option(markers_path, sheets=sheets_among(files, sheet_obj))
    limits = load_limits_option(limits_path)
    try:
        case = read_case(list(files), sheet=sheet_obj)
    except named_errors():  # FormatError, SheetError, missing file...: one line, exit 1
        raise
    except ValueError as exc:  # read_case's usage errors, e.g. two sheets for one case
        raise click.UsageError(str(exc)) from None
    check_one_case([*case.studies, *case.sensory], one_case=one_case, what=what)
    message(f"scoring case {case.case_id or '(no id)'}: {len(case.studies)} nerve(s)")
    return case, analyze_nerves(case.studies, limits=limits, markers=markers)


def _format(fmt: str | None, out: str | None) -> str:
    """-f as given, else from the -o suffix (.txt, .json; another one is a usage error), else table."""
    return resolve_format(fmt, out, suffixes=SUFFIX_FORMATS, default="table")


def _criteria(given: str | None, default: str) -> str:
    """``--criteria ID`` (or its deprecated alias), checked; ``default`` when not given."""
    value = alias_value("criteria", given)
    if isinstance(value, tuple):  # a repeatable alias: the last one counts, as for --criteria
        value = value[-1]
    (rule_set,) = check_rule_set_ids([value or default])
    return rule_set


def _criteria_option(default: str, what: str):
    return click.option("--criteria", "criteria_id", default=None, metavar="ID",
                        help=f"{what} Default: {default}. See 'nerveconduct criteria list'.")


def _emit(out: str | None, overwrite: bool, fmt: str, record: dict[str, Any], text: str) -> None:
    with result_stream(out, overwrite=overwrite) as stream:
        if fmt == "json":
            stream.write(json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        else:
            stream.write(text + "\n")


def _common(fn: Callable) -> Callable:
    """FILES, --sheet, --limits, -f, -o, --overwrite (in that order in --help)."""
    decorators = [
        click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False)),
        sheet_option(),
        markers_option(),
        limits_option(),
        file_format_option(("table", "json"), help_text="Output format: table or json. "
                           "Default: from the -o suffix (.txt, .json), else 'table'."),
        output_option("Write the result to this file (atomically) instead of stdout; its "
                      "suffix sets the format: .txt (table) or .json."),
        overwrite_option(),
        one_case_option(),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def _call(scorer: Callable[..., Any], what: str, **kwargs: Any) -> Any:
    try:
        return scorer(**kwargs)
    except (TypeError, ValueError) as exc:  # invalid clinical input from the sheet or --item
        raise CommandError(f"{what} not computed: {exc}; fix the sheet or the --item values") from None


@click.group("score", cls=SuggestingGroup)
@common_options
def score() -> None:
    """Clinical scores of one patient: CIDP-MAG, MMN category, CIDP electrodiagnostic support.

    FILES are one patient's files (or a study sheet naming them); the sheet gives the
    clinical inputs, --item overrides them.

    \b
    Examples:
      nerveconduct score cidp-mag antimag.csv --sheet antimag_case.toml
      nerveconduct score mmn mmn_case.toml -f json
      nerveconduct score cidp cidp_median.edf
    """


@score.command("cidp-mag")
@_common
@click.option("--item", "items", multiple=True, metavar="NAME=yes|no|unknown",
              help=f"Clinical item (repeatable): {', '.join(CLINICAL_ITEMS)}. Overrides the sheet.")
@_criteria_option(CB_CRITERIA, "Rule set defining 'motor conduction block on EMG'.")
@deprecated_alias("--cb-rule-set", "--criteria", "criteria")
@common_options
def cidp_mag(files: tuple[str, ...], sheet: str | None, markers_path: str | None,
             limits_path: str | None, fmt: str | None,
             out: str | None, overwrite: bool, one_case: bool, items: tuple[str, ...],
             criteria_id: str | None) -> None:
    """CIDP-MAG score (Doneddu et al.): anti-MAG neuropathy (+1..+5) versus CIDP (-7..-1).

    TLI <= 0.25 in 2 nerves and motor conduction block come from the waveforms; the
    clinical items from the sheet's [clinical] table or --item. An unknown item makes the
    score a range.

    \b
    Example:
      nerveconduct score cidp-mag antimag.csv --sheet antimag_case.toml --item tremor=no
    """
    cb_rule_set = _criteria(criteria_id, CB_CRITERIA)
    fmt = _format(fmt, out)
    given = parse_items(items, list(CLINICAL_ITEMS))
    case, results = _case(files, sheet, limits_path, out, overwrite, markers_path,
                          one_case=one_case, what="a CIDP-MAG score")
    clinical = {**case.clinical, **given}
    unknown = [k for k in CLINICAL_ITEMS if clinical.get(k) is None]
    if unknown:
        message(f"clinical item(s) unknown: {', '.join(unknown)} (score given as a range; set "
                "them in the sheet's [clinical] table or with --item NAME=yes|no)", always=True)
    result = _call(cidp_mag_score, "CIDP-MAG score", clinical=clinical, nerve_results=results,
                   cb_rule_set=cb_rule_set)
    lines = [f"{result} (case {case.case_id or '-'})"]
    for it in result.items:
        present = {True: "yes", False: "no", None: "unknown"}[it.present]
        pts = f"{it.points:+d}" if it.points is not None else f"({it.weight:+d})"
        lines.append(f"   {pts:>5}  {present:<7}  {it.label}: {it.evidence}")
    _emit(out, overwrite, fmt, score_record("cidp-mag", result, case_id=case.case_id,
                                            source=case.source), "\n".join(lines))


@score.command("mmn")
@_common
@click.option("--item", "items", multiple=True, metavar="NAME=yes|no|unknown",
              help=f"MMN input (repeatable): {', '.join(MMN_FLAGS)}, or a supportive criterion "
                   f"{', '.join(SUPPORTIVE_MMN)}. Overrides the sheet's [mmn] table.")
@common_options
def mmn(files: tuple[str, ...], sheet: str | None, markers_path: str | None,
        limits_path: str | None, fmt: str | None,
        out: str | None, overwrite: bool, one_case: bool, items: tuple[str, ...]) -> None:
    """EFNS/PNS 2010 multifocal motor neuropathy category: definite, probable, possible, none.

    Conduction block comes from the waveforms (EFNS/PNS 2010 MMN rule set); the clinical
    inputs from the sheet's [mmn] table or --item. Unknown inputs give the category when
    unmet and, if different, the category were they met.

    \b
    Example:
      nerveconduct score mmn mmn_case.toml --item ivig_response=yes
    """
    fmt = _format(fmt, out)
    given = parse_items(items, [*MMN_FLAGS, *SUPPORTIVE_MMN])
    case, results = _case(files, sheet, limits_path, out, overwrite, markers_path,
                          one_case=one_case, what="an MMN category")
    inputs = dict(case.mmn)
    supportive = dict(inputs.get("supportive") or {})
    for key, value in given.items():
        if key in SUPPORTIVE_MMN:
            supportive[key] = value
        else:
            inputs[key] = value
    kwargs = {k: inputs.get(k) for k in ("core_clinical", "exclusions_absent", "sensory_normal")}
    if "one_nerve_only" in inputs:
        kwargs["one_nerve_only"] = inputs["one_nerve_only"]
    result = _call(mmn_category, "MMN category", nerve_results=results, supportive=supportive,
                   sensory_results=sensory_results_of(case.sensory), **kwargs)
    head = f"EFNS/PNS 2010 MMN category: {result.category}"
    if result.max_category != result.category:
        head += f" (up to {result.max_category} with the unknown inputs)"
    lines = [f"{head} (case {case.case_id or '-'})"] + [f"   {r}" for r in result.reasons]
    _emit(out, overwrite, fmt, score_record("mmn", result, case_id=case.case_id, source=case.source),
          "\n".join(lines))


@score.command("cidp")
@_common
@_criteria_option(CIDP_CRITERIA, "CIDP rule set; the patient-level result is given in its own "
                                 "words (EAN/PNS 2021: strongly / weakly supportive; EFNS/PNS 2010: "
                                 "definite / probable / possible).")
@deprecated_alias("--rule-set", "--criteria", "criteria")
@click.option("--variant", default=None, metavar="NAME",
              help="Clinical variant for the diagnosis (EAN/PNS 2021: typical, distal, multifocal, focal, "
                   "motor, motor-predominant, sensory, sensory-predominant). Overrides the sheet's [cidp] table.")
@click.option("--item", "items", multiple=True, metavar="NAME=yes|no|unknown",
              help="Diagnosis input (repeatable): clinical_criteria, or a supportive criterion of the "
                   "rule set (EAN/PNS 2021: csf_protein, mri, ultrasound, treatment_response, biopsy). "
                   "Overrides the sheet's [cidp] table.")
@common_options
def cidp(files: tuple[str, ...], sheet: str | None, markers_path: str | None,
         limits_path: str | None, fmt: str | None,
         out: str | None, overwrite: bool, one_case: bool, criteria_id: str | None,
         variant: str | None = None, items: tuple[str, ...] = ()) -> None:
    """CIDP motor conduction criteria for the patient, in the rule set's own words.

    EAN/PNS 2021 (default): strongly / weakly supportive of demyelination, or not;
    EFNS/PNS 2010 (--criteria efns-pns-2010-cidp): definite / probable / possible
    (electrodiagnostic). Each item met is named by its meaning, with the nerves meeting it.
    With diagnosis inputs (the sheet's [cidp] table, --variant or --item) or sensory
    studies, the diagnostic category follows (EAN/PNS 2021: CIDP / possible CIDP per
    variant), the unknown inputs taken as unmet and, if different, as met.

    \b
    Example:
      nerveconduct score cidp cidp_median.edf --criteria efns-pns-2010-cidp
    """
    rule_set = _criteria(criteria_id, CIDP_CRITERIA)
    fmt = _format(fmt, out)
    case, results = _case(files, sheet, limits_path, out, overwrite, markers_path,
                          one_case=one_case, what="a CIDP support level")
    result = _call(cidp_electrodiagnostic_support, "CIDP support", nerve_results=results,
                   rule_set=rule_set)
    rs = get_rule_set(rule_set)
    carried = f" ({', '.join(result.nerves)})" if result.nerves else ""
    lines = [f"{rs.short_name} ({rule_set}), patient: {result.label}{carried} (case {case.case_id or '-'})"]
    lines += [f"   met: {rs.item_title(k)} ({k}) in {', '.join(v)}" for k, v in result.items.items()]
    lines += [f"   {r}" for r in result.reasons]
    record = score_record("cidp", result, case_id=case.case_id, source=case.source)
    diagnosis = _diagnosis(rs, case, results, variant, items)
    if diagnosis is not None:  # JSON: a "diagnosis" object; without inputs the output is as before
        lines += _diagnosis_lines(rs, diagnosis)
        record["diagnosis"] = {k: getattr(diagnosis, k) for k in (
            "rule_set_id", "category", "max_category", "variant", "label", "rows_met", "sensory", "supportive")}
        record["diagnosis"]["reasons"] = list(diagnosis.reasons)
        record["diagnosis"]["rows_met"] = list(diagnosis.rows_met)
    _emit(out, overwrite, fmt, record, "\n".join(lines))


def _diagnosis(rs: Any, case: Case, results: list[Any], variant: str | None, items: tuple[str, ...]) -> Any:
    """The diagnosis of ``score cidp``; None without a diagnosis table or diagnosis inputs."""
    table = rs.diagnosis
    if table is None or not (case.cidp or case.sensory or variant or items):
        return None
    keys = ["clinical_criteria", *(s.key for s in table.supportive)]
    given = parse_items(items, keys)
    inputs = dict(case.cidp)
    supportive = dict(inputs.get("supportive") or {})
    for key, value in given.items():
        if key == "clinical_criteria":
            inputs[key] = value
        else:
            supportive[key] = value
    if supportive:
        inputs["supportive"] = supportive
    if variant is not None:
        inputs["variant"] = variant
    return _call(cidp_diagnosis, "CIDP diagnosis", nerve_results=results, inputs=inputs,
                 sensory=sensory_results_of(case.sensory), rule_set=rs.id)


def _diagnosis_lines(rs: Any, d: Any) -> list[str]:
    """A diagnosis as the text lines of ``score cidp``."""
    head = f"{rs.short_name} diagnosis: {d.label}"
    if d.max_category != d.category:
        head += f" (up to {d.max_category} with the unknown inputs)"
    return [head] + [f"   {r}" for r in d.reasons]
