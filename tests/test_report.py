"""The HTML report (issue 8): written for every bundled sample, parsed back, numbers and verdicts.

Expected values for the samples are those of ``data/samples/README.md`` ("What nerveconduct
finds"), with its tolerances; every displayed number must also equal its unrounded
``data-value`` formatted with the report's decimals.
"""

import base64
import html.parser
import math
import re
from pathlib import Path

import pytest

import nerveconduct
from nerveconduct.io.read import read_case
from nerveconduct.model import Case, NerveStudy, Site
from nerveconduct.report.build import render_html, write_html
from nerveconduct.analysis import analyze_nerves
from nerveconduct.simulate.nerve import simulate_nerve

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
DPI = 40
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


# --- a small DOM from html.parser ---------------------------------------------------------
class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag=None, **attrs):
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]

    def classes(self):
        return set((self.attrs.get("class") or "").split())


class DomBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.cur = self.root
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        assert node is not self.root, f"unmatched </{tag}>"
        self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(text):
    builder = DomBuilder()
    builder.feed(text)
    builder.close()
    assert builder.cur is builder.root, "unclosed elements"
    return builder


def visible_text(text):
    """The page without embedded image data (so identifier checks cannot hit base64)."""
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", text)


DECIMALS = {"onset_latency_ms": 2, "negative_peak_amplitude_mv": 2, "conduction_velocity_m_s": 1,
            "amplitude_drop_pct": 1, "area_drop_pct": 1, "duration_increase_pct": 1,
            "negative_peak_area_mv_ms": 1, "distance_mm": None}


def cell_value(row, measure):
    """(float value, displayed text) of the cell of ``measure`` in a table row."""
    td = row.find("td", data_measure=measure)
    raw = td.attrs["data-value"]
    return (float(raw) if raw else math.nan), td.text()


def check_display(row, measure):
    value, shown = cell_value(row, measure)
    if math.isfinite(value):
        decimals = DECIMALS[measure]
        spec = "g" if decimals is None else \
            f"{'+' if measure == 'duration_increase_pct' else ''}.{decimals}f"
        assert shown.split()[0] == format(value, spec), (measure, shown, value)
    return value


# --- the bundled samples ------------------------------------------------------------------
SAMPLE_CASES = {  # file -> criteria used for its report
    "normal_case.json": ("efns-pns-2010-mmn", "ean-pns-2021-cidp"),
    "mmn_case.toml": ("efns-pns-2010-mmn", "ean-pns-2021-cidp"),
    "cidp_median.edf": ("efns-pns-2010-mmn", "efns-pns-2010-cidp"),
    "antimag_case.toml": ("efns-pns-2010-mmn", "ean-pns-2021-cidp"),
    "absent_proximal.h5": ("efns-pns-2010-mmn",),
    "noisy_median.txt": ("efns-pns-2010-mmn", "ean-pns-2021-cidp"),
}

# README "What nerveconduct finds", one table shared with tests/test_samples.py
from sample_expectations import EXPECTED as README  # noqa: E402  (tests/ is on sys.path)


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("reports")
    reports = {}
    for name, criteria in SAMPLE_CASES.items():
        case = read_case(SAMPLES / name)
        path = write_html(case, out_dir / f"{name}.html", criteria=criteria, dpi=DPI)
        text = path.read_text(encoding="utf-8")
        reports[name] = (case, text, parse(text))
    return reports


def nerve_section(dom, nerve, side):
    for sec in dom.root.find_all("section"):
        if "nerve" in sec.classes() and sec.attrs.get("data-nerve") == nerve \
                and sec.find("h2").text().startswith(side):
            return sec
    raise AssertionError(f"no section for {side} {nerve}")


@pytest.mark.parametrize("name", sorted(SAMPLE_CASES))
def test_sample_report_is_self_contained_and_printable(sample_reports, name):
    case, text, dom = sample_reports[name]
    assert dom.doctype.lower() == "doctype html"
    assert "@page { size: A4" in text and "section.nerve.first { page-break-before: always" in text
    refs = [n.attrs.get(a) for n in dom.root.iter() for a in ("src", "href") if n.attrs.get(a)]
    assert all(r.startswith("data:image/png;base64,") for r in refs), refs
    assert not dom.root.find_all("script") and not dom.root.find_all("link")
    images = dom.root.find_all("img")
    results = analyze_nerves(case.studies)
    assert len(images) == len(results) + (1 if any(r.segments for r in results) else 0) + 1
    for img in images:
        png = base64.b64decode(img.attrs["src"].split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 500
    sections = [s for s in dom.root.find_all("section") if "nerve" in s.classes()]
    assert len(sections) == len(results)
    header = dom.root.find("header")
    assert header.find("dd", data_key="case").text() == case.case_id
    assert header.find("dd", data_key="study-date").text() == "2025-09-30"
    temps = sorted({s.temperature_c for s in case.studies})
    assert header.find("dd", data_key="temperature").text() == \
        (f"{temps[0]:.1f} °C" if len(temps) == 1 else f"{temps[0]:.1f}–{temps[-1]:.1f} °C")
    assert header.find("dd", data_key="low-frequency-filter").text() == "2 Hz"


@pytest.mark.parametrize("key", sorted(README))
def test_sample_numbers_and_verdicts(sample_reports, key):
    name, nerve, side = key
    dml, amp, tli, segments, levels = README[key]
    _, _, dom = sample_reports[name]
    sec = nerve_section(dom, nerve, side)
    sites = sec.find("table", **{"class": "sites"}).find_all("tr", **{"class": "site"})
    assert check_display(sites[0], "onset_latency_ms") == pytest.approx(dml, abs=0.15)
    assert check_display(sites[0], "negative_peak_amplitude_mv") == pytest.approx(amp, abs=0.15)
    for row in sites:
        for measure in ("onset_latency_ms", "negative_peak_amplitude_mv", "negative_peak_area_mv_ms",
                        "distance_mm"):
            check_display(row, measure)
    tli_text = sec.find("dd", data_key="terminal-latency-index").text()
    if tli is None:
        assert tli_text == "not computed"
    else:
        assert float(tli_text) == pytest.approx(tli, abs=0.02)
    seg_rows = sec.find("table", **{"class": "segments"}).find_all("tr", **{"class": "segment"})
    assert len(seg_rows) == len(segments)
    for row, (cv, amp_drop, area_drop, dur) in zip(seg_rows, segments, strict=True):
        for measure, expected, tol in (("conduction_velocity_m_s", cv, 2), ("amplitude_drop_pct", amp_drop, 3),
                                       ("area_drop_pct", area_drop, 3), ("duration_increase_pct", dur, 3)):
            value = check_display(row, measure)
            if expected is None and measure != "duration_increase_pct":
                assert math.isnan(value)
            elif expected is not None:
                assert value == pytest.approx(expected, abs=tol), (measure, value)
    verdicts = sec.find_all("tr", data_rule_set="efns-pns-2010-mmn")
    assert [v.attrs["data-level"] for v in verdicts] == levels
    for v in verdicts:  # every verdict shows its reasons
        assert v.find("ul", **{"class": "reasons"}).find_all("li")


def test_sample_mmn_case(sample_reports):
    _, text, dom = sample_reports["mmn_case.toml"]
    row = dom.root.find("tr", data_rule_set="efns-pns-2010-mmn", data_segment="1")
    area, _ = cell_value(dom.root.find("tr", **{"class": "segment"}), "area_drop_pct")
    assert "definite CB" in row.text() and f"area drop {area:.1f}% ≥ 50%" in row.text()
    patient = dom.root.find("tr", data_rule_set="efns-pns-2010-mmn", data_level="definite")
    assert "patient-verdict" in patient.classes()
    assert dom.root.find("p", **{"class": "mmn-category"}).attrs["data-category"] == "definite"
    findings = dom.root.find("table", **{"class": "findings"})
    mmn = findings.find_all("tr", data_rule_set="efns-pns-2010-mmn")
    assert len(mmn) == 1 and mmn[0].attrs["data-level"] == "definite"
    assert "Wrist–Below Elbow" in mmn[0].text()
    # the same block is EAN/PNS 2021 item (e) in one nerve: weakly supportive
    ean = dom.root.find("tr", data_rule_set="ean-pns-2021-cidp", data_level="possible")
    assert "patient-verdict" in ean.classes() and "weakly supportive" in ean.text()


def test_sample_antimag_case(sample_reports):
    _, _, dom = sample_reports["antimag_case.toml"]
    score = dom.root.find("p", **{"class": "score"})
    # +2 length-dependent, +1 ataxia, +1 tremor, +1 TLI <= 0.25 in median and ulnar
    assert score.attrs["data-points"] == "5" and "anti-MAG pattern" in score.text()
    tli_item = dom.root.find("tr", data_item="tli_low_in_2_nerves")
    assert tli_item.attrs["data-present"] == "yes"
    assert dom.root.find("tr", data_item="motor_cb").attrs["data-present"] == "no"
    # IgM-kappa: IgG 6.1 < LLN 7.0 low, IgA 0.9 >= 0.7 -> one uninvolved low -> mild
    grade = dom.root.find("p", **{"class": "immunoparesis"})
    assert grade.attrs["data-grade"] == "mild"
    para = dom.root.find("section", **{"class": "paraprotein"})
    assert para.find("dd", data_key="m-protein").text() == "IgM-kappa"
    assert para.find("dd", data_key="anti-mag-titre").text() == "70000 BTU"
    # human labels: immunoglobulins on one line with unit and LLN, no raw keys
    assert para.find("dd", data_key="igg").text() == "6.1 g/L (LLN 7 g/L)"
    assert "igg lln" not in para.text() and "igm unit" not in para.text()


def test_sample_cidp_case(sample_reports):
    _, _, dom = sample_reports["cidp_median.edf"]
    sec = nerve_section(dom, "median", "right")
    segment = sec.find("tr", data_rule_set="efns-pns-2010-cidp", data_segment="1")
    assert segment.attrs["data-level"] == "met"  # I-F: duration increase > 30% (an item level, not a patient's)
    item = sec.find("tr", data_rule_set="efns-pns-2010-cidp", data_item="I-F")
    assert item.attrs["data-met"] == "true" and "duration increase" in item.text()
    # one nerve only: the patient-level EFNS/PNS 2010 CIDP result is "possible"
    patient = dom.root.find("table", **{"class": "patient-verdicts"}).find(
        "tr", data_rule_set="efns-pns-2010-cidp")
    assert patient.attrs["data-level"] == "possible" and "in 1 nerve" in patient.text()
    # dispersion, not block: no MMN conduction block
    assert dom.root.find("tr", data_rule_set="efns-pns-2010-mmn", data_segment="1").attrs["data-level"] == "none"


def test_sample_absent_case(sample_reports):
    _, _, dom = sample_reports["absent_proximal.h5"]
    row = dom.root.find("tr", data_site="Popliteal Fossa")
    assert row.attrs["data-present"] == "false"
    assert row.find("td", data_measure="onset_latency_ms").text() == "absent"


def test_sample_identifiers_only_when_asked(sample_reports, tmp_path):
    for name in ("normal_case.json", "antimag_case.toml"):
        assert "FAKE" not in visible_text(sample_reports[name][1])
    case = read_case(SAMPLES / "antimag_case.toml", keep_identifiers=True)
    assert case.studies[0].metadata["patient_name"] == "FAKE^NOT-A-PATIENT"
    hidden = write_html(case, tmp_path / "hidden.html", criteria=(), plots=False).read_text()
    assert "FAKE" not in visible_text(hidden) and "antimag_case.toml" not in hidden
    shown = parse(write_html(case, tmp_path / "shown.html", criteria=(), plots=False,
                             keep_identifiers=True).read_text())
    assert shown.root.find("dd", data_key="patient-name").text() == "FAKE^NOT-A-PATIENT"
    assert shown.root.find("dd", data_key="patient-id").text() == "FAKE-000-0000"
    assert shown.root.find("dd", data_key="source-files").text() == case.source


def test_sample_footer(sample_reports):
    from nerveconduct.criteria import get_rule_set

    _, _, dom = sample_reports["normal_case.json"]
    footer = dom.root.find("footer")
    assert f"nerveconduct {nerveconduct.__version__}" in footer.text()
    for rule_set in SAMPLE_CASES["normal_case.json"]:
        rs = get_rule_set(rule_set)
        row = footer.find("tr", data_rule_set=rule_set)
        cells = [td.text() for td in row.find_all("td")]
        assert cells[:3] == [rs.id, rs.version, str(rs.year)] and cells[4] == rs.citation
    limits = footer.find("p", **{"class": "limits-source"})
    assert limits.attrs["data-limits"] == "preston-shapiro" and "Preston DC, Shapiro BE" in limits.text()


# --- simulator-made cases -----------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_study():
    return simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), nerve="median", muscle="APB",
                          n_units=60, seed=21).to_studies()[0]


def _with(study, **changes):
    kw = dict(nerve=study.nerve, side=study.side, muscle=study.muscle, sites=study.sites,
              traces=study.traces, sampling_rate_hz=study.sampling_rate_hz,
              stimulus_sample=study.stimulus_sample, study_id=study.study_id)
    kw.update(changes)
    return NerveStudy(kw.pop("nerve"), kw.pop("side"), kw.pop("muscle"), kw.pop("sites"),
                      kw.pop("traces"), kw.pop("sampling_rate_hz"), **kw)


class TestWriteHtml:
    def test_list_of_studies_and_escaping(self, sim_study, tmp_path):
        evil = _with(sim_study, muscle="<script>alert(1)</script>",
                     sites=[Site("wrist & <b>palm</b>", 70.0), Site("elbow", 230.0)])
        text = write_html([evil], tmp_path / "r.html", plots=False).read_text()
        dom = parse(text)
        assert not dom.root.find_all("script") and not dom.root.find_all("b")
        assert "<script>alert(1)</script>" in dom.root.find("section", data_nerve="median").find("h2").text()
        assert dom.root.find("tr", data_site="wrist & <b>palm</b>")

    def test_overwrite(self, sim_study, tmp_path):
        path = tmp_path / "r.html"
        write_html([sim_study], path, criteria=(), plots=False)
        first = path.read_text()
        with pytest.raises(FileExistsError, match=re.escape(str(path))):
            write_html([sim_study], path, criteria=(), plots=False)
        assert path.read_text() == first
        write_html([sim_study], path, criteria=(), dpi=DPI, overwrite=True, negative_up=False)
        assert "negative down" in path.read_text() and "negative up" not in path.read_text()
        assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left
        with pytest.raises(FileNotFoundError, match="does not exist"):
            write_html([sim_study], tmp_path / "no" / "r.html", plots=False)

    def test_inline_svg_and_plotted_rule_set(self, sim_study):
        # a demyelination rule set alone: its segment rules give the plotted thresholds
        dom = parse(render_html([sim_study], criteria=("efns-pns-2010-cidp",), image_format="svg"))
        assert not dom.root.find_all("img")
        svgs = dom.root.find_all("svg")
        assert len(svgs) == 3  # nerve, segments, TLI
        ids = {n.attrs.get("id") for n in svgs[0].iter()}
        assert {"trace:wrist", "onset:wrist", "peak:elbow", "segment:1"} <= ids
        seg_ids = {n.attrs.get("id") for n in svgs[1].iter()}
        # EFNS/PNS 2010 CIDP: I-E amplitude drop >=50%, II >=30%, I-F duration increase >30%
        assert {"threshold:amplitude_drop_pct:50", "threshold:amplitude_drop_pct:30",
                "threshold:duration_increase_pct:30", "amplitude_drop_pct:0:1"} <= seg_ids
        assert "efns-pns-2010-cidp" in dom.root.find("figure", id="plot-segments").text()

    def test_empty_case(self):
        dom = parse(render_html(Case([], case_id="EMPTY"), plots=True, dpi=DPI))
        assert dom.root.find("dd", data_key="nerves").text() == "none"
        assert not dom.root.find_all("section", data_nerve_index="0") and not dom.root.find_all("img")
        assert dom.root.find("tr", data_rule_set="efns-pns-2010-mmn").attrs["data-level"] == "not-assessable"

    def test_no_criteria(self, sim_study):
        dom = parse(render_html([sim_study], criteria=(), plots=False))
        assert not dom.root.find_all("img") and not dom.root.find_all("figure")
        assert "No criteria requested" in dom.root.find("section", **{"class": "findings"}).text()
        assert not dom.root.find_all("tr", data_rule_set="efns-pns-2010-mmn")

    def test_without_criteria_evaluator(self, sim_study, monkeypatch):
        import nerveconduct.plot.criteria as pc
        import nerveconduct.report.context as rc

        monkeypatch.setattr(pc, "criteria_module", lambda: None)
        monkeypatch.setattr(rc, "criteria_module", lambda: None)
        dom = parse(render_html([sim_study], dpi=DPI))  # the plots work without verdicts too
        assert len(dom.root.find_all("img")) == 3
        assert dom.root.find("p", id="criteria-missing")
        assert not dom.root.find_all("tr", data_level="none")
        assert len(dom.root.find_all("tr", **{"class": "site"})) == 2

    def test_clinical_items_and_scores(self, sim_study, monkeypatch):
        case = Case([sim_study], case_id="C-1", clinical={"ataxia": True, "tremor": False})
        dom = parse(render_html(case, plots=False))
        score = dom.root.find("p", **{"class": "score"})
        # ataxia +1, tremor 0; length-dependent (+2), relapsing (-1) and proximal weakness (-3)
        # unknown: no single score, a range
        assert score.attrs["data-points"] == "" and "some items unknown" in score.text()
        assert int(score.attrs["data-min-points"]) < int(score.attrs["data-max-points"])
        assert dom.root.find("tr", data_item="ataxia").attrs["data-present"] == "yes"
        assert dom.root.find("tr", data_item="tremor").attrs["data-present"] == "no"
        bad = Case([sim_study], clinical={"ataxia": "maybe"})
        note = parse(render_html(bad, plots=False)).root.find("section", **{"class": "cidp-mag"}).text()
        assert "CIDP-MAG score not computed" in note and "'maybe'" in note
        import nerveconduct.report.context as rc

        monkeypatch.setattr(rc, "scores_module", lambda: None)
        text = parse(render_html(case, criteria=(), plots=False)).root.find("section", **{"class": "cidp-mag"}).text()
        assert "scores module not installed" in text

    def test_no_clinical_items_no_score_section(self, sim_study):
        dom = parse(render_html(Case([sim_study], clinical={"ataxia": None}), criteria=(), plots=False))
        assert not dom.root.find_all("section", **{"class": "cidp-mag"})

    def test_paraprotein_without_immunoglobulins(self, sim_study):
        case = Case([sim_study], paraprotein={"m_protein": "IgM-lambda"})
        sec = parse(render_html(case, criteria=(), plots=False)).root.find("section", **{"class": "paraprotein"})
        assert "needs IgG, IgA and IgM" in sec.text() and not sec.find_all("p", **{"class": "immunoparesis"})

    def test_lab_limits_file(self, sim_study, tmp_path):
        limits = tmp_path / "lab.csv"
        limits.write_text("nerve,muscle,amplitude_lln_mv,dml_uln_ms,cv_lln_m_s\nmedian,APB,50,2.0,80\n")
        dom = parse(render_html([sim_study], criteria=(), limits=limits, plots=False))
        amp = dom.root.find("tr", data_limit="distal_amplitude")
        assert amp.attrs["data-abnormal"] == "true"
        cv = dom.root.find("tr", **{"class": "segment"}).find("td", data_measure="conduction_velocity_m_s")
        assert "abn" in cv.classes()
        assert dom.root.find("p", **{"class": "limits-source"}).attrs["data-limits"] == "lab"

    def test_raises(self, sim_study):
        with pytest.raises(TypeError, match="case must be a Case or a list of NerveStudy, got str"):
            render_html("case.json")
        with pytest.raises(TypeError, match=r"case\[1\] must be a NerveStudy, got int"):
            render_html([sim_study, 3])
        with pytest.raises(ValueError, match=r"image_format must be one of \['png', 'svg'\], got 'gif'"):
            render_html([sim_study], image_format="gif")
        with pytest.raises(ValueError, match=r"dpi must be a finite number in \[20, 600\] dots per inch, got 5"):
            render_html([sim_study], dpi=5)
        with pytest.raises(KeyError, match="unknown rule set 'no-such-rules'"):
            render_html([sim_study], criteria=("no-such-rules",))


# --- page one: case details, motor summary table, impression (issue: a report a lab would sign)
def test_case_details_summary_table_and_impression(tmp_path):
    sheet = (SAMPLES / "mmn_case.toml").read_text()
    sheet = sheet.replace('case_id = "SAMPLE-MMN"', '''case_id = "SAMPLE-MMN"
age_years = 54
height_cm = 178
sex = "male"
indication = "Asymmetric hand weakness <left>"
referring_physician = "Dr A. Referrer"
technician = "T. Tech"
interpreting_physician = "Dr I. Reader"
impression = "Conduction block in the left ulnar forearm."
notes = ["Hands warmed before the study.", "Patient cooperative."]''')
    path = tmp_path / "mmn_case.toml"
    path.write_text(sheet)
    for name in ("mmn_ulnar.edf",):
        (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
    case = read_case(path)
    assert (case.age_years, case.height_cm, case.sex) == (54.0, 178.0, "male")
    dom = parse(render_html(case, plots=False, paper="letter"))
    header = dom.root.find("header")
    for key, text in (("age", "54 years"), ("height", "178 cm"), ("sex", "male"),
                      ("indication", "Asymmetric hand weakness <left>"),
                      ("referring-physician", "Dr A. Referrer"), ("technician", "T. Tech"),
                      ("interpreting-physician", "Dr I. Reader")):
        assert header.find("dd", data_key=key).text() == text
    assert dom.root.find("p", id="impression").text() == "Conduction block in the left ulnar forearm."
    assert dom.root.find("p", id="notes").text() == "Hands warmed before the study.\nPatient cooperative."
    assert "Dr I. Reader" in dom.root.find("div", data_sign="physician").text()
    # the all-nerves motor summary table: per site latency, amplitude, area, duration, distance,
    # CV, F-wave, with the limits; the distal row carries the distal limits and the F-wave
    table = dom.root.find("table", **{"class": "motor-summary"})
    headers = [th.text() for th in table.find("thead").find_all("th")]
    assert headers[0] == "Nerve / site" and headers.count("Norm") == 5
    rows = table.find_all("tr", **{"class": "summary-site"})
    assert [r.attrs["data-summary-site"] for r in rows] == ["Wrist", "Below Elbow", "Above Elbow"]
    cells = [td for td in rows[0].find_all("td")]
    assert len(cells) == len(headers)
    assert rows[0].find("td", data_measure="f_wave_latency_ms").text() == "29.00"
    assert rows[0].find_all("td", **{"class": "limit"})[0].text() == "\u22643.30"  # DML ULN, ulnar
    assert rows[1].find("td", data_measure="conduction_velocity_m_s").text().startswith("5")
    assert "@page { size: letter;" in render_html(case, plots=False, paper="letter")


def test_headers_aligned_with_their_columns(sample_reports):
    _, _, dom = sample_reports["cidp_median.edf"]
    for tbl in dom.root.find_all("table"):
        ths = tbl.find("thead").find_all("th") if tbl.find_all("thead") else []
        first = [r for r in tbl.find_all("tr") if r.find_all("td")]
        if not ths or not first or len(first[0].find_all("td")) != len(ths):
            continue
        for th, td in zip(ths, first[0].find_all("td")):
            if "text" in td.classes():
                assert "text" in th.classes(), (tbl.attrs, th.text())


def test_plotted_rule_set_is_the_strongest_or_mmn():
    from nerveconduct.report.context import evaluate_criteria, plotted_outcome

    every = ("aan-1991", "amplitude-dependent-2000", "ean-pns-2021-cidp", "efns-pns-2010-cidp",
             "efns-pns-2010-mmn", "textbook-20pct")
    case = read_case(SAMPLES / "mmn_case.toml")
    outcomes = evaluate_criteria(analyze_nerves(case.studies), every)
    assert plotted_outcome(outcomes, mmn_case=True).rule_set_id == "efns-pns-2010-mmn"
    # without MMN inputs: the strongest patient-level verdict (definite CB) wins as well
    assert plotted_outcome(outcomes).rule_set_id == "efns-pns-2010-mmn"
    dom = parse(render_html(case, criteria=every, image_format="svg"))
    assert "efns-pns-2010-mmn" in dom.root.find("figure", id="plot-segments").text()
    antimag = read_case(SAMPLES / "antimag_case.toml")
    outcomes = evaluate_criteria(analyze_nerves(antimag.studies), every)
    assert plotted_outcome(outcomes).patient.level == "definite"
