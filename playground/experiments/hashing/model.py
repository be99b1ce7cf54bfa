"""Keys on nodes: modulo, a ring, a ring with virtual nodes, rendezvous, jump, and bounded loads.

Plain Python, no Django. Every hash is blake2b keyed by the seed, or a 64-bit
mix of such hashes, never Python's salted hash(), so a seed gives the same
placement on every machine.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from typing import Any, Callable

from .faults import ADD, schedule

MODULO, RING, VNODES, RENDEZVOUS, JUMP, BOUNDED = "modulo", "ring", "vnodes", "rendezvous", "jump", "bounded"
SCHEMES = [MODULO, RING, VNODES, RENDEZVOUS, JUMP, BOUNDED]
LABELS = {
    MODULO: "hash mod N", RING: "ring, 1 token per node", VNODES: "ring with virtual nodes",
    RENDEZVOUS: "rendezvous (HRW)", JUMP: "jump consistent hash", BOUNDED: "bounded loads (ring + vnodes)",
}
# The schemes that promise minimal disruption: only the added or removed node's keys move.
MINIMAL = [RING, VNODES, RENDEZVOUS, JUMP]
MASK = (1 << 64) - 1


def stable_hash(seed: int, text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8, key=seed.to_bytes(8, "big")).digest(), "big")


def mix64(x: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread 64-bit mix."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & MASK
    return x ^ (x >> 31)


def jump_hash(key: int, num_buckets: int) -> int:
    """Lamping & Veach (2014), Figure 1, ported line for line (64-bit unsigned arithmetic)."""
    b, j = -1, 0
    while j < num_buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def theory(scheme: str, change: str, n_before: int) -> float | None:
    """Expected share of keys that move when a node is added to or removed from n_before nodes."""
    n_after = n_before + 1 if change == ADD else n_before - 1
    if scheme == MODULO:
        # a key stays only when h mod n_before == h mod n_after, about 1/max(n) of keys
        return 1 - 1 / max(n_before, n_after)
    if scheme == BOUNDED:
        return None
    return 1 / max(n_before, n_after)


class Ring:
    def __init__(self, seed: int, nodes: list[str], tokens: int):
        points = sorted((stable_hash(seed, f"{node}#{i}"), node) for node in nodes for i in range(tokens))
        self.positions = [p for p, _ in points]
        self.owners = [o for _, o in points]

    def start(self, key_hash: int) -> int:
        return bisect.bisect(self.positions, key_hash) % len(self.positions)

    def owner(self, key_hash: int) -> str:
        return self.owners[self.start(key_hash)]


def place(scheme: str, seed: int, nodes: list[str], key_hashes: list[int], vnodes: int, epsilon: float) -> list[str]:
    n = len(nodes)
    if scheme == MODULO:
        return [nodes[h % n] for h in key_hashes]
    if scheme == JUMP:
        return [nodes[jump_hash(h, n)] for h in key_hashes]
    if scheme == RENDEZVOUS:
        node_hashes = [(stable_hash(seed, node), node) for node in nodes]
        return [max(node_hashes, key=lambda nh: mix64(h ^ nh[0]))[1] for h in key_hashes]
    ring = Ring(seed, nodes, 1 if scheme == RING else vnodes)
    if scheme != BOUNDED:
        return [ring.owner(h) for h in key_hashes]
    # Mirrokni, Thorup & Zadimoghaddam: each key walks clockwise past full nodes; capacity ceil((1+ε)·mean).
    cap = math.ceil((1 + epsilon) * len(key_hashes) / n)
    counts = dict.fromkeys(nodes, 0)
    size = len(ring.owners)
    placed = []
    for h in key_hashes:
        i = ring.start(h)
        while counts[ring.owners[i]] >= cap:
            i = (i + 1) % size
        counts[ring.owners[i]] += 1
        placed.append(ring.owners[i])
    return placed


def key_weights(params: dict[str, Any]) -> list[float]:
    """Request share of each key: uniform or Zipf(s), plus an optional hot key 0 taking a fixed share."""
    keys = params["keys"]
    if params["distribution"] == "zipf":
        raw = [1 / (rank + 1) ** params["zipf_s"] for rank in range(keys)]
    else:
        raw = [1.0] * keys
    total = sum(raw)
    hot = params["hot_key_share"]
    weights = [w / total * (1 - hot) for w in raw]
    weights[0] += hot
    return weights


def loads(nodes: list[str], placement: list[str], weights: list[float]) -> dict[str, float]:
    load = dict.fromkeys(nodes, 0.0)
    for node, weight in zip(placement, weights):
        load[node] += weight
    return load


def run_model(params: dict[str, Any], seed: int, emit: Callable[[dict], None]) -> dict[str, Any]:
    keys = params["keys"]
    key_hashes = [stable_hash(seed, f"key-{i}") for i in range(keys)]
    weights = key_weights(params)
    nodes = [f"node-{i}" for i in range(params["nodes"])]
    next_id = len(nodes)

    def place_all() -> dict[str, list[str]]:
        return {s: place(s, seed, nodes, key_hashes, params["vnodes"], params["epsilon"]) for s in SCHEMES}

    def skew_frame(step: int, placements: dict[str, list[str]]) -> dict[str, Any]:
        frame = {"t_ms": step * 1000, "step": step, "nodes": len(nodes)}
        for s in SCHEMES:
            load = loads(nodes, placements[s], weights)
            frame[f"skew_{s}"] = round(max(load.values()) / (1 / len(nodes)), 3)
        return frame

    placements = place_all()
    first = skew_frame(0, placements)
    for s in SCHEMES:
        first[f"moved_{s}"] = 0.0
    first["theory_minimal"] = first["theory_modulo"] = 0.0
    emit(first)
    changes = []
    max_skew = dict.fromkeys(SCHEMES, 0.0)
    for s in SCHEMES:
        max_skew[s] = first[f"skew_{s}"]
    strays = dict.fromkeys(SCHEMES, 0)
    bounded_over_cap = 0
    for step, change in enumerate(schedule(params["changes"]), start=1):
        n_before = len(nodes)
        if change == ADD:
            changed = f"node-{next_id}"
            next_id += 1
            nodes.append(changed)
        else:
            changed = nodes.pop()
        after = place_all()
        frame = skew_frame(step, after)
        row = {"step": step, "change": change, "node": changed, "nodes_before": n_before, "nodes_after": len(nodes), "moved": {}, "theory": {}}
        for s in SCHEMES:
            moved = stray = 0
            for old, new in zip(placements[s], after[s]):
                if old != new:
                    moved += 1
                    if (new if change == ADD else old) != changed:
                        stray += 1
            share = moved / keys
            frame[f"moved_{s}"] = round(share, 4)
            row["moved"][s] = round(share, 4)
            row["theory"][s] = None if theory(s, change, n_before) is None else round(theory(s, change, n_before), 4)
            strays[s] += stray
            max_skew[s] = max(max_skew[s], frame[f"skew_{s}"])
        frame["theory_minimal"] = row["theory"][RING]
        frame["theory_modulo"] = row["theory"][MODULO]
        counts = {node: 0 for node in nodes}
        for node in after[BOUNDED]:
            counts[node] += 1
        cap = math.ceil((1 + params["epsilon"]) * keys / len(nodes))
        bounded_over_cap += sum(1 for c in counts.values() if c > cap)
        placements = after
        changes.append(row)
        emit(frame)
    final = {s: loads(nodes, placements[s], weights) for s in SCHEMES}
    hot_node = placements[VNODES][0]
    return {
        "changes": changes,
        "mean_moved": {s: round(sum(r["moved"][s] for r in changes) / max(1, len(changes)), 4) for s in SCHEMES},
        "mean_theory": {s: (None if changes[0]["theory"][s] is None else
                            round(sum(r["theory"][s] for r in changes) / len(changes), 4)) if changes else None
                        for s in SCHEMES},
        "strays": strays,
        "max_skew": max_skew,
        "bounded_over_cap": bounded_over_cap,
        "final_nodes": list(nodes),
        "final_load": {s: {node: round(v, 5) for node, v in final[s].items()} for s in SCHEMES},
        "hot_node": hot_node,
        "operations": keys * (len(changes) + 1),
        "modulo_first_moved_pct": round(100 * changes[0]["moved"][MODULO]) if changes else 0,
    }
