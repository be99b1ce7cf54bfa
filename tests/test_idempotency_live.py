"""The idempotency experiment, live: a real Redis stream, real consumer processes, real SIGKILLs.

Each run here takes a few seconds of wall time: the producer paces messages
in real time and every crash kills and replaces a Python process.
"""

import os
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from playground import live
from playground.experiments import idempotency
from playground.experiments.idempotency import DEDUP_CACHE_TTL, DEDUP_TABLE, NAIVE, amount_cents, fault_schedule
from playground.experiments.idempotency_live import run_live
from playground.models import ExperimentRun

pytestmark = pytest.mark.integration

EXPERIMENT = idempotency.EXPERIMENT
LIVE_ONLY_KEYS = {
    "engine", "consumer_processes_killed", "consumer_processes_started", "redeliveries_via_xautoclaim",
    "killed_message_ids", "reclaimed_message_ids", "double_charged_message_ids",
}


def live_params(**overrides):
    cleaned, errors = EXPERIMENT.clean_params({
        "engine": "live", "messages": 100, "visibility_timeout_ms": 300, "duplicate_rate": 0,
        "late_redelivery_rate": 0, "late_redelivery_ms": 1_000, **overrides,
    })
    assert not errors, errors
    return cleaned


def consumer_pids() -> set[int]:
    """Live consumer processes whose parent is this test process."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended while we looked
        if b"playground.experiments.idempotency_live" in cmdline and parent == os.getpid():
            pids.add(int(entry.name))
    return pids


def run_checked(tmp_path, seed, **overrides):
    """Run live; while it runs, note its Redis keys, ledger files and consumer processes; after, none may be left."""
    params = live_params(**overrides)
    client = redis.Redis.from_url(settings.REDIS_URL)
    pattern = live.key("live:idempotency-*")
    frames, keys, files, pids = [], set(), set(), set()

    def emit(frame):
        frames.append(frame)
        keys.update(client.scan_iter(match=pattern, count=1000))
        files.update(path.name for path in tmp_path.iterdir())
        pids.update(consumer_pids())

    started = time.monotonic()
    summary = run_live(params, seed, emit, redis_url=settings.REDIS_URL, workdir=tmp_path)
    print(f"live {params['mode']} seed {seed}: {time.monotonic() - started:.1f} s wall, {len(frames)} frames")

    assert any(key.endswith(b":charges") for key in keys)  # the stream was really there
    assert "ledger.sqlite3" in files  # and so was the ledger
    assert len(pids) >= 2  # an active consumer and its spare, at least
    assert not list(client.scan_iter(match=pattern, count=1000)), "keys left behind"
    assert list(tmp_path.iterdir()) == [], "files left behind"
    assert not consumer_pids(), "a consumer outlived the run"
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()], "a consumer outlived the run"

    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(set(times))
    assert frames[-1]["t_ms"] == summary["duration_ms"] and frames[-1]["pending"] == 0
    assert set(frames[-1]) >= {key for key, _ in EXPERIMENT.table_columns}
    # Every message applied at least once, whatever the handler.
    assert summary["messages_never_applied"] == 0
    assert summary["consumer_crashes"] == summary["consumer_processes_killed"]
    client.close()
    return params, summary, frames


def simulated(params, seed):
    summary = EXPERIMENT.run({**params, "engine": "simulation"}, seed, lambda frame: None)
    return {key: value for key, value in summary.items() if key != "duration_ms"}


def shared(summary):
    return {key: value for key, value in summary.items() if key not in LIVE_ONLY_KEYS | {"duration_ms"}}


def test_naive_live_double_charges_exactly_the_messages_whose_consumer_was_killed_before_the_ack(tmp_path):
    seed = 10
    params, summary, frames = run_checked(tmp_path, seed, mode=NAIVE, crash_probability=0.04)
    crashes = sorted(fault_schedule(params, seed).crashes)
    assert crashes == [(8, 0), (92, 0), (92, 1)]  # 92's first redelivery is killed too

    killed = sorted(message for message, _ in crashes)
    assert summary["consumer_processes_killed"] == 3
    assert summary["killed_message_ids"] == killed
    # Each stranded entry came back through XAUTOCLAIM, once per kill.
    assert summary["reclaimed_message_ids"] == killed
    assert summary["redeliveries_via_xautoclaim"] == 3
    # ...and each came back to a handler that charged it again.
    assert summary["double_charged_message_ids"] == [8, 92]
    assert summary["double_charges"] == 3
    assert summary["charges_applied"] == 103
    assert summary["overcharged_eur"] == (amount_cents(8) + 2 * amount_cents(92)) / 100
    # The stranded entry sat in the pending list for a visibility timeout, across frames.
    assert sum(frame["pending"] > 0 for frame in frames) >= 2
    # The stores tell the same story as the simulation of the same seed, so the same verdict applies.
    assert shared(summary) == simulated(params, seed)
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert not checks["Double charges"].ok and checks["Messages never applied"].ok


def test_the_dedup_table_live_applies_every_message_exactly_once_with_consumers_sigkilled(tmp_path):
    seed = 11
    params, summary, frames = run_checked(
        tmp_path, seed, mode=DEDUP_TABLE, messages=150, crash_probability=0.06,
        duplicate_rate=0.05, late_redelivery_rate=0.05, late_redelivery_ms=800,
    )
    schedule = fault_schedule(params, seed)
    assert summary["consumer_processes_killed"] == len(schedule.crashes) == 3
    assert summary["reclaimed_message_ids"] == summary["killed_message_ids"] == sorted(m for m, _ in schedule.crashes)
    assert summary["broker_duplicates"] == len(schedule.duplicates) and summary["late_redeliveries"] == len(schedule.late)
    assert summary["redeliveries"] > summary["consumer_processes_killed"]
    assert summary["double_charges"] == 0 and summary["double_charged_message_ids"] == []
    assert summary["charges_applied"] == 150 and summary["overcharged_eur"] == 0
    assert summary["max_dedup_records"] == 150
    assert all(frame["charges"] == frame["messages"] for frame in frames)
    assert shared(summary) == simulated(params, seed)
    assert all(check.ok is not False for check in EXPERIMENT.verdict(summary))


def test_the_dedup_cache_live_charges_again_for_a_copy_that_arrives_after_the_ttl(tmp_path):
    seed = 4
    params, summary, _ = run_checked(
        tmp_path, seed, mode=DEDUP_CACHE_TTL, crash_probability=0, dedup_ttl_ms=500,
        late_redelivery_rate=0.1, late_redelivery_ms=1_500,
    )
    late = sorted(message for message, _ in fault_schedule(params, seed).late)
    assert len(late) == 5
    assert summary["late_redeliveries"] == 5
    # Every late copy came 1.5 s after its original was acknowledged (the producer holds it back until then,
    # however far behind a loaded consumer runs), long after the 0.5 s entry expired.
    assert summary["double_charges"] == summary["double_charges_after_ttl"] == 5
    assert summary["double_charged_message_ids"] == late
    assert summary["double_charges_from_crash_before_cache_write"] == 0
    assert 0 < summary["max_dedup_records"] < 100  # entries really expire
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert not checks["Double charges after the dedup entry expired"].ok


def test_the_dedup_cache_live_charges_again_after_a_kill_between_the_charge_and_the_cache_write(tmp_path):
    seed = 11
    params, summary, _ = run_checked(
        tmp_path, seed, mode=DEDUP_CACHE_TTL, messages=120, crash_probability=0.05, crash_before_cache_write=1,
        dedup_ttl_ms=60_000,
    )
    crashes = sorted(fault_schedule(params, seed).crashes)
    assert len(crashes) == 2
    # A TTL of a minute outlives every redelivery, and still each kill in the gap is a double charge.
    assert summary["crashes_before_cache_write"] == 2
    assert summary["double_charges"] == summary["double_charges_from_crash_before_cache_write"] == 2
    assert summary["double_charges_after_ttl"] == 0
    assert summary["double_charged_message_ids"] == sorted(m for m, _ in crashes)
    assert summary["reclaimed_message_ids"] == sorted(m for m, _ in crashes)
    expected = simulated(params, seed)
    assert {k: v for k, v in shared(summary).items() if k != "max_dedup_records"} == {
        k: v for k, v in expected.items() if k != "max_dedup_records"
    }


def test_live_runs_are_bounded_tighter_than_simulations():
    _, errors = EXPERIMENT.clean_params({
        "engine": "live", "messages": 1_001, "visibility_timeout_ms": 2_001, "late_redelivery_ms": 5_001,
    })
    # 1,001 messages at the default crash rate also overrun the crash budget, and it says so at once.
    assert set(errors) == {"messages", "visibility_timeout_ms", "late_redelivery_ms", "crash_probability"}
    assert "Live runs take at most 1,000 messages" in errors["messages"][0]
    _, errors = EXPERIMENT.clean_params({"engine": "live", "messages": 1_000, "crash_probability": 0.2, "late_redelivery_ms": 1_000})
    assert set(errors) == {"crash_probability"} and "kill and restart a real consumer process" in errors["crash_probability"][0]
    # The same numbers are fine for a simulation, and a form without an engine is one.
    assert not EXPERIMENT.clean_params({"messages": 1_001, "visibility_timeout_ms": 2_001, "late_redelivery_ms": 5_001})[1]
    assert EXPERIMENT.form_class(data={**EXPERIMENT.default_params(), "engine": ""}).is_valid()
    assert EXPERIMENT.clean_params({"engine": ""})[0]["engine"] == "simulation"
    assert not EXPERIMENT.clean_params(EXPERIMENT.presets["dedup-table-live"].params)[1]


@pytest.mark.django_db(transaction=True)
def test_a_live_run_submitted_over_http_runs_in_the_worker_and_streams_frames(client, celery_worker_process, follow_run):
    scratch = Path(settings.BASE_DIR) / "var" / "live"
    before = set(scratch.glob("idempotency-*"))
    response = client.post("/experiments/idempotency/", {
        "engine": "live", "mode": DEDUP_TABLE, "messages": 200, "accounts": 5, "crash_probability": 0.03,
        "visibility_timeout_ms": 500, "duplicate_rate": 0.02, "late_redelivery_rate": 0.02, "late_redelivery_ms": 1_000,
        "dedup_ttl_ms": 5_000, "crash_before_cache_write": 0, "seed": 10, "idempotency_key": uuid.uuid4().hex,
        "prediction": 0,
    })
    assert response.status_code == 302, response.content
    run = ExperimentRun.objects.get(id=response["Location"].split("/")[2])
    seen = follow_run(client, run.id, timeout=120)
    collected, polls_with_frames = seen["frames"], seen["live_polls"]
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED, run.error
    assert polls_with_frames >= 3  # frames arrived while the consumers were still at work
    assert collected == run.frames
    summary = run.summary
    assert summary["engine"] == "live"
    assert summary["consumer_processes_killed"] == len(fault_schedule(run.params, run.seed).crashes) == 4
    assert summary["double_charges"] == 0 and summary["messages_never_applied"] == 0
    assert summary["charges_applied"] == 200
    after = set(scratch.glob("idempotency-*"))
    assert after <= before, "the run's scratch directory was left behind"
