"""Seeded fuzzing of every reader: whatever the bytes, a named error or finite studies.

The bundled samples of every format (``data/samples``), with a fake patient planted in them
(name ``Testpatient_Quentin``, ID ``99887766``), are mutated deterministically: bit flips,
truncation, duplicated/deleted/swapped lines, huge fields, stray quotes, non-finite and
overflowing numbers, junk bytes, deeply nested sheets, bad EDF header fields and notes; a
small archive gets wrong-typed datasets, bad attributes and huge declared shapes.

Oracles, for every input:

* only the io errors (:class:`NerveConductIOError` subclasses) or the model's
  :class:`InvalidStudyError` escape ``nerveconduct.read``/``read_many``/``open_archive``/
  ``read_chunk``;
* no error message contains the planted name or ID;
* studies read contain no infinite value (traces, rate, distances, temperature, ...) and not
  the planted identifiers.

The default run (~1500 inputs) takes a few seconds; set ``NERVECONDUCT_FUZZ_N`` for a
larger run (e.g. ``NERVECONDUCT_FUZZ_N=20000``) and ``NERVECONDUCT_FUZZ_SEED`` for another
sequence.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import nerveconduct
from nerveconduct.io.archive import open_archive, write_archive
from nerveconduct.io.errors import NerveConductIOError
from nerveconduct.io.read import read_many
from nerveconduct.model import InvalidStudyError, NerveStudy, Site

N_INPUTS = int(os.environ.get("NERVECONDUCT_FUZZ_N", "1500"))
SEED = int(os.environ.get("NERVECONDUCT_FUZZ_SEED", "20251130"))
NAME, PID = "Testpatient_Quentin", "99887766"
ALLOWED = (NerveConductIOError, InvalidStudyError)
TEXT_SAMPLES = ("normal_median.csv", "antimag.csv", "normal_ulnar.txt", "noisy_median.txt",
                "normal_case.json", "mmn_case.toml", "antimag_case.toml")
EDF_SAMPLES = ("mmn_ulnar.edf", "cidp_median.edf")
WAVEFORMS = ("normal_median.csv", "antimag.csv", "normal_ulnar.txt", "noisy_median.txt",
             "mmn_ulnar.edf", "cidp_median.edf")
BAD_NUMBERS = (b"nan", b"inf", b"-inf", b"1e308", b"-1e308", b"1e-320", b"1e999", b"0",
               b"-0", b"1" * 400, b"NaN", b"Infinity", b"5.5.5", b"1e")


def _sample(name: str) -> Path:
    return Path(nerveconduct.sample_path(name))


def _planted(name: str) -> bytes:
    """A sample with the fake patient planted where its format keeps identifiers."""
    data = _sample(name).read_bytes()
    if name.endswith(".csv"):
        return data.replace(b"FAKE^NOT-A-PATIENT", NAME.encode()).replace(
            b"FAKE-000-0000", PID.encode())
    if name.endswith(".txt"):
        first, rest = data.split(b"\n", 1)
        return (first + f'\n"Patient Name","{NAME}"\n"Patient ID","{PID}"\n'.encode() + rest)
    if name.endswith(".edf"):
        return data[:8] + f"{PID} M 01-JAN-1970 {NAME}".encode().ljust(80) + data[88:]
    if name.endswith(".json"):
        return data.replace(b"{", f'{{"notes": "{NAME} {PID}", '.encode(), 1)
    return f'notes = "{NAME} {PID}"\n'.encode() + data  # TOML


# ------------------------------------------------------------------ mutations
def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _text_mutation(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(("flip", "truncate", "dup", "delete", "swap", "huge", "quote",
                       "number", "junk", "nest", "crlf"))
    lines = _lines(data)
    i = rng.randrange(len(lines))
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(out))
            out[k] ^= 1 << rng.randrange(8)
        return kind, bytes(out)
    if kind == "truncate":
        return kind, data[:rng.randrange(len(data))]
    if kind == "dup":
        return kind, b"\n".join(lines[:i] + [lines[i]] * rng.randint(2, 50) + lines[i + 1:])
    if kind == "delete":
        return kind, b"\n".join(lines[:i] + lines[i + 1:])
    if kind == "swap":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return kind, b"\n".join(lines)
    if kind == "huge":
        filler = rng.choice((b"x", b"9", b"1.5,", b" "))
        cut = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:cut] + filler * rng.randint(140_000, 300_000) + lines[i][cut:]
        return kind, b"\n".join(lines)
    if kind == "quote":
        k = rng.randrange(len(data) + 1)
        return kind, data[:k] + b'"' + data[k:]
    if kind == "number":
        spans = [m.span() for m in re.finditer(rb"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?", data)]
        out = data
        for a, b in sorted(rng.sample(spans, min(len(spans), rng.randint(1, 3))),
                           reverse=True):
            out = out[:a] + rng.choice(BAD_NUMBERS) + out[b:]
        return kind, out
    if kind == "junk":
        k = rng.randrange(len(data) + 1)
        junk = rng.choice((b"\xff\xfe", b"\x00", b"\r", b"\xc3", b"\x1a", b"\xef\xbb\xbf"))
        return kind, data[:k] + junk + data[k:]
    if kind == "nest":
        depth = rng.choice((100, 5_000, 100_000))
        k = rng.randrange(len(data) + 1)
        return kind, data[:k] + b"[" * depth + b"{" * 10 + b"]" * depth + data[k:]
    return kind, data.replace(b"\n", b"\r\n")


_EDF_NUMERIC = {"header bytes": (184, 8), "records": (236, 8), "duration": (244, 8),
                "signals": (252, 4)}
BAD_NOTES = (b"nerveconduct [1, 2]", b'nerveconduct "text"', b"nerveconduct {",
             b'nerveconduct {"study": 1.5}', b'nerveconduct {"distance_mm": 1e999}',
             b'nerveconduct {"site": {"a": 1}}', b"Stim left elbow at 5.5.5 cm",
             b"Stimulus x 1e999 mA at 1" + b"0" * 400 + b" cm from recording site",
             b"Temperature 1e400 C", b'nerveconduct {"study": 99999999999}')


def _edf_signal_field(data: bytes, field: int, width: int, signal: int) -> int:
    field_ns = data[252:256].strip()
    ns = int(field_ns) if field_ns.isdigit() and 0 < int(field_ns) < 10 else 2
    offset = 256 + sum(w * ns for w in (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)[:field])
    return offset + width * signal


def _edf_mutation(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(("flip", "flip_header", "truncate", "field", "signal_field", "note",
                       "tal"))
    out = bytearray(data)
    if kind in ("flip", "flip_header"):
        top = 768 if kind == "flip_header" else len(out)
        for _ in range(rng.randint(1, 6)):
            k = rng.randrange(top)
            out[k] ^= 1 << rng.randrange(8)
        return kind, bytes(out)
    if kind == "truncate":
        return kind, data[:rng.randrange(len(data))]
    if kind == "field":
        name, (offset, width) = rng.choice(list(_EDF_NUMERIC.items()))
        out[offset:offset + width] = rng.choice(BAD_NUMBERS)[:width].ljust(width)
        return f"field {name}", bytes(out)
    if kind == "signal_field":  # physical min/max, digital min/max, samples per record
        field, width = rng.choice(((3, 8), (4, 8), (5, 8), (6, 8), (8, 8), (2, 8)))
        offset = _edf_signal_field(data, field, width, rng.randrange(2))
        out[offset:offset + width] = rng.choice(BAD_NUMBERS + (b"uV", b"kV"))[:width].ljust(
            width)
        return f"signal field {field}", bytes(out)
    if kind == "note":
        note = rng.choice(BAD_NOTES)
        start = data.find(b"nerveconduct {")
        end = data.find(b"\x14\x00", start)
        if start < 0 or end < 0:  # an earlier mutation took the note away
            return "note (none left)", data
        note = note[:end - start]
        out[start:end + 2] = note + b"\x14\x00" + b"\x00" * (end - start - len(note))
        return "note", bytes(out)
    start = max(0, data.find(b"\x14\x14\x00") - 1)  # the first time-keeping TAL onset
    out[start] = rng.choice(b"x-+9")
    return kind, bytes(out)


# ------------------------------------------------------------------ oracles
def _finite_study(study: NerveStudy) -> list[str]:
    problems = []
    if np.isinf(np.asarray(study.traces, dtype=float)).any():
        problems.append("inf in traces")
    for name in ("sampling_rate_hz", "temperature_c", "low_frequency_filter_hz"):
        value = getattr(study, name)
        if value is not None and math.isinf(value):
            problems.append(f"{name} is inf")
    for site in study.sites:
        for value in (site.distance_mm, site.stimulus_intensity_ma):
            if value is not None and math.isinf(value):
                problems.append(f"site {site.name!r}: inf")
    text = repr(study) + repr(study.metadata) + repr(study.sites)
    if NAME in text or PID in text:
        problems.append("planted identifier in the study")
    return problems


def _check(path: Path, what: str, failures: list[str]) -> bool:
    """Read ``path``; record what breaks an oracle. Returns whether it read."""
    try:
        studies = nerveconduct.read(path)
    except ALLOWED as exc:
        if NAME in str(exc) or PID in str(exc):
            failures.append(f"{what}: identifier in {type(exc).__name__}: {exc}")
        return False
    except Exception as exc:  # noqa: BLE001 - the oracle: anything else is a finding
        failures.append(f"{what}: {type(exc).__name__} escaped: {str(exc)[:200]}")
        return False
    for study in studies:
        failures += [f"{what}: {p}" for p in _finite_study(study)]
    return True


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Sample waveform files (what the sheets name) next to the mutated inputs."""
    out = tmp_path_factory.mktemp("fuzz")
    for name in WAVEFORMS:
        shutil.copy(_sample(name), out / name)
    return out


def test_planted_samples_read(folder):
    for name in TEXT_SAMPLES + EDF_SAMPLES:
        p = folder / f"planted_{name}"
        p.write_bytes(_planted(name))
        assert nerveconduct.read(p), name
        failures: list[str] = []
        assert _check(p, name, failures) and not failures


def test_fuzz_text_and_edf(folder):
    rng = random.Random(SEED)
    bases = {name: _planted(name) for name in TEXT_SAMPLES + EDF_SAMPLES}
    failures: list[str] = []
    written: list[Path] = []
    n_read = 0
    for k in range(N_INPUTS):
        name = rng.choice(list(bases))
        mutate = _edf_mutation if name.endswith(".edf") else _text_mutation
        kind, data = mutate(rng, bases[name])
        if rng.random() < 0.2:  # a second mutation on top
            kind2, data = mutate(rng, data)
            kind += "+" + kind2
        path = folder / f"m{k:05d}{Path(name).suffix}"
        path.write_bytes(data)
        n_read += _check(path, f"input {k} ({name}, {kind}, seed {SEED})", failures)
        if k % 7 == 0:
            written.append(path)
        else:
            path.unlink()
    assert not failures, f"{len(failures)} oracle failures, first: " + "\n".join(failures[:8])
    assert 0 < n_read < N_INPUTS  # both outcomes are exercised
    studies, bad = read_many(written)
    assert all(isinstance(e, ALLOWED) for _, e in bad)
    assert not any(NAME in str(e) or PID in str(e) for _, e in bad)
    assert not any(_finite_study(s) for s in studies)


# ------------------------------------------------------------------ archives
def _studies(n: int) -> list[NerveStudy]:
    rng = np.random.default_rng(7)
    return [NerveStudy("ulnar", "left", "ADM", [Site(x, 70.0 + k) for k, x in
                                               enumerate(("wrist", "elbow", "axilla")[:m])],
                       rng.normal(size=(m, 64)), 10_000.0, stimulus_sample=3,
                       study_id=f"s{i}", metadata={"note": "x"})
            for i, m in enumerate(rng.integers(1, 4, size=n))]


def _archive_mutation(rng: random.Random, f: h5py.File) -> str:
    group = rng.choice(("nerves", "sites"))
    name = rng.choice(sorted(f[group]))
    full = f"{group}/{name}"
    ds = f[full]
    kind = rng.choice(("dtype", "scalar", "length", "attr", "values", "huge_width",
                       "huge_rows", "bytes", "inf", "2d"))
    if kind in ("dtype", "scalar", "2d"):
        n = ds.shape[0]
        data = {"dtype": rng.choice((np.arange(n, dtype=float), np.array([b"a"] * n),
                                     np.full(n, 1e300))),
                "scalar": np.float64(3),
                "2d": np.zeros((n, 2), dtype=ds.dtype if ds.dtype.kind in "iuf" else float),
                }[kind]
        del f[full]
        f[full] = data
    elif kind == "length" and ds.chunks:
        ds.resize((max(0, ds.shape[0] + rng.choice((-2, -1, 1, 5)),),))
    elif kind == "attr":
        key = rng.choice(("n_nerves", "n_traces", "format_version", "format"))
        f.attrs[key] = rng.choice(("abc", 2.5, -1, 10 ** 12, "1.x", np.array([1, 2]), b"\xff"))
        return f"attr {key}"
    elif kind == "values" and ds.dtype.kind in "iuf":
        i = rng.randrange(max(1, ds.shape[0]))
        info = np.iinfo(ds.dtype) if ds.dtype.kind in "iu" else np.finfo(ds.dtype)
        ds[i] = rng.choice((info.min, info.max, 0, 1, ds.dtype.type(2)))
    elif kind == "huge_width":
        n = f["traces"].shape[0]
        del f["traces"]
        f.create_dataset("traces", shape=(n, rng.choice((10 ** 6, 10 ** 10, 2 ** 40))),
                         maxshape=(None, None), chunks=(1, 1024), dtype="float32")
        if rng.random() < 0.5:
            f["sites/n_samples"][:] = min(f["traces"].shape[1], 2 ** 31 - 1)
    elif kind == "huge_rows":
        for grp in ("nerves", "sites"):
            for col in f[grp]:
                if f[grp][col].chunks and f[grp][col].ndim == 1:
                    f[grp][col].resize((10 ** 9,))
        if f["traces"].chunks and f["traces"].ndim == 2:
            f["traces"].resize((10 ** 9, f["traces"].shape[1]))
        f.attrs["n_nerves"] = f.attrs["n_traces"] = 10 ** 9
    elif kind == "bytes" and h5py.check_string_dtype(ds.dtype) is not None:
        ds[rng.randrange(ds.shape[0])] = rng.choice((b"\xff\xfe", b"\xc3", b"[" * 5000))
    elif kind == "inf":
        target = f["traces"] if rng.random() < 0.5 else ds
        if target.dtype.kind == "f":
            target[(rng.randrange(target.shape[0]),) + ((0,) if target.ndim == 2 else ())] = \
                rng.choice((np.inf, -np.inf))
    return f"{kind} {full}"


def test_fuzz_archives(folder):
    rng = random.Random(SEED + 1)
    base = write_archive(folder / "base.h5", _studies(12), chunk_rows=4)
    failures: list[str] = []
    n_archives = max(40, N_INPUTS // 25)
    for k in range(n_archives):
        path = folder / f"a{k:04d}.h5"
        shutil.copy(base, path)
        with h5py.File(path, "r+") as f:
            what = " + ".join(_archive_mutation(rng, f) for _ in range(rng.randint(1, 2)))
        what = f"archive {k} ({what}, seed {SEED + 1})"
        _check(path, what, failures)
        try:
            with open_archive(path) as archive:
                for a, b in archive.plan_chunks(5):
                    chunk = archive.read_chunk(a, b)
                    assert not np.isinf(chunk.traces).any()
        except ALLOWED as exc:
            if NAME in str(exc) or PID in str(exc):
                failures.append(f"{what}: identifier in message")
        except Exception as exc:  # noqa: BLE001 - the oracle: anything else is a finding
            failures.append(f"{what}: {type(exc).__name__} escaped: {str(exc)[:200]}")
        path.unlink()
    assert not failures, f"{len(failures)} oracle failures, first: " + "\n".join(failures[:8])
