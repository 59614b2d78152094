"""What the report says about a nerve's F-waves when it has no F latency, the SNAP table's
flags, and the sensory limits' citation (issue #18, item 6; review of the report's user flow).

F-waves sought in a train and none found read "absent (0 F-waves in N stimuli)" in the nerve
values, the motor summary, the normal-limits row and the F-wave panel; a sheet's NaN reads
"absent (study sheet)"; a train that gave no latency "not assessable" with the nerve's F-wave
flag as the reason; no F-wave study at all "not studied". Each text is checked where it must
appear and checked absent from the other cases' F-wave cells.
"""

import dataclasses

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve
from nerveconduct.limits import DEFAULT_SENSORY_LIMITS_CITATION, NormalLimits, SensoryLimits
from nerveconduct.model import Case, NerveStudy
from nerveconduct.report.build import render_html
from nerveconduct.report.fwave import f_wave_state
from nerveconduct.report.sections import footer_html, nerve_tables_html
from nerveconduct.simulate.fwave import simulate_f_waves
from nerveconduct.simulate.nerve import simulate_nerve
from nerveconduct.simulate.samples_sensory import sensory_case

from test_report import parse  # noqa: E402  (tests/ is on sys.path)

N_STIMULI = 16  # not the simulator's default, so the count shown must come from the train


@pytest.fixture(scope="module")
def studies():
    st = simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]
    none_found = simulate_f_waves(n_stimuli=N_STIMULI, backfiring_units_mean=0.0, seed=2)
    assert none_found.truth.persistence_pct == 0.0  # noiseless truth: no F-wave in the train
    found = simulate_f_waves(n_stimuli=N_STIMULI, seed=2)

    def make(**kw):
        return NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                          stimulus_sample=st.stimulus_sample, **kw)

    def train(sim, n=None):
        return dict(f_wave_traces=sim.traces[:n], f_wave_sampling_rate_hz=sim.sampling_rate_hz,
                    f_wave_stimulus_sample=sim.stimulus_sample)

    return {"traces_absent": make(**train(none_found)),
            "few_stimuli": make(**train(none_found, 4)),  # fewer than the 10 needed
            "measured": make(**train(found)),
            "sheet_absent": make(f_wave_latency_ms=float("nan")),
            "sheet": make(f_wave_latency_ms=27.0),
            "not_studied": make()}


@pytest.fixture(scope="module")
def pages(studies):
    return {k: parse(render_html(Case(studies=[st]), plots=False)).root for k, st in studies.items()}


def _f_wave_texts(dom):
    """(nerve values, motor summary cell, normal-limits status, panel value, panel status)."""
    value = dom.find("dd", data_key="f-wave-latency").text()
    summary = dom.find("table", **{"class": "motor-summary"}).find(
        "td", data_measure="f_wave_latency_ms").text()
    limit_row = dom.find("tr", data_limit="f_wave_latency").find_all("td")
    panels = [d for d in dom.find_all("div") if "f-wave-panel" in d.classes()]
    panel = (None, None)
    if panels:
        cells = panels[0].find("tr", data_f_wave="minimal").find_all("td")
        panel = (cells[1].text(), cells[-1].text())
    return value, summary, limit_row[-1].text(), *panel


ABSENT = f"absent (0 F-waves in {N_STIMULI} stimuli)"


def test_f_waves_sought_and_absent_in_the_train(pages):
    value, summary, status, panel_value, panel_status = _f_wave_texts(pages["traces_absent"])
    assert value == summary == status == panel_value == ABSENT
    assert panel_status == "absent"
    for other in ("few_stimuli", "measured", "sheet_absent", "sheet", "not_studied"):
        assert ABSENT not in _f_wave_texts(pages[other]), other


def test_f_waves_absent_in_the_sheet(pages):
    value, summary, status, *panel = _f_wave_texts(pages["sheet_absent"])
    assert value == summary == status == "absent (study sheet)" and panel == [None, None]
    for other in ("traces_absent", "few_stimuli", "measured", "sheet", "not_studied"):
        assert "absent (study sheet)" not in _f_wave_texts(pages[other]), other


def test_f_waves_not_studied(pages):
    value, summary, status, *panel = _f_wave_texts(pages["not_studied"])
    assert value == summary == status == "not studied" and panel == [None, None]
    for other in ("traces_absent", "few_stimuli", "measured", "sheet_absent", "sheet"):
        assert not any(t and "not studied" == t for t in _f_wave_texts(pages[other])), other


def test_train_too_short_to_assess_is_not_assessable_with_its_reason(pages, studies):
    reason = analyze_nerve(studies["few_stimuli"]).flags[0]
    assert reason.startswith("F-wave train not assessable: 4 stimuli measured")
    value, summary, status, panel_value, panel_status = _f_wave_texts(pages["few_stimuli"])
    assert value == "not assessable (see the flags)" and summary == panel_value == "not assessable"
    assert status == panel_status == f"not assessable: {reason}"
    dom = pages["few_stimuli"]
    assert dom.find("table", **{"class": "motor-summary"}).find(
        "td", data_measure="f_wave_latency_ms").attrs["title"] == reason
    assert reason in dom.find("ul", **{"class": "flags nerve-flags"}).text()
    for other in ("traces_absent", "measured", "sheet_absent", "sheet", "not_studied"):
        assert not any(t and t.startswith("not assessable") for t in _f_wave_texts(pages[other])), other


def test_a_flagged_not_assessable_train_is_never_called_absent(studies):
    """Whatever state the analysis gives a train that cannot show F-waves (its NaN latency,
    even with persistence 0), a nerve flag saying "not assessable" wins over "absent"."""
    result = analyze_nerve(studies["traces_absent"])
    assert f_wave_state(result).text == ABSENT
    flag = "F-wave train not assessable: the sweep ends before plausible F latencies"
    flagged = dataclasses.replace(result, flags=(*result.flags, flag))
    state = f_wave_state(flagged)
    assert (state.kind, state.reason) == ("not assessable", flag)
    html = nerve_tables_html(flagged)
    assert "not assessable (see the flags)" in html and f"not assessable: {flag}" in html
    assert "absent (" not in html
    unmeasured = dataclasses.replace(result, f_wave_persistence_pct=None)  # NaN latency, no counts
    assert f_wave_state(unmeasured).kind == "not assessable"
    window = "F-wave search window ends at 22.0 ms, before the F-wave ULN 31 ms: absence not assessable"
    withdrawn = dataclasses.replace(result, f_wave_latency_ms=None, f_wave_latency_source=None,
                                    f_wave_persistence_pct=None, flags=(window,))
    assert f_wave_state(withdrawn) == ("not assessable", "not assessable", window)
    assert f_wave_state(dataclasses.replace(withdrawn, study=None, flags=())).kind == "not studied"


def test_f_latency_values_show_as_before(pages, studies):
    measured = analyze_nerve(studies["measured"])
    assert np.isfinite(measured.f_wave_latency_ms) and measured.f_wave_latency_source == "traces"
    for key, latency in (("measured", measured.f_wave_latency_ms), ("sheet", 27.0)):
        value, summary, status, *_ = _f_wave_texts(pages[key])
        assert value == f"{latency:.2f} ms" and summary == f"{latency:.2f}"
        assert status == "normal"


# --- the SNAP table's flags -----------------------------------------------------------------
@pytest.fixture(scope="module")
def cidp_page():
    return parse(render_html(sensory_case("cidp_two_nerves"), plots=False)).root


def _groups(dom):
    return [b for b in dom.find_all("tbody") if "sensory-nerve" in b.classes()]


def test_snap_table_shows_site_and_nerve_flags(cidp_page):
    section = cidp_page.find("section", **{"class": "sensory"})
    headers = [th.text() for th in section.find("thead").find_all("th")]
    assert headers[-1] == "Flags" and "text" in section.find("thead").find_all("th")[-1].classes()
    for group in _groups(cidp_page):  # both SNAPs of the sample are LOW_SNR
        (row,) = [tr for tr in group.find_all("tr") if "sensory-site" in tr.classes()]
        cells = row.find_all("td")
        assert len(cells) == len(headers) and cells[-1].text() == "low snr"
        assert "flags" in cells[-1].classes()
        (flags,) = [tr for tr in group.find_all("tr") if "sensory-flags" in tr.classes()]
        assert "flagged (LOW_SNR)" in flags.text()


def test_snap_table_without_flags_has_empty_cells(tmp_path):
    dom = parse(render_html(sensory_case("sensory_median"), plots=False)).root
    (group,) = _groups(dom)
    rows = [tr for tr in group.find_all("tr") if "sensory-site" in tr.classes()]
    assert [tr.find_all("td")[-1].text() for tr in rows] == ["", ""]
    assert not [tr for tr in group.find_all("tr") if "sensory-flags" in tr.classes()]


def test_motor_and_snap_tables_name_flags_alike():
    import nerveconduct.report.sensory as sensory
    from nerveconduct.flags import MeasureFlag
    from nerveconduct.report.sections import measure_flag_names

    assert sensory.measure_flag_names is measure_flag_names  # one definition
    assert measure_flag_names(int(MeasureFlag.LOW_SNR | MeasureFlag.ABSENT)) == ["low snr"]


# --- the sensory limits in the citations -----------------------------------------------------
DEFAULT_CONFIDENCE = (" Confidence: secondary (median, ulnar, radial); recalled (sural, "
                      "superficial fibular).")


def test_footer_cites_the_default_sensory_limits_and_their_confidence():
    motor = NormalLimits.default()
    without = footer_html("0", None, motor)
    assert "sensory-limits-source" not in without
    html = footer_html("0", None, motor, sensory_limits=SensoryLimits.default())
    assert without[:-len("</footer>")] in html  # the motor lines unchanged, the sensory one added
    p = parse(html).root.find("p", **{"class": "sensory-limits-source"})
    assert p.attrs["data-limits"] == "preston-shapiro-sensory"
    assert p.text() == ("Sensory normal limits: preston-shapiro-sensory \u2014 "
                        + DEFAULT_SENSORY_LIMITS_CITATION + DEFAULT_CONFIDENCE)


def test_footer_cites_a_lab_sensory_table(tmp_path):
    lab = tmp_path / "lab_sensory.csv"
    lab.write_text("nerve,direction,amplitude_lln_uv,cv_lln_m_s,peak_latency_uln_ms,distance_mm,"
                   "confidence\nmedian,antidromic,7,38,3.8,130,confirmed\n"
                   "ulnar,antidromic,6,38,3.2,110,\n")
    table = SensoryLimits.from_file(lab)
    p = parse(footer_html("0", None, NormalLimits.default(), sensory_limits=table)).root.find(
        "p", **{"class": "sensory-limits-source"})
    assert p.attrs["data-limits"] == "lab_sensory"
    assert p.text() == ("Sensory normal limits: lab_sensory \u2014 lab limits file lab_sensory.csv"
                        " Confidence: confirmed (median); not given (ulnar).")


def test_report_footer_cites_the_sensory_table_in_use(cidp_page, pages):
    footer = cidp_page.find("footer")
    p = footer.find("p", **{"class": "sensory-limits-source"})
    assert DEFAULT_SENSORY_LIMITS_CITATION in p.text() and DEFAULT_CONFIDENCE.strip() in p.text()
    assert footer.find("p", **{"class": "limits-source"}).attrs["data-limits"] == "preston-shapiro"
    assert not pages["measured"].find("footer").find_all(  # no sensory study: no sensory line
        "p", **{"class": "sensory-limits-source"})
