"""Locust scenario for `make bench`: a class of simulated students and one instructor.

Each student joins by code with a nickname (the join page, the form's POST, the
room page), then does what the room page's script does: polls the live endpoint
every second — with the presented run's frame cursor while a run is live, so new
frames come in the same response — and answers the open poll once, at a random
moment. The instructor polls the poll's results every 500 ms, like the console's
chart, and notes when each answer first shows up there.

Every request is written out with its start time, and so is the moment each
student finished joining: scripts/bench.py cuts the record at the last join, so
the steady state with the whole class connected is measured apart from the join
burst. FastHttpUser (geventhttpclient) because the load generator shares the
server's two cores and costs a fraction of the CPU of the requests-based client.
Run by scripts/bench.py (headless); settings come from the environment.
"""

import json
import os
import random
import re
import time

from locust import FastHttpUser, constant, events, task

CODE = os.environ.get("BENCH_CODE", "")
POLL_ID = os.environ.get("BENCH_POLL_ID", "")
INSTRUCTOR_COOKIE = os.environ.get("BENCH_INSTRUCTOR_SESSION", "")
OUT = os.environ["BENCH_OUT"]
# Set: follow the run's frames endpoint as a second request a second (how screens followed a run before the
# live endpoint carried its frames), for comparison.
FRAMES_ENDPOINT = os.environ.get("BENCH_FRAMES_ENDPOINT", "")

# One process, gevent: no locks needed. Times are time.time(), as locust's own start_time.
requests: list[tuple[float, str, float, bool]] = []  # start, name, milliseconds, succeeded
joined: list[tuple[float, float]] = []  # a student's first request started, their room page arrived
answered_at: list[float] = []  # when each answer's POST returned
latencies: list[tuple[float, float]] = []  # answer saved, seconds until the instructor's chart showed it


@events.request.add_listener
def record(request_type, name, response_time, exception, start_time=None, **kwargs):
    requests.append((start_time or time.time() - response_time / 1000, name, response_time, exception is None))


def cookie(client, name: str) -> str:
    return next((c.value for c in client.cookiejar if c.name == name), "")


class Student(FastHttpUser):
    wait_time = constant(1)
    weight = 200

    def on_start(self):
        started = time.time()
        self.client.get(f"/join/{CODE}/", name="join page")
        self.client.post(f"/join/{CODE}/", data={"nickname": f"s{id(self)}-{random.randrange(10**6)}",
                                                 "csrfmiddlewaretoken": cookie(self.client, "csrftoken")},
                         headers={"Referer": self.host}, name="join", allow_redirects=False)
        room = self.client.get(f"/c/{CODE}/", name="room page").text
        joined.append((started, time.time()))
        self.live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
        self.version = re.search(r'data-version="(\d+)"', room).group(1)
        self.run_key = re.search(r'data-run-key="([^"]*)"', room).group(1)
        cursor = re.search(r'data-cursor="(\d+)"', room)
        self.cursor = cursor.group(1) if cursor else ""
        self.answer_after = time.monotonic() + random.uniform(5, 20)
        self.answered = False

    @task
    def follow(self):
        following = self.cursor and not FRAMES_ENDPOINT
        url = f"{self.live_url}&v={self.version}&run={self.run_key}" + (f"&f={self.cursor}" if following else "")
        with self.client.get(url, name="live (student)", catch_response=True) as response:
            if response.status_code == 200:
                body = response.json()
                self.version = str(body["v"])
                if "run_html" in body:  # a new run, or this one ended: its charts start again from what they hold
                    self.run_key = body["run_key"]
                    cursor = re.search(r'data-cursor="(\d+)"', body["run_html"])
                    final = 'data-final="true"' in body["run_html"]
                    self.cursor = cursor.group(1) if cursor and not final else ""
                elif "next" in body:
                    self.cursor = str(body["next"])
            if response.status_code in (200, 204):
                response.success()
        if FRAMES_ENDPOINT and self.cursor:
            body = self.client.get(f"{FRAMES_ENDPOINT}?after={self.cursor}", name="run frames (student)").json()
            self.cursor = "" if body["final"] else str(body["next"])
        if not self.answered and time.monotonic() >= self.answer_after:
            self.client.post(f"/c/{CODE}/polls/{POLL_ID}/answer", data={"choice": str(random.randrange(2))},
                             headers={"X-CSRFToken": cookie(self.client, "csrftoken"), "HX-Request": "true",
                                      "Referer": self.host}, name="answer")
            answered_at.append(time.time())
            self.answered = True


class Instructor(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0.5)

    def on_start(self):
        self.token, self.seen = "", 0

    @task
    def chart(self):
        with self.client.get(f"/polls/{POLL_ID}/results?v={self.token}", name="results (instructor)",
                             headers={"Cookie": f"sessionid={INSTRUCTOR_COOKIE}"}, catch_response=True) as response:
            if response.status_code == 200:
                body = response.json()
                self.token = body["v"]
                now, answers = time.time(), sorted(answered_at)
                for index in range(self.seen, min(body["total"], len(answers))):
                    latencies.append((answers[index], now - answers[index]))
                self.seen = max(self.seen, body["total"])
            if response.status_code in (200, 204):
                response.success()


class CeilingStudent(FastHttpUser):
    """The ceiling pass (`locust ... CeilingStudent`): a do-nothing view once a second, on the same server with the
    same number of connections, so that the live endpoint's latency can be read against what any request costs here."""

    wait_time = constant(1)

    def on_start(self):
        joined.append((time.time(), time.time()))

    @task
    def follow(self):
        self.client.get("/bench/noop", name="do-nothing view (ceiling)")


@events.test_stop.add_listener
def save(environment, **kwargs):
    with open(OUT, "w") as out:
        json.dump({"requests": requests, "joined": joined, "answers": len(answered_at), "latencies": latencies}, out)
