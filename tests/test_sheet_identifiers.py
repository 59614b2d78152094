"""A study sheet's file name carries identifiers like an export's: archives keep its
pseudonymous key (``metadata["sheet"]``), the name itself only with ``keep_identifiers``."""

from __future__ import annotations

import shutil

import pytest

from nerveconduct.io import source_key
from nerveconduct.io.read import read, read_case
from nerveconduct.io.archive import write_archive
from nerveconduct.io.pseudonym import is_source_key
from nerveconduct.simulate.samples import sample_path
from _cli import run

SHEET = "Doe_John_MRN123456.toml"
TRAIN = "Doe_John_MRN123456_f.csv"


@pytest.fixture
def case_dir(tmp_path):
    """The bundled CIDP-like case (export + sheet), the sheet under an identifying name."""
    shutil.copy(sample_path("cidp_two_nerves.csv"), tmp_path / "cidp_two_nerves.csv")
    shutil.copy(sample_path("cidp_two_nerves.toml"), tmp_path / SHEET)
    return tmp_path


def _convert(case_dir, *extra):
    out = case_dir / ("kept.h5" if extra else "out.h5")
    run("convert", case_dir / "cidp_two_nerves.csv", "--sheet", case_dir / SHEET, out, *extra)
    return out


def test_convert_stores_the_sheet_name_pseudonymous(case_dir):
    out = _convert(case_dir)
    data = out.read_bytes()
    assert b"Doe_John" not in data and b"MRN123456" not in data
    studies = read_case(out).studies
    assert len(studies) == 2
    for study in studies:
        assert study.metadata["sheet"] == source_key(SHEET)
        assert not any("Doe_John" in str(v) or "MRN123456" in str(v)
                       for v in study.metadata.values())


def test_convert_keeps_the_sheet_name_when_asked(case_dir):
    out = _convert(case_dir, "--keep-identifiers")
    assert b"Doe_John_MRN123456" in out.read_bytes()
    assert [s.metadata["sheet"] for s in read_case(out).studies] == [SHEET, SHEET]


def test_write_archive_pseudonymises_the_sheet_name(case_dir, tmp_path):
    studies = read(case_dir / "cidp_two_nerves.csv", sheet=case_dir / SHEET)
    assert studies[0].metadata["sheet"] == SHEET  # in memory: the user's own file
    plain = write_archive(tmp_path / "plain.h5", studies)
    kept = write_archive(tmp_path / "kept.h5", studies, keep_identifiers=True)
    assert b"MRN123456" not in plain.read_bytes() and b"MRN123456" in kept.read_bytes()
    assert read_case(plain).studies[0].metadata["sheet"] == source_key(SHEET)
    assert read_case(kept).studies[0].metadata["sheet"] == SHEET


def test_rewriting_an_archive_keeps_its_file_keys(case_dir, tmp_path):
    """Keys already pseudonymous are not hashed again (the same file keeps one key)."""
    first = read_case(_convert(case_dir)).studies
    again = read_case(write_archive(tmp_path / "again.h5", list(first))).studies
    for a, b in zip(first, again):
        assert is_source_key(a.metadata["source_file"]) and is_source_key(a.metadata["sheet"])
        assert (b.metadata["source_file"], b.metadata["sheet"]) == (
            a.metadata["source_file"], a.metadata["sheet"])


def test_an_f_wave_file_read_with_identifiers_is_pseudonymised_on_writing(tmp_path):
    """``f_wave_file`` (a sheet entry's train file) read with ``keep_identifiers=True`` stays
    out of an archive written without it."""
    motor = tmp_path / "motor.csv"
    shutil.copy(sample_path("fwave_ulnar.csv"), motor)
    studies = read(motor, keep_identifiers=True)
    study = studies[0]
    study.metadata["f_wave_file"] = TRAIN  # as read() leaves it with keep_identifiers=True
    plain = write_archive(tmp_path / "plain.h5", [study])
    assert b"MRN123456" not in plain.read_bytes()
    assert read_case(plain).studies[0].metadata["f_wave_file"] == source_key(TRAIN)
