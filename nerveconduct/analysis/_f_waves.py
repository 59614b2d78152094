"""The nerve's F-wave inputs to the analysis table (private; public through
:mod:`nerveconduct.analysis.sources`): the minimal latency and the train's other measures
from the F-wave traces when a nerve has them, else the sheet's typed value, and the nerve flag
when both are given or a train cannot be measured; and, once the nerve's limits are known
(:func:`f_wave_window_check`, called by :func:`.table.build_table`), "absent" withdrawn
from a train whose search window ends before the nerve's F-wave ULN."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..flags import MeasureFlag
from ..model import NerveStudy

__all__ = ["F_WAVE_AGREE_MS", "f_wave_inputs", "f_wave_window_check", "f_wave_unassessable"]


def _f_wave(latency_ms: float | None) -> tuple[float, bool]:
    """(latency or NaN, studied): ``None`` = not studied, NaN = sought and absent."""
    return (np.nan, False) if latency_ms is None else (float(latency_ms), True)


#: A sheet's F latency within this (ms) of the traces' agrees with it (one sample at 20 kHz).
F_WAVE_AGREE_MS = 0.05


def _f_text(latency_ms: float) -> str:
    return "absent" if np.isnan(latency_ms) else f"{latency_ms:.2f} ms"


def _f_wave_note(traces_ms: float, sheet_ms: float | None) -> str | None:
    """The nerve flag when a sheet gives an F latency beside measured traces (which win)."""
    if sheet_ms is None:
        return None
    sheet = float(sheet_ms)
    head = (f"F-wave latency given twice: traces {_f_text(traces_ms)} (used), sheet "
            f"{_f_text(sheet)}")
    if np.isnan(traces_ms) or np.isnan(sheet):
        agree = np.isnan(traces_ms) and np.isnan(sheet)
        return f"{head}: {'they agree' if agree else 'they differ (one says absent)'}"
    diff = traces_ms - sheet
    verdict = "they agree" if abs(diff) <= F_WAVE_AGREE_MS else "they differ"
    return f"{head}: {verdict} (traces - sheet = {diff:+.2f} ms)"


#: What the F-wave nerve flags of this module say of a train, or of the absence found in it,
#: that cannot be used (too few stimuli, no M-wave, a window ending before the ULN, a failed
#: measurement); every such flag starts with "F-wave".
_UNASSESSABLE_WORDS = ("not assessable", "could not be measured")


def f_wave_unassessable(flags: Sequence[Any]) -> list[str]:
    """The nerve flags (sentences, as ``NerveResult.flags`` and the records give them) that say
    the nerve's F-wave train, or the absence found in it, cannot be used: the one rule the
    report and the CLI read the "not assessable" state by.

    Examples
    --------
    >>> f_wave_unassessable(["F-wave train not assessable: no M-wave (...)", "LOW_SNR ..."])
    ['F-wave train not assessable: no M-wave (...)']
    """
    return [str(f) for f in flags or ()
            if str(f).startswith("F-wave") and any(w in str(f) for w in _UNASSESSABLE_WORDS)]


def f_wave_inputs(studies: Sequence[NerveStudy], n_threads: int | None = None) -> dict[str, list[Any]]:
    """The F-wave inputs of :func:`.table.build_table` for ``studies``.

    Nerves with an F-wave train are measured with
    :func:`~nerveconduct.measure.fwave.measure_f_waves`, one call per set-up (rate,
    stimulus sample, stimuli, samples); their minimal latency is the nerve's F latency
    (source ``"traces"``), and persistence, mean latency and chronodispersion come with it.
    Other nerves keep the sheet's value (source ``"sheet"``, or ``None``: not studied). A
    sheet value beside traces, and a train that cannot be measured (the sheet's value is
    then used), give a nerve flag (``f_wave_notes``). A train without an M-wave
    (NO_M_WAVE: no stimulus evoked a motor response) is not assessable, like a train of too
    few stimuli (FEW_STIMULI). ``f_wave_absent_window``: per nerve whose train was measured
    and found without F-waves, ``(window_end_ms, sheet value)`` for
    :func:`f_wave_window_check` (else None).
    """
    sheet = [st.f_wave_latency_ms for st in studies]
    n = len(studies)
    out: dict[str, list[Any]] = {
        "f_wave_latency_ms": [np.nan] * n, "f_wave_studied": [False] * n,
        "f_wave_mean_latency_ms": [np.nan] * n, "f_wave_persistence_pct": [np.nan] * n,
        "f_wave_chronodispersion_ms": [np.nan] * n, "f_wave_latency_source": [None] * n,
        "f_wave_notes": [None] * n, "f_wave_absent_window": [None] * n}
    groups: dict[tuple[Any, ...], list[int]] = {}
    for j, st in enumerate(studies):
        latency, studied = _f_wave(sheet[j])
        out["f_wave_latency_ms"][j], out["f_wave_studied"][j] = latency, studied
        out["f_wave_latency_source"][j] = "sheet" if studied else None
        train = getattr(st, "f_wave_traces", None)
        if train is not None:
            groups.setdefault((st.f_wave_sampling_rate_hz, st.f_wave_stimulus_sample)
                              + train.shape, []).append(j)
    if not groups:
        return out
    from ..measure.fwave import (FEW_STIMULI, MIN_STIMULI_ASSESSABLE, NO_M_WAVE,  # on first use
                                 measure_f_waves)

    for (rate, stim, *_), members in groups.items():
        m = measure_f_waves(np.stack([studies[j].f_wave_traces for j in members]), rate,
                            stimulus_sample=int(stim), n_threads=n_threads)
        for k, j in enumerate(members):
            if not m.studied[k]:
                names = ", ".join(MeasureFlag(int(m.flags[k])).names())
                used = ("the sheet's value is used" if out["f_wave_studied"][j]
                        else "F-waves not studied")
                if int(m.flags[k]) & FEW_STIMULI:  # neither "absent" nor a latency verdict
                    out["f_wave_notes"][j] = (
                        f"F-wave train not assessable: {int(m.n_stimuli_measured[k])} stimuli "
                        f"measured, fewer than the {MIN_STIMULI_ASSESSABLE} needed ({names}): {used}")
                    continue
                if int(m.flags[k]) & NO_M_WAVE:  # flat or noise only: never "absent"
                    out["f_wave_notes"][j] = (
                        f"F-wave train not assessable: no M-wave (no stimulus evoked a motor "
                        f"response, so the train cannot show F-waves; {names}): {used}")
                    continue
                out["f_wave_notes"][j] = f"F-wave traces could not be measured ({names}): {used}"
                continue
            latency = float(m.minimal_latency_ms[k])
            out["f_wave_notes"][j] = _f_wave_note(latency, sheet[j])
            out["f_wave_latency_ms"][j], out["f_wave_studied"][j] = latency, True
            out["f_wave_latency_source"][j] = "traces"
            out["f_wave_mean_latency_ms"][j] = float(m.mean_latency_ms[k])
            out["f_wave_persistence_pct"][j] = float(m.persistence_pct[k])
            out["f_wave_chronodispersion_ms"][j] = float(m.chronodispersion_ms[k])
            if bool(m.absent[k]):
                out["f_wave_absent_window"][j] = (float(m.window_end_ms[k]), sheet[j])
    return out


def f_wave_window_check(nerve: dict[str, np.ndarray], rows: Any,
                        windows: Sequence[tuple[float, float | None] | None] | None,
                        notes: Sequence[str | None] | None) -> Sequence[str | None] | None:
    """Withdraw "absent" from F-wave trains whose search window ends before the nerve's
    F-wave ULN: an F-wave later than the window's end cannot be seen, so its absence is not
    assessable (``measure_f_waves`` does not know the nerve; this check does).

    Parameters
    ----------
    nerve : dict of str to ndarray
        The nerve columns of :func:`.table.build_table` (``f_wave_latency_ms``,
        ``f_wave_studied``, ``f_wave_persistence_pct``, ``f_wave_latency_source``); those of
        the nerves concerned are replaced: the sheet's value when there is one (source
        ``"sheet"``), else not studied (latency and persistence NaN, source None).
    rows : LimitRows
        The nerves' limit rows (:meth:`~._nerve_columns.LimitRows.f_wave_uln`: the ULN in
        use, height-adjusted where that applies).
    windows : sequence or None
        ``f_wave_absent_window`` of :func:`f_wave_inputs`: per nerve ``(window_end_ms,
        sheet value)`` where the train was found without F-waves, else None.
    notes : sequence or None
        ``f_wave_notes``: the nerve flag sentences so far (None: none).

    Returns
    -------
    sequence or None
        The notes, with the reason for each nerve concerned: "F-wave search window ends at
        X ms, before the F-wave ULN Y ms (...): absence not assessable".
    """
    if windows is None or all(w is None for w in windows):
        return notes
    uln, basis = rows.f_wave_uln()
    out = list(notes) if notes is not None else [None] * len(windows)
    keys = ("f_wave_latency_ms", "f_wave_studied", "f_wave_persistence_pct", "f_wave_latency_source")
    for key in keys:  # replaced in place below: the table's own copies
        nerve[key] = np.array(nerve[key], copy=True)
    for j, window in enumerate(windows):
        if window is None:
            continue
        end_ms, sheet_ms = window
        if not end_ms < uln[j]:  # long enough, or no ULN to judge by (NaN): absent stands
            continue
        latency, studied = _f_wave(sheet_ms)
        nerve["f_wave_latency_ms"][j], nerve["f_wave_studied"][j] = latency, studied
        nerve["f_wave_persistence_pct"][j] = np.nan
        nerve["f_wave_latency_source"][j] = "sheet" if studied else None
        used = "the sheet's value is used" if studied else "F-waves not studied"
        out[j] = (f"F-wave search window ends at {end_ms:.1f} ms, before the F-wave ULN "
                  f"{uln[j]:.4g} ms ({basis[j]}): absence not assessable: {used}")
    return out
