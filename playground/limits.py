"""How many runs one visitor, one address and everyone together may start (django-ratelimit)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage
from redis import RedisError

from .models import ExperimentRun

QUEUE_FULL_RETRY_SECONDS = 30


@dataclass(frozen=True)
class Refusal:
    title: str
    message: str
    retry_after: int


def session_key(group, request) -> str:
    """django-ratelimit's key for "this visitor's session" (the group is not needed)."""
    return request.session.session_key or ""


def run_submission_refusal(request) -> Refusal | None:
    """Why this submission must wait, or None. Counts it against the limits it passes."""
    waiting = ExperimentRun.objects.filter(status=ExperimentRun.Status.QUEUED).count()
    if waiting >= settings.RUN_QUEUE_CAP:
        return Refusal("The queue is full", f"{waiting} runs are waiting for a worker.", QUEUE_FULL_RETRY_SECONDS)
    limits = [
        ("runs-per-session", session_key, settings.RUNS_PER_MINUTE, "You"),
        # A client that drops its cookie is still one address.
        ("runs-per-address", "ip", settings.RUNS_PER_MINUTE_PER_ADDRESS, "Your network address"),
    ]
    for group, key, per_minute, who in limits:
        try:
            usage = get_usage(request, group=group, key=key, rate=f"{per_minute}/m", increment=True)
        except RedisError:
            return None  # no counter without Redis; the run is kept and starts when Redis is back
        if usage and usage["should_limit"]:
            return Refusal("Slow down", f"{who} started more than {per_minute} runs in a minute.",
                           max(1, usage["time_left"]))
    return None
