"""The analysis core: one table, and views that are copies of its rows.

Every field of :class:`NerveResult`, :class:`SiteResult`, :class:`SegmentResult` and
:class:`LimitComparison` is a column of the :class:`NerveTable` it came from, with the same
value; the same nerve gives the same table from studies, from an archive chunk and from its
values typed in.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from _golden import varied_studies
from nerveconduct.analysis import (
    LIMIT_COLUMNS,
    LimitComparison,
    NerveResult,
    NerveTable,
    SegmentResult,
    SiteResult,
    analyze_table,
    analyze_values,
    table_from_chunk,
    views,
)
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.limits import NormalLimits

#: View fields whose column has another name (view field -> table column).
RENAMED = {SiteResult: {"canonical_name": "canonical"}, SegmentResult: {"name": "segment"}}
#: Fields that are not values of the table: the nested parts and the links back to it.
NOT_COLUMNS = {"sites", "segments", "limits", "study", "table", "index"}


@pytest.fixture(scope="module")
def table() -> NerveTable:
    return analyze_table(varied_studies())


def _same(view_value, column_value) -> bool:
    if isinstance(column_value, (float, np.floating)) and math.isnan(column_value):
        return view_value is None or (isinstance(view_value, float) and math.isnan(view_value))
    if isinstance(column_value, np.ndarray):
        return list(view_value) == column_value.tolist()
    return view_value == column_value


def test_every_view_field_is_a_column_with_the_same_value(table):
    results = views(table)
    nv, site, seg = table.nerve, table.site, table.segment
    checked = 0
    for j, r in enumerate(results):
        assert (r.table, r.index) == (table, j)
        for f in dataclasses.fields(NerveResult):
            if f.name in NOT_COLUMNS:
                continue
            value = getattr(r, f.name)
            if f.name == "f_wave_latency_ms" and not nv["f_wave_studied"][j]:
                assert value is None
                continue
            assert _same(value, nv[f.name][j]), f.name
            checked += 1
        for k, s in zip(range(*table.site_rows(j).indices(len(site["name"]))), r.sites):
            for f in dataclasses.fields(SiteResult):
                column = RENAMED[SiteResult].get(f.name, f.name)
                assert _same(getattr(s, f.name), site[column][k]), f.name
                checked += 1
        for k, g in zip(range(*table.segment_rows(j).indices(len(seg["index"]))), r.segments):
            for f in dataclasses.fields(SegmentResult):
                column = RENAMED[SegmentResult].get(f.name, f.name)
                assert _same(getattr(g, f.name), seg[column][k]), f.name
                checked += 1
        for key, cmp in r.limits.items():
            assert key in LIMIT_COLUMNS
            for f in dataclasses.fields(LimitComparison):
                if f.name == "measure":
                    assert cmp.measure == LIMIT_COLUMNS[key][3]
                    continue
                if f.name == "abnormal":
                    code = int(nv[f"{key}_abnormal"][j])
                    assert cmp.abnormal == (None if code < 0 else bool(code))
                    continue
                assert _same(getattr(cmp, f.name), nv[f"{key}_{f.name}"][j]), (key, f.name)
            checked += 1
    assert checked > 5_000


def test_views_hold_no_arithmetic_of_their_own():
    """The view classes define no method that computes a value (only the table link)."""
    for cls in (NerveResult, SiteResult, SegmentResult, LimitComparison):
        own = {name for name, value in vars(cls).items()
               if callable(value) and not name.startswith("__")}
        assert own == set(), (cls.__name__, own)


def test_the_same_nerve_from_studies_from_a_chunk_and_from_values(tmp_path):
    studies = varied_studies()[:40]
    from_studies = analyze_table(studies)
    path = write_archive(tmp_path / "a.h5", studies, dtype="float32")  # as simulated
    with open_archive(path) as arc:
        from_chunk = table_from_chunk(arc.read_chunk(0, 40), NormalLimits.default())
    for part in ("nerve", "site", "segment"):
        a, b = getattr(from_studies, part), getattr(from_chunk, part)
        for key in a:
            if key == "nerve_index":
                continue
            if a[key].dtype == object:
                assert a[key].tolist() == b[key].tolist(), (part, key)
            else:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{part}.{key}")
    # a nerve's measures typed in give the same segment values
    r = views(from_studies)[0]
    typed = analyze_values(
        r.nerve_label, studies[0].sites, [s.onset_latency_ms for s in r.sites],
        [s.negative_peak_amplitude_mv for s in r.sites],
        negative_peak_area_mv_ms=[s.negative_peak_area_mv_ms for s in r.sites],
        negative_peak_duration_ms=[s.negative_peak_duration_ms for s in r.sites],
        cmap_duration_ms=[s.cmap_duration_ms for s in r.sites],
        peak_to_peak_amplitude_mv=[s.peak_to_peak_amplitude_mv for s in r.sites],
        side=r.side, muscle=r.muscle, f_wave_latency_ms=r.f_wave_latency_ms,
        temperature_c=r.temperature_c, low_frequency_filter_hz=r.low_frequency_filter_hz,
        study_id=r.study_id)
    for a, b in zip(typed.segments, r.segments):
        assert _same(a.conduction_velocity_m_s, b.conduction_velocity_m_s)
        assert _same(a.area_drop_pct, b.area_drop_pct) and a.flags == b.flags
    assert typed.terminal_latency_index == r.terminal_latency_index or \
        (math.isnan(typed.terminal_latency_index) and math.isnan(r.terminal_latency_index))
    assert typed.flags == r.flags


def test_take_and_concat_give_back_the_same_rows(table):
    idx = [5, 0, 17, 3]
    part = table.take(idx)
    whole = NerveTable.concat([table.take(idx[:2]), table.take(idx[2:])])
    for t in (part, whole):
        assert t.nerve["study_id"].tolist() == [table.nerve["study_id"][i] for i in idx]
        for k, j in enumerate(idx):
            a, b = views(t)[k], views(table)[j]
            assert repr(a) == repr(b)  # every field (NaN included) shown alike
    empty = analyze_table([])
    assert empty.n_nerves == 0 and views(empty) == []


def test_a_hand_made_result_is_refused_by_the_criteria():
    from nerveconduct.criteria import evaluate_nerve
    from nerveconduct.model import Site

    r = analyze_values("median", [Site("wrist", 70), Site("elbow", 220)], [4.1, 9.1], [6.0, 5.4])
    with pytest.raises(TypeError, match="without its analysis table"):
        evaluate_nerve(dataclasses.replace(r, table=None), "efns-pns-2010-mmn")
