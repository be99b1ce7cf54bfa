"""The partition schedule: which replicas are cut off from which clients, and when.

One schedule serves the simulation (who can reach whom at time t), the live
engine (which redis-server processes to SIGSTOP, from when to when) and the
tests (which operations a partition could have touched). Plain Python, no Django.

Nodes are the key's N home replicas 0..N-1. During a partition the last
`cut_off` replicas form the minority side, together with the clients placed
there; everything else is the majority side. Stand-in nodes (for hinted
handoff) exist on both sides, so a sloppy quorum can always find W nodes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAJORITY, MINORITY = "majority", "minority"
SIDES = (MAJORITY, MINORITY)


@dataclass(frozen=True)
class PartitionSchedule:
    replicas: int
    cut_off: tuple[int, ...] = ()  # home replicas on the minority side during the partition
    start_ms: float = 0.0
    end_ms: float = 0.0  # start == end: no partition
    minority_clients: float = 0.0  # share of clients on the minority side

    @classmethod
    def from_params(cls, params: dict) -> PartitionSchedule:
        n = params["replicas"]
        cut = min(params["cut_off_replicas"], n - 1)
        length = params["partition_ms"] if cut else 0
        start = params["partition_start_ms"]
        return cls(
            replicas=n,
            cut_off=tuple(range(n - cut, n)),
            start_ms=start,
            end_ms=start + length,
            minority_clients=params["minority_clients"] if length else 0.0,
        )

    @property
    def has_partition(self) -> bool:
        return bool(self.cut_off) and self.end_ms > self.start_ms

    def partitioned(self, t_ms: float) -> bool:
        return self.has_partition and self.start_ms <= t_ms < self.end_ms

    def side_of_replica(self, replica: int) -> str:
        return MINORITY if replica in self.cut_off else MAJORITY

    def reachable(self, side: str, replica: int, t_ms: float) -> bool:
        """Can a coordinator on `side` talk to home replica `replica` at time t?"""
        return not self.partitioned(t_ms) or self.side_of_replica(replica) == side

    def reachable_replicas(self, side: str, t_ms: float) -> list[int]:
        return [i for i in range(self.replicas) if self.reachable(side, i, t_ms)]

    def client_side(self, rng: random.Random) -> str:
        """Where a client sits; only matters while the partition lasts."""
        return MINORITY if rng.random() < self.minority_clients else MAJORITY

    def stop_windows(self) -> list[tuple[float, float, tuple[int, ...]]]:
        """(start, end, replicas) to SIGSTOP in a live run: the cut-off replicas, for the partition."""
        return [(self.start_ms, self.end_ms, self.cut_off)] if self.has_partition else []
