"""Retries, exponential backoff and jitter.

Two scenarios share one set of retry strategies: no backoff, capped
exponential backoff, and exponential backoff with full, equal or
decorrelated jitter.

Contention reproduces Marc Brooker's "Exponential Backoff And Jitter" (AWS
Architecture Blog, 2015). N clients start together and each wants to update
one shared row once, with optimistic concurrency control: read the version,
then send a write conditional on it. A write fails if another client's write
landed in between, and the client sleeps per its strategy, reads again and
retries. Every network hop takes |Normal(10 ms, 2 ms)|. Without jitter,
clients that collided together back off by the same amounts and collide
again; jitter spreads them out, so they do less work and finish sooner.
"Calls" are conditional writes, as in Brooker's simulator.

Flaky dependency sends requests at a steady rate to a dependency that serves
a limited number per 10 ms tick and fails everything during an outage. A
request that fails sleeps per its strategy and tries again, up to a maximum
number of attempts; then it goes to a dead-letter queue (or, with no DLQ, is
dropped). An optional redrive re-submits the DLQ once, after the outage,
paced at the dependency's capacity. This is an open system: requests keep
arriving whatever the retries do, and steady arrivals are already out of
step, so there is no lockstep herd for jitter to break up. What lands when
the outage ends is the backlog of retries that piled up during it, and what
limits it is the attempt limit, the DLQ and a paced redrive (Brooker, "What
is Backoff For?", 2022), not jitter.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from django import forms

from .base import (
    Chart, Check, Emit, Experiment, Frame, Prediction, Preset, Trace, mark_conditional_fields, shaded_window,
)

CONTENTION = "contention"
FLAKY = "flaky-dependency"
MODES = [
    (CONTENTION, "Contention: N clients update one row (Brooker's simulation)"),
    (FLAKY, "Flaky dependency: steady traffic, an outage, a dead-letter queue"),
]

NONE = "none"
EXPONENTIAL = "exponential"
FULL = "full"
EQUAL = "equal"
DECORRELATED = "decorrelated"
STRATEGIES = [
    (NONE, "No backoff: retry at once"),
    (EXPONENTIAL, "Exponential backoff, no jitter"),
    (FULL, "Exponential backoff, full jitter"),
    (EQUAL, "Exponential backoff, equal jitter"),
    (DECORRELATED, "Decorrelated jitter"),
]

LATENCY_MEAN_MS = 10.0
LATENCY_SD_MS = 2.0
TICK_MS = 10  # the flaky dependency's capacity is counted per tick
TICKS_PER_SECOND = 1000 // TICK_MS
TARGET_FRAMES = 150
# The contention verdict compares a run with full jitter on the same network.
# Jittered strategies stay well inside these factors at 50+ clients; no jitter
# makes 1.6 to 3 times the calls and takes 7 to 25 times as long. Completion
# time gets more slack because it hangs on the unluckiest client.
CALLS_FACTOR = 1.5
TIME_FACTOR = 2.0


@dataclass(frozen=True)
class Schedule:
    """Everything random or faulty about a run, decided before it starts.

    seed: fixes every network delay and every jitter draw. Client i's k-th
        message takes the k-th delay of its own stream, whatever strategy it
        follows, so two strategies run with one seed meet the same network.
    latency_mean_ms, latency_sd_ms: each hop takes |Normal(mean, sd)| ms
        (contention). An sd of 0 makes every hop identical: lockstep.
    outages: the dependency fails every call during [start_ms, end_ms) (flaky).
    """

    seed: int = 0
    latency_mean_ms: float = LATENCY_MEAN_MS
    latency_sd_ms: float = LATENCY_SD_MS
    outages: tuple[tuple[int, int], ...] = ()

    @classmethod
    def draw(cls, rng: random.Random, *, outage_start_ms: int, outage_ms: int) -> Schedule:
        outages = ((outage_start_ms, outage_start_ms + outage_ms),) if outage_ms > 0 else ()
        return cls(seed=rng.getrandbits(32), outages=outages)

    def network(self, client: int) -> Callable[[], float]:
        """Client `client`'s stream of hop delays, in ms."""
        rng = random.Random(f"{self.seed}:network:{client}")
        mean, sd = self.latency_mean_ms, self.latency_sd_ms
        return lambda: abs(rng.normalvariate(mean, sd))

    def jitter(self) -> random.Random:
        return random.Random(f"{self.seed}:jitter")

    def up(self, t_ms: int) -> bool:
        return not any(start <= t_ms < end for start, end in self.outages)

    def last_outage_end_ms(self) -> int:
        return max((end for _, end in self.outages), default=0)


def backoff(strategy: str, base_ms: float, cap_ms: float, rng: random.Random) -> Callable[[int, float], float]:
    """sleep(failures, previous_ms): how long to sleep after the `failures`-th failed attempt (1, 2, ...).

    The exponent counts failures from 1, as Brooker's simulator does, so the
    first exponential sleep is 2 × base. Decorrelated jitter ignores the count
    and grows from the previous sleep instead (base before the first).
    """
    # This runs once per failed call, up to a million times a run: precompute
    # the exponential (by 40 failures it has passed any cap), and draw
    # uniform(0, x) as x × random(), which is what uniform() computes anyway.
    ceilings = [min(cap_ms, base_ms * 2.0**failures) for failures in range(40)] + [cap_ms]
    last = len(ceilings) - 1
    draw = rng.random
    if strategy == NONE:
        return lambda failures, previous_ms: 0.0
    if strategy == EXPONENTIAL:
        return lambda failures, previous_ms: ceilings[min(failures, last)]
    if strategy == FULL:
        return lambda failures, previous_ms: ceilings[min(failures, last)] * draw()
    if strategy == EQUAL:
        return lambda failures, previous_ms: ceilings[min(failures, last)] * (1 + draw()) / 2

    def decorrelated(failures: int, previous_ms: float) -> float:
        sleep = base_ms + (previous_ms * 3 - base_ms) * draw()  # uniform(base, 3 × previous)
        return sleep if sleep < cap_ms else cap_ms

    return decorrelated


# --- Contention ------------------------------------------------------------

READ, WRITE = 0, 1


@dataclass
class Contest:
    """What happened at the shared row during one contention run."""

    write_times: list[float]
    failed_write_times: list[float]
    done_times: list[float]  # when each client heard that its write landed
    reads: int
    version: int

    @property
    def completion_ms(self) -> float:
        return max(self.done_times, default=0.0)


def contend(clients: int, strategy: str, base_ms: float, cap_ms: float, schedule: Schedule) -> Contest:
    """Brooker's optimistic-concurrency contention, as a discrete-event simulation.

    The heap holds each client's one pending arrival at the server, keyed by
    (time, client id) so that ties, which an sd of 0 makes common, resolve the
    same way every run. Hops in which the client only forwards a reply are
    folded into the next arrival: a read's reply travels back and the write
    goes out at once, so the write arrives two hops after the read.
    """
    delay = [schedule.network(client) for client in range(clients)]
    sleep_after = backoff(strategy, base_ms, cap_ms, schedule.jitter())
    failures = [0] * clients
    previous_sleep = [float(base_ms)] * clients
    events = [(delay[client](), client, READ, 0) for client in range(clients)]
    heapq.heapify(events)
    contest = Contest(write_times=[], failed_write_times=[], done_times=[], reads=0, version=0)
    while events:
        t, client, kind, seen_version = heapq.heappop(events)
        if kind == READ:
            contest.reads += 1
            heapq.heappush(events, (t + delay[client]() + delay[client](), client, WRITE, contest.version))
            continue
        contest.write_times.append(t)
        if seen_version == contest.version:
            contest.version += 1
            contest.done_times.append(t + delay[client]())
            continue
        # Someone else's write landed since this client read: the write is refused.
        contest.failed_write_times.append(t)
        failures[client] += 1
        sleep = sleep_after(failures[client], previous_sleep[client])
        previous_sleep[client] = sleep
        heapq.heappush(events, (t + delay[client]() + sleep + delay[client](), client, READ, 0))
    return contest


def simulate_contention(params: dict[str, Any], schedule: Schedule, emit: Emit) -> dict[str, Any]:
    clients, strategy = params["clients"], params["strategy"]
    base_ms, cap_ms = params["base_ms"], params["cap_ms"]
    contest = contend(clients, strategy, base_ms, cap_ms, schedule)
    # The yardstick: the same clients on the same network, with full jitter.
    baseline = contest if strategy == FULL else contend(clients, FULL, base_ms, cap_ms, schedule)

    end_ms = contest.completion_ms
    bucket_ms = max(1, math.ceil(end_ms / TARGET_FRAMES))
    buckets = max(1, math.ceil(end_ms / bucket_ms))

    def per_bucket(times: list[float]) -> list[int]:
        counts = [0] * buckets
        for t in times:
            counts[min(int(t // bucket_ms), buckets - 1)] += 1
        return counts

    frames = _frames(
        bucket_ms,
        calls=per_bucket(contest.write_times),
        failed=per_bucket(contest.failed_write_times),
        done=per_bucket(contest.done_times),
        dlq=[0] * buckets,
        lost=[0] * buckets,
        up=[True] * buckets,
    )
    for frame in frames:
        emit(frame)

    return _summary(
        mode=CONTENTION,
        strategy=strategy,
        population=clients,
        total_calls=len(contest.write_times),
        failed_calls=len(contest.failed_write_times),
        total_reads=contest.reads,
        succeeded=len(contest.done_times),
        final_version=contest.version,
        completion_ms=round(end_ms),
        peak_calls_per_10ms=_peak_per_window(contest.write_times),
        full_jitter_calls=len(baseline.write_times),
        full_jitter_completion_ms=round(baseline.completion_ms),
    )


def _peak_per_window(times: list[float]) -> int:
    counts: dict[int, int] = {}
    for t in times:
        window = int(t // TICK_MS)
        counts[window] = counts.get(window, 0) + 1
    return max(counts.values(), default=0)


# --- Flaky dependency --------------------------------------------------------

PENDING, SUCCEEDED, DEAD_LETTERED, LOST = 0, 1, 2, 3


def simulate_flaky(params: dict[str, Any], schedule: Schedule, emit: Emit) -> dict[str, Any]:
    """Steady traffic against a dependency with limited capacity and outages.

    Time moves in 10 ms ticks. Each tick the dependency serves up to
    `capacity` of the calls due, lowest request id first (so older requests
    win), and refuses the rest; during an outage it refuses them all. A call's
    reply takes one tick, so a failed request's next attempt is due one tick
    plus its sleep (rounded up to whole ticks) later.
    """
    requests, rate = params["requests"], params["request_rate"]
    capacity, max_attempts = params["capacity"], params["max_attempts"]
    strategy, base_ms, cap_ms = params["strategy"], params["base_ms"], params["cap_ms"]
    use_dlq = params["dead_letter_queue"]
    redrive = use_dlq and params["redrive"]
    sleep_after = backoff(strategy, base_ms, cap_ms, schedule.jitter())
    redrive_not_before_ms = schedule.last_outage_end_ms()

    state = [PENDING] * requests
    failures = [0] * requests
    previous_sleep = [float(base_ms)] * requests
    # Calls due per tick, in a ring: no retry is ever due more than one tick
    # plus the cap ahead, so a ring that long never wraps onto a live slot.
    ring = 2 + math.ceil(cap_ms / TICK_MS)
    due: list[list[int]] = [[] for _ in range(ring)]
    ceil = math.ceil
    dlq: deque[int] = deque()
    to_redrive: deque[int] = deque()
    redrive_started = False
    next_arrival = in_flight = 0
    success_events = lost_total = peak_dlq = redriven = 0
    # One entry per tick, bucketed into frames once the run is over.
    calls: list[int] = []
    failed: list[int] = []
    done: list[int] = []
    dlq_size: list[int] = []
    lost: list[int] = []
    up_at: list[bool] = []

    tick = 0
    while True:
        batch, due[tick % ring] = due[tick % ring], []
        # Request i arrives at tick i × ticks-per-second ÷ rate: a steady rate, in whole ticks.
        while next_arrival < requests and next_arrival * TICKS_PER_SECOND // rate == tick:
            batch.append(next_arrival)
            next_arrival += 1
            in_flight += 1
        for _ in range(min(capacity, len(to_redrive))):
            request = to_redrive.popleft()
            failures[request] = 0  # a redriven request gets a fresh set of attempts
            previous_sleep[request] = float(base_ms)
            batch.append(request)
            in_flight += 1
        batch.sort()

        up = schedule.up(tick * TICK_MS)
        served = min(len(batch), capacity if up else 0)
        for request in batch[:served]:
            success_events += 1
            state[request] = SUCCEEDED
        in_flight -= served
        for request in batch[served:]:
            failed_so_far = failures[request] = failures[request] + 1
            if failed_so_far >= max_attempts:
                in_flight -= 1
                if use_dlq:
                    state[request] = DEAD_LETTERED
                    dlq.append(request)
                else:
                    state[request] = LOST  # nobody will ever try it again
                    lost_total += 1
                continue
            sleep = previous_sleep[request] = sleep_after(failed_so_far, previous_sleep[request])
            due[(tick + 1 + ceil(sleep / TICK_MS)) % ring].append(request)

        calls.append(len(batch))
        failed.append(len(batch) - served)
        done.append(served)
        dlq_size.append(len(dlq))
        lost.append(lost_total)
        up_at.append(up)
        peak_dlq = max(peak_dlq, len(dlq))
        tick += 1

        if next_arrival < requests or in_flight or to_redrive:
            continue
        if not (redrive and not redrive_started and dlq):
            break
        # Redrive once, deliberately: after the outage, when the original traffic
        # has settled, and no faster than the dependency can serve.
        if tick * TICK_MS >= redrive_not_before_ms:
            redrive_started = True
            redriven = len(dlq)
            to_redrive.extend(dlq)
            dlq.clear()
            for request in to_redrive:
                state[request] = PENDING

    ticks = tick
    bucket_ticks = max(1, math.ceil(ticks / TARGET_FRAMES))
    buckets = math.ceil(ticks / bucket_ticks)

    def summed(series: list[int]) -> list[int]:
        return [sum(series[b * bucket_ticks:(b + 1) * bucket_ticks]) for b in range(buckets)]

    def last(series: list) -> list:
        return [series[min((b + 1) * bucket_ticks, ticks) - 1] for b in range(buckets)]

    frames = _frames(
        bucket_ticks * TICK_MS,
        calls=summed(calls),
        failed=summed(failed),
        done=summed(done),
        dlq=last(dlq_size),
        lost=last(lost),
        up=last(up_at),
    )
    for frame in frames:
        emit(frame)

    return _summary(
        mode=FLAKY,
        strategy=strategy,
        population=requests,
        total_calls=sum(calls),
        failed_calls=sum(failed),
        succeeded=state.count(SUCCEEDED),
        success_events=success_events,
        in_dlq=len(dlq),
        lost=lost_total,
        peak_dlq=peak_dlq,
        redriven=redriven,
        completion_ms=ticks * TICK_MS,
        peak_calls_per_10ms=max(calls, default=0),
        capacity_per_10ms=capacity,
    )


# --- Frames and summary ----------------------------------------------------------


def _frames(bucket_ms: int, *, calls, failed, done, dlq, lost, up) -> list[Frame]:
    """One frame per time bucket, stamped at the bucket's end; rates per second
    so that runs with different bucket widths overlay fairly."""
    frames = []
    calls_total = done_total = 0
    for b, (n_calls, n_failed, n_done) in enumerate(zip(calls, failed, done)):
        calls_total += n_calls
        done_total += n_done
        frames.append({
            "t_ms": (b + 1) * bucket_ms,
            "calls": n_calls,
            "failed_calls": n_failed,
            "call_rate": round(n_calls * 1000 / bucket_ms, 1),
            "failed_rate": round(n_failed * 1000 / bucket_ms, 1),
            "calls_total": calls_total,
            "done": done_total,
            "dlq": dlq[b],
            "lost": lost[b],
            "up": up[b],
        })
    return frames


SUMMARY_DEFAULTS: dict[str, Any] = {
    "mode": "",
    "strategy": "",
    "population": 0,
    "total_calls": 0,
    "failed_calls": 0,
    "total_reads": 0,
    "calls_per_success": 0.0,
    "succeeded": 0,
    "success_events": 0,
    "final_version": 0,
    "in_dlq": 0,
    "lost": 0,
    "peak_dlq": 0,
    "redriven": 0,
    "completion_ms": 0,
    "peak_calls_per_10ms": 0,
    "capacity_per_10ms": 0,
    "full_jitter_calls": 0,
    "full_jitter_completion_ms": 0,
}


def _summary(**values: Any) -> dict[str, Any]:
    """Both modes report the same keys; those a mode has no use for stay 0."""
    summary = {**SUMMARY_DEFAULTS, **values}
    if summary["mode"] == CONTENTION:
        summary["success_events"] = summary["succeeded"]
    summary["calls_per_success"] = round(summary["total_calls"] / max(1, summary["succeeded"]), 2)
    return summary


def simulate(params: dict[str, Any], schedule: Schedule, emit: Emit) -> dict[str, Any]:
    """Run the scenario under a given schedule; return the summary."""
    if params["mode"] == CONTENTION:
        return simulate_contention(params, schedule, emit)
    return simulate_flaky(params, schedule, emit)


def run(params: dict[str, Any], seed: int, emit: Emit) -> dict[str, Any]:
    schedule = Schedule.draw(random.Random(seed), outage_start_ms=params["outage_start_ms"], outage_ms=params["outage_ms"])
    return simulate(params, schedule, emit)


# --- Verdict -----------------------------------------------------------------------


def verdict(summary: dict[str, Any]) -> list[Check]:
    if summary["mode"] == CONTENTION:
        return _contention_verdict(summary)
    return _flaky_verdict(summary)


def _contention_verdict(summary: dict[str, Any]) -> list[Check]:
    clients = summary["population"]
    calls_ratio = round(summary["total_calls"] / max(1, summary["full_jitter_calls"]), 2)
    time_ratio = round(summary["completion_ms"] / max(1, summary["full_jitter_completion_ms"]), 2)
    return [
        Check(
            "Updates that landed",
            summary["succeeded"],
            summary["succeeded"] == clients and summary["final_version"] == clients,
            "Optimistic concurrency loses no update: a stale write is refused, and its client reads again and retries.",
        ),
        Check(
            "Calls, compared with full jitter",
            calls_ratio,
            calls_ratio <= CALLS_FACTOR,
            "Conditional writes made, divided by what full jitter made for the same clients on the same network; "
            "clients that collide together and back off by the same amount collide again.",
        ),
        Check(
            "Completion time, compared with full jitter",
            time_ratio,
            time_ratio <= TIME_FACTOR,
            "Time until the last client's update landed, divided by full jitter's; "
            "waiting without spreading out only makes everyone later.",
        ),
        Check(
            "Refused writes",
            summary["failed_calls"],
            None,
            "Each refused write was wasted work for the database: it had to be read, checked and rejected.",
        ),
    ]


def _flaky_verdict(summary: dict[str, Any]) -> list[Check]:
    requests = summary["population"]
    amplification = summary["calls_per_success"]
    return [
        Check(
            "Requests lost",
            summary["lost"],
            summary["lost"] == 0,
            "With no dead-letter queue, a request that runs out of attempts is dropped, and its work is gone for good.",
        ),
        Check(
            "Requests still in the dead-letter queue",
            summary["in_dlq"],
            summary["in_dlq"] == 0,
            "Parked, not lost, but not done either: alert on a non-empty DLQ and redrive it once the dependency is healthy.",
        ),
        Check(
            "Requests that succeeded",
            summary["succeeded"],
            summary["succeeded"] == requests and summary["success_events"] == requests,
            "Every request should succeed exactly once in the end; retries and a redrive only change when.",
        ),
        Check(
            "Calls per successful request",
            amplification,
            None,
            "Every retry is extra load, sent exactly when the dependency is struggling.",
        ),
        Check(
            "Peak calls in one 10 ms tick",
            summary["peak_calls_per_10ms"],
            None,
            f"The dependency serves {summary['capacity_per_10ms']} per tick; the backlog of retries that piled up "
            "during the outage lands above that, is refused, and comes back again.",
        ),
    ]


def shapes(params: dict[str, Any]) -> list[dict]:
    """Shade the dependency's outage on every chart, so cause and effect line up."""
    if params.get("mode") != FLAKY or not params.get("outage_ms"):
        return []
    start = params["outage_start_ms"]
    return [shaded_window(start, start + params["outage_ms"], "dependency down")]


def progress(params: dict[str, Any], frame: Frame) -> float:
    if params["mode"] == CONTENTION:
        return min(1.0, frame["done"] / max(1, params["clients"]))
    # Requests parked in a DLQ that will be redriven are not finished yet.
    parked = 0 if params["dead_letter_queue"] and params["redrive"] else frame["dlq"]
    return min(1.0, (frame["done"] + frame["lost"] + parked) / max(1, params["requests"]))


class RetriesForm(forms.Form):
    mode = forms.ChoiceField(choices=MODES, initial=CONTENTION, label="Scenario")
    strategy = forms.ChoiceField(choices=STRATEGIES, initial=EXPONENTIAL, label="Retry strategy")
    base_ms = forms.IntegerField(
        min_value=1, max_value=1000, initial=5, label="Backoff base (ms)",
        help_text="1 to 1,000. The first exponential sleep is 2 × base; Brooker used 5 ms.",
    )
    cap_ms = forms.IntegerField(
        min_value=10, max_value=60_000, initial=2000, label="Backoff cap (ms)",
        help_text="10 to 60,000: no sleep is longer. Brooker used 2,000 ms.",
    )
    clients = forms.IntegerField(
        min_value=1, max_value=500, initial=100, label="Clients (contention)",
        help_text="1 to 500 clients, all starting at once, each updating the row once.",
    )
    requests = forms.IntegerField(
        min_value=100, max_value=100_000, initial=5000, label="Requests (flaky dependency)", help_text="100 to 100,000.",
    )
    request_rate = forms.IntegerField(
        min_value=100, max_value=5000, initial=500, label="Requests per second (flaky dependency)", help_text="100 to 5,000.",
    )
    capacity = forms.IntegerField(
        min_value=1, max_value=100, initial=8, label="Dependency capacity per 10 ms tick (flaky dependency)",
        help_text="1 to 100 calls served per tick; the rest are refused and count as failed attempts.",
    )
    outage_start_ms = forms.IntegerField(
        min_value=0, max_value=1_000_000, initial=3000, label="Outage starts at (ms, flaky dependency)",
    )
    outage_ms = forms.IntegerField(
        min_value=0, max_value=600_000, initial=2000, label="Outage lasts (ms, flaky dependency)", help_text="0 for no outage.",
    )
    max_attempts = forms.IntegerField(
        min_value=1, max_value=10, initial=5, label="Maximum attempts per request (flaky dependency)",
        help_text="1 to 10, the first try included. Contention clients retry until they succeed, as in Brooker's simulation.",
    )
    dead_letter_queue = forms.BooleanField(
        required=False, initial=True, label="Dead-letter queue (flaky dependency)",
        help_text="Park requests that run out of attempts; without it they are dropped.",
    )
    redrive = forms.BooleanField(
        required=False, initial=False, label="Redrive the DLQ once (flaky dependency)",
        help_text="After the outage, once traffic has settled, re-submit the DLQ at the dependency's capacity.",
    )

    show_when = {
        "clients": ("mode", CONTENTION),
        **{name: ("mode", FLAKY) for name in (
            "requests", "request_rate", "capacity", "outage_start_ms", "outage_ms", "max_attempts",
            "dead_letter_queue", "redrive",
        )},
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_conditional_fields(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        base, cap = cleaned.get("base_ms"), cleaned.get("cap_ms")
        if base is not None and cap is not None and cap < base:
            self.add_error("cap_ms", "The cap must be at least the base.")
        return cleaned


EXPERIMENT = Experiment(
    slug="retries",
    title="Retries, backoff and jitter",
    what_you_will_see=(
        "In the contention scenario, clients race to update one row with optimistic concurrency, as in "
        "Marc Brooker's simulation: without jitter their retries arrive in tall synchronized spikes and "
        "collide again; with jitter the load is a lower, smoother curve that finishes sooner. In the flaky-"
        "dependency scenario, steady traffic meets an outage: watch the backlog of retries land when it ends "
        "(steady arrivals are already out of step, so jitter barely changes it), and requests running out of "
        "attempts into a dead-letter queue, or into nothing at all."
    ),
    lesson_slug="retries-backoff-jitter",
    form_class=RetriesForm,
    presets={
        "no-jitter": Preset(
            "No jitter", "100 clients contend with capped exponential backoff and no jitter.",
            {"mode": CONTENTION, "strategy": EXPONENTIAL},
        ),
        "full-jitter": Preset(
            "Full jitter", "The same clients, each sleeping a random time up to the exponential value.",
            {"mode": CONTENTION, "strategy": FULL},
        ),
        "decorrelated": Preset(
            "Decorrelated jitter", "The same clients; each sleep is random between the base and 3 × the previous sleep.",
            {"mode": CONTENTION, "strategy": DECORRELATED},
        ),
        "flaky-dlq": Preset(
            "Flaky dependency with a DLQ",
            "A 2-second outage under steady traffic; full jitter, a dead-letter queue and a redrive afterwards.",
            {"mode": FLAKY, "strategy": FULL, "base_ms": 50, "max_attempts": 5, "dead_letter_queue": True, "redrive": True},
        ),
    },
    run=run,
    charts=[
        Chart(
            id="load",
            title="Calls per second: the clusters, and the backlog after an outage",
            x_title="simulated time (ms)",
            y_title="calls per second",
            traces=[
                Trace("calls", "call_rate", color="#2563eb"),
                Trace("failed calls", "failed_rate", color="#dc2626", dash="dot"),
            ],
        ),
        Chart(
            id="completed",
            title="Completed: clients whose update landed, requests that succeeded",
            x_title="simulated time (ms)",
            y_title="count",
            traces=[Trace("completed", "done", color="#16a34a")],
        ),
        Chart(
            id="dlq",
            title="Dead-letter queue and lost requests (flaky dependency)",
            x_title="simulated time (ms)",
            y_title="requests",
            traces=[
                Trace("in the dead-letter queue", "dlq", color="#d97706"),
                Trace("lost (no DLQ)", "lost", color="#9333ea", dash="dash"),
            ],
            only_when={"mode": FLAKY},
        ),
    ],
    verdict=verdict,
    shapes=shapes,
    prediction=Prediction(
        "How many calls will reach the server in total (conditional writes, or attempts in the flaky scenario)?",
        "total_calls",
        2_000_000,  # 100,000 requests × 10 attempts, plus a redrive
    ),
    progress=progress,
    table_columns=[
        ("t_ms", "Time (ms)"),
        ("calls", "Calls in this interval"),
        ("failed_calls", "Failed calls in this interval"),
        ("calls_total", "Calls so far"),
        ("done", "Completed"),
        ("dlq", "In the dead-letter queue"),
        ("lost", "Lost"),
        ("up", "Dependency up"),
    ],
)
