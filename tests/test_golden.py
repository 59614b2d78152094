"""Every batch table and format, and ``analyze -f json`` of every sample, equal the frozen
golden outputs byte for byte (``tests/_golden.py`` says how they were made and how an
intentional correction regenerates them)."""

from __future__ import annotations

import pytest

from _golden import BATCH_OUTPUTS, SAMPLE_INPUTS, analyze_json, batch_output, read_golden


def _same_lines(got: bytes, want: bytes) -> None:
    got_lines, want_lines = got.decode().splitlines(), want.decode().splitlines()
    for k, (a, b) in enumerate(zip(got_lines, want_lines)):
        assert a == b, f"line {k + 1} differs"
    assert len(got_lines) == len(want_lines)
    assert got == want


@pytest.mark.parametrize("name,table,reasons", BATCH_OUTPUTS, ids=[b[0] for b in BATCH_OUTPUTS])
def test_batch_output_equals_golden(tmp_path, name, table, reasons):
    _same_lines(batch_output(name, table, reasons, tmp_path), read_golden(name))


@pytest.mark.parametrize("sample", SAMPLE_INPUTS)
def test_analyze_json_equals_golden(sample):
    _same_lines(analyze_json(sample), read_golden(f"analyze-{sample}.json"))
