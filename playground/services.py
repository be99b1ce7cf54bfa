"""Writes that touch runs: create, dispatch, recover.

The app practises what it teaches: a run row is the outbox entry for its own
task. It is committed first and dispatched after commit; a dispatch that fails
(the broker is down) leaves the row queued with no `dispatched_at`, and
`runs_dispatch_pending` sends it once the broker is back.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
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

    try:
        # The broker named in settings at call time, so that a changed
        # CELERY_BROKER_URL (a test, a failover) is honoured without a restart.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as connection:
            execute_run.apply_async(args=[str(run_id)], connection=connection)
    except Exception as exc:  # kombu and redis raise several types for "unreachable"
        logger.warning("dispatch failed; run stays queued", extra={"run_id": str(run_id), "error": str(exc)})
        return False
    ExperimentRun.objects.filter(id=run_id, dispatched_at__isnull=True).update(dispatched_at=timezone.now())
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
    """Dispatch every queued run whose earlier dispatch failed. Returns how many went out."""
    pending = ExperimentRun.objects.filter(status=ExperimentRun.Status.QUEUED, dispatched_at__isnull=True)
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


def run_recover(run: ExperimentRun) -> ExperimentRun:
    """Nudge one run along while someone watches it: resend it, or call it abandoned."""
    if run.status == ExperimentRun.Status.QUEUED and run.dispatched_at is None:
        run_dispatch(run_id=run.id)
    elif run.status == ExperimentRun.Status.RUNNING:
        cutoff = timezone.now() - timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_SECONDS)
        if run.heartbeat_at and run.heartbeat_at < cutoff:
            runs_fail_abandoned()
    run.refresh_from_db()
    return run
