"""The messaging experiment's workload and faults, decided before a run starts.

The simulation (model.py), the live engine (live.py, whose consumer processes
import this module) and the tests all take them from here, so a seed means the
same keys, the same poison messages and the same crashes in each. Plain
Python, no Django.

A crash is keyed by (message, attempt): the attempt-th delivery of that
message makes its consumer die after the handler's effect and before the ack,
the worst place. Pub/sub has no redelivery, so there the attempt is the
subscriber's number: each subscriber's copy is drawn on its own.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from dataclasses import dataclass, field
from typing import Any

KEY_PARTITIONING = "key"
ROUND_ROBIN = "round-robin"
# A message is never crash-delivered more than this many times, so no crash chain runs on for ever.
MAX_CRASH_ATTEMPTS = 2


def unit(seed: int, *parts: Any) -> float:
    """A uniform draw in [0, 1) named by its parts: no draw shifts another."""
    digest = hashlib.blake2b(f"{seed}:{parts}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def partition_of(key: int, partitions: int) -> int:
    """The producer's partitioner: a stable hash of the key (Kafka's default murmur2 plays this part)."""
    return zlib.crc32(f"key-{key}".encode()) % partitions


@dataclass(frozen=True)
class Workload:
    """The messages: message i is published at i × interval_ms with key keys[i], its seqs[i]-th for that key."""

    interval_ms: float
    keys: tuple[int, ...]
    seqs: tuple[int, ...]

    def published_at(self, message: int) -> float:
        return message * self.interval_ms

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Faults:
    seed: int
    crash_probability: float = 0.0
    restart_ms: float = 0.0
    # Consumer (and subscriber) 0 is offline from disconnect_start_ms for disconnect_ms.
    disconnect_start_ms: float = 0.0
    disconnect_ms: float = 0.0
    # The last consumer (and subscriber) takes slow_factor times as long to handle each message.
    slow_factor: float = 1.0
    poison: frozenset[int] = field(default_factory=frozenset)
    # The log's group loses its last member at this time (0: never), and rebalances.
    rebalance_ms: float = 0.0

    def crashes(self, message: int, attempt: int) -> bool:
        return (self.crash_probability > 0 and attempt < MAX_CRASH_ATTEMPTS
                and unit(self.seed, "crash", message, attempt) < self.crash_probability)

    @property
    def disconnect_end_ms(self) -> float:
        return self.disconnect_start_ms + self.disconnect_ms

    def offline(self, consumer: int, t_ms: float) -> bool:
        return consumer == 0 and self.disconnect_ms > 0 and self.disconnect_start_ms <= t_ms < self.disconnect_end_ms

    def slowness(self, consumer: int, consumers: int) -> float:
        return self.slow_factor if consumer == consumers - 1 else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "crash_probability": self.crash_probability, "restart_ms": self.restart_ms,
                "disconnect_start_ms": self.disconnect_start_ms, "disconnect_ms": self.disconnect_ms,
                "slow_factor": self.slow_factor, "poison": sorted(self.poison), "rebalance_ms": self.rebalance_ms}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        return cls(**{**data, "poison": frozenset(data["poison"])})


def workload(params: dict[str, Any], seed: int) -> Workload:
    rng = random.Random(f"{seed}:keys")
    keys = tuple(rng.randrange(params["keys"]) for _ in range(params["messages"]))
    counts: dict[int, int] = {}
    seqs = []
    for key in keys:
        seqs.append(counts.get(key, 0))
        counts[key] = seqs[-1] + 1
    return Workload(1000 / params["publish_rate"], keys, tuple(seqs))


def fault_schedule(params: dict[str, Any], seed: int) -> Faults:
    """The run's faults; every engine draws them here."""
    messages = params["messages"]
    # Poison lands in the first half of the run, so there is traffic behind it to block.
    candidates = range(1, max(2, messages // 2))
    poison = frozenset(random.Random(f"{seed}:poison").sample(candidates, min(params["poison_messages"], len(candidates))))
    return Faults(
        seed=seed, crash_probability=params["crash_probability"], restart_ms=params["restart_ms"],
        disconnect_start_ms=params["disconnect_start_ms"], disconnect_ms=params["disconnect_ms"],
        slow_factor=params["slow_factor"], poison=poison, rebalance_ms=params["rebalance_ms"],
    )
