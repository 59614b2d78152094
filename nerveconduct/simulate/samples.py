"""The bundled sample files: a deterministic generator, and where to find them.

``python -m nerveconduct.simulate.samples OUT_DIR`` regenerates ``data/samples/`` from the simulator
(:func:`nerveconduct.simulate.nerve.simulate_nerve`) with fixed seeds, in every format nerveconduct
reads: trace CSV exports (with obviously fake patient rows that must not come through by
default), Nihon Kohden text exports, EDF+D files, HDF5 archives, and JSON/TOML study
sheets naming their waveform files; the sensory and F-wave samples come from
:mod:`.samples_sensory` (trace CSV and archive), the two-nerve CIDP-like case also in
Nihon Kohden text, Natus text and EDF+D (:mod:`.samples_formats`). ``data/samples/README.md`` says what each file shows and
what nerveconduct finds in it; ``tests/test_samples.py`` checks exactly that.

Examples
--------
>>> sorted(SAMPLE_FILES)[:2]
['absent_proximal.h5', 'antimag.csv']
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..io._text import atomic_write_bytes
from ..io.edf import write_edf
from ..io.nihon_kohden import write_nihon_kohden_txt
from ..io.vendor import write_trace_csv
from ..model import NerveStudy
from .samples_sensory import (F_WAVE_SCENARIOS, SENSORY_CASES, SENSORY_SAMPLE_FILES, SENSORY_SCENARIOS,
                              f_wave_study, sensory_case, sensory_study, write_sensory_samples)
from .samples_formats import FORMAT_SAMPLE_FILES, write_format_samples

__all__ = ["SAMPLE_FILES", "SCENARIOS", "FAKE_PATIENT_NAME", "FAKE_PATIENT_ID",
           "SENSORY_SCENARIOS", "F_WAVE_SCENARIOS", "SENSORY_CASES", "generate_samples",
           "sample_path", "sensory_study", "f_wave_study", "sensory_case", "main"]

#: Identifier rows written into the CSV samples: obviously fake, never real people.
FAKE_PATIENT_NAME = "FAKE^NOT-A-PATIENT"
FAKE_PATIENT_ID = "FAKE-000-0000"
_DATE = "2025-09-30"
#: The CSV export's set-up: ~12.8 kHz, 640 samples (50 ms), stimulus at sample 0.
_CSV = dict(sampling_rate_hz=12800.0, sweep_ms=50.0, pre_stimulus_ms=0.0)
_EDF = dict(sampling_rate_hz=20000.0, sweep_ms=50.0, pre_stimulus_ms=5.0)
_NK = dict(sampling_rate_hz=20000.0, sweep_ms=40.0, pre_stimulus_ms=2.0)

#: name -> simulate_nerve keyword arguments (seeded), plus the study's temperature.
SCENARIOS: dict[str, dict[str, Any]] = {
    "normal_median": dict(distances_mm=(70.0, 230.0), site_names=("Wrist", "Elbow"),
                          nerve="median", side="right", muscle="APB", seed=101,
                          distal_amplitude_mv=9.0, **_CSV),
    "normal_ulnar": dict(distances_mm=(70.0, 210.0, 100.0),
                         site_names=("Wrist", "Below Elbow", "Above Elbow"), nerve="ulnar",
                         side="right", muscle="ADM", seed=102, distal_amplitude_mv=9.5,
                         cv_mean_m_s=58.0, **_NK),
    "mmn_ulnar": dict(distances_mm=(70.0, 200.0, 100.0),
                      site_names=("Wrist", "Below Elbow", "Above Elbow"), nerve="ulnar",
                      side="left", muscle="ADM", seed=201, block={1: 0.6}, cv_sd_m_s=3.0,
                      distal_amplitude_mv=7.0, **_EDF),
    "cidp_median": dict(distances_mm=(70.0, 230.0, 110.0),
                        site_names=("Wrist", "Elbow", "Axilla"), nerve="median", side="right",
                        muscle="APB", seed=301, cv_mean_m_s=38.0, cv_sd_m_s=9.0,
                        segment_slowing={1: 1.6}, distal_slowing=1.3, distal_amplitude_mv=5.0,
                        **_EDF),
    "antimag_median": dict(distances_mm=(70.0, 230.0), site_names=("Wrist", "Elbow"),
                           nerve="median", side="left", muscle="APB", seed=401,
                           distal_slowing=2.6, cv_mean_m_s=45.0, distal_amplitude_mv=6.0,
                           **_CSV),
    "antimag_ulnar": dict(distances_mm=(70.0, 210.0), site_names=("Wrist", "Below Elbow"),
                          nerve="ulnar", side="left", muscle="ADM", seed=402,
                          distal_slowing=2.4, cv_mean_m_s=46.0, distal_amplitude_mv=6.5,
                          **_CSV),
    "absent_proximal": dict(distances_mm=(90.0, 330.0),
                            site_names=("Ankle", "Popliteal Fossa"), nerve="tibial",
                            side="right", muscle="AH", seed=501, block={1: 1.0},
                            distal_amplitude_mv=5.0, **_EDF),
    "noisy_median": dict(distances_mm=(70.0, 230.0), site_names=("Wrist", "Elbow"),
                         nerve="median", side="left", muscle="APB", seed=601,
                         noise_uv_rms=40.0, hum_uv=300.0, hum_hz=50.0,
                         distal_amplitude_mv=8.0, **_NK),
}
_TEMPERATURE_C = {"normal_median": 32.5, "normal_ulnar": 32.5, "mmn_ulnar": 33.0,
                  "cidp_median": 32.0, "antimag_median": 31.5, "antimag_ulnar": 31.5,
                  "absent_proximal": 31.0, "noisy_median": 32.0}

_NORMAL_SHEET = {
    "case_id": "SAMPLE-NORMAL", "study_date": _DATE,
    "nerves": [
        {"file": "normal_median.csv", "nerve": "median", "side": "right", "muscle": "APB",
         "temperature_c": 32.5, "low_frequency_filter_hz": 2.0, "f_wave_latency_ms": 26.0,
         "sites": [{"name": "Wrist", "distance_mm": 70.0}, {"name": "Elbow", "distance_mm": 230.0}]},
        {"file": "normal_ulnar.txt", "nerve": "ulnar", "side": "right",
         "f_wave_latency_ms": 27.0},
    ],
}

_MMN_TOML = f"""# MMN-like case: definite conduction block in the left ulnar forearm segment.
case_id = "SAMPLE-MMN"
study_date = "{_DATE}"

[mmn]
core_clinical = true
exclusions_absent = true
one_nerve_only = false
sensory_normal = {{ "left ulnar" = true }}
supportive = {{ anti_gm1 = true, csf_protein_below_1g_l = true }}

[[nerves]]
file = "mmn_ulnar.edf"
nerve = "ulnar"
side = "left"
f_wave_latency_ms = 29.0
"""

_ANTIMAG_TOML = f"""# Anti-MAG-like case: low terminal latency index in the median AND the ulnar nerve.
case_id = "SAMPLE-ANTIMAG"
study_date = "{_DATE}"

[clinical]
length_dependent_sensory = true
ataxia = true
tremor = true
relapsing_or_acute_onset = false
proximal_weakness = false

[paraprotein]
m_protein = "IgM-kappa"
anti_mag_titre = 70000
anti_mag_unit = "BTU"
igg = {{ value = 6.1, unit = "g/L", lln = 7.0 }}
iga = {{ value = 0.9, unit = "g/L", lln = 0.7 }}
igm = {{ value = 9.8, unit = "g/L", lln = 0.4 }}

[[nerves]]
file = "antimag.csv"
nerve = "median"
side = "left"
muscle = "APB"
temperature_c = 31.5
sites = [{{ name = "Wrist", distance_mm = 70.0 }}, {{ name = "Elbow", distance_mm = 230.0 }}]

[[nerves]]
file = "antimag.csv"
nerve = "ulnar"
side = "left"
muscle = "ADM"
temperature_c = 31.5
sites = [{{ name = "Wrist", distance_mm = 70.0 }}, {{ name = "Below Elbow", distance_mm = 210.0 }}]
"""

#: Every file :func:`generate_samples` writes (README.md aside), with what it holds.
SAMPLE_FILES: dict[str, str] = {
    "normal_median.csv": "trace CSV: normal right median (no distances: see normal_case.json)",
    "normal_ulnar.txt": "Nihon Kohden text: simulated normal right ulnar, 3 sites (DML 3.33 ms, just above the 3.3 ms ULN)",
    "normal_case.json": "JSON sheet naming normal_median.csv and normal_ulnar.txt",
    "mmn_ulnar.edf": "EDF+D: left ulnar, definite CB wrist-below elbow (MMN-like)",
    "mmn_case.toml": "TOML sheet naming mmn_ulnar.edf, with MMN inputs",
    "cidp_median.edf": "EDF+D: right median, slowing and temporal dispersion (CIDP-like)",
    "antimag.csv": "trace CSV, two test items: left median and left ulnar, low TLI",
    "antimag_case.toml": "TOML sheet naming antimag.csv: distances, CIDP-MAG items, paraprotein",
    "absent_proximal.h5": "HDF5 archive: right tibial, proximal response absent",
    "noisy_median.txt": "Nihon Kohden text: left median with noise and 50 Hz hum",
    "values_case.csv": "values table (no waveforms): left median and ulnar, forearm CB in the ulnar",
    "two_patients/patient_a_median.csv": "trace CSV of one fake patient: left median (two patients: refused together)",
    "two_patients/patient_b_median.csv": "trace CSV of another fake patient: left median",
    **SENSORY_SAMPLE_FILES,
    **FORMAT_SAMPLE_FILES,
}

#: The values-only sample: the machine's numbers, one row per site (``docs/cli.md``, --values).
_VALUES_CSV = """\
case_id,nerve,side,muscle,site,distance_mm,onset_latency_ms,negative_peak_amplitude_mv,negative_peak_area_mv_ms,negative_peak_duration_ms,f_wave_latency_ms
SAMPLE-VALUES,median,left,APB,wrist,70,3.6,7.2,24.1,4.9,27.5
SAMPLE-VALUES,median,left,APB,elbow,230,7.8,6.6,22.0,5.3,
SAMPLE-VALUES,ulnar,left,ADM,wrist,70,3.0,8.4,26.0,5.0,28.1
SAMPLE-VALUES,ulnar,left,ADM,below elbow,210,6.6,3.1,10.2,5.6,
SAMPLE-VALUES,ulnar,left,ADM,above elbow,100,8.6,3.0,9.9,5.8,
"""
#: The two fake patients of ``two_patients/``: (file, patient ID); names are the same fake one.
_TWO_PATIENTS = (("patient_a_median.csv", "FAKE-000-0001"), ("patient_b_median.csv", "FAKE-000-0002"))


def _study(name: str) -> NerveStudy:
    from .nerve import simulate_nerve  # only when generating: importing it costs seconds

    (study,) = simulate_nerve(**SCENARIOS[name]).to_studies()
    return NerveStudy(study.nerve, study.side, study.muscle, study.sites, study.traces,
                      study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
                      temperature_c=_TEMPERATURE_C[name], low_frequency_filter_hz=2.0,
                      study_id=f"SAMPLE-{name}", metadata={"study_date": _DATE})


def _without_distances(study: NerveStudy) -> NerveStudy:
    from ..model import Site

    return NerveStudy(study.nerve, study.side, study.muscle,
                      [Site(s.name, None) for s in study.sites], study.traces,
                      study.sampling_rate_hz, stimulus_sample=study.stimulus_sample,
                      temperature_c=study.temperature_c,
                      low_frequency_filter_hz=study.low_frequency_filter_hz,
                      metadata=dict(study.metadata))


def generate_samples(out_dir: str | Path, *, overwrite: bool = True) -> list[Path]:
    """Write every sample file into ``out_dir`` (created if needed); deterministic.

    Returns
    -------
    list of Path
        The files written, in :data:`SAMPLE_FILES` order.
    """
    from ..io.archive import write_archive  # lazy: h5py only when generating

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fake = dict(patient_name=FAKE_PATIENT_NAME, patient_id=FAKE_PATIENT_ID, overwrite=overwrite)
    write_trace_csv(out / "normal_median.csv", _study("normal_median"), **fake)
    write_nihon_kohden_txt(out / "normal_ulnar.txt", _study("normal_ulnar"), overwrite=overwrite)
    atomic_write_bytes(out / "normal_case.json",
                       (json.dumps(_NORMAL_SHEET, indent=2) + "\n").encode(), overwrite=overwrite)
    write_edf(out / "mmn_ulnar.edf", _study("mmn_ulnar"), overwrite=overwrite)
    atomic_write_bytes(out / "mmn_case.toml", _MMN_TOML.encode(), overwrite=overwrite)
    write_edf(out / "cidp_median.edf", _study("cidp_median"), overwrite=overwrite)
    # two test items in one CSV; the export has no distances: the TOML sheet gives them
    median = write_trace_csv(out / "antimag_median.tmp", _study("antimag_median"), **fake)
    ulnar = write_trace_csv(out / "antimag_ulnar.tmp", _study("antimag_ulnar"), **fake)
    atomic_write_bytes(out / "antimag.csv", median.read_bytes() + ulnar.read_bytes(),
                       overwrite=overwrite)
    median.unlink()
    ulnar.unlink()
    atomic_write_bytes(out / "antimag_case.toml", _ANTIMAG_TOML.encode(), overwrite=overwrite)
    h5 = out / "absent_proximal.h5"
    if h5.exists() and overwrite:
        h5.unlink()
    write_archive(h5, [_study("absent_proximal")], compression="gzip", chunk_rows=2)
    write_nihon_kohden_txt(out / "noisy_median.txt", _study("noisy_median"), overwrite=overwrite)
    write_case_samples(out, overwrite=overwrite)
    write_sensory_samples(out, patient_name=FAKE_PATIENT_NAME, overwrite=overwrite)
    write_format_samples(out, patient_name=FAKE_PATIENT_NAME, overwrite=overwrite)
    return [out / name for name in SAMPLE_FILES]


def write_case_samples(out_dir: str | Path, *, overwrite: bool = True) -> list[Path]:
    """Write the case samples: the values-only table and the two-patient folder (two trace
    CSVs of the normal median scenario, each naming a different fake patient)."""
    out = Path(out_dir)
    atomic_write_bytes(out / "values_case.csv", _VALUES_CSV.encode(), overwrite=overwrite)
    (out / "two_patients").mkdir(parents=True, exist_ok=True)
    for seed, (name, pid) in enumerate(_TWO_PATIENTS, start=1):
        study = _study("normal_median")
        scenario = dict(SCENARIOS["normal_median"], side="left", seed=900 + seed)
        from .nerve import simulate_nerve

        (sim,) = simulate_nerve(**scenario).to_studies()
        study = NerveStudy(sim.nerve, sim.side, sim.muscle, sim.sites, sim.traces,
                           sim.sampling_rate_hz, stimulus_sample=sim.stimulus_sample,
                           temperature_c=study.temperature_c, low_frequency_filter_hz=2.0,
                           metadata={"study_date": _DATE})
        write_trace_csv(out / "two_patients" / name, study, patient_name=FAKE_PATIENT_NAME,
                        patient_id=pid, overwrite=overwrite)
    return [out / "values_case.csv", *(out / "two_patients" / n for n, _ in _TWO_PATIENTS)]


def sample_path(name: str) -> Path:
    """Path of a bundled sample file (installed ``nerveconduct_samples`` or the source tree).

    Raises
    ------
    FileNotFoundError
        ``name`` is not a bundled sample (the message lists them).
    """
    from importlib.resources import files

    bases = [Path(__file__).resolve().parents[2] / "data" / "samples"]  # source tree
    try:
        bases.insert(0, Path(str(files("nerveconduct_samples"))))  # installed data package
    except ModuleNotFoundError:
        pass  # not installed: the source tree is the only place
    for base in bases:
        if name in SAMPLE_FILES and (base / name).is_file():
            return base / name
    raise FileNotFoundError(f"no bundled sample {name!r} in {[str(b) for b in bases]}; "
                            f"samples: {sorted(SAMPLE_FILES)}")


def main(argv: list[str] | None = None) -> int:
    """``python -m nerveconduct.simulate.samples OUT_DIR``: regenerate the sample files."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m nerveconduct.simulate.samples OUT_DIR", file=sys.stderr)
        return 2
    for path in generate_samples(args[0]):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
