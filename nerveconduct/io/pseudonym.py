"""Stable pseudonyms for patient identifiers.

Readers never copy a patient's name or ID into a :class:`~nerveconduct.model.NerveStudy`
unless asked (``keep_identifiers=True``); they store a pseudonym instead, so the studies of one
patient still group together across files and runs.

The pseudonym is ``"P-"`` followed by the first 10 hexadecimal digits of an HMAC-SHA256 of the
identifiers, keyed with a fixed project key. A site that wants pseudonyms nobody else can
recompute sets its own secret key in the environment variable ``NERVECONDUCT_PSEUDONYM_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

__all__ = ["PSEUDONYM_KEY_ENV", "pseudonymize", "normalize_identifier", "source_key", "is_source_key",
           "file_pseudonym"]

#: Environment variable that overrides the fixed project key.
PSEUDONYM_KEY_ENV = "NERVECONDUCT_PSEUDONYM_KEY"

_PROJECT_KEY = b"nerveconduct-pseudonym-v1"
_PREFIX = "P-"
_SOURCE_PREFIX = "F-"
_N_HEX = 10


def normalize_identifier(value: str | None) -> str:
    """Return ``value`` with case and spacing normalised (``""`` for None or blank).

    ``"  DOE^Jane "`` and ``"doe^jane"`` give the same pseudonym.

    Examples
    --------
    >>> normalize_identifier("  Doe   Jane ")
    'doe jane'
    """
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def pseudonymize(*identifiers: str | None, key: bytes | str | None = None) -> str | None:
    """Return the stable pseudonym of a patient's identifiers.

    Parameters
    ----------
    *identifiers : str or None
        Patient name, patient ID, ... in a fixed order; blanks and None are skipped.
    key : bytes or str, optional
        HMAC key. Default: the environment variable ``NERVECONDUCT_PSEUDONYM_KEY`` when set,
        else the fixed project key.

    Returns
    -------
    str or None
        ``"P-"`` + 10 hexadecimal digits, or ``None`` when every identifier is blank.

    Notes
    -----
    The identifiers are normalised (:func:`normalize_identifier`) and joined with the ASCII
    unit separator before hashing, so ``("ab", "c")`` and ``("a", "bc")`` differ.

    Examples
    --------
    >>> p = pseudonymize("Fake^Patient", "FAKE-0001", key="k")
    >>> p == pseudonymize(" fake^patient", "FAKE-0001", key="k"), len(p)
    (True, 12)
    >>> pseudonymize(None, "  ") is None
    True
    """
    parts = [normalize_identifier(v) for v in identifiers]
    parts = [p for p in parts if p]
    if not parts:
        return None
    if key is None:
        env = os.environ.get(PSEUDONYM_KEY_ENV)
        key = env if env else _PROJECT_KEY
    key_bytes = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    digest = hmac.new(key_bytes, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()
    return _PREFIX + digest[:_N_HEX]


def source_key(path: str | os.PathLike[str] | None, *, key: bytes | str | None = None) -> str | None:
    """A pseudonymous key of an input file, for outputs that must not carry its name.

    File names often carry a patient's name or ID (``Doe_Jane_12345678.csv``); outputs and
    archives say ``"F-"`` + 10 hexadecimal digits of the keyed HMAC of the file's *base name*
    instead (stable for the same file name, whatever folder it is read from; the same key as
    :func:`pseudonymize`), unless the user asks to keep identifiers.

    Examples
    --------
    >>> k = source_key("/data/Doe_Jane_12345678.csv", key="k")
    >>> k == source_key("elsewhere/Doe_Jane_12345678.csv", key="k"), k.startswith("F-"), len(k)
    (True, True, 12)
    >>> source_key(None) is None
    True
    """
    if path is None:
        return None
    name = os.path.basename(os.fspath(path))
    digest = pseudonymize("file", name, key=key)
    return None if digest is None else _SOURCE_PREFIX + digest[len(_PREFIX):]


def is_source_key(text: object) -> bool:
    """Whether ``text`` already is a :func:`source_key` (``"F-"`` + 10 lower-case hexadecimal
    digits), so that writing an archive read back from one keeps its keys instead of hashing
    them again.

    Examples
    --------
    >>> is_source_key(source_key("Doe_Jane_12345678.csv")), is_source_key("Doe_Jane.csv")
    (True, False)
    """
    return (isinstance(text, str) and len(text) == len(_SOURCE_PREFIX) + _N_HEX
            and text.startswith(_SOURCE_PREFIX)
            and all(c in "0123456789abcdef" for c in text[len(_SOURCE_PREFIX):]))


def file_pseudonym(file_name: str | os.PathLike[str], *, key: bytes | str | None = None) -> str | None:
    """The case key of a file that names no patient: one pseudonym per file (its base name).

    Readers give a study this ``study_id`` when the export has no patient fields, so the
    studies of one file still make one case (and two such files two cases).

    Examples
    --------
    >>> file_pseudonym("/a/median.csv", key="k") == file_pseudonym("median.csv", key="k")
    True
    """
    return pseudonymize("file:" + os.path.basename(os.fspath(file_name)), key=key)

