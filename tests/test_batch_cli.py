"""``nerveconduct batch``: the command over nerveconduct.batch.engine.run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nerveconduct.batch.engine import run
from nerveconduct.batch.output import partial_paths
from nerveconduct_cli.batch_cmd import _ProgressBar
from nerveconduct_cli.main import main
from test_batch import make_archive


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("batch-cli")


def invoke(*args: str):
    return CliRunner().invoke(main, ["batch", *args], catch_exceptions=False)


def test_basic_same_output_as_run(archive, folder):
    expected = folder / "api.csv"
    run(archive, expected, table="segment", criteria=("efns-pns-2010-mmn",), chunk_rows=100)
    out = folder / "cli.csv"
    result = invoke(str(archive), "-o", str(out), "--table", "segment", "--chunk-rows", "50",
                    "--criteria", "efns-pns-2010-mmn")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == expected.read_bytes()
    assert "traces/s" in result.stderr and f"wrote {out}" in result.stderr


def test_failed_nerves_exit_3(archive, folder):
    import h5py

    damaged = make_archive(folder / "damaged.h5")
    with h5py.File(damaged, "r+") as f:
        f["nerves/sampling_rate_hz"][4] = 0.0  # makes nerve 4 an invalid study
    out = folder / "damaged.jsonl"
    result = invoke(str(damaged), "-o", str(out), "-q")
    assert result.exit_code == 3
    assert "1 nerve(s) failed" in result.stderr
    assert out.read_text().splitlines()[4].startswith('{"nerve_index": 4, "record": "failure"')


@pytest.mark.parametrize("args, code, text", [
    (["-o", "x.json"], 2, "got '.json'; did you mean '.jsonl'?"),
    (["-o", "x.json"], 2, "suffix must be one of ['.jsonl', '.csv'"),
    (["-o", "x.jsonl", "--jobs", "0"], 2, "--jobs"),
    (["-o", "x.jsonl", "--table", "site"], 2, "--table"),
    (["-o", "x.jsonl", "--criteria", "no-such-rules"], 2, "no-such-rules"),
])
def test_raises_usage_errors(archive, folder, args, code, text):
    args = [a if a != "x.jsonl" and a != "x.json" else str(folder / a) for a in args]
    result = CliRunner().invoke(main, ["batch", str(archive), *args])
    assert result.exit_code == code
    assert text in result.output + result.stderr


def test_raises_existing_output_one_line(archive, folder):
    out = folder / "exists.jsonl"
    out.write_text("keep me")
    result = CliRunner().invoke(main, ["batch", str(archive), "-o", str(out), "-q"])
    assert result.exit_code == 1
    assert "--overwrite" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "keep me"


def test_resume_flag_and_mismatch(archive, folder):
    out = folder / "resumed.jsonl"
    data_path, log_path = partial_paths(out)
    data_path.write_bytes(b"")
    log_path.write_bytes(b'{"kind": "nerveconduct-batch-partial", "version": 1, '
                         b'"fingerprint": {"table": "segment"}}\n'
                         b'{"next_nerve": 0, "bytes": 0, "n_failed": 0, "n_traces": 0}\n')
    result = CliRunner().invoke(main, ["batch", str(archive), "-o", str(out), "--resume", "-q"])
    assert result.exit_code == 1
    assert "other options" in result.stderr and "table: was 'segment', now 'nerve'" in result.stderr
    result = invoke(str(archive), "-o", str(out), "--overwrite", "-q")
    assert result.exit_code == 0 and out.exists() and not data_path.exists()


def test_progress_bar_counts_traces():
    bar = _ProgressBar(enabled=True)
    bar(100, 1000)
    bar(600, 1000)
    assert bar.bar.pos == 600 and bar.bar.length == 1000
    assert bar._rate(None).endswith("traces/s")
    bar.close()
    silent = _ProgressBar(enabled=False)
    silent(5, 10)
    assert silent.bar is None
