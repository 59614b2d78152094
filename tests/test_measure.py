"""Unit tests of :mod:`nerveconduct.measure.cmap` on hand-made traces with hand-computed measures.

Traces are 50 ms at 20 kHz with the stimulus at sample 100 (5 ms of baseline) unless stated.
Shapes: a half-sine negative phase (exact onset ``3 + 4/pi asin(0.02/5)`` ms, area 40/pi
mV·ms), triangles with kinks on samples (exact linear-interpolation answers), and the
simulator's biphasic stimulus artifact ``A (1 - 2t/tau) exp(-t/tau)``.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from nerveconduct.measure import cmap as measure_module
from nerveconduct.flags import MeasureFlag as F
from nerveconduct.measure.cmap import CMAP_MEASURE_FIELDS, CmapMeasures, measure_cmap

FS = 20000.0
N = 1000
STIM = 100


def _t_ms(n=N, stim=STIM, fs=FS):
    return (np.arange(n) - stim) * 1000.0 / fs


def half_sine(amp=5.0, start=3.0, dur=4.0, n=N, stim=STIM, fs=FS):
    t = _t_ms(n, stim, fs)
    return np.where((t > start) & (t < start + dur), -amp * np.sin(np.pi * (t - start) / dur), 0.0)


def polyline(times_ms, values_mv):
    return np.interp(_t_ms(), times_ms, values_mv)


def artifact(size_mv=3.0, tau_ms=0.15):
    t = np.maximum(_t_ms(), 0.0)
    return np.where(_t_ms() >= 0, size_mv * (1 - 2 * t / tau_ms) * np.exp(-t / tau_ms), 0.0)


def noise(sd_mv, shape=N, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * sd_mv


def measure(x, **kw):
    kw.setdefault("stimulus_sample", STIM)
    return measure_cmap(x, kw.pop("fs", FS), **kw)


HALF_SINE_ONSET = 3.0 + 4.0 / math.pi * math.asin(0.02 / 5.0)


class TestMeasureCmap:
    def test_empty(self):
        m = measure(np.zeros((0, N)))
        assert len(m) == 0 and m.to_records() == []
        for f in CMAP_MEASURE_FIELDS:
            assert getattr(m, f).shape == (0,)
        assert measure(np.zeros((2, 0, N), np.float32)).shape == (2, 0)
        # traces without samples: nothing to measure, flagged per trace
        m = measure_cmap(np.zeros((3, 0)), FS)
        assert m.shape == (3,) and not m.present.any()
        assert (m.flags == F.UNMEASURABLE).all()

    def test_basic_half_sine(self):
        m = measure(half_sine())
        assert m.shape == () and bool(m.present) and int(m.flags) == 0
        assert float(m.onset_latency_ms) == pytest.approx(HALF_SINE_ONSET, abs=1e-3)
        assert float(m.negative_peak_latency_ms) == pytest.approx(5.0, abs=1e-6)
        assert float(m.negative_peak_amplitude_mv) == pytest.approx(5.0, abs=1e-6)
        assert float(m.peak_to_peak_amplitude_mv) == pytest.approx(5.0, abs=1e-6)  # no + phase
        assert float(m.negative_peak_duration_ms) == pytest.approx(7.0 - HALF_SINE_ONSET, abs=1e-3)
        area = 20.0 / math.pi * (1.0 + math.cos(math.pi * (HALF_SINE_ONSET - 3.0) / 4.0))
        assert float(m.negative_peak_area_mv_ms) == pytest.approx(area, rel=1e-3)
        assert float(m.cmap_duration_ms) == float(m.negative_peak_duration_ms)
        assert float(m.baseline_mv) == 0.0 and float(m.noise_mv) == 0.0

    def test_basic_triangles_with_positive_phase(self):
        # -4 mV triangle 3..7 ms, +2 mV triangle 7..11 ms: onset at 3 + 0.02/2 ms
        m = measure(polyline([3, 5, 7, 9, 11], [0, -4, 0, 2, 0]))
        assert float(m.onset_latency_ms) == pytest.approx(3.01, abs=1e-6)
        assert float(m.negative_peak_latency_ms) == pytest.approx(5.0, abs=1e-6)
        assert float(m.negative_peak_amplitude_mv) == pytest.approx(4.0, abs=1e-6)
        assert float(m.peak_to_peak_amplitude_mv) == pytest.approx(6.0, abs=1e-6)
        assert float(m.negative_peak_duration_ms) == pytest.approx(3.99, abs=1e-6)
        assert float(m.negative_peak_area_mv_ms) == pytest.approx(8.0 - 0.5 * 0.01 * 0.02, abs=1e-4)
        assert float(m.cmap_duration_ms) == pytest.approx(3.99, abs=1e-6)

    def test_cmap_duration_ends_after_the_last_negative_peak_deep_enough(self):
        # second negative peak -1 mV (25 % of 4 mV) counts; one of -0.3 mV (7.5 %) does not
        two = measure(polyline([3, 5, 7, 8, 9, 10.5, 12], [0, -4, 0, 1, 0, -1, 0]))
        assert float(two.negative_peak_duration_ms) == pytest.approx(3.99, abs=1e-6)
        assert float(two.cmap_duration_ms) == pytest.approx(12.0 - 3.01, abs=1e-6)
        shallow = measure(polyline([3, 5, 7, 8, 9, 10.5, 12], [0, -4, 0, 1, 0, -0.3, 0]))
        assert float(shallow.cmap_duration_ms) == pytest.approx(3.99, abs=1e-6)

    def test_sampling_rates(self):
        for fs in (10000.0, 48000.0, 96000.0):  # 96 kHz: the box smoother is capped at 13
            n, stim = int(0.05 * fs), int(0.005 * fs)
            m = measure_cmap(half_sine(n=n, stim=stim, fs=fs), fs, stimulus_sample=stim)
            assert float(m.onset_latency_ms) == pytest.approx(HALF_SINE_ONSET, abs=1e-3)
            assert float(m.negative_peak_amplitude_mv) == pytest.approx(5.0, abs=1e-6)
            dur = float(m.negative_peak_duration_ms)
            assert dur == pytest.approx(7 - HALF_SINE_ONSET, abs=1e-3)

    def test_baseline_offset_and_noise(self):
        m = measure(half_sine() + 0.5 + noise(0.01))
        assert float(m.baseline_mv) == pytest.approx(0.5, abs=0.004)
        assert float(m.noise_mv) == pytest.approx(0.01, abs=0.002)
        assert float(m.negative_peak_amplitude_mv) == pytest.approx(5.0, abs=0.02)
        assert float(m.onset_latency_ms) == pytest.approx(HALF_SINE_ONSET, abs=0.02)

    def test_batch_shape_indexing_and_records(self):
        amps = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        x = np.stack([[half_sine(a) for a in row] for row in amps])
        m = measure(x)
        assert m.shape == (2, 3) and len(m) == 2
        np.testing.assert_allclose(m.negative_peak_amplitude_mv, amps, atol=1e-6)
        assert m[1].shape == (3,) and m[1, 2].shape == ()
        assert float(m[1, 2].negative_peak_amplitude_mv) == pytest.approx(6.0, abs=1e-6)
        single = measure(x[0, 1])
        for f in CMAP_MEASURE_FIELDS:
            np.testing.assert_array_equal(getattr(m[0, 1], f), getattr(single, f))
        with pytest.raises(ValueError, match="read-only"):
            m.onset_latency_ms[0, 0] = 1.0
        recs = m.to_records()
        assert len(recs) == 6 and set(recs[0]) == set(CMAP_MEASURE_FIELDS)
        assert recs[5]["negative_peak_amplitude_mv"] == pytest.approx(6.0, abs=1e-6)
        assert type(recs[0]["onset_latency_ms"]) is float and recs[0]["present"] is True
        assert recs[0]["flags"] == []

    def test_negative_up_gives_the_same_numbers(self):
        x = np.stack([half_sine(a) + artifact(3.0) + noise(0.01, seed=a) for a in range(1, 6)])
        phys = measure(x)
        flipped = measure(-x, polarity="negative-up")
        for f in CMAP_MEASURE_FIELDS:
            np.testing.assert_allclose(getattr(flipped, f), getattr(phys, f), rtol=1e-12)
        # read as physical, a negative-up trace has its big phase positive
        assert (measure(-x).flags & F.POLARITY_SUSPECT).all()

    def test_float32_and_float64_agree(self):
        x = np.stack([half_sine(a) + artifact(3.0) + noise(0.01, seed=a) for a in range(1, 9)])
        m64, m32 = measure(x), measure(x.astype(np.float32))
        np.testing.assert_array_equal(m32.flags, m64.flags)
        np.testing.assert_allclose(m32.onset_latency_ms, m64.onset_latency_ms, atol=2e-3)
        for f in ("negative_peak_amplitude_mv", "negative_peak_area_mv_ms"):
            np.testing.assert_allclose(getattr(m32, f), getattr(m64, f), rtol=1e-4)
        big_endian = measure(x.astype(">f8"))  # e.g. read from a file: converted, same numbers
        for f in CMAP_MEASURE_FIELDS:
            np.testing.assert_array_equal(getattr(big_endian, f), getattr(m64, f))

    def test_pure_noise_is_absent(self):
        x = np.stack([artifact(3.0) + noise(0.03, seed=s) for s in range(200)])
        m = measure(x)
        assert not m.present.any() and (m.flags & F.ABSENT).all()
        assert np.isnan(m.onset_latency_ms).all() and np.isnan(m.negative_peak_amplitude_mv).all()
        assert np.isfinite(m.baseline_mv).all() and np.isfinite(m.noise_mv).all()

    def test_small_sustained_response_detected_but_not_a_spike(self):
        assert bool(measure(half_sine(0.2) + noise(0.01)).present)
        spike = np.where(np.arange(N) == 400, -1.0, 0.0) + noise(0.01)
        m = measure(spike)
        assert not bool(m.present) and int(m.flags) & F.ABSENT

    def test_low_snr(self):
        m = measure(half_sine(0.08) + noise(0.01))  # detected (> 5 noise), under 10 noise
        assert bool(m.present) and int(m.flags) == F.LOW_SNR

    def test_artifact_is_not_taken_for_the_response(self):
        for size in (-30.0, 0.5, 3.0, 30.0):
            assert int(measure(artifact(size) + noise(0.01)).flags) == F.ABSENT
            m = measure(half_sine() + artifact(size) + noise(0.01))
            # a -30 mV artifact shifts the local baseline: the response never returns to it
            assert int(m.flags) == (F.TRUNCATED if size == -30.0 else 0)
            assert float(m.onset_latency_ms) == pytest.approx(HALF_SINE_ONSET, abs=0.02)
            assert float(m.negative_peak_amplitude_mv) == pytest.approx(5.0, abs=0.02)

    def test_artifact_overlap(self):
        # the response starts 0.4 ms after a 3 mV artifact: its take-off is hidden
        m = measure(half_sine(start=0.4) + artifact(3.0) + noise(0.01))
        assert bool(m.present) and int(m.flags) == F.ARTIFACT_OVERLAP
        assert math.isnan(float(m.onset_latency_ms))
        assert math.isnan(float(m.negative_peak_area_mv_ms))
        assert float(m.negative_peak_amplitude_mv) == pytest.approx(5.0, abs=0.02)

    def test_polarity_suspect(self):
        m = measure(polyline([3, 5, 7, 9, 11], [0, 4, 0, -2, 0]) + noise(0.01))
        assert int(m.flags) & F.POLARITY_SUSPECT
        assert not int(measure(polyline([3, 5, 7, 9, 11], [0, -4, 0, 2, 0])).flags)

    def test_clipped(self):
        x = half_sine(8.0) + noise(0.01)
        assert not int(measure(x).flags) & F.CLIPPED
        assert int(measure(np.clip(x, -5.0, 5.0)).flags) & F.CLIPPED
        # a saturated artifact alone does not touch the measures: not flagged
        assert not int(measure(np.clip(half_sine(3.0) + artifact(30.0), -10, 10)).flags)

    def test_nan_samples(self):
        clean = measure(half_sine() + noise(0.01))
        x = half_sine() + noise(0.01)
        x[[200, 260, 261]] = np.nan
        x[300] = np.inf
        m = measure(x)
        assert bool(m.present) and int(m.flags) == F.NAN_SAMPLES
        assert float(m.negative_peak_amplitude_mv) == pytest.approx(
            float(clean.negative_peak_amplitude_mv), abs=0.01)
        padded = half_sine() + noise(0.01)
        padded[900:] = np.nan  # a ragged batch padded with NaN
        m = measure(padded)
        assert bool(m.present) and int(m.flags) == F.NAN_SAMPLES
        assert float(m.onset_latency_ms) == pytest.approx(float(clean.onset_latency_ms), abs=1e-9)
        gap = half_sine() + noise(0.01)
        gap[150:200] = np.nan
        m = measure(gap)
        assert not bool(m.present) and int(m.flags) == F.NAN_SAMPLES | F.UNMEASURABLE
        assert all(math.isnan(v) for k, v in m.to_records()[0].items()
                   if k not in ("present", "flags"))

    def test_too_short_and_flat(self):
        m = measure(np.zeros(30), stimulus_sample=5)
        assert not bool(m.present) and int(m.flags) == F.UNMEASURABLE
        m = measure(np.full(N, 0.3))
        assert not bool(m.present) and int(m.flags) == F.UNMEASURABLE
        assert math.isnan(float(m.negative_peak_amplitude_mv))

    def test_short_baseline_uses_the_tail(self):
        for stim in (0, 10):
            x = half_sine(stim=stim) + 0.2 + noise(0.01)
            m = measure(x, stimulus_sample=stim)
            assert bool(m.present) and int(m.flags) == F.SHORT_BASELINE
            assert float(m.baseline_mv) == pytest.approx(0.2, abs=0.01)
            assert float(m.onset_latency_ms) == pytest.approx(HALF_SINE_ONSET, abs=0.03)

    def test_threads_and_chunks_give_identical_results(self, monkeypatch):
        x = np.stack([half_sine(1 + s % 7) + artifact(3.0) + noise(0.02, seed=s)
                      for s in range(64)]).astype(np.float32)
        ref = measure(x, n_threads=1)
        monkeypatch.setattr(measure_module, "CHUNK_BYTES", 5 * N * 4)  # 13 chunks of 5 traces
        for threads in (1, 2, None):
            m = measure(x, n_threads=threads)
            for f in CMAP_MEASURE_FIELDS:
                np.testing.assert_array_equal(getattr(m, f), getattr(ref, f))

    @pytest.mark.parametrize(("args", "kwargs", "match"), [
        ((np.zeros(N), -20000.0), {}, r"sampling_rate_hz must be a finite number in \[1, "
                                      r"1e\+07\] Hz, got -20000"),
        ((np.zeros(N), 5e-324), {}, r"sampling_rate_hz .* Hz, got 5e-324"),
        ((np.zeros(N), 1e300), {}, r"sampling_rate_hz .* Hz, got 1e\+300"),
        ((np.zeros(N), True), {}, r"sampling_rate_hz .* got True"),
        ((np.zeros(N), 0), {}, r"sampling_rate_hz .* got 0"),
        ((np.zeros(N), float("nan")), {}, r"sampling_rate_hz .* got nan"),
        ((np.zeros(N), "20k"), {}, r"sampling_rate_hz .* got '20k'"),
        ((np.zeros(N), FS), {"stimulus_sample": -1}, r"stimulus_sample must be an integer in \[0, 999\], got -1"),
        ((np.zeros(N), FS), {"stimulus_sample": N}, r"stimulus_sample .* \[0, 999\], got 1000"),
        ((np.zeros(N), FS), {"stimulus_sample": 1.5}, r"stimulus_sample must be an integer"),
        ((np.zeros(N), FS), {"polarity": "up"}, r"polarity must be one of \['physical', "
                                                   r"'negative-up'\], got 'up'"),
        ((np.zeros(N), FS), {"polarity": "Physical"}, r"got 'Physical'; did you mean 'physical'\?"),
        ((np.zeros(N, np.int16), FS), {}, r"float32 or float64 .* got dtype int16"),
        ((np.float64(1.0), FS), {}, r"traces must have shape \(\.\.\., n_samples\)"),
        ((np.zeros(N), FS), {"onset_threshold_mv": 0.0}, r"onset_threshold_mv must be a finite number > 0 mV, got 0.0"),
        ((np.zeros(N), FS), {"n_threads": 0}, r"n_threads must be None or an integer >= 1, got 0"),
    ])
    def test_raises(self, args, kwargs, match):
        with pytest.raises(ValueError, match=match):
            measure_cmap(*args, **kwargs)


class TestCmapMeasures:
    def test_empty(self):
        m = CmapMeasures(**{f: np.zeros(0) for f in CMAP_MEASURE_FIELDS})
        assert len(m) == 0 and m.shape == (0,) and m.to_records() == []

    def test_basic(self):
        cols = {f: np.arange(3.0) for f in CMAP_MEASURE_FIELDS}
        cols["present"] = np.array([True, False, True])
        cols["flags"] = np.array([0, int(F.ABSENT | F.LOW_SNR), 0])
        m = CmapMeasures(**cols)
        assert len(m) == 3 and repr(m) == "CmapMeasures(shape=(3,), present=2/3)"
        assert m[1:].shape == (2,) and float(m[2].onset_latency_ms) == 2.0
        assert m.to_records()[1]["flags"] == ["ABSENT", "LOW_SNR"]
        assert m.to_records()[1]["present"] is False
        with pytest.raises(ValueError, match="read-only"):
            m.noise_mv[0] = 5.0
        cols["noise_mv"][0] = 5.0  # the caller's own array stays writable
        assert m.noise_mv[0] == 5.0  # (the measures are a read-only view of it)

    def test_raises(self):
        cols = {f: np.zeros(3) for f in CMAP_MEASURE_FIELDS}
        cols["flags"] = np.zeros(2, dtype=int)
        with pytest.raises(ValueError, match=r"field 'flags' has shape \(2,\); .* \(3,\)"):
            CmapMeasures(**cols)
        single = CmapMeasures(**{f: np.float64(0.0) for f in CMAP_MEASURE_FIELDS})
        with pytest.raises(TypeError, match="single trace"):
            len(single)


def test_docstring_examples():
    result = doctest.testmod(measure_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


def test_stale_kernel_cache_files_are_deleted_and_fresh_ones_kept(tmp_path, monkeypatch):
    """numba keys a cached function on its own file: the kernel deletes cache files older than
    any module compiled into it (editing _onset.py alone must not leave a stale kernel)."""
    import os
    from pathlib import Path

    from nerveconduct.measure import _kernels

    monkeypatch.setattr(_kernels.measure_rows._cache, "_cache_path", str(tmp_path))
    here = Path(_kernels.__file__).parent
    newest = max(os.stat(p).st_mtime for p in
                 [here / f"{m}.py" for m in _kernels.DEPENDENCIES] + [here.parent / "flags.py"])
    files = {}
    for name, mtime in (("stale", newest - 1.0), ("fresh", newest + 1.0)):
        for mod in ("_kernels", "_onset"):
            stem = f"{mod}.{name}-10.py311"
            files[(mod, name)] = [tmp_path / f"{stem}.nbi", tmp_path / f"{stem}.1.nbc",
                                  tmp_path / f"{stem}.2.nbc"]
            for p in files[(mod, name)]:
                p.write_bytes(b"x")
                os.utime(p, (mtime, mtime))
    other = tmp_path / "_fwave_kernel.f-1.py311.nbi"  # not a kernel dependency: left alone
    other.write_bytes(b"x")
    os.utime(other, (0, 0))
    _kernels._invalidate_stale_cache()
    for (mod, name), paths in files.items():
        assert all(p.exists() is (name == "fresh") for p in paths), (mod, name)
    assert other.exists()
    assert set(_kernels.DEPENDENCIES) >= {"_kernels", "_onset", "_trace_ops", "_handset", "_kernel_layout"}
