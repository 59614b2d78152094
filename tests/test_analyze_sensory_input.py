"""``analyze_sensory`` takes one SensoryStudy or a sequence of them; anything else is a
TypeError naming what is allowed."""

from __future__ import annotations

import pytest

from nerveconduct.analysis import analyze_sensory
from nerveconduct.io.read import read_case
from nerveconduct.model import SensoryStudy, Site
from nerveconduct.simulate.samples import sample_path
from nerveconduct.simulate.sensory import simulate_snap

ALLOWED = "must be a SensoryStudy or a sequence of SensoryStudy"


def _study(amplitude_uv: float = 30.0) -> SensoryStudy:
    sim = simulate_snap(130.0, amplitude_uv=amplitude_uv, seed=3)
    return SensoryStudy("median", "right", [Site("wrist", 130.0)], sim.traces[None, :],
                        sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample)


def test_one_study_gives_what_a_list_of_one_gives():
    study = _study()
    (one,), (listed,) = analyze_sensory(study), analyze_sensory([study])
    assert isinstance(analyze_sensory(study), list)
    assert one.study is study and one.label == listed.label == "right median"
    assert one.sites[0].amplitude_uv == listed.sites[0].amplitude_uv
    assert abs(one.sites[0].amplitude_uv - 30.0) < 3.0


def test_tuples_and_generators_are_sequences():
    a, b = _study(30.0), _study(10.0)
    for given in ((a, b), (s for s in (a, b))):
        results = analyze_sensory(given)
        assert [r.study for r in results] == [a, b]


@pytest.mark.parametrize("bad", [3, None, "median.csv", b"x", 2.5])
def test_neither_a_study_nor_a_sequence_is_a_type_error(bad):
    with pytest.raises(TypeError, match=ALLOWED) as info:
        analyze_sensory(bad)
    assert type(bad).__name__ in str(info.value)


def test_a_case_or_a_motor_study_says_what_is_allowed():
    case = read_case(sample_path("cidp_two_nerves.h5"))
    with pytest.raises(TypeError, match=f"{ALLOWED}.*Case.sensory.*got Case"):
        analyze_sensory(case)
    with pytest.raises(TypeError, match=f"{ALLOWED}.*got NerveStudy"):
        analyze_sensory(case.studies[0])
    with pytest.raises(TypeError, match=r"studies\[0\] must be a SensoryStudy, got NerveStudy"):
        analyze_sensory([case.studies[0]])
    assert len(analyze_sensory(case.sensory)) == 2
