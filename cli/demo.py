"""``nerveconduct demo``: analyze the bundled sample cases, print a summary, write reports."""

from __future__ import annotations

import errno
import importlib.resources
import re
from pathlib import Path
from typing import Any

import click

import csv
import tempfile

from nerveconduct.criteria import DEFAULT_CRITERIA, evaluate_nerve, evaluate_patient
from nerveconduct import read_case
from nerveconduct.io import detect_format, load_sheet
from nerveconduct.model import Case
from nerveconduct.scores import cidp_diagnosis, cidp_mag_score, mmn_category, sensory_results_of
from nerveconduct.analysis import analyze_nerves

from ._options import common_options
from ._output import check_new_output, message, overwrite_option, progress
from ._render import num

__all__ = ["demo", "sample_cases", "DEMO_CRITERIA"]

#: Rule sets the demo applies: the one default of every command (MMN conduction block and the
#: EAN/PNS 2021 CIDP criteria), :data:`nerveconduct.criteria.DEFAULT_CRITERIA`.
DEMO_CRITERIA = DEFAULT_CRITERIA
#: The case whose report becomes ``report.html`` (anti-MAG: TLI, CIDP-MAG, paraprotein).
SHOWCASE_CASE = "antimag_case.toml"
_SHEET_SUFFIXES = (".json", ".toml")
_WAVEFORM_SUFFIXES = (".csv", ".txt", ".edf", ".h5")


def sample_cases() -> list[Path]:
    """The bundled sample cases: every sample sheet, then every waveform file no sheet names.

    The samples are the installed package ``nerveconduct_samples`` (``data/samples`` in the
    source tree), so the demo works from any directory.
    """
    try:
        folder = Path(str(importlib.resources.files("nerveconduct_samples")))
    except ModuleNotFoundError:  # a source checkout that is not installed
        import nerveconduct

        folder = Path(nerveconduct.__file__).resolve().parents[1] / "data" / "samples"
    files = sorted(p for p in folder.iterdir() if p.is_file())
    sheets = [p for p in files if p.suffix in _SHEET_SUFFIXES]
    named = {e.file for s in sheets for e in load_sheet(s).nerves if e.file}
    singles = [p for p in files if p.suffix in _WAVEFORM_SUFFIXES and p.name not in named
               and detect_format(p) != "values-csv"]  # the values table: see values_tables
    kept = _one_form_per_case(sheets + singles)
    sheets, singles = [p for p in sheets if p in kept], [p for p in singles if p in kept]
    if not sheets and not singles:
        raise FileNotFoundError(errno.ENOENT, "no sample files here: reinstall nerveconduct", str(folder))
    return sheets + singles


def _one_form_per_case(paths: list[Path]) -> list[Path]:
    """One file per sample case: a case bundled in several formats (the same name, another
    suffix: a sheet, an export, an archive) is shown once, from the archive (which keeps its
    case key and clinical inputs) when there is one, else from its sheet."""
    rank = {".h5": 0, **{suffix: 1 for suffix in _SHEET_SUFFIXES}}
    best: dict[str, Path] = {}
    for p in paths:
        kept = best.get(p.stem)
        if kept is None or rank.get(p.suffix, 2) < rank.get(kept.suffix, 2):
            best[p.stem] = p
    return [p for p in paths if best[p.stem] == p]


def _patient_table(cases: list[Case]) -> list[str]:
    """The patient table of the sample cases (``batch --table patient`` on an archive of
    them), as aligned text lines."""
    from nerveconduct.batch import run
    from nerveconduct.io import write_archive

    with tempfile.TemporaryDirectory(prefix="nerveconduct-demo-") as tmp:
        archive = Path(tmp) / "samples.h5"
        write_archive(archive, [s for case in cases for s in (*case.studies, *case.sensory)])
        run(archive, Path(tmp) / "patients.csv", table="patient")
        with open(Path(tmp) / "patients.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    head = ["case", "nerves", "EAN/PNS 2021 CIDP", "EFNS/PNS 2010 CIDP", "EFNS/PNS 2010 MMN",
            "CIDP-MAG (clinical items unknown)"]
    # each rule set's own words (a level code such as "definite" is not EAN/PNS 2021's word)
    table = [head] + [[r["case"], r["n_nerves_analyzed"], r["patient_ean-pns-2021-cidp_label"],
                       r["patient_efns-pns-2010-cidp_label"], r["patient_efns-pns-2010-mmn_label"],
                       f"{int(r['cidp_mag_min']):+d}..{int(r['cidp_mag_max']):+d}"
                       if r["cidp_mag_min"] else "-"] for r in rows]
    listed = {r["case"] for r in rows}
    for case in cases:  # a case of sensory studies only: no motor criteria to apply
        key = case.case_id or (case.sensory[0].study_id if case.sensory else None)
        if case.sensory and not case.studies and key not in listed:
            table.append([str(key), "0", "no motor nerve studied", "-", "-", "-"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "case"


def _nerve_line(result: Any, verdicts: dict[str, Any]) -> str:
    segs = [s for s in result.segments if not s.across_entrapment_site and not s.from_erbs_point]

    def worst(attr: str) -> float | None:
        vals = [getattr(s, attr) for s in segs if getattr(s, attr) == getattr(s, attr)]
        return max(vals) if vals else None

    cvs = [s.conduction_velocity_m_s for s in segs if s.conduction_velocity_m_s == s.conduction_velocity_m_s]
    label = " ".join(p for p in (result.side, result.nerve) if p)
    parts = [f"{label:<14}", f"DML {num(result.distal_motor_latency_ms, '.2f', 'ms')}",
             f"CV {num(min(cvs) if cvs else None, '.0f', 'm/s')}",
             f"drop amp/area {num(worst('amplitude_drop_pct'), '.0f')}/{num(worst('area_drop_pct'), '.0f')}%",
             f"dur +{num(worst('duration_increase_pct'), '.0f')}%",
             f"TLI {num(result.terminal_latency_index, '.2f')}"]
    if result.f_wave_latency_source == "traces":  # measured from the nerve's F-wave train
        parts.append(_f_wave_text(result))
    cb = verdicts.get("efns-pns-2010-mmn")
    if cb is not None:
        graded = [f"{s.label} {s.segment}" for s in cb.segments
                  if s.level in ("definite", "probable", "possible")]
        parts.append("CB: " + ("; ".join(graded) if graded else cb.level))
    return "  ".join(parts)


def _f_wave_text(result: Any) -> str:
    """``F 38.73 ms (125% of ULN 31 ms), persistence 50%, chronodispersion 6.1 ms``."""
    comp = result.limits.get("f_wave_latency")
    if result.f_wave_latency_ms is None or result.f_wave_latency_ms != result.f_wave_latency_ms:
        head = "F absent"
    else:
        head = f"F {num(result.f_wave_latency_ms, '.2f', 'ms')}"
        if comp is not None and comp.pct_of_limit is not None:
            flag = " \u2191" if comp.abnormal else ""
            head += f" ({comp.pct_of_limit:.0f}% of ULN {comp.limit:g} ms{flag})"
    return (f"{head}, persistence {num(result.f_wave_persistence_pct, '.0f')}%, "
            f"chronodispersion {num(result.f_wave_chronodispersion_ms, '.1f', 'ms')}")


#: Columns of the demo's sensory table: header, width.
_SENSORY_COLUMNS = (("sensory nerve", 14), ("site", 7), ("onset", 8), ("peak", 8),
                    ("ULN", 8), ("amp", 9), ("LLN", 8), ("CV", 9), ("LLN", 9))


def _sensory_lines(case: Case) -> list[str]:
    """The case's sensory table (the distal site judged against the limits), as text lines."""
    if not case.sensory:
        return []
    from nerveconduct.analysis.sensory import analyze_sensory

    lines = ["   " + " ".join(h.ljust(w) for h, w in _SENSORY_COLUMNS) + "verdict"]
    for r in analyze_sensory(case.sensory):
        verdict = ("not assessable" if r.abnormal is None else
                   "abnormal: " + "; ".join(r.abnormal_items) if r.abnormal else "normal")
        for k, s in enumerate(r.sites):
            distal = k == 0
            cells = [r.label if distal else "", s.site, num(s.onset_latency_ms, '.2f', 'ms'),
                     num(s.negative_peak_latency_ms, '.2f', 'ms'),
                     num(r.peak_latency_uln_ms, '.1f', 'ms') if distal else "",
                     num(s.amplitude_uv, '.1f', 'uV'),
                     num(r.amplitude_lln_uv, '.0f', 'uV') if distal else "",
                     num(s.conduction_velocity_m_s, '.0f', 'm/s'),
                     num(r.cv_lln_m_s, '.0f', 'm/s') if distal else ""]
            row = " ".join(c.ljust(w) for c, (_, w) in zip(cells, _SENSORY_COLUMNS))
            lines.append(("   " + row + (verdict if distal else "")).rstrip())
    return lines


def _case_summary(path: Path, case: Case, results: list[Any]) -> list[str]:
    lines = [f"Case {case.case_id or path.stem} ({path.name}): {len(results)} nerve(s)"
             + (f", {len(case.sensory)} sensory" if case.sensory else "")]
    for r in results:
        lines.append("   " + _nerve_line(r, {rid: evaluate_nerve(r, rid) for rid in DEMO_CRITERIA}))
    for rid in DEMO_CRITERIA if results else ():  # the motor criteria need motor nerves
        pv = evaluate_patient(results, rid)
        lines.append(f"   {rid}: {pv.label}" + (f" ({', '.join(pv.nerves)})" if pv.nerves else ""))
    if any(v is not None for v in case.clinical.values()):
        lines.append(f"   {cidp_mag_score(case.clinical, results)}")
    if case.mmn:
        kwargs = {k: case.mmn.get(k) for k in ("core_clinical", "exclusions_absent", "sensory_normal")}
        kwargs.update({k: case.mmn[k] for k in ("supportive", "one_nerve_only") if k in case.mmn})
        lines.append(f"   EFNS/PNS 2010 MMN category: {mmn_category(results, **kwargs).category}")
    if case.cidp:  # the EAN/PNS 2021 diagnosis from the case's [cidp] inputs and its SNAPs
        d = cidp_diagnosis(results, inputs=case.cidp, sensory=sensory_results_of(case.sensory))
        more = f" (up to {d.max_category} with the unknown inputs)" if d.max_category != d.category else ""
        lines.append(f"   EAN/PNS 2021 CIDP diagnosis: {d.label}{more}")
    return lines + _sensory_lines(case)


@click.command("demo")
@click.option("--out-dir", type=click.Path(file_okay=False), default="nerveconduct-demo",
              show_default=True, help="Folder for the HTML reports (created if needed).")
@click.option("--no-report", is_flag=True, help="Print the summary only; write no report.")
@overwrite_option()
@common_options
def demo(out_dir: str, no_report: bool, overwrite: bool) -> None:
    """Analyze the bundled sample cases: print a summary and write HTML reports.

    Per nerve: distal motor latency (DML), slowest conduction velocity (CV), largest
    amplitude/area drop and duration increase, terminal latency index (TLI) and conduction
    block verdicts (EFNS/PNS 2010 MMN); per case: the EFNS/PNS 2010 MMN and EAN/PNS 2021 CIDP
    results, the CIDP-MAG score and the MMN category where the sample gives clinical inputs,
    the F-wave values of a nerve with an F-wave train (minimal latency against its ULN,
    persistence, chronodispersion) and a table of the sensory studies (SNAP latencies,
    amplitude and CV against their limits); then the patient table of all the cases (what
    'batch --table patient' writes for an archive of them). The anti-MAG case's report is OUT_DIR/report.html; every other case's is next to it.

    \b
    Examples:
      nerveconduct demo
      nerveconduct demo --out-dir /tmp/nc-demo --overwrite
    """
    cases = sample_cases()
    folder = Path(out_dir)
    targets = {p: folder / ("report.html" if p.name == SHOWCASE_CASE else
                            f"report-{_slug(p.stem)}.html") for p in cases}
    if not no_report:
        folder.mkdir(parents=True, exist_ok=True)
        for target in sorted(targets.values(), key=lambda t: t.name != "report.html"):
            check_new_output(target, overwrite=overwrite)  # refuse before any work
    click.echo(f"nerveconduct demo: {len(cases)} sample cases from {cases[0].parent}\n")
    written, read_cases = [], []
    with progress(cases, label="analyzing sample cases", show_name=lambda p: p.name) as bar:
        blocks = []
        for path in bar:
            case = read_case(path)
            read_cases.append(case)
            results = analyze_nerves(case.studies)
            blocks.append("\n".join(_case_summary(path, case, results)))
            if not no_report:
                from nerveconduct.report import write_html  # matplotlib: only when drawing

                written.append(write_html(case, targets[path], criteria=DEMO_CRITERIA,
                                          overwrite=overwrite))
    click.echo("\n\n".join(blocks))
    click.echo("\nPatient table (nerveconduct batch ARCHIVE --table patient, one row per case):")
    click.echo("\n".join("   " + line for line in _patient_table(read_cases)))
    if written:
        click.echo(f"\nReport: {targets[next(p for p in cases if p.name == SHOWCASE_CASE)]}")
        others = [str(t) for p, t in targets.items() if p.name != SHOWCASE_CASE]
        click.echo("Other cases: " + ", ".join(others))
    message("next: 'nerveconduct analyze FILE --sheet SHEET -f table' on your own exports")
