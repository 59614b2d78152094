"""Running the command line in-process, for the CLI tests (one definition)."""

from __future__ import annotations

from click.testing import CliRunner, Result

from nerveconduct_cli.main import main


def run(*args, code: int = 0) -> Result:
    """Run ``nerveconduct ARGS`` in-process; assert the exit code, re-raise a crash.

    A Python exception other than ``SystemExit`` is a crash, never an answer: it is raised
    here so the test shows its traceback.
    """
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result
