"""Canonical nerve and stimulation-site names, their aliases, and the entrapment sites.

Names arrive from many machines and sheets ("peroneal", "Below Fib Head", "Erb"). Every
comparison in nerveconduct uses the canonical names here; names we do not know are kept
as given and reported (``canonical_nerve`` / ``canonical_site`` return ``None``).

Entrapment segments follow the AAEM consensus criteria for partial motor conduction block
(Olney RK. Muscle Nerve 1999;22:1304-1308; ``docs/criteria.md``): median across the wrist (palm-wrist), ulnar across the elbow and at the
wrist, fibular across the fibular head.
"""

from __future__ import annotations

import re

from ._checks import check_option

__all__ = [
    "NERVE_ALIASES",
    "SITE_ALIASES",
    "canonical_nerve",
    "canonical_sensory_nerve",
    "parse_nerve_label",
    "check_nerve_label",
    "SIDE_WORDS",
    "canonical_site",
    "entrapment_site",
    "is_erbs_point",
    "UPPER_LIMB_NERVES",
    "LOWER_LIMB_NERVES",
]

#: canonical nerve -> accepted spellings (lower case, punctuation-insensitive)
NERVE_ALIASES: dict[str, tuple[str, ...]] = {
    "median": ("median", "median motor", "median apb"),
    "ulnar": ("ulnar", "ulnar motor", "ulnar adm", "ulnar fdi"),
    "fibular": (
        "fibular", "peroneal", "common peroneal", "common fibular", "deep peroneal",
        "deep fibular", "peroneal motor", "fibular motor", "peroneal edb", "fibular edb",
    ),
    "tibial": ("tibial", "posterior tibial", "tibial motor", "tibial ah"),
    "radial": ("radial", "radial motor"),
    "sural": ("sural",),
    "superficial fibular": ("superficial fibular", "superficial peroneal"),
    "musculocutaneous": ("musculocutaneous",),
    "axillary": ("axillary",),
    "facial": ("facial",),
    "accessory": ("accessory", "spinal accessory"),
    "femoral": ("femoral",),
}

UPPER_LIMB_NERVES = frozenset({"median", "ulnar", "radial", "musculocutaneous", "axillary"})
LOWER_LIMB_NERVES = frozenset({"fibular", "tibial", "femoral", "sural", "superficial fibular"})

#: canonical site -> accepted spellings
SITE_ALIASES: dict[str, tuple[str, ...]] = {
    "palm": ("palm", "below wrist"),
    "wrist": ("wrist", "wr"),
    "forearm": ("forearm", "mid forearm"),
    "below elbow": ("below elbow", "b elbow", "belbow", "be", "below the elbow"),
    "elbow": ("elbow", "antecubital", "antecubital fossa", "el"),
    "above elbow": ("above elbow", "a elbow", "aelbow", "ae", "above the elbow"),
    "spiral groove": ("spiral groove", "below spiral groove", "above spiral groove"),
    "axilla": ("axilla", "upper arm", "arm"),
    "erb's point": ("erb's point", "erbs point", "erb point", "erb", "erbs", "supraclavicular"),
    "ankle": ("ankle",),
    "below fibular head": (
        "below fibular head", "fibular head", "bfh", "below fib head", "below knee",
        "below peroneal head", "fib head",
    ),
    "popliteal fossa": (
        "popliteal fossa", "popliteal", "knee", "above fibular head", "above knee",
        "lateral popliteal fossa", "pop fossa",
    ),
}


def _key(name: str) -> str:
    """Lower-case, drop punctuation and the trailing machine decorations (``"Wrist : "``)."""
    text = name.strip().lower().replace("\u2019", "'")
    text = re.sub(r"^(right|left|r|l)\s+", "", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_NERVE_LOOKUP = {_key(alias): canon for canon, aliases in NERVE_ALIASES.items() for alias in aliases}
_SITE_LOOKUP = {_key(alias): canon for canon, aliases in SITE_ALIASES.items() for alias in aliases}


def canonical_nerve(name: str | None) -> str | None:
    """Return the canonical nerve name for ``name``, or ``None`` if it is not known.

    Examples
    --------
    >>> canonical_nerve("Common Peroneal")
    'fibular'
    >>> canonical_nerve("Right Median") is None
    False
    >>> canonical_nerve("superficial_peroneal"), canonical_nerve("R Superficial Peroneal Sensory")
    ('superficial fibular', 'superficial fibular')
    >>> canonical_nerve("saphenous") is None
    True
    """
    if name is None:
        return None
    key = _key(name)
    if key in _NERVE_LOOKUP:
        return _NERVE_LOOKUP[key]
    # machine test items such as "Right Median Motor (APB)": match the first known word (a
    # two-word name first: "superficial peroneal sensory" is not the fibular nerve)
    words = key.split()
    for pair in zip(words, words[1:]):
        if " ".join(pair) in _NERVE_LOOKUP:
            return _NERVE_LOOKUP[" ".join(pair)]
    for word in words:
        if word in _NERVE_LOOKUP:
            return _NERVE_LOOKUP[word]
    return None


#: Whole names of sensory nerves that name the nerve of a standard SNAP beyond the aliases
#: above: the radial SNAP is recorded from the superficial radial (sensory) branch (standard
#: textbook technique; recalled, not checked against one source).
_SENSORY_ONLY = {"superficial radial": "radial", "superficial radial sensory": "radial"}


def canonical_sensory_nerve(name: str | None) -> str | None:
    """Canonical name of a sensory nerve, from its *whole* name only, or ``None``.

    Unlike :func:`canonical_nerve`, no single word of a longer name is taken for the nerve:
    "dorsal ulnar cutaneous" or "median palmar cutaneous" are other nerves than the ulnar or
    median digit nerves (other normal limits), so they are unknown here (``None``) and a caller
    keeps the words. A leading side ("right", "L") is ignored.

    Examples
    --------
    >>> canonical_sensory_nerve("Superficial_Peroneal"), canonical_sensory_nerve("R Median")
    ('superficial fibular', 'median')
    >>> canonical_sensory_nerve("dorsal ulnar cutaneous") is None, canonical_sensory_nerve("saphenous")
    (True, None)
    >>> canonical_sensory_nerve("superficial radial")
    'radial'
    """
    if name is None:
        return None
    key = _key(str(name).replace("_", " "))
    return _NERVE_LOOKUP.get(key) or _SENSORY_ONLY.get(key)


#: Side words a nerve label may start with (any letter case; a trailing "." is ignored) ->
#: the side.
SIDE_WORDS: dict[str, str] = {"right": "right", "r": "right", "rt": "right",
                              "left": "left", "l": "left", "lt": "left"}
#: How messages list the side words.
_SIDES_SHOWN = ("right", "left", "R", "L", "Rt", "Lt")
#: How messages list the nerve names of a label: the aliases that name a nerve (not a motor
#: test: "median apb"), and the superficial radial.
_NERVE_NAMES_SHOWN = (*(a for names in NERVE_ALIASES.values() for a in names
                        if not set(a.split()) & {"motor", "apb", "adm", "fdi", "edb", "ah"}),
                      "superficial radial")


def _side_word(word: str) -> str:
    """The side a label's first word names, or ``""``."""
    return SIDE_WORDS.get(word.lower().rstrip("."), "")


def parse_nerve_label(label: str | None) -> tuple[str | None, str]:
    """A nerve label (``"right median"``, ``"R sural"``, the wording of result labels) as
    (canonical sensory nerve or ``None``, side ``"left"`` / ``"right"`` / ``""``).

    The side is the first word when it is one of :data:`SIDE_WORDS` (right, left, R, L, Rt,
    Lt, any letter case); the nerve is matched as a whole name
    (:func:`canonical_sensory_nerve`; motor names are canonical already, so motor labels
    parse the same way). Lenient: an unknown nerve is ``None`` and a word that is not a side
    leaves the side ``""``; :func:`check_nerve_label` refuses both.

    Examples
    --------
    >>> parse_nerve_label("right median"), parse_nerve_label("Left superficial_peroneal")
    (('median', 'right'), ('superficial fibular', 'left'))
    >>> parse_nerve_label("R median"), parse_nerve_label("Lt Sural")
    (('median', 'right'), ('sural', 'left'))
    >>> parse_nerve_label("left dorsal ulnar cutaneous"), parse_nerve_label("sural")
    ((None, 'left'), ('sural', ''))
    """
    text = str(label or "").strip()
    words = text.split(maxsplit=1)
    side = _side_word(words[0]) if len(words) > 1 else ""
    name = words[1] if side else text
    return canonical_sensory_nerve(name), side


def check_nerve_label(label: object, *, name: str = "nerve label") -> tuple[str, str]:
    """A nerve label that must name a side and a known sensory nerve, as (nerve, side).

    Parameters
    ----------
    label : object
        ``"right median"``, ``"R sural"``, ``"Lt superficial peroneal"``.
    name : str, optional
        How the message names the label's place (``"sensory['R medain']"``).

    Returns
    -------
    tuple of str
        The canonical sensory nerve (:func:`canonical_sensory_nerve`) and ``"left"`` /
        ``"right"``.

    Raises
    ------
    ValueError
        The label has no side, an unknown side word or an unknown nerve: the message echoes
        the label, lists what is allowed and suggests a near miss
        (:func:`nerveconduct._checks.check_option`).

    Examples
    --------
    >>> check_nerve_label("Rt Median")
    ('median', 'right')
    >>> check_nerve_label("lft sural")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: nerve label 'lft sural': side must be one of [...], got 'lft'; did you mean 'left'?
    """
    text = str(label).strip()
    nerve, side = parse_nerve_label(text)
    if nerve is not None and side:
        return nerve, side
    where = f"{name} {text!r}"
    words = text.split(maxsplit=1)
    if nerve is not None:  # a known nerve without its side
        raise ValueError(f"{where}: give the side first, e.g. 'right {nerve}' or 'left {nerve}' "
                         f"(side words: {', '.join(_SIDES_SHOWN)})")
    if not side and len(words) == 2 and canonical_sensory_nerve(words[1]) is not None:
        check_option(f"{where}: side", words[0], _SIDES_SHOWN)  # a misspelled side word
    check_option(f"{where}: nerve", words[1] if side else text, _NERVE_NAMES_SHOWN,
                 extra=" (any letter case)")
    raise AssertionError("unreachable: check_option raises")  # pragma: no cover


def canonical_site(name: str | None) -> str | None:
    """Return the canonical stimulation-site name for ``name``, or ``None`` if unknown.

    Examples
    --------
    >>> canonical_site("Below Fib Head")
    'below fibular head'
    >>> canonical_site("Erb")
    "erb's point"
    """
    if name is None:
        return None
    return _SITE_LOOKUP.get(_key(name))


# Position of each site along its limb, distal (small) to proximal (large).
_UPPER_RANK = {
    "palm": 0.0, "wrist": 1.0, "forearm": 1.5, "below elbow": 2.0, "elbow": 2.5,
    "above elbow": 3.0, "spiral groove": 3.5, "axilla": 4.0, "erb's point": 5.0,
}
_LOWER_RANK = {"ankle": 1.0, "below fibular head": 2.0, "popliteal fossa": 3.0}

# (nerve, rank boundary, label): a segment whose distal site lies below the boundary and whose
# proximal site lies above it crosses the compression site.
_ENTRAPMENTS: tuple[tuple[str, float, str], ...] = (
    ("median", 0.5, "median across the wrist (carpal tunnel)"),
    ("ulnar", 0.5, "ulnar at the wrist"),
    ("ulnar", 2.75, "ulnar across the elbow"),
    ("fibular", 2.5, "fibular across the fibular head"),
)


def entrapment_site(nerve: str | None, distal_site: str | None, proximal_site: str | None) -> str | None:
    """Name the common compression site a segment crosses, or ``None``.

    Parameters
    ----------
    nerve, distal_site, proximal_site : str or None
        Canonical names (see :func:`canonical_nerve`, :func:`canonical_site`).

    Returns
    -------
    str or None
        e.g. ``"ulnar across the elbow"``; ``None`` when the segment crosses none, or when a
        name is unknown.

    Notes
    -----
    The ulnar "elbow" site (no below/above) is ranked between below and above elbow: a
    wrist-elbow ulnar segment does not count as crossing the elbow, an elbow-axilla one does.
    """
    if nerve is None or distal_site is None or proximal_site is None:
        return None
    ranks = _LOWER_RANK if nerve in LOWER_LIMB_NERVES else _UPPER_RANK
    if distal_site not in ranks or proximal_site not in ranks:
        return None
    lo, hi = ranks[distal_site], ranks[proximal_site]
    for ent_nerve, boundary, label in _ENTRAPMENTS:
        if ent_nerve == nerve and lo < boundary < hi:
            return label
    return None


def is_erbs_point(site: str | None) -> bool:
    """True for the canonical Erb's point site (supraclavicular stimulation)."""
    return site == "erb's point"
