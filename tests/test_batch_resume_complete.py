"""``resume=True`` / ``--resume`` on an output that is already complete: nothing to do.

A finished run leaves ``OUT`` and no partial output (``OUT.partial`` and its sidecar are gone).
Resuming it must not fail with "output file exists" nor touch ``OUT``; it reports that nothing
was done (``BatchSummary.already_complete``; the command exits 0).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nerveconduct.batch.engine import run
from nerveconduct.batch.output import partial_paths
from nerveconduct.io.errors import ArchiveError
from nerveconduct_cli.main import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("resume-complete")


@pytest.fixture(scope="module")
def reference(archive, folder) -> Path:
    out = folder / "reference.jsonl"
    summary = run(archive, out, chunk_rows=40)
    assert not summary.already_complete and summary.n_ok is not None
    return out


@pytest.fixture
def complete(archive, reference, tmp_path) -> Path:
    """A finished output (a copy of the reference run), with no partial output beside it."""
    out = tmp_path / "done.jsonl"
    out.write_bytes(reference.read_bytes())
    return out


def _state(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _interrupt_after_first_chunk(done: int, total: int) -> None:
    raise KeyboardInterrupt  # as Ctrl-C right after the first checkpoint


# ------------------------------------------------------------------------------- library
def test_resume_on_complete_output_does_nothing(archive, complete):
    before = _state(complete)
    summary = run(archive, complete, resume=True, chunk_rows=40)
    assert summary.already_complete
    assert (summary.n_nerves, summary.n_traces, summary.n_resumed) == (120, 0, 0)
    assert summary.n_ok is None and summary.n_failed is None  # OUT is not read
    assert summary.out == complete and summary.traces_per_s == 0.0
    assert _state(complete) == before
    assert not any(p.exists() for p in partial_paths(complete))


def test_progress_is_not_called_when_nothing_to_do(archive, complete):
    calls = []
    run(archive, complete, resume=True, progress=lambda *a: calls.append(a))
    assert calls == []


def test_without_resume_a_complete_output_is_still_refused(archive, complete):
    before = _state(complete)
    with pytest.raises(FileExistsError, match="output file exists"):
        run(archive, complete)
    assert _state(complete) == before


def test_resume_with_overwrite_redoes_the_run(archive, complete, reference):
    complete.write_bytes(b"stale\n")
    summary = run(archive, complete, resume=True, overwrite=True, chunk_rows=40)
    assert not summary.already_complete and summary.n_ok == summary.n_nerves == 120
    assert complete.read_bytes() == reference.read_bytes()


def test_resume_without_output_runs_from_the_start(archive, reference, tmp_path):
    out = tmp_path / "fresh.jsonl"
    summary = run(archive, out, resume=True, chunk_rows=40)
    assert not summary.already_complete and summary.n_resumed == 0
    assert out.read_bytes() == reference.read_bytes()


def test_output_and_partial_run_need_overwrite_to_continue(archive, complete, reference):
    # an --overwrite run over a finished output, interrupted after its first chunk
    complete.write_bytes(b"older results\n")
    with pytest.raises(KeyboardInterrupt):
        run(archive, complete, overwrite=True, chunk_rows=40, progress=_interrupt_after_first_chunk)
    data_path, log_path = partial_paths(complete)
    assert data_path.exists() and log_path.exists()
    with pytest.raises(FileExistsError, match=r"partial run exists too.*--resume --overwrite"):
        run(archive, complete, resume=True, chunk_rows=40)
    assert complete.read_bytes() == b"older results\n"  # neither resumed nor "complete"
    summary = run(archive, complete, resume=True, overwrite=True, chunk_rows=40)
    assert not summary.already_complete and summary.n_resumed > 0
    assert complete.read_bytes() == reference.read_bytes()
    assert not data_path.exists() and not log_path.exists()


def test_the_archive_is_still_checked(complete, tmp_path):
    not_an_archive = tmp_path / "notes.h5"
    not_an_archive.write_text("not HDF5")
    with pytest.raises(ArchiveError, match="not an HDF5 file"):
        run(not_an_archive, complete, resume=True)


# ----------------------------------------------------------------------------------- CLI
def test_cli_resume_on_complete_output_exits_0(archive, complete):
    before = _state(complete)
    result = CliRunner().invoke(main, ["batch", str(archive), "-o", str(complete), "--resume"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == (f"nothing to do: {complete} already exists and no partial "
                                     "run was found (use --overwrite to redo it)")
    assert result.stdout == ""
    assert _state(complete) == before


def test_cli_resume_on_complete_output_quiet(archive, complete):
    before = _state(complete)
    result = CliRunner().invoke(main, ["batch", str(archive), "-o", str(complete), "--resume",
                                       "-q"], catch_exceptions=False)
    assert result.exit_code == 0 and result.stderr == ""
    assert _state(complete) == before


def test_cli_without_resume_still_exits_1(archive, complete):
    result = CliRunner().invoke(main, ["batch", str(archive), "-o", str(complete), "-q"])
    assert result.exit_code == 1 and "output file exists" in result.stderr
