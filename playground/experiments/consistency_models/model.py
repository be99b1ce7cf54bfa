"""Consistency models: a primary, lagging replicas, and the anomalies each guarantee removes.

A primary commits every write and ships it to each replica with its own lag
(drawn per write and per replica, plus a lag spike you schedule; faults.py).
Each key replicates in order on its own stream, as a partition does, so a
replica always holds a prefix of each key's writes but keys drift apart.
Clients in sessions read through a load balancer that picks a replica at random;
writes go to the primary. Clients are open loop: each operation is issued at a
time drawn before the run, whatever earlier ones are still waiting for, like
several browser tabs.

Every anomaly has its classic scene, one kind of data each (Kleppmann's
figures, Terry's session guarantees), and each guarantee is the mechanism the
lesson prescribes for that scene:

| anomaly | scene | guarantee |
| --- | --- | --- |
| read your writes | you edit your profile, then view it | the session's last write position; a replica behind it sends you to the primary |
| monotonic reads | you re-read a comment thread others post to | the highest version you have seen; same redirect |
| monotonic writes | you add an item to your cart, then remove it, 1 ms apart | session sequence numbers; the primary holds a write until the one before it committed |
| consistent prefix | you read a question and its answer, on two partitions | a snapshot read at the replica's closed timestamp |
| bounded staleness | you read a dashboard updated many times a second | a replica missing a write older than k ms sends you to the primary |
| linearizable | stock registers many clients read and write | leader reads, or quorum reads (and writes acknowledged by a majority) |

Why one scene each: a read served fresher for one guarantee (by waiting or by
going to the primary) is fresher for every other condition it happened to
break as well, so if all guarantees acted on all reads, switching one on would
quietly remove some of another's anomalies (a leader read gives them all at
once). With each guarantee on its own data, the counts are exactly separable:
for any schedule, switching guarantee G on sets G's count to zero and leaves
every other count exactly as it was. The tests check that, and this is how
each anomaly is defined, so that it holds:

- read your writes: a profile read returns an older version than the
  session's newest profile write acknowledged before the read was called.
- monotonic reads: a thread read returns an older version than a read of the
  same thread by the same session that returned before this one was called.
- monotonic writes: a cart write committed after a cart write the same session
  issued later ("remove" before "add": the item comes back).
- consistent prefix: a conversation read returns a question and an answer that
  were never the state at any one moment (answer 5 without question 5).
- bounded staleness: a dashboard read misses a write committed more than k ms
  before the moment it was served.
- linearizable: a stock read returns an older version than some operation on
  the same key (a write acknowledged or a read returned) that completed before
  it was called. The checker (checker.py) judges the whole stock history.

Each guarantee also shows its price: the latency of the operations it guards,
beside what the same operations would have cost without it.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left, bisect_right
from itertools import accumulate
from math import log
from dataclasses import dataclass, field
from typing import Any, Callable

from . import checker
from .faults import FaultSchedule, LagSpike

RYW = "read_your_writes"
MR = "monotonic_reads"
MW = "monotonic_writes"
CP = "consistent_prefix"
BS = "bounded_staleness"
LIN = "linearizable"
KINDS = (RYW, MR, MW, CP, BS, LIN)
# What a learner sees go wrong, per kind, for the verdict.
ANOMALY_LABELS = {
    RYW: "Read your writes: your own edit missing",
    MR: "Monotonic reads: a thread went back in time",
    MW: "Monotonic writes: cart writes applied out of order",
    CP: "Consistent prefix: an answer without its question",
    BS: "Bounded staleness: a dashboard older than k ms",
    LIN: "Linearizable: a stock read older than a finished operation",
}
KIND_LABELS = {
    RYW: "read your writes", MR: "monotonic reads", MW: "monotonic writes",
    CP: "consistent prefix", BS: "bounded staleness", LIN: "linearizable",
}

LIN_OFF = "off"
LIN_LEADER = "leader"
LIN_QUORUM = "quorum"

# Scenes: which data an operation touches, and which anomaly it can show.
PROFILE, THREAD, CART, CONVERSATION, DASHBOARD, STOCK = "profile", "thread", "cart", "conversation", "dashboard", "stock"
SCENE_OF = {RYW: PROFILE, MR: THREAD, MW: CART, CP: CONVERSATION, BS: DASHBOARD, LIN: STOCK}
KIND_OF = {scene: kind for kind, scene in SCENE_OF.items()}
# (scene, is_write) and how often each comes up, out of 100 operations drawn.
MIX = [
    ((PROFILE, True), 5), ((PROFILE, False), 10), ((THREAD, True), 8), ((THREAD, False), 12),
    ((CART, True), 8), ((CONVERSATION, True), 8), ((CONVERSATION, False), 10),
    ((DASHBOARD, True), 8), ((DASHBOARD, False), 10), ((STOCK, True), 8), ((STOCK, False), 13),
]
THREADS = 3
CONVERSATIONS = 3
STOCK_KEYS = 4
ARRIVAL_MEAN_MS = 1.0  # operations arrive at about one per millisecond
REPLICA_ONE_WAY_MS = 0.5  # the replicas sit next to the clients
JITTER_MEAN_MS = 1.0  # every message also waits an exponential jitter
CART_GAP_MS = 1.0  # "add" then "remove", this far apart
TARGET_FRAMES = 150
DIAGRAM_SESSIONS = 3
DIAGRAM_OPS = 40

PRIMARY = -1  # node index of the primary; replicas are 0..replicas-1
OUTSIDE_WRITERS = {THREAD: "the public", CONVERSATION: "Q&A writers", DASHBOARD: "metrics", STOCK: "warehouse"}


@dataclass(slots=True)
class Operation:
    id: int
    client: str  # "session 3", or an outside writer
    session: int  # -1 for an outside writer
    scene: str
    key: str
    is_write: bool
    call_ms: float
    out: dict[int, float]  # node -> one-way delay there
    back: dict[int, float]  # node -> one-way delay back
    replica: int = 0  # the load balancer's pick, for reads
    lags: list[float] = field(default_factory=list)  # per replica, for writes
    seq: int = 0  # a cart write's number within its session
    # Filled in by the simulation:
    commit_ms: float = 0.0
    version: int = 0  # a write's position in its key's stream, or what a read returned
    versions: tuple[int, int] = (0, 0)  # a conversation read: (question, answer)
    ret_ms: float = 0.0
    base_ret_ms: float = 0.0  # when it would have returned with its guarantee off
    served: list[tuple[int, float, float]] = field(default_factory=list)  # (node, arrived, answered)
    anomaly: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        return self.ret_ms - self.call_ms


def _delay(rng: random.Random, base: float) -> float:
    return base - JITTER_MEAN_MS * log(1.0 - rng.random())  # expovariate, without its call overhead


def draw_workload(params: dict[str, Any], rng: random.Random, faults: FaultSchedule) -> list[Operation]:
    """Every operation with its timing and network delays, decided before any guarantee acts."""
    sessions = params["sessions"]
    replicas = params["replicas"]
    distance = params["primary_distance_ms"]
    scenes = [scene for scene, _ in MIX]
    cumulative = list(accumulate(weight for _, weight in MIX))
    total = cumulative[-1]
    everyone = [PRIMARY, *range(replicas)]
    ops: list[Operation] = []
    cart_seq = [0] * sessions
    chain: dict[str, list] = {}  # conversation -> [writes posted, commit time of the last]
    t = 0.0
    while len(ops) < params["operations"]:
        t -= ARRIVAL_MEAN_MS * log(1.0 - rng.random())
        scene, is_write = scenes[bisect_right(cumulative, rng.random() * total)]
        session = rng.randrange(sessions)
        replica = rng.randrange(replicas)
        outside = is_write and (scene in (THREAD, CONVERSATION, DASHBOARD) or scene == STOCK and rng.random() < 0.5)
        if scene == PROFILE or scene == CART:
            key = f"{scene} {session + 1}"
        elif scene == THREAD:
            key = f"thread {rng.randrange(THREADS) + 1}"
        elif scene == CONVERSATION:
            key = f"conversation {rng.randrange(CONVERSATIONS) + 1}"
        elif scene == STOCK:
            key = f"sku {rng.randrange(STOCK_KEYS) + 1}"
        else:
            key = "dashboard"
        client = OUTSIDE_WRITERS[scene] if outside else f"session {session + 1}"
        # Only the messages this kind of operation can send: writes go to the primary; a read goes
        # to its replica, perhaps on to the primary; a stock read may ask every node (quorum mode).
        nodes = everyone if scene == STOCK and not is_write else [PRIMARY] if is_write else [PRIMARY, replica]
        for repeat in range(2 if scene == CART else 1):
            out = {node: _delay(rng, distance if node == PRIMARY else REPLICA_ONE_WAY_MS) for node in nodes}
            back = {node: _delay(rng, distance if node == PRIMARY else REPLICA_ONE_WAY_MS) for node in nodes}
            call = t + repeat * CART_GAP_MS
            if scene == CONVERSATION and is_write:
                # Questions and answers alternate, each posted once the one before it has committed.
                posted = chain.setdefault(key, [0, 0.0])
                key = f"{key} {'answer' if posted[0] % 2 else 'question'}"
                call = max(call, posted[1] + 0.1)
                posted[0] += 1
                posted[1] = call + out[PRIMARY]
            op = Operation(
                id=len(ops), client=client, session=-1 if outside else session, scene=scene, key=key,
                is_write=is_write, call_ms=call, out=out, back=back, replica=replica,
                lags=faults.draw_lags(rng, replicas) if is_write else [],
            )
            ops.append(op)
    ops = ops[: params["operations"]]
    # A session's cart writes are numbered in the order it sends them.
    for op in sorted((op for op in ops if op.scene == CART), key=lambda op: (op.call_ms, op.id)):
        op.seq = cart_seq[op.session]
        cart_seq[op.session] += 1
    return ops


@dataclass
class Streams:
    """Each key's commit times at the primary and apply times at each replica, in version order."""

    commits: dict[str, list[float]] = field(default_factory=dict)
    applies: dict[str, list[list[float]]] = field(default_factory=dict)
    writes: dict[str, list[Operation]] = field(default_factory=dict)
    majorities: dict[tuple[str, int], float] = field(default_factory=dict)

    def at(self, node: int, key: str, t_ms: float) -> int:
        """The version of `key` that `node` holds at t_ms (0: none of its writes yet)."""
        times = self.commits.get(key, []) if node == PRIMARY else self.applies.get(key, [[]] * (node + 1))[node]
        return bisect_right(times, t_ms)

    def first_unapplied(self, replica: int, key: str, t_ms: float) -> float:
        """The commit time of the oldest write this replica has not applied at t_ms (inf if none)."""
        held = self.at(replica, key, t_ms)
        commits = self.commits.get(key, [])
        return commits[held] if held < len(commits) else float("inf")

    def majority_ms(self, key: str, version: int, majority: int) -> float:
        """When `version` of `key` was first held by a majority of the nodes (the primary counts)."""
        if version == 0:
            return 0.0
        cached = self.majorities.get((key, version))
        if cached is None:
            times = sorted([self.commits[key][version - 1], *(node[version - 1] for node in self.applies[key])])
            cached = self.majorities[(key, version)] = times[majority - 1]
        return cached


def _replicate(ops: list[Operation], params: dict[str, Any], faults: FaultSchedule) -> Streams:
    """Commit every write at the primary, then ship each key's stream to every replica in order."""
    streams = Streams()
    last_cart_commit: dict[int, float] = {}
    for op in sorted((op for op in ops if op.is_write), key=lambda op: (op.call_ms, op.id)):
        op.commit_ms = op.call_ms + op.out[PRIMARY]
        if op.scene == CART and params[MW]:
            # Session sequence numbers: a write waits at the primary for its predecessor.
            op.commit_ms = max(op.commit_ms, last_cart_commit.get(op.session, -1.0) + 0.001)
            last_cart_commit[op.session] = op.commit_ms
    for op in sorted((op for op in ops if op.is_write), key=lambda op: (op.commit_ms, op.id)):
        streams.writes.setdefault(op.key, []).append(op)
        streams.commits.setdefault(op.key, []).append(op.commit_ms)
        op.version = len(streams.commits[op.key])
        if op.scene == CART:
            continue  # nobody reads a cart during the run: only the order it lands in matters
        applies = streams.applies.setdefault(op.key, [[] for _ in range(params["replicas"])])
        for replica, lag in enumerate(op.lags):
            previous = applies[replica][-1] if applies[replica] else 0.0
            applies[replica].append(faults.apply_ms(replica, op.commit_ms, lag, previous))
    return streams


def _majority(params: dict[str, Any]) -> int:
    return (params["replicas"] + 1) // 2 + 1


def _ack_writes(ops: list[Operation], params: dict[str, Any], streams: Streams) -> None:
    quorum = params[LIN] == LIN_QUORUM
    for op in ops:
        if not op.is_write:
            continue
        op.base_ret_ms = op.call_ms + op.out[PRIMARY] + op.back[PRIMARY]
        if op.scene == STOCK and quorum:
            # Acknowledged only once a majority holds it, so every read quorum meets it.
            op.ret_ms = streams.majority_ms(op.key, op.version, _majority(params)) + op.back[PRIMARY]
        else:
            op.ret_ms = op.commit_ms + op.back[PRIMARY]
        op.served = [(PRIMARY, op.commit_ms, op.commit_ms)]


def _replica_read(op: Operation, streams: Streams) -> tuple[float, int]:
    arrived = op.call_ms + op.out[op.replica]
    op.base_ret_ms = arrived + op.back[op.replica]
    return arrived, streams.at(op.replica, op.key, arrived)


def _serve(op: Operation, streams: Streams, arrived: float, version: int, fresh_enough: bool) -> None:
    """Answer from the replica, or, when it is not fresh enough, send the client on to the primary."""
    if fresh_enough:
        op.version = version
        op.ret_ms = op.base_ret_ms
        op.served = [(op.replica, arrived, arrived)]
        return
    at_primary = op.base_ret_ms + op.out[PRIMARY]
    op.version = streams.at(PRIMARY, op.key, at_primary)
    op.ret_ms = at_primary + op.back[PRIMARY]
    op.served = [(op.replica, arrived, arrived), (PRIMARY, at_primary, at_primary)]
    op.evidence["redirected"] = True


def _read_profile(op: Operation, streams: Streams, params: dict[str, Any], acked: dict[str, tuple[list[float], list[int]]]) -> None:
    arrived, version = _replica_read(op, streams)
    rets, best = acked.get(op.key, ([], []))
    i = bisect_left(rets, op.call_ms)
    token = best[i - 1] if i else 0
    _serve(op, streams, arrived, version, not params[RYW] or version >= token)
    if op.version < token:
        op.anomaly = RYW
        op.evidence.update(expected=token, acked_ms=round(rets[i - 1], 1))


def _read_thread(op: Operation, streams: Streams, params: dict[str, Any], seen: dict[tuple[int, str], list]) -> None:
    arrived, version = _replica_read(op, streams)
    pending, best = seen.setdefault((op.session, op.key), [[], 0])
    while pending and pending[0][0] < op.call_ms:
        best = max(best, heapq.heappop(pending)[1])
    seen[(op.session, op.key)][1] = best
    _serve(op, streams, arrived, version, not params[MR] or version >= best)
    heapq.heappush(pending, (op.ret_ms, op.version))
    if op.version < best:
        op.anomaly = MR
        op.evidence.update(expected=best)


def _read_dashboard(op: Operation, streams: Streams, params: dict[str, Any]) -> None:
    arrived, version = _replica_read(op, streams)
    bound = params["staleness_bound_ms"]
    _serve(op, streams, arrived, version, not params[BS] or streams.first_unapplied(op.replica, op.key, arrived) > arrived - bound)
    served_at = op.served[-1][1]
    due = bisect_right(streams.commits.get(op.key, []), served_at - bound)
    if op.version < due:
        op.anomaly = BS
        op.evidence.update(expected=due, age_ms=round(served_at - streams.commits[op.key][op.version], 1))


def _read_conversation(op: Operation, streams: Streams, params: dict[str, Any]) -> None:
    arrived = op.call_ms + op.out[op.replica]
    question, answer = f"{op.key} question", f"{op.key} answer"
    if params[CP]:
        # A snapshot at the closed timestamp: everything committed before it is applied on both keys.
        closed = min(arrived, streams.first_unapplied(op.replica, question, arrived), streams.first_unapplied(op.replica, answer, arrived))
        x = bisect_left(streams.commits.get(question, []), closed)
        y = bisect_left(streams.commits.get(answer, []), closed)
    else:
        x, y = streams.at(op.replica, question, arrived), streams.at(op.replica, answer, arrived)
    op.versions = (x, y)
    op.version = x
    op.ret_ms = op.base_ret_ms = arrived + op.back[op.replica]
    op.served = [(op.replica, arrived, arrived)]
    if y not in (x, x - 1):  # questions and answers alternate, so every real moment had y = x or x - 1
        op.anomaly = CP


def _read_stock(op: Operation, streams: Streams, params: dict[str, Any]) -> None:
    arrived, version = _replica_read(op, streams)
    mode = params[LIN]
    if mode == LIN_OFF:
        op.version, op.ret_ms = version, op.base_ret_ms
        op.served = [(op.replica, arrived, arrived)]
    elif mode == LIN_LEADER:
        at_primary = op.call_ms + op.out[PRIMARY]
        op.version = streams.at(PRIMARY, op.key, at_primary)
        op.ret_ms = at_primary + op.back[PRIMARY]
        op.served = [(PRIMARY, at_primary, at_primary)]
    else:
        # Ask every node, take the newest of the first majority to answer; if that version is
        # still on a minority (a write in flight), wait until a majority holds it, as ABD's
        # write-back would make sure: no later read can then return anything older.
        majority = _majority(params)
        answers = sorted((op.call_ms + op.out[node] + op.back[node], node) for node in op.out)[:majority]
        op.version = max(streams.at(node, op.key, op.call_ms + op.out[node]) for _, node in answers)
        settled = streams.majority_ms(op.key, op.version, majority) + op.back[PRIMARY]
        op.ret_ms = max(answers[-1][0], settled)
        op.served = [(node, op.call_ms + op.out[node], op.call_ms + op.out[node]) for _, node in answers]


def _grouped(ops: list[Operation], scene: str, by: Callable[[Operation], Any]) -> list[list[Operation]]:
    groups: dict[Any, list[Operation]] = {}
    for op in ops:
        if op.scene == scene:
            groups.setdefault(by(op), []).append(op)
    return list(groups.values())


def _stale_stock_reads(ops: list[Operation]) -> None:
    """Flag reads older than an operation on their key that completed before they were called."""
    for key_ops in _grouped(ops, STOCK, lambda op: op.key):
        done = sorted(key_ops, key=lambda op: op.ret_ms)
        rets = [op.ret_ms for op in done]
        newest: list[tuple[int, int]] = []  # running max of (version, op id) by return time
        for op in done:
            newest.append(max(newest[-1], (op.version, op.id)) if newest else (op.version, op.id))
        for op in key_ops:
            if op.is_write:
                continue
            i = bisect_left(rets, op.call_ms)
            if i and newest[i - 1][0] > op.version:
                op.anomaly = LIN
                op.evidence.update(expected=newest[i - 1][0])


def _out_of_order_cart_writes(ops: list[Operation]) -> None:
    for writes in _grouped(ops, CART, lambda op: op.session):
        earliest_later = float("inf")
        for op in sorted(writes, key=lambda op: op.seq, reverse=True):
            if earliest_later < op.commit_ms:
                op.anomaly = MW
            earliest_later = min(earliest_later, op.commit_ms)


def simulate(params: dict[str, Any], ops: list[Operation], faults: FaultSchedule) -> tuple[list[Operation], Streams]:
    """Play the workload under the chosen guarantees; every operation gets its result and any anomaly."""
    streams = _replicate(ops, params, faults)
    _ack_writes(ops, params, streams)
    acked: dict[str, tuple[list[float], list[int]]] = {}
    for key, writes in streams.writes.items():
        if writes[0].scene == PROFILE:
            done = sorted(writes, key=lambda op: op.ret_ms)
            best, versions = 0, []
            for op in done:
                best = max(best, op.version)
                versions.append(best)
            acked[key] = ([op.ret_ms for op in done], versions)
    seen: dict[tuple[int, str], list] = {}
    for op in sorted((op for op in ops if not op.is_write), key=lambda op: (op.call_ms, op.id)):
        if op.scene == PROFILE:
            _read_profile(op, streams, params, acked)
        elif op.scene == THREAD:
            _read_thread(op, streams, params, seen)
        elif op.scene == DASHBOARD:
            _read_dashboard(op, streams, params)
        elif op.scene == CONVERSATION:
            _read_conversation(op, streams, params)
        else:
            _read_stock(op, streams, params)
    _stale_stock_reads(ops)
    _out_of_order_cart_writes(ops)
    return ops, streams


def stock_histories(ops: list[Operation], streams: Streams) -> dict[str, list[checker.Op]]:
    """Each stock key's history as the checker sees it: a write writes its id, a read returns one."""
    value_of = {key: [op.id + 1 for op in writes] for key, writes in streams.writes.items()}
    histories: dict[str, list[checker.Op]] = {}
    for op in sorted((op for op in ops if op.scene == STOCK), key=lambda op: op.id):
        value = op.id + 1 if op.is_write else (value_of[op.key][op.version - 1] if op.version else 0)
        histories.setdefault(op.key, []).append(
            checker.Op(op.id, op.client, checker.WRITE if op.is_write else checker.READ, value, op.call_ms, op.ret_ms)
        )
    return dict(sorted(histories.items()))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2) if values else 0.0


def latency_costs(ops: list[Operation], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Per guarantee, the latency of the operations it guards, with it and as they would have been without."""
    rows = []
    for kind in KINDS:
        scene = SCENE_OF[kind]
        # Monotonic writes guards writes; the others guard reads (and quorum mode also slows stock writes).
        guarded = [op for op in ops if op.scene == scene and (op.is_write == (kind == MW))]
        actual = [op.latency_ms for op in guarded]
        without = [op.base_ret_ms - op.call_ms for op in guarded]
        # Quorum mode's other price: a stock write waits until a majority holds it.
        writes = [op for op in ops if op.scene == scene and op.is_write and kind != MW]
        rows.append({
            "kind": kind,
            "on": bool(params[kind]) if kind != LIN else params[LIN] != LIN_OFF,
            "operations": len(guarded),
            "redirected": sum(1 for op in guarded if op.evidence.get("redirected")),
            "mean_ms": _mean(actual), "p99_ms": _percentile(actual, 0.99),
            "mean_ms_without": _mean(without), "p99_ms_without": _percentile(without, 0.99),
            "write_mean_ms": _mean([op.latency_ms for op in writes]),
            "write_mean_ms_without": _mean([op.base_ret_ms - op.call_ms for op in writes]),
        })
    return rows


def explain(op: Operation) -> str:
    """One line on what went wrong in an anomalous operation."""
    expected = op.evidence.get("expected")
    if op.anomaly == RYW:
        return f"Your profile read returned v{op.version}, but your write of v{expected} had been acknowledged."
    if op.anomaly == MR:
        return f"{op.key.capitalize()} went back to v{op.version} after this session had seen v{expected}."
    if op.anomaly == MW:
        return f"Your cart write #{op.seq + 1} landed after one you sent later: a removed item can come back."
    if op.anomaly == CP:
        x, y = op.versions
        return f"Question {x} shown with answer {y}: a state that never existed at any moment."
    if op.anomaly == BS:
        return f"The dashboard returned v{op.version}, missing a write committed {op.evidence['age_ms']} ms earlier."
    if op.anomaly == LIN:
        return f"{op.key.upper()} read v{op.version}, though v{expected} was already acknowledged or read before it began."
    return ""


def _node_name(node: int) -> str:
    return "primary" if node == PRIMARY else f"replica {node + 1}"


def diagram(ops: list[Operation], streams: Streams, params: dict[str, Any]) -> dict[str, Any]:
    """A space-time diagram of a few sessions in the window where they showed the most kinds of anomaly."""
    width = max(40.0, 6 * params["primary_distance_ms"])
    session_ops = [op for op in ops if op.session >= 0]
    flagged = sorted((op for op in session_ops if op.anomaly), key=lambda op: op.call_ms)
    start = 0.0
    best = -1
    j = 0
    for i, op in enumerate(flagged):  # slide a window that starts at each anomaly
        while j < len(flagged) and flagged[j].call_ms < op.call_ms + width:
            j += 1
        kinds = len({other.anomaly for other in flagged[i:j]})
        if kinds > best:
            best, start = kinds, max(0.0, op.call_ms - 5)
    end = start + width
    in_window = [op for op in session_ops if op.ret_ms >= start and op.call_ms <= end]
    score: dict[int, set] = {}
    for op in in_window:
        score.setdefault(op.session, set())
        if op.anomaly:
            score[op.session].add(op.anomaly)
    chosen = sorted(score, key=lambda s: (-len(score[s]), s))[:DIAGRAM_SESSIONS]
    shown = [op for op in in_window if op.session in chosen]
    shown = sorted(shown, key=lambda op: (not op.anomaly, op.call_ms))[:DIAGRAM_OPS]
    entries, replication = [], []
    for op in sorted(shown, key=lambda op: op.call_ms):
        label = f"{'write' if op.is_write else 'read'} {op.key}"
        result = f"v{op.versions[0]}/{op.versions[1]}" if op.scene == CONVERSATION else f"v{op.version}"
        entries.append({
            "client": op.client, "label": f"{label} → {result}", "call_ms": round(op.call_ms, 2), "ret_ms": round(op.ret_ms, 2),
            "hops": [[_node_name(node), round(arrived, 2), round(answered, 2)] for node, arrived, answered in op.served],
            "anomaly": op.anomaly, "explanation": explain(op),
        })
        missed = op.evidence.get("expected")
        if op.anomaly in (RYW, MR, BS, LIN) and missed and not op.is_write and op.served[-1][0] != PRIMARY:
            # The write the read missed, on its way to the replica that answered.
            replica = op.served[-1][0]
            write = streams.writes[op.key][missed - 1]
            replication.append({
                "replica": _node_name(replica), "label": f"{op.key} v{missed}",
                "commit_ms": round(write.commit_ms, 2), "apply_ms": round(streams.applies[op.key][replica][missed - 1], 2),
            })
    lanes = [f"session {s + 1}" for s in sorted(chosen)] + ["primary"] + [f"replica {r + 1}" for r in range(params["replicas"])]
    return {"lanes": lanes, "start_ms": round(start, 2), "end_ms": round(end, 2), "operations": entries, "replication": replication}


def frames_and_totals(ops: list[Operation], streams: Streams, params: dict[str, Any], emit: Callable) -> dict[str, int]:
    """Emit the time series: anomalies so far by kind, guarded latency and replication delay per interval."""
    t_end = max(op.ret_ms for op in ops)
    every = max(1.0, t_end / TARGET_FRAMES)
    bins = int(t_end // every) + 1
    counts = {kind: [0] * bins for kind in KINDS}
    latency = {scene: [[] for _ in range(bins)] for scene in SCENE_OF.values()}
    delay_first = [0.0] * bins
    delay_others = [0.0] * bins
    for op in ops:
        if op.anomaly:
            counts[op.anomaly][int(op.ret_ms // every)] += 1
        if op.is_write == (op.scene == CART):
            latency[op.scene][int(op.call_ms // every)].append(op.latency_ms)
    spiked = params["spike_replicas"]
    for key, applies in streams.applies.items():
        for version, commit in enumerate(streams.commits[key]):
            b = int(commit // every)
            for replica, times in enumerate(applies):
                delay = times[version] - commit
                if replica < max(1, spiked):
                    delay_first[b] = max(delay_first[b], delay)
                else:
                    delay_others[b] = max(delay_others[b], delay)
    totals = {kind: 0 for kind in KINDS}
    last_latency = {scene: 0.0 for scene in latency}
    for b in range(bins):
        frame: dict[str, Any] = {"t_ms": round(b * every if b < bins - 1 else t_end, 1)}
        for kind in KINDS:
            totals[kind] += counts[kind][b]
            frame[kind] = totals[kind]
        for scene, per_bin in latency.items():
            if per_bin[b]:
                last_latency[scene] = _mean(per_bin[b])
            frame[f"latency_{scene}"] = last_latency[scene]
        frame["delay_first"] = round(delay_first[b], 1)
        frame["delay_others"] = round(delay_others[b], 1)
        frame["anomalies"] = sum(totals.values())
        emit(frame)
    return totals


def run_model(params: dict[str, Any], seed: int, emit: Callable, faults: FaultSchedule | None = None) -> dict[str, Any]:
    """Draw the workload and faults from the seed, simulate, check, emit frames; return the summary."""
    rng = random.Random(seed)
    if faults is None:
        faults = FaultSchedule(
            params["lag_mean_ms"],
            LagSpike(params["spike_start_ms"], params["spike_ms"], min(params["spike_replicas"], params["replicas"])),
        )
    ops, streams = simulate(params, draw_workload(params, rng, faults), faults)
    totals = frames_and_totals(ops, streams, params, emit)
    histories = stock_histories(ops, streams)
    results = checker.check_keys(histories)
    verdicts = [result.verdict for result in results.values()]
    failing = next((key for key, result in results.items() if result.witness), "")
    # Writes write their ids, which mean nothing to a reader: name them by version in their key.
    version_of = {write.id + 1: write.version for write in streams.writes.get(failing, [])}
    overall = (
        checker.NOT_LINEARIZABLE if checker.NOT_LINEARIZABLE in verdicts
        else checker.UNKNOWN if checker.UNKNOWN in verdicts else checker.LINEARIZABLE
    )
    return {
        "operations": len(ops),
        "reads": sum(1 for op in ops if not op.is_write),
        "writes": sum(1 for op in ops if op.is_write),
        "anomalies": totals,
        "anomalies_total": sum(totals.values()),
        "latency": latency_costs(ops, params),
        "checker": {
            "verdict": overall,
            "keys": len(results),
            "keys_not_linearizable": verdicts.count(checker.NOT_LINEARIZABLE),
            "keys_unknown": verdicts.count(checker.UNKNOWN),
            "steps": sum(result.steps for result in results.values()),
            "witness_key": failing,
            "witness": [
                {"client": op.client, "kind": op.kind, "value": op.value, "version": version_of.get(op.value, 0),
                 "call_ms": round(op.call, 2), "ret_ms": round(op.ret, 2)}
                for op in (results[failing].witness if failing else ())
            ],
        },
        "duration_ms": round(max(op.ret_ms for op in ops), 1),
        "diagram": diagram(ops, streams, params),
    }
