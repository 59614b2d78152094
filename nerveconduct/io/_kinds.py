"""What kind of recording a machine's trace is (motor, sensory, F-wave), and what readers return.

One rule for every text export (``docs/formats.md``, "Sensory studies and F-wave trains"):
a test item, test name or trace label naming *sensory* (``Sensory``, ``SNAP``, ``SNCS``,
``Antidromic``, ``Orthodromic``) marks a sensory study, one naming an *F-wave* (``F-Wave``,
``F wave``, ``F-Response``) marks an F-wave train, one naming *motor* (``Motor``, ``CMAP``)
a motor study. No vendor publishes how its exports mark these; the words are the ones the
machines print on screen, so this rule is inferred, and a trace that names none of them is
read as motor (what every reader did before) with ``trace_kind`` in
``metadata["missing_fields"]``. An F-wave train is attached to the motor study of the same
nerve and side read from the same file; a train without one is kept aside
(``StudyList.f_wave_trains``: a sheet's ``f_wave_file`` may name its file) and, when nothing
claims it, left out with a :class:`TraceKindWarning`.

Readers return a :class:`StudyList`: the motor studies as a list (what callers always had),
with the file's sensory studies in ``.sensory``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Iterable, Sequence

import numpy as np

from ..model import NerveStudy, SensoryStudy, Site
from ..names import canonical_nerve, canonical_sensory_nerve
from .errors import FormatError

__all__ = ["StudyList", "TraceKindWarning", "trace_kind", "warn_sensory_sized", "parse_sensory_item",
           "attach_f_wave_trains", "warn_unattached", "with_train", "group_sweeps", "KINDS",
           "sensory_nerve_words"]

#: The kinds of recording, as :func:`trace_kind` names them.
KINDS = ("motor", "sensory", "f-wave")

_F_WAVE = re.compile(r"\bf[\s_-]*(wave|response)s?\b|\bfwaves?\b|\bf\s*\(", re.I)
_SENSORY = re.compile(r"\b(sensory|sens|snaps?|sncs?|sncv|scv|scs|antidromic|orthodromic)\b", re.I)
_MOTOR = re.compile(r"\b(motor|cmaps?|mncs?|mncv|mcv)\b", re.I)
_DIRECTION = re.compile(r"\b(antidromic|orthodromic|anti|ortho)\b", re.I)
#: Words of a test item that name neither the side, the nerve nor the recording site.
_NOISE = re.compile(r"\b(sensory|sens|snaps?|sncs?|sncv|scv|scs|ncs|ncv|nerve|test|antidromic|orthodromic|"
                    r"anti|ortho)\b", re.I)
_SIDES = {"right": "right", "r": "right", "rt": "right", "left": "left", "l": "left",
          "lt": "left"}


class TraceKindWarning(UserWarning):
    """A trace whose kind a reader could not use (e.g. an F-wave train without its motor
    study in the file): it is left out, and this warning says which and why."""


class StudyList(list):
    """The motor studies a reader found (a list of :class:`~nerveconduct.model.NerveStudy`),
    with the sensory studies of the same file(s) in :attr:`sensory`.

    Plain list operations (``+``, slicing) give plain lists: keep :attr:`sensory` yourself
    when combining results (:func:`nerveconduct.io.read.read_case` does).
    """

    def __init__(self, studies: Iterable[NerveStudy] = (),
                 sensory: Iterable[SensoryStudy] = (),
                 f_wave_trains: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(studies)
        #: Sensory studies (:class:`~nerveconduct.model.SensoryStudy`), in file order.
        self.sensory: list[SensoryStudy] = list(sensory)
        #: F-wave trains the reader found no motor study for (see
        #: :func:`attach_f_wave_trains`); :func:`nerveconduct.io.read.read` warns about them.
        self.f_wave_trains: list[dict[str, Any]] = list(f_wave_trains)
        #: Clinical inputs stored with the studies, per case key (``{"cidp": {...}}``; an
        #: archive keeps them, ``docs/archive-format.md``).
        self.case_inputs: dict[str, dict[str, Any]] = {}

    def extend_with(self, other: Sequence[Any]) -> None:
        """Add another reader's result: its studies and (when it has them) sensory studies."""
        self.extend(other)
        self.sensory.extend(getattr(other, "sensory", ()))
        self.f_wave_trains.extend(getattr(other, "f_wave_trains", ()))
        self.case_inputs.update(getattr(other, "case_inputs", {}))


def trace_kind(*texts: str | None) -> str | None:
    """The kind of recording the texts (test name, test item, label) name, or ``None``.

    F-wave wins over sensory and motor ("Ulnar Motor F-Wave" is a train), sensory over
    motor.

    Examples
    --------
    >>> trace_kind("Right Median Motor (APB)"), trace_kind("NCV", "L Sural Sensory")
    ('motor', 'sensory')
    >>> trace_kind("Right Ulnar F-Wave (ADM)"), trace_kind("Median"), trace_kind(None)
    ('f-wave', None, None)
    >>> [trace_kind(t) for t in ("R Median SCV", "L Sural SCS", "Ulnar Sens", "Median MCV", "Ulnar F (ADM)")]
    ['sensory', 'sensory', 'sensory', 'motor', 'f-wave']
    """
    text = " ".join(t for t in texts if t)
    if _F_WAVE.search(text):
        return "f-wave"
    if _SENSORY.search(text):
        return "sensory"
    if _MOTOR.search(text):
        return "motor"
    return None


def sensory_nerve_words(text: str) -> str | None:
    """The nerve of a sensory test item: its canonical name when the words as a whole name a
    nerve (:func:`nerveconduct.names.canonical_sensory_nerve`), else the words, lower case
    (``"saphenous"``, ``"dorsal ulnar cutaneous"``: a nerve without normal limits here, never
    taken for the ulnar digit nerve).

    Examples
    --------
    >>> sensory_nerve_words("Superficial Peroneal"), sensory_nerve_words("Dorsal Ulnar Cutaneous")
    ('superficial fibular', 'dorsal ulnar cutaneous')
    """
    words = " ".join(w for w in re.split(r"[\s_]+", text.strip()) if w).lower()
    if not words:
        return None
    return canonical_sensory_nerve(words) or words


def parse_sensory_item(text: str | None) -> dict[str, str | None]:
    """Split a sensory test item into side, nerve, recording site and direction.

    The recording site is the text in parentheses (as the muscle is for a motor item).

    Examples
    --------
    >>> parse_sensory_item("Right Median Sensory Antidromic (Digit II)")
    {'side': 'right', 'nerve': 'median', 'recording_site': 'Digit II', 'direction': 'antidromic'}
    >>> parse_sensory_item("L Sural SNAP")["nerve"], parse_sensory_item(None)["side"]
    ('sural', None)
    """
    out: dict[str, str | None] = {"side": None, "nerve": None, "recording_site": None,
                                  "direction": None}
    if text is None or not text.strip():
        return out
    paren = re.search(r"\(([^)]*)\)", text)
    if paren:
        out["recording_site"] = paren.group(1).strip() or None
        text = text[:paren.start()] + text[paren.end():]
    direction = _DIRECTION.search(text)
    if direction:
        word = direction.group(1).lower()
        out["direction"] = "antidromic" if word.startswith("anti") else "orthodromic"
    words = [w for w in re.split(r"[\s_]+", _NOISE.sub(" ", text).strip()) if w]
    if words and words[0].lower() in _SIDES:
        out["side"] = _SIDES[words.pop(0).lower()]
    out["nerve"] = sensory_nerve_words(" ".join(words))
    return out


def group_sweeps(traces: np.ndarray, sites: list[Site], numbers: Sequence[float], *,
                 path: Any, location: str) -> tuple[np.ndarray, list[Site]]:
    """Group the columns of a sensory study whose ``Sweep`` row numbers them (``1, 2, ..., k``
    per site, the site's label repeated) into traces of shape (n_sites, k, n_samples).

    Raises
    ------
    FormatError
        The numbers are not ``1..k`` for every site, or one site's sweeps differ in label
        or distance.
    """
    k = int(max(numbers)) if len(numbers) else 0
    n = traces.shape[0]
    if k < 1 or n % k or [float(x) for x in numbers] != [float(i) for i in range(1, k + 1)] * (n // k):
        raise FormatError(f"the Sweep row must number each site's columns 1..k (the same k "
                          f"for every site); got {len(numbers)} values for {n} traces",
                          path=path, location=location)
    grouped = sites[::k]
    if any(s.name != grouped[i // k].name for i, s in enumerate(sites)):
        raise FormatError("the sweeps of one site must share its trace label", path=path,
                          location=location)
    for i, s in enumerate(sites):
        first = grouped[i // k]
        if s.distance_mm != first.distance_mm:
            raise FormatError(f"the sweeps of site {first.name!r} give different distances "
                              f"({first.distance_mm} and {s.distance_mm} mm); one site's sweeps "
                              "must share its distance", path=path, location=location)
    return traces.reshape(n // k, k, traces.shape[1]), grouped


def _nerve_key(nerve: str | None) -> str:
    return canonical_nerve(nerve or "") or (nerve or "").strip().lower()


def attach_f_wave_trains(studies: list[NerveStudy], trains: Sequence[dict[str, Any]]
                         ) -> tuple[list[NerveStudy], list[dict[str, Any]]]:
    """Give each F-wave train to the motor study of the same nerve and side (rebuilt with
    ``f_wave_traces``); return the studies and the trains with no such study, or with
    several (:func:`warn_unattached` reports them).

    Each train is a dict: ``nerve``, ``side``, ``traces`` (n_stimuli, n_samples, mV),
    ``sampling_rate_hz``, ``stimulus_sample``, ``label`` (what a warning calls it).
    """
    out = list(studies)
    left: list[dict[str, Any]] = []
    for train in trains:
        hits = [i for i, st in enumerate(out)
                if _nerve_key(st.nerve) == _nerve_key(train["nerve"])
                and (train["side"] is None or st.side is None or st.side == train["side"])
                and getattr(st, "f_wave_traces", None) is None]
        if len(hits) != 1:
            left.append(dict(train, why="no motor study" if not hits else
                             f"{len(hits)} motor studies"))
            continue
        st = out[hits[0]]
        meta = dict(st.metadata, f_wave_source=train["label"])
        out[hits[0]] = with_train(st, train["traces"], train["sampling_rate_hz"],
                                  train["stimulus_sample"], metadata=meta)
    return out, left


def warn_unattached(trains: Sequence[dict[str, Any]], source: str) -> None:
    """A :class:`TraceKindWarning` per F-wave train left out (``source``: the file's base
    name or pseudonymous key)."""
    for train in trains:
        warnings.warn(f"{source}: F-wave train {train['label']} left out: "
                      f"{train.get('why', 'no motor study')} of that nerve and side in the file "
                      "to attach it to (a study sheet's nerves[].f_wave_file can name the "
                      "train's file)", TraceKindWarning, stacklevel=4)


#: A "motor" study whose every site's response stays below this peak-to-peak size (mV) ...
SENSORY_SIZED_MAX_MV = 0.5
#: ... and whose largest deflection lasts less than this at half its height (ms) looks like
#: a SNAP (tens of µV, about 1 ms), not a CMAP (mV, several ms). Inferred from the usual
#: sizes of SNAPs and CMAPs, not from a published cut-off: it only raises a warning.
SENSORY_SIZED_MAX_WIDTH_MS = 2.0


def _looks_sensory(study: NerveStudy) -> bool:
    """True when every site's response is SNAP-sized (see :data:`SENSORY_SIZED_MAX_MV`)."""
    traces = np.asarray(study.traces, dtype=float)
    if traces.ndim != 2 or traces.shape[1] <= study.stimulus_sample + 2:
        return False
    after = traces[:, study.stimulus_sample + 1:]
    if not np.all(np.isfinite(after)) or np.ptp(after, axis=1).max() >= SENSORY_SIZED_MAX_MV:
        return False
    x = after[0] - np.median(after[0])
    peak = int(np.argmax(np.abs(x)))
    noise = 1.4826 * float(np.median(np.abs(x)))  # robust noise SD: an absent response is noise
    if abs(x[peak]) <= 5 * noise:
        return False
    above = np.abs(x) >= abs(x[peak]) / 2
    lo, hi = peak, peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < len(x) - 1 and above[hi + 1]:
        hi += 1
    return (hi - lo + 1) * 1e3 / study.sampling_rate_hz < SENSORY_SIZED_MAX_WIDTH_MS


def warn_sensory_sized(studies: Sequence[NerveStudy], source: str) -> None:
    """A :class:`TraceKindWarning` per motor study whose responses look like SNAPs (below
    :data:`SENSORY_SIZED_MAX_MV` mV and narrower than :data:`SENSORY_SIZED_MAX_WIDTH_MS` ms):
    a sensory study whose label names no sensory word is read as motor (``source``: the
    file's base name or pseudonymous key)."""
    for study in studies:
        if _looks_sensory(study):
            warnings.warn(f"{source}: the {' '.join(filter(None, (study.side, study.nerve)))} study read as motor has "
                          f"responses below {SENSORY_SIZED_MAX_MV * 1e3:g} µV and under "
                          f"{SENSORY_SIZED_MAX_WIDTH_MS:g} ms wide, like a SNAP: if it is a sensory "
                          "study, label it Sensory / SNAP / SCV (docs/formats.md)",
                          TraceKindWarning, stacklevel=4)


def with_train(study: NerveStudy, traces: Any, sampling_rate_hz: float, stimulus_sample: int,
               **changes: Any) -> NerveStudy:
    """``study`` rebuilt with an F-wave train (validated by :class:`NerveStudy`), its
    stimulus intensity series kept."""
    args = dict(temperature_c=study.temperature_c,
                low_frequency_filter_hz=study.low_frequency_filter_hz, study_id=study.study_id,
                f_wave_latency_ms=study.f_wave_latency_ms, metadata=dict(study.metadata),
                age_years=study.age_years, height_cm=study.height_cm, sex=study.sex,
                stimulus_sample=study.stimulus_sample, polarity=study.polarity,
                stimulation_series=getattr(study, "stimulation_series", None))
    args.update(changes)
    return NerveStudy(study.nerve, study.side, study.muscle, study.sites, study.traces,
                      study.sampling_rate_hz, f_wave_traces=traces,
                      f_wave_sampling_rate_hz=sampling_rate_hz,
                      f_wave_stimulus_sample=stimulus_sample, **args)
