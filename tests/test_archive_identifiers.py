"""File names carry identifiers: archives keep a pseudonymous key of the input file instead."""

from __future__ import annotations

import numpy as np

from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.io.pseudonym import source_key
from nerveconduct.model import NerveStudy, Site

NAME = "Testpatient_Quentin_99887766.csv"


def _study() -> NerveStudy:
    return NerveStudy("median", "right", "APB", [Site("wrist", 70.0)], np.zeros((1, 100)), 20000.0,
                      metadata={"source_file": NAME, "format": "trace-csv"})


def test_the_file_name_never_reaches_the_archive(tmp_path):
    path = write_archive(tmp_path / "a.h5", [_study()])
    assert b"Quentin" not in path.read_bytes() and b"99887766" not in path.read_bytes()
    with open_archive(path) as arc:
        (study,) = arc.read_chunk(0, 1).studies()
    assert study.metadata["source_file"] == source_key(NAME)


def test_kept_when_the_user_asks(tmp_path):
    path = write_archive(tmp_path / "a.h5", [_study()], keep_identifiers=True)
    with open_archive(path) as arc:
        (study,) = arc.read_chunk(0, 1).studies()
    assert study.metadata["source_file"] == NAME


def test_source_key_is_stable_and_depends_on_the_name_only():
    assert source_key(f"/a/{NAME}") == source_key(f"b/{NAME}") != source_key("other.csv")
    assert NAME not in source_key(NAME)
