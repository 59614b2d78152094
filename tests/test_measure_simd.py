"""The SNAP kernel's block extrema in vector instructions (:mod:`nerveconduct.measure._simd`)
equal the scalar ones of :mod:`nerveconduct.measure._trace_ops` exactly."""

from __future__ import annotations

import numba
import numpy as np

from nerveconduct.measure._kernel_layout import BLOCK
from nerveconduct.measure._simd import block_extrema
from nerveconduct.measure._trace_ops import _block_extrema


@numba.njit
def _vector(vs, lo, hi, bmin, bmax):
    block_extrema(vs, lo, hi, bmin, bmax)


def test_vector_block_extrema_equal_the_scalar_ones_for_every_window():
    """Random windows (whole and partial last blocks, a window shorter than one block),
    values with ties, both zeros and a single extreme sample at every position of a block."""
    rng = np.random.default_rng(18)
    n = 300
    cases = []
    for _ in range(400):
        vs = rng.standard_normal(n)
        if rng.random() < 0.3:
            vs = np.round(vs)  # ties and zeros of both signs
            vs[rng.random(n) < 0.2] = -0.0
        lo = int(rng.integers(0, n - 1))
        cases.append((vs, lo, int(rng.integers(lo + 1, n + 1))))
    for k in range(BLOCK):  # the extremes at each lane of a block
        vs = np.zeros(n)
        vs[40 + k], vs[60 + (BLOCK - 1 - k)] = -5.0, 7.0
        cases.append((vs, 40, 40 + 3 * BLOCK))
    for vs, lo, hi in cases:
        nb = (hi - lo + BLOCK - 1) // BLOCK
        want = np.full((2, nb + 1), np.nan)
        got = np.full((2, nb + 1), np.nan)
        _block_extrema(vs, lo, hi, want[0], want[1])
        _vector(vs, lo, hi, got[0], got[1])
        np.testing.assert_array_equal(got[:, :nb], want[:, :nb], err_msg=f"[{lo}, {hi})")
        assert np.isnan(got[:, nb]).all()  # nothing written past the last block
        expect = [vs[lo + b * BLOCK:min(lo + (b + 1) * BLOCK, hi)] for b in range(nb)]
        assert got[0, :nb].tolist() == [float(e.min()) for e in expect]
        assert got[1, :nb].tolist() == [float(e.max()) for e in expect]
