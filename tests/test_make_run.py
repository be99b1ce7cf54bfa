"""`make run` as an instructor starts it: production-shaped, supervised, and gone after Ctrl-C.

A real `make run` in its own process group (as a terminal's foreground job), real
signals to that whole group, as a terminal sends them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import psutil
import pytest

from .conftest import ROOT


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(process.cmdline())[:120])
        except psutil.NoSuchProcess:
            pass
    return alive


def _worker_main(make_pid: int) -> psutil.Process | None:
    for process in _descendants(make_pid):
        try:  # the killed worker's children may be zombies or gone while we look
            cmdline = process.cmdline()
            parent = process.parent()
            if "celery" in cmdline and "worker" in cmdline and parent.name() != "celery":
                if any("serve.py" in part for part in parent.cmdline()):
                    return process
        except psutil.NoSuchProcess:  # ZombieProcess included
            continue
    return None


def _start_make_run(tmp_path, **extra_env) -> tuple[subprocess.Popen, str, object]:
    """`make run` on a free port with its own queue, in its own process group like a terminal's job."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}}
    # Its own queue and key prefix, so its worker never takes the test suite's tasks.
    env.update(WEB_PORT=str(port), CELERY_QUEUE=f"make-run-{uuid.uuid4().hex}", REDIS_KEY_PREFIX=f"make-run-{port}:",
               WEB_WORKERS="1", WEB_THREADS="2", WORKER_CONCURRENCY="1", **extra_env)
    output = tmp_path / f"make-run-{port}.log"
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, start_new_session=True,
                               stdout=output.open("w"), stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}", output


def _serves(process, url: str, output) -> bool:
    if process.poll() is not None:
        pytest.fail(f"make run exited early:\n{output.read_text()}")
    try:
        return _get(url + "/")[0] == 200
    except OSError:
        return False


def test_make_run_serves_production_pages_survives_its_worker_and_stops_on_every_signal(tmp_path, wait_until):
    # Three at once, to pay the start-up time once: one per way a terminal stops its job.
    runs = {signal.SIGINT: _start_make_run(tmp_path, HOST="0.0.0.0"),
            signal.SIGTERM: _start_make_run(tmp_path), signal.SIGHUP: _start_make_run(tmp_path)}
    try:
        for run in runs.values():
            wait_until(lambda: _serves(*run), timeout=120, interval=0.2, message="make run to serve its first page")
        process, url, output = runs[signal.SIGINT]

        status, body = _get(url + "/no-such-page/")
        assert status == 404 and "There is nothing at this address" in body
        assert "URLconf" not in body and "Traceback" not in body  # DEBUG is off
        assert "django-htmx.js" not in _get(url + "/")[1]  # htmx's debug handler is a development tool

        # On the LAN: the address people type, and its QR code, in the terminal; that host is allowed.
        printed = output.read_text()
        lan = next(line for line in printed.splitlines() if line.startswith("Consistency Lab: http://")).split()[2]
        assert "\u2580" in printed or "\u2588" in printed  # the QR code's half blocks
        assert _get(lan + "/")[0] == 200

        # A dead worker is replaced, and the web server never noticed.
        worker = _worker_main(process.pid)
        worker.kill()
        wait_until(lambda: (w := _worker_main(process.pid)) is not None and w.pid != worker.pid,
                   timeout=60, message="the worker to be restarted")
        assert _get(url + "/")[0] == 200

        parts = {sig: _descendants(process.pid) for sig, (process, _, _) in runs.items()}
        for sig, (process, _, _) in runs.items():
            os.killpg(process.pid, sig)
        for sig, (process, _, output) in runs.items():
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                pytest.fail(f"make run did not stop on {sig!r}; still running: {_alive(parts[sig])}\n{output.read_text()[-3000:]}")
            printed = output.read_text()
            assert "Error 130" not in printed and "*** [" not in printed, (sig, printed[-2000:])
            assert _alive(parts[sig]) == [], sig
    finally:
        for process, _, _ in runs.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
