"""Markers files (``nerveconduct.io.markers``): round trip, every refusal, matching to traces."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve, analyze_nerves, landmarks_from_markers
from nerveconduct.io import MARKER_KINDS, Marker, MarkerError, markers_from_json, markers_to_json
from nerveconduct.io import read_markers, write_markers
from nerveconduct.simulate import simulate_nerve


@pytest.fixture(scope="module")
def study():
    sim = simulate_nerve((70.0, 230.0), site_names=("Wrist", "Elbow"), side="left", seed=3)
    return sim.to_studies()[0]


def test_kinds_are_the_documented_five():
    assert MARKER_KINDS == ("onset", "negative_peak", "negative_end", "positive_peak", "absent")


def test_round_trip_through_a_file(tmp_path):
    markers = [Marker("median", "L", "Elbow", "onset", 8.1, by="reviewer A", at="2026-12-06T10:00Z"),
               Marker("median", "L", "Elbow", "negative_peak", 11.25),
               Marker("ulnar", None, "below elbow", "absent", None)]
    path = tmp_path / "m.json"
    write_markers(path, markers)
    assert read_markers(path) == markers
    obj = json.loads(path.read_text(encoding="utf-8"))
    assert obj["version"] == 1 and obj["markers"][0] == {
        "nerve": "median", "side": "L", "site": "Elbow", "marker": "onset", "time_ms": 8.1,
        "by": "reviewer A", "at": "2026-12-06T10:00Z"}
    assert markers_from_json(markers_to_json(markers)) == markers
    # the minimal form: no version, no by/at
    assert markers_from_json({"markers": [{"nerve": "median", "side": "L", "site": "Elbow",
                                           "marker": "onset", "time_ms": 8.10}]})[0].time_ms == 8.1


def test_write_refuses_to_overwrite_when_asked(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("old")
    with pytest.raises(FileExistsError):
        write_markers(path, [], overwrite=False)
    assert path.read_text() == "old"
    write_markers(path, [])
    assert read_markers(path) == []


def test_unknown_kind_names_the_allowed_ones_and_the_marker():
    with pytest.raises(MarkerError) as err:
        markers_from_json({"markers": [{"nerve": "median", "side": "L", "site": "Elbow",
                                        "marker": "onst", "time_ms": 8.1}]})
    msg = str(err.value)
    assert "'onst'" in msg and "did you mean 'onset'" in msg and "median L, site Elbow" in msg
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("item, words", [
    ({"marker": "onset", "time_ms": "8.1"}, "time_ms must be a finite number"),
    ({"marker": "onset", "time_ms": None}, "time_ms must be a finite number"),
    ({"marker": "onset", "time_ms": True}, "time_ms must be a finite number"),
    ({"marker": "onset", "time_ms": -0.5}, "[0, 1000]"),
    ({"marker": "onset", "time_ms": 1000.5}, "[0, 1000]"),
    ({"marker": "absent", "time_ms": 3.0}, "has no time"),
    ({"marker": "onset", "time_ms": 8.1, "colour": "red"}, "unknown key(s) ['colour']"),
    ({"marker": "onset", "time_ms": 8.1, "site": ""}, "site must be a non-empty text"),
    ({"marker": "onset", "time_ms": 8.1, "by": 7}, "by must be a text or null"),
])
def test_bad_fields_are_refused(item, words):
    full = {"nerve": "median", "side": "L", "site": "Elbow", **item}
    with pytest.raises(MarkerError) as err:
        markers_from_json({"markers": [full]})
    assert words in str(err.value)


def test_time_limits_at_and_just_inside():
    for t in (0.0, 1000.0):
        assert Marker("median", "L", "Elbow", "onset", t).time_ms == t


@pytest.mark.parametrize("obj, words", [
    ([], "JSON object"), ({"marker": []}, '"markers" list'),
    ({"markers": [], "extra": 1}, "unknown key(s) ['extra']"),
    ({"version": 2, "markers": []}, "version must be 1"),
    ({"markers": [3]}, "markers[0] must be an object"),
    ({"markers": [{"nerve": "median", "marker": "onset", "time_ms": 1.0}]}, "missing key(s) ['site']"),
])
def test_bad_structure_is_refused(obj, words):
    with pytest.raises(MarkerError) as err:
        markers_from_json(obj)
    assert words in str(err.value)


def test_duplicates_and_contradictions_are_refused():
    twice = [Marker("median", "L", "Elbow", "onset", 8.1), Marker("Median", "left", "ELBOW", "onset", 8.2)]
    with pytest.raises(MarkerError, match="given twice"):
        markers_to_json(twice)
    both = [Marker("median", "L", "Elbow", "onset", 8.1), Marker("median", "L", "Elbow", "absent", None)]
    with pytest.raises(MarkerError, match="contradicts the onset"):
        markers_to_json(both)


@pytest.mark.parametrize("first, then", [("onset", "negative_peak"), ("negative_peak", "negative_end"),
                                         ("onset", "negative_end"), ("negative_peak", "positive_peak"),
                                         ("onset", "positive_peak")])
def test_markers_out_of_order_are_refused_naming_the_trace_and_both(first, then):
    def pair(t_first, t_then):
        return [Marker("median", "L", "Elbow", first, t_first), Marker("median", "L", "Elbow", then, t_then)]

    for t_first in (8.0, 8.0 + 1e-9):  # at the same time, and just after: refused
        with pytest.raises(MarkerError) as err:
            markers_to_json(pair(t_first, 8.0))
        msg = str(err.value)
        assert "median L, site Elbow" in msg and f"the {first} (" in msg and f"the {then} (8 ms)" in msg
    # just before: accepted, as is the same pair on two different traces
    assert len(markers_to_json(pair(8.0 - 1e-9, 8.0))["markers"]) == 2
    other = [Marker("median", "L", "Elbow", first, 9.0), Marker("median", "L", "Wrist", then, 8.0)]
    assert len(markers_to_json(other)["markers"]) == 2


def test_markers_out_of_order_in_a_file_and_in_the_analysis(tmp_path, study):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"markers": [
        {"nerve": "median", "side": "L", "site": "Elbow", "marker": "negative_peak", "time_ms": 9.0},
        {"nerve": "median", "side": "L", "site": "Elbow", "marker": "onset", "time_ms": 9.5}]}))
    with pytest.raises(MarkerError) as err:
        read_markers(path)
    assert str(err.value).startswith(str(path)) and "onset (9.5 ms) must come before the negative_peak" in str(err.value)
    backwards = [Marker("median", "L", "Elbow", "onset", 9.5), Marker("median", "L", "Elbow", "negative_peak", 9.0)]
    with pytest.raises(MarkerError, match="must come before"):
        landmarks_from_markers(backwards, [study])
    with pytest.raises(MarkerError, match="must come before"):
        analyze_nerves([study], markers=backwards)


def test_bad_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"markers": [\n{"nerve": "median",,}]}')
    with pytest.raises(MarkerError) as err:
        read_markers(path)
    assert str(path) in str(err.value) and "line 2" in str(err.value) and "not valid JSON" in str(err.value)


def test_file_content_errors_name_the_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"markers": [{"nerve": "median", "site": "x", "marker": "peak"}]}))
    with pytest.raises(MarkerError) as err:
        read_markers(path)
    assert str(err.value).startswith(str(path)) and "'peak'" in str(err.value)


def test_matching_ignores_case_and_spells_sides(study):
    detected = analyze_nerve(study)
    for nerve, side, site in (("median", "L", "elbow"), ("MEDIAN", "left", "ELBOW"), ("Median", None, " Elbow ")):
        r = analyze_nerve(study, markers=[Marker(nerve, side, site, "onset", 9.0)])
        assert r.sites[1].onset_latency_ms == 9.0
        assert r.sites[1].onset_latency_source == "hand-set"
        assert r.sites[0].onset_latency_ms == detected.sites[0].onset_latency_ms


@pytest.mark.parametrize("marker", [Marker("median", "L", "Axilla", "onset", 9.0),
                                    Marker("ulnar", "L", "Elbow", "onset", 9.0),
                                    Marker("median", "R", "Elbow", "onset", 9.0)])
def test_a_marker_matching_no_trace_is_an_error_naming_it(study, marker):
    with pytest.raises(MarkerError) as err:
        analyze_nerve(study, markers=[marker])
    msg = str(err.value)
    assert "matches no trace" in msg and f"onset marker on {marker.nerve} {marker.side}, site {marker.site}" in msg


def test_messages_never_name_the_patient(study):
    study.metadata["patient_name"] = "Testpatient Quentin"
    try:
        with pytest.raises(MarkerError) as err:
            analyze_nerve(study, markers=[Marker("median", "L", "Axilla", "onset", 9.0)])
    finally:
        del study.metadata["patient_name"]
    assert "Quentin" not in str(err.value)


def test_a_marker_matching_both_sides_needs_a_side(study):
    right = simulate_nerve((70.0, 230.0), site_names=("Wrist", "Elbow"), side="right", seed=4).to_studies()[0]
    with pytest.raises(MarkerError, match="matches 2 traces; give the side"):
        analyze_nerves([study, right], markers=[Marker("median", None, "Elbow", "onset", 9.0)])
    results = analyze_nerves([study, right], markers=[Marker("median", "R", "Elbow", "onset", 9.0)])
    assert [r.sites[1].onset_latency_source for r in results] == ["detected", "hand-set"]


def test_a_time_after_the_trace_is_refused(study):
    sweep_ms = (study.traces.shape[1] - 1 - study.stimulus_sample) * 1000.0 / study.sampling_rate_hz
    landmarks_from_markers([Marker("median", "L", "Elbow", "negative_end", sweep_ms)], [study])
    with pytest.raises(MarkerError, match="after the end of the trace"):
        analyze_nerve(study, markers=[Marker("median", "L", "Elbow", "negative_end", sweep_ms + 0.01)])


def test_landmark_arrays_per_row(study):
    lm = landmarks_from_markers([Marker("median", "L", "Elbow", "positive_peak", 14.0),
                                 Marker("median", "L", "Wrist", "absent", None)], [study])
    assert np.isnan(lm["positive_peak"][0]) and lm["positive_peak"][1] == 14.0
    assert lm["absent"].tolist() == [True, False]
    assert np.isnan(lm["onset"]).all()


# --------------------------------------------------------------------------- the command line
def test_plot_takes_markers_and_names_a_marker_matching_nothing(tmp_path, study):
    from click.testing import CliRunner

    from nerveconduct.io import write_trace_csv
    from nerveconduct_cli.main import main

    csv_path = write_trace_csv(tmp_path / "median.csv", study)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    write_markers(good, [Marker("median", "L", "Elbow", "onset", 9.0)])
    write_markers(bad, [Marker("median", "L", "Axilla", "onset", 9.0)])
    runner = CliRunner()
    ok = runner.invoke(main, ["plot", str(csv_path), "--markers", str(good), "-o", str(tmp_path / "m.png")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "m.png").stat().st_size > 0
    failed = runner.invoke(main, ["plot", str(csv_path), "--markers", str(bad), "-o", str(tmp_path / "n.png")])
    assert failed.exit_code == 1
    assert "onset marker on median L, site Axilla matches no trace" in failed.output
    assert not (tmp_path / "n.png").exists()


def test_a_sheet_names_its_markers_file_relative_to_itself(tmp_path):
    from types import SimpleNamespace

    from nerveconduct_cli._markers import load_markers_option

    (tmp_path / "sub").mkdir()
    write_markers(tmp_path / "sub" / "m.json", [Marker("median", "L", "Elbow", "onset", 9.0)])
    sheet = SimpleNamespace(path=tmp_path / "sub" / "case.toml", markers="m.json")
    assert load_markers_option(None, sheets=[sheet])[0].time_ms == 9.0
    assert load_markers_option(None, sheets=[SimpleNamespace(path=None, markers=None)]) is None
    write_markers(tmp_path / "other.json", [Marker("median", "L", "Wrist", "absent", None)])
    given = load_markers_option(tmp_path / "other.json", sheets=[sheet])  # --markers wins
    assert [m.marker for m in given] == ["absent"]
