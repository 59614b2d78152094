"""Stimulus intensity series through the writers and readers (issue #18, item 3).

Each format that carries a site's CMAPs at several intensities gives back the same
:class:`~nerveconduct.model.StimulationSeries`: the intensities exactly (mA), the traces to the
format's precision, so the plateau evidence (``plateau`` / ``no plateau`` / ...) of every site
is the same after the round trip. A format that cannot carry them says so (a named warning).
"""

import logging

import h5py
import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.io._archive_series import read_series
from nerveconduct.io.archive import FORMAT_VERSION, open_archive, write_archive
from nerveconduct.io.errors import ArchiveError
from nerveconduct.model import Case, StimulationSeries
from nerveconduct.simulate import simulate_nerve


def _studies():
    """Three simulated nerves: a proximal series reaching its plateau, one stopping short (a
    submaximal elbow CMAP: "no plateau"), and a nerve without a series."""
    plateau = simulate_nerve((70.0, 230.0), seed=22, intensity_series={1: (12.0, 16.0, 19.0, 23.0)},
                             threshold_ma=12.0).to_studies()[0]
    short = simulate_nerve((70.0, 230.0), seed=23, intensity_series={0: (12.0, 20.0, 30.0), 1: (8.0, 10.0, 12.0)},
                           threshold_ma=12.0).to_studies()[0]
    plain = simulate_nerve((70.0, 230.0), seed=30).to_studies()[0]
    for k, st in enumerate((plateau, short, plain)):
        st.study_id = f"SERIES-{k}"
    plateau.side, plain.nerve = "left", "ulnar"  # one nerve and side each: a train finds its study
    return [plateau, short, plain]


def _evidence(studies):
    return [[s.supramaximal for s in r.sites] for r in analyze_nerves(studies)]


def _same_series(got, want, atol):
    assert sorted(got.stimulation_series) == sorted(want.stimulation_series)
    for k, s in want.stimulation_series.items():
        g = got.stimulation_series[k]
        assert isinstance(g, StimulationSeries)
        assert tuple(g.intensities_ma) == tuple(s.intensities_ma)  # exact
        np.testing.assert_allclose(g.traces, s.traces, atol=atol, rtol=0)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def warnings_logged():
    handler = _Records()
    log = logging.getLogger("nerveconduct")
    log.addHandler(handler)
    yield handler.records
    log.removeHandler(handler)


def test_the_evidence_to_keep():
    """The studies show every kind of evidence a series gives (the round trips keep it)."""
    assert _evidence(_studies()) == [["not recorded", "plateau"], ["plateau", "no plateau"],
                                     ["not recorded", "not recorded"]]


# ---------------------------------------------------------------------------- HDF5 archive
@pytest.mark.parametrize("dtype, atol", [("float32", 1e-6), ("float64", 0.0)])
def test_archive_round_trip(tmp_path, warnings_logged, dtype, atol):
    studies = _studies()
    path = write_archive(tmp_path / "a.h5", studies, dtype=dtype, compression="gzip")
    assert not [r for r in warnings_logged if "would be lost" in r.getMessage()]
    with open_archive(path) as a:
        back = list(a.studies())
        single = a.study(1)
    for got, want in zip(back, studies, strict=True):
        _same_series(got, want, atol * 30)  # float32: 30 mV-scale values at ~1e-7 relative
    _same_series(single, studies[1], atol * 30)
    assert back[2].stimulation_series == {}
    assert _evidence(back) == _evidence(studies)


def test_archive_append_and_case_keep_series_in_nerve_order(tmp_path):
    studies = _studies()
    path = tmp_path / "a.h5"
    write_archive(path, [studies[2], studies[0]])
    write_archive(path, [Case(studies=[studies[1]], case_id="SERIES-CASE")], append=True)
    with open_archive(path) as a:
        back = list(a.studies())
    assert [sorted(s.stimulation_series) for s in back] == [[], [1], [0, 1]]
    assert _evidence(back) == _evidence([studies[2], studies[0], studies[1]])


def test_archive_without_series_has_no_group_and_keeps_its_version(tmp_path):
    """Motor studies alone: laid out as before (no ``/stimulation``); the version stays 1.3, the
    group being optional (a reader that does not know it ignores it)."""
    path = write_archive(tmp_path / "a.h5", [_studies()[2]])
    with h5py.File(path) as f:
        assert sorted(f.keys()) == ["nerves", "sites", "traces"]
        assert f.attrs["format_version"] == FORMAT_VERSION == "1.3"
    path = write_archive(tmp_path / "b.h5", _studies()[:2])
    with h5py.File(path) as f:
        assert "stimulation" in f and f["stimulation/traces"].shape[0] == 4 + 6
        assert f["stimulation/steps/intensity_ma"][:].tolist() == [12.0, 16.0, 19.0, 23.0,
                                                                   12.0, 20.0, 30.0, 8.0, 10.0, 12.0]
        assert read_series(f, 2, 3) is None


def test_archive_damaged_series_is_a_named_error(tmp_path):
    path = write_archive(tmp_path / "a.h5", _studies()[:2])
    with h5py.File(path, "r+") as f:
        f["stimulation/steps/intensity_ma"][1] = 11.0  # no longer increasing
    with open_archive(path) as a, pytest.raises(ArchiveError, match=r"nerve 0.*must increase strictly"):
        list(a.studies())
    with h5py.File(path, "r+") as f:
        f["stimulation/steps/intensity_ma"][1] = 16.0
        del f["stimulation/steps/n_samples"]
    with open_archive(path) as a, pytest.raises(ArchiveError, match="missing: stimulation/steps/n_samples"):
        a.study(0)


# ---------------------------------------------------------------------------- EDF+D
def test_edf_round_trip(tmp_path, warnings_logged):
    """One record per step, its intensity in the annotation and our note; traces to half a
    16-bit step of the file's physical range."""
    from nerveconduct.io.edf import read_edf

    studies = _studies()
    path = tmp_path / "a.edf"
    from nerveconduct.io.edf_write import write_edf

    write_edf(path, studies)
    assert not [r for r in warnings_logged if "would be lost" in r.getMessage()]
    assert b"Stimulus left elbow 23mA series step 4" in path.read_bytes()
    back = read_edf(path)
    peak = max(float(np.max(np.abs(s.traces))) for s in studies)
    peak = max([peak] + [float(np.max(np.abs(x.traces))) for s in studies for x in s.stimulation_series.values()])
    for got, want in zip(back, studies, strict=True):
        _same_series(got, want, atol=1.01 * peak / 65535)
    assert _evidence(back) == _evidence(studies)


# ---------------------------------------------------------------------------- text formats
def _with_train(study):
    """``study`` with an F-wave train too (the readers attach trains and keep the series)."""
    from nerveconduct.io._kinds import with_train
    from nerveconduct.io._series_io import with_series

    rng = np.random.default_rng(5)
    return with_series(with_train(study, rng.normal(0, 0.01, (10, 300)), 10_000.0, 20),
                       study.stimulation_series)


def _read_write(fmt, path, studies):
    from nerveconduct.io.natus import read_natus_text
    from nerveconduct.io.natus_write import write_natus_text
    from nerveconduct.io.nihon_kohden import read_nihon_kohden_txt
    from nerveconduct.io.nihon_kohden_write import write_nihon_kohden_txt
    from nerveconduct.io.vendor import read_trace_csv
    from nerveconduct.io.vendor_write import write_trace_csv

    if fmt == "csv":
        write_trace_csv(path, studies, distances=True)
        return read_trace_csv(path)
    if fmt == "nk":
        write_nihon_kohden_txt(path, studies)
        return read_nihon_kohden_txt(path)
    write_natus_text(studies, path)
    return read_natus_text(path)


#: Each text format's precision: the CSV and NK text write µV with 2 decimals, Natus 4.
_TEXT_ATOL_MV = {"csv": 0.5e-5, "nk": 0.5e-5, "natus": 0.5e-7}


@pytest.mark.parametrize("fmt", list(_TEXT_ATOL_MV))
def test_text_round_trip(tmp_path, warnings_logged, fmt):
    """A site's steps are more traces of its motor item: its name, a ``Stim Intensity`` and a
    ``Series Step`` number each; the reader gives back the sites and the series."""
    studies = _studies()
    studies[1] = _with_train(studies[1])
    back = _read_write(fmt, tmp_path / "a.txt", studies)
    assert not [r for r in warnings_logged if "would be lost" in r.getMessage()]
    assert len(back) == 3 and back[1].f_wave_traces is not None
    for got, want in zip(back, studies, strict=True):
        assert [s.name for s in got.sites] == [s.name for s in want.sites]
        assert len(got.metadata["source_traces"]) == got.n_sites  # the sites' columns only
        np.testing.assert_allclose(got.traces, want.traces, atol=_TEXT_ATOL_MV[fmt] * 1.01)
        _same_series(got, want, atol=_TEXT_ATOL_MV[fmt] * 1.01)
    assert _evidence(back) == _evidence(studies)


@pytest.mark.parametrize("fmt", list(_TEXT_ATOL_MV))
def test_text_series_of_another_length_is_a_named_warning(tmp_path, warnings_logged, fmt):
    """These formats hold one trace length per item: a series whose traces are longer than the
    study's is not written, and the writer says so."""
    st = _studies()[1]
    site, series = sorted(st.stimulation_series.items())[0]
    st.stimulation_series[site] = StimulationSeries(series.intensities_ma,
                                                    np.pad(series.traces, ((0, 0), (0, 5))))
    (back,) = _read_write(fmt, tmp_path / "a.txt", [st])
    assert back.stimulation_series == {}
    (rec,) = [r for r in warnings_logged if "would be lost" in r.getMessage()]
    assert "studies[0] (median: site(s) wrist, elbow)" in rec.getMessage()


# ---------------------------------------------------------------------------- BIDS
def test_bids_round_trip(tmp_path):
    """A motor run's EDF+D holds the series (one record per step); its events.tsv has one
    event per step with the stimulus intensity (``trial_type`` "intensity series step k")."""
    import csv

    from nerveconduct.io.bids import write_bids
    from nerveconduct.io.bids_read import read_bids

    studies = _studies()
    for st in studies:
        st.study_id = "SERIES"  # one subject
    write_bids(studies, tmp_path / "bids")
    back = read_bids(tmp_path / "bids")
    by_label = {(s.side, s.nerve): s for s in back}
    assert len(by_label) == 3
    for want in studies:
        got = by_label[(want.side, want.nerve)]
        peak = max([float(np.max(np.abs(want.traces)))]
                   + [float(np.max(np.abs(s.traces))) for s in want.stimulation_series.values()])
        _same_series(got, want, atol=1.01 * peak / 65535)
    assert _evidence([by_label[(s.side, s.nerve)] for s in studies]) == _evidence(studies)
    (events,) = [p for p in (tmp_path / "bids").rglob("*_events.tsv")
                 if (p.with_name(p.name.replace("_events.tsv", "_emg.json"))).read_text().count('"left"')]
    with open(events, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    steps = [(r["trial_type"], r["site"], r["stimulus_intensity_ma"]) for r in rows
             if r["trial_type"].startswith("intensity series")]
    assert steps == [(f"intensity series step {k}", "elbow", ma) for k, ma in
                     enumerate(("12.0", "16.0", "19.0", "23.0"), 1)]
    onsets = [float(r["onset"]) for r in rows]
    assert onsets == sorted(onsets)
