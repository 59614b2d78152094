"""F-waves are "absent" only from a train that could show them.

A train without an M-wave (flat, or noise only: no stimulus evoked a motor response) cannot
show F-waves: :func:`~nerveconduct.measure.fwave.measure_f_waves` flags it NO_M_WAVE, not
assessable, never absent. A train whose search window ends before the nerve's F-wave ULN
cannot show a late F-wave: the analysis core (which knows the nerve and its limits) makes
its absence not assessable (persistence NaN, a nerve flag), and the criteria items that use
F-waves (EAN/PNS 2021 item d, EFNS/PNS 2010 I-D) see "unknown", not "met". A genuine absence
(M-wave present, window long enough, no F-wave) stays "absent".

Trains from :func:`nerveconduct.simulate.fwave.simulate_f_waves` (20 stimuli at 20 kHz, 5 ms
before the stimulus); the median nerve from :func:`nerveconduct.simulate_nerve`; default
limits: median F ULN 31 ms, tibial 56 ms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nerveconduct as nc
from nerveconduct.criteria import evaluate_nerve
from nerveconduct.flags import MeasureFlag
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.analysis import table_from_chunk
from nerveconduct.limits import LimitRow, NormalLimits
from nerveconduct.measure.fwave import NO_M_WAVE, SMOOTH_HALF_MS, measure_f_waves
from nerveconduct.model import NerveStudy
from nerveconduct.simulate.fwave import simulate_f_waves

FS_HZ = 20000.0
PER_MS = FS_HZ / 1000.0
MEDIAN_F_ULN_MS = 31.0  # default limits (Preston & Shapiro)
TIBIAL_F_ULN_MS = 56.0
NOT_ASSESSABLE = "absence not assessable"

_MEDIAN = nc.simulate_nerve((70.0, 230.0), site_names=("wrist", "elbow"), seed=1).to_studies()[0]
_TRAIN = simulate_f_waves(n_stimuli=20, seed=2, sampling_rate_hz=FS_HZ)  # the reviewer's
_NONE = simulate_f_waves(n_stimuli=20, seed=2, sampling_rate_hz=FS_HZ, backfiring_units_mean=0.0)
_STIM = _TRAIN.stimulus_sample


def _cut(traces: np.ndarray, after_ms: float) -> np.ndarray:
    """The train's sweeps cut to end ``after_ms`` after the stimulus."""
    return np.ascontiguousarray(traces[..., : _STIM + int(round(after_ms * PER_MS))])


def _noise(shape: tuple[int, ...], uv_rms: float = 10.0) -> np.ndarray:
    return np.random.default_rng(5).normal(0.0, uv_rms / 1000.0, shape)


def _study(traces: np.ndarray, *, base: NerveStudy = _MEDIAN, **kw) -> NerveStudy:
    return NerveStudy(base.nerve, base.side, base.muscle, base.sites, base.traces,
                      base.sampling_rate_hz, stimulus_sample=base.stimulus_sample,
                      f_wave_traces=traces, f_wave_sampling_rate_hz=FS_HZ,
                      f_wave_stimulus_sample=_STIM, **kw)


def _f_flags(result) -> list[str]:
    return [f for f in result.flags if "F-wave" in f]


def _window_end_ms(n_samples: int) -> float:
    """The F window's end for sweeps of ``n_samples`` (the smoother's half-width before it)."""
    return (n_samples - round(SMOOTH_HALF_MS * PER_MS) - _STIM) / PER_MS


# --- measure_f_waves: no M-wave, no verdict ----------------------------------------------
@pytest.mark.parametrize("kind", ["zeros", "noise only"])
def test_train_without_m_wave_is_not_assessable_never_absent(kind):
    train = np.zeros((20, 1200)) if kind == "zeros" else _noise(_TRAIN.traces.shape)
    m = measure_f_waves(train, FS_HZ, stimulus_sample=_STIM)
    assert not m.absent[()] and not m.studied[()]
    assert int(m.flags) == NO_M_WAVE, MeasureFlag(int(m.flags)).names()
    assert m.f_wave_latency_ms() == [None]  # not studied, not NaN (absent)


def test_no_m_wave_also_with_a_given_m_wave_end():
    m = measure_f_waves(np.zeros((20, 1200)), FS_HZ, stimulus_sample=_STIM, m_wave_end_ms=20.0)
    assert int(m.flags) == NO_M_WAVE and not m.absent[()] and not m.studied[()]


@pytest.mark.parametrize("factor, has_m", [(0.95, False), (1.05, True)])
def test_m_wave_must_reach_the_f_detection_level(factor, has_m):
    """A noiseless flat-topped 'M-wave' (3 ms) just under / just over the 40 uV F detection
    level (no noise: the level is ``F_MIN_AMPLITUDE_UV``); no F-waves follow it."""
    train = np.zeros((20, 1200))
    top = _STIM + int(3 * PER_MS)
    train[:, top: top + int(3 * PER_MS)] = -factor * 0.040  # mV
    m = measure_f_waves(train, FS_HZ, stimulus_sample=_STIM)
    assert bool(int(m.flags) & NO_M_WAVE) is not has_m
    assert bool(m.absent) is has_m and bool(m.studied) is has_m


def test_genuine_absence_is_still_absent():
    m = measure_f_waves(_NONE.traces, FS_HZ, stimulus_sample=_STIM)
    assert m.studied[()] and m.absent[()] and int(m.flags) == int(MeasureFlag.ABSENT)
    assert m.persistence_pct[()] == 0.0


def test_window_end_is_the_sweep_end_less_the_smoother():
    """measure_f_waves does not know the nerve: the cut train is absent in its window, and
    the window's end says why that may not mean much."""
    cut = _cut(_TRAIN.traces, 22.0)
    batch = measure_f_waves(np.stack([_TRAIN.traces, _NONE.traces]), FS_HZ, stimulus_sample=_STIM)
    full = _window_end_ms(_TRAIN.traces.shape[-1])
    np.testing.assert_allclose(batch.window_end_ms, [full, full], rtol=0, atol=1e-9)
    m = measure_f_waves(cut, FS_HZ, stimulus_sample=_STIM)
    assert m.window_end_ms[()] == pytest.approx(_window_end_ms(cut.shape[-1]), abs=1e-9)
    assert m.window_end_ms[()] < 22.0 < np.nanmin(_TRAIN.truth.f_latency_ms)
    assert m.absent[()]  # none in its window: the analysis core judges the window
    unmeasurable = measure_f_waves(_TRAIN.traces[:, : _STIM + 10], FS_HZ, stimulus_sample=_STIM)
    assert math.isnan(unmeasurable.window_end_ms[()])


# --- the analysis core: a window ending before the nerve's F-wave ULN ---------------------
def _assert_not_assessable(r, end_ms: float, uln_ms: float) -> None:
    assert r.f_wave_latency_ms is None and r.f_wave_latency_source is None
    assert not r.table.nerve["f_wave_studied"][0]
    assert r.f_wave_persistence_pct is None or math.isnan(r.f_wave_persistence_pct)
    flags = _f_flags(r)
    assert len(flags) == 1 and NOT_ASSESSABLE in flags[0], flags
    assert flags[0].startswith(f"F-wave search window ends at {end_ms:.1f} ms, before the "
                               f"F-wave ULN {uln_ms:.4g} ms"), flags[0]


def test_median_train_cut_at_22_ms_is_not_absent():
    cut = _cut(_TRAIN.traces, 22.0)
    r = nc.analyze_nerve(_study(cut))
    _assert_not_assessable(r, _window_end_ms(cut.shape[-1]), MEDIAN_F_ULN_MS)


@pytest.mark.parametrize("kind", ["zeros", "noise only"])
def test_median_train_without_m_wave_is_not_absent(kind):
    train = np.zeros((20, 1200)) if kind == "zeros" else _noise(_TRAIN.traces.shape)
    r = nc.analyze_nerve(_study(train))
    assert r.f_wave_latency_ms is None and r.f_wave_latency_source is None
    assert r.f_wave_persistence_pct is None or math.isnan(r.f_wave_persistence_pct)
    flags = _f_flags(r)
    assert len(flags) == 1 and "no M-wave" in flags[0] and "NO_M_WAVE" in flags[0], flags


def test_tibial_like_train_in_a_35_ms_sweep_is_not_absent():
    """F ~44 ms (a long nerve path) in a 35 ms sweep (5 ms before the stimulus): the window
    ends before the tibial F-wave ULN (56 ms)."""
    long = simulate_f_waves(n_stimuli=20, seed=3, sampling_rate_hz=FS_HZ,
                            spinal_distance_mm=1100.0, distal_distance_mm=90.0, sweep_ms=80.0)
    assert 40.0 < np.nanmin(long.truth.f_latency_ms) < 48.0
    short = _cut(long.traces, 30.0)
    assert measure_f_waves(short, FS_HZ, stimulus_sample=_STIM).absent[()]  # none in 30 ms
    tibial = nc.simulate_nerve((90.0, 400.0), site_names=("ankle", "popliteal fossa"),
                               seed=1).to_studies()[0]
    base = NerveStudy("tibial", "right", "AH", tibial.sites, tibial.traces,
                      tibial.sampling_rate_hz, stimulus_sample=tibial.stimulus_sample)
    r = nc.analyze_nerve(_study(short, base=base))
    _assert_not_assessable(r, _window_end_ms(short.shape[-1]), TIBIAL_F_ULN_MS)


@pytest.mark.parametrize("end_offset_ms, assessable", [(-0.5, False), (0.0, True), (0.5, True)])
def test_window_end_against_the_median_f_uln(end_offset_ms, assessable):
    """A genuine absence in a window ending just before / at / just after the ULN (31 ms)."""
    half = round(SMOOTH_HALF_MS * PER_MS)
    n = _STIM + half + int(round((MEDIAN_F_ULN_MS + end_offset_ms) * PER_MS))
    train = np.ascontiguousarray(_NONE.traces[:, :n])
    assert _window_end_ms(n) == pytest.approx(MEDIAN_F_ULN_MS + end_offset_ms)
    r = nc.analyze_nerve(_study(train))
    if assessable:
        assert math.isnan(r.f_wave_latency_ms) and r.f_wave_latency_source == "traces"
        assert r.f_wave_persistence_pct == 0.0 and _f_flags(r) == []
    else:
        _assert_not_assessable(r, MEDIAN_F_ULN_MS + end_offset_ms, MEDIAN_F_ULN_MS)


def test_height_adjusted_uln_is_the_one_the_window_must_reach():
    """ULN = 1 ms + 0.2 ms/cm x 180 cm = 37 ms for this patient (fixed ULN 31 ms): a genuine
    absence in a 34 ms window is long enough for the fixed ULN, not for the adjusted one."""
    limits = NormalLimits([LimitRow("median", "APB", 4.0, 4.4, 49.0, 31.0, 70.0,
                                    f_wave_uln_intercept_ms=1.0, f_wave_uln_slope_ms_per_cm=0.2)],
                          name="test-height", citation="test")
    train = _cut(_NONE.traces, 34.0 + SMOOTH_HALF_MS)
    tall = nc.analyze_nerve(_study(train, height_cm=180.0), limits=limits)
    _assert_not_assessable(tall, _window_end_ms(train.shape[-1]), 37.0)
    assert "height-adjusted ULN" in _f_flags(tall)[0]
    unknown_height = nc.analyze_nerve(_study(train), limits=limits)  # the fixed 31 ms applies
    assert math.isnan(unknown_height.f_wave_latency_ms)
    assert unknown_height.f_wave_persistence_pct == 0.0


def test_sheet_value_is_used_when_the_window_is_too_short():
    r = nc.analyze_nerve(_study(_cut(_TRAIN.traces, 22.0), f_wave_latency_ms=27.0))
    assert (r.f_wave_latency_ms, r.f_wave_latency_source) == (27.0, "sheet")
    assert r.f_wave_persistence_pct is None or math.isnan(r.f_wave_persistence_pct)
    flags = _f_flags(r)
    assert len(flags) == 1 and NOT_ASSESSABLE in flags[0]
    assert flags[0].endswith("the sheet's value is used")


# --- the criteria: item d unknown, not met -------------------------------------------------
def test_ean2021_item_d_and_efns2010_I_D_not_met_from_a_train_that_cannot_show_f_waves():
    for train in (_cut(_TRAIN.traces, 22.0), np.zeros((20, 1200)), _noise(_TRAIN.traces.shape)):
        r = nc.analyze_nerve(_study(train))
        assert evaluate_nerve(r, "ean-pns-2021-cidp").items["d"].met is None
        assert evaluate_nerve(r, "ean-pns-2021-cidp").items["c"].met is None
        assert evaluate_nerve(r, "efns-pns-2010-cidp").items["I-D"].met is None
        assert evaluate_nerve(r, "efns-pns-2010-cidp").items["I-C"].met is None


def test_ean2021_item_d_still_met_from_a_genuine_absence():
    r = nc.analyze_nerve(_study(_NONE.traces))
    assert evaluate_nerve(r, "ean-pns-2021-cidp").items["d"].met is True
    assert evaluate_nerve(r, "efns-pns-2010-cidp").items["I-D"].met is True


def test_archive_path_cut_train_is_not_absent(tmp_path):
    """The reviewer's archive (``nerveconduct analyze short.h5``): the chunk path agrees."""
    path = tmp_path / "short.h5"
    write_archive(path, [_study(_cut(_TRAIN.traces, 22.0), study_id="T-SHORT"),
                         _study(_NONE.traces, study_id="T-ABSENT")])
    with open_archive(path) as archive:
        table = table_from_chunk(next(archive.iter_chunks(10)), NormalLimits.default())
    nerve = table.nerve
    assert nerve["f_wave_studied"].tolist() == [False, True]
    assert np.isnan(nerve["f_wave_persistence_pct"][0]) and nerve["f_wave_persistence_pct"][1] == 0.0
    assert any(NOT_ASSESSABLE in f for f in nerve["flags"][0])
    assert not any("F-wave" in f for f in nerve["flags"][1])
