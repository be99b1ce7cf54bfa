"""`make bench`: measure, don't assert. Writes docs/benchmarks.md.

1. Every experiment's simulation at its largest size (about 100,000 operations), on one core.
2. The retries experiment against Brooker's findings: calls and completion time per strategy.
3. Live latency through the web, Redis and one real Celery worker: submit → first frame → verdict.
4. The dual-write live relay: batched vs one-by-one publishing, and raw pipelined XADD as the ceiling.
5. The interview scorer's rubric-item precision and recall on the labelled answers.
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

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from config.celery import app  # noqa: E402
from interview.scoring_quality import report_markdown as interview_report  # noqa: E402
from playground.experiments import get_experiment  # noqa: E402
from playground.experiments.dual_write_live import bench_relay  # noqa: E402

REPEATS = 3

# The largest run of each experiment the form allows, in its usual variants.
LARGEST = [
    ("dual-write", "naive", {"mode": "naive", "orders": 100_000}),
    ("dual-write", "outbox, relay crashes", {"mode": "outbox", "orders": 100_000, "relay_crash_probability": 0.01}),
    ("idempotency", "naive", {"mode": "naive", "messages": 100_000}),
    ("idempotency", "dedup table", {"mode": "dedup-table", "messages": 100_000}),
    ("idempotency", "dedup cache", {"mode": "dedup-cache-ttl", "messages": 100_000}),
    ("retries", "contention, 500 clients, no jitter", {"mode": "contention", "strategy": "exponential", "clients": 500}),
    ("retries", "flaky, 100,000 requests, full jitter", {"mode": "flaky-dependency", "strategy": "full", "requests": 100_000, "redrive": "on"}),
    ("saga", "orchestration", {"mode": "orchestration", "sagas": 100_000}),
    ("saga", "choreography", {"mode": "choreography", "sagas": 100_000}),
    ("reconciliation", "every 5 s", {"entities": 100_000, "operations": 100_000, "reconcile_every_s": 5}),
    # 40,000 PBS write-then-read trials (80,000 operations) plus a 20,000-operation timeline.
    ("quorums", "N=3, R=W=1, LNKD-DISK, strict", {"trials": 40_000, "operations": 20_000}),
    ("quorums", "N=9, R=W=5, sloppy, 4 cut off", {"trials": 40_000, "operations": 20_000, "replicas": 9, "read_quorum": 5,
                                                  "write_quorum": 5, "cut_off_replicas": 4, "quorum_mode": "sloppy",
                                                  "keys": 100, "interval_ms": 1, "partition_ms": 10_000}),
    ("consistency-models", "eventual, checker fails fast", {"operations": 100_000}),
    ("consistency-models", "every guarantee, quorum reads, checker passes", {
        "operations": 100_000, "read_your_writes": True, "monotonic_reads": True, "monotonic_writes": True,
        "consistent_prefix": True, "bounded_staleness": True, "linearizable": "quorum"}),
    ("hashing", "10,000 Zipf keys, a hot key, 9 changes", {"keys": 10_000, "changes": 9, "distribution": "zipf", "hot_key_share": 0.1}),
]


def bench_largest() -> list[str]:
    lines = ["| experiment | variant | CPU time (median) | wall time (median) | frames |", "| --- | --- | ---: | ---: | ---: |"]
    for slug, variant, raw in LARGEST:
        experiment = get_experiment(slug)
        params, errors = experiment.clean_params(raw)
        assert not errors, (slug, errors)
        cpu, wall, frames = [], [], []
        for _ in range(REPEATS):
            collected: list[dict] = []
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            experiment.run(params, 7, collected.append)
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started_wall)
            frames.append(len(collected))
        lines.append(f"| {slug} | {variant} | {statistics.median(cpu):.2f} s | {statistics.median(wall):.2f} s | {frames[0]} |")
    return lines


def bench_retries_table() -> list[str]:
    experiment = get_experiment("retries")
    strategies = ["none", "exponential", "full", "equal", "decorrelated"]
    lines = ["| clients | " + " | ".join(strategies) + " |", "| ---: |" + " ---: |" * len(strategies)]
    for clients in (50, 100, 150):
        cells = []
        for strategy in strategies:
            params, _ = experiment.clean_params({"mode": "contention", "strategy": strategy, "clients": clients})
            runs = [experiment.run(params, seed, lambda frame: None) for seed in range(1, 6)]
            calls = statistics.median(run["total_calls"] for run in runs)
            ms = statistics.median(run["completion_ms"] for run in runs)
            cells.append(f"{calls:,.0f} calls · {ms:,.0f} ms")
        lines.append(f"| {clients} | " + " | ".join(cells) + " |")
    return lines


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
        client.get("/experiments/dual-write/")
        one_live_run(client)  # warm the worker: the figure is for a warm one
        results = [one_live_run(client) for _ in range(5)]
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def main() -> None:
    delay = os.environ.get("RUN_FRAME_DELAY_MS", "25")
    largest = bench_largest()
    retries = bench_retries_table()
    paced, unpaced = bench_live(delay), bench_live("0")
    relay = bench_relay(settings.REDIS_URL)
    interview = interview_report()
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"{cpu} CPU cores, database `{engine}`. Figures are measurements of one machine, not promises; "
        "CPU time is the simulation's own (one core), wall time includes whatever else the machine was doing.",
        "",
        f"## Simulations at their largest size (median of {REPEATS})",
        "",
        *largest,
        "",
        "## Retries: Brooker's contention model (base 5 ms, cap 2 s; median of seeds 1–5)",
        "",
        "Calls are conditional writes, as in Brooker's simulator; time is when the last client's update landed.",
        "",
        *retries,
        "",
        "## Live runs through the web, Redis and one warm Celery worker (dual-write, 1,000 orders; median of 5)",
        "",
        "| pacing | submit → first frame | submit → verdict |",
        "| --- | ---: | ---: |",
        f"| default ({delay} ms a frame, for watching) | {paced[0] * 1000:.0f} ms | {paced[1]:.2f} s |",
        f"| none | {unpaced[0] * 1000:.0f} ms | {unpaced[1] * 1000:.0f} ms |",
        "",
        "## Dual-write live: outbox relay throughput into a Redis Stream",
        "",
        *relay,
        "",
        *interview,
        "",
    ]
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
