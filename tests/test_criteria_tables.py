"""Rule-set tables: the shipped ones, validation errors, a lab's own table, the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nerveconduct.criteria import (
    RULE_DIRS_ENV,
    RuleSetError,
    evaluate,
    get_rule_set,
    list_rule_sets,
    load_rule_set,
    register_rule_set,
    unregister_rule_set,
)
from nerveconduct.model import Site
from nerveconduct.analysis import analyze_values

SHIPPED = {"efns-pns-2010-mmn", "efns-pns-2010-cidp", "ean-pns-2021-cidp", "aan-1991", "textbook-20pct",
           "amplitude-dependent-2000"}

LAB_TABLE = """
id = "lab-40pct"
title = "Our lab: amplitude drop >=40%"
short_name = "Lab 40%"
version = "2024-01"
citation = "Internal protocol NC-7"
confidence = "S"
verification = "lab consensus"
kind = "conduction-block"

[[segment_rules]]
item = "CB"
label = "amplitude drop >=40%"
level = "probable"
measure = "amplitude"
drop_min_pct = 40.0
confidence = "S"
verification = "lab consensus"

[[combinations]]
level = "probable"
label = "CB in 1 nerve"
items = ["CB"]
min_nerves = 1
confidence = "S"
verification = "lab consensus"
"""


def median(prox_amp):
    return analyze_values("median", [Site("wrist", 70.0), Site("elbow", 230.0)], [3.5, 7.5], [6.0, prox_amp],
                          negative_peak_area_mv_ms=[20.0, 20.0 * prox_amp / 6.0],
                          negative_peak_duration_ms=[5.0, 5.0])


def test_list_rule_sets_shows_every_shipped_set_with_citation():
    infos = {i.id: i for i in list_rule_sets()}
    assert SHIPPED <= set(infos)
    assert "J Peripher Nerv Syst 2010;15(4):295-301" in infos["efns-pns-2010-mmn"].citation
    assert "Eur J Neurol 2021;28(11):3556" in infos["ean-pns-2021-cidp"].citation
    assert infos["ean-pns-2021-cidp"].confidence == "secondary"
    assert infos["textbook-20pct"].confidence == "unsourced"
    assert str(infos["aan-1991"]).startswith("aan-1991: AAN 1991 research criteria")


def test_every_threshold_carries_confidence_and_verification():
    for info in list_rule_sets():
        rs = get_rule_set(info.id)
        for rule in (*rs.segment_rules, *rs.nerve_items, *rs.combinations):
            assert rule.confidence in ("primary", "secondary", "recalled", "unsourced"), (info.id, rule)
            assert rule.verification.strip(), (info.id, rule)


def _write(tmp_path: Path, text: str, name="lab.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_lab_table_and_evaluate_without_code(tmp_path):
    rs = load_rule_set(_write(tmp_path, LAB_TABLE))
    assert rs.id == "lab-40pct" and rs.segment_rules[0].drop_min_pct == 40.0
    assert evaluate(median(3.6), rs)[0].level == "probable"  # 40.0%, inclusive by default
    assert evaluate(median(3.61), rs)[0].level == "none"


def test_register_rule_set_file_then_by_id(tmp_path):
    path = _write(tmp_path, LAB_TABLE)
    register_rule_set(path)
    try:
        assert "lab-40pct" in {i.id for i in list_rule_sets()}
        assert evaluate(median(3.0), "lab-40pct")[0].level == "probable"
        with pytest.raises(RuleSetError, match="already exists; pass replace=True"):
            register_rule_set(path)
        register_rule_set(path, replace=True)
    finally:
        unregister_rule_set("lab-40pct")
    with pytest.raises(KeyError, match="unknown rule set 'lab-40pct'; known: "):
        get_rule_set("lab-40pct")


def test_rule_dirs_environment_variable(tmp_path, monkeypatch):
    _write(tmp_path, LAB_TABLE.replace("lab-40pct", "lab-env"), "env.toml")
    monkeypatch.setenv(RULE_DIRS_ENV, str(tmp_path))
    try:
        assert get_rule_set("lab-env").title == "Our lab: amplitude drop >=40%"
    finally:
        unregister_rule_set("lab-env")


@pytest.mark.parametrize("edit, key, message", [
    (("drop_min_pct = 40.0", "drop_min_pct = 40.0\nthreshold = 3"), "segment_rules[0].threshold",
     "unknown key; allowed keys: ["),
    (('level = "probable"\nmeasure', 'level = "likely"\nmeasure'), "segment_rules[0].level",
     "level must be one of ['definite', 'probable', 'possible'], got 'likely'"),
    (('measure = "amplitude"', 'measure = "voltage"'), "segment_rules[0].measure", "measure must be one of ['amplitude'"),
    (("drop_min_pct = 40.0", 'drop_min_pct = "forty"'), "segment_rules[0].drop_min_pct",
     "must be a number, got 'forty'"),
    (('citation = "Internal protocol NC-7"\n', ""), "citation", "required key is missing"),
    (('items = ["CB"]', 'items = ["CB2"]'), "combinations[0].items",
     "items must be one of ['CB'], got 'CB2'; did you mean 'CB'?"),
    (('kind = "conduction-block"', 'kind = "conduction-block"\nexcluded_nerves = ["saphenous"]'), "excluded_nerves",
     "unknown nerve 'saphenous'"),
    (('confidence = "S"\nverification = "lab consensus"\nkind', 'confidence = "X"\nverification = "x"\nkind'),
     "confidence", "confidence must be one of ['primary', 'secondary', 'recalled', 'unsourced', 'C', 'R', 'S'], "
     "got 'X'"),
])
def test_invalid_table_names_file_key_and_allowed(tmp_path, edit, key, message):
    old, new = edit
    assert old in LAB_TABLE
    path = _write(tmp_path, LAB_TABLE.replace(old, new, 1))
    with pytest.raises(RuleSetError, match=re.escape(message)) as info:
        load_rule_set(path)
    assert info.value.key == key
    assert str(path) in str(info.value)


def test_invalid_toml_syntax(tmp_path):
    with pytest.raises(RuleSetError, match="not valid TOML"):
        load_rule_set(_write(tmp_path, "id = \n"))


def test_unknown_site_in_segment_condition(tmp_path):
    text = LAB_TABLE.replace('drop_min_pct = 40.0', 'drop_min_pct = 40.0\nsegments = [{distal = "wrist", '
                             'proximal = "shoulder"}]')
    with pytest.raises(RuleSetError, match="unknown site 'shoulder'"):
        load_rule_set(_write(tmp_path, text))


def test_evaluate_rejects_non_results_and_unknown_ids():
    with pytest.raises(TypeError, match="must be a NerveResult, got dict"):
        evaluate({}, "aan-1991")
    with pytest.raises(KeyError, match="unknown rule set 'efns-2099'"):
        evaluate(median(3.0), "efns-2099")


def test_lab_table_can_grade_absent_proximal_as_possible(tmp_path):
    rs = load_rule_set(_write(tmp_path, LAB_TABLE.replace('kind = "conduction-block"',
                                                          'kind = "conduction-block"\nabsent_proximal = "possible"')))
    v = evaluate(median(0.0), rs)[0]
    assert v.level == "possible" and v.items == ("absent proximal response",)
    assert "graded possible by this rule set" in v.reasons[0]
    assert evaluate(median(0.0), "efns-pns-2010-mmn")[0].level == "not-assessable"
