"""Leases, pauses and fencing tokens: the seeded simulation (plain Python, no Django).

Clients take a lease on a record's lock (one lock per record, TTL lease_ttl_ms,
granted first come first served as soon as the lock is free or its lease has
expired), work, check by their own clock that the lease is still theirs, then
send a write to the storage and release the lease (compare-and-delete) when
the reply comes back. The lock service's clock is the true one. Every grant
carries a fencing token, one higher than the last: lease n has token n + 1.

Three faults make a client write after its lease ended (faults.py draws them):
a stop-the-world pause between the client's check and its write, a slow
clock that lets the check pass after expiry, and a long trip to the storage.

The storage writes are whole-record overwrites, as in Kleppmann's figure. Without
fencing it takes every write, so a write from an expired lease that lands after
a newer holder's write silently replaces it: the newer write is lost and the
record is corrupted. With fencing it remembers the highest token it has seen per
record and refuses a lower one: token 33 after 34 is rejected.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from .faults import FIRST_TOKEN, FaultSchedule

NO_FENCING = "no-fencing"
FENCING = "fencing"
TARGET_FRAMES = 150
TIMELINE_NEWER = 6  # newer leases on the record shown beside the stale one

REQUEST, EXPIRE, LAND, RELEASE = 0, 1, 2, 3
# Frame counters, in the order the timeline log refers to them by index.
COUNTERS = [
    "leases", "writes", "accepted", "refused", "late_writes", "late_accepted",
    "stale_accepted", "lost_writes", "corrupted_records", "abandoned", "pauses",
]
(LEASES, WRITES, ACCEPTED, REFUSED, LATE, LATE_ACCEPTED, STALE_ACCEPTED, LOST, CORRUPTED, ABANDONED, PAUSES) = range(len(COUNTERS))

# What happened to one write, for the timeline's colours and for the tests' own replay.
ON_TIME, LATE_ACCEPTED_OUTCOME, OVERWROTE_NEWER, REFUSED_OUTCOME = "on time", "late, accepted", "late, overwrote a newer write", "refused by the storage"


def simulate(params: dict[str, Any], schedule: FaultSchedule, emit, landings: list | None = None) -> dict[str, Any]:
    """Run the scenario under a given fault schedule; return the summary.

    landings, if given, receives (t_ms, record, token, accepted) for every write
    in the order it reached the storage, so a test can check the storage's
    history with its own replay.
    """
    clients, records, ttl = params["clients"], params["records"], params["lease_ttl_ms"]
    budget = params["operations"]
    fencing = params["mode"] == FENCING

    holder = [0] * records  # token holding each lock, 0 for none
    expires = [0] * records
    waiting = [deque() for _ in range(records)]
    fence = [0] * records  # the storage's highest token seen (checked only with fencing)
    content = [0] * records  # token of the write the record holds now
    newest = [0] * records  # highest token the storage has accepted
    corrupted: set[int] = set()
    operation = [0] * clients  # how many operations each client has started
    target = [0] * clients  # the record each client is after now
    granted_at: list[int] = []  # per lease
    sent_at: list[int] = []
    landed_at: list[int] = []
    outcome: list[str] = []
    lease_client: list[int] = []
    lease_record: list[int] = []
    log: list[tuple[int, int]] = []  # (t_ms, counter index), one per increment
    examples: dict[str, dict] = {}

    heap: list[tuple[int, int, int, int, int]] = []  # (t_ms, seq, kind, a, b)
    seq = 0

    def push(t: int, kind: int, a: int, b: int = 0) -> None:
        nonlocal seq
        heapq.heappush(heap, (t, seq, kind, a, b))
        seq += 1

    def grant(client: int, record: int, t: int) -> None:
        n = len(granted_at)
        token = n + FIRST_TOKEN
        holder[record], expires[record] = token, t + ttl
        granted_at.append(t)
        lease_client.append(client)
        lease_record.append(record)
        log.append((t, LEASES))
        push(t + ttl, EXPIRE, record, token)
        checked = t + schedule.work_ms[n]
        if schedule.work_ms[n] * schedule.clock_rate[client] >= ttl:
            # The client's own clock says the lease is over: it gives up the write.
            log.append((checked, ABANDONED))
            sent_at.append(-1)
            landed_at.append(-1)
            outcome.append("")
            push(checked, RELEASE, client, token)
            return
        pause = schedule.pause_ms[n]
        if pause:
            log.append((checked, PAUSES))
        sent_at.append(checked + pause)
        landed_at.append(checked + pause + schedule.delay_ms[n])
        outcome.append("")
        push(landed_at[n], LAND, client, token)

    def free(record: int, t: int) -> None:
        holder[record] = 0
        if waiting[record] and len(granted_at) < budget:
            grant(waiting[record].popleft(), record, t)

    for client in range(clients):
        push(0, REQUEST, client)
    while heap:
        t, _, kind, a, b = heapq.heappop(heap)
        if kind == REQUEST:
            client = a
            if len(granted_at) >= budget:
                continue
            record = target[client] = schedule.record_for(client, operation[client], records)
            operation[client] += 1
            if holder[record] == 0 or expires[record] <= t:
                grant(client, record, t)
            else:
                waiting[record].append(client)
        elif kind == EXPIRE:
            record, token = a, b
            if holder[record] == token:
                free(record, t)
        elif kind == LAND:
            client, token = a, b
            n = token - FIRST_TOKEN
            record = lease_record[n]
            late = t >= granted_at[n] + ttl
            log.append((t, WRITES))
            accepted = not fencing or token >= fence[record]
            if landings is not None:
                landings.append((t, record, token, accepted))
            if late:
                log.append((t, LATE))
            if not accepted:
                log.append((t, REFUSED))
                outcome[n] = REFUSED_OUTCOME
                examples.setdefault("first_refused", {"token": token, "after": fence[record], "record": record, "t_ms": t})
            else:
                fence[record] = max(fence[record], token)
                log.append((t, ACCEPTED))
                outcome[n] = LATE_ACCEPTED_OUTCOME if late else ON_TIME
                if late:
                    log.append((t, LATE_ACCEPTED))
                if token < newest[record]:
                    log.append((t, STALE_ACCEPTED))
                    examples.setdefault("first_stale_accepted", {"token": token, "after": newest[record], "record": record, "t_ms": t})
                if token < content[record]:
                    # The record held a newer holder's write; this one silently replaces it.
                    log.append((t, LOST))
                    outcome[n] = OVERWROTE_NEWER
                    if record not in corrupted:
                        corrupted.add(record)
                        log.append((t, CORRUPTED))
                content[record] = token
                newest[record] = max(newest[record], token)
            push(t + schedule.ack_ms[n], RELEASE, client, token)
        else:  # RELEASE: compare-and-delete, so an expired lease frees nothing
            client, token = a, b
            record = lease_record[token - FIRST_TOKEN]
            if holder[record] == token and expires[record] > t:
                free(record, t)
            push(t, REQUEST, client)

    log.sort()
    end_ms = max((t for t, _ in log), default=0)
    last = emit_frames(log, end_ms, emit)
    pauses = [p for n, p in enumerate(schedule.pause_ms[:len(granted_at)]) if p and sent_at[n] >= 0]
    return {
        "mode": params["mode"],
        "clients": clients,
        "records": records,
        "lease_ttl_ms": ttl,
        "leases_granted": last["leases"],
        "writes_landed": last["writes"],
        "writes_accepted": last["accepted"],
        "writes_refused": last["refused"],
        "late_writes": last["late_writes"],
        "late_writes_accepted": last["late_accepted"],
        "stale_writes_accepted": last["stale_accepted"],
        "lost_writes": last["lost_writes"],
        "corrupted_records": last["corrupted_records"],
        "abandoned_by_lease_check": last["abandoned"],
        "pauses": len(pauses),
        "pauses_past_ttl": sum(p >= ttl for p in pauses),
        "longest_pause_ms": max(pauses, default=0),
        "first_refused": examples.get("first_refused"),
        "first_stale_accepted": examples.get("first_stale_accepted"),
        "duration_ms": end_ms,
        "timeline": timeline(
            examples.get("first_stale_accepted") or examples.get("first_refused"),
            granted_at, sent_at, landed_at, outcome, lease_client, lease_record, schedule, ttl,
        ),
    }


def emit_frames(log: list[tuple[int, int]], end_ms: int, emit) -> dict[str, Any]:
    """Emit about TARGET_FRAMES frames of the cumulative counters over the run; return the last."""
    counts = [0] * len(COUNTERS)
    step = max(1, -(-end_ms // TARGET_FRAMES))  # ceiling division
    i = 0
    frame: dict[str, Any] = {}
    for t_ms in list(range(0, end_ms, step)) + [end_ms]:
        # A frame at time t counts everything up to and including t.
        while i < len(log) and log[i][0] <= t_ms:
            counts[log[i][1]] += 1
            i += 1
        frame = {"t_ms": t_ms, **dict(zip(COUNTERS, counts))}
        emit(frame)
    return frame


def timeline(incident, granted_at, sent_at, landed_at, outcome, lease_client, lease_record, schedule, ttl) -> list[dict]:
    """Gantt segments for the leases around the first stale write: who held what, who was paused, what landed."""
    if incident is None:
        return []
    record = incident["record"]
    late = incident["token"] - FIRST_TOKEN
    newer = [n for n in range(late + 1, len(granted_at)) if lease_record[n] == record and granted_at[n] <= landed_at[late]]
    # The stale lease, the first holders after it expired and the last before its write landed.
    shown = [late] + (newer if len(newer) <= TIMELINE_NEWER else newer[:TIMELINE_NEWER // 2] + newer[-(TIMELINE_NEWER // 2):])
    segments = []
    for n in shown:
        row = f"client {lease_client[n] + 1}"
        token = n + FIRST_TOKEN
        # Held until released after the reply, or until it expired, whichever came first.
        released = granted_at[n] + schedule.work_ms[n] if sent_at[n] < 0 else landed_at[n] + schedule.ack_ms[n]
        segments.append({"row": row, "label": f"lease, token {token}", "start_ms": granted_at[n],
                         "end_ms": min(released, granted_at[n] + ttl), "outcome": "lease held"})
        if sent_at[n] < 0:
            continue
        pause = schedule.pause_ms[n]
        if pause:
            segments.append({"row": row, "label": f"paused {pause} ms", "start_ms": sent_at[n] - pause,
                             "end_ms": sent_at[n], "outcome": "paused"})
        segments.append({"row": row, "label": f"write, token {token}", "start_ms": sent_at[n],
                         "end_ms": landed_at[n], "outcome": outcome[n] or "in flight"})
    return segments
