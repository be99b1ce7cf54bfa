"""Live mode of the dual-write experiment: real processes, a real SQLite file, a real Redis Stream.

Nothing is mocked: writers and relays really die of SIGKILL, and every number is
checked against the stores themselves, read by the test while they still exist.
The broker is the run's own redis-server, SIGSTOPped for the outage; the app's Redis
(REDIS_URL) is not touched by a live run at all.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings

from playground import live
from playground.experiments import dual_write, dual_write_live, get_experiment
from playground.experiments.dual_write import LIVE, LIVE_MAX_ORDERS, NAIVE, OUTBOX, PUBLISH_FIRST, fault_schedule
from playground.models import ExperimentRun

EXPERIMENT = get_experiment("dual-write")
CHART_KEYS = {"t_ms", "orders", "events", "orders_without_event", "events_without_order", "outbox_backlog"}


def live_params(**overrides) -> dict:
    cleaned, errors = EXPERIMENT.clean_params({"engine": LIVE, **overrides})
    assert not errors, errors
    return cleaned




def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def our_live_children() -> list[psutil.Process]:
    """Child processes of this test process that are live-run writers, relays, consumers or brokers."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            # redis-server rewrites its command line; the broker is known by its working directory.
            if any("dual_write_live" in part for part in child.cmdline()) or is_broker(child):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def is_broker(process: psutil.Process, under: str = "/dual-write-") -> bool:
    return process.name() == "redis-server" and under in process.cwd()


def assert_gone(pids: list[int]) -> None:
    for pid in pids:
        try:
            process = psutil.Process(pid)
            cmdline = " ".join(process.cmdline())
            broker = is_broker(process)
        except psutil.NoSuchProcess:
            continue
        assert "dual_write_live" not in cmdline and not broker, f"{pid} outlived the run: {cmdline}"


def run_and_inspect(params: dict, seed: int, tmp_path: Path, **kwargs) -> tuple[dict, list[dict], dict]:
    """Run live; before cleanup, read the SQLite file and the stream directly."""
    frames: list[dict] = []
    seen: dict = {}

    def inspect(summary: dict, artifacts: dict) -> None:
        client = redis.Redis.from_url(artifacts["broker_url"])
        seen["artifacts"] = artifacts
        seen["stream_orders"] = [int(fields[b"order_id"]) for _, fields in client.xrange(artifacts["stream"])]
        seen["xlen"] = client.xlen(artifacts["stream"])
        seen["projection"] = {int(k): int(v) for k, v in client.hgetall(artifacts["projection"]).items()}
        seen["groups"] = [group["name"].decode() for group in client.xinfo_groups(artifacts["stream"])]
        with sqlite3.connect(artifacts["db"]) as db:
            seen["orders"] = {row[0] for row in db.execute("SELECT id FROM orders")}
            seen["unsent"] = db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
            seen["journal_mode"] = db.execute("PRAGMA journal_mode").fetchone()[0]
        db.close()

    summary = dual_write_live.run_live(
        params, seed, frames.append, redis_url=settings.REDIS_URL, workdir=tmp_path, before_cleanup=inspect, **kwargs
    )
    return summary, frames, seen


def assert_cleaned_up(seen: dict, tmp_path: Path) -> None:
    artifacts = seen["artifacts"]
    assert redis_client().exists(artifacts["stream"], artifacts["projection"]) == 0
    assert not Path(artifacts["db"]).exists()
    assert list(tmp_path.iterdir()) == []
    assert_gone(artifacts["pids"] + [artifacts["broker_pid"]])
    assert our_live_children() == []


@pytest.mark.integration
def test_naive_live_really_kills_the_scheduled_writers_and_loses_exactly_their_events(tmp_path):
    params = live_params(mode=NAIVE, orders=200, crash_probability=0.05, outage_ms=0)
    crashes = fault_schedule(params, 3).crashes
    assert len(crashes) >= 5

    summary, frames, seen = run_and_inspect(params, 3, tmp_path)

    # Real processes died of SIGKILL, one per scheduled crash, and were replaced.
    assert summary["writer_processes_killed"] == len(crashes)
    assert summary["writer_processes_started"] == len(crashes) + 1
    # Exactly the crashed orders are committed with no event: read from the stores themselves.
    assert seen["orders"] == set(range(200))
    assert seen["orders"] - set(seen["stream_orders"]) == crashes
    assert summary["orders_committed"] == 200
    assert summary["orders_without_event"] == len(crashes)
    assert summary["events_without_order"] == 0
    assert summary["events_published"] == seen["xlen"] == 200 - len(crashes)
    # The consumer's projection saw every published event once.
    assert seen["projection"] == {order: 1 for order in seen["stream_orders"]}
    assert summary["consumer_caught_up"] and seen["groups"] == [dual_write_live.GROUP]
    assert seen["journal_mode"] == "wal"
    assert frames[-1]["orders_without_event"] == len(crashes)
    assert_cleaned_up(seen, tmp_path)


@pytest.mark.integration
@pytest.mark.parametrize("mode", [NAIVE, PUBLISH_FIRST])
def test_live_counts_match_the_simulation_for_the_same_seed(mode, tmp_path):
    # A heavy schedule with an outage, and a crash on the very last order (99).
    params = live_params(mode=mode, orders=100, crash_probability=0.2, outage_start_ms=300, outage_ms=300)
    schedule = fault_schedule(params, 34)
    assert 99 in schedule.crashes

    summary, _, seen = run_and_inspect(params, 34, tmp_path)
    simulated = EXPERIMENT.run({**params, "engine": "simulation"}, 34, lambda frame: None)

    for key in ["orders_committed", "orders_without_event", "events_without_order", "orders_rejected",
                "duplicate_deliveries"]:
        assert summary[key] == simulated[key], key
    # A publish-first writer whose publish failed has no "between its two steps" to die in.
    killed = {c for c in schedule.crashes if mode != PUBLISH_FIRST or schedule.broker_up(c * dual_write.ARRIVAL_MS)}
    assert summary["writer_processes_killed"] == len(killed)
    assert summary["events_published"] == seen["xlen"] == len(seen["stream_orders"])
    assert_cleaned_up(seen, tmp_path)


@pytest.mark.integration
@pytest.mark.parametrize("mode", [NAIVE, PUBLISH_FIRST])
def test_the_outage_is_the_brokers_redis_server_really_stopped_while_writers_keep_going(mode, tmp_path):
    params = live_params(mode=mode, orders=100, crash_probability=0, outage_start_ms=300, outage_ms=200)
    inside = {order for order in range(100) if not fault_schedule(params, 5).broker_up(order * dual_write.ARRIVAL_MS)}
    assert inside == set(range(30, 50))
    during: list[dict] = []

    def emit(frame: dict) -> None:
        if frame["broker_up"]:
            return
        # While the run says the broker is down, find its redis-server and ask it ourselves.
        (broker,) = [child for child in psutil.Process().children(recursive=True) if is_broker(child, str(tmp_path))]
        (port,) = {c.laddr.port for c in broker.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        probe = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.3)
        try:
            probe.ping()
            answered = True
        except redis.TimeoutError:
            answered = False
        finally:
            probe.close()
        during.append({"status": broker.status(), "answered": answered, "orders": frame["orders"]})

    seen: dict = {}

    def inspect(summary: dict, artifacts: dict) -> None:
        client = redis.Redis.from_url(artifacts["broker_url"])
        seen["stream_orders"] = [int(fields[b"order_id"]) for _, fields in client.xrange(artifacts["stream"])]
        with sqlite3.connect(artifacts["db"]) as db:
            seen["orders"] = {row[0] for row in db.execute("SELECT id FROM orders")}
        db.close()
        seen["artifacts"] = artifacts

    summary = dual_write_live.run_live(params, 5, emit, redis_url=settings.REDIS_URL, workdir=tmp_path,
                                       before_cleanup=inspect)

    # The process was stopped (state T) and did not answer a PING of ours.
    assert during and all(d["status"] == psutil.STATUS_STOPPED and not d["answered"] for d in during)
    assert summary["broker_stopped_ms"] >= 200
    # Every order inside the window met the stopped broker; none of its timed-out
    # publishes landed when the broker was continued, and every order around it went through.
    assert not inside & set(seen["stream_orders"])
    if mode == NAIVE:
        assert seen["orders"] == set(range(100))  # the writers kept going: committed, event lost
        assert summary["orders_without_event"] == len(inside)
    else:
        assert seen["orders"] == set(range(100)) - inside  # refused, nothing written
        assert summary["orders_rejected"] == len(inside) and summary["events_without_order"] == 0
    assert set(seen["stream_orders"]) == set(range(100)) - inside
    assert_cleaned_up(seen, tmp_path)


@pytest.mark.integration
def test_outbox_live_loses_nothing_through_writer_crashes_an_outage_and_relay_crashes(tmp_path):
    params = live_params(mode=OUTBOX, orders=300, crash_probability=0.05, outage_start_ms=1000, outage_ms=600,
                         relay_crash_probability=0.02)
    schedule = fault_schedule(params, 7)
    simulated = dual_write.simulate(params, schedule, lambda frame: None)

    summary, frames, seen = run_and_inspect(params, 7, tmp_path)

    assert summary["writer_processes_killed"] == len(schedule.crashes) > 0
    # One seed, the same relay faults in both engines, whatever the live timing.
    assert summary["relay_processes_killed"] == simulated["relay_crashes"] == len(schedule.relay_crashes) > 0
    # Nothing lost, nothing invented: every committed order has its event in the stream.
    assert seen["orders"] == set(range(300)) == set(seen["stream_orders"])
    assert summary["orders_without_event"] == summary["events_without_order"] == 0
    assert summary["outbox_unsent"] == seen["unsent"] == 0
    # Each relay crash republished a whole batch: duplicates, never a loss.
    assert summary["duplicate_deliveries"] == seen["xlen"] - 300 >= summary["relay_processes_killed"]
    assert summary["events_published"] == seen["xlen"]
    assert sum(seen["projection"].values()) == seen["xlen"] and summary["consumer_caught_up"]
    # The outage held the outbox back; the relay caught up afterwards.
    assert any(not frame["broker_up"] for frame in frames)
    assert max(frame["outbox_backlog"] for frame in frames) > 0
    assert frames[-1]["outbox_backlog"] == 0 and frames[-1]["orders_without_event"] == 0
    # The simulation's charts work on these frames: same keys, time strictly increasing.
    assert all(CHART_KEYS <= frame.keys() for frame in frames)
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(set(times)) and len(frames) >= 10
    assert {check.label for check in EXPERIMENT.verdict(summary)} >= {
        "Orders with no event", "Relay processes killed with SIGKILL", "Consumer projection caught up with the stream"
    }
    assert all(check.ok is not False for check in EXPERIMENT.verdict(summary))
    assert_cleaned_up(seen, tmp_path)


@pytest.mark.integration
def test_a_run_past_its_time_limit_reports_what_it_measured_and_leaves_nothing_behind(tmp_path):
    params = live_params(mode=OUTBOX, orders=100, crash_probability=0, outage_ms=0)
    summary, frames, seen = run_and_inspect(params, 7, tmp_path, timeout_s=0)
    assert summary["timed_out"] is True
    assert summary["orders_committed"] == len(seen["orders"]) <= 100
    assert summary["events_published"] == seen["xlen"]
    assert "Finished within the time limit" in {check.label for check in EXPERIMENT.verdict(summary)}
    assert_cleaned_up(seen, tmp_path)


@pytest.mark.integration
def test_children_and_keys_are_gone_even_when_the_run_is_interrupted(tmp_path):
    params = live_params(mode=OUTBOX, orders=2000, crash_probability=0.01, relay_crash_probability=0.01)
    children: list[int] = []

    class Interrupted(Exception):
        pass

    def emit(frame):
        if frame["orders"] >= 50:
            children.extend(p.pid for p in our_live_children())
            raise Interrupted  # what a cancelled run does (RunCancelled from the emitter)

    with pytest.raises(Interrupted):
        dual_write_live.run_live(params, 7, emit, redis_url=settings.REDIS_URL, workdir=tmp_path)
    assert len(children) >= 3  # a consumer, a relay and a writer at least were running
    assert_gone(children)
    assert our_live_children() == []
    assert list(tmp_path.iterdir()) == []
    assert list(redis_client().scan_iter(match=live.key("live:*"))) == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_live_run_through_http_and_the_celery_worker_succeeds_and_streams_frames(
    client, celery_worker_process, follow_run
):
    data = {
        "engine": LIVE, "mode": OUTBOX, "orders": 300, "crash_probability": 0.02, "outage_start_ms": 1000,
        "outage_ms": 500, "relay_crash_probability": 0.1, "seed": 7, "idempotency_key": uuid.uuid4().hex,
        "prediction": 0,
    }
    response = client.post("/experiments/dual-write/", data)
    assert response.status_code == 302, response.content
    run = ExperimentRun.objects.get(id=response["Location"].split("/")[2])
    seen = follow_run(client, run.id, timeout=120)
    collected, polls_with_frames = seen["frames"], seen["live_polls"]
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED, run.error
    assert polls_with_frames >= 2  # frames arrived while the processes were still running
    assert collected == run.frames and all(CHART_KEYS <= frame.keys() for frame in collected)
    assert run.summary["engine"] == LIVE
    assert run.summary["orders_committed"] == 300
    assert run.summary["orders_without_event"] == 0
    assert run.summary["consumer_caught_up"] is True


def test_the_engine_defaults_to_the_simulation_and_live_runs_are_bounded():
    cleaned, errors = EXPERIMENT.clean_params({})
    assert not errors and cleaned["engine"] == "simulation"
    form = EXPERIMENT.form_class(data={**EXPERIMENT.default_params(), "engine": ""})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["engine"] == "simulation"

    _, errors = EXPERIMENT.clean_params({"engine": LIVE, "orders": LIVE_MAX_ORDERS + 1})
    assert "at most 2,000 orders when the engine is live" in errors["orders"][0]
    _, errors = EXPERIMENT.clean_params({"engine": LIVE, "orders": LIVE_MAX_ORDERS})
    assert not errors
    _, errors = EXPERIMENT.clean_params({"engine": "simulation", "orders": 100_000})
    assert not errors
    _, errors = EXPERIMENT.clean_params({"engine": "quantum"})
    assert "engine" in errors


def test_the_outbox_live_preset_is_a_valid_live_outbox_run():
    preset = EXPERIMENT.presets["outbox-live"]
    cleaned, errors = EXPERIMENT.clean_params(preset.params)
    assert not errors
    assert cleaned["engine"] == LIVE and cleaned["mode"] == OUTBOX


def test_a_live_run_with_too_many_crashes_is_refused_with_a_clear_error():
    from playground.experiments.dual_write import EXPERIMENT

    _, errors = EXPERIMENT.clean_params({"engine": "live", "orders": 2000, "crash_probability": 0.5})
    assert "keep orders × crash probability at most 200" in errors["crash_probability"][0]


def test_a_live_outage_longer_than_the_limit_is_refused_with_a_clear_error():
    _, errors = EXPERIMENT.clean_params({"engine": "live", "outage_ms": dual_write.LIVE_MAX_OUTAGE_MS + 1})
    assert "at most 2,000 ms when the engine is live" in errors["outage_ms"][0]
    _, errors = EXPERIMENT.clean_params({"engine": "simulation", "outage_ms": 600_000})
    assert not errors
