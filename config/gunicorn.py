"""gunicorn settings for `make run` (and for the tests' `web_server`, so they test what is served).

Threads rather than more processes: pages wait on the database and Redis more than
they compute, and the classroom polls short requests, so 2 processes per core with
4 threads each keep 2 cores busy without the memory of 16 Django processes.
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('WEB_PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS") or 2 * multiprocessing.cpu_count())
threads = int(os.environ.get("WEB_THREADS") or 4)
# Short polls must never queue behind a hung request for long.
timeout = 30
graceful_timeout = 10
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
# Phones on a classroom network keep connections open between polls.
keepalive = 5
# gunicorn's runtime control socket lives in the home directory, shared by every server a user starts.
control_socket_disable = True


def post_worker_init(worker):
    """The loaded app (Django, templates, URL patterns) never becomes garbage: out of the collector's sight, a
    whole-heap collection no longer walks it in the middle of somebody's request."""
    import gc

    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    """A dead worker's live gauges must leave /metrics (prometheus_client multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
