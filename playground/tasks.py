import logging

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.utils import timezone

from .models import ExperimentRun
from .reaper import Reaper
from .runner import run_execute

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def execute_run(run_id: str) -> None:
    now = timezone.now()
    # Claim the run; a second delivery of the same task finds nothing to claim.
    claimed = ExperimentRun.objects.filter(id=run_id, status=ExperimentRun.Status.QUEUED).update(
        status=ExperimentRun.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        logger.info("run already claimed or gone", extra={"run_id": run_id})
        return
    run_execute(ExperimentRun.objects.get(id=run_id))


_reapers: list[Reaper] = []


@worker_ready.connect
def _start_the_reaper(sender=None, **kwargs) -> None:
    reaper = Reaper(hostname=getattr(sender, "hostname", None) or "worker")
    reaper.start()
    _reapers.append(reaper)


@worker_shutdown.connect
def _stop_the_reaper(**kwargs) -> None:
    while _reapers:
        _reapers.pop().stop()
