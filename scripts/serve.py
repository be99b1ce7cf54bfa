"""`make run` and `make dev`: the web server, a Celery worker and, when needed, a private Redis.

A small supervisor rather than honcho, because honcho ends everything when one
process exits. Here each part runs in its own session, so that a Ctrl-C reaches
only this script; a part that exits on its own is restarted (with a growing
pause if it keeps dying) and never takes the others down. SIGINT, SIGTERM and
SIGHUP all mean "stop": the web server and the worker get SIGTERM, then Redis,
each part's whole process group is killed if it lingers, and the exit code is
0 so that make prints no "Error 130".

    python scripts/serve.py          # production-shaped: gunicorn, DEBUG=0
    python scripts/serve.py --dev    # Django's autoreloading runserver, DEBUG=1
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from with_redis import ROOT, answers, free_port, private_redis_command, wait_until_answers  # noqa: E402

STOP_GRACE_SECONDS = 10
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]


def log(message: str) -> None:
    print(f"[serve] {message}", flush=True)


@dataclass
class Part:
    """One supervised process; restarted whenever it exits while we are not stopping."""

    name: str
    argv: list[str]
    env: dict
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        log(f"started {self.name} (pid {self.process.pid})")

    def check(self, now: float) -> None:
        """Restart the part if it has exited, after a pause that grows while it keeps dying young."""
        if self.process is None or self.process.poll() is None:
            if self.process is None and now >= self.restart_at:
                self.start()
            return
        code = self.process.returncode
        # What it leaves behind (pool processes, a live run's children) goes with it.
        _signal_group(self.process.pid, signal.SIGKILL)
        self.quick_deaths = self.quick_deaths + 1 if now - self.started_at < 10 else 0
        pause = min(30, 2 ** self.quick_deaths) if self.quick_deaths else 1
        log(f"{self.name} exited with {code}; restarting it in {pause} s")
        self.process, self.restart_at = None, now + pause

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)

    def reap(self, deadline: float) -> None:
        """Wait for the part to stop; then kill whatever is left of its process group."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within {STOP_GRACE_SECONDS} s; killing it")
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def lan_address() -> str:
    """This machine's address on the local network: the source of its default route, else of any interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # a documentation address: nothing is sent
            return sock.getsockname()[0]
        except OSError:
            pass
    for *_, address in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        if not address[0].startswith("127."):
            return address[0]
    return "127.0.0.1"


def print_address(url: str, with_qr: bool) -> None:
    print(f"\nConsistency Lab: {url}   (Ctrl-C stops the web server, the worker and the private Redis)\n", flush=True)
    if with_qr:
        import segno

        segno.make(url, error="m").terminal(compact=True)
        print(flush=True)


def web_parts(dev: bool, env: dict) -> list[Part]:
    python = sys.executable
    if dev:
        web = [python, "manage.py", "runserver", f"{env['HOST']}:{env['WEB_PORT']}"]
    else:
        web = [python, "-m", "gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]
    worker = [python, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
              f"--concurrency={env.get('WORKER_CONCURRENCY', '2')}", "--hostname=worker@%h"]
    return [Part("web", web, env), Part("worker", worker, env)]


def main(argv: list[str]) -> int:
    dev = "--dev" in argv
    env = dict(os.environ, DEBUG="1" if dev else "0")
    host = env.setdefault("HOST", "127.0.0.1")
    port = env.setdefault("WEB_PORT", "8000")
    public_host = lan_address() if host == "0.0.0.0" else host
    allowed = [h for h in env.get("ALLOWED_HOSTS", "").split(",") if h] or LOOPBACK_HOSTS
    env["ALLOWED_HOSTS"] = ",".join(dict.fromkeys(allowed + [public_host]))
    env["PUBLIC_URL"] = url = f"http://{public_host}:{port}"
    if not dev:
        # prometheus_client's multi-process mode: one file per process, cleared at each start.
        metrics_dir = ROOT / "var" / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stop.set())

    parts: list[Part] = []
    redis_part = None
    if env.get("REDIS_URL") and answers(env["REDIS_URL"]):
        log(f"using the Redis at REDIS_URL ({env['REDIS_URL']})")
    else:
        redis_port = free_port()
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        redis_part = Part("redis", private_redis_command(redis_port), env)
        redis_part.start()
        wait_until_answers(env["REDIS_URL"], redis_part.process)
        log(f"private Redis at {env['REDIS_URL']} (it keeps nothing on disk)")
    parts = web_parts(dev, env)
    for part in parts:
        part.start()
    print_address(url, with_qr=host not in ("127.0.0.1", "localhost"))

    supervised = parts + ([redis_part] if redis_part else [])
    while not stop.wait(0.5):
        now = time.monotonic()
        for part in supervised:
            part.check(now)

    log("stopping")
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for part in parts:
        part.terminate()
    for part in parts:
        part.reap(deadline)
    if redis_part is not None:
        redis_part.terminate()
        redis_part.reap(time.monotonic() + STOP_GRACE_SECONDS)
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
