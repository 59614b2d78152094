"""The two-nerve CIDP-like sample in the other formats that carry sensory studies and F-wave trains.

The case of :func:`~nerveconduct.simulate.samples_sensory.sensory_case` ``("cidp_two_nerves")``
(left median and ulnar motor studies with their 10-stimulus F-wave trains, both nerves' SNAPs)
written by the Nihon Kohden text, Natus text and EDF+D writers into the folder
:data:`FORMATS_DIR` of the samples, beside the trace CSV and archive forms of the same case.
The traces are those of the other forms, unchanged (no lower rate, no fewer stimuli): each
file measures as the trace CSV does, within the format's precision. EDF+D holds one
sampling rate per file (one record duration and one samples-per-record count per signal), and
the case has two (CMAPs and F-wave trains at 10 kHz, SNAPs at 20 kHz): it is bundled as two
EDF+D files, read together as one case (their records' notes carry the case key). The folder
keeps them out of ``nerveconduct demo``, which shows the case once, from the archive.
``data/samples/README.md`` lists the files and their sizes.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FORMATS_DIR", "FORMAT_SAMPLE_FILES", "FORMAT_SAMPLE_CASES", "write_format_samples"]

#: The folder of the samples (relative to the samples' folder) holding these files.
FORMATS_DIR = "cidp_two_nerves_formats"

#: Every file :func:`write_format_samples` writes (relative to the samples' folder), with
#: what it holds.
FORMAT_SAMPLE_FILES: dict[str, str] = {
    f"{FORMATS_DIR}/cidp_two_nerves_nk.txt": "Nihon Kohden text: the two-nerve CIDP-like case "
                                             "(motor, F-wave trains, SNAPs)",
    f"{FORMATS_DIR}/cidp_two_nerves_natus.txt": "Natus text: the two-nerve CIDP-like case",
    f"{FORMATS_DIR}/cidp_two_nerves_motor.edf": "EDF+D (10 kHz): the case's motor studies and "
                                                "F-wave trains",
    f"{FORMATS_DIR}/cidp_two_nerves_snap.edf": "EDF+D (20 kHz): the case's SNAPs (read with "
                                               "cidp_two_nerves_motor.edf as one case)",
}
#: The files that read as one case: the case's forms, each a list of files read together.
FORMAT_SAMPLE_CASES: dict[str, tuple[str, ...]] = {
    "nihon-kohden-txt": (f"{FORMATS_DIR}/cidp_two_nerves_nk.txt",),
    "natus-txt": (f"{FORMATS_DIR}/cidp_two_nerves_natus.txt",),
    "edf": (f"{FORMATS_DIR}/cidp_two_nerves_motor.edf", f"{FORMATS_DIR}/cidp_two_nerves_snap.edf"),
}
#: The fake patient ID of the Natus file (the same fake patient as ``cidp_two_nerves.csv``);
#: the Nihon Kohden and EDF+D writers write no identifiers.
_NATUS_PATIENT_ID = "FAKE-000-0103"


def write_format_samples(out_dir: str | Path, *, patient_name: str,
                         overwrite: bool = True) -> list[Path]:
    """Write :data:`FORMAT_SAMPLE_FILES` under ``out_dir`` (its :data:`FORMATS_DIR` folder is
    created if needed); deterministic.

    Parameters
    ----------
    out_dir : path-like
        The samples' folder.
    patient_name : str
        The obviously fake patient name of the Natus file (with the fake ID
        ``FAKE-000-0103``: ``read`` replaces both by a pseudonym).
    overwrite : bool, default True
        Replace existing files.

    Returns
    -------
    list of Path
        The files written, in :data:`FORMAT_SAMPLE_FILES` order.
    """
    from ..io.edf_write import write_edf
    from ..io.natus_write import write_natus_text
    from ..io.nihon_kohden_write import write_nihon_kohden_txt
    from .samples_sensory import sensory_case

    out = Path(out_dir)
    (out / FORMATS_DIR).mkdir(parents=True, exist_ok=True)
    case = sensory_case("cidp_two_nerves")
    names = list(FORMAT_SAMPLE_FILES)
    write_nihon_kohden_txt(out / names[0], case, overwrite=overwrite)
    write_natus_text(case, out / names[1], patient_name=patient_name, patient_id=_NATUS_PATIENT_ID,
                     overwrite=overwrite)
    write_edf(out / names[2], case.studies, overwrite=overwrite)  # 10 kHz: CMAPs, F-wave trains
    write_edf(out / names[3], case.sensory, overwrite=overwrite)  # 20 kHz: SNAPs
    return [out / name for name in names]
