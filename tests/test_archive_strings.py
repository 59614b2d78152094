"""Archive text columns read as NumPy strings, slice by slice (``io/_archive_strings.py``):
the values of h5py's ``asstr()``, its error on undecodable bytes, and one shared ``str`` per
frequent value (what the typed results tables compare by pointer)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nerveconduct.io import _archive_strings
from nerveconduct.io._archive_strings import TextColumn, shared_strings

WORDS = ["wrist", "elbow", "", "Ellenbogen é", "ü" * 300, "x"]


@pytest.fixture()
def strings(tmp_path):
    rng = np.random.default_rng(7)
    columns = {
        "few": rng.choice(np.array(WORDS, dtype=object), 5000),  # repeated words
        "unique": np.array([f"case-{i}" for i in range(5000)], dtype=object),
        "one": np.array(["median"] * 5000, dtype=object),
        # 12 words, each under an eighth of a slice: past the repeated-value pass
        "many": rng.choice(np.array([f"w{i}" for i in range(12)], dtype=object), 5000),
    }
    path = tmp_path / "strings.h5"
    with h5py.File(path, "w") as f:
        for name, values in columns.items():
            f.create_dataset(name, data=values, dtype=h5py.string_dtype("utf-8"), chunks=(512,))
    return path, columns


@pytest.mark.parametrize("numpy_strings", [True, False])
def test_slices_equal_asstr(strings, numpy_strings, monkeypatch):
    if not numpy_strings:  # NumPy 1.x or h5py < 3.14: asstr()
        monkeypatch.setattr(_archive_strings, "NUMPY_STRINGS", None)
    path, columns = strings
    with h5py.File(path, "r") as f:
        for name, values in columns.items():
            column = TextColumn(f[name])
            for a, b in ((0, 5000), (17, 18), (100, 100), (4000, 5000), (1, 4999)):
                got = column[a:b]
                assert got.dtype == object and got.shape == (b - a,), name
                assert got.tolist() == values[a:b].tolist() == f[name].asstr()[a:b].tolist()
                assert all(type(v) is str for v in got.tolist())


def test_frequent_values_are_one_shared_string(strings):
    if _archive_strings.NUMPY_STRINGS is None:
        pytest.skip("needs NumPy >= 2 and h5py >= 3.14")
    path, columns = strings
    with h5py.File(path, "r") as f:
        one = TextColumn(f["one"])[0:2048].tolist()
        assert len({id(v) for v in one}) == 1 and one[0] == "median"
        few = TextColumn(f["few"])[0:2048].tolist()
        assert len({id(v) for v in few}) == len(set(few)) == len(WORDS)  # one object per word
        unique = TextColumn(f["unique"])[0:2048].tolist()
        assert len(set(unique)) == 2048  # distinct values: each its own string, all kept


def test_shared_strings_of_a_mixed_slice():
    values = np.array(["a"] * 6 + ["b"] * 3 + [f"u{i}" for i in range(40)],
                      dtype=np.dtypes.StringDType())
    got = shared_strings(values)
    assert got.tolist() == values.tolist()
    assert got[0] is got[5] and got[6] is got[8]  # frequent: shared
    assert shared_strings(values[:0]).shape == (0,)


def test_undecodable_bytes_raise_as_with_asstr(strings):
    path, _ = strings
    with h5py.File(path, "r+") as f:
        f["few"][3] = b"ok\xff\xfe"
    with h5py.File(path, "r") as f:
        with pytest.raises(UnicodeDecodeError) as err:
            TextColumn(f["few"])[0:10]
        with pytest.raises(UnicodeDecodeError) as expected:
            f["few"].asstr()[0:10]
        assert (err.value.reason, err.value.start) == (expected.value.reason, expected.value.start)
        assert TextColumn(f["few"])[4:10].tolist() == f["few"].asstr()[4:10].tolist()
