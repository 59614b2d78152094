"""Typed segment rows (``serialize/arrow.py``): each row's per-nerve columns (identity, study
id, ``nerve_index``) are its nerve's, whether the rows are one per nerve (two-site nerves: the
nerve columns used as they are) or several per nerve (the nerve columns repeated per row)."""

from __future__ import annotations

import numpy as np
import pytest

from nerveconduct.analysis import analyze_nerves
from nerveconduct.serialize import verdict_cells
from nerveconduct.serialize.arrow import arrow_columns, default_columns

PER_NERVE = ("nerve_index", "source", "study_id", "nerve", "nerve_label", "side", "muscle")


def _studies(which: str) -> list:
    from _golden import varied_studies

    studies = varied_studies()
    if which == "two sites":  # one segment per nerve
        return [s for s in studies if s.n_sites == 2]
    return studies  # one to four sites: no segment, one, or several per nerve


@pytest.mark.parametrize("which", ["two sites", "varied"])
def test_segment_rows_carry_their_nerves_columns(which):
    studies = _studies(which)
    table = analyze_nerves(studies)[0].table
    n = table.n_nerves
    assert n > 10
    columns = ["nerve_index", *default_columns("segment", ["efns-pns-2010-mmn"], False)]
    nerve_index = np.arange(100, 100 + n, dtype=np.int64)
    sources = [f"file-{j % 3}.h5" for j in range(n)]  # several files: per-row sources
    out, nerve_of = arrow_columns(table, "segment", columns, sources=sources,
                                  verdicts=verdict_cells(table, ["efns-pns-2010-mmn"]),
                                  blank_single_site=True, extra={"nerve_index": nerve_index})
    one_each = np.array_equal(nerve_of, np.arange(n))
    assert one_each == (which == "two sites")  # both paths of the per-nerve columns are taken
    expected = {
        "nerve_index": nerve_index.tolist(), "source": sources,
        "study_id": [None if s is None else str(s) for s in table.nerve["study_id"].tolist()],
        **{c: table.nerve[c].tolist() for c in ("nerve", "nerve_label", "side", "muscle")},
    }
    for column in PER_NERVE:
        assert out.column(column).to_pylist() == [expected[column][j] for j in nerve_of.tolist()], column
    # the segment columns themselves: row by row from the table (a blank row for no segment)
    seg_of = {}
    for k, j in enumerate(table.segment["nerve_row"].tolist()):
        seg_of.setdefault(j, []).append(k)
    cv = table.segment["conduction_velocity_m_s"]
    want = [float(cv[k]) if np.isfinite(cv[k]) else None
            for j in sorted(set(nerve_of.tolist())) for k in seg_of.get(j, [None]) if k is not None]
    got = [v for v, j in zip(out.column("conduction_velocity_m_s").to_pylist(), nerve_of.tolist())
           if j in seg_of]
    assert got == want
