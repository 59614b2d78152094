"""Peak memory of a batch run at 10^5, 10^6 (and, with --huge, 10^7) traces: it must stay flat.

Each size runs :func:`nerveconduct.batch.run` in a fresh subprocess (EFNS/PNS 2010 MMN
verdicts, ``chunk_rows=16384`` as the batch's default; ``--output``: ``segment.csv`` by
default, the rows written from columns, or ``nerve.jsonl``, the nested records built per
nerve) on an archive
from ``bench_archive.make_archive`` (500-sample float32 traces, two sites per nerve), and
reports

- **run process**: its peak resident set (``VmHWM``, reported by the process itself at
  the end: exact; ``ru_maxrss`` is not used because Linux carries it over from the benchmark
  process that forked it);
- **largest worker**: the highest peak (``VmHWM``) of the worker processes (``--jobs`` > 1);
- **whole tree**: the largest sum of the proportional set sizes (PSS: shared pages split
  between the processes sharing them, so the fork server's pages are not counted once per
  worker) of the run process and all its descendants, sampled every 0.2 s.

Target (issue 7): flat across sizes and under 500 MB. Linux only (reads /proc).

Run from the repository root (archives are generated first: ~2.2 GB of disk per 10^6 traces)::

    python benchmarks/bench_memory.py                    # 10^5 and 10^6, ~6 min on 2 cores
    python benchmarks/bench_memory.py --jobs 2           # the same with a pool of 2 workers
    python benchmarks/bench_memory.py --huge --keep /data/bench   # + 10^7 (~22 GB, ~15 min)
    python benchmarks/bench_memory.py --output nerve.jsonl        # the per-nerve object path
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_archive import make_archive  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[5])
from nerveconduct.batch.engine import run
summary = run(sys.argv[1], sys.argv[2], jobs=int(sys.argv[3]), chunk_rows=int(sys.argv[4]),
              overwrite=True, table=sys.argv[6])
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(json.dumps({"self_peak_kb": int(status), "traces_per_s": summary.traces_per_s,
                  "seconds": summary.seconds, "n_failed": summary.n_failed}))
"""


def _peak_kb(proc: psutil.Process) -> int:
    """The process's peak resident set so far (kB, ``VmHWM`` in /proc: Linux only)."""
    with open(f"/proc/{proc.pid}/status", encoding="ascii") as fh:
        return int(fh.read().split("VmHWM:")[1].split()[0])


def measure(archive: Path, out: Path, jobs: int, chunk_rows: int,
            table: str = "segment") -> dict[str, float]:
    """Run one batch in a subprocess and return its memory and speed figures."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(archive), str(out), str(jobs),
                              str(chunk_rows), str(REPO_ROOT), table], stdout=subprocess.PIPE)
    root = psutil.Process(child.pid)
    tree_peak = worker_peak = 0
    while child.poll() is None:
        try:
            others = root.children(recursive=True)
            tree = sum(p.memory_full_info().pss for p in [root, *others]) // 1024
            tree_peak = max(tree_peak, tree)
            worker_peak = max([worker_peak, *(_peak_kb(p) for p in others)])
        except (psutil.Error, FileNotFoundError, ProcessLookupError):
            pass  # a process ended between listing and reading it: the next sample counts
        time.sleep(0.2)
    report = json.loads(child.stdout.read().decode().strip().splitlines()[-1])
    if child.returncode:
        raise SystemExit(f"the batch run failed with exit code {child.returncode}")
    report.update(tree_peak_kb=tree_peak, worker_peak_kb=worker_peak)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="archive sizes (traces)")
    parser.add_argument("--huge", action="store_true", help="also 10^7 traces (~22 GB of disk)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="batch worker processes (default 1: the run in one process)")
    parser.add_argument("--chunk-rows", type=int, default=16384)
    parser.add_argument("--output", default="segment.csv",
                        choices=["segment.csv", "segment.jsonl", "nerve.csv", "nerve.jsonl"],
                        help="table.format of the results (default: segment.csv)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder to keep (and reuse) the archives in; default: a temp dir")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes + ([10_000_000] if args.huge else [])))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nerveconduct-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    table, fmt = args.output.split(".")
    print(f"# bench_memory: jobs={args.jobs}, chunk_rows={args.chunk_rows}, 500-sample float32 "
          f"traces, {args.output} with EFNS/PNS 2010 MMN verdicts")
    print(f"{'traces':>10} {'run process':>12} {'largest worker':>15} {'whole tree':>11} "
          f"{'traces/s':>9} {'seconds':>8}")
    for n in sizes:
        archive = make_archive(folder / f"bench-{n}-500-none.h5", n)
        out = folder / f"memory-{n}.{fmt}"
        r = measure(archive, out, args.jobs, args.chunk_rows, table)
        out.unlink()
        worker = f"{r['worker_peak_kb'] / 1024:11.0f} MB" if args.jobs > 1 else f"{'-':>14}"
        print(f"{n:>10} {r['self_peak_kb'] / 1024:9.0f} MB {worker} "
              f"{r['tree_peak_kb'] / 1024:8.0f} MB {r['traces_per_s']:9,.0f} {r['seconds']:8.0f}",
              flush=True)


if __name__ == "__main__":
    main()
