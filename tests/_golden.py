"""Golden outputs: the frozen results of every batch table and format and of ``analyze -f json``.

The outputs were frozen before the analysis core was unified (one columnar core for every
view) so that the change could be checked byte for byte; ``tests/test_golden.py`` compares
today's outputs with them. The archive they are computed from is stored beside them
(``tests/golden/varied.h5``), so they depend on the measurement and the analysis only, not
on the simulator.

An intentional change of an output (a correction) regenerates them::

    python tests/_golden.py            # rewrite tests/golden/*

and the commit says which outputs changed and why.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent / "golden"
ARCHIVE = GOLDEN / "varied.h5"
#: Every shipped rule set, in a fixed order.
RULE_SETS = ("aan-1991", "amplitude-dependent-2000", "ean-pns-2021-cidp", "efns-pns-2010-cidp",
             "efns-pns-2010-mmn", "textbook-20pct")
#: (file name, table, reasons) of every frozen batch output; the suffix gives the format.
BATCH_OUTPUTS = (
    ("nerve.jsonl", "nerve", False),
    ("nerve.csv", "nerve", False),
    ("segment.csv", "segment", False),
    ("segment.jsonl", "segment", False),
    ("segment-reasons.csv", "segment", True),
)
#: Sample inputs of ``analyze -f json`` (sheets name their waveform files).
SAMPLE_INPUTS = ("normal_case.json", "mmn_case.toml", "antimag_case.toml", "cidp_median.edf",
                 "absent_proximal.h5", "noisy_median.txt")


def varied_studies() -> list:
    """Simulated nerves that visit every branch: unknown nerve and site names, unknown
    distances, absent responses, F-waves not studied / absent / with a latency, single-site
    nerves, two sampling set-ups, low temperatures, off-standard distal distances,
    compression-site, palm and Erb's-point segments, blocks."""
    from nerveconduct.model import NerveStudy, Site
    from nerveconduct.simulate.nerve import simulate_nerve

    common = dict(sweep_ms=25.0, dtype="float32")
    groups = [
        simulate_nerve((70.0, 200.0), n_nerves=30, seed=11, block={1: 0.6}, **common),
        simulate_nerve((70.0, 80.0, 100.0), nerve="ulnar", muscle="ADM", n_nerves=20, seed=12,
                       site_names=("wrist", "below elbow", "above elbow"),
                       sampling_rate_hz=10000.0, sweep_ms=30.0, dtype="float32"),
        simulate_nerve((90.0,), nerve="tibial", muscle="AH", n_nerves=5, seed=13, **common),
        simulate_nerve((80.0, 250.0, 150.0), nerve="fibular", muscle="EDB", n_nerves=10, seed=14,
                       site_names=("ankle", "below fibular head", "popliteal fossa"), **common),
        simulate_nerve((70.0, 230.0, 120.0, 200.0), n_nerves=10, seed=15,
                       site_names=("wrist", "elbow", "axilla", "erb"), block={2: 0.7}, **common),
        simulate_nerve((40.0, 70.0, 230.0), n_nerves=6, seed=16, site_names=("palm", "wrist", "elbow"),
                       block={2: 0.6}, **common),
        simulate_nerve((70.0, 80.0, 100.0, 250.0), nerve="ulnar", muscle="ADM", n_nerves=6, seed=17,
                       site_names=("wrist", "below elbow", "above elbow", "axilla"), block={3: 0.6},
                       **common),
    ]
    studies = [s for g in groups for s in g.to_studies()]
    rng = np.random.default_rng(7)
    out = []
    for k, s in enumerate(studies):
        sites, traces = list(s.sites), s.traces.copy()
        nerve, temp = s.nerve, s.temperature_c
        if k % 9 == 1:
            nerve = "mystery"  # unknown nerve name
        if k % 11 == 2 and len(sites) > 1:
            sites[1] = Site("somewhere", sites[1].distance_mm)  # unknown site name
        if k % 7 == 3:
            sites[-1] = Site(sites[-1].name, None)  # unknown distance
        if k % 13 == 4:
            traces[-1] = rng.normal(0, 0.005, traces.shape[1])  # absent proximal
        if k % 17 == 5:
            traces[0] = rng.normal(0, 0.005, traces.shape[1])  # absent distal
        if k % 5 == 0:
            temp = 29.5
        if k % 19 == 6:
            sites[0] = Site(sites[0].name, 130.0)  # distal distance far from the limit's
        lff = {0: 2.0, 1: 20.0, 2: None}[k % 3]
        out.append(NerveStudy(nerve, s.side, s.muscle, sites, traces, s.sampling_rate_hz,
                              stimulus_sample=s.stimulus_sample, polarity=s.polarity,
                              temperature_c=temp, low_frequency_filter_hz=lff,
                              study_id=f"S{k:04d}",
                              f_wave_latency_ms={0: 28.0, 1: float("nan")}.get(k % 4)))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def batch_output(name: str, table: str, reasons: bool, folder: Path) -> bytes:
    """The bytes ``nerveconduct.batch.engine.run`` writes for one frozen output."""
    from nerveconduct.batch.engine import run

    out = folder / name
    run(ARCHIVE, out, table=table, criteria=RULE_SETS, reasons=reasons, jobs=1)
    return out.read_bytes()


def analyze_json(sample: str) -> bytes:
    """``nerveconduct analyze SAMPLE -f json --criteria all`` (stdout), as bytes."""
    from click.testing import CliRunner

    from nerveconduct.simulate.samples import sample_path
    from nerveconduct_cli.main import main as cli

    path = sample_path(sample)
    here = os.getcwd()
    os.chdir(path.parent)  # a relative path: ``source`` does not depend on where samples are
    try:
        result = CliRunner().invoke(cli, ["analyze", path.name, "-f", "json", "--criteria", "all"],
                                    catch_exceptions=False)
    finally:
        os.chdir(here)
    if result.exit_code != 0:
        raise RuntimeError(f"analyze {sample} exited {result.exit_code}: {result.output}")
    return result.stdout_bytes if hasattr(result, "stdout_bytes") else result.output.encode()


def read_golden(name: str) -> bytes:
    """A frozen output (stored gzip-compressed)."""
    return gzip.decompress((GOLDEN / f"{name}.gz").read_bytes())


def _write_gz(name: str, data: bytes) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(data)
    (GOLDEN / f"{name}.gz").write_bytes(buf.getvalue())


def main() -> None:
    """Rewrite every golden file (the archive too, with ``--archive``)."""
    import tempfile

    from nerveconduct.io.archive import write_archive

    GOLDEN.mkdir(exist_ok=True)
    if "--archive" in sys.argv or not ARCHIVE.exists():
        if ARCHIVE.exists():
            ARCHIVE.unlink()
        write_archive(ARCHIVE, varied_studies(), compression="gzip")
    with tempfile.TemporaryDirectory() as tmp:
        for name, table, reasons in BATCH_OUTPUTS:
            _write_gz(name, batch_output(name, table, reasons, Path(tmp)))
    for sample in SAMPLE_INPUTS:
        _write_gz(f"analyze-{sample}.json", analyze_json(sample))
    print(json.dumps(sorted(p.name for p in GOLDEN.iterdir())))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
