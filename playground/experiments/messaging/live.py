"""The messaging experiment, live: Redis Pub/Sub, Redis Streams and a reliable list queue (or RabbitMQ).

The parent (the Celery worker running the experiment) is the producer: every
message of the workload (faults.py, same seed) goes out at its time to all
three models at once, in one pipeline:

- **pub/sub**: `PUBLISH` on a channel, whose reply is the number of
  subscribers that received it: Redis's own count of who missed it. Each
  subscriber is a process; subscriber 0 really closes its connection for the
  disconnect window, then subscribes again.
- **log**: `XADD` to the key's partition, one stream per partition, read by
  one consumer process per stream in a consumer group (`XREADGROUP`, `XACK`).
  A consumer first takes back anything left pending with `XAUTOCLAIM` once it
  has been idle for the visibility timeout, and reads nothing new while its
  stream has a pending entry: that keeps per-key order across a crash, and is
  the head-of-line blocking a poison message causes. The delivery count comes
  from `XPENDING`; past N, the entry is `XADD`ed to a dead-letter stream and
  `XACK`ed in one MULTI.
- **queue**: `LPUSH` to a list; competing consumer processes `BLMOVE` each
  message to their own processing list and `LREM` it from there to
  acknowledge. The parent is the visibility timeout: an entry that has sat in
  a processing list longer than that goes back to the queue (a Lua script, so
  a late ack and the return cannot both happen). With RabbitMQ configured and
  chosen, the queue is a uniquely named classic queue with manual acks
  instead; the broker itself requeues what a dead consumer had not acked.

Crashes are real: for a scheduled (message, attempt) the consumer records its
kill and SIGKILLs itself after the handler's effect and before the ack. The
parent sees the death (returncode -9) and starts a replacement, which takes as
long as a Python process takes to start: that is the restart. The effects
(the handler's writes) are RPUSHes to a list per model, and every number in
the frames and the summary is read back from Redis (and RabbitMQ), not from
what the parent expected.

The consumer side (`python -m playground.experiments.messaging.live consumer
...`) uses only redis-py, kombu for RabbitMQ, and faults.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from ..processes import die_with_parent, stop_processes
from .faults import KEY_PARTITIONING, Faults, fault_schedule, partition_of, workload
from .model import LOG, MODELS, PUBSUB, QUEUE

GROUP = "consumers"
FAULTS_FILE = "faults.json"
FRAME_EVERY_S = 0.1
TICK_S = 0.005
READ_BLOCK_S = 0.05
STOP_TIMEOUT_S = 5
ROOT = Path(__file__).resolve().parents[3]  # where `python -m playground...` resolves
REDIS_LIST, RABBITMQ = "redis-list", "rabbitmq"

# Back to the queue only if still in the processing list: a late ack and the return never both happen.
RETURN = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


class Keys:
    """Every Redis key of one live run, under one run-specific prefix."""

    def __init__(self, prefix: str, partitions: int, subscribers: int):
        self.prefix = prefix
        self.channel = prefix + "channel"
        self.streams = [f"{prefix}log:p{p}" for p in range(partitions)]
        self.got = [f"{prefix}pubsub:got:{s}" for s in range(subscribers)]
        self.names = {name: prefix + name for name in (
            "pubsub:failed", "pubsub:offline", "log:done", "log:dlq", "log:deliveries",
            "queue:ready", "queue:done", "queue:dlq", "queue:deliveries", "kills", "up")}

    def __getitem__(self, name: str) -> str:
        return self.names[name]

    def processing(self, consumer: str) -> str:
        return f"{self.prefix}queue:processing:{consumer}"

    def fixed(self) -> list[str]:
        return [*self.streams, *self.got, *self.names.values()]


# --------------------------------------------------------------------------
# The consumer processes
# --------------------------------------------------------------------------


class Consumer:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.model, self.index, self.name = args.model, 0, ""
        self.keys = Keys(args.keys, args.partitions, args.subscribers)
        self.faults = Faults.from_json(json.loads(Path(args.faults).read_text()))
        self.redis = redis.Redis.from_url(os.environ["LIVE_REDIS_URL"], socket_timeout=10)
        self.count = {PUBSUB: args.subscribers, LOG: args.partitions, QUEUE: args.consumers}[self.model]
        self.stopping = False
        self.epoch = 0.0

    def now_ms(self) -> float:
        return (time.monotonic() - self.epoch) * 1000

    def handle_time(self) -> None:
        time.sleep(self.rng.expovariate(1 / self.args.handling_ms) * self.slowness / 1000)

    def die(self, message: int, attempt: int) -> None:
        # Recorded first, then a real SIGKILL: no handler, no cleanup, no ack, like an OOM kill.
        self.redis.rpush(self.keys["kills"], f"{self.model}:{message}:{attempt}")
        os.kill(os.getpid(), signal.SIGKILL)

    def orphaned(self) -> bool:
        return os.getppid() != self.args.parent_pid

    def wait_out_disconnect(self) -> None:
        """Consumer 0, in its window: really off the network, then back."""
        if not self.faults.offline(self.index, self.now_ms()):
            return
        self.redis.connection_pool.disconnect()
        while self.faults.offline(self.index, self.now_ms()) and not self.stopping:
            time.sleep(0.01)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        loop = {PUBSUB: self.run_pubsub, LOG: self.run_log, QUEUE: self.run_queue}[self.model]
        return loop()

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def ready_and_wait(self) -> bool:
        """Say ready, then wait for the parent's "go EPOCH": the run's clock (time.monotonic() is system-wide)."""
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        line = sys.stdin.readline().split()
        if not line:
            return False  # EOF: a spare the run ended without needing
        # A warm spare learns only now which slot it takes over.
        self.epoch, self.index, self.name = float(line[1]), int(line[2]), line[3]
        self.rng = random.Random(f"{self.faults.seed}:{self.name}")
        self.slowness = self.faults.slowness(self.index, self.count)
        if self.model != PUBSUB:
            self.redis.sadd(self.keys["up"], self.name)
        return True

    # -- pub/sub ------------------------------------------------------------

    def run_pubsub(self) -> int:
        self.redis.ping()
        if not self.ready_and_wait():
            return 0
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.keys.channel)
        pubsub.get_message(timeout=1)  # the subscribe confirmation: from here on we receive
        self.redis.sadd(self.keys["up"], self.name)
        while not self.stopping and not self.orphaned():
            if self.faults.offline(self.index, self.now_ms()):
                # Really gone: the connection closed, so Redis has nobody to deliver to.
                started = self.now_ms()
                pubsub.close()
                while self.faults.offline(self.index, self.now_ms()) and not self.stopping:
                    time.sleep(0.005)
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.keys.channel)
                pubsub.get_message(timeout=1)
                self.redis.rpush(self.keys["pubsub:offline"], f"{started}:{self.now_ms()}")
                continue
            item = pubsub.get_message(timeout=READ_BLOCK_S)
            if not item or item["type"] != "message":
                continue
            message = int(item["data"])
            self.handle_time()
            if message in self.faults.poison:
                self.redis.rpush(self.keys["pubsub:failed"], f"{self.index}:{message}")
                continue
            self.redis.rpush(self.keys.got[self.index], message)
            if self.faults.crashes(message, self.index):
                self.die(message, self.index)
        pubsub.close()
        return 0

    # -- log: one stream, one reader ----------------------------------------

    def run_log(self) -> int:
        self.redis.ping()
        if not self.ready_and_wait():
            return 0
        stream = self.keys.streams[self.index]
        limit = self.args.max_deliveries if self.args.dead_letter else None
        while not self.stopping and not self.orphaned():
            self.wait_out_disconnect()
            reply = self.redis.xautoclaim(stream, GROUP, self.name, min_idle_time=self.args.visibility_ms, start_id="0-0", count=1)
            claimed = [entry for entry in reply[1] if entry and entry[1]]
            if claimed:
                entry_id, fields = claimed[0]
                pending = self.redis.xpending_range(stream, GROUP, min=entry_id, max=entry_id, count=1)
                delivered = pending[0]["times_delivered"]
            elif self.redis.xpending(stream, GROUP)["pending"]:
                time.sleep(0.01)  # wait for it: reading past a pending entry would reorder its key
                continue
            else:
                reply = self.redis.xreadgroup(GROUP, self.name, {stream: ">"}, count=1, block=int(READ_BLOCK_S * 1000))
                if not reply:
                    continue
                entry_id, fields = reply[0][1][0]
                delivered = 1
            message = int(fields[b"m"])
            if limit is not None and delivered > limit:
                pipe = self.redis.pipeline(transaction=True)
                pipe.xadd(self.keys["log:dlq"], {"m": message, "deliveries": delivered - 1, "partition": self.index})
                pipe.xack(stream, GROUP, entry_id)
                pipe.execute()
                continue
            self.redis.incr(self.keys["log:deliveries"])
            self.handle_time()
            if message in self.faults.poison:
                continue  # failed: no ack; it comes back through XAUTOCLAIM after the visibility timeout
            self.redis.rpush(self.keys["log:done"], message)
            if self.faults.crashes(message, delivered - 1):
                self.die(message, delivered - 1)
            self.redis.xack(stream, GROUP, entry_id)
        return 0

    # -- queue: competing consumers on a list -------------------------------

    def run_queue(self) -> int:
        if self.args.broker == RABBITMQ:
            return self.run_rabbitmq()
        self.redis.ping()
        if not self.ready_and_wait():
            return 0
        processing = self.keys.processing(self.name)
        while not self.stopping and not self.orphaned():
            self.wait_out_disconnect()
            raw = self.redis.blmove(self.keys["queue:ready"], processing, READ_BLOCK_S, "RIGHT", "LEFT")
            if raw is None:
                continue
            self.handle_queue_message(int(raw), ack=lambda: self.redis.lrem(processing, 1, raw),
                                      dead_letter=lambda m: self._dead_letter_list(processing, raw, m), fail=lambda: None)
        return 0

    def _dead_letter_list(self, processing: str, raw: bytes, message: int) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(self.keys["queue:dlq"], message)
        pipe.lrem(processing, 1, raw)
        pipe.execute()

    def handle_queue_message(self, message: int, *, ack, dead_letter, fail) -> None:
        delivered = self.redis.hincrby(self.keys["queue:deliveries"], message, 1)
        if self.args.dead_letter and delivered > self.args.max_deliveries:
            self.redis.hincrby(self.keys["queue:deliveries"], message, -1)  # a claim, not a delivery
            dead_letter(message)
            return
        self.handle_time()
        if message in self.faults.poison:
            fail()  # failed, not acknowledged: back after the visibility timeout (or the broker's requeue)
            return
        self.redis.rpush(self.keys["queue:done"], message)
        if self.faults.crashes(message, delivered - 1):
            self.die(message, delivered - 1)
        ack()

    def run_rabbitmq(self) -> int:
        from kombu import Connection

        with Connection(os.environ["LIVE_RABBITMQ_URL"], connect_timeout=5) as connection:
            channel = connection.channel()
            queue_name = self.args.rabbitmq_queue
            pending: list = []
            consumer = connection.Consumer(queues=[_rabbit_queue(queue_name)], channel=channel, no_ack=False, accept=["json"],
                                           callbacks=[lambda body, delivery: pending.append((body, delivery))])
            consumer.qos(prefetch_count=1)  # one unacknowledged message at a time, like the list queue
            consumer.consume()
            if not self.ready_and_wait():
                return 0
            producer = connection.Producer(channel=channel)
            while not self.stopping and not self.orphaned():
                try:
                    connection.drain_events(timeout=READ_BLOCK_S)
                except TimeoutError:
                    pass
                except OSError:
                    continue
                while pending:
                    body, delivery = pending.pop(0)
                    self.handle_queue_message(
                        int(body), ack=delivery.ack,
                        dead_letter=lambda m, d=delivery: self._dead_letter_rabbit(producer, queue_name, d, m),
                        fail=delivery.requeue,
                    )
        return 0


    def _dead_letter_rabbit(self, producer, queue_name: str, delivery, message: int) -> None:
        producer.publish(message, routing_key=queue_name + ".dlq", serializer="json")
        self.redis.lpush(self.keys["queue:dlq"], message)  # which one, for the summary; RabbitMQ's depth says how many
        delivery.ack()


def _rabbit_queue(name: str):
    from kombu import Queue

    # A classic queue, not durable: it lives for one run and is deleted after.
    return Queue(name, routing_key=name, durable=False, auto_delete=False, queue_arguments={"x-queue-type": "classic"})


def consumer_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="messaging.live consumer")
    for name in ("--model", "--keys", "--faults", "--broker", "--rabbitmq-queue"):
        parser.add_argument(name, required=name != "--rabbitmq-queue", default="")
    for name in ("--partitions", "--subscribers", "--consumers", "--visibility-ms", "--max-deliveries", "--parent-pid"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--dead-letter", type=int, required=True)
    parser.add_argument("--handling-ms", type=float, required=True)
    args = parser.parse_args(argv)
    return Consumer(args).run()


# --------------------------------------------------------------------------
# The parent: producer, supervisor, visibility timeout, observer
# --------------------------------------------------------------------------


class Fleet:
    """The consumer processes of all three models: one per slot, a warm spare per model, all reaped at the end.

    Python and our imports take a second or more to start on a busy machine, so
    a killed consumer is replaced by a spare that is already running; it is
    told to go after the restart time, as the simulation's restart_ms says.
    """

    def __init__(self, argv: list[str], env: dict[str, str], workdir: Path, restart_ms: float):
        self.argv, self.env, self.workdir, self.restart_s = argv, env, workdir, restart_ms / 1000
        self.started: list[subprocess.Popen] = []
        self.slots: dict[tuple[str, int], subprocess.Popen] = {}
        self.spares: dict[str, subprocess.Popen] = {}
        self.restarts: list[tuple[float, str, int]] = []  # (due, model, index)
        self.names: dict[str, list[str]] = {model: [] for model in MODELS}
        self.killed: dict[str, int] = dict.fromkeys(MODELS, 0)
        self.epoch = 0.0

    def spawn(self, model: str) -> subprocess.Popen:
        number = len(self.started) + 1
        with (self.workdir / f"consumer-{number}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "playground.experiments.messaging.live", "consumer", *self.argv, "--model", model],
                cwd=ROOT, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                preexec_fn=die_with_parent,
            )
        process.log_number = number
        self.started.append(process)
        return process

    def start(self, slots: list[tuple[str, int]]) -> None:
        """Start every slot's process and a spare per model, wait until all are ready, then let the slots go together."""
        waiting = {slot: self.spawn(slot[0]) for slot in slots}
        self.spares = {model: self.spawn(model) for model in {model for model, _ in slots}}
        for process in [*waiting.values(), *self.spares.values()]:
            if process.stdout.readline() != b"ready\n":
                process.wait()
                self.fail(process)
        # The clock starts once everyone is ready: start-up is not part of the run.
        self.epoch = time.monotonic()
        for (model, index), process in waiting.items():
            self.go(model, index, process)

    def go(self, model: str, index: int, process: subprocess.Popen) -> None:
        name = f"{model}-{index}-{process.log_number}"
        self.names[model].append(name)
        process.slot_name = name
        self.slots[(model, index)] = process
        try:
            process.stdin.write(f"go {self.epoch!r} {index} {name}\n".encode())
            process.stdin.flush()
        except BrokenPipeError:
            process.wait()
            self.fail(process)

    def supervise(self, now: float) -> None:
        """A killed consumer's slot gets the model's spare after the restart time; any other exit fails the run."""
        for (model, index), process in list(self.slots.items()):
            code = process.poll()
            if code is None:
                continue
            if code != -signal.SIGKILL:
                self.fail(process)
            self.killed[model] += 1
            del self.slots[(model, index)]
            self.restarts.append((now + self.restart_s, model, index))
        for due, model, index in sorted(self.restarts):
            if due > now:
                continue
            self.restarts.remove((due, model, index))
            self.go(model, index, self.spares[model])
            self.spares[model] = self.spawn(model)
        for process in self.spares.values():
            if process.poll() is not None:
                self.fail(process)

    def current_names(self) -> set[str]:
        return {process.slot_name for process in self.slots.values()}

    def fail(self, process: subprocess.Popen) -> None:
        log = self.workdir / f"consumer-{process.log_number}.log"
        raise RuntimeError(f"a consumer process exited with code {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        stop_processes(self.started, STOP_TIMEOUT_S)


class Visibility:
    """The list queue's visibility timeout: what has sat in a processing list too long goes back to the queue."""

    def __init__(self, r: redis.Redis, keys: Keys, fleet: Fleet, timeout_ms: int):
        self.redis, self.keys, self.fleet, self.timeout_s = r, keys, fleet, timeout_ms / 1000
        self.first_seen: dict[tuple[str, bytes], float] = {}
        self.back = r.register_script(RETURN)
        self.returned = 0

    def tick(self, now: float) -> None:
        lists = [self.keys.processing(name) for name in self.fleet.names[QUEUE]]
        pipe = self.redis.pipeline(transaction=False)
        for name in lists:
            pipe.lrange(name, 0, -1)
        seen = set()
        for name, entries in zip(lists, pipe.execute()):
            for raw in entries:
                seen.add((name, raw))
                since = self.first_seen.setdefault((name, raw), now)
                if now - since >= self.timeout_s:
                    self.returned += self.back(keys=[name, self.keys["queue:ready"]], args=[raw])
                    del self.first_seen[(name, raw)]
        for gone in set(self.first_seen) - seen:
            del self.first_seen[gone]


def tally(order: list[int], wl, copies: int = 1, copy_of=None) -> dict[str, int]:
    """Distinct handled, duplicates and per-key reorders from an effect list in handling order."""
    processed, newest = set(), {}
    out = {"delivered": 0, "duplicates": 0, "reordered": 0}
    for i, message in enumerate(order):
        copy = copy_of[i] if copy_of else 0
        if (copy, message) in processed:
            out["duplicates"] += 1
            continue
        processed.add((copy, message))
        out["delivered"] += 1
        key = (copy, wl.keys[message])
        if wl.seqs[message] < newest.get(key, -1):
            out["reordered"] += 1
        else:
            newest[key] = wl.seqs[message]
    return out


class Observer:
    """Reads the three models' state back from Redis (and RabbitMQ) into frames and the summary."""

    def __init__(self, r: redis.Redis, keys: Keys, params: dict[str, Any], wl, rabbit=None):
        self.redis, self.keys, self.params, self.workload, self.rabbit = r, keys, params, wl, rabbit
        self.receivers: list[int] = []  # PUBLISH's reply for each message, in order
        self.max_lag = dict.fromkeys(MODELS, 0)

    def read(self) -> dict[str, Any]:
        k = self.keys
        pipe = self.redis.pipeline(transaction=True)
        for name in k.got:
            pipe.lrange(name, 0, -1)
        for name in ("pubsub:failed", "log:done", "queue:done", "queue:dlq"):
            pipe.lrange(k[name], 0, -1)
        pipe.xrange(k["log:dlq"])
        pipe.get(k["log:deliveries"])
        pipe.hgetall(k["queue:deliveries"])
        replies = pipe.execute()
        got, rest = replies[:len(k.got)], replies[len(k.got):]
        failed, log_done, queue_done, queue_dlq, log_dlq, log_deliveries, queue_deliveries = rest
        return {
            "got": [[int(m) for m in lst] for lst in got],
            "failed": [tuple(int(x) for x in raw.split(b":")) for raw in failed],
            "log_done": [int(m) for m in log_done],
            "queue_done": [int(m) for m in queue_done],
            "log_dlq": [(int(fields[b"m"]), int(fields[b"deliveries"]), int(fields[b"partition"])) for _, fields in log_dlq],
            "queue_dlq": [int(m) for m in queue_dlq],
            "log_deliveries": int(log_deliveries or 0),
            "queue_deliveries": {int(m): int(n) for m, n in queue_deliveries.items()},
        }

    def frame(self, t_ms: int, published: int, state: dict[str, Any] | None = None) -> dict[str, Any]:
        s = state or self.read()
        wl, subscribers = self.workload, self.params["subscribers"]
        pub_order = [m for lst in s["got"] for m in lst]
        pub = tally(pub_order, wl, copy_of=[i for i, lst in enumerate(s["got"]) for _ in lst])
        not_delivered = sum(subscribers - r for r in self.receivers)
        pub_lost = not_delivered + len(s["failed"])
        log, queue = tally(s["log_done"], wl), tally(s["queue_done"], wl)
        log_dlq, queue_dlq = len({m for m, _, _ in s["log_dlq"]}), len(set(s["queue_dlq"]))
        frame = {"t_ms": t_ms, "published": published}
        for name, counts, lost, dlq, deliveries, copies in (
            (LOG, log, 0, log_dlq, s["log_deliveries"], 1),
            (PUBSUB, pub, pub_lost, 0, len(pub_order) + len(s["failed"]), subscribers),
            (QUEUE, queue, 0, queue_dlq, sum(s["queue_deliveries"].values()), 1),
        ):
            handled = counts["delivered"] + lost + dlq
            frame.update({f"{name}_deliveries": deliveries, f"{name}_delivered": counts["delivered"],
                          f"{name}_duplicates": counts["duplicates"], f"{name}_lost": lost, f"{name}_dead_lettered": dlq,
                          f"{name}_reordered": counts["reordered"], f"{name}_handled": handled,
                          f"{name}_lag": max(0, published * copies - handled), f"{name}_published": published * copies})
            self.max_lag[name] = max(self.max_lag[name], frame[f"{name}_lag"])
        return frame


class Rabbit:
    """The queue model on RabbitMQ: a uniquely named classic queue and its dead-letter queue, deleted after."""

    def __init__(self, url: str, name: str):
        from kombu import Connection

        self.name = name
        self.connection = Connection(url, connect_timeout=5)
        self.connection.ensure_connection(max_retries=1)
        self.channel = self.connection.channel()
        self.queues = [_rabbit_queue(name)(self.channel), _rabbit_queue(name + ".dlq")(self.channel)]
        for queue in self.queues:
            queue.declare()
        self.producer = self.connection.Producer(channel=self.channel)

    def publish(self, message: int) -> None:
        self.producer.publish(message, routing_key=self.name, serializer="json")

    def depth(self, name: str) -> int:
        _, count, _ = self.channel.queue_declare(queue=name, passive=True)
        return count

    def close(self) -> None:
        try:
            for queue in self.queues:
                queue.delete()
        finally:
            self.connection.release()


def run_live(params: dict[str, Any], seed: int, emit, *, redis_url: str, key_prefix: str, workdir,
             rabbitmq_url: str = "") -> dict[str, Any]:
    """Run the three models on a real Redis (and RabbitMQ) with real consumer processes; return the summary, read back."""
    wl, faults = workload(params, seed), fault_schedule(params, seed)
    workdir = Path(workdir)
    token = uuid.uuid4().hex[:12]
    keys = Keys(f"{key_prefix}messaging-{token}:", params["partitions"], params["subscribers"])
    broker = params.get("queue_broker") or REDIS_LIST
    r = redis.Redis.from_url(redis_url, socket_timeout=10)
    fleet = rabbit = None
    faults_path = workdir / FAULTS_FILE
    try:
        faults_path.write_text(json.dumps(faults.to_json()))
        for stream in keys.streams:
            r.xgroup_create(stream, GROUP, id="0", mkstream=True)
        env = {**os.environ, "LIVE_REDIS_URL": redis_url}  # by environment, not argv, where `ps` shows it
        rabbit_queue = ""
        if broker == RABBITMQ:
            rabbit_queue = f"clab-messaging-{token}"
            rabbit = Rabbit(rabbitmq_url, rabbit_queue)
            env["LIVE_RABBITMQ_URL"] = rabbitmq_url
        observer = Observer(r, keys, params, wl, rabbit)
        fleet = Fleet(
            ["--keys", keys.prefix, "--faults", str(faults_path), "--broker", broker, "--rabbitmq-queue", rabbit_queue,
             "--partitions", str(params["partitions"]), "--subscribers", str(params["subscribers"]),
             "--consumers", str(params["consumers"]), "--visibility-ms", str(params["visibility_timeout_ms"]),
             "--max-deliveries", str(params["max_deliveries"]), "--dead-letter", str(int(params["dead_letter"])),
             "--handling-ms", str(params["handling_ms"]), "--parent-pid", str(os.getpid())],
            env, workdir, params["restart_ms"],
        )
        slots = ([(PUBSUB, s) for s in range(params["subscribers"])] + [(LOG, p) for p in range(params["partitions"])]
                 + [(QUEUE, c) for c in range(params["consumers"])])
        fleet.start(slots)
        wait_for_subscribers(r, keys.channel, params["subscribers"])
        last, state = drive(params, wl, keys, r, fleet, observer, rabbit, emit, fleet.epoch)
        return summarize(params, wl, faults, keys, r, fleet, observer, last, state)
    finally:
        if fleet:
            fleet.stop()
        if rabbit:
            rabbit.close()
        names = keys.fixed() + [keys.processing(name) for name in (fleet.names[QUEUE] if fleet else [])]
        r.delete(*names)  # by name: nothing else of this Redis is touched
        r.close()
        for path in workdir.iterdir():
            if path.name == FAULTS_FILE or path.name.startswith("consumer-"):
                path.unlink(missing_ok=True)


def wait_for_subscribers(r: redis.Redis, channel: str, subscribers: int) -> None:
    """Publishing starts once every subscriber is subscribed (PUBSUB NUMSUB), or nobody would hear the first messages."""
    deadline = time.monotonic() + 30
    while r.pubsub_numsub(channel)[0][1] < subscribers:
        if time.monotonic() > deadline:
            raise RuntimeError("the subscribers did not subscribe in time")
        time.sleep(0.005)


def drive(params, wl, keys: Keys, r: redis.Redis, fleet: Fleet, observer: Observer, rabbit, emit, epoch):
    """Publish on time to all three, replace killed consumers, return timed-out messages, a frame every FRAME_EVERY_S."""
    n = len(wl)
    visibility = Visibility(r, keys, fleet, params["visibility_timeout_ms"]) if rabbit is None else None
    publish_end_s = wl.published_at(n - 1) / 1000
    # Real consumers on a busy machine run late: the drain ends once nothing has moved for drain_ms.
    quiet_s = params["drain_ms"] / 1000
    hard_deadline_s = publish_end_s + quiet_s + 120
    published, next_frame, last_t = 0, 0.0, -1
    state, progress, moved_at = None, None, 0.0
    while True:
        now = time.monotonic() - epoch
        if published < n and wl.published_at(published) <= now * 1000:
            pipe = r.pipeline(transaction=False)
            batch = []
            while published < n and wl.published_at(published) <= now * 1000:
                m = published
                pipe.publish(keys.channel, m)
                p = partition_of(wl.keys[m], params["partitions"]) if params["log_partitioning"] == KEY_PARTITIONING else m % params["partitions"]
                pipe.xadd(keys.streams[p], {"m": m})
                if rabbit is None:
                    pipe.lpush(keys["queue:ready"], m)
                batch.append(m)
                published += 1
            replies = pipe.execute()
            step = 2 if rabbit else 3
            observer.receivers.extend(replies[0::step])
            if rabbit:
                for m in batch:
                    rabbit.publish(m)
        fleet.supervise(time.monotonic())
        if visibility:
            visibility.tick(time.monotonic())
        if now >= next_frame:
            state = observer.read()
            last_t = max(last_t + 1, round(now * 1000))
            frame = observer.frame(last_t, published, state)
            emit(frame)
            next_frame += FRAME_EVERY_S
            seen = tuple(frame[f"{name}_handled"] for name in MODELS)  # a poison retried for ever is no progress
            # Quiet counts only while every slot has a consumer that is up: a restart still starting is not quiet.
            starting = fleet.restarts or not fleet.current_names() <= {m.decode() for m in r.smembers(keys["up"])}
            if seen != progress or starting:
                progress, moved_at = seen, now
            if published == n and now >= publish_end_s + 0.3 and (
                    (frame[f"{LOG}_handled"] >= n and frame[f"{QUEUE}_handled"] >= n) or now - moved_at >= quiet_s):
                break
        if now > hard_deadline_s:
            raise RuntimeError("the live run did not finish in time")
        time.sleep(TICK_S)
    state = observer.read()
    last = observer.frame(max(last_t + 1, round((time.monotonic() - epoch) * 1000)), published, state)
    emit(last)
    return last, state


def summarize(params, wl, faults: Faults, keys: Keys, r: redis.Redis, fleet: Fleet, observer: Observer, last, state) -> dict[str, Any]:
    """The simulation's summary keys, each read back from Redis (and RabbitMQ), plus what only a live run has."""
    n, subscribers = len(wl), params["subscribers"]
    kills = [raw.decode().split(":") for raw in r.lrange(keys["kills"], 0, -1)]
    offline = [tuple(float(x) for x in raw.split(b":")) for raw in r.lrange(keys["pubsub:offline"], 0, -1)]
    # Copies Redis did not deliver (PUBLISH's reply), split by whether subscriber 0 was really disconnected then.
    missed = [(m, subscribers - receivers) for m, receivers in enumerate(observer.receivers) if receivers < subscribers]
    while_disconnected = sum(count for m, count in missed if any(a <= wl.published_at(m) <= b for a, b in offline))
    received = sum(observer.receivers)
    handled_copies = sum(len(set(lst)) for lst in state["got"])
    lost_in_crash = received - handled_copies - len(state["failed"])
    summary: dict[str, Any] = {
        "engine": "live",
        "queue_broker": params.get("queue_broker") or REDIS_LIST,
        "messages": n, "keys": params["keys"], "partitions": params["partitions"], "consumers": params["consumers"],
        "subscribers": subscribers, "log_partitioning": params["log_partitioning"], "dead_letter": params["dead_letter"],
        "max_deliveries": params["max_deliveries"], "poison": sorted(faults.poison),
        "published_while_disconnected": sum(1 for m in range(n) if any(a <= wl.published_at(m) <= b for a, b in offline)),
        "duration_ms": last["t_ms"],
    }
    for name in MODELS:
        copies = subscribers if name == PUBSUB else 1
        for counter in ("deliveries", "delivered", "duplicates", "lost", "dead_lettered", "reordered", "handled"):
            summary[f"{name}_{counter}"] = last[f"{name}_{counter}"]
        summary[f"{name}_expected"] = n * copies
        summary[f"{name}_lag_end"] = last[f"{name}_lag"]
        summary[f"{name}_max_lag"] = observer.max_lag[name]
        summary[f"{name}_crashes"] = sum(1 for model, *_ in kills if model == name)
    # Pub/sub's final loss also counts what subscribers received and died holding.
    summary["pubsub_lost"] = n * subscribers - handled_copies
    summary["pubsub_handled"] = summary["pubsub_delivered"] + summary["pubsub_lost"]
    summary["pubsub_lag_end"] = 0
    summary.update({
        "pubsub_lost_while_disconnected": while_disconnected,
        "pubsub_lost_while_restarting": sum(count for _, count in missed) - while_disconnected,
        "pubsub_lost_in_crash": lost_in_crash,
        "pubsub_lost_in_overflow": 0,
        "pubsub_overflow_disconnects": 0,
        "pubsub_poison_dropped": len(state["failed"]),
    })
    for name in (LOG, QUEUE):
        summary[f"{name}_unfinished"] = n - summary[f"{name}_handled"]
    summary["pubsub_unfinished"] = 0
    log_dlq = {m: d for m, d, _ in state["log_dlq"]}
    summary["log_poison_dead_letter_deliveries"] = [log_dlq[m] for m in sorted(faults.poison) if m in log_dlq]
    deliveries = state["queue_deliveries"]
    dead_queue = set(state["queue_dlq"])
    summary["queue_poison_dead_letter_deliveries"] = [deliveries.get(m, 0) for m in sorted(faults.poison) if m in dead_queue]
    if observer.rabbit is not None:
        # What RabbitMQ itself holds: the dead-letter queue's depth, and nothing left in the queue.
        summary["rabbitmq_dead_letter_depth"] = observer.rabbit.depth(observer.rabbit.name + ".dlq")
        summary["rabbitmq_queue"] = observer.rabbit.name
    blocked, blocked_partitions = 0, 0
    for p, stream in enumerate(keys.streams):
        pending = r.xpending_range(stream, GROUP, min="-", max="+", count=10)
        for entry in pending:
            fields = r.xrange(stream, min=entry["message_id"], max=entry["message_id"])[0][1]
            if int(fields[b"m"]) in faults.poison:
                blocked_partitions += 1
                blocked += len(r.xrange(stream, min=b"(" + entry["message_id"], max="+"))
                break
    summary["log_blocked_messages"], summary["log_blocked_partitions"] = blocked, blocked_partitions
    summary["log_replayable"] = sum(max(0, r.xlen(stream) - params["replay_from_offset"]) for stream in keys.streams)
    summary["queue_left_in_queue"] = (observer.rabbit.depth(observer.rabbit.name) if observer.rabbit is not None
                                      else r.llen(keys["queue:ready"]))
    summary.update({
        # Only a live run has these.
        "consumer_processes_started": len(fleet.started),
        "consumer_processes_killed": dict(fleet.killed),
        "killed_deliveries": [f"{model}:{m}:{a}" for model, m, a in kills],
        "subscriber_disconnects": [[round(a), round(b)] for a, b in offline],
        "publish_receivers": observer.receivers,
        "stream_lengths": [r.xlen(stream) for stream in keys.streams],
        "log_handled_order": state["log_done"],
        "queue_handled_order": state["queue_done"],
        "pubsub_received": state["got"],
        "log_dead_letter_stream": [[m, d, p] for m, d, p in state["log_dlq"]],
    })
    return summary


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "consumer":
        sys.exit("usage: python -m playground.experiments.messaging.live consumer ... (started by run_live)")
    sys.exit(consumer_main(sys.argv[2:]))
