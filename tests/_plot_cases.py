"""The nerves the plot tests draw: simulated, analysed once per module (fixtures)."""

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerve
from nerveconduct.model import NerveStudy
from nerveconduct.simulate.nerve import simulate_nerve

SITES = ("wrist", "below elbow", "above elbow")


def study_like(traces, base, **changes):
    kw = dict(nerve=base.nerve, side=base.side, muscle=base.muscle, sites=base.sites,
              traces=traces, sampling_rate_hz=base.sampling_rate_hz,
              stimulus_sample=base.stimulus_sample, study_id=base.study_id)
    kw.update(changes)
    return NerveStudy(kw.pop("nerve"), kw.pop("side"), kw.pop("muscle"), kw.pop("sites"),
                      kw.pop("traces"), kw.pop("sampling_rate_hz"), **kw)


@pytest.fixture(scope="module")
def normal_study():
    return simulate_nerve((70.0, 200.0, 100.0), site_names=SITES, nerve="ulnar", muscle="ADM",
                          seed=3).to_studies()[0]


@pytest.fixture(scope="module")
def block_result(normal_study):
    """Proximal sites scaled to 35%: a 65% amplitude and area drop, no dispersion -> definite CB."""
    scale = np.array([1.0, 0.35, 0.35])[:, None]
    return analyze_nerve(study_like(normal_study.traces * scale, normal_study))


@pytest.fixture(scope="module")
def absent_result(normal_study):
    """The most proximal response replaced by 5 uV noise: absent."""
    traces = normal_study.traces.copy()
    traces[2] = np.random.default_rng(0).normal(0.0, 0.005, traces.shape[1])
    return analyze_nerve(study_like(traces, normal_study))


@pytest.fixture(scope="module")
def antimag_results():
    out = []
    for nerve, muscle, names, dists, seed in (("median", "APB", ("wrist", "elbow"), (70.0, 230.0), 11),
                                              ("ulnar", "ADM", ("wrist", "below elbow"), (70.0, 210.0), 12)):
        st = simulate_nerve(dists, site_names=names, nerve=nerve, muscle=muscle, distal_slowing=2.6,
                            seed=seed).to_studies()[0]
        out.append(analyze_nerve(st))
    return out


def by_gid(ax, gid):
    found = [a for a in ax.get_children() + ax.lines + ax.texts + ax.patches if a.get_gid() == gid]
    return found[0] if found else None


def artist_gids(ax):
    return {a.get_gid() for a in ax.get_children() + ax.lines + ax.texts + ax.patches if a.get_gid()}
