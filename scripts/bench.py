"""`make bench`: measure, don't assert. Writes docs/benchmarks.md.

1. Every experiment's simulation at its largest size (about 100,000 operations), on one core.
2. The retries experiment against Brooker's findings: calls and completion time per strategy.
3. Live latency through the web, Redis and one real Celery worker: submit → first frame → verdict.
4. The dual-write live relay: batched vs one-by-one publishing, and raw pipelined XADD as the ceiling.
5. The interview scorer's rubric-item precision and recall on the labelled answers.
6. Submit → first drawn chart point in a real, cold Chromium through gunicorn (DEBUG off).
7. Pages under load: locust against gunicorn as `make run` serves it, each page's requests/s
   over a do-nothing view's (the ceiling) measured just before it, median of 3 such pairs, fresh and returning visitors.
8. A class of 200 simulated students (locust, headless) against gunicorn: live endpoints and answer → chart.

`python scripts/bench.py pages` measures only (7), `python scripts/bench.py classroom` only (8),
`python scripts/bench.py interview` only (5, the tuning set, the spent held-out sets and their halves, and the held-out
set when it is there); each
replaces its own section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import csv
import platform
import socket
import tempfile
import urllib.request
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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
    ("locks", "no fencing, 100,000 leases", {"mode": "no-fencing", "operations": 100_000}),
    ("locks", "fencing, 100,000 leases, 50 clients, 100 records", {"mode": "fencing", "operations": 100_000, "clients": 50, "records": 100}),
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
    # Four rules resolve every write, and a sweep replays the first 800 at six skews: 95,200 writes resolved.
    ("clocks", "19,000 writes, 3 replicas, 50 ms skew", {"writes": 19_000}),
    ("clocks", "19,000 writes, 7 replicas, one hot key, 500 ms skew", {"writes": 19_000, "replicas": 7, "keys": 1, "skew_ms": 500}),
    ("consistency-models", "eventual, checker fails fast", {"operations": 100_000}),
    ("consistency-models", "every guarantee, quorum reads, checker passes", {
        "operations": 100_000, "read_your_writes": True, "monotonic_reads": True, "monotonic_writes": True,
        "consistent_prefix": True, "bounded_staleness": True, "linearizable": "quorum"}),
    # Each at the form's budget: about 100,000 messages and commands in two simulated minutes.
    ("raft", "7 nodes, 120 s, three faults, 5% loss", {"nodes": 7, "duration_ms": 120_000, "heartbeat_ms": 20,
                                                      "command_interval_ms": 5, "loss": 0.05}),
    ("raft", "3 nodes, 120 s, heartbeat 5 ms, no faults", {"nodes": 3, "duration_ms": 120_000, "heartbeat_ms": 5,
                                                           "command_interval_ms": 40, "kill_leader": False,
                                                           "partition_leader": False, "split_vote": False}),
    ("hashing", "10,000 Zipf keys, a hot key, 9 changes", {"keys": 10_000, "changes": 9, "distribution": "zipf", "hot_key_share": 0.1}),
    ("resilience", "no protection, metastable after a slowdown", {"requests": 100_000}),
    ("resilience", "retry budget 10%, recovers", {"requests": 100_000, "retry_budget": True}),
    # 30,000 messages through the log, the queue and one pub/sub subscriber: 90,000 publishes, plus redeliveries.
    ("messaging", "30,000 messages, crashes and a disconnect", {"messages": 30_000, "subscribers": 1, "publish_rate": 2000}),
    ("messaging", "30,000 messages, poison without a DLQ", {"messages": 30_000, "subscribers": 1, "publish_rate": 2000,
                                                           "poison_messages": 10, "dead_letter": False}),
    # 100,000 operations on 7 replicas, 100 set elements, and the most gossip the form allows (15,000 full-state merges).
    ("crdt", "7 replicas, 3 cut off, 100,000 operations, 100 elements", {
        "operations": 100_000, "replicas": 7, "cut_off_replicas": 3, "elements": 100, "interval_ms": 0.5, "gossip_ms": 25}),
    ("crdt", "same, sets only, few removes", {
        "operations": 100_000, "replicas": 7, "cut_off_replicas": 3, "elements": 100, "interval_ms": 0.5, "gossip_ms": 25,
        "counter_share": 0.0, "remove_share": 0.1}),
]


@contextmanager
def gunicorn_serving(what: str, *, as_make_run: bool = False, **env: str) -> Iterator[str]:
    """gunicorn with DEBUG off on a free port, for one benchmark; yields its base URL and stops it after.

    as_make_run: with config/gunicorn.py (its worker count), else 2 workers × 4 threads.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shape = ["--config", "config/gunicorn.py"] if as_make_run else ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", *shape], cwd=ROOT,
                              env=dict(os.environ, DEBUG="0", WEB_PORT=str(port), ALLOWED_HOSTS="127.0.0.1", **env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/static/css/app.css", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    sys.exit(f"gunicorn did not start for the {what} benchmark")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


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


def bench_cold_first_chart(runs: int = 5) -> list[str]:
    """Submit → first drawn point of the run chart, in headless Chromium with an empty cache each time.

    The app as deployed (gunicorn, DEBUG off, WhiteNoise) and a warm worker; every run
    uses a new browser context, so Plotly and the page's scripts come over the wire cold.
    """
    from playwright.sync_api import sync_playwright

    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    worker = start_worker(dict(os.environ, RUN_FRAME_DELAY_MS=os.environ.get("RUN_FRAME_DELAY_MS", "25")))
    # Plotly puts .data on a chart's div once it has drawn it.
    drawn = "(document.getElementById('chart-0') || {}).data && document.getElementById('chart-0').data[0].x.length > 0"
    timings = []
    try:
        with gunicorn_serving("cold-chart") as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                                 args=["--headless", "--no-sandbox", "--disable-gpu"])
            for _ in range(runs + 1):  # the first warms the worker and the server, not the browser
                # wait_for_function evaluates a string, which the CSP forbids; loading is the same either way.
                context = browser.new_context(bypass_csp=True)
                page = context.new_page()
                page.goto(f"{base}/experiments/dual-write/?preset=naive")
                page.get_by_label("Your prediction").fill("100")
                started = time.perf_counter()
                page.get_by_role("button", name="Run the experiment").click()
                page.wait_for_function(drawn, polling="raf", timeout=60_000)
                timings.append(time.perf_counter() - started)
                # One worker process: let this run end, so the next one is not queued behind it.
                page.wait_for_function("document.querySelector('[data-run-chart]').dataset.final === 'true'",
                                       timeout=120_000)
                context.close()
            browser.close()
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    cold = timings[1:]
    return [
        f"## First chart point in a cold browser (dual-write naive; median of {runs}, new browser context each)",
        "",
        "From clicking *Run the experiment* to the first frame drawn on the run page's chart, with the page's",
        "HTML, htmx, the 1.2 MB basic Plotly bundle and the frames all fetched cold. Goal: under 1 s.",
        "",
        "| median | fastest | slowest |",
        "| ---: | ---: | ---: |",
        f"| {statistics.median(cold) * 1000:.0f} ms | {min(cold) * 1000:.0f} ms | {max(cold) * 1000:.0f} ms |",
    ]


PAGE_USERS = 16
PAGE_SECONDS = int(os.environ.get("BENCH_PAGE_SECONDS", "6"))
# The machine is shared and its load swings within a minute: each page is measured right after the
# ceiling, the ratio is taken per pair, and the median of the rounds is reported.
PAGE_ROUNDS = int(os.environ.get("BENCH_PAGE_ROUNDS", "3"))
PAGES_HEADING = "## Pages under load"




def locust(url: str, path: str, visitor: str, tmp: Path) -> dict:
    prefix = tmp / f"locust-{abs(hash((path, visitor)))}"
    env = dict(os.environ, BENCH_PATH=path, BENCH_VISITOR=visitor)
    subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "scripts" / "locustfile.py"), "--headless",
                    "-u", str(PAGE_USERS), "-r", str(PAGE_USERS), "-t", f"{PAGE_SECONDS}s", "--host", url,
                    "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR"],
                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    with open(f"{prefix}_stats.csv") as rows:
        row = next((r for r in csv.DictReader(rows) if r["Name"] == "page"), None)
    if row is None:  # not one request finished in the time given
        return {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "failures": 0, "requests": 0}
    return {"rps": float(row["Requests/s"]), "p50": float(row["50%"]), "p99": float(row["99%"]),
            "failures": int(row["Failure Count"]), "requests": int(row["Request Count"])}


def bench_pages() -> list[str]:
    from interview.models import InterviewScript
    from lessons.models import Lesson
    from playground.models import ExperimentRun
    from playground.runner import run_execute

    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive", "orders": 1000})
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, status=ExperimentRun.Status.RUNNING)
    run_execute(run, frame_delay=0)
    lesson = Lesson.objects.get(slug="dual-write")
    assert InterviewScript.objects.exists(), "run `make setup` first: no interview scripts"
    ceiling_name, ceiling_path = "do-nothing view (ceiling)", "/bench/noop"
    pages = [("catalogue", "/"), ("lesson", lesson.get_absolute_url()),
             ("quiz", f"/lessons/{lesson.slug}/quiz/"), ("experiment page", "/experiments/dual-write/"),
             ("finished run page", run.get_absolute_url()), ("frames endpoint", f"/runs/{run.id}/frames?after=0"),
             ("interview list", "/interview/")]
    visitors = ("fresh", "returning")
    loads = [os.getloadavg()[0]]
    results: dict[tuple[str, str], list[dict]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "metrics").mkdir()
        with gunicorn_serving("page", as_make_run=True, BENCH_NOOP="1", PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics")) as url:
            for _ in range(PAGE_ROUNDS):
                for name, path in pages:
                    for visitor in visitors:
                        ceiling = locust(url, ceiling_path, visitor, tmp)
                        page = locust(url, path, visitor, tmp)
                        results.setdefault((ceiling_name, visitor), []).append(ceiling)
                        results.setdefault((name, visitor), []).append(page)
                        ratios.setdefault((name, visitor), []).append(page["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0)
                loads.append(os.getloadavg()[0])
    lines = [PAGES_HEADING, "",
             f"locust ({PAGE_USERS} users, no think time, {PAGE_SECONDS} s a page, on the same machine as the server) against "
             f"gunicorn as `make run` serves it (`config/gunicorn.py`: gthread, {os.cpu_count() * 2} processes × 4 threads, "
             "DEBUG=0, WhiteNoise). *Fresh* visitors send no cookies; *returning* ones keep theirs (a CSRF cookie: looking "
             "writes no session). Each page is measured right after the do-nothing view (the ceiling), same visitors; its "
             f"ratio is its requests/s over that ceiling's, and the table shows the median of {PAGE_ROUNDS} such pairs "
             "(range in brackets) — goal ≥ 0.5, lessons ≥ 0.8. Load average: "
             f"{', '.join(f'{load:.1f}' for load in loads)} (at the start and after each round) on {os.cpu_count()} cores.", "",
             "| page | visitors | req/s | p50 | p99 | ratio to ceiling | failed |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in [ceiling_name] + [name for name, _ in pages]:
        for visitor in visitors:
            runs = results[(name, visitor)]
            median = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
            if name == ceiling_name:
                ratio = "1.00"
            else:
                spread = ratios[(name, visitor)]
                ratio = f"**{statistics.median(spread):.2f}** ({min(spread):.2f}–{max(spread):.2f})"
            lines.append(f"| {name} | {visitor} | {median['rps']:,.0f} | {median['p50']:.0f} ms | {median['p99']:.0f} ms | "
                         f"{ratio} | {sum(r['failures'] for r in runs)} of {sum(r['requests'] for r in runs):,} |")
    return lines


def write_pages_section(lines: list[str]) -> None:
    """Replace the pages section of docs/benchmarks.md (or add it), keeping everything else."""
    out = ROOT / "docs" / "benchmarks.md"
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    out.write_text(replace_section(text, PAGES_HEADING, lines[2:]))  # lines open with the heading and a blank line
    print("\n".join(lines))


CLASS_SIZE = 200
CLASS_SECONDS = 45


def bench_classroom() -> list[str]:
    lines = ["The load generator runs on the same 2 cores as gunicorn, Redis and the database, so it competes with the "
             "server it measures.", "", *bench_class_cpu()]
    for follows_frames in (False, True):
        lines += ["", *bench_class_once(follows_frames=follows_frames)]
    return lines


def bench_class_cpu(repeats: int = 25) -> list[str]:
    """CPU time per request of the live endpoints, in-process: unlike latency, barely moved by a busy machine.

    25 repeats: the answers stay under the per-session limit of 30 a minute.
    """
    import re

    from django.contrib.auth.models import User
    from django.test.utils import override_settings

    from classroom.services import classroom_create, classroom_present, poll_create
    from lessons.models import Learner
    from playground.models import ExperimentRun

    instructor = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
    classroom = classroom_create(owner=instructor, name="CPU class")
    poll = poll_create(classroom=classroom, kind="single", prompt="Which commits first?", choices=["order", "event"])
    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive", "orders": 1000})
    frames: list[dict] = []
    summary = experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, frames=frames, summary=summary,
                                       status=ExperimentRun.Status.SUCCEEDED, created_by=instructor)
    classroom_present(classroom=classroom, run=run)
    try:
        hosts = override_settings(ALLOWED_HOSTS=["testserver"])
        hosts.enable()
        student = Client()
        student.post(f"/join/{classroom.code}/", {"nickname": "cpu"})
        room = student.get(f"/c/{classroom.code}/").content.decode()
        live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
        version = re.search(r'data-version="(\d+)"', room).group(1)
        run_key = re.search(r'data-run-key="([^"]*)"', room).group(1)
        cases = [("live, unchanged (204): the floor", f"{live_url}&v={version}&run={run_key}", None),
                 ("live, class changed (200)", f"{live_url}&v=0&run={run_key}", None),
                 ("live, class changed, with the run's charts (200)", f"{live_url}&v=0&run=", None),
                 ("room page", f"/c/{classroom.code}/", None),
                 ("answer (htmx)", f"/c/{classroom.code}/polls/{poll.id}/answer", {"choice": "1"})]
        rows = []
        for name, url, data in cases:
            call = (lambda: student.post(url, data, HTTP_HX_REQUEST="true")) if data else (lambda: student.get(url))
            call()
            started = time.process_time()
            for _ in range(repeats):
                call()
            rows.append((name, (time.process_time() - started) / repeats * 1000))
    finally:
        hosts.disable()
        Learner.objects.filter(id__in=classroom.members.values("learner_id")).delete()
        classroom.delete()
        run.delete()
        instructor.delete()
    floor = rows[0][1]
    return [f"**CPU per request** (in-process through Django's test client, mean of {repeats}; the machine's load barely "
            f"moves it; load average {os.getloadavg()[0]:.1f}):", "",
            "| request | CPU ms | ratio to the floor |", "| --- | ---: | ---: |",
            *[f"| {name} | {ms:.2f} | {ms / floor:.1f} |" for name, ms in rows]]


def bench_class_once(*, follows_frames: bool) -> list[str]:
    """200 students join, follow the live endpoint (and a run's frames), answer a poll; one instructor watches the chart."""
    import json

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from classroom.models import Classroom
    from classroom.services import classroom_create, classroom_present, poll_create
    from lessons.models import Learner
    from playground.models import ExperimentRun

    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    instructor = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
    classroom = classroom_create(owner=instructor, name="Benchmark class")
    Classroom.objects.filter(id=classroom.id).update(capacity=CLASS_SIZE + 10)
    poll = poll_create(classroom=classroom, kind="single", prompt="Which commits first?", choices=["order", "event"], correct=[0])
    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive", "orders": 1000})
    frames: list[dict] = []
    summary = experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, frames=frames, summary=summary,
                                       status=ExperimentRun.Status.SUCCEEDED, created_by=instructor)
    classroom_present(classroom=classroom, run=run)
    session = SessionStore()
    session.update({SESSION_KEY: str(instructor.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: instructor.get_session_auth_hash()})
    session.create()
    work = Path(tempfile.mkdtemp(prefix="classroom-bench-"))
    load = os.getloadavg()[0]  # the machine is shared: read the figures against this
    try:
        with gunicorn_serving("classroom") as url:
            env = dict(os.environ, BENCH_CODE=classroom.code, BENCH_POLL_ID=str(poll.id),
                       BENCH_FRAMES_URL=f"/runs/{run.id}/frames?after={len(frames)}" if follows_frames else "",
                       BENCH_INSTRUCTOR_SESSION=session.session_key, BENCH_OUT=str(work / "latency.json"))
            subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "scripts" / "classroom_locust.py"), "--headless",
                            "-u", str(CLASS_SIZE + 1), "-r", "40", "-t", f"{CLASS_SECONDS}s", "--host", url,
                            "--csv", str(work / "class"), "--only-summary", "--loglevel", "WARNING"],
                           cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
        with open(work / "class_stats.csv", newline="") as stats_file:
            stats = list(csv.DictReader(stats_file))
        measured = json.loads((work / "latency.json").read_text())
        joined = classroom.members.count()
        answers = poll.answers.count()
    finally:
        Learner.objects.filter(id__in=classroom.members.values("learner_id")).delete()
        classroom.delete()
        run.delete()
        instructor.delete()
    lag = sorted(max(0.0, x) for x in measured["latencies"])
    following = ("the live endpoint and a presented run's frames endpoint once a second each (as while a run is live)"
                 if follows_frames else "the live endpoint once a second (a finished run on screen, as after a run)")
    lines = [
        f"**{'Poll and a live run' if follows_frames else 'Poll'}.** {joined} students joined, {answers} answered; "
        f"{CLASS_SECONDS} s under gunicorn (2 workers × 4 threads); students poll {following}; the instructor's chart polls every 500 ms. "
        f"Load average when it started: {load:.1f} on {os.cpu_count()} cores.",
        "",
        "| endpoint | requests | failures | p50 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in stats:
        lines.append(f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} ms | {row['99%']} ms | "
                     f"{float(row['Max Response Time']):.0f} ms |")
    if lag:
        lines += ["", f"Answer → instructor's chart (answer saved until the chart's poll shows it, {len(lag)} answers): "
                      f"p50 {statistics.median(lag) * 1000:.0f} ms, p99 {lag[min(len(lag) - 1, int(len(lag) * 0.99))] * 1000:.0f} ms, "
                      f"max {lag[-1] * 1000:.0f} ms (the chart polls every 500 ms, which bounds the median)."]
    return lines


def replace_section(text: str, title: str, body: list[str]) -> str:
    """Put `body` under `title` in a Markdown file, replacing that section if it is there."""
    section = "\n".join([title, "", *body, ""])
    start = text.find(title)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(title))
    return text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")  # a blank line before the next heading


CLASSROOM_TITLE = f"## A class of {CLASS_SIZE} students (locust, headless, against gunicorn)"


def main() -> None:
    if sys.argv[1:] == ["pages"]:
        write_pages_section(bench_pages())
        return
    if sys.argv[1:] == ["interview"]:
        lines = interview_report()
        out = ROOT / "docs" / "benchmarks.md"
        text = out.read_text() if out.exists() else "# Benchmarks\n"
        out.write_text(replace_section(text, lines[0], lines[2:]))
        print("\n".join(lines))
        return
    delay = os.environ.get("RUN_FRAME_DELAY_MS", "25")
    largest = bench_largest()
    retries = bench_retries_table()
    paced, unpaced = bench_live(delay), bench_live("0")
    relay = bench_relay(settings.REDIS_URL)
    interview = interview_report()
    first_chart = bench_cold_first_chart()
    pages = bench_pages()
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
        *first_chart,
        "",
        *pages,
        "",
        CLASSROOM_TITLE,
        "",
        *bench_classroom(),
        "",
    ]
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] == ["classroom"]:
        out = ROOT / "docs" / "benchmarks.md"
        section = bench_classroom()
        out.write_text(replace_section(out.read_text() if out.exists() else "# Benchmarks\n", CLASSROOM_TITLE, section))
        print("\n".join(section))
    else:
        main()
