"""Quality flags carried by every per-trace measurement.

Flags are an :class:`enum.IntFlag` so a whole batch of them fits in one integer array
(``CmapMeasures.flags``) and a single trace's flags read as names::

    >>> from nerveconduct.flags import MeasureFlag
    >>> MeasureFlag(MeasureFlag.ABSENT | MeasureFlag.LOW_SNR).names()
    ['ABSENT', 'LOW_SNR']
"""

from __future__ import annotations

import enum

__all__ = ["MeasureFlag", "SegmentFlag", "SEGMENT_FLAG_TEXT", "QUALITY_FLAGS", "SUBMAXIMAL_TEXT",
           "DISTAL_SUBMAXIMAL_TEXT"]


class MeasureFlag(enum.IntFlag):
    """Why a per-trace measure may be missing or less trustworthy.

    Values are stable: they are stored in archives and result files.
    """

    NONE = 0
    #: No response distinguishable from noise: measures are NaN, ``present`` is False.
    ABSENT = 1 << 0
    #: A response was found but its negative peak is under ~10x the baseline noise.
    LOW_SNR = 1 << 1
    #: Samples sit at the amplifier's rail (a flat run at the trace's min or max).
    CLIPPED = 1 << 2
    #: The trace holds NaN or infinite samples (they were ignored or made it unmeasurable).
    NAN_SAMPLES = 1 << 3
    #: Fewer pre-stimulus samples than needed for a reliable baseline and noise estimate.
    SHORT_BASELINE = 1 << 4
    #: The stimulus artifact runs into the response; the onset may be hidden by it.
    ARTIFACT_OVERLAP = 1 << 5
    #: The largest deflection is positive: the trace may be stored with the other polarity.
    POLARITY_SUSPECT = 1 << 6
    #: The trace is too short (or flat) to measure at all, or its values are too large to
    #: compute with (beyond +-1e150 mV: squares and sums would overflow).
    UNMEASURABLE = 1 << 7
    #: The sweep ends before the response returns to its baseline (the CMAP is cut off, or
    #: the trace drifts away from the baseline the measures refer to): the measures that
    #: need the return (negative-peak duration and area, CMAP duration; peak-to-peak when
    #: no sample follows the negative peak) are NaN, and the amplitude may be too low if the
    #: negative peak itself lies at the end of the sweep.
    TRUNCATED = 1 << 8
    #: Review flag: the two onset detectors (the default threshold take-off and the
    #: baseline-deviation detector, ``onset_alt_latency_ms``, its departure followed back to
    #: the default's 20 uV level) differ by more than
    #: ``nerveconduct.measure.cmap.ONSET_DISAGREE_MS`` (0.3 ms): check the onset marker.
    #: Not set when the onset is hand-set.
    ONSETS_DISAGREE = 1 << 9
    #: The detector found no response, but hand-set markers say there is one: the measures
    #: are taken at the markers (``present_source`` is ``"hand-set"``).
    HAND_SET_RESPONSE = 1 << 10
    #: Review flag: a hand-set landmark contradicts a detected one (or another hand-set one
    #: given to ``measure_cmap`` directly): the onset is not before the negative peak, the
    #: negative peak not before the negative end or the positive peak. The measures are taken
    #: at the landmarks as they are (a duration or area may be ~0 or negative): move the
    #: marker, or set the other landmark by hand too.
    LANDMARKS_OUT_OF_ORDER = 1 << 11
    #: Set by the analysis core (not by ``measure_cmap``) where stimulus intensities are
    #: recorded and give no evidence of supramaximal stimulation: an intensity series whose
    #: CMAP amplitude had not plateaued, or a single intensity at a proximal site (lower than
    #: the nerve's distal site's or not) (``nerveconduct.analysis._stimulation``;
    #: ``docs/criteria.md``, supramaximal stimulation). The amplitude may be too low; a
    #: segment with this site as its proximal site carries
    #: :attr:`SegmentFlag.PROXIMAL_SUBMAXIMAL`, one with it as its distal site
    #: :attr:`SegmentFlag.DISTAL_SUBMAXIMAL`. Not a quality flag: the values are measured
    #: as they are.
    SUBMAXIMAL_POSSIBLE = 1 << 12
    #: F-wave trains (``measure_f_waves``): fewer measured stimuli than the verdict needs
    #: (``nerveconduct.measure.fwave.MIN_STIMULI_ASSESSABLE``, 10): the train is not
    #: assessable, neither "absent" nor its minimal latency is used.
    FEW_STIMULI = 1 << 13
    #: F-wave trains (``measure_f_waves``): no M-wave (the train's mean, from 1 ms after the
    #: stimulus, never reaches the F-wave detection level): no stimulus evoked a motor
    #: response (a flat or noise-only train), so the train cannot show F-waves: not
    #: assessable, never "absent".
    NO_M_WAVE = 1 << 14

    def names(self) -> list[str]:
        """Return the names of the set flags, lowest bit first (``[]`` for NONE)."""
        return [f.name for f in type(self) if f.value and (self.value & f.value) == f.value]


class SegmentFlag(enum.IntFlag):
    """Why a segment value is missing or suspect (rendered as text in ``SegmentResult.flags``)."""

    NONE = 0
    ABSENT_PROXIMAL = 1 << 0
    ABSENT_DISTAL = 1 << 1
    LATENCY_NOT_AFTER = 1 << 2
    DISTANCE_UNKNOWN = 1 << 3
    AREA_MISSING = 1 << 4
    DURATION_MISSING = 1 << 5
    CV_IMPLAUSIBLE = 1 << 6
    PROXIMAL_QUALITY = 1 << 7
    DISTAL_QUALITY = 1 << 8
    NOT_FINITE = 1 << 9
    PROXIMAL_SUBMAXIMAL = 1 << 10
    DISTAL_SUBMAXIMAL = 1 << 11


#: What every conduction-block verdict of a segment says when its proximal site shows no
#: evidence of supramaximal stimulation (:attr:`MeasureFlag.SUBMAXIMAL_POSSIBLE`).
SUBMAXIMAL_TEXT = "submaximal stimulation possible \u2014 a false block is likely"

#: What a segment says when its distal site shows no evidence of supramaximal stimulation
#: (:attr:`MeasureFlag.SUBMAXIMAL_POSSIBLE`): a measurement note, not a verdict warning.
DISTAL_SUBMAXIMAL_TEXT = "distal response possibly submaximal \u2014 the drop may be underestimated"

SEGMENT_FLAG_TEXT = {
    SegmentFlag.ABSENT_PROXIMAL: "absent proximal response",
    SegmentFlag.ABSENT_DISTAL: "absent distal response",
    SegmentFlag.LATENCY_NOT_AFTER: "proximal latency not after distal",
    SegmentFlag.DISTANCE_UNKNOWN: "segment distance unknown: CV not computed",
    SegmentFlag.AREA_MISSING: "area not available",
    SegmentFlag.DURATION_MISSING: "duration not available",
    SegmentFlag.CV_IMPLAUSIBLE: "conduction velocity outside 10-120 m/s: check distances and latencies",
    SegmentFlag.PROXIMAL_QUALITY: "proximal response flagged",
    SegmentFlag.DISTAL_QUALITY: "distal response flagged",
    SegmentFlag.NOT_FINITE: "a value overflowed (not written): a latency difference, distance or "
                            "amplitude is implausibly small or large",
    SegmentFlag.PROXIMAL_SUBMAXIMAL: SUBMAXIMAL_TEXT,
    SegmentFlag.DISTAL_SUBMAXIMAL: DISTAL_SUBMAXIMAL_TEXT,
}

#: Quality flags of a response that make the segment values computed from it suspect
#: (TRUNCATED: a cut-off response's amplitude and area drops are not reliable).
QUALITY_FLAGS = int(MeasureFlag.LOW_SNR | MeasureFlag.CLIPPED | MeasureFlag.NAN_SAMPLES
               | MeasureFlag.ARTIFACT_OVERLAP | MeasureFlag.POLARITY_SUSPECT
               | MeasureFlag.TRUNCATED)
