"""The trigger a run suffers: a short slowdown of the dependency or a burst of arrivals, at a time you choose.

Shared by the simulation and the tests, so a property test can draw any trigger
schedule. The trigger is the *cause*; a metastable failure is what outlives it.
"""

from __future__ import annotations

from dataclasses import dataclass

SLOWDOWN = "slowdown"
BURST = "burst"


@dataclass(frozen=True)
class Trigger:
    """From start_ms for duration_ms, either every service time or the arrival rate is multiplied by factor."""

    kind: str = SLOWDOWN
    start_ms: float = 0.0
    duration_ms: float = 0.0
    factor: float = 1.0

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms

    def active(self, t_ms: float) -> bool:
        return self.start_ms <= t_ms < self.end_ms

    def service_factor(self, t_ms: float) -> float:
        return self.factor if self.kind == SLOWDOWN and self.active(t_ms) else 1.0

    def arrival_factor(self, t_ms: float) -> float:
        return self.factor if self.kind == BURST and self.active(t_ms) else 1.0
