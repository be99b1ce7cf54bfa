"""The retries simulation: it reproduces Brooker's findings, and never loses a request it parks."""

import json
import random
import statistics
from functools import lru_cache

from hypothesis import example, given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import retries
from playground.experiments.retries import (
    CONTENTION, DECORRELATED, EQUAL, EXPONENTIAL, FLAKY, FULL, NONE, Schedule, simulate,
)
from tests.support import run_collecting, valid_params

EXPERIMENT = retries.EXPERIMENT
ALL_STRATEGIES = [NONE, EXPONENTIAL, FULL, EQUAL, DECORRELATED]
BACKOFF_STRATEGIES = [EXPONENTIAL, FULL, EQUAL, DECORRELATED]
SEEDS = [1, 2, 3, 4, 5]


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def run(seed=7, **overrides):
    return run_collecting(EXPERIMENT, params(**overrides), seed)


@lru_cache(maxsize=None)
def median_over_seeds(clients, strategy):
    """(calls, completion ms), each the median over five seeds, as Brooker averaged over runs.

    Brooker's base (5 ms) and cap (2 s), and the schedule `run` would draw for each seed."""
    contests = [
        retries.contend(clients, strategy, 5, 2000, Schedule.draw(random.Random(seed), outage_start_ms=0, outage_ms=0))
        for seed in SEEDS
    ]
    return (
        statistics.median(len(c.write_times) for c in contests),
        statistics.median(c.completion_ms for c in contests),
    )


# --- Contention: Brooker's findings --------------------------------------------------


def test_at_100_and_150_clients_full_jitter_needs_less_than_half_the_calls_of_unjittered_backoff():
    for clients in (100, 150):
        full_calls, _ = median_over_seeds(clients, FULL)
        exponential_calls, _ = median_over_seeds(clients, EXPONENTIAL)
        assert full_calls < exponential_calls / 2, clients


def test_unjittered_exponential_backoff_finishes_last_of_all_the_backoff_strategies():
    for clients in (50, 100, 150):
        times = {strategy: median_over_seeds(clients, strategy)[1] for strategy in BACKOFF_STRATEGIES}
        assert max(times, key=times.get) == EXPONENTIAL, (clients, times)
        # Not by a little: the clusters cost several times full jitter's time.
        assert times[EXPONENTIAL] > 3 * times[FULL]


def test_equal_jitter_does_about_the_same_work_as_full_jitter_but_finishes_later():
    for clients in (50, 100, 150):
        full_calls, full_time = median_over_seeds(clients, FULL)
        equal_calls, equal_time = median_over_seeds(clients, EQUAL)
        assert equal_time > full_time, clients
        assert abs(equal_calls - full_calls) < 0.15 * full_calls, clients


def test_decorrelated_jitter_makes_more_calls_than_full_jitter_and_finishes_close_to_it():
    for clients in (50, 100, 150):
        full_calls, full_time = median_over_seeds(clients, FULL)
        decorrelated_calls, decorrelated_time = median_over_seeds(clients, DECORRELATED)
        assert decorrelated_calls > full_calls, clients
        assert decorrelated_time < 1.3 * full_time, clients


def test_no_backoff_finishes_fastest_but_does_the_most_work():
    for clients in (50, 100, 150):
        results = {strategy: median_over_seeds(clients, strategy) for strategy in ALL_STRATEGIES}
        assert max(results, key=lambda s: results[s][0]) == NONE, clients
        assert min(results, key=lambda s: results[s][1]) == NONE, clients


# --- Contention: optimistic concurrency never loses an update ----------------------------


@st.composite
def networks(draw):
    return Schedule(
        seed=draw(st.integers(0, 2**32 - 1)),
        latency_mean_ms=draw(st.floats(1, 30)),
        latency_sd_ms=draw(st.sampled_from([0.0, 0.5, 2.0, 10.0])),
    )


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(network=networks(), clients=st.integers(1, 40), strategy=st.sampled_from(ALL_STRATEGIES))
def test_every_client_updates_the_row_exactly_once_under_any_network(network, clients, strategy):
    frames = []
    summary = simulate(params(mode=CONTENTION, clients=clients, strategy=strategy), network, frames.append)
    assert summary["succeeded"] == clients
    assert summary["final_version"] == clients  # no update lost, none applied twice
    assert summary["total_calls"] == clients + summary["failed_calls"]
    assert summary["total_reads"] == summary["total_calls"]  # every write follows its own read
    assert frames[-1]["done"] == clients
    assert frames[-1]["calls_total"] == summary["total_calls"]


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(
    mean_ms=st.floats(1, 50),
    clients=st.integers(1, 60),
    strategy=st.sampled_from([NONE, EXPONENTIAL]),
)
@example(mean_ms=10.0, clients=100, strategy=EXPONENTIAL)
def test_without_jitter_clients_on_a_lockstep_network_collide_every_round(mean_ms, clients, strategy):
    """With identical delays, all clients read together and write together;
    ties go to the lowest id, so exactly one wins each round: N + (N-1) + ... + 1 calls."""
    lockstep = Schedule(seed=3, latency_mean_ms=mean_ms, latency_sd_ms=0.0)
    summary = simulate(params(mode=CONTENTION, clients=clients, strategy=strategy), lockstep, lambda frame: None)
    assert summary["total_calls"] == clients * (clients + 1) // 2


def test_full_jitter_breaks_the_lockstep():
    lockstep = Schedule(seed=3, latency_sd_ms=0.0)
    summary = simulate(params(mode=CONTENTION, clients=100, strategy=FULL), lockstep, lambda frame: None)
    assert summary["succeeded"] == 100
    assert summary["total_calls"] < 100 * 101 // 2 / 4


def test_the_same_network_serves_every_strategy():
    """Client i's k-th hop takes the same time whatever the strategy: the comparison is fair."""
    network = Schedule(seed=42)
    first, second = network.network(3), network.network(3)
    assert [first() for _ in range(5)] == [second() for _ in range(5)]
    assert network.network(3)() != network.network(4)()


def test_unjittered_backoff_retries_in_clusters_with_idle_gaps_between():
    _, frames = run(mode=CONTENTION, strategy=EXPONENTIAL)
    tail = frames[len(frames) // 3:]
    idle = sum(1 for frame in tail if frame["calls"] == 0)
    assert idle > len(tail) / 2  # most intervals silent, the calls bunched in the rest
    _, jittered = run(mode=CONTENTION, strategy=FULL)
    tail = jittered[len(jittered) // 10:len(jittered) // 2]
    assert sum(1 for frame in tail if frame["calls"] == 0) < len(tail) / 4


# --- Flaky dependency: a DLQ parks, a redrive finishes, no DLQ loses ---------------------

FLAKY_SMALL = {"mode": FLAKY, "requests": 300, "request_rate": 500, "capacity": 8}


@st.composite
def outage_schedules(draw):
    outages = draw(st.lists(
        st.tuples(st.integers(0, 1500), st.integers(1, 3000)).map(lambda s: (s[0], s[0] + s[1])),
        max_size=3,
    ))
    return Schedule(seed=draw(st.integers(0, 2**32 - 1)), outages=tuple(outages))


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=outage_schedules(), strategy=st.sampled_from(ALL_STRATEGIES), max_attempts=st.integers(1, 6))
def test_with_a_dlq_and_a_redrive_every_request_succeeds_exactly_once_under_any_outages(schedule, strategy, max_attempts):
    frames = []
    summary = simulate(
        params(**FLAKY_SMALL, strategy=strategy, max_attempts=max_attempts, dead_letter_queue=True, redrive=True),
        schedule, frames.append,
    )
    assert summary["succeeded"] == 300
    assert summary["success_events"] == 300  # never duplicated as a success
    assert summary["in_dlq"] == 0 and summary["lost"] == 0
    assert summary["redriven"] == summary["peak_dlq"]  # nothing leaves a DLQ but by the redrive
    assert frames[-1]["dlq"] == 0 and frames[-1]["done"] == 300


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=outage_schedules(), strategy=st.sampled_from(ALL_STRATEGIES), max_attempts=st.integers(1, 6))
def test_a_dlq_without_a_redrive_parks_requests_but_never_loses_one(schedule, strategy, max_attempts):
    summary = simulate(
        params(**FLAKY_SMALL, strategy=strategy, max_attempts=max_attempts, dead_letter_queue=True, redrive=False),
        schedule, lambda frame: None,
    )
    assert summary["lost"] == 0
    assert summary["succeeded"] + summary["in_dlq"] == 300
    assert summary["success_events"] == summary["succeeded"]


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=outage_schedules(), strategy=st.sampled_from(ALL_STRATEGIES), max_attempts=st.integers(1, 6))
@example(schedule=Schedule(outages=((100, 2100),)), strategy=FULL, max_attempts=5)
def test_without_a_dlq_requests_that_run_out_of_attempts_are_lost(schedule, strategy, max_attempts):
    summary = simulate(
        params(**FLAKY_SMALL, strategy=strategy, max_attempts=max_attempts, dead_letter_queue=False),
        schedule, lambda frame: None,
    )
    assert summary["succeeded"] + summary["lost"] == 300
    assert summary["in_dlq"] == 0
    if schedule.outages == ((100, 2100),):
        # Two seconds outlast any five attempts at 5 ms base: the middle of the outage is simply gone.
        assert summary["lost"] > 0


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=outage_schedules())
def test_with_one_attempt_and_no_dlq_exactly_the_requests_arriving_in_an_outage_are_lost(schedule):
    # 5 requests per tick against a capacity of 8: only the outage refuses anything.
    summary = simulate(params(**FLAKY_SMALL, max_attempts=1, dead_letter_queue=False), schedule, lambda frame: None)
    arrivals_ms = [(i * retries.TICKS_PER_SECOND // 500) * retries.TICK_MS for i in range(300)]
    assert summary["lost"] == sum(1 for t in arrivals_ms if not schedule.up(t))


def test_the_redrive_waits_for_the_outage_to_end_then_drains_the_dlq():
    summary, frames = run(mode=FLAKY, strategy=FULL, dead_letter_queue=True, redrive=True)
    assert summary["peak_dlq"] > 100
    assert summary["redriven"] == summary["peak_dlq"]
    assert summary["in_dlq"] == 0 and summary["succeeded"] == summary["population"]
    outage_end = 3000 + 2000
    assert all(frame["dlq"] == 0 for frame in frames if frame["t_ms"] <= 3000)
    # Parked requests stay parked until the redrive: the DLQ only shrinks after the outage.
    sizes = [frame["dlq"] for frame in frames]
    first_drop = next(i for i in range(1, len(sizes)) if sizes[i] < sizes[i - 1])
    assert frames[first_drop]["t_ms"] > outage_end


def test_immediate_retries_multiply_the_load_by_max_attempts_during_an_outage():
    _, frames = run(mode=FLAKY, strategy=NONE, max_attempts=5, request_rate=500)
    inside = [frame for frame in frames if 3200 <= frame["t_ms"] <= 4900]
    assert all(frame["call_rate"] == 5 * 500 for frame in inside)


def test_calls_stay_above_capacity_for_a_while_after_the_outage_the_herd():
    summary, frames = run(mode=FLAKY, strategy=EXPONENTIAL, base_ms=50)
    capacity_per_s = 8 * retries.TICKS_PER_SECOND
    after = [frame for frame in frames if 5000 < frame["t_ms"] <= 5500]
    assert all(frame["call_rate"] > capacity_per_s for frame in after)
    assert summary["peak_calls_per_10ms"] > 2 * summary["capacity_per_10ms"]


def test_fewer_attempts_mean_less_load_and_a_fuller_dlq():
    few, _ = run(mode=FLAKY, strategy=FULL, base_ms=50, max_attempts=2)
    many, _ = run(mode=FLAKY, strategy=FULL, base_ms=50, max_attempts=8)
    assert few["total_calls"] < many["total_calls"]
    assert few["in_dlq"] > many["in_dlq"]


# --- Verdict, frames, form -------------------------------------------------------------


def test_the_verdict_flags_unjittered_backoff_and_passes_full_and_decorrelated_jitter():
    naive = {c.label: c for c in EXPERIMENT.verdict(run(mode=CONTENTION, strategy=EXPONENTIAL)[0])}
    assert not naive["Calls, compared with full jitter"].ok and naive["Calls, compared with full jitter"].value > 2
    assert not naive["Completion time, compared with full jitter"].ok
    assert naive["Updates that landed"].ok
    for strategy in (FULL, DECORRELATED, EQUAL):
        assert all(check.ok is not False for check in EXPERIMENT.verdict(run(mode=CONTENTION, strategy=strategy)[0])), strategy
    no_backoff = {c.label: c for c in EXPERIMENT.verdict(run(mode=CONTENTION, strategy=NONE)[0])}
    assert not no_backoff["Calls, compared with full jitter"].ok


def test_the_verdict_flags_lost_and_parked_requests_and_passes_a_redriven_dlq():
    dropped = {c.label: c for c in EXPERIMENT.verdict(run(mode=FLAKY, dead_letter_queue=False)[0])}
    assert not dropped["Requests lost"].ok and dropped["Requests lost"].value > 0
    parked = {c.label: c for c in EXPERIMENT.verdict(run(mode=FLAKY, dead_letter_queue=True, redrive=False)[0])}
    assert parked["Requests lost"].ok and not parked["Requests still in the dead-letter queue"].ok
    redriven = EXPERIMENT.verdict(run(mode=FLAKY, dead_letter_queue=True, redrive=True)[0])
    assert all(check.ok is not False for check in redriven)


def test_the_same_seed_and_parameters_give_the_same_frames_and_summary():
    for mode in (CONTENTION, FLAKY):
        first = run(seed=11, mode=mode, strategy=DECORRELATED)
        second = run(seed=11, mode=mode, strategy=DECORRELATED)
        assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_another_seed_gives_another_run():
    assert run(seed=1, mode=CONTENTION, strategy=FULL)[0] != run(seed=2, mode=CONTENTION, strategy=FULL)[0]
    assert run(seed=1, mode=FLAKY, strategy=FULL)[0] != run(seed=2, mode=FLAKY, strategy=FULL)[0]


def test_both_modes_report_the_same_summary_keys():
    contention, _ = run(mode=CONTENTION)
    flaky, _ = run(mode=FLAKY)
    assert contention.keys() == flaky.keys()
    json.dumps(contention), json.dumps(flaky)


def test_frames_are_time_ordered_and_end_with_the_final_counts():
    for overrides in ({"mode": CONTENTION}, {"mode": FLAKY}, {"mode": FLAKY, "dead_letter_queue": False}):
        summary, frames = run(**overrides)
        times = [frame["t_ms"] for frame in frames]
        assert times == sorted(set(times))
        assert 100 <= len(frames) <= 250
        assert frames[-1]["t_ms"] >= summary["completion_ms"]
        assert frames[-1]["calls_total"] == summary["total_calls"] == sum(f["calls"] for f in frames)
        assert frames[-1]["done"] == summary["succeeded"]
        assert frames[-1]["dlq"] == summary["in_dlq"]
        assert frames[-1]["lost"] == summary["lost"]
        for frame in frames:
            assert set(frame) >= {trace.y for chart in EXPERIMENT.charts for trace in chart.traces}


def test_progress_climbs_to_one():
    for overrides in ({"mode": CONTENTION}, {"mode": FLAKY}, {"mode": FLAKY, "redrive": True}):
        p = params(**overrides)
        frames = []
        EXPERIMENT.run(p, 7, frames.append)
        progress = [EXPERIMENT.progress(p, frame) for frame in frames]
        assert progress == sorted(progress)
        assert 0 <= progress[0] and progress[-1] == 1.0


def test_runs_at_the_largest_sizes_stay_under_the_frame_limit():
    largest = [
        {"mode": CONTENTION, "clients": 500, "strategy": NONE},
        {"mode": FLAKY, "requests": 100_000, "request_rate": 5000, "capacity": 1, "strategy": FULL,
         "max_attempts": 10, "outage_start_ms": 1000, "outage_ms": 10_000, "redrive": True},
    ]
    for overrides in largest:
        summary, frames = run(**overrides)
        assert 100 <= len(frames) <= 250
        assert summary["succeeded"] == summary["population"]


def test_parameters_are_bounded():
    _, errors = EXPERIMENT.clean_params(
        {"clients": 501, "requests": 100_001, "max_attempts": 11, "mode": "yolo", "strategy": "hope"}
    )
    assert set(errors) == {"clients", "requests", "max_attempts", "mode", "strategy"}
    _, errors = EXPERIMENT.clean_params({"base_ms": 500, "cap_ms": 100})
    assert set(errors) == {"cap_ms"}


def test_presets_are_valid_and_show_the_effect_at_seed_7():
    summaries = {}
    for name, preset in EXPERIMENT.presets.items():
        summaries[name] = run(**preset.params)[0]
    assert summaries["no-jitter"]["total_calls"] > 2 * summaries["full-jitter"]["total_calls"]
    assert summaries["flaky-dlq"]["redriven"] > 0 and summaries["flaky-dlq"]["in_dlq"] == 0


def test_the_outage_is_shaded_in_the_flaky_scenario_only():
    figure = EXPERIMENT.figures([], params(mode=FLAKY, outage_start_ms=3000, outage_ms=2000))[0]
    (band,) = figure["layout"]["shapes"]
    assert (band["x0"], band["x1"]) == (3000, 5000)
    assert EXPERIMENT.figures([], params(mode=FLAKY, outage_ms=0))[0]["layout"]["shapes"] == []
    assert EXPERIMENT.figures([], params(mode=CONTENTION))[0]["layout"]["shapes"] == []


def test_under_steady_traffic_the_backlog_lands_after_the_outage_and_jitter_does_not_flatten_it():
    # An open system: arrivals are already out of step, so there is no lockstep herd for jitter to break.
    flaky = dict(mode="flaky-dependency", base_ms=50, outage_start_ms=3000, outage_ms=2000)
    no_jitter, _ = run_collecting(EXPERIMENT, valid_params(EXPERIMENT, strategy="exponential", **flaky), 7)
    full_jitter, _ = run_collecting(EXPERIMENT, valid_params(EXPERIMENT, strategy="full", **flaky), 7)
    for summary in (no_jitter, full_jitter):
        assert summary["peak_calls_per_10ms"] > 2 * summary["capacity_per_10ms"]
    assert full_jitter["peak_calls_per_10ms"] >= no_jitter["peak_calls_per_10ms"]
    assert "herd" not in EXPERIMENT.what_you_will_see.split("flaky-")[1]
