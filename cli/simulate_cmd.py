"""``nerveconduct simulate``: simulated nerve studies (with their truth) into an HDF5 archive."""

from __future__ import annotations

from typing import Any, Iterator

import click
import numpy as np

from nerveconduct.io import write_archive
from nerveconduct.simulate import simulate_nerve

from ._options import common_options, file_format_option
from ._output import check_new_output, file_format, message, overwrite_option, progress

__all__ = ["simulate", "parse_segment_values"]

#: Nerves simulated per call (memory stays bounded for any --nerves).
CHUNK_NERVES = 512
#: Archive suffixes (the only format simulate writes).
SUFFIX_FORMATS = {".h5": "hdf5", ".hdf5": "hdf5"}


def parse_segment_values(values: tuple[str, ...], option: str) -> dict[int, float]:
    """``("1=0.6", "2=0.3")`` -> ``{1: 0.6, 2: 0.3}``; a usage error (exit 2) names a bad one."""
    out: dict[int, float] = {}
    for text in values:
        seg, sep, value = text.partition("=")
        try:
            if not sep:
                raise ValueError
            out[int(seg)] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"expected SEGMENT=VALUE (e.g. 1=0.6, segment 1 is the one above the most distal "
                f"site), got {text!r}", param_hint=f"'{option}'") from None
    return out


def _distances(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated distances in mm (e.g. 70,200), got {text!r}",
                                 param_hint="'--distances'") from None
    return values


def _truth(sim: Any, i: int) -> dict[str, Any]:
    t = sim.truth
    pick = (lambda a: np.asarray(a)[i]) if sim.traces.ndim == 3 else (lambda a: np.asarray(a))  # noqa: E731
    rounded = lambda a: [None if not np.isfinite(v) else round(float(v), 6) for v in pick(a)]  # noqa: E731
    tli = float(pick(t.terminal_latency_index))
    return {
        "onset_latency_ms": rounded(t.onset_latency_ms),
        "negative_peak_amplitude_mv": rounded(t.negative_peak_amplitude_mv),
        "negative_peak_area_mv_ms": rounded(t.negative_peak_area_mv_ms),
        "negative_peak_duration_ms": rounded(t.negative_peak_duration_ms),
        "terminal_latency_index": round(tli, 6) if np.isfinite(tli) else None,
    }


@click.command("simulate")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Archive to write (HDF5: .h5 or .hdf5, e.g. sim.h5).")
@file_format_option(("hdf5",), help_text="Output format: hdf5 (the only one; the -o suffix "
                                         "must be .h5 or .hdf5).")
@click.option("--nerves", "n_nerves", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of nerves (independent motor-unit populations).")
@click.option("--nerve", default="median", show_default=True,
              help="Nerve: median, ulnar, fibular, tibial (sets the default site names).")
@click.option("--distances", default="70,200", show_default=True,
              help="Machine-convention distances in mm: distal stimulation point to active "
                   "electrode, then each segment's length (one site per value).")
@click.option("--block", multiple=True, metavar="SEG=FRACTION",
              help="Conduction block: in segment SEG (1 = above the most distal site) this "
                   "fraction (0-1) of the motor units is blocked. Repeatable.")
@click.option("--dispersion", multiple=True, metavar="SEG=FACTOR",
              help="Temporal dispersion: conduction in segment SEG is slowed by FACTOR (>= 1), "
                   "which spreads the units' arrival times and disperses the CMAP. Repeatable.")
@click.option("--cv-sd", "cv_sd_m_s", type=float, default=5.0, show_default=True,
              help="SD of the units' conduction velocities (m/s); larger disperses every segment.")
@click.option("--distal-slowing", type=float, default=1.0, show_default=True,
              help="Factor >= 1 on the terminal conduction time (2-3: anti-MAG-like low TLI).")
@click.option("--noise-uv", "noise_uv_rms", type=float, default=10.0, show_default=True,
              help="White noise (uV RMS).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed (same seed, same archive). Default: fresh, printed on stderr.")
@click.option("--compression", type=click.Choice(["none", "gzip", "lzf"]), default="none",
              show_default=True, help="HDF5 compression of the archive.")
@overwrite_option()
@common_options
def simulate(out: str, fmt: str | None, n_nerves: int, nerve: str, distances: str, block: tuple[str, ...],
             dispersion: tuple[str, ...], cv_sd_m_s: float, distal_slowing: float,
             noise_uv_rms: float, seed: int | None, compression: str, overwrite: bool) -> None:
    """Simulate motor nerve studies into an HDF5 archive, for tests and benchmarks.

    Each study's metadata keeps the simulation's noiseless truth ('truth': per-site onset
    latency, amplitude, area, duration; TLI) and its parameters ('simulation').

    \b
    Examples:
      nerveconduct simulate -o sim.h5 --nerves 1000 --seed 1
      nerveconduct simulate -o cb.h5 --nerves 20 --distances 70,200,120 --block 2=0.6 --seed 7
      nerveconduct simulate -o td.h5 --nerves 20 --dispersion 1=1.8 --seed 7
    """
    file_format(out, fmt, SUFFIX_FORMATS)
    kwargs = dict(
        nerve=nerve, cv_sd_m_s=cv_sd_m_s, distal_slowing=distal_slowing, noise_uv_rms=noise_uv_rms,
        block=parse_segment_values(block, "--block") or None,
        segment_slowing=parse_segment_values(dispersion, "--dispersion") or None,
    )
    dist = _distances(distances)
    check_new_output(out, overwrite=overwrite)
    root = np.random.SeedSequence(seed)
    sizes = [min(CHUNK_NERVES, n_nerves - s) for s in range(0, n_nerves, CHUNK_NERVES)]
    chunk_seeds = root.spawn(len(sizes))
    try:  # validate every option before any file is made
        simulate_nerve(dist, n_nerves=1, seed=0, **kwargs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if seed is None:
        message(f"seed: {root.entropy} (pass --seed {root.entropy} to reproduce)")
    parameters = {"seed": root.entropy, "distances_mm": list(dist),
                  **{k: v for k, v in kwargs.items() if v is not None}}
    parameters = {k: ({str(s): f for s, f in v.items()} if isinstance(v, dict) else v)
                  for k, v in parameters.items()}

    def studies() -> Iterator[Any]:
        index = 0
        for size, chunk_seed in zip(sizes, chunk_seeds, strict=True):
            sim = simulate_nerve(dist, n_nerves=size, seed=chunk_seed, **kwargs)
            for i, study in enumerate(sim.to_studies()):
                study.study_id = f"sim-{root.entropy}-{index}"
                study.metadata["simulation"] = parameters
                study.metadata["truth"] = _truth(sim, i)
                index += 1
                yield study

    with progress(studies(), length=n_nerves, label="simulating") as bar:
        write_archive(out, bar, overwrite=overwrite,
                      compression=None if compression == "none" else compression)
    message(f"wrote {n_nerves} simulated {nerve} nerve(s) to {out}")
