"""Executes one claimed ExperimentRun: streams its frames live, keeps the result."""

from __future__ import annotations

import logging
import time

import redis

from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from . import live
from .models import ExperimentRun

logger = logging.getLogger(__name__)

FLUSH_EVERY_SECONDS = 0.2


class RunCancelled(Exception):
    pass


class LiveEmitter:
    """Collects frames, pushes them to Redis in small batches, beats the heart.

    Web runs are paced (a short sleep per frame) so that a person can watch a
    simulation that would otherwise finish in milliseconds.
    """

    def __init__(self, run: ExperimentRun, frame_delay: float):
        self.run = run
        self.frame_delay = frame_delay
        self.frames: list[dict] = []
        self.pending: list[dict] = []
        self.last_flush = time.monotonic()

    def __call__(self, frame: dict) -> None:
        self.frames.append(frame)
        self.pending.append(frame)
        if self.frame_delay:
            time.sleep(self.frame_delay)
        if time.monotonic() - self.last_flush >= FLUSH_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        try:
            ExperimentRun.objects.filter(id=self.run.id).update(heartbeat_at=timezone.now())
        except OperationalError:
            pass  # the database is locked for a while: beat next time rather than fail the run
        try:
            live.push_frames(self.run.id, self.pending)
            cancelled = live.cancel_requested(self.run.id)
        except redis.RedisError:
            # Redis is down or restarting: keep the frames for the next flush (the
            # database keeps them all at the end) and carry on rather than fail the run.
            return
        self.pending = []
        if cancelled:
            raise RunCancelled


def run_execute(run: ExperimentRun, *, frame_delay: float | None = None) -> None:
    """Run the experiment of a run already claimed as RUNNING, then record the outcome."""
    if frame_delay is None:
        frame_delay = settings.RUN_FRAME_DELAY_SECONDS
    emitter = LiveEmitter(run, frame_delay)
    try:
        try:
            live.clear_frames(run.id)  # a redelivered task starts a clean stream
        except redis.RedisError:
            pass  # Redis went away just now: nothing to clear, and the run need not fail for it
        summary = run.experiment.run(run.params, run.seed, emitter)
        emitter.flush()
    except RunCancelled:
        # The owner cancelled it (the row already says so); keep what was drawn.
        ExperimentRun.objects.filter(id=run.id, status=ExperimentRun.Status.CANCELLED).update(frames=emitter.frames)
        logger.info("run cancelled", extra={"run_id": str(run.id), "frames": len(emitter.frames)})
        return
    except Exception as exc:
        logger.exception("run failed", extra={"run_id": str(run.id)})
        ExperimentRun.objects.filter(id=run.id, status=ExperimentRun.Status.RUNNING).update(
            status=ExperimentRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            frames=emitter.frames,
            finished_at=timezone.now(),
        )
        return
    ExperimentRun.objects.filter(id=run.id, status=ExperimentRun.Status.RUNNING).update(
        status=ExperimentRun.Status.SUCCEEDED,
        summary=summary,
        frames=emitter.frames,
        finished_at=timezone.now(),
    )
    logger.info("run succeeded", extra={"run_id": str(run.id), "frames": len(emitter.frames)})
