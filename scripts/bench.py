"""`make bench`: measure, don't assert. Writes docs/benchmarks.md.

1. Simulation speed: each dual-write mode at 100,000 orders, no pacing (what the CLI does).
2. Live latency with a real Celery worker and Redis: from the HTTP submit to the first frame a
   browser could draw, and to the verdict, for the default run (paced for watching) and unpaced.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from config.celery import app  # noqa: E402
from playground.experiments import get_experiment  # noqa: E402

REPEATS = 5


def bench_simulation() -> list[tuple[str, float, int]]:
    experiment = get_experiment("dual-write")
    rows = []
    for mode in ["naive", "publish-first", "outbox"]:
        params, _ = experiment.clean_params({"mode": mode, "orders": 100_000, "relay_crash_probability": 0.01})
        timings = []
        for _ in range(REPEATS):
            frames = []
            started = time.perf_counter()
            experiment.run(params, 7, frames.append)
            timings.append(time.perf_counter() - started)
        rows.append((mode, statistics.median(timings), len(frames)))
    return rows


def start_worker(env: dict) -> subprocess.Popen:
    hostname = f"bench-{os.getpid()}@{platform.node()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--concurrency=1",
         f"--hostname={hostname}", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[hostname], timeout=0.5):
        if time.monotonic() > deadline:
            worker.kill()
            sys.exit("the benchmark worker did not start")
    return worker


def one_live_run(client: Client) -> tuple[float, float]:
    data = {"mode": "naive", "orders": 1000, "crash_probability": 0.02, "outage_start_ms": 3000, "outage_ms": 2000,
            "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 100}
    started = time.perf_counter()
    response = client.post("/experiments/dual-write/", data)
    frames_url = response["Location"] + "frames"
    first = None
    while True:
        body = client.get(frames_url + "?after=0").json()
        if body["frames"] and first is None:
            first = time.perf_counter() - started
        if body["final"]:
            return first, time.perf_counter() - started
        time.sleep(0.01)


def bench_live(frame_delay_ms: str) -> tuple[float, float]:
    env = dict(os.environ, RUN_FRAME_DELAY_MS=frame_delay_ms)
    worker = start_worker(env)
    try:
        client = Client()
        results = [one_live_run(client) for _ in range(REPEATS)]
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def main() -> None:
    simulation = bench_simulation()
    paced = bench_live(os.environ.get("RUN_FRAME_DELAY_MS", "25"))
    unpaced = bench_live("0")
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"{cpu} CPU cores, database `{django.conf.settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}`. "
        f"Each figure is the median of {REPEATS} runs. Figures are measurements of one machine, not promises.",
        "",
        "## Dual-write simulation, 100,000 orders, one core",
        "",
        "| mode | median time | frames emitted |",
        "| --- | ---: | ---: |",
        *[f"| {mode} | {seconds * 1000:.0f} ms | {frames} |" for mode, seconds, frames in simulation],
        "",
        "## Live run through the web, Redis and one Celery worker (1,000 orders)",
        "",
        "| pacing | submit → first frame | submit → verdict |",
        "| --- | ---: | ---: |",
        f"| default ({os.environ.get('RUN_FRAME_DELAY_MS', '25')} ms a frame, for watching) | {paced[0] * 1000:.0f} ms | {paced[1]:.2f} s |",
        f"| none | {unpaced[0] * 1000:.0f} ms | {unpaced[1] * 1000:.0f} ms |",
        "",
    ]
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
