"""A caller, a dependency with limited concurrency, client retries: a metastable failure and what stops it.

Open-loop arrivals (Poisson) send requests to a dependency with `concurrency`
slots and a FIFO queue; each service time is exponential. The client gives up
on an attempt after `timeout_ms` and retries, but the dependency does not
know: it still serves the abandoned attempt when its turn comes. That is the
wasted work of Bronson et al. (HotOS 2021) and Huang et al. (OSDI 2022): once
the queue is longer than the timeout, every slot serves a caller who has gone,
goodput falls to zero, every request times out and retries, and the retries
keep the queue long after the trigger that started it has ended.

Three protections, each switchable:
- a retry budget (Finagle's RetryBudget, gRPC's retry throttling): every new
  request deposits `budget_percent`/100 of a token, a retry spends one;
- load shedding: the dependency answers 429 with Retry-After once its queue
  holds `max_queue`, and the client waits that long before retrying;
- a circuit breaker (resilience4j's count-based window or Hystrix's rolling
  time window): open, it fails calls at once without sending them.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from .faults import Trigger

BUCKET_MS = 250
MAX_FRAMES = 300
CLOSED, HALF_OPEN, OPEN = "closed", "half-open", "open"
STATE_LEVEL = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
# Healthy: at least this share of the outcomes in a bucket are successes (timeouts, 429s and refusals are not).
HEALTHY_SHARE = 0.9
ARRIVAL, TIMEOUT, DONE, RETRY, HEALTHY_ARRIVAL, HEALTHY_DONE = 0, 1, 2, 3, 4, 5
DEP, HEALTHY = 0, 1  # the caller's two endpoints: one calls the dependency, one does only local work
MAX_TRANSITIONS = 500  # a flapping breaker's shading is cut off here


@dataclass
class Breaker:
    """Closed, open, half-open, as resilience4j and Hystrix define them.

    window_ms = 0 gives resilience4j's count-based window of the last
    `window_calls` outcomes; window_ms > 0 gives Hystrix's rolling window of
    that many milliseconds. Either way it opens once the window holds at least
    `min_calls` outcomes and failures are at least `threshold_percent` of them.
    """

    window_calls: int
    window_ms: float
    min_calls: int
    threshold_percent: float
    open_ms: float
    half_open_calls: int
    state: str = CLOSED
    opened_at: float = 0.0
    trials_sent: int = 0
    openings: int = 0

    def __post_init__(self) -> None:
        self.window: deque[tuple[float, bool]] = deque()
        self.failures = 0
        self.trials: list[bool] = []
        self.transitions: list[tuple[float, str]] = []  # (t_ms, new state), for shading the chart

    def _enter(self, t: float, state: str) -> None:
        self.state = state
        if len(self.transitions) < MAX_TRANSITIONS:
            self.transitions.append((t, state))

    def allow(self, t: float) -> bool:
        if self.state == OPEN and t >= self.opened_at + self.open_ms:
            # Half-open from the moment the wait ended, not from the first call after it.
            self._enter(self.opened_at + self.open_ms, HALF_OPEN)
            self.trials_sent, self.trials = 0, []
        if self.state == OPEN:
            return False
        if self.state == HALF_OPEN:
            if self.trials_sent >= self.half_open_calls:
                return False
            self.trials_sent += 1
        return True

    def record(self, t: float, failed: bool) -> None:
        if self.state == HALF_OPEN:
            self.trials.append(failed)
            if len(self.trials) == self.half_open_calls:
                if sum(self.trials) * 100 >= self.threshold_percent * len(self.trials):
                    self._open(t)
                else:
                    self._enter(t, CLOSED)
                    self.window.clear()
                    self.failures = 0
            return
        if self.state == OPEN:
            return  # an answer to a call sent before it opened
        self.window.append((t, failed))
        self.failures += failed
        while self.window and (len(self.window) > self.window_calls if not self.window_ms
                               else self.window[0][0] <= t - self.window_ms):
            self.failures -= self.window.popleft()[1]
        if len(self.window) >= self.min_calls and self.failures * 100 >= self.threshold_percent * len(self.window):
            self._open(t)

    def _open(self, t: float) -> None:
        self._enter(t, OPEN)
        self.opened_at = t
        self.openings += 1
        self.window.clear()
        self.failures = 0


def make_breaker(params: dict[str, Any]) -> Breaker | None:
    if not params["breaker"]:
        return None
    return Breaker(
        window_calls=params["breaker_window_calls"], window_ms=params["breaker_window_ms"],
        min_calls=params["breaker_min_calls"], threshold_percent=params["breaker_threshold_percent"],
        open_ms=params["breaker_open_ms"], half_open_calls=params["breaker_half_open_calls"],
    )


def caller_pools(params: dict[str, Any]) -> tuple[list, list]:
    """The caller's worker pools as ([free] or None per endpoint, size per endpoint).

    0 workers means unbounded (no pool). Without bulkheads both endpoints share
    one list, so the slow one can take every worker; with bulkheads each has its own.
    """
    workers = params["caller_workers"]
    if not workers:
        return [None, None], [0, 0]
    if params["bulkhead"]:
        dep = params["bulkhead_workers"]
        return [[dep], [workers - dep]], [dep, workers - dep]
    shared = [workers]
    return [shared, shared], [workers, workers]


def bucket_size(params: dict[str, Any]) -> int:
    """250 ms, or a multiple of it that keeps a long run under MAX_FRAMES frames."""
    expected_ms = params["requests"] / params["arrival_rate"] * 1000
    return BUCKET_MS * max(1, math.ceil(expected_ms / BUCKET_MS / MAX_FRAMES))


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def simulate(params: dict[str, Any], seed: int, trigger: Trigger, emit: Callable[[dict], None]) -> dict[str, Any]:
    """Run the scenario; emit one frame per bucket (250 ms, or a multiple for long runs) until the last arrival."""
    bucket_ms = bucket_size(params)
    arrivals_rng = random.Random(f"{seed}:arrivals")
    service_rng = random.Random(f"{seed}:service")
    requests, rate = params["requests"], params["arrival_rate"]
    concurrency, service_ms, timeout_ms = params["concurrency"], params["service_ms"], params["timeout_ms"]
    max_attempts, backoff_ms = params["max_attempts"], params["retry_backoff_ms"]
    budget = params["retry_budget"]
    deposit = params["budget_percent"] / 100
    shed = params["load_shedding"]
    max_queue, retry_after_ms = params["max_queue"], params["retry_after_ms"]
    breaker = make_breaker(params)
    healthy_rng = random.Random(f"{seed}:healthy")
    healthy_rate, healthy_ms = params["healthy_rate"], params["healthy_service_ms"]
    free, pool_size = caller_pools(params)  # free workers per endpoint; one shared list when there are no bulkheads

    events: list[tuple] = []
    seq = 0

    def push(t: float, kind: int, a: int = 0, b: int = 0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, a, b))

    arrived_at: list[float] = []
    attempts_made: list[int] = []
    live_attempt: dict[int, int] = {}  # request -> the attempt id the client is still waiting for
    queue: deque[tuple[int, int]] = deque()  # (request, attempt id)
    busy = 0
    tokens = 0.0
    totals = {"attempts": 0, "retries": 0, "retries_denied": 0, "timeouts": 0, "shed": 0, "rejected": 0,
              "succeeded": 0, "failed": 0, "wasted": 0, "served": 0, "pool_rejected": 0,
              "healthy": 0, "healthy_ok": 0, "healthy_rejected": 0}
    buckets: list[dict] = []

    def bucket(t: float) -> dict:
        index = int(t // bucket_ms)
        while len(buckets) <= index:
            buckets.append({"offered": 0, "attempts": 0, "good": 0, "errors": 0, "latencies": [], "queue": 0,
                            "state": CLOSED, "wasted": 0,
                            "healthy": 0, "healthy_rejected": 0, "healthy_latencies": [], "busy": 0})
        return buckets[index]

    def finish_failed(request: int) -> None:
        totals["failed"] += 1
        live_attempt.pop(request, None)

    def start_service(t: float) -> None:
        nonlocal busy
        while busy < concurrency and queue:
            request, attempt = queue.popleft()
            busy += 1
            duration = service_rng.expovariate(1 / service_ms) * trigger.service_factor(t)
            push(t + duration, DONE, request, attempt)

    def attempt(t: float, request: int) -> None:
        b = bucket(t)
        if breaker is not None and not breaker.allow(t):
            totals["rejected"] += 1
            b["errors"] += 1
            finish_failed(request)
            return
        if not acquire(DEP):
            # No caller worker left for this endpoint: refused at once (a 503 from the caller).
            totals["pool_rejected"] += 1
            b["errors"] += 1
            finish_failed(request)
            return
        totals["attempts"] += 1
        b["attempts"] += 1
        attempts_made[request] += 1
        attempt_id = attempts_made[request]
        if shed and len(queue) >= max_queue:
            # 429 with Retry-After: the client waits that long, so shed load does not come straight back.
            totals["shed"] += 1
            b["errors"] += 1
            release(DEP)
            if breaker is not None:
                breaker.record(t, True)
            retry(t, request, retry_after_ms)
            return
        live_attempt[request] = attempt_id
        queue.append((request, attempt_id))
        push(t + timeout_ms, TIMEOUT, request, attempt_id)
        start_service(t)

    def acquire(endpoint: int) -> bool:
        pool = free[endpoint]
        if pool is None:
            return True
        if pool[0] == 0:
            return False
        pool[0] -= 1
        return True

    def release(endpoint: int) -> None:
        if free[endpoint] is not None:
            free[endpoint][0] += 1

    def retry(t: float, request: int, delay_ms: float) -> None:
        nonlocal tokens
        if attempts_made[request] >= max_attempts:
            finish_failed(request)
            return
        if budget:
            if tokens < 1:
                totals["retries_denied"] += 1
                finish_failed(request)
                return
            tokens -= 1
        totals["retries"] += 1
        live_attempt.pop(request, None)
        push(t + delay_ms, RETRY, request)

    push(arrivals_rng.expovariate(rate / 1000), ARRIVAL)
    if healthy_rate:
        push(healthy_rng.expovariate(healthy_rate / 1000), HEALTHY_ARRIVAL)
    while events:
        t, _, kind, request, attempt_id = heapq.heappop(events)
        if kind == ARRIVAL:
            request = len(arrived_at)
            arrived_at.append(t)
            attempts_made.append(0)
            bucket(t)["offered"] += 1
            if budget:
                tokens = min(params["budget_max_tokens"], tokens + deposit)
            if len(arrived_at) < requests:
                push(t + arrivals_rng.expovariate(rate * trigger.arrival_factor(t) / 1000), ARRIVAL)
            attempt(t, request)
        elif kind == HEALTHY_ARRIVAL:
            b = bucket(t)
            b["healthy"] += 1
            totals["healthy"] += 1
            if len(arrived_at) < requests:
                push(t + healthy_rng.expovariate(healthy_rate / 1000), HEALTHY_ARRIVAL)
            if acquire(HEALTHY):
                # Local work only, no queue: its latency is its service time.
                duration = healthy_rng.expovariate(1 / healthy_ms)
                b["healthy_latencies"].append(duration)
                push(t + duration, HEALTHY_DONE)
            else:
                totals["healthy_rejected"] += 1
                b["healthy_rejected"] += 1
        elif kind == HEALTHY_DONE:
            release(HEALTHY)
            totals["healthy_ok"] += 1
        elif kind == RETRY:
            attempt(t, request)
        elif kind == TIMEOUT:
            if live_attempt.get(request) == attempt_id:
                totals["timeouts"] += 1
                bucket(t)["errors"] += 1
                if breaker is not None:
                    breaker.record(t, True)
                live_attempt.pop(request)
                release(DEP)
                retry(t, request, backoff_ms)
        else:  # DONE: the dependency finished this attempt, whether or not anyone still waits for it
            busy -= 1
            totals["served"] += 1
            b = bucket(t)
            if live_attempt.get(request) == attempt_id:
                del live_attempt[request]
                release(DEP)
                totals["succeeded"] += 1
                b["good"] += 1
                b["latencies"].append(t - arrived_at[request])
                if breaker is not None:
                    breaker.record(t, False)
            else:
                totals["wasted"] += 1
                b["wasted"] += 1
            start_service(t)
        b = bucket(t)
        b["queue"] = len(queue)
        if free[DEP] is not None:
            b["busy"] = max(b["busy"], pool_size[DEP] - free[DEP][0])
        if breaker is not None:
            b["state"] = breaker.state if breaker.state != OPEN or t < breaker.opened_at + breaker.open_ms else HALF_OPEN

    last_arrival = arrived_at[-1]
    frames = []
    per_second = 1000 / bucket_ms
    for index in range(int(last_arrival // bucket_ms) + 1):
        b = buckets[index]
        latencies = sorted(b["latencies"])
        done = b["good"] + b["errors"]
        frame = {
            "t_ms": (index + 1) * bucket_ms,
            "offered_rate": round(b["offered"] * per_second),
            "attempt_rate": round(b["attempts"] * per_second),
            "goodput_rate": round(b["good"] * per_second),
            "wasted_rate": round(b["wasted"] * per_second),
            "error_percent": round(100 * b["errors"] / done, 1) if done else 0.0,
            "p50_ms": round(_percentile(latencies, 0.5), 1),
            "p99_ms": round(_percentile(latencies, 0.99), 1),
            "queue": b["queue"],
            "breaker_state": STATE_LEVEL[b["state"]],
            "healthy": b["errors"] <= (1 - HEALTHY_SHARE) * done,
            "healthy_p99_ms": round(_percentile(sorted(b["healthy_latencies"]), 0.99), 1),
            "healthy_error_percent": round(100 * b["healthy_rejected"] / b["healthy"], 1) if b["healthy"] else 0.0,
            "pool_busy_percent": round(100 * b["busy"] / pool_size[DEP], 1) if pool_size[DEP] else 0.0,
        }
        frames.append(frame)
        emit(frame)
    return _summary(params, trigger, frames, totals, breaker, len(arrived_at), bucket_ms)


def recovery(frames: list[dict], trigger_end_ms: float, settle_ms: float = 2000) -> int | None:
    """When the system was healthy again for good after the trigger, in ms after it ended; None if never.

    "For good" means every bucket from then to the end of the run is healthy,
    and at least settle_ms of run remain to show it.
    """
    last_unhealthy = max((f["t_ms"] for f in frames if not f["healthy"]), default=0)
    end = frames[-1]["t_ms"]
    recovered_at = max(last_unhealthy, trigger_end_ms)
    if end - recovered_at < settle_ms:
        return None
    return round(max(0.0, last_unhealthy - trigger_end_ms))


def breaker_intervals(breaker: Breaker, end_ms: float) -> list[dict]:
    """The spans the breaker spent open or half-open, up to the end of the run."""
    spans = []
    for (start, state), (end, _) in zip(breaker.transitions, breaker.transitions[1:] + [(end_ms, CLOSED)]):
        if state != CLOSED and start < end_ms:
            spans.append({"state": state, "start_ms": round(start, 1), "end_ms": round(min(end, end_ms), 1)})
    return spans


def _summary(params, trigger, frames, totals, breaker, requests, bucket_ms) -> dict[str, Any]:
    recovered_after = recovery(frames, trigger.end_ms)
    before = [f for f in frames if f["t_ms"] <= trigger.start_ms]
    return {
        **totals,
        "requests": requests,
        "trigger_end_ms": trigger.end_ms,
        "recovered": recovered_after is not None,
        "recovery_ms": recovered_after,
        "success_percent": round(100 * totals["succeeded"] / max(1, requests), 1),
        "retry_percent": round(100 * totals["retries"] / max(1, requests), 1),
        "healthy_before": all(f["healthy"] for f in before[1:]),
        "final_goodput_rate": frames[-1]["goodput_rate"],
        "final_offered_rate": frames[-1]["offered_rate"],
        "breaker_openings": breaker.openings if breaker else 0,
        "cascade": totals["healthy_rejected"] > 0,
        "healthy_error_percent": round(100 * totals["healthy_rejected"] / totals["healthy"], 1) if totals["healthy"] else 0.0,
        "retry_budget": params["retry_budget"],
        "budget_percent": params["budget_percent"],
        "budget_max_tokens": params["budget_max_tokens"],
        "bucket_ms": bucket_ms,
        "breaker_intervals": breaker_intervals(breaker, frames[-1]["t_ms"]) if breaker else [],
        "goodput_series": [[f["t_ms"], f["goodput_rate"], f["offered_rate"]] for f in frames],
    }
