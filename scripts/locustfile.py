"""Pages under load for `make bench`: one locust process measures a whole list of (path, visitor) in turn.

    python scripts/locustfile.py URL PLAN.json OUT.json

PLAN is [{"path", "visitor"}, …]; OUT gets one {"rps", "p50", "p99", "failures", "requests"} per entry.
One process for the list, rather than one per measurement: starting locust cost more than a measurement.
Visitors: *fresh* send no cookies; *returning* keep the ones the page gave them (a CSRF cookie);
*learner* are returning learners with progress of their own, one per simulated user
(BENCH_LEARNERS: a JSON list of their cookies).
"""

import json
import os
import sys
import time

import gevent
from locust import FastHttpUser, task
from locust.env import Environment

USERS = int(os.environ.get("BENCH_USERS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WARM_SECONDS = 0.5  # users started, connections open, shared pages rendered, before the counting starts
LEARNERS = json.loads(open(os.environ["BENCH_LEARNERS"]).read()) if os.environ.get("BENCH_LEARNERS") else []


class Visitor(FastHttpUser):
    path = "/"
    visitor = "fresh"
    started = 0  # how many users of this measurement have started: each learner is someone else

    def on_start(self):
        if self.visitor == "learner":
            cookies = LEARNERS[Visitor.started % len(LEARNERS)]
            Visitor.started += 1
            self.cookie_header = "; ".join(f"{name}={value}" for name, value in cookies.items())
        elif self.visitor == "returning":
            self.client.get(self.path, name="warm-up")  # gets the CSRF cookie a returning visitor has

    @task
    def page(self):
        headers = {"Cookie": self.cookie_header} if self.visitor == "learner" else None
        with self.client.get(self.path, name="page", headers=headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
        if self.visitor != "returning":
            self.client.cookiejar.clear()  # a learner's cookies are theirs, sent as they are every time


def measure(url: str, path: str, visitor: str) -> dict:
    Visitor.host, Visitor.path, Visitor.visitor, Visitor.started = url, path, visitor, 0
    env = Environment(user_classes=[Visitor])
    runner = env.create_local_runner()
    runner.start(USERS, spawn_rate=100)  # all of them within a fraction of the warm-up
    gevent.sleep(WARM_SECONDS)
    env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(SECONDS)
    entry = env.stats.get("page", "GET")
    elapsed = time.monotonic() - started
    result = {"rps": entry.num_requests / elapsed, "p50": entry.get_response_time_percentile(0.5) or float("nan"),
              "p99": entry.get_response_time_percentile(0.99) or float("nan"),
              "failures": entry.num_failures, "requests": entry.num_requests}
    runner.quit()
    return result


if __name__ == "__main__":
    url, plan_path, out_path = sys.argv[1:]
    plan = json.loads(open(plan_path).read())
    results = [measure(url, step["path"], step["visitor"]) for step in plan]
    with open(out_path, "w") as out:
        json.dump(results, out)
