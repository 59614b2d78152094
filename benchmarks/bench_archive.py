"""End-to-end archive -> results throughput against the raw h5py read of the same traces.

For each compression (none, lzf, gzip) this writes a benchmark archive, then measures, in one
run of this script and on the same file:

1. **raw read** — plain ``h5py`` reading the ``traces`` dataset in slices of ``--chunk-rows``
   rows, nothing else: from the page cache (*hot*, best of 3: the file was just read) and
   from the disk (*cold*: the file's pages are dropped from the page cache first with
   ``posix_fadvise(DONTNEED)``, which needs no privileges);
2. **measure only** — the hot raw read plus :func:`nerveconduct.measure.measure_cmap` on
   every slice (the vectorized numeric core alone, best of 3);
3. **batch** — :func:`nerveconduct.batch.run` end to end with ``--jobs`` processes and the
   EFNS/PNS 2010 MMN verdicts, for each output of ``--outputs``: ``segment.csv``,
   ``nerve.csv`` (flat rows, column-wise verdicts) and ``nerve.jsonl`` (the nested record,
   worded verdicts), all written by the one row builder (:func:`nerveconduct.serialize.render`);
   hot, and once more cold (the pages dropped first) for the first output;

and prints traces/s and the ratios batch/raw and batch/(read + measure). ``--stages`` then
times each step of the batch per nerve in this process, in the batch's 2048-row slices, for
each output: where the time goes.

The archive generator :func:`make_archive` (also used by ``bench_memory.py`` and
``bench_scaling.py``) simulates a pool of nerves once with :func:`simulate_nerve` and tiles
it, perturbed (per-site amplitude scale, segment length), while streaming into
:func:`write_archive`: cheap for millions of traces. Traces are 25 ms at 20 kHz (500 samples,
stimulus at 5 ms; ``--sweep-ms 50`` for 1000 samples), float32, two sites per nerve (wrist,
elbow).

Run from the repository root::

    python benchmarks/bench_archive.py                 # 100 000 traces, ~3 min on 2 cores
    python benchmarks/bench_archive.py --traces 1000000 --jobs 2 --keep /data/bench
    python benchmarks/bench_archive.py --compression none --stages
"""

from __future__ import annotations

import argparse
import os
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
from nerveconduct.batch.task import READ_ROWS, TaskOptions  # noqa: E402
from nerveconduct.analysis import table_from_chunk  # noqa: E402
from nerveconduct.serialize import render, verdict_cells  # noqa: E402
from nerveconduct.limits import NormalLimits  # noqa: E402
from nerveconduct.criteria import get_rule_set  # noqa: E402
from nerveconduct.io.archive import write_archive  # noqa: E402
from nerveconduct.measure.cmap import measure_cmap  # noqa: E402
from nerveconduct.model import NerveStudy, Site  # noqa: E402
from nerveconduct.simulate.nerve import simulate_nerve  # noqa: E402

#: Sampling set-up of the benchmark traces.
SAMPLING_RATE_HZ = 20000.0
SWEEP_MS = 25.0
PRE_STIMULUS_MS = 5.0
POOL_NERVES = 2000


def _pool(seed: int, sweep_ms: float = SWEEP_MS) -> tuple[np.ndarray, int]:
    """Simulated traces (POOL_NERVES, 2, n_samples) float32: half with a 50 % block."""
    common = dict(sweep_ms=sweep_ms, pre_stimulus_ms=PRE_STIMULUS_MS, dtype="float32",
                  sampling_rate_hz=SAMPLING_RATE_HZ, n_nerves=POOL_NERVES // 2)
    normal = simulate_nerve((70.0, 200.0), seed=seed, **common)
    blocked = simulate_nerve((70.0, 200.0), seed=seed + 1, block={1: 0.5}, **common)
    return np.concatenate([normal.traces, blocked.traces]), normal.stimulus_sample


def studies(n_traces: int, seed: int = 0, sweep_ms: float = SWEEP_MS) -> Iterator[NerveStudy]:
    """``n_traces // 2`` two-site nerve studies tiled from a simulated pool, streamed."""
    pool, stimulus = _pool(seed, sweep_ms)
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
                 seed: int = 0, sweep_ms: float = SWEEP_MS) -> Path:
    """Write (or reuse, when it exists with the right shape) a benchmark archive."""
    path = Path(path)
    n_samples = round(sweep_ms * SAMPLING_RATE_HZ / 1000)
    if path.exists():
        with h5py.File(path, "r") as f:
            if f["traces"].shape == (n_traces, n_samples) and f["traces"].compression == compression:
                return path
    return write_archive(path, studies(n_traces, seed, sweep_ms), compression=compression,
                         overwrite=True)


def drop_from_page_cache(path: Path) -> None:
    """Drop ``path``'s pages from the page cache, so that the next read comes from the disk."""
    os.sync()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


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


def stages(path: Path, stimulus_sample: int, outputs: list[str], n_slices: int = 8) -> None:
    """Print the cost per nerve of each step of the batch for each output (best of 3 over slices)."""
    from nerveconduct.io.archive import open_archive

    rule_set = get_rule_set("efns-pns-2010-mmn")
    limits = NormalLimits.default()
    with open_archive(path) as archive:
        plan = archive.plan_chunks(READ_ROWS)[:n_slices]
        for output in outputs:
            table_name, fmt = output.split(".")
            opts = TaskOptions(table=table_name, fmt=fmt, rule_sets=(rule_set,), limits=limits,
                               source=path.name)
            names = ["Archive.read_chunk", "table_from_chunk (analysis core)", "  (measure_cmap alone)",
                     "verdict_cells" + (" (worded)" if opts.worded else " (columns)"), "render rows",
                     "UTF-8 encoding" + (" + zlib 1" if opts.worded else "")]
            best = dict.fromkeys(names, float("inf"))
            for _ in range(3):
                for a, b in plan:
                    t = [time.perf_counter()]
                    chunk = archive.read_chunk(a, b)
                    t.append(time.perf_counter())
                    table = table_from_chunk(chunk, limits)
                    t.append(time.perf_counter())
                    measure_cmap(chunk.traces, SAMPLING_RATE_HZ, stimulus_sample=stimulus_sample)
                    t.append(time.perf_counter())
                    verdicts = verdict_cells(table, opts.rule_sets, worded=opts.worded)
                    t.append(time.perf_counter())
                    lines = render(table, opts.kind, fmt, None if opts.kind == "record" else opts.columns[:-2],
                                   sources=[path.name] * table.n_nerves, verdicts=verdicts,
                                   blank_single_site=True)
                    t.append(time.perf_counter())
                    data = ("\n".join(lines) + "\n").encode("utf-8")
                    if opts.worded:
                        zlib.compress(data, 1)
                    t.append(time.perf_counter())
                    for k, name in enumerate(names):
                        best[name] = min(best[name], (t[k + 1] - t[k]) / (b - a) * 1e6)
            total = sum(v for k, v in best.items() if not k.startswith(" "))
            print(f"\n# where the time goes, {output}: one process, {READ_ROWS}-row slices, best of 3")
            for name, us in best.items():
                print(f"{name:<36} {us:8.1f} us/nerve {100 * us / total:6.1f} %")
            print(f"{'total':<36} {total:8.1f} us/nerve  = {2e6 / total:,.0f} traces/s per core (two sites per nerve)")


def _batch(path: Path, folder: Path, output: str, args: argparse.Namespace) -> float:
    """traces/s of one batch run writing ``output`` (``table.format``)."""
    table, fmt = output.split(".")
    out = folder / f"results-{table}.{fmt}"
    summary = run(path, out, jobs=args.jobs, chunk_rows=args.chunk_rows, overwrite=True,
                  table=table)
    out.unlink()
    return summary.traces_per_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=100_000, help="traces per archive")
    parser.add_argument("--sweep-ms", type=float, default=SWEEP_MS,
                        help="trace length in ms at 20 kHz (25: 500 samples; 50: 1000)")
    parser.add_argument("--jobs", type=int, default=2, help="batch worker processes")
    parser.add_argument("--chunk-rows", type=int, default=16384,
                        help="rows per read (raw) and per task (batch): 2 workers share the work")
    parser.add_argument("--compression", nargs="+", default=["none", "lzf", "gzip"],
                        choices=["none", "lzf", "gzip"])
    parser.add_argument("--outputs", nargs="+", default=["segment.csv", "nerve.csv", "nerve.jsonl"],
                        choices=["segment.csv", "segment.jsonl", "nerve.csv", "nerve.jsonl"])
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder to keep (and reuse) the archives in; default: a temp dir")
    parser.add_argument("--stages", action="store_true",
                        help="also time each step of the batch paths per nerve")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nerveconduct-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    stimulus = round(PRE_STIMULUS_MS * SAMPLING_RATE_HZ / 1000)
    n_samples = round(args.sweep_ms * SAMPLING_RATE_HZ / 1000)
    measure_cmap(np.zeros((1, n_samples), np.float32), SAMPLING_RATE_HZ, stimulus_sample=stimulus)

    print(f"# bench_archive: {args.traces} traces x {n_samples} samples float32, "
          f"chunk_rows={args.chunk_rows}, batch jobs={args.jobs}, load {os.getloadavg()[0]:.2f}")
    staged = None
    for name in args.compression:
        compression = None if name == "none" else name
        path = make_archive(folder / f"bench-{args.traces}-{n_samples}-{name}.h5", args.traces,
                            compression=compression, sweep_ms=args.sweep_ms)
        staged = staged or path  # --stages times the first compression given (default: none)
        size_mb = path.stat().st_size / 1e6
        drop_from_page_cache(path)
        cold_s = raw_read(path, args.chunk_rows)[0]
        raw_s = min(raw_read(path, args.chunk_rows)[0] for _ in range(3))
        measure_s = min(measure_only(path, args.chunk_rows, stimulus) for _ in range(3))
        raw_tps, cold_tps = args.traces / raw_s, args.traces / cold_s
        measure_tps = args.traces / measure_s
        print(f"\n## {name}: {size_mb:.0f} MB")
        print(f"raw read, page cache (hot)  {raw_tps:12,.0f} tr/s  {size_mb / raw_s:8,.0f} MB/s")
        print(f"raw read, disk (cold)       {cold_tps:12,.0f} tr/s  {size_mb / cold_s:8,.0f} MB/s")
        print(f"read + measure_cmap (hot)   {measure_tps:12,.0f} tr/s  {measure_tps / raw_tps:7.1%} of hot")
        for k, output in enumerate(args.outputs):
            tps = _batch(path, folder, output, args)
            print(f"batch {output:<21} {tps:12,.0f} tr/s  {tps / raw_tps:7.1%} of hot "
                  f"{tps / cold_tps:7.1%} of cold {tps / measure_tps:7.1%} of read+measure", flush=True)
            if k == 0:
                drop_from_page_cache(path)
                tps = _batch(path, folder, output, args)
                print(f"batch {output + ', cold':<21} {tps:12,.0f} tr/s  {'':>15} "
                      f"{tps / cold_tps:7.1%} of cold", flush=True)
    if args.stages:
        stages(staged, stimulus, args.outputs)


if __name__ == "__main__":
    main()
