"""Replicas, quorums and partitions: the seeded simulation (plain Python, no Django).

Two parts, one seed:

1. **PBS** (Bailis et al., *Probabilistically Bounded Staleness for Practical
   Partial Quorums*, VLDB 2012). Each trial is one write then one read on a
   healthy network. Every replica i draws the four WARS delays: W_i (the write
   reaches it), A_i (its ack returns), R_i (the read request reaches it), S_i
   (its response returns). The write commits at the W-th fastest W_i + A_i;
   the coordinator keeps sending, so replica i holds the write from W_i on. A
   read starting t ms after the commit returns the first R responses (fastest
   R_i + S_i); it is consistent if one of those replicas had the write when
   the read request arrived: W_i <= commit + t + R_i. So each trial yields one
   number, tau = min over the read set of (W_i - commit - R_i), and the read
   is consistent for every t >= tau: the t-visibility curve is the empirical
   distribution of tau, exactly, from one write and one read per trial.
   The same trials give the static-quorum figure (the write stays on its W
   ackers: stale iff the R read set misses them, C(N-W, R) / C(N, R)) and the
   PACELC frontier (every R, W at once, on the same delays).

2. **Timeline**: clients read and write a few keys for a while, a partition
   cuts some replicas (and clients) off, strict or sloppy quorums with hinted
   handoff decide what the two sides may do, read repair and anti-entropy
   bring replicas together. An event-driven simulation with the same WARS
   delays per message. Versions are version vectors with one entry per
   coordinator (one per side); a replica keeps every version not dominated by
   another, so concurrent writes on the two sides surface as siblings, counted
   when the partition heals.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Callable

from .faults import MAJORITY, MINORITY, PartitionSchedule

Emit = Callable[[dict[str, Any]], None]

T_GRID_MS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
FRONTIER_TRIALS = 5_000  # trials reused for every (R, W) point of the PACELC frontier
TARGET_FRAMES = 100
STRICT, SLOPPY = "strict", "sloppy"
EXPONENTIAL = "exponential"
WAN_DC_DELAY_MS = 75.0


# --------------------------------------------------------------------------
# WARS delays
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    """One message leg's delay (ms): Pareto(xm, alpha) with probability p_pareto, else exponential(rate)."""

    rate: float
    p_pareto: float = 0.0
    xm: float = 0.0
    alpha: float = 1.0

    def sample(self, rng: random.Random) -> float:
        if self.p_pareto and rng.random() < self.p_pareto:
            return self.xm * rng.paretovariate(self.alpha)
        return rng.expovariate(self.rate)


@dataclass(frozen=True)
class Wars:
    w: Leg
    a: Leg
    r: Leg
    s: Leg
    wan: bool = False  # each replica in its own datacentre, 75 ms per leg to another one

    def sample(self, rng: random.Random, n: int) -> tuple[list[float], list[float], list[float], list[float]]:
        """One operation pair's delays per replica: (W, A, R, S) lists of length n."""
        ws = [self.w.sample(rng) for _ in range(n)]
        acks = [self.a.sample(rng) for _ in range(n)]
        rs = [self.r.sample(rng) for _ in range(n)]
        ss = [self.s.sample(rng) for _ in range(n)]
        if self.wan:
            write_dc, read_dc = rng.randrange(n), rng.randrange(n)
            for i in range(n):
                if i != write_dc:
                    ws[i] += WAN_DC_DELAY_MS
                    acks[i] += WAN_DC_DELAY_MS
                if i != read_dc:
                    rs[i] += WAN_DC_DELAY_MS
                    ss[i] += WAN_DC_DELAY_MS
        return ws, acks, rs, ss


# The paper's production fits (its Table 3), delays in ms.
LNKD_SSD_LEG = Leg(rate=1.66, p_pareto=0.9122, xm=0.235, alpha=10)
LNKD_DISK_W = Leg(rate=0.183, p_pareto=0.38, xm=1.05, alpha=1.51)
YMMR_W = Leg(rate=0.0028, p_pareto=0.939, xm=3, alpha=3.35)
YMMR_ARS = Leg(rate=0.0217, p_pareto=0.982, xm=1.5, alpha=3.8)
PRODUCTION = {
    "lnkd-ssd": Wars(LNKD_SSD_LEG, LNKD_SSD_LEG, LNKD_SSD_LEG, LNKD_SSD_LEG),
    "lnkd-disk": Wars(LNKD_DISK_W, LNKD_SSD_LEG, LNKD_SSD_LEG, LNKD_SSD_LEG),
    "ymmr": Wars(YMMR_W, YMMR_ARS, YMMR_ARS, YMMR_ARS),
    "wan": Wars(LNKD_DISK_W, LNKD_SSD_LEG, LNKD_SSD_LEG, LNKD_SSD_LEG, wan=True),
}


def wars_from_params(params: dict[str, Any]) -> Wars:
    if params["distribution"] == EXPONENTIAL:
        return Wars(Leg(params["w_rate"]), Leg(params["a_rate"]), Leg(params["r_rate"]), Leg(params["s_rate"]))
    return PRODUCTION[params["distribution"]]


def closed_form_p_stale(n: int, r: int, w: int) -> float:
    """Static quorums: the chance a read set of R misses a write set of W, out of N replicas."""
    return math.comb(n - w, r) / math.comb(n, r)


# --------------------------------------------------------------------------
# Part 1: PBS
# --------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..1)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def pbs(params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The PBS measures for N, R, W and the WARS delays, from `trials` write-then-read pairs."""
    n, r, w, trials = params["replicas"], params["read_quorum"], params["write_quorum"], params["trials"]
    wars = wars_from_params(params)
    taus: list[float] = []
    read_latency: list[float] = []
    write_latency: list[float] = []
    static_stale = 0
    frontier_trials = min(trials, FRONTIER_TRIALS)
    stale_rw = [[0] * (n + 1) for _ in range(n + 1)]  # [R][W]: stale at t = 0
    read_by_r: list[list[float]] = [[] for _ in range(n + 1)]
    write_by_w: list[list[float]] = [[] for _ in range(n + 1)]
    replicas = range(n)
    for trial in range(trials):
        ws, acks, rs, ss = wars.sample(rng, n)
        write_times = [ws[i] + acks[i] for i in replicas]
        read_times = [rs[i] + ss[i] for i in replicas]
        ack_order = sorted(replicas, key=write_times.__getitem__)
        read_order = sorted(replicas, key=read_times.__getitem__)
        commit = write_times[ack_order[w - 1]]
        read_set = read_order[:r]
        taus.append(min(ws[i] - rs[i] for i in read_set) - commit)
        read_latency.append(read_times[read_order[r - 1]])
        write_latency.append(commit)
        static_stale += not set(read_set) & set(ack_order[:w])
        if trial < frontier_trials:
            sorted_writes = [write_times[i] for i in ack_order]
            best = math.inf
            for rq in range(1, n + 1):
                i = read_order[rq - 1]
                best = min(best, ws[i] - rs[i])
                read_by_r[rq].append(read_times[i])
                row = stale_rw[rq]
                for wq in range(1, n + 1):
                    row[wq] += best > sorted_writes[wq - 1]
            for wq in range(1, n + 1):
                write_by_w[wq].append(sorted_writes[wq - 1])

    taus.sort()
    read_latency.sort()
    write_latency.sort()
    consistent_now = bisect_right(taus, 0) / trials
    frontier = []
    for rq in range(1, n + 1):
        read_by_r[rq].sort()
        for wq in range(1, n + 1):
            if rq == 1:
                write_by_w[wq].sort()
            frontier.append({
                "read_quorum": rq, "write_quorum": wq, "strict": rq + wq > n,
                "p_stale": round(stale_rw[rq][wq] / frontier_trials, 5),
                "p99_read_plus_write_ms": round(percentile(read_by_r[rq], 0.99) + percentile(write_by_w[wq], 0.99), 3),
            })
    return {
        "trials": trials,
        "t_visibility": [[t, round(bisect_right(taus, t) / trials, 5)] for t in T_GRID_MS],
        "t_visibility_curve": _curve(taus),
        # 95% confidence half-width of the t = 0 estimate, in percentage points.
        "t_visibility_margin_pp": round(196 * math.sqrt(consistent_now * (1 - consistent_now) / trials), 3),
        "t_999_ms": round(max(0.0, percentile(taus, 0.999)), 3),
        "p_consistent_at_commit": round(consistent_now, 5),
        "static_p_stale": round(static_stale / trials, 5),
        "closed_form_p_stale": round(closed_form_p_stale(n, r, w), 5),
        "read_latency_ms": _latencies(read_latency),
        "write_latency_ms": _latencies(write_latency),
        "frontier": frontier,
        "frontier_trials": frontier_trials,
    }


def _latencies(sorted_values: list[float]) -> dict[str, float]:
    return {name: round(percentile(sorted_values, q), 3) for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999))}


def _curve(sorted_taus: list[float], points: int = 60) -> list[list[float]]:
    """The t-visibility curve at log-spaced t, from 0 to where 99.99% of reads are consistent."""
    trials = len(sorted_taus)
    end = max(0.01, percentile(sorted_taus, 0.9999))
    ts = [0.0] + [0.01 * (end / 0.01) ** (k / (points - 1)) for k in range(points)] if end > 0.01 else [0.0, end]
    return [[round(t, 4), round(bisect_right(sorted_taus, t) / trials, 5)] for t in ts]


# --------------------------------------------------------------------------
# Part 2: the timeline with a partition
# --------------------------------------------------------------------------

Version = tuple[int, int]  # a version vector: writes coordinated on the majority side, on the minority side
Siblings = frozenset  # of Version: none dominates another
EMPTY: Siblings = frozenset()
COORDINATOR = {MAJORITY: 0, MINORITY: 1}

# Event kinds, in the order they run when they fall on the same instant: a
# version applied at t is visible to a read arriving at t.
APPLY, ACK, READ_ARRIVE, READ_RESPONSE, OP, ANTI_ENTROPY, HEAL, FRAME = range(8)


def dominates(a: Version, b: Version) -> bool:
    return a[0] >= b[0] and a[1] >= b[1]


def merge(a: Siblings, b: Siblings) -> Siblings:
    """Every version of either, minus those another one dominates."""
    if a == b or not b:
        return a
    if not a:
        return b
    both = a | b
    return frozenset(v for v in both if not any(u != v and dominates(u, v) for u in both))


def covers(siblings: Siblings, version: Version) -> bool:
    return any(dominates(s, version) for s in siblings)


def bump(context: Siblings, side: str) -> Version:
    """A new write's version: past everything in its context, one more on its coordinator's entry."""
    high = [max((v[k] for v in context), default=0) for k in (0, 1)]
    high[COORDINATOR[side]] += 1
    return (high[0], high[1])


@dataclass
class Operation:
    start: float
    kind: str  # "read" or "write"
    key: int
    side: str  # where its client sits while the partition lasts
    nodes: list[int]  # who it was sent to
    needed: int
    version: Version | None = None  # writes
    dc: int = -1  # WAN: the datacentre of its coordinator
    must_cover: Siblings = EMPTY  # reads: the writes committed before it started
    replies: int = 0
    result: Siblings = EMPTY  # reads: what the first R responses held
    responders: tuple[int, ...] = ()
    done: float | None = None
    stale: bool = False


class Timeline:
    """The event-driven simulation. Nodes 0..N-1 are the key's home replicas;
    node N + side*N + i is the stand-in on `side` for home replica i (hinted handoff)."""

    def __init__(self, params: dict[str, Any], schedule: PartitionSchedule, rng: random.Random):
        self.n = params["replicas"]
        self.r, self.w = params["read_quorum"], params["write_quorum"]
        self.sloppy = params["quorum_mode"] == SLOPPY
        self.read_repair = bool(params["read_repair"])
        self.anti_entropy_ms = params["anti_entropy_ms"]
        self.keys = params["keys"]
        self.interval = params["interval_ms"]
        self.operations = params["operations"]
        self.read_fraction = params["read_fraction"]
        self.wars = wars_from_params(params)
        self.schedule = schedule
        self.rng = rng
        self.state: list[dict[int, Siblings]] = [dict() for _ in range(3 * self.n)]
        self.committed: dict[int, Siblings] = {}
        self.issued: dict[tuple[str, int], Siblings] = {}  # what each coordinator wrote last, per key
        self.events: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.ops: list[Operation] = []
        self.dirty: set[int] = set()
        self.hints_handed_off = 0
        self.read_repairs = 0
        self.anti_entropy_repairs = 0
        self.conflicts_at_heal: dict[int, int] | None = None
        self.frame_ms = max(1.0, self.operations * self.interval / TARGET_FRAMES)
        self.frame_marks: list[tuple[float, int]] = []  # (t, keys with siblings)

    # -- plumbing --------------------------------------------------------------

    def push(self, t: float, kind: int, data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, kind, self.seq, data))

    def standin(self, side: str, replica: int) -> int:
        return self.n + COORDINATOR[side] * self.n + replica

    def targets(self, side: str, t: float) -> list[int]:
        """The nodes an operation from `side` is sent to: reachable home replicas, then stand-ins (sloppy)."""
        reachable = self.schedule.reachable_replicas(side, t)
        if not self.sloppy:
            return reachable
        return [i if i in reachable else self.standin(side, i) for i in range(self.n)]

    def home_of(self, node: int) -> int:
        return node if node < self.n else (node - self.n) % self.n

    def apply(self, node: int, key: int, siblings: Siblings) -> bool:
        before = self.state[node].get(key, EMPTY)
        after = merge(before, siblings)
        if after != before:
            self.state[node][key] = after
            self.dirty.add(key)
            return True
        return False

    def union(self, key: int, nodes: range | list[int]) -> Siblings:
        merged = EMPTY
        for node in nodes:
            merged = merge(merged, self.state[node].get(key, EMPTY))
        return merged

    def keys_with_siblings(self) -> dict[int, int]:
        everywhere = range(3 * self.n)
        found = {}
        for key in range(self.keys):
            versions = self.union(key, everywhere)
            if len(versions) > 1:
                found[key] = len(versions)
        return found

    # -- the run -------------------------------------------------------------------

    def run(self) -> None:
        schedule, rng = self.schedule, self.rng
        for k in range(self.operations):
            start = k * self.interval
            kind = "read" if rng.random() < self.read_fraction else "write"
            self.push(start, OP, (kind, rng.randrange(self.keys), schedule.client_side(rng)))
        end = self.operations * self.interval
        if schedule.has_partition:
            self.push(schedule.end_ms, HEAL, None)
        if self.anti_entropy_ms:
            t = float(self.anti_entropy_ms)
            while t <= max(end, schedule.end_ms) + 2 * self.anti_entropy_ms:
                self.push(t, ANTI_ENTROPY, None)
                t += self.anti_entropy_ms
        t = self.frame_ms
        while t <= end + 1e-9:
            self.push(t, FRAME, None)
            t += self.frame_ms
        while self.events:
            t, kind, _, data = heapq.heappop(self.events)
            if kind == OP:
                self.start_operation(t, *data)
            elif kind == APPLY:
                self.on_apply(t, *data)
            elif kind == ACK:
                self.on_ack(t, data)
            elif kind == READ_ARRIVE:
                self.on_read_arrive(t, *data)
            elif kind == READ_RESPONSE:
                self.on_read_response(t, *data)
            elif kind == ANTI_ENTROPY:
                self.on_anti_entropy(t)
            elif kind == HEAL:
                self.on_heal(t)
            else:
                self.frame_marks.append((t, len(self.keys_with_siblings())))

    def start_operation(self, t: float, kind: str, key: int, client_side: str) -> None:
        # Outside a partition every request goes through one coordinator; during one,
        # a client talks to a coordinator on its own side.
        side = client_side if self.schedule.partitioned(t) else MAJORITY
        nodes = self.targets(side, t)
        needed = self.w if kind == "write" else self.r
        op = Operation(start=t, kind=kind, key=key, side=client_side, nodes=nodes, needed=needed)
        self.ops.append(op)
        if len(nodes) < needed:
            return  # strict quorum: refused at once, nothing sent anywhere (op.done stays None)
        if self.wars.wan:
            op.dc = self.rng.choice(self.schedule.reachable_replicas(side, t))
        dc = op.dc
        if kind == "write":
            # Read-before-write context, as Dynamo's get then put: what the reachable nodes hold
            # and what this coordinator wrote itself.
            context = merge(self.union(key, nodes), self.issued.get((side, key), EMPTY))
            op.version = bump(context, side)
            self.issued[(side, key)] = frozenset([op.version])
            for node in nodes:
                delay_w = self.leg(self.wars.w, node, dc)
                self.push(t + delay_w, APPLY, (node, key, frozenset([op.version])))
                self.push(t + delay_w + self.leg(self.wars.a, node, dc), ACK, op)
        else:
            op.must_cover = self.committed.get(key, EMPTY)
            for node in nodes:
                self.push(t + self.leg(self.wars.r, node, dc), READ_ARRIVE, (op, node))

    def leg(self, leg: Leg, node: int, dc: int) -> float:
        delay = leg.sample(self.rng)
        if self.wars.wan and self.home_of(node) != dc:
            # Each replica in its own datacentre; the coordinator's is drawn per operation, on its side.
            delay += WAN_DC_DELAY_MS
        return delay

    def on_apply(self, t: float, node: int, key: int, siblings: Siblings) -> None:
        self.apply(node, key, siblings)
        if node >= self.n and not self.schedule.partitioned(t):
            self.hand_off(t, node)  # a write that reached a stand-in after the partition healed

    def on_ack(self, t: float, op: Operation) -> None:
        op.replies += 1
        if op.replies == op.needed:
            op.done = t
            self.committed[op.key] = merge(self.committed.get(op.key, EMPTY), frozenset([op.version]))

    def on_read_arrive(self, t: float, op: Operation, node: int) -> None:
        snapshot = self.state[node].get(op.key, EMPTY)
        self.push(t + self.leg(self.wars.s, node, op.dc), READ_RESPONSE, (op, node, snapshot))

    def on_read_response(self, t: float, op: Operation, node: int, snapshot: Siblings) -> None:
        if op.replies >= op.needed:
            return  # the coordinator already answered; late responses are ignored
        op.replies += 1
        op.result = merge(op.result, snapshot)
        op.responders += (node,)
        if op.replies < op.needed:
            return
        op.done = t
        op.stale = not all(covers(op.result, v) for v in op.must_cover)
        if self.read_repair:
            for responder in op.responders:
                if self.state[responder].get(op.key, EMPTY) != op.result:
                    self.read_repairs += 1
                    self.push(t + self.leg(self.wars.w, responder, op.dc), APPLY, (responder, op.key, op.result))

    def on_anti_entropy(self, t: float) -> None:
        """Replicas that can reach each other compare and exchange what differs (Merkle trees, in effect)."""
        if self.schedule.partitioned(t):
            groups = [self.schedule.reachable_replicas(MAJORITY, t), self.schedule.reachable_replicas(MINORITY, t)]
        else:
            groups = [list(range(self.n))]
        dirty, self.dirty = self.dirty, set()
        for key in sorted(dirty):
            for group in groups:
                merged = self.union(key, group)
                for node in group:
                    if self.state[node].get(key, EMPTY) != merged:
                        self.anti_entropy_repairs += 1
                        self.state[node][key] = merged
            if len(groups) > 1:
                self.dirty.add(key)  # still to be exchanged across the cut once it heals

    def on_heal(self, t: float) -> None:
        """The partition ends: count the versions the two sides will now find, and hand the hints over."""
        self.conflicts_at_heal = self.keys_with_siblings()
        for node in range(self.n, 3 * self.n):
            self.hand_off(t, node)
        self.dirty.update(range(self.keys))

    def hand_off(self, t: float, standin: int) -> None:
        home = self.home_of(standin)
        for key, siblings in sorted(self.state[standin].items()):
            self.hints_handed_off += 1
            self.push(t + self.wars.w.sample(self.rng), APPLY, (home, key, siblings))
        self.state[standin] = {}


def simulate_timeline(params: dict[str, Any], schedule: PartitionSchedule, rng: random.Random) -> Timeline:
    timeline = Timeline(params, schedule, rng)
    timeline.run()
    return timeline


def timeline_frames(timeline: Timeline) -> list[dict[str, Any]]:
    """One frame per bucket of operation start times: availability per side, staleness, latency."""
    width = timeline.frame_ms
    buckets = len(timeline.frame_marks) or 1
    stats = [{"tries": {MAJORITY: 0, MINORITY: 0}, "ok": {MAJORITY: 0, MINORITY: 0}, "reads": 0, "stale": 0,
              "read_ms": [], "write_ms": []} for _ in range(buckets)]
    schedule = timeline.schedule
    for op in timeline.ops:
        bucket = stats[min(buckets - 1, int(op.start // width))]
        side = op.side if schedule.partitioned(op.start) else MAJORITY
        bucket["tries"][side] += 1
        if op.done is None:
            continue
        bucket["ok"][side] += 1
        if op.kind == "read":
            bucket["reads"] += 1
            bucket["stale"] += op.stale
            bucket["read_ms"].append(op.done - op.start)
        else:
            bucket["write_ms"].append(op.done - op.start)
    frames = []
    for index, bucket in enumerate(stats):
        t = index * width
        reads, writes = sorted(bucket["read_ms"]), sorted(bucket["write_ms"])
        mark = timeline.frame_marks[index][1] if index < len(timeline.frame_marks) else 0
        frames.append({
            "t_ms": round(t, 3),
            "partitioned": schedule.partitioned(t + width / 2),
            "available_majority": _share(bucket["ok"][MAJORITY], bucket["tries"][MAJORITY]),
            "available_minority": _share(bucket["ok"][MINORITY], bucket["tries"][MINORITY]),
            "stale_read_rate": _share(bucket["stale"], bucket["reads"]),
            "read_p50_ms": round(percentile(reads, 0.5), 3) if reads else None,
            "read_p99_ms": round(percentile(reads, 0.99), 3) if reads else None,
            "write_p50_ms": round(percentile(writes, 0.5), 3) if writes else None,
            "write_p99_ms": round(percentile(writes, 0.99), 3) if writes else None,
            "keys_with_siblings": mark,
        })
    return frames


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def timeline_summary(timeline: Timeline) -> dict[str, Any]:
    ops = timeline.ops
    reads = [op for op in ops if op.kind == "read"]
    writes = [op for op in ops if op.kind == "write"]
    done_reads = [op for op in reads if op.done is not None]
    done_writes = [op for op in writes if op.done is not None]
    schedule = timeline.schedule
    during = [op for op in ops if schedule.partitioned(op.start)]
    by_side = {}
    for side in (MAJORITY, MINORITY):
        tried = [op for op in during if op.side == side]
        by_side[side] = {"tried": len(tried), "accepted": sum(op.done is not None for op in tried)}
    conflicts = timeline.conflicts_at_heal or {}
    home = range(timeline.n)
    behind = sum(
        1 for key in range(timeline.keys)
        if len({timeline.state[node].get(key, EMPTY) for node in home}) > 1
    )
    at_end = timeline.keys_with_siblings()
    read_ms = sorted(op.done - op.start for op in done_reads)
    write_ms = sorted(op.done - op.start for op in done_writes)
    return {
        "operations": len(ops),
        "reads": len(reads),
        "writes": len(writes),
        "reads_refused": len(reads) - len(done_reads),
        "writes_refused": len(writes) - len(done_writes),
        "stale_reads": sum(op.stale for op in done_reads),
        "stale_read_rate": round(sum(op.stale for op in done_reads) / len(done_reads), 5) if done_reads else 0.0,
        "partition_majority_tried": by_side[MAJORITY]["tried"],
        "partition_majority_accepted": by_side[MAJORITY]["accepted"],
        "partition_minority_tried": by_side[MINORITY]["tried"],
        "partition_minority_accepted": by_side[MINORITY]["accepted"],
        "keys_with_conflicts_at_heal": len(conflicts),
        "conflicting_versions": sum(conflicts.values()),
        "keys_with_siblings_at_end": len(at_end),
        "keys_replicas_disagree_at_end": behind,
        "hints_handed_off": timeline.hints_handed_off,
        "read_repairs": timeline.read_repairs,
        "anti_entropy_repairs": timeline.anti_entropy_repairs,
        "timeline_read_latency_ms": _latencies(read_ms),
        "timeline_write_latency_ms": _latencies(write_ms),
        "duration_ms": round(timeline.operations * timeline.interval, 3),
    }


def simulate(params: dict[str, Any], seed: int, emit: Emit, schedule: PartitionSchedule | None = None) -> dict[str, Any]:
    """Both parts for one seed; frames come from the timeline, the PBS figures go in the summary."""
    schedule = schedule or PartitionSchedule.from_params(params)
    summary = pbs(params, random.Random(f"quorums-pbs-{seed}"))
    timeline = simulate_timeline(params, schedule, random.Random(f"quorums-timeline-{seed}"))
    for frame in timeline_frames(timeline):
        emit(frame)
    summary.update(timeline_summary(timeline))
    summary.update({
        "engine": "simulation",
        "replicas": params["replicas"],
        "read_quorum": params["read_quorum"],
        "write_quorum": params["write_quorum"],
        "strict_overlap": params["read_quorum"] + params["write_quorum"] > params["replicas"],
        "quorum_mode": params["quorum_mode"],
        "distribution": params["distribution"],
        "simulated_operations": 2 * params["trials"] + params["operations"],
    })
    return summary
