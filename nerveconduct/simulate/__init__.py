"""The ground-truth simulator: nerves with known conduction, and the bundled sample files."""

from __future__ import annotations

from .nerve import (
    SimulatedNerve,
    SimulationTruth,
    simulate_nerve,
)

__all__ = [
    "SimulatedNerve",
    "SimulationTruth",
    "simulate_nerve",
]
