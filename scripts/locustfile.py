"""One page under load for `make bench`: BENCH_PATH, by fresh visitors (no cookies) or returning ones."""

import os

from locust import FastHttpUser, task

PATH = os.environ.get("BENCH_PATH", "/")
FRESH = os.environ.get("BENCH_VISITOR", "fresh") == "fresh"


class Visitor(FastHttpUser):
    def on_start(self):
        if not FRESH:
            self.client.get(PATH, name="warm-up")  # gets the session and CSRF cookies a returning visitor has

    @task
    def page(self):
        with self.client.get(PATH, name="page", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
        if FRESH:
            self.client.cookiejar.clear()
