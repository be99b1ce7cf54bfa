"""`make bench`: measure, don't assert. Writes docs/benchmarks.md.

1. Every experiment's simulation at its largest size (about 100,000 operations), on one core.
2. The retries experiment against Brooker's findings: calls and completion time per strategy.
3. Live latency through the web, Redis and one real Celery worker: submit → first frame → verdict.
4. The dual-write live relay: batched vs one-by-one publishing, and raw pipelined XADD as the ceiling.
5. The interview scorer's rubric-item precision and recall on the labelled answers.
6. Submit → first drawn chart point in a real, cold Chromium through gunicorn (DEBUG off).
7. Pages under load: locust against gunicorn as `make run` serves it, each page's requests/s
   over a do-nothing view's (the ceiling) measured just before it, median of 3 such pairs; fresh visitors,
   returning ones, and learners with progress of their own.
8. A class of 200 simulated students (locust, headless) against gunicorn: live endpoints and answer → chart.

`python scripts/bench.py pages` measures only (7), `python scripts/bench.py classroom` only (8: about 3 minutes,
under a private Redis of its own unless REDIS_URL is set; after `make setup`),
`python scripts/bench.py interview` only (5, the tuning set, the spent held-out sets and their halves, and the held-out
set when it is there); each
replaces its own section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import csv
import json
import math
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
if __name__ == "__main__" and sys.argv[1:] == ["classroom"] and not os.environ.get("REDIS_URL"):
    # On its own (`python scripts/bench.py classroom`): under a private Redis, as `make bench` runs.
    os.execv(sys.executable, [sys.executable, str(ROOT / "scripts" / "with_redis.py"), "--", sys.executable, *sys.argv])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("BENCH_NOOP", "1")  # the do-nothing view, the pages' ceiling, in-process too
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
def gunicorn_serving(what: str, *, as_make_run: bool = False, pids: list[int] | None = None, **env: str) -> Iterator[str]:
    """gunicorn with DEBUG off on a free port, for one benchmark; yields its base URL and stops it after.

    as_make_run: with config/gunicorn.py (its worker count), else 2 workers × 4 threads.
    pids: the server's process id is appended to it (its workers are its children).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shape = ["--config", "config/gunicorn.py"] if as_make_run else ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", *shape], cwd=ROOT,
                              env=dict(os.environ, DEBUG="0", WEB_PORT=str(port), ALLOWED_HOSTS="127.0.0.1", **env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if pids is not None:
        pids.append(server.pid)
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
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", "3"))
# The machine is shared and its load swings within a minute: each page is measured right after the
# ceiling, the ratio is taken per pair, and the median of the rounds is reported.
PAGE_ROUNDS = int(os.environ.get("BENCH_PAGE_ROUNDS", "3"))
PAGES_HEADING = "## Pages under load"
VISITORS = tuple(os.environ.get("BENCH_PAGE_VISITORS", "fresh,returning,learner").split(","))


def learner_with_progress() -> tuple[int, dict[str, str]]:
    """A returning learner, as a browser keeps them: (learner id, cookies).

    Answers to three lessons' quizzes (one of them wrong), a finished run of their own with a prediction,
    a finished mock interview: everything the pages show of a learner's own.
    """
    from django.test.utils import override_settings

    from interview.models import InterviewScript
    from interview.services import practice_session_finish, practice_session_start, prompt_answer_open, prompt_answer_submit
    from lessons.learners import SESSION_KEY
    from lessons.models import Learner, Question
    from playground.models import ExperimentRun
    from playground.runner import run_execute

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        client = Client()
        client.get("/lessons/dual-write/quiz/")  # the CSRF cookie a browser gets on its first page
        for slug in ("dual-write", "idempotency", "retries"):
            for i, question in enumerate(Question.objects.filter(lesson__slug=slug, kind="single", active=True)[:3]):
                right = next(n for n, choice in enumerate(question.data["choices"]) if choice["correct"])
                choice = right if i < 2 or slug != "dual-write" else (right + 1) % len(question.data["choices"])
                response = client.post(f"/questions/{question.key}/answer", {"choice": str(choice), "source": "quiz"})
                assert response.status_code == 302, response.status_code
    learner = Learner.objects.get(id=client.session[SESSION_KEY])
    params, _ = get_experiment("dual-write").clean_params({"mode": "naive", "orders": 1000})
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=11, prediction=3, learner=learner,
                                       owner_session=client.session.session_key, status=ExperimentRun.Status.RUNNING)
    run_execute(run, frame_delay=0)
    script = InterviewScript.objects.filter(active=True).first()
    session = practice_session_start(learner=learner, script=script)
    for number in session.prompt_numbers:
        prompt_answer_submit(answer=prompt_answer_open(session=session, number=number),
                             text="An outbox row in the same transaction, relayed at least once; consumers dedupe.")
    practice_session_finish(session=session)
    return learner.id, {name: morsel.value for name, morsel in client.cookies.items()}


def locust_round(url: str, plan: list[dict], tmp: Path, learners: Path) -> list[dict]:
    """One locust process measures the plan's (path, visitor) one after another."""
    plan_path, out_path = tmp / "plan.json", tmp / "results.json"
    plan_path.write_text(json.dumps(plan))
    env = dict(os.environ, BENCH_USERS=str(PAGE_USERS), BENCH_SECONDS=str(PAGE_SECONDS), BENCH_LEARNERS=str(learners))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "locustfile.py"), url, str(plan_path), str(out_path)],
                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
    return json.loads(out_path.read_text())


def page_cpu(pages: list[tuple[str, str]], learner_cookies: dict[str, str], repeats: int = 50) -> list[str]:
    """CPU time per request of each page, in-process through Django's test client: unlike requests/s under
    locust, barely moved by a busy machine. The same visitors as under load; the do-nothing view is the floor."""
    from django.test.utils import override_settings

    with override_settings(ALLOWED_HOSTS=["testserver"]):
        returning = Client()
        returning.get(next(path for path in dict(pages).values() if "/quiz/" in path))  # it gives the CSRF cookie
        other = Client()

        def visitor(kind: str) -> Client:
            if kind == "returning":
                return returning
            other.cookies.clear()  # fresh: no cookies; a learner: exactly theirs
            for name, value in (learner_cookies.items() if kind == "learner" else ()):
                other.cookies[name] = value
            return other

        cpu: dict[tuple[str, str], float] = {}
        for name, path in pages:
            for kind in VISITORS:
                assert visitor(kind).get(path).status_code == 200, (path, kind)  # rendered once, as under load
                times = []
                for _ in range(repeats):
                    client = visitor(kind)
                    started = time.process_time()
                    client.get(path)
                    times.append(time.process_time() - started)
                # The median: now and then a request pays for a garbage collection of the whole heap, a
                # cost of every page that a mean would pin on whichever page happened to be measured.
                cpu[(name, kind)] = statistics.median(times) * 1000
    floor_name = pages[0][0]
    return [f"**CPU per request** (in-process through Django's test client, median of {repeats}; load average "
            f"{os.getloadavg()[0]:.1f}), in ms, and in brackets over the do-nothing view's for the same visitors:", "",
            "| page | " + " | ".join(VISITORS) + " |", "| --- |" + " ---: |" * len(VISITORS),
            *[f"| {name} | " + " | ".join(f"{cpu[(name, kind)]:.2f} ({cpu[(name, kind)] / cpu[(floor_name, kind)]:.1f}×)"
                                          for kind in VISITORS) + " |" for name, _ in pages]]


def bench_pages() -> list[str]:
    from interview.models import InterviewScript
    from lessons.models import Learner, Lesson
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
    learners = [learner_with_progress() for _ in range(PAGE_USERS)]  # one per simulated user
    plan = [{"name": name, "path": path, "visitor": visitor}
            for page, page_path in pages for visitor in VISITORS
            for name, path in ((ceiling_name, ceiling_path), (page, page_path))]
    loads = [os.getloadavg()[0]]
    results: dict[tuple[str, str], list[dict]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            (tmp / "metrics").mkdir()
            learners_path = tmp / "learners.json"
            learners_path.write_text(json.dumps([cookies for _, cookies in learners]))
            with gunicorn_serving("page", as_make_run=True, BENCH_NOOP="1", PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics")) as url:
                for _ in range(PAGE_ROUNDS):
                    measured = locust_round(url, plan, tmp, learners_path)
                    for i in range(0, len(plan), 2):
                        ceiling, page = measured[i], measured[i + 1]
                        key = (plan[i + 1]["name"], plan[i + 1]["visitor"])
                        results.setdefault((ceiling_name, key[1]), []).append(ceiling)
                        results.setdefault(key, []).append(page)
                        ratios.setdefault(key, []).append(page["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0)
                    loads.append(os.getloadavg()[0])
        minutes = (time.monotonic() - started) / 60
        cpu = page_cpu([("do-nothing view", ceiling_path), *pages], learners[0][1])
    finally:
        learner_ids = [learner_id for learner_id, _ in learners]
        ExperimentRun.objects.filter(learner_id__in=learner_ids).delete()  # their runs would outlive them
        Learner.objects.filter(id__in=learner_ids).delete()
    lines = [PAGES_HEADING, "",
             f"locust ({PAGE_USERS} users, no think time, {PAGE_SECONDS:g} s a measurement after 0.5 s of warm-up, on the same "
             "machine as the server) against gunicorn as `make run` serves it (`config/gunicorn.py`: gthread, "
             f"{os.cpu_count() * 2} processes × 4 threads, DEBUG=0, WhiteNoise). *Fresh* visitors send no cookies; "
             "*returning* ones keep theirs (a CSRF cookie: looking writes no session); *learners* are returning learners "
             f"with progress of their own ({PAGE_USERS} of them, one per simulated user: a session, nine quiz answers in "
             "three lessons, one wrong, a finished run with a prediction, a finished mock interview). Each page is "
             "measured right after the do-nothing view (the ceiling), same visitors; its ratio is its requests/s over "
             f"that ceiling's, and the table shows the median of {PAGE_ROUNDS} such pairs (range in brackets) — goal "
             f"≥ 0.5, lessons ≥ 0.8. {minutes:.0f} minutes under load in all. Load average: "
             f"{', '.join(f'{load:.1f}' for load in loads)} (at the start and after each round) on {os.cpu_count()} cores.", "",
             "| page | visitors | req/s | p50 | p99 | ratio to ceiling | failed |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in [ceiling_name] + [name for name, _ in pages]:
        for visitor in VISITORS:
            runs = results[(name, visitor)]
            median = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
            if name == ceiling_name:
                ratio = "1.00"
            else:
                spread = ratios[(name, visitor)]
                ratio = f"**{statistics.median(spread):.2f}** ({min(spread):.2f}–{max(spread):.2f})"
            lines.append(f"| {name} | {visitor} | {median['rps']:,.0f} | {median['p50']:.0f} ms | {median['p99']:.0f} ms | "
                         f"{ratio} | {sum(r['failures'] for r in runs)} of {sum(r['requests'] for r in runs):,} |")
    return lines + ["", *cpu]


def write_pages_section(lines: list[str]) -> None:
    """Replace the pages section of docs/benchmarks.md (or add it), keeping everything else."""
    out = ROOT / "docs" / "benchmarks.md"
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    out.write_text(replace_section(text, PAGES_HEADING, lines[2:]))  # lines open with the heading and a blank line
    print("\n".join(lines))


CLASS_SIZE = 200
CLASS_SECONDS = 45
CEILING_SECONDS = 30
LIVE_FRAMES_A_SECOND = 40  # a run's frames a second at the default pacing (25 ms a frame)
# The presented run's frames arrive over this much of the pass, then it ends with the class watching.
RUN_LIVE_SECONDS = 35


def bench_classroom() -> list[str]:
    lines = [
        "The live transport is short polling of one cheap endpoint: a student's screen asks `/live` once a second "
        "with the class version it holds, and an unchanged class is an empty 204 from one Redis read (a signed token "
        "names the student: no session, no query). A change is built once into a state document in Redis that every "
        "screen renders from; while a presented run is live the same request carries the run's new frames (Redis "
        "joins the JSON the worker stored), so a student costs one request a second in every state of the room. "
        "Polling stays on the same WSGI server, workers and middleware as every other page, survives a restarted "
        "process or a phone that sleeps, and needs no long-lived connection per student; server-sent events would "
        "save the empty 204s but hold 200 connections open on an ASGI server we do not otherwise run.",
        "",
        "The load generator (locust's FastHttpUser, one process) runs on the same 2 cores as gunicorn, Redis and the "
        "database, so it competes with the server it measures; so does whatever else the machine is running (see "
        "each pass's load average). Each pass is cut where the last student finished joining: *all connected* is "
        "the target's steady state, the join burst is reported apart.",
        "", *bench_class_cpu()]
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    lines += ["", *bench_class_ceiling()]
    for follows_run in (False, True):
        lines += ["", *bench_class_once(follows_run=follows_run)]
    return lines


def serving_cpu(pids: list[int]):
    """CPU seconds the server (its arbiter and every worker) has used so far, as a function to call again later."""
    import psutil

    server = [psutil.Process(pid) for pid in pids]
    server += [child for process in server for child in process.children(recursive=True)]
    return lambda: sum(sum(p.cpu_times()[:2]) for p in server if p.is_running())


def class_locust(url: str, user_classes: list[str], users: int, seconds: int, env: dict) -> tuple[float, float]:
    """scripts/classroom_locust.py, headless, with these user classes against url; returns the load generator's CPU
    seconds and the wall time it ran."""
    started = time.monotonic()
    generator = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(ROOT / "scripts" / "classroom_locust.py"),
                                  *user_classes, "--headless", "-u", str(users), "-r", "40", "-t", f"{seconds}s",
                                  "--host", url, "--only-summary", "--loglevel", "WARNING"],
                                 cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(generator.pid, 0)
    generator.returncode = 0  # reaped by wait4: Popen must not wait for it again
    return usage.ru_utime + usage.ru_stime, time.monotonic() - started


def bench_class_ceiling() -> list[str]:
    """The same server and the same 200 connections, each asking a do-nothing view once a second: what any request
    costs on this machine while it also runs the load generator, so the live endpoint's figures can be read against it."""
    import json

    work = Path(tempfile.mkdtemp(prefix="classroom-ceiling-"))
    load, pids = os.getloadavg()[0], []
    with gunicorn_serving("classroom ceiling", as_make_run=True, pids=pids) as url:
        cpu = serving_cpu(pids)
        before = cpu()
        generator_cpu, wall = class_locust(url, ["CeilingStudent"], CLASS_SIZE, CEILING_SECONDS,
                                           dict(os.environ, BENCH_OUT=str(work / "ceiling.json")))
        server_cpu = cpu() - before
    measured = json.loads((work / "ceiling.json").read_text())
    requests = measured["requests"]
    last_join = max(done for _, done in measured["joined"])  # every connection's first request
    steady = [r for r in requests if r[0] >= last_join]
    return [f"**Ceiling.** The same server as `make run` serves it and {CLASS_SIZE} connections, each asking a do-nothing "
            f"view (no database, no Redis, every middleware) once a second for {CEILING_SECONDS} s: what any request costs "
            f"on this machine while the load generator shares its cores. Load average when it started: {load:.1f}. CPU "
            f"used in {wall:.0f} s: server {server_cpu:.1f} s ({server_cpu / len(requests) * 1000:.2f} ms a request), load "
            f"generator {generator_cpu:.1f} s. All {CLASS_SIZE} connected:", "",
            *latency_table(by_endpoint(steady))]


def bench_class_cpu(repeats: int = 25) -> list[str]:
    """CPU time per request of the live endpoints, in-process: unlike latency, barely moved by a busy machine.

    25 repeats: the answers stay under the per-session limit of 30 a minute.
    """
    import re

    from django.contrib.auth.models import User
    from django.test.utils import override_settings

    from classroom.services import classroom_create, classroom_present, poll_create
    from lessons.models import Learner
    from playground.live import clear_frames, push_frames
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
    runs = [run]
    try:
        hosts = override_settings(ALLOWED_HOSTS=["testserver"])
        hosts.enable()
        student = Client()
        student.post(f"/join/{classroom.code}/", {"nickname": "cpu"})
        room = student.get(f"/c/{classroom.code}/").content.decode()
        live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
        version = re.search(r'data-version="(\d+)"', room).group(1)
        run_key = re.search(r'data-run-key="([^"]*)"', room).group(1)
        newcomer, joins = Client(), iter(range(10**6))

        def join():  # a new student each time: no cookies, a fresh nickname
            newcomer.cookies.clear()
            newcomer.get(f"/join/{classroom.code}/")
            newcomer.post(f"/join/{classroom.code}/", {"nickname": f"cpu-{next(joins)}"})

        def get(url):
            return lambda: student.get(url)

        cases = [("live, unchanged (204): the floor", get(f"{live_url}&v={version}&run={run_key}")),
                 ("live, class changed (200)", get(f"{live_url}&v=0&run={run_key}")),
                 ("live, class changed, with the run's charts (200)", get(f"{live_url}&v=0&run=")),
                 ("room page", get(f"/c/{classroom.code}/")),
                 ("join page and join POST (a new student)", join),
                 ("answer (htmx)", lambda: student.post(f"/c/{classroom.code}/polls/{poll.id}/answer", {"choice": "1"},
                                                        HTTP_HX_REQUEST="true"))]
        rows = []

        def measure(name, call):
            call()
            started = time.process_time()
            for _ in range(repeats):
                call()
            rows.append((name, (time.process_time() - started) / repeats * 1000))

        for name, call in cases:
            measure(name, call)
        # A run still streaming: its new frames come with the live poll, instead of a second request.
        live_run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, created_by=instructor,
                                                status=ExperimentRun.Status.RUNNING)
        runs.append(live_run)
        push_frames(live_run.id, frames)
        classroom_present(classroom=classroom, run=live_run)
        version = re.search(r'data-version="(\d+)"', student.get(f"/c/{classroom.code}/").content.decode()).group(1)
        cursor = len(frames) - LIVE_FRAMES_A_SECOND
        measure(f"live, unchanged, a live run's {LIVE_FRAMES_A_SECOND} new frames (200)",
                get(f"{live_url}&v={version}&run={live_run.id}:False&f={cursor}"))
        measure(f"run frames endpoint, the same {LIVE_FRAMES_A_SECOND} frames (the second request a second it replaced)",
                get(f"/runs/{live_run.id}/frames?after={cursor}"))
    finally:
        hosts.disable()
        Learner.objects.filter(id__in=classroom.members.values("learner_id")).delete()
        classroom.delete()
        for each in runs:
            clear_frames(each.id)
            each.delete()
        instructor.delete()
    floor = rows[0][1]
    return [f"**CPU per request** (in-process through Django's test client, mean of {repeats}; the machine's load barely "
            f"moves it; load average {os.getloadavg()[0]:.1f}):", "",
            "| request | CPU ms | ratio to the floor |", "| --- | ---: | ---: |",
            *[f"| {name} | {ms:.2f} | {ms / floor:.1f} |" for name, ms in rows]]


def present_live_run(classroom, instructor):
    """A dual-write run on every screen, its frames pushed to Redis as a worker's are, over RUN_LIVE_SECONDS.

    run_execute is the worker's own code (frames batched to Redis every 200 ms, heartbeats in the database,
    the result kept at the end); it runs in a thread here so that the run lasts the pass, whatever the machine.
    """
    import threading

    from django.db import connection

    from classroom.services import classroom_present
    from playground.models import ExperimentRun
    from playground.runner import run_execute

    experiment = get_experiment("dual-write")
    params, _ = experiment.clean_params({"mode": "naive", "orders": 1000})
    frames: list[dict] = []
    experiment.run(params, 7, frames.append)
    run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, created_by=instructor,
                                       status=ExperimentRun.Status.RUNNING, started_at=datetime.now(timezone.utc))
    classroom_present(classroom=classroom, run=run)

    def execute():
        try:
            run_execute(run, frame_delay=RUN_LIVE_SECONDS / len(frames))
        finally:
            connection.close()

    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    return run, thread


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value that at least `share` of the values do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))] if ordered else float("nan")


def latency_table(rows: list[tuple[str, list[float], int]]) -> list[str]:
    lines = ["| endpoint | requests | failures | p50 | p99 | max |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, times, failures in rows:
        if times:
            lines.append(f"| {name} | {len(times)} | {failures} | {percentile(times, 0.5):.0f} ms | "
                         f"{percentile(times, 0.99):.0f} ms | {max(times):.0f} ms |")
    return lines


def by_endpoint(requests: list) -> list[tuple[str, list[float], int]]:
    names = sorted({name for _, name, _, _ in requests})
    return [(name, [ms for _, n, ms, _ in requests if n == name], sum(1 for _, n, _, ok in requests if n == name and not ok))
            for name in names]


def bench_class_once(*, follows_run: bool, frames_endpoint: bool = False) -> list[str]:
    """200 students join, follow the live endpoint (and a live run), answer a poll; one instructor watches the chart.

    Static files must have been collected (bench_classroom does it).

    The record is cut where the last student finished joining: the steady state (the target's "all 200
    connected") and the join burst are reported apart. frames_endpoint: students follow the run's frames
    with a second request a second, as before the live endpoint carried them (for comparison).
    """
    import json

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from classroom.models import Classroom
    from classroom.services import classroom_create, classroom_present, poll_create
    from lessons.models import Learner
    from playground.models import ExperimentRun

    instructor = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
    classroom = classroom_create(owner=instructor, name="Benchmark class")
    Classroom.objects.filter(id=classroom.id).update(capacity=CLASS_SIZE + 10)
    poll = poll_create(classroom=classroom, kind="single", prompt="Which commits first?", choices=["order", "event"], correct=[0])
    session = SessionStore()
    session.update({SESSION_KEY: str(instructor.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: instructor.get_session_auth_hash()})
    session.create()
    work = Path(tempfile.mkdtemp(prefix="classroom-bench-"))
    load = os.getloadavg()[0]  # the machine is shared: read the figures against this
    runs, thread, pids = [], None, []
    try:
        with gunicorn_serving("classroom", as_make_run=True, pids=pids) as url:
            if follows_run:
                run, thread = present_live_run(classroom, instructor)
            else:  # a finished run on screen, as after a run
                experiment = get_experiment("dual-write")
                params, _ = experiment.clean_params({"mode": "naive", "orders": 1000})
                frames: list[dict] = []
                summary = experiment.run(params, 7, frames.append)
                run = ExperimentRun.objects.create(experiment_slug="dual-write", params=params, seed=7, frames=frames,
                                                   summary=summary, status=ExperimentRun.Status.SUCCEEDED,
                                                   created_by=instructor)
                classroom_present(classroom=classroom, run=run)
            runs.append(run)
            env = dict(os.environ, BENCH_CODE=classroom.code, BENCH_POLL_ID=str(poll.id),
                       BENCH_INSTRUCTOR_SESSION=session.session_key, BENCH_OUT=str(work / "class.json"),
                       BENCH_FRAMES_ENDPOINT=f"/runs/{run.id}/frames" if frames_endpoint else "")
            cpu_so_far = serving_cpu(pids)
            server_cpu = -cpu_so_far()
            generator_cpu, wall = class_locust(url, ["Student", "Instructor"], CLASS_SIZE + 1, CLASS_SECONDS, env)
            server_cpu += cpu_so_far()
        if thread is not None:
            thread.join(timeout=60)
        measured = json.loads((work / "class.json").read_text())
        joined = classroom.members.count()
        answers = poll.answers.count()
    finally:
        Learner.objects.filter(id__in=classroom.members.values("learner_id")).delete()
        classroom.delete()
        for run in runs:
            run.delete()
        instructor.delete()
    return class_report(measured, follows_run=follows_run, frames_endpoint=frames_endpoint, joined=joined,
                        answers=answers, load=load,
                        cpu={"server": server_cpu, "load generator": generator_cpu, "wall": wall})


def class_report(measured: dict, *, follows_run: bool, frames_endpoint: bool, joined: int, answers: int, load: float,
                 cpu: dict) -> list[str]:
    requests = measured["requests"]
    first = min(start for start, _, _, _ in requests)
    last_join = max(done for _, done in measured["joined"])
    end = max(start + ms / 1000 for start, _, ms, _ in requests)
    steady = [r for r in requests if r[0] >= last_join]
    burst = [r for r in requests if r[0] < last_join]
    lag = [seconds * 1000 for at, seconds in measured["latencies"] if at >= last_join]
    burst_lag = [seconds * 1000 for at, seconds in measured["latencies"] if at < last_join]
    whole_join = [(done - started) * 1000 for started, done in measured["joined"]]
    if not follows_run:
        following = "the live endpoint once a second (a finished run on screen, as after a run)"
    else:
        following = (f"a dual-write run streaming its frames for {RUN_LIVE_SECONDS} s, then ending while the class "
                     "watches; screens follow it " + ("with a second request a second, to the run's frames endpoint"
                                                       if frames_endpoint else "through the live endpoint, which carries "
                                                       "the run's new frames: one request a second"))
    lines = [
        f"**{'Poll and a live run' if follows_run else 'Poll'}{' (frames endpoint)' if frames_endpoint else ''}.** "
        f"{joined} students joined, {answers} answered; {CLASS_SECONDS} s under gunicorn as `make run` serves it; "
        f"{following}; the instructor's chart polls every 500 ms. Load average when it started: {load:.1f} on "
        f"{os.cpu_count()} cores. CPU used in {cpu['wall']:.0f} s: server {cpu['server']:.1f} s "
        f"({cpu['server'] / len(requests) * 1000:.2f} ms a request), load generator {cpu['load generator']:.1f} s.",
        "",
        f"*All {len(measured['joined'])} connected* (from the last join, {last_join - first:.1f} s in, to the end, "
        f"{end - last_join:.1f} s later):",
        "",
        *latency_table(by_endpoint(steady)),
    ]
    if lag:
        lines += ["", f"Answer → instructor's chart, all connected (answer saved until the chart's poll shows it, "
                      f"{len(lag)} answers): p50 {percentile(lag, 0.5):.0f} ms, p99 {percentile(lag, 0.99):.0f} ms, "
                      f"max {max(lag):.0f} ms (the chart polls every 500 ms, which bounds the median)."]
    lines += ["", f"*The join burst* ({len(measured['joined'])} students arriving at 40 a second, the first "
                  f"{last_join - first:.1f} s; *whole join* is one student's join page, POST and room page end to end):", "",
              *latency_table([*by_endpoint(burst), ("whole join", whole_join, 0)])]
    if burst_lag:
        lines += ["", f"Answer → chart during the burst ({len(burst_lag)} answers): p50 {percentile(burst_lag, 0.5):.0f} ms, "
                      f"max {max(burst_lag):.0f} ms."]
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
        lines = interview_report(folds=True)
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
    interview = interview_report(folds=True)
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
