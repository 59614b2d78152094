"""Accuracy of :func:`nerveconduct.measure.snap.measure_snap` against the simulator's noiseless truth.

Each condition measures 300 simulated antidromic SNAPs (140 mm, 30 uV, stimulus artifact
0.5 mV, fixed seeds) and checks the absolute errors against the truth of
:func:`nerveconduct.simulate.sensory.simulate_snap` (same definitions). Tolerances are
median / 95th percentile:

=========================  ============  ==========  ==========  ===========  ===========
condition                  onset (ms)    peak (ms)   amplitude   p-p %        duration
                                         p95         % (b-to-p)               p95 (ms)
=========================  ============  ==========  ==========  ===========  ===========
noiseless, 10/20/48 kHz    0.01 / 0.05   0.01        0.1 / 0.5   0.1 / 0.5    0.06
20, 48 kHz; 1 uV RMS       0.03 / 0.10   0.05        2.5 / 6     2 / 5        0.15
10 kHz; 1 uV RMS           0.04 / 0.15   0.05        3 / 8       2.5 / 7      0.2
20 kHz; 2 uV RMS           0.05 / 0.20   0.06        4 / 10      3.5 / 9      0.25
=========================  ============  ==========  ==========  ===========  ===========

``python -m pytest tests/test_measure_snap.py -s`` prints the figures achieved.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from nerveconduct.flags import MeasureFlag as F
from nerveconduct.measure.snap import SNAP_MEASURE_FIELDS, average_sweeps, measure_snap
from nerveconduct.simulate.sensory import simulate_snap


@functools.cache
def _condition(rate_hz: float, noise_uv: float):
    sim = simulate_snap(140.0, n_snaps=300, amplitude_uv=30.0, noise_uv_rms=noise_uv,
                        sampling_rate_hz=rate_hz, seed=int(rate_hz) + int(10 * noise_uv))
    return sim, measure_snap(sim.traces, rate_hz, stimulus_sample=sim.stimulus_sample)


def _check(rate_hz, noise_uv, onset, peak_p95, amp, p2p, dur_p95):
    sim, m = _condition(rate_hz, noise_uv)
    assert m.present.all() and (m.flags & F.ABSENT == 0).all()
    report = []
    for field, rel, (tol_med, tol_p95) in (
            ("onset_latency_ms", False, onset), ("negative_peak_amplitude_uv", True, amp),
            ("peak_to_peak_amplitude_uv", True, p2p)):
        truth = getattr(sim.truth, field)
        err = np.abs(getattr(m, field) - truth)
        err = 100.0 * err / truth if rel else err
        med, p95 = np.median(err), np.percentile(err, 95)
        report.append(f"{field} {med:.3f}/{p95:.3f}{'%' if rel else ' ms'}")
        assert med <= tol_med and p95 <= tol_p95, (
            f"{rate_hz:g} Hz, {noise_uv} uV: {field} |error| median {med:.4f} (<= {tol_med}), "
            f"p95 {p95:.4f} (<= {tol_p95})")
    for field, tol in (("negative_peak_latency_ms", peak_p95), ("duration_ms", dur_p95)):
        p95 = np.percentile(np.abs(getattr(m, field) - getattr(sim.truth, field)), 95)
        report.append(f"{field} p95 {p95:.3f} ms")
        assert p95 <= tol, f"{field} |error| p95 {p95:.4f} ms (<= {tol})"
    print(f"\n{rate_hz / 1000:g} kHz, {noise_uv} uV: " + "; ".join(report))


@pytest.mark.parametrize("rate_hz", [10000.0, 20000.0, 48000.0])
def test_noiseless_matches_truth(rate_hz):
    _check(rate_hz, 0.0, onset=(0.01, 0.05), peak_p95=0.01, amp=(0.1, 0.5), p2p=(0.1, 0.5),
           dur_p95=0.06)


@pytest.mark.parametrize("rate_hz", [20000.0, 48000.0])
def test_1uv_noise_onset_0_03_0_10_ms_amplitude_2_5_6_pct(rate_hz):
    _check(rate_hz, 1.0, onset=(0.03, 0.10), peak_p95=0.05, amp=(2.5, 6.0), p2p=(2.0, 5.0),
           dur_p95=0.15)


def test_1uv_noise_at_10_khz():
    _check(10000.0, 1.0, onset=(0.04, 0.15), peak_p95=0.05, amp=(3.0, 8.0), p2p=(2.5, 7.0),
           dur_p95=0.2)


def test_2uv_noise_looser():
    _check(20000.0, 2.0, onset=(0.05, 0.20), peak_p95=0.06, amp=(4.0, 10.0), p2p=(3.5, 9.0),
           dur_p95=0.25)


def test_simulated_snap_is_short_and_in_uv():
    sim = simulate_snap(140.0, n_snaps=50, seed=5)
    t = sim.truth
    assert np.allclose(t.negative_peak_amplitude_uv, 30.0)
    assert (np.abs(sim.noiseless).max(axis=-1) < 0.1).all()  # mV: tens of uV
    assert (1.8 < t.onset_latency_ms).all() and (t.onset_latency_ms < 2.6).all()
    assert (t.duration_ms > 0.5).all() and (t.duration_ms < 1.5).all()
    assert (t.negative_peak_latency_ms > t.onset_latency_ms).all()
    again = simulate_snap(140.0, n_snaps=50, seed=5)
    np.testing.assert_array_equal(again.traces, sim.traces)


@pytest.mark.parametrize("noise_uv", [1.0, 3.0])
def test_absent_snap_is_absent_no_false_positive(noise_uv):
    sim = simulate_snap(140.0, n_snaps=400, amplitude_uv=0.0, noise_uv_rms=noise_uv, seed=6)
    assert not sim.truth.present.any()
    m = measure_snap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert not m.present.any(), f"{m.present.sum()} false positives"
    assert (m.flags & F.ABSENT).all()
    assert np.isnan(m.negative_peak_amplitude_uv).all() and np.isnan(m.onset_latency_ms).all()
    np.testing.assert_allclose(np.median(m.noise_uv), noise_uv, rtol=0.1)


def test_small_snap_present_and_low_snr_flagged():
    sim = simulate_snap(140.0, n_snaps=200, amplitude_uv=8.0, noise_uv_rms=1.0, seed=7)
    m = measure_snap(sim.traces, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert m.present.mean() >= 0.99
    assert np.mean(m.flags[m.present] & F.LOW_SNR != 0) >= 0.9  # 8 uV < 10 x ~1 uV
    err = np.abs(m.onset_latency_ms - sim.truth.onset_latency_ms)
    assert np.nanpercentile(err, 95) <= 0.3


def test_vectorized_shapes_and_per_trace_equality():
    sim = simulate_snap(140.0, n_snaps=24, noise_uv_rms=1.0, seed=8)
    x = sim.traces.reshape(2, 3, 4, -1)
    m = measure_snap(x, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample, n_threads=2)
    assert m.shape == (2, 3, 4) and len(m) == 2 and m[1, 2].shape == (4,)
    one = measure_snap(x[1, 2, 3], sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert one.shape == ()
    for f in SNAP_MEASURE_FIELDS:
        np.testing.assert_array_equal(getattr(one, f), getattr(m, f)[1, 2, 3])
    records = m[0, 0].to_records()
    assert len(records) == 4 and set(records[0]) == set(SNAP_MEASURE_FIELDS)
    flip = measure_snap(-x, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample,
                        polarity="negative-up")
    np.testing.assert_allclose(flip.negative_peak_amplitude_uv, m.negative_peak_amplitude_uv)
    m32 = measure_snap(x.astype(np.float32), sim.sampling_rate_hz,
                       stimulus_sample=sim.stimulus_sample)
    np.testing.assert_allclose(m32.onset_latency_ms, m.onset_latency_ms, atol=2e-3)


def test_average_sweeps_reduces_noise_and_skips_rejected_sweeps():
    sim = simulate_snap(140.0, n_snaps=16, noise_uv_rms=4.0, seed=9)
    sweeps = sim.noiseless[0] + (sim.traces - sim.noiseless)  # 16 sweeps of one SNAP
    sweeps[3] = np.nan  # a rejected sweep
    avg = average_sweeps(sweeps, axis=0)
    assert avg.shape == sweeps.shape[1:] and avg.dtype == sweeps.dtype
    m = measure_snap(avg, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert m.present and 0.7 < float(m.noise_uv) < 1.5  # 4 uV / sqrt(15)
    assert abs(float(m.onset_latency_ms) - float(sim.truth.onset_latency_ms[0])) < 0.1
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-2, 0\]"):
        average_sweeps(sweeps, axis=-1)
    with pytest.raises(ValueError, match="at least 2"):
        average_sweeps(sweeps[0], axis=0)


def test_bad_data_is_flagged_not_raised():
    sim = simulate_snap(140.0, n_snaps=3, seed=10)
    x = sim.traces.copy()
    x[1, 60] = np.nan
    x[2] = 0.0
    m = measure_snap(x, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert m.present[0] and m.flags[1] & F.NAN_SAMPLES and m.present[1]
    assert m.flags[2] == F.UNMEASURABLE and not m.present[2]


@pytest.mark.parametrize("dtype,value,width,flags,present", [
    (np.float32, np.nan, 1, F.NAN_SAMPLES, True),  # one sample: filled, measured
    (np.float64, np.inf, 1, F.NAN_SAMPLES, True),
    (np.float32, -np.inf, 2, F.NAN_SAMPLES, True),
    (np.float32, np.nan, 3, F.NAN_SAMPLES | F.UNMEASURABLE, False),  # too long a gap to fill
    (np.float64, 1e301, 1, F.NAN_SAMPLES | F.UNMEASURABLE, False),  # finite, beyond 1e300
    (np.float64, -1e301, 1, F.NAN_SAMPLES | F.UNMEASURABLE, False),
    (np.float32, 3.3e38, 3, F.NAN_SAMPLES | F.UNMEASURABLE, False),  # float32 box sum overflows
])
@pytest.mark.parametrize("where", ["after the artifact", "at the sweep's end"])
def test_non_finite_and_overflowing_samples_are_flagged_wherever_they_are(dtype, value, width, flags,
                                                                          present, where):
    """A smoothed value that is not finite or beyond 1e300 makes the trace non-finite: it is
    repaired (gaps of <= 2 samples filled, trailing ones cut) and measured again, else
    UNMEASURABLE; either way flagged NAN_SAMPLES. Finite values too large for the box sums
    (float32 overflow) count as non-finite too."""
    sim = simulate_snap(140.0, n_snaps=1, noise_uv_rms=1.0, seed=10)
    n = sim.traces.shape[-1]
    x = sim.traces[0].astype(dtype)
    k = sim.stimulus_sample + 40 if where == "after the artifact" else n - width
    x[k:k + width] = value
    if where == "at the sweep's end" and value != value:
        flags, present = F.NAN_SAMPLES, True  # trailing NaN samples are cut off, the rest measured
    m = measure_snap(x, sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)
    assert int(m.flags) == int(flags) and bool(m.present) is present


def test_nan_gap_is_measured_as_the_interpolated_trace_and_neighbours_unchanged():
    """A gap of <= MAX_GAP_MS (0.1 ms: 2 samples at 20 kHz) inside the SNAP is filled by
    linear interpolation: the measures equal those of the filled trace, plus NAN_SAMPLES; a
    longer gap is UNMEASURABLE. The kernel's repaired-trace path shares scratch arrays with
    the rows around it: their measures equal those of each row alone."""
    sim = simulate_snap(140.0, n_snaps=3, noise_uv_rms=1.0, seed=15)
    fs, s = sim.sampling_rate_hz, sim.stimulus_sample
    k = s + int(round(float(sim.truth.negative_peak_latency_ms[1]) * fs / 1000.0)) - 3
    x = sim.traces.copy()
    filled = x[1].copy()
    filled[k:k + 2] = filled[k - 1] + (filled[k + 2] - filled[k - 1]) * np.array([1, 2]) / 3
    x[1, k:k + 2] = np.nan
    m = measure_snap(x, fs, stimulus_sample=s)
    ref = measure_snap(filled, fs, stimulus_sample=s)
    alone = [measure_snap(x[i], fs, stimulus_sample=s) for i in (0, 2)]
    assert m.present.all() and int(m.flags[1]) == int(ref.flags) | F.NAN_SAMPLES
    assert [int(m.flags[i]) for i in (0, 2)] == [int(a.flags) for a in alone]
    for f in SNAP_MEASURE_FIELDS[:-2]:
        assert getattr(m, f)[1] == getattr(ref, f), f
        assert [getattr(m, f)[i] for i in (0, 2)] == [getattr(a, f) for a in alone], f
    x[1, k + 2] = np.nan  # 3 samples: too long to fill
    m3 = measure_snap(x, fs, stimulus_sample=s)
    assert int(m3.flags[1]) == F.UNMEASURABLE | F.NAN_SAMPLES and not m3.present[1]
    assert np.isnan(m3.negative_peak_amplitude_uv[1]) and m3.present[[0, 2]].all()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sampling_rate_hz": 0.0}, r"sampling_rate_hz must be a finite number in \[1, .*\] Hz, got 0.0"),
    ({"stimulus_sample": 400}, r"stimulus_sample must be an integer in \[0, 299\], got 400"),
    ({"polarity": "up"}, r"polarity must be one of .*'physical'.*'negative-up'.*got 'up'"),
    ({"onset_threshold_uv": -1.0}, r"onset_threshold_uv must be a finite number > 0 uV, got -1.0"),
    ({"n_threads": 0}, r"n_threads must be None or an integer >= 1, got 0"),
    ({"traces": np.zeros(300, dtype=int)}, r"float32 or float64 array \(mV\); got dtype int"),
])
def test_bad_arguments_raise_value_error_naming_the_range(kwargs, match):
    args = {"traces": np.zeros(300), "sampling_rate_hz": 20000.0, **kwargs}
    traces, rate = args.pop("traces"), args.pop("sampling_rate_hz")
    with pytest.raises(ValueError, match=match):
        measure_snap(traces, rate, **args)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"distance_mm": 0.0}, r"distance_mm must be a finite number > 0 mm, got 0.0"),
    ({"amplitude_uv": -1.0}, r"amplitude_uv must be a finite number >= 0 uV, got -1.0"),
    ({"n_fibres": 0}, r"n_fibres must be an integer >= 1, got 0"),
    ({"sampling_rate_hz": 2000.0}, r"sampling_rate_hz must be a finite number >= 5000 Hz, got"),
    ({"sweep_ms": 3.0}, r"sweep_ms=3.0 .* too short"),
    ({"seed": -1}, r"seed must be None, an integer >= 0"),
])
def test_simulator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_snap(**kwargs)


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match=r"onset_threshold_uv must be a finite number > 0 uV, got '2'"):
        measure_snap(np.zeros(300), 20000.0, onset_threshold_uv="2")
    with pytest.raises(TypeError, match=r"axis must be an integer in \[-2, 0\], got 0.5"):
        average_sweeps(np.zeros((3, 300)), axis=0.5)
    with pytest.raises(TypeError, match=r"n_snaps must be None or an integer >= 1, got 2.0"):
        simulate_snap(n_snaps=2.0)


def test_snap_constants_go_through_the_one_sample_conversion():
    """measure_snap's kernel slots come from the CMAP's conversion with the SNAP's constants
    (one function): at 20 kHz, 300 samples, stimulus at 40."""
    from nerveconduct.measure import _kernel_layout as k
    from nerveconduct.measure import snap
    from nerveconduct.measure._cmap_config import _kernel_config

    cfg_i, cfg_f = _kernel_config(20000.0, 0.002, 300, 40, snap._METHOD)
    want_i = {k.I_MIN_BASE: 20, k.I_TAIL: 26, k.I_MIN_POST: 40, k.I_SMOOTH_H: 1, k.I_FIT_H: 3,
              k.I_ONSET_FIT_H: 2, k.I_ART_RUN: 3, k.I_ART_PEAK_WIN: 10, k.I_MIN_WIDTH: 3,
              k.I_MAX_GAP: 2, k.I_LOCAL_WIN: 10, k.I_LOCAL_GUARD: 4}
    assert {i: int(cfg_i[i]) for i in want_i} == want_i
    assert cfg_f[k.C_DT_MS] == 0.05 and cfg_f[k.C_ONSET_MV] == 0.002
    assert cfg_f[k.C_ART_FLOOR_MV] == 0.002 and cfg_f[k.C_DET_FLOOR_MV] == 0.001
    assert cfg_f[k.C_ART_TAU_SAMPLES] == pytest.approx(6.0)
    assert cfg_f[k.C_LOCAL_MIN_MV] == 0.001
    # the CMAP's own constants through the same function: its second onset is configured
    cmap_i, cmap_f = _kernel_config(20000.0, 0.02, 1000, 100)
    assert cmap_i[k.I_SMOOTH_H] == 2 and cmap_i[k.I_ALT_RUN] == 10
    assert cmap_f[k.C_DISAGREE_MS] == 0.3 and cmap_f[k.C_ART_FLOOR_MV] == 0.02
    assert _kernel_config(20000.0, 0.002, 300, 40, snap._METHOD)[0] is cfg_i  # built once


def test_truncated_means_the_snaps_own_landmarks_run_out_of_sweep():
    """A slow negative deflection at the end of the sweep (no SNAP landmark) leaves the SNAP
    unflagged; a sweep that ends before the return to baseline is TRUNCATED."""
    sim = simulate_snap(140.0, n_snaps=1, noise_uv_rms=0.0, seed=14)
    fs, s = sim.sampling_rate_hz, sim.stimulus_sample
    x = sim.traces[0].copy()
    t_ms = (np.arange(x.size) - s) / fs * 1000.0
    x += np.where(t_ms > 12.0, -0.005 * (t_ms - 12.0), 0.0)  # down to -15 uV at 15 ms
    m = measure_snap(x, fs, stimulus_sample=s)
    assert m.present and int(m.flags) & F.TRUNCATED == 0
    assert abs(float(m.duration_ms) - float(sim.truth.duration_ms[0])) < 0.06
    k_peak = s + int(round(float(sim.truth.negative_peak_latency_ms[0]) * fs / 1000.0))
    cut = measure_snap(sim.traces[0][:k_peak + 4], fs, stimulus_sample=s)
    assert cut.present and int(cut.flags) & F.TRUNCATED
    assert np.isnan(cut.duration_ms)


def test_stale_snap_kernel_cache_files_are_deleted_and_fresh_ones_kept(tmp_path, monkeypatch):
    """numba keys a cached function on its own file: the SNAP kernel deletes its cache files
    older than any module compiled into it (editing _trace_ops.py alone must not leave a
    stale SNAP kernel); other modules' files are left to their own kernels."""
    import os
    from pathlib import Path

    from nerveconduct.measure import _snap_kernel

    monkeypatch.setattr(_snap_kernel.snap_rows._cache, "_cache_path", str(tmp_path))
    here = Path(_snap_kernel.__file__).parent
    newest = max(os.stat(p).st_mtime for p in
                 [here / f"{m}.py" for m in _snap_kernel.DEPENDENCIES] + [here.parent / "flags.py"])
    files = {}
    for name, mtime in (("stale", newest - 1.0), ("fresh", newest + 1.0)):
        stem = f"_snap_kernel.{name}-10.py311"
        files[name] = [tmp_path / f"{stem}.nbi", tmp_path / f"{stem}.1.nbc"]
        for p in files[name]:
            p.write_bytes(b"x")
            os.utime(p, (mtime, mtime))
    other = tmp_path / "_trace_ops._cross-1.py311.nbi"  # not this kernel's: left alone
    other.write_bytes(b"x")
    os.utime(other, (0, 0))
    _snap_kernel._invalidate()
    assert not any(p.exists() for p in files["stale"])
    assert all(p.exists() for p in files["fresh"])
    assert other.exists()
    assert set(_snap_kernel.DEPENDENCIES) >= {"_snap_kernel", "_trace_ops", "_kernel_layout"}


def test_snap_kernel_parabola_fits_equal_the_shared_fits_to_rounding():
    """The SNAP kernel's fits (``_snap_steps``: constants once per call, reciprocals,
    squared tolerance, no refit of a window already fitted) give the shared ``_refine_min`` /
    ``_refine_crossing`` results to float rounding, including the 3-point fallback (a
    tolerance no fit meets) and the raw crossing of a kink."""
    from nerveconduct.measure import _snap_steps as k
    from nerveconduct.measure import _trace_ops as t

    rng = np.random.default_rng(7)
    for h in (1, 2, 3, 5):
        fc = k._fit_constants(h)
        for _ in range(200):
            n = 40
            u = np.arange(n) - rng.uniform(15, 25)
            x = (rng.uniform(0.1, 2) * (u / 5) ** 2 - rng.uniform(0, 3)
                 + rng.normal(0, rng.choice([1e-4, 0.05]), n))
            k0 = int(rng.integers(8, 32))
            sign = float(rng.choice([1.0, -1.0]))
            base = rng.normal()
            for tol in (1.0, 1e-3, -1.0):  # any fit, some fits, no fit (fallback)
                want = t._refine_min(x * sign, 0, n, k0, h, sign, sign * base, tol)
                got = k._vertex(x * sign, 0, n, k0, sign, sign * base,
                                tol * tol if tol > 0 else -1.0, fc)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
                level = float(np.median(x)) - base
                want = t._refine_crossing(x, 0, n, k0 + 0.3, h, 1.0, base, level, tol, 1, k0, n)
                got = k._crossing(x, 0, n, k0 + 0.3, 1.0, base, level,
                                  tol * tol if tol > 0 else -1.0, 1, k0, n, fc)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_snap_kernel_onset_walks_equal_the_shared_crossing():
    """The SNAP onset's backward walk and its interpolation give ``_cross``'s value,
    bit for bit, also where the start is already at the level or the walk runs out."""
    from nerveconduct.measure import _snap_steps as k
    from nerveconduct.measure import _trace_ops as t
    from nerveconduct.measure._kernel_layout import _FLAT_MV

    rng = np.random.default_rng(3)
    for _ in range(500):
        vs = np.cumsum(rng.normal(0, 1, 60))
        start, stop = int(rng.integers(20, 59)), int(rng.integers(-1, 15))
        level = float(rng.normal(vs.mean(), 2))
        want = t._cross(vs, 1.0, 0.0, start, stop, -1, level)
        j = k._walk_back(vs, start, stop, level - _FLAT_MV)
        got = k._crossed_at(vs, j, start, stop, level)
        assert (got == want) or (got != got and want != want)
