"""``nerveconduct validate``: report every problem the library finds in files; change nothing."""

from __future__ import annotations

import json
import warnings
from typing import Any

import click

from nerveconduct.flags import MeasureFlag
from nerveconduct.io import FORMAT_NAMES, TraceKindWarning, detect_format
from nerveconduct import read
from nerveconduct.analysis import analyze_nerves

from ._options import Vocabulary, common_options
from ._output import message, progress, resolve_format, result_stream
from ._pipeline import error_text, keep_identifiers_option, load_sheet_option, sheet_option, source_label
from .analyze import finish
from .errors import named_errors

__all__ = ["validate", "validation_record"]


def _warnings(study: Any, result: Any) -> list[str]:
    """What reading and analysis flagged about one nerve (none of it stops the analysis)."""
    who = " ".join(p for p in (study.side, study.nerve) if p) or "nerve"
    out = []
    missing = study.metadata.get("missing_fields") or []
    if missing:
        out.append(f"{who}: the file lacks {', '.join(map(str, missing))} (a --sheet can give them)")
    for conflict in study.metadata.get("sheet_conflicts") or []:
        out.append(f"{who}: sheet conflict: {conflict}")
    out += [f"{who}: {flag}" for flag in result.flags]
    for site in result.sites:
        names = MeasureFlag(int(site.flags)).names()
        if names:
            out.append(f"{who}, site {site.name}: {', '.join(names)}")
    for seg in result.segments:
        out += [f"{who}, segment {seg.name}: {flag}" for flag in seg.flags]
    return out


def validation_record(path: str, *, sheet: Any = None,
                      keep_identifiers: bool = False) -> tuple[dict[str, Any], Exception | None]:
    """Check one file: detect its format, read it, measure it; collect errors and warnings.

    Returns the record and the named error that made the file unreadable (or ``None``). The
    record names the file by its pseudonymous key unless ``keep_identifiers``.
    """
    record: dict[str, Any] = {"record": "validation", "source": source_label(path, keep_identifiers),
                              "format": None, "format_name": None, "valid": False, "n_nerves": 0, "errors": [],
                              "warnings": []}
    try:
        record["format"] = detect_format(path)
        record["format_name"] = FORMAT_NAMES[record["format"]]
        if record["format"] == "values-csv":  # the machine's numbers: every row checked
            from nerveconduct.io import read_values

            record.update(valid=True, n_nerves=len(read_values(path)))
            return record, None
        with warnings.catch_warnings(record=True) as caught:  # a trace left out: a warning
            warnings.simplefilter("always", TraceKindWarning)
            studies = read(path, sheet=sheet if record["format"] not in ("sheet-json", "sheet-toml")
                           else None)
    except named_errors() as exc:
        record["errors"].append(f"{type(exc).__name__}: {error_text(exc, keep_identifiers)}")
        return record, exc
    results = analyze_nerves(studies) if studies else []
    for study, result in zip(studies, results, strict=True):
        record["warnings"] += _warnings(study, result)
    record["warnings"] += [_unclaimed(w, path, keep_identifiers) for w in caught
                           if issubclass(w.category, TraceKindWarning)]
    sensory = list(getattr(studies, "sensory", ()))
    for study in sensory:
        record["warnings"] += _read_warnings(study, "sensory")
    record.update(valid=True, n_nerves=len(studies))
    trains = sum(getattr(s, "f_wave_traces", None) is not None for s in studies)
    if sensory or trains:  # only then: the records of motor-only files stay as they were
        record.update(n_sensory=len(sensory), n_f_wave_trains=trains)
    return record, None


def _unclaimed(warning: Any, path: str, keep_identifiers: bool) -> str:
    """A reader's warning about a trace it left out, naming the file as outputs do."""
    text = str(warning.message)
    return text if keep_identifiers else text.replace(str(path), source_label(path, False))


def _read_warnings(study: Any, kind: str) -> list[str]:
    """What reading flagged about a study: the fields the file lacks, sheet conflicts."""
    who = " ".join(p for p in (study.side, study.nerve) if p) or "nerve"
    who += f" ({kind})" if kind != "motor" else ""
    out = []
    missing = study.metadata.get("missing_fields") or []
    if missing:
        out.append(f"{who}: the file lacks {', '.join(map(str, missing))} (a --sheet can give them)")
    out += [f"{who}: sheet conflict: {c}" for c in study.metadata.get("sheet_conflicts") or []]
    return out


def _text(record: dict[str, Any]) -> str:
    status = "OK" if record["valid"] else "INVALID"
    head = f"{record['source']}: {status}"
    name = record.get("format_name")
    if record["valid"]:
        extra = "".join(f", {record[k]} {what}" for k, what in (
            ("n_f_wave_trains", "F-wave train(s)"),
            ("n_sensory", "sensory study" if record.get("n_sensory") == 1 else "sensory studies"))
            if record.get(k))
        head += f" ({name}, {record['n_nerves']} nerve(s){extra})"
    elif record["format"]:
        head += f" ({name})"
    lines = [head] + [f"   error: {e}" for e in record["errors"]]
    return "\n".join(lines + [f"   warning: {w}" for w in record["warnings"]])


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@sheet_option()
@click.option("-f", "--format", "fmt", type=Vocabulary(["table", "json", "jsonl"]), default=None,
              help="Output format (default: 'table' on a terminal, else 'jsonl').")
@keep_identifiers_option()
@common_options
def validate(files: tuple[str, ...], sheet: str | None, fmt: str | None, keep_identifiers: bool) -> None:
    """Check FILES and report every problem found; nothing is changed or written.

    Per file: the format detected, whether it reads (else the error naming the line or
    record), and warnings — fields the file lacks (distances, nerve, ...), sheet conflicts,
    absent or flagged responses, implausible velocities, traces left out (an F-wave train
    without its motor study); sensory studies and F-wave trains are counted. Exit code 0
    when every file reads,
    3 when some do not, 1 when none does.

    \b
    Examples:
      nerveconduct validate exports/*.csv
      nerveconduct validate median.csv --sheet case.toml -f json
    """
    fmt = resolve_format(fmt, None)
    sheet_obj = load_sheet_option(sheet)
    records, failures = [], []
    with progress(files, label=f"validating {len(files)} file(s)") as bar:
        for path in bar:
            record, error = validation_record(path, sheet=sheet_obj, keep_identifiers=keep_identifiers)
            records.append(record)
            if error is not None:
                failures.append((path, error))
    with result_stream(None, overwrite=False) as stream:
        if fmt == "json":
            stream.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
        elif fmt == "jsonl":
            stream.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            stream.write("\n".join(_text(r) for r in records) + "\n")
    if not failures:
        message(f"all {len(files)} file(s) valid")
    finish(len(files), failures, hint=False)
