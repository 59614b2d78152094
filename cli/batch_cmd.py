"""``nerveconduct batch``: analyze a whole HDF5 archive into one results table, streaming."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click

from nerveconduct import check_option
from nerveconduct.batch import DEFAULT_CHUNK_ROWS, DEFAULT_CRITERIA, TABLES, run
from nerveconduct.batch import DaskMissingError
from nerveconduct.batch import BatchResumeError

from ._output import message, overwrite_option
from ._pipeline import limits_option, load_limits_option, resolve_criteria
from .errors import EXIT_PARTIAL, CommandError, one_line

__all__ = ["batch"]

_SUFFIXES = (".jsonl", ".csv")


class _ProgressBar:
    """A progress bar on stderr fed by ``run(progress=...)``: traces done, traces/s, ETA."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.started = time.perf_counter()
        self.first = 0

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
        if self.bar is not None:
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


@click.command("batch")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Results file; the suffix sets the format: .jsonl (JSON Lines) or .csv.")
@click.option("-J", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default 1: in this process). With --scheduler local: "
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
@click.option("--table", type=click.Choice(TABLES), default="nerve", show_default=True,
              help="One row per nerve (sites, segments, verdicts) or one row per segment.")
@click.option("--criteria", "criteria_ids", multiple=True, metavar="ID",
              help="Rule set whose verdicts are added (repeatable; 'all', 'none'). Default: "
                   f"{', '.join(DEFAULT_CRITERIA)}. See 'nerveconduct criteria list'.")
@limits_option()
@click.option("--reasons", is_flag=True,
              help="Segment table: add each rule set's reasons column (the rule items with "
                   "thresholds and measured values; several times slower).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary on stderr.")
def batch(archive: str, out: str, jobs: int | None, chunk_rows: int, scheduler: str | None,
          resume: bool, overwrite: bool, table: str, criteria_ids: tuple[str, ...],
          limits_path: str | None, reasons: bool, quiet: bool) -> None:
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
      nerveconduct batch population.h5 -o segments.csv --table segment --criteria all
      nerveconduct batch population.h5 -o results.jsonl --scheduler tcp://10.0.0.5:8786
      nerveconduct batch population.h5 -o results.jsonl --resume
    """
    try:
        check_option("the suffix (it sets the format)", Path(out).suffix.lower(), _SUFFIXES)
    except ValueError as exc:
        raise click.BadParameter(f"{out!r}: {exc}", param_hint="'-o/--output'") from None
    criteria = resolve_criteria(criteria_ids, default=DEFAULT_CRITERIA)
    limits = load_limits_option(limits_path)
    bar = _ProgressBar(enabled=not quiet)
    try:
        summary = run(archive, out, jobs=jobs, chunk_rows=chunk_rows, scheduler=scheduler,
                      resume=resume, overwrite=overwrite, table=table, criteria=criteria,
                      limits=limits, reasons=reasons, progress=bar)
    except (BatchResumeError, DaskMissingError) as exc:
        raise CommandError(one_line(exc)) from exc
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
        hint = speed_hint(table, Path(out).suffix.lower().lstrip("."), reasons, criteria,
                          summary.n_traces)
        if hint:
            message(hint)
    if summary.n_failed:
        if quiet:
            message(f"{summary.n_failed} nerve(s) failed (failure rows in {summary.out})")
        raise click.exceptions.Exit(EXIT_PARTIAL)
