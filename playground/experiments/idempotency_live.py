"""The idempotency experiment, live: a Redis Streams consumer group and real consumer processes.

The simulation in idempotency.py models the broker; here it is real. The
parent process (the Celery worker running the experiment) is the producer: it
XADDs one ChargeRequested entry every ARRIVAL_MS to a stream, plus the broker
duplicates and late copies the seeded fault schedule asks for (the same
message id XADDed again). One consumer process at a time reads the stream
with XREADGROUP in a consumer group, charges a SQLite ledger with the mode's
handler and XACKs.

Crashes are real: for a scheduled delivery the consumer SIGKILLs itself after
the charge committed and before the XACK (or, for the dedup cache, before the
cache write). Its entry stays in the group's pending entries list; the next
consumer reclaims it with XAUTOCLAIM once it has been idle for the visibility
timeout, and that redelivery is the at-least-once guarantee at work. The
parent notices the death (returncode -9), counts it and hands over to a warm
spare consumer, so a restart does not stall the stream for a Python start-up.

Every number in the frames and the summary is read back from the stores (the
ledger, the stream's pending list, counters the consumers keep in Redis), not
from what the parent expected to happen.

The consumer side (`python -m playground.experiments.idempotency_live consumer
...`) uses only redis-py and sqlite3; the parent side needs Django settings
only for the Redis key prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from .processes import die_with_parent, stop_processes
from .idempotency import (
    ARRIVAL_MS, DEDUP_CACHE_TTL, DEDUP_TABLE, DUPLICATE, FIRST, LATE, MAX_CRASHES_IN_A_ROW, NAIVE, REDELIVERY,
    account_of, amount_cents, fault_schedule,
)

GROUP = "payments"
LEDGER_FILE = "ledger.sqlite3"
FAULTS_FILE = "faults.json"
FRAME_EVERY_S = 0.1
TICK_S = 0.005  # the producer's pacing granularity; ARRIVAL_MS is 10
READ_BLOCK_MS = 50  # short, so a consumer notices SIGTERM or an orphaning quickly
STOP_TIMEOUT_S = 5
ROOT = Path(__file__).resolve().parents[2]  # where `python -m playground...` resolves

BEFORE_ACK, BEFORE_CACHE_WRITE = "before-ack", "before-cache-write"


class Keys:
    """Every Redis key of one live run, under one run-specific prefix."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.stream = prefix + "charges"
        self.stats = prefix + "stats"  # hash: deliveries by kind, counted on receipt
        self.kills = prefix + "kills"  # list of "message:attempt:point", pushed just before a SIGKILL
        self.reclaimed = prefix + "reclaimed"  # list of message ids redelivered through XAUTOCLAIM

    def dedup(self, message: int) -> str:
        return f"{self.prefix}dedup:{message}"

    def fixed(self) -> list[str]:
        return [self.stream, self.stats, self.kills, self.reclaimed]


# --------------------------------------------------------------------------
# The consumer process
# --------------------------------------------------------------------------


class Ledger:
    """The accounts a consumer charges: a SQLite file, one transaction per charge."""

    def __init__(self, path: str):
        # Autocommit mode, so that the transactions below are exactly the ones written out.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10)
        # WAL (set when the file was created) keeps the parent's reads from blocking us;
        # NORMAL durability survives a killed process, which is the only crash here.
        self.db.execute("PRAGMA synchronous=NORMAL")

    def charge(self, message: int, account: int, amount: int, delivery: str, attempt: int, *, dedup: bool) -> bool:
        """Post one charge; with dedup, only if no processed row exists. Returns whether it charged."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if dedup:
                # The processed row commits with the charge or not at all: a crash after
                # COMMIT leaves a row for the redelivery to find, whenever it comes.
                inserted = self.db.execute(
                    "INSERT OR IGNORE INTO processed (message_id) VALUES (?)", (message,)
                ).rowcount
                if not inserted:
                    self.db.execute("ROLLBACK")
                    return False
            self.db.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, account))
            self.db.execute(
                "INSERT INTO charges (message_id, account, amount, delivery, attempt) VALUES (?, ?, ?, ?, ?)",
                (message, account, amount, delivery, attempt),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True


class Consumer:
    def __init__(self, args: argparse.Namespace):
        self.name = args.name
        self.mode = args.mode
        self.ttl_ms = args.ttl_ms
        self.visibility_ms = args.visibility_ms
        self.parent_pid = args.parent_pid
        self.keys = Keys(args.keys)
        self.redis = redis.Redis.from_url(os.environ["LIVE_REDIS_URL"], socket_timeout=10)
        self.ledger = Ledger(args.ledger)
        faults = json.loads(Path(args.faults).read_text())
        self.crashes = {tuple(pair) for pair in faults["crashes"]}
        self.crashes_before_cache_write = {tuple(pair) for pair in faults["crashes_before_cache_write"]}
        self.stopping = False

    def run(self) -> int:
        # Warm standby: everything is imported and connected; say so, then wait for
        # the parent's go. EOF means the run ended without needing us.
        self.redis.ping()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if not sys.stdin.readline():
            return 0
        signal.signal(signal.SIGTERM, self._stop)
        while not self.stopping:
            if os.getppid() != self.parent_pid:
                return 0  # the parent died: never outlive the run
            delivery = self.next_delivery()
            if delivery:
                self.handle(*delivery)
        return 0

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def next_delivery(self) -> tuple[bytes, dict, str, int] | None:
        """(entry id, fields, delivery kind, attempt) of the next entry to handle, if any.

        One entry at a time (COUNT 1), so a kill strands only the entry being
        handled, and its delivery count says truly how often it was handed out.
        """
        # Reclaim first: an entry left unacknowledged for a visibility timeout
        # belongs to a consumer that died (there is only ever one alive).
        reply = self.redis.xautoclaim(
            self.keys.stream, GROUP, self.name, min_idle_time=self.visibility_ms, start_id="0-0", count=1
        )
        claimed = [entry for entry in reply[1] if entry and entry[1]]
        if claimed:
            entry_id, fields = claimed[0]
            # XAUTOCLAIM counted this delivery; the first one (XREADGROUP) was attempt 0.
            pending = self.redis.xpending_range(self.keys.stream, GROUP, min=entry_id, max=entry_id, count=1)
            return entry_id, fields, REDELIVERY, pending[0]["times_delivered"] - 1
        reply = self.redis.xreadgroup(GROUP, self.name, {self.keys.stream: ">"}, count=1, block=READ_BLOCK_MS)
        if reply:
            entry_id, fields = reply[0][1][0]
            return entry_id, fields, fields[b"kind"].decode(), 0
        return None

    def handle(self, entry_id: bytes, fields: dict, delivery: str, attempt: int) -> None:
        message, account, amount = int(fields[b"message"]), int(fields[b"account"]), int(fields[b"amount"])
        self.redis.hincrby(self.keys.stats, delivery, 1)
        if delivery == REDELIVERY:
            self.redis.rpush(self.keys.reclaimed, message)
        # Only the original entry's deliveries crash; broker-made copies are acknowledged normally.
        crashes = fields[b"kind"] == FIRST.encode() and (message, attempt) in self.crashes

        if self.mode == NAIVE:
            self.ledger.charge(message, account, amount, delivery, attempt, dedup=False)
        elif self.mode == DEDUP_TABLE:
            self.ledger.charge(message, account, amount, delivery, attempt, dedup=True)
        elif not self.redis.exists(self.keys.dedup(message)):
            self.ledger.charge(message, account, amount, delivery, attempt, dedup=False)
            if crashes and (message, attempt) in self.crashes_before_cache_write:
                # Charged, but dead before the separate cache write: nothing tells the
                # redelivery that this message was already charged.
                self.die(message, attempt, BEFORE_CACHE_WRITE)
            self.redis.set(self.keys.dedup(message), 1, px=self.ttl_ms, nx=True)

        if crashes:
            self.die(message, attempt, BEFORE_ACK)
        self.redis.xack(self.keys.stream, GROUP, entry_id)

    def die(self, message: int, attempt: int, point: str) -> None:
        # Recorded first, so the parent can tell which delivery died where; then a
        # real SIGKILL: no handler, no cleanup, no ack, exactly like an OOM kill.
        self.redis.rpush(self.keys.kills, f"{message}:{attempt}:{point}")
        os.kill(os.getpid(), signal.SIGKILL)


def consumer_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="idempotency_live consumer")
    parser.add_argument("--name", required=True)
    parser.add_argument("--mode", required=True, choices=[NAIVE, DEDUP_TABLE, DEDUP_CACHE_TTL])
    parser.add_argument("--keys", required=True, help="the run's Redis key prefix")
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--faults", required=True)
    parser.add_argument("--ttl-ms", type=int, required=True)
    parser.add_argument("--visibility-ms", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    return Consumer(parser.parse_args(argv)).run()


# --------------------------------------------------------------------------
# The parent: producer, supervisor, observer
# --------------------------------------------------------------------------


class Consumers:
    """One active consumer process at a time, and a warm spare to replace it when it is killed."""

    def __init__(self, argv: list[str], env: dict[str, str], workdir: Path):
        self.argv = argv
        self.env = env
        self.workdir = workdir
        self.started: list[subprocess.Popen] = []
        self.killed = 0
        self.active: subprocess.Popen | None = None
        self.spare: subprocess.Popen | None = None

    def log_path(self, process: subprocess.Popen) -> Path:
        return self.workdir / f"consumer-{self.started.index(process) + 1}.log"

    def spawn(self) -> subprocess.Popen:
        number = len(self.started) + 1
        with (self.workdir / f"consumer-{number}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "playground.experiments.idempotency_live", "consumer",
                 *self.argv, "--name", f"consumer-{number}"],
                cwd=ROOT, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                preexec_fn=die_with_parent,
            )
        self.started.append(process)
        return process

    def start(self) -> None:
        """Start the first consumer and its spare, and wait until both are ready to consume.

        Python and redis-py take a good part of a second to start; waiting here
        keeps that out of the run's timeline. Later spares are not waited for:
        a second kill soon after a first one really does stall the stream.
        """
        self.active, self.spare = self.spawn(), self.spawn()
        for process in (self.active, self.spare):
            if process.stdout.readline() != b"ready\n":
                process.wait()
                self.fail(process)
        self.go(self.active)

    def go(self, process: subprocess.Popen) -> None:
        try:
            process.stdin.write(b"go\n")
            process.stdin.flush()
        except BrokenPipeError:
            process.wait()
            self.fail(process)

    def supervise(self) -> None:
        """Replace a killed consumer; any other exit is a bug worth failing the run for."""
        code = self.active.poll()
        if code is None:
            if self.spare.poll() is not None:
                self.fail(self.spare)
            return
        if code != -signal.SIGKILL:
            self.fail(self.active)
        self.killed += 1
        self.active, self.spare = self.spare, None
        self.go(self.active)
        self.spare = self.spawn()

    def fail(self, process: subprocess.Popen) -> None:
        tail = self.log_path(process).read_text(errors="replace")[-2000:]
        raise RuntimeError(f"a consumer process exited with code {process.returncode}:\n{tail}")

    def stop(self) -> None:
        """Stop every consumer still alive and reap them all: none outlives the run."""
        stop_processes(self.started, STOP_TIMEOUT_S)  # the active one finishes its loop; a spare just dies


def create_ledger(path: Path, mode: str, accounts: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: the consumers' connections inherit it
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
        # The journal of every charge posted, with the delivery that posted it.
        db.execute(
            "CREATE TABLE charges (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id INTEGER NOT NULL, "
            "account INTEGER NOT NULL, amount INTEGER NOT NULL, delivery TEXT NOT NULL, attempt INTEGER NOT NULL)"
        )
        if mode == DEDUP_TABLE:
            db.execute("CREATE TABLE processed (message_id INTEGER PRIMARY KEY)")
        db.executemany("INSERT INTO accounts (id, balance) VALUES (?, 0)", [(a,) for a in range(accounts)])
    finally:
        db.close()


def production_plan(messages: int, schedule) -> list[tuple[int, int, int, str]]:
    """(due ms, seq, message, kind) of every XADD: each message once, then the broker's own copies."""
    plan = [(m * ARRIVAL_MS, m, m, FIRST) for m in range(messages)]
    for kind, copies in ((DUPLICATE, schedule.duplicates), (LATE, schedule.late)):
        for message, delay_ms in sorted(copies):
            if message < messages:
                plan.append((message * ARRIVAL_MS + delay_ms, len(plan), message, kind))
    plan.sort()
    return plan


class Observer:
    """Reads the stores (ledger, stream, consumer counters) into frames and the summary."""

    def __init__(self, r: redis.Redis, keys: Keys, ledger_path: Path, params: dict[str, Any]):
        self.redis = r
        self.keys = keys
        self.db = sqlite3.connect(ledger_path, isolation_level=None, timeout=10)
        self.mode = params["mode"]
        self.messages = params["messages"]
        self.max_dedup_records = 0

    def close(self) -> None:
        self.db.close()

    def charges_per_message(self) -> dict[int, int]:
        return dict(self.db.execute("SELECT message_id, COUNT(*) FROM charges GROUP BY message_id"))

    def balances(self) -> list[int]:
        return [balance for _, balance in self.db.execute("SELECT id, balance FROM accounts ORDER BY id")]

    def deliveries(self) -> dict[str, int]:
        counts = {k.decode(): int(v) for k, v in self.redis.hgetall(self.keys.stats).items()}
        return {kind: counts.get(kind, 0) for kind in (FIRST, REDELIVERY, DUPLICATE, LATE)}

    def dedup_records(self, produced: int) -> int:
        if self.mode == DEDUP_TABLE:
            return self.db.execute("SELECT COUNT(*) FROM processed").fetchone()[0]
        if self.mode == DEDUP_CACHE_TTL and produced:
            # EXISTS over many keys counts those that exist: the entries not yet expired.
            return self.redis.exists(*[self.keys.dedup(m) for m in range(produced)])
        return 0

    def pending(self) -> int:
        return self.redis.xpending(self.keys.stream, GROUP)["pending"]

    def drained(self) -> bool:
        """Every entry handed out and acknowledged: nothing left to deliver or redeliver."""
        # One snapshot (MULTI): read apart, the consumer could take the last entry
        # between a "nothing pending" and an "everything delivered".
        pipe = self.redis.pipeline(transaction=True)
        pipe.xinfo_stream(self.keys.stream)
        pipe.xinfo_groups(self.keys.stream)
        pipe.xpending(self.keys.stream, GROUP)
        stream, groups, pending = pipe.execute()
        delivered = all(group["last-delivered-id"] == stream["last-generated-id"] for group in groups)
        return delivered and pending["pending"] == 0

    def frame(self, t_ms: int, produced: int, killed: int) -> dict[str, Any]:
        per_message = self.charges_per_message()
        deliveries = self.deliveries()
        charges = sum(per_message.values())
        # The ledger against the messages' amounts: everything above one charge each is an overcharge.
        overcharged = sum(self.balances()) - sum(amount_cents(m) for m in per_message)
        dedup_records = self.dedup_records(produced)
        self.max_dedup_records = max(self.max_dedup_records, dedup_records)
        return {
            "t_ms": t_ms,
            "deliveries": sum(deliveries.values()),
            "messages": len(per_message),  # distinct messages applied
            "charges": charges,
            "redeliveries": sum(deliveries.values()) - deliveries[FIRST],
            "double_charges": charges - len(per_message),
            "overcharged_eur": round(overcharged / 100, 2),
            "dedup_records": dedup_records,
            "pending": self.pending(),
            "consumers_killed": killed,
        }

    def kills(self) -> list[tuple[int, int, str]]:
        out = []
        for raw in self.redis.lrange(self.keys.kills, 0, -1):
            message, attempt, point = raw.decode().split(":")
            out.append((int(message), int(attempt), point))
        return out

    def double_charge_causes(self, kills: list[tuple[int, int, str]]) -> tuple[int, int]:
        """(after the TTL, from a crash before the cache write) for the dedup cache's double charges.

        A repeat charge found no cache entry: either the previous charge's process
        died before writing one (a recorded kill says so), or the entry expired.
        """
        torn = {(message, attempt) for message, attempt, point in kills if point == BEFORE_CACHE_WRITE}
        after_ttl = from_gap = 0
        previous: dict[int, tuple[str, int]] = {}
        for message, delivery, attempt in self.db.execute("SELECT message_id, delivery, attempt FROM charges ORDER BY id"):
            if message in previous:
                last_delivery, last_attempt = previous[message]
                if last_delivery in (FIRST, REDELIVERY) and (message, last_attempt) in torn:
                    from_gap += 1
                else:
                    after_ttl += 1
            previous[message] = (delivery, attempt)
        return after_ttl, from_gap


def run_live(params: dict[str, Any], seed: int, emit, *, redis_url: str, workdir) -> dict[str, Any]:
    """Run the experiment on a real Redis stream with real consumer processes; return the summary."""
    from playground import live  # Django settings, for the key prefix: the parent side only

    schedule = fault_schedule(params, seed)
    workdir = Path(workdir)
    token = f"idempotency-{uuid.uuid4().hex[:12]}"
    keys = Keys(live.key(f"live:{token}:"))
    messages = params["messages"]
    r = redis.Redis.from_url(redis_url, socket_timeout=10)
    ledger_path = workdir / LEDGER_FILE
    faults_path = workdir / FAULTS_FILE
    consumers = None
    observer = None
    try:
        create_ledger(ledger_path, params["mode"], params["accounts"])
        faults_path.write_text(json.dumps({
            "crashes": sorted(schedule.crashes),
            "crashes_before_cache_write": sorted(schedule.crashes_before_cache_write),
        }))
        r.xgroup_create(keys.stream, GROUP, id="0", mkstream=True)
        observer = Observer(r, keys, ledger_path, params)
        consumers = Consumers(
            ["--mode", params["mode"], "--keys", keys.prefix, "--ledger", str(ledger_path), "--faults", str(faults_path),
             "--ttl-ms", str(params["dedup_ttl_ms"]), "--visibility-ms", str(params["visibility_timeout_ms"]),
             "--parent-pid", str(os.getpid())],
            # The URL goes by environment, not argv, where `ps` would show any password in it.
            env={**os.environ, "LIVE_REDIS_URL": redis_url},
            workdir=workdir,
        )
        consumers.start()
        last_frame = drive(params, schedule, keys, r, consumers, observer, emit)
        return summarize(params, observer, consumers, last_frame)
    finally:
        if consumers:
            consumers.stop()
        if observer:
            observer.close()
        cleanup(r, keys, messages, workdir)
        r.close()


def acknowledged(r: redis.Redis, keys: Keys, entry_id: bytes) -> bool:
    """The group has delivered this entry and it is no longer pending: its handler finished with it."""
    pipe = r.pipeline(transaction=True)
    pipe.xinfo_groups(keys.stream)
    pipe.xpending_range(keys.stream, GROUP, min=entry_id, max=entry_id, count=1)
    groups, pending = pipe.execute()

    def order(stream_id) -> tuple[int, int]:
        ms, seq = (stream_id.decode() if isinstance(stream_id, bytes) else stream_id).split("-")
        return int(ms), int(seq)

    return all(order(group["last-delivered-id"]) >= order(entry_id) for group in groups) and not pending


def drive(params, schedule, keys: Keys, r: redis.Redis, consumers: Consumers, observer: Observer, emit) -> dict:
    """Produce on time, replace killed consumers, emit a frame every FRAME_EVERY_S, until drained."""
    plan = production_plan(params["messages"], schedule)
    late_ms = params["late_redelivery_ms"]
    # Generous: the whole plan, the longest crash chain, a late copy held back, and room for a slow machine.
    deadline_s = plan[-1][0] / 1000 + (MAX_CRASHES_IN_A_ROW + 1) * params["visibility_timeout_ms"] / 1000 + late_ms / 1000 + 60
    started = time.monotonic()
    next_xadd = 0
    produced = 0  # distinct messages XADDed so far (their ids are 0..produced-1)
    first_ids: dict[int, bytes] = {}  # each message's first stream entry
    # A late copy means "long after the message was handled", not "long after it was sent": on a loaded
    # machine the consumer can fall a second behind, and a copy sent on the clock would then meet a
    # dedup-cache entry still alive. So a due late copy waits until its original has been acknowledged
    # (the cache write and the charge come before the XACK) and then late_redelivery_ms more.
    held: list[tuple[int, int, str]] = []  # (message, release ms or -1 until the original is acked, kind)
    last_t_ms = -1
    next_frame_s = 0.0

    def take_frame() -> dict:
        nonlocal last_t_ms
        t_ms = max(last_t_ms + 1, int((time.monotonic() - started) * 1000))
        last_t_ms = t_ms
        return observer.frame(t_ms, produced, consumers.killed)

    while True:
        elapsed_s = time.monotonic() - started
        now_ms = elapsed_s * 1000
        due = []
        while next_xadd < len(plan) and plan[next_xadd][0] <= now_ms:
            _, _, message, kind = plan[next_xadd]
            next_xadd += 1
            if kind == LATE:
                held.append((message, -1, kind))
            else:
                due.append((message, kind))
        still_held = []
        for message, release_ms, kind in held:
            if release_ms < 0 and message in first_ids and acknowledged(r, keys, first_ids[message]):
                release_ms = now_ms + late_ms
            if 0 <= release_ms <= now_ms:
                due.append((message, kind))
            else:
                still_held.append((message, release_ms, kind))
        held = still_held
        if due:
            pipe = r.pipeline(transaction=False)
            for message, kind in due:
                pipe.xadd(keys.stream, {
                    "message": message, "account": account_of(message, params["accounts"]),
                    "amount": amount_cents(message), "kind": kind,
                })
            for (message, kind), entry_id in zip(due, pipe.execute()):
                if kind == FIRST:
                    produced = message + 1
                    first_ids[message] = entry_id
        consumers.supervise()
        if elapsed_s >= next_frame_s:
            emit(take_frame())
            next_frame_s += FRAME_EVERY_S
        if next_xadd == len(plan) and not held and observer.drained():
            break
        if elapsed_s > deadline_s:
            raise RuntimeError(f"the live run did not drain within {deadline_s:.0f} s")
        time.sleep(TICK_S)
    last = take_frame()
    emit(last)
    return last


def summarize(params: dict[str, Any], observer: Observer, consumers: Consumers, last: dict) -> dict[str, Any]:
    """The simulation's summary keys, each read from the stores, plus what only a live run has."""
    messages, accounts = params["messages"], params["accounts"]
    per_message = observer.charges_per_message()
    deliveries = observer.deliveries()
    kills = observer.kills()
    after_ttl, from_gap = observer.double_charge_causes(kills) if params["mode"] == DEDUP_CACHE_TTL else (0, 0)
    expected = [0] * accounts
    for message in range(messages):
        expected[account_of(message, accounts)] += amount_cents(message)
    reclaimed = sorted(int(m) for m in observer.redis.lrange(observer.keys.reclaimed, 0, -1))
    return {
        "engine": "live",
        "mode": params["mode"],
        "messages": messages,
        "accounts": accounts,
        "deliveries": last["deliveries"],
        "redeliveries": last["redeliveries"],
        "consumer_crashes": len(kills),
        "broker_duplicates": deliveries[DUPLICATE],
        "late_redeliveries": deliveries[LATE],
        "charges_applied": last["charges"],
        "double_charges": last["double_charges"],
        "messages_charged_twice_or_more": sum(count > 1 for count in per_message.values()),
        "double_charges_after_ttl": after_ttl,
        "double_charges_from_crash_before_cache_write": from_gap,
        "crashes_before_cache_write": sum(point == BEFORE_CACHE_WRITE for _, _, point in kills),
        "overcharged_eur": last["overcharged_eur"],
        "accounts_overcharged": sum(b != e for b, e in zip(observer.balances(), expected)),
        "messages_never_applied": messages - len(per_message),
        "max_dedup_records": observer.max_dedup_records,
        "dedup_ttl_ms": params["dedup_ttl_ms"],
        "duration_ms": last["t_ms"],
        # Only a live run has these.
        "consumer_processes_killed": consumers.killed,
        "consumer_processes_started": len(consumers.started),
        "redeliveries_via_xautoclaim": deliveries[REDELIVERY],
        "killed_message_ids": sorted(message for message, _, _ in kills),
        "reclaimed_message_ids": reclaimed,
        "double_charged_message_ids": sorted(m for m, count in per_message.items() if count > 1),
    }


def cleanup(r: redis.Redis, keys: Keys, messages: int, workdir: Path) -> None:
    """Delete this run's keys (by name: nothing else is touched) and its files."""
    names = keys.fixed() + [keys.dedup(m) for m in range(messages)]
    for start in range(0, len(names), 500):
        r.delete(*names[start:start + 500])
    for path in workdir.iterdir():
        if path.name.startswith(LEDGER_FILE) or path.name == FAULTS_FILE or path.name.startswith("consumer-"):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "consumer":
        sys.exit("usage: python -m playground.experiments.idempotency_live consumer --name ... (started by run_live)")
    sys.exit(consumer_main(sys.argv[2:]))
