"""Writes that touch runs: create, dispatch, recover.

The app practises what it teaches: a run row is the outbox entry for its own
task. It is committed first and dispatched after commit; a dispatch that fails
(the broker is down) leaves the row queued with no `dispatched_at`, and
`runs_dispatch_pending` sends it once the broker is back. A dispatched run
nobody claimed within RUN_REDISPATCH_AFTER_SECONDS is sent again (a restarted
Redis forgets its queue); the task's claim makes the duplicate harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import live
from .experiments.base import Experiment
from .models import ExperimentRun

logger = logging.getLogger(__name__)


def experiment_run_create(
    *,
    experiment: Experiment,
    params: dict[str, Any],
    seed: int,
    user=None,
    learner=None,
    session_key: str = "",
    idempotency_key: str | None = None,
    prediction: int | None = None,
) -> ExperimentRun:
    """Create a queued run and dispatch it after commit; one run per idempotency key."""
    if idempotency_key:
        existing = ExperimentRun.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            run = ExperimentRun.objects.create(
                experiment_slug=experiment.slug,
                params=params,
                seed=seed,
                created_by=user if user is not None and user.is_authenticated else None,
                learner=learner,
                owner_session=session_key or "",
                idempotency_key=idempotency_key or None,
                prediction=prediction,
            )
            transaction.on_commit(lambda: run_dispatch(run_id=run.id))
    except IntegrityError:
        # Two requests with the same key raced; the other one won.
        return ExperimentRun.objects.get(idempotency_key=idempotency_key)
    return run


def run_dispatch(*, run_id) -> bool:
    """Hand a queued run to the broker. Returns False (and keeps it queued) if the broker is down."""
    from config.celery import app

    from .tasks import execute_run

    timeout = settings.REDIS_SOCKET_TIMEOUT_SECONDS
    try:
        # The broker named in settings at call time, so that a changed
        # CELERY_BROKER_URL (a test, a failover) is honoured without a restart;
        # short timeouts, so that a stopped broker costs a submit half a second.
        with app.connection_for_write(
            settings.CELERY_BROKER_URL, connect_timeout=timeout,
            transport_options={"socket_connect_timeout": timeout, "socket_timeout": timeout},
        ) as connection:
            execute_run.apply_async(args=[str(run_id)], connection=connection)
    except Exception as exc:  # kombu and redis raise several types for "unreachable"
        logger.warning("dispatch failed; run stays queued", extra={"run_id": str(run_id), "error": str(exc)})
        return False
    ExperimentRun.objects.filter(id=run_id, status=ExperimentRun.Status.QUEUED).update(dispatched_at=timezone.now())
    return True


def run_cancel(*, run: ExperimentRun) -> bool:
    """Stop a queued or running run. Returns False when it had already ended."""
    cancelled = ExperimentRun.objects.filter(
        id=run.id, status__in=[ExperimentRun.Status.QUEUED, ExperimentRun.Status.RUNNING]
    ).update(status=ExperimentRun.Status.CANCELLED, finished_at=timezone.now(), error="Cancelled by whoever started it.")
    if cancelled:
        live.request_cancel(run.id)
    return bool(cancelled)


def runs_dispatch_pending() -> int:
    """Dispatch every queued run whose dispatch failed or was lost. Returns how many went out.

    Lost: dispatched, but not claimed within RUN_REDISPATCH_AFTER_SECONDS.
    """
    stale = timezone.now() - timedelta(seconds=settings.RUN_REDISPATCH_AFTER_SECONDS)
    pending = ExperimentRun.objects.filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale), status=ExperimentRun.Status.QUEUED
    ).order_by("created_at")
    sent = 0
    for run_id in pending.values_list("id", flat=True):
        if not run_dispatch(run_id=run_id):
            break  # the broker is still down; try again later
        sent += 1
    return sent


def runs_fail_abandoned() -> int:
    """Mark failed the runs whose worker died: running, but no heartbeat for too long."""
    cutoff = timezone.now() - timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_SECONDS)
    return ExperimentRun.objects.filter(status=ExperimentRun.Status.RUNNING, heartbeat_at__lt=cutoff).update(
        status=ExperimentRun.Status.FAILED,
        error="The worker running this experiment stopped responding.",
        finished_at=timezone.now(),
    )


def runs_reap() -> dict[str, int]:
    """One pass of the periodic reaper: no run is lost, none stays running forever."""
    from .scratch import scratch_sweep

    return {"failed": runs_fail_abandoned(), "dispatched": runs_dispatch_pending(), "swept": scratch_sweep()}
