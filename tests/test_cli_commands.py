"""Every ``nerveconduct`` command through click's CliRunner (analyze: test_cli_analyze.py)."""

import json

import click
import h5py
import numpy as np
import pytest

from nerveconduct.io import source_key

import nerveconduct
from nerveconduct.criteria import get_rule_set, list_rule_sets
from nerveconduct.io.archive import open_archive
from nerveconduct.io.read import read
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli.main import main
from _cli import run


def last_error(result):
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def _commands(group, prefix=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        yield (*prefix, name)
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


class TestMain:
    def test_version(self):
        assert run("--version").stdout.strip() == f"nerveconduct {nerveconduct.__version__}"

    def test_help_lists_commands_and_exit_codes(self):
        out = run("--help").stdout
        for name in ("demo", "analyze", "score", "criteria", "simulate", "convert", "validate",
                     "report", "plot"):
            assert f"  {name} " in out
        assert "3 some files or records failed" in out

    @pytest.mark.parametrize("command", sorted(_commands(main)))
    def test_every_command_has_help_with_an_example(self, command):
        out = run(*command, "--help").stdout
        assert out.startswith("Usage: nerveconduct " + " ".join(command))
        assert "Example" in out

    def test_every_command_is_registered(self):
        names = {c[0] for c in _commands(main)}
        assert {"demo", "analyze", "score", "criteria", "simulate", "convert", "validate", "report",
                "plot"} <= names
        assert {c for c in _commands(main) if c[0] in ("score", "criteria")} == {
            ("score",), ("score", "cidp"), ("score", "cidp-mag"), ("score", "mmn"),
            ("criteria",), ("criteria", "list"), ("criteria", "show")}

    def test_unknown_command_is_a_usage_error(self):
        assert "No such command" in run("frobnicate", code=2).stderr


class TestCriteria:
    def test_list_table_and_json(self):
        ids = [r.id for r in list_rule_sets()]
        out = run("criteria", "list").stdout
        assert [line.split()[0] for line in out.splitlines()[::2]] == ids
        assert "Van den Bergh" in out or "Eur J Neurol" in out  # citations shown
        assert [r["id"] for r in json.loads(run("criteria", "list", "-f", "json").stdout)] == ids

    def test_show_thresholds(self):
        out = run("criteria", "show", "efns-pns-2010-mmn").stdout
        rs = get_rule_set("efns-pns-2010-mmn")
        assert out.startswith(f"efns-pns-2010-mmn: {rs.title}")
        assert rs.citation in out
        assert "drop_min_pct \u2265 50" in out  # definite CB: area drop >= 50%
        assert "duration_increase_max_pct \u2264 30" in out
        assert "entrapment segments excluded" in out

    def test_show_json_is_the_table(self):
        doc = json.loads(run("criteria", "show", "ean-pns-2021-cidp", "-f", "json").stdout)
        rs = get_rule_set("ean-pns-2021-cidp")
        assert doc["id"] == rs.id and len(doc["segment_rules"]) == len(rs.segment_rules)
        assert len(doc["combinations"]) == len(rs.combinations)

    def test_show_unknown_id(self):
        result = run("criteria", "show", "nope", code=2)
        assert "unknown rule set id(s) 'nope'" in result.stderr and "aan-1991" in result.stderr


class TestSimulate:
    def test_archive_with_truth_and_same_seed_same_archive(self, tmp_path):
        a, b = tmp_path / "a.h5", tmp_path / "b.h5"
        args = ("--nerves", 3, "--distances", "70,200,120", "--block", "2=0.6", "--seed", 7)
        run("simulate", "-o", a, *args)
        run("simulate", "-o", b, *args)
        with open_archive(a) as arc:
            studies = list(arc)
        assert len(studies) == 3 and [s.n_sites for s in studies] == [3, 3, 3]
        assert [s.study_id for s in studies] == ["sim-7-0", "sim-7-1", "sim-7-2"]
        truth = studies[0].metadata["truth"]
        amp = truth["negative_peak_amplitude_mv"]
        assert amp[2] / amp[1] == pytest.approx(0.4, abs=0.15)  # 60% of the units blocked
        assert studies[0].metadata["simulation"]["block"] == {"2": 0.6}
        with open_archive(b) as arc:
            assert np.array_equal(arc.study(2).traces, studies[2].traces)
        (rec, *_) = [json.loads(x) for x in run("analyze", a, "--criteria", "none").stdout.splitlines()]
        assert rec["segments"][1]["amplitude_drop_pct"] == pytest.approx(60, abs=15)

    def test_dispersion_slows_the_segment(self, tmp_path):
        out = tmp_path / "td.h5"
        run("simulate", "-o", out, "--nerves", 2, "--dispersion", "1=1.8", "--seed", 3)
        recs = [json.loads(x) for x in run("analyze", out, "--criteria", "none").stdout.splitlines()]
        assert all(r["segments"][0]["conduction_velocity_m_s"] < 40 for r in recs)  # ~55 / 1.8

    def test_bad_options(self, tmp_path):
        out = tmp_path / "x.h5"
        assert "expected SEGMENT=VALUE" in run("simulate", "-o", out, "--block", "x", code=2).stderr
        assert "block[1]" in run("simulate", "-o", out, "--block", "1=1.5", code=2).stderr
        assert not out.exists()

    def test_existing_output(self, tmp_path):
        out = tmp_path / "x.h5"
        out.write_bytes(b"old")
        assert "--overwrite" in last_error(run("simulate", "-o", out, "--seed", 1, code=1))
        assert out.read_bytes() == b"old"
        run("simulate", "-o", out, "--seed", 1, "--overwrite")
        assert h5py.is_hdf5(out)


class TestConvertAndValidate:
    def test_csv_with_sheet_to_archive_and_edf(self, tmp_path):
        h5, edf = tmp_path / "c.h5", tmp_path / "c.edf"
        sheet = sample_path("antimag_case.toml")
        run("convert", sample_path("antimag.csv"), "--sheet", sheet, h5)
        studies = read(h5)
        assert [s.nerve for s in studies] == ["median", "ulnar"]
        assert [s.sites[1].distance_mm for s in studies] == [230.0, 210.0]  # from the sheet
        run("convert", h5, edf)
        back = read(edf)
        assert [s.nerve for s in back] == ["median", "ulnar"]
        assert np.allclose(back[0].traces, studies[0].traces, atol=1e-3)

    def test_convert_bad_suffix_and_partial(self, tmp_path):
        assert "suffix must be one of ['.h5', '.hdf5', '.edf'], got '.xyz'" in run(
            "convert", sample_path("normal_median.csv"), tmp_path / "x.xyz", code=2).stderr
        bad = tmp_path / "bad.csv"
        bad.write_text("Test Name,NCV\nTrace Data (uV),abc\n")
        result = run("convert", sample_path("normal_median.csv"), bad, tmp_path / "ok.h5", code=3)
        assert f"skipped {bad}" in result.stderr and len(read(tmp_path / "ok.h5")) == 1

    def test_validate(self, tmp_path):
        bad = tmp_path / "bad.csv"
        bad.write_text("Test Name,NCV\nTrace Data (uV),abc\n")
        ok = sample_path("normal_median.csv")
        result = run("validate", ok, bad, "-f", "jsonl", code=3)
        good, broken = [json.loads(x) for x in result.stdout.splitlines()]
        assert good["valid"] and good["format"] == "trace-csv" and good["n_nerves"] == 1
        assert good["format_name"] == "generic trace CSV export"  # named for the lab
        assert any("lacks" in w and "distances" in w for w in good["warnings"])
        assert not broken["valid"] and broken["errors"][0].startswith("FormatError")
        assert "line 2" in broken["errors"][0]
        assert bad.read_text() == "Test Name,NCV\nTrace Data (uV),abc\n"  # nothing changed
        doc = json.loads(run("validate", sample_path("absent_proximal.h5"), "-f", "json").stdout)
        assert doc[0]["valid"] and any("ABSENT" in w for w in doc[0]["warnings"])
        table = run("validate", bad, "-f", "table", code=1)
        assert f"{source_key(bad)}: INVALID (generic trace CSV export)" in table.stdout  # the file's key, not its name
        assert str(bad) in last_error(table)


class TestScore:
    def test_cidp_mag_from_the_sheet(self):
        out = run("score", "cidp-mag", sample_path("antimag_case.toml")).stdout
        assert out.startswith("CIDP-MAG score +5: anti-MAG pattern (case SAMPLE-ANTIMAG)")
        rec = json.loads(run("score", "cidp-mag", sample_path("antimag_case.toml"), "-f", "json").stdout)
        assert (rec["points"], rec["interpretation"]) == (5, "anti-MAG pattern")
        tli = next(it for it in rec["items"] if it["key"] == "tli_low_in_2_nerves")
        assert tli["present"] is True and tli["points"] == 1

    def test_cidp_mag_items_override_and_unknowns(self):
        rec = json.loads(run("score", "cidp-mag", sample_path("antimag_case.toml"), "-f", "json",
                             "--item", "proximal_weakness=yes").stdout)
        assert rec["points"] == 2  # +5 - 3
        result = run("score", "cidp-mag", sample_path("mmn_case.toml"), "-f", "json")
        rec = json.loads(result.stdout)
        assert rec["points"] is None and rec["min_points"] < rec["max_points"]
        assert "clinical item(s) unknown" in result.stderr
        assert "--item" in run("score", "cidp-mag", sample_path("mmn_case.toml"), "--item",
                               "wobble=yes", code=2).stderr

    def test_mmn(self):
        out = run("score", "mmn", sample_path("mmn_case.toml")).stdout
        assert out.startswith("EFNS/PNS 2010 MMN category: definite")
        rec = json.loads(run("score", "mmn", sample_path("mmn_case.toml"), "-f", "json",
                             "--item", "core_clinical=no").stdout)
        assert rec["category"] != "definite" and rec["definite_cb_nerves"] == ["left ulnar"]

    def test_cidp(self, tmp_path):
        out = tmp_path / "cidp.json"
        run("score", "cidp", sample_path("cidp_median.edf"), "-f", "json", "-o", out)
        rec = json.loads(out.read_text())
        assert rec["support"] == "weak" and rec["verdict"]["rule_set_id"] == "ean-pns-2021-cidp"
        assert set(rec["items"]) >= {"e", "f"}
        out = run("score", "cidp", sample_path("cidp_median.edf")).stdout
        assert out.startswith("EAN/PNS 2021 CIDP (ean-pns-2021-cidp), patient: weakly supportive of demyelination")
        assert "met: CB: amplitude drop \u226530 % (e) in right median" in out
        assert "met: temporal dispersion: duration increase >30 % (tibial \u2265100 %) (f) in right median" in out
        assert "unknown rule set" in run("score", "cidp", sample_path("cidp_median.edf"),
                                         "--criteria", "nope", code=2).stderr


class TestReportPlotDemo:
    def test_report(self, tmp_path):
        out = tmp_path / "r.html"
        result = run("report", sample_path("antimag_case.toml"), "-o", out, "--image-format", "svg")
        assert result.stdout.strip() == str(out)
        html = out.read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html") and "CIDP-MAG" in html
        assert "FAKE" not in html
        assert "--overwrite" in last_error(run("report", sample_path("antimag_case.toml"), "-o", out, code=1))

    def test_plot_kinds(self, tmp_path):
        out = run("plot", sample_path("normal_case.json"), "-o", tmp_path / "n.png").stdout.split()
        assert out == [str(tmp_path / "n-1-right-median.png"), str(tmp_path / "n-2-right-ulnar.png")]
        assert all(open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in out)
        (svg,) = run("plot", sample_path("antimag_case.toml"), "--kind", "tli",
                     "-o", tmp_path / "t.svg").stdout.split()
        assert "<svg" in open(svg).read()
        (pdf,) = run("plot", sample_path("cidp_median.edf"), "--kind", "segments",
                     "-o", tmp_path / "s.pdf").stdout.split()
        assert open(pdf, "rb").read(4) == b"%PDF"
        assert "suffix must be one of ['.png', '.svg', '.pdf'], got '.gif'" in run("plot", sample_path("cidp_median.edf"), "-o",
                                              tmp_path / "x.gif", code=2).stderr

    def test_demo_summary(self, tmp_path):
        out = run("demo", "--no-report", "--out-dir", tmp_path / "d").stdout
        for case in ("SAMPLE-NORMAL", "SAMPLE-MMN", "SAMPLE-ANTIMAG", "cidp_median.edf",
                     "absent_proximal.h5", "noisy_median.txt"):
            assert case in out
        assert "CIDP-MAG score +5: anti-MAG pattern" in out
        assert "EFNS/PNS 2010 MMN category: definite" in out
        assert "CB: definite CB Wrist\u2013Below Elbow" in out
        assert "TLI 0.15" in out and "TLI 0.14" in out  # anti-MAG: low TLI in both nerves
        assert not (tmp_path / "d").exists()

    def test_demo_refuses_to_overwrite_before_any_work(self, tmp_path):
        folder = tmp_path / "d"
        folder.mkdir()
        (folder / "report.html").write_text("old")
        result = run("demo", "--out-dir", folder, code=1)
        assert "report.html" in last_error(result) and result.stdout == ""
        assert (folder / "report.html").read_text() == "old"


def test_samples_are_installed_with_the_package():
    """demo finds the samples through the nerveconduct_samples package, from any directory."""
    import importlib.resources

    base = importlib.resources.files("nerveconduct_samples")
    assert base.joinpath("mmn_case.toml").is_file()
    assert sample_path("mmn_case.toml").read_bytes() == base.joinpath("mmn_case.toml").read_bytes()
