"""Re-analysis after a marker move on the review page: one 4-site nerve, median and p95 (ms).

The review page re-analyzes the nerve whose marker moved through the one analysis core
(:class:`nerveconduct.review.ReviewSession.set_markers`: ``analyze_nerves`` with the markers,
the rule sets on the nerve, the patient-level verdicts over every nerve of the case, the nerve
records) and answers with the new state. This measures, on a case of one simulated 4-site
ulnar nerve (wrist, below elbow, above elbow, axilla; 20 kHz, 50 ms sweeps) plus ``--nerves
- 1`` two-site nerves (the patient-level verdicts read them all):

1. **session** — ``set_markers`` alone, without HTTP (the server's own code path);
2. **HTTP** — ``POST /api/markers`` to a running :class:`~nerveconduct.review.ReviewServer`
   on 127.0.0.1 (JSON both ways, as the page sends it), from a client in this process.

Each repetition moves the proximal onset to a new time (alternating between two, so every
move changes the nerve). Target: well under 100 ms per move (the page feels immediate).

Run from the repository root::

    python benchmarks/bench_review.py                     # 300 repetitions, default criteria
    python benchmarks/bench_review.py --repeat 1000 --nerves 6 --criteria all
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from nerveconduct.criteria import DEFAULT_CRITERIA, list_rule_sets  # noqa: E402
from nerveconduct.model import Case  # noqa: E402
from nerveconduct.review import TOKEN_HEADER, ReviewServer, ReviewSession  # noqa: E402
from nerveconduct.simulate import simulate_nerve  # noqa: E402


def make_case(n_nerves: int) -> Case:
    """One 4-site ulnar nerve, then ``n_nerves - 1`` two-site median nerves (other sides/seeds)."""
    ulnar = simulate_nerve((70.0, 210.0, 100.0, 120.0), nerve="ulnar",
                           site_names=("wrist", "below elbow", "above elbow", "axilla"),
                           sweep_ms=50.0, seed=1).to_studies()[0]
    others = [simulate_nerve((70.0, 230.0), nerve="median", side="left" if k % 2 else "right",
                             sweep_ms=50.0, seed=10 + k).to_studies()[0]
              for k in range(n_nerves - 1)]
    return Case(studies=[ulnar, *others], case_id="BENCH")


def percentiles(times_ms: list[float]) -> tuple[float, float, float]:
    """Median, 95th percentile and maximum (ms)."""
    ordered = sorted(times_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=300, help="marker moves per mode")
    parser.add_argument("--nerves", type=int, default=4, help="nerves in the case (one 4-site)")
    parser.add_argument("--criteria", nargs="*", default=list(DEFAULT_CRITERIA),
                        help="rule-set ids ('all': every one)")
    args = parser.parse_args()
    criteria = ([r.id for r in list_rule_sets()] if args.criteria == ["all"] else args.criteria)

    case = make_case(args.nerves)
    session = ReviewSession(case, criteria=criteria, reviewer="bench")
    detected = session.state(traces=False)["nerves"][0]["record"]["sites"][3]["onset_latency_ms"]
    times = [detected + 0.5, detected + 1.0]

    def change(k: int) -> list[dict]:
        return [{"nerve": 0, "site": 3, "marker": "onset", "time_ms": times[k % 2]}]

    for k in range(10):  # warm-up: numba kernels, criteria tables, imports
        session.set_markers(change(k))
    direct = []
    for k in range(args.repeat):
        t0 = time.perf_counter()
        session.set_markers(change(k))
        direct.append((time.perf_counter() - t0) * 1000.0)

    server = ReviewServer(session, Path(os.devnull))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}/api/markers"

    def post(k: int) -> None:
        req = urllib.request.Request(url, method="POST", data=json.dumps({"set": change(k)}).encode(),
                                     headers={TOKEN_HEADER: server.token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            json.loads(resp.read())

    for k in range(10):
        post(k)
    http = []
    for k in range(args.repeat):
        t0 = time.perf_counter()
        post(k)
        http.append((time.perf_counter() - t0) * 1000.0)
    server.shutdown()
    server.server_close()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"re-analysis after a marker move: one 4-site nerve in a case of {args.nerves} nerve(s), "
          f"criteria {', '.join(criteria) or 'none'}; {args.repeat} moves per mode; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'mode':<34}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, values in (("session.set_markers (no HTTP)", direct), ("POST /api/markers (HTTP, JSON)", http)):
        med, p95, top = percentiles(values)
        print(f"{name:<34}{med:>10.1f}{p95:>10.1f}{top:>10.1f}")


if __name__ == "__main__":
    main()
