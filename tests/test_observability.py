"""/metrics for Prometheus, kept to this machine; a request's id followed into the worker's log."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from playground.models import ExperimentRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_metrics_show_latency_by_view_and_what_the_app_did_from_loopback_only(web_server, settings):
    # Dispatched just now: a worker left running by an earlier test has a reaper that would otherwise send this
    # undispatched run to itself and claim it before /metrics is read (it leaves a dispatched one for 30 s).
    ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=1, status=ExperimentRun.Status.QUEUED,
                                 dispatched_at=timezone.now())
    # One kept-alive connection stays with one gunicorn process, whose own latency figures /metrics shows
    # (`make run` adds every process's up with PROMETHEUS_MULTIPROC_DIR; this fixture does not set it).
    connection = http.client.HTTPConnection(web_server.removeprefix("http://"), timeout=10)
    connection.request("GET", "/interview/")
    connection.getresponse().read()
    connection.request("GET", "/metrics")
    body = connection.getresponse().read().decode()
    connection.close()
    assert 'clab_http_request_duration_seconds_bucket{le="0.005",method="GET",status="200",view="interview:script_list"}' in body
    assert "clab_runs_queued 1.0" in body
    for name in ("clab_runs_started_total", 'clab_runs_finished_total{status="failed"}', "clab_run_duration_seconds_count",
                 "clab_broker_queue_length", "clab_quiz_answers_last_minute", "clab_interview_submissions_total"):
        assert name in body, name

    # Through a proxy (or from another machine) it is refused unless the scraper holds the token.
    proxied = urllib.request.Request(web_server + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(proxied, timeout=10)
    assert refused.value.code == 403
    settings.METRICS_TOKEN = "scrape-me"
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200


def test_the_request_id_of_a_submission_appears_in_the_worker_log_lines_of_its_run(celery_worker_process, lessons_loaded, follow_run):
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    client = Client()
    client.get("/experiments/dual-write/")
    response = client.post("/experiments/dual-write/", {
        "mode": "naive", "orders": 200, "crash_probability": 0.02, "outage_start_ms": 3000, "outage_ms": 2000,
        "relay_crash_probability": 0, "seed": 7, "prediction": 5}, HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 302
    run = ExperimentRun.objects.get()
    follow_run(client, run.id)
    lines = [json.loads(line) for line in celery_worker_process.log_path.read_text().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") == request_id]
    assert any(line.get("run_id") == str(run.id) and line["message"] == "run succeeded" for line in ours), lines[-5:]
