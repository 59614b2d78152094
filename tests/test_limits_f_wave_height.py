"""Height and the default F-wave limits: no height-adjusted ULN ships, the fixed ULN applies.

The default table (Preston & Shapiro, 3rd ed. 2013; recalled) carries no height-adjusted or
height-banded F-wave ULN because no published source of one could be read (the sources
checked are listed in :mod:`nerveconduct.limits.motor` and ``docs/criteria.md``). These tests
pin that state for all four nerves and for short, average and tall patients, so that shipping
height-adjusted numbers is a deliberate change that updates them; the height mechanism itself
(formula, bands) is tested in ``test_f_wave_limits.py`` and ``test_fwave_core.py``.
"""

from __future__ import annotations

import pytest

import nerveconduct as nc
from nerveconduct.limits import NormalLimits

#: Preston & Shapiro fixed F-wave ULNs (ms) of the default table, by nerve.
_FIXED_ULN_MS = {"median": 31.0, "ulnar": 32.0, "fibular": 56.0, "tibial": 56.0}
_DISTAL_SITE = {"median": ("wrist", 70.0), "ulnar": ("wrist", 70.0),
                "fibular": ("ankle", 90.0), "tibial": ("ankle", 90.0)}


@pytest.mark.parametrize("nerve", sorted(_FIXED_ULN_MS))
def test_default_rows_carry_no_height_adjusted_f_wave_uln(nerve):
    row = NormalLimits.default().lookup(nerve)
    assert row.f_wave_uln_ms == _FIXED_ULN_MS[nerve]
    assert row.f_wave_uln_intercept_ms is None and row.f_wave_uln_slope_ms_per_cm is None
    assert not row.banded_by("height")


@pytest.mark.parametrize("height_cm", [None, 140.0, 175.0, 210.0])
@pytest.mark.parametrize("nerve", sorted(_FIXED_ULN_MS))
def test_default_f_wave_uln_is_the_fixed_one_whatever_the_height(nerve, height_cm):
    limit_ms, basis = NormalLimits.default().lookup(nerve, height_cm=height_cm).f_wave_uln(height_cm)
    assert limit_ms == _FIXED_ULN_MS[nerve]
    assert basis == (f"fixed ULN {_FIXED_ULN_MS[nerve]:g} ms: no height-adjusted ULN in the "
                     "normal limits used")


@pytest.mark.parametrize("offset_ms, abnormal", [(-0.1, False), (0.0, False), (0.1, True)])
@pytest.mark.parametrize("nerve", ["fibular", "tibial"])
def test_preston_shapiro_lower_limb_f_uln_56_ms_for_a_tall_patient(nerve, offset_ms, abnormal):
    # a 200 cm patient is still held to the fixed 56 ms: at the ULN normal, above it abnormal
    site, distance_mm = _DISTAL_SITE[nerve]
    result = nc.analyze_values(nerve, [nc.Site(site, distance_mm)], onset_latency_ms=[4.0],
                               negative_peak_amplitude_mv=[6.0],
                               f_wave_latency_ms=56.0 + offset_ms, height_cm=200.0)
    comparison = result.limits["f_wave_latency"]
    assert comparison.limit == 56.0
    assert comparison.abnormal is abnormal
    assert comparison.reason.startswith("fixed ULN 56 ms: no height-adjusted ULN")
