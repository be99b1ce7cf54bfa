"""The experiment page and its runs, through the Django test client and a real Redis."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from playground.models import ExperimentRun
from playground.services import run_recover, runs_dispatch_pending

pytestmark = pytest.mark.django_db

URL = "/experiments/dual-write/"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def form_data(**overrides):
    data = {
        "mode": "naive", "orders": 1000, "crash_probability": 0.02, "outage_start_ms": 3000,
        "outage_ms": 2000, "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def test_the_page_shows_bounded_parameters_and_presets(client):
    html = client.get(URL).content.decode()
    assert 'name="orders"' in html and 'max="100000"' in html
    assert 'name="crash_probability"' in html and 'name="outage_ms"' in html and 'name="seed"' in html
    assert 'href="?preset=naive"' in html and 'href="?preset=outbox"' in html


def test_a_preset_fills_in_the_form(client):
    html = client.get(URL + "?preset=outbox").content.decode()
    assert '<option value="outbox" selected>' in html


def test_out_of_bounds_parameters_get_form_errors_and_create_nothing(client):
    response = client.post(URL, form_data(orders=10_000_000, crash_probability=-1, seed=-5))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is less than or equal to 100000" in html
    assert "Ensure this value is greater than or equal to 0" in html
    assert not ExperimentRun.objects.exists()


def test_a_valid_submission_creates_a_queued_run_and_redirects_to_its_page(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, form_data(mode="outbox", orders=500))
    run = ExperimentRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.id}/"
    assert run.params["mode"] == "outbox" and run.params["orders"] == 500 and run.seed == 7
    assert run.status == ExperimentRun.Status.QUEUED
    assert run.dispatched_at is not None  # handed to the real broker after commit


def test_a_double_submit_with_the_same_key_makes_one_run(client, django_capture_on_commit_callbacks):
    data = form_data()
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(URL, data)
        second = client.post(URL, data)
    assert first["Location"] == second["Location"]
    assert ExperimentRun.objects.count() == 1


def test_a_submission_while_redis_is_down_is_kept_and_dispatched_when_it_is_back(
    client, settings, django_capture_on_commit_callbacks
):
    live_redis = settings.CELERY_BROKER_URL
    settings.REDIS_URL = settings.CELERY_BROKER_URL = DEAD_REDIS
    try:
        page = client.get(URL).content.decode()
        assert "The run queue (Redis) is unreachable" in page
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, form_data())
        assert response.status_code == 302
        run = ExperimentRun.objects.get()
        assert run.status == ExperimentRun.Status.QUEUED and run.dispatched_at is None
        run_page = client.get(response["Location"]).content.decode()
        assert "will start when it is back" in run_page
    finally:
        settings.REDIS_URL = settings.CELERY_BROKER_URL = live_redis
    assert runs_dispatch_pending() == 1
    run.refresh_from_db()
    assert run.dispatched_at is not None


def test_the_lessons_still_serve_while_redis_is_down(client, settings, lessons_loaded):
    settings.REDIS_URL = DEAD_REDIS
    assert client.get("/").status_code == 200
    assert client.get("/lessons/dual-write/").status_code == 200


def test_too_many_runs_in_a_minute_get_a_readable_429(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [client.post(URL, form_data()).status_code for _ in range(21)]
    assert statuses[:20] == [302] * 20
    assert statuses[20] == 429
    last = client.post(URL, form_data())
    assert b"Slow down" in last.content
    assert ExperimentRun.objects.count() == 20


def test_an_unknown_experiment_or_run_is_a_404(client):
    assert client.get("/experiments/no-such-thing/").status_code == 404
    assert client.get(f"/runs/{uuid.uuid4()}/").status_code == 404
    assert client.get("/runs/not-a-uuid/").status_code == 404


def test_a_bad_frames_cursor_is_a_400(client):
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=1)
    assert client.get(f"/runs/{run.id}/frames?after=-3").status_code == 400
    assert client.get(f"/runs/{run.id}/frames?after=abc").status_code == 400


def test_experiment_posts_need_a_csrf_token():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(URL, form_data()).status_code == 403
    assert not ExperimentRun.objects.exists()


def test_a_finished_run_is_shared_by_its_url_with_its_verdict_and_table(client):
    from playground.experiments import get_experiment

    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive"})
    frames = []
    summary = experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(
        experiment_slug="dual-write", params=params, seed=7, status=ExperimentRun.Status.SUCCEEDED,
        summary=summary, frames=frames, finished_at=timezone.now(),
    )
    html = client.get(f"/runs/{run.id}/").content.decode()  # a different visitor, no session
    assert f"Orders with no event: {summary['orders_without_event']}" in html
    assert "Events with no order: 0" in html
    assert "<table>" in html and "Orders committed" in html
    assert 'hx-trigger="every 1s' not in html  # a final run stops polling
    frames_json = client.get(f"/runs/{run.id}/frames?after=10").json()
    assert frames_json["final"] and frames_json["frames"] == frames[10:] and frames_json["next"] == len(frames)


def test_a_run_whose_worker_died_is_marked_failed_not_running_forever(settings):
    long_ago = timezone.now() - timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_SECONDS + 5)
    run = ExperimentRun.objects.create(
        experiment_slug="dual-write", params={}, seed=1, status=ExperimentRun.Status.RUNNING,
        started_at=long_ago, heartbeat_at=long_ago,
    )
    run = run_recover(run)
    assert run.status == ExperimentRun.Status.FAILED
    assert "stopped responding" in run.error


def test_user_text_is_escaped_in_run_pages(client):
    run = ExperimentRun.objects.create(
        experiment_slug="dual-write", params={"mode": "<script>alert(1)</script>"}, seed=1,
        status=ExperimentRun.Status.FAILED, error="<img src=x onerror=alert(1)>", finished_at=timezone.now(),
    )
    html = client.get(f"/runs/{run.id}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
