"""``nerveconduct batch`` and the archive's stored stimulus intensity series (issue #18, item 3).

The batch reads an archive in chunks (:class:`~nerveconduct.io.archive.TraceChunk`); the chunk
carries the intensity series of its nerves (``/stimulation``), so every nerve gets the same
evidence of supramaximal stimulation, the same flags and the same verdict wording as
``analyze_nerves`` on the studies read from the archive -- whatever the number of workers and
the size of the tasks. A damaged group makes failure rows naming the nerves concerned, never a
crash and never a silent "not recorded".
"""

import csv
import dataclasses
import json

import h5py
import numpy as np
import pytest

from nerveconduct import batch
from nerveconduct.analysis import analyze_nerves
from nerveconduct.criteria import DEFAULT_CRITERIA, evaluate_nerve
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.io.errors import ArchiveError
from nerveconduct.serialize import csv_cell, nerve_record, segment_rows, to_jsonable
from nerveconduct.simulate import simulate_nerve


def _studies():
    """Five simulated nerves: a proximal series reaching its plateau, one stopping short (a
    submaximal elbow CMAP: "no plateau", a segment whose block verdicts carry the flag), a
    nerve without any intensity, one with a single intensity per site, and a three-site nerve
    with a series at its middle site only."""
    plateau = simulate_nerve((70.0, 230.0), seed=22, intensity_series={1: (12.0, 16.0, 19.0, 23.0)},
                             threshold_ma=12.0).to_studies()[0]
    short = simulate_nerve((70.0, 230.0), seed=23, intensity_series={0: (12.0, 20.0, 30.0),
                                                                     1: (8.0, 10.0, 12.0)},
                           threshold_ma=12.0).to_studies()[0]
    plain = simulate_nerve((70.0, 230.0), seed=30).to_studies()[0]
    single = simulate_nerve((70.0, 230.0), seed=31).to_studies()[0]
    single.sites = [dataclasses.replace(site, stimulus_intensity_ma=ma)  # proximal below distal
                    for site, ma in zip(single.sites, (25.0, 20.0))]
    three = simulate_nerve((70.0, 230.0, 110.0), seed=24, intensity_series={1: (10.0, 14.0, 18.0)},
                           threshold_ma=10.0).to_studies()[0]
    studies = [plateau, short, plain, single, three]
    for k, st in enumerate(studies):
        st.study_id = f"SERIES-{k}"
    return studies


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_archive(tmp_path_factory.mktemp("series") / "a.h5", _studies())


def _reference(path):
    """The nerves as ``analyze_nerves`` sees them after reading the archive, with verdicts."""
    with open_archive(path) as a:
        results = analyze_nerves(list(a.studies()))
    return [(r, {rid: evaluate_nerve(r, rid) for rid in DEFAULT_CRITERIA}) for r in results]


def test_the_archive_holds_every_kind_of_evidence(archive):
    """The reference shows plateau, no plateau, below distal and not recorded, and a block
    verdict carrying the submaximal flag (otherwise the comparisons below prove little)."""
    evidence = [[s.supramaximal for s in r.sites] for r, _ in _reference(archive)]
    assert evidence == [["not recorded", "plateau"], ["plateau", "no plateau"],
                        ["not recorded", "not recorded"], ["single intensity", "below distal"],
                        ["not recorded", "plateau", "not recorded"]]
    short, verdicts = _reference(archive)[1]
    assert short.segments[0].flags[0].startswith("submaximal stimulation possible")
    reasons = json.dumps(to_jsonable(nerve_record(short, verdicts))["verdicts"], ensure_ascii=False)
    assert "submaximal stimulation possible — a false block is likely (elbow: no plateau" in reasons


@pytest.mark.parametrize("jobs, chunk_rows", [(1, 2), (2, 3), (1, 16384)])
def test_batch_records_equal_analyze_records(archive, tmp_path, jobs, chunk_rows):
    """The nested record of every nerve (its sites' ``supramaximal`` evidence and note, site,
    segment and nerve flags, the verdicts with their wording) equals ``nerve_record`` of
    ``analyze_nerves(read(archive))``: one nerve, one answer."""
    out = tmp_path / "o.jsonl"
    summary = batch.run(archive, out, jobs=jobs, chunk_rows=chunk_rows)
    assert (summary.n_ok, summary.n_failed) == (5, 0)
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g.pop("nerve_index") for g in got] == [0, 1, 2, 3, 4]
    for g, (result, verdicts) in zip(got, _reference(archive), strict=True):
        want = json.loads(json.dumps(to_jsonable(nerve_record(result, verdicts))))
        g.pop("source"), want.pop("source")
        assert g == want
    flagged = [s["flag_names"] for s in got[1]["sites"]]
    assert flagged == [[], ["SUBMAXIMAL_POSSIBLE"]]


@pytest.mark.parametrize("jobs, chunk_rows", [(1, 2), (2, 3)])
def test_batch_segment_csv_equals_analyze_rows(archive, tmp_path, jobs, chunk_rows):
    """The flat segment table: every cell (flags, verdict level, label, items) as the
    segment rows of the analyzed studies give it, through the one cell rule."""
    out = tmp_path / "o.csv"
    batch.run(archive, out, jobs=jobs, chunk_rows=chunk_rows, table="segment")
    with open(out, newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    want = [row for r, v in _reference(archive) for row in segment_rows(r, v)]
    assert len(got) == len(want) == 6
    for g, w in zip(got, want):
        assert g["error"] == g["error_type"] == ""
        assert {"flags", "verdict_efns-pns-2010-mmn_items", "verdict_ean-pns-2021-cidp_label"} <= set(g)
        for column in set(g) - {"nerve_index", "source", "error", "error_type"}:
            assert g[column] == csv_cell(w[column]), column
    assert got[1]["flags"].startswith("submaximal stimulation possible")


# ---------------------------------------------------------------------------- damaged groups
def _damaged(archive, tmp_path, damage):
    path = tmp_path / "d.h5"
    path.write_bytes(archive.read_bytes())
    with h5py.File(path, "r+") as f:
        damage(f)
    return path


def _batch_csv(path, tmp_path, jobs=1, chunk_rows=3):
    out = tmp_path / "o.csv"
    summary = batch.run(path, out, jobs=jobs, chunk_rows=chunk_rows, overwrite=True)
    with open(out, newline="", encoding="utf-8") as fh:
        return summary, list(csv.DictReader(fh))


def test_series_breaking_the_rule_make_a_failure_row_naming_the_nerve(archive, tmp_path):
    """Intensities no longer increasing in nerve 1's distal series: nerve 1 is a failure row
    (naming it and the problem), the others keep their evidence."""
    path = _damaged(archive, tmp_path, lambda f: f["stimulation/steps/intensity_ma"].__setitem__(5, 11.0))
    for jobs in (1, 2):
        summary, rows = _batch_csv(path, tmp_path, jobs=jobs)
        assert (summary.n_ok, summary.n_failed) == (4, 1)
        assert [r["error_type"] for r in rows] == ["", "ArchiveError", "", "", ""]
        assert rows[1]["error"].startswith("nerve 1")
        assert "must increase strictly" in rows[1]["error"]
        assert rows[1]["study_id"] == "SERIES-1"


def test_infinite_series_trace_makes_a_failure_row_naming_the_nerve(archive, tmp_path):
    """An infinite value in nerve 4's series traces: the slice is refused when read, halved
    down to nerve 4, which alone is a failure row."""
    def damage(f):
        traces = f["stimulation/traces"]
        traces[traces.shape[0] - 1, 10] = np.inf
    summary, rows = _batch_csv(_damaged(archive, tmp_path, damage), tmp_path, chunk_rows=16384)
    assert (summary.n_ok, summary.n_failed) == (4, 1)
    assert [r["error_type"] for r in rows] == ["", "", "", "", "ArchiveError"]
    assert rows[4]["error"].startswith("nerve 4, stimulation rows")
    assert "got inf" in rows[4]["error"]


def test_incomplete_group_makes_every_nerve_a_failure_row(archive, tmp_path):
    """A member of ``/stimulation`` missing: which nerves had series is unknown, so every nerve
    is a failure row naming it and the missing member -- never a silent "not recorded"."""
    path = _damaged(archive, tmp_path, lambda f: f.__delitem__("stimulation/steps/n_samples"))
    for jobs in (1, 2):
        summary, rows = _batch_csv(path, tmp_path, jobs=jobs)
        assert (summary.n_ok, summary.n_failed) == (0, 5)
        for i, row in enumerate(rows):
            assert row["error"].startswith(f"nerve {i}, stimulation")
            assert "missing: stimulation/steps/n_samples" in row["error"]
            assert row["study_id"] == f"SERIES-{i}"
    with open_archive(path) as a, pytest.raises(ArchiveError, match="missing: stimulation/steps/n_samples"):
        a.study(2)


_CORRUPTIONS = {
    "site outside the nerve": ("site_position", 4, 2),
    "intensity 0 mA": ("intensity_ma", 0, 0.0),
    "intensity NaN": ("intensity_ma", 0, np.nan),
    "intensity above range": ("intensity_ma", 3, 2000.0),
    "not increasing": ("intensity_ma", 2, 16.0),
    "series split in two runs": ("site_position", 5, 1),
    "lengths differ in a series": ("n_samples", 1, 400),
}


@pytest.mark.parametrize("name", list(_CORRUPTIONS))
def test_valid_nerves_agrees_with_studies_on_corrupted_series(archive, tmp_path, name):
    """``TraceChunk.valid_nerves`` (column-wise) is True exactly where ``studies()`` builds the
    nerve: the batch analyzes only such nerves and names the others' problems."""
    column, row, value = _CORRUPTIONS[name]
    path = _damaged(archive, tmp_path,
                    lambda f: f[f"stimulation/steps/{column}"].__setitem__(row, value))
    with open_archive(path) as a:
        chunk = a.read_chunk(0, a.n_nerves)
    assert chunk.series is not None and chunk.series_error is None
    valid = chunk.valid_nerves()
    builds = []
    for j in range(chunk.n_nerves):
        try:
            chunk.sub_chunk(j, j + 1).studies()
            builds.append(True)
        except ArchiveError as exc:
            assert str(exc).startswith(f"nerve {j}") or f"nerve {j}:" in str(exc)
            builds.append(False)
    assert valid.tolist() == builds
    assert not all(builds)  # each corruption breaks one nerve


def test_sub_chunk_keeps_its_nerves_series(archive):
    """A slice of a chunk (as the batch halves a failing run) carries exactly its nerves'
    steps, as views."""
    with open_archive(archive) as a:
        chunk = a.read_chunk(0, a.n_nerves)
    assert [(j, site, list(ma)) for j, site, ma, _ in chunk.stimulation_series()] == [
        (0, 1, [12.0, 16.0, 19.0, 23.0]), (1, 0, [12.0, 20.0, 30.0]), (1, 1, [8.0, 10.0, 12.0]),
        (4, 1, [10.0, 14.0, 18.0])]
    sub = chunk.sub_chunk(1, 4)
    assert [(j, site) for j, site, *_ in sub.stimulation_series()] == [(0, 0), (0, 1)]
    assert np.shares_memory(sub.series["traces"], chunk.series["traces"])
    assert chunk.sub_chunk(2, 4).series is None


def test_archive_without_series_reads_no_group(tmp_path):
    """Without ``/stimulation`` a chunk carries nothing for it (the batch output of such an
    archive is the one pinned by the golden files)."""
    path = write_archive(tmp_path / "plain.h5", [_studies()[2]])
    with open_archive(path) as a:
        chunk = a.read_chunk(0, 1)
    assert chunk.series is None and chunk.series_error is None
    assert chunk.stimulation_series() == []
