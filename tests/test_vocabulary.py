"""One vocabulary across views: level words belong to the level they describe.

On a segment or a nerve an item is met / not met / not assessable, named by its meaning;
only a patient gets a rule set's own level words (EAN/PNS 2021 "strongly / weakly supportive
of demyelination", EFNS/PNS 2010 CIDP "definite / probable / possible (electrodiagnostic)").
The four reproductions below are how a new user met the mix-up: the CIDP sample's report,
``analyze`` of the MMN case, ``analyze`` against ``demo`` on the anti-MAG case, and
``score cidp --criteria efns-pns-2010-cidp``; then the JSON records and the plot captions.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner

import nerveconduct
from nerveconduct.analysis import analyze_nerves
from nerveconduct.criteria import ITEM_WORDS, evaluate_nerve, evaluate_patient, get_rule_set, list_rule_sets
from nerveconduct.criteria.tables import RuleSetError, loads_rule_set
from nerveconduct.serialize import nerve_record, patient_record
from nerveconduct.simulate.samples import sample_path
from nerveconduct_cli._render import nerve_text, patient_text
from nerveconduct_cli.main import main

EAN, EFNS = "ean-pns-2021-cidp", "efns-pns-2010-cidp"
#: Words that grade a patient in the CIDP rule sets (their level words, and the levels).
PATIENT_WORDS = re.compile(r"\b(supportive|strongly|weakly|definite|probable|possible)\b", re.I)


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result.stdout


def patient_words(rule_set_id):
    return {text for level, text in get_rule_set(rule_set_id).level_labels}


def results_of(sample):
    return analyze_nerves(nerveconduct.read_case(sample_path(sample)).studies)


def assert_item_worded(label):
    """A segment or nerve label of a CIDP rule set: items by meaning, no patient word."""
    assert label.startswith(tuple(ITEM_WORDS)), label
    assert not PATIENT_WORDS.search(label), label


# ---------------------------------------------------------------------------- rule tables
@pytest.mark.parametrize("rule_set_id", [EAN, EFNS])
def test_cidp_rule_sets_word_the_patient_only(rule_set_id):
    rs = get_rule_set(rule_set_id)
    assert rs.level_scope == "patient"
    titles = dict(rs.item_titles)
    items = {r.item for r in (*rs.segment_rules, *rs.nerve_items)}
    assert set(titles) == items  # every item has a title, once
    for item, title in titles.items():
        assert not PATIENT_WORDS.search(title), (item, title)
        assert title != item


def test_item_titles_name_the_meaning():
    rs = get_rule_set(EAN)
    assert rs.item_title("e") == "CB: amplitude drop \u226530 %"
    assert rs.item_title("a") == "DML \u226550 % above ULN"
    assert rs.items_text("definite", ("e",)) == "met: CB: amplitude drop \u226530 % (e)"
    assert rs.items_text("none", ()) == "no item met"
    assert rs.items_text("not-assessable", ()) == "not assessable"
    # segment-level rule sets keep their own (segment) words
    mmn = get_rule_set("efns-pns-2010-mmn")
    assert mmn.level_scope == "segment"
    assert mmn.segment_label("definite", ("definite CB",)) == "definite CB"


def test_level_scope_and_item_titles_are_checked():
    base = """
id = "x"
title = "x"
short_name = "X"
version = "1"
citation = "c"
confidence = "recalled"
verification = "v"
kind = "demyelination"
{extra}
[[segment_rules]]
item = "e"
label = "CB"
level = "definite"
drop_min_pct = 30.0
confidence = "recalled"
verification = "v"
[[combinations]]
level = "definite"
label = "e in 1 nerve"
items = ["e"]
min_nerves = 1
confidence = "recalled"
verification = "v"
{titles}
"""
    ok = loads_rule_set(base.format(extra='level_scope = "patient"', titles='[item_titles]\ne = "CB: drop"'))
    assert ok.level_scope == "patient" and ok.item_title("e") == "CB: drop"
    with pytest.raises(RuleSetError, match="level_scope"):
        loads_rule_set(base.format(extra='level_scope = "nerve"', titles=""))
    with pytest.raises(RuleSetError, match="item_titles"):
        loads_rule_set(base.format(extra="", titles='[item_titles]\nz = "unknown item"'))


# ---------------------------------------------------------------------------- 1. report
def _rows(page, cls, rule_set_id):
    """The visible text of each cell of the rows of class ``cls`` of one rule set."""
    rows = re.findall(rf'<tr class="{cls}[^"]*"[^>]*data-rule-set="{re.escape(rule_set_id)}"[^>]*>(.*?)</tr>',
                      page, flags=re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", " ", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows]


def test_cidp_report_segments_and_headline_agree():
    from nerveconduct.report.build import render_html

    page = render_html(nerveconduct.read_case(sample_path("cidp_median.edf")), plots=False)
    (headline,) = _rows(page, "patient-verdict", EAN)
    assert "weakly supportive of demyelination" in headline[1]
    segments = _rows(page, "verdict", EAN)
    assert len(segments) == 2  # wrist–elbow, wrist–axilla (three sites)
    for seg in segments:
        assert_item_worded(seg[1])
    assert "met: CB: amplitude drop \u226530 % (e)" in segments[0][1]
    findings = _rows(page, "finding", EAN)
    assert findings and all(not PATIENT_WORDS.search(f[-1]) for f in findings)


# ---------------------------------------------------------------------------- 2. analyze (one nerve)
def test_analyze_mmn_case_names_items_by_meaning():
    out = run("analyze", sample_path("mmn_case.toml"), "-f", "table", "-q")
    nerve_lines = [line for line in out.splitlines() if line.startswith(f"   {EAN}")]
    assert nerve_lines == [f"   {EAN} on this nerve: met: CB: amplitude drop \u226530 % (e)"]
    assert "items met on this nerve: e" not in out
    for line in out.splitlines():  # segment lines of the CIDP rule set
        if line.startswith("     ") and ("\u2013" in line) and ":" in line and not line.startswith("       "):
            assert not re.search(r"\bsupportive\b", line), line


# ---------------------------------------------------------------------------- 3. analyze vs demo
def test_analyze_nerves_and_demo_patient_agree():
    results = results_of("antimag_case.toml")
    patient = patient_record(evaluate_patient(results, EAN))
    assert patient["label"] == "strongly supportive of demyelination"
    text = patient_text(EAN, patient)
    assert text.startswith("EAN/PNS 2021 CIDP (ean-pns-2021-cidp), patient: strongly supportive of "
                           "demyelination (left median, left ulnar)")
    demo = run("demo", "--no-report", "-q")
    assert f"{EAN}: strongly supportive of demyelination (left median, left ulnar)" in demo
    out = run("analyze", sample_path("antimag_case.toml"), "-f", "table", "-q")
    nerve_lines = [line for line in out.splitlines() if line.startswith(f"   {EAN} on this nerve")]
    assert len(nerve_lines) == 2
    for line in nerve_lines:
        label = line.split("on this nerve: ", 1)[1]
        assert_item_worded(label)
        assert "DML \u226550 % above ULN (a)" in label
    assert not re.search(r"items met: a\b", out)


# ---------------------------------------------------------------------------- 4. score cidp
@pytest.mark.parametrize("rule_set_id,words", [
    (EFNS, "possible (electrodiagnostic)"), (EAN, "weakly supportive of demyelination")])
def test_score_cidp_speaks_the_rule_sets_words(tmp_path, rule_set_id, words):
    out = run("score", "cidp", sample_path("cidp_median.edf"), "--criteria", rule_set_id, "-q")
    head = out.splitlines()[0]
    assert head.startswith(f"{get_rule_set(rule_set_id).short_name} ({rule_set_id}), patient: {words}")
    assert "support for demyelination" not in out
    assert words in patient_words(rule_set_id)
    if rule_set_id == EFNS:
        assert not re.search(r"\b(weak|strong)\b", head)
        assert "met: partial CB: amplitude drop \u226550 % (I-E) in right median" in out
    rec = json.loads(run("score", "cidp", sample_path("cidp_median.edf"), "--criteria", rule_set_id,
                         "-f", "json", "-o", tmp_path / "s.json", "-q") or (tmp_path / "s.json").read_text())
    assert rec["label"] == words and rec["verdict"]["label"] == words


# ---------------------------------------------------------------------------- JSON records, CLI text
@pytest.mark.parametrize("sample", ["cidp_median.edf", "antimag_case.toml", "mmn_case.toml", "normal_case.json",
                                    "absent_proximal.h5"])
def test_records_word_segments_and_nerves_by_items(sample):
    for result in results_of(sample):
        verdicts = {rid: evaluate_nerve(result, rid) for rid in (EAN, EFNS)}
        rec = nerve_record(result, verdicts)
        for rid in (EAN, EFNS):
            assert_item_worded(rec["verdicts"][rid]["label"])
            for seg in rec["segments"]:
                assert_item_worded(seg["verdicts"][rid]["label"])
        text = nerve_text(rec)
        for line in text.splitlines():
            if line.strip().startswith((EAN, EFNS)) or line.startswith("     ") and not line.startswith("       "):
                assert not PATIENT_WORDS.search(line.split(":", 1)[1] if ":" in line else line), line


def test_nerve_label_lists_every_item_met_by_meaning():
    results = results_of("antimag_case.toml")
    nv = evaluate_nerve(results[0], EAN)
    met = nv.met_items()
    assert met and nv.label == "met: " + "; ".join(f"{get_rule_set(EAN).item_title(i)} ({i})" for i in met)


@pytest.mark.parametrize("rule_set_id", [r.id for r in list_rule_sets()])
def test_patient_record_uses_the_rule_sets_words(rule_set_id):
    for sample in ("cidp_median.edf", "antimag_case.toml", "normal_case.json"):
        rec = patient_record(evaluate_patient(results_of(sample), rule_set_id))
        rs = get_rule_set(rule_set_id)
        assert rec["label"] == rs.label_for(rec["level"])
        line = patient_text(rule_set_id, rec).splitlines()[0]
        assert f", patient: {rec['label']}" in line
        assert f"({rec['level']})" not in line.replace(f"({rule_set_id})", "")


# ---------------------------------------------------------------------------- plot captions
def test_plot_caption_shows_the_patient_and_segments_show_items():
    pytest.importorskip("matplotlib")
    from nerveconduct.plot import plot_segments

    results = results_of("cidp_median.edf")
    ax = plot_segments(results, rule_set=EAN)
    assert ax.get_title().splitlines()[1] == "patient (1 nerve): weakly supportive of demyelination (right median)"
    labels = [t.get_text().replace("\n", " ") for t in ax.texts if (t.get_gid() or "").startswith("verdict:")]
    assert labels
    for label in labels:
        assert_item_worded(label)
    ax = plot_segments(results, rule_set=EAN, patient=None)
    assert "patient" not in ax.get_title()


# ---------------------------------------------------------------------------- level codes per scope
from nerveconduct.criteria.verdicts import FINDING_LEVELS, ITEM_LEVELS, LEVELS, level_rank  # noqa: E402

SAMPLES = ["cidp_median.edf", "antimag_case.toml", "mmn_case.toml", "normal_case.json", "absent_proximal.h5",
           "noisy_median.txt"]
CB_SETS = ["efns-pns-2010-mmn", "aan-1991", "amplitude-dependent-2000", "textbook-20pct"]
#: The item level each item-worded label goes with.
LEVEL_OF_LABEL = {"met: ": "met", "no item met": "not-met", "not assessable": "not-assessable"}


def level_of(label):
    return next(level for start, level in LEVEL_OF_LABEL.items() if label.startswith(start))


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("rule_set_id", [EAN, EFNS])
def test_cidp_segment_and_nerve_levels_are_item_codes(sample, rule_set_id):
    seen = set()
    for result in results_of(sample):
        nv = evaluate_nerve(result, rule_set_id)
        for v in (*nv.segments, nv):
            assert v.level in ITEM_LEVELS and not PATIENT_WORDS.search(v.level), (v.level, v.label)
            assert_item_worded(v.label)
            assert v.level == level_of(v.label), (v.level, v.label)  # the code says what the label says
            seen.add(v.level)
        assert (nv.level == "met") == bool(nv.met_items())
        for s in nv.segments:
            assert (s.level == "met") == bool(s.items)
    assert seen


def test_cidp_levels_reach_every_item_code():
    levels = set()
    for sample in SAMPLES:
        for result in results_of(sample):
            nv = evaluate_nerve(result, EAN)
            levels |= {nv.level, *(s.level for s in nv.segments)}
    assert levels == set(ITEM_LEVELS)


@pytest.mark.parametrize("rule_set_id", CB_SETS)
def test_conduction_block_rule_sets_keep_segment_levels(rule_set_id):
    levels = set()
    for sample in SAMPLES:
        for result in results_of(sample):
            nv = evaluate_nerve(result, rule_set_id)
            assert nv.level in LEVELS and all(s.level in LEVELS for s in nv.segments)
            levels |= {s.level for s in nv.segments}
    if rule_set_id == "efns-pns-2010-mmn":
        assert "definite" in levels  # the MMN sample's block stays "definite" on its segment


@pytest.mark.parametrize("sample", ["cidp_median.edf", "antimag_case.toml", "mmn_case.toml", "normal_case.json"])
def test_flat_columns_and_records_carry_the_same_item_levels(sample):
    """``verdict_R_level`` of flat segment / nerve rows (column evaluator) equals the records'
    level (worded evaluator), and is an item code for the CIDP rule sets."""
    from nerveconduct.analysis import analyze_table
    from nerveconduct.criteria.columns import (evaluate_nerve_columns, evaluate_segment_columns, nerve_frame,
                                               segment_frame)

    table = analyze_table(nerveconduct.read_case(sample_path(sample)).studies)
    results = nerveconduct.analysis.views(table)
    sf, nf = segment_frame(table), nerve_frame(table)
    for rid in (EAN, EFNS):
        segs = evaluate_segment_columns(rid, sf)
        nerves = evaluate_nerve_columns(rid, nf, sf, segs)
        assert set(segs.level) <= set(ITEM_LEVELS) and set(nerves.level) <= set(ITEM_LEVELS)
        objects = [evaluate_nerve(r, rid) for r in results]
        assert list(nerves.level) == [nv.level for nv in objects]
        assert list(segs.level) == [s.level for nv in objects for s in nv.segments]


def test_level_rank_orders_item_levels_and_names_both_code_sets():
    assert level_rank("met") > level_rank("not-met") > level_rank("not-assessable")
    assert set(FINDING_LEVELS) == {"definite", "probable", "possible", "met"}
    with pytest.raises(ValueError, match="not-met"):
        level_rank("strongly supportive")


# ---------------------------------------------------------------------------- patient levels unchanged
@pytest.mark.parametrize("sample", SAMPLES)
def test_patient_levels_equal_the_frozen_ones(sample):
    """The patient combination reads the items met, not the segment codes: every rule set's
    patient level, words, nerves and combinations over each sample equal the frozen output
    (``tests/golden/analyze-*.json.gz``, ``cases[].patient``)."""
    from _golden import read_golden

    frozen = json.loads(read_golden(f"analyze-{sample}.json"))["cases"]
    results = results_of(sample)
    assert len(frozen) == 1 and frozen[0]["patient"]
    for rid, want in frozen[0]["patient"].items():
        got = patient_record(evaluate_patient(results, rid))
        for key in ("level", "label", "nerves", "combinations_met"):
            assert got[key] == want[key], (rid, key, got[key], want[key])


# ---------------------------------------------------------------------------- nerve plot caption
def test_nerve_plot_names_its_rule_set_and_the_patient():
    pytest.importorskip("matplotlib")
    from nerveconduct.plot import plot_nerve
    from nerveconduct.plot.summary import patient_words as words_of

    results = results_of("mmn_case.toml")
    patient = words_of(results, "efns-pns-2010-mmn")
    assert patient == "definite CB (left ulnar)"
    ax = plot_nerve(results[0], rule_set="efns-pns-2010-mmn", patient=patient)
    assert ax.get_title().splitlines()[1] == "verdicts: efns-pns-2010-mmn; patient: definite CB (left ulnar)"
    ax = plot_nerve(results[0], rule_set="efns-pns-2010-mmn")  # no patient given: none made up from one nerve
    assert ax.get_title().splitlines()[1] == "verdicts: efns-pns-2010-mmn"
    assert len(plot_nerve(results[0], verdicts=None).get_title().splitlines()) == 1


def test_nerve_plot_brackets_cidp_segments_meeting_an_item():
    pytest.importorskip("matplotlib")
    from nerveconduct.plot import plot_nerve

    results = results_of("cidp_median.edf")
    ax = plot_nerve(results[0], rule_set=EAN)
    brackets = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("verdict:")]
    assert brackets  # "met" segments are findings, as "definite" ones were
    texts = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("segment:")]
    assert any("met: CB: amplitude drop" in t for t in texts)
