"""The sensory and F-wave samples: a SNAP study, an F-wave train, a two-nerve CIDP-like case.

Made from the simulator with fixed seeds (:func:`~nerveconduct.simulate.sensory.simulate_snap`,
:func:`~nerveconduct.simulate.fwave.simulate_f_waves`,
:func:`~nerveconduct.simulate.nerve.simulate_nerve`) and written by
:func:`write_sensory_samples` in the formats whose writers carry sensory studies and F-wave
trains: the trace CSV export (:func:`nerveconduct.io.vendor.write_trace_csv`) and the HDF5
archive (:func:`nerveconduct.io.archive.write_archive`). :func:`sensory_case` gives the same
cases in memory. The seeds of the F-wave trains were chosen so that every stimulus' F-wave
(or its absence) measures as the simulator's noiseless truth says (within 0.3 ms): the samples
show the measure, not its rare misses. ``data/samples/README.md`` says what each file shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..model import Case, NerveStudy, SensoryStudy, Site

__all__ = ["SENSORY_SCENARIOS", "F_WAVE_SCENARIOS", "SENSORY_CASES", "SENSORY_SAMPLE_FILES",
           "SENSORY_PATIENT_IDS", "SNAP_SETUP", "sensory_study", "f_wave_study", "sensory_case",
           "write_sensory_samples"]

_DATE = "2025-09-30"  # the samples' study date (as the other samples)

#: The sensory and F-wave samples' set-ups: SNAPs at 20 kHz over 15 ms; motor CMAPs and
#: F-wave trains at 10 kHz (the F-waves' 50-62 ms sweeps stay small).
SNAP_SETUP = dict(sampling_rate_hz=20000.0, sweep_ms=15.0, pre_stimulus_ms=2.0)
_MOTOR_10K = dict(sampling_rate_hz=10000.0, sweep_ms=50.0, pre_stimulus_ms=5.0)
_TRAIN = dict(sampling_rate_hz=10000.0, pre_stimulus_ms=5.0, n_stimuli=10)

#: name -> sensory study: nerve, side, recording site, seed, CV (m/s) of the fibres and per
#: site (name, distance_mm as the model counts it, baseline-to-peak amplitude uV).
SENSORY_SCENARIOS: dict[str, dict[str, Any]] = {
    "normal_median_sensory": dict(nerve="median", side="right", recording_site="digit II",
                                  seed=701, cv_mean_m_s=58.0, cv_sd_m_s=4.0,
                                  sites=(("wrist", 130.0, 35.0), ("elbow", 230.0, 22.0))),
    "cidp_median_sensory": dict(nerve="median", side="left", recording_site="digit II",
                                seed=711, cv_mean_m_s=36.0, cv_sd_m_s=4.0,
                                sites=(("wrist", 130.0, 8.0),)),
    "cidp_ulnar_sensory": dict(nerve="ulnar", side="left", recording_site="digit V",
                               seed=712, cv_mean_m_s=37.0, cv_sd_m_s=4.0,
                               sites=(("wrist", 110.0, 6.0),)),
}
#: name -> (simulate_nerve arguments of the motor study, simulate_f_waves arguments of its train).
F_WAVE_SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "normal_ulnar_fwave": (
        dict(distances_mm=(70.0, 210.0), site_names=("Wrist", "Below Elbow"), nerve="ulnar",
             side="right", muscle="ADM", seed=801, distal_amplitude_mv=9.0, cv_mean_m_s=58.0,
             **_MOTOR_10K),
        dict(seed=812, cv_mean_m_s=58.0, m_amplitude_mv=9.0, distal_distance_mm=70.0,
             spinal_distance_mm=650.0, sweep_ms=50.0, **_TRAIN)),
    "cidp_median_fwave": (
        dict(distances_mm=(70.0, 230.0), site_names=("Wrist", "Elbow"), nerve="median",
             side="left", muscle="APB", seed=811, cv_mean_m_s=36.0, cv_sd_m_s=8.0,
             segment_slowing={1: 1.5}, distal_slowing=1.4, distal_amplitude_mv=4.5, **_MOTOR_10K),
        dict(seed=812, cv_mean_m_s=35.0, cv_sd_m_s=3.0, m_amplitude_mv=4.5,
             distal_distance_mm=70.0, spinal_distance_mm=650.0, sweep_ms=62.0,
             backfiring_units_mean=1.2, **_TRAIN)),
    "cidp_ulnar_fwave": (
        dict(distances_mm=(70.0, 210.0), site_names=("Wrist", "Below Elbow"), nerve="ulnar",
             side="left", muscle="ADM", seed=821, cv_mean_m_s=37.0, cv_sd_m_s=8.0,
             segment_slowing={1: 1.4}, distal_slowing=1.3, distal_amplitude_mv=5.0, **_MOTOR_10K),
        dict(seed=835, cv_mean_m_s=38.0, cv_sd_m_s=3.0, m_amplitude_mv=5.0,
             distal_distance_mm=70.0, spinal_distance_mm=640.0, sweep_ms=60.0,
             backfiring_units_mean=1.2, **_TRAIN)),
}
#: The cases the sensory and F-wave samples make: case id, motor studies, sensory studies,
#: EAN/PNS 2021 inputs (``Case.cidp``).
SENSORY_CASES: dict[str, dict[str, Any]] = {
    "sensory_median": dict(case_id="SAMPLE-SENSORY", studies=(),
                           sensory=("normal_median_sensory",)),
    "fwave_ulnar": dict(case_id="SAMPLE-FWAVE", studies=("normal_ulnar_fwave",), sensory=()),
    "cidp_two_nerves": dict(case_id="SAMPLE-CIDP-2N", studies=("cidp_median_fwave",
                                                               "cidp_ulnar_fwave"),
                            sensory=("cidp_median_sensory", "cidp_ulnar_sensory"),
                            cidp={"variant": "typical", "clinical_criteria": True}),
}


def sensory_study(name: str) -> Any:
    """The sensory sample ``name`` of :data:`SENSORY_SCENARIOS` as a
    :class:`~nerveconduct.model.SensoryStudy` (traces in mV, one SNAP per site, simulated by
    :func:`~nerveconduct.simulate.sensory.simulate_snap` with the scenario's seed: every site
    shares the fibre population, its SNAP recorded over the site's conduction distance)."""
    from .sensory import simulate_snap

    sc = SENSORY_SCENARIOS[name]
    traces, total_mm = [], 0.0
    for _, distance_mm, amplitude_uv in sc["sites"]:
        total_mm += distance_mm
        sim = simulate_snap(total_mm, amplitude_uv=amplitude_uv, cv_mean_m_s=sc["cv_mean_m_s"],
                            cv_sd_m_s=sc["cv_sd_m_s"], seed=sc["seed"], dtype="float32",
                            **SNAP_SETUP)
        traces.append(sim.traces)
    return SensoryStudy(sc["nerve"], sc["side"], [Site(n, d) for n, d, _ in sc["sites"]],
                        np.stack(traces), sim.sampling_rate_hz,
                        stimulus_sample=sim.stimulus_sample, recording_site=sc["recording_site"],
                        temperature_c=32.5, low_frequency_filter_hz=20.0,
                        study_id=f"SAMPLE-{name}", metadata={"study_date": _DATE})


def f_wave_study(name: str) -> NerveStudy:
    """The motor sample ``name`` of :data:`F_WAVE_SCENARIOS` with its F-wave train
    (:func:`~nerveconduct.simulate.fwave.simulate_f_waves`, mV, one sweep per stimulus)."""
    from .fwave import simulate_f_waves
    from .nerve import simulate_nerve

    motor, train = F_WAVE_SCENARIOS[name]
    (st,) = simulate_nerve(**motor, dtype="float32").to_studies()
    fw = simulate_f_waves(**train, dtype="float32")
    return NerveStudy(st.nerve, st.side, st.muscle, st.sites, st.traces, st.sampling_rate_hz,
                      stimulus_sample=st.stimulus_sample, temperature_c=32.5,
                      low_frequency_filter_hz=2.0, study_id=f"SAMPLE-{name}",
                      metadata={"study_date": _DATE}, f_wave_traces=fw.traces,
                      f_wave_sampling_rate_hz=fw.sampling_rate_hz,
                      f_wave_stimulus_sample=fw.stimulus_sample)


def sensory_case(name: str) -> Any:
    """The sample case ``name`` of :data:`SENSORY_CASES` as a :class:`~nerveconduct.model.Case`
    (motor studies with their F-wave trains, sensory studies), made from the simulator."""
    spec = SENSORY_CASES[name]
    studies = [f_wave_study(n) for n in spec["studies"]]
    sensory = [sensory_study(n) for n in spec["sensory"]]
    for st in (*studies, *sensory):
        st.study_id = spec["case_id"]
    return Case(studies=studies, case_id=spec["case_id"], study_date=_DATE, sensory=sensory,
                cidp=dict(spec.get("cidp", {})))


#: Every file :func:`write_sensory_samples` writes, with what it holds.
SENSORY_SAMPLE_FILES: dict[str, str] = {
    "sensory_median.csv": "trace CSV: normal right median SNAPs (antidromic, digit II), wrist and elbow",
    "fwave_ulnar.csv": ("trace CSV: simulated normal right ulnar motor study with a 10-stimulus "
                        "F-wave train (normal F-waves; DML 3.36 ms, just above the 3.3 ms ULN)"),
    "cidp_two_nerves.csv": "trace CSV: CIDP-like left median and ulnar, motor + F-wave trains + SNAPs",
    "cidp_two_nerves.h5": "HDF5 archive: the same CIDP-like case (case key SAMPLE-CIDP-2N, "
                          "with its EAN/PNS 2021 inputs)",
    "cidp_two_nerves.toml": "TOML sheet naming cidp_two_nerves.csv: case key SAMPLE-CIDP-2N and "
                            "the [cidp] inputs (typical CIDP, clinical criteria met)",
}

#: The study sheet of the two-nerve CIDP case: the CSV's nerves and the EAN/PNS 2021 inputs of
#: :data:`SENSORY_CASES` (``docs/formats.md``, "Study sheets").
_CIDP_TOML = """\
# CIDP-like case, left median and ulnar: motor studies with F-wave trains, and their SNAPs
# (the sensory studies come from the file, marked Sensory there).
case_id = "SAMPLE-CIDP-2N"
study_date = "2025-09-30"

[cidp]
variant = "typical"
clinical_criteria = true

[[nerves]]
file = "cidp_two_nerves.csv"
nerve = "median"
side = "left"

[[nerves]]
file = "cidp_two_nerves.csv"
nerve = "ulnar"
side = "left"
"""
#: Which case each file holds (:data:`SENSORY_CASES`).
_FILE_CASES = {"sensory_median.csv": "sensory_median", "fwave_ulnar.csv": "fwave_ulnar",
               "cidp_two_nerves.csv": "cidp_two_nerves", "cidp_two_nerves.h5": "cidp_two_nerves",
               "cidp_two_nerves.toml": "cidp_two_nerves"}
#: The fake patient ID of each trace CSV: one per case, so each file is a case of its own.
SENSORY_PATIENT_IDS = {"sensory_median.csv": "FAKE-000-0101", "fwave_ulnar.csv": "FAKE-000-0102",
                       "cidp_two_nerves.csv": "FAKE-000-0103"}


def write_sensory_samples(out_dir: str | Path, *, patient_name: str,
                          overwrite: bool = True) -> list[Path]:
    """Write :data:`SENSORY_SAMPLE_FILES` into ``out_dir`` (which must exist); deterministic
    (the archive up to HDF5's own bytes).

    The trace CSVs carry distances (a ``Distance (mm)`` row: each file reads on its own), the
    given, obviously fake, patient name and the fake IDs of :data:`SENSORY_PATIENT_IDS`; the
    archive keeps the case key and the EAN/PNS 2021 inputs (``Case.cidp``); the TOML sheet
    gives the CSV the same key and inputs.

    Returns
    -------
    list of Path
        The files written, in :data:`SENSORY_SAMPLE_FILES` order.
    """
    from ..io._text import atomic_write_bytes
    from ..io.archive import write_archive  # lazy: h5py only when generating
    from ..io.vendor import write_trace_csv

    out = Path(out_dir)
    cases = {name: sensory_case(name) for name in SENSORY_CASES}
    for name, case_name in _FILE_CASES.items():
        target = out / name
        if name.endswith(".toml"):
            atomic_write_bytes(target, _CIDP_TOML.encode(), overwrite=overwrite)
            continue
        if name.endswith(".csv"):
            write_trace_csv(target, cases[case_name], patient_name=patient_name,
                            patient_id=SENSORY_PATIENT_IDS[name], overwrite=overwrite,
                            distances=True)
            continue
        if target.exists() and overwrite:
            target.unlink()
        write_archive(target, [cases[case_name]], compression="gzip")
    return [out / name for name in SENSORY_SAMPLE_FILES]
