"""The first run after installing compiles the numba kernel: the CLI says so on stderr."""

import numpy as np
from click.testing import CliRunner

import nerveconduct.measure as measure
from nerveconduct_cli.main import main


def test_kernel_cache_ready_after_a_measurement():
    measure.measure_cmap(np.zeros((1, 64)), 20000.0, stimulus_sample=32)
    assert measure.kernel_cache_ready() is True


def test_cli_announces_first_compile_only_when_uncached(monkeypatch):
    runner = CliRunner()
    monkeypatch.setattr(measure, "kernel_cache_ready", lambda: False)
    result = runner.invoke(main, ["criteria", "list"])
    assert "compiling the measurement kernel" not in result.stderr  # criteria measure nothing
    result = runner.invoke(main, ["validate", "/nonexistent/file.csv"])
    assert "compiling the measurement kernel (about 20-30 s, once" in result.stderr
    monkeypatch.setattr(measure, "kernel_cache_ready", lambda: True)
    result = runner.invoke(main, ["validate", "/nonexistent/file.csv"])
    assert "compiling the measurement kernel" not in result.stderr
