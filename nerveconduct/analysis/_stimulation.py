"""Evidence of supramaximal stimulation at each site, from the stimulus intensities recorded.

Private to :mod:`nerveconduct.analysis`. A site is stimulated supramaximally when raising the
intensity further no longer raises the CMAP (every axon is excited); a submaximal proximal
stimulus makes a smaller proximal CMAP, which reads as a conduction block that is not there.
The consensus criteria ask for supramaximal stimulation at every site, so a site without
evidence of it gets a flag that every conduction-block verdict of its segment shows
(``docs/criteria.md``, supramaximal stimulation). The evidence, per site (``supramaximal``):

- ``"plateau"``: an intensity series (:class:`~nerveconduct.model.StimulationSeries`) whose
  last step raised the intensity by at least :data:`PLATEAU_STEP_MIN_PCT` and changed the
  negative-peak amplitude by at most :data:`PLATEAU_CHANGE_MAX_PCT` (either way);
- ``"no plateau"``: a series that does not show that (a smaller last step, a larger change,
  one step only, no response at the last two steps): flagged;
- ``"below distal"``: one intensity recorded (the site's ``stimulus_intensity_ma``) at a
  proximal site, lower than the intensity at the nerve's distal site: flagged (a deeper
  proximal nerve needs at least as much current; a lower one points to a submaximal stimulus);
- ``"single intensity"``: one intensity, not lower than the distal site's (or the distal
  site's unknown): one intensity cannot show a plateau, so a proximal site is flagged too
  (the issue asks for evidence of supramaximal stimulation at every proximal site); at the
  distal site (the reference of the others' intensities) it is recorded, not flagged;
- ``"not recorded"``: no intensity at all: nothing to check, not flagged, no note.

Flagged sites carry :attr:`~nerveconduct.flags.MeasureFlag.SUBMAXIMAL_POSSIBLE`; a segment
whose proximal site is flagged carries
:attr:`~nerveconduct.flags.SegmentFlag.PROXIMAL_SUBMAXIMAL` (a false block is likely), one
whose distal site is flagged :attr:`~nerveconduct.flags.SegmentFlag.DISTAL_SUBMAXIMAL` (its
drop may be underestimated: a block may be hidden), and a nerve whose distal site is flagged
a nerve flag (its distal amplitude against the LLN and every drop from it are doubtful).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..limits import at_least, at_most
from ..model import InvalidStudyError

__all__ = ["PLATEAU_STEP_MIN_PCT", "PLATEAU_CHANGE_MAX_PCT", "EVIDENCE", "FLAGGED", "series_inputs",
           "series_columns", "supramaximal_columns"]

#: The last step of a series must raise the intensity by at least this (%) to show a plateau:
#: the textbook practice of raising the current 20-30 % beyond the level of the maximal
#: response (recalled: Preston DC, Shapiro BE, Electromyography and Neuromuscular Disorders;
#: a stimulation vendor's page says 10-30 %). ``docs/criteria.md`` gives its confidence.
PLATEAU_STEP_MIN_PCT = 20.0
#: ... and change the negative-peak amplitude by at most this (%, either way): a project
#: choice (unsourced), the repeatability of a supramaximal CMAP amplitude; a strict "no
#: increase at all" is rarely seen in recordings.
PLATEAU_CHANGE_MAX_PCT = 5.0
#: The evidence codes, in the order of the module docstring.
EVIDENCE = ("plateau", "no plateau", "below distal", "single intensity", "not recorded")
#: The codes that flag a site (no evidence of supramaximal stimulation); ``"single
#: intensity"`` only at a proximal site (position > 0).
FLAGGED = ("no plateau", "below distal", "single intensity")

#: The series columns :func:`series_inputs` gives (per site row) and their values without one.
_SERIES_COLUMNS = {"series_steps": 0, "series_last_ma": np.nan, "series_previous_ma": np.nan,
                   "series_last_mv": np.nan, "series_previous_mv": np.nan}


def series_inputs(studies: Sequence[Any], n_threads: int | None = None) -> dict[str, np.ndarray]:
    """The intensity-series columns of every site row of ``studies`` (distal first, nerve by nerve).

    Every series of every study is measured with
    :func:`~nerveconduct.measure.measure_cmap`, one call per sampling set-up (rate, stimulus
    sample, polarity, trace length) for all the series of all the studies.

    Returns
    -------
    dict of str to ndarray, shape (n_rows,)
        ``series_steps`` (int, 0 = no series), the last two intensities ``series_last_ma`` and
        ``series_previous_ma`` (mA) and their negative-peak amplitudes ``series_last_mv`` and
        ``series_previous_mv`` (mV; 0 for an absent response); NaN where there is no series
        (``series_previous_*`` also for a one-step series). Empty when no study has a series.
    """
    starts = np.concatenate([[0], np.cumsum([st.n_sites for st in studies])]).astype(np.int64)
    entries = []
    for j, st in enumerate(studies):
        for i, series in sorted(getattr(st, "stimulation_series", {}).items()):
            if not 0 <= i < st.n_sites:  # the study's sites changed after it was built
                raise InvalidStudyError(
                    [f"stimulation_series: site index {i} is outside the study's {st.n_sites} "
                     f"sites (0-{st.n_sites - 1}): were its sites changed after it was built? "
                     "give each series the index of a site it has"],
                    study_id=st.study_id if isinstance(getattr(st, "study_id", None), str) else None)
            entries.append((int(starts[j] + i), (st.sampling_rate_hz, st.stimulus_sample, st.polarity),
                            series.intensities_ma, series.traces))
    return series_columns(entries, int(starts[-1]), n_threads)


def series_columns(entries: Sequence[tuple[int, tuple[Any, Any, Any], Sequence[float], np.ndarray]],
                   n_rows: int, n_threads: int | None = None) -> dict[str, np.ndarray]:
    """The intensity-series columns of ``n_rows`` site rows from their series, however stored.

    Parameters
    ----------
    entries : sequence of (int, tuple, sequence of float, ndarray)
        One per series: its site row, its nerve's sampling set-up ``(sampling_rate_hz,
        stimulus_sample, polarity)``, its intensities (mA, increasing) and its traces
        (n_steps, n_samples) mV. Studies (:func:`series_inputs`) and archive chunks
        (:func:`~.sources.table_from_chunk`) give them.
    n_rows : int
        Site rows of the table.
    n_threads : int, optional
        Threads of :func:`~nerveconduct.measure.measure_cmap`.

    Returns
    -------
    dict of str to ndarray, shape (n_rows,)
        As :func:`series_inputs`; empty when ``entries`` is.
    """
    groups: dict[tuple[Any, ...], list[tuple[int, Any, np.ndarray]]] = {}
    for row, setup, intensities, traces in entries:
        groups.setdefault((*setup, traces.shape[1]), []).append((row, intensities, traces))
    if not groups:
        return {}
    from ..measure import measure_cmap  # the numeric core: imported on first use

    out = {k: np.full(n_rows, v, dtype=np.int64 if k == "series_steps" else float)
           for k, v in _SERIES_COLUMNS.items()}
    for (rate, stim, polarity, _), members in groups.items():
        traces = (np.concatenate([t for *_, t in members]) if len(members) > 1
                  else np.ascontiguousarray(members[0][2]))
        m = measure_cmap(traces, rate, stimulus_sample=int(stim), polarity=polarity, n_threads=n_threads)
        amp = np.where(m.present, m.negative_peak_amplitude_mv, 0.0)
        end = 0
        for row, intensities, _ in members:
            steps = len(intensities)
            end += steps
            out["series_steps"][row] = steps
            out["series_last_ma"][row], out["series_last_mv"][row] = intensities[-1], amp[end - 1]
            if steps > 1:
                out["series_previous_ma"][row] = intensities[-2]
                out["series_previous_mv"][row] = amp[end - 2]
    return out


def _pct(value: float) -> str:
    return f"{value:+.1f}%"


def _single_note(kind: int, intensity_ma: float, distal_ma: float) -> str:
    """The sentence of a site with one recorded intensity: ``kind`` 0 = the distal site, 1 = a
    proximal site not below the distal intensity (or the distal one unknown), 2 = below it."""
    if kind == 2:
        return (f"stimulated at {intensity_ma:g} mA, below the distal site's {distal_ma:g} mA, "
                "with no intensity series")
    if kind == 0:
        return f"one intensity recorded ({intensity_ma:g} mA) at the distal site"
    return f"one intensity recorded ({intensity_ma:g} mA): a plateau cannot be shown"


def _series_note(plateau: bool, steps: int, last: float, prev: float, a_last: float, a_prev: float) -> str:
    """The sentence of a site with an intensity series (its last two steps)."""
    if steps == 1:
        return f"no plateau: one intensity in the series ({last:g} mA); a plateau needs two"
    if a_last == 0 and a_prev == 0:
        return f"no plateau: no response at the last two intensities ({prev:g} and {last:g} mA)"
    step = 100.0 * (last / prev - 1.0)
    change = "from absent" if a_prev == 0 else _pct(100.0 * (a_last / a_prev - 1.0))
    head = (f"{'plateau' if plateau else 'no plateau'}: last step {_pct(step)} intensity ({prev:g} to "
            f"{last:g} mA), amplitude {change} ({a_prev:.2f} to {a_last:.2f} mV)")
    if plateau:
        return head
    return (f"{head}; a plateau needs a last step of at least +{PLATEAU_STEP_MIN_PCT:g}% with "
            f"the amplitude within \u00b1{PLATEAU_CHANGE_MAX_PCT:g}%")


def supramaximal_columns(site: dict[str, np.ndarray], position: np.ndarray,
                         series: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The evidence of supramaximal stimulation at every site row, column-wise.

    Parameters
    ----------
    site : dict of str to ndarray, shape (n_rows,)
        At least ``stimulus_intensity_ma`` (mA, NaN when not recorded).
    position : ndarray of int, shape (n_rows,)
        Site position within its nerve (0 = most distal).
    series : dict of str to ndarray, optional
        The columns of :func:`series_inputs` (``None`` or empty: no series).

    Returns
    -------
    dict of str to ndarray, shape (n_rows,)
        ``supramaximal`` (an :data:`EVIDENCE` code), ``supramaximal_note`` (the sentence, or
        None when not recorded) and ``submaximal_possible`` (bool: the code is in
        :data:`FLAGGED`; ``"single intensity"`` only at a proximal site).
    """
    position = np.asarray(position, dtype=np.int64)
    n = len(position)
    single = np.asarray(site["stimulus_intensity_ma"], dtype=float)
    if not series and np.isnan(single).all():  # nothing recorded: nothing to check
        return {"supramaximal": np.full(n, "not recorded", dtype=object),
                "supramaximal_note": np.full(n, None, dtype=object),
                "submaximal_possible": np.zeros(n, dtype=bool)}
    cols = {k: (np.asarray(series[k]) if series else np.full(n, v)) for k, v in _SERIES_COLUMNS.items()}
    steps = cols["series_steps"].astype(np.int64)
    has_series = steps > 0
    used = np.where(has_series, cols["series_last_ma"], single)  # the intensity of the site's CMAP
    distal = used[np.arange(n) - position]
    with np.errstate(divide="ignore", invalid="ignore"):
        step_pct = 100.0 * (cols["series_last_ma"] / cols["series_previous_ma"] - 1.0)
        a_last, a_prev = cols["series_last_mv"], cols["series_previous_mv"]
        change_pct = np.where(a_prev > 0, 100.0 * (a_last / a_prev - 1.0), np.inf)
    plateau = (has_series & (steps > 1) & at_least(step_pct, PLATEAU_STEP_MIN_PCT)
               & at_most(np.abs(change_pct), PLATEAU_CHANGE_MAX_PCT))
    recorded = ~np.isnan(single)
    below = ~has_series & recorded & (position > 0) & (single < distal)
    code = np.select([plateau, has_series, below, recorded],
                     ["plateau", "no plateau", "below distal", "single intensity"],
                     "not recorded").astype(object)
    notes = np.full(n, None, dtype=object)
    one = np.flatnonzero(recorded & ~has_series)
    if len(one):  # one sentence per distinct (kind, intensity, distal intensity): exports repeat them
        # the key as one complex number (a 1-D sort): intensity + 1j * (distal intensity when
        # below it, -1 for the distal site itself, else -2; intensities are > 0)
        key = single[one] + 1j * np.where(below[one], distal[one],
                                          np.where(position[one] == 0, -1.0, -2.0))
        uniq, inverse = np.unique(key, return_inverse=True)
        texts = np.empty(len(uniq), dtype=object)
        texts[:] = [_single_note(2 if k.imag >= 0 else (0 if k.imag == -1.0 else 1), k.real, k.imag)
                    for k in uniq.tolist()]
        notes[one] = texts[inverse.reshape(-1)]
    for i in np.flatnonzero(has_series).tolist():  # series are few: one sentence each
        notes[i] = _series_note(bool(plateau[i]), int(steps[i]), *(float(cols[k][i]) for k in (
            "series_last_ma", "series_previous_ma", "series_last_mv", "series_previous_mv")))
    flagged = np.isin(code, FLAGGED) & ((code != "single intensity") | (position > 0))
    return {"supramaximal": code, "supramaximal_note": notes, "submaximal_possible": flagged}
