"""The F-wave raster and the SNAP picture (issue #18, item 6): markers at the measured latencies.

Each picture is saved as SVG and parsed: the markers (``<g id="f:<k>">``, ``"onset:<site>"``,
``"peak:<site>"``) must sit where the measured latencies put them on the time axis (to 0.01
pt, i.e. far below a sample), the minimal-latency line at the nerve's F latency, and nothing
marked where nothing was found. The F-wave latencies of the samples' trains are checked
against the simulator's noiseless truth (0.3 ms) in ``tests/test_samples_sensory.py``.
"""

import io
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve
from nerveconduct.analysis.sensory import analyze_sensory
from nerveconduct.model import NerveStudy
from nerveconduct.plot._common import ABNORMAL_COLOR, save_figure
from nerveconduct.plot.fwave import f_wave_train_measures, has_f_wave_train, plot_f_waves
from nerveconduct.plot.sensory import plot_sensory, site_abnormal
from nerveconduct.simulate.samples_sensory import f_wave_study, sensory_study

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


@pytest.fixture(scope="module")
def f_result():
    return analyze_nerve(f_wave_study("cidp_median_fwave"))


@pytest.fixture(scope="module")
def normal_snap():
    return analyze_sensory([sensory_study("normal_median_sensory")])[0]


@pytest.fixture(scope="module")
def cidp_snap():
    return analyze_sensory([sensory_study("cidp_median_sensory")])[0]


def _svg(ax):
    """The figure as parsed SVG, and a function mapping data (x, y) to SVG user units (pt)."""
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    root = ET.fromstring(buf.getvalue())
    fig.set_dpi(72)  # SVG units are points: the transform at 72 dpi gives them
    height = fig.get_figheight() * 72.0

    def to_svg(x, y):
        dx, dy = ax.transData.transform((x, y))
        return dx, height - dy

    return root, to_svg


def _group(root, gid):
    return next((g for g in root.iter(f"{SVG}g") if g.get("id") == gid), None)


def _marker_xy(root, gid):
    """(x, y) of the one marker drawn in group ``gid`` (a ``<use>`` of the marker path)."""
    group = _group(root, gid)
    assert group is not None, gid
    (use,) = list(group.iter(f"{SVG}use"))
    return float(use.get("x")), float(use.get("y"))


def _line_x(root, gid):
    """The x of a vertical line drawn in group ``gid`` (``M x y L x y``)."""
    path = next(_group(root, gid).iter(f"{SVG}path")).get("d")
    xs = [float(v) for v in re.findall(r"[ML] ?(-?[\d.]+) ", path)]
    assert xs and max(xs) - min(xs) < 1e-6
    return xs[0]


class TestFWaveRaster:
    def test_each_f_response_marked_at_its_latency(self, f_result):
        m = f_wave_train_measures(f_result.study)
        ax = plot_f_waves(f_result, measures=m)
        root, to_svg = _svg(ax)
        found = np.flatnonzero(np.isfinite(m.latencies_ms))
        assert 0 < len(found) < m.latencies_ms.size  # some stimuli with, some without
        lines = {line.get_gid(): line for line in ax.get_lines()}
        for k, latency in enumerate(m.latencies_ms, start=1):
            if math.isnan(latency):
                assert _group(root, f"f:{k}") is None and _group(root, f"none:{k}") is not None
                continue
            x, y = _marker_xy(root, f"f:{k}")
            trace = lines[f"trace:{k}"]
            ex, ey = to_svg(latency, np.interp(latency, trace.get_xdata(), trace.get_ydata()))
            assert x == pytest.approx(ex, abs=0.01) and y == pytest.approx(ey, abs=0.01)

    def test_minimal_latency_line_is_the_nerve_f_latency(self, f_result):
        ax = plot_f_waves(f_result)
        root, to_svg = _svg(ax)
        expected, _ = to_svg(f_result.f_wave_latency_ms, 0.0)
        assert _line_x(root, "minimal") == pytest.approx(expected, abs=0.01)
        assert f_result.f_wave_latency_source == "traces"
        text = next(t for t in ax.texts if t.get_gid() == "minimal:text")
        # the sample's minimal latency is beyond the 31 ms ULN: the label says so in red
        assert f"{f_result.f_wave_latency_ms:.2f} ms" in text.get_text() and "ULN 31 ms" in text.get_text()
        assert f_result.limits["f_wave_latency"].abnormal and text.get_color() == ABNORMAL_COLOR

    def test_plot_uses_the_analysis_values(self, f_result):
        """The raster's own measurement is the analysis core's: same minimal latency and
        persistence, so picture and tables agree."""
        m = f_wave_train_measures(f_result.study)
        assert float(m.minimal_latency_ms) == f_result.f_wave_latency_ms
        assert float(m.persistence_pct) == f_result.f_wave_persistence_pct
        assert float(m.chronodispersion_ms) == f_result.f_wave_chronodispersion_ms

    def test_m_wave_shaded_up_to_the_f_window(self, f_result):
        from nerveconduct.measure.fwave import M_GUARD_MS

        m = f_wave_train_measures(f_result.study)
        ax = plot_f_waves(f_result, measures=m)
        (patch,) = [p for p in ax.patches if p.get_gid() == "excluded"]
        start = patch.get_x() + patch.get_width()  # a Rectangle in data x
        assert start == pytest.approx(float(m.m_wave_end_ms) + M_GUARD_MS)
        assert all(lat > start for lat in m.latencies_ms if not math.isnan(lat))

    def test_absent_f_waves_say_so(self, f_result):
        from nerveconduct.simulate.fwave import simulate_f_waves

        st = f_result.study
        train = simulate_f_waves(n_stimuli=10, backfiring_units_mean=0.0, seed=5,  # none backfire
                                 sampling_rate_hz=10000.0, sweep_ms=50.0)
        quiet = NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                           stimulus_sample=st.stimulus_sample, f_wave_traces=train.traces,
                           f_wave_sampling_rate_hz=train.sampling_rate_hz,
                           f_wave_stimulus_sample=train.stimulus_sample)
        result = analyze_nerve(quiet)
        assert result.f_wave_latency_ms is not None and math.isnan(result.f_wave_latency_ms)
        ax = plot_f_waves(result)
        gids = {a.get_gid() for a in (*ax.texts, *ax.get_lines())}
        assert "absent" in gids and "minimal" not in gids
        assert not any(g.startswith("f:") for g in gids if g)
        assert {f"none:{k}" for k in range(1, 11)} <= gids

    def test_needs_a_train(self):
        st = f_wave_study("normal_ulnar_fwave")
        plain = NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                           stimulus_sample=st.stimulus_sample, f_wave_latency_ms=26.0)
        result = analyze_nerve(plain)
        assert not has_f_wave_train(result)
        with pytest.raises(ValueError, match="needs an F-wave train"):
            plot_f_waves(result)

    def test_scale_bar_in_microvolts(self, f_result):
        ax = plot_f_waves(f_result)
        text = next(t for t in ax.texts if t.get_gid() == "scalebar:text").get_text()
        assert re.fullmatch(r"\d+ \u00b5V\n\d+ ms", text)


class TestSnapPicture:
    @pytest.mark.parametrize("which", ["normal_snap", "cidp_snap"])
    def test_onset_and_peak_markers_at_measured_latencies(self, which, request):
        result = request.getfixturevalue(which)
        ax = plot_sensory(result)
        root, to_svg = _svg(ax)
        lines = {line.get_gid(): line for line in ax.get_lines()}
        for site in result.sites:
            assert site.present
            trace = lines[f"trace:{site.site}"]
            for kind, latency in (("onset", site.onset_latency_ms),
                                  ("peak", site.negative_peak_latency_ms)):
                x, y = _marker_xy(root, f"{kind}:{site.site}")
                ex, ey = to_svg(latency, np.interp(latency, trace.get_xdata(), trace.get_ydata()))
                assert x == pytest.approx(ex, abs=0.01) and y == pytest.approx(ey, abs=0.01)

    def test_traces_in_microvolts_negative_up(self, normal_snap):
        ax = plot_sensory(normal_snap)
        lines = {line.get_gid(): line for line in ax.get_lines()}
        for k, site in enumerate(normal_snap.sites):
            trace = lines[f"trace:{site.site}"]
            base = np.median(trace.get_ydata()[trace.get_xdata() < 0])
            peak = np.interp(site.negative_peak_latency_ms, trace.get_xdata(), trace.get_ydata())
            # the negative peak points up by its amplitude (uV), within the 1 uV noise
            assert peak - base == pytest.approx(site.amplitude_uv, abs=3.0)

    def test_abnormal_values_red_only_where_the_analysis_says(self, normal_snap, cidp_snap):
        assert normal_snap.abnormal is False and cidp_snap.abnormal is True
        for result, color in ((normal_snap, "black"), (cidp_snap, ABNORMAL_COLOR)):
            ax = plot_sensory(result)
            text = next(t for t in ax.texts if t.get_gid() == f"values:{result.sites[0].site}")
            assert text.get_color() == color
            assert f"{result.sites[0].amplitude_uv:.1f} \u00b5V" in text.get_text()
        assert site_abnormal(cidp_snap, 0) == {"amplitude": True, "conduction_velocity": True,
                                               "peak_latency": True}
        assert not any(site_abnormal(normal_snap, 1).values())  # proximal: not judged

    def test_labels_with_conduction_distance(self, normal_snap):
        ax = plot_sensory(normal_snap)
        labels = {t.get_gid(): t.get_text() for t in ax.texts}
        assert labels["label:wrist"] == "wrist\n130 mm" and labels["label:elbow"] == "elbow\n360 mm"

    def test_needs_the_waveforms(self, normal_snap):
        import dataclasses

        bare = dataclasses.replace(normal_snap, study=None)
        with pytest.raises(ValueError, match="needs the waveforms"):
            plot_sensory(bare)

    def test_saved_as_svg(self, tmp_path, cidp_snap):
        out = save_figure(plot_sensory(cidp_snap).figure, tmp_path / "snap.svg")
        assert out.read_text().lstrip().startswith("<?xml")


class TestPlotCommand:
    """``nerveconduct plot --kind fwave|sensory`` on the bundled CIDP-like case."""

    @staticmethod
    def _run(*args, code=0):
        from click.testing import CliRunner

        from nerveconduct_cli.main import main

        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        return result

    def test_one_svg_per_nerve_with_the_markers(self, tmp_path):
        from nerveconduct.simulate.samples import sample_path

        out = self._run("plot", sample_path("cidp_two_nerves.h5"), "--kind", "fwave",
                        "-o", tmp_path / "f.svg").stdout.split()
        assert [p.rsplit("/", 1)[-1] for p in out] == ["f-1-left-median.svg", "f-2-left-ulnar.svg"]
        root = ET.parse(out[0]).getroot()
        assert _group(root, "minimal") is not None
        assert sum(1 for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("f:")) == 5
        out = self._run("plot", sample_path("cidp_two_nerves.h5"), "--kind", "sensory",
                        "-o", tmp_path / "s.svg").stdout.split()
        root = ET.parse(out[1]).getroot()
        assert _group(root, "onset:wrist") is not None and _group(root, "peak:wrist") is not None

    def test_no_train_is_an_error(self, tmp_path):
        from nerveconduct.simulate.samples import sample_path

        result = self._run("plot", sample_path("sensory_median.csv"), "--kind", "fwave",
                           "-o", tmp_path / "f.png", code=1)
        assert "no nerve in the input has an F-wave train" in result.output
        assert not list(tmp_path.iterdir())
