"""The ``nerveconduct`` command: the group, ``--version``, ``--debug`` and the exit codes.

Every command lives in its own module and registers here in :data:`COMMAND_MODULES`
(``name: "module:attribute"``). Modules are imported only when their command runs (or help
lists it), so ``nerveconduct --version`` and each command start fast. To add a command group
(e.g. the scale issue's ``batch``), add its entry: nothing else changes.

Named library errors are turned into one line on stderr and exit code 1 in ONE place,
:meth:`NerveConductGroup.invoke` (see :mod:`nerveconduct_cli.errors`); click's usage errors
exit with 2; commands that finish with failed records exit with 3; Ctrl-C exits with 130 and
a closed stdout (``nerveconduct analyze … | head``) ends quietly with 141.

The options every command shares (``-q``, ``-v``, ``--debug``) are accepted before the
command name and after it (:mod:`nerveconduct_cli._options`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback

import click

from ._options import SuggestingGroup, common_options, is_debug
from .errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, named_errors, to_command_error

__all__ = ["main", "COMMAND_MODULES", "NerveConductGroup"]

#: Commands of the group: name -> ``"module:attribute"`` relative to this package.
COMMAND_MODULES: dict[str, str] = {
    "demo": "demo:demo",
    "analyze": "analyze:analyze",
    "score": "score:score",
    "criteria": "criteria_cmd:criteria",
    "simulate": "simulate_cmd:simulate",
    "convert": "convert:convert",
    "validate": "validate:validate",
    "report": "report_cmd:report",
    "plot": "plot_cmd:plot",
    "batch": "batch_cmd:batch",
    "export-bids": "export_bids:export_bids",
    "review": "review:review",
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's last flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass


class NerveConductGroup(SuggestingGroup):
    """A click group that loads its commands lazily from :data:`COMMAND_MODULES`, suggests a
    command for a near miss, and maps the library's named errors to one line and exit code 1,
    Ctrl-C to exit code 130 and a closed stdout to a quiet exit (141)."""

    def _module(self, name: str) -> str | None:
        entry = COMMAND_MODULES.get(name)
        if entry is None:
            return None
        qualified = f"{__package__}.{entry.split(':')[0]}"
        return qualified if importlib.util.find_spec(qualified) is not None else None

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: D102 (click API)
        return sorted(set(super().list_commands(ctx)) | {n for n in COMMAND_MODULES if self._module(n)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:  # noqa: D102
        module = self._module(name)
        if module is None:
            return super().get_command(ctx, name)
        return getattr(importlib.import_module(module), COMMAND_MODULES[name].split(":")[1])

    def main(self, *args, prog_name: str | None = None, **kwargs):  # noqa: D102 (click API)
        return super().main(*args, prog_name=prog_name or "nerveconduct", **kwargs)

    def invoke(self, ctx: click.Context):  # noqa: D102 (click API)
        try:
            value = super().invoke(ctx)
            sys.stdout.flush()  # a reader that went away is noticed here, not at exit
            return value
        except BrokenPipeError:
            _quiet_stdout()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except KeyboardInterrupt:
            if is_debug():
                traceback.print_exc(file=sys.stderr)
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except named_errors() as exc:
            if is_debug():
                traceback.print_exception(exc, file=sys.stderr)
            raise to_command_error(exc) from exc


#: Commands that measure waveforms (the first run after installing compiles the kernel).
MEASURING_COMMANDS = frozenset({"demo", "analyze", "score", "validate", "plot", "report", "batch",
                                "export-bids", "review"})


def _version() -> str:
    import nerveconduct

    return nerveconduct.__version__


@click.group("nerveconduct", cls=NerveConductGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(_version(), "--version", "-V", prog_name="nerveconduct",
                      message="%(prog)s %(version)s")
@common_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Motor nerve-conduction analysis: CMAP measures, conduction block, temporal dispersion,
    terminal latency index and published criteria.

    Results go to stdout (or -o FILE); progress and messages go to stderr.
    Exit codes: 0 success, 1 error, 2 usage error, 3 some files or records failed,
    130 interrupted (Ctrl-C).

    \b
    Start here:
      nerveconduct demo                      analyze the bundled samples
      nerveconduct analyze study.csv --sheet sheet.toml -f table
      nerveconduct criteria list

    Run 'nerveconduct COMMAND --help' for a command's options and an example.
    """
    ctx.ensure_object(dict)
    if ctx.invoked_subcommand in MEASURING_COMMANDS and "--help" not in sys.argv:
        from ._output import announce_first_compile

        announce_first_compile()
