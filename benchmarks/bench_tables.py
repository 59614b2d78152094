"""Every batch table against "read + measure_cmap" of the same archive, in steady state.

On one archive from ``bench_archive.make_archive`` (default 200 000 traces of 500 samples,
uncompressed float32), in one run of this script:

1. **read + measure** — plain ``h5py`` reading of ``traces`` in slices of 16384 rows, each
   measured by :func:`nerveconduct.measure_cmap` on every core (hot page cache, best of 3):
   what any output must at least do;
2. **batch** — :func:`nerveconduct.batch.run` with ``--jobs`` worker processes and the
   EFNS/PNS 2010 MMN verdicts for each table: ``segment.csv``, ``segment.jsonl``,
   ``nerve.csv``, ``nerve.jsonl`` (nested records), ``segment.csv`` with ``reasons``, and the
   typed columns of ``segment.parquet`` and ``nerve.parquet`` (no text formatting). Each
   runs first on a 200-trace archive (its start-up: workers, imports, the compiled kernel) and
   then on the big one; steady traces/s = (traces − 200) / (big − small seconds), as
   ``bench_scaling.py`` measures it.

Printed: traces/s, the ratio to read + measure (and, for Parquet, to the same table in CSV
of the same repetition, run just before it), and the machine's load; ``--repeat N`` runs every
output N times, interleaved, and prints the ranges (a loaded machine varies by ±15 % and more
between runs, so one run says little); ``--cpu`` adds each output's CPU time per trace in one
process (``jobs=1``, all threads counted); ``--tasks N`` adds the CPU time per two-site
nerve of one batch task itself (one thread, best of N, CSV and Parquet interleaved) and of
the parent's Parquet writing, the figures load changes least. Targets: the nested ``nerve.jsonl`` at ≥ 6 % of read + measure; no
flat table slower than before (``benchmarks/README.md`` has the earlier figures);
``segment.parquet`` and ``nerve.parquet`` at ≥ 1.5× the same table in CSV and ≥ 20 % of
read + measure.

Run from the repository root::

    python benchmarks/bench_tables.py                 # ~3 min on 2 cores
    python benchmarks/bench_tables.py --traces 400000 --jobs 2
    python benchmarks/bench_tables.py --outputs segment.csv segment.parquet --repeat 3
    python benchmarks/bench_tables.py --traces 50000 --tasks 9 --outputs segment.csv segment.parquet
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_archive import PRE_STIMULUS_MS, SAMPLING_RATE_HZ, make_archive, measure_only  # noqa: E402

from nerveconduct.batch import run  # noqa: E402
from nerveconduct.measure import measure_cmap  # noqa: E402

SMALL = 200
OUTPUTS = (("segment.csv", False), ("segment.parquet", False), ("segment.jsonl", False),
           ("nerve.csv", False), ("nerve.parquet", False), ("nerve.jsonl", False),
           ("segment.csv", True))  # each Parquet table right after the same table in CSV


def _steady(archive: Path, small: Path, out: Path, n_traces: int, chunk_rows: int,
            common: dict) -> tuple[float, float]:
    """Steady traces/s of one output (start-up subtracted) and its start-up seconds."""
    run(small, out, chunk_rows=SMALL // 4, **common)  # warm (fork server, page cache)
    startup = run(small, out, chunk_rows=SMALL // 4, **common).seconds
    big = run(archive, out, chunk_rows=chunk_rows, **common).seconds
    return (n_traces - SMALL) / (big - startup), startup


def task_cpu(archive: Path, criteria: tuple[str, ...] | None, repeat: int,
             n_nerves: int = 16384) -> None:
    """Print the CPU time per nerve of one batch task (``process_chunk_range``, one thread) for
    the CSV and Parquet tables, interleaved, best of ``repeat``, and of the parent's Parquet
    writing of the same rows (``ParquetRowGroups`` from the tasks' Arrow streams)."""
    import io

    import pyarrow as pa

    from nerveconduct.batch.engine import DEFAULT_CRITERIA
    from nerveconduct.batch.task import READ_ROWS, TaskOptions, process_chunk_range
    from nerveconduct.criteria.registry import get_rule_set
    from nerveconduct.io import open_archive
    from nerveconduct.limits import NormalLimits
    from nerveconduct.serialize.arrow import arrow_schema
    from nerveconduct.serialize.parquet import ROW_GROUP_NERVES, ParquetRowGroups

    rule_sets = tuple(get_rule_set(c) for c in (DEFAULT_CRITERIA if criteria is None else criteria))
    with open_archive(archive) as arc:
        n = min(n_nerves, arc.n_nerves)
        opts = {(table, fmt): TaskOptions(table=table, fmt=fmt, rule_sets=rule_sets,
                                          limits=NormalLimits.default(), source="bench",
                                          n_threads=1)
                for table in ("segment", "nerve") for fmt in ("csv", "parquet")}
        for o in opts.values():  # warm: imports, the kernel, the layouts' schemas
            process_chunk_range(arc, 0, min(n, 2048), o)
        streams = {t: b"".join(process_chunk_range(arc, 0, n, opts[t, "parquet"]).data)
                   for t in ("segment", "nerve")}

        def parent(table: str) -> None:
            o = opts[table, "parquet"]
            writer = ParquetRowGroups(io.BytesIO(), arrow_schema(o.kind, o.columns), o.kind)
            for batch in pa.ipc.open_stream(streams[table]):
                writer.write(batch, batch.column("nerve_index").to_numpy() // ROW_GROUP_NERVES)
            writer.close()

        best: dict[str, float] = {}
        for _ in range(repeat):
            for table in ("segment", "nerve"):
                for fmt in ("csv", "parquet"):
                    c0 = time.process_time()
                    process_chunk_range(arc, 0, n, opts[table, fmt])
                    key = f"{table}.{fmt} task"
                    best[key] = min(best.get(key, np.inf), (time.process_time() - c0) / n * 1e6)
                c0 = time.process_time()
                parent(table)
                key = f"{table}.parquet parent"
                best[key] = min(best.get(key, np.inf), (time.process_time() - c0) / n * 1e6)
    print(f"# CPU per two-site nerve, one process, one thread, {n} nerves in slices of "
          f"{READ_ROWS} rows, best of {repeat}, load {os.getloadavg()[0]:.2f}")
    for table in ("segment", "nerve"):
        csv_task, pq_task = best[f"{table}.csv task"], best[f"{table}.parquet task"]
        pq_parent = best[f"{table}.parquet parent"]
        print(f"{table:<8} CSV task {csv_task:6.2f} us, Parquet task {pq_task:6.2f} us "
              f"+ parent {pq_parent:5.2f} us: CSV / Parquet {csv_task / pq_task:.2f}x (task), "
              f"{csv_task / (pq_task + pq_parent):.2f}x (task + parent)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=16384)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--criteria", nargs="*", default=None,
                        help="rule sets of every run (default: the batch's default list)")
    parser.add_argument("--outputs", nargs="*", default=None,
                        help="only these outputs (e.g. nerve.jsonl segment.csv; "
                             "'segment.csv --reasons' for the reasons column)")
    parser.add_argument("--cpu", action="store_true",
                        help="also the CPU time per trace of each output run in this process "
                             "(jobs=1; every thread counted): what a loaded machine changes "
                             "least, so the ratio to CSV says what two free cores would give")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every output this many times, interleaved (Parquet right "
                             "after the same table in CSV), and print each run")
    parser.add_argument("--tasks", type=int, default=0, metavar="N",
                        help="also the CPU time per nerve of one task (CSV and Parquet, one "
                             "thread, best of N, interleaved) and of the parent's Parquet "
                             "writing")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nerveconduct-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    archive = make_archive(folder / f"bench-{args.traces}-500-none.h5", args.traces)
    small = make_archive(folder / f"bench-{SMALL}-500-none.h5", SMALL)
    stimulus = round(PRE_STIMULUS_MS * SAMPLING_RATE_HZ / 1000)
    measure_cmap(np.zeros((1, 500), np.float32), SAMPLING_RATE_HZ, stimulus_sample=stimulus)
    run(small, folder / "warm-up.csv", overwrite=True, table="segment")
    try:  # the archive's one-time structure check (cached per file in this process): not steady state
        from nerveconduct.io import open_archive

        open_archive(archive).close()
    except ImportError:  # an older nerveconduct without a public io face
        pass
    measure_s = min(measure_only(archive, args.chunk_rows, stimulus) for _ in range(3))
    measure_tps = args.traces / measure_s
    print(f"# bench_tables: {args.traces} traces x 500 samples, jobs={args.jobs}, "
          f"chunk_rows={args.chunk_rows}, criteria={args.criteria or 'default'}, "
          f"load {os.getloadavg()[0]:.2f}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"read + measure_cmap (hot)    {measure_tps:12,.0f} tr/s")
    print(f"{'batch table':<28} {'steady tr/s':>12} {'of read+measure':>16} {'start-up s':>11}"
          f" {'x CSV':>6} {'load':>5}")
    runs: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    cpu_of: dict[str, list[float]] = {}
    for rep in range(args.repeat):
        steady_of: dict[str, float] = {}
        for output, reasons in OUTPUTS:
            label = output + (" --reasons" if reasons else "")
            if args.outputs is not None and label not in args.outputs:
                continue
            table, fmt = output.split(".")
            common = dict(jobs=args.jobs, overwrite=True, table=table, reasons=reasons)
            if args.criteria is not None:
                common["criteria"] = tuple(args.criteria)
            steady, startup = _steady(archive, small, folder / f"bench.{fmt}", args.traces,
                                      args.chunk_rows, common)
            steady_of[label] = steady
            runs.setdefault(label, []).append(steady)
            csv_steady = steady_of.get(f"{table}.csv") if fmt == "parquet" else None
            vs_csv = ""
            if csv_steady:
                ratios.setdefault(label, []).append(steady / csv_steady)
                vs_csv = f"{steady / csv_steady:6.2f}"
            cpu = ""
            if args.cpu:
                in_process = dict(common, jobs=1)
                c0 = time.process_time()
                run(archive, folder / f"bench.{fmt}", chunk_rows=args.chunk_rows, **in_process)
                cpu_us = (time.process_time() - c0) / args.traces * 1e6
                cpu_of.setdefault(label, []).append(cpu_us)
                csv_cpu = cpu_of.get(f"{table}.csv") if fmt == "parquet" else None
                cpu = f"  CPU {cpu_us:5.1f} us/trace" + (
                    f" ({csv_cpu[-1] / cpu_us:.2f} x CSV)" if csv_cpu else "")
            print(f"{label:<28} {steady:12,.0f} {steady / measure_tps:15.1%} {startup:11.1f} "
                  f"{vs_csv:>6} {os.getloadavg()[0]:5.2f}{cpu}", flush=True)
    if args.repeat > 1:
        print(f"# ranges over {args.repeat} runs")
        for label, values in runs.items():
            ratio = ratios.get(label)
            vs_csv = f", {min(ratio):.2f}-{max(ratio):.2f} x CSV" if ratio else ""
            cpu = cpu_of.get(label)
            cpu_text = f"; CPU {min(cpu):.1f}-{max(cpu):.1f} us/trace" if cpu else ""
            print(f"{label:<28} {min(values):,.0f}-{max(values):,.0f} tr/s "
                  f"({min(values) / measure_tps:.1%}-{max(values) / measure_tps:.1%}){vs_csv}"
                  f"{cpu_text}")
    if args.tasks:
        task_cpu(archive, tuple(args.criteria) if args.criteria is not None else None,
                 args.tasks)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
