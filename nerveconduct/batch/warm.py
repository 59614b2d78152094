"""Warm-up imported once by the fork server that starts the batch's worker processes (private).

Importing this module imports everything a batch task needs and loads the compiled
measurement kernel (numba, from its on-disk cache) by measuring one tiny trace of each
floating type (float32, as archives store traces, and float64). The local
process pool (:func:`nerveconduct.batch.executors.pool_backend`) asks the ``forkserver`` start
method to preload it, so every worker forked afterwards starts ready instead of paying the
imports and the kernel load itself (seconds per worker). It starts no thread, so forking
after it is safe.
"""

from __future__ import annotations

import numpy as np
import pyarrow

from . import task  # noqa: F401  (imported for its dependencies: h5py, criteria, ...)
from ..measure.cmap import measure_cmap

for dtype in (np.float32, np.float64):  # archives store float32 traces: both kernels loaded
    measure_cmap(np.zeros((1, 64), dtype=dtype), 20000.0, stimulus_sample=32, n_threads=1)
pyarrow.array(np.zeros(1))  # a first array imports pandas (~0.3 s): here, not in each worker
