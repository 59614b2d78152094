"""The CLI's shared pieces: atomic output, format choice, the error -> one line mapping."""

import errno
import io

import click
import pytest

from nerveconduct.io.errors import FormatError, SheetError
from nerveconduct.limits import LimitsFileError
from nerveconduct_cli import errors
from nerveconduct_cli._output import atomic_output, check_new_output, resolve_format


class TestAtomicOutput:
    def test_writes_on_success_only(self, tmp_path):
        out = tmp_path / "x.txt"
        with atomic_output(out) as fh:
            fh.write("hello")
            assert not out.exists()  # invisible until complete
        assert out.read_text() == "hello"
        assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]

    def test_failure_leaves_nothing_and_old_file_untouched(self, tmp_path):
        out = tmp_path / "x.txt"
        with pytest.raises(RuntimeError):
            with atomic_output(out) as fh:
                fh.write("half")
                raise RuntimeError("boom")
        assert list(tmp_path.iterdir()) == []
        out.write_text("old")
        with pytest.raises(RuntimeError):
            with atomic_output(out, overwrite=True) as fh:
                fh.write("new")
                raise RuntimeError("boom")
        assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]

    def test_never_clobbers_without_overwrite(self, tmp_path):
        out = tmp_path / "x.txt"
        with pytest.raises(FileExistsError):
            with atomic_output(out) as fh:
                fh.write("mine")
                out.write_text("someone else's")  # appeared while we were writing
        assert out.read_text() == "someone else's"
        with atomic_output(out, overwrite=True) as fh:
            fh.write("mine")
        assert out.read_text() == "mine"

    def test_check_new_output(self, tmp_path):
        (tmp_path / "f").write_text("")
        with pytest.raises(FileExistsError):
            check_new_output(tmp_path / "f", overwrite=False)
        assert check_new_output(tmp_path / "f", overwrite=True) == tmp_path / "f"
        with pytest.raises(IsADirectoryError):
            check_new_output(tmp_path, overwrite=True)
        with pytest.raises(NotADirectoryError):
            check_new_output(tmp_path / "f" / "g", overwrite=False)
        with pytest.raises(FileNotFoundError):
            check_new_output(tmp_path / "missing" / "g", overwrite=False)


class _Tty(io.StringIO):
    def isatty(self):
        return True


class TestResolveFormat:
    def test_rules(self, monkeypatch):
        assert resolve_format("csv", "x.json") == "csv"  # as given
        assert resolve_format(None, "out.JSON") == "json"
        assert resolve_format(None, "out.ndjson") == "jsonl"
        assert resolve_format(None, "out.csv") == "csv"
        assert resolve_format(None, "out.txt") == "table"
        monkeypatch.setattr("sys.stdout", io.StringIO())
        assert resolve_format(None, None) == "jsonl"  # a pipe or a file: for programs
        monkeypatch.setattr("sys.stdout", _Tty())
        assert resolve_format(None, None) == "table"  # a terminal: for people


class TestErrorMapping:
    def test_named_errors_are_mapped(self):
        named = errors.named_errors()
        for exc in (FormatError("bad", path="a.csv"), SheetError("x", path="s.toml"),
                    LimitsFileError("l.csv: bad"), FileNotFoundError(2, "No such file", "a.csv")):
            assert isinstance(exc, named)
        assert not isinstance(KeyError("bug"), named)  # anything else is a bug: traceback kept

    def test_one_line_with_file_and_hint(self):
        line = errors.one_line(FormatError("non-numeric\nsample", path="a.csv", location="line 3"))
        assert line == ("a.csv, line 3: non-numeric sample; run 'nerveconduct validate FILE' to "
                        "list every problem in the file")
        line = errors.one_line(FileExistsError(errno.EEXIST, "output file exists", "out.json"))
        assert line == "out.json: output file exists; pass --overwrite to replace it"
        assert errors.one_line(SheetError("missing", path="s.toml")).endswith("docs/cli.md")

    def test_command_error_exit_code(self):
        err = errors.to_command_error(PermissionError(errno.EACCES, "denied", "/x"))
        assert isinstance(err, click.ClickException) and err.exit_code == errors.EXIT_ERROR == 1
        assert (errors.EXIT_OK, errors.EXIT_USAGE, errors.EXIT_PARTIAL) == (0, 2, 3)
