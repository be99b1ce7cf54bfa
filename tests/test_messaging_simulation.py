"""Messaging: the log keeps per-key order and loses nothing, pub/sub loses what it could not deliver, the queue duplicates and reorders."""

from pathlib import Path

import pytest

from hypothesis import example, given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import messaging
from playground.experiments.messaging.faults import ROUND_ROBIN
from playground.experiments.messaging.model import MODELS
from tests.support import run_collecting, valid_params

EXPERIMENT = messaging.EXPERIMENT

# Any schedule of the faults the form offers, on runs small enough for many examples.
schedules = st.fixed_dictionaries({
    "messages": st.integers(100, 800),
    "publish_rate": st.sampled_from([100, 500, 2000]),
    "keys": st.integers(1, 30),
    "partitions": st.integers(1, 8),
    "consumers": st.integers(1, 6),
    "commit_every": st.sampled_from([1, 5, 50]),
    "crash_probability": st.sampled_from([0, 0.01, 0.2]),
    "restart_ms": st.integers(0, 500),
    "disconnect_start_ms": st.integers(0, 2000),
    "disconnect_ms": st.integers(0, 2000),
    "slow_factor": st.sampled_from([1, 10, 400]),
    "poison_messages": st.integers(0, 3),
    "rebalance_ms": st.integers(0, 3000),
    "visibility_timeout_ms": st.sampled_from([50, 500]),
    "max_deliveries": st.integers(1, 6),
})


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def preset(name, **overrides):
    return params(**{**EXPERIMENT.presets[name].params, **overrides})


@hsettings(max_examples=25, deadline=None, derandomize=True)
@given(schedule=schedules, seed=st.integers(0, 10_000), dead_letter=st.booleans())
@example(schedule={**preset("rebalance"), "messages": 1500}, seed=7, dead_letter=True)
def test_the_log_partitioned_by_key_never_reorders_a_key_and_never_loses_a_message(schedule, seed, dead_letter):
    summary, _ = run_collecting(EXPERIMENT, params(**{**schedule, "dead_letter": dead_letter}), seed)
    assert summary["log_reordered"] == 0
    assert summary["log_lost"] == 0
    # Every message is handled, dead-lettered or still ahead of its partition's read position: none vanished.
    assert summary["log_vanished"] == 0


def test_the_log_without_keys_does_reorder_them():
    summary, _ = run_collecting(EXPERIMENT, preset("round-robin"))
    assert summary["log_reordered"] > 100


@hsettings(max_examples=25, deadline=None, derandomize=True)
@given(schedule=schedules, seed=st.integers(0, 10_000))
def test_the_queue_with_redelivery_never_loses_an_acked_or_unacked_message(schedule, seed):
    summary, _ = run_collecting(EXPERIMENT, params(**{**schedule, "dead_letter": True, "drain_ms": 60_000}), seed)
    assert summary["queue_lost"] == 0
    assert summary["queue_vanished"] == 0  # each is handled, dead-lettered, or back in the queue
    assert summary["queue_unfinished"] <= summary["queue_left_in_queue"]  # what is not handled is still queued


def test_the_queue_duplicates_and_reorders_where_the_log_does_not():
    summary, _ = run_collecting(EXPERIMENT, preset("crash-and-disconnect"))
    assert summary["queue_duplicates"] > 0 and summary["queue_reordered"] > 0
    assert summary["log_duplicates"] > 0 and summary["log_reordered"] == 0
    assert summary["pubsub_duplicates"] == summary["pubsub_reordered"] == 0
    # A handler slower than the visibility timeout is handed the same message twice, with no crash at all.
    slow, _ = run_collecting(EXPERIMENT, preset("slow-consumer"))
    assert slow["queue_crashes"] == 0 and slow["queue_stale_acks"] > 0 and slow["queue_duplicates"] > 0


@hsettings(max_examples=25, deadline=None, derandomize=True)
@given(messages=st.integers(100, 3000), rate=st.integers(50, 3000), start=st.integers(0, 3000), length=st.integers(0, 3000),
       subscribers=st.integers(1, 4), seed=st.integers(0, 10_000))
@example(messages=5000, rate=500, start=3000, length=2000, subscribers=2, seed=7)
def test_pubsub_loses_exactly_what_was_published_while_its_subscriber_was_offline(messages, rate, start, length, subscribers, seed):
    summary, _ = run_collecting(EXPERIMENT, params(
        messages=messages, publish_rate=rate, disconnect_start_ms=start, disconnect_ms=length, subscribers=subscribers,
        crash_probability=0, slow_factor=1, poison_messages=0, pubsub_buffer=100_000,
    ), seed)
    interval = 1000 / rate
    offline = sum(1 for i in range(messages) if start <= i * interval < start + length)
    assert summary["pubsub_lost"] == summary["pubsub_lost_while_disconnected"] == offline
    assert summary["pubsub_delivered"] == messages * subscribers - offline


def test_a_crashed_or_overflowing_subscriber_loses_its_buffer_too():
    slow, _ = run_collecting(EXPERIMENT, preset("slow-consumer"))
    assert slow["pubsub_overflow_disconnects"] > 0 and slow["pubsub_lost_in_overflow"] > 0
    assert slow["log_lost"] == slow["queue_lost"] == 0


@hsettings(max_examples=20, deadline=None, derandomize=True)
@given(schedule=schedules, seed=st.integers(0, 10_000), poison=st.integers(1, 5), limit=st.integers(1, 8))
def test_a_poison_message_goes_to_the_dead_letter_queue_after_exactly_n_deliveries(schedule, seed, poison, limit):
    summary, _ = run_collecting(EXPERIMENT, params(**{
        **schedule, "poison_messages": poison, "max_deliveries": limit, "dead_letter": True, "drain_ms": 60_000}), seed)
    for name in ("log", "queue"):
        moved = summary[f"{name}_poison_dead_letter_deliveries"]
        assert moved == [limit] * len(moved), name
        # None is handed out more than N times; one not yet moved is still waiting its turn (an overloaded consumer).
        assert all(d <= limit for d in summary[f"{name}_poison_deliveries"]), name
        assert len(moved) + summary[f"{name}_unfinished"] >= len(summary["poison"])


def test_every_poison_message_reaches_the_dead_letter_queue_when_the_consumers_keep_up():
    summary, _ = run_collecting(EXPERIMENT, preset("poison-dlq", max_deliveries=3, crash_probability=0.003))
    for name in ("log", "queue"):
        assert summary[f"{name}_poison_dead_letter_deliveries"] == [3, 3, 3]
        assert summary[f"{name}_unfinished"] == 0


def test_without_a_dead_letter_queue_a_poison_message_blocks_its_log_partition_for_ever():
    summary, _ = run_collecting(EXPERIMENT, preset("poison-no-dlq"))
    assert summary["log_blocked_partitions"] > 0
    assert summary["log_blocked_messages"] > 1000 and summary["log_unfinished"] >= summary["log_blocked_messages"]
    # The queue redelivers the poison for ever too, but nothing waits behind it.
    assert summary["queue_unfinished"] == len(summary["poison"])
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["Log: messages stuck behind a poison message"].ok is False
    with_dlq, _ = run_collecting(EXPERIMENT, preset("poison-dlq"))
    assert with_dlq["log_blocked_messages"] == 0 and with_dlq["log_unfinished"] == 0


def test_a_rebalance_with_batched_commits_hands_uncommitted_work_over_again_in_order():
    summary, _ = run_collecting(EXPERIMENT, preset("rebalance"))
    assert summary["log_duplicates"] == summary["log_redone_after_rebalance"] > 0
    assert summary["log_reordered"] == 0
    every_message, _ = run_collecting(EXPERIMENT, preset("rebalance", commit_every=1))
    assert every_message["log_duplicates"] == 0


def test_only_the_log_can_replay():
    summary, _ = run_collecting(EXPERIMENT, preset("crash-and-disconnect", replay_from_offset=100))
    assert summary["log_replayable"] == sum(max(0, size - 100) for size in summary["log_partition_sizes"])
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["Replay: what a new consumer group can still read"].value == summary["log_replayable"]


def test_more_consumers_than_partitions_leaves_some_idle():
    summary, _ = run_collecting(EXPERIMENT, params(partitions=2, consumers=5))
    assert summary["log_idle_consumers"] == 3


def test_the_same_seed_gives_the_same_frames_and_another_seed_does_not():
    assert run_collecting(EXPERIMENT, params(messages=800)) == run_collecting(EXPERIMENT, params(messages=800))
    assert run_collecting(EXPERIMENT, params(messages=800), 8)[1] != run_collecting(EXPERIMENT, params(messages=800))[1]


def test_frames_carry_every_model_and_lag_returns_to_zero_once_drained():
    summary, frames = run_collecting(EXPERIMENT, params())
    for name in MODELS:
        assert frames[-1][f"{name}_lag"] == summary[f"{name}_lag_end"] == 0
        assert max(frame[f"{name}_lag"] for frame in frames) == summary[f"{name}_max_lag"] > 0
    figures = EXPERIMENT.figures(frames, params())
    assert [figure["layout"]["title"]["text"] for figure in figures][3:] == [
        "Consumer lag: published, not yet handled", "Per-key order violations"]


def test_it_bounds_operations_and_live_runs():
    _, errors = EXPERIMENT.clean_params({"messages": 30_000, "subscribers": 2})
    assert "messages" in errors
    _, errors = EXPERIMENT.clean_params({"engine": "live", "messages": 5000, "visibility_timeout_ms": 10_000})
    assert {"messages", "visibility_timeout_ms"} <= set(errors)
    _, errors = EXPERIMENT.clean_params({"messages": 20_000, "subscribers": 1, "poison_messages": 10, "dead_letter": False, "visibility_timeout_ms": 10})
    assert "visibility_timeout_ms" in errors


def test_the_lesson_quotes_this_experiment_s_seed_7_numbers():
    lesson = (Path(__file__).resolve().parent.parent / "lessons/content/12-messaging-trade-offs.md").read_text()
    assert "experiment: messaging" in lesson
    base, _ = run_collecting(EXPERIMENT, preset("crash-and-disconnect"))
    assert f"Pub/sub loses {base['pubsub_lost']:,} copies" in lesson
    assert f"{base['pubsub_lost_while_disconnected']:,} of them published while subscriber 0 was away" in lesson
    assert f"the log hands {base['log_duplicates']} over twice and reorders none" in lesson
    assert f"the queue hands {base['queue_duplicates']} over twice and {base['queue_reordered']} out of order" in lesson
    naive, _ = run_collecting(EXPERIMENT, preset("poison-no-dlq"))
    assert f"{naive['log_blocked_messages']:,} messages stuck behind" in lesson
    dlq, _ = run_collecting(EXPERIMENT, preset("poison-dlq"))
    assert f"the log's highest lag is {dlq['log_max_lag']:,}" in lesson
    rr, _ = run_collecting(EXPERIMENT, preset("round-robin"))
    assert f"{rr['log_reordered']:,} messages out of order" in lesson
    rebalance, _ = run_collecting(EXPERIMENT, preset("rebalance"))
    assert f"{rebalance['log_duplicates']} messages handled twice" in lesson


@pytest.mark.django_db
def test_the_page_says_rabbitmq_is_not_configured_and_refuses_it(client, settings):
    settings.RABBITMQ_URL = ""
    html = client.get("/experiments/messaging/").content.decode()
    assert "RabbitMQ: not configured (set RABBITMQ_URL)" in html
    _, errors = EXPERIMENT.clean_params({**EXPERIMENT.presets["live"].params, "queue_broker": "rabbitmq"})
    assert "not configured" in errors["queue_broker"][0]
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
    html = client.get("/experiments/messaging/").content.decode()
    assert "RabbitMQ: a classic queue with manual acks" in html and "not configured" not in html
    assert not EXPERIMENT.clean_params({**EXPERIMENT.presets["live"].params, "queue_broker": "rabbitmq"})[1]
