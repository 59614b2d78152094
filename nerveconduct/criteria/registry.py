"""The registry of rule sets: the shipped tables, a lab's own, and lookup by id.

The shipped tables live in ``nerveconduct/criteria/tables/*.toml`` (package data, read with
:mod:`importlib.resources`). A lab adds its own with :func:`register_rule_set` (a file or a
directory of ``*.toml``), or by listing directories in the environment variable
``NERVECONDUCT_RULE_DIRS`` (separated by ``os.pathsep``), read whenever a rule set is looked
up and the variable has changed.
"""

from __future__ import annotations

import importlib.resources
import os
from os import PathLike
from pathlib import Path

from .tables import RuleSet, RuleSetError, load_rule_set, loads_rule_set
from .verdicts import RuleSetInfo

__all__ = [
    "UnknownRuleSetError", "RULE_DIRS_ENV", "register_rule_set", "unregister_rule_set",
    "get_rule_set", "list_rule_sets",
]


class UnknownRuleSetError(KeyError, ValueError):
    """A rule-set id that is neither shipped nor registered; the message lists the known ids."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


#: Environment variable naming extra directories of rule-set tables (``os.pathsep``-separated).
RULE_DIRS_ENV = "NERVECONDUCT_RULE_DIRS"

_BUILTIN: dict[str, RuleSet] = {}
_REGISTERED: dict[str, RuleSet] = {}
_ENV_LOADED: list[str] = []


def _builtins() -> dict[str, RuleSet]:
    if not _BUILTIN:
        folder = importlib.resources.files("nerveconduct.criteria").joinpath("tables")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                rs = loads_rule_set(entry.read_text(encoding="utf-8"), f"builtin:{entry.name}")
                _BUILTIN[rs.id] = rs
    return _BUILTIN


def _load_env() -> None:
    value = os.environ.get(RULE_DIRS_ENV, "")
    if _ENV_LOADED and _ENV_LOADED[0] == value:
        return
    _ENV_LOADED[:] = [value]
    for folder in filter(None, value.split(os.pathsep)):
        if not Path(folder).is_dir():
            raise RuleSetError(folder, RULE_DIRS_ENV, "is not a directory of rule-set tables")
        register_rule_set(folder, replace=True)


def register_rule_set(source: str | PathLike[str] | RuleSet, *, replace: bool = False) -> list[RuleSet]:
    """Make a lab's rule set(s) available by id to :func:`evaluate` and friends.

    Parameters
    ----------
    source : path or RuleSet
        A ``.toml`` table, a directory (every ``*.toml`` in it), or a loaded :class:`RuleSet`.
    replace : bool, default False
        Allow replacing a rule set registered earlier (or shadowing a shipped one).

    Returns
    -------
    list of RuleSet
        The rule sets registered.

    Raises
    ------
    RuleSetError
        A table is invalid, or its id is already taken and ``replace`` is False.
    """
    if isinstance(source, RuleSet):
        sets = [source]
    else:
        p = Path(source)
        files = sorted(p.glob("*.toml")) if p.is_dir() else [p]
        sets = [load_rule_set(f) for f in files]
    for rs in sets:
        taken = rs.id in _REGISTERED or rs.id in _builtins()
        if taken and not replace:
            raise RuleSetError(rs.source, "id", f"rule set {rs.id!r} already exists; "
                               "pass replace=True to replace it")
        _REGISTERED[rs.id] = rs
    return sets


def unregister_rule_set(rule_set_id: str) -> None:
    """Forget a rule set added with :func:`register_rule_set` (shipped ones stay)."""
    if rule_set_id not in _REGISTERED:
        raise KeyError(f"no registered rule set {rule_set_id!r}; registered: {sorted(_REGISTERED)}")
    del _REGISTERED[rule_set_id]


def _all() -> dict[str, RuleSet]:
    _load_env()
    return {**_builtins(), **_REGISTERED}


def get_rule_set(rule_set: str | RuleSet) -> RuleSet:
    """Return the rule set ``rule_set`` (an id, or a :class:`RuleSet` passed through).

    Raises
    ------
    UnknownRuleSetError
        Unknown id (a ``KeyError`` and a ``ValueError``); the message lists the known ids.
    """
    if isinstance(rule_set, RuleSet):
        return rule_set
    everything = _all()
    if rule_set not in everything:
        raise UnknownRuleSetError(f"unknown rule set {rule_set!r}; known: {sorted(everything)}")
    return everything[rule_set]


def list_rule_sets() -> list[RuleSetInfo]:
    """Every available rule set (shipped and registered), sorted by id, with its citation.

    Examples
    --------
    >>> [r.id for r in list_rule_sets()][:2]
    ['aan-1991', 'amplitude-dependent-2000']
    """
    return [rs.info() for _, rs in sorted(_all().items())]
