"""What a study sheet holds once read: its entries and sites (dataclasses) and the keys
each part may give. Read and checked by :mod:`nerveconduct.io.sheet` (``docs/formats.md``,
"Study sheets")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import DEMOGRAPHIC_RANGES

__all__ = ["SheetSite", "SheetNerve", "SheetSensory", "StudySheet", "CLINICAL_ITEMS", "CASE_DETAILS"]

#: CIDP-MAG clinical items a sheet may give (True/False, or null/"unknown" when not known).
CLINICAL_ITEMS = ("length_dependent_sensory", "ataxia", "tremor", "relapsing_or_acute_onset",
                  "proximal_weakness")
#: Top-level keys describing the patient and the study, copied to the
#: :class:`~nerveconduct.model.Case` field of the same name (numbers: age, height; the rest
#: free text, printed as given).
CASE_DETAILS = ("age_years", "height_cm", "sex", "indication", "referring_physician",
                "technician", "interpreting_physician", "impression", "notes")
_DETAIL_NUMBERS = {k: (lo, hi) for k, (lo, hi, _) in DEMOGRAPHIC_RANGES.items()}
_TOP_KEYS = {"case_id", "study_date", "clinical", "mmn", "paraprotein", "cidp", "nerves",
             "sampling_rate_hz", "values", "markers", "sensory", *CASE_DETAILS}
_NERVE_KEYS = {"file", "nerve", "side", "muscle", "temperature_c", "low_frequency_filter_hz",
               "f_wave_latency_ms", "sampling_rate_hz", "sites", "trace", "record", "notes",
               "f_wave_file"}
#: Keys of a ``[[sensory]]`` entry (a sensory study).
_SENSORY_KEYS = {"file", "nerve", "side", "direction", "recording_site", "temperature_c",
                 "low_frequency_filter_hz", "sampling_rate_hz", "sites", "trace", "record",
                 "notes"}
_SITE_KEYS = {"name", "distance_mm", "stimulus_intensity_ma"}


@dataclass(frozen=True)
class SheetSite:
    """A site of a sheet entry: name and distance (mm, machine convention), intensity (mA)."""

    name: str | None
    distance_mm: float | None
    stimulus_intensity_ma: float | None = None


@dataclass(frozen=True)
class SheetNerve:
    """One ``nerves`` entry; ``selector`` holds the ``trace``/``record`` indices if given."""

    index: int
    file: str | None = None
    nerve: str | None = None
    side: str | None = None
    muscle: str | None = None
    temperature_c: float | None = None
    low_frequency_filter_hz: float | None = None
    f_wave_latency_ms: float | None = None
    sampling_rate_hz: float | None = None
    sites: tuple[SheetSite, ...] | None = None
    selector: tuple[int, ...] | None = None
    notes: str | None = None
    f_wave_file: str | None = None


@dataclass(frozen=True)
class SheetSensory:
    """One ``[[sensory]]`` entry: a sensory study's nerve, side, direction, recording site,
    sites and distances (mm, the motor convention), temperature and filter; ``file`` names
    its waveform file, whose traces the entry declares sensory."""

    index: int
    file: str | None = None
    nerve: str | None = None
    side: str | None = None
    direction: str | None = None
    recording_site: str | None = None
    temperature_c: float | None = None
    low_frequency_filter_hz: float | None = None
    sampling_rate_hz: float | None = None
    sites: tuple[SheetSite, ...] | None = None
    selector: tuple[int, ...] | None = None
    notes: str | None = None


@dataclass(frozen=True)
class StudySheet:
    """A parsed study sheet; ``path`` is where it was read from (``None`` for a mapping).

    ``values`` holds the nerves of its ``[[values]]`` rows (the machine's numbers, one row per
    site: :class:`~nerveconduct.io.values.ValuesNerve`), checked as a values table is.
    ``markers`` names a markers file of hand-set landmarks (``docs/formats.md``, "Markers
    file"), relative to the sheet; the commands read it when no ``--markers`` is given.
    """

    path: Path | None
    case_id: str | None = None
    study_date: str | None = None
    clinical: dict[str, Any] = field(default_factory=dict)
    mmn: dict[str, Any] = field(default_factory=dict)
    paraprotein: dict[str, Any] = field(default_factory=dict)
    sampling_rate_hz: float | None = None
    nerves: tuple[SheetNerve, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    values: tuple[Any, ...] = ()
    markers: str | None = None
    sensory: tuple[SheetSensory, ...] = ()
    cidp: dict[str, Any] = field(default_factory=dict)

    def case_details(self) -> dict[str, Any]:
        """The :data:`CASE_DETAILS` the sheet gives, as keyword arguments of
        :class:`~nerveconduct.model.Case` (keys not given are left out).

        ``notes`` joins the top-level notes and each ``nerves`` entry's, the latter as
        ``"<side> <nerve>: <notes>"`` lines (never stored in the studies' metadata).
        """
        out = {k: v for k, v in self.details.items() if k in CASE_DETAILS and v is not None}
        lines = [out["notes"]] if out.get("notes") else []
        for e in self.nerves:
            if e.notes:
                label = " ".join(p for p in (e.side, e.nerve) if p) or f"nerves[{e.index}]"
                lines.append(f"{label}: {e.notes}")
        if lines:
            out["notes"] = "\n".join(lines)
        return out

    def sampling_rate_for(self, file_name: str) -> float | None:
        """Sampling rate (Hz) the sheet gives for ``file_name`` (entry, else top level)."""
        for e in (*self.nerves, *self.sensory):
            if e.file and Path(e.file).name == file_name and e.sampling_rate_hz:
                return e.sampling_rate_hz
        return self.sampling_rate_hz
