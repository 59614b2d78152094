"""Plots saved to files (PNG, SVG, PDF, atomically), no pyplot state, and readability.

Readability: value labels clear of the threshold lines, verdict labels inside the figure,
abnormal values coloured, one framing of every trace stack.
"""

import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib.image
import pytest
from matplotlib.figure import Figure

from nerveconduct.plot.nerve import plot_nerve, plot_segments, plot_tli, save_figure
from nerveconduct.analysis import analyze_nerve
from _plot_cases import antimag_results, block_result, by_gid, normal_study  # noqa: F401 (fixtures)


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
    return by_gid(ax, gid).get_window_extent(renderer), fig.bbox


def test_tli_value_labels_clear_of_the_lines(antimag_results, block_result):
    results = [*antimag_results, block_result]
    ax = plot_tli(results)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    lines = [by_gid(ax, "threshold:cidp-mag")] + [
        by_gid(ax, f"cutoff:{r}") for r in range(len(results)) if by_gid(ax, f"cutoff:{r}")]
    for r in range(len(results)):
        label = by_gid(ax, f"value:tli:{r}").get_window_extent(renderer)
        assert label.x0 >= ax.figure.bbox.x0 and label.y1 <= ax.figure.bbox.y1
        for line in lines:
            y = ax.transData.transform((0, line.get_ydata()[0]))[1]
            xs = [ax.transData.transform((x, 0))[0] for x in line.get_xdata()]
            if min(xs) <= label.x1 and max(xs) >= label.x0:  # the line passes under the label
                assert not label.y0 - 1 <= y <= label.y1 + 1, (r, line.get_gid())


def test_segment_verdict_label_inside_the_figure(block_result):
    ax = plot_segments([block_result], rule_set="efns-pns-2010-mmn")
    ax.figure.canvas.draw()
    box = by_gid(ax, "verdict:0:1").get_window_extent(ax.figure.canvas.get_renderer())
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
    red = by_gid(ax, "abnormal:1")
    assert red is not None and red.get_color() == "#b03a2e"
    shown = [line for line in red.get_text().split("\n") if line]
    assert any(line.startswith("CV ") for line in shown)
    assert any(line.startswith("duration +") for line in shown)
    assert "CV" in by_gid(ax, "segment:1").get_text()  # the full annotation stays


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
