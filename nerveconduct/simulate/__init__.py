"""The ground-truth simulator: nerves with known conduction, and the bundled sample files."""

from __future__ import annotations

from .nerve import (
    SimulatedNerve,
    SimulationTruth,
    simulate_nerve,
)
from .sensory import SimulatedSnap, SnapTruth, simulate_snap
from .fwave import FWaveTruth, SimulatedFWaves, simulate_f_waves

__all__ = [
    "SimulatedNerve",
    "SimulationTruth",
    "simulate_nerve",
    "SimulatedSnap",
    "SnapTruth",
    "simulate_snap",
    "FWaveTruth",
    "SimulatedFWaves",
    "simulate_f_waves",
]
