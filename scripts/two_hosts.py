"""Past one machine, shown working: two web servers and two Celery workers, one PostgreSQL, one Redis.

A run submitted through web A is watched, frame by frame, through web B; then a
worker is SIGKILLed in the middle of a run and, with nobody viewing it, the other
worker's reaper marks it failed once its heartbeat stops.
Each process is what a separate host would run, with nothing shared but
DATABASE_URL and REDIS_URL.

    createdb clab_ops   # or: psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE clab_ops"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clab_ops \\
        .venv/bin/python scripts/with_redis.py -- .venv/bin/python scripts/two_hosts.py
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


class Browser:
    """A visitor with cookies, talking to one web server."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        return self.opener.open(self.base + path, timeout=10).read().decode()

    def post(self, path: str, data: dict) -> str:
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=10) as response:
            return response.geturl()


def submit(browser: Browser, orders: int) -> str:
    browser.get("/experiments/dual-write/")
    url = browser.post("/experiments/dual-write/", {
        "mode": "naive", "orders": orders, "crash_probability": 0.02, "outage_start_ms": 3000, "outage_ms": 2000,
        "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 10})
    return re.search(r"/runs/([0-9a-f-]{36})/", url).group(1)


def frames(base: str, run_id: str, after: int) -> dict:
    return json.loads(urllib.request.urlopen(f"{base}/runs/{run_id}/frames?after={after}", timeout=10).read())


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database of your own (see the docstring)")
    env = dict(os.environ, DEBUG="0", ALLOWED_HOSTS="127.0.0.1", CELERY_QUEUE=f"two-hosts-{uuid.uuid4().hex[:8]}",
               SECRET_KEY=os.environ.get("SECRET_KEY") or uuid.uuid4().hex * 2, WEB_WORKERS="1", WEB_THREADS="4")
    for command in (["migrate", "--noinput", "-v0"], ["load_lessons"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    logs = Path(tempfile.mkdtemp(prefix="two-hosts-"))
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, argv: list[str], **extra) -> None:
        processes[name] = subprocess.Popen(argv, cwd=ROOT, env={**env, **extra}, start_new_session=True,
                                           stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT)

    webs = {}
    for name in ("web-a", "web-b"):
        port = free_port()
        webs[name] = f"http://127.0.0.1:{port}"
        start(name, [PYTHON, "-m", "gunicorn", "config.wsgi", "--config", "config/gunicorn.py"], WEB_PORT=str(port))
    for name in ("worker-1", "worker-2"):
        start(name, [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1",
                     f"--hostname={name}@%h", "--without-gossip", "--without-mingle"])
    try:
        for name, base in webs.items():
            wait_for(lambda: _answers(base), 60, f"{name} to start")
        print(f"web A {webs['web-a']}, web B {webs['web-b']}, two workers, database {database_url.rsplit('/', 1)[-1]}, "
              f"Redis {env.get('REDIS_URL')}; logs in {logs}")

        # 1. Submitted through A, watched through B.
        run_id = submit(Browser(webs["web-a"]), orders=1000)
        seen, growing, statuses = 0, 0, []
        while True:
            body = frames(webs["web-b"], run_id, seen)
            seen += len(body["frames"])
            growing += bool(body["frames"]) and not body["final"]
            statuses.append(body["status"])
            if body["final"]:
                break
            time.sleep(0.2)
        print(f"1. run {run_id} submitted through A, watched through B: {seen} frames, {growing} polls while it grew, "
              f"final status {body['status']} (statuses seen: {' → '.join(dict.fromkeys(statuses))})")

        # 2. A worker SIGKILLed mid-run.
        run_id = submit(Browser(webs["web-a"]), orders=100_000)
        wait_for(lambda: frames(webs["web-b"], run_id, 0)["frames"], 60, "the long run to start")
        victim = busiest(processes, ["worker-1", "worker-2"])
        os.killpg(processes[victim].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        print(f"2. {victim} SIGKILLed while it ran {run_id}; watching through B for 75 s …")
        status = None
        while time.monotonic() - killed_at < 75:
            status = frames(webs["web-b"], run_id, 0)["status"]
            if status in ("failed", "succeeded", "cancelled"):
                break
            time.sleep(1)
        # Nobody opened its page: the surviving worker's reaper saw the heartbeat stop.
        print(f"   after {time.monotonic() - killed_at:.0f} s the run is {status} (heartbeat timeout "
              f"{env.get('RUN_HEARTBEAT_TIMEOUT_SECONDS', '30')} s, checked every "
              f"{env.get('RUN_REAPER_INTERVAL_SECONDS', '5')} s by the other worker's reaper)")
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    return 0


def busiest(processes: dict, names: list[str]) -> str:
    """The worker whose processes are using the CPU: the one executing the run."""
    import psutil

    trees = {name: [psutil.Process(processes[name].pid), *psutil.Process(processes[name].pid).children(recursive=True)]
             for name in names}
    for tree in trees.values():
        for process in tree:
            process.cpu_percent()
    time.sleep(1)
    return max(names, key=lambda name: sum(p.cpu_percent() for p in trees[name] if p.is_running()))


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(base + "/", timeout=2)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
