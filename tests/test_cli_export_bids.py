"""``nerveconduct export-bids`` through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from nerveconduct.io.bids_read import read_bids
from nerveconduct.io.read import read
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli import main as main_module


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """The command as ``cli/main.py`` registers it (idempotent once it is listed there)."""
    monkeypatch.setitem(main_module.COMMAND_MODULES, "export-bids", "export_bids:export_bids")


def run(*args, code=0):
    result = CliRunner().invoke(main_module.main, ["export-bids", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def test_help_has_an_example():
    out = run("--help").stdout
    assert out.startswith("Usage: nerveconduct export-bids") and "Example" in out


def test_exports_a_case_with_its_sheet(tmp_path):
    root = tmp_path / "bids"
    result = run(sample_path("antimag.csv"), "--sheet", sample_path("antimag_case.toml"),
                 "-o", root, "--session", "01", "--power-line-frequency", "50",
                 "--no-derivatives")
    assert "wrote 2 nerve studies" in result.stderr and result.stdout == ""
    assert sorted(p.name for p in root.glob("sub-*/ses-01/emg/*_emg.edf")) == [
        "sub-SAMPLEANTIMAG_ses-01_task-ncs_run-1_emg.edf",
        "sub-SAMPLEANTIMAG_ses-01_task-ncs_run-2_emg.edf"]
    sidecar = json.loads(next(root.rglob("*_run-1_emg.json")).read_text())
    assert sidecar["PowerLineFrequency"] == 50.0
    original = read(sample_path("antimag.csv"), sheet=sample_path("antimag_case.toml"))
    back = read_bids(root)
    assert [(s.nerve, s.side, s.sites) for s in back] == [(s.nerve, s.side, s.sites)
                                                           for s in original]
    assert not (root / "derivatives").exists()


def test_derivatives_and_existing_output(tmp_path):
    root = tmp_path / "bids"
    run(sample_path("cidp_median.edf"), "-o", root)
    assert list(root.glob("derivatives/nerveconduct/sub-*/emg/*_desc-sites_measures.tsv"))
    again = run(sample_path("cidp_median.edf"), "-o", root, code=1)
    assert "exists" in again.stderr and "--overwrite" in again.stderr
    run(sample_path("cidp_median.edf"), "-o", root, "--overwrite")


def test_failed_inputs_and_bad_options(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Trace Label,a\n")
    partial = run(bad, sample_path("cidp_median.edf"), "-o", tmp_path / "b1", "--no-derivatives",
                  code=3)
    assert "skipped" in partial.stderr and read_bids(tmp_path / "b1")
    run(bad, "-o", tmp_path / "b2", code=1)
    assert not (tmp_path / "b2").exists()
    out = run(sample_path("cidp_median.edf"), "-o", tmp_path / "b3", "--subject", "--", code=1)
    assert "subject label" in out.stderr
    run(sample_path("cidp_median.edf"), "-o", tmp_path / "b4", "--power-line-frequency", "-5",
        code=2)
    afile = tmp_path / "file"
    afile.write_text("x")
    run(sample_path("cidp_median.edf"), "-o", afile, code=2)  # click: not a folder
