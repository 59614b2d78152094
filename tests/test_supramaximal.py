"""Supramaximal stimulation (issue #18 item 3): intensity series, the plateau check, the flag
every conduction-block verdict of the segment shows, and the simulator's series.

Thresholds (``docs/criteria.md``, supramaximal stimulation): a series shows a plateau when its
last step raised the intensity by >= 20 % (textbook practice, recalled) and changed the
negative-peak amplitude by <= 5 % either way (project choice); one recorded intensity at a
proximal site cannot show a plateau and is flagged (below the distal site's intensity, or not);
nothing recorded is not flagged. A flagged proximal site warns every block verdict of its
segment and the patient-level verdict; a flagged distal site gives a segment note and a nerve
flag. Intensities are checked against ``RANGES["stimulus_intensity_ma"]``, (0, 1000] mA.
"""

from __future__ import annotations

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerves, analyze_values
from nerveconduct.analysis._stimulation import (PLATEAU_CHANGE_MAX_PCT, PLATEAU_STEP_MIN_PCT,
                                                supramaximal_columns)
from nerveconduct.criteria import evaluate, evaluate_many, evaluate_patient
from nerveconduct.flags import DISTAL_SUBMAXIMAL_TEXT, SUBMAXIMAL_TEXT, MeasureFlag
from nerveconduct.model import InvalidStudyError, NerveStudy, Site
from nerveconduct.model.motor import StimulationSeries
from nerveconduct.simulate.nerve import simulate_nerve

RULE_SETS = ("aan-1991", "amplitude-dependent-2000", "ean-pns-2021-cidp", "efns-pns-2010-cidp",
             "efns-pns-2010-mmn", "textbook-20pct")


def _series_evidence(last_ma: float, previous_ma: float, last_mv: float, previous_mv: float,
                     steps: int = 2) -> tuple[str, bool]:
    """The evidence and flag of the proximal site of a two-site nerve with one series there."""
    cols = {"series_steps": np.array([0, steps]), "series_last_ma": np.array([np.nan, last_ma]),
            "series_previous_ma": np.array([np.nan, previous_ma]),
            "series_last_mv": np.array([np.nan, last_mv]),
            "series_previous_mv": np.array([np.nan, previous_mv])}
    out = supramaximal_columns({"stimulus_intensity_ma": np.array([np.nan, np.nan])}, np.array([0, 1]), cols)
    return out["supramaximal"][1], bool(out["submaximal_possible"][1])


# ------------------------------------------------------------------ the plateau thresholds
class TestPlateauStep:
    """Textbook practice: the last step raises the current >= 20 % beyond the maximal response."""

    def test_textbook_step_at_20pct_is_a_plateau(self):
        assert PLATEAU_STEP_MIN_PCT == 20.0
        assert _series_evidence(24.0, 20.0, 8.0, 8.0) == ("plateau", False)

    def test_textbook_step_just_below_20pct_is_no_plateau(self):
        assert _series_evidence(23.99, 20.0, 8.0, 8.0) == ("no plateau", True)

    def test_textbook_step_just_above_20pct_is_a_plateau(self):
        assert _series_evidence(24.01, 20.0, 8.0, 8.0) == ("plateau", False)


class TestPlateauAmplitudeChange:
    """Project choice: the amplitude changes by at most 5 % (either way) at the last step."""

    def test_amplitude_change_at_5pct_is_a_plateau(self):
        assert PLATEAU_CHANGE_MAX_PCT == 5.0
        assert _series_evidence(30.0, 20.0, 8.4, 8.0) == ("plateau", False)
        assert _series_evidence(30.0, 20.0, 7.6, 8.0) == ("plateau", False)

    def test_amplitude_change_just_above_5pct_is_no_plateau(self):
        assert _series_evidence(30.0, 20.0, 8.401, 8.0) == ("no plateau", True)
        assert _series_evidence(30.0, 20.0, 7.599, 8.0) == ("no plateau", True)

    def test_amplitude_change_just_below_5pct_is_a_plateau(self):
        assert _series_evidence(30.0, 20.0, 8.399, 8.0) == ("plateau", False)

    def test_one_step_or_no_response_is_no_plateau(self):
        assert _series_evidence(30.0, np.nan, 8.0, np.nan, steps=1) == ("no plateau", True)
        assert _series_evidence(30.0, 20.0, 0.0, 0.0) == ("no plateau", True)
        assert _series_evidence(30.0, 20.0, 3.0, 0.0) == ("no plateau", True)


class TestSingleIntensity:
    """One intensity per site (a machine export, the archive's ``stimulus_intensity_ma``)."""

    def _sites(self, distal_ma, proximal_ma):
        r = analyze_values("median", [Site("wrist", 70, distal_ma), Site("elbow", 230, proximal_ma)],
                           [3.5, 7.5], [6.1, 2.9], negative_peak_area_mv_ms=[20.0, 7.6],
                           negative_peak_duration_ms=[5.0, 5.4])
        return r

    def test_proximal_below_distal_intensity_is_flagged(self):
        r = self._sites(25.0, 24.9)
        assert r.sites[1].supramaximal == "below distal"
        assert r.sites[1].flags & MeasureFlag.SUBMAXIMAL_POSSIBLE
        assert r.segments[0].flags[0].startswith(SUBMAXIMAL_TEXT)
        assert "24.9 mA, below the distal site's 25 mA" in r.segments[0].flags[0]

    def test_proximal_single_intensity_at_or_above_distal_is_flagged(self):
        """One intensity is no evidence of a plateau (issue #18: a proximal site without
        evidence of supramaximal stimulation gets a flag), whatever the distal intensity."""
        for proximal in (25.0, 25.1, 60.0):
            r = self._sites(25.0, proximal)
            assert r.sites[1].supramaximal == "single intensity"
            assert r.sites[1].flags & MeasureFlag.SUBMAXIMAL_POSSIBLE
            assert r.sites[1].supramaximal_note == (f"one intensity recorded ({proximal:g} mA): a "
                                                   "plateau cannot be shown")
            assert r.segments[0].flags == (f"{SUBMAXIMAL_TEXT} (elbow: {r.sites[1].supramaximal_note})",)

    def test_distal_single_intensity_is_its_own_note_and_not_flagged(self):
        r = self._sites(25.0, None)
        assert r.sites[0].supramaximal == "single intensity"
        assert r.sites[0].supramaximal_note == "one intensity recorded (25 mA) at the distal site"
        assert r.sites[0].flags == 0 and r.segments[0].flags == () and r.flags == ()
        assert r.sites[1].supramaximal == "not recorded"

    def test_unknown_distal_intensity_is_not_called_lower(self):
        r = self._sites(None, 5.0)
        assert r.sites[1].supramaximal == "single intensity"
        assert r.sites[1].supramaximal_note == "one intensity recorded (5 mA): a plateau cannot be shown"
        assert "distal site's" not in r.sites[1].supramaximal_note

    def test_nothing_recorded_changes_nothing(self):
        plain = self._sites(None, None)
        assert [s.supramaximal for s in plain.sites] == ["not recorded"] * 2
        assert [s.supramaximal_note for s in plain.sites] == [None, None]
        assert [s.flags for s in plain.sites] == [0, 0] and plain.segments[0].flags == ()
        distal_only = self._sites(25.0, None)
        for rs in RULE_SETS:
            assert ([v.reasons for v in evaluate(plain, rs)] == [v.reasons for v in evaluate(distal_only, rs)])


class TestIntensityRange:
    """``RANGES["stimulus_intensity_ma"]``, (0, 1000] mA: 0 mA is no stimulus; one rule for a
    site's intensity (studies, the values path) and for a series' steps."""

    def _values(self, proximal_ma):
        return analyze_values("median", [Site("wrist", 70, 25.0), Site("elbow", 230, proximal_ma)],
                              [3.5, 7.5], [6.1, 2.9])

    @pytest.mark.parametrize("bad", [0.0, -0.001, -5.0, 1000.001, float("inf"), float("nan"), "abc"])
    def test_values_path_refuses_a_bad_intensity(self, bad):
        with pytest.raises(InvalidStudyError, match=r"site 1 \('elbow'\) stimulus_intensity_ma must be "
                                                    r"None or a finite number in \(0, 1000\] mA"):
            self._values(bad)

    @pytest.mark.parametrize("good", [0.001, 1000.0])
    def test_values_path_takes_the_range_ends(self, good):
        assert self._values(good).sites[1].supramaximal in ("below distal", "single intensity")

    def test_study_and_series_refuse_zero_with_the_same_range(self):
        traces = np.zeros((2, 100))
        with pytest.raises(InvalidStudyError) as info:
            NerveStudy("median", "right", "APB", [Site("wrist", 70, 0.0), Site("elbow", 200, 1000.5)], traces,
                       20000.0, stimulation_series={1: StimulationSeries([0.0, 10.0], np.zeros((2, 100)))})
        text = "; ".join(info.value.problems)
        assert "site 0 ('wrist') stimulus_intensity_ma must be None or a finite number in (0, 1000] mA, got 0.0" in text
        assert "site 1 ('elbow') stimulus_intensity_ma must be None or a finite number in (0, 1000] mA" in text
        assert "stimulation_series[1].intensities_ma[0] must be a finite number in (0, 1000] mA, got 0.0" in text


# ------------------------------------------------------------------ every rule set shows it
@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_conduction_block_verdict_shows_the_warning(rule_set):
    """A drop to a proximal site stimulated below the distal intensity: every rule set grading
    the wrist-elbow segment says a false block is likely; the same nerve without the flag
    gets the same level without the sentence."""
    def nerve(proximal_ma):
        return analyze_values("median", [Site("wrist", 70, 25.0), Site("elbow", 230, proximal_ma)],
                              [3.5, 7.5], [6.1, 2.4], negative_peak_area_mv_ms=[20.0, 7.6],
                              negative_peak_duration_ms=[5.0, 5.3], peak_to_peak_amplitude_mv=[9.0, 3.6])

    flagged, clean = evaluate(nerve(15.0), rule_set)[0], evaluate(nerve(None), rule_set)[0]
    assert flagged.level == clean.level and flagged.level not in ("none", "not-assessable", "not-met")
    warning = [r for r in flagged.reasons if SUBMAXIMAL_TEXT in r]
    assert len(warning) == 1 and "elbow: stimulated at 15 mA" in warning[0]
    assert not any(SUBMAXIMAL_TEXT in r for r in clean.reasons)
    assert [r for r in flagged.reasons if SUBMAXIMAL_TEXT not in r] == list(clean.reasons)


def test_absent_proximal_response_is_warned_too():
    """An absent proximal response (complete block, axon loss or submaximal stimulation) at a
    site stimulated below the distal intensity: the verdict says a false block is likely; an
    absent distal response (nothing compared) does not."""
    sites = [Site("wrist", 70, 25.0), Site("elbow", 230, 15.0)]
    r = analyze_values("median", sites, [3.5, None], [6.1, None])
    for rs in RULE_SETS:
        reasons = evaluate(r, rs)[0].reasons
        assert any("proximal response absent" in x for x in reasons)
        assert sum(SUBMAXIMAL_TEXT in x for x in reasons) == 1
    distal_absent = analyze_values("median", sites, [None, 7.5], [None, 2.9])
    assert distal_absent.segments[0].flags  # the flag is there; the verdict has nothing to warn
    assert not any(SUBMAXIMAL_TEXT in x for x in evaluate(distal_absent, "efns-pns-2010-mmn")[0].reasons)


def test_the_batch_path_words_the_same_warning():
    a = analyze_values("ulnar", [Site("wrist", 70, 30.0), Site("below elbow", 200, 20.0)], [3.0, 7.0],
                       [8.0, 3.5], negative_peak_area_mv_ms=[24.0, 9.0], negative_peak_duration_ms=[5.0, 5.1])
    b = analyze_values("ulnar", [Site("wrist", 70, 30.0), Site("below elbow", 200, None)], [3.0, 7.0],
                       [8.0, 3.5], negative_peak_area_mv_ms=[24.0, 9.0], negative_peak_duration_ms=[5.0, 5.1])
    many = evaluate_many([a, b], "efns-pns-2010-mmn")
    assert many == [evaluate(a, "efns-pns-2010-mmn"), evaluate(b, "efns-pns-2010-mmn")]
    assert any(SUBMAXIMAL_TEXT in r for r in many[0][0].reasons)
    assert not any(SUBMAXIMAL_TEXT in r for r in many[1][0].reasons)


def test_only_the_compared_proximal_site_counts():
    """A CIDP comparison from the distal site to the axilla is not warned about the elbow; the
    elbow-axilla segment, whose distal site is the flagged elbow, carries a note instead."""
    r = analyze_values("median", [Site("wrist", 70, 25.0), Site("elbow", 230, 15.0), Site("axilla", 100, None)],
                       [3.5, 7.5, 9.5], [6.1, 2.9, 2.8], negative_peak_area_mv_ms=[20.0, 7.6, 7.5],
                       negative_peak_duration_ms=[5.0, 5.4, 5.5])
    table = r.table.segment["flags"]
    assert [len(f) for f in table.tolist()] == [1, 1] and table[0][0].startswith(SUBMAXIMAL_TEXT)
    assert table[1][0].startswith(DISTAL_SUBMAXIMAL_TEXT) and "(elbow: stimulated at 15 mA" in table[1][0]
    assert r.sites[2].supramaximal == "not recorded"
    first, second = evaluate(r, "efns-pns-2010-cidp")
    assert any(SUBMAXIMAL_TEXT in x for x in first.reasons)
    assert not any(SUBMAXIMAL_TEXT in x for x in second.reasons)


def test_patient_verdict_carries_the_warning():
    """The patient-level verdict (what a clinician reads) says a false block is likely when the
    nerve's block rests on a warned segment; the same nerve without the flag does not."""
    def nerve(proximal_ma):
        return analyze_values("median", [Site("wrist", 70, 25.0), Site("elbow", 230, proximal_ma)],
                              [3.5, 7.5], [6.1, 2.4], side="right", negative_peak_area_mv_ms=[20.0, 7.6],
                              negative_peak_duration_ms=[5.0, 5.3], peak_to_peak_amplitude_mv=[9.0, 3.6])

    flagged = evaluate_patient([nerve(15.0)], "efns-pns-2010-mmn")
    clean = evaluate_patient([nerve(None)], "efns-pns-2010-mmn")
    assert flagged.level == clean.level == "definite"
    assert f"definite CB in at least 1 nerve: met in right median [{SUBMAXIMAL_TEXT}]" in " | ".join(flagged.reasons)
    item = [x for x in flagged.reasons if x.startswith("EFNS/PNS 2010 MMN definite CB: met in")]
    assert item and "wrist\u2013elbow (definite) [" + SUBMAXIMAL_TEXT + " (elbow: stimulated at 15 mA" in item[0]
    assert not any(SUBMAXIMAL_TEXT in x for x in clean.reasons)


def test_distal_site_without_evidence_notes_the_segment_and_flags_the_nerve():
    """A distal series short of the plateau: the distal CMAP may be submaximal (its amplitude
    against the LLN, and every drop from it, doubtful): a segment note and a nerve flag."""
    sim = simulate_nerve((70.0, 230.0), seed=26, intensity_series={0: (8.0, 10.0, 12.0)}, threshold_ma=12.0)
    assert not sim.stimulation_series[0].maximal[-1]
    r = analyze_nerves(sim.to_studies())[0]
    assert r.sites[0].supramaximal == "no plateau" and r.sites[0].flags & MeasureFlag.SUBMAXIMAL_POSSIBLE
    assert len(r.segments[0].flags) == 1 and r.segments[0].flags[0].startswith(DISTAL_SUBMAXIMAL_TEXT + " (wrist: no plateau")
    assert any(f.startswith("distal site wrist: submaximal stimulation possible (no plateau") for f in r.flags)
    verdict = evaluate(r, "efns-pns-2010-mmn")[0]
    assert not any(SUBMAXIMAL_TEXT in x for x in verdict.reasons)  # a note, not the false-block warning
    plain = analyze_nerves(simulate_nerve((70.0, 230.0), seed=26).to_studies())[0]
    assert plain.segments[0].flags == () and not any("distal site" in f for f in plain.flags)


# ------------------------------------------------------------------ from waveforms
class TestFromSimulatedSeries:
    def test_series_amplitudes_match_the_noiseless_truth(self):
        """The series' CMAPs are measured with measure_cmap: amplitudes within 2 % (+-0.05 mV)
        of the noiseless truth (10 uV RMS noise)."""
        from nerveconduct.analysis._stimulation import series_inputs

        sim = simulate_nerve((70.0, 230.0), seed=21, intensity_series={1: (10.0, 13.0, 19.0, 23.0)},
                             threshold_ma=12.0)
        cols = series_inputs(sim.to_studies())
        truth = sim.stimulation_series[1].negative_peak_amplitude_mv
        assert cols["series_steps"].tolist() == [0, 4]
        np.testing.assert_allclose([cols["series_previous_mv"][1], cols["series_last_mv"][1]], truth[-2:],
                                   rtol=0.02, atol=0.05)

    def test_plateau_reached_is_not_flagged(self):
        sim = simulate_nerve((70.0, 230.0), seed=22, intensity_series={1: (12.0, 16.0, 19.0, 23.0)},
                             threshold_ma=12.0)
        series = sim.stimulation_series[1]
        assert series.maximal[-2:].all() and series.plateau_from_ma < 19.0
        r = analyze_nerves(sim.to_studies())[0]
        assert r.sites[1].supramaximal == "plateau" and r.segments[0].flags == ()

    def test_stopped_short_of_the_plateau_gives_a_warned_false_block(self):
        """Truth: no unit is blocked; the elbow CMAP is submaximal (the last step recruits
        units): the analysis flags it and the MMN verdict carries the warning."""
        sim = simulate_nerve((70.0, 230.0), seed=23, intensity_series={1: (8.0, 10.0, 12.0)},
                             threshold_ma=12.0)
        series = sim.stimulation_series[1]
        assert not series.maximal[-1] and series.n_units_recruited[-1] < 150
        r = analyze_nerves(sim.to_studies())[0]
        assert r.sites[1].supramaximal == "no plateau"
        assert r.sites[1].flags & MeasureFlag.SUBMAXIMAL_POSSIBLE
        verdict = evaluate(r, "efns-pns-2010-mmn")[0]
        assert any(SUBMAXIMAL_TEXT in x and "elbow: no plateau" in x for x in verdict.reasons)

    def test_distal_series_short_of_plateau_leaves_the_proximal_truth(self):
        """``distal_amplitude_mv`` is the supramaximal distal response: a distal series that
        stops short makes the distal CMAP smaller and leaves the proximal site's noiseless
        truth as without a series (same seed: 1e-9 relative)."""
        plain = simulate_nerve((70.0, 230.0), seed=3)
        short = simulate_nerve((70.0, 230.0), seed=3, intensity_series={0: (8.0, 10.0, 12.0)}, threshold_ma=12.0)
        full = simulate_nerve((70.0, 230.0), seed=3, intensity_series={0: (8.0, 12.0, 30.0)}, threshold_ma=12.0)
        amp = lambda s: s.truth.negative_peak_amplitude_mv  # noqa: E731
        np.testing.assert_allclose(amp(short)[1], amp(plain)[1], rtol=1e-9)
        np.testing.assert_allclose(amp(full), amp(plain), rtol=1e-9)
        assert amp(short)[0] < 0.7 * amp(plain)[0]
        np.testing.assert_allclose(short.stimulation_series[0].negative_peak_amplitude_mv[-1], amp(short)[0],
                                   rtol=1e-9)

    def test_site_trace_is_the_last_step(self):
        sim = simulate_nerve((70.0, 230.0), seed=24, intensity_series={1: (9.0, 12.0)}, n_nerves=2)
        np.testing.assert_array_equal(sim.stimulation_series[1].noiseless[:, -1], sim.noiseless[:, 1])
        np.testing.assert_allclose(sim.stimulation_series[1].negative_peak_amplitude_mv[:, -1],
                                   sim.truth.negative_peak_amplitude_mv[:, 1])

    def test_without_series_the_simulation_is_unchanged(self):
        a = simulate_nerve((70.0, 200.0), seed=5)
        b = simulate_nerve((70.0, 200.0), seed=5, threshold_ma=30.0)
        np.testing.assert_array_equal(a.traces, b.traces)
        assert a.stimulation_series == {} and a.to_studies()[0].stimulation_series == {}

    def test_simulator_refuses_bad_series(self):
        with pytest.raises(ValueError, match="intensity_series\\[1\\] must be strictly increasing"):
            simulate_nerve((70.0, 200.0), intensity_series={1: (12.0, 10.0)})
        with pytest.raises(ValueError, match="site indices in 0..1"):
            simulate_nerve((70.0, 200.0), intensity_series={2: (10.0,)})
        with pytest.raises(ValueError, match="threshold_ma"):
            simulate_nerve((70.0, 200.0), intensity_series={1: (10.0,)}, threshold_ma=-1)


# ------------------------------------------------------------------ the validity rule
def test_study_refuses_every_bad_series_at_once():
    traces = np.zeros((2, 100))
    sites = [Site("wrist", 70), Site("elbow", 200)]
    bad = {0: StimulationSeries([3.0, 2.0], np.zeros((3, 100))), "knee": StimulationSeries([1.0], np.zeros((1, 100))),
           1: StimulationSeries([0.0, 2000.0], np.zeros((2, 100)))}
    with pytest.raises(InvalidStudyError) as info:
        NerveStudy("median", "right", "APB", sites, traces, 20000.0, stimulation_series=bad)
    text = "; ".join(info.value.problems)
    assert "must increase strictly" in text and "one trace per intensity" in text
    assert "'knee' matches 0" in text and "in (0, 1000] mA" in text
    with pytest.raises(InvalidStudyError, match="stimulus_sample 50 is outside"):
        NerveStudy("median", "right", "APB", sites, traces, 20000.0, stimulus_sample=50,
                   stimulation_series={"Elbow": StimulationSeries([10.0], np.zeros((1, 40)))})
    ok = NerveStudy("median", "right", "APB", sites, traces, 20000.0,
                    stimulation_series={"Elbow": StimulationSeries([10, 20], np.zeros((2, 100), dtype=int))})
    assert list(ok.stimulation_series) == [1]
    assert ok.stimulation_series[1].intensities_ma == (10.0, 20.0)
    assert ok.stimulation_series[1].traces.dtype == np.float64


def test_series_rows_follow_their_studies():
    """Several studies with series: each series lands on its own study's site rows."""
    short = simulate_nerve((70.0, 230.0), seed=23, intensity_series={1: (8.0, 10.0, 12.0)}, threshold_ma=12.0)
    ok = simulate_nerve((70.0, 230.0), seed=22, intensity_series={1: (12.0, 16.0, 19.0, 23.0)}, threshold_ma=12.0)
    plain = simulate_nerve((70.0, 200.0, 150.0), seed=5).to_studies()[0]
    r = analyze_nerves([plain, ok.to_studies()[0], short.to_studies()[0]])
    assert [s.supramaximal for s in r[0].sites] == ["not recorded"] * 3
    assert [s.supramaximal for s in r[1].sites] == ["not recorded", "plateau"]
    assert [s.supramaximal for s in r[2].sites] == ["not recorded", "no plateau"]


def test_a_series_on_a_site_removed_after_the_study_was_built_is_refused():
    """A study's sites are mutable: a series left on a removed site must not land on the next
    study's row (it did: nerve B's wrist read "no plateau")."""
    sim = simulate_nerve((70.0, 200.0, 150.0), seed=27, intensity_series={2: (8.0, 10.0)}, threshold_ma=12.0)
    a = sim.to_studies()[0]
    b = simulate_nerve((70.0, 230.0), seed=28).to_studies()[0]
    a.sites, a.traces = a.sites[:2], a.traces[:2]
    with pytest.raises(InvalidStudyError, match=r"site index 2 is outside the study's 2 sites"):
        analyze_nerves([a, b])


def test_archive_intensities_are_checked_too(tmp_path):
    """The archive keeps one intensity per site: the chunk path flags a proximal site
    stimulated below the distal one, as the study path does."""
    from nerveconduct.analysis import analyze_table
    from nerveconduct.analysis.sources import table_from_chunk
    from nerveconduct.io.archive import open_archive, write_archive
    from nerveconduct.limits import NormalLimits

    sim = simulate_nerve((70.0, 230.0), seed=25, block={1: 0.6})
    st = sim.to_studies()[0]
    st.sites = (Site("wrist", 70.0, 30.0), Site("elbow", 230.0, 20.0))
    with open_archive(write_archive(tmp_path / "a.h5", [st])) as archive:
        (chunk,) = archive.iter_chunks()
        table = table_from_chunk(chunk, NormalLimits.default())
    assert table.site["supramaximal"].tolist() == ["single intensity", "below distal"]
    direct = analyze_table([st])
    assert table.site["supramaximal_note"].tolist() == direct.site["supramaximal_note"].tolist()
    assert table.segment["flags"].tolist() == direct.segment["flags"].tolist()


class _Records(list):
    """Records of the library logger, caught by a handler of its own (the CLI tests may have
    stopped its propagation to the root logger, where pytest's caplog listens)."""

    def __enter__(self):
        import logging

        self.handler = logging.Handler(logging.WARNING)
        self.handler.emit = self.append
        logging.getLogger("nerveconduct").addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        import logging

        logging.getLogger("nerveconduct").removeHandler(self.handler)


def test_series_lost_by_a_writer_is_a_named_warning():
    """A writer of a format without intensity series says they would be lost (by position and
    nerve, never an identifier); studies without series say nothing."""
    from nerveconduct.model.motor import warn_series_lost

    sim = simulate_nerve((70.0, 230.0), seed=29, intensity_series={1: (8.0, 10.0)}, threshold_ma=12.0)
    st = sim.to_studies()[0]
    st.study_id = "PATIENT-SECRET"
    plain = simulate_nerve((70.0, 230.0), seed=30).to_studies()[0]
    with _Records() as records:
        assert warn_series_lost([plain], "a trace CSV export") == 0
        assert records == []
        assert warn_series_lost([plain, st], "a trace CSV export") == 1
    (rec,) = records
    assert rec.name == "nerveconduct" and rec.levelname == "WARNING"
    assert rec.getMessage().startswith("stimulation series are not stored in a trace CSV export; they "
                                       "would be lost")
    assert "studies[1] (median: site(s) elbow)" in rec.getMessage() and "SECRET" not in rec.getMessage()


@pytest.mark.parametrize("fmt", ["csv", "nk", "natus"])
def test_writers_warn_that_series_would_be_lost(tmp_path, fmt):
    """The text writers store a series as more traces of its site (one trace length per item):
    a series whose traces are longer than the study's cannot be stored, and they say so (the
    archive, EDF+D and BIDS store any series: tests/test_io_stimulation_series.py)."""
    from nerveconduct.io.natus_write import write_natus_text
    from nerveconduct.io.nihon_kohden_write import write_nihon_kohden_txt
    from nerveconduct.io.vendor_write import write_trace_csv
    from nerveconduct.model import StimulationSeries

    st = simulate_nerve((70.0, 230.0), seed=31, intensity_series={1: (8.0, 10.0)}, threshold_ma=12.0).to_studies()[0]
    s = st.stimulation_series[1]
    st.stimulation_series[1] = StimulationSeries(s.intensities_ma, np.pad(s.traces, ((0, 0), (0, 4))))
    with _Records() as records:
        if fmt == "csv":
            write_trace_csv(tmp_path / "a.csv", [st])
        elif fmt == "nk":
            write_nihon_kohden_txt(tmp_path / "a.txt", [st])
        else:
            write_natus_text([st], tmp_path / "a.txt")
    assert any("stimulation series are not stored in" in r.getMessage() and "would be lost" in r.getMessage()
               for r in records)
