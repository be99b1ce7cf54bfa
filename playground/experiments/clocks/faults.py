"""The clocks experiment's faults and workload, decided before a run starts.

A replica's clock reads true time plus an offset that changes over the run:
a fixed skew, a drift in parts per million, and optionally a step backwards
(an NTP step, a leap second inserted rather than smeared). The workload is a
list of read-modify-write operations, each with its replication delays to every
replica. The simulation and the tests build both from here, and hypothesis
builds arbitrary ones directly, so "any schedule" means any of these.
Plain Python, no Django.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockSchedule:
    """Replica r's clock reads t + skew_ms[r] + drift_ppm[r] × t / 10⁶, minus step_ms[r] once t ≥ step_at_ms."""

    skew_ms: tuple[float, ...]
    drift_ppm: tuple[float, ...]
    step_ms: tuple[float, ...]
    step_at_ms: float = math.inf

    @property
    def replicas(self) -> int:
        return len(self.skew_ms)

    def offset(self, replica: int, t_ms: float) -> float:
        stepped = self.step_ms[replica] if t_ms >= self.step_at_ms else 0.0
        return self.skew_ms[replica] + self.drift_ppm[replica] * t_ms / 1e6 - stepped

    def physical(self, replica: int, t_ms: float) -> int:
        """What the replica's clock says, in whole milliseconds, as most stores stamp writes."""
        return math.floor(t_ms + self.offset(replica, t_ms))


@dataclass(frozen=True)
class Operation:
    """A client reads `key` from `replica` at read_ms, then writes it back there at write_ms.

    delays_ms[x] is how long the write takes to reach replica x (0 for the replica itself).
    """

    key: int
    replica: int
    read_ms: float
    write_ms: float
    delays_ms: tuple[float, ...]


def clock_schedule(*, replicas: int, skew_ms: float, drift_ppm: float, step_back_ms: float, step_at_ms: float,
                   rng: random.Random) -> ClockSchedule:
    """Offsets spread evenly over [−skew/2, +skew/2] in a seeded order, so the spread is exactly the skew."""
    spots = [skew_ms * (i / (replicas - 1) - 0.5) for i in range(replicas)] if replicas > 1 else [0.0]
    rng.shuffle(spots)
    drifts = [rng.uniform(-drift_ppm, drift_ppm) for _ in range(replicas)]
    steps = [step_back_ms if r == 0 else 0.0 for r in range(replicas)]
    return ClockSchedule(tuple(spots), tuple(drifts), tuple(steps), step_at_ms if step_back_ms else math.inf)


def workload(*, writes: int, keys: int, replicas: int, interval_ms: float, think_ms: float,
             replication_ms: float, rng: random.Random) -> list[Operation]:
    """Poisson arrivals, a uniformly chosen key and replica (a load balancer), exponential think and replication times."""
    operations = []
    t = 0.0
    for _ in range(writes):
        t += rng.expovariate(1 / interval_ms) if interval_ms else 0.0
        replica = rng.randrange(replicas)
        think = rng.expovariate(1 / think_ms) if think_ms else 0.0
        delays = tuple(0.0 if x == replica else (rng.expovariate(1 / replication_ms) if replication_ms else 0.0)
                       for x in range(replicas))
        operations.append(Operation(rng.randrange(keys), replica, round(t, 3), round(t + think, 3),
                                    tuple(round(d, 3) for d in delays)))
    return operations
