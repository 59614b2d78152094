"""Seeded fuzzing of the command line and the API: named errors only, nothing leaks.

The CLI part runs every command in-process (click's ``CliRunner``) on mutated sample files
(``nerveconduct.sample_path``, with a fake patient planted: ``Testpatient_Quentin``,
``99887766``; the mutations of ``tests/test_fuzz_io.py``) and odd option values, plus a
handful of real subprocess runs. The API part feeds ``NerveStudy``, ``measure_cmap``,
``analyze_values`` and ``analyze_nerves`` odd arrays and numbers.

Oracles, for every input:

* CLI: exit code 0, 1, 2 or 3; no traceback and no escaped exception; no ``inf`` /
  ``Infinity`` and no NaN written as a number in stdout or in a written file; no planted
  identifier in stdout, stderr or a written file; after a failure (exit 1 or 2) nothing at
  the final output path.
* API: only ``ValueError``/``TypeError`` raised by nerveconduct itself (its checks,
  ``InvalidStudyError``, ``ArgumentTypeError``, the io errors) -- never one raised inside
  numpy or another library; results hold no infinity.

Known finding, exempted here: the HTML report prints the sheet's free-text notes verbatim (the
notes are the user's own text, printed as given).

The default run (~300 CLI inputs, ~600 API calls) takes well under a minute; set
``NERVECONDUCT_FUZZ_N`` for a larger run (CLI inputs; the API gets twice as many) and
``NERVECONDUCT_FUZZ_SEED`` for another sequence.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nerveconduct as nc
from nerveconduct.io.errors import NerveConductIOError
from nerveconduct.model import InvalidStudyError
from nerveconduct_cli.main import main as cli

from test_fuzz_io import NAME, PID, _edf_mutation, _planted, _text_mutation

N_INPUTS = int(os.environ.get("NERVECONDUCT_FUZZ_N", "300"))
SEED = int(os.environ.get("NERVECONDUCT_FUZZ_SEED", "20251206"))
WAVEFORMS = ("normal_median.csv", "antimag.csv", "normal_ulnar.txt", "noisy_median.txt",
             "mmn_ulnar.edf", "cidp_median.edf")
SHEETS = ("normal_case.json", "mmn_case.toml", "antimag_case.toml")
ODD_VALUES = ("-1", "0", "1", "nan", "inf", "-inf", "1e309", "", " ", "x" * 300, "2.5",
              "Testpatient_Quentin", "99887766", "1=0.5", "9=nan", "tremor=maybe", "../x",
              "none", "all", "\u00e9\u00e9", "1,2", "-0", "1e-320", "999999999999999999999")
EXIT_CODES = {0, 1, 2, 3}
#: "got <value>": an error message echoing the value it refuses (quoted or bare).
_ECHO = re.compile(r"got '?[-+]?\w+ *'?")
#: The report's free-text notes paragraph (see KNOWN findings in the module's report).
_FREE_TEXT = re.compile(r'<p class="free-text"[^>]*>.*?</p>', re.S)
#: An infinity or a NaN written as a number (a JSON token, a CSV cell, a table cell).
_NON_FINITE = re.compile(r"(?<![\w./-])[-+]?(inf|infinity|nan)(?![\w-])", re.IGNORECASE)


# ------------------------------------------------------------------ inputs
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzzcli")
    for name in WAVEFORMS + SHEETS + ("absent_proximal.h5",):
        shutil.copy(nc.sample_path(name), out / name)
    return out


def _mutated(rng: random.Random, folder: Path, k: int) -> Path:
    name = rng.choice(WAVEFORMS + SHEETS)
    data = _planted(name)
    if rng.random() < 0.85:
        mutate = _edf_mutation if name.endswith(".edf") else _text_mutation
        _, data = mutate(rng, data)
    path = folder / f"in{k:04d}{Path(name).suffix}"
    path.write_bytes(data)
    return path


def _odd(rng: random.Random) -> str:
    return rng.choice(ODD_VALUES)


def _command(rng: random.Random, folder: Path, k: int) -> tuple[list[str], Path | None]:
    """A command line and the output path it names (or None)."""
    src = str(_mutated(rng, folder, k))
    sheet = str(folder / rng.choice(SHEETS))
    out = folder / f"out{k:04d}"
    kind = rng.choice(("analyze", "analyze", "analyze", "validate", "validate", "score",
                       "criteria", "simulate", "convert", "batch", "plot", "report",
                       "export-bids"))
    extra: list[str] = []
    if rng.random() < 0.5:
        extra += ["--sheet", sheet if rng.random() < 0.8 else _odd(rng)]
    if kind == "analyze":
        fmt = rng.choice(("json", "jsonl", "csv", "table", _odd(rng)))
        path = out.with_suffix("." + fmt if fmt in ("json", "jsonl", "csv") else ".txt")
        args = ["analyze", src, "-f", fmt, "-o", str(path)] + extra
        if rng.random() < 0.3:
            args += ["--criteria", rng.choice(("all", "none", _odd(rng)))]
        if rng.random() < 0.3:
            args += ["--jobs", _odd(rng) if rng.random() < 0.5 else "2"]
        if rng.random() < 0.2:
            args += ["--table", rng.choice(("site", "segment", "nerve", _odd(rng)))]
        if rng.random() < 0.2:
            args += ["--limits", str(_mutated(rng, folder, k + 100_000))]
        return args, path
    if kind == "validate":
        return ["validate", src, "-f", rng.choice(("json", "jsonl", "table"))] + extra, None
    if kind == "score":
        sub = rng.choice(("cidp", "cidp-mag", "mmn"))
        path = out.with_suffix(".json")
        args = ["score", sub, src, "-o", str(path)] + extra
        if sub == "cidp-mag" and rng.random() < 0.5:
            args += ["--item", rng.choice(("tremor=yes", "ataxia=no", _odd(rng)))]
        return args, path
    if kind == "criteria":
        return ["criteria", rng.choice(("list", "show")), rng.choice(
            ("efns-pns-2010-mmn", "aan-1991", _odd(rng)))][:2 + (rng.random() < 0.7)], None
    if kind == "simulate":
        path = out.with_suffix(".h5")
        args = ["simulate", "-o", str(path), "--nerves", rng.choice(("1", "2", _odd(rng))),
                "--seed", rng.choice(("1", _odd(rng)))]
        for option in ("--block", "--dispersion", "--distances", "--noise-uv", "--cv-sd",
                       "--distal-slowing"):
            if rng.random() < 0.25:
                args += [option, _odd(rng)]
        return args, path
    if kind == "convert":
        path = out.with_suffix(rng.choice((".h5", ".edf")))
        return ["convert", src, str(path)] + extra, path
    if kind == "batch":
        path = out.with_suffix(rng.choice((".jsonl", ".csv")))
        archive = str(folder / "absent_proximal.h5") if rng.random() < 0.7 else src
        args = ["batch", archive, "-o", str(path), "-q"]
        if rng.random() < 0.5:
            args += ["--chunk-rows", rng.choice(("1", "3", _odd(rng)))]
        if rng.random() < 0.3:
            args += ["--table", rng.choice(("nerve", "segment", _odd(rng)))]
        return args, path
    if kind == "plot":
        path = out.with_suffix(".svg")
        return ["plot", src, "-o", str(path), "--kind",
                rng.choice(("nerve", "segments", "tli"))] + extra, path
    if kind == "report":
        path = out.with_suffix(".html")
        return ["report", src, "-o", str(path), "--image-format", "svg"] + extra, path
    path = out  # export-bids: a folder
    return ["export-bids", src, "-o", str(path), "--subject",
            rng.choice(("P01", _odd(rng)))] + extra, path


# ------------------------------------------------------------------ oracles
def _texts_of(path: Path | None) -> list[tuple[str, str]]:
    """(name, text) of every file written at ``path`` (a file or a folder)."""
    if path is None or not path.exists():
        return []
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    out = []
    for p in files:
        data = p.read_bytes()
        if p.suffix in (".h5", ".edf", ".png", ".pdf"):
            text = data.decode("latin-1")  # identifiers only
            out.append((p.name + " (binary)", text))
        else:
            out.append((p.name, data.decode("utf-8", "replace")))
    return out


def _problems(args: list[str], result, path: Path | None, existed: bool) -> list[str]:
    found = []
    if result.exit_code not in EXIT_CODES:
        found.append(f"exit code {result.exit_code}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        found.append("escaped " + "".join(traceback.format_exception_only(
            type(result.exception), result.exception)).strip()[:300])
    streams = {"stdout": result.stdout, "stderr": result.stderr}
    for name, text in streams.items():
        if "Traceback (most recent call last)" in text:
            found.append(f"traceback on {name}")
    written = _texts_of(path)
    typed = " ".join(args)  # what the user typed may be echoed back to them
    for name, text in list(streams.items()) + written:
        if name.endswith(".html"):  # known finding: the report prints the sheet's free-text
            text = _FREE_TEXT.sub("", text)  # notes verbatim (reported to its owner)
        for planted in (NAME, PID):
            if planted in text and planted not in typed:
                found.append(f"planted identifier in {name}")
    for name, text in [("stdout", result.stdout)] + [w for w in written
                                                       if not w[0].endswith("(binary)")]:
        if name.endswith(".html") or name.endswith(".svg"):
            continue  # markup: numbers are checked in the data outputs
        match = _NON_FINITE.search(_ECHO.sub("", text))  # a message may echo a refused value
        if match:
            found.append(f"non-finite number {match.group(0)!r} in {name}: "
                         f"...{text[max(0, match.start() - 60):match.end() + 20]!r}")
    if result.exit_code in (1, 2) and path is not None and not existed and path.exists():
        found.append(f"output {path.name} left behind after exit {result.exit_code}")
    return found


def test_fuzz_cli(folder):
    rng = random.Random(SEED)
    runner = CliRunner()
    failures: list[str] = []
    codes: dict[int, int] = {}
    for k in range(N_INPUTS):
        args, path = _command(rng, folder, k)
        existed = path is not None and path.exists()
        result = runner.invoke(cli, args, catch_exceptions=True)
        codes[result.exit_code] = codes.get(result.exit_code, 0) + 1
        for problem in _problems(args, result, path, existed):
            failures.append(f"input {k} (seed {SEED}) {args[:1] + [a[-40:] for a in args[1:]]}:"
                            f" {problem}")
    assert not failures, f"{len(failures)} oracle failures, first:\n" + "\n".join(failures[:10])
    assert codes.get(0) and (codes.get(1) or codes.get(3)) and codes.get(2), codes


def test_cli_subprocesses(folder):
    """A handful of real runs: exit codes, one line on stderr, no traceback."""
    bad = folder / "garbage.csv"
    bad.write_bytes(b"\x00\xff" * 100 + NAME.encode())
    planted = folder / "planted.csv"
    planted.write_bytes(_planted("normal_median.csv"))
    runs = [
        (["analyze", str(planted), "-f", "json"], {0}),
        (["analyze", str(bad), "-f", "json"], {1}),
        (["validate", str(bad), str(planted)], {3}),
        (["analyze", str(planted), "-f", "nope"], {2}),
        (["batch", str(folder / "absent_proximal.h5"), "-o", str(folder / "sub.csv"), "-q"],
         {0, 3}),
    ]
    for args, codes in runs:
        run = subprocess.run([sys.executable, "-m", "nerveconduct_cli", *args],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode in codes, (args, run.returncode, run.stderr[-500:])
        assert "Traceback" not in run.stderr, run.stderr[-2000:]
        for text in (run.stdout, run.stderr):
            assert NAME not in text and PID not in text
            assert not _NON_FINITE.search(run.stdout), run.stdout[:500]


# ------------------------------------------------------------------ the API
#: What nerveconduct raises on purpose (the raising frame must be nerveconduct's own).
API_ERRORS = (ValueError, TypeError)
ODD_NUMBERS = (0.0, -0.0, -1.0, 1e-320, 1e-300, 1e300, 1e308, math.inf, -math.inf, math.nan,
               2 ** 63, -(2 ** 63), True, None, "5", 3, np.float32(2.5), np.int64(7),
               np.nan, 1e7, 0.5)


def _odd_array(rng: random.Random) -> object:
    n = rng.choice((0, 1, 2, 5, 30, 300, 1000))
    kind = rng.randrange(9)
    base = np.sin(np.linspace(0, rng.choice((1.0, 10.0, 100.0)), n)) * -rng.choice(
        (1.0, 1e-12, 1e12, 1e200, 5.0))
    if kind == 0:
        return base
    if kind == 1:
        out = base.copy()
        if n:
            out[rng.randrange(n)] = rng.choice((math.nan, math.inf, -math.inf, 1e308))
        return out
    if kind == 2:
        return np.stack([base, base])
    if kind == 3:
        return base.astype(rng.choice((np.float32, np.int16, np.complex64, object, bool)))
    if kind == 4:
        return [[1.0, 2.0], [3.0]]  # ragged
    if kind == 5:
        return rng.choice(("traces", None, 5.0, {}, [None]))
    if kind == 6:
        return np.zeros((2, 0))
    if kind == 7:
        return np.full((rng.choice((1, 2, 3)), n), rng.choice((0.0, 1e308, -1e-310)))
    return base.reshape(1, 1, -1) if n else base


def _sites(rng: random.Random, k: int) -> list:
    names = ("wrist", "elbow", "axilla", "", "x" * 200, NAME)
    try:
        return [nc.Site(rng.choice(names), rng.choice(ODD_NUMBERS + (70.0, 200.0)))
                for _ in range(k)]
    except API_ERRORS:
        return [nc.Site("wrist", 70.0), nc.Site("elbow", 200.0)][:k]


def _raised_by_nerveconduct(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and (f"{os.sep}nerveconduct{os.sep}" in last)


def _finite(result: object) -> list[str]:
    """Infinite values in a result's public numeric attributes (shallow, and its sites)."""
    found = []
    objects = [result] + list(getattr(result, "sites", []) or []) + list(
        getattr(result, "segments", []) or [])
    for obj in objects:
        for name in dir(obj):
            if name.startswith("_"):
                continue
            try:
                value = getattr(obj, name)
            except Exception:  # noqa: BLE001 - a property that refuses is not our oracle
                continue
            if isinstance(value, float) and math.isinf(value):
                found.append(f"{type(obj).__name__}.{name} = {value}")
            elif isinstance(value, np.ndarray) and value.dtype.kind == "f" and np.isinf(value).any():
                found.append(f"{type(obj).__name__}.{name} holds inf")
    return found


def _api_call(rng: random.Random):
    which = rng.choice(("study", "measure", "values", "nerves"))
    if which == "measure":
        kwargs = {}
        for key in ("stimulus_sample", "polarity", "onset_threshold_mv", "n_threads"):
            if rng.random() < 0.3:
                kwargs[key] = rng.choice(ODD_NUMBERS + ("physical", "negative-up", 0, 10))
        return which, lambda: nc.measure_cmap(_odd_array(rng), rng.choice(ODD_NUMBERS + (
            20000.0,) * 4), **kwargs)
    if which == "values":
        k = rng.choice((0, 1, 2, 3))
        sites = _sites(rng, k)
        lat = [rng.choice(ODD_NUMBERS + (3.0, 8.0)) for _ in range(rng.choice((k, k, k + 1)))]
        amp = [rng.choice(ODD_NUMBERS + (6.0, 5.0)) for _ in range(k)]
        extra = {}
        for key in ("negative_peak_area_mv_ms", "cmap_duration_ms", "peak_to_peak_amplitude_mv"):
            if rng.random() < 0.3:
                extra[key] = [rng.choice(ODD_NUMBERS) for _ in range(k)]
        for key in ("f_wave_latency_ms", "temperature_c", "low_frequency_filter_hz"):
            if rng.random() < 0.2:
                extra[key] = rng.choice(ODD_NUMBERS)
        nerve = rng.choice(("median", "ulnar", "", "spleen", NAME))
        return which, lambda: nc.analyze_values(nerve, sites, lat, amp, **extra)

    def study():
        traces = _odd_array(rng)
        k = np.shape(traces)[0] if isinstance(traces, np.ndarray) and np.ndim(traces) == 2 else 1
        return nc.NerveStudy(rng.choice(("median", "tibial", "")), rng.choice(("left", None, "up")),
                             rng.choice(("APB", None)), _sites(rng, k), traces,
                             rng.choice(ODD_NUMBERS + (20000.0,) * 4),
                             stimulus_sample=rng.choice((0, 5, 10, -1, 10 ** 9, 2.5)),
                             temperature_c=rng.choice((None, 32.0) + ODD_NUMBERS),
                             study_id=rng.choice((None, "s1", NAME)))
    if which == "study":
        return which, lambda: nc.analyze_nerve(study())
    return which, lambda: nc.analyze_nerves([study() for _ in range(rng.choice((1, 2, 3)))]
                                            + rng.choice(([], [None], ["x"])))


def test_fuzz_api():
    rng = random.Random(SEED + 7)
    failures: list[str] = []
    ok = 0
    for k in range(2 * N_INPUTS):
        which, call = _api_call(rng)
        try:
            with np.errstate(all="ignore"):
                result = call()
        except API_ERRORS as exc:
            if not _raised_by_nerveconduct(exc):
                failures.append(f"call {k} ({which}, seed {SEED + 7}): {type(exc).__name__} "
                                f"raised outside nerveconduct: {str(exc)[:200]}")
            elif NAME in str(exc) and not isinstance(exc, (InvalidStudyError,
                                                           NerveConductIOError)):
                pass  # an argument check echoes the argument it was given
            continue
        except Exception as exc:  # noqa: BLE001 - the oracle: anything else is a finding
            failures.append(f"call {k} ({which}, seed {SEED + 7}): {type(exc).__name__} "
                            f"escaped: {str(exc)[:200]}")
            continue
        ok += 1
        for r in result if isinstance(result, list) else [result]:
            found = _finite(r)
            failures += [f"call {k} ({which}): {p}" for p in found]
    assert not failures, f"{len(failures)} oracle failures, first:\n" + "\n".join(failures[:10])
    assert ok > 0


def test_analyze_values_refuses_infinite_measures():
    sites = [nc.Site("wrist", 70.0), nc.Site("elbow", 200.0)]
    with pytest.raises(ValueError, match="finite"):
        nc.analyze_values("median", sites, [3.0, 8.0], [6.0, 5.0],
                          negative_peak_area_mv_ms=[math.inf, 20.0])
