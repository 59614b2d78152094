"""The report as printed: Chromium prints every sample case's report on A4 and US Letter.

Counts the pages of each PDF (pypdf), checks that no page is near-empty, that every page has
the running header (case pseudonym) and footer ("page x of y"), and that the print CSS keeps
table rows, nerve groups and figures whole. ``NERVECONDUCT_DOCS_IMAGES=1`` also writes the
screenshots of ``docs/report.md`` (``docs/images/``) from the printed pages (pdftoppm).

Skipped only when Chromium is missing *and* this is not CI (``CI`` unset); in CI the test runs
(and fails if Chromium is missing).
"""

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nerveconduct.io.read import read_case
from nerveconduct.report.build import render_html, write_html
from nerveconduct.report.html import CSS, print_css

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium); these print tests run in CI")

pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra: pip install '.[test]'") \
    if not os.environ.get("CI") else __import__("pypdf")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
DOCS_IMAGES = ROOT / "docs" / "images"

#: Pages of each sample case's report (default criteria), per paper. A nerve takes about a
#: page; the summary (header, motor summary table, verdicts, scores, impression) one.
EXPECTED_PAGES = {
    "normal_case.json": {"a4": 4, "letter": 5},
    "mmn_case.toml": {"a4": 3, "letter": 4},
    "cidp_median.edf": {"a4": 4, "letter": 4},
    "antimag_case.toml": {"a4": 4, "letter": 4},
    "absent_proximal.h5": {"a4": 3, "letter": 3},
    "noisy_median.txt": {"a4": 3, "letter": 3},
}
#: A page whose own text (without the running header and footer) is shorter than this is
#: near-empty. The shortest legitimate page (the citations alone) has about 900 characters.
MIN_PAGE_CHARS = 400


def _print_pdf(html: Path, pdf: Path) -> None:
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    assert pdf.exists() and pdf.stat().st_size > 1000, f"Chromium wrote no PDF for {html.name}"


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """{(case file, paper): (case, html text, pdf path)} for every sample and paper."""
    assert CHROMIUM is not None, "CI must install Chromium (apt-get install chromium)"
    out = tmp_path_factory.mktemp("print")
    jobs = {}
    for name in EXPECTED_PAGES:
        case = read_case(SAMPLES / name)
        for paper in ("a4", "letter"):
            html = write_html(case, out / f"{name}.{paper}.html", paper=paper)
            jobs[(name, paper)] = (case, html, out / f"{name}.{paper}.pdf")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: _print_pdf(job[1], job[2]), jobs.values()))
    return {key: (case, html.read_text(encoding="utf-8"), pdf)
            for key, (case, html, pdf) in jobs.items()}


def _pages(pdf: Path) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(pdf).pages]


def _body(text: str, case_id: str) -> str:
    """A page's text without the running header and footer lines."""
    lines = [ln for ln in text.splitlines()
             if f"case {case_id}" not in ln and not re.search(r"page \d+ of \d+", ln)
             and "research and teaching aid" not in ln]
    return "\n".join(lines)


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("name", sorted(EXPECTED_PAGES))
def test_page_count_and_no_near_empty_page(printed, name, paper):
    case, _, pdf = printed[(name, paper)]
    pages = _pages(pdf)
    counts = {p: len(_pages(printed[(name, p)][2])) for p in ("a4", "letter")}
    assert len(pages) == EXPECTED_PAGES[name][paper], f"{name}: pages per paper {counts}"
    for number, text in enumerate(pages, start=1):
        body = _body(text, case.case_id)
        assert len(body) >= MIN_PAGE_CHARS, \
            f"{name} ({paper}): page {number} of {len(pages)} is near-empty: {body[:200]!r}"


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_running_header_and_footer_on_every_page(printed, paper):
    for name in EXPECTED_PAGES:
        case, _, pdf = printed[(name, paper)]
        pages = _pages(pdf)
        for number, text in enumerate(pages, start=1):
            flat = " ".join(text.split())
            assert f"page {number} of {len(pages)}" in flat, (name, number)
            assert f"case {case.case_id}" in flat, (name, number)
            assert "FAKE" not in flat  # the samples' fake patient name/ID: never printed


def test_pdf_page_size(printed):
    for (name, paper), (_, _, pdf) in printed.items():
        box = pypdf.PdfReader(pdf).pages[0].mediabox
        size_mm = (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4))
        assert size_mm == ((210, 297) if paper == "a4" else (216, 279)), (name, paper, size_mm)


def test_print_css_keeps_rows_and_groups_whole(printed):
    for (name, paper), (_, text, _) in printed.items():
        css = text[text.index("<style>"):text.index("</style>")]
        assert f"@page {{ size: {'A4' if paper == 'a4' else 'letter'};" in css
        assert 'counter(page) " of " counter(pages)' in css
        for rule in ("tr, li { page-break-inside: avoid; break-inside: avoid; }",
                     "tbody.nerve-group { page-break-inside: avoid; break-inside: avoid; }",
                     "div.nerve-core, div.keep { page-break-inside: avoid; break-inside: avoid; }",
                     "section.nerve.first { page-break-before: always; break-before: page; }"):
            assert rule in css, (name, rule)
        assert "page-break-inside: avoid; break-inside: avoid; }" in css.split("figure {", 1)[1].split("}")[0] + "}"
        # every table row is inside a table: nothing but <tr> is kept whole by the rule
        assert text.count("<tr") == len(re.findall(r"<tr[ >]", text))


def test_running_header_text_is_escaped():
    css = print_css("a4", running_left='case "x" </style><script>', running_right="a\\b")
    assert "</style>" not in css and "<script>" not in css and '"x"' not in css
    assert css.startswith("\n@page { size: A4;") and CSS.startswith("\n@page { size: A4;")
    with pytest.raises(ValueError, match="paper must be one of"):
        print_css("a5")
    with pytest.raises(ValueError, match="paper must be one of"):
        render_html([], paper="legal")


def test_docs_screenshots(printed, tmp_path):
    """Page 1 and a nerve page of the anti-MAG case as PNG (< 200 KB each); written to
    docs/images/ when NERVECONDUCT_DOCS_IMAGES=1."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install poppler-utils (pdftoppm)")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    folder = DOCS_IMAGES if os.environ.get("NERVECONDUCT_DOCS_IMAGES") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    pdf = printed[("antimag_case.toml", "a4")][2]
    for page, stem in ((1, "report-page1"), (2, "report-nerve-page")):
        prefix = tmp_path / stem
        subprocess.run([pdftoppm, "-png", "-r", "70", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(prefix)], check=True, capture_output=True)
        png = prefix.with_suffix(".png")
        assert png.read_bytes().startswith(b"\x89PNG") and 5_000 < png.stat().st_size < 200_000
        if folder is DOCS_IMAGES:
            shutil.copy(png, DOCS_IMAGES / png.name)
