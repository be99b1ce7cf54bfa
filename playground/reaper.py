"""The periodic reaper: a thread in every Celery worker's main process.

Every RUN_REAPER_INTERVAL_SECONDS it beats the worker's heartbeat in Redis
(what pages and /healthz read instead of pinging workers) and runs one reaper
pass (`services.runs_reap`). Every worker runs one, so a worker that is
SIGKILLed has its runs reaped by another, or by itself once restarted; the
passes are idempotent, so several workers reaping at once is harmless. It needs
no page view, no beat process and no extra entry in the Procfile.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)


class Reaper(threading.Thread):
    def __init__(self, hostname: str):
        super().__init__(name="run-reaper", daemon=True)
        self.hostname = hostname
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            self.beat_once()
            if self.stopping.wait(settings.RUN_REAPER_INTERVAL_SECONDS):
                return

    def beat_once(self) -> None:
        from . import live
        from .services import runs_reap

        try:
            live.worker_heartbeat(self.hostname)
        except Exception as exc:  # Redis down: the reaper's database work still helps
            logger.warning("worker heartbeat failed", extra={"error": str(exc)})
        try:
            close_old_connections()
            done = runs_reap()
            if any(done.values()):
                logger.info("reaper pass", extra=done)
        except Exception:
            logger.exception("reaper pass failed")
        finally:
            connection.close()

    def stop(self) -> None:
        from . import live

        self.stopping.set()
        self.join(timeout=5)
        try:
            live.worker_gone(self.hostname)
        except Exception:
            pass
