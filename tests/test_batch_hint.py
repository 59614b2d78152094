"""The batch CLI's hint after a large run whose rows worded every verdict."""

from __future__ import annotations

from nerveconduct_cli.batch_cmd import SPEED_HINT_TRACES, speed_hint

MMN = ["efns-pns-2010-mmn"]


def test_hint_for_large_runs_of_nested_records_or_reasons():
    hint = speed_hint("nerve", "jsonl", False, MMN, SPEED_HINT_TRACES)
    assert hint is not None and "--table segment" in hint and "nested JSON Lines" in hint
    hint = speed_hint("segment", "csv", True, MMN, 10 * SPEED_HINT_TRACES)
    assert hint is not None and "--reasons" in hint


def test_no_hint_for_flat_tables_small_runs_or_no_criteria():
    for table, fmt in (("segment", "csv"), ("segment", "jsonl"), ("nerve", "csv")):
        assert speed_hint(table, fmt, False, MMN, 10 * SPEED_HINT_TRACES) is None
    assert speed_hint("nerve", "jsonl", False, MMN, SPEED_HINT_TRACES - 1) is None
    assert speed_hint("nerve", "jsonl", False, [], 10 * SPEED_HINT_TRACES) is None
