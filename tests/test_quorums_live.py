"""Live mode of the quorums experiment: real redis-server replicas, really SIGSTOPped, read back by the test."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import redis

from playground.experiments import get_experiment
from playground.experiments.quorums import live
from playground.experiments.quorums.live import parse

EXPERIMENT = get_experiment("quorums")


# Half the presets' length: 2.5 s of real time, a 1 s partition.
SHORT = {"operations": 250, "partition_start_ms": 800, "partition_ms": 1_000}


def live_params(preset: str, **overrides) -> dict:
    cleaned, errors = EXPERIMENT.clean_params({**EXPERIMENT.presets[preset].params, **SHORT, **overrides})
    assert not errors, errors
    return cleaned


def our_redis_servers() -> list[psutil.Process]:
    """redis-server children of this test process (redis rewrites its command line, so go by name)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name().startswith("redis-server") and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def replicas_by_name(workdir: Path) -> dict[str, psutil.Process]:
    """Each replica's process, from the pid file it writes into its own directory."""
    found = {}
    for pidfile in workdir.glob("*/redis.pid"):
        try:
            found[pidfile.parent.name] = psutil.Process(int(pidfile.read_text()))
        except (ValueError, OSError, psutil.NoSuchProcess):
            pass
    return found


def run_and_inspect(params: dict, tmp_path: Path) -> tuple[dict, list[dict], dict]:
    """Run live; while the partition lasts, ask the kernel about the replicas; before cleanup, read them."""
    frames: list[dict] = []
    seen: dict = {"stopped_during_partition": set(), "running_outside": set()}

    def emit(frame: dict) -> None:
        frames.append(frame)
        for name, process in replicas_by_name(tmp_path).items():
            if process.status() == psutil.STATUS_STOPPED:
                seen["stopped_during_partition"].add(name)
            elif not frame["partitioned"]:
                seen["running_outside"].add(name)

    def inspect(summary: dict, ports: list[int]) -> None:
        seen["held"] = []
        for port in ports:
            client = redis.Redis(port=port, socket_timeout=5)
            seen["held"].append({key.decode(): {parse(v) for v in client.smembers(key)} for key in client.scan_iter("k*")})
            client.close()

    summary = live.run_live(params, 7, emit, workdir=tmp_path, before_cleanup=inspect)
    return summary, frames, seen


def assert_nothing_left(summary: dict, tmp_path: Path) -> None:
    for pid in summary["pids"]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert our_redis_servers() == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_strict_live_quorums_refuse_while_two_replicas_are_stopped_and_lose_nothing(tmp_path):
    summary, frames, seen = run_and_inspect(live_params("live-strict"), tmp_path)

    # The kernel saw exactly the cut-off replicas stopped, and every replica running outside the partition.
    assert seen["stopped_during_partition"] == {"replica-1", "replica-2"}
    assert {"replica-0", "replica-1", "replica-2"} <= seen["running_outside"]
    assert summary["replicas_really_stopped"] == 2
    # One replica cannot make a quorum of two: every request in the partition timed out and was refused.
    assert summary["partition_majority_tried"] > 0 and summary["partition_majority_accepted"] == 0
    assert summary["stale_reads"] == 0
    # Read back by the test from the replicas themselves: every acknowledged write is on all three.
    assert summary["acknowledged_writes"] > 0 and summary["acknowledged_writes_lost"] == 0
    assert len(seen["held"]) == 3
    assert seen["held"][0] == seen["held"][1] == seen["held"][2]
    during = [frame for frame in frames if frame["partitioned"]]
    assert during and min(frame["available_majority"] for frame in during) == 0
    assert all(check.ok is not False for check in EXPERIMENT.verdict(summary))
    assert_nothing_left(summary, tmp_path)


@pytest.mark.integration
def test_sloppy_live_quorums_keep_accepting_through_hints_and_hand_them_off(tmp_path):
    summary, frames, seen = run_and_inspect(live_params("live-sloppy"), tmp_path)

    assert summary["replicas_really_stopped"] == 2
    assert summary["partition_majority_accepted"] == summary["partition_majority_tried"] > 0
    assert summary["hints_stored"] > 0 and summary["hints_handed_off"] > 0
    # After SIGCONT and handoff the stopped replicas hold what was written while they were stopped.
    assert summary["acknowledged_writes_lost"] == 0 and summary["acknowledged_writes_missing_on_some_replica"] == 0
    assert seen["held"][0] == seen["held"][1] == seen["held"][2]
    assert_nothing_left(summary, tmp_path)


@pytest.mark.integration
def test_the_replicas_are_gone_even_when_the_run_is_interrupted(tmp_path):
    class Interrupted(Exception):
        pass

    pids: list[int] = []

    def emit(frame):
        pids.extend(process.pid for process in our_redis_servers())
        raise Interrupted  # what a cancelled run does (RunCancelled from the emitter)

    with pytest.raises(Interrupted):
        live.run_live(live_params("live-strict"), 7, emit, workdir=tmp_path)
    assert len(pids) == 3
    assert all(not psutil.pid_exists(pid) for pid in pids)
    assert our_redis_servers() == [] and list(tmp_path.iterdir()) == []


def test_live_runs_are_bounded_and_the_engine_defaults_to_the_simulation():
    cleaned, errors = EXPERIMENT.clean_params({})
    assert not errors and cleaned["engine"] == "simulation"
    _, errors = EXPERIMENT.clean_params({"engine": "live", "operations": 1_001})
    assert "at most 1,000 operations" in errors["operations"][0]
    _, errors = EXPERIMENT.clean_params({"engine": "live", "operations": 1_000, "interval_ms": 50})
    assert "within 20 s" in errors["interval_ms"][0]
    _, errors = EXPERIMENT.clean_params({"engine": "live", "operations": 500, "interval_ms": 2})
    assert "At least 5 ms" in errors["interval_ms"][0]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_live_run_through_http_and_the_celery_worker_succeeds_and_streams_frames(client, celery_worker_process,
                                                                                   follow_run):
    import uuid

    from playground.models import ExperimentRun

    data = {**live_params("live-sloppy"), "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 0}
    data = {name: value for name, value in data.items() if value is not False}  # an unticked box is absent
    response = client.post("/experiments/quorums/", data)
    assert response.status_code == 302, response.content
    run = ExperimentRun.objects.get(id=response["Location"].split("/")[2])
    seen = follow_run(client, run.id, timeout=120)
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED, run.error
    assert seen["live_polls"] >= 2  # frames arrived while the replicas were still running
    assert run.summary["engine"] == "live" and run.summary["replicas_really_stopped"] == 2
    assert run.summary["acknowledged_writes_lost"] == 0
    assert {check.label for check in EXPERIMENT.verdict(run.summary)} >= {"Replica processes SIGSTOPped for the partition"}
