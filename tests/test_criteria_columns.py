"""The columnar criteria evaluator equals the object path, segment for segment, nerve for nerve.

Reference: :func:`nerveconduct.criteria.engine.evaluate` (segment level, label, items,
excluded_by) and :func:`nerveconduct.criteria.patient.evaluate_nerve` as written by
:func:`nerveconduct.serialize.rows.nerve_row` (``verdict_<id>_level/label/items_met``).
The object path words the decisions of the column evaluator (one one-nerve frame per call),
so these tests guard the frames, the batch-sized evaluation and the object path's reading of
the decisions; ``details=True`` (every check of every rule, the branch of every nerve item)
is checked for consistency with the verdicts.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from nerveconduct.criteria.columns import (
    NERVE_KEYS,
    SEGMENT_KEYS,
    check_supported,
    evaluate_nerve_columns,
    evaluate_segment_columns,
    nerve_frame,
    segment_frame,
)
from nerveconduct.criteria.engine import evaluate
from nerveconduct.criteria.patient import evaluate_nerve
from nerveconduct.criteria.registry import get_rule_set, list_rule_sets
from nerveconduct.criteria.tables import loads_rule_set
from nerveconduct.model import Site
from nerveconduct.analysis import analyze_nerves, analyze_values
from nerveconduct.serialize.verdicts import _level_label
from nerveconduct.serialize.rows import nerve_row
from nerveconduct.simulate.nerve import simulate_nerve

NAN = math.nan
SHIPPED = [info.id for info in list_rule_sets() if info.source.startswith("builtin:")]

# A table using what the shipped ones do not: excluded nerves, absent proximal graded "possible",
# CMAP duration, the _or_area and peak-to-peak measures, an item shared by two rules, ratio bands
# with a gap, nerve conditions on nerve items, strict comparisons, a filter of 20 Hz, and a
# wording of "not-assessable".
CUSTOM = loads_rule_set('''
id = "test-columns-all"
title = "every feature"
short_name = "T"
version = "1"
citation = "test"
confidence = "S"
verification = "test"
kind = "conduction-block"
exclude_entrapment = false
include_erbs_point = true
excluded_nerves = ["radial"]
absent_proximal = "possible"
[level_labels]
definite = "D"
possible = "P"
not-assessable = "cannot tell"
[[segment_rules]]
item = "X"
label = "x"
level = "definite"
confidence = "S"
verification = "t"
measure = "amplitude_or_area"
drop_min_pct = 40.0
duration = "cmap"
duration_increase_max_pct = 25.0
distal_amplitude_min_mv = 1.0
distal_amplitude_min_mv_inclusive = true
exclude_nerves = ["tibial"]
[[segment_rules]]
item = "Y"
label = "y"
level = "probable"
confidence = "S"
verification = "t"
measure = "peak_to_peak"
drop_min_pct = 30.0
drop_min_pct_inclusive = false
distal_amplitude_min_pct_lln = 50.0
[[segment_rules]]
item = "X"
label = "x2"
level = "possible"
confidence = "S"
verification = "t"
measure = "area"
drop_min_pct = 20.0
duration_increase_min_pct = 10.0
nerves = ["median", "fibular", "ulnar"]
segments = [{ distal = "wrist", proximal = "elbow" },
            { nerve = "fibular", distal = "ankle", proximal = "below fibular head" }]
[[segment_rules]]
item = "Z"
label = "z"
level = "possible"
confidence = "S"
verification = "t"
ratio_bands = [{ distal_min_mv = 0.0, distal_max_mv = 0.9, min_ratio = 0.4 },
               { distal_min_mv = 0.4, distal_max_mv = 1.0, min_ratio = 0.7 },
               { distal_min_mv = 1.0, distal_max_mv = 3.0, min_ratio = 0.6, distal_max_inclusive = true }]
[[segment_rules]]
item = "W"
label = "w"
level = "probable"
confidence = "S"
verification = "t"
measure = "amplitude_and_area"
drop_min_pct = 20.0
[[nerve_items]]
item = "N1"
label = "n1"
confidence = "S"
verification = "t"
measure = "distal_motor_latency"
compare = ">"
pct_of_limit = 120.0
nerves = ["median", "ulnar"]
[[nerve_items]]
item = "N2"
label = "n2"
confidence = "S"
verification = "t"
measure = "conduction_velocity"
compare = "<"
pct_of_limit = 80.0
exclude_nerves = ["fibular"]
[[nerve_items]]
item = "N3"
label = "n3"
confidence = "S"
verification = "t"
measure = "f_wave_latency"
compare = ">="
pct_of_limit = 110.0
low_amplitude_below_pct_lln = 50.0
low_amplitude_pct_of_limit = 130.0
[[nerve_items]]
item = "N4"
label = "n4"
confidence = "S"
verification = "t"
measure = "f_wave_absent"
distal_amplitude_min_pct_lln = 30.0
distal_amplitude_min_pct_lln_inclusive = false
[[nerve_items]]
item = "N5"
label = "n5"
confidence = "S"
verification = "t"
measure = "distal_cmap_duration"
compare = ">"
thresholds_ms = { median = 7.0, tibial = 9.0, radial = 8.0 }
[[nerve_items]]
item = "N6"
label = "n6"
confidence = "S"
verification = "t"
measure = "distal_cmap_duration"
compare = "<="
thresholds_ms = { ulnar = 6.7, fibular = 7.6 }
filter_hz = 20.0
[[combinations]]
level = "possible"
label = "X in 1"
items = ["X"]
min_nerves = 1
confidence = "S"
verification = "t"
''', "<test>")
RULE_SETS = [*SHIPPED, CUSTOM]

UPPER = ["palm", "wrist", "forearm", "below elbow", "elbow", "above elbow", "axilla", "Erb", "site X"]
LOWER = ["ankle", "fibular head", "below knee", "popliteal fossa", "knee", "site X"]
NERVES = ["median", "ulnar", "fibular", "tibial", "radial", "foo", "peroneal"]
AMPS = [0.0, NAN, 0.36, 0.5, 0.8, 1.0, 2.0, 3.2, 4.0, 5.0, 6.0, 10.0]
RATIOS = [1.0, 0.5, 0.8, 0.7, 0.56, 0.36, 0.4, 0.6, 0.3, 0.2, 0.0, NAN]
DURATION_FACTORS = [1.0, 1.3, 1.15, 1.1, 2.0, 1.25, NAN]
CMAP_DURATIONS = [6.6, 6.7, 7.0, 7.6, 8.0, 8.8, 9.0, NAN]


_STATE = {0: False, 1: None, 2: True}


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _chain(rng, n, first, factors, spread):
    """Per-site values: each from the first or the previous value times a factor, or random."""
    out = [first]
    for _ in range(1, n):
        base = out[0] if rng.random() < 0.5 else out[-1]
        out.append(base * _pick(rng, factors) if rng.random() < 0.8 else float(rng.uniform(*spread)))
    return out


def _nerve(rng):
    nerve = _pick(rng, NERVES)
    names = LOWER if nerve in ("fibular", "tibial", "peroneal") or (nerve == "foo" and rng.random() < 0.5) else UPPER
    n = int(rng.choice([1, 2, 2, 3, 3, 4, 5]))
    if rng.random() < 0.75:  # distal to proximal, as recorded
        sites = [names[i] for i in sorted(rng.choice(len(names), size=min(n, len(names)), replace=False))]
    else:
        sites = [_pick(rng, names) for _ in range(n)]
    n = len(sites)
    dist = [None if rng.random() < 0.07 else float(rng.uniform(50, 350)) for _ in range(n)]
    lat = [_pick(rng, [6.6, 4.95, 3.5, float(rng.uniform(2.5, 8.0))])]
    for k in range(1, n):
        lat.append(lat[-1] + (dist[k] or 200.0) / _pick(rng, [34.3, 49.0, 60.0, float(rng.uniform(15, 70))]))
    lat = [None if rng.random() < 0.04 else v for v in lat]
    amp = _chain(rng, n, _pick(rng, AMPS) if rng.random() < 0.6 else float(rng.uniform(0.2, 12)), RATIOS, (0.1, 12))
    area = None if rng.random() < 0.1 else _chain(rng, n, (amp[0] if amp[0] == amp[0] else 5.0) * 3.0,
                                                   RATIOS, (0.5, 40))
    dur = None if rng.random() < 0.1 else _chain(rng, n, _pick(rng, [5.0, 4.0, float(rng.uniform(4, 7))]),
                                                  DURATION_FACTORS, (3, 12))
    cmap = None if rng.random() < 0.1 else _chain(rng, n, _pick(rng, CMAP_DURATIONS), DURATION_FACTORS, (4, 20))
    uln = {"median": 31.0, "ulnar": 32.0}.get(nerve, 56.0)
    f_wave = _pick(rng, [None, NAN, uln * 1.1, uln * 1.2, uln * 1.3, uln * 1.5, float(rng.uniform(20, 70))])
    pp = None
    if rng.random() < 0.5:  # peak-to-peak amplitudes (else NaN)
        pp = _chain(rng, n, _pick(rng, [0.0, NAN, 2.0, 5.0]) if rng.random() < 0.3 else float(rng.uniform(1, 15)),
                    RATIOS, (0.5, 15))
    return analyze_values(
        nerve, [Site(s, d) for s, d in zip(sites, dist)], lat, amp, negative_peak_area_mv_ms=area,
        negative_peak_duration_ms=dur, cmap_duration_ms=cmap, peak_to_peak_amplitude_mv=pp,
        side=_pick(rng, ["left", "right", None]),
        f_wave_latency_ms=f_wave, low_frequency_filter_hz=_pick(rng, [None, 2.0, 20.0, 2.0 + 1e-12, 3.0]),
        temperature_c=_pick(rng, [None, 29.0, 33.0]))


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(1)  # a seed whose population reaches every branch
    results = [_nerve(rng) for _ in range(3000)]
    return results, segment_frame(results), nerve_frame(results)


def _check(results, sf, nf, rs, overrides, n_rows=150, every=1):
    """Columnar == object path on every ``every``-th nerve and its segments (the columns are
    evaluated on all of them); nerve_row on the first ``n_rows``."""
    segs = evaluate_segment_columns(rs, sf, **overrides)
    nerves = evaluate_nerve_columns(rs, nf, sf, segs)
    pos = 0
    for i, nr in enumerate(results):
        if i % every:
            pos += len(nr.segments)
            continue
        nv = evaluate_nerve(nr, rs, **overrides)
        expected = evaluate(nr, rs, **overrides)
        assert [(v.level, v.label, v.items, v.excluded_by) for v in nv.segments] == \
            [(v.level, v.label, v.items, v.excluded_by) for v in expected]
        got = [(segs.level[k], segs.label[k], segs.items[k], segs.excluded_by[k])
               for k in range(pos, pos + len(expected))]
        assert got == [(v.level, v.label, v.items, v.excluded_by) for v in expected], (i, nr.nerve, overrides)
        pos += len(expected)
        want = (nv.level, nv.label or _level_label(nv.level, nv.segments), nv.met_items())
        if i < n_rows:
            row = nerve_row(nr, {rs.id: nv})
            want = (row[f"verdict_{rs.id}_level"], row[f"verdict_{rs.id}_label"],
                    tuple(row[f"verdict_{rs.id}_items_met"]))
        assert (nerves.level[i], nerves.label[i], nerves.items_met[i]) == want, (i, nr.nerve, overrides)
        assert {k: _STATE[int(v[i])] for k, v in nerves.item_states.items()} == \
            {k: item.met for k, item in nv.items.items()}, (i, nr.nerve, overrides)
    assert pos == len(segs.level)
    return segs, nerves


def _flipped(rs):
    other = "from_distal" if rs.comparison == "adjacent" else "adjacent"
    return {"exclude_entrapment": not rs.exclude_entrapment, "include_erbs_point": not rs.include_erbs_point,
            "comparison": other}


@pytest.mark.parametrize("rule_set", RULE_SETS, ids=lambda r: r if isinstance(r, str) else r.id)
@pytest.mark.parametrize("config", ["table", "flipped", "graded-entrapment"])
def test_equals_object_path(population, rule_set, config):
    results, sf, nf = population
    rs = get_rule_set(rule_set)
    overrides = {"table": {}, "flipped": _flipped(rs), "graded-entrapment": {"exclude_entrapment": False}}[config]
    # the object path is the slow side: the table's own settings are checked on every nerve,
    # the other two configurations on every third (1 000 nerves, every branch still reached)
    segs, nerves = _check(results, sf, nf, rs, overrides, every=1 if config == "table" else 3)
    # the population reaches the branches (else the equality above proves little)
    unmet = "none" if rs.level_scope == "segment" else "not-met"  # item levels: CIDP rule sets
    assert {"not-assessable", unmet} <= set(segs.level) and len(set(nerves.level)) >= 3
    assert {it for items in segs.items for it in items} >= {r.item for r in rs.segment_rules}
    excluded = set(segs.excluded_by)
    assert None in excluded and ("erbs-point" in excluded) == (not overrides.get("include_erbs_point",
                                                                                rs.include_erbs_point))


def test_population_covers_the_custom_branches(population):
    _, sf, nf = population
    segs = evaluate_segment_columns(CUSTOM, sf)
    assert set(segs.excluded_by) == {None, "nerve"}  # entrapment graded, Erb's included, rules for all
    assert "not-applicable" in set(evaluate_segment_columns("efns-pns-2010-mmn", sf).excluded_by)
    assert {"definite", "probable", "possible", "none", "not-assessable"} == set(segs.level)
    assert ("absent proximal response",) in set(segs.items) and ("Y", "X") in set(segs.items)
    nerves = evaluate_nerve_columns(CUSTOM, nf, sf, segs)
    met = {it for items in nerves.items_met for it in items}
    assert met == {"X", "Y", "Z", "W", "N1", "N2", "N3", "N4", "N5", "N6"}
    assert "cannot tell" in set(nerves.label) and "not assessable" in set(nerves.label)  # with / without segments


@pytest.mark.parametrize("rule_set", ["efns-pns-2010-mmn", "ean-pns-2021-cidp"])
def test_segment_order_does_not_matter(population, rule_set):
    _, sf, _ = population
    perm = np.random.default_rng(3).permutation(len(sf["nerve_id"]))
    shuffled = {k: v[perm] for k, v in sf.items()}
    for comparison in ("adjacent", "from_distal"):
        a = evaluate_segment_columns(rule_set, sf, comparison=comparison)
        b = evaluate_segment_columns(rule_set, shuffled, comparison=comparison)
        assert list(b.level) == list(a.level[perm]) and list(b.items) == list(a.items[perm])
        assert list(b.excluded_by) == list(a.excluded_by[perm])


def test_simulated_nerves_with_and_without_block():
    sims = [simulate_nerve((70.0, 200.0, 120.0), nerve="median", block=block, seed=seed, n_units=80)
            for seed, block in ((1, None), (2, {1: 0.6}), (3, {2: 0.8}))]
    sims.append(simulate_nerve((80.0, 300.0, 100.0), nerve="fibular", block={2: 0.5}, seed=4, n_units=80,
                               low_frequency_filter_hz=2.0))
    sims.append(simulate_nerve((70.0, 220.0, 100.0, 120.0), nerve="ulnar", block={1: 0.5}, seed=5, n_units=80))
    results = analyze_nerves([st for sim in sims for st in sim.to_studies()])
    sf, nf = segment_frame(results), nerve_frame(results)
    assert np.isfinite(sf["distal_peak_to_peak_mv"]).all()  # measured from the traces
    for rs in RULE_SETS:
        for overrides in ({}, _flipped(get_rule_set(rs))):
            _check(results, sf, nf, get_rule_set(rs), overrides)
    blocked = evaluate_segment_columns("efns-pns-2010-mmn", sf)
    assert blocked.level[0] == "none" and "definite" in set(blocked.level[2:4])


def test_zero_nerves_and_single_site_nerves():
    sf, nf = segment_frame([]), nerve_frame([])
    assert set(sf) == set(SEGMENT_KEYS) and set(nf) == set(NERVE_KEYS)
    assert all(len(v) == 0 and v.dtype == SEGMENT_KEYS[k] for k, v in sf.items())
    for rs in RULE_SETS:
        segs = evaluate_segment_columns(rs, sf)
        nerves = evaluate_nerve_columns(rs, nf, sf, segs)
        assert len(segs.level) == len(segs.items) == len(nerves.level) == len(nerves.items_met) == 0
    single = [analyze_values("median", [Site("wrist", 70)], [7.0], [1.0], cmap_duration_ms=[9.0],
                             f_wave_latency_ms=NAN),
              analyze_values("ulnar", [Site("wrist", 70)], [None], [0.0], f_wave_latency_ms=50.0)]
    sf, nf = segment_frame(single), nerve_frame(single)
    assert all(len(v) == 0 for v in sf.values()) and len(nf["nerve"]) == 2
    for rs in RULE_SETS:
        _check(single, sf, nf, get_rule_set(rs), {})
    cidp = evaluate_nerve_columns("efns-pns-2010-cidp", nf, sf)
    # no segment, but nerve items met: an item level says so, as the label does
    assert cidp.level.tolist() == ["met", "met"] and cidp.items_met[0] == ("I-A", "I-D", "I-G")
    assert all(label.startswith("met: ") for label in cidp.label) and cidp.items_met[1]


def test_check_supported_and_errors(population):
    _, sf, nf = population
    for rs in RULE_SETS:
        assert check_supported(rs) is get_rule_set(rs)
    with pytest.raises(NotImplementedError, match="comparison 'weird'"):
        check_supported(dataclasses.replace(CUSTOM, comparison="weird"))
    with pytest.raises(NotImplementedError, match="measure 'slope'"):
        check_supported(dataclasses.replace(CUSTOM, segment_rules=(
            dataclasses.replace(CUSTOM.segment_rules[0], measure="slope"),)))
    with pytest.raises(ValueError, match="comparison must be"):
        evaluate_segment_columns("aan-1991", sf, comparison="sideways")
    with pytest.raises(ValueError, match=r"lacks keys \['first_canonical'\]"):
        evaluate_segment_columns("aan-1991", {k: v for k, v in sf.items() if k != "first_canonical"})
    with pytest.raises(ValueError, match="nerve_id must be >= 0, got -1"):
        evaluate_segment_columns("aan-1991", dict(sf, nerve_id=sf["nerve_id"] - 1))
    with pytest.raises(ValueError, match="1-D of one length"):
        evaluate_segment_columns("aan-1991", dict(sf, index=sf["index"][:-1]))
    segs = evaluate_segment_columns("aan-1991", sf)
    with pytest.raises(ValueError, match="rule set 'aan-1991'"):
        evaluate_nerve_columns("textbook-20pct", nf, sf, segs)
    with pytest.raises(ValueError, match="nerve_id must lie in"):
        evaluate_nerve_columns("aan-1991", {k: v[:10] for k, v in nf.items()}, sf, segs)
    with pytest.raises(ValueError, match="overrides"):
        evaluate_nerve_columns("aan-1991", nf, sf, segs, comparison="adjacent")
    with pytest.raises(TypeError, match=r"results\[0\] must be a NerveResult"):
        segment_frame(["median"])


@pytest.mark.parametrize("rule_set", RULE_SETS, ids=lambda r: r if isinstance(r, str) else r.id)
def test_details_are_the_decisions_of_the_verdicts(population, rule_set):
    """``details=True`` exposes every check; the verdicts are made of exactly those checks."""
    from nerveconduct.criteria import _columns_items as ci
    from nerveconduct.criteria._columns_rules import EXCLUDED, ordered_items

    _, sf, nf = population
    rs = get_rule_set(rule_set)
    plain = evaluate_segment_columns(rs, sf)
    assert plain.decisions is None and evaluate_nerve_columns(rs, nf, sf, plain).item_branches is None
    segs = evaluate_segment_columns(rs, sf, details=True)
    d = segs.decisions
    assert list(segs.level) == list(plain.level) and list(segs.items) == list(plain.items)
    assert [EXCLUDED[c] for c in d.excluded] == list(segs.excluded_by)
    ruled = d.outcome == 5
    assert np.array_equal(ruled & (d.excluded != 4), ruled & segs.graded)
    merged = {it: np.full(len(ruled), ci.F) for it in ordered_items(rs.segment_rules)}
    for rule, rc in zip(rs.segment_rules, d.rules):
        checks = [x for x in (rc.drop, rc.duration_max, rc.duration_min, rc.distal) if x is not None]
        conj = np.minimum.reduce(checks) if checks else np.full(len(ruled), ci.T)
        assert np.array_equal(rc.state, np.where(rc.why_not == 0, conj, ci.F))
        assert (rc.drop is None) == (rule.drop_min_pct is None and not rule.ratio_bands)
        assert len(rc.drop_parts) == (0 if rule.ratio_bands or rc.drop is None else
                                      2 if rule.measure.endswith("_area") else 1)
        if rc.distal is not None:  # a distal amplitude not available makes the clause not assessable
            assert np.all(rc.distal[~rc.distal_known] == ci.N)
        merged[rule.item] = np.maximum(merged[rule.item], rc.state)
    for it, st in merged.items():
        assert np.array_equal(segs.item_states[it][ruled], st[ruled])
    nerves = evaluate_nerve_columns(rs, nf, sf, segs, details=True)
    assert set(nerves.item_branches) == {item.item for item in rs.nerve_items}
    implied = {ci.UNKNOWN_NERVE: ci.N, ci.OTHER_NERVE: ci.F, ci.F_NOT_STUDIED: ci.N, ci.MISSING: ci.N,
               ci.NO_CUTOFF: ci.F, ci.WRONG_FILTER: ci.N, ci.F_ABSENT: ci.F, ci.F_PRESENT: ci.F,
               ci.F_ABSENT_AMP_UNKNOWN: ci.N}
    for item in rs.nerve_items:
        branch, st = nerves.item_branches[item.item], nerves.item_states[item.item]
        for code, want in implied.items():
            assert np.all(st[branch == code] == want), (item.item, code)
        if item.measure not in ("f_wave_absent", "distal_cmap_duration"):
            assert set(np.unique(branch)) <= {ci.GRADED, ci.LOW_CUTOFF, ci.BOTH_CUTOFFS, ci.F_NOT_STUDIED,
                                              ci.F_ABSENT, ci.MISSING, ci.UNKNOWN_NERVE, ci.OTHER_NERVE}
