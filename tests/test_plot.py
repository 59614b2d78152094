"""Plots (issue 8): stacked CMAPs with markers, segment drops against thresholds, TLI, files.

Every plot is rendered with the Agg canvas; artists are found by their ``gid`` and checked
against the measured values (markers exactly at the measured latencies, on the plotted trace).
"""

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nerveconduct.model import NerveStudy, Site
from nerveconduct.plot.nerve import plot_nerve, plot_segments, plot_tli, save_figure
from nerveconduct.plot.criteria import ThresholdLine, rule_set_table, rule_set_thresholds
from nerveconduct.analysis import analyze_nerve, analyze_values
from nerveconduct.simulate.nerve import simulate_nerve

SITES = ("wrist", "below elbow", "above elbow")


def _study(traces, base, **changes):
    kw = dict(nerve=base.nerve, side=base.side, muscle=base.muscle, sites=base.sites,
              traces=traces, sampling_rate_hz=base.sampling_rate_hz,
              stimulus_sample=base.stimulus_sample, study_id=base.study_id)
    kw.update(changes)
    return NerveStudy(kw.pop("nerve"), kw.pop("side"), kw.pop("muscle"), kw.pop("sites"),
                      kw.pop("traces"), kw.pop("sampling_rate_hz"), **kw)


@pytest.fixture(scope="module")
def normal_study():
    return simulate_nerve((70.0, 200.0, 100.0), site_names=SITES, nerve="ulnar", muscle="ADM",
                          seed=3).to_studies()[0]


@pytest.fixture(scope="module")
def block_result(normal_study):
    """Proximal sites scaled to 35%: a 65% amplitude and area drop, no dispersion -> definite CB."""
    scale = np.array([1.0, 0.35, 0.35])[:, None]
    return analyze_nerve(_study(normal_study.traces * scale, normal_study))


@pytest.fixture(scope="module")
def absent_result(normal_study):
    """The most proximal response replaced by 5 uV noise: absent."""
    traces = normal_study.traces.copy()
    traces[2] = np.random.default_rng(0).normal(0.0, 0.005, traces.shape[1])
    return analyze_nerve(_study(traces, normal_study))


@pytest.fixture(scope="module")
def antimag_results():
    out = []
    for nerve, muscle, names, dists, seed in (("median", "APB", ("wrist", "elbow"), (70.0, 230.0), 11),
                                              ("ulnar", "ADM", ("wrist", "below elbow"), (70.0, 210.0), 12)):
        st = simulate_nerve(dists, site_names=names, nerve=nerve, muscle=muscle, distal_slowing=2.6,
                            seed=seed).to_studies()[0]
        out.append(analyze_nerve(st))
    return out


def _by_gid(ax, gid):
    found = [a for a in ax.get_children() + ax.lines + ax.texts + ax.patches if a.get_gid() == gid]
    return found[0] if found else None


def _gids(ax):
    return {a.get_gid() for a in ax.get_children() + ax.lines + ax.texts + ax.patches if a.get_gid()}


class TestPlotNerve:
    def test_one_trace_per_site_distal_on_top(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        traces = [_by_gid(ax, f"trace:{name}") for name in SITES]
        assert all(t is not None for t in traces)
        assert sum(1 for g in _gids(ax) if g.startswith("trace:")) == 3
        levels = [np.median(t.get_ydata()) for t in traces]  # the baselines
        assert levels[0] > levels[1] > levels[2]

    def test_time_axis_is_ms_from_stimulus(self, block_result):
        st = block_result.study
        ax = plot_nerve(block_result, verdicts=None)
        x = _by_gid(ax, "trace:wrist").get_xdata()
        expected = (np.arange(st.traces.shape[1]) - st.stimulus_sample) * 1000.0 / st.sampling_rate_hz
        np.testing.assert_allclose(x, expected)
        assert x[st.stimulus_sample] == 0.0

    def test_same_gain_negative_up(self, block_result):
        # the plotted shape of every trace is exactly -(physical trace), offsets aside
        st = block_result.study
        ax = plot_nerve(block_result, verdicts=None)
        for k, name in enumerate(SITES):
            y = np.asarray(_by_gid(ax, f"trace:{name}").get_ydata())
            np.testing.assert_allclose(y - y[0], -(st.traces[k] - st.traces[k][0]), atol=1e-12)

    def test_negative_down_option(self, block_result):
        st = block_result.study
        ax = plot_nerve(block_result, verdicts=None, negative_up=False)
        y = np.asarray(_by_gid(ax, "trace:wrist").get_ydata())
        np.testing.assert_allclose(y - y[0], st.traces[0] - st.traces[0][0], atol=1e-12)
        peak = _by_gid(ax, "peak:wrist")
        assert peak.get_ydata()[0] < np.median(y)  # the negative peak points down

    def test_markers_at_measured_latencies_on_the_trace(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        for site in block_result.sites:
            line = _by_gid(ax, f"trace:{site.name}")
            expected = {"onset": site.onset_latency_ms, "peak": site.negative_peak_latency_ms,
                        "end": site.onset_latency_ms + site.negative_peak_duration_ms}
            for kind, x in expected.items():
                marker = _by_gid(ax, f"{kind}:{site.name}")
                assert marker is not None, (kind, site.name)
                mx, my = marker.get_xdata()[0], marker.get_ydata()[0]
                assert mx == pytest.approx(x, abs=1e-12)
                assert my == pytest.approx(np.interp(x, line.get_xdata(), line.get_ydata()), abs=1e-12)
            # negative up: the negative peak is the highest point near it
            peak_y = _by_gid(ax, f"peak:{site.name}").get_ydata()[0]
            assert peak_y > np.median(line.get_ydata()) + 0.5 * site.negative_peak_amplitude_mv

    def test_site_labels_with_cumulative_distance(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        assert _by_gid(ax, "label:wrist").get_text() == "wrist\n70 mm"
        assert _by_gid(ax, "label:below elbow").get_text() == "below elbow\n270 mm"
        assert _by_gid(ax, "label:above elbow").get_text() == "above elbow\n370 mm"

    def test_segment_annotations(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        seg = block_result.segments[0]
        text = _by_gid(ax, "segment:1").get_text()
        assert f"CV {seg.conduction_velocity_m_s:.1f} m/s" in text
        assert f"amp {seg.amplitude_drop_pct:.0f}%" in text and f"area {seg.area_drop_pct:.0f}%" in text
        assert f"duration {seg.duration_increase_pct:+.0f}%" in text
        assert "across compression site" in _by_gid(ax, "segment:2").get_text()
        assert not any(g.startswith("verdict:") for g in _gids(ax))

    def test_conduction_block_verdict_highlighted(self, block_result):
        assert block_result.segments[0].area_drop_pct == pytest.approx(65.0, abs=2.0)
        ax = plot_nerve(block_result)  # default rule set efns-pns-2010-mmn
        bracket = _by_gid(ax, "verdict:1")
        assert bracket is not None
        assert "definite CB" in _by_gid(ax, "segment:1").get_text()
        ys = sorted(bracket.get_ydata())  # spans the two traces of the segment
        lines = [_by_gid(ax, f"trace:{n}") for n in SITES[:2]]
        assert ys[0] == pytest.approx(np.median(lines[1].get_ydata()), abs=0.5)
        assert ys[1] == pytest.approx(np.median(lines[0].get_ydata()), abs=0.5)
        assert _by_gid(ax, "verdict:2") is None  # across the elbow: excluded, not highlighted

    def test_absent_response_has_no_markers(self, absent_result):
        assert not absent_result.sites[2].present
        ax = plot_nerve(absent_result, verdicts=None)
        gids = _gids(ax)
        assert "absent:above elbow" in gids and "trace:above elbow" in gids
        assert not {"onset:above elbow", "peak:above elbow", "end:above elbow"} & gids
        assert {"onset:wrist", "peak:wrist", "end:wrist"} <= gids
        assert _by_gid(ax, "absent:above elbow").get_text() == "absent"

    def test_stored_negative_up_polarity_draws_the_same(self, block_result):
        st = block_result.study
        flipped = analyze_nerve(_study(-st.traces, st, polarity="negative-up"))
        a = plot_nerve(block_result, verdicts=None)
        b = plot_nerve(flipped, verdicts=None)
        for name in SITES:
            np.testing.assert_allclose(_by_gid(a, f"trace:{name}").get_ydata(),
                                       _by_gid(b, f"trace:{name}").get_ydata(), atol=1e-9)

    def test_scale_bar(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        gain = _by_gid(ax, "scalebar:gain").get_ydata()
        time = _by_gid(ax, "scalebar:time").get_xdata()
        text = _by_gid(ax, "scalebar:text").get_text()
        gain_mv, time_ms = abs(gain[1] - gain[0]), abs(time[1] - time[0])
        assert text == f"{gain_mv:g} mV\n{time_ms:g} ms"
        # one gain for all traces, at least half of the largest response
        assert gain_mv >= 0.5 * max(s.peak_to_peak_amplitude_mv for s in block_result.sites)

    def test_draws_on_given_axes(self, block_result):
        fig = Figure(figsize=(4, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        assert plot_nerve(block_result, ax, verdicts=None) is ax
        assert _by_gid(ax, "trace:wrist") is not None

    def test_raises_without_waveforms(self):
        r = analyze_values("median", [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], [6.0, 5.0])
        with pytest.raises(ValueError, match="needs the waveforms"):
            plot_nerve(r)

    @pytest.mark.parametrize("window", [(10.0, 5.0), (100.0, 200.0), (math.nan, 5.0)])
    def test_raises_bad_window(self, block_result, window):
        with pytest.raises(ValueError, match="window_ms must be an increasing"):
            plot_nerve(block_result, verdicts=None, window_ms=window)

    def test_raises_bad_verdicts(self, block_result):
        with pytest.raises(ValueError, match="verdicts must be 'auto'"):
            plot_nerve(block_result, verdicts="yes")


class TestPlotSegments:
    def test_bars_equal_segment_values(self, block_result, absent_result):
        ax = plot_segments([block_result, absent_result])
        for r, res in enumerate([block_result, absent_result]):
            for seg in res.segments:
                for measure in ("amplitude_drop_pct", "area_drop_pct", "duration_increase_pct"):
                    value = getattr(seg, measure)
                    bar = _by_gid(ax, f"{measure}:{r}:{seg.index}")
                    if math.isfinite(value):
                        assert bar.get_width() == pytest.approx(value)
                    else:
                        assert bar is None
                        assert _by_gid(ax, f"missing:{measure}:{r}:{seg.index}").get_text().strip() == "absent"

    def test_thresholds_from_the_rule_table(self, block_result):
        ax = plot_segments([block_result], rule_set="efns-pns-2010-mmn")
        gids = _gids(ax)
        # EFNS/PNS 2010 MMN: area drop >=50% (definite), >=30% (probable, long segment),
        # duration increase <=30% / >30%
        assert {"threshold:area_drop_pct:50", "threshold:area_drop_pct:30",
                "threshold:duration_increase_pct:30"} <= gids
        assert not any(g.startswith("threshold:amplitude_drop_pct") for g in gids)
        assert _by_gid(ax, "threshold:area_drop_pct:50").get_xdata()[0] == 50.0
        assert "definite CB" in _by_gid(ax, "verdict:0:1").get_text()
        assert _by_gid(ax, "verdict:0:2") is None

    def test_from_distal_rule_set_plots_from_distal_values(self, block_result):
        ax = plot_segments([block_result], rule_set="ean-pns-2021-cidp")
        seg = block_result.segments[1]
        bar = _by_gid(ax, f"amplitude_drop_pct:0:{seg.index}")
        assert bar.get_width() == pytest.approx(seg.amplitude_drop_from_distal_pct)
        assert seg.amplitude_drop_from_distal_pct != pytest.approx(seg.amplitude_drop_pct, abs=1.0)
        assert "threshold:amplitude_drop_pct:30" in _gids(ax)  # EAN/PNS 2021 CB: amplitude >=30%

    def test_explicit_thresholds_without_rule_set(self, block_result):
        lines = [ThresholdLine("amplitude_drop_pct", 20.0, "20% rule")]
        ax = plot_segments([block_result], rule_set=None, thresholds=lines)
        line = _by_gid(ax, "threshold:amplitude_drop_pct:20")
        assert line.get_xdata()[0] == 20.0 and line.get_label() == "20% rule"
        assert not any(g.startswith("verdict:") for g in _gids(ax))

    def test_rule_set_thresholds_table(self):
        lines = rule_set_thresholds(rule_set_table("efns-pns-2010-mmn"))
        assert [(t.measure, t.value_pct) for t in lines] == [
            ("area_drop_pct", 30.0), ("area_drop_pct", 50.0), ("duration_increase_pct", 30.0)]
        assert "definite CB" in lines[1].label

    def test_empty(self):
        ax = plot_segments([], rule_set=None)
        assert _by_gid(ax, "empty") is not None

    def test_raises(self, block_result):
        with pytest.raises(ValueError, match="thresholds must be 'auto'"):
            plot_segments([block_result], thresholds="some")
        with pytest.raises(KeyError, match="unknown rule set 'no-such-rules'"):
            plot_segments([block_result], rule_set="no-such-rules")


class TestPlotTli:
    def test_bars_and_cutoffs(self, antimag_results, block_result):
        results = antimag_results + [block_result]
        ax = plot_tli(results)
        for r, res in enumerate(results):
            assert _by_gid(ax, f"tli:{r}").get_height() == pytest.approx(res.terminal_latency_index)
        assert _by_gid(ax, "threshold:cidp-mag").get_ydata()[0] == 0.25
        assert list(_by_gid(ax, "cutoff:0").get_ydata()) == [0.26, 0.26]  # median, Cocito 2001
        assert list(_by_gid(ax, "cutoff:1").get_ydata()) == [0.33, 0.33]  # ulnar
        # distal slowing: TLI <= 0.25, drawn red; the normal ulnar is not
        low = _by_gid(ax, "tli:0")
        assert antimag_results[0].terminal_latency_index <= 0.25
        assert low.get_facecolor()[:3] == pytest.approx((0xc0 / 255, 0x39 / 255, 0x2b / 255))
        assert block_result.terminal_latency_index > 0.25
        assert _by_gid(ax, "tli:2").get_facecolor()[:3] != low.get_facecolor()[:3]

    def test_missing_tli(self):
        r = analyze_values("fibular", [Site("ankle", 90)], [4.0], [5.0])  # one site: no TLI
        ax = plot_tli([r])
        assert _by_gid(ax, "tli:0") is None and _by_gid(ax, "missing:tli:0").get_text() == "n/a"
        assert _by_gid(ax, "cutoff:0") is None  # no cut-off for the fibular nerve

    @pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, True])
    def test_raises(self, bad):
        with pytest.raises(ValueError, match=r"threshold \(TLI\) must be a finite number > 0, got " + re.escape(repr(bad))):
            plot_tli([], threshold=bad)


class TestSaveFigure:
    MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}

    @pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
    def test_formats(self, tmp_path, block_result, fmt):
        ax = plot_nerve(block_result, verdicts=None)
        out = save_figure(ax.figure, tmp_path / f"nerve.{fmt}", dpi=60)
        data = out.read_bytes()
        assert len(data) > 1000
        if fmt == "svg":
            root = ET.fromstring(data)
            ids = {el.get("id") for el in root.iter()}
            assert {"trace:wrist", "onset:wrist", "peak:above elbow", "scalebar:gain"} <= ids
        else:
            assert data.startswith(self.MAGIC[fmt])
        assert [p.name for p in tmp_path.iterdir()] == [f"nerve.{fmt}"]  # no temporary left

    def test_png_size_and_content(self, tmp_path, antimag_results):
        ax = plot_tli(antimag_results)
        w, h = ax.figure.get_size_inches()
        out = save_figure(ax.figure, tmp_path / "tli.png", dpi=60)
        img = matplotlib.image.imread(out)
        assert img.shape[:2] == (round(h * 60), round(w * 60))
        assert img[..., :3].std() > 0.05  # not a blank page

    def test_format_overrides_suffix(self, tmp_path, antimag_results):
        out = save_figure(plot_tli(antimag_results).figure, tmp_path / "tli.out", format="PDF")
        assert out.read_bytes().startswith(b"%PDF-")

    def test_overwrites_atomically(self, tmp_path, antimag_results):
        target = tmp_path / "tli.png"
        target.write_bytes(b"old")
        save_figure(plot_tli(antimag_results).figure, target, dpi=40)
        assert target.read_bytes().startswith(self.MAGIC["png"])

    def test_raises(self, tmp_path, antimag_results):
        fig = plot_tli(antimag_results).figure
        with pytest.raises(ValueError, match=r"one of \['png', 'svg', 'pdf'\].*'\.jpg'"):
            save_figure(fig, tmp_path / "x.jpg")
        with pytest.raises(FileNotFoundError, match="does not exist"):
            save_figure(fig, tmp_path / "missing" / "x.png")
        assert list(tmp_path.iterdir()) == []


def test_no_pyplot_state(shim_pythonpath):
    """Plotting never imports pyplot (no global figure state leaks into the caller)."""
    code = ("import sys\n"
            "from nerveconduct.simulate.nerve import simulate_nerve\n"
            "from nerveconduct.analysis import analyze_nerve\n"
            "from nerveconduct.plot.nerve import plot_nerve, plot_segments, plot_tli\n"
            "r = analyze_nerve(simulate_nerve((70.0, 200.0), seed=1, n_units=40).to_studies()[0])\n"
            "plot_nerve(r); plot_segments([r]); plot_tli([r])\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n")
    env = None
    if shim_pythonpath:
        import os
        env = dict(os.environ, PYTHONPATH=shim_pythonpath)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert proc.returncode == 0, proc.stderr


# --- readability fixes: labels clear of lines, verdict labels inside, abnormal values coloured
def _text_bbox(ax, gid):
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    return _by_gid(ax, gid).get_window_extent(renderer), fig.bbox


def test_tli_value_labels_clear_of_the_lines(antimag_results, block_result):
    results = [*antimag_results, block_result]
    ax = plot_tli(results)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    lines = [_by_gid(ax, "threshold:cidp-mag")] + [
        _by_gid(ax, f"cutoff:{r}") for r in range(len(results)) if _by_gid(ax, f"cutoff:{r}")]
    for r in range(len(results)):
        label = _by_gid(ax, f"value:tli:{r}").get_window_extent(renderer)
        assert label.x0 >= ax.figure.bbox.x0 and label.y1 <= ax.figure.bbox.y1
        for line in lines:
            y = ax.transData.transform((0, line.get_ydata()[0]))[1]
            xs = [ax.transData.transform((x, 0))[0] for x in line.get_xdata()]
            if min(xs) <= label.x1 and max(xs) >= label.x0:  # the line passes under the label
                assert not label.y0 - 1 <= y <= label.y1 + 1, (r, line.get_gid())


def test_segment_verdict_label_inside_the_figure(block_result):
    ax = plot_segments([block_result], rule_set="efns-pns-2010-mmn")
    ax.figure.canvas.draw()
    box = _by_gid(ax, "verdict:0:1").get_window_extent(ax.figure.canvas.get_renderer())
    fig = ax.figure.bbox
    assert fig.x0 <= box.x0 and box.x1 <= fig.x1 and fig.y0 <= box.y0 and box.y1 <= fig.y1


def test_abnormal_values_coloured():
    # the CIDP sample: CV 36 m/s (LLN 49) and +61 % dispersion, no verdict highlighted
    import nerveconduct
    case = nerveconduct.read_case(nerveconduct.sample_path("cidp_median.edf"))
    result = analyze_nerve(case.studies[0])
    seg = result.segments[0]
    assert seg.conduction_velocity_m_s < 49 and seg.duration_increase_pct > 30
    ax = plot_nerve(result, verdicts=None, rule_set=None)
    red = _by_gid(ax, "abnormal:1")
    assert red is not None and red.get_color() == "#b03a2e"
    shown = [line for line in red.get_text().split("\n") if line]
    assert any(line.startswith("CV ") for line in shown)
    assert any(line.startswith("duration +") for line in shown)
    assert "CV" in _by_gid(ax, "segment:1").get_text()  # the full annotation stays


def test_finish_trace_stack_frames_the_stack():
    # One framing for the CMAP and SNAP stacks: window [lo, hi] ms, y from 1.1 spacings below
    # the last trace to 0.9 above the first, scale bar 0.75 spacing below the last trace.
    from nerveconduct.plot._common import finish_trace_stack

    ax = Figure().add_subplot()
    finish_trace_stack(ax, -1.0, 20.0, [0.0, -10.0, -20.0], 10.0, 5.0, unit="uV")
    assert ax.get_xlim() == (-1.0, 20.0)
    assert ax.get_ylim() == pytest.approx((-31.0, 9.0))
    assert list(ax.get_yticks()) == [] and ax.get_xlabel() == "time from stimulus (ms)"
    assert [s for s in ("left", "right", "top", "bottom") if ax.spines[s].get_visible()] == ["bottom"]
    gain = [ln for ln in ax.lines if ln.get_gid() == "scalebar:gain"][0]
    assert list(gain.get_ydata()) == pytest.approx([-27.5, -22.5])
    assert [t.get_text() for t in ax.texts if t.get_gid() == "scalebar:text"][0].startswith("5 uV")
