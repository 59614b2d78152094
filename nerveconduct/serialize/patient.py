"""The patient table: one row per case (patient), from the results of the case's nerves.

The patient-level results are results over several nerves: each rule set's combination
(:func:`nerveconduct.criteria.evaluate_patient`) and the CIDP-MAG score
(:func:`nerveconduct.scores.cidp_mag_score`). A row holds them for one case, with how many of
its nerves were analyzed; ``docs/batch.md`` ("Patient table") lists every column.

The clinical items of the CIDP-MAG score are not in an archive: the score is the range over
them (``cidp_mag_min``/``cidp_mag_max``; ``cidp_mag_points`` only when the range is one value).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ..criteria import evaluate_patient
from ..scores import cidp_mag_score

__all__ = ["PATIENT_RULE_SETS", "patient_columns", "patient_row", "patient_csv_line",
           "patient_json_line", "patient_arrow_schema"]

#: The rule sets of the patient table, in its column order: EAN/PNS 2021 CIDP, EFNS/PNS 2010
#: CIDP and EFNS/PNS 2010 MMN (the last also defines "motor conduction block" for CIDP-MAG).
PATIENT_RULE_SETS: tuple[str, ...] = ("ean-pns-2021-cidp", "efns-pns-2010-cidp", "efns-pns-2010-mmn")
#: The rule set whose definite/probable block is the CIDP-MAG score's conduction-block item.
_CB_RULE_SET = "efns-pns-2010-mmn"
_COUNTS = ("n_nerves", "n_nerves_analyzed", "n_nerves_failed")
_SCORE = ("cidp_mag_points", "cidp_mag_min", "cidp_mag_max", "cidp_mag_interpretation")


def patient_columns(rule_set_ids: Sequence[str] = PATIENT_RULE_SETS) -> list[str]:
    """The patient table's columns: ``case``, the counts, per rule set its ``_level``,
    ``_label`` and ``_nerves`` (the nerves carrying the strongest combination met), then the
    CIDP-MAG score."""
    per_rule = [f"patient_{rid}_{part}" for rid in rule_set_ids for part in ("level", "label", "nerves")]
    return ["case", *_COUNTS, *per_rule, *_SCORE]


def patient_row(case: str | None, results: Sequence[Any], *, n_failed: int = 0,
                rule_set_ids: Sequence[str] = PATIENT_RULE_SETS) -> dict[str, Any]:
    """One case's row.

    Parameters
    ----------
    case : str or None
        The case key (pseudonymous: a study's ``study_id``, see
        :func:`nerveconduct.model.case_key`).
    results : sequence of NerveResult
        The case's analyzed nerves (in archive order).
    n_failed : int
        The case's nerves that could not be analyzed (failure rows of the nerve table).
    rule_set_ids : sequence of str
        Rule sets whose patient-level result is given.

    Returns
    -------
    dict
        Column -> value (``None`` where not computed: no analyzed nerve).
    """
    row: dict[str, Any] = {"case": case, "n_nerves": len(results) + n_failed,
                           "n_nerves_analyzed": len(results), "n_nerves_failed": n_failed}
    for rid in rule_set_ids:
        verdict = evaluate_patient(list(results), rid) if results else None
        row[f"patient_{rid}_level"] = None if verdict is None else verdict.level
        row[f"patient_{rid}_label"] = None if verdict is None else verdict.label
        row[f"patient_{rid}_nerves"] = None if verdict is None else "; ".join(verdict.nerves)
    score = cidp_mag_score({}, list(results), cb_rule_set=_CB_RULE_SET) if results else None
    row["cidp_mag_points"] = None if score is None else score.points
    row["cidp_mag_min"] = None if score is None else score.min_points
    row["cidp_mag_max"] = None if score is None else score.max_points
    row["cidp_mag_interpretation"] = None if score is None else score.interpretation
    return row


def patient_csv_line(row: dict[str, Any], columns: Sequence[str]) -> str:
    """A row as one CSV line (no line end): empty cells for ``None``, quoted as needed."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if row[c] is None else row[c] for c in columns])
    return buf.getvalue()


def patient_json_line(row: dict[str, Any], columns: Sequence[str]) -> str:
    """A row as one JSON object (``"record": "patient-row"`` first; no line end)."""
    return json.dumps({"record": "patient-row", **{c: row[c] for c in columns}},
                      ensure_ascii=False, allow_nan=False)


def patient_arrow_schema(columns: Sequence[str]) -> Any:
    """The typed Parquet schema of the patient table: counts and scores as integers, the
    rest as strings (missing values null)."""
    import pyarrow as pa

    ints = set(_COUNTS) | {"cidp_mag_points", "cidp_mag_min", "cidp_mag_max"}
    return pa.schema([(c, pa.int64() if c in ints else pa.string()) for c in columns])
