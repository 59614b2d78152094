"""Results are never inf, never an unflagged NaN from overflow, and unit errors are flagged.

Values at the edge of float range (a latency of 5e-324 ms, a distance of 1e-308 mm, an F-wave
latency of 1e308 ms) make a quotient overflow: the value is left out (NaN) and a flag says
why. A CMAP above 100 mV, or traces quieter than any amplifier's noise, are unit errors of
the export: flagged, never read as a finding.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve, analyze_values
from nerveconduct.model import NerveStudy, Site
from nerveconduct.serialize import nerve_record

SITES = [Site("wrist", 70.0), Site("elbow", 220.0)]


def _no_inf(record) -> None:
    text = json.dumps(record, allow_nan=True)
    assert "Infinity" not in text


def test_tli_overflow_from_a_denormal_latency_is_flagged():
    r = analyze_values("median", SITES, [5e-324, 5.0], [6.0, 5.4])
    assert math.isnan(r.terminal_latency_index)
    assert any("overflowed" in f for f in r.flags)
    _no_inf(nerve_record(r))


def test_cv_overflow_from_a_denormal_latency_difference_is_flagged():
    r = analyze_values("median", SITES, [4.0, 4.0 + 5e-324], [6.0, 5.4])
    seg = r.segments[0]
    assert math.isnan(seg.conduction_velocity_m_s) or math.isfinite(seg.conduction_velocity_m_s)
    _no_inf(nerve_record(r))


def test_limit_percentage_overflow_is_flagged_with_a_reason():
    r = analyze_values("median", SITES, [4.0, 9.0], [6.0, 5.4], f_wave_latency_ms=1e308)
    cmp = r.limits["f_wave_latency"]
    assert cmp.pct_of_limit is None and "overflowed" in cmp.reason
    assert any("normal limit overflowed" in f for f in r.flags)
    _no_inf(nerve_record(r))


@pytest.mark.parametrize("amplitude_mv, flagged", [(99.0, False), (100.0, False), (100.5, True)])
def test_cmap_amplitude_above_100_mv_is_a_unit_error(amplitude_mv, flagged):
    r = analyze_values("median", SITES, [4.0, 9.0], [amplitude_mv, 5.0])
    assert any("check the unit" in f for f in r.flags) is flagged


def test_traces_quieter_than_any_amplifier_are_flagged_not_read_as_absent_findings():
    quiet = NerveStudy("median", "right", "APB", SITES, np.full((2, 500), 1e-6), 20000.0,
                       stimulus_sample=100)
    r = analyze_nerve(quiet)
    assert not r.sites[0].present
    assert any("quieter than any amplifier" in f for f in r.flags)
    noisy = NerveStudy("median", "right", "APB", SITES,
                       np.random.default_rng(0).normal(0, 0.005, (2, 500)), 20000.0, stimulus_sample=100)
    assert not any("quieter" in f for f in analyze_nerve(noisy).flags)


def test_a_palm_site_is_never_the_dml_site():
    """Palm → muscle skips the carpal tunnel: the DML (and TLI, residual latency) are read at
    the most distal non-palm site, with its distance from the active electrode."""
    r = analyze_values("median", [Site("palm", 40), Site("wrist", 70), Site("elbow", 230)],
                       [2.5, 3.5, 7.5], [6.5, 6.0, 2.4])
    assert r.distal_motor_latency_ms == 3.5 == r.limits["distal_motor_latency"].value
    cv = 230 / (7.5 - 3.5)
    assert r.terminal_latency_index == pytest.approx(110 / (cv * 3.5))
    assert r.residual_latency_ms == pytest.approx(3.5 - 110 / cv)
    plain = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
    assert plain.terminal_latency_index == pytest.approx(70 / (44 * 4.1))
