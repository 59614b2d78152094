"""``docs/errors.md``'s plausibility table equals the limits in the code."""

from __future__ import annotations

import re
from pathlib import Path

from nerveconduct._checks import RANGES
from nerveconduct.analysis import _nerve_columns, segments
from nerveconduct.io._archive_checks import MAX_SAMPLES_PER_TRACE
from nerveconduct.measure import _kernels

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _g(x: float) -> str:
    return f"{x:g}"


def expected_rows() -> list[str]:
    """The table's rows, built from the code."""
    rows = []
    for name, (low, high, low_inclusive, unit) in RANGES.items():
        span = f"{'[' if low_inclusive else '('}{_g(low)}, {_g(high)}]"
        rows.append(f"| `{name}` | {span} | {unit} | refused |")
    cv_low, cv_high = segments.PLAUSIBLE_CV_M_S
    rows += [
        f"| CMAP amplitude | at most {_g(_nerve_columns._PLAUSIBLE_CMAP_MAX_MV)} | mV | "
        "nerve flagged (unit error?) |",
        f"| baseline noise of every trace | at least {_g(_nerve_columns._NOISE_FLOOR_MV)} | mV | "
        "nerve flagged (unit error?) |",
        f"| conduction velocity | [{_g(cv_low)}, {_g(cv_high)}] | m/s | segment flagged "
        "(`CV_IMPLAUSIBLE`) |",
        f"| trace values | within ±{_g(_kernels._HUGE_MV)} | mV | trace `UNMEASURABLE` |",
        f"| samples per archived trace | at most {MAX_SAMPLES_PER_TRACE} | samples | "
        "archive refused |",
    ]
    return rows


def documented_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- plausibility table.*?-->\n(.*?)<!-- end of plausibility table -->",
                      text, re.S)
    assert block, "the plausibility table's markers are missing from docs/errors.md"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    return lines[2:]  # after the header and the rule


def test_plausibility_table_equals_the_code():
    assert documented_rows() == expected_rows(), (
        "docs/errors.md's plausibility table differs from the code; the rows should be:\n"
        + "\n".join(expected_rows()))


def test_every_exit_code_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for code in (0, 1, 2, 3):
        assert re.search(rf"^\| {code} \|", text, re.M)
