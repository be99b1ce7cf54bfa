"""Replicas under a partition: concurrent counter and set updates, gossip, and what each merge makes of them.

Plain Python, no Django. One seeded run drives every variant with the same
client operations and the same messages: each replica holds one state of each
type, an update is applied to all of them, and a gossip message carries all of
them at once. So a difference between two variants is the data type's doing,
never the schedule's.

Beside the data, each replica carries a version vector of the operations it has
seen (an oracle, not part of any type). It gives the ground truth: which updates
a replica has seen, and which happened before which. The anomalies are defined
on it alone, so the checks do not trust any of the types they judge.
"""

from __future__ import annotations

import bisect
import heapq
import random
from typing import Any, Callable

from .datatypes import COUNTER_TYPES, SET_TYPES, LWWCounter, LWWSet, MaxCounter, ORSet, PNCounter, TwoPhaseSet, UnionSet
from .faults import Channel, Partition, clock_offsets

STATE_COUNTERS = ("max", "lww", "pn")  # the op-based counter has no state to gossip
CRDT_COUNTERS = ("pn",)
CRDT_SETS = ("two_phase", "or")
COUNTER_LABELS = {
    "max": "counter merged by max",
    "lww": "counter merged by last write",
    "ops": "op-based counter, no dedup",
    "pn": "PN-counter (CRDT)",
}
SET_LABELS = {
    "union": "set merged by union",
    "lww": "LWW-element-set (remove wins by timestamp)",
    "two_phase": "2P-set (CRDT)",
    "or": "OR-set (CRDT)",
}
FRAMES = 200

# Event kinds, in the order they are handled when they fall on the same millisecond.
DELIVER_STATE, DELIVER_OP, GOSSIP, CLIENT_OP, FRAME = range(5)


class Replica:
    def __init__(self, index: int, replicas: int):
        self.index = index
        self.counters: dict[str, Any] = {
            "max": MaxCounter(), "lww": LWWCounter(), "pn": PNCounter.empty(replicas),
        }
        self.ops_count = 0  # the op-based counter: its own updates plus every "+d" message delivered
        self.sets: dict[str, Any] = {
            "union": UnionSet(), "lww": LWWSet(), "two_phase": TwoPhaseSet(), "or": ORSet.empty(replicas),
        }
        self.seen: tuple[int, ...] = (0,) * replicas

    def snapshot(self) -> tuple:
        return (dict(self.counters), dict(self.sets), self.seen)

    def merge(self, snapshot: tuple) -> None:
        counters, sets, seen = snapshot
        for name, state in counters.items():
            self.counters[name] = self.counters[name].merge(state)
        for name, state in sets.items():
            self.sets[name] = self.sets[name].merge(state)
        self.seen = tuple(map(max, self.seen, seen))

    def counter_value(self, name: str) -> int:
        return self.ops_count if name == "ops" else self.counters[name].value


class OpLog:
    """Every operation as the oracle saw it: its origin, sequence number and the version vector it was issued with."""

    def __init__(self, replicas: int):
        self.replicas = replicas
        # cumulative[j][s]: the net counter change made by origin j's first s operations
        self.cumulative = [[0] for _ in range(replicas)]
        # per element: adds and removes as (origin, seq, vector at issue)
        self.adds: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
        self.removes: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
        self.remove_times: dict[tuple[int, int], float] = {}

    def record(self, origin: int, delta: int) -> int:
        column = self.cumulative[origin]
        column.append(column[-1] + delta)
        return len(column) - 1

    def counter_seen(self, seen: tuple[int, ...]) -> int:
        """The true counter value over exactly the operations in this version vector."""
        return sum(self.cumulative[j][seen[j]] for j in range(self.replicas))


def happened_before(op: tuple[int, int, tuple[int, ...]], vector: tuple[int, ...]) -> bool:
    return vector[op[0]] >= op[1]


def causal_frontier(log: OpLog, seen: tuple[int, ...], elements: int) -> dict[int, str]:
    """For each element with an add among the operations in `seen`: what its causally last operations demand.

    "absent": some remove it has seen followed every add of the element it has
    seen, so nothing re-added it. "present": some add followed every remove it has
    seen. "concurrent": neither, an add and a remove concurrent at the end of the
    history, which each type resolves by its own rule. Only the oracle's
    operations and their causal order decide; no data type is consulted.
    """
    verdicts = {}
    for element in range(elements):
        adds = [op for op in log.adds.get(element, []) if happened_before(op, seen)]
        if not adds:
            continue
        removes = [op for op in log.removes.get(element, []) if happened_before(op, seen)]
        latest_add = _latest_per_origin(adds, log.replicas)
        latest_remove = _latest_per_origin(removes, log.replicas)
        origins = range(log.replicas)
        if any(all(r[2][j] >= latest_add[j] for j in origins) for r in removes):
            verdicts[element] = "absent"
        elif any(all(a[2][j] >= latest_remove[j] for j in origins) for a in adds):
            verdicts[element] = "present"
        else:
            verdicts[element] = "concurrent"
    return verdicts


def set_anomalies(frontier: dict[int, str], contains: Callable[[int], bool]) -> dict[str, list[int]]:
    """Elements a replica gets wrong: present though removed after every add, or absent though added after every remove."""
    return {
        "came_back": [e for e, need in frontier.items() if need == "absent" and contains(e)],
        "lost": [e for e, need in frontier.items() if need == "present" and not contains(e)],
        "concurrent": [e for e, need in frontier.items() if need == "concurrent"],
    }


def _latest_per_origin(ops: list[tuple[int, int, tuple[int, ...]]], replicas: int) -> list[int]:
    latest = [0] * replicas
    for origin, seq, _ in ops:
        latest[origin] = max(latest[origin], seq)
    return latest


def run_model(params: dict[str, Any], seed: int, emit: Callable[[dict], None]) -> dict[str, Any]:
    rng = random.Random(seed)
    n = params["replicas"]
    elements = params["elements"]
    interval = params["interval_ms"]
    partition = Partition(
        cut_off=min(params["cut_off_replicas"], n - 1) if params["partition_ms"] else 0,
        start_ms=params["partition_start_ms"],
        end_ms=params["partition_start_ms"] + params["partition_ms"],
    )
    channel = Channel(loss=params["loss"], duplicate=params["duplicate"], delay_mean_ms=params["delay_ms"])
    offsets = clock_offsets(rng, n, params["skew_ms"])
    replicas = [Replica(i, n) for i in range(n)]
    log = OpLog(n)

    ops_end = params["operations"] * interval
    settled_from = max(ops_end, partition.end_ms if partition.exists else 0.0)
    horizon = settled_from + params["quiet_ms"]
    frame_ms = horizon / FRAMES

    events: list[tuple] = []
    order = 0

    def push(t: float, kind: int, *payload: Any) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (t, kind, order, payload))

    def send(t: float, src: int, dst: int, kind: int, payload: Any) -> None:
        stats["sent"] += 1
        if partition.severs(src, dst, t):
            stats["severed"] += 1
            return
        arrivals = channel.deliveries(rng)
        if not arrivals:
            stats["lost"] += 1
        if len(arrivals) > 1:
            stats["duplicated"] += 1
        for delay in arrivals:
            push(t + delay, kind, dst, payload)

    stats = {"sent": 0, "severed": 0, "lost": 0, "duplicated": 0, "gossip": 0, "op_messages": 0}
    for i in range(n):
        push(rng.uniform(0, params["gossip_ms"]), GOSSIP, i)
    push(interval, CLIENT_OP, 1)
    for k in range(FRAMES + 1):
        push(min(k * frame_ms, horizon), FRAME, k)

    truth = 0
    increments = decrements = adds = removes = 0
    # keyed "counters:max", "sets:lww"…: both groups have an LWW variant
    sec_violations = {f"{group}:{name}": 0 for group, names in (("counters", STATE_COUNTERS), ("sets", SET_TYPES))
                      for name in names}
    sec_witness: dict[str, str] = {}
    final_seen: tuple[int, ...] | None = None
    all_seen_at: float | None = None

    def check_sec(t: float, r: Replica) -> None:
        """Strong convergence: replicas that have seen the same updates must hold the same state."""
        for other in replicas:
            if other is r or other.seen != r.seen:
                continue
            for name in STATE_COUNTERS:
                if r.counters[name] != other.counters[name]:
                    sec_violations[f"counters:{name}"] += 1
                    sec_witness.setdefault(f"counters:{name}", _sec_text(t, r, other, r.counter_value(name), other.counter_value(name)))
            for name in SET_TYPES:
                if r.sets[name] != other.sets[name]:
                    sec_violations[f"sets:{name}"] += 1
                    sec_witness.setdefault(f"sets:{name}", _sec_text(t, r, other, *_difference(r.sets[name], other.sets[name])))

    while events:
        t, kind, _, payload = heapq.heappop(events)
        if t > horizon:
            break
        if kind == CLIENT_OP:
            number = payload[0]
            r = replicas[rng.randrange(n)]
            stamp = t + offsets[r.index]
            if rng.random() < params["counter_share"]:
                delta = -1 if rng.random() < params["decrement_share"] else 1
                truth += delta
                increments += delta > 0
                decrements += delta < 0
                for name in STATE_COUNTERS:
                    r.counters[name] = r.counters[name].add(r.index, delta, stamp)
                r.ops_count += delta
                for other in range(n):
                    if other != r.index:
                        stats["op_messages"] += 1
                        send(t, r.index, other, DELIVER_OP, delta)
                seq = log.record(r.index, delta)
            else:
                seq = log.record(r.index, 0)
                vector = tuple(seq if j == r.index else r.seen[j] for j in range(n))
                removing = rng.random() < params["remove_share"]
                present = sorted(r.sets["or"].members) if removing else []
                if present:
                    # A client removes what it sees: an element present in this replica's OR-set.
                    element = present[rng.randrange(len(present))]
                    removes += 1
                    log.removes.setdefault(element, []).append((r.index, seq, vector))
                    log.remove_times[(r.index, seq)] = t
                    for name in SET_TYPES:
                        r.sets[name] = r.sets[name].remove(r.index, element, stamp)
                else:
                    element = rng.randrange(elements)
                    adds += 1
                    log.adds.setdefault(element, []).append((r.index, seq, vector))
                    for name in SET_TYPES:
                        r.sets[name] = r.sets[name].add(r.index, element, stamp)
            r.seen = tuple(seq if j == r.index else r.seen[j] for j in range(n))
            if number < params["operations"]:
                push(t + interval, CLIENT_OP, number + 1)
            else:
                final_seen = tuple(len(column) - 1 for column in log.cumulative)
        elif kind == GOSSIP:
            i = payload[0]
            peer = rng.randrange(n - 1)
            peer += peer >= i
            stats["gossip"] += 1
            send(t, i, peer, DELIVER_STATE, replicas[i].snapshot())
            push(t + params["gossip_ms"], GOSSIP, i)
        elif kind == DELIVER_STATE:
            dst, snapshot = payload
            r = replicas[dst]
            r.merge(snapshot)
            check_sec(t, r)
        elif kind == DELIVER_OP:
            dst, delta = payload
            replicas[dst].ops_count += delta
        elif kind == FRAME:
            emit(_frame(t, replicas, log, truth, elements))
        if (all_seen_at is None and final_seen is not None and t >= settled_from
                and all(r.seen == final_seen for r in replicas)):
            all_seen_at = t

    return _summary(params, replicas, log, truth, elements, stats, sec_violations, sec_witness,
                    increments, decrements, adds, removes, settled_from, all_seen_at, partition, offsets)


def _members(state: Any, elements: int) -> list[int]:
    return sorted(state.members)


def _difference(a: Any, b: Any) -> tuple[str, str]:
    """How two set states differ, in members, rather than two long lists."""
    def show(elements: frozenset) -> str:
        return "{" + ", ".join(map(str, sorted(elements))) + "}" if elements else "nothing more"
    if a.members == b.members:
        return "the same members in different states", "another"
    return show(a.members - b.members), show(b.members - a.members)


def _sec_text(t: float, a: Replica, b: Replica, value_a: Any, value_b: Any) -> str:
    return (f"at {t:,.0f} ms replicas {a.index + 1} and {b.index + 1} had seen the same {sum(a.seen):,} updates, "
            f"yet replica {a.index + 1} held {value_a} and replica {b.index + 1} held {value_b}")


def _frame(t: float, replicas: list[Replica], log: OpLog, truth: int, elements: int) -> dict[str, Any]:
    frame: dict[str, Any] = {"t_ms": round(t, 1), "truth": truth}
    for name in COUNTER_TYPES:
        values = [r.counter_value(name) for r in replicas]
        frame[f"value_{name}"] = values[0]
        frame[f"spread_{name}"] = max(values) - min(values)
        frame[f"error_{name}"] = max(abs(v - log.counter_seen(r.seen)) for v, r in zip(values, replicas))
    for name in SET_TYPES:
        everywhere = frozenset.intersection(*(r.sets[name].members for r in replicas))
        somewhere = frozenset.union(*(r.sets[name].members for r in replicas))
        frame[f"disagree_{name}"] = len(somewhere - everywhere)
    frame["tombstones_two_phase"] = max(r.sets["two_phase"].tombstones for r in replicas)
    frame["tags_or_textbook"] = max(r.sets["or"].textbook_tags for r in replicas)
    frame["metadata_or"] = max(r.sets["or"].metadata for r in replicas)
    frame["updates_seen_min"] = min(sum(r.seen) for r in replicas)
    return frame


def _summary(params, replicas, log, truth, elements, stats, sec_violations, sec_witness,
             increments, decrements, adds, removes, settled_from, all_seen_at, partition, offsets) -> dict[str, Any]:
    counters = {}
    for name in COUNTER_TYPES:
        values = [r.counter_value(name) for r in replicas]
        states_equal = (len(set(values)) == 1 if name == "ops"
                        else all(r.counters[name] == replicas[0].counters[name] for r in replicas))
        counters[name] = {
            "values": values,
            "converged": states_equal,
            "off_by": max(abs(v - truth) for v in values),
            # worst replica against the updates it has itself seen: staleness excluded, only losses counted
            "error_vs_seen": max(abs(v - log.counter_seen(r.seen)) for v, r in zip(values, replicas)),
            "sec_violations": sec_violations.get(f"counters:{name}", 0),
        }
    sets = {}
    frontiers: dict[tuple[int, ...], dict[int, str]] = {}
    for r in replicas:
        if r.seen not in frontiers:
            frontiers[r.seen] = causal_frontier(log, r.seen, elements)
    for name in SET_TYPES:
        worst = {"came_back": [], "lost": [], "concurrent": []}
        for r in replicas:
            found = set_anomalies(frontiers[r.seen], r.sets[name].contains)
            for key in ("came_back", "lost"):
                if len(found[key]) > len(worst[key]):
                    worst[key] = found[key]
            if r.index == 0:
                worst["concurrent"] = found["concurrent"]
        members = _members(replicas[0].sets[name], elements)
        sets[name] = {
            "members": members,
            "converged": all(r.sets[name] == replicas[0].sets[name] for r in replicas),
            "came_back": len(worst["came_back"]),
            "came_back_elements": worst["came_back"],
            "lost_adds": len(worst["lost"]),
            "lost_add_elements": worst["lost"],
            "concurrent": len(worst["concurrent"]),
            "sec_violations": sec_violations[f"sets:{name}"],
        }
    sets["two_phase"]["tombstones"] = max(r.sets["two_phase"].tombstones for r in replicas)
    sets["or"]["textbook_tags"] = max(r.sets["or"].textbook_tags for r in replicas)
    sets["or"]["metadata"] = max(r.sets["or"].metadata for r in replicas)
    return {
        "operations": params["operations"],
        "increments": increments,
        "decrements": decrements,
        "adds": adds,
        "removes": removes,
        "truth": truth,
        "counters": counters,
        "sets": sets,
        "sec_witness": sec_witness,
        "messages": stats,
        "all_seen": all_seen_at is not None,
        "all_seen_after_heal_ms": None if all_seen_at is None else round(all_seen_at - settled_from, 1),
        "partition": {"cut_off": partition.cut_off, "start_ms": partition.start_ms, "end_ms": partition.end_ms}
        if partition.exists else None,
        "clock_offsets_ms": [round(o, 2) for o in offsets],
        "max_counter_error": counters["max"]["off_by"],
    }
