"""The saga simulation: compensate in exact reverse order, or be counted as half done."""

import json

import pytest
from hypothesis import example, given, settings as hsettings
from hypothesis import strategies as st

from playground.experiments import saga
from playground.experiments.saga import (
    CHOREOGRAPHY, INVENTORY, NO_COMPENSATION, ORCHESTRATION, ORDER, PAYMENT, RETRIES_OFF, RETRIES_ON, SHIPPING,
    STEPS, FaultSchedule, simulate,
)
from tests.support import run_collecting, valid_params

EXPERIMENT = saga.EXPERIMENT
SAGAS = 30
QUICK = ((5, 5, 5, 5),) * SAGAS  # every step well inside the 100 ms timeout


def params(**overrides):
    return valid_params(EXPERIMENT, **overrides)


def run(mode, seed=7, **overrides):
    return run_collecting(EXPERIMENT, params(mode=mode, **overrides), seed)


def journal_of(schedule, **overrides):
    journal, frames = [], []
    summary = simulate(params(**{"sagas": SAGAS, **overrides}), schedule, frames.append, journal)
    return summary, frames, journal


def effects_from_log(log):
    """The data changes a saga made, read straight from its log, independently of the module."""
    changes = []
    for entry in log:
        if entry.action in (saga.COMMIT, saga.LATE_COMMIT):
            changes.append(("T", entry.step))
        elif entry.action == saga.COMPENSATE:
            changes.append(("C", entry.step))
    return changes


def garcia_molina_salem_shapes(n=len(STEPS)):
    """Every log the 1987 guarantee allows: T1…Tn, or T1…Tj then Cj…C1 (j = n only after a late last step)."""
    shapes = [[("T", k) for k in range(n)]]
    for j in range(n + 1):
        shapes.append([("T", k) for k in range(j)] + [("C", k) for k in reversed(range(j))])
    return shapes


def still_in_effect(changes):
    live = set()
    for kind, step in changes:
        (live.add if kind == "T" else live.discard)(step)
    return live


steps = st.integers(0, len(STEPS) - 1)
sagas_ = st.integers(0, SAGAS - 1)


@st.composite
def fault_schedules(draw, timeouts=True):
    # Up to 200 ms against a 100 ms timeout: many steps time out, and some of those commit late.
    latency = st.integers(1, 200) if timeouts else st.integers(1, 40)
    return FaultSchedule(
        step_failures=draw(st.frozensets(st.tuples(sagas_, steps), max_size=SAGAS * 2)),
        latencies=tuple(draw(st.lists(st.tuples(latency, latency, latency, latency), min_size=SAGAS, max_size=SAGAS))),
        compensation_failures=draw(st.dictionaries(st.tuples(sagas_, steps), st.integers(1, 8), max_size=SAGAS * 2)),
        lost_replies=draw(st.frozensets(st.tuples(sagas_, steps), max_size=SAGAS * 2)),
    )


def test_the_same_seed_and_parameters_give_the_same_frames_and_summary():
    first = run(CHOREOGRAPHY, seed=11, step_failure_probability=0.2)
    second = run(CHOREOGRAPHY, seed=11, step_failure_probability=0.2)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_another_seed_gives_another_fault_schedule():
    assert run(ORCHESTRATION, seed=1)[0] != run(ORCHESTRATION, seed=2)[0]


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(
    schedule=fault_schedules(),
    mode=st.sampled_from([ORCHESTRATION, CHOREOGRAPHY]),
    max_attempts=st.integers(1, 6),
)
@example(
    # Saga 3's inventory fails after payment; saga 5's shipping times out, then commits late.
    schedule=FaultSchedule(
        step_failures=frozenset({(3, INVENTORY)}),
        latencies=tuple((5, 5, 5, 150) if i == 5 else (5, 5, 5, 5) for i in range(SAGAS)),
        compensation_failures={(3, PAYMENT): 2},
    ),
    mode=ORCHESTRATION,
    max_attempts=4,
)
def test_every_saga_ends_as_t1_to_tn_or_compensated_in_reverse_under_any_fault_schedule(schedule, mode, max_attempts):
    summary, frames, journal = journal_of(schedule, mode=mode, compensation_max_attempts=max_attempts)
    allowed = garcia_molina_salem_shapes()
    for record in journal:
        changes = effects_from_log(record.log)
        assert changes == record.effects
        failed = {entry.step for entry in record.log if entry.action == saga.FAIL}
        # The step that failed committed nothing, so nothing of it is ever compensated.
        assert not any(step in failed for _, step in changes)
        if record.outcome == saga.NEEDS_HUMAN:
            # Handed to a person partway through its compensations, in reverse order so far,
            # and only because one compensation failed on every allowed attempt.
            assert any(changes == shape[: len(changes)] for shape in allowed)
            escalated = [entry.step for entry in record.log if entry.action == saga.ESCALATE]
            assert len(escalated) == 1
            assert schedule.compensation_failures.get((record.index, escalated[0]), 0) >= max_attempts
        else:
            assert changes in allowed, (record.index, record.log)
            assert len(still_in_effect(changes)) in (0, len(STEPS))  # never left half done
    outcomes = [record.outcome for record in journal]
    assert summary["sagas_stuck_half_done"] == 0
    assert summary["saga_guarantee_violations"] == 0
    assert summary["sagas_escalated_to_human"] == outcomes.count(saga.NEEDS_HUMAN)
    assert (summary["sagas_completed"] + summary["sagas_compensated"] + summary["sagas_aborted"]
            + summary["sagas_escalated_to_human"] == SAGAS)
    # Compensated means something was undone: a saga whose first step failed committed nothing.
    for record in journal:
        undid = any(entry.action in (saga.COMPENSATE, saga.TOMBSTONE) for entry in record.log)
        assert (record.outcome == saga.UNDONE) == (undid and not still_in_effect(record.effects))
    # Only escalated sagas may still be half done when the run ends, and they are all counted.
    half_done_at_end = sum(0 < len(still_in_effect(r.effects)) < len(STEPS) for r in journal)
    assert frames[-1]["half_done"] == summary["sagas_left_half_done"] == half_done_at_end
    assert half_done_at_end <= summary["sagas_escalated_to_human"]


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules())
def test_compensations_run_newest_first_and_only_after_every_retry_of_the_one_before(schedule):
    _, _, journal = journal_of(schedule, mode=ORCHESTRATION, compensation_max_attempts=10)
    for record in journal:
        undo = [entry for entry in record.log if entry.action in saga.UNDOING]
        steps_undone = [entry.step for entry in undo]
        # Attempts at one compensation are contiguous, and the steps go strictly backwards.
        distinct = [step for i, step in enumerate(steps_undone) if i == 0 or steps_undone[i - 1] != step]
        assert distinct == sorted(distinct, reverse=True) and len(set(distinct)) == len(distinct)
        assert all(b.start_ms >= a.end_ms for a, b in zip(undo, undo[1:]))


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules(timeouts=False))
@example(schedule=FaultSchedule(step_failures=frozenset({(3, INVENTORY)}), latencies=QUICK))
def test_without_compensation_every_saga_that_fails_after_its_first_step_is_left_half_done(schedule):
    summary, _, journal = journal_of(schedule, mode=NO_COMPENSATION)
    first_failure = {}
    for index, step in sorted(schedule.step_failures):
        first_failure.setdefault(index, step)
    half_done = {index for index, step in first_failure.items() if step > ORDER}
    assert {r.index for r in journal if r.outcome == saga.STUCK} == half_done
    # Nothing is ever compensated here; a saga that failed at its first step simply never happened.
    assert summary["sagas_compensated"] == 0
    assert summary["sagas_aborted"] == sum(step == ORDER for step in first_failure.values())
    assert summary["sagas_stuck_half_done"] == summary["saga_guarantee_violations"] == len(half_done)
    # Payment committed and the saga stopped before shipping: charged, never shipped.
    charged = {index for index, step in first_failure.items() if step in (INVENTORY, SHIPPING)}
    assert summary["charged_not_shipped_at_end"] == len(charged)
    if (3, INVENTORY) in schedule.step_failures and first_failure[3] == INVENTORY:
        assert journal[3].effects == [("T", ORDER), ("T", PAYMENT)]


@hsettings(max_examples=150, deadline=None, derandomize=True)
@given(schedule=fault_schedules(timeouts=False))
@example(schedule=FaultSchedule(step_failures=frozenset({(0, SHIPPING)}), latencies=QUICK,
                                compensation_failures={(0, PAYMENT): 1}))
def test_with_retries_off_one_failed_compensation_leaves_its_step_in_effect_for_good(schedule):
    summary, _, journal = journal_of(schedule, mode=ORCHESTRATION, compensation_retries=RETRIES_OFF)
    for record in journal:
        abandoned = {entry.step for entry in record.log if entry.action == saga.ABANDONED}
        if record.outcome != saga.COMPLETED:
            assert still_in_effect(record.effects) == abandoned
        assert (record.outcome == saga.STUCK) == bool(abandoned)
    assert summary["sagas_escalated_to_human"] == 0
    assert summary["sagas_stuck_half_done"] == summary["saga_guarantee_violations"]
    assert summary["sagas_stuck_half_done"] == sum(1 for r in journal if r.outcome == saga.STUCK)


def test_a_failed_compensation_with_retries_on_is_retried_with_doubling_backoff_then_succeeds():
    schedule = FaultSchedule(step_failures=frozenset({(0, SHIPPING)}), latencies=QUICK,
                             compensation_failures={(0, PAYMENT): 3})
    summary, _, journal = journal_of(schedule, mode=ORCHESTRATION, compensation_max_attempts=4)
    refund = [entry for entry in journal[0].log if entry.step == PAYMENT and entry.action in saga.UNDOING]
    assert [entry.action for entry in refund] == [saga.ATTEMPT_FAILED] * 3 + [saga.COMPENSATE]
    assert [b.start_ms - a.end_ms for a, b in zip(refund, refund[1:])] == [20, 40, 80]
    assert journal[0].effects == [("T", 0), ("T", 1), ("T", 2), ("C", 2), ("C", 1), ("C", 0)]
    assert summary["sagas_stuck_half_done"] == 0 and summary["sagas_escalated_to_human"] == 0


def test_a_compensation_that_fails_every_attempt_is_escalated_to_a_human_not_dropped():
    schedule = FaultSchedule(step_failures=frozenset({(0, INVENTORY)}), latencies=QUICK,
                             compensation_failures={(0, PAYMENT): 8})
    summary, frames, journal = journal_of(schedule, mode=ORCHESTRATION, compensation_max_attempts=3)
    assert journal[0].outcome == saga.NEEDS_HUMAN
    assert [entry.action for entry in journal[0].log][-1] == saga.ESCALATE
    # Cancel order never ran: undoing the order before the refund would break the reverse order.
    assert journal[0].effects == [("T", ORDER), ("T", PAYMENT)]
    assert summary["sagas_escalated_to_human"] == frames[-1]["needs_human"] == 1
    assert summary["sagas_stuck_half_done"] == 0
    assert summary["sagas_left_half_done"] == summary["charged_not_shipped_at_end"] == 1
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["Sagas escalated to a human"].value == 1
    assert checks["Sagas stuck half done"].ok


def _timed_out_payment(latency_ms):
    return FaultSchedule(latencies=((5, latency_ms, 5, 5),) + QUICK[1:])


@hsettings(max_examples=100, deadline=None, derandomize=True)
@given(schedule=fault_schedules(), mode=st.sampled_from([ORCHESTRATION, CHOREOGRAPHY]))
def test_a_compensation_whose_reply_is_lost_is_sent_again_and_the_second_time_changes_nothing(schedule, mode):
    summary, _, journal = journal_of(schedule, mode=mode, compensation_max_attempts=10)
    for record in journal:
        changes = effects_from_log(record.log)
        assert len(changes) == len(set(changes))  # no step undone twice
        for i, entry in enumerate(record.log):
            if entry.action == saga.REPLY_LOST:
                assert mode == ORCHESTRATION and (record.index, entry.step) in schedule.lost_replies
                assert record.log[i + 1].action == saga.ALREADY_DONE and record.log[i + 1].step == entry.step
            if entry.action == saga.EVENT_REDELIVERED:
                # No replies in a choreography: what arrives twice is the event asking for the compensation.
                assert mode == CHOREOGRAPHY and (record.index, entry.step) in schedule.lost_replies
                # Handled once it is there and the first delivery is done: recognised (or, after an
                # abandoned attempt, applied for the first time); never a second undo of the step.
                assert any(e.step == entry.step and e.action in (saga.ALREADY_DONE, saga.COMPENSATE)
                           and e.start_ms >= entry.at_ms for e in record.log)
    assert (summary["compensation_replies_lost"] + summary["compensation_events_redelivered"]
            >= summary["compensation_retries_recognised"])
    assert summary["saga_guarantee_violations"] == 0


def test_a_refund_resent_after_a_lost_reply_is_refunded_twice_by_a_service_that_is_not_idempotent():
    # Saga 3's inventory fails; the refund of its payment is applied, its reply lost, and sent again.
    schedule = FaultSchedule(step_failures=frozenset({(3, INVENTORY)}), latencies=QUICK,
                             lost_replies=frozenset({(3, PAYMENT)}))
    summary, _, journal = journal_of(schedule, mode=ORCHESTRATION, compensation_idempotent=saga.NOT_IDEMPOTENT)
    assert effects_from_log(journal[3].log).count(("C", PAYMENT)) == 2
    assert summary["saga_guarantee_violations"] == 1
    summary, _, journal = journal_of(schedule, mode=ORCHESTRATION, compensation_idempotent=saga.IDEMPOTENT)
    assert effects_from_log(journal[3].log) == [("T", ORDER), ("T", PAYMENT), ("C", PAYMENT), ("C", ORDER)]
    assert summary["saga_guarantee_violations"] == 0 and summary["compensation_retries_recognised"] == 1


def test_a_timed_out_step_that_commits_late_is_compensated_like_any_committed_step():
    # Payment replies after the 100 ms timeout, but commits before its refund arrives.
    _, _, journal = journal_of(_timed_out_payment(110), mode=ORCHESTRATION)
    actions = [entry.action for entry in journal[0].log]
    assert actions == [saga.COMMIT, saga.TIMEOUT, saga.LATE_COMMIT, saga.COMPENSATE, saga.COMPENSATE]
    assert journal[0].effects == [("T", ORDER), ("T", PAYMENT), ("C", PAYMENT), ("C", ORDER)]
    assert journal[0].outcome == saga.UNDONE


def test_a_refund_that_arrives_before_the_late_charge_leaves_a_tombstone_so_the_charge_never_lands():
    summary, _, journal = journal_of(_timed_out_payment(200), mode=ORCHESTRATION)
    actions = [entry.action for entry in journal[0].log]
    assert actions == [saga.COMMIT, saga.TIMEOUT, saga.TOMBSTONE, saga.COMPENSATE]
    assert journal[0].effects == [("T", ORDER), ("C", ORDER)]
    assert summary["tombstones_left"] == 1 and summary["late_commits"] == 0


def test_without_compensation_a_timed_out_charge_lands_late_and_stays():
    summary, _, journal = journal_of(_timed_out_payment(200), mode=NO_COMPENSATION)
    assert journal[0].effects == [("T", ORDER), ("T", PAYMENT)]
    assert journal[0].outcome == saga.STUCK
    assert summary["charged_not_shipped_at_end"] == 1 and summary["late_commits"] == 1


def test_choreography_pays_for_its_event_hops_in_latency():
    schedule = FaultSchedule(step_failures=frozenset({(i, i % 4) for i in range(0, SAGAS, 3)}), latencies=QUICK)
    orchestrated, _, _ = journal_of(schedule, mode=ORCHESTRATION)
    choreographed, _, _ = journal_of(schedule, mode=CHOREOGRAPHY)
    assert choreographed["mean_completed_saga_ms"] > orchestrated["mean_completed_saga_ms"]
    assert choreographed["mean_compensated_saga_ms"] > orchestrated["mean_compensated_saga_ms"]
    assert choreographed["mean_inconsistency_window_ms"] > orchestrated["mean_inconsistency_window_ms"]


def test_in_a_choreography_a_timed_out_step_goes_unnoticed_until_its_owners_next_sweep():
    orchestrated, _, o_journal = journal_of(_timed_out_payment(200), mode=ORCHESTRATION)
    choreographed, frames, c_journal = journal_of(_timed_out_payment(200), mode=CHOREOGRAPHY)
    # The coordinator's timer fires at the deadline; nobody is waiting in a choreography.
    assert orchestrated["max_unnoticed_overdue_ms"] == 0
    timeout = next(entry for entry in c_journal[0].log if entry.action == saga.TIMEOUT)
    assert timeout.end_ms % saga.SWEEP_MS == 0 and timeout.end_ms > timeout.start_ms + 100
    assert 0 < choreographed["max_unnoticed_overdue_ms"] == timeout.end_ms - (timeout.start_ms + 100) <= saga.SWEEP_MS
    assert max(frame["stalled"] for frame in frames) == 1 and frames[-1]["stalled"] == 0


@hsettings(max_examples=100, deadline=None, derandomize=True)
@given(schedule=fault_schedules())
def test_a_choreographed_saga_is_stalled_at_most_one_sweep_and_an_orchestrated_one_never(schedule):
    orchestrated, o_frames, _ = journal_of(schedule, mode=ORCHESTRATION)
    choreographed, _, journal = journal_of(schedule, mode=CHOREOGRAPHY)
    assert orchestrated["max_unnoticed_overdue_ms"] == 0 and max(f["stalled"] for f in o_frames) == 0
    assert 0 <= choreographed["max_unnoticed_overdue_ms"] <= saga.SWEEP_MS
    timed_out = [r for r in journal if any(entry.action == saga.TIMEOUT for entry in r.log)]
    assert all(r.stalled is not None for r in timed_out)


def test_half_done_sagas_drain_with_compensation_and_pile_up_without():
    correct, correct_frames = run(ORCHESTRATION)
    naive, naive_frames = run(NO_COMPENSATION)
    assert max(frame["half_done"] for frame in correct_frames) > 0  # sagas are not isolated while they run
    assert correct_frames[-1]["half_done"] == correct["sagas_left_half_done"] <= correct["sagas_escalated_to_human"]
    stuck = [frame["stuck"] for frame in naive_frames]
    assert stuck == sorted(stuck) and stuck[-1] > 0
    assert naive_frames[-1]["half_done"] == naive["sagas_left_half_done"] == naive["sagas_stuck_half_done"]
    assert naive["mean_inconsistency_window_ms"] > correct["mean_inconsistency_window_ms"]


@pytest.mark.parametrize("mode", [ORCHESTRATION, CHOREOGRAPHY, NO_COMPENSATION])
def test_frames_are_time_ordered_few_and_end_with_the_summary_numbers(mode):
    summary, frames = run(mode)
    times = [frame["t_ms"] for frame in frames]
    assert times == sorted(set(times))
    assert 100 <= len(frames) <= 250
    last = frames[-1]
    assert last["t_ms"] == summary["duration_ms"]
    assert last["started"] == summary["sagas_started"] == 500
    assert last["completed"] == summary["sagas_completed"]
    assert last["compensated"] == summary["sagas_compensated"]
    assert last["stuck"] == summary["sagas_stuck_half_done"]
    assert last["needs_human"] == summary["sagas_escalated_to_human"]
    assert last["aborted"] == summary["sagas_aborted"]
    assert last["completed"] + last["compensated"] + last["aborted"] + last["stuck"] + last["needs_human"] == last["started"]
    assert all(isinstance(v, (int, float, bool)) for frame in frames for v in frame.values())


def test_the_verdict_flags_the_naive_modes_and_passes_the_correct_ones():
    def checks(mode, **overrides):
        return {check.label: check for check in EXPERIMENT.verdict(run(mode, **overrides)[0])}

    for broken in (checks(NO_COMPENSATION), checks(ORCHESTRATION, compensation_retries=RETRIES_OFF)):
        assert not broken["Sagas stuck half done"].ok and broken["Sagas stuck half done"].value > 0
        assert not broken["Sagas that broke the saga guarantee"].ok
    for correct in (checks(ORCHESTRATION), checks(CHOREOGRAPHY)):
        assert all(check.ok is not False for check in correct.values())  # measurements have no verdict
        assert correct["Sagas stuck half done"].value == 0


def test_the_summary_is_json_with_a_stable_key_set_and_a_small_sample_timeline():
    summaries = [run(mode)[0] for mode in (ORCHESTRATION, CHOREOGRAPHY, NO_COMPENSATION)]
    assert len({tuple(sorted(summary)) for summary in summaries}) == 1
    for summary in summaries:
        json.dumps(summary)
        timeline = summary["sample_timeline"]
        assert all(isinstance(v, (int, float, str)) for key, v in summary.items() if key != "sample_timeline")
        assert 0 < len({segment["saga"] for segment in timeline}) <= saga.SAMPLE_SAGAS
        for segment in timeline:
            assert set(segment) == {"saga", "step", "start_ms", "end_ms", "outcome"}
            assert segment["start_ms"] <= segment["end_ms"]
    # The unhappy sagas are sampled first, so the timeline shows what went wrong.
    naive_outcomes = {segment["outcome"] for segment in summaries[2]["sample_timeline"]}
    assert saga.FAIL in naive_outcomes
    assert EXPERIMENT.prediction.summary_key in summaries[0]


def test_parameters_are_bounded():
    _, errors = EXPERIMENT.clean_params({
        "sagas": 100_001, "step_failure_probability": 2, "compensation_failure_probability": -0.1,
        "compensation_max_attempts": 11, "step_timeout_ms": 5, "mode": "yolo", "compensation_retries": "maybe",
    })
    assert set(errors) == {
        "sagas", "step_failure_probability", "compensation_failure_probability", "compensation_max_attempts",
        "step_timeout_ms", "mode", "compensation_retries",
    }
    assert set(EXPERIMENT.presets) == {
        NO_COMPENSATION, ORCHESTRATION, CHOREOGRAPHY, "retries-off", "lost-replies", "lost-replies-not-idempotent",
        "choreography-redelivered-not-idempotent", "payment-timeout-key", "payment-timeout-no-key"}
    for preset in EXPERIMENT.presets.values():
        assert EXPERIMENT.clean_params(preset.params)[1] == {}
    assert params(**EXPERIMENT.presets["retries-off"].params)["compensation_retries"] == RETRIES_OFF
    assert params()["compensation_retries"] == RETRIES_ON


def test_a_run_at_the_largest_size_stays_under_the_frame_limit():
    summary, frames = run(ORCHESTRATION, sagas=100_000)
    assert len(frames) <= 250
    assert frames[-1]["started"] == summary["sagas_started"] == 100_000
    assert summary["sagas_stuck_half_done"] == 0
    assert len({segment["saga"] for segment in summary["sample_timeline"]}) <= saga.SAMPLE_SAGAS


def test_progress_runs_from_zero_to_one_and_the_last_start_is_marked():
    p = params(mode=ORCHESTRATION)
    _, frames = run(ORCHESTRATION)
    progress = [EXPERIMENT.progress(p, frame) for frame in frames]
    assert progress[0] == 0 and progress[-1] == 1 and progress == sorted(progress)
    (line,) = EXPERIMENT.figures(frames, p)[0]["layout"]["shapes"]
    assert line["x0"] == line["x1"] == 499 * saga.ARRIVAL_MS


def test_a_choreographed_compensation_is_a_chain_of_events_with_no_replies():
    # Shipping fails: inventory reacts to ShippingFailed, payment to InventoryReleased, order to PaymentRefunded.
    schedule = FaultSchedule(step_failures=frozenset({(0, SHIPPING)}), latencies=QUICK)
    latency = params()["step_latency_ms"]
    _, _, journal = journal_of(schedule, mode=CHOREOGRAPHY)
    log = journal[0].log
    failed = next(entry for entry in log if entry.action == saga.FAIL)
    undone = [entry for entry in log if entry.action == saga.COMPENSATE]
    assert [entry.step for entry in undone] == [INVENTORY, PAYMENT, ORDER]
    # Each service starts when the previous service's event is published, one broker hop away,
    # and nobody waits for a reply: each outcome is known where it happened.
    assert [entry.start_ms for entry in undone] == [failed.at_ms] + [entry.at_ms for entry in undone[:-1]]
    assert all(entry.at_ms - entry.start_ms == saga.EVENT_HOP_MS + latency for entry in undone)
    assert all(entry.end_ms == entry.at_ms for entry in undone)
    # A coordinator instead sends each command and waits for its reply before the next.
    _, _, journal = journal_of(schedule, mode=ORCHESTRATION)
    undone = [entry for entry in journal[0].log if entry.action == saga.COMPENSATE]
    assert [b.start_ms for b in undone[1:]] == [a.end_ms for a in undone[:-1]]
    assert all(entry.end_ms == entry.at_ms + saga.RPC_HOP_MS for entry in undone)


def test_a_choreographed_service_retries_its_own_compensation_locally_with_backoff():
    schedule = FaultSchedule(step_failures=frozenset({(0, SHIPPING)}), latencies=QUICK,
                             compensation_failures={(0, PAYMENT): 2})
    latency = params()["step_latency_ms"]
    _, _, journal = journal_of(schedule, mode=CHOREOGRAPHY, compensation_max_attempts=4)
    refund = [entry for entry in journal[0].log if entry.step == PAYMENT and entry.action in (saga.ATTEMPT_FAILED, saga.COMPENSATE)]
    assert [entry.action for entry in refund] == [saga.ATTEMPT_FAILED] * 2 + [saga.COMPENSATE]
    # The event arrived once; the retries are the payment service's own, with no broker hop.
    assert [b.start_ms - a.at_ms for a, b in zip(refund, refund[1:])] == [20, 40]
    assert [entry.at_ms - entry.start_ms for entry in refund[1:]] == [latency, latency]


def test_a_redelivered_compensation_event_cascades_through_services_that_are_not_idempotent():
    # ShippingFailed reaches inventory twice: shipping's relay republished it.
    schedule = FaultSchedule(step_failures=frozenset({(0, SHIPPING)}), latencies=QUICK,
                             lost_replies=frozenset({(0, INVENTORY)}))
    summary, _, journal = journal_of(schedule, mode=CHOREOGRAPHY, compensation_idempotent=saga.NOT_IDEMPOTENT)
    changes = effects_from_log(journal[0].log)
    # Each service that applies the duplicate also publishes its own event twice: the duplicate travels upstream.
    assert [changes.count(("C", step)) for step in (INVENTORY, PAYMENT, ORDER)] == [2, 2, 2]
    # One duplicate from the relay, then one more per service that re-announced its undo.
    assert summary["compensation_events_redelivered"] == 3 and summary["saga_guarantee_violations"] == 1
    summary, _, journal = journal_of(schedule, mode=CHOREOGRAPHY, compensation_idempotent=saga.IDEMPOTENT)
    assert effects_from_log(journal[0].log) == [("T", 0), ("T", 1), ("T", 2), ("C", 2), ("C", 1), ("C", 0)]
    assert summary["compensation_retries_recognised"] == 1 and summary["compensation_replies_lost"] == 0
    assert summary["saga_guarantee_violations"] == 0


@pytest.mark.parametrize("mode", [ORCHESTRATION, CHOREOGRAPHY])
def test_a_timed_out_charge_resent_with_its_key_charges_once_and_the_order_waits_in_pending(mode):
    # The provider takes 200 ms against a 100 ms timeout: the first charge lands after the saga gave up on it.
    summary, _, journal = journal_of(_timed_out_payment(200), mode=mode, payment_timeout=saga.PAYMENT_TIMEOUT_RESEND_WITH_KEY)
    record = journal[0]
    assert record.effects == [("T", ORDER), ("T", PAYMENT), ("T", INVENTORY), ("T", SHIPPING)]
    assert record.outcome == saga.COMPLETED
    replayed = next(entry for entry in record.log if entry.action == saga.KEY_REPLAYED)
    charged = next(entry for entry in record.log if entry.action == saga.LATE_COMMIT)
    # The provider could only answer once the first charge had an outcome; inventory waited for that answer.
    assert replayed.end_ms > charged.at_ms
    assert next(e for e in record.log if e.step == INVENTORY).start_ms == replayed.end_ms
    assert summary["customers_charged_twice"] == 0 and summary["saga_guarantee_violations"] == 0
    assert summary["max_payment_pending_ms"] == replayed.end_ms - (record.log[1].start_ms + 100) > 0


def test_a_timed_out_charge_resent_without_a_key_charges_the_customer_twice():
    summary, _, journal = journal_of(_timed_out_payment(200), mode=ORCHESTRATION,
                                     payment_timeout=saga.PAYMENT_TIMEOUT_RESEND_WITHOUT_KEY)
    assert journal[0].effects.count(("T", PAYMENT)) == 2
    assert summary["customers_charged_twice"] == summary["saga_guarantee_violations"] == 1
    checks = {check.label: check for check in EXPERIMENT.verdict(summary)}
    assert checks["Customers charged twice"].ok is False


def test_a_declined_charge_answered_through_its_key_is_compensated_like_any_failure():
    schedule = FaultSchedule(step_failures=frozenset({(0, PAYMENT)}), latencies=((5, 200, 5, 5),) + QUICK[1:])
    summary, _, journal = journal_of(schedule, mode=ORCHESTRATION, payment_timeout=saga.PAYMENT_TIMEOUT_RESEND_WITH_KEY)
    assert journal[0].effects == [("T", ORDER), ("C", ORDER)] and journal[0].outcome == saga.UNDONE
    assert summary["customers_charged_twice"] == 0


@hsettings(max_examples=100, deadline=None, derandomize=True)
@given(schedule=fault_schedules(), mode=st.sampled_from([ORCHESTRATION, CHOREOGRAPHY]))
def test_resending_a_timed_out_charge_with_its_key_never_charges_twice_or_breaks_the_saga(schedule, mode):
    summary, _, journal = journal_of(schedule, mode=mode, payment_timeout=saga.PAYMENT_TIMEOUT_RESEND_WITH_KEY,
                                     compensation_max_attempts=10)
    assert summary["customers_charged_twice"] == 0
    assert summary["saga_guarantee_violations"] == 0
    for record in journal:
        assert effects_from_log(record.log).count(("T", PAYMENT)) <= 1
