"""End-to-end archive -> results throughput against the raw h5py read of the same traces.

For each compression (none, lzf, gzip) this writes a benchmark archive, then measures, in one
run of this script and on the same file:

1. **raw read** — plain ``h5py`` reading the ``traces`` dataset in slices of ``--chunk-rows``
   rows (what the batch engine reads per task), nothing else;
2. **measure only** — the raw read plus :func:`nerveconduct.measure.measure_cmap` on every
   slice (the vectorized numeric core alone);
3. **batch** — :func:`nerveconduct.batch.run` end to end (read, studies, measures, segments,
   criteria, records, JSON Lines written), with ``--jobs`` processes;

and prints traces/s and the ratios batch/raw and measure/raw (raw read and measure only:
best of 3; batch: one run). ``--stages`` then times each step of the batch path per nerve in
this process (read, studies, analysis, criteria, record, JSON, zlib), in the batch's
2048-row slices: where the time goes. The archive was just written,
so the raw read comes from the page cache (the best case for the reference; a cold disk is
slower, which favours the ratio). Target (issue 7): batch >= 50 % of the raw read speed,
uncompressed.

The archive generator :func:`make_archive` (also used by ``bench_memory.py`` and
``bench_scaling.py``) simulates a pool of nerves once with :func:`simulate_nerve` and tiles
it, perturbed (per-site amplitude scale, segment length), while streaming into
:func:`write_archive`: cheap for millions of traces. Traces are 25 ms at 20 kHz (500 samples,
stimulus at 5 ms), float32, two sites per nerve (wrist, elbow).

Run from the repository root::

    python benchmarks/bench_archive.py                 # 100 000 traces, ~3 min on 2 cores
    python benchmarks/bench_archive.py --traces 1000000 --jobs 2 --keep /data/bench
    python benchmarks/bench_archive.py --compression none --stages
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import h5py  # noqa: E402

from nerveconduct.batch import run  # noqa: E402
from nerveconduct.batch_worker import READ_ROWS  # noqa: E402
from nerveconduct.criteria import evaluate_nerve, get_rule_set  # noqa: E402
from nerveconduct.io.archive import write_archive  # noqa: E402
from nerveconduct.measure import measure_cmap  # noqa: E402
from nerveconduct.model import NerveStudy, Site  # noqa: E402
from nerveconduct.segments import analyze_nerves  # noqa: E402
from nerveconduct.serialize import nerve_record  # noqa: E402
from nerveconduct.simulate import simulate_nerve  # noqa: E402

#: Sampling set-up of the benchmark traces.
SAMPLING_RATE_HZ = 20000.0
SWEEP_MS = 25.0
PRE_STIMULUS_MS = 5.0
POOL_NERVES = 2000


def _pool(seed: int) -> tuple[np.ndarray, int]:
    """Simulated traces (POOL_NERVES, 2, n_samples) float32: half with a 50 % block."""
    common = dict(sweep_ms=SWEEP_MS, pre_stimulus_ms=PRE_STIMULUS_MS, dtype="float32",
                  sampling_rate_hz=SAMPLING_RATE_HZ, n_nerves=POOL_NERVES // 2)
    normal = simulate_nerve((70.0, 200.0), seed=seed, **common)
    blocked = simulate_nerve((70.0, 200.0), seed=seed + 1, block={1: 0.5}, **common)
    return np.concatenate([normal.traces, blocked.traces]), normal.stimulus_sample


def studies(n_traces: int, seed: int = 0) -> Iterator[NerveStudy]:
    """``n_traces // 2`` two-site nerve studies tiled from a simulated pool, streamed."""
    pool, stimulus = _pool(seed)
    rng = np.random.default_rng(seed)
    n_nerves = n_traces // 2
    block = 4096
    for start in range(0, n_nerves, block):
        count = min(block, n_nerves - start)
        pick = rng.integers(0, len(pool), count)
        scale = rng.uniform(0.6, 1.4, (count, 2, 1)).astype(np.float32)
        traces = pool[pick] * scale
        segment_mm = rng.uniform(180.0, 240.0, count).round(1)
        for k in range(count):
            yield NerveStudy("median", "right", "APB",
                             [Site("wrist", 70.0), Site("elbow", float(segment_mm[k]))],
                             traces[k], SAMPLING_RATE_HZ, stimulus_sample=stimulus,
                             study_id=f"bench-{start + k}")


def make_archive(path: Path, n_traces: int, *, compression: str | None = None,
                 seed: int = 0) -> Path:
    """Write (or reuse, when it exists with the right size) a benchmark archive."""
    path = Path(path)
    if path.exists():
        with h5py.File(path, "r") as f:
            if f["traces"].shape[0] == n_traces and f["traces"].compression == compression:
                return path
    return write_archive(path, studies(n_traces, seed), compression=compression,
                         overwrite=True)


def raw_read(path: Path, chunk_rows: int) -> tuple[float, int]:
    """Seconds to read every row of ``traces`` in slices of ``chunk_rows`` rows, and bytes."""
    started = time.perf_counter()
    nbytes = 0
    with h5py.File(path, "r", rdcc_nbytes=16 << 20) as f:
        ds = f["traces"]
        for r0 in range(0, ds.shape[0], chunk_rows):
            nbytes += ds[r0:r0 + chunk_rows].nbytes
    return time.perf_counter() - started, nbytes


def measure_only(path: Path, chunk_rows: int, stimulus_sample: int) -> float:
    """Seconds to read and measure every trace (the numeric core, no per-nerve objects)."""
    started = time.perf_counter()
    with h5py.File(path, "r", rdcc_nbytes=16 << 20) as f:
        ds = f["traces"]
        for r0 in range(0, ds.shape[0], chunk_rows):
            measure_cmap(ds[r0:r0 + chunk_rows], SAMPLING_RATE_HZ,
                         stimulus_sample=stimulus_sample)
    return time.perf_counter() - started


def stages(path: Path, stimulus_sample: int, n_slices: int = 8) -> None:
    """Print the cost per nerve of each step of the batch path (best of 3 over slices)."""
    from nerveconduct.io.archive import open_archive

    rule_set = get_rule_set("efns-pns-2010-mmn")
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
    names = ["Archive.read_chunk", "TraceChunk.studies", "  (measure_cmap alone)",
             "analyze_nerves", "criteria.evaluate_nerve", "serialize.nerve_record",
             "JSON encoding", "zlib level 1"]
    best = dict.fromkeys(names, float("inf"))
    with open_archive(path) as archive:
        for _ in range(3):
            for a, b in archive.plan_chunks(READ_ROWS)[:n_slices]:
                t = [time.perf_counter()]
                chunk = archive.read_chunk(a, b)
                t.append(time.perf_counter())
                studies = chunk.studies()
                t.append(time.perf_counter())
                measure_cmap(chunk.traces, SAMPLING_RATE_HZ, stimulus_sample=stimulus_sample)
                t.append(time.perf_counter())
                results = analyze_nerves(studies)
                t.append(time.perf_counter())
                verdicts = [{rule_set.id: evaluate_nerve(r, rule_set)} for r in results]
                t.append(time.perf_counter())
                records = [nerve_record(r, v, source=path.name) for r, v in zip(results, verdicts)]
                t.append(time.perf_counter())
                text = "".join(encoder.encode(rec) + "\n" for rec in records).encode("utf-8")
                t.append(time.perf_counter())
                zlib.compress(text, 1)
                t.append(time.perf_counter())
                for k, name in enumerate(names):
                    best[name] = min(best[name], (t[k + 1] - t[k]) / (b - a) * 1e6)
    total = sum(v for k, v in best.items() if not k.startswith(" "))
    print(f"\n# where the time goes: one process, {READ_ROWS}-row slices, best of 3")
    for name, us in best.items():
        print(f"{name:<26} {us:8.1f} us/nerve {100 * us / total:6.1f} %")
    print(f"{'total':<26} {total:8.1f} us/nerve  = {2e6 / total:,.0f} traces/s per core")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=100_000, help="traces per archive")
    parser.add_argument("--jobs", type=int, default=2, help="batch worker processes")
    parser.add_argument("--chunk-rows", type=int, default=16384,
                        help="rows per read (raw) and per task (batch): 2 workers share the work")
    parser.add_argument("--compression", nargs="+", default=["none", "lzf", "gzip"],
                        choices=["none", "lzf", "gzip"])
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder to keep (and reuse) the archives in; default: a temp dir")
    parser.add_argument("--stages", action="store_true",
                        help="also time each step of the batch path per nerve")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nerveconduct-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    stimulus = round(PRE_STIMULUS_MS * SAMPLING_RATE_HZ / 1000)
    measure_cmap(np.zeros((1, 500), np.float32), SAMPLING_RATE_HZ, stimulus_sample=stimulus)

    print(f"# bench_archive: {args.traces} traces x {round(SWEEP_MS * SAMPLING_RATE_HZ / 1000)} "
          f"samples float32, chunk_rows={args.chunk_rows}, batch jobs={args.jobs}")
    print(f"{'compression':<12} {'MB':>7} {'raw read':>14} {'measure only':>14} "
          f"{'batch':>12} {'batch/raw':>10} {'measure/raw':>12}")
    for name in args.compression:
        compression = None if name == "none" else name
        path = make_archive(folder / f"bench-{args.traces}-{name}.h5", args.traces,
                            compression=compression)
        size_mb = path.stat().st_size / 1e6
        raw_s = min(raw_read(path, args.chunk_rows)[0] for _ in range(3))
        measure_s = min(measure_only(path, args.chunk_rows, stimulus) for _ in range(3))
        out = folder / f"results-{name}.jsonl"
        summary = run(path, out, jobs=args.jobs, chunk_rows=args.chunk_rows, overwrite=True)
        out.unlink()
        raw_tps, measure_tps = args.traces / raw_s, args.traces / measure_s
        print(f"{name:<12} {size_mb:7.0f} {raw_tps:10,.0f} tr/s {measure_tps:10,.0f} tr/s "
              f"{summary.traces_per_s:8,.0f} tr/s {summary.traces_per_s / raw_tps:9.2%} "
              f"{measure_tps / raw_tps:11.1%}", flush=True)
    if args.stages:
        stages(path, stimulus)


if __name__ == "__main__":
    main()
