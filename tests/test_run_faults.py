"""Faults of the run pipeline itself, really caused: Redis SIGKILLed and restarted, Redis
SIGSTOPped, a worker SIGKILLed mid-run. Nobody views a page while the app recovers.

The module has its own redis-server on a free port (never the shared one) and two
Celery workers on it, so that one can be killed while the other's reaper cleans up.
Figures (how long recovery took) are printed; run with -s to see them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings

from playground.experiments.dual_write import LIVE, OUTBOX
from playground.models import ExperimentRun
from playground.scratch import scratch_root
from scripts.with_redis import find_redis_server, free_port

from .conftest import ROOT, _database_url_of_test_db

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

URL = "/experiments/dual-write/"
# Fast enough for a test, the same mechanism as the defaults (5 s, 30 s, 30 s).
REAPER_ENV = {"RUN_REAPER_INTERVAL_SECONDS": "0.5", "RUN_HEARTBEAT_TIMEOUT_SECONDS": "5",
              "RUN_REDISPATCH_AFTER_SECONDS": "2", "RUN_FRAME_DELAY_MS": "15"}


class PrivateRedis:
    """A redis-server of our own that the tests may kill, stop and restart."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [find_redis_server(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    pytest.fail("the private redis-server did not start")
                time.sleep(0.02)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)


def other_test_workers() -> list[psutil.Process]:
    """This test process's session-wide Celery worker (conftest), if one was started: it shares our database."""
    found = []
    for child in psutil.Process().children():
        try:
            if "celery" in " ".join(child.cmdline()) and f"--hostname=test-{os.getpid()}@" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="module")
def other_workers_stopped():
    """The session-wide worker's reaper would dispatch our queued runs to *its* Redis and run them there, which no
    single deployment can do (one Redis for all): it stays SIGSTOPped while this module runs."""
    processes = [process for worker in other_test_workers() for process in [worker, *worker.children(recursive=True)]]
    for process in processes:
        process.suspend()
    try:
        yield
    finally:
        for process in processes:
            process.resume()


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory, other_workers_stopped):
    """The private Redis and two workers on it: {'redis': PrivateRedis, 'workers': [Popen, Popen]}."""
    workdir = tmp_path_factory.mktemp("faults")
    private = PrivateRedis(workdir)
    private.start()
    prefix = f"clab-faults-{uuid.uuid4().hex[:8]}:"
    env = dict(os.environ, DATABASE_URL=_database_url_of_test_db(), REDIS_URL=private.url,
               REDIS_KEY_PREFIX=prefix, **REAPER_ENV)
    workers, logs = [], []
    for name in ("a", "b"):
        log = (workdir / f"worker-{name}.log").open("w")
        logs.append(log)
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1",
             f"--hostname=faults-{name}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))
    client = redis.Redis.from_url(private.url)
    deadline = time.monotonic() + 60
    # Both reapers beating is the sign both workers are ready.
    while client.zcard(f"{prefix}workers") < 2:
        if time.monotonic() > deadline or any(worker.poll() is not None for worker in workers):
            pytest.fail("the workers did not start:\n" + "\n".join(
                (workdir / f"worker-{n}.log").read_text() for n in "ab"))
        time.sleep(0.1)
    yield {"redis": private, "workers": workers, "prefix": prefix, "workdir": workdir}
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    for log in logs:
        log.close()
    private.kill()


@pytest.fixture(autouse=True)
def on_the_private_stack(stack, settings, request):
    """This test process talks to the private Redis too, under the workers' key prefix."""
    settings.REDIS_URL = settings.CELERY_BROKER_URL = stack["redis"].url
    settings.REDIS_KEY_PREFIX = stack["prefix"]
    yield
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        for log in sorted(stack["workdir"].glob("worker-*.log")):
            print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-40:]))


def submit(client, **params) -> ExperimentRun:
    data = {"mode": "outbox", "orders": 1000, "crash_probability": 0.02, "outage_start_ms": 3000, "outage_ms": 2000,
            "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 0, **params}
    response = client.post(URL, data)
    assert response.status_code == 302, response.content
    return ExperimentRun.objects.get(id=response["Location"].split("/")[2])


def statuses(runs) -> list[str]:
    return [ExperimentRun.objects.get(id=run.id).status for run in runs]


def test_runs_waiting_in_a_redis_that_restarts_are_dispatched_again_and_all_finish(client, stack, wait_until):
    runs = [submit(client, seed=seed) for seed in range(5)]
    # Two workers of one slot each: two run, three wait in Redis's queue.
    wait_until(lambda: statuses(runs).count("running") == 2, timeout=30, message="two runs to start")
    waiting = [run for run in runs if ExperimentRun.objects.get(id=run.id).status == "queued"]
    assert len(waiting) == 3 and all(ExperimentRun.objects.get(id=run.id).dispatched_at for run in waiting)

    stack["redis"].kill()  # it keeps nothing on disk: the queue is gone
    stack["redis"].start()
    back = time.time()

    # Nobody looks at a page: the workers' reapers notice the runs nobody claimed.
    wait_until(lambda: all(status in ExperimentRun.FINAL for status in statuses(runs)), timeout=90,
               message="every run, the lost ones too, to finish")
    outcomes = [(r.status, r.error) for r in ExperimentRun.objects.filter(id__in=[run.id for run in runs])]
    assert all(status == "succeeded" for status, _ in outcomes), outcomes
    started = [ExperimentRun.objects.get(id=run.id).started_at.timestamp() - back for run in waiting]
    print(f"\nwaiting runs started {', '.join(f'{s:.1f}' for s in started)} s after Redis came back")
    assert all(ExperimentRun.objects.get(id=run.id).summary for run in runs)


def test_a_stopped_redis_leaves_the_pages_working_and_its_runs_start_once_it_resumes(client, stack, wait_until):
    stack["redis"].signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        began = time.monotonic()
        page = client.get(URL)
        page_seconds = time.monotonic() - began
        assert page.status_code == 200
        assert "The run queue (Redis) is unreachable" in page.content.decode()
        began = time.monotonic()
        run = submit(client)
        submit_seconds = time.monotonic() - began
        run.refresh_from_db()
        assert run.status == "queued" and run.dispatched_at is None
        assert "will start when it is back" in client.get(run.get_absolute_url()).content.decode()
    finally:
        stack["redis"].signal(signal.SIGCONT)
    resumed = time.time()
    wait_until(lambda: statuses([run]) == ["succeeded"], timeout=60, message="the run to start and finish")
    run.refresh_from_db()
    print(f"\nRedis stopped: experiment page {page_seconds:.2f} s, submit {submit_seconds:.2f} s; "
          f"the run started {run.started_at.timestamp() - resumed:.1f} s after Redis resumed")


def descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_worker_sigkilled_mid_live_run_is_reaped_by_another_and_leaves_nothing_behind(client, stack, wait_until):
    before = set(scratch_root().iterdir()) if scratch_root().exists() else set()
    run = submit(client, engine=LIVE, mode=OUTBOX, orders=2000, crash_probability=0.01, outage_ms=0)

    def the_worker_with_live_children():
        for worker in stack["workers"]:
            children = descendants(psutil.Process(worker.pid))
            if sum("dual_write_live" in " ".join(child.cmdline()) for child in children) >= 3:
                return worker, children
        return None

    victim, children = wait_until(the_worker_with_live_children, timeout=30, message="a live run's children")
    assert ExperimentRun.objects.get(id=run.id).status == "running"
    folders = set(scratch_root().iterdir()) - before
    assert folders, "the live run made its scratch folder"

    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed = time.time()

    wait_until(lambda: not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children),
               timeout=10, message="the worker's children to die with it")
    wait_until(lambda: statuses([run]) == ["failed"], timeout=60, message="the reaper to fail the run")
    reaped = time.time() - killed
    run.refresh_from_db()
    assert "stopped responding" in run.error
    wait_until(lambda: not any(folder.exists() for folder in folders), timeout=30,
               message="the dead run's scratch folder to be swept")
    print(f"\nworker SIGKILLed: {len(children)} child processes died with it; "
          f"run marked failed {reaped:.1f} s later (heartbeat timeout {REAPER_ENV['RUN_HEARTBEAT_TIMEOUT_SECONDS']} s)")
