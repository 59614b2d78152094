"""One of each helper: the argument checks, the atomic writer, the identifier keys.

Every option and number is checked by :mod:`nerveconduct._checks`; every output file is
written through :mod:`nerveconduct.io._atomic`; the patient-identifier keys are defined once.
"""

import math
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

from nerveconduct._checks import (
    RANGES, ArgumentTypeError, check_number, check_option, check_range_of, check_type, gather,
)


# ------------------------------------------------------------------ check_option
class TestCheckOption:
    ALLOWED = ("physical", "negative-up")

    def test_basic(self):
        assert check_option("polarity", "physical", self.ALLOWED) == "physical"
        assert check_option("compression", None, (None, "gzip")) is None

    def test_lists_every_allowed_value_and_echoes_the_bad_one(self):
        with pytest.raises(ValueError) as err:
            check_option("polarity", "sideways", self.ALLOWED)
        assert str(err.value) == ("polarity must be one of ['physical', 'negative-up'], "
                                  "got 'sideways'")

    @pytest.mark.parametrize(("bad", "suggestion"), [
        ("negativ-up", "negative-up"),   # a typo
        ("PHYSICAL", "physical"),        # another letter case: exact match, suggested
        (" physical ", "physical"),
    ])
    def test_did_you_mean(self, bad, suggestion):
        with pytest.raises(ValueError, match=rf"got {bad!r}; did you mean {suggestion!r}\?$"):
            check_option("polarity", bad, self.ALLOWED)

    def test_extra_text_and_no_suggestion_for_far_values(self):
        with pytest.raises(ValueError) as err:
            check_option("format", "xlsx", ("png", "svg"), extra=" (from the suffix)")
        assert str(err.value) == "format must be one of ['png', 'svg'] (from the suffix), got 'xlsx'"

    @pytest.mark.parametrize("bad", [True, 1, 1.0, b"physical", ["physical"],
                                     np.array(["physical", "x"])])
    def test_other_types_are_not_options(self, bad):
        with pytest.raises(ValueError, match="must be one of"):
            check_option("polarity", bad, self.ALLOWED)

    def test_bool_is_not_one(self):
        with pytest.raises(ValueError, match=r"flag must be one of \[1\], got True"):
            check_option("flag", True, (1,))


# ------------------------------------------------------------------ check_number
class TestCheckNumber:
    OPEN_LOW = dict(unit="mm", minimum=0.0, maximum=2000.0, inclusive=(False, True))

    @pytest.mark.parametrize(("value", "ok"), [
        (0.0, False),                    # at the excluded bound
        (5e-324, True),                  # just inside
        (-5e-324, False),                # just outside
        (2000.0, True),                  # at the included bound
        (np.nextafter(2000.0, 0), True),
        (np.nextafter(2000.0, 3000), False),
    ])
    def test_bounds(self, value, ok):
        if ok:
            assert check_number("distance_mm", value, **self.OPEN_LOW) == value
        else:
            with pytest.raises(ValueError) as err:
                check_number("distance_mm", value, **self.OPEN_LOW)
            assert str(err.value) == (f"distance_mm must be a finite number in (0, 2000] mm, "
                                      f"got {value!r}")
            assert not isinstance(err.value, TypeError)

    def test_inclusive_low_and_exclusive_high(self):
        assert check_number("p", 0, minimum=0, maximum=100, inclusive=(True, False)) == 0.0
        with pytest.raises(ValueError, match=r"p must be a finite number in \[0, 100\), got 100"):
            check_number("p", 100, minimum=0, maximum=100, inclusive=(True, False))

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float32("nan")])
    def test_nan_and_inf(self, bad):
        with pytest.raises(ValueError, match=r"x must be a finite number \(Hz\), got") as err:
            check_number("x", bad, unit="Hz")
        assert not isinstance(err.value, TypeError)

    @pytest.mark.parametrize("bad", [True, False, "20000", None, [1.0], 1 + 2j, np.array([1.0])])
    def test_non_numbers_are_type_errors(self, bad):
        with pytest.raises(TypeError, match=r"rate must be a finite number > 0 Hz, got ") as err:
            check_number("rate", bad, unit="Hz", minimum=0, inclusive=(False, True))
        assert isinstance(err.value, ArgumentTypeError)
        assert isinstance(err.value, ValueError)  # what the older per-module checks raised
        assert repr(bad) in str(err.value)

    def test_integer(self):
        assert check_number("jobs", np.int64(3), minimum=1, integer=True) == 3
        assert type(check_number("jobs", np.int64(3), minimum=1, integer=True)) is int
        for bad in (2.0, 2.5, True, "2"):
            with pytest.raises(TypeError, match=r"jobs must be an integer >= 1, got"):
                check_number("jobs", bad, minimum=1, integer=True)
        with pytest.raises(ValueError, match=r"jobs must be an integer >= 1, got 0"):
            check_number("jobs", 0, minimum=1, integer=True)
        with pytest.raises(ValueError, match=r"i must be an integer in \[0, 9\], got 10"):
            check_number("i", 10, minimum=0, maximum=9, integer=True)

    def test_none(self):
        assert check_number("t", None, allow_none=True) is None
        with pytest.raises(TypeError, match="t must be a finite number, got None"):
            check_number("t", None)
        with pytest.raises(ValueError, match=r"t must be None or a finite number <= 5 s, got 6"):
            check_number("t", 6, unit="s", maximum=5, allow_none=True)

    def test_returns_float(self):
        assert type(check_number("x", np.float32(1.5))) is float
        assert type(check_number("x", 2)) is float


class TestRanges:
    def test_sampling_rate_range_is_the_readers(self):
        from nerveconduct.io import _ranges

        assert _ranges.RANGES is RANGES  # one table
        assert RANGES["sampling_rate_hz"] == (1.0, 1e7, True, "Hz")

    @pytest.mark.parametrize("rate", [1, 1e7, 20000])
    def test_at_and_inside(self, rate):
        assert check_range_of("sampling_rate_hz", rate) == rate

    @pytest.mark.parametrize("rate", [0.999, 1e7 + 1, 5e-324, 1e300, math.nan, math.inf])
    def test_outside(self, rate):
        with pytest.raises(ValueError, match=r"sampling_rate_hz must be a finite number in "
                                             r"\[1, 1e\+07\] Hz, got "):
            check_range_of("sampling_rate_hz", rate)

    @pytest.mark.parametrize("rate", [5e-324, 1e300, 0.5])
    def test_measure_cmap_refuses_an_implausible_rate(self, rate):
        from nerveconduct.measure.cmap import measure_cmap

        with pytest.raises(ValueError, match=r"sampling_rate_hz must be a finite number in "
                                             r"\[1, 1e\+07\] Hz, got " + re.escape(repr(rate))):
            measure_cmap(np.zeros((2, 100)), rate)


class TestCheckTypeAndGather:
    def test_check_type(self):
        assert check_type("m", {}, dict) == {}
        with pytest.raises(TypeError, match="m must be dict, list or None, got str"):
            check_type("m", "x", (dict, list, type(None)))

    def test_gather_collects_messages(self):
        problems = []
        assert gather(problems, check_number, "a", 1, minimum=0) == 1.0
        assert gather(problems, check_number, "b", "x") is None
        assert gather(problems, check_option, "c", "z", ("y",)) is None
        assert problems == ["b must be a finite number, got 'x'",
                            "c must be one of ['y'], got 'z'"]


def test_no_hand_written_option_or_range_checks_left():
    """The old wordings are gone from the package and the command line (one checker)."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    old = ("must be a positive integer", "must be finite and > 0", "must be a positive finite",
           "must be a finite number > 0", "must be a positive amplitude")
    hits = [f"{p.relative_to(root)}: {w}" for folder in ("nerveconduct", "cli")
            for p in (root / folder).rglob("*.py")
            if "analysis" not in p.parts and "serialize" not in p.parts
            for w in old if w in p.read_text(encoding="utf-8")]
    assert hits == []


# ------------------------------------------------------------------ the study model
def test_nerve_study_settings_are_checked():
    from nerveconduct.model import InvalidStudyError, NerveStudy, Site

    def study(**kw):
        return NerveStudy("median", "left", "APB", [Site("wrist", 70.0)], np.zeros((1, 50)),
                          20000.0, **kw)

    with pytest.raises(InvalidStudyError) as err:
        study(temperature_c="warm", low_frequency_filter_hz=math.inf, f_wave_latency_ms="x")
    assert isinstance(err.value, ValueError)
    assert len(err.value.problems) == 3
    assert "temperature_c must be None or a finite number in [0, 50] °C, got 'warm'" in str(err.value)
    assert math.isnan(study(f_wave_latency_ms=math.nan).f_wave_latency_ms)


# ------------------------------------------------------------------ one atomic writer
def _break_the_rename(monkeypatch):
    """Make the final step of the one atomic writer fail (a full disk at the rename)."""
    from nerveconduct.io import _atomic

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_atomic, "_commit", no_space)


def _io_writer(path, fail, overwrite, monkeypatch):
    from nerveconduct.io._atomic import atomic_write

    with atomic_write(path, overwrite=overwrite) as fh:
        fh.write("new")
        if fail:
            raise RuntimeError("crashed mid-write")


def _cli_writer(path, fail, overwrite, monkeypatch):
    from nerveconduct_cli._output import atomic_output

    with atomic_output(path, overwrite=overwrite) as fh:
        fh.write("new")
        if fail:
            raise RuntimeError("crashed mid-write")


def _figure_writer(path, fail, overwrite, monkeypatch):
    from matplotlib.figure import Figure

    from nerveconduct.plot._common import save_figure

    fig = Figure()
    if fail:
        def crash(fh, **kwargs):
            fh.write(b"<svg partial")
            raise RuntimeError("renderer crashed mid-write")

        monkeypatch.setattr(fig, "savefig", crash)
    save_figure(fig, path, format="svg")


def _report_writer(path, fail, overwrite, monkeypatch):
    from nerveconduct.report.build import write_html
    from nerveconduct.simulate.nerve import simulate_nerve

    studies = simulate_nerve((70.0, 200.0), seed=1, n_units=30).to_studies()
    if fail:
        _break_the_rename(monkeypatch)
    try:
        write_html(studies, path, criteria=(), plots=False, overwrite=overwrite)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("write", [_io_writer, _cli_writer, _figure_writer, _report_writer],
                         ids=["io", "cli", "figure", "report"])
def test_every_writer_is_atomic_and_keeps_the_mode(tmp_path, monkeypatch, write):
    target = tmp_path / "out.svg"
    target.write_text("old")
    os.chmod(target, 0o640)
    with pytest.raises((RuntimeError, OSError)):
        write(target, True, True, monkeypatch)  # fails mid-write (or at the rename)
    monkeypatch.undo()
    assert target.read_text() == "old"  # the old file, never a part of the new one
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"]  # no temporary left
    write(target, False, True, monkeypatch)
    assert target.read_text() != "old"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the replaced file's mode kept
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"]
    fresh = tmp_path / "sub"
    fresh.mkdir()
    with pytest.raises((RuntimeError, OSError)):
        write(fresh / "new.svg", True, False, monkeypatch)
    monkeypatch.undo()
    assert list(fresh.iterdir()) == []  # a failure leaves no file at the final path


def test_writers_use_the_one_atomic_module():
    import inspect

    import nerveconduct.batch.output as batch_output
    import nerveconduct.plot._common as plot_common
    import nerveconduct.report.build as report_build
    import nerveconduct_cli._output as cli_output
    from nerveconduct.io import _atomic

    assert plot_common.atomic_write is _atomic.atomic_write  # save_figure, every plot's files
    assert report_build.atomic_write is _atomic.atomic_write
    assert cli_output.atomic_write is _atomic.atomic_write
    assert batch_output.commit_file is _atomic.commit_file
    for module in (plot_common, report_build, cli_output, batch_output):
        assert "os.replace(" not in inspect.getsource(module)


def test_batch_commit_is_atomic_and_keeps_the_mode(tmp_path):
    from nerveconduct.batch.output import PartialOutput
    from nerveconduct.io import _atomic

    out = tmp_path / "results.jsonl"
    out.write_text("old\n")
    os.chmod(out, 0o600)
    calls = []
    real = _atomic._fsync_file

    def spy(path):
        calls.append(path.name)
        real(path)

    partial = PartialOutput.start(out, {"kind": "test"})
    partial.write(b'{"nerve_index": 0}\n')
    partial.checkpoint(1, 0, 2)
    _atomic._fsync_file, saved = spy, _atomic._fsync_file
    try:
        assert partial.commit(overwrite=True) == out
    finally:
        _atomic._fsync_file = saved
    assert calls == ["results.jsonl.partial"]  # fsynced before the rename
    assert out.read_text() == '{"nerve_index": 0}\n'
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]


# ------------------------------------------------------------------ one identifier list
def test_identifier_keys_are_defined_once():
    import nerveconduct.io.read as read
    import nerveconduct.report.sections as sections
    import nerveconduct_cli._render as render
    from nerveconduct.model import IDENTIFIER_KEYS
    from nerveconduct.serialize.rows import IDENTIFIER_COLUMNS

    assert IDENTIFIER_KEYS == ("patient_name", "patient_id")
    assert IDENTIFIER_COLUMNS is IDENTIFIER_KEYS
    assert sections.IDENTIFIER_KEYS is IDENTIFIER_KEYS
    assert read.IDENTIFIER_KEYS is IDENTIFIER_KEYS
    assert render.IDENTIFIER_KEYS is IDENTIFIER_KEYS
    assert not hasattr(read, "_IDENTIFIER_KEYS")


# ------------------------------------------------------------------ import cycles
def test_criteria_tables_never_import_the_registry():
    import ast
    import inspect

    import nerveconduct.criteria.tables as tables

    tree = ast.parse(inspect.getsource(tables))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                for a in n.names] + [n.module or "" for n in ast.walk(tree)
                                     if isinstance(n, ast.ImportFrom)]
    assert not any("registry" in name for name in imported)
    assert not hasattr(tables, "get_rule_set")
    code = ("import sys, nerveconduct.criteria.tables; "
            "assert 'nerveconduct.criteria.registry' not in sys.modules or "
            "'nerveconduct.criteria' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_checks_import_nothing_of_ours():
    import ast
    import inspect

    import nerveconduct._checks as checks

    tree = ast.parse(inspect.getsource(checks))
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    absolute = [a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names if (getattr(n, "module", None) or a.name).startswith("nerveconduct")]
    assert relative == [] and absolute == []
