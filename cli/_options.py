"""One command-line vocabulary: the options every command shares and how their values are read.

- :func:`common_options` -- ``-q/--quiet``, ``-v/--verbose`` (repeatable) and ``--debug`` on
  every command (they are accepted before the command name too, on the group);
- :class:`Vocabulary` -- an option value from a fixed set, with deprecated spellings accepted
  (one note on stderr) and a "did you mean" for a near miss;
- :func:`table_option`, :func:`jobs_option`, :func:`file_format_option` -- the same option for
  the same thing in every command;
- :func:`deprecated_alias` -- a hidden old option name that still works (one note on stderr);
- :func:`configure_logging` -- the library's logger (``nerveconduct``) on stderr: WARNING by
  default, INFO with ``-v``, DEBUG with ``-vv``, errors only with ``-q``.

The state of ``-q``/``-v``/``--debug`` lives in the click context's ``meta`` (shared by the
group and its commands), so ``nerveconduct -v analyze …`` and ``nerveconduct analyze … -v``
mean the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from nerveconduct import check_option

__all__ = [
    "QUIET", "VERBOSE", "DEBUG", "TABLES", "SENSORY_TABLE", "ANALYZE_TABLES", "TABLE_ALIASES",
    "Vocabulary", "common_options",
    "configure_logging", "deprecated_alias", "deprecation", "file_format_option", "is_debug",
    "is_quiet", "jobs_option", "table_option", "verbosity", "SuggestingGroup",
]

QUIET, VERBOSE, DEBUG = "nerveconduct.quiet", "nerveconduct.verbose", "nerveconduct.debug"

#: ``--table``: one row per site, per segment or per nerve (singular, in every command).
TABLES = ("site", "segment", "nerve")
#: ``--table`` of the sensory studies (``analyze``): one row per sensory study.
SENSORY_TABLE = "sensory"
#: ``analyze --table``: the motor tables and the sensory one.
ANALYZE_TABLES = (*TABLES, SENSORY_TABLE)
#: Old spellings of ``--table`` values (``analyze`` used plurals): accepted, with a note.
TABLE_ALIASES = {"sites": "site", "segments": "segment", "nerves": "nerve"}

#: The library's logger; the CLI's own loggers are its children (``nerveconduct.cli``).
LIBRARY_LOGGER = "nerveconduct"


# ---------------------------------------------------------------------------- state
def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def is_quiet() -> bool:
    """Whether ``-q/--quiet`` was given (before or after the command name)."""
    return bool(_meta().get(QUIET))


def verbosity() -> int:
    """How many ``-v`` were given (before and after the command name together)."""
    return int(_meta().get(VERBOSE, 0))


def is_debug() -> bool:
    """Whether ``--debug`` was given (before or after the command name)."""
    return bool(_meta().get(DEBUG))


class _StderrHandler(logging.Handler):
    """Log records as ``nerveconduct: LEVEL: message`` on the current stderr (looked up at each
    record, so a test runner's captured stderr gets them too)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # noqa: BLE001 -- logging must never break the command
            self.handleError(record)


_HANDLER = _StderrHandler()
_HANDLER.setFormatter(logging.Formatter("nerveconduct: %(levelname)s: %(message)s"))


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Show the ``nerveconduct`` logger on stderr: WARNING, INFO (``-v``), DEBUG (``-vv``);
    ERROR only with ``-q``."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.propagate = False  # the command owns stderr: no second copy from the root logger
    if quiet:
        level = logging.ERROR
    else:
        level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logger.setLevel(level)
    _HANDLER.setLevel(level)


def _store(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if key == VERBOSE:
            ctx.meta[key] = int(ctx.meta.get(key, 0)) + int(value or 0)
        elif value:
            ctx.meta[key] = True
        configure_logging(verbosity(), is_quiet())

    return callback


def common_options(fn: Callable) -> Callable:
    """``-q/--quiet``, ``-v/--verbose`` and ``--debug`` (the same on every command)."""
    options = [
        click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_store(QUIET),
                     is_eager=True,
                     help="Only results and errors: no progress, no messages on stderr."),
        click.option("-v", "--verbose", count=True, expose_value=False, callback=_store(VERBOSE),
                     is_eager=True,
                     help="More messages on stderr: -v what is done (INFO), -vv details (DEBUG)."),
        click.option("--debug", is_flag=True, expose_value=False, callback=_store(DEBUG),
                     is_eager=True,
                     help="Show the full traceback when the command fails."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


# ---------------------------------------------------------------------------- values
def deprecation(old: str, new: str) -> None:
    """One line on stderr: ``old`` still works but ``new`` is the spelling to use."""
    if not is_quiet():
        click.echo(f"note: {old} is deprecated; use {new}", err=True)


class Vocabulary(click.ParamType):
    """A value from ``choices``; ``aliases`` (old spellings) are accepted with a note on stderr;
    anything else is a usage error listing the choices, with a "did you mean" for a near miss.

    ``refused`` maps values that belong to the vocabulary but not to this command to the
    reason (e.g. ``batch --table site``).
    """

    name = "choice"

    def __init__(self, choices: Sequence[str], aliases: Mapping[str, str] | None = None,
                 refused: Mapping[str, str] | None = None) -> None:
        self.choices = tuple(choices)
        self.aliases = dict(aliases or {})
        self.refused = dict(refused or {})

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:  # noqa: D102
        return "[" + "|".join(self.choices) + "]"

    def shell_complete(self, ctx, param, incomplete):  # noqa: D102 (click API)
        from click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in self.choices if c.startswith(incomplete)]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:  # noqa: D102
        if value in self.choices:
            return value
        text = str(value)
        if text in self.aliases:
            flag = param.opts[-1] if param is not None and param.opts else "the value"
            deprecation(f"{flag} {text}", f"{flag} {self.aliases[text]}")
            return self.aliases[text]
        if text in self.refused:
            self.fail(f"{text!r}: {self.refused[text]}", param, ctx)
        lowered = {c.lower(): c for c in self.choices}
        if text.lower() in lowered:  # another letter case: the same word
            return lowered[text.lower()]
        try:
            check_option("the value", text, self.choices)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return text  # pragma: no cover (check_option raised)


def table_option(choices: Sequence[str] = TABLES, *, default: str, help_text: str,
                 refused: Mapping[str, str] | None = None):
    """``--table site|segment|nerve`` (old plural spellings accepted with a note)."""
    aliases = {old: new for old, new in TABLE_ALIASES.items() if new in choices}
    return click.option("--table", type=Vocabulary(choices, aliases, refused), default=default,
                        show_default=True, help=help_text)


def file_format_option(formats: Sequence[str], *, help_text: str,
                       aliases: Mapping[str, str] | None = None):
    """``-f/--format`` of a command that writes files; default: from the output's suffix."""
    return click.option("-f", "--format", "fmt", type=Vocabulary(formats, aliases), default=None,
                        help=help_text)


def jobs_option(help_text: str):
    """``-J/--jobs N`` (where there is parallel work)."""
    return click.option("-J", "--jobs", type=click.IntRange(min=1), default=None, help=help_text)


def deprecated_alias(old: str, new: str, dest: str, *, multiple: bool = False):
    """A hidden option ``old`` that sets ``dest`` like ``new`` does, with a note on stderr.

    The value is stored under ``ctx.meta["nerveconduct.alias." + dest]``; the command reads it
    with :func:`alias_value`.
    """

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value in (None, ()):
            return
        deprecation(old, new)
        ctx.meta[f"nerveconduct.alias.{dest}"] = value

    return click.option(old, f"_alias_{dest}_{old.lstrip('-').replace('-', '_')}",
                        multiple=multiple, default=None, hidden=True, expose_value=False,
                        callback=callback, metavar="ID")


def alias_value(dest: str, given: Any) -> Any:
    """``given`` (the new option's value) if given, else a deprecated alias's value, else None."""
    if given not in (None, ()):
        return given
    return _meta().get(f"nerveconduct.alias.{dest}")


# ---------------------------------------------------------------------------- commands
class SuggestingGroup(click.Group):
    """A click group whose "No such command" says "did you mean …" for a near miss
    (``nerveconduct analyse``), and whose commands all take the common options."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # noqa: D102 (click API)
        name = click.utils.make_str(args[0]) if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = self.list_commands(ctx)
            lowered = {c.lower(): c for c in known}
            if name.lower() in lowered:  # ANALYZE: the same command
                return super().resolve_command(ctx, [lowered[name.lower()], *args[1:]])
            try:
                check_option("the command", name, known)
            except ValueError as exc:
                hint = str(exc).partition("; did you mean ")[2]
                where = ctx.command_path
                text = f"No such command {name!r}."
                text += (f" Did you mean {hint.rstrip('?')}?" if hint else
                         f" Commands: {', '.join(known)} ('{where} --help' says what each does).")
                ctx.fail(text)
        return super().resolve_command(ctx, args)
