"""What nerveconduct should find in each bundled sample: one table for every test that checks it.

Mirrors the table "What nerveconduct finds" in data/samples/README.md (the tests check that the
README states these numbers). Key: (file read, nerve, side). Value: DML (ms), distal negative-peak
amplitude (mV), TLI (None: not computed), per segment (CV m/s, amplitude drop %, area drop %,
negative-peak duration increase %; None where the proximal response is absent), and the
EFNS/PNS 2010 MMN level of each segment.

Tolerances: ±0.15 ms, ±0.15 mV, ±0.02 TLI, ±2 m/s, ±3 percentage points.
"""

EXPECTED = {
    ("normal_case.json", "median", "right"): (3.45, 9.01, 0.32, [(64, 8, 2, 13)], ["none"]),
    ("normal_case.json", "ulnar", "right"): (3.33, 9.49, 0.32, [(66, 6, 1, 9), (71, 5, 1, 6)],
                                             ["none", "not-assessable"]),
    ("mmn_case.toml", "ulnar", "left"): (3.49, 7.01, 0.34, [(59, 63, 63, 4), (61, 2, 1, 4)],
                                         ["definite", "not-assessable"]),
    ("cidp_median.edf", "median", "right"): (4.66, 5.00, 0.41, [(36, 49, 29, 61), (58, 17, 9, 8)],
                                             ["none", "none"]),
    ("antimag_case.toml", "median", "left"): (9.34, 5.99, 0.15, [(51, 15, 6, 12)], ["none"]),
    ("antimag_case.toml", "ulnar", "left"): (8.57, 6.50, 0.14, [(56, 16, 5, 17)], ["none"]),
    ("absent_proximal.h5", "tibial", "right"): (3.81, 5.00, None, [(None, None, None, None)],
                                                ["not-assessable"]),
    ("noisy_median.txt", "median", "left"): (3.34, 7.86, 0.33, [(64, 6, -1, 15)], ["none"]),
}

TOLERANCE = {"ms": 0.15, "mv": 0.15, "tli": 0.02, "cv": 2.0, "pct": 3.0}
