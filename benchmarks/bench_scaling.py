"""Batch throughput (traces/s): in-process vs a local pool of 2, and Dask vs the local pool.

On one archive from ``bench_archive.make_archive`` (default 400 000 traces, 500 samples), in
one run of this script, :func:`nerveconduct.batch.run` writing ``--output`` (default
``segment.csv``: flat rows; ``nerve.jsonl``: nested records with the verdicts' sentences,
~8 kB per nerve, both written from the columns of the analysis and criteria) with

- ``jobs=1`` (in-process) and ``jobs=2`` (local process pool);
- ``scheduler="local", jobs=2``: a Dask LocalCluster of 2 worker processes started by the run;
- ``scheduler=<address>``: a Dask cluster of 2 workers that is already running (as on a
  real cluster), warmed by one small run first.

Each set-up first runs twice on a 200-trace archive (4 tasks); the second time is its fixed
start-up cost per run (starting workers, imports, loading the compiled kernel; the local
pool's fork server, started by the first, stays up for the next runs). Printed: the big run's wall
time and traces/s as a user sees them, the start-up time, and the steady throughput
``(traces - 200) / (big - small seconds)`` with its speed-up over ``jobs=1``. Every run must
write the same bytes; the script checks it.

Run from the repository root::

    python benchmarks/bench_scaling.py                  # ~2 min on 2 cores
    python benchmarks/bench_scaling.py --traces 40000 --output nerve.jsonl --no-dask
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_archive import make_archive  # noqa: E402

from nerveconduct.batch.engine import run  # noqa: E402  (bench_archive put the repository on the path)

SMALL = 200


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=400_000)
    parser.add_argument("--output", default="segment.csv",
                        choices=["segment.csv", "segment.jsonl", "nerve.csv", "nerve.jsonl"])
    parser.add_argument("--chunk-rows", type=int, default=16384,
                        help="rows per task (smaller than the default so 2 workers share the "
                             "work of a small archive)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask set-ups")
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nerveconduct-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    archive = make_archive(folder / f"bench-{args.traces}-500-none.h5", args.traces)
    small = make_archive(folder / f"bench-{SMALL}-500-none.h5", SMALL)
    table, fmt = args.output.split(".")
    run(small, folder / "warm-up.jsonl", overwrite=True)  # page cache, kernel in this process

    setups = [("jobs=1 (in-process)", {"jobs": 1}), ("jobs=2 (process pool)", {"jobs": 2})]
    with contextlib.ExitStack() as stack:
        if not args.no_dask:
            import distributed

            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"))
            setups += [("Dask LocalCluster (started)", {"scheduler": "local", "jobs": 2}),
                       ("Dask cluster (running)", {"scheduler": cluster.scheduler_address})]
        print(f"# bench_scaling: {args.traces} traces x 500 samples, chunk_rows={args.chunk_rows}, "
              f"{args.output}")
        print(f"{'set-up':<28} {'seconds':>8} {'traces/s':>9} {'start-up s':>11} "
              f"{'steady traces/s':>16} {'speed-up':>9}")
        base, digests = None, set()
        out = folder / f"scaling.{fmt}"
        for label, kwargs in setups:
            kwargs = {**kwargs, "table": table}
            run(small, out, chunk_rows=SMALL // 4, overwrite=True, **kwargs)  # warm (fork server)
            startup = run(small, out, chunk_rows=SMALL // 4, overwrite=True, **kwargs).seconds
            summary = run(archive, out, chunk_rows=args.chunk_rows, overwrite=True, **kwargs)
            digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
            steady = (args.traces - SMALL) / (summary.seconds - startup)
            base = base or steady
            print(f"{label:<28} {summary.seconds:8.1f} {summary.traces_per_s:9,.0f} "
                  f"{startup:11.1f} {steady:16,.0f} {steady / base:8.2f}x", flush=True)
    print("outputs identical:", len(digests) == 1)


if __name__ == "__main__":
    main()
