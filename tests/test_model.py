"""Nerve model: Site, NerveStudy validation, canonical names and entrapment sites."""

import math
import re

import numpy as np
import pytest

from nerveconduct.model import InvalidStudyError, NerveStudy, Site
from nerveconduct.names import canonical_nerve, canonical_site, entrapment_site, is_erbs_point


def _study(**overrides):
    kwargs = dict(nerve="median", side="right", muscle="APB",
                  sites=[Site("wrist", 70.0), Site("elbow", 230.0)],
                  traces=np.zeros((2, 100)), sampling_rate_hz=20000.0)
    kwargs.update(overrides)
    return NerveStudy(kwargs.pop("nerve"), kwargs.pop("side"), kwargs.pop("muscle"),
                      kwargs.pop("sites"), kwargs.pop("traces"), kwargs.pop("sampling_rate_hz"), **kwargs)


class TestNerveStudy:
    def test_basic(self):
        st = _study(stimulus_sample=10, temperature_c=33)
        assert st.n_sites == 2
        assert st.cumulative_distances_mm == (70.0, 300.0)
        assert st.canonical_nerve == "median"
        assert st.traces.dtype == np.float64 and st.temperature_c == 33.0

    def test_unknown_distance_propagates(self):
        st = _study(sites=[Site("wrist", None), Site("elbow", 230.0)])
        assert st.cumulative_distances_mm == (None, None)

    def test_cumulative_distances_one_rule_for_motor_and_sensory(self):
        # The distal distance plus each segment (mm), as Python floats, None from the first
        # unknown distance on: the same for a motor and a sensory study of the same sites.
        from nerveconduct.model import SensoryStudy

        sites = [Site("wrist", np.float32(70.5)), Site("elbow", 230), Site("axilla", None),
                 Site("erb", 180.0)]
        motor = _study(sites=sites, traces=np.zeros((4, 100)))
        sensory = SensoryStudy("median", "right", sites, np.zeros((4, 100)), 20000.0)
        assert motor.cumulative_distances_mm == (70.5, 300.5, None, None)
        assert sensory.cumulative_distances_mm == motor.cumulative_distances_mm
        assert all(type(d) is float for d in motor.cumulative_distances_mm[:2])

    def test_site_count_vs_trace_count(self):
        with pytest.raises(InvalidStudyError, match="2 sites but 3 traces"):
            _study(traces=np.zeros((3, 100)))

    @pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
    def test_non_positive_or_non_finite_distance(self, bad):
        with pytest.raises(InvalidStudyError, match=r"site 1 \('elbow'\) distance_mm must be None or a "
                           r"finite number > 0 mm, got " + re.escape(repr(bad))):
            _study(sites=[Site("wrist", 70.0), Site("elbow", bad)])

    @pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf, 0.5, 1.1e7, 5e-324, 1e300])
    def test_non_finite_rate(self, rate):
        with pytest.raises(InvalidStudyError, match=r"sampling_rate_hz must be a finite number "
                           r"in \[1, 1e\+07\] Hz, got " + re.escape(repr(rate))):
            _study(sampling_rate_hz=rate)

    @pytest.mark.parametrize("rate", [1, 1e7])
    def test_rate_at_the_bounds(self, rate):
        assert _study(sampling_rate_hz=rate).sampling_rate_hz == rate

    @pytest.mark.parametrize(("key", "bad", "match"), [
        ("temperature_c", "warm", r"temperature_c must be None or a finite number in \[0, 50\] °C, "
                                  r"got 'warm'"),
        ("temperature_c", math.nan, r"temperature_c must be .* got nan"),
        ("temperature_c", math.inf, r"temperature_c must be .* got inf"),
        ("temperature_c", 50.5, r"temperature_c must be .* got 50.5"),
        ("temperature_c", True, r"temperature_c must be .* got True"),
        ("low_frequency_filter_hz", "2Hz", r"low_frequency_filter_hz must be None or a finite "
                                           r"number in \[0, 100000\] Hz, got '2Hz'"),
        ("low_frequency_filter_hz", -math.inf, r"low_frequency_filter_hz .* got -inf"),
        ("low_frequency_filter_hz", math.nan, r"low_frequency_filter_hz .* got nan"),
        ("f_wave_latency_ms", "late", r"f_wave_latency_ms must be None or a finite number in "
                                      r"\(0, 1000\] ms, got 'late'"),
        ("f_wave_latency_ms", math.inf, r"f_wave_latency_ms .* got inf"),
        ("f_wave_latency_ms", 0.0, r"f_wave_latency_ms .* got 0.0"),
    ])
    def test_bad_recording_settings(self, key, bad, match):
        with pytest.raises(InvalidStudyError, match=match):
            _study(**{key: bad})

    def test_recording_settings(self):
        st = _study(temperature_c=0, low_frequency_filter_hz=np.float32(2.0), f_wave_latency_ms=28)
        assert (st.temperature_c, st.low_frequency_filter_hz, st.f_wave_latency_ms) == (0.0, 2.0, 28.0)
        assert math.isnan(_study(f_wave_latency_ms=math.nan).f_wave_latency_ms)  # sought, absent
        assert _study(f_wave_latency_ms=None).f_wave_latency_ms is None  # not studied

    def test_stimulus_outside_trace(self):
        with pytest.raises(InvalidStudyError, match=r"stimulus_sample must be an integer in \[0, 99\], got 100"):
            _study(stimulus_sample=100)

    def test_bad_polarity_and_shape(self):
        with pytest.raises(InvalidStudyError, match=r"polarity must be one of \['physical', 'negative-up'\], got 'upside-down'"):
            _study(polarity="upside-down")
        with pytest.raises(InvalidStudyError, match=r"shape \(n_sites, n_samples\)"):
            _study(traces=np.zeros(100))

    def test_every_problem_listed_at_once(self):
        with pytest.raises(InvalidStudyError) as info:
            _study(sites=[Site("wrist", -1.0)], traces=np.zeros((2, 10)), sampling_rate_hz=-5,
                   polarity="x")
        assert len(info.value.problems) == 4
        for text in ("distance_mm", "1 sites but 2 traces", "sampling_rate_hz", "polarity"):
            assert text in str(info.value)


class TestNames:
    @pytest.mark.parametrize("alias,canon", [
        ("peroneal", "fibular"), ("Common Peroneal", "fibular"), ("FIBULAR", "fibular"),
        ("Right Median Motor", "median"), ("posterior tibial", "tibial"), ("Ulnar ADM", "ulnar"),
    ])
    def test_nerve_aliases(self, alias, canon):
        assert canonical_nerve(alias) == canon

    def test_unknown_names(self):
        assert canonical_nerve("saphenous") is None
        assert canonical_site("mid-thigh") is None

    @pytest.mark.parametrize("alias,canon", [
        ("Wrist : ", "wrist"), ("B.Elbow", "below elbow"), ("Above Elbow", "above elbow"),
        ("Erb", "erb's point"), ("Erb's point", "erb's point"), ("Fib Head", "below fibular head"),
        ("Knee", "popliteal fossa"), ("Ankle", "ankle"),
    ])
    def test_site_aliases(self, alias, canon):
        assert canonical_site(alias) == canon

    @pytest.mark.parametrize("nerve,distal,proximal,expected", [
        ("ulnar", "below elbow", "above elbow", "ulnar across the elbow"),
        ("ulnar", "wrist", "above elbow", "ulnar across the elbow"),
        ("ulnar", "wrist", "below elbow", None),
        ("ulnar", "palm", "wrist", "ulnar at the wrist"),
        ("median", "palm", "wrist", "median across the wrist (carpal tunnel)"),
        ("median", "wrist", "elbow", None),
        ("fibular", "below fibular head", "popliteal fossa", "fibular across the fibular head"),
        ("fibular", "ankle", "below fibular head", None),
        ("tibial", "ankle", "popliteal fossa", None),
        (None, "wrist", "elbow", None),
    ])
    def test_entrapment_segments(self, nerve, distal, proximal, expected):
        assert entrapment_site(nerve, distal, proximal) == expected

    def test_erbs_point(self):
        assert is_erbs_point("erb's point") and not is_erbs_point("axilla")


def test_metadata_must_be_a_mapping():
    import numpy as np
    import pytest

    from nerveconduct.model import InvalidStudyError, NerveStudy, Site

    with pytest.raises(InvalidStudyError, match="metadata must be a mapping"):
        NerveStudy("median", "left", "APB", [Site("wrist", 70.0)], np.zeros((1, 10)), 20000.0,
                   metadata=[1, 2])
    ok = NerveStudy("median", "left", "APB", [Site("wrist", 70.0)], np.zeros((1, 10)), 20000.0,
                    metadata={"a": 1})
    assert ok.metadata == {"a": 1}
