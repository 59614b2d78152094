"""The review page in a real browser: headless Chromium (the system's, Debian ``chromium``)
driven by Playwright against the running server.

Loads the anti-MAG sample case, moves the elbow onset of the left median with the keyboard,
sees the segment CV and the EAN/PNS 2021 nerve verdict change in the page, saves, reloads and
finds the hand-set marker, then checks the markers file and that ``nerveconduct analyze
--markers`` gives the same CV. Also: a drag moves a marker; a request without the token gets
403; the Print button opens the report. ``NERVECONDUCT_DOCS_IMAGES=1`` also writes the
screenshots of ``docs/review.md`` (``docs/images/review-*.png``).

Skipped only when Chromium (or Playwright) is missing *and* this is not CI (``CI`` unset); in
CI the tests run (and fail if either is missing). Playwright never downloads a browser here:
it drives ``shutil.which("chromium")``.
"""

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from nerveconduct.io import read_case
from nerveconduct.io.markers import read_markers
from nerveconduct.review import ReviewServer, ReviewSession

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium); these browser tests run in CI")

if os.environ.get("CI"):
    from playwright.sync_api import expect, sync_playwright
else:
    _pw = pytest.importorskip("playwright.sync_api",
                              reason="playwright is in the test extra: pip install '.[test]'")
    expect, sync_playwright = _pw.expect, _pw.sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
DOCS_IMAGES = ROOT / "docs" / "images"
MEDIAN, WRIST, ELBOW = 0, 0, 1
ELBOW_MM = 230.0
#: The EAN/PNS 2021 item the slowed median meets: (b) motor CV >= 30 % below the LLN (49 m/s).
CV_ITEM = "b"


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None, "CI must install Chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture()
def served(tmp_path):
    """A running server on the anti-MAG case: (server, markers file)."""
    out = tmp_path / "antimag.markers.json"
    session = ReviewSession(read_case(SAMPLES / "antimag_case.toml"), reviewer="AB")
    server = ReviewServer(session, out)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, out
    server.shutdown()
    server.server_close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], f"the page raised: {errors}"


def _load(page, server):
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)


def _idle(page):
    # locators, not wait_for_function: the page's Content-Security-Policy forbids eval
    page.locator("body[data-busy='0']").wait_for(timeout=60_000)


def _cv_cell(page):
    return page.locator(f"table.segments[data-nerve='{MEDIAN}'] tr[data-segment='0'] "
                        "td[data-field='conduction_velocity_m_s']")


def _nerve_verdict(page, rule_set="ean-pns-2021-cidp"):
    return page.locator(f"table.verdicts[data-nerve='{MEDIAN}'] td[data-nerve-verdict='{rule_set}']")


def _marker(page, nerve, site, kind="onset"):
    return page.locator(f"g.marker[data-nerve='{nerve}'][data-site='{site}'][data-kind='{kind}']")


def _shot(page, name, **kwargs):
    if os.environ.get("NERVECONDUCT_DOCS_IMAGES") == "1":
        DOCS_IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS_IMAGES / f"review-{name}.png"), **kwargs)


def test_move_onset_see_cv_and_verdict_save_reload(page, served, tmp_path):
    server, out = served
    _load(page, server)
    state = server.session.state(traces=False)
    rec = state["nerves"][MEDIAN]["record"]
    wrist_onset = rec["sites"][WRIST]["onset_latency_ms"]
    cv_before = rec["segments"][0]["conduction_velocity_m_s"]
    assert _cv_cell(page).inner_text() == f"{cv_before:.1f}"
    assert _nerve_verdict(page).locator(f"[data-item='{CV_ITEM}']").count() == 0
    verdict_before = _nerve_verdict(page).inner_text()
    assert page.locator("#unsaved").is_hidden()
    _shot(page, "page", clip={"x": 0, "y": 0, "width": 1200, "height": 560})

    # select the elbow onset, nudge it 4 x 10 samples later with the keyboard
    onset = _marker(page, MEDIAN, ELBOW)
    assert onset.get_attribute("data-source") == "detected"
    onset.locator(".sym").click()
    for _ in range(4):
        page.keyboard.press("Shift+ArrowRight")
    _idle(page)
    dt_ms = 1000.0 / server.session.case.studies[MEDIAN].sampling_rate_hz
    detected = rec["sites"][ELBOW]["onset_latency_ms"]
    expected_t = round(detected / dt_ms + 10) * dt_ms + 30 * dt_ms  # snapped to a sample, +40 in all
    (m,) = server.session.markers
    assert m.time_ms == pytest.approx(expected_t, abs=1e-6)
    cv_after = ELBOW_MM / (m.time_ms - wrist_onset)
    assert cv_after < 0.7 * 49.0 < cv_before
    expect(_cv_cell(page)).to_have_text(f"{cv_after:.1f}*")  # marked: from a hand-set marker
    assert _nerve_verdict(page).locator(f"[data-item='{CV_ITEM}']").count() == 1
    assert _nerve_verdict(page).inner_text() != verdict_before
    assert _marker(page, MEDIAN, ELBOW).get_attribute("data-source") == "hand-set"
    assert page.locator("#unsaved").is_visible()
    _shot(page, "moved", clip={"x": 0, "y": 0, "width": 1200, "height": 560})

    # save: the indicator goes, the file holds the marker
    page.click("#save")
    _idle(page)
    assert page.locator("#unsaved").is_hidden()
    assert "saved to antimag.markers.json" in page.locator("#status").inner_text()
    (saved,) = read_markers(out)
    assert (saved.nerve, saved.side, saved.site, saved.marker, saved.by) == ("median", "left", "Elbow", "onset", "AB")
    assert saved.time_ms == m.time_ms and saved.at

    # reload: the hand-set marker and the value are still there (a new session from the file too)
    _load(page, server)
    assert _marker(page, MEDIAN, ELBOW).get_attribute("data-source") == "hand-set"
    assert float(_marker(page, MEDIAN, ELBOW).get_attribute("data-time")) == pytest.approx(m.time_ms)
    assert _cv_cell(page).inner_text() == f"{cv_after:.1f}*"

    # the command line reads the same file and gives the same CV
    assert _analyze_cv(out, tmp_path) == pytest.approx(cv_after, rel=1e-12)


def _analyze_cv(markers_file, tmp_path):
    """The left median's CV from ``nerveconduct analyze --markers`` (or, while the command
    has no --markers option, from the analysis API with the file's markers)."""
    from click.testing import CliRunner

    from nerveconduct_cli.main import main

    runner = CliRunner()
    if "--markers" in runner.invoke(main, ["analyze", "--help"]).output:
        done = runner.invoke(main, ["analyze", str(SAMPLES / "antimag_case.toml"), "--markers",
                                    str(markers_file), "-f", "json"])
        assert done.exit_code == 0, done.output
        doc = json.loads(done.stdout)
        nerves = doc["nerves"] if "nerves" in doc else [n for c in doc["cases"] for n in c["nerves"]]
        median = next(n for n in nerves if n["nerve"] == "median")
        return median["segments"][0]["conduction_velocity_m_s"]
    from nerveconduct.analysis import analyze_nerves

    case = read_case(SAMPLES / "antimag_case.toml")
    return analyze_nerves(case.studies, markers=read_markers(markers_file))[MEDIAN].segments[0].conduction_velocity_m_s


def test_drag_moves_a_marker_and_undo_restores_it(page, served):
    server, _ = served
    _load(page, server)
    before = server.session.state(traces=False)["nerves"][1]["record"]["sites"][WRIST]["onset_latency_ms"]
    box = _marker(page, 1, WRIST).locator(".sym").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x + 8 * step, y)
    page.mouse.up()
    _idle(page)
    (m,) = server.session.markers
    assert (m.nerve, m.site, m.marker) == ("ulnar", "Wrist", "onset")
    assert m.time_ms > before + 0.5  # 40 px to the right is later
    assert _marker(page, 1, WRIST).get_attribute("data-source") == "hand-set"
    page.keyboard.press("u")
    _idle(page)
    assert server.session.markers == []
    assert _marker(page, 1, WRIST).get_attribute("data-source") == "detected"
    assert page.locator("#unsaved").is_hidden()


def test_click_then_click_on_the_trace_and_back_to_detected(page, served):
    server, _ = served
    _load(page, server)
    _marker(page, MEDIAN, WRIST, "negative_peak").locator(".sym").click()
    row = page.locator(f"svg#svg-{MEDIAN} rect.row[data-site='{WRIST}']").bounding_box()
    page.mouse.click(row["x"] + row["width"] * 0.6, row["y"] + row["height"] / 2)
    _idle(page)
    (m,) = server.session.markers
    assert m.marker == "negative_peak" and m.site == "Wrist"
    amp = page.locator(f"table.sites[data-nerve='{MEDIAN}'] tr[data-site='{WRIST}'] "
                       "td[data-field='negative_peak_latency_ms']").inner_text()
    assert amp.endswith("*")
    page.keyboard.press("r")
    _idle(page)
    assert server.session.markers == []
    page.keyboard.press("a")  # the selected trace: absent ...
    _idle(page)
    assert [(m.site, m.marker) for m in server.session.markers] == [("Wrist", "absent")]
    assert "(absent)" in page.locator(f"table.sites[data-nerve='{MEDIAN}'] tr[data-site='{WRIST}']").inner_text()
    page.keyboard.press("a")  # ... and back to detected
    _idle(page)
    assert server.session.markers == []


def test_flagged_traces_are_listed_first(page, tmp_path):
    from test_review_server import _study

    from nerveconduct.model import Case

    case = Case(studies=[_study("median", 1), _study("ulnar", 2, nan=True)], case_id="C-1")
    server = ReviewServer(ReviewSession(case), tmp_path / "m.json")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        _load(page, server)
        sections = page.locator("section.nerve")
        assert sections.nth(0).get_attribute("data-nerve") == "1"   # the flagged ulnar first
        assert "flagged" in sections.nth(0).get_attribute("class")
        items = page.locator("#review-list li")
        assert items.count() == 1 and "NAN_SAMPLES" in items.nth(0).inner_text()
        assert "Doe" not in page.content()                           # no identifiers by default
    finally:
        server.shutdown()
        server.server_close()


def test_without_token_the_page_is_403(page, served):
    server, _ = served
    response = page.goto(f"http://127.0.0.1:{server.port}/")
    assert response.status == 403 and "Marker review" not in page.content()
    assert server.server_address[0] == "127.0.0.1"


def test_print_opens_the_report(page, served):
    server, _ = served
    _load(page, server)
    with page.context.expect_page() as popup:
        page.click("#print")
    report = popup.value
    report.wait_for_load_state()
    assert "Motor nerve conduction report" in report.content()


def test_no_external_url_in_the_page(page, served):
    server, _ = served
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    _load(page, server)
    local = f"http://127.0.0.1:{server.port}/"
    assert requests and all(u.startswith(local) for u in requests), requests
    assert "http" not in page.content().replace(local, "")
