"""End to end through the real parts: HTTP submit, Redis queue, a Celery worker process, live frames."""

import uuid

import pytest

from playground.experiments import get_experiment
from playground.models import ExperimentRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def submit(client, **params):
    data = {
        "mode": "naive", "orders": 1000, "crash_probability": 0.02, "outage_start_ms": 3000,
        "outage_ms": 2000, "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 100,
    }
    data.update(params)
    response = client.post("/experiments/dual-write/", data)
    assert response.status_code == 302, response.content
    return ExperimentRun.objects.get(id=response["Location"].split("/")[2])


def test_a_submitted_run_is_executed_by_the_worker_and_its_frames_arrive_live_and_in_order(
    client, celery_worker_process, follow_run
):
    run = submit(client, mode="outbox")
    seen = follow_run(client, run.id, timeout=60)
    collected = seen["frames"]
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED, run.error
    assert "running" in seen["statuses"]
    assert seen["live_polls"] >= 3  # the chart really grew while the worker ran
    times = [frame["t_ms"] for frame in collected]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert collected == run.frames  # the live stream and the kept series are the same frames

    # The worker computed exactly what the simulation computes for these parameters and seed.
    experiment = get_experiment("dual-write")
    assert run.summary == experiment.run(run.params, run.seed, lambda frame: None)
    assert run.summary["orders_without_event"] == 0


def test_the_run_page_shows_the_verdict_once_the_worker_is_done(client, celery_worker_process, wait_until):
    run = submit(client, mode="naive", crash_probability=0.1)
    wait_until(lambda: ExperimentRun.objects.get(id=run.id).is_final, timeout=60, message="the run to finish")
    run.refresh_from_db()
    html = client.get(f"/runs/{run.id}/status").content.decode()
    assert f"Orders with no event: {run.summary['orders_without_event']}" in html
    assert run.summary["orders_without_event"] > 0
    assert "hx-trigger" not in html


def test_health_is_ok_when_database_redis_and_a_worker_answer(client, celery_worker_process):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "redis": {"ok": True}, "workers": {"ok": True}},
        "failing": [],
    }


def test_health_names_the_workers_when_none_listens(client, settings, celery_worker_process):
    # Same Redis, another deployment's keys: reachable, but no worker beats there.
    settings.REDIS_KEY_PREFIX = f"nobody-{uuid.uuid4().hex}:"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]


def test_health_names_redis_when_it_is_down(client, settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis", "workers"]
    assert "Error" in body["checks"]["redis"]["error"]


def test_a_cancelled_run_stops_the_worker_early_and_keeps_what_it_drew(client, celery_worker_process, wait_until):
    run = submit(client, mode="naive", orders=20_000)
    wait_until(lambda: client.get(f"/runs/{run.id}/frames?after=0").json()["frames"], timeout=60,
               message="the first frames")
    assert client.post(f"/runs/{run.id}/cancel").status_code == 302
    wait_until(lambda: ExperimentRun.objects.get(id=run.id).frames, timeout=30, message="the worker to stop")
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.CANCELLED
    assert run.summary is None
    assert 0 < len(run.frames) < 100  # stopped well before its ~150 frames
