"""The replication faults a run suffers: lag drawn per write and replica, and a lag spike you schedule.

Shared by the simulation and the tests, so a test can build the exact spike it
needs. Nothing here knows about guarantees: the same seed gives the same lags
whichever guarantees are switched on, which is what lets a test compare two
runs that differ only in one guarantee.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class LagSpike:
    """From start_ms for duration_ms, the first `replicas` replicas apply nothing (a stalled replay).

    Whatever would have been applied during the spike is applied when it ends:
    Postgres's `max_standby_streaming_delay` after a long query, a replica's disk
    stall, a network hiccup between datacentres.
    """

    start_ms: float = 0.0
    duration_ms: float = 0.0
    replicas: int = 0

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms

    def release(self, replica: int, at_ms: float) -> float:
        """When a write due at `at_ms` on this replica really gets applied."""
        if replica < self.replicas and self.start_ms <= at_ms < self.end_ms:
            return self.end_ms
        return at_ms


@dataclass(frozen=True)
class FaultSchedule:
    """Replication lag: exponential with a mean, per write and per replica, plus one spike."""

    lag_mean_ms: float
    spike: LagSpike = LagSpike()

    def draw_lags(self, rng: random.Random, replicas: int) -> list[float]:
        """How long one write takes to reach each replica, before the spike and ordering apply."""
        if self.lag_mean_ms <= 0:
            return [0.0] * replicas
        rate = 1 / self.lag_mean_ms
        return [rng.expovariate(rate) for _ in range(replicas)]

    def apply_ms(self, replica: int, commit_ms: float, lag_ms: float, previous_ms: float) -> float:
        """When a replica applies a write: after its lag and the spike, never before the key's previous write."""
        return max(previous_ms, self.spike.release(replica, commit_ms + lag_ms))
