"""The column-wise reason clauses shared between the rules of one frame are the clauses each rule
would word alone (``criteria._reasons_columns._cond_column`` with and without its memo)."""

from __future__ import annotations

import math

from nerveconduct.criteria._reasons import _F, _N, _T
from nerveconduct.criteria._reasons_columns import _cond_column


def _plain(*args):
    return _cond_column(*args)


def test_memo_gives_each_rule_its_own_clause():
    values = [23.04, 50.0, 29.96, math.nan, 0.25]  # 0.25: .1f rounds the tie to even (0.2)
    memo: dict = {}
    states_a = [_F, _T, _F, _N, _F]
    states_b = [_F, _T, _T, _N, _F]  # same measure and threshold, other states: another clause
    a = _cond_column("area drop", values, 50.0, True, True, states_a, memo)
    assert a == _plain("area drop", values, 50.0, True, True, states_a)
    assert a == ["area drop 23.0% not \u2265 50%", "area drop 50.0% \u2265 50%", "area drop 30.0% not \u2265 50%",
                 "area drop not available", "area drop 0.2% not \u2265 50%"]
    # the same clause asked for again (equal states: another rule's duration limit) is the stored list
    assert _cond_column("area drop", values, 50.0, True, True, list(states_a), memo) is a
    b = _cond_column("area drop", values, 50.0, True, True, states_b, memo)
    assert b == _plain("area drop", values, 50.0, True, True, states_b)
    assert b[2] == "area drop 30.0% \u2265 50%"
    # another threshold, operator or measure name on the same numbers: never a stored clause
    assert _cond_column("area drop", values, 30.0, True, True, states_a, memo) == \
        _plain("area drop", values, 30.0, True, True, states_a)
    assert _cond_column("area drop", values, 50.0, False, True, states_a, memo)[0] == "area drop 23.0% not > 50%"
    assert _cond_column("duration increase", values, 50.0, True, False, states_a, memo)[0] == \
        "duration increase 23.0% not \u2264 50%"
