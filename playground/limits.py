"""How many runs one visitor, one address and everyone together may start (django-ratelimit)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage
from redis import RedisError

from .models import ExperimentRun

QUEUE_FULL_RETRY_SECONDS = 30

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    title: str
    message: str
    retry_after: int


def session_key(group, request) -> str:
    """django-ratelimit's key for "this visitor's session" (the group is not needed)."""
    return request.session.session_key or ""


def counted_usage(request, *, group: str, key, per_minute: int) -> dict | None:
    """Counts this request against `group`'s limit a minute; None when Redis cannot count it.

    A limit that cannot count lets the request through (a stopped Redis must not stop the app); the
    warning says so, because such a request is not counted later either.
    """
    try:
        return get_usage(request, group=group, key=key, rate=f"{per_minute}/m", increment=True)
    except RedisError as error:
        logger.warning("Rate limit %s not counted: Redis did not answer (%s)", group, error)
        return None


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
        usage = counted_usage(request, group=group, key=key, per_minute=per_minute)
        if usage is None:
            return None  # the run is kept and starts when Redis is back
        if usage["should_limit"]:
            return Refusal("Slow down", f"{who} started more than {per_minute} runs in a minute.",
                           max(1, usage["time_left"]))
    return None
