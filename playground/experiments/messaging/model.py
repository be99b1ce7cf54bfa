"""The messaging simulation: one workload through a log, pub/sub and a queue, side by side.

Each model is a small discrete-event simulation over the same messages and the
same faults (faults.py), with its own seeded handling times:

- **log**: partitions, each read in order by the one group member that owns
  it; the member commits its offset every `commit_every` messages. A crash
  or a member leaving the group (a rebalance) sends the partition back to its
  last committed offset, so uncommitted work is done again. A message that
  fails is retried after the visibility timeout, and the partition waits for
  it: head-of-line blocking, for ever unless a dead-letter stream takes it.
- **pub/sub**: each subscriber gets what is published while it is connected,
  into a buffer it handles in order; nothing is kept, nothing redelivered. A
  crash loses what it had buffered, and so does Redis closing a subscriber
  whose output buffer passes its limit (client-output-buffer-limit pubsub).
- **queue**: competing consumers take the oldest visible message; it stays
  invisible for the visibility timeout and comes back unless acknowledged in
  time (SQS, or a Redis consumer group with XAUTOCLAIM). A redelivered
  message goes behind those that became visible before it: that reorders.

Delivery counts are checked when a message is claimed, as SQS's
maxReceiveCount and a Streams consumer reading XPENDING do: one delivered N
times goes to the dead-letter queue at its next claim, after exactly N.

"Reordered" counts a message whose first handling came after the handling of
a later message of the same key (per subscriber, for pub/sub). Duplicates do
not count as reorders; a message handled twice is a duplicate.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter, deque
from typing import Any, Callable

from .faults import KEY_PARTITIONING, Faults, Workload, partition_of

LOG, PUBSUB, QUEUE = "log", "pubsub", "queue"
MODELS = (LOG, PUBSUB, QUEUE)
LABELS = {LOG: "Log", PUBSUB: "Pub/sub", QUEUE: "Queue"}
COUNTERS = ("deliveries", "delivered", "duplicates", "lost", "dead_lettered", "reordered", "handled")
FRAMES = 150

WAKE, DONE, DISCONNECT, REBALANCE, VISIBLE = range(5)


class Tally:
    """What one model did, as time-stamped counter events, with the per-key order check."""

    def __init__(self, workload: Workload, copies: int = 1):
        self.workload = workload
        self.copies = copies  # pub/sub: every subscriber should get every message
        self.events: list[tuple[float, str]] = []
        self.counts: Counter = Counter()
        self.processed: set[tuple[int, int]] = set()
        self.handled: set[tuple[int, int]] = set()
        self.newest_seq: dict[tuple[int, int], int] = {}
        self.dead_letter_deliveries: dict[int, int] = {}

    def add(self, t: float, name: str) -> None:
        self.events.append((t, name))
        self.counts[name] += 1

    def deliver(self, t: float) -> None:
        self.add(t, "deliveries")

    def process(self, t: float, message: int, copy: int = 0) -> None:
        ident = (copy, message)
        if ident in self.processed:
            self.add(t, "duplicates")
            return
        self.processed.add(ident)
        self.add(t, "delivered")
        key = (copy, self.workload.keys[message])
        seq = self.workload.seqs[message]
        if seq < self.newest_seq.get(key, -1):
            self.add(t, "reordered")
        else:
            self.newest_seq[key] = seq
        self._handled(t, ident)

    def lose(self, t: float, message: int, copy: int = 0) -> None:
        self.add(t, "lost")
        self._handled(t, (copy, message))

    def dead_letter(self, t: float, message: int, deliveries: int) -> None:
        self.add(t, "dead_lettered")
        self.dead_letter_deliveries[message] = deliveries
        self._handled(t, (0, message))

    def _handled(self, t: float, ident: tuple[int, int]) -> None:
        if ident not in self.handled:
            self.handled.add(ident)
            self.add(t, "handled")


class Events:
    """A time-ordered event queue; ties go in the order pushed, so runs are deterministic."""

    def __init__(self):
        self.heap: list = []
        self.seq = itertools.count()

    def push(self, t: float, kind: int, consumer: int, *data: Any) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, consumer, data))

    def pop(self):
        return heapq.heappop(self.heap)

    def __bool__(self) -> bool:
        return bool(self.heap)


def assign(members: list[int], partitions: int) -> list[int]:
    """Round-robin assignment of partitions to the group's members: partition -> member."""
    return [members[p % len(members)] for p in range(partitions)]


def horizon_of(params: dict[str, Any], workload: Workload) -> float:
    return workload.published_at(len(workload) - 1) + params["drain_ms"]


def simulate_log(params: dict[str, Any], workload: Workload, faults: Faults, seed: int) -> tuple[Tally, dict]:
    partitions, consumers = params["partitions"], params["consumers"]
    limit = params["max_deliveries"] if params["dead_letter"] else None
    visibility, commit_every = params["visibility_timeout_ms"], params["commit_every"]
    rng = random.Random(f"{seed}:log")
    rate = 1 / params["handling_ms"]
    tally = Tally(workload)
    parts: list[list[int]] = [[] for _ in range(partitions)]
    for message, key in enumerate(workload.keys):
        p = partition_of(key, partitions) if params["log_partitioning"] == KEY_PARTITIONING else message % partitions
        parts[p].append(message)
    position, committed, since_commit = [0] * partitions, [0] * partitions, [0] * partitions
    retry_at = [0.0] * partitions
    deliveries = [0] * len(workload)
    members = list(range(consumers))
    owner = assign(members, partitions)
    idle_consumers = consumers - len(set(owner))
    generation, down_until, busy = [0] * consumers, [0.0] * consumers, [False] * consumers
    crashes = rebalanced_redone = 0
    horizon = horizon_of(params, workload)
    events = Events()
    for c in members:
        events.push(0.0, WAKE, c, 0)
    if faults.disconnect_ms:
        events.push(faults.disconnect_start_ms, DISCONNECT, 0)
    if faults.rebalance_ms and consumers > 1:
        events.push(faults.rebalance_ms, REBALANCE, consumers - 1)

    def rewind(c: int) -> int:
        """Back to the last committed offset on each of c's partitions; how many handled messages will come again."""
        redone = 0
        for p in range(partitions):
            if owner[p] == c:
                redone += position[p] - committed[p]
                position[p], since_commit[p] = committed[p], 0
        return redone

    while events:
        t, _, kind, c, data = events.pop()
        if t > horizon:
            break
        if kind == DISCONNECT:
            generation[c] += 1  # what it was handling is abandoned, unacknowledged
            busy[c] = False
            events.push(faults.disconnect_end_ms, WAKE, c, generation[c])
            continue
        if kind == REBALANCE:
            # The member leaves without committing (killed, or auto-commit not yet due); the
            # others commit on revoke. Every in-flight message is abandoned, all partitions reassigned.
            members.remove(c)
            rebalanced_redone += rewind(c)
            for p in range(partitions):
                if owner[p] != c:
                    committed[p], since_commit[p] = position[p], 0
            owner = assign(members, partitions)
            for x in range(consumers):
                generation[x] += 1
                busy[x] = False
            for x in members:
                events.push(t, WAKE, x, generation[x])
            continue
        if data[0] != generation[c]:
            continue
        if kind == DONE:
            _, p, message, attempt = data
            busy[c] = False
            if message in faults.poison:
                retry_at[p] = t + visibility  # unacknowledged: the partition waits for the redelivery
            else:
                tally.process(t, message)
                if faults.crashes(message, attempt):
                    crashes += 1
                    rewind(c)
                    generation[c] += 1
                    down_until[c] = t + faults.restart_ms
                    events.push(down_until[c], WAKE, c, generation[c])
                    continue
                position[p] += 1
                since_commit[p] += 1
                if since_commit[p] >= commit_every:
                    committed[p], since_commit[p] = position[p], 0
            events.push(t, WAKE, c, generation[c])
            continue
        # WAKE: take the oldest ready head among c's partitions.
        if busy[c] or c not in members:
            continue
        if faults.offline(c, t):
            events.push(faults.disconnect_end_ms, WAKE, c, generation[c])
            continue
        if t < down_until[c]:
            events.push(down_until[c], WAKE, c, generation[c])
            continue
        best, next_ready = None, math.inf
        for p in range(partitions):
            if owner[p] != c:
                continue
            while position[p] < len(parts[p]):
                message = parts[p][position[p]]
                ready = max(workload.published_at(message), retry_at[p])
                if ready > t:
                    next_ready = min(next_ready, ready)
                    break
                if limit is not None and deliveries[message] >= limit:
                    # Dead-lettered and committed in one step (XADD + XACK in a MULTI).
                    tally.dead_letter(t, message, deliveries[message])
                    position[p] += 1
                    committed[p], since_commit[p] = position[p], 0
                    continue
                if best is None or ready < best[0]:
                    best = (ready, p)
                break
        if best is None:
            if next_ready < math.inf:
                events.push(next_ready, WAKE, c, generation[c])
            continue
        p = best[1]
        message = parts[p][position[p]]
        attempt = deliveries[message]
        deliveries[message] += 1
        tally.deliver(t)
        busy[c] = True
        events.push(t + rng.expovariate(rate) * faults.slowness(c, consumers), DONE, c, generation[c], p, message, attempt)

    ahead = {m for p in range(partitions) for m in parts[p][position[p]:]}
    blocked = [p for p in range(partitions) if position[p] < len(parts[p]) and parts[p][position[p]] in faults.poison]
    replay_from = params["replay_from_offset"]
    extra = {
        "crashes": crashes,
        "blocked_partitions": len(blocked),
        "blocked_messages": sum(len(parts[p]) - position[p] - 1 for p in blocked),
        "redone_after_rebalance": rebalanced_redone,
        "idle_consumers": idle_consumers,
        "partition_sizes": [len(part) for part in parts],
        "committed_lag": sum(len(parts[p]) - committed[p] for p in range(partitions)),
        # A new consumer group reading every partition from this offset: the log kept everything.
        "replayable": sum(max(0, len(part) - replay_from) for part in parts),
        "max_deliveries_seen": max(deliveries, default=0),
        "poison_deliveries": [deliveries[m] for m in sorted(faults.poison)],
        # Neither handled nor still ahead of its partition's read position: gone. The log never does this.
        "vanished": sum(1 for m in range(len(workload)) if (0, m) not in tally.handled and m not in ahead),
    }
    return tally, extra


def simulate_queue(params: dict[str, Any], workload: Workload, faults: Faults, seed: int) -> tuple[Tally, dict]:
    consumers = params["consumers"]
    limit = params["max_deliveries"] if params["dead_letter"] else None
    visibility = params["visibility_timeout_ms"]
    rng = random.Random(f"{seed}:queue")
    rate = 1 / params["handling_ms"]
    tally = Tally(workload)
    n = len(workload)
    # (visible at, message, receive number): every message is in here from its publish time on.
    ready = [(workload.published_at(m), m, 0) for m in range(n)]  # sorted, so already a heap
    receive, finished, deliveries = [0] * n, bytearray(n), [0] * n
    generation, down_until, busy = [0] * consumers, [0.0] * consumers, [False] * consumers
    idle: deque[int] = deque()
    timers: set[float] = set()  # times a VISIBLE event is already due: one each, however many wait
    crashes = stale_acks = 0
    horizon = horizon_of(params, workload)
    events = Events()
    for c in range(consumers):
        events.push(0.0, WAKE, c, 0)
    if faults.disconnect_ms:
        events.push(faults.disconnect_start_ms, DISCONNECT, 0)

    def head() -> tuple[float, int] | None:
        while ready:
            visible_at, message, number = ready[0]
            if finished[message] or number != receive[message]:
                heapq.heappop(ready)  # acknowledged, dead-lettered, or received again since
                continue
            return visible_at, message
        return None

    def wake(c: int, t: float) -> None:
        if busy[c]:
            return
        if faults.offline(c, t):
            events.push(faults.disconnect_end_ms, WAKE, c, generation[c])
            return
        if t < down_until[c]:
            events.push(down_until[c], WAKE, c, generation[c])
            return
        while (top := head()) is not None and top[0] <= t:
            message = top[1]
            heapq.heappop(ready)
            if limit is not None and deliveries[message] >= limit:
                finished[message] = 1
                tally.dead_letter(t, message, deliveries[message])
                continue
            attempt = deliveries[message]
            deliveries[message] += 1
            receive[message] += 1
            heapq.heappush(ready, (t + visibility, message, receive[message]))  # back unless acknowledged in time
            tally.deliver(t)
            busy[c] = True
            done = t + rng.expovariate(rate) * faults.slowness(c, consumers)
            events.push(done, DONE, c, generation[c], message, receive[message], attempt)
            return
        idle.append(c)
        if top is not None:
            visible_at(top[0])

    def visible_at(t: float) -> None:
        if t not in timers:
            timers.add(t)
            events.push(t, VISIBLE, -1)

    while events:
        t, _, kind, c, data = events.pop()
        if t > horizon:
            break
        if kind == VISIBLE:
            timers.discard(t)
            while idle and (top := head()) is not None and top[0] <= t:
                wake(idle.popleft(), t)
            if idle and (top := head()) is not None:
                visible_at(top[0])  # the rest wait for the next one
            continue
        if kind == DISCONNECT:
            generation[c] += 1  # in flight: abandoned, back after the visibility timeout
            busy[c] = False
            if c in idle:
                idle.remove(c)
            events.push(faults.disconnect_end_ms, WAKE, c, generation[c])
            continue
        if data[0] != generation[c]:
            continue
        if kind == DONE:
            _, message, number, attempt = data
            busy[c] = False
            if message not in faults.poison:
                tally.process(t, message)
                if faults.crashes(message, attempt):
                    crashes += 1
                    generation[c] += 1
                    down_until[c] = t + faults.restart_ms
                    events.push(down_until[c], WAKE, c, generation[c])
                    continue
                if number == receive[message]:
                    finished[message] = 1
                else:
                    stale_acks += 1  # too late: it was received again meanwhile, and will be handled again
        if c not in idle:
            wake(c, t)

    extra = {
        "crashes": crashes,
        "stale_acks": stale_acks,
        "left_in_queue": n - sum(finished),
        "max_deliveries_seen": max(deliveries, default=0),
        "poison_deliveries": [deliveries[m] for m in sorted(faults.poison)],
        # Neither handled nor still in the queue (visible or in flight): gone.
        "vanished": len({m for m in range(n) if (0, m) not in tally.handled}
                        - {m for _, m, number in ready if number == receive[m] and not finished[m]}),
    }
    return tally, extra


def simulate_pubsub(params: dict[str, Any], workload: Workload, faults: Faults, seed: int) -> tuple[Tally, dict]:
    subscribers, limit = params["subscribers"], params["pubsub_buffer"]
    rate = 1 / params["handling_ms"]
    tally = Tally(workload, copies=subscribers)
    horizon = horizon_of(params, workload)
    extra = Counter()
    for s in range(subscribers):
        rng = random.Random(f"{seed}:pubsub:{s}")
        slowness = faults.slowness(s, subscribers)
        buffer: deque[int] = deque()
        free_at, offline_until = 0.0, -math.inf

        def drop_buffer(t: float, reason: str) -> None:
            extra[reason] += len(buffer)
            for message in buffer:
                tally.lose(t, message, s)
            buffer.clear()

        def drain(until: float) -> None:
            """Handle the buffered messages whose handling starts before `until`, in order."""
            nonlocal free_at, offline_until
            while buffer:
                start = max(free_at, workload.published_at(buffer[0]))
                if start >= until:
                    return
                message = buffer.popleft()
                tally.deliver(start)
                free_at = start + rng.expovariate(rate) * slowness
                if message in faults.poison:
                    extra["poison_dropped"] += 1  # failed once; nothing will send it again
                    tally.lose(free_at, message, s)
                elif faults.crashes(message, s):
                    tally.process(free_at, message, s)
                    extra["crashes"] += 1
                    drop_buffer(free_at, "lost_in_crash")  # its buffer died with it
                    offline_until = free_at + faults.restart_ms
                    return
                else:
                    tally.process(free_at, message, s)

        for message in range(len(workload)):
            t = workload.published_at(message)
            drain(t)
            if faults.offline(s, t):
                extra["lost_while_disconnected"] += 1
                tally.lose(t, message, s)
            elif t < offline_until:
                extra["lost_while_restarting"] += 1
                tally.lose(t, message, s)
            elif len(buffer) >= limit:
                # Redis closes a subscriber whose output buffer passes its limit; it reconnects after a restart.
                extra["overflow_disconnects"] += 1
                drop_buffer(t, "lost_in_overflow")
                extra["lost_in_overflow"] += 1
                tally.lose(t, message, s)
                offline_until = t + faults.restart_ms
            else:
                buffer.append(message)
        drain(horizon)
    for name in ("crashes", "poison_dropped", "lost_while_disconnected", "lost_while_restarting", "lost_in_crash",
                 "overflow_disconnects", "lost_in_overflow"):
        extra.setdefault(name, 0)
    return tally, dict(extra)


SIMULATORS: dict[str, Callable] = {LOG: simulate_log, PUBSUB: simulate_pubsub, QUEUE: simulate_queue}


def frames_of(tallies: dict[str, Tally], workload: Workload, end_ms: float) -> list[dict[str, Any]]:
    """Cumulative counters of every model, sampled at FRAMES evenly spaced times up to end_ms."""
    step = max(1.0, end_ms / FRAMES)
    # The last frame at or after end_ms, so that it sees the last event.
    times = [round(step * i, 1) for i in range(1, FRAMES)] + [math.ceil(max(end_ms, step * FRAMES) * 10) / 10]
    sorted_events = {name: sorted(tally.events, key=lambda event: event[0]) for name, tally in tallies.items()}
    cursor = dict.fromkeys(tallies, 0)
    running = {name: Counter() for name in tallies}
    max_lag = dict.fromkeys(tallies, 0)
    frames = []
    n = len(workload)
    for t in times:
        published = min(n, math.floor(t / workload.interval_ms) + 1)
        frame: dict[str, Any] = {"t_ms": t, "published": published}
        for name, tally in tallies.items():
            events, i = sorted_events[name], cursor[name]
            while i < len(events) and events[i][0] <= t:
                running[name][events[i][1]] += 1
                i += 1
            cursor[name] = i
            counts = running[name]
            for counter in COUNTERS:
                frame[f"{name}_{counter}"] = counts[counter]
            frame[f"{name}_published"] = published * tally.copies  # pub/sub: a copy for each subscriber
            lag = max(0, published * tally.copies - counts["handled"])
            frame[f"{name}_lag"] = lag
            max_lag[name] = max(max_lag[name], lag)
        frames.append(frame)
    return frames


def simulate(params: dict[str, Any], workload: Workload, faults: Faults, seed: int, emit: Callable) -> dict[str, Any]:
    tallies, extras = {}, {}
    for name in MODELS:
        tallies[name], extras[name] = SIMULATORS[name](params, workload, faults, seed)
    horizon = horizon_of(params, workload)
    last_event = max((t for tally in tallies.values() for t, _ in tally.events), default=0.0)
    frames = frames_of(tallies, workload, min(horizon, max(last_event, workload.published_at(len(workload) - 1))))
    for frame in frames:
        emit(frame)
    return summarize(params, workload, faults, tallies, extras, frames)


def summarize(params, workload: Workload, faults: Faults, tallies: dict[str, Tally], extras: dict[str, dict], frames) -> dict[str, Any]:
    n = len(workload)
    window = sum(1 for m in range(n) if faults.offline(0, workload.published_at(m)))
    summary: dict[str, Any] = {
        "engine": "simulation",
        "messages": n,
        "keys": params["keys"],
        "partitions": params["partitions"],
        "consumers": params["consumers"],
        "subscribers": params["subscribers"],
        "log_partitioning": params["log_partitioning"],
        "dead_letter": params["dead_letter"],
        "max_deliveries": params["max_deliveries"],
        "poison": sorted(faults.poison),
        "published_while_disconnected": window,
        "duration_ms": frames[-1]["t_ms"],
    }
    for name, tally in tallies.items():
        expected = n * tally.copies
        for counter in COUNTERS:
            summary[f"{name}_{counter}"] = tally.counts[counter]
        summary[f"{name}_expected"] = expected
        summary[f"{name}_unfinished"] = expected - len(tally.handled)
        summary[f"{name}_lag_end"] = frames[-1][f"{name}_lag"]
        summary[f"{name}_max_lag"] = max(frame[f"{name}_lag"] for frame in frames)
        summary[f"{name}_poison_dead_letter_deliveries"] = [
            tally.dead_letter_deliveries[m] for m in sorted(faults.poison) if m in tally.dead_letter_deliveries]
        for key, value in extras[name].items():
            summary[f"{name}_{key}"] = value
    summary["lost_total"] = sum(summary[f"{name}_lost"] for name in MODELS)
    return summary
