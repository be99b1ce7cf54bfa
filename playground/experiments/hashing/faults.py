"""The schedule of membership changes that the simulation and the tests share.

Every third change removes a node, the others add one (add, add, remove, …). A removal
takes out the most recently added node, because that is the only node jump
consistent hash can remove (its buckets are numbered 0..n-1).
"""

from __future__ import annotations

ADD = "add"
REMOVE = "remove"


def schedule(changes: int) -> list[str]:
    return [REMOVE if index % 3 == 2 else ADD for index in range(changes)]
