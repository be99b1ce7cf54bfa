"""The locks experiment, live: a real Redis lock, client processes really stopped, a SQLite storage.

The parent (the Celery worker running the experiment) starts one process per
client. Each takes its record's lock with `SET lock value NX PX ttl` (inside a
Lua script that also INCRs the fencing-token counter, so the token comes with
the grant), works, checks the lease by its own (drifting) clock, writes its
record in a real SQLite file and releases the lock with a compare-and-delete.

The faults are those of faults.py for the same seed, keyed by token. A pause
is real: the client records it and stops itself with SIGSTOP, after its lease
check and before its write; the parent sees the process in the stopped state
(psutil), waits the scheduled length, past the TTL (and, on a slow machine, until
the writes the simulation lands first have landed), and sends SIGCONT. While it
is stopped its lease expires in Redis and another process takes the lock. The
network delay is a sleep before the write, and the clock drift scales the time
the client measures: stand-ins, said so here.

The storage is the lesson's SQL. Without fencing: `UPDATE records SET token = ?
WHERE id = ?`. With fencing: `... AND fence <= ?`, so the paused holder's token
33, arriving after 34 wrote, updates nothing. Each attempt is journalled in the
same transaction, and every number in the frames and the summary is read back
from that file and from Redis, not from what the parent expected.

The client side (`python -m playground.experiments.locks.live client ...`) uses
only redis-py, sqlite3 and faults.py.
"""

from __future__ import annotations

import argparse
import ctypes
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

import psutil
import redis

from .faults import FIRST_TOKEN, FaultSchedule, fault_schedule
from .model import simulate

FENCING = "fencing"  # the mode value; model.py names it too, but live.py imports only faults
STORAGE_FILE = "storage.sqlite3"
FAULTS_FILE = "faults.json"
FRAME_EVERY_S = 0.1
TICK_S = 0.002
POLL_LOCK_S = 0.002  # how often a client retries SET NX while another holds the lock
STOP_TIMEOUT_S = 5
ROOT = Path(__file__).resolve().parents[3]  # where `python -m playground...` resolves
PR_SET_PDEATHSIG = 1

# SET NX PX and the token in one step: the token order is the grant order. -1 once the run's leases are all granted.
ACQUIRE = """
if tonumber(redis.call('get', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return -1 end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('incr', KEYS[2]) end
return 0
"""
# Compare-and-delete: an expired lease must not delete the next holder's lock.
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Keys:
    """Every Redis key of one live run, under one run-specific prefix."""

    def __init__(self, prefix: str, records: int):
        self.prefix = prefix
        self.tokens = prefix + "tokens"  # the fencing-token counter
        self.abandoned = prefix + "abandoned"  # writes given up by the client's own lease check
        self.abandoned_tokens = prefix + "abandoned-tokens"  # their tokens: a pause waits for these too
        self.pauses = prefix + "pauses"  # "pid:token:ms", pushed just before a client stops itself
        self.locks = [f"{prefix}lock:{record}" for record in range(records)]

    def all(self) -> list[str]:
        return [self.tokens, self.abandoned, self.abandoned_tokens, self.pauses, *self.locks]


# --------------------------------------------------------------------------
# The storage
# --------------------------------------------------------------------------


def create_storage(path: Path, records: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block the clients' writes
        db.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, token INTEGER NOT NULL DEFAULT 0, "
                   "fence INTEGER NOT NULL DEFAULT 0, writer INTEGER)")
        # Every write attempt, in the order the storage decided it; lease_held is Redis's view, noted, never acted on.
        db.execute("CREATE TABLE writes (id INTEGER PRIMARY KEY AUTOINCREMENT, record INTEGER NOT NULL, "
                   "token INTEGER NOT NULL, client INTEGER NOT NULL, landed_ms INTEGER NOT NULL, "
                   "accepted INTEGER NOT NULL, lease_held INTEGER NOT NULL)")
        db.executemany("INSERT INTO records (id) VALUES (?)", [(r,) for r in range(records)])
    finally:
        db.close()


def write_record(db: sqlite3.Connection, *, record: int, token: int, client: int, fencing: bool, landed_ms: int, lease_held: bool) -> bool:
    """One write as the storage takes it; returns whether it was accepted."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if fencing:
            # The check and the write are one statement: no gap for a newer holder to slip into.
            changed = db.execute(
                "UPDATE records SET token = ?, writer = ?, fence = ? WHERE id = ? AND fence <= ?",
                (token, client, token, record, token),
            ).rowcount
        else:
            changed = db.execute("UPDATE records SET token = ?, writer = ? WHERE id = ?", (token, client, record)).rowcount
        db.execute(
            "INSERT INTO writes (record, token, client, landed_ms, accepted, lease_held) VALUES (?, ?, ?, ?, ?, ?)",
            (record, token, client, landed_ms, changed, int(lease_held)),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return bool(changed)


def replay(rows: list[tuple[int, int, int, int, int]]) -> dict[str, Any]:
    """What the storage's journal says happened: rows of (record, token, accepted, lease_held, landed_ms), in commit order."""
    newest: dict[int, int] = {}  # highest accepted token per record
    content: dict[int, int] = {}  # token the record holds
    corrupted: set[int] = set()
    out = {"writes": 0, "accepted": 0, "refused": 0, "late_writes": 0, "late_accepted": 0, "stale_accepted": 0,
           "lost_writes": 0, "first_refused": None, "first_stale_accepted": None}
    for record, token, accepted, held, t_ms in rows:
        out["writes"] += 1
        out["late_writes"] += not held
        if not accepted:
            out["refused"] += 1
            out["first_refused"] = out["first_refused"] or {"token": token, "after": newest.get(record, 0), "record": record, "t_ms": t_ms}
            continue
        out["accepted"] += 1
        out["late_accepted"] += not held
        if token < newest.get(record, 0):
            out["stale_accepted"] += 1
            out["first_stale_accepted"] = out["first_stale_accepted"] or {"token": token, "after": newest[record], "record": record, "t_ms": t_ms}
        if token < content.get(record, 0):
            out["lost_writes"] += 1
            corrupted.add(record)
        content[record] = token
        newest[record] = max(newest.get(record, 0), token)
    out["corrupted_records"] = len(corrupted)
    return out


# --------------------------------------------------------------------------
# The client process
# --------------------------------------------------------------------------


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL us if the parent dies, even while we are stopped: no orphan outlives a run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the parent-pid check in the loop still ends us


def client_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="locks.live client")
    for name in ("--keys", "--storage", "--faults", "--mode"):
        parser.add_argument(name, required=True)
    for name in ("--client", "--records", "--ttl-ms", "--operations", "--parent-pid"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--epoch", type=float, required=True, help="the parent's time.monotonic() at the start")
    args = parser.parse_args(argv)
    die_with_parent()
    schedule = FaultSchedule.from_json(json.loads(Path(args.faults).read_text()))
    keys = Keys(args.keys, args.records)
    r = redis.Redis.from_url(os.environ["LIVE_REDIS_URL"], socket_timeout=10)
    acquire, release = r.register_script(ACQUIRE), r.register_script(RELEASE)
    db = sqlite3.connect(args.storage, isolation_level=None, timeout=10)
    r.ping()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if not sys.stdin.readline():
        return 0
    rate = schedule.clock_rate[args.client]
    operation = 0
    while True:
        record = schedule.record_for(args.client, operation, args.records)
        operation += 1
        lock, value = keys.locks[record], f"client-{args.client}:{uuid.uuid4().hex}"
        while not (token := acquire(keys=[lock, keys.tokens], args=[value, args.ttl_ms, args.operations])):
            if os.getppid() != args.parent_pid:
                return 0
            time.sleep(POLL_LOCK_S)
        if token < 0:
            return 0  # every lease of the run has been granted
        n = token - FIRST_TOKEN
        started = time.monotonic()
        time.sleep(schedule.work_ms[n] / 1000)
        if (time.monotonic() - started) * 1000 * rate >= args.ttl_ms:
            # By this client's clock the lease is over: give up the write.
            r.incr(keys.abandoned)
            r.sadd(keys.abandoned_tokens, token)
            release(keys=[lock], args=[value])
            continue
        if schedule.pause_ms[n]:
            # Stop the world, for real: the parent sees us stopped and sends SIGCONT after the pause.
            r.rpush(keys.pauses, f"{os.getpid()}:{token}:{schedule.pause_ms[n]}")
            os.kill(os.getpid(), signal.SIGSTOP)
        time.sleep(schedule.delay_ms[n] / 1000)  # the write's trip to the storage
        held = r.get(lock) == value.encode()
        landed_ms = round((time.monotonic() - args.epoch) * 1000)
        write_record(db, record=record, token=token, client=args.client, fencing=args.mode == FENCING,
                     landed_ms=landed_ms, lease_held=held)
        time.sleep(schedule.ack_ms[n] / 1000)  # the reply's trip back
        release(keys=[lock], args=[value])


# --------------------------------------------------------------------------
# The parent: supervisor, pauser, observer
# --------------------------------------------------------------------------


class Pauser:
    """Turns a client's SIGSTOP into a pause of the scheduled length: seen stopped, then SIGCONT.

    A pause lasts at least its scheduled length and, besides, until every write the
    simulation lands before it (for the same seed) is in the storage or was given up:
    on a loaded machine the other client may need longer than the pause, and the
    outcome, who wrote last, must not depend on how busy the machine was. Never more
    than EXTRA_WAIT_S past the schedule, so a run that went differently still ends.
    """

    EXTRA_WAIT_S = 10.0

    def __init__(self, r: redis.Redis, keys: Keys, land_first: dict[int, set[int]] | None = None, landed=None):
        self.redis = r
        self.keys = keys
        self.land_first = land_first or {}  # paused token -> tokens whose writes land before it
        self.landed = landed or (lambda: set())  # tokens whose writes are in the storage now
        self.waiting: list[tuple[int, int, int]] = []  # (pid, token, ms) announced, not yet seen stopped
        self.stopped: list[tuple[int, int, int, float]] = []  # (pid, token, ms, seen stopped at)
        self.done: list[dict] = []

    def tick(self, now: float, epoch: float) -> None:
        while raw := self.redis.lpop(self.keys.pauses):
            pid, token, ms = (int(part) for part in raw.decode().split(":"))
            self.waiting.append((pid, token, ms))
        for entry in list(self.waiting):
            pid = entry[0]
            try:
                stopped = psutil.Process(pid).status() == psutil.STATUS_STOPPED
            except psutil.NoSuchProcess:
                stopped = False  # it died: the supervisor reports that
            if stopped:
                self.waiting.remove(entry)
                self.stopped.append((*entry, now))
        for entry in list(self.stopped):
            pid, token, ms, since = entry
            waited = now - since
            caught_up = waited >= ms / 1000 + self.EXTRA_WAIT_S or self.land_first.get(token, set()) <= self.landed()
            if waited >= ms / 1000 and caught_up:
                os.kill(pid, signal.SIGCONT)
                self.stopped.remove(entry)
                self.done.append({"token": token, "pid": pid, "scheduled_ms": ms, "stopped_at_ms": round((since - epoch) * 1000),
                                  "stopped_for_ms": round((time.monotonic() - since) * 1000)})

    def release_all(self) -> None:
        for pid, *_ in self.stopped + [(p, 0, 0, 0.0) for p, _, _ in self.waiting]:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


class Clients:
    """The client processes: started warm, told to go together, all reaped at the end."""

    def __init__(self, argv: list[str], clients: int, env: dict[str, str], workdir: Path):
        self.processes: list[subprocess.Popen] = []
        self.workdir = workdir
        for client in range(clients):
            with (workdir / f"client-{client}.log").open("wb") as log:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "playground.experiments.locks.live", "client", *argv, "--client", str(client)],
                    cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                ))

    def start(self) -> None:
        for process in self.processes:
            if process.stdout.readline() != b"ready\n":
                process.wait()
                self.fail(process)
        for process in self.processes:
            process.stdin.write(b"go\n")
            process.stdin.flush()

    def finished(self) -> bool:
        codes = [process.poll() for process in self.processes]
        for process, code in zip(self.processes, codes):
            if code not in (None, 0):
                self.fail(process)
        return all(code == 0 for code in codes)

    def fail(self, process: subprocess.Popen) -> None:
        log = self.workdir / f"client-{self.processes.index(process)}.log"
        raise RuntimeError(f"a client process exited with code {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            process.wait(timeout=STOP_TIMEOUT_S)
            for pipe in (process.stdin, process.stdout):
                pipe.close()


def read_journal(db: sqlite3.Connection) -> list[tuple[int, int, int, int, int]]:
    return db.execute("SELECT record, token, accepted, lease_held, landed_ms FROM writes ORDER BY id").fetchall()


def frame(t_ms: int, r: redis.Redis, keys: Keys, db: sqlite3.Connection, operations: int, pauses: int) -> dict[str, Any]:
    seen = replay(read_journal(db))
    return {
        "t_ms": t_ms,
        "leases": min(operations, int(r.get(keys.tokens) or 0)),
        **{key: seen[key] for key in ("writes", "accepted", "refused", "late_writes", "late_accepted", "stale_accepted",
                                      "lost_writes", "corrupted_records")},
        "abandoned": int(r.get(keys.abandoned) or 0),
        "pauses": pauses,
    }


def run_live(params: dict[str, Any], seed: int, emit, *, redis_url: str, key_prefix: str, workdir) -> dict[str, Any]:
    """Run the experiment on a real Redis with real client processes; return the summary, read from the stores."""
    schedule = fault_schedule(params, seed)
    workdir = Path(workdir)
    keys = Keys(f"{key_prefix}locks-{uuid.uuid4().hex[:12]}:", params["records"])
    storage, faults = workdir / STORAGE_FILE, workdir / FAULTS_FILE
    r = redis.Redis.from_url(redis_url, socket_timeout=10)
    clients = db = None
    landings: list = []
    simulate(params, schedule, lambda frame: None, landings)
    order = [token for _, _, token, _ in landings]  # the writes in the order the simulation lands them
    paused = [n + FIRST_TOKEN for n, ms in enumerate(schedule.pause_ms) if ms]
    land_first = {token: set(order[:order.index(token)]) for token in paused if token in order}

    def landed() -> set[int]:
        """Tokens whose writes are in the storage, or were given up by their client's lease check."""
        given_up = {int(token) for token in r.smembers(keys.abandoned_tokens)}
        return given_up | ({row[1] for row in read_journal(db)} if db else set())

    pauser = Pauser(r, keys, land_first, landed)
    try:
        create_storage(storage, params["records"])
        faults.write_text(json.dumps(schedule.to_json()))
        db = sqlite3.connect(storage, isolation_level=None, timeout=10)
        epoch = time.monotonic()
        clients = Clients(
            ["--keys", keys.prefix, "--storage", str(storage), "--faults", str(faults), "--mode", params["mode"],
             "--records", str(params["records"]), "--ttl-ms", str(params["lease_ttl_ms"]),
             "--operations", str(params["operations"]), "--parent-pid", str(os.getpid()), "--epoch", repr(epoch)],
            params["clients"],
            # The URL goes by environment, not argv, where `ps` would show any password in it.
            env={**os.environ, "LIVE_REDIS_URL": redis_url}, workdir=workdir,
        )
        clients.start()
        # Generous: every lease one after another, with all its faults, and room for a slow machine.
        per_lease = [w + p + d + a for w, p, d, a in zip(schedule.work_ms, schedule.pause_ms, schedule.delay_ms, schedule.ack_ms)]
        deadline = time.monotonic() + sum(per_lease) / 1000 + 30
        next_frame = time.monotonic()
        stopped_seen: set[int] = set()
        while not clients.finished():
            now = time.monotonic()
            pauser.tick(now, epoch)
            stopped_seen.update(pid for pid, *_ in pauser.stopped)
            if now >= next_frame:
                emit(frame(round((now - epoch) * 1000), r, keys, db, params["operations"], len(pauser.stopped) + len(pauser.done)))
                next_frame += FRAME_EVERY_S
            if now > deadline:
                raise RuntimeError("the live run did not finish in time")
            time.sleep(TICK_S)
        last = frame(round((time.monotonic() - epoch) * 1000), r, keys, db, params["operations"], len(pauser.done))
        emit(last)
        return summarize(params, schedule, db, last, pauser, clients, stopped_seen)
    finally:
        pauser.release_all()
        if clients:
            clients.stop()
        if db:
            db.close()
        r.delete(*keys.all())  # by name: nothing else of this Redis is touched
        r.close()
        for path in workdir.iterdir():
            if path.name.startswith((STORAGE_FILE, FAULTS_FILE, "client-")):
                path.unlink(missing_ok=True)


def summarize(params, schedule: FaultSchedule, db: sqlite3.Connection, last: dict, pauser: Pauser, clients: Clients, stopped_seen: set[int]) -> dict[str, Any]:
    """The simulation's summary keys, each read from the stores, plus what only a live run has."""
    seen = replay(read_journal(db))
    ttl = params["lease_ttl_ms"]
    pauses = [p["stopped_for_ms"] for p in pauser.done]
    writes = db.execute("SELECT token, client, record, landed_ms, accepted, lease_held FROM writes ORDER BY id").fetchall()
    return {
        "engine": "live",
        "mode": params["mode"],
        "clients": params["clients"],
        "records": params["records"],
        "lease_ttl_ms": ttl,
        "leases_granted": last["leases"],
        "writes_landed": seen["writes"],
        "writes_accepted": seen["accepted"],
        "writes_refused": seen["refused"],
        "late_writes": seen["late_writes"],
        "late_writes_accepted": seen["late_accepted"],
        "stale_writes_accepted": seen["stale_accepted"],
        "lost_writes": seen["lost_writes"],
        "corrupted_records": seen["corrupted_records"],
        "abandoned_by_lease_check": last["abandoned"],
        "pauses": len(pauses),
        "pauses_past_ttl": sum(p >= ttl for p in pauses),
        "longest_pause_ms": max(pauses, default=0),
        "first_refused": seen["first_refused"],
        "first_stale_accepted": seen["first_stale_accepted"],
        "duration_ms": last["t_ms"],
        "timeline": [],
        # Only a live run has these.
        "client_processes": len(clients.processes),
        "processes_seen_stopped": len(stopped_seen),
        "sigstop_pauses": pauser.done,
        "paused_tokens": sorted(p["token"] for p in pauser.done),
        "scheduled_pause_tokens": [n + FIRST_TOKEN for n, p in enumerate(schedule.pause_ms[:last["leases"]]) if p],
        "late_write_tokens": [w[0] for w in writes if not w[5]],
        "records_read_back": [list(row) for row in db.execute("SELECT id, token, fence, writer FROM records ORDER BY id")],
    }


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "client":
        sys.exit("usage: python -m playground.experiments.locks.live client ... (started by run_live)")
    sys.exit(client_main(sys.argv[2:]))
