"""/metrics in the Prometheus text format (prometheus_client).

Request latency is measured per request, in each process; under gunicorn
(PROMETHEUS_MULTIPROC_DIR set by `make run`) prometheus_client adds up every
process's files. What the app does — runs, queue depth, quiz answers, interview
submissions — is counted from the database at scrape time, so the figures are
the same whichever web process or host answers, and survive restarts.
"""

from __future__ import annotations

import hmac
import os
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from .views import error_page

REQUEST_LATENCY = Histogram(
    "clab_http_request_duration_seconds", "Time to answer a request, by view.", ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RUN_DURATION_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600)
METHODS = {"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestLatencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        REQUEST_LATENCY.labels(
            match.view_name if match else "<unresolved>",
            request.method if request.method in METHODS else "other",
            str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response


class DomainCollector:
    """What the app did, read from the database (and the broker's queue length) when scraped."""

    def collect(self):
        from interview.models import PromptAnswer
        from lessons.models import Attempt
        from playground.models import ExperimentRun

        Status = ExperimentRun.Status
        by_status = dict(ExperimentRun.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        yield CounterMetricFamily("clab_runs_started", "Runs a worker has started.",
                                  value=ExperimentRun.objects.filter(started_at__isnull=False).count())
        finished = CounterMetricFamily("clab_runs_finished", "Runs that ended, by outcome.", labels=["status"])
        for status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
            finished.add_metric([status], by_status.get(status, 0))
        yield finished
        yield GaugeMetricFamily("clab_runs_queued", "Runs waiting for a worker.", value=by_status.get(Status.QUEUED, 0))
        yield GaugeMetricFamily("clab_runs_running", "Runs a worker is executing.", value=by_status.get(Status.RUNNING, 0))
        yield GaugeMetricFamily("clab_broker_queue_length", "Messages in the Celery queue in Redis (-1: unreachable).",
                                value=_broker_queue_length())
        yield _run_duration_histogram(ExperimentRun)
        minute_ago = timezone.now() - timedelta(minutes=1)
        submitted = PromptAnswer.objects.filter(submitted_at__isnull=False)
        for name, about, rows, recent in [
            ("clab_quiz_answers", "Quiz and review answers", Attempt.objects.all(), {"created_at__gte": minute_ago}),
            ("clab_interview_submissions", "Interview answers submitted", submitted, {"submitted_at__gte": minute_ago}),
        ]:
            yield CounterMetricFamily(name, f"{about}.", value=rows.count())
            yield GaugeMetricFamily(f"{name}_last_minute", f"{about} in the last minute.", value=rows.filter(**recent).count())


def _broker_queue_length() -> int:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.2, socket_timeout=0.2)
        return client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
    except redis.RedisError:
        return -1


def _run_duration_histogram(ExperimentRun) -> HistogramMetricFamily:
    times = ExperimentRun.objects.filter(started_at__isnull=False, finished_at__isnull=False).values_list("started_at", "finished_at")
    seconds = [(finished - started).total_seconds() for started, finished in times]
    buckets = [(str(bound), sum(1 for s in seconds if s <= bound)) for bound in RUN_DURATION_BUCKETS]
    return HistogramMetricFamily("clab_run_duration_seconds", "From a worker starting a run to its end.",
                                 buckets=buckets + [("+Inf", len(seconds))], sum_value=sum(seconds))


def _may_read(request) -> bool:
    """With METRICS_TOKEN, a bearer of it; without, only this machine and not through a proxy."""
    if settings.METRICS_TOKEN:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given, settings.METRICS_TOKEN)
    loopback = request.META.get("REMOTE_ADDR") in {"127.0.0.1", "::1"}
    return loopback and "X-Forwarded-For" not in request.headers


@require_GET
def metrics(request):
    if not _may_read(request):
        return error_page(request, 403, "Not yours", "Metrics are for this machine, or for whoever holds METRICS_TOKEN.")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    domain = CollectorRegistry(auto_describe=False)
    domain.register(DomainCollector())
    return HttpResponse(generate_latest(processes) + generate_latest(domain), content_type=CONTENT_TYPE_LATEST)
