"""The bulk criteria API equals the one-nerve calls, nerve for nerve, reason for reason.

:func:`nerveconduct.criteria.patient.evaluate_nerves` and
:func:`nerveconduct.criteria.engine.evaluate_many` decide a rule set once for many nerves (one
segment frame, one nerve frame) and word each nerve from its slice of the decisions; the
reference is the one-nerve :func:`evaluate_nerve` / :func:`evaluate` (a frame of that nerve
alone). A wrong segment offset, a nerve index mixed up or a decision leaking between
nerves of one frame shows as a difference in some field.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_criteria_columns import (  # the varied population builder
    CUSTOM,
    RULE_SETS,
    _flipped,
    _nerve,
)

from nerveconduct.criteria import evaluate_nerves as exported
from nerveconduct.criteria.engine import evaluate, evaluate_many
from nerveconduct.criteria.patient import (
    evaluate_nerve,
    evaluate_nerves,
    evaluate_patient,
)
from nerveconduct.criteria.registry import get_rule_set
from nerveconduct.model import Site
from nerveconduct.analysis import analyze_values


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(7)
    return [_nerve(rng) for _ in range(400)]


def _fields(v):
    """Every field of a NerveVerdict, with the segments' item_results (not part of their ``==``)."""
    return (v.rule_set_id, v.nerve, v.key, v.level, v.items,
            [(s, s.reasons, s.item_results) for s in v.segments])


@pytest.mark.parametrize("rule_set", RULE_SETS, ids=lambda r: r if isinstance(r, str) else r.id)
@pytest.mark.parametrize("config", ["table", "flipped"])
def test_bulk_equals_one_nerve_calls(population, rule_set, config):
    rs = get_rule_set(rule_set)
    overrides = {"table": {}, "flipped": _flipped(rs)}[config]
    bulk = evaluate_nerves(population, rs, **overrides)
    assert len(bulk) == len(population)
    for i, (nr, got) in enumerate(zip(population, bulk)):
        want = evaluate_nerve(nr, rs, **overrides)
        assert got == want, (i, nr.nerve, overrides)
        assert _fields(got) == _fields(want), (i, nr.nerve, overrides)
    # the population is varied enough for the equality to mean something
    assert len({v.level for v in bulk}) >= 3
    assert {m for v in bulk for m in (it.met for it in v.items.values())} == {True, False, None}
    assert any(not nr.segments for nr in population) and any(not nr.known_nerve for nr in population)
    segs = evaluate_many(population, rs, **overrides)
    assert [list(v.segments) for v in bulk] == segs
    for nr, got in zip(population[:100], segs[:100]):
        assert got == evaluate(nr, rs, **overrides)
        assert [s.item_results for s in got] == [s.item_results for s in evaluate(nr, rs, **overrides)]


def test_order_of_the_nerves_does_not_matter(population):
    rs = get_rule_set("ean-pns-2021-cidp")
    order = list(range(len(population)))
    random.Random(3).shuffle(order)
    straight = evaluate_nerves(population, rs)
    shuffled = evaluate_nerves([population[k] for k in order], rs)
    assert [_fields(straight[k]) for k in order] == [_fields(v) for v in shuffled]


def _two_site(nerve, amps, side=None):
    return analyze_values(nerve, [Site("wrist", 70), Site("elbow", 230)], [3.5, 7.5], amps,
                          negative_peak_area_mv_ms=[a * 3.0 for a in amps],
                          negative_peak_duration_ms=[5.0, 5.4], side=side)


def test_empty_no_segments_and_mixed_known_unknown_nerves():
    assert evaluate_nerves([], "efns-pns-2010-mmn") == [] and evaluate_many([], CUSTOM) == []
    single = analyze_values("median", [Site("wrist", 70)], [3.5], [6.0], f_wave_latency_ms=40.0)
    assert not single.segments
    block, unknown = _two_site("median", [6.1, 2.9], "left"), _two_site("foo", [6.1, 2.9])
    nerves = [single, block, single, unknown, single]
    for rs in ("efns-pns-2010-mmn", "ean-pns-2021-cidp", CUSTOM):
        got = evaluate_nerves(nerves, rs)
        assert [_fields(v) for v in got] == [_fields(evaluate_nerve(nr, rs)) for nr in nerves]
        # no segment: not assessable, unless a nerve item of a CIDP rule set is met (item level "met")
        want = "met" if rs == "ean-pns-2021-cidp" and got[0].met_items() else "not-assessable"
        assert [v.segments for v in got][::2] == [(), (), ()] and got[0].level == want
    got = evaluate_nerves(nerves, "efns-pns-2010-mmn")
    assert got[1].level == "definite" and got[1].key == ("median", "left")
    assert not unknown.known_nerve and got[3].level != "definite"
    assert [_fields(v) for v in evaluate_nerves(iter(nerves), CUSTOM)] == \
        [_fields(v) for v in evaluate_nerves(nerves, CUSTOM)]


def test_patient_uses_the_same_verdicts(population):
    rs = get_rule_set("ean-pns-2021-cidp")
    nerves = population[:40]
    pv = evaluate_patient(nerves, rs, exclude_entrapment=False)
    assert [_fields(v) for v in pv.nerve_verdicts] == \
        [_fields(evaluate_nerve(nr, rs, exclude_entrapment=False)) for nr in nerves]


def test_errors_name_the_position():
    good = _two_site("median", [6.0, 5.0])
    with pytest.raises(TypeError, match=r"nerve_results\[1\] must be a NerveResult, got str"):
        evaluate_nerves([good, "median"], "efns-pns-2010-mmn")
    with pytest.raises(TypeError, match=r"nerve_results\[0\] must be a NerveResult, got int"):
        evaluate_many([3], "efns-pns-2010-mmn")
    with pytest.raises(TypeError, match="nerve_result must be a NerveResult, got str"):
        evaluate_nerve("median", "efns-pns-2010-mmn")
    with pytest.raises(ValueError, match="comparison must be 'adjacent' or 'from_distal', got 'sideways'"):
        evaluate_nerves([good], "efns-pns-2010-mmn", comparison="sideways")
    with pytest.raises(KeyError):
        evaluate_nerves([good], "no-such-rule-set")
    assert exported is evaluate_nerves
