"""The second onset detector: departure from the baseline by k x its noise (private).

The default onset of :func:`~nerveconduct.measure.cmap.measure_cmap` walks *back* from the
negative peak to the last crossing of a fixed level (20 uV). This detector works the other
way and on a different principle -- a statistical departure from the baseline, searched
*forward* from the end of the stimulus artifact (Hodges & Bui [1]): the onset is the first
time the smoothed trace leaves the band ``baseline +- max(k x its baseline RMS, level)`` and stays out
of it for a minimum time. The two agree on a clean CMAP; they part when something precedes
the take-off (an early low deflection, a slow artifact tail, a notch walked back past), which
is what a reviewer should look at (:data:`~nerveconduct.flags.MeasureFlag.ONSETS_DISAGREE`).
The band's noise is the smoothed trace's: the baseline RMS / sqrt(box width) (white noise).
With noise the band lies above the default's 20 uV level, so the two onsets also part by the
time the take-off needs to rise from one level to the other. Before they are compared, the
departure is therefore followed back to that level (:func:`departure_at_level`): on
simulated 1-10 mV CMAPs (20 kHz, 996 traces per condition) the flag is set on none at 10, 30
or 50 uV RMS noise (compared as found: 0 %, 5.1 %, 18.9 %), with 50 uV of 50 Hz hum on top
on 2.2 % at 50 uV (was 29.9 %). ``onset_alt_latency_ms`` itself is the departure as found.

Compiled with numba and inlined into the kernel :mod:`nerveconduct.measure._kernels` for
every present response; blocks of the smoothed trace wholly inside the band are passed over
with the kernel's block extrema, so ``onset_alt_latency_ms`` costs little more than the
samples around the take-off. (numba's cache of the kernel does not notice a change to this
module by itself; the kernel module deletes its stale cache files on import,
``_kernels._invalidate_stale_cache``.)

References
----------
.. [1] Hodges PW, Bui BH. A comparison of computer-based methods for the determination of
   onset of muscle activity using surface electromyography. Electroencephalogr Clin
   Neurophysiol 1996;101:511-519 (onset: the signal exceeds the baseline mean by h standard
   deviations of the baseline for a minimum time; h = 1-3 SD compared).
"""

from __future__ import annotations

import numba
import numpy as np

from ._kernel_layout import BLOCK  # samples per block of the kernel's block extrema

__all__ = ["baseline_deviation_onset", "departure_at_level"]

# Its constants (band width, minimum run, disagreement margin) are set in
# :mod:`nerveconduct.measure._cmap_config` with the other method constants: ALT_ONSET_NOISE =
# 3 x noise, ALT_ONSET_RUN_MS = 0.5 ms, ONSET_DISAGREE_MS = 0.3 ms.


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def baseline_deviation_onset(x, vs, sign, rbase, offset, start, stop, band, run, h, lo, bmin, bmax):
    """Onset (fractional sample) by departure from the baseline band; NaN if none.

    Parameters
    ----------
    x : 1-D array
        The raw trace (recorded polarity).
    vs : 1-D array
        The smoothed trace minus the pre-stimulus baseline (physical polarity), valid on
        ``[start, stop)``.
    sign : float
        +1 (physical) or -1 (negative-up): ``sign * x`` is in physical polarity.
    rbase, offset : float
        The response's baseline in physical polarity (mV) and its offset from the
        pre-stimulus baseline ``vs`` refers to (mV).
    start, stop : int
        Search window: from the end of the stimulus artifact to the negative peak.
    band : float
        Half-width of the band (mV): ``max(ALT_ONSET_NOISE x noise, onset level)``
        (constants of :mod:`nerveconduct.measure.cmap`).
    run : int
        Samples the smoothed trace must stay outside the band.
    h : int
        Half-width of the smoother (samples): the raw crossing is sought within ``h + 1``
        samples of the smoothed one.
    lo, bmin, bmax : int, 1-D arrays
        Minimum and maximum of ``vs`` over each BLOCK-sample block from ``lo`` on (the
        kernel's block extrema): a block wholly inside the band is passed over at once.

    Returns
    -------
    float
        The first sample position where the raw trace reaches the band (linear interpolation
        between samples), near the first smoothed run outside it that follows a sample
        inside it. NaN when there is no such run before ``stop`` (e.g. a take-off hidden by
        the artifact: the trace never returns into the band first).
    """
    count = 0
    j = -1
    quiet = -1
    i = start
    b = 0
    while i < stop and j < 0:
        if i >= lo:  # from lo on, block by block; a block wholly inside the band at once
            e = min(lo + (b + 1) * BLOCK, stop)
            if bmin[b] - offset >= -band and bmax[b] - offset <= band:
                count = 0
                quiet = e - 1
                i = e
                b += 1
                continue
            b += 1
        else:
            e = min(lo, stop)
        while i < e:
            if abs(vs[i] - offset) > band:
                count += 1
                if count >= run and quiet >= 0:
                    j = i - run + 1
                    break
            else:
                count = 0
                quiet = i
            i += 1
    if j < 0:
        return np.nan
    k0 = max(j - h - 1, quiet)
    prev = abs(sign * x[k0] - rbase)
    for i in range(k0 + 1, min(j + h + 2, x.shape[0])):
        d = abs(sign * x[i] - rbase)
        if d >= band and prev < band:
            return (i - 1) + (band - prev) / (d - prev)
        prev = d
    # the raw trace stays inside the band near the smoothed crossing: the smoothed one
    a = abs(vs[j - 1] - offset)
    b = abs(vs[j] - offset)
    return (j - 1) + (band - a) / (b - a) if b > a else float(j)



@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def departure_at_level(vs, offset, alt, level, start):
    """The departure found at ``alt``, followed back on the smoothed trace to ``level`` (mV).

    The second detector's band lies above the default's onset level whenever the noise does,
    so on one and the same take-off its onset comes later by the time the take-off needs to
    rise from the level to the band. Before the two are compared (ONSETS_DISAGREE), the
    departure is walked back, in its own direction, to the last sample at most ``level`` from
    the baseline (``offset``, as ``vs``), as the default onset's search does: a take-off both
    found then compares at one level, while a departure the default onset does not reach (an
    earlier deflection that returns to the baseline first) stays where it was found.

    Parameters
    ----------
    vs : 1-D array
        The smoothed trace minus the pre-stimulus baseline (physical polarity, mV).
    offset : float
        The response's baseline in ``vs`` (mV).
    alt : float
        The second detector's onset (fractional sample; NaN: none).
    level : float
        The default onset's level (mV, > 0).
    start : int
        First sample of the search (the end of the stimulus artifact): the walk stops there.

    Returns
    -------
    float
        Fractional sample of the level crossing (linear interpolation); ``alt`` itself when
        the smoothed trace just after it is within ``level`` already; NaN when ``alt`` is.
    """
    if alt != alt:
        return alt
    k = min(int(alt) + 1, vs.shape[0] - 1)
    d = 1.0 if vs[k] - offset > 0.0 else -1.0
    if d * (vs[k] - offset) <= level:
        return alt
    while k > start and d * (vs[k - 1] - offset) > level:
        k -= 1
    if k <= start:
        return float(k)
    a = d * (vs[k - 1] - offset)
    b = d * (vs[k] - offset)
    return min((k - 1) + (level - a) / (b - a), alt)
