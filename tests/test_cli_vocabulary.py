"""One command-line vocabulary: the same option for the same thing in every command, old
spellings kept as deprecated aliases, suffixes refused, "did you mean", logging, Ctrl-C and a
closed pipe."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

import nerveconduct
from nerveconduct.criteria import DEFAULT_CRITERIA
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli.main import main
from _cli import run

REPO = Path(__file__).resolve().parent.parent


def _leaf_commands(group, prefix=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _leaf_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


LEAVES = sorted(_leaf_commands(main), key=lambda c: c[0])


# ------------------------------------------------------------------ the same options everywhere
@pytest.mark.parametrize("path,command", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_has_quiet_verbose_debug(path, command):
    opts = {o for p in command.params for o in getattr(p, "opts", [])}
    assert {"-q", "--quiet", "-v", "--verbose", "--debug"} <= opts, path
    help_text = run(*path, "--help").stdout
    assert "-q, --quiet" in help_text and "-v, --verbose" in help_text


@pytest.mark.parametrize("path,command", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_format_criteria_table_jobs_are_spelled_alike(path, command):
    by_name = {p.name: p for p in command.params}
    for param in command.params:
        opts = set(getattr(param, "opts", []))
        if "--format" in opts:
            assert opts == {"-f", "--format"} and param.name == "fmt", path
        if "--table" in opts:
            assert set(param.type.choices) <= {"site", "segment", "nerve", "patient", "sensory"}, path
        if "--jobs" in opts:
            assert opts == {"-J", "--jobs"}, path
    visible = {o for p in command.params if not getattr(p, "hidden", False) for o in p.opts}
    assert not visible & {"--rule-set", "--cb-rule-set", "--to"}, path  # only as hidden aliases
    writes_file = any(o in ("-o", "--output") for p in command.params for o in p.opts)
    if writes_file and path[0] not in ("export-bids",):
        assert "fmt" in by_name, f"{path}: -f/--format missing"


def test_one_default_rule_set_list():
    from nerveconduct_cli import _pipeline, demo, plot_cmd, score

    assert DEFAULT_CRITERIA == ("efns-pns-2010-mmn", "ean-pns-2021-cidp")
    assert _pipeline.DEFAULT_CRITERIA is DEFAULT_CRITERIA and demo.DEMO_CRITERIA is DEFAULT_CRITERIA
    assert score.CB_CRITERIA == plot_cmd.PLOT_CRITERIA == "efns-pns-2010-mmn"
    assert score.CIDP_CRITERIA == "ean-pns-2021-cidp"
    for path in (("analyze",), ("batch",), ("report",)):
        assert ",".join(DEFAULT_CRITERIA) in "".join(run(*path, "--help").stdout.split())


def test_batch_default_criteria_are_the_analyze_ones(archive, tmp_path):
    out = tmp_path / "nerves.csv"
    run("batch", archive, "-o", out, "-q")
    header = out.read_text().splitlines()[0].split(",")
    assert {rid for rid in DEFAULT_CRITERIA if f"verdict_{rid}_level" in header} == set(DEFAULT_CRITERIA)


# ------------------------------------------------------------------ --table: one vocabulary
def test_table_singular_and_deprecated_plurals():
    case = sample_path("antimag_case.toml")
    new = run("analyze", case, "-f", "csv", "--table", "nerve")
    old = run("analyze", case, "-f", "csv", "--table", "nerves")
    assert old.stdout == new.stdout
    notes = [line for line in old.stderr.splitlines() if "deprecated" in line]
    assert notes == ["note: --table nerves is deprecated; use --table nerve"]
    assert "deprecated" not in new.stderr
    assert "did you mean 'segment'?" in run("analyze", case, "-f", "csv", "--table", "segmnt",
                                            code=2).stderr


def test_batch_table_aliases_and_site(archive, tmp_path):
    out = tmp_path / "seg.csv"
    result = run("batch", archive, "-o", out, "--table", "segments", "--criteria", "none")
    assert "note: --table segments is deprecated; use --table segment" in result.stderr
    assert "segment" in out.read_text().splitlines()[0]
    refused = run("batch", archive, "-o", tmp_path / "s.csv", "--table", "site", code=2).stderr
    assert "--table" in refused and "analyze" in refused


# ------------------------------------------------------------------ --criteria everywhere
def test_criteria_ids_in_another_case_and_near_misses():
    case = sample_path("mmn_case.toml")
    upper = json.loads(run("analyze", case, "-f", "json", "--criteria", "EFNS-PNS-2010-MMN").stdout)
    assert upper["criteria"] == ["efns-pns-2010-mmn"]
    miss = run("analyze", case, "--criteria", "efns-pns-2010-mnn", code=2).stderr
    assert "did you mean 'efns-pns-2010-mmn'?" in miss and "known:" in miss
    assert run("criteria", "show", "Ean-Pns-2021-Cidp").stdout.startswith("ean-pns-2021-cidp:")


@pytest.mark.parametrize("command,old,rule_set", [
    (("score", "cidp-mag", sample_path("antimag_case.toml")), "--cb-rule-set", "efns-pns-2010-mmn"),
    (("score", "cidp", sample_path("cidp_median.edf")), "--rule-set", "efns-pns-2010-cidp"),
])
def test_score_criteria_and_deprecated_aliases(command, old, rule_set):
    new = run(*command, "-f", "json", "--criteria", rule_set)
    legacy = run(*command, "-f", "json", old, rule_set)
    assert legacy.stdout == new.stdout
    assert f"note: {old} is deprecated; use --criteria" in legacy.stderr
    assert old not in run(*command[:2], "--help").stdout  # hidden
    assert "unknown rule set" in run(*command, old, "nope", code=2).stderr


def test_plot_criteria_and_deprecated_rule_set(tmp_path):
    case = sample_path("cidp_median.edf")
    run("plot", case, "--kind", "segments", "--criteria", "efns-pns-2010-cidp", "-o", tmp_path / "a.svg")
    old = run("plot", case, "--kind", "segments", "--rule-set", "efns-pns-2010-cidp",
              "-o", tmp_path / "b.svg")
    assert "note: --rule-set is deprecated; use --criteria" in old.stderr


# ------------------------------------------------------------------ -f and suffixes
@pytest.mark.parametrize("args,allowed", [
    (("analyze", sample_path("mmn_case.toml"), "-o", "{tmp}/out.xlsx"), "'.json', '.jsonl'"),
    (("analyze", sample_path("mmn_case.toml"), "-f", "csv", "-o", "{tmp}/out.xlsx"), "'.csv'"),
    (("analyze", sample_path("mmn_case.toml"), "-o", "{tmp}/out"), "'.json'"),
    (("simulate", "-o", "{tmp}/x.csv"), "['.h5', '.hdf5']"),
    (("report", sample_path("antimag_case.toml"), "-o", "{tmp}/r.pdf"), "['.html', '.htm']"),
    (("score", "mmn", sample_path("mmn_case.toml"), "-o", "{tmp}/s.csv"), "['.json', '.txt']"),
    (("convert", sample_path("normal_median.csv"), "{tmp}/x.csv"), "['.h5', '.hdf5', '.edf']"),
    (("plot", sample_path("cidp_median.edf"), "-o", "{tmp}/x.gif"), "['.png', '.svg', '.pdf']"),
])
def test_unwritable_suffix_is_a_usage_error(tmp_path, args, allowed):
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    result = run(*args, code=2)
    assert "suffix must be one of" in result.stderr and allowed in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_format_must_agree_with_the_suffix(tmp_path, archive):
    result = run("batch", archive, "-o", tmp_path / "x.jsonl", "-f", "csv", code=2)
    assert "-f csv writes .csv files" in result.stderr
    result = run("convert", sample_path("normal_median.csv"), tmp_path / "x.h5", "-f", "edf", code=2)
    assert "-f edf writes .edf files" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_format_from_suffix_and_convert_to_alias(tmp_path):
    out = tmp_path / "r.txt"
    run("score", "mmn", sample_path("mmn_case.toml"), "-o", out)
    assert out.read_text().startswith("EFNS/PNS 2010 MMN category")
    old = run("convert", sample_path("normal_median.csv"), tmp_path / "a.h5", "--to", "archive")
    assert "note: --to is deprecated; use -f/--format" in old.stderr and (tmp_path / "a.h5").is_file()
    run("convert", sample_path("normal_median.csv"), tmp_path / "b.h5", "-f", "hdf5")


def test_option_value_near_miss():
    result = run("analyze", sample_path("mmn_case.toml"), "-f", "jsn", code=2)
    assert "did you mean 'json'?" in result.stderr


# ------------------------------------------------------------------ did you mean: commands
@pytest.mark.parametrize("args,hint", [
    (("analyse",), "Did you mean 'analyze'?"),
    (("score", "cidpmag"), "Did you mean 'cidp-mag'?"),
    (("criteria", "lst"), "Did you mean 'list'?"),
])
def test_near_miss_commands(args, hint):
    assert hint in run(*args, code=2).stderr


def test_unknown_command_lists_the_commands():
    assert "Commands: " in run("frobnicate", code=2).stderr


# ------------------------------------------------------------------ -q, -v, --debug, logging
def test_verbose_shows_info_and_debug_quiet_hides_messages():
    case = sample_path("mmn_case.toml")
    default = run("analyze", case, "-f", "json")
    assert "INFO" not in default.stderr and "analyzing 1 nerve(s)" in default.stderr
    info = run("analyze", case, "-f", "json", "-v")
    assert "nerveconduct: INFO: criteria: efns-pns-2010-mmn, ean-pns-2021-cidp" in info.stderr
    assert "DEBUG" not in info.stderr
    assert "nerveconduct: DEBUG:" in run("-v", "analyze", case, "-f", "json", "-v").stderr
    quiet = run("analyze", case, "-f", "json", "-q")
    assert quiet.stderr == "" and quiet.stdout == default.stdout
    assert run("-q", "criteria", "list").stderr == ""


def test_library_logger_reaches_stderr(monkeypatch):
    import nerveconduct_cli.analyze as analyze_mod

    real = analyze_mod.analyze_inputs

    def noisy(*args, **kwargs):
        logging.getLogger("nerveconduct.io").warning("a library warning")
        logging.getLogger("nerveconduct.io").info("a library detail")
        return real(*args, **kwargs)

    monkeypatch.setattr(analyze_mod, "analyze_inputs", noisy)
    case = sample_path("mmn_case.toml")
    default = run("analyze", case, "-f", "json")
    assert "nerveconduct: WARNING: a library warning" in default.stderr
    assert "a library detail" not in default.stderr
    assert "nerveconduct: INFO: a library detail" in run("analyze", case, "-f", "json", "-v").stderr
    assert "a library warning" not in run("analyze", case, "-f", "json", "-q").stderr


def test_debug_after_the_command(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Trace Data (mV)\n0,abc\n")
    before = run("--debug", "analyze", bad, code=1).stderr
    after = run("analyze", bad, "--debug", code=1).stderr
    assert "Traceback" in before and "Traceback" in after
    assert "Traceback" not in run("analyze", bad, code=1).stderr


def test_library_prints_nothing():
    """The library speaks through logging; only sample-generator entry points print."""
    offenders = []
    for path in (REPO / "nerveconduct").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for k, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"(?<![\w.])print\(", code) and ">>>" not in line and "..." not in line[:8]:
                offenders.append(f"{path.relative_to(REPO)}:{k}")
    allowed = {p for p in offenders if p.startswith("nerveconduct/simulate/samples.py")}
    assert set(offenders) == allowed, offenders


# ------------------------------------------------------------------ messages speak CLI
def test_library_messages_are_said_as_options():
    from nerveconduct_cli.errors import cli_words, one_line

    text = cli_words("the partial output of an interrupted run exists: continue it "
                     "(resume=True, --resume) or start over (overwrite=True, --overwrite); "
                     "start over with overwrite=True (--overwrite); pass overwrite=True to "
                     "replace it; (scheduler=...)")
    assert "=True" not in text and "=..." not in text and "--resume" in text
    line = one_line(FileExistsError(17, "exists; pass overwrite=True to replace it", "o.csv"))
    assert line == "o.csv: exists; pass --overwrite to replace it"


def test_batch_partial_exists_message_speaks_cli(archive, tmp_path):
    from nerveconduct.batch.output import partial_paths

    out = tmp_path / "r.jsonl"
    for p in partial_paths(out):
        p.write_bytes(b"")
    result = run("batch", archive, "-o", out, code=1)
    assert "--resume" in result.stderr and "=True" not in result.stderr


# ------------------------------------------------------------------ Ctrl-C and broken pipes
def test_ctrl_c_in_batch_says_how_to_resume(archive, tmp_path, monkeypatch):
    import nerveconduct_cli.batch_cmd as batch_cmd

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_cmd, "run", interrupted)
    out = tmp_path / "r.csv"
    result = run("batch", archive, "-o", out, "--table", "segment", "--criteria", "all", "-J", "2",
                 code=130)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].endswith(f"nerveconduct batch {archive} -o {out} --table segment "
                             "--criteria all -J 2 --resume")


def test_ctrl_c_elsewhere_exits_130(monkeypatch):
    import nerveconduct_cli.analyze as analyze_mod

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(analyze_mod, "read_inputs", interrupted)
    result = run("analyze", sample_path("mmn_case.toml"), code=130)
    assert result.stderr.strip() == "interrupted"


@pytest.fixture(scope="module")
def cli_cmd(shim_pythonpath):
    env = dict(os.environ)
    if shim_pythonpath is not None:
        env["PYTHONPATH"] = shim_pythonpath
    return [sys.executable, "-c", "from nerveconduct_cli.main import main; main()"], env


def test_broken_pipe_ends_quietly(archive, cli_cmd):
    argv, env = cli_cmd
    for fmt in ("csv", "jsonl"):
        proc = subprocess.Popen([*argv, "analyze", str(archive), "-f", fmt, "--criteria", "all"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdout.read(100)
        proc.stdout.close()  # the reader goes away, as `| head` does
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.wait(timeout=300) in (0, 141), err
        assert "Traceback" not in err and "Error" not in err and "Exception" not in err, err


def test_every_help_example_uses_the_vocabulary():
    """No example in --help or docs/cli.md uses an old spelling."""
    old = re.compile(r"--rule-set|--cb-rule-set|--to |--table (sites|segments|nerves)\b")
    for path, _ in LEAVES:
        assert not old.search(run(*path, "--help").stdout), path
    assert not old.search((REPO / "docs" / "cli.md").read_text(encoding="utf-8").split(
        "### Deprecated spellings")[0])


def test_version_and_debug_still_work():
    assert run("--version").stdout.strip() == f"nerveconduct {nerveconduct.__version__}"


def test_csv_site_table():
    rows = list(csv.DictReader(io.StringIO(run("analyze", sample_path("absent_proximal.h5"), "-f",
                                               "csv", "--table", "site").stdout)))
    assert [r["name"] for r in rows] == ["Ankle", "Popliteal Fossa"]


def test_criteria_show_prints_every_thresholds_confidence_mark_with_a_legend():
    from click.testing import CliRunner

    from nerveconduct.criteria import get_rule_set, render_confidence_table
    from nerveconduct_cli.main import main

    out = CliRunner().invoke(main, ["criteria", "show", "efns-pns-2010-mmn"]).output
    table = render_confidence_table(get_rule_set("efns-pns-2010-mmn"))
    assert table in out and "area drop >= 50%" in table
    assert any(mark in table.splitlines()[-1] for mark in ("primary", "secondary", "recalled"))
