"""``nerveconduct batch``: analyze a whole HDF5 archive into one results table, streaming."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Sequence

import click

from nerveconduct.batch import DEFAULT_CHUNK_ROWS, FORMATS, TABLES, run
from nerveconduct.batch import DaskMissingError
from nerveconduct.batch import BatchResumeError
from nerveconduct.criteria import DEFAULT_CRITERIA

from ._options import common_options, file_format_option, is_quiet, jobs_option, table_option
from ._output import file_format, message, overwrite_option
from ._pipeline import criteria_option, keep_identifiers_option, limits_option, load_limits_option, resolve_criteria
from .errors import EXIT_INTERRUPTED, EXIT_PARTIAL, CommandError, one_line

__all__ = ["batch", "resume_command"]

#: Output suffixes and the format each selects (the suffix sets the format): the engine's.
SUFFIX_FORMATS = {f".{fmt}": fmt for fmt in FORMATS}
_SUFFIXES_TEXT = ", ".join(SUFFIX_FORMATS)


class _ProgressBar:
    """A progress bar on stderr fed by ``run(progress=...)``: traces done, traces/s, ETA."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.started = time.perf_counter()
        self.first = 0
        self.closed = False

    def _rate(self, _item: object) -> str:
        seconds = time.perf_counter() - self.started
        done = (self.bar.pos if self.bar else 0) - self.first
        return f"{done / seconds:,.0f} traces/s" if seconds > 0 else ""

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="traces", file=sys.stderr,
                                         show_eta=True, show_percent=True, show_pos=True,
                                         item_show_func=self._rate)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos, done)

    def close(self) -> None:
        if self.bar is not None and not self.closed:
            self.closed = True
            self.bar.__exit__(None, None, None)


#: Runs of at least this many traces that worded every verdict get a hint about the flat tables.
SPEED_HINT_TRACES = 100_000


def speed_hint(table: str, fmt: str, reasons: bool, criteria: Sequence[str],
               n_traces: int) -> str | None:
    """A hint for a large run whose rows needed the verdicts' sentences, else ``None``."""
    worded = (table, fmt) == ("nerve", "jsonl") or reasons
    if n_traces < SPEED_HINT_TRACES or not worded or not criteria:
        return None
    what = "reason sentences (--reasons)" if reasons else "nested JSON Lines nerve records"
    return (f"hint: {what} word every verdict; --table segment (CSV or JSON Lines) or a "
            ".csv nerve table carry the same levels without sentences, several times faster "
            "(docs/batch.md)")


def resume_command(archive: str, out: str, *, table: str, criteria_ids: Sequence[str],
                   limits_path: str | None, reasons: bool, jobs: int | None,
                   chunk_rows: int, scheduler: str | None) -> str:
    """The command line that continues an interrupted run (the options that shaped the rows
    must be the same; jobs, chunk size and scheduler may differ but are kept)."""
    words = ["nerveconduct", "batch", archive, "-o", out]
    if table != "nerve":
        words += ["--table", table]
    for rid in criteria_ids:
        words += ["--criteria", rid]
    if limits_path:
        words += ["--limits", limits_path]
    if reasons:
        words.append("--reasons")
    if jobs:
        words += ["-J", str(jobs)]
    if chunk_rows != DEFAULT_CHUNK_ROWS:
        words += ["--chunk-rows", str(chunk_rows)]
    if scheduler:
        words += ["--scheduler", scheduler]
    return shlex.join([*words, "--resume"])


def _workers_ignore_ctrl_c(jobs: int | None, scheduler: str | None) -> None:
    """Start the fork server of the local worker processes with Ctrl-C (SIGINT) ignored.

    A terminal sends Ctrl-C to every process of the command, worker processes included; each
    would stop with a traceback of its own. Workers fork from the fork server and inherit
    its ignored SIGINT, so only this process sees Ctrl-C, and reports it in one line.
    (Without a fork server -- a platform that only spawns -- nothing changes.)
    """
    if scheduler is not None or (jobs or 1) <= 1:
        return
    import multiprocessing
    import signal
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    context = multiprocessing.get_context("forkserver")
    # the same preload as the local pool asks for (it takes effect when the server starts)
    context.set_forkserver_preload(["nerveconduct.batch.warm"])
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)
    # wait until the server has loaded what workers need: a Ctrl-C while workers are still
    # being started would leave them failing with tracebacks of their own
    ready = context.Process(target=int, daemon=True)
    ready.start()
    ready.join()


_SITE_REFUSED = {"site": "batch writes one row per nerve or per segment; for one row per site "
                         "use 'nerveconduct analyze ARCHIVE --table site -o sites.csv'"}


@click.command("batch")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help=f"Results file; the suffix sets the format: {_SUFFIXES_TEXT}.")
@file_format_option(FORMATS,
                    help_text=f"Output format: {', '.join(FORMATS)}. Default: from the -o "
                              "suffix, which must agree with it.")
@jobs_option("Worker processes (default 1: in this process). With --scheduler local: "
             "the LocalCluster's workers (default 2).")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=DEFAULT_CHUNK_ROWS,
              show_default=True, help="Trace rows per task (whole nerves): smaller gives finer "
                                      "progress, larger less overhead; never changes the results.")
@click.option("--scheduler", metavar="ADDR", default=None,
              help="Run on Dask: 'local' starts a LocalCluster; tcp://HOST:PORT uses a running "
                   "scheduler whose workers can read ARCHIVE at the same path. Needs "
                   "pip install 'nerveconduct[dask]'.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run (same archive and options); without one, "
                   "start from the beginning, or do nothing if OUT already exists.")
@overwrite_option()
@table_option(TABLES, default="nerve", refused=_SITE_REFUSED,
              help_text="One row per nerve (sites, segments, verdicts), one row per segment, or "
                        "one row per case ('patient': EAN/PNS 2021 and EFNS/PNS 2010 CIDP and "
                        "MMN levels, CIDP-MAG score range, nerve counts; --criteria and "
                        "--reasons do not apply, --resume is refused).")
@criteria_option()
@limits_option()
@click.option("--reasons", is_flag=True,
              help="Segment table: add each rule set's reasons column (the rule items with "
                   "thresholds and measured values; several times slower).")
@keep_identifiers_option()
@common_options
def batch(archive: str, out: str, fmt: str | None, jobs: int | None, chunk_rows: int,
          scheduler: str | None, resume: bool, overwrite: bool, table: str,
          criteria_ids: tuple[str, ...], limits_path: str | None, reasons: bool,
          keep_identifiers: bool) -> None:
    """Analyze every nerve of an HDF5 ARCHIVE into one results table (-o OUT).

    The archive is streamed chunk by chunk in constant memory; rows are written in nerve
    order as chunks finish, to OUT.partial, which becomes OUT when the run completes. An
    interrupted run continues with --resume (which does nothing when OUT is already
    complete). A nerve that cannot be read or analyzed is written as a failure row with its
    error (exit code 3); every nerve appears exactly once.
    Output columns and units: docs/batch.md.

    \b
    Examples:
      nerveconduct batch population.h5 -o results.jsonl -J 2
      nerveconduct batch population.h5 -o segments.csv --table segment --criteria all -J 2
      nerveconduct batch population.h5 -o results.jsonl --scheduler tcp://10.0.0.5:8786
      nerveconduct batch population.h5 -o results.jsonl --resume
      nerveconduct batch population.h5 -o patients.csv --table patient -J 2
    """
    fmt = file_format(out, fmt, SUFFIX_FORMATS)
    criteria = resolve_criteria(criteria_ids, default=DEFAULT_CRITERIA)
    limits = load_limits_option(limits_path)
    quiet = is_quiet()
    bar = _ProgressBar(enabled=not quiet and sys.stderr.isatty())
    try:
        _workers_ignore_ctrl_c(jobs, scheduler)
        summary = run(archive, out, jobs=jobs, chunk_rows=chunk_rows, scheduler=scheduler,
                      resume=resume, overwrite=overwrite, table=table, criteria=criteria,
                      limits=limits, reasons=reasons, keep_identifiers=keep_identifiers,
                      progress=bar)
    except (BatchResumeError, DaskMissingError) as exc:
        raise CommandError(one_line(exc)) from exc
    except KeyboardInterrupt:
        bar.close()
        again = resume_command(archive, out, table=table, criteria_ids=criteria_ids,
                               limits_path=limits_path, reasons=reasons, jobs=jobs,
                               chunk_rows=chunk_rows, scheduler=scheduler)
        click.echo(f"interrupted: the rows written so far are kept; continue with: {again}",
                   err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    finally:
        bar.close()
    if summary.already_complete:
        if not quiet:
            message(f"nothing to do: {out} already exists and no partial run was found (use "
                    "--overwrite to redo it)")
        return
    if not quiet:
        resumed = f", {summary.n_resumed} resumed" if summary.n_resumed else ""
        message(f"wrote {summary.out}: {summary.n_nerves} nerves ({summary.n_ok} ok, "
                f"{summary.n_failed} failed{resumed}); {summary.n_traces} traces in "
                f"{summary.seconds:.1f} s ({summary.traces_per_s:,.0f} traces/s)")
        hint = speed_hint(table, fmt, reasons, criteria, summary.n_traces)
        if hint:
            message(hint)
    if summary.n_failed:
        if quiet:
            message(f"{summary.n_failed} nerve(s) failed (failure rows in {summary.out})",
                    always=True)
        raise click.exceptions.Exit(EXIT_PARTIAL)
