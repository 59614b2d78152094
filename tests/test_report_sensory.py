"""The report's F-wave panels and sensory section (issue #18, item 6), parsed back.

A case with F-wave trains gets, on each such nerve's page, the raster and a table of the
train's values with the upper limit of normal; a case with sensory studies gets a sensory
section (SNAP table with the limits used, one SNAP picture per study). A case without them
gets neither (the motor report's bytes are checked by ``tests/test_report.py`` and the golden
files).
"""

import math

import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.analysis.sensory import analyze_sensory
from nerveconduct.model import Case
from nerveconduct.report.build import render_html
from nerveconduct.simulate.samples_sensory import f_wave_study, sensory_case

from test_report import cell_value, parse  # noqa: E402  (tests/ is on sys.path)

DPI = 40


@pytest.fixture(scope="module")
def cidp():
    case = sensory_case("cidp_two_nerves")
    text = render_html(case, image_format="svg", dpi=DPI)
    return case, text, parse(text).root


def _tr(node, cls, **attrs):
    return [tr for tr in node.find_all("tr", **attrs) if cls in tr.classes()]


def test_f_wave_panel_per_nerve_with_its_limit(cidp):
    case, _, dom = cidp
    results = analyze_nerves(case.studies)
    panels = [d for d in dom.find_all("div") if "f-wave-panel" in d.classes()]
    assert [p.attrs["data-nerve-index"] for p in panels] == ["0", "1"]
    for i, (panel, r) in enumerate(zip(panels, results)):
        assert panel.find("figure").attrs["id"] == f"plot-fwave-{i}"
        (minimal,) = _tr(panel, "f-wave", data_f_wave="minimal")
        value, shown = cell_value(minimal, "f_wave_latency_ms")
        assert value == r.f_wave_latency_ms and shown == f"{r.f_wave_latency_ms:.2f}"
        comp = r.limits["f_wave_latency"]
        assert cell_value(minimal, "f_wave_uln_ms")[0] == comp.limit
        assert cell_value(minimal, "f_wave_latency_pct_of_uln")[0] == pytest.approx(comp.pct_of_limit)
        status = minimal.find_all("td")[-1]
        assert status.text() == ("abnormal" if comp.abnormal else "normal")
        (pers,) = _tr(panel, "f-wave", data_f_wave="persistence")
        assert cell_value(pers, "f_wave_persistence_pct")[0] == r.f_wave_persistence_pct
        assert "5 F-waves / 10 stimuli" in pers.text()
        (source,) = _tr(panel, "f-wave", data_f_wave="source")
        assert "measured from the F-wave train" in source.text()
        assert "fixed ULN" in panel.find("p").text()  # which ULN: fixed or height-adjusted
    # the median's F latency is >= 120 % of its ULN (EAN/PNS 2021 item c): shown abnormal
    assert results[0].limits["f_wave_latency"].pct_of_limit >= 120.0


def test_f_wave_raster_inline_svg_has_the_markers(cidp):
    _, _, dom = cidp
    figure = dom.find("figure", id="plot-fwave-0")
    ids = {g.attrs.get("id") for g in figure.find_all("g")}
    assert "minimal" in ids and "excluded" in ids
    assert sum(1 for i in ids if i and i.startswith("f:")) == 5  # five stimuli with an F-wave


def test_sensory_section_with_limits(cidp):
    case, _, dom = cidp
    results = analyze_sensory(case.sensory)
    (section,) = [s for s in dom.find_all("section") if "sensory" in s.classes()]
    assert section.find("h2").text() == "Sensory nerve conduction"
    groups = [b for b in section.find_all("tbody") if "sensory-nerve" in b.classes()]
    assert len(groups) == len(results) == 2
    for group, r in zip(groups, results):
        assert group.attrs["data-abnormal"] == "true"
        assert "abnormal: amplitude below LLN; CV below LLN" in group.text()
        (row,) = _tr(group, "sensory-site")
        site = r.sites[0]
        assert cell_value(row, "onset_latency_ms")[0] == site.onset_latency_ms
        assert cell_value(row, "negative_peak_latency_ms")[0] == site.negative_peak_latency_ms
        amp = row.find("td", data_measure="amplitude_uv")
        assert float(amp.attrs["data-value"]) == site.amplitude_uv and "abn" in amp.classes()
        assert amp.text() == f"{site.amplitude_uv:.1f} \u2193"
        limits = {td.attrs["data-limit"]: td.text() for td in row.find_all("td") if "data-limit" in td.attrs}
        assert limits == {repr(r.peak_latency_uln_ms): f"\u2264{r.peak_latency_uln_ms:.2f}",
                          repr(r.amplitude_lln_uv): f"\u2265{r.amplitude_lln_uv:.1f}",
                          repr(r.cv_lln_m_s): f"\u2265{r.cv_lln_m_s:.1f}"}
    assert r.limits_source in section.text()
    assert [f.attrs["id"] for f in section.find_all("figure")] == ["plot-sensory-0", "plot-sensory-1"]
    assert dom.find("h1").text() == "Nerve conduction report"  # not "Motor ..." with SNAPs
    assert dom.find("dd", data_key="sensory-nerves").text() == (
        "left median (antidromic), left ulnar (antidromic)")


def test_snap_picture_inline_svg_has_the_markers(cidp):
    _, _, dom = cidp
    figure = dom.find("figure", id="plot-sensory-0")
    ids = {g.attrs.get("id") for g in figure.find_all("g")}
    assert {"onset:wrist", "peak:wrist", "trace:wrist", "values:wrist"} <= ids


def test_sensory_only_case_and_two_sites():
    case = sensory_case("sensory_median")
    dom = parse(render_html(case, dpi=DPI, plots=False)).root
    (section,) = [s for s in dom.find_all("section") if "sensory" in s.classes()]
    (group,) = [b for b in section.find_all("tbody") if "sensory-nerve" in b.classes()]
    assert group.attrs["data-abnormal"] == "false" and "normal" in group.text()
    rows = _tr(group, "sensory-site")
    assert [r.attrs["data-site"] for r in rows] == ["wrist", "elbow"]
    assert cell_value(rows[1], "distance_mm")[0] == 230.0
    cv = cell_value(rows[1], "conduction_velocity_m_s")[0]
    assert 55.0 < cv < 75.0  # the segment's onset-based CV of a 58 m/s population
    assert not section.find_all("figure")  # plots=False: tables only


def test_nothing_added_without_trains_or_sensory():
    st = f_wave_study("normal_ulnar_fwave")
    from nerveconduct.model import NerveStudy

    typed = NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                       stimulus_sample=st.stimulus_sample, f_wave_latency_ms=26.0)
    text = render_html(Case(studies=[typed]), dpi=DPI)
    assert "f-wave-panel" not in text and "plot-fwave" not in text
    assert "Sensory nerve conduction" not in text and "plot-sensory" not in text
    assert "<h1>Motor nerve conduction report</h1>" in text and "sensory-nerves" not in text
    with_train = render_html(Case(studies=[st]), dpi=DPI, plots=False)
    assert "f-wave-panel" in with_train and "plot-fwave" not in with_train  # table, no plot
    assert math.isfinite(analyze_nerves([st])[0].f_wave_latency_ms)


def test_sensory_limits_of_the_lab_are_used_and_named(tmp_path):
    from click.testing import CliRunner

    from nerveconduct.simulate.samples import sample_path
    from nerveconduct_cli.main import main

    lab = tmp_path / "lab_sensory.csv"  # a lab whose median amplitude LLN is 7 uV
    lab.write_text("nerve,direction,amplitude_lln_uv,cv_lln_m_s,peak_latency_uln_ms,distance_mm\n"
                   "median,antidromic,7,38,3.8,130\nulnar,antidromic,6,38,3.2,110\n")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(sample_path("cidp_two_nerves.h5")), "-o",
                                       str(out), "--sensory-limits", str(lab), "--image-format", "svg"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "writing the report of 2 nerve(s) and 2 sensory studies" in result.output
    dom = parse(out.read_text(encoding="utf-8")).root
    groups = [b for b in dom.find_all("tbody") if "sensory-nerve" in b.classes()]
    # 7.9 uV >= 7 and 40 m/s >= 38 and 3.68 ms <= 3.8: normal by the lab's limits
    assert [g.attrs["data-abnormal"] for g in groups] == ["false", "false"]
    (row,) = _tr(groups[0], "sensory-site")
    assert {td.attrs["data-limit"] for td in row.find_all("td") if "data-limit" in td.attrs} == {
        "7.0", "38.0", "3.8"}
    assert "lab_sensory" in dom.find("section", **{"class": "sensory"}).text()
