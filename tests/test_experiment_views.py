"""The experiment page and its runs, through the Django test client and a real Redis."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from playground.models import ExperimentRun
from playground.services import runs_dispatch_pending, runs_reap

pytestmark = pytest.mark.django_db

URL = "/experiments/dual-write/"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def form_data(**overrides):
    data = {
        "mode": "naive", "orders": 1000, "crash_probability": 0.02, "outage_start_ms": 3000,
        "outage_ms": 2000, "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 100,
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


def test_too_many_runs_in_a_minute_get_a_readable_429(client, settings, django_capture_on_commit_callbacks, caplog):
    from .support import a_session_early_in_its_window, burst, patient_rate_limit_counters

    settings.RUNS_PER_MINUTE = 5
    patient_rate_limit_counters(settings)
    left = a_session_early_in_its_window(client, group="runs-per-session", rate="5/m")
    with django_capture_on_commit_callbacks(execute=True):
        statuses, took = burst(lambda _: client.post(URL, form_data()), 7)
    assert statuses == [302] * 5 + [429] * 2, f"{took}, {left} s were left in its window; {caplog.messages}"
    last = client.post(URL, form_data())
    assert b"Slow down" in last.content and b"more than 5 runs" in last.content
    assert ExperimentRun.objects.count() == 5


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
    assert runs_reap()["failed"] == 1
    run.refresh_from_db()
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


def json_script(html: str, script_id: str):
    import json
    import re

    return json.loads(re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def finished_run(mode="naive", seed=7, **extra):
    from playground.experiments import get_experiment

    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": mode})
    frames = []
    summary = experiment.run(params, seed, frames.append)
    return ExperimentRun.objects.create(
        experiment_slug="dual-write", params=params, seed=seed, status=ExperimentRun.Status.SUCCEEDED,
        summary=summary, frames=frames, finished_at=timezone.now(), **extra,
    )


def test_a_run_needs_a_prediction_first(client):
    data = form_data()
    del data["prediction"]
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "Your prediction: How many orders will end up with no OrderCreated event?" in response.content.decode()
    assert not ExperimentRun.objects.exists()


def test_the_verdict_shows_the_prediction_beside_the_result(client):
    run = finished_run(prediction=12)
    html = client.get(f"/runs/{run.id}/").content.decode()
    assert "whoever ran it predicted <span class=\"big\">12</span>" in html  # a stranger reads it
    assert f'<span class="big">{run.summary["orders_without_event"]}</span> measured' in html


def test_the_owner_can_cancel_a_running_run_and_nobody_else_can(client):
    client.get(URL)  # a session
    client.session.save()
    session_key = client.session.session_key
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=1,
                                       status=ExperimentRun.Status.RUNNING, owner_session=session_key,
                                       started_at=timezone.now(), heartbeat_at=timezone.now())
    from django.test import Client

    stranger = Client()
    assert stranger.post(f"/runs/{run.id}/cancel").status_code == 403
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.RUNNING
    assert b"Cancel this run" not in stranger.get(f"/runs/{run.id}/status").content

    assert b"Cancel this run" in client.get(f"/runs/{run.id}/status").content
    response = client.post(f"/runs/{run.id}/cancel")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.CANCELLED
    from playground import live

    assert live.cancel_requested(run.id)  # the worker is told through Redis


def test_cancelling_a_finished_run_changes_nothing(client):
    client.get(URL)
    client.session.save()
    run = finished_run(owner_session=client.session.session_key)
    client.post(f"/runs/{run.id}/cancel")
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED


def test_two_runs_overlay_on_one_page(client):
    a, b = finished_run("naive"), finished_run("outbox")
    response = client.get(f"/runs/compare?a={a.id}&b={b.id}")
    html = response.content.decode()
    assert response.status_code == 200
    names = [trace["name"] for trace in json_script(html, "compare1-figure")["data"]]
    assert "A: naive seed 7 · orders with no event" in names and "B: outbox seed 7 · orders with no event" in names
    assert f"Orders with no event: {a.summary['orders_without_event']}" in html
    assert "Orders with no event: 0" in html


def test_compare_needs_two_runs_of_one_experiment(client):
    a = finished_run()
    assert client.get(f"/runs/compare?a={a.id}").status_code == 400
    assert client.get(f"/runs/compare?a={a.id}&b={uuid.uuid4()}").status_code == 404
    other = ExperimentRun.objects.create(experiment_slug="retries", params={}, seed=1)
    assert client.get(f"/runs/compare?a={a.id}&b={other.id}").status_code == 400


def test_a_finished_run_offers_replay_and_comparison_with_the_visitors_other_runs(client):
    client.get(URL)
    client.session.save()
    key = client.session.session_key
    a, b = finished_run("naive", owner_session=key), finished_run("outbox", owner_session=key)
    html = client.get(f"/runs/{a.id}/").content.decode()
    assert "data-replay-slider" in html and f'max="{len(a.frames)}"' in html
    assert f'<option value="{b.id}">' in html


def test_the_frames_endpoint_reports_progress_and_an_eta(client):
    from datetime import timedelta

    started = timezone.now() - timedelta(seconds=2)
    run = ExperimentRun.objects.create(
        experiment_slug="dual-write", params={"orders": 1000}, seed=1, status=ExperimentRun.Status.RUNNING,
        started_at=started, heartbeat_at=timezone.now(),
    )
    from playground import live

    live.push_frames(run.id, [{"t_ms": 0}, {"t_ms": 5000}])
    # Half done after `elapsed` seconds: as long again to go. Bounded by the clock around the request, since a
    # loaded machine may take a while to answer it.
    before = (timezone.now() - started).total_seconds()
    body = client.get(f"/runs/{run.id}/frames?after=0").json()
    after = (timezone.now() - started).total_seconds()
    assert body["progress"] == 0.5
    assert round(before, 1) - 0.1 <= body["eta_seconds"] <= round(after, 1) + 0.1
    live.clear_frames(run.id)


def test_a_finished_saga_run_draws_a_gantt_of_sampled_sagas(client):
    from playground.experiments import get_experiment

    experiment = get_experiment("saga")
    params, _ = experiment.clean_params({"mode": "orchestration"})
    frames = []
    summary = experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(experiment_slug="saga", params=params, seed=7, frames=frames, summary=summary,
                                       status=ExperimentRun.Status.SUCCEEDED, finished_at=timezone.now())
    html = client.get(f"/runs/{run.id}/").content.decode()
    gantt = json_script(html, "summary0-figure")
    bars = sum(len(trace["x"]) for trace in gantt["data"])
    assert bars == len(summary["sample_timeline"]) > 0
    assert {trace["name"] for trace in gantt["data"]} >= {"committed", "compensated"}
