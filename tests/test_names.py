"""Nerve labels (``nerveconduct.names``): the side words a label may start with, and the strict
check the diagnosis sheet uses (an unknown side word or nerve is refused with what is allowed,
never made into a new nerve)."""

from __future__ import annotations

import pytest

from nerveconduct.names import SIDE_WORDS, check_nerve_label, parse_nerve_label


@pytest.mark.parametrize("word,side", [("right", "right"), ("R", "right"), ("r", "right"), ("Rt", "right"),
                                       ("RT.", "right"), ("RIGHT", "right"), ("left", "left"), ("L", "left"),
                                       ("lt", "left"), ("Left", "left"), ("l.", "left")])
def test_side_words_any_case(word, side):
    assert parse_nerve_label(f"{word} median") == ("median", side)
    assert check_nerve_label(f"{word} superficial peroneal") == ("superficial fibular", side)


def test_side_words_are_the_documented_ones():
    assert set(SIDE_WORDS) == {"right", "r", "rt", "left", "l", "lt"}


def test_parse_stays_lenient_for_its_callers():
    assert parse_nerve_label("left dorsal ulnar cutaneous") == (None, "left")  # unknown nerve: None
    assert parse_nerve_label("lft sural") == (None, "")    # not a side word: no side, no nerve
    assert parse_nerve_label("sural") == ("sural", "")      # no side
    assert parse_nerve_label("R") == (None, "")             # a lone side word is not a label
    assert parse_nerve_label(None) == (None, "")


@pytest.mark.parametrize("label,message", [
    ("right medain", r"nerve label 'right medain': nerve must be one of \[.*\].*got 'medain'; did you mean 'median'\?"),
    ("lft sural", r"nerve label 'lft sural': side must be one of \['right', 'left', 'R', 'L', 'Rt', 'Lt'\], "
                  r"got 'lft'; did you mean 'left'\?"),
    ("Rgt median", r"side must be one of .*got 'Rgt'"),
    ("median", r"nerve label 'median': give the side first, e.g. 'right median' or 'left median' "
               r"\(side words: right, left, R, L, Rt, Lt\)"),
    ("left saphenous", r"nerve label 'left saphenous': nerve must be one of"),
    ("", r"nerve must be one of"),
])
def test_check_refuses_a_bad_side_or_nerve_naming_what_is_allowed(label, message):
    with pytest.raises(ValueError, match=message):
        check_nerve_label(label)


def test_check_names_the_place_of_the_label():
    with pytest.raises(ValueError, match=r"^sensory\['x'\] 'R medain': nerve"):
        check_nerve_label("R medain", name="sensory['x']")
