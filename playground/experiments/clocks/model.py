"""Replicas with skewed clocks take concurrent read-modify-writes; four rules decide what survives.

Plain Python, no Django. One schedule of operations and message delays is
replayed under each rule, so the rules differ only in how they stamp and
resolve versions:

- wall-clock last-write-wins: the coordinating replica's physical clock, ties by replica;
- Lamport last-write-wins: a Lamport clock per replica, advanced by every replicated write it receives;
- HLC last-write-wins: Kulkarni et al.'s hybrid logical clock (l, c);
- version vectors with siblings: dotted version vectors (a version carries the dot
  that made it and the context it was written with), concurrent versions kept as siblings.

Whatever the rule, the ground truth is the same: a write's causal past is the
versions its client read, and theirs. A write is silently lost when it was
acknowledged and, after every replica has received every write, no replica
holds it nor any version whose causal past contains it: overwriting a version
you have read is an update, overwriting one you never saw is a loss.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from .faults import ClockSchedule, Operation, clock_schedule, workload

WALL, LAMPORT, HLC, VV = "wall", "lamport", "hlc", "vv"
RULES = [WALL, LAMPORT, HLC, VV]
LABELS = {
    WALL: "wall-clock LWW",
    LAMPORT: "Lamport LWW",
    HLC: "HLC LWW",
    VV: "version vectors, siblings kept",
}
MAX_REPLICAS = 7
FRAMES = 100
# The skew sweep drawn after a run: the same workload's first writes at each skew.
SWEEP_SKEWS_MS = (0, 10, 25, 50, 100, 250)
SWEEP_WRITES = 800

# Event kinds, in the order they run when they fall on the same millisecond.
READ, WRITE, DELIVER = 0, 1, 2


def events_of(operations: list[Operation]) -> list[tuple[float, int, int, int]]:
    """(time, kind, operation, replica) for every read, write and delivery, in the order they happen."""
    events = []
    for index, op in enumerate(operations):
        events.append((op.read_ms, READ, index, op.replica))
        events.append((op.write_ms, WRITE, index, op.replica))
        for target, delay in enumerate(op.delays_ms):
            if target != op.replica:
                events.append((op.write_ms + delay, DELIVER, index, target))
    events.sort()
    return events


@dataclass
class Outcome:
    """What one rule did with the schedule."""

    rule: str
    lost: list[int] = field(default_factory=list)  # operation indexes, in acknowledgement order
    violations: list[int] = field(default_factory=list)  # writes ordered before something in their causal past
    converged: bool = True
    final_versions: int = 0  # versions held per key after convergence, summed over keys
    keys_with_siblings_at_end: int = 0
    reads_with_siblings: int = 0
    sibling_keys_at: list[int] = field(default_factory=list)  # keys with siblings somewhere, at each frame time
    max_hlc_lead_ms: int = 0  # how far an HLC's l got ahead of its own node's clock
    hlc_lead_at: list[int] = field(default_factory=list)
    offset_spread_ms: float = 0.0  # the largest gap between two clocks' offsets seen at any event: ε
    witness: dict[str, Any] | None = None
    contexts: list[tuple[int, ...]] = field(default_factory=list)  # per operation: the versions its client read


def covers(context: tuple[int, ...], dot: tuple[int, int], other: tuple[int, int]) -> bool:
    """Does a dotted version (context, dot) have the version made by `other` in its causal past?"""
    return dot == other or context[other[0]] >= other[1]


def simulate(operations: list[Operation], clocks: ClockSchedule, rule: str,
             frame_times: list[float] | None = None) -> Outcome:
    """Replay the schedule under one rule; every replica receives every write, so the state at the end is converged.

    The ground truth is kept apart from every rule's own metadata: each write's causal past as a bitset of the
    writes to its key (by their order on that key), built only from what its client read.
    """
    n = clocks.replicas
    events = events_of(operations)
    outcome = Outcome(rule, contexts=[()] * len(operations))
    frame_times = frame_times or []
    next_frame = 0

    state: list[dict[int, Any]] = [{} for _ in range(n)]  # LWW: key -> version; VV: key -> tuple of siblings
    rank: list[tuple] = [()] * len(operations)  # LWW: the timestamp, compared as a tuple
    past_max: list[tuple] = [()] * len(operations)  # LWW: the largest timestamp in a write's causal past
    past = [0] * len(operations)  # ground truth: bit j set = the j-th write to this key is in the causal past
    ordinal = [0] * len(operations)
    written: dict[int, int] = {}  # key -> writes to it so far
    # Dotted version vectors: the dot (replica, n-th write it coordinated on the key) and the context read.
    dots: list[tuple[int, int]] = [(0, 0)] * len(operations)
    contexts_vv: list[tuple[int, ...]] = [()] * len(operations)
    shipped: list[tuple[int, ...]] = [()] * len(operations)  # VV: the coordinator's siblings, sent as its state
    context: dict[int, tuple[int, ...]] = {}  # read results, until the write that uses them
    counters: dict[tuple[int, int], int] = {}
    lamport = [0] * n
    # No time of day before a node's first event: a clock set to 0 would sit ahead of one that reads negative.
    hlc = [(-(1 << 62), 0)] * n
    sibling_replicas: dict[int, int] = {}  # key -> replicas where it has siblings now
    lowest_offset, highest_offset = float("inf"), float("-inf")

    def hlc_lead(replica: int, t: float) -> None:
        lead = hlc[replica][0] - clocks.physical(replica, t)
        if lead > outcome.max_hlc_lead_ms:
            outcome.max_hlc_lead_ms = lead

    def apply_lww(replica: int, key: int, version: int) -> None:
        held = state[replica].get(key)
        if held is None or rank[version] > rank[held]:
            state[replica][key] = version

    def apply_vv(replica: int, key: int, version: int) -> None:
        siblings = state[replica].get(key, ())
        dot = dots[version]
        if any(covers(contexts_vv[s], dots[s], dot) for s in siblings):
            return  # already here, or a version here has it in its past
        before = len(siblings) > 1
        kept = tuple(s for s in siblings if not covers(contexts_vv[version], dot, dots[s])) + (version,)
        state[replica][key] = kept
        after = len(kept) > 1
        if after != before:
            sibling_replicas[key] = sibling_replicas.get(key, 0) + (1 if after else -1)
            if not sibling_replicas[key]:
                del sibling_replicas[key]

    for t, kind, index, replica in events:
        while next_frame < len(frame_times) and frame_times[next_frame] <= t:
            outcome.sibling_keys_at.append(len(sibling_replicas))
            outcome.hlc_lead_at.append(outcome.max_hlc_lead_ms)
            next_frame += 1
        offset = clocks.offset(replica, t)
        lowest_offset, highest_offset = min(lowest_offset, offset), max(highest_offset, offset)
        key = operations[index].key
        if kind == READ:
            held = state[replica].get(key)
            if rule == VV:
                read = held or ()
                if len(read) > 1:
                    outcome.reads_with_siblings += 1
            else:
                read = (held,) if held is not None else ()
            context[index] = read
            continue

        if kind == WRITE:
            read = context.pop(index)
            outcome.contexts[index] = read
            ordinal[index] = written.get(key, 0)
            written[key] = ordinal[index] + 1
            history = 1 << ordinal[index]
            for cause in read:
                history |= past[cause]
            past[index] = history
            if rule == VV:
                number = counters.get((replica, key), 0) + 1
                counters[(replica, key)] = number
                dots[index] = (replica, number)
                vector = [0] * n
                for cause in read:
                    cause_context, (origin, count) = contexts_vv[cause], dots[cause]
                    vector = [max(a, b) for a, b in zip(vector, cause_context)]
                    vector[origin] = max(vector[origin], count)
                contexts_vv[index] = tuple(vector)
                if not all(covers(contexts_vv[index], dots[index], dots[cause]) for cause in read):
                    outcome.violations.append(index)
                apply_vv(replica, key, index)
                shipped[index] = state[replica][key]
                continue
            if rule == WALL:
                # Ties on the same millisecond and replica go to the later write, so every replica picks alike.
                stamp: tuple = (clocks.physical(replica, t), replica, index)
            elif rule == LAMPORT:
                lamport[replica] += 1
                stamp = (lamport[replica], replica)
            else:
                l_old, c_old = hlc[replica]
                l_new = max(l_old, clocks.physical(replica, t))
                hlc[replica] = (l_new, c_old + 1 if l_new == l_old else 0)
                stamp = (*hlc[replica], replica)
                hlc_lead(replica, t)
            rank[index] = stamp
            inherited = max((max(rank[c], past_max[c]) for c in read), default=())
            past_max[index] = inherited
            if inherited and stamp < inherited:
                outcome.violations.append(index)
                if outcome.witness is None:
                    outcome.witness = _witness(operations, clocks, read[0], index, rank)
            apply_lww(replica, key, index)
            continue

        # DELIVER: the replicated write reaches another replica, which is a receive event for its clock.
        if rule == VV:
            for version in shipped[index]:
                apply_vv(replica, key, version)
            continue
        if rule == LAMPORT:
            lamport[replica] = max(lamport[replica], rank[index][0]) + 1
        elif rule == HLC:
            l_old, c_old = hlc[replica]
            l_msg, c_msg = rank[index][0], rank[index][1]
            l_new = max(l_old, l_msg, clocks.physical(replica, t))
            if l_new == l_old == l_msg:
                c_new = max(c_old, c_msg) + 1
            elif l_new == l_old:
                c_new = c_old + 1
            elif l_new == l_msg:
                c_new = c_msg + 1
            else:
                c_new = 0
            hlc[replica] = (l_new, c_new)
            hlc_lead(replica, t)
        apply_lww(replica, key, index)

    while next_frame < len(frame_times):
        outcome.sibling_keys_at.append(len(sibling_replicas))
        outcome.hlc_lead_at.append(outcome.max_hlc_lead_ms)
        next_frame += 1
    outcome.offset_spread_ms = round(highest_offset - lowest_offset, 3) if events else 0.0

    # Every replica has received every write: compare them, then judge each write against what survived.
    def normal(held: Any) -> Any:
        return frozenset(held) if rule == VV else held

    final = {key: normal(held) for key, held in state[0].items()}
    outcome.converged = all({key: normal(held) for key, held in other.items()} == final for other in state[1:])
    for index, op in enumerate(operations):
        held = final.get(op.key)
        survivors = (held if rule == VV else (held,)) if held is not None else ()
        if not any(past[s] >> ordinal[index] & 1 for s in survivors):
            outcome.lost.append(index)
    for held in final.values():
        versions = len(held) if rule == VV else 1
        outcome.final_versions += versions
        outcome.keys_with_siblings_at_end += versions > 1
    return outcome


def _witness(operations: list[Operation], clocks: ClockSchedule, cause: int, effect: int, rank: list[tuple]) -> dict:
    """The first causality violation, told as the lesson tells it: who wrote what, by which clock."""
    first, second = operations[cause], operations[effect]
    return {
        "key": second.key,
        "cause": cause + 1, "cause_replica": first.replica, "cause_ms": round(first.write_ms, 1),
        "cause_stamp": rank[cause][0], "cause_offset_ms": round(clocks.offset(first.replica, first.write_ms), 1),
        "arrival_ms": round(first.write_ms + first.delays_ms[second.replica], 1),
        "effect": effect + 1, "effect_replica": second.replica, "read_ms": round(second.read_ms, 1),
        "effect_ms": round(second.write_ms, 1), "effect_stamp": rank[effect][0],
        "effect_offset_ms": round(clocks.offset(second.replica, second.write_ms), 1),
    }


def build(params: dict[str, Any], seed: int, *, skew_ms: float | None = None,
          writes: int | None = None) -> tuple[list[Operation], ClockSchedule]:
    """The run's workload and clocks; the sweep takes the same workload's first writes at another skew."""
    operations = workload(
        writes=params["writes"] if writes is None else writes, keys=params["keys"], replicas=params["replicas"],
        interval_ms=params["interval_ms"], think_ms=params["think_ms"], replication_ms=params["replication_ms"],
        rng=random.Random(f"clocks:{seed}:workload"),
    )
    span = operations[-1].write_ms if operations else 0.0
    clocks = clock_schedule(
        replicas=params["replicas"], skew_ms=params["skew_ms"] if skew_ms is None else skew_ms,
        drift_ppm=params["drift_ppm"], step_back_ms=params["step_back_ms"], step_at_ms=span / 2,
        rng=random.Random(f"clocks:{seed}:clocks"),
    )
    return operations, clocks


def sweep(params: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    writes = min(params["writes"], SWEEP_WRITES)
    rows = []
    for skew in SWEEP_SKEWS_MS:
        operations, clocks = build(params, seed, skew_ms=skew, writes=writes)
        lost = {rule: len(simulate(operations, clocks, rule).lost) for rule in RULES}
        rows.append({"skew_ms": skew, "writes": writes, "lost": lost,
                     "lost_pct": {rule: round(100 * lost[rule] / writes, 2) for rule in RULES}})
    return rows


def run_model(params: dict[str, Any], seed: int, emit: Callable[[dict], None]) -> dict[str, Any]:
    operations, clocks = build(params, seed)
    end = max(op.write_ms + max(op.delays_ms) for op in operations)
    frame_times = [end * (i + 1) / FRAMES for i in range(FRAMES)]
    outcomes = {rule: simulate(operations, clocks, rule, frame_times) for rule in RULES}

    acked_at = sorted(op.write_ms for op in operations)
    lost_at = {rule: sorted(operations[i].write_ms for i in o.lost) for rule, o in outcomes.items()}
    violated_at = {rule: sorted(operations[i].write_ms for i in o.violations) for rule, o in outcomes.items()}
    cursors = {name: 0 for name in ["acked", *[f"lost_{r}" for r in RULES], *[f"violations_{r}" for r in RULES]]}
    series = {"acked": acked_at, **{f"lost_{r}": lost_at[r] for r in RULES}, **{f"violations_{r}": violated_at[r] for r in RULES}}
    hlc, vv = outcomes[HLC], outcomes[VV]
    lowest = min(clocks.offset(r, 0.0) for r in range(clocks.replicas))
    highest = max(clocks.offset(r, 0.0) for r in range(clocks.replicas))
    for number, t in enumerate(frame_times):
        for name, times in series.items():
            while cursors[name] < len(times) and times[cursors[name]] <= t:
                cursors[name] += 1
        frame = {"t_ms": round(t, 1), **{name: cursors[name] for name in series}}
        for replica in range(MAX_REPLICAS):
            frame[f"offset_{replica}"] = round(clocks.offset(replica, t), 2) if replica < clocks.replicas else None
        frame["hlc_lead_ms"] = hlc.hlc_lead_at[number]
        # ε so far: the widest gap between any two clock readings' offsets up to now, a step included.
        lowest = min(lowest, *(clocks.offset(r, t) for r in range(clocks.replicas)))
        highest = max(highest, *(clocks.offset(r, t) for r in range(clocks.replicas)))
        frame["skew_bound_ms"] = round(highest - lowest, 2)
        frame["sibling_keys"] = vv.sibling_keys_at[number]
        emit(frame)

    wall = outcomes[WALL]
    wall_violations = set(wall.violations)
    return {
        "writes": len(operations),
        "span_ms": round(end, 1),
        "lost": {rule: len(o.lost) for rule, o in outcomes.items()},
        "lost_pct": {rule: round(100 * len(o.lost) / len(operations), 2) for rule, o in outcomes.items()},
        "violations": {rule: len(o.violations) for rule, o in outcomes.items()},
        "converged": {rule: o.converged for rule, o in outcomes.items()},
        "lost_wall_causal": sum(1 for i in wall.lost if i in wall_violations),
        "lost_wall": len(wall.lost),
        "reads_with_siblings": vv.reads_with_siblings,
        "keys_with_siblings_at_end": vv.keys_with_siblings_at_end,
        "keys_written": len({op.key for op in operations}),
        "max_hlc_lead_ms": hlc.max_hlc_lead_ms,
        "offset_spread_ms": hlc.offset_spread_ms,
        "offsets_ms": [round(clocks.offset(r, 0.0), 2) for r in range(clocks.replicas)],
        "witness": wall.witness,
        "sweep": sweep(params, seed),
    }
