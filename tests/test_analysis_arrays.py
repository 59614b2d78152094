"""The analysis core's per-distinct-value helpers give what a pass over every row gives.

``distinct``/``mapped``/``group_rows``/``is_none`` (``nerveconduct.analysis._arrays``) find
distinct values by object pointer first; the set-up groups of an archive chunk
(``sources._chunk_setup_groups``) and the archive's per-distinct checks
(``io._trace_chunk._per_distinct``) are computed per distinct value. Each is compared here
with the row-by-row rule it replaces, on shared and unshared strings.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nerveconduct.analysis._arrays import (distinct, filled, group_rows, is_none, mapped, object_array,
                                          value_codes)
from nerveconduct.analysis.sources import _chunk_setup_groups, _setup_groups
from nerveconduct.io._trace_chunk import _per_distinct


def _unshared(text: str) -> str:
    """An equal string that is a different object."""
    return "".join(list(text))


def _columns(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pool = ["wrist", "elbow", None, "", "above elbow", ("a",)]
    out = []
    for n in (1, 2, 9, 64, 300):
        k = int(rng.integers(1, len(pool) + 1))
        rows = [pool[int(i)] for i in rng.integers(0, k, n)]
        rows = [_unshared(v) if isinstance(v, str) and rng.random() < 0.3 else v for v in rows]
        rows += [f"id-{i}" for i in range(int(rng.integers(0, 40)))]  # many distinct values
        out.append(object_array(rows))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_distinct_codes_give_back_every_row(seed):
    for values in _columns(seed):
        uniques, codes = distinct(values)
        assert codes.dtype == np.int64 and codes.shape == values.shape
        assert [uniques[c] for c in codes.tolist()] == values.tolist()
        assert sorted(set(codes.tolist())) == list(range(len(uniques)))  # no unused code


def test_distinct_groups_one_shared_object_with_one_code():
    shared = _unshared("wrist")
    values = object_array([shared] * 50 + [_unshared("elbow")] * 50)
    uniques, codes = distinct(values)
    assert uniques[0] is shared
    assert codes.tolist() == [0] * 50 + [1] * 50


def test_distinct_of_nothing():
    uniques, codes = distinct(object_array([]))
    assert uniques == [] and codes.shape == (0,)


def test_mapped_calls_the_function_once_per_distinct_value():
    calls = []

    def upper(text):
        calls.append(text)
        return text.upper()

    values = object_array(["a", "b"] * 500)
    assert mapped(values, upper).tolist() == ["A", "B"] * 500
    assert sorted(calls) == ["a", "b"]


@pytest.mark.parametrize("radix", [1, 3, 2 ** 22])
def test_group_rows_equals_unique_of_the_tuples(radix):
    rng = np.random.default_rng(radix)
    for n, n_columns in itertools.product((1, 5, 200), (1, 2, 3)):
        codes = [rng.integers(0, min(radix, 4), n) * (radix // min(radix, 4) or 1)
                 for _ in range(n_columns)]
        first, inverse = group_rows(codes)
        tuples = list(zip(*(c.tolist() for c in codes)))
        ordered = sorted(set(tuples))
        assert [ordered[i] for i in inverse.tolist()] == tuples
        assert first.tolist() == [tuples.index(t) for t in ordered]


def test_group_rows_beyond_an_int64_key():
    big = np.array([2 ** 40, 0, 2 ** 40, 7])
    first, inverse = group_rows([big, big, np.array([1, 0, 1, 0])])
    assert inverse.tolist() == [2, 0, 2, 1] and first.tolist() == [1, 3, 0]  # sorted tuples


def test_is_none_and_filled():
    values = object_array([None, "x", (), None])
    assert is_none(values).tolist() == [True, False, False, True]
    assert is_none(object_array([])).shape == (0,)
    assert filled(3, ()).tolist() == [(), (), ()]


def test_value_codes_number_the_distinct_values():
    assert value_codes(np.array([5.0, 5.0, 5.0])).tolist() == [0, 0, 0]
    assert value_codes(np.array([7, 5, 7, 9])).tolist() == [1, 0, 1, 2]
    assert value_codes(np.array([np.nan, 1.0, np.nan])).tolist() == [1, 0, 1]
    assert value_codes(np.array([])).shape == (0,)


def test_chunk_setup_groups_equal_the_groups_of_each_nerves_setup():
    rate = np.array([20000.0, 10000.0, 20000.0, 20000.0, 10000.0])
    stim = np.array([100, 50, 100, 100, 50])
    polarity = object_array(["physical", "physical", _unshared("physical"), "inverted", "physical"])
    n_samples = np.array([1000, 500, 1000, 1000, 500])
    expected = _setup_groups(list(zip(rate.tolist(), stim.tolist(), [str(p) for p in polarity],
                                      n_samples.tolist())))
    got = _chunk_setup_groups(rate, stim, polarity, n_samples)
    assert list(got.items()) == list(expected.items())
    one = _chunk_setup_groups(rate[:1].repeat(3), stim[:1].repeat(3), polarity[:1].repeat(3),
                              n_samples[:1].repeat(3))
    assert one == {(20000.0, 100, "physical", 1000): [0, 1, 2]}


@pytest.mark.parametrize("rows", [["median"] * 4, ["median", "", "median", " "], ["x\x00"] * 3,
                                  ["\x00"] * 3, ['{"a": 1}'] * 2 + ["null"]])
def test_per_distinct_equals_the_test_of_every_row_as_numpy_makes_it_a_string(rows):
    def test(text):
        return bool(text.strip()) and text != "null"

    values = object_array(rows)
    expected = [test(v) for v in values.astype(str).tolist()]
    assert _per_distinct(values, test).tolist() == expected
