"""The printable HTML report of a case: one self-contained file, images embedded.

:func:`write_html` analyzes the case's nerves (:func:`~nerveconduct.analysis.analyze_nerves`),
applies the criteria, scores CIDP-MAG when clinical items are given, and writes one HTML file
that needs no network to view and prints on A4 or US Letter (``paper``): a summary first
(case header, the all-nerves motor summary table, the patient-level verdicts, scores,
impression and signature lines), then one page per nerve (with its F-wave raster and table
when the study holds an F-wave train), then the sensory section when the case has sensory
studies (``Case.sensory``: SNAP table with limits and SNAP pictures), then the summary plots
and the citations, with a running header and footer (case pseudonym, "page x of y"). What it
shows is described in ``docs/report.md``.

Patient names and IDs (``NerveStudy.metadata`` keys such as ``patient_name`` /
``patient_id``) and the source file names appear only with ``keep_identifiers=True``; the
header otherwise shows the pseudonymous case id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..constants import VERSION as __version__
from .._checks import check_number, check_option
from ..limits import NormalLimits
from ..io._atomic import atomic_write, check_target
from ..model import Case, NerveStudy
from ..plot.nerve import plot_nerve, plot_segments, plot_tli
from ..plot.summary import nerve_title
from .context import cidp, cidp_mag, evaluate_criteria, immunoparesis, mmn, plotted_outcome
from .fwave import f_wave_panel_html
from .html import IMAGE_FORMATS, PAPERS, esc, figure_html, page, print_css
from .scores import cidp_html, cidp_mag_html, mmn_html, paraprotein_html
from .sections import footer_html, header_html, impression_html, nerve_tables_html
from .summary import motor_summary_html
from .verdicts import criteria_summary_html, nerve_verdicts_html
from ..analysis import NerveResult, analyze_nerves

__all__ = ["DEFAULT_REPORT_CRITERIA", "PAPERS", "write_html", "render_html"]

#: Rule sets the report applies by default (MMN conduction block, EAN/PNS 2021 CIDP).
DEFAULT_REPORT_CRITERIA = ("efns-pns-2010-mmn", "ean-pns-2021-cidp")


def _as_case(case: Any) -> Case:
    if isinstance(case, Case):
        return case
    if isinstance(case, NerveStudy):
        return Case(studies=[case])
    if isinstance(case, (list, tuple)):
        for i, st in enumerate(case):
            if not isinstance(st, NerveStudy):
                raise TypeError(f"case[{i}] must be a NerveStudy, got {type(st).__name__}")
        return Case(studies=list(case))
    raise TypeError(f"case must be a Case or a list of NerveStudy, got {type(case).__name__}")


def _as_values_results(results: Any) -> list[NerveResult]:
    results = list(results or ())
    for i, r in enumerate(results):
        if not isinstance(r, NerveResult):
            raise TypeError(f"values_results[{i}] must be a NerveResult (from analyze_values), "
                            f"got {type(r).__name__}")
    return results


def _as_limits(limits: Any) -> NormalLimits:
    if limits is None:
        return NormalLimits.default()
    if isinstance(limits, NormalLimits):
        return limits
    if isinstance(limits, (str, os.PathLike)):
        return NormalLimits.from_file(limits)
    raise TypeError(f"limits must be a NormalLimits, a path to a CSV/TOML file or None, "
                    f"got {type(limits).__name__}")


def _criteria_ids(criteria: Any) -> tuple[str, ...]:
    if isinstance(criteria, str):
        return (criteria,)
    ids = tuple(criteria or ())
    for c in ids:
        if not isinstance(c, str) or not c:
            raise TypeError(f"criteria must be rule-set ids (strings), got {c!r}")
    return ids


def render_html(
    case: Case | Sequence[NerveStudy],
    *,
    criteria: Sequence[str] = DEFAULT_REPORT_CRITERIA,
    limits: NormalLimits | str | os.PathLike[str] | None = None,
    keep_identifiers: bool = False,
    image_format: str = "png",
    negative_up: bool = True,
    dpi: float = 110.0,
    plots: bool = True,
    paper: str = "a4",
    values_results: Sequence[Any] = (),
    markers: Sequence[Any] | None = None,
    sensory_limits: Any = None,
) -> str:
    """Build the report of a case as an HTML string (see :func:`write_html`)."""
    case = _as_case(case)
    values_results = _as_values_results(values_results)
    limits_obj = _as_limits(limits)
    rule_sets = _criteria_ids(criteria)
    check_option("image_format", image_format, IMAGE_FORMATS)
    check_option("paper", paper, tuple(PAPERS))
    check_number("dpi", dpi, unit="dots per inch", minimum=20, maximum=600)
    results = [*(analyze_nerves(case.studies, limits=limits_obj, markers=markers) if case.studies else []),
               *values_results]
    outcomes = evaluate_criteria(results, rule_sets) if rule_sets else []
    cb_outcome = plotted_outcome(outcomes, mmn_case=bool(case.mmn))
    cb_rule_set = cb_outcome.rule_set_id if cb_outcome is not None else None

    # "Motor" unless the case also has sensory studies
    heading = "Nerve conduction report" if case.sensory else "Motor nerve conduction report"
    body = [f'<header class="case"><h1>{heading}</h1>',
            header_html(case, results, keep_identifiers=keep_identifiers), "</header>"]
    body.append('<section class="motor-summary"><h2>Motor nerve conduction summary</h2>')
    body.append(motor_summary_html(results))
    body.append("</section>")
    body.append('<section class="findings"><h2>Criteria</h2>')
    body.append(criteria_summary_html(outcomes, results) if rule_sets
                else '<p class="note">No criteria requested.</p>')
    body.append("</section>")
    body.append(cidp_mag_html(case.clinical, cidp_mag(case.clinical, results)))
    body.append(mmn_html(case.mmn, mmn(case.mmn, results, case.sensory)))
    body.append(cidp_html(case.cidp, cidp(case.cidp, results, case.sensory)))
    body.append(paraprotein_html(case.paraprotein, immunoparesis(case.paraprotein)))
    body.append(impression_html(case))

    for i, result in enumerate(results):
        title = nerve_title(result)
        first = " first" if i == 0 else ""
        body.append(f'<section class="nerve{first}" data-nerve-index="{i}" data-nerve="{esc(result.nerve)}">')
        sid = f' <span class="note">study {esc(result.study_id)}</span>' if result.study_id else ""
        body.append(f'<div class="nerve-core"><h2>{esc(title)}{sid}</h2>')
        if result.study is None:  # the machine's numbers, entered as values
            body.append('<p class="note values-only">Values entered, no waveforms: the '
                        "latencies, amplitudes and areas below are the EMG system's own "
                        "measures, not re-measured here.</p>")
        elif plots:
            verdicts = None if cb_outcome is None else cb_outcome.segment_verdicts[i]
            ax = plot_nerve(result, verdicts=verdicts, negative_up=negative_up,
                            rule_set=cb_rule_set)
            caption = (f"{title}: CMAPs distal (top) to proximal, "
                       f"{'negative up' if negative_up else 'negative down'}; markers at onset (▼), "
                       "negative peak (●) and end of the negative phase (▲)")
            if cb_outcome is not None:
                caption += f"; segments with a {cb_outcome.rule_set_id} verdict bracketed"
            body.append(figure_html(ax.figure, caption=caption, image_format=image_format,
                                    dpi=dpi, gid=f"plot-nerve-{i}", cls="traces"))
        body.append(nerve_tables_html(result))
        body.append("</div>")
        panel = f_wave_panel_html(result, i, plots=plots, image_format=image_format, dpi=dpi,
                                  negative_up=negative_up)
        if panel:  # the nerve's F-wave train
            body.append(panel)
        if outcomes:
            body.append(nerve_verdicts_html(outcomes, i))
        body.append("</section>")

    sensory_table = None  # the sensory limits used: read once, cited in the footer
    if case.sensory:
        from ..analysis.sensory import resolve_sensory_limits

        sensory_table = resolve_sensory_limits(sensory_limits)
        body.append(_sensory_html(case.sensory, sensory_table, plots=plots,
                                  image_format=image_format, dpi=dpi, negative_up=negative_up))
    if results and plots:
        figures = []
        if any(r.segments for r in results):
            seg_verdicts = None if cb_outcome is None else dict(enumerate(cb_outcome.segment_verdicts))
            ax = plot_segments(results, rule_set=cb_rule_set, verdicts=seg_verdicts,
                               thresholds="auto" if cb_rule_set else None)
            figures.append(figure_html(ax.figure, caption="Segment drops and duration increases "
                                       f"against the thresholds of {cb_rule_set or 'no rule set'}",
                                       image_format=image_format, dpi=dpi, gid="plot-segments",
                                       cls="summary"))
        ax = plot_tli(results)
        figures.append(figure_html(ax.figure, caption="Terminal latency index per nerve against "
                                   "0.25 (CIDP-MAG) and the Cocito 2001 cut-offs",
                                   image_format=image_format, dpi=dpi, gid="plot-tli",
                                   cls="summary"))
        # the heading stays with the first plot; each plot is kept whole
        body.append('<section class="summary-plots"><div class="keep"><h2>Summary plots</h2>'
                    f"{figures[0]}</div>")
        body.extend(figures[1:])
        body.append("</section>")
    body.append(footer_html(__version__, outcomes, limits_obj, markers=markers,
                            sensory_limits=sensory_table))
    title = f"Nerve conduction report {case.case_id or ''}".strip()
    css = print_css(paper,
                    running_left=f"{heading} \u2014 case {case.case_id or 'not given'}",
                    running_right=f"study {case.study_date}" if case.study_date else "",
                    footer_left=f"nerveconduct {__version__} \u2014 research and teaching aid")
    return page(title, "\n".join(body), css=css)


def _sensory_html(studies: Sequence[Any], limits: Any, **options: Any) -> str:
    """The sensory section (:mod:`.sensory`) of the case's sensory studies, judged against
    ``limits`` (a SensoryLimits, a lab's file, or ``None``: the default table)."""
    from ..analysis.sensory import analyze_sensory
    from .sensory import sensory_section_html

    results = analyze_sensory(list(studies), limits=limits)
    return sensory_section_html(results, list(studies), **options)


def write_html(
    case: Case | Sequence[NerveStudy],
    path: str | os.PathLike[str],
    *,
    criteria: Sequence[str] = DEFAULT_REPORT_CRITERIA,
    limits: NormalLimits | str | os.PathLike[str] | None = None,
    keep_identifiers: bool = False,
    overwrite: bool = False,
    image_format: str = "png",
    negative_up: bool = True,
    dpi: float = 110.0,
    plots: bool = True,
    paper: str = "a4",
    values_results: Sequence[Any] = (),
    markers: Sequence[Any] | None = None,
    sensory_limits: Any = None,
) -> Path:
    """Write the self-contained, printable HTML report of a case.

    Parameters
    ----------
    case : Case or list of NerveStudy
        The studies, with the clinical items (CIDP-MAG), MMN inputs and paraprotein context
        when a :class:`~nerveconduct.model.Case` gives them.
    path : str or PathLike
        Output ``.html`` file; its folder must exist.
    criteria : sequence of str
        Rule-set ids to apply (default EFNS/PNS 2010 MMN and EAN/PNS 2021 CIDP); the plots
        show the verdicts and thresholds of one of them: on a case with MMN inputs the MMN
        rule set, else the one with the strongest patient-level verdict
        (:func:`nerveconduct.report.context.plotted_outcome`).
    limits : NormalLimits, path or None
        Normal limits (default: the textbook table), or a lab's CSV/TOML file.
    keep_identifiers : bool, default False
        Show patient name/ID from the studies' metadata and the source file names.
    overwrite : bool, default False
        Replace an existing file.
    image_format : {"png", "svg"}
        Embed the plots as base64 PNG or inline SVG.
    negative_up : bool, default True
        Display polarity of the traces.
    dpi : float, default 110
        Resolution of the embedded PNG plots (dots per inch).
    plots : bool, default True
        Include the plots (False: tables and verdicts only, much faster for many cases).
    paper : {"a4", "letter"}, default "a4"
        Page size the print layout is made for (``@page { size: … }``).
    values_results : sequence of NerveResult
        Nerves entered as values (:func:`~nerveconduct.analysis.analyze_values`), after the
        case's own.
    markers : sequence of Marker, optional
        Hand-set markers applied to the studies.
    sensory_limits : SensoryLimits, path or None
        Sensory normal limits for ``case.sensory`` (default: the textbook antidromic table,
        :meth:`~nerveconduct.limits.SensoryLimits.default`), or a lab's CSV/TOML file.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False (the message names the path).
    FileNotFoundError
        The folder of ``path`` does not exist.
    TypeError
        ``case`` is not a Case or a list of NerveStudy; ``limits`` or ``criteria`` of a
        wrong type.
    ValueError
        ``image_format`` is not ``"png"`` or ``"svg"``; ``paper`` is not ``"a4"`` or
        ``"letter"``.
    KeyError
        An unknown rule-set id (the message lists the known ones).

    Notes
    -----
    The file is written to a temporary file in the same folder, fsynced and moved into place
    (:func:`nerveconduct.io._atomic.atomic_write`), so a reader never sees half a report.
    """
    out = Path(path)
    check_target(out, overwrite=overwrite)  # fail before the (slow) rendering
    text = render_html(case, criteria=criteria, limits=limits, keep_identifiers=keep_identifiers,
                       image_format=image_format, negative_up=negative_up, dpi=dpi, plots=plots,
                       paper=paper, values_results=values_results, markers=markers,
                       sensory_limits=sensory_limits)
    with atomic_write(out, overwrite=overwrite, newline="") as fh:  # newlines as rendered
        fh.write(text)
    return out
