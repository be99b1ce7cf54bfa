"""The faults a run suffers: a partition, a channel that loses, duplicates and delays, and skewed clocks.

Shared by the simulation and the tests, so that a test can build the exact
partition or channel it needs. Nothing here knows about data types: every
variant in a run sees the same messages suffer the same fates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    """From start_ms to end_ms the first `cut_off` replicas hear nothing from the others, nor they from them."""

    cut_off: int = 0
    start_ms: float = 0.0
    end_ms: float = 0.0

    @property
    def exists(self) -> bool:
        return self.cut_off > 0 and self.end_ms > self.start_ms

    def severs(self, a: int, b: int, t_ms: float) -> bool:
        return self.exists and self.start_ms <= t_ms < self.end_ms and (a < self.cut_off) != (b < self.cut_off)


@dataclass(frozen=True)
class Channel:
    """Each message is lost with probability `loss`, else delivered after an exponential delay, and sometimes twice."""

    loss: float = 0.0
    duplicate: float = 0.0
    delay_mean_ms: float = 5.0

    # Long enough for a fat tail, short enough that every message has landed soon after the last one is sent.
    MAX_DELAY_FACTOR = 5.0

    def delay(self, rng: random.Random) -> float:
        if self.delay_mean_ms <= 0:
            return 0.0
        return min(rng.expovariate(1 / self.delay_mean_ms), self.MAX_DELAY_FACTOR * self.delay_mean_ms)

    def deliveries(self, rng: random.Random) -> list[float]:
        """The delays after which one message sent now arrives: none if lost, two if duplicated."""
        lost, doubled = rng.random() < self.loss, rng.random() < self.duplicate
        if lost:
            return []
        return [self.delay(rng), self.delay(rng)] if doubled else [self.delay(rng)]

    @property
    def max_delay_ms(self) -> float:
        return self.MAX_DELAY_FACTOR * self.delay_mean_ms


def clock_offsets(rng: random.Random, replicas: int, skew_ms: float) -> list[float]:
    """Each replica's wall clock runs this far ahead (or behind, if negative) of true time."""
    return [rng.uniform(-skew_ms, skew_ms) if skew_ms > 0 else 0.0 for _ in range(replicas)]
