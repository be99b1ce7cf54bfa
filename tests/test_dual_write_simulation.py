"""The dual-write simulation: deterministic, and honest about who loses data."""

import json

from hypothesis import example, given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import dual_write
from playground.experiments.dual_write import NAIVE, OUTBOX, PUBLISH_FIRST, FaultSchedule, simulate
from tests.support import run_collecting, valid_params

EXPERIMENT = dual_write.EXPERIMENT


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def run(mode, seed=7, **overrides):
    return run_collecting(EXPERIMENT, params(mode=mode, **overrides), seed)


@st.composite
def fault_schedules(draw, orders):
    crashes = draw(st.frozensets(st.integers(0, orders - 1), max_size=orders))
    outages = draw(st.lists(
        st.tuples(st.integers(0, orders * 10), st.integers(1, 5_000)).map(lambda s: (s[0], s[0] + s[1])),
        max_size=3,
    ))
    relay_crashes = draw(st.frozensets(st.integers(0, 400), max_size=50))
    return FaultSchedule(crashes=crashes, outages=tuple(outages), relay_crashes=relay_crashes)


ORDERS = 200


def test_the_same_seed_and_parameters_give_the_same_frames_and_summary():
    first = run(NAIVE, seed=11, crash_probability=0.1)
    second = run(NAIVE, seed=11, crash_probability=0.1)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_another_seed_gives_another_fault_schedule():
    assert run(NAIVE, seed=1, crash_probability=0.2)[0] != run(NAIVE, seed=2, crash_probability=0.2)[0]


@hsettings(max_examples=200, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS))
def test_the_outbox_never_leaves_an_order_without_an_event_under_any_fault_schedule(schedule):
    frames = []
    summary = simulate(params(mode=OUTBOX, orders=ORDERS), schedule, frames.append)
    assert summary["orders_committed"] == ORDERS
    assert summary["orders_without_event"] == 0
    assert summary["events_without_order"] == 0
    # Faults cost time and duplicates, never data: every frame ends reconciled.
    assert frames[-1]["orders_without_event"] == 0


@hsettings(max_examples=200, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS))
@example(schedule=FaultSchedule(crashes=frozenset({3})))
def test_naive_dual_write_loses_exactly_the_orders_hit_by_a_crash_or_an_outage(schedule):
    summary = simulate(params(mode=NAIVE, orders=ORDERS), schedule, lambda frame: None)
    hit = {i for i in range(ORDERS) if i in schedule.crashes or not schedule.broker_up(i * dual_write.ARRIVAL_MS)}
    assert summary["orders_without_event"] == len(hit)
    if hit:
        assert summary["orders_without_event"] > 0  # visibly broken whenever a fault lands


@hsettings(max_examples=200, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS))
def test_publish_first_sends_an_event_for_every_order_that_crashed_before_its_commit(schedule):
    summary = simulate(params(mode=PUBLISH_FIRST, orders=ORDERS), schedule, lambda frame: None)
    crashed_while_broker_up = {i for i in schedule.crashes if schedule.broker_up(i * dual_write.ARRIVAL_MS)}
    assert summary["events_without_order"] == len(crashed_while_broker_up)
    assert summary["orders_without_event"] == 0


def test_a_relay_crash_between_publish_and_mark_duplicates_but_never_loses():
    summary, _ = run(OUTBOX, relay_crash_probability=0.3)
    assert summary["relay_crashes"] > 0
    assert summary["duplicate_deliveries"] > 0
    assert summary["orders_without_event"] == 0


@hsettings(max_examples=100, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS))
def test_each_scheduled_relay_crash_kills_the_relay_once_whatever_the_timing(schedule):
    # Keyed by order, so the live engine (same schedule, other timing) counts the same.
    summary = simulate(params(mode=OUTBOX, orders=ORDERS), schedule, lambda frame: None)
    assert summary["relay_crashes"] == len({order for order in schedule.relay_crashes if order < ORDERS})


@hsettings(max_examples=100, deadline=None, derandomize=True)
@given(relay_crashes=st.frozensets(st.integers(0, ORDERS - 1), max_size=50))
def test_publish_lag_is_measured_to_the_first_publish_not_to_a_republish(relay_crashes):
    # No outage: every order is first published at the next poll, however often the
    # relay dies after publishing (its republish is a duplicate, not lag).
    schedule = FaultSchedule(relay_crashes=relay_crashes)
    summary = simulate(params(mode=OUTBOX, orders=ORDERS), schedule, lambda frame: None)
    assert summary["max_publish_lag_ms"] <= dual_write.RELAY_POLL_MS


def test_a_cursor_relay_skips_rows_that_commit_below_it_and_the_unsent_flag_does_not():
    # Writers take ids in order but commit up to 200 ms later: commit order is not id order.
    preset = {k: v for k, v in EXPERIMENT.presets["outbox-cursor"].params.items() if k != "mode"}
    cursor, _ = run(OUTBOX, **preset)
    assert cursor["orders_committed"] == 1000
    assert cursor["orders_without_event"] == cursor["rows_skipped_by_the_relay"] > 0
    flag, _ = run(OUTBOX, **{**preset, "relay_reads": dual_write.READ_UNSENT})
    assert flag["orders_without_event"] == flag["rows_skipped_by_the_relay"] == 0
    assert flag["orders_committed"] == flag["events_published"] == 1000


@hsettings(max_examples=50, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS), delays=st.lists(st.integers(0, 30).map(lambda d: d * 10),
                                                         min_size=ORDERS, max_size=ORDERS))
def test_the_unsent_flag_relay_loses_nothing_however_writers_commit(schedule, delays):
    schedule = FaultSchedule(crashes=schedule.crashes, outages=schedule.outages,
                             relay_crashes=schedule.relay_crashes, commit_delays=tuple(delays))
    summary = simulate(params(mode=OUTBOX, orders=ORDERS), schedule, lambda frame: None)
    assert summary["orders_committed"] == ORDERS and summary["orders_without_event"] == 0


def test_out_of_order_commits_and_a_cursor_relay_are_simulation_only():
    _, errors = EXPERIMENT.clean_params({"engine": dual_write.LIVE, "mode": OUTBOX, "orders": 100,
                                         "commit_spread_ms": 100})
    assert "commit_spread_ms" in errors


def test_the_outbox_lags_during_a_broker_outage_then_catches_up():
    summary, frames = run(OUTBOX, crash_probability=0, outage_start_ms=2000, outage_ms=1500)
    backlog = [frame["outbox_backlog"] for frame in frames]
    assert max(backlog) > 100  # 1.5 s of orders at one per 10 ms piled up
    assert backlog[-1] == 0
    assert summary["max_publish_lag_ms"] >= 1500


def test_naive_divergence_never_heals():
    _, frames = run(NAIVE, crash_probability=0.05)
    lost = [frame["orders_without_event"] for frame in frames]
    assert lost == sorted(lost)
    assert lost[-1] > 0


def test_frames_are_time_ordered_and_end_with_the_final_counts():
    summary, frames = run(NAIVE)
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(set(times))
    assert frames[-1]["orders"] == summary["orders_committed"]
    assert frames[-1]["events"] == summary["events_published"]


def test_the_verdict_flags_lost_orders_and_passes_the_outbox():
    naive = {c.label: c for c in EXPERIMENT.verdict(run(NAIVE)[0])}
    outbox = {c.label: c for c in EXPERIMENT.verdict(run(OUTBOX)[0])}
    assert not naive["Orders with no event"].ok and naive["Orders with no event"].value > 0
    assert outbox["Orders with no event"].ok and outbox["Orders with no event"].value == 0


def test_parameters_are_bounded():
    _, errors = EXPERIMENT.clean_params({"orders": 1_000_001, "crash_probability": 2, "mode": "yolo"})
    assert set(errors) == {"orders", "crash_probability", "mode"}


def test_charts_never_carry_more_than_5000_points_per_trace():
    frames = [{"t_ms": t, "orders": t, "events": t, "orders_without_event": 0, "events_without_order": 0,
               "outbox_backlog": 0} for t in range(12_000)]
    for figure in EXPERIMENT.figures(frames, params(mode=NAIVE)):
        for trace in figure["data"]:
            assert len(trace["x"]) == 5000
            assert trace["x"][0] == 0 and trace["x"][-1] == 11_999  # the ends survive downsampling


def test_the_broker_outage_is_shaded_on_the_charts_and_absent_without_one():
    figure = EXPERIMENT.figures([], params(outage_start_ms=3000, outage_ms=2000))[0]
    (band,) = figure["layout"]["shapes"]
    assert (band["x0"], band["x1"]) == (3000, 5000)
    assert EXPERIMENT.figures([], params(outage_ms=0))[0]["layout"]["shapes"] == []


@hsettings(max_examples=100, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS))
@example(schedule=FaultSchedule(crashes=frozenset({5}), outages=((0, 100),)))
def test_publish_first_counts_only_the_crashes_that_happened_each_leaving_one_phantom_event(schedule):
    # An order rejected during the outage never reached its second step, so it could not crash there.
    summary = simulate(params(mode=PUBLISH_FIRST, orders=ORDERS), schedule, lambda frame: None)
    assert summary["writer_crashes"] == summary["events_without_order"]
    assert summary["orders_rejected"] + summary["orders_committed"] + summary["writer_crashes"] == ORDERS


def test_the_reviewers_publish_first_case_counts_the_crashes_the_live_engine_kills():
    summary, _ = run(PUBLISH_FIRST, orders=300, crash_probability=0.03, outage_start_ms=1000, outage_ms=800)
    assert summary["writer_crashes"] == summary["events_without_order"] < 11


def test_a_replayed_batch_delivers_created_after_cancelled_and_only_a_versioned_consumer_ignores_it():
    # Order 1 is cancelled at 30 ms; at 50 ms the relay publishes rows 1..5 with the cancellation
    # among them, dies before marking them (crash keyed by order 4), and publishes them again.
    schedule = FaultSchedule(relay_crashes=frozenset({4}), cancels=frozenset({1}))
    every = simulate(params(mode=OUTBOX, orders=20, consumer_applies=dual_write.APPLY_EVERY), schedule,
                     lambda frame: None)
    assert every["relay_crashes"] == 1 and every["orders_cancelled"] == 1
    assert every["cancelled_orders_resurrected"] == 1
    # The replay carries the cancellation again, so the projection ends right: the harm was the window.
    assert every["cancelled_orders_shown_live_at_end"] == 0
    newer = simulate(params(mode=OUTBOX, orders=20, consumer_applies=dual_write.APPLY_NEWER), schedule,
                     lambda frame: None)
    assert newer["cancelled_orders_resurrected"] == 0 and newer["orders_cancelled"] == 1
    checks = {check.label: check for check in EXPERIMENT.verdict(every)}
    assert checks["Cancelled orders the consumer showed as placed again"].ok is False
    assert {check.label: check for check in EXPERIMENT.verdict(newer)}[
        "Cancelled orders the consumer showed as placed again"].ok


@hsettings(max_examples=50, deadline=None, derandomize=True)
@given(schedule=fault_schedules(ORDERS), cancels=st.frozensets(st.integers(0, ORDERS - 1), max_size=ORDERS))
def test_a_consumer_applying_only_newer_versions_never_brings_a_cancelled_order_back(schedule, cancels):
    schedule = FaultSchedule(crashes=schedule.crashes, outages=schedule.outages,
                             relay_crashes=schedule.relay_crashes, cancels=cancels)
    summary = simulate(params(mode=OUTBOX, orders=ORDERS), schedule, lambda frame: None)
    assert summary["orders_cancelled"] == len(cancels)
    assert summary["cancelled_orders_resurrected"] == summary["cancelled_orders_shown_live_at_end"] == 0
    assert summary["orders_without_event"] == 0


def test_the_replay_preset_brings_cancelled_orders_back_and_cancellations_are_outbox_simulation_only():
    summary, _ = run(OUTBOX, **{k: v for k, v in EXPERIMENT.presets["outbox-replay-after-cancel"].params.items()
                                if k != "mode"})
    assert summary["cancelled_orders_resurrected"] > 0 and summary["orders_without_event"] == 0
    for bad in ({"mode": NAIVE}, {"mode": OUTBOX, "engine": dual_write.LIVE, "orders": 100}):
        _, errors = EXPERIMENT.clean_params({**bad, "cancel_probability": 0.1})
        assert "cancel_probability" in errors
