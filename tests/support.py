"""Small helpers the experiment tests share."""

import os
import signal
from contextlib import contextmanager

from playground.experiments.base import Experiment

# The two widths every page is checked at in the browser: a laptop's and a phone's.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def valid_params(experiment: Experiment, **overrides) -> dict:
    """The experiment's parameters with these overrides; the test fails if any is out of bounds."""
    cleaned, errors = experiment.clean_params(overrides)
    assert not errors, errors
    return cleaned


def run_collecting(experiment: Experiment, params: dict, seed: int = 7) -> tuple[dict, list[dict]]:
    """Run the experiment; return its summary and every frame it emitted."""
    frames: list[dict] = []
    summary = experiment.run(params, seed, frames.append)
    return summary, frames


RUN_CHART_DRAWN = "document.querySelector('[data-run-chart]').dataset.drawn === 'true'"


@contextmanager
def worker_stopped(worker):
    """The Celery worker SIGSTOPped for the block: a run submitted meanwhile waits until a page has drawn its empty
    chart. On a busy machine Plotly can otherwise finish loading after a paced run has ended, and a test that
    watches the chart grow would see it only whole."""
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(worker.pid, signal.SIGCONT)


class Visitor:
    """One browser against a real server: keeps its cookies, sends the CSRF token like a form does."""

    def __init__(self, base_url: str):
        import http.cookiejar
        import urllib.request

        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects())

    def get(self, path: str) -> tuple[int, str]:
        return self._open(path, None)

    def post(self, path: str, data: dict) -> tuple[int, str]:
        from urllib.parse import urlencode

        token = next((c.value for c in self.cookies if c.name == "csrftoken"), "")
        return self._open(path, urlencode({"csrfmiddlewaretoken": token, **data}).encode())

    def _open(self, path: str, body: bytes | None) -> tuple[int, str]:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.base_url + path, data=body, headers={"Referer": self.base_url + path})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _NoRedirects():
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None  # a 302 is an answer to look at, not to follow

    return NoRedirects()


def at_once(*calls):
    """Run the calls in threads released together by a barrier; their results, in order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def released(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(released, calls))


def patient_rate_limit_counters(settings) -> None:
    """Rate limits fail open when Redis does not answer in 0.5 s (a stopped Redis must not stop the app); a test
    of the limit itself must not let a loaded machine's slow INCR through, so its counters wait longer."""
    settings.CACHES = {"default": {**settings.CACHES["default"],
                                   "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5}}}


WINDOW_TO_SPARE_SECONDS = 50


def seconds_left_in_window(request, *, group: str, key, rate: str) -> int:
    from django_ratelimit.core import get_usage

    return get_usage(request, group=group, key=key, rate=rate, increment=False)["time_left"]


def a_session_early_in_its_window(client, *, group: str, rate: str) -> int:
    """Give the client a new session whose counting window has most of its minute to run; its seconds left.

    django-ratelimit counts in fixed windows, each key's shifted by a hash of the key: a burst that
    straddled two windows would never reach its limit. Choosing the key, rather than sleeping until
    the next window, leaves a burst fifty seconds on a loaded machine and costs no time.
    """
    from importlib import import_module

    from django.conf import settings
    from django.test import RequestFactory

    from playground.limits import session_key

    engine = import_module(settings.SESSION_ENGINE)
    while True:
        session = engine.SessionStore()
        session.save()
        request = RequestFactory().get("/")
        request.session = session
        left = seconds_left_in_window(request, group=group, key=session_key, rate=rate)
        if left >= WINDOW_TO_SPARE_SECONDS:
            client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
            return left
        session.delete()


def an_address_early_in_its_window(*, group: str, rate: str) -> tuple[str, int]:
    """A private network address whose counting window has most of its minute to run, and its seconds left
    (see a_session_early_in_its_window); nobody else's requests share it, as they share 127.0.0.1."""
    from django.test import RequestFactory

    for host in range(1, 255):
        address = f"10.99.0.{host}"
        left = seconds_left_in_window(RequestFactory(REMOTE_ADDR=address).get("/"), group=group, key="ip", rate=rate)
        if left >= WINDOW_TO_SPARE_SECONDS:
            return address, left
    raise AssertionError("no address of 10.99.0.0/24 starts its window in the first ten seconds")


def burst(send, count: int) -> tuple[list[int], str]:
    """The statuses of `count` requests sent one after another, and how long they took (for a failure's message)."""
    import time

    started = time.monotonic()
    statuses = [send(i).status_code for i in range(count)]
    return statuses, f"the burst took {time.monotonic() - started:.1f} s"
