"""What a new user types: the ``nerveconduct`` console script in a subprocess, on the samples.

CI installs the package first (``pip install ".[test,dask]"``), so ``nerveconduct`` is on PATH
and runs the installed copy of this tree. In a bare checkout (nothing installed, or an
installed copy of other code) the same entry point, ``nerveconduct_cli.main:main``, runs with
``python -c`` and the test shim on PYTHONPATH (see conftest.py).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nerveconduct.simulate.samples import sample_path

REPO = Path(__file__).resolve().parent.parent


def _installed_script_runs_this_tree(script: str) -> bool:
    """True when the script's interpreter imports a nerveconduct_cli identical to cli/."""
    with open(script, "rb") as fh:
        first = fh.readline()
    if not first.startswith(b"#!"):
        return False
    interpreter = first[2:].decode().strip().split()[0]
    probe = subprocess.run([interpreter, "-c", "import nerveconduct_cli.main as m; print(m.__file__)"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return False
    installed = Path(probe.stdout.strip()).parent
    return all((installed / p.name).is_file() and (installed / p.name).read_bytes() == p.read_bytes()
               for p in (REPO / "cli").glob("*.py"))


@pytest.fixture(scope="module")
def nerveconduct_cmd(shim_pythonpath):
    """(argv prefix, environment) that runs the ``nerveconduct`` command."""
    env = dict(os.environ)
    script = shutil.which("nerveconduct")
    if script and _installed_script_runs_this_tree(script):
        return [script], env
    if shim_pythonpath is not None:
        env["PYTHONPATH"] = shim_pythonpath
    return [sys.executable, "-c", "from nerveconduct_cli.main import main; main()"], env


def _run(cmd, env, *args, cwd):
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_demo_from_any_directory(nerveconduct_cmd, tmp_path):
    cmd, env = nerveconduct_cmd
    done = _run(cmd, env, "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "CIDP-MAG score +5: anti-MAG pattern" in done.stdout
    assert "EFNS/PNS 2010 MMN category: definite" in done.stdout
    report = tmp_path / "nerveconduct-demo" / "report.html"
    assert f"Report: {Path('nerveconduct-demo') / 'report.html'}" in done.stdout
    assert report.is_file() and "SAMPLE-ANTIMAG" in report.read_text(encoding="utf-8")
    others = sorted(p.name for p in report.parent.glob("report-*.html"))
    assert len(others) == 8  # one per sample case; cidp_two_nerves (.csv and .h5) once
    assert {"report-cidp-two-nerves.html", "report-fwave-ulnar.html",
            "report-sensory-median.html"} <= set(others)
    again = _run(cmd, env, "demo", cwd=tmp_path)  # never overwrites without --overwrite
    assert again.returncode == 1 and again.stderr.strip().endswith("pass --overwrite to replace it")


def test_analyze_and_errors_as_a_user_sees_them(nerveconduct_cmd, tmp_path):
    cmd, env = nerveconduct_cmd
    done = _run(cmd, env, "analyze", sample_path("mmn_case.toml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (rec,) = [json.loads(line) for line in done.stdout.splitlines()]  # piped: JSON Lines
    assert rec["segments"][0]["verdicts"]["efns-pns-2010-mmn"]["level"] == "definite"
    bad = tmp_path / "bad.csv"
    bad.write_text("Test Name,NCV\nTrace Data (uV),abc\n")
    failed = _run(cmd, env, "analyze", bad, cwd=tmp_path)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip()]  # one line, no traceback
    assert failed.stderr.startswith(f"Error: {bad}, line 2")
    usage = _run(cmd, env, "analyze", bad, "--criteria", "nope", cwd=tmp_path)
    assert usage.returncode == 2 and "Usage: nerveconduct analyze" in usage.stderr
    version = _run(cmd, env, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("nerveconduct ")
