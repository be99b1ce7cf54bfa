"""The idempotency simulation: redeliveries are certain, double charges are a choice."""

import json
import time

from hypothesis import assume, example, given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import idempotency
from playground.experiments.idempotency import (
    ARRIVAL_MS, DEDUP_CACHE_TTL, DEDUP_TABLE, NAIVE, FaultSchedule, amount_cents, deliveries_for, simulate,
)
from tests.support import run_collecting, valid_params

EXPERIMENT = idempotency.EXPERIMENT
MESSAGES = 200
VISIBILITY_TIMEOUT_MS = 1_000
TTL_MS = 10_000


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def run(mode, seed=7, **overrides):
    return run_collecting(EXPERIMENT, params(mode=mode, **overrides), seed)


def sim(mode, schedule, **overrides):
    frames = []
    p = params(**{"mode": mode, "messages": MESSAGES, "visibility_timeout_ms": VISIBILITY_TIMEOUT_MS, "dedup_ttl_ms": TTL_MS, **overrides})
    return simulate(p, schedule, frames.append), frames


message_ids = st.integers(0, MESSAGES - 1)


@st.composite
def fault_schedules(draw, max_delay_ms=60_000, min_late_ms=1, max_attempt=5):
    """Any crashes (at either crash point), broker duplicates and late copies, with any delays."""
    crashes = draw(st.frozensets(st.tuples(message_ids, st.integers(0, max_attempt)), max_size=80))
    before_cache_write = draw(st.frozensets(st.sampled_from(sorted(crashes)), max_size=len(crashes))) if crashes else frozenset()
    duplicates = draw(st.lists(st.tuples(message_ids, st.integers(0, max_delay_ms)), max_size=40))
    late = draw(st.lists(st.tuples(message_ids, st.integers(min_late_ms, max_delay_ms)), max_size=40))
    return FaultSchedule(
        crashes=crashes, crashes_before_cache_write=before_cache_write, duplicates=tuple(duplicates), late=tuple(late)
    )


def offsets_from_first_delivery(schedule):
    """message -> how long after its first delivery each later copy arrives."""
    offsets = {}
    for t_ms, _, message, *_ in deliveries_for(MESSAGES, VISIBILITY_TIMEOUT_MS, schedule):
        offsets.setdefault(message, []).append(t_ms - message * ARRIVAL_MS)
    return offsets


def test_the_same_seed_and_parameters_give_the_same_frames_and_summary():
    first = run(DEDUP_CACHE_TTL, seed=11, crash_before_cache_write=0.3)
    second = run(DEDUP_CACHE_TTL, seed=11, crash_before_cache_write=0.3)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_another_seed_gives_another_fault_schedule():
    assert run(NAIVE, seed=1)[0] != run(NAIVE, seed=2)[0]


def test_every_handler_faces_the_same_deliveries_for_the_same_seed():
    summaries = [run(mode)[0] for mode in (NAIVE, DEDUP_TABLE, DEDUP_CACHE_TTL)]
    assert len({s["deliveries"] for s in summaries}) == 1
    assert len({s["redeliveries"] for s in summaries}) == 1


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules(max_delay_ms=3_600_000), visibility_timeout_ms=st.integers(100, 600_000))
def test_the_dedup_table_applies_every_message_exactly_once_under_any_fault_schedule(schedule, visibility_timeout_ms):
    frames = []
    p = params(mode=DEDUP_TABLE, messages=MESSAGES, visibility_timeout_ms=visibility_timeout_ms)
    summary = simulate(p, schedule, frames.append)
    assert summary["double_charges"] == 0
    assert summary["overcharged_eur"] == 0
    assert summary["accounts_overcharged"] == 0
    assert summary["messages_never_applied"] == 0
    assert summary["charges_applied"] == MESSAGES
    # Redeliveries still happen; they just do no harm.
    assert summary["redeliveries"] == summary["deliveries"] - MESSAGES
    assert all(frame["charges"] == frame["messages"] for frame in frames)


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules())
@example(schedule=FaultSchedule(crashes=frozenset({(3, 0)})))
def test_naive_charges_again_for_every_redelivery(schedule):
    summary, _ = sim(NAIVE, schedule)
    assert summary["double_charges"] == summary["redeliveries"]
    assert summary["messages_never_applied"] == 0
    if summary["redeliveries"]:
        assert summary["double_charges"] > 0 and summary["overcharged_eur"] > 0


def test_one_crash_before_the_ack_is_one_double_charge_for_the_naive_handler():
    summary, _ = sim(NAIVE, FaultSchedule(crashes=frozenset({(3, 0)})))
    assert summary["double_charges"] == 1
    assert summary["overcharged_eur"] == amount_cents(3) / 100
    assert summary["accounts_overcharged"] == 1


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules(max_delay_ms=TTL_MS).map(
    lambda s: FaultSchedule(crashes=s.crashes, duplicates=s.duplicates, late=s.late)
))
@example(schedule=FaultSchedule(late=((5, TTL_MS),)))
def test_the_dedup_cache_is_safe_when_every_copy_arrives_within_the_ttl(schedule):
    # Like Redis, which keeps a key with PX ttl until strictly after it: a copy at exactly the TTL is still caught.
    assume(all(offset <= TTL_MS for offsets in offsets_from_first_delivery(schedule).values() for offset in offsets))
    summary, _ = sim(DEDUP_CACHE_TTL, schedule)
    assert summary["double_charges"] == 0
    assert summary["overcharged_eur"] == 0
    assert summary["messages_never_applied"] == 0


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(
    schedule=fault_schedules(max_delay_ms=3 * TTL_MS).map(
        lambda s: FaultSchedule(crashes=s.crashes, duplicates=s.duplicates, late=s.late)
    ),
    message=message_ids,
    late_ms=st.integers(TTL_MS + 1, 3_600_000),
)
@example(schedule=FaultSchedule(), message=5, late_ms=TTL_MS + 1)
def test_the_dedup_cache_charges_again_for_a_copy_that_arrives_after_the_ttl(schedule, message, late_ms):
    schedule = FaultSchedule(crashes=schedule.crashes, duplicates=schedule.duplicates, late=schedule.late + ((message, late_ms),))
    expired = [m for m, offsets in offsets_from_first_delivery(schedule).items() if max(offsets) > TTL_MS]
    summary, _ = sim(DEDUP_CACHE_TTL, schedule)
    assert summary["double_charges"] >= len(expired) >= 1
    # With every cache write landing, the TTL is the only way through.
    assert summary["double_charges_after_ttl"] == summary["double_charges"]
    assert summary["messages_never_applied"] == 0


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules(max_delay_ms=TTL_MS - 1), torn=message_ids)
@example(schedule=FaultSchedule(), torn=3)
def test_a_crash_between_the_charge_and_the_cache_write_double_charges_however_long_the_ttl(schedule, torn):
    # The first delivery always charges; make it die before its cache write.
    schedule = FaultSchedule(
        crashes=schedule.crashes | {(torn, 0)},
        crashes_before_cache_write=schedule.crashes_before_cache_write | {(torn, 0)},
        duplicates=schedule.duplicates,
        late=schedule.late,
    )
    summary, _ = sim(DEDUP_CACHE_TTL, schedule, dedup_ttl_ms=3_600_000)
    assert summary["double_charges"] >= 1
    assert summary["double_charges_from_crash_before_cache_write"] == summary["double_charges"]
    assert summary["double_charges_after_ttl"] == 0
    assert summary["crashes_before_cache_write"] >= summary["double_charges"]


def test_a_crash_after_the_cache_write_is_harmless_while_the_ttl_outlives_the_visibility_timeout():
    schedule = FaultSchedule(crashes=frozenset({(3, 0)}))
    assert sim(DEDUP_CACHE_TTL, schedule)[0]["double_charges"] == 0
    assert sim(DEDUP_CACHE_TTL, schedule, dedup_ttl_ms=VISIBILITY_TIMEOUT_MS)[0]["double_charges"] == 0
    assert sim(DEDUP_CACHE_TTL, schedule, dedup_ttl_ms=VISIBILITY_TIMEOUT_MS - 1)[0]["double_charges_after_ttl"] == 1


def test_a_live_run_that_asks_too_many_messages_also_hears_about_its_crash_budget():
    _, errors = EXPERIMENT.clean_params({"engine": "live", "messages": 5_000, "crash_probability": 0.5})
    assert "messages" in errors and "crash_probability" in errors


def test_the_dedup_cache_holds_about_one_ttl_of_entries_while_the_table_keeps_every_row():
    cache, cache_frames = run(DEDUP_CACHE_TTL, crash_probability=0, duplicate_rate=0, late_redelivery_rate=0,
                              dedup_ttl_ms=5_000)
    table, _ = run(DEDUP_TABLE, crash_probability=0, duplicate_rate=0, late_redelivery_rate=0)
    # An entry lives through its expiry millisecond, as in Redis: one TTL of arrivals, both ends included.
    assert cache["max_dedup_records"] == 5_000 // ARRIVAL_MS + 1
    assert table["max_dedup_records"] == table["messages"]
    sizes = [frame["dedup_records"] for frame in cache_frames]
    assert sizes.count(max(sizes)) > 10  # a plateau, not a peak


def test_double_charges_never_go_away():
    _, frames = run(NAIVE)
    double = [frame["double_charges"] for frame in frames]
    assert double == sorted(double)
    assert double[-1] > 0


def test_frames_are_time_ordered_and_end_with_the_final_counts():
    summary, frames = run(DEDUP_CACHE_TTL)
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(set(times))
    assert 100 <= len(frames) <= 250
    assert frames[-1]["t_ms"] == summary["duration_ms"]
    assert frames[-1]["deliveries"] == summary["deliveries"]
    assert frames[-1]["charges"] == summary["charges_applied"]
    assert frames[-1]["double_charges"] == summary["double_charges"]
    assert frames[-1]["overcharged_eur"] == summary["overcharged_eur"]
    for frame in frames:
        json.dumps(frame)
        assert set(frame) >= {key for key, _ in EXPERIMENT.table_columns}
        assert 0 <= EXPERIMENT.progress(params(mode=DEDUP_CACHE_TTL), frame) <= 1


def test_the_summary_has_the_same_keys_in_every_mode():
    keys = [set(run(mode, messages=50)[0]) for mode in (NAIVE, DEDUP_TABLE, DEDUP_CACHE_TTL)]
    assert keys[0] == keys[1] == keys[2]


def test_the_verdict_flags_the_naive_handler_and_passes_the_dedup_table():
    naive = {c.label: c for c in EXPERIMENT.verdict(run(NAIVE)[0])}
    table = {c.label: c for c in EXPERIMENT.verdict(run(DEDUP_TABLE)[0])}
    assert not naive["Double charges"].ok and naive["Double charges"].value > 0
    assert not naive["Balance drift (EUR overcharged)"].ok
    assert all(check.ok is not False for check in table.values())
    assert naive["Messages never applied"].ok and naive["Messages never applied"].value == 0


def test_the_verdict_separates_the_two_ways_a_dedup_cache_double_charges():
    short = {c.label: c for c in EXPERIMENT.verdict(run(**EXPERIMENT.presets["ttl-too-short"].params)[0])}
    gap = {c.label: c for c in EXPERIMENT.verdict(run(**EXPERIMENT.presets["cache-write-gap"].params)[0])}
    expired, torn = "Double charges after the dedup entry expired", "Double charges from a crash between the charge and the cache write"
    assert not short[expired].ok and short[torn].ok
    assert gap[expired].ok and not gap[torn].ok


def test_parameters_are_bounded():
    _, errors = EXPERIMENT.clean_params({
        "messages": 100_001, "crash_probability": 0.9, "mode": "yolo", "dedup_ttl_ms": 0, "visibility_timeout_ms": 10**9,
    })
    assert set(errors) == {"messages", "crash_probability", "mode", "dedup_ttl_ms", "visibility_timeout_ms"}
    for name, field in EXPERIMENT.form_class.base_fields.items():
        if name not in ("mode", "engine"):  # choice fields: bounded by their choices
            assert field.min_value is not None and field.max_value is not None, name


def test_a_run_at_maximum_size_is_fast_and_stays_under_the_frame_limit():
    frames = []
    # CPU time, not wall time: other test processes may share the machine.
    started = time.process_time()
    summary = EXPERIMENT.run(params(
        mode=DEDUP_CACHE_TTL, messages=100_000, crash_probability=0.5, duplicate_rate=0.5, late_redelivery_rate=1,
        late_redelivery_ms=3_600_000, crash_before_cache_write=0.5,
    ), 7, frames.append)
    assert time.process_time() - started < 5
    assert len(frames) <= 250
    assert summary["messages_never_applied"] == 0


def test_late_redeliveries_are_shaded_and_the_ttl_is_marked_on_the_charts():
    figure = EXPERIMENT.figures([], params(mode=DEDUP_CACHE_TTL, late_redelivery_ms=15_000, dedup_ttl_ms=5_000))[0]
    band, line = figure["layout"]["shapes"]
    assert (band["x0"], band["x1"]) == (15_000, 15_000 + (2_000 - 1) * ARRIVAL_MS)
    assert line["x0"] == 5_000
    assert EXPERIMENT.figures([], params(mode=NAIVE, late_redelivery_rate=0))[0]["layout"]["shapes"] == []
