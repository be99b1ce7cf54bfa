"""The locks experiment, live: a real Redis lock, a client process really SIGSTOPped past its TTL, a SQLite storage.

Each run takes a second or two of wall time: the paused process really stays
stopped for 600 ms while the other one takes the lock and works.
"""

import time
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings

from playground import live as frames_channel
from playground.experiments import locks
from playground.experiments.locks.faults import fault_schedule
from playground.experiments.locks.live import run_live
from playground.experiments.locks.model import FENCING, NO_FENCING
from tests.support import valid_params

pytestmark = pytest.mark.integration

EXPERIMENT = locks.EXPERIMENT
SEED = 8  # its schedule pauses exactly one lease, token 4, for 600 ms: three TTLs
SHARED_KEYS = [
    "leases_granted", "writes_landed", "writes_accepted", "writes_refused", "late_writes", "late_writes_accepted",
    "stale_writes_accepted", "lost_writes", "corrupted_records", "abandoned_by_lease_check", "pauses", "pauses_past_ttl",
]


def live_params(mode):
    return valid_params(EXPERIMENT, **{
        **locks.LIVE_PRESET, "mode": mode, "operations": 12, "lease_ttl_ms": 200, "work_ms": 15,
        "network_delay_ms": 1, "pause_ms": 600, "pause_probability": 0.1,
    })


def client_processes():
    """This process's live client children, with their state: (pid, status)."""
    found = []
    for process in psutil.Process().children():
        try:
            if "playground.experiments.locks.live" in " ".join(process.cmdline()):
                found.append((process.pid, process.status()))
        except psutil.Error:
            continue  # it ended while we looked (a zombie until the parent reaps it)
    return found


def run_checked(run, params):
    """Run live; while it runs, note its Redis keys and client processes (and which were stopped); after, none may be left."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    pattern = frames_channel.key("live:locks-*")
    frames, keys, pids, stopped = [], set(), set(), set()

    def emit(frame):
        frames.append(frame)
        keys.update(client.scan_iter(match=pattern, count=1000))
        for pid, status in client_processes():
            pids.add(pid)
            if status == psutil.STATUS_STOPPED:
                stopped.add(pid)

    started = time.monotonic()
    summary = run(params, SEED, emit)
    print(f"live {params['mode']}: {time.monotonic() - started:.2f} s wall, {len(frames)} frames")

    assert any(key.endswith(b":tokens") for key in keys)  # the lock's token counter was really there
    assert len(pids) == 2
    assert len(stopped) == 1, "exactly one client process was seen stopped"
    assert not list(client.scan_iter(match=pattern, count=1000)), "keys left behind"
    assert not client_processes() and not any(psutil.pid_exists(pid) for pid in pids), "a client outlived the run"
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(times) and frames[-1]["t_ms"] == summary["duration_ms"]
    # The pause the schedule asked for happened, really: the process was stopped past its TTL, then continued.
    assert summary["scheduled_pause_tokens"] == summary["paused_tokens"] == [4]
    assert summary["processes_seen_stopped"] == 1
    assert summary["sigstop_pauses"][0]["stopped_for_ms"] >= 600 > params["lease_ttl_ms"]
    assert summary["late_write_tokens"] == [4]
    assert summary["leases_granted"] == summary["writes_landed"] == 12
    client.close()
    return summary


def simulated(params):
    summary = EXPERIMENT.run({**params, "engine": "simulation"}, SEED, lambda frame: None)
    return {key: summary[key] for key in SHARED_KEYS}


def test_without_fencing_the_paused_holders_late_write_lands_over_a_newer_one(tmp_path):
    params = live_params(NO_FENCING)
    summary = run_checked(lambda p, seed, emit: run_live(
        p, seed, emit, redis_url=settings.REDIS_URL, key_prefix=frames_channel.key("live:"), workdir=tmp_path,
    ), params)
    assert list(tmp_path.iterdir()) == [], "files left behind"
    stale = summary["first_stale_accepted"]
    assert stale["token"] == 4 and stale["after"] > 4
    assert summary["stale_writes_accepted"] == summary["lost_writes"] == summary["corrupted_records"] == 1
    # Read back from the SQLite file: the record holds the stale token 4, not the newest one.
    [(record, token, fence, _)] = summary["records_read_back"]
    assert (record, token, fence) == (0, 4, 0)
    assert {key: summary[key] for key in SHARED_KEYS} == simulated(params)
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["Corrupted records"].ok is False and checks["Stale writes accepted (a lower token after a higher one)"].ok is False


def test_with_fencing_the_storage_refuses_the_paused_holders_token():
    scratch = Path(settings.BASE_DIR) / "var" / "live"
    before = set(scratch.glob("locks-*"))
    params = live_params(FENCING)
    assert fault_schedule(params, SEED) == fault_schedule(live_params(NO_FENCING), SEED)
    summary = run_checked(EXPERIMENT.run, params)  # through the experiment, as the worker runs it
    assert set(scratch.glob("locks-*")) <= before, "the run's scratch directory was left behind"
    refused = summary["first_refused"]
    assert refused["token"] == 4 and refused["after"] > 4
    assert summary["writes_refused"] == 1 and summary["stale_writes_accepted"] == summary["corrupted_records"] == 0
    [(record, token, fence, _)] = summary["records_read_back"]
    assert (record, token, fence) == (0, 12, 12)  # the newest holder's write stands
    assert {key: summary[key] for key in SHARED_KEYS} == simulated(params)
    assert all(check.ok for check in EXPERIMENT.verdict(summary) if check.ok is not None)
