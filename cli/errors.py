"""Exit codes and the one mapping from named library errors to a one-line message.

=====  =====================================================================
code   meaning
=====  =====================================================================
0      success
1      an error: one line on stderr naming what failed, on which file, and
       what to do (the traceback only with ``nerveconduct --debug``)
2      a usage error (unknown option, bad option value, unknown criteria id)
3      the command finished but some files/records failed; each failure is
       listed in the output with its error
=====  =====================================================================

Only the named errors below are mapped; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re

import click

__all__ = [
    "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_PARTIAL", "EXIT_INTERRUPTED", "EXIT_BROKEN_PIPE",
    "CommandError", "cli_words", "named_errors", "one_line", "to_command_error",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
#: Ctrl-C (128 + SIGINT), as a shell reports a command stopped by it.
EXIT_INTERRUPTED = 130
#: The reader of stdout went away (``nerveconduct analyze … | head``): 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141

#: Library messages written for Python callers name keyword arguments; the command line says
#: its options instead. Whole phrases first (they already name the option), then keywords.
_CLI_PHRASES: tuple[tuple[str, str], ...] = (
    ("resume=True, overwrite=True (--resume --overwrite)", "--resume --overwrite"),
    ("(resume=True, --resume)", "(--resume)"),
    ("(overwrite=True, --overwrite)", "(--overwrite)"),
    ("overwrite=True (--overwrite)", "--overwrite"),
    ("pass overwrite=True to replace it or append=True to add studies to it",
     "pass --overwrite to replace it"),
    ("(scheduler=...)", "(--scheduler)"),
)
_CLI_KEYWORDS = re.compile(r"\b(overwrite|resume|keep_identifiers)=True\b")


class CommandError(click.ClickException):
    """A command failed on a named error: one line, exit code 1."""

    exit_code = EXIT_ERROR


def named_errors() -> tuple[type[BaseException], ...]:
    """The library's named errors (and OS errors on files) that exit with code 1."""
    from nerveconduct.criteria import RuleSetError
    from nerveconduct.io import NerveConductIOError
    from nerveconduct.limits import LimitsFileError
    from nerveconduct.model import InvalidStudyError

    return (NerveConductIOError, LimitsFileError, InvalidStudyError, RuleSetError, OSError)


def _hint(exc: BaseException) -> str:
    """What the user can do about ``exc``."""
    from nerveconduct.criteria import RuleSetError
    from nerveconduct.io import ArchiveError, FormatError, SheetError, UnknownFormatError
    from nerveconduct.limits import LimitsFileError
    from nerveconduct.model import InvalidStudyError

    hints: tuple[tuple[type[BaseException], str], ...] = (
        (FileExistsError, "pass --overwrite to replace it"),
        (IsADirectoryError, "give a file name, not a directory"),
        (NotADirectoryError, "choose a path inside an existing directory"),
        (PermissionError, "choose a path you can write to (or read), or fix its permissions"),
        (FileNotFoundError, "check the path: does the file (or its directory) exist?"),
        (SheetError, "fix the study sheet: see 'Study sheets' in docs/cli.md"),
        (UnknownFormatError, "nerveconduct reads trace CSV, Nihon Kohden TXT, EDF+D and its "
                             "HDF5 archives; run 'nerveconduct validate FILE' for details"),
        (FormatError, "run 'nerveconduct validate FILE' to list every problem in the file"),
        (ArchiveError, "run 'nerveconduct validate FILE' to check the archive"),
        (LimitsFileError, "fix the limits file: see 'Normal limits' in docs/cli.md"),
        (InvalidStudyError, "fix the study's sites, distances or traces (a sheet can give them)"),
        (RuleSetError, "fix the rule-set table: see docs/criteria.md"),
        (OSError, "check the path and the disk"),
    )
    for kind, text in hints:
        if isinstance(exc, kind):
            return text
    return "run with --debug for the traceback"


def cli_words(text: str) -> str:
    """``text`` with the Python keywords of library messages (``overwrite=True``) said as the
    command line's options (``--overwrite``)."""
    for python, cli in _CLI_PHRASES:
        text = text.replace(python, cli)
    return _CLI_KEYWORDS.sub(lambda m: "--" + m.group(1).replace("_", "-"), text)


def one_line(exc: BaseException) -> str:
    """``exc`` as one line: the error's own message (naming the file) and a hint, in the
    command line's words."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    text = cli_words(" ".join(text.split()))
    hint = _hint(exc)
    return text if hint in text else f"{text}; {hint}"


def to_command_error(exc: BaseException) -> CommandError:
    """The :class:`CommandError` (exit 1) that reports ``exc`` in one line."""
    return CommandError(one_line(exc))
