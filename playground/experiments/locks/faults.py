"""The locks experiment's faults, decided before a run starts.

The simulation (model.py), the live engine (live.py) and the tests all take
their faults from here, so a seed means the same pauses, delays and clocks in
each. Faults are keyed by lease, in the order the lock service grants them:
lease n carries fencing token n + 1, whichever client happens to win it.
Plain Python, no Django: the live engine's client processes import it too.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

NONE, FIXED, EXPONENTIAL, PARETO = "none", "fixed", "exponential", "pareto"
PAUSE_DISTRIBUTIONS = [
    (NONE, "No pauses"),
    (FIXED, "Fixed: every pause lasts exactly the pause length (like a SIGSTOP)"),
    (EXPONENTIAL, "Exponential: the pause length is the mean"),
    (PARETO, "Pareto, shape 1.5: the pause length is the minimum; a heavy tail like GC on a big heap"),
]
PARETO_SHAPE = 1.5
# No pause runs on forever: a heavy tail is cut at this many times the pause length.
PAUSE_CAP_FACTOR = 20
FIRST_TOKEN = 1


@dataclass(frozen=True)
class FaultSchedule:
    """Every fault a run suffers, per lease (in grant order) and per client, in whole ms.

    work_ms: how long the holder works between taking the lease and its own lease
        check; the check reads the client's own clock.
    pause_ms: a stop-the-world pause after that check and before the write is
        sent (0: none), the gap Kleppmann's figure shows: no check can see it.
    delay_ms: the write's trip to the storage; ack_ms: the reply's trip back,
        after which the client releases the lease (compare-and-delete).
    clock_rate: per client, how fast its clock runs against the lock service's
        (0.8: it sees 80 ms where 100 ms passed, so it trusts an expired lease).
    salt: picks each client's record for each of its operations (see record_for).
    """

    work_ms: tuple[int, ...]
    pause_ms: tuple[int, ...]
    delay_ms: tuple[int, ...]
    ack_ms: tuple[int, ...]
    clock_rate: tuple[float, ...]
    salt: int = 0

    def record_for(self, client: int, operation: int, records: int) -> int:
        """The record a client's n-th operation locks and writes; a hash, so no client's draw shifts another's."""
        mixed = (self.salt * 1_000_003 + client * 7_919 + operation * 104_729) * 2_654_435_761
        return (mixed >> 7) % records

    def to_json(self) -> dict[str, Any]:
        return {
            "work_ms": list(self.work_ms), "pause_ms": list(self.pause_ms), "delay_ms": list(self.delay_ms),
            "ack_ms": list(self.ack_ms), "clock_rate": list(self.clock_rate), "salt": self.salt,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultSchedule:
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})


def pause_length(u: float, distribution: str, pause_ms: int) -> int:
    """The pause for a uniform draw u in [0, 1), by inverting the distribution's CDF."""
    if distribution == FIXED:
        length = pause_ms
    elif distribution == EXPONENTIAL:
        length = -pause_ms * math.log(1 - u)
    else:
        length = pause_ms / (1 - u) ** (1 / PARETO_SHAPE)
    return max(1, round(min(length, PAUSE_CAP_FACTOR * pause_ms)))


def fault_schedule(params: dict[str, Any], seed: int) -> FaultSchedule:
    """The run's faults; every engine draws them here."""
    rng = random.Random(seed)
    leases = params["operations"]
    distribution = params["pause_distribution"]
    work_mean, delay_mean = params["work_ms"], params["network_delay_ms"]
    work, pauses, delays, acks = [], [], [], []
    for _ in range(leases):
        # Every draw is made whatever the parameters, so turning one fault up does not reshuffle the others.
        work.append(max(1, round(rng.expovariate(1.0) * work_mean)))
        paused, u = rng.random() < params["pause_probability"], rng.random()
        pauses.append(pause_length(u, distribution, params["pause_ms"]) if paused and distribution != NONE else 0)
        delays.append(round(rng.expovariate(1.0) * delay_mean))
        acks.append(round(rng.expovariate(1.0) * delay_mean))
    drift = params["clock_drift_pct"] / 100
    rates = tuple(round(1 + drift * (2 * rng.random() - 1), 6) for _ in range(params["clients"]))
    return FaultSchedule(tuple(work), tuple(pauses), tuple(delays), tuple(acks), rates, salt=rng.randrange(2**31))


def pause_length_mean(distribution: str, pause_ms: int) -> float:
    """Roughly how long a pause lasts on average (the cap ignored), for the run's expected length."""
    if distribution == NONE:
        return 0.0
    if distribution == PARETO:
        return PARETO_SHAPE * pause_ms / (PARETO_SHAPE - 1)
    return float(pause_ms)

