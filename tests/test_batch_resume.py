"""Resuming an interrupted batch run: killed with SIGKILL, or cut in the middle of a row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nerveconduct.batch.engine import BatchResumeError, run
from nerveconduct.batch.output import partial_paths
from nerveconduct.io.archive import open_archive
from test_batch import interrupt, make_archive

REPO_ROOT = Path(__file__).resolve().parent.parent

# A run that writes slowly (a pause after each chunk), so that it can be killed mid-way.
_SLOW_RUN = """
import sys, time
from nerveconduct.batch.engine import run
run(sys.argv[1], sys.argv[2], chunk_rows=int(sys.argv[3]),
    progress=lambda done, total: time.sleep(0.15))
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("resume")


@pytest.fixture(scope="module")
def uninterrupted(archive, folder) -> dict[str, Path]:
    outs = {"jsonl": folder / "clean.jsonl", "csv": folder / "clean.csv"}
    for out in outs.values():
        run(archive, out)
    return outs


def _checkpoints(out: Path) -> int:
    log = partial_paths(out)[1]
    return log.read_bytes().count(b"\n") - 1 if log.exists() else 0


def test_sigkill_then_resume_gives_identical_bytes(archive, folder, uninterrupted):
    out = folder / "killed.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, str(archive), str(out), "20"],
                            env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _checkpoints(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, stderr.decode()
    data_path = partial_paths(out)[0]
    assert not out.exists() and data_path.exists()  # killed mid-way: nothing final yet
    written = data_path.read_bytes()
    assert 0 < len(written) < len(uninterrupted["jsonl"].read_bytes())

    summary = run(archive, out, resume=True, chunk_rows=53)
    assert out.read_bytes() == uninterrupted["jsonl"].read_bytes()
    assert summary.n_resumed >= 3 and summary.n_ok == summary.n_nerves
    assert not data_path.exists() and not partial_paths(out)[1].exists()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_row_cut_in_the_middle_is_dropped_and_redone(archive, folder, uninterrupted, fmt,
                                                     monkeypatch, stop_batch_after):
    """A run stops after a few chunks; the partial file then ends in half a row and garbage."""
    out = folder / f"cut.{fmt}"
    stop_batch_after(3)
    with pytest.raises(KeyboardInterrupt):
        run(archive, out, chunk_rows=30)
    monkeypatch.undo()
    data_path = partial_paths(out)[0]
    clean = uninterrupted[fmt].read_bytes()
    kept = data_path.read_bytes()
    assert clean.startswith(kept) and kept.count(b"\n") > 3
    with open(data_path, "ab") as fh:  # the killed writer got half of the next rows out
        fh.write(clean[len(kept):len(kept) + 700] + b"\x00garbage")
    with open(partial_paths(out)[1], "ab") as fh:  # ... and half a checkpoint line
        fh.write(b'{"next_nerve": 9')

    summary = run(archive, out, resume=True, chunk_rows=30)
    assert out.read_bytes() == clean
    assert summary.n_resumed > 0
    with open_archive(archive) as arc:  # traces analyzed by the resumed run: the rest
        assert summary.n_traces == arc.n_traces - int(arc.nerve_row_ranges()[summary.n_resumed, 0])


def test_resume_without_partial_starts_from_scratch(archive, folder, uninterrupted):
    out = folder / "fresh.jsonl"
    summary = run(archive, out, resume=True)
    assert summary.n_resumed == 0 and out.read_bytes() == uninterrupted["jsonl"].read_bytes()


def test_raises_resume_of_another_archive(archive, folder, monkeypatch):
    out = folder / "other.jsonl"
    monkeypatch.setattr("nerveconduct.batch.engine.process_chunk_range", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(archive, out)
    monkeypatch.undo()
    other = make_archive(folder / "other.h5")
    with pytest.raises(BatchResumeError, match="archive"):
        run(other, out, resume=True)
    log = partial_paths(out)[1]
    header = json.loads(log.read_text().splitlines()[0])
    assert header["fingerprint"]["archive"]["name"] == "population.h5"


def test_raises_damaged_sidecar(archive, folder):
    out = folder / "bad-sidecar.jsonl"
    data_path, log_path = partial_paths(out)
    data_path.write_bytes(b"")
    log_path.write_bytes(b"not json\n")
    with pytest.raises(BatchResumeError, match="line 1 is not valid JSON"):
        run(archive, out, resume=True)
    log_path.unlink()
    with pytest.raises(BatchResumeError, match="sidecar .* is missing"):
        run(archive, out, resume=True)
