"""F-wave upper limits: height-banded rows (a lab's table in band form), the default table's
fixed ULN, and which limit each comparison used.

The default table ships no height-adjusted F-wave ULN (no published coefficients or band
limits could be read in a public copy; see :mod:`nerveconduct.limits.motor`), so these tests
use a lab table of invented, clearly test-only numbers in the band form a lab would load:
ulnar F ULN 31 ms below 170 cm and 33 ms from 170 cm (bands: lower inclusive, upper
exclusive).
"""

from __future__ import annotations

import pytest

import nerveconduct as nc
from nerveconduct.limits import LimitRow, NormalLimits

_BANDED = NormalLimits(
    [LimitRow("ulnar", "ADM", 6.0, 3.3, 49.0, 31.0, 70.0, height_max_cm=170.0),
     LimitRow("ulnar", "ADM", 6.0, 3.3, 49.0, 33.0, 70.0, height_min_cm=170.0)],
    name="lab-banded", citation="test only")


def _f_comparison(f_ms: float, height_cm: float | None, limits: NormalLimits | None = None):
    r = nc.analyze_values("ulnar", [nc.Site("wrist", 70)], onset_latency_ms=[3.0],
                          negative_peak_amplitude_mv=[8.0], f_wave_latency_ms=f_ms,
                          height_cm=height_cm, limits=limits)
    return r.limits["f_wave_latency"]


@pytest.mark.parametrize("height_cm, uln_ms", [(169.9, 31.0), (170.0, 33.0), (170.1, 33.0)])
def test_height_band_edge_picks_the_band_uln(height_cm, uln_ms):
    comp = _f_comparison(32.0, height_cm, _BANDED)
    assert comp.limit == uln_ms
    assert comp.abnormal is (uln_ms == 31.0)  # 32 ms: above the short band's ULN only
    assert comp.reason.startswith(f"height-banded ULN {uln_ms:g} ms")
    assert f"{height_cm:g} cm" in comp.reason


@pytest.mark.parametrize("offset_ms, abnormal", [(-0.1, False), (0.0, False), (0.1, True)])
def test_value_at_and_around_the_band_uln(offset_ms, abnormal):
    comp = _f_comparison(33.0 + offset_ms, 180.0, _BANDED)
    assert comp.limit == 33.0
    assert comp.abnormal is abnormal


def test_banded_table_without_height_gives_no_comparison_and_says_why():
    comp = _f_comparison(32.0, None, _BANDED)
    assert comp.limit is None and comp.abnormal is None
    assert "age/height" in comp.reason


@pytest.mark.parametrize("height_cm", [None, 150.0, 195.0])
def test_default_table_keeps_the_fixed_uln_and_says_so(height_cm):
    # Preston & Shapiro ulnar F ULN 32 ms, whatever the height: the default has no formula/bands
    comp = _f_comparison(32.1, height_cm)
    assert comp.limit == 32.0 and comp.abnormal is True
    assert comp.reason == ("fixed ULN 32 ms: no height-adjusted ULN in the normal limits used")


def test_row_formula_wins_over_its_height_band():
    row = LimitRow("ulnar", f_wave_uln_ms=33.0, height_min_cm=170.0,
                   f_wave_uln_intercept_ms=-2.0, f_wave_uln_slope_ms_per_cm=0.2)
    limit, basis = row.f_wave_uln(180.0)
    assert limit == pytest.approx(34.0)
    assert basis.startswith("height-adjusted ULN")


def test_band_that_does_not_hold_the_height_is_not_called_height_banded():
    row = LimitRow("ulnar", f_wave_uln_ms=33.0, height_min_cm=170.0)
    assert row.f_wave_uln(160.0)[1] == "fixed ULN 33 ms: no height-adjusted ULN in the normal limits used"
