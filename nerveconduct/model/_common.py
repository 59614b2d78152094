"""What every study of the model shares: allowed values, identifier keys, the case key, the error.

Ground floor of the package: imports nothing of ours but the argument checks.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._checks import check_range_of, gather

__all__ = ["InvalidStudyError", "case_key", "DEMOGRAPHIC_RANGES", "POLARITIES", "IDENTIFIER_KEYS"]

#: Allowed values of ``polarity``: physical (first CMAP phase is negative voltage) or the
#: display convention (negative up, flipped on measurement).
POLARITIES = ("physical", "negative-up")

#: Keys of :attr:`NerveStudy.metadata` that identify a patient. Readers drop them unless asked
#: to keep them; outputs (rows, records, the report, the command line) show them only with
#: ``keep_identifiers=True``. The one list every layer imports.
IDENTIFIER_KEYS: tuple[str, ...] = ("patient_name", "patient_id")


#: Plausible ranges of the patient's demographics (inclusive): quantity -> (min, max, unit).
#: The one definition the study sheet and :class:`NerveStudy` check against.
DEMOGRAPHIC_RANGES: dict[str, tuple[float, float, str]] = {
    "age_years": (0.0, 130.0, "years"), "height_cm": (20.0, 280.0, "cm")}

def case_key(study_id: Any, fallback: str | None = None) -> str | None:
    """The key saying which patient (case) a nerve study belongs to: one rule everywhere.

    A study's ``study_id`` *is* its case key: readers set it to the sheet's ``case_id`` when a
    sheet gives one, else to the pseudonym of the export's patient fields, else to one
    pseudonym per file (:func:`nerveconduct.io.pseudonym.file_pseudonym`). A study without
    one (an archive written before case keys, a hand-built study) belongs to the case of the
    file it came from: ``fallback``, that file's pseudonymous key
    (:func:`nerveconduct.io.pseudonym.source_key`), so one such file is one case.

    Examples
    --------
    >>> case_key("SAMPLE-NORMAL", "F-0123456789")
    'SAMPLE-NORMAL'
    >>> case_key(None, "F-0123456789"), case_key("  ", None)
    ('F-0123456789', None)
    """
    if study_id is not None and str(study_id).strip():
        return str(study_id)
    return fallback

class InvalidStudyError(ValueError):
    """A study's description is inconsistent; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[str], *, study_id: str | None = None) -> None:
        self.problems = list(problems)
        self.study_id = study_id
        where = f"study {study_id!r}: " if study_id else ""
        super().__init__(f"{where}invalid nerve study: " + "; ".join(self.problems))

def _real_array(name: str, values: Any, shape_text: str, problems: list[str]) -> np.ndarray | None:
    """``values`` as a float array, or None with the problem said."""
    try:
        raw = np.asarray(values)
        if np.iscomplexobj(raw) or raw.dtype.kind not in "biuf":
            raise TypeError(f"dtype {raw.dtype} is not a real number type")
        return raw.astype(float)
    except (TypeError, ValueError) as exc:
        problems.append(f"{name} must be a real numeric array {shape_text}: {exc}")
        return None


def _optional_quantity(problems: list[str], quantity: str, value: Any, *,
                       nan_allowed: bool = False) -> float | None:
    """``value`` checked against the physical range of ``quantity`` (``None`` passes)."""
    if nan_allowed and isinstance(value, (float, np.floating)) and math.isnan(value):
        return math.nan
    return gather(problems, check_range_of, quantity, value, allow_none=True)
