"""Locust scenario for `make bench`: a class of simulated students and one instructor.

Each student joins by code with a nickname, then does what the room page's
script does: polls the live endpoint every second, follows the presented run's
frames endpoint every second, and answers the open poll once, at a random
moment. The instructor polls the poll's results every 500 ms, like the
console's chart, and notes when each answer first shows up there.
Run by scripts/bench.py (headless); settings come from the environment.
"""

import json
import os
import random
import re
import time

from locust import HttpUser, constant, events, task

CODE = os.environ["BENCH_CODE"]
POLL_ID = os.environ["BENCH_POLL_ID"]
RUN_FRAMES = os.environ.get("BENCH_FRAMES_URL", "")  # empty: the presented run is over, so screens stop polling it
INSTRUCTOR_COOKIE = os.environ["BENCH_INSTRUCTOR_SESSION"]
OUT = os.environ["BENCH_OUT"]

answered_at: list[float] = []  # when each answer's POST returned (one process, gevent: no lock needed)
latencies: list[float] = []


class Student(HttpUser):
    wait_time = constant(1)
    weight = 200

    def on_start(self):
        self.client.get(f"/join/{CODE}/", name="join page")
        csrf = self.client.cookies.get("csrftoken")
        self.client.post(f"/join/{CODE}/", {"nickname": f"s{id(self)}-{random.randrange(10**6)}", "csrfmiddlewaretoken": csrf},
                         headers={"Referer": self.host}, name="join")
        room = self.client.get(f"/c/{CODE}/", name="room page").text
        self.live_url = re.search(r'data-live-url="([^"]+)"', room).group(1).replace("&amp;", "&")
        self.version = re.search(r'data-version="(\d+)"', room).group(1)
        self.answer_after = time.monotonic() + random.uniform(5, 20)
        self.answered = False

    @task
    def follow(self):
        with self.client.get(f"{self.live_url}&v={self.version}&run=", name="live (student)", catch_response=True) as response:
            if response.status_code == 200:
                self.version = str(response.json()["v"])
            if response.status_code in (200, 204):
                response.success()
        if RUN_FRAMES:
            self.client.get(RUN_FRAMES, name="run frames (student)")
        if not self.answered and time.monotonic() >= self.answer_after:
            self.client.post(f"/c/{CODE}/polls/{POLL_ID}/answer", {"choice": str(random.randrange(2))},
                             headers={"X-CSRFToken": self.client.cookies.get("csrftoken"), "HX-Request": "true",
                                      "Referer": self.host}, name="answer")
            answered_at.append(time.monotonic())
            self.answered = True


class Instructor(HttpUser):
    fixed_count = 1
    wait_time = constant(0.5)

    def on_start(self):
        self.client.cookies.set("sessionid", INSTRUCTOR_COOKIE)
        self.token, self.seen = "", 0

    @task
    def chart(self):
        with self.client.get(f"/polls/{POLL_ID}/results?v={self.token}", name="results (instructor)", catch_response=True) as response:
            if response.status_code == 200:
                body = response.json()
                self.token = body["v"]
                now = time.monotonic()
                for index in range(self.seen, min(body["total"], len(answered_at))):
                    latencies.append(now - sorted(answered_at)[index])
                self.seen = max(self.seen, body["total"])
            if response.status_code in (200, 204):
                response.success()


@events.test_stop.add_listener
def save(environment, **kwargs):
    with open(OUT, "w") as out:
        json.dump({"latencies": latencies, "answers": len(answered_at)}, out)
