"""Plots (issue 8): stacked CMAPs with markers, segment drops against thresholds, TLI.

Every plot is rendered with the Agg canvas; artists are found by their ``gid`` and checked
against the measured values (markers exactly at the measured latencies, on the plotted trace).
The nerves drawn come from ``_plot_cases.py``; saved files and readability are tested in
``test_plot_output.py``.
"""

import math
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nerveconduct.model import Site
from nerveconduct.plot.nerve import plot_nerve, plot_segments, plot_tli
from nerveconduct.plot.criteria import ThresholdLine, rule_set_table, rule_set_thresholds
from nerveconduct.analysis import analyze_nerve, analyze_values
from _plot_cases import (SITES, absent_result, antimag_results, block_result, by_gid, artist_gids,  # noqa: F401 (fixtures)
                         normal_study, study_like)


class TestPlotNerve:
    def test_one_trace_per_site_distal_on_top(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        traces = [by_gid(ax, f"trace:{name}") for name in SITES]
        assert all(t is not None for t in traces)
        assert sum(1 for g in artist_gids(ax) if g.startswith("trace:")) == 3
        levels = [np.median(t.get_ydata()) for t in traces]  # the baselines
        assert levels[0] > levels[1] > levels[2]

    def test_time_axis_is_ms_from_stimulus(self, block_result):
        st = block_result.study
        ax = plot_nerve(block_result, verdicts=None)
        x = by_gid(ax, "trace:wrist").get_xdata()
        expected = (np.arange(st.traces.shape[1]) - st.stimulus_sample) * 1000.0 / st.sampling_rate_hz
        np.testing.assert_allclose(x, expected)
        assert x[st.stimulus_sample] == 0.0

    def test_same_gain_negative_up(self, block_result):
        # the plotted shape of every trace is exactly -(physical trace), offsets aside
        st = block_result.study
        ax = plot_nerve(block_result, verdicts=None)
        for k, name in enumerate(SITES):
            y = np.asarray(by_gid(ax, f"trace:{name}").get_ydata())
            np.testing.assert_allclose(y - y[0], -(st.traces[k] - st.traces[k][0]), atol=1e-12)

    def test_negative_down_option(self, block_result):
        st = block_result.study
        ax = plot_nerve(block_result, verdicts=None, negative_up=False)
        y = np.asarray(by_gid(ax, "trace:wrist").get_ydata())
        np.testing.assert_allclose(y - y[0], st.traces[0] - st.traces[0][0], atol=1e-12)
        peak = by_gid(ax, "peak:wrist")
        assert peak.get_ydata()[0] < np.median(y)  # the negative peak points down

    def test_markers_at_measured_latencies_on_the_trace(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        for site in block_result.sites:
            line = by_gid(ax, f"trace:{site.name}")
            expected = {"onset": site.onset_latency_ms, "peak": site.negative_peak_latency_ms,
                        "end": site.onset_latency_ms + site.negative_peak_duration_ms}
            for kind, x in expected.items():
                marker = by_gid(ax, f"{kind}:{site.name}")
                assert marker is not None, (kind, site.name)
                mx, my = marker.get_xdata()[0], marker.get_ydata()[0]
                assert mx == pytest.approx(x, abs=1e-12)
                assert my == pytest.approx(np.interp(x, line.get_xdata(), line.get_ydata()), abs=1e-12)
            # negative up: the negative peak is the highest point near it
            peak_y = by_gid(ax, f"peak:{site.name}").get_ydata()[0]
            assert peak_y > np.median(line.get_ydata()) + 0.5 * site.negative_peak_amplitude_mv

    def test_site_labels_with_cumulative_distance(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        assert by_gid(ax, "label:wrist").get_text() == "wrist\n70 mm"
        assert by_gid(ax, "label:below elbow").get_text() == "below elbow\n270 mm"
        assert by_gid(ax, "label:above elbow").get_text() == "above elbow\n370 mm"

    def test_segment_annotations(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        seg = block_result.segments[0]
        text = by_gid(ax, "segment:1").get_text()
        assert f"CV {seg.conduction_velocity_m_s:.1f} m/s" in text
        assert f"amp {seg.amplitude_drop_pct:.0f}%" in text and f"area {seg.area_drop_pct:.0f}%" in text
        assert f"duration {seg.duration_increase_pct:+.0f}%" in text
        assert "across compression site" in by_gid(ax, "segment:2").get_text()
        assert not any(g.startswith("verdict:") for g in artist_gids(ax))

    def test_conduction_block_verdict_highlighted(self, block_result):
        assert block_result.segments[0].area_drop_pct == pytest.approx(65.0, abs=2.0)
        ax = plot_nerve(block_result)  # default rule set efns-pns-2010-mmn
        bracket = by_gid(ax, "verdict:1")
        assert bracket is not None
        assert "definite CB" in by_gid(ax, "segment:1").get_text()
        ys = sorted(bracket.get_ydata())  # spans the two traces of the segment
        lines = [by_gid(ax, f"trace:{n}") for n in SITES[:2]]
        assert ys[0] == pytest.approx(np.median(lines[1].get_ydata()), abs=0.5)
        assert ys[1] == pytest.approx(np.median(lines[0].get_ydata()), abs=0.5)
        assert by_gid(ax, "verdict:2") is None  # across the elbow: excluded, not highlighted

    def test_absent_response_has_no_markers(self, absent_result):
        assert not absent_result.sites[2].present
        ax = plot_nerve(absent_result, verdicts=None)
        gids = artist_gids(ax)
        assert "absent:above elbow" in gids and "trace:above elbow" in gids
        assert not {"onset:above elbow", "peak:above elbow", "end:above elbow"} & gids
        assert {"onset:wrist", "peak:wrist", "end:wrist"} <= gids
        assert by_gid(ax, "absent:above elbow").get_text() == "absent"

    def test_stored_negative_up_polarity_draws_the_same(self, block_result):
        st = block_result.study
        flipped = analyze_nerve(study_like(-st.traces, st, polarity="negative-up"))
        a = plot_nerve(block_result, verdicts=None)
        b = plot_nerve(flipped, verdicts=None)
        for name in SITES:
            np.testing.assert_allclose(by_gid(a, f"trace:{name}").get_ydata(),
                                       by_gid(b, f"trace:{name}").get_ydata(), atol=1e-9)

    def test_scale_bar(self, block_result):
        ax = plot_nerve(block_result, verdicts=None)
        gain = by_gid(ax, "scalebar:gain").get_ydata()
        time = by_gid(ax, "scalebar:time").get_xdata()
        text = by_gid(ax, "scalebar:text").get_text()
        gain_mv, time_ms = abs(gain[1] - gain[0]), abs(time[1] - time[0])
        assert text == f"{gain_mv:g} mV\n{time_ms:g} ms"
        # one gain for all traces, at least half of the largest response
        assert gain_mv >= 0.5 * max(s.peak_to_peak_amplitude_mv for s in block_result.sites)

    def test_draws_on_given_axes(self, block_result):
        fig = Figure(figsize=(4, 3))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        assert plot_nerve(block_result, ax, verdicts=None) is ax
        assert by_gid(ax, "trace:wrist") is not None

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
                    bar = by_gid(ax, f"{measure}:{r}:{seg.index}")
                    if math.isfinite(value):
                        assert bar.get_width() == pytest.approx(value)
                    else:
                        assert bar is None
                        assert by_gid(ax, f"missing:{measure}:{r}:{seg.index}").get_text().strip() == "absent"

    def test_thresholds_from_the_rule_table(self, block_result):
        ax = plot_segments([block_result], rule_set="efns-pns-2010-mmn")
        gids = artist_gids(ax)
        # EFNS/PNS 2010 MMN: area drop >=50% (definite), >=30% (probable, long segment),
        # duration increase <=30% / >30%
        assert {"threshold:area_drop_pct:50", "threshold:area_drop_pct:30",
                "threshold:duration_increase_pct:30"} <= gids
        assert not any(g.startswith("threshold:amplitude_drop_pct") for g in gids)
        assert by_gid(ax, "threshold:area_drop_pct:50").get_xdata()[0] == 50.0
        assert "definite CB" in by_gid(ax, "verdict:0:1").get_text()
        assert by_gid(ax, "verdict:0:2") is None

    def test_from_distal_rule_set_plots_from_distal_values(self, block_result):
        ax = plot_segments([block_result], rule_set="ean-pns-2021-cidp")
        seg = block_result.segments[1]
        bar = by_gid(ax, f"amplitude_drop_pct:0:{seg.index}")
        assert bar.get_width() == pytest.approx(seg.amplitude_drop_from_distal_pct)
        assert seg.amplitude_drop_from_distal_pct != pytest.approx(seg.amplitude_drop_pct, abs=1.0)
        assert "threshold:amplitude_drop_pct:30" in artist_gids(ax)  # EAN/PNS 2021 CB: amplitude >=30%

    def test_explicit_thresholds_without_rule_set(self, block_result):
        lines = [ThresholdLine("amplitude_drop_pct", 20.0, "20% rule")]
        ax = plot_segments([block_result], rule_set=None, thresholds=lines)
        line = by_gid(ax, "threshold:amplitude_drop_pct:20")
        assert line.get_xdata()[0] == 20.0 and line.get_label() == "20% rule"
        assert not any(g.startswith("verdict:") for g in artist_gids(ax))

    def test_rule_set_thresholds_table(self):
        lines = rule_set_thresholds(rule_set_table("efns-pns-2010-mmn"))
        assert [(t.measure, t.value_pct) for t in lines] == [
            ("area_drop_pct", 30.0), ("area_drop_pct", 50.0), ("duration_increase_pct", 30.0)]
        assert "definite CB" in lines[1].label

    def test_empty(self):
        ax = plot_segments([], rule_set=None)
        assert by_gid(ax, "empty") is not None

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
            assert by_gid(ax, f"tli:{r}").get_height() == pytest.approx(res.terminal_latency_index)
        assert by_gid(ax, "threshold:cidp-mag").get_ydata()[0] == 0.25
        assert list(by_gid(ax, "cutoff:0").get_ydata()) == [0.26, 0.26]  # median, Cocito 2001
        assert list(by_gid(ax, "cutoff:1").get_ydata()) == [0.33, 0.33]  # ulnar
        # distal slowing: TLI <= 0.25, drawn red; the normal ulnar is not
        low = by_gid(ax, "tli:0")
        assert antimag_results[0].terminal_latency_index <= 0.25
        assert low.get_facecolor()[:3] == pytest.approx((0xc0 / 255, 0x39 / 255, 0x2b / 255))
        assert block_result.terminal_latency_index > 0.25
        assert by_gid(ax, "tli:2").get_facecolor()[:3] != low.get_facecolor()[:3]

    def test_missing_tli(self):
        r = analyze_values("fibular", [Site("ankle", 90)], [4.0], [5.0])  # one site: no TLI
        ax = plot_tli([r])
        assert by_gid(ax, "tli:0") is None and by_gid(ax, "missing:tli:0").get_text() == "n/a"
        assert by_gid(ax, "cutoff:0") is None  # no cut-off for the fibular nerve

    @pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, True])
    def test_raises(self, bad):
        with pytest.raises(ValueError, match=r"threshold \(TLI\) must be a finite number > 0, got " + re.escape(repr(bad))):
            plot_tli([], threshold=bad)
