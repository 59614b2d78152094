"""F-wave trains in the analysis core: the nerve's F latency from the traces, and F limits.

A simulated train (:func:`nerveconduct.simulate.fwave.simulate_f_waves`, 20 stimuli, 10 uV
RMS noise) attached to a simulated median study: over the 60 trains of the 10 uV condition of
``tests/test_measure_fwave.py`` (same seed) the nerve's F latency must be exactly
:func:`~nerveconduct.measure.fwave.measure_f_waves`' minimal latency, and its error against
the simulator's noiseless truth within that test's tolerances for the minimal latency
(median 0.10 ms, p95 0.40 ms; achieved 0.05 / 0.13 ms) and persistence (median 5 %,
p95 10 %).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.analysis.sources import F_WAVE_AGREE_MS
from nerveconduct.limits import LimitRow, NormalLimits
from nerveconduct.measure.fwave import measure_f_waves
from nerveconduct.model import InvalidStudyError, NerveStudy
from nerveconduct.simulate.fwave import simulate_f_waves

_BASE = nc.simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]


def _study(train=None, **kw) -> NerveStudy:
    extra = {}
    if train is not None:
        extra = dict(f_wave_traces=train.traces, f_wave_sampling_rate_hz=train.sampling_rate_hz,
                     f_wave_stimulus_sample=train.stimulus_sample)
    return NerveStudy(_BASE.nerve, _BASE.side, _BASE.muscle, _BASE.sites, _BASE.traces,
                      _BASE.sampling_rate_hz, stimulus_sample=_BASE.stimulus_sample, **extra, **kw)


def _flags_about_f(result) -> list[str]:
    return [f for f in result.flags if "F-wave" in f]


def test_latency_from_traces_equals_measure_and_truth():
    sim = simulate_f_waves(n_trains=60, noise_uv_rms=10.0, seed=40)  # as test_measure_fwave
    results = nc.analyze_nerves([
        _study(f_wave_traces=train, f_wave_sampling_rate_hz=sim.sampling_rate_hz,
               f_wave_stimulus_sample=sim.stimulus_sample) for train in sim.traces])
    m = measure_f_waves(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    latency = np.array([r.f_wave_latency_ms for r in results])
    assert [r.f_wave_latency_source for r in results] == ["traces"] * 60
    np.testing.assert_array_equal(latency, m.minimal_latency_ms)  # exactly the measure's
    np.testing.assert_array_equal([r.f_wave_mean_latency_ms for r in results], m.mean_latency_ms)
    np.testing.assert_array_equal([r.f_wave_chronodispersion_ms for r in results],
                                  m.chronodispersion_ms)
    err = np.abs(latency - sim.truth.minimal_latency_ms)
    assert np.median(err) <= 0.10 and np.percentile(err, 95) <= 0.40, err
    persistence = np.array([r.f_wave_persistence_pct for r in results])
    p_err = np.abs(persistence - sim.truth.persistence_pct)
    assert np.median(p_err) <= 5.0 and np.percentile(p_err, 95) <= 10.0, p_err
    assert [r.limits["f_wave_latency"].value for r in results] == latency.tolist()
    assert all(_flags_about_f(r) == [] for r in results)  # no sheet value: nothing to compare


def test_many_nerves_measured_together_equal_one_by_one():
    trains = [simulate_f_waves(noise_uv_rms=10.0, seed=s) for s in (6, 7)]
    studies = [_study(trains[0]), _study(), _study(trains[1], f_wave_latency_ms=25.0)]
    together = nc.analyze_nerves(studies)
    alone = [nc.analyze_nerve(s) for s in studies]
    for a, b in zip(together, alone):
        assert (a.f_wave_latency_ms, a.f_wave_latency_source) == (b.f_wave_latency_ms,
                                                                  b.f_wave_latency_source)
    assert [r.f_wave_latency_source for r in together] == ["traces", None, "traces"]


def test_traces_win_over_sheet_and_the_flag_says_by_how_much():
    train = simulate_f_waves(noise_uv_rms=10.0, seed=3)
    measured = nc.analyze_nerve(_study(train)).f_wave_latency_ms
    differ = nc.analyze_nerve(_study(train, f_wave_latency_ms=measured + 1.5))
    assert differ.f_wave_latency_ms == measured and differ.f_wave_latency_source == "traces"
    (flag,) = _flags_about_f(differ)
    assert "they differ" in flag and "-1.50 ms" in flag
    agree = nc.analyze_nerve(_study(train, f_wave_latency_ms=measured + F_WAVE_AGREE_MS / 2))
    (flag,) = _flags_about_f(agree)
    assert "they agree" in flag
    just_out = nc.analyze_nerve(_study(train, f_wave_latency_ms=measured + 2 * F_WAVE_AGREE_MS))
    assert "they differ" in _flags_about_f(just_out)[0]
    absent_sheet = nc.analyze_nerve(_study(train, f_wave_latency_ms=math.nan))
    assert absent_sheet.f_wave_latency_ms == measured
    assert "one says absent" in _flags_about_f(absent_sheet)[0]


def test_sheet_only_keeps_working_and_says_so():
    r = nc.analyze_nerve(_study(f_wave_latency_ms=28.0))
    assert (r.f_wave_latency_ms, r.f_wave_latency_source) == (28.0, "sheet")
    assert r.f_wave_persistence_pct is None and _flags_about_f(r) == []


def test_absent_versus_not_studied():
    none = simulate_f_waves(noise_uv_rms=10.0, backfiring_units_mean=0.0, seed=8)
    absent = nc.analyze_nerve(_study(none))
    assert absent.f_wave_latency_source == "traces"
    assert math.isnan(absent.f_wave_latency_ms) and absent.f_wave_persistence_pct == 0.0
    assert absent.table.nerve["f_wave_studied"][0]
    not_studied = nc.analyze_nerve(_study())
    assert not_studied.f_wave_latency_ms is None and not_studied.f_wave_latency_source is None
    assert not not_studied.table.nerve["f_wave_studied"][0]


def test_unmeasurable_train_falls_back_to_the_sheet_with_a_flag():
    train = simulate_f_waves(noise_uv_rms=10.0, seed=3)
    broken = np.full_like(train.traces, np.nan)
    r = nc.analyze_nerve(_study(f_wave_latency_ms=27.0, f_wave_traces=broken,
                                f_wave_sampling_rate_hz=train.sampling_rate_hz))
    assert (r.f_wave_latency_ms, r.f_wave_latency_source) == (27.0, "sheet")
    assert "could not be measured" in _flags_about_f(r)[0]


@pytest.mark.parametrize("kw, text", [
    (dict(f_wave_traces=np.zeros(10), f_wave_sampling_rate_hz=20000.0), "shape (n_stimuli"),
    (dict(f_wave_traces=np.zeros((5, 100))), "f_wave_sampling_rate_hz is required"),
    (dict(f_wave_sampling_rate_hz=20000.0), "without f_wave_traces"),
    (dict(f_wave_traces=np.zeros((5, 100)), f_wave_sampling_rate_hz=20000.0,
          f_wave_stimulus_sample=100), "f_wave_stimulus_sample"),
])
def test_bad_train_is_refused_by_the_study_rule(kw, text):
    with pytest.raises(InvalidStudyError, match="f_wave") as info:
        _study(**kw)
    assert text in str(info.value)


# height-adjusted ULN: 2 ms + 0.17 ms/cm x height (a lab's formula; the default has none)
_ROW = LimitRow("median", "APB", 4.0, 4.4, 49.0, 31.0, 70.0, f_wave_uln_intercept_ms=2.0,
                f_wave_uln_slope_ms_per_cm=0.17)
_LAB = NormalLimits([_ROW], name="lab", citation="test")


@pytest.mark.parametrize("offset_ms, abnormal", [(-0.1, False), (0.0, False), (0.1, True)])
def test_height_adjusted_limit_at_and_around(offset_ms, abnormal):
    uln = 2.0 + 0.17 * 180.0  # 32.6 ms at 180 cm (the fixed 31 ms would call 32.5 abnormal)
    value = uln + offset_ms
    r = nc.analyze_values("median", [nc.Site("wrist", 70)], onset_latency_ms=[3.5],
                          negative_peak_amplitude_mv=[8.0], f_wave_latency_ms=value,
                          height_cm=180.0, limits=_LAB)
    comp = r.limits["f_wave_latency"]
    assert comp.limit == pytest.approx(uln)
    assert comp.abnormal is abnormal
    assert comp.reason.startswith("height-adjusted ULN") and "180 cm" in comp.reason


def test_fixed_limit_without_height_or_formula():
    r = nc.analyze_values("median", [nc.Site("wrist", 70)], onset_latency_ms=[3.5],
                          negative_peak_amplitude_mv=[8.0], f_wave_latency_ms=31.5, limits=_LAB)
    comp = r.limits["f_wave_latency"]
    assert comp.limit == 31.0 and comp.abnormal is True
    assert comp.reason == "fixed ULN 31 ms: height not given (the height-adjusted ULN needs it)"
    d = nc.analyze_values("median", [nc.Site("wrist", 70)], onset_latency_ms=[3.5],
                          negative_peak_amplitude_mv=[8.0], f_wave_latency_ms=30.9, height_cm=180.0)
    comp = d.limits["f_wave_latency"]
    assert comp.limit == 31.0 and comp.abnormal is False
    assert "no height-adjusted ULN" in comp.reason


def test_formula_needs_both_coefficients():
    with pytest.raises(ValueError, match="go together"):
        LimitRow("median", f_wave_uln_slope_ms_per_cm=0.17)


def test_lab_file_carries_the_formula(tmp_path):
    path = tmp_path / "lab.csv"
    path.write_text("nerve,muscle,f_wave_uln_ms,f_wave_uln_intercept_ms,f_wave_uln_slope_ms_per_cm\n"
                    "ulnar,ADM,32,-2.0,0.2\n", encoding="utf-8")
    row = NormalLimits.from_file(path).lookup("ulnar", "ADM")
    assert row.f_wave_uln(150.0)[0] == pytest.approx(28.0)
    assert row.f_wave_uln(float("nan")) == (32.0, "fixed ULN 32 ms: height not given (the "
                                                  "height-adjusted ULN needs it)")
    path.write_text("nerve,f_wave_uln_intercept_ms\nulnar,-2.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="go together"):
        NormalLimits.from_file(path)


def test_ean_pns_2021_item_d_short_train_is_neither_absent_nor_a_latency():
    """A train of fewer than MIN_STIMULI_ASSESSABLE stimuli without F-waves must not make the
    nerve "F-waves absent" (EAN/PNS 2021 item d) nor give it a latency: the nerve's F-wave is
    not studied (or the sheet's value is used) and a flag says why."""
    from nerveconduct.measure.fwave import MIN_STIMULI_ASSESSABLE

    for n in (1, 2, MIN_STIMULI_ASSESSABLE - 1):
        short = simulate_f_waves(n_stimuli=n, noise_uv_rms=10.0, backfiring_units_mean=0.0, seed=9)
        r = nc.analyze_nerve(_study(short))
        assert r.f_wave_latency_ms is None and r.f_wave_latency_source is None
        assert not r.table.nerve["f_wave_studied"][0]
        assert r.f_wave_persistence_pct is None
        assert len(_flags_about_f(r)) == 1
        with_sheet = nc.analyze_nerve(_study(short, f_wave_latency_ms=29.0))
        assert (with_sheet.f_wave_latency_ms, with_sheet.f_wave_latency_source) == (29.0, "sheet")
    enough = simulate_f_waves(n_stimuli=MIN_STIMULI_ASSESSABLE, noise_uv_rms=10.0,
                              backfiring_units_mean=0.0, seed=9)
    r = nc.analyze_nerve(_study(enough))
    assert math.isnan(r.f_wave_latency_ms) and r.table.nerve["f_wave_studied"][0]
