"""The messaging experiment, live: Redis Pub/Sub, Streams and a list queue (and RabbitMQ, where it answers).

Consumer processes really SIGKILL themselves after the handler's effect and
before the ack; subscriber 0 really closes its connection for half a second.
Every number checked here was read back from Redis (or RabbitMQ). A run takes
tens of seconds of wall time on a busy machine; no assertion depends on timing.
"""

import os

import psutil
import pytest
import redis
from django.conf import settings

from playground import live as frames_channel
from playground.experiments import messaging
from playground.experiments.messaging.faults import fault_schedule
from playground.experiments.messaging.live import run_live
from tests.support import valid_params

pytestmark = pytest.mark.integration

EXPERIMENT = messaging.EXPERIMENT
# RABBITMQ_URL if set, else the loopback broker with RabbitMQ's default account.
RABBITMQ_URL = os.environ.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672//"
SEED = 6  # its schedule: message 23 is poison; the first deliveries of messages 13 and 37 crash their consumer
# (13 is published at 325 ms, while subscriber 0 is away, so only the log and the queue crash on it)


def live_params(**overrides):
    return valid_params(EXPERIMENT, **{
        **messaging.LIVE_PRESET, "messages": 60, "publish_rate": 40, "crash_probability": 0.04, "restart_ms": 200,
        "visibility_timeout_ms": 300, "disconnect_start_ms": 100, "disconnect_ms": 500, "max_deliveries": 2,
        "drain_ms": 1500, **overrides,
    })


def consumer_processes():
    found = []
    for process in psutil.Process().children():
        try:
            if "playground.experiments.messaging.live" in " ".join(process.cmdline()):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def run_checked(run, params):
    """Run live; while it runs note its Redis keys and consumer processes; after, none may be left."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    pattern = frames_channel.key("live:messaging-*")
    frames, keys, pids = [], set(), set()

    def emit(frame):
        frames.append(frame)
        keys.update(client.scan_iter(match=pattern, count=1000))
        pids.update(consumer_processes())

    summary = run(params, SEED, emit)
    assert not list(client.scan_iter(match=pattern, count=1000)), "keys left behind"
    assert not consumer_processes() and not any(psutil.pid_exists(pid) for pid in pids), "a consumer outlived the run"
    client.close()
    suffixes = {key.decode().split(":", 3)[-1] for key in keys}
    expected = {"log:p0", "log:p1", "log:done", "pubsub:got:0", "queue:done"} | ({"kills"} if summary["killed_deliveries"] else set())
    assert expected <= suffixes, suffixes
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(times) and frames[-1]["t_ms"] == summary["duration_ms"]
    return summary


def check_common(summary, params):
    n = params["messages"]
    schedule = fault_schedule(params, SEED)
    assert summary["poison"] == [23]
    first_crashes = {m for m in range(n) if schedule.crashes(m, 0) and m not in schedule.poison}
    assert first_crashes == {13, 37}
    kills = [kill.split(":") for kill in summary["killed_deliveries"]]
    for model in ("log", "queue"):
        killed = {int(m) for name, m, attempt in kills if name == model and attempt == "0"}
        assert killed == first_crashes, model  # each first delivery the schedule crashes, and no other, really died
        assert summary["consumer_processes_killed"][model] == summary[f"{model}_crashes"] == len([k for k in kills if k[0] == model])
        # Nothing lost; each message handled or dead-lettered; the poison after exactly N deliveries.
        assert summary[f"{model}_lost"] == 0
        assert summary[f"{model}_delivered"] + summary[f"{model}_dead_lettered"] == n
        assert summary[f"{model}_poison_dead_letter_deliveries"] == [params["max_deliveries"]]
        # Each kill came after the effect and before the ack: the redelivery applied it again.
        assert summary[f"{model}_duplicates"] >= summary[f"{model}_crashes"]
    # One reader per stream, and a pending entry is taken back before anything new: per-key order holds.
    assert summary["log_reordered"] == 0
    assert summary["log_duplicates"] == summary["log_crashes"]
    assert sorted(set(summary["log_handled_order"])) == [m for m in range(n) if m != 23]
    assert summary["log_dead_letter_stream"][0][:2] == [23, params["max_deliveries"]]
    assert sum(summary["stream_lengths"]) == summary["log_replayable"] == n  # the log kept every entry
    # Pub/sub: subscriber 0 really went away once, and Redis delivered nothing to anyone meanwhile.
    [(away, back)] = summary["subscriber_disconnects"]
    assert back > away
    assert summary["pubsub_lost_while_disconnected"] > 0
    assert summary["publish_receivers"].count(0) >= summary["pubsub_lost_while_disconnected"]
    received = sum(len(set(copies)) for copies in summary["pubsub_received"])
    assert summary["pubsub_lost"] == n - received > 0
    assert summary["pubsub_duplicates"] == summary["pubsub_reordered"] == 0
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["Pub/sub: messages lost"].ok is False
    assert checks["Log: handled out of order for their key"].ok is True
    assert checks["Log: messages lost"].ok is True and checks["Queue: messages lost"].ok is True


def test_live_on_redis_the_log_keeps_order_the_queue_redelivers_and_pubsub_loses(tmp_path):
    params = live_params()
    summary = run_checked(lambda p, seed, emit: run_live(
        p, seed, emit, redis_url=settings.REDIS_URL, key_prefix=frames_channel.key("live:"), workdir=tmp_path,
    ), params)
    assert list(tmp_path.iterdir()) == [], "files left behind"
    assert summary["queue_broker"] == "redis-list" and summary["queue_left_in_queue"] == 0
    check_common(summary, params)


def test_live_without_a_dead_letter_stream_the_poison_blocks_its_partition():
    params = live_params(dead_letter=False, crash_probability=0, disconnect_ms=0)
    summary = run_checked(EXPERIMENT.run, params)  # through the experiment, as the worker runs it
    assert summary["log_blocked_partitions"] == 1 and summary["log_blocked_messages"] > 0
    assert summary["log_unfinished"] == summary["log_blocked_messages"] + 1
    # The queue redelivers its poison too, but nothing waits behind it.
    assert summary["queue_unfinished"] == 1 and summary["queue_delivered"] == params["messages"] - 1
    assert summary["log_reordered"] == 0 and summary["log_lost"] == summary["queue_lost"] == 0


def rabbitmq_answers() -> bool:
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def test_live_queue_on_rabbitmq_with_manual_acks(tmp_path, settings):
    if not rabbitmq_answers():
        pytest.skip(f"no RabbitMQ answers at {RABBITMQ_URL}")
    from kombu import Connection

    settings.RABBITMQ_URL = RABBITMQ_URL
    params = live_params(queue_broker="rabbitmq")
    summary = run_checked(lambda p, seed, emit: run_live(
        p, seed, emit, redis_url=settings.REDIS_URL, key_prefix=frames_channel.key("live:"), workdir=tmp_path,
        rabbitmq_url=RABBITMQ_URL,
    ), params)
    assert summary["queue_broker"] == "rabbitmq"
    # RabbitMQ's own count: the poison in the dead-letter queue, nothing left in the queue.
    assert summary["rabbitmq_dead_letter_depth"] == 1 and summary["queue_left_in_queue"] == 0
    check_common(summary, params)
    # The run's queues were deleted: a passive declare finds neither.
    with Connection(RABBITMQ_URL, connect_timeout=5) as connection:
        for name in (summary["rabbitmq_queue"], summary["rabbitmq_queue"] + ".dlq"):
            channel = connection.channel()
            with pytest.raises(Exception, match="NOT_FOUND"):
                channel.queue_declare(queue=name, passive=True)
