"""Shared fixtures: a real Celery worker process and a real headless Chromium.

Nothing of our own stack is mocked. Integration tests get a worker that
connects to the same Redis (REDIS_URL, provided by scripts/with_redis.py) and
to the same test database as the test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; Django's ORM calls
# from the test body are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _database_url_of_test_db() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` subprocess on the test database; yields its Popen."""
    # Paced a little slower than the default, so that even on a busy machine a
    # page is open well before a run ends and the tests can watch it grow.
    env = dict(os.environ, DATABASE_URL=_database_url_of_test_db(), RUN_FRAME_DELAY_MS="40")
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
         "--concurrency=2", f"--hostname=test-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    worker.log_path = log_path
    from config.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[f"test-{os.getpid()}@{os.uname().nodename}"], timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"the Celery worker did not start; its log:\n{log_path.read_text()}")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    log.close()


@contextmanager
def running_web_server(tmp_path_factory, **env_overrides):
    """gunicorn serving the app on the test database, DEBUG off; yields its base URL."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Its two processes add up their metrics in one directory, as under `make run`.
    metrics_dir = tmp_path_factory.mktemp("metrics")
    env = dict(os.environ, DATABASE_URL=_database_url_of_test_db(), DEBUG="0",
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), **env_overrides)
    log_path = tmp_path_factory.mktemp("web") / "gunicorn.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a generous start: a loaded 2-core machine has taken more than 30 s
    while True:
        try:
            urllib.request.urlopen(url + "/static/css/app.css", timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"gunicorn did not start; its log:\n{log_path.read_text()}")
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def web_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """The app as deployed (gunicorn, DEBUG off, WhiteNoise) on the test database; yields its base URL."""
    with running_web_server(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not at {CHROMIUM}; install it with `apt-get install chromium` (make test does this when it can).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request, tmp_path):
    """A fresh browser tab; on failure its console and a screenshot are kept."""
    # Playwright's wait_for_function evaluates strings, which the app's CSP forbids;
    # tests/test_security.py checks the CSP in a context of its own.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}\nconsole:\n" + "\n".join(console))
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Every test starts with its own rate-limit counters: the test client is always 127.0.0.1."""
    import uuid

    settings.CACHES = {"default": {**settings.CACHES["default"],
                                   "KEY_PREFIX": f"{settings.REDIS_KEY_PREFIX}cache-{uuid.uuid4().hex[:8]}"}}


@pytest.fixture
def wait_until():
    """Poll a condition until it is truthy or a generous deadline passes."""

    def _wait_until(condition, timeout: float = 60.0, interval: float = 0.1, message: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout}s waiting for {message}")

    return _wait_until


@pytest.fixture
def follow_run(wait_until):
    """Poll a run's frames endpoint as the browser does, cursor by cursor, until the run is final.

    Returns the frames in arrival order, how many polls brought frames while the
    run was still going (the chart growing), and every status seen.
    """

    def _follow(client, run_id, timeout: float = 120.0) -> dict:
        seen = {"frames": [], "live_polls": 0, "statuses": set()}

        def poll():
            body = client.get(f"/runs/{run_id}/frames?after={len(seen['frames'])}").json()
            assert body["next"] == len(seen["frames"]) + len(body["frames"])
            seen["statuses"].add(body["status"])
            if body["frames"] and not body["final"]:
                seen["live_polls"] += 1
            seen["frames"].extend(body["frames"])
            return body["final"]

        wait_until(poll, timeout=timeout, interval=0.2, message="the run to finish")
        return seen

    return _follow


@pytest.fixture
def lessons_loaded(db):
    from lessons.content_loader import load_lessons

    load_lessons()


@pytest.fixture(scope="session", autouse=True)
def _settings_follow_the_process_environment():
    """Fail loudly if Django read its settings before tests/per_process_names.py renamed the queue."""
    assert settings.CELERY_TASK_DEFAULT_QUEUE == os.environ.get("CELERY_QUEUE", settings.CELERY_TASK_DEFAULT_QUEUE)


def pytest_report_header(config):
    return [f"redis: {settings.REDIS_URL}", f"database: {settings.DATABASES['default']['ENGINE']}"]


def _takes_long(item) -> bool:
    """Waits on a browser, a worker or a server, searches with hypothesis, or is marked slow."""
    return (any(item.get_closest_marker(name) for name in ("browser", "integration", "slow"))
            or getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Long tests first, so that under `-n` (make test's --maxschedchunk 1 hands each process its next test as
    it finishes one) the other processes fill in around them and none is left running one alone at the end.
    The order within each part is pytest-django's (transactional tests last)."""
    items.sort(key=lambda item: not _takes_long(item))
