"""nerveconduct: motor nerve-conduction analysis, from CMAP waveforms to published criteria.

The public names below are imported lazily (PEP 562), so ``import nerveconduct`` stays fast
and pulls in neither h5py nor matplotlib until they are used.

>>> import nerveconduct
>>> nerveconduct.Site("wrist", 70.0).canonical_name
'wrist'
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

# A library logs through "nerveconduct" and leaves the output to the application (the CLI's
# -v shows it); without a handler configured, nothing is printed.
logging.getLogger(__name__).addHandler(logging.NullHandler())

from .constants import VERSION as __version__  # noqa: E402  (one definition)

_EXPORTS = {
    # model
    "Site": "model", "NerveStudy": "model", "Case": "model", "InvalidStudyError": "model",
    "StimulationSeries": "model",
    "SensoryStudy": "model", "sensory_study_problems": "model",
    "SiteResult": "analysis", "SegmentResult": "analysis", "NerveResult": "analysis",
    "LimitComparison": "analysis", "NerveTable": "analysis",
    # measurement, simulation
    "measure_cmap": "measure", "CmapMeasures": "measure", "CMAP_MEASURE_FIELDS": "measure",
    "MeasureFlag": "flags",
    "measure_snap": "measure", "SnapMeasures": "measure",
    "measure_f_waves": "measure", "FWaveMeasures": "measure",
    "simulate_nerve": "simulate", "SimulatedNerve": "simulate", "SimulationTruth": "simulate",
    # along the nerve
    "analyze_nerve": "analysis", "analyze_nerves": "analysis", "analyze_values": "analysis",
    "analyze_sensory": "analysis", "SensoryResult": "analysis", "SensorySiteResult": "analysis",
    "NormalLimits": "limits", "SensoryLimits": "limits",
    # files
    "read": "io.read", "read_case": "io.read", "read_many": "io.read",
    "detect_format": "io.detect", "load_sheet": "io.sheet", "StudySheet": "io.sheet",
    "write_trace_csv": "io.vendor", "write_nihon_kohden_txt": "io.nihon_kohden",
    "pseudonymize": "io.pseudonym", "sample_path": "simulate.samples", "generate_samples": "simulate.samples",
    # criteria and scores
    "evaluate": "criteria", "evaluate_nerve": "criteria", "evaluate_patient": "criteria",
    "list_rule_sets": "criteria", "load_rule_set": "criteria", "register_rule_set": "criteria",
    "cidp_mag_score": "scores", "mmn_category": "scores", "cidp_electrodiagnostic_support": "scores",
    "rns_decrement": "scores", "facilitation_pct": "scores", "immunoparesis_grade": "scores",
    # pictures and the report
    "plot_nerve": "plot", "plot_segments": "plot", "plot_tli": "plot", "save_figure": "plot",
    "write_html": "report", "render_html": "report",
    # records for programs (CLI and batch share them)
    "nerve_record": "serialize", "nerve_row": "serialize", "segment_rows": "serialize",
    "site_rows": "serialize", "failure_record": "serialize", "to_jsonable": "serialize",
    "write_archive": "io.archive", "open_archive": "io.archive", "Archive": "io.archive",
    "TraceChunk": "io.archive", "write_edf": "io.edf",
    # argument checks (the library's own; front ends use them for their options too)
    "check_option": "_checks", "check_number": "_checks",
}

#: Subpackages and modules reachable as attributes (``nerveconduct.criteria``) without an import.
_SUBMODULES = ("criteria", "scores", "plot", "report", "batch", "io", "simulate", "measure",
               "analysis", "limits", "names", "flags", "model", "serialize")

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nerveconduct' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
