"""Constants every layer may read: the package version, and the operational definitions
shared by the simulator's ground truth and the measurement core.

Keeping the definitions in one place means the truth the simulator reports and the quantity
``measure_cmap`` estimates are defined by the same numbers.
"""

from __future__ import annotations

__all__ = ["VERSION", "REFERENCE_ONSET_THRESHOLD_MV", "CMAP_DURATION_PEAK_FRACTION"]

#: The package version (``nerveconduct.__version__``), stamped into archives and outputs.
VERSION = "0.1.0"

#: Reference onset: first time the (noiseless) CMAP departs from baseline by this much
#: (20 uV: where a clinician reading at 200 uV/div sees the take-off).
REFERENCE_ONSET_THRESHOLD_MV: float = 0.020

#: A negative peak counts for the CMAP duration (onset of the first negative peak to the
#: return to baseline of the last negative peak, EFNS/PNS 2010 and EAN/PNS 2021) when its
#: depth below baseline is at least this fraction of the main negative-peak amplitude.
CMAP_DURATION_PEAK_FRACTION: float = 0.10
